"""RunTracker.apply_chunk: a chunk's step rows in bulk leave the state its records one by one leave.

The chunks are real: SourceParser.feed_bytes over logs with every step-line
variant (metrics that appear mid-chunk, steps that go back), noise, evals,
tracebacks, NaN steps, frames and CRLF, and over the real nanochat logs of
the corpus. The reference is `apply_many(chunk.merged())`. State is compared
through what it shows (snapshots, series as chart columns, latest values in
order), then once more after a few live records, which brings out what it
keeps for later (step intervals, strides, warm-up).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pytest

from runwatch.model import Event, Kind, Record, RunState
from runwatch.parsers.source import ChunkRecords, SourceParser
from runwatch.state.ending import BARE_SETTLE_S
from runwatch.state.run import RunTracker
from runwatch.state.series import Series
from runwatch.watcher.snapshot import split_block
from tests.support.corpus import CORPUS, json_excerpt
from tests.support.fast_path_logs import cut, every_case_log, row
from tests.support.realruns import REALRUNS
from tests.support.stamped import deepspeed_log, megatron_log
from tests.support.tee import more_ranks, tee_log


def chunks(data: bytes, sizes: Sequence[int], rank: int | None = None) -> Iterator[tuple[ChunkRecords, float]]:
    """The log's chunks as the engine gets them, each read at its own time (some share one)."""
    parser = SourceParser("log", rank=rank)
    line = 1
    for k, piece in enumerate(cut(data, sizes)):
        t = 1000.0 + k // 2
        chunk = parser.feed_bytes(piece, line, t, split_block)
        line += chunk.lines
        yield chunk, t + 0.25


def shown(tracker: RunTracker, now: float, series: bool = True) -> list[object]:
    """What the tracker shows: snapshot, latest values in order, and every series as exact chart columns."""
    seen = [repr(tracker.snapshot(now)), repr(list(tracker.latest().items())), tracker.counts,
            tracker.stall_after_s(), tracker.progress.record_interval_s, tracker.progress.pause_s_per_step]
    if series:
        seen.append(repr([(key, [c.tolist() for c in s.columns(10**9)], [a.tolist() for a in s.recent()], len(s))
                          for key, s in tracker.store.items()]))
    return seen


def live(step: int, t: float) -> Record:
    return Record(Kind.STEP, step, 5000, None, t, {"loss": 1.5, "step_time": 0.25 + step % 3 / 100, "mfu": 40.0})


def check(data: bytes, sizes: Sequence[int], rank: int | None = None, fast: bool = True,
          history: bool = False) -> RunTracker:
    """Both ways through the log's chunks, alike after each; `history`: read as a history at start-up
    (`progress.bulk`: the read times say nothing of the run's pace), then live records."""
    bulk, one_by_one = RunTracker("r", "log"), RunTracker("r", "log")
    bulk.progress.bulk = one_by_one.progress.bulk = history
    steps = 0
    for k, (chunk, now) in enumerate(chunks(data, sizes, rank)):
        bulk.apply_chunk(chunk, now)
        one_by_one.apply_many(chunk.merged(), now)
        steps += len(chunk.steps) if chunk.steps is not None else 0
        # the series now and then (they take a while), the rest after every chunk
        assert shown(bulk, now, k % 8 == 0) == shown(one_by_one, now, k % 8 == 0)
    assert (steps > 0) == fast  # whether the fast path took rows
    step = bulk.progress.step or 0
    bulk.progress.bulk = one_by_one.progress.bulk = False
    for i in range(1, 12):  # live records after the history
        for tracker in (bulk, one_by_one):
            tracker.apply(live(step + 3 * i, 5000.0 + 7 * i), 5000.0 + 7 * i)
        assert shown(bulk, 5000.0 + 7 * i, False) == shown(one_by_one, 5000.0 + 7 * i, False)
    assert shown(bulk, 6000.0) == shown(one_by_one, 6000.0)
    return bulk


@pytest.mark.parametrize("history", [False, True])
@pytest.mark.parametrize("sizes", [(1 << 20,), (4096,), (700, 3000, 50)])
def test_every_case_log(sizes: tuple[int, ...], history: bool) -> None:
    check(every_case_log(), sizes, history=history)


def test_rows_of_a_rank() -> None:
    tracker = check(every_case_log(), (5000,), rank=3)
    assert set(tracker.ranks.snapshot()) >= {3}


@pytest.mark.parametrize(("name", "fast"), [
    ("nanochat_pr492_speedrun_d24_feb01.training_output.log", True),
    ("nanochat_pr657_sft_run.log", False),  # SFT lines have no fast path: records only
])
@pytest.mark.parametrize("sizes", [(1 << 20,), (64 << 10,)])
@pytest.mark.parametrize("history", [False, True])
def test_corpus_logs(name: str, fast: bool, sizes: tuple[int, ...], history: bool) -> None:
    check((CORPUS / "raw" / name).read_bytes(), sizes, fast=fast, history=history)


@pytest.mark.parametrize("run", ["nanogpt-tb-healthy", "nanogpt-tb-raise", "kvlog-nan", "tutorial-healthy"])
@pytest.mark.parametrize("sizes", [(1 << 20,), (1500,), (300, 2000)])
@pytest.mark.parametrize("history", [False, True])
def test_recorded_runs_between_their_records(run: str, sizes: tuple[int, ...], history: bool) -> None:
    """The run lab's recordings, twenty times over, their rows taken whole across what comes between them:
    nanoGPT's first iteration (`mfu -100.00%`: no mfu), its evals and checkpoint saves
    (`saving checkpoint to out`, at the step of the eval before it, not at the chunk's last), a traceback
    and a NaN loss line: as one by one."""
    data = (REALRUNS / run / "run" / "train.log").read_bytes()
    tracker = check(data * 20, sizes, history=history)
    saved = [e.step for e in tracker.events if e.event == Event.CHECKPOINT_SAVED]
    if run.startswith("nanogpt"):
        assert saved and all(s is not None and s % 200 == 0 for s in saved)


@pytest.mark.parametrize("sizes", [(1 << 20,), (2000,), (300, 5000)])
@pytest.mark.parametrize("history", [False, True])
def test_step_records_without_a_step_between_rows(sizes: tuple[int, ...], history: bool) -> None:
    """The kv format reads DeepSpeed's old throughput timer lines (deepspeed.md D1: `[timer.py:189:stop]
    0/40, SamplesPerSec=83.48…, MemAllocated=0.26GB, …`) as step records that say no step: their metrics go
    at the step after the row before them, one after another when two come together, as one by one. The run
    lab's kvlog run, its lines three times over, one or two such lines after every few of them. (nanochat's
    `Evaluating: … accuracy: … | time: 6.31s` were such records until a time alone made none.)"""
    kv = (REALRUNS / "kvlog-healthy" / "run" / "train.log").read_text(encoding="utf-8").splitlines()
    evals = [x for x in json_excerpt("excerpts_deepspeed.json", "Excerpt D1") if "SamplesPerSec=" in x]
    assert len(evals) >= 2
    lines: list[str] = []
    for i, line in enumerate(kv * 3):
        lines.append(line)
        if i % 7 == 3:
            lines += evals[i % len(evals) : i % len(evals) + 1 + i % 2]
    tracker = check(("\n".join(lines) + "\n").encode(), sizes, history=history)
    assert tracker.store.get("samples_per_sec") is not None and tracker.store.get("loss") is not None


@pytest.mark.parametrize("run", ["torchrun-tee-healthy", "torchrun-tee-nan", "torchrun-tee-raise"])
@pytest.mark.parametrize(("old", "new"), [("", ""), ("[default1]", "[default7]")])
@pytest.mark.parametrize("sizes", [(1 << 20,), (4096,), (700, 3000, 50)])
def test_rows_of_every_rank_of_a_tee_log(run: str, old: str, new: str, sizes: tuple[int, ...],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """torchrun `--tee` lines of two ranks, interleaved in one file (the run lab's recordings, twenty times
    over): in bulk, rank by rank between the per-line records, they leave the state one by one does (each
    rank's series, progress and newest values, the run's pace and latest values in line order), and only
    the rows that bring a rank a metric (and short runs of rows) go one at a time."""
    data = tee_log(run, 20, old, new)
    check(data, sizes)
    check(data, sizes, history=True)
    applied = []
    one = RunTracker.apply
    monkeypatch.setattr(RunTracker, "apply", lambda self, rec, now: (applied.append(rec), one(self, rec, now)))
    tracker, rows = RunTracker("r", "log"), set()
    for chunk, now in chunks(data, sizes):
        tracker.apply_chunk(chunk, now)
        rows |= set(chunk.steps.line.tolist()) if chunk.steps is not None else set()
    alone = [r for r in applied if r.line in rows]  # the parser's own records (detection, NaN lines) aside
    assert set(tracker.ranks.snapshot()) == {0, 1 if not new else 7} and len(rows) > 1000
    if sizes == (1 << 20,):  # small chunks hold runs of rows shorter than FEW_RANKED_ROWS, which go one by one
        assert len(alone) <= 4 + len(rows) // 20


@pytest.mark.parametrize("sizes", [(1 << 20,), (4096,)])
def test_rows_of_four_ranks_in_no_fixed_order(sizes: tuple[int, ...]) -> None:
    """Ranks 1-3 in a turning order, without rank 0 (a node's file of a job whose rank 0 is elsewhere): the
    newest values are the last line's, as one by one, not the last rank's taken in rank by rank."""
    lines = more_ranks(tee_log("torchrun-tee-nan", 5), 4).splitlines(keepends=True)
    data = b"".join(x for x in lines if not x.startswith(b"[default0]:"))
    check(data, sizes)
    check(data, sizes, history=True)


@pytest.mark.parametrize("sizes", [(1 << 20,), (64 << 10,)])
@pytest.mark.parametrize(("log", "metric", "rank", "hang"), [(megatron_log, "loss", None, 300),
                                                           (deepspeed_log, "lr", 0, 200)])
def test_rows_that_state_their_times(sizes: tuple[int, ...], log: Callable[[int], list[str]], metric: str,
                                     rank: int | None, hang: float) -> None:
    """Megatron's stamped step lines, and DeepSpeed's with `[Rank 0]` on each: in bulk, each row keeps the
    time its line states (the series' times, the wall intervals, a hang among them) while all arrived with
    their chunk, as one by one."""
    tracker = check(("\n".join(log(3000)) + "\n").encode(), sizes)
    series = tracker.store.get(metric, rank)
    assert series is not None and series.columns(10**9)[0].size > 0
    assert hang - 10 < tracker.progress.longest_pause_s < hang + 10


@pytest.mark.parametrize("log", [megatron_log, deepspeed_log])
def test_rows_that_state_their_times_go_in_bulk(log: Callable[[int], list[str]],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Stamped rows (and DeepSpeed's, of one rank each) are not taken one record at a time: only the lines
    format detection read line by line are."""
    applied = []
    one = RunTracker.apply
    monkeypatch.setattr(RunTracker, "apply", lambda self, rec, now: (applied.append(rec), one(self, rec, now)))
    tracker = RunTracker("r", "log")
    for chunk, now in chunks(("\n".join(log(3000)) + "\n").encode(), (1 << 20,)):
        tracker.apply_chunk(chunk, now)
    assert tracker.progress.step == 3000 and len(applied) < 500


def test_long_history_folds_alike() -> None:
    """Enough rows for the series to fold their oldest points into buckets, widening them, with evals between."""
    lines = []
    for i in range(40_000):
        lines.append(row(i, 40_000))
        if i % 1500 == 0:
            lines.append(f"Step {i:05d} | Validation bpb: {1 - i / 1e5:.6f}")
    check(("\n".join(lines) + "\n").encode(), (256 << 10,))


def test_a_crash_between_rows_is_cleared_by_the_rows_after_it() -> None:
    crash = ["Traceback (most recent call last):", '  File "x.py", line 1, in <module>', "RuntimeError: boom", ""]
    data = "\n".join([*(row(i) for i in range(300)), *crash, *(row(i) for i in range(300, 600)), ""]).encode()
    bulk, one_by_one = RunTracker("r", "log"), RunTracker("r", "log")
    [(chunk, now)] = chunks(data, (1 << 20,))
    assert chunk.steps is not None and chunk.steps.line[-1] > 300 + len(crash)  # rows on both sides
    bulk.apply_chunk(chunk, now)
    one_by_one.apply_many(chunk.merged(), now)
    assert any(e.event == Event.TRACEBACK for e in bulk.events)
    assert shown(bulk, now) == shown(one_by_one, now)
    assert bulk.snapshot(now).state == RunState.RUNNING  # the rows after the crash cleared it
    bulk.apply(Record(Kind.EVENT, event=Event.TRACEBACK, t=now, source="log", line=999), now)
    assert bulk.snapshot(now + BARE_SETTLE_S).state == RunState.CRASHED  # and a crash after the rows stands


def test_rows_in_bulk_take_far_fewer_calls_than_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the bulk way is for: one slice per metric and run of rows, not one append per value."""
    data = ("\n".join(row(i, 9000) for i in range(9000)) + "\n").encode()
    appends: list[float] = []
    original = Series.append
    monkeypatch.setattr(Series, "append", lambda self, x, v, t: (appends.append(x), original(self, x, v, t)))
    tracker = RunTracker("r", "log")
    for chunk, now in chunks(data, (1 << 20,)):
        tracker.apply_chunk(chunk, now)
    assert tracker.records == 9000
    assert max(appends) < 100  # only the lines read while detecting the format went one by one
    assert np.array_equal(tracker.store["loss", None].recent(10)[0], np.arange(8990, 9000, dtype=float))


def test_rows_of_a_source_read_behind_another_are_placed_by_step() -> None:
    """The log's last 500 lines under a second source name, read after the first had reached the log's
    end (as W&B's history can be, beside the console): in bulk and one by one alike, its rows go in among
    the first's by step, those at steps held already left out (see RunTracker._lags)."""
    data = (CORPUS / "raw" / "nanochat_pr492_speedrun_d24_feb01.training_output.log").read_bytes()
    behind = b"".join(data.splitlines(keepends=True)[-500:])
    bulk, one_by_one = RunTracker("r", "log"), RunTracker("r", "log")
    for source, text in (("a/train.log", data), ("b/train.log", behind)):
        parser = SourceParser(source)
        chunk = parser.feed_bytes(text, 1, 1000.0, split_block)
        assert chunk.steps is not None and len(chunk.steps.line) > 300
        bulk.apply_chunk(chunk, 1000.5)
        one_by_one.apply_many(chunk.merged(), 1000.5)
    assert shown(bulk, 2000.0) == shown(one_by_one, 2000.0)
    x, _, _ = bulk.store["loss", None].recent()
    assert (np.diff(x) > 0).all()  # in step order, each step once


@pytest.mark.parametrize("sizes", [(1 << 20,), (64 << 10,), (5000, 70_000)])
def test_a_run_written_twice_is_two_attempts_in_bulk_as_one_by_one(sizes: tuple[int, ...]) -> None:
    """The real speedrun's first 3,000 lines, then the same again (`>>` a second time): the second attempt
    starts afresh at its step 0 wherever it falls in a chunk of rows, its series hold only its own points."""
    head = b"".join((CORPUS / "raw" / "nanochat_pr492_speedrun_d24_feb01.training_output.log").read_bytes()
                    .splitlines(keepends=True)[:3000])
    tracker = check(head + head, sizes)
    once = check(head, sizes)
    assert tracker.attempts == 2 and once.attempts == 1
    (restart,) = [e for e in tracker.events if e.event == Event.RESTARTED]
    assert restart.step == 0 and restart.line > 3000
    loss, loss_once = tracker.store.get("loss", None), once.store.get("loss", None)
    assert loss is not None and loss_once is not None
    assert len(loss) == len(loss_once)  # the second attempt's own points (and the live records after it)
