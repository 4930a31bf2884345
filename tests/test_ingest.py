"""Ingest: the preview of a big log's tail (what `tail`'s first status shows) read as its history is read."""

from __future__ import annotations

import gzip
from itertools import pairwise
from pathlib import Path

import pytest

from runwatch.ingest import Ingest, RunIngest
from runwatch.messages import LinesRead
from runwatch.model import Record
from runwatch.parsers.source import SourceParser
from runwatch.state.run import RunTracker
from runwatch.state.system import STDIN
from runwatch.watcher.snapshot import peek_tail, peek_tail_bytes
from runwatch.watcher.types import LineBatch
from tests.support.paths import FIXTURES


@pytest.mark.parametrize("recording", ["kvlog-healthy", "lightning-tqdm-healthy", "nanogpt-tb-raise", "hf-healthy",
                                       "tutorial-healthy", "torchrun-tee-healthy", "keras-v2-nan"])
def test_the_preview_read_as_the_history_is_holds_what_its_lines_one_by_one_give(recording: str) -> None:
    """The preview goes as the history does, plain lines raw to the parser's fast path and `\\r` frames as lines
    (kv's 256 KiB tail cost 0.15 s of tail's start-up line by line): the same records, the same state."""
    path = str(FIXTURES / "realruns" / recording / "run/train.log")
    window = Path(path).stat().st_size // 2  # the second half: the window starts inside a line
    ingest = Ingest(log_format=None, stall_floor_s=30.0, total_steps=None, system=None)
    run = RunIngest("r", path, RunTracker("r", path))
    ingest.preview(run, path, peek_tail_bytes(path, window), lambda: 100.0)

    parser, want = SourceParser(path), RunTracker("r", path)
    want.apply_many(parser.feed(peek_tail(path, window), 0, 100.0) + parser.flush(), 100.0)
    got = run.preview
    assert got is not None and got.records == want.records > 0
    mine, theirs = got.snapshot(100.0), want.snapshot(100.0)
    # as text: a NaN (keras-v2-nan's loss) is not equal to itself
    assert repr((got.latest(), mine.events, mine.metrics, mine.ranks, mine.progress.step)) == \
        repr((want.latest(), theirs.events, theirs.metrics, theirs.ranks, theirs.progress.step))


def _history_judged_at(recs: list[Record], cuts: list[int]) -> list[int]:
    """The run's record counts at which its history, applied in batches cut at `cuts`, was judged."""
    ingest = Ingest(log_format=None, stall_floor_s=30.0, total_steps=None, system=None)
    run = RunIngest("r", STDIN, RunTracker("r", STDIN))
    ingest.runs.append(run)
    ingest.attach_stdin(run)
    judged: list[int] = []

    def on_piece(r: RunIngest, now: float) -> None:
        judged.append(r.tracker.records)
        r.unjudged = 0

    def batch(lo: int, hi: int, history: bool) -> None:
        item = LinesRead(LineBatch(STDIN, None, lo + 1, ["x"] * (hi - lo), 100.0, history))
        ingest.apply(item, recs[lo:hi], None, 100.0, judge=history, on_piece=on_piece, on_error=_raise,
                     piece_records=4000)

    for lo, hi in pairwise([0, *cuts, len(recs)]):
        batch(lo, hi, True)
    batch(len(recs), len(recs), False)  # the reader caught up: the history's end
    return judged


def _raise(exc: Exception) -> None:
    raise exc


def test_a_history_is_judged_at_the_same_records_whatever_the_reads_cut_it_into() -> None:
    """`cat nohup.log | runwatch tail -` judged the run at the end of each 64 KiB the pipe held: a YOLOv3 log's OOM,
    the last record of one read, fired as if it had ended the run, which went on for 4,000 steps (`check` said it
    went on, and exited 0 where `tail -` exited 2). The rules judge a history on `check`'s schedule, counted from
    where they last looked, and its last records once the reader has caught up."""
    path = FIXTURES / "found" / "yolov3_nohup_oom_relaunch_head.log.gz"
    parser = SourceParser(str(path))
    recs = parser.feed(gzip.decompress(path.read_bytes()).decode("utf-8", "replace").splitlines(), 1, 100.0)
    recs += parser.flush()
    whole = _history_judged_at(recs, [])
    assert whole[-1] == len(recs) and len(whole) > 3, whole
    for cuts in ([1], [7, 8, 100], [33, 64, 65, 200], list(range(5, len(recs), 11))):
        assert _history_judged_at(recs, cuts) == whole, cuts


def test_a_run_is_amid_its_history_only_while_a_source_has_read_part_of_one(tmp_path: Path) -> None:
    """The live ticks leave a run amid its history to `history_tick`; a log that did not exist at start (a rank's
    file not yet written) is no history being read, or the run beside it went unjudged until it appeared."""
    ingest = Ingest(log_format=None, stall_floor_s=30.0, total_steps=None, system=None)
    run = RunIngest("r", "r", RunTracker("r", "r"))
    ingest.runs.append(run)
    a, b = str(tmp_path / "rank0.log"), str(tmp_path / "rank1.log")
    ingest.attach_file(run, a, 0)
    ingest.attach_file(run, b, 1)
    assert run.history_pending == {a, b} and not run.reading_history()
    history = LinesRead(LineBatch(a, 0, 1, ["step 1 loss=2.5"], 100.0, True))
    parsed = ingest.parse(history)
    assert parsed is not None
    ingest.apply(history, parsed[1], None, 100.0, judge=True, on_piece=lambda r, now: None, on_error=_raise)
    assert run.reading_history()
    ingest.apply(LinesRead(LineBatch(a, 0, 2, [], 100.0, False)), [], None, 100.0, judge=False,
                 on_piece=lambda r, now: None, on_error=_raise)  # the follower's word that the history is read
    assert run.history_pending == {b} and not run.reading_history()
