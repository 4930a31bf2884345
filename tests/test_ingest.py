"""Ingest: the preview of a big log's tail (what `tail`'s first status shows) read as its history is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from runwatch.ingest import Ingest, RunIngest
from runwatch.parsers.source import SourceParser
from runwatch.state.run import RunTracker
from runwatch.watcher.snapshot import peek_tail, peek_tail_bytes
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
