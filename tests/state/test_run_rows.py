"""RunTracker.apply_rows: step rows each at a time of its own (a replay's clock), in bulk, leave the
state their records applied one by one at those times leave, wherever the rules look in between.

`runwatch check` applies a log's step rows a piece at a time between the
records of the chunk and between evaluations, holding the metric values of
rows whose metrics the run knows until the rules look (`settle`). The
reference is each record of `chunk.merged()` applied at its own time. The
run's intervals are not timed (`progress.bulk`): a replay's clock only
echoes the step time the log states.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import numpy as np
import pytest

from runwatch.model import Event, Kind, Record
from runwatch.parsers.source import ChunkRecords, SourceParser
from runwatch.state.chunk import passes_held_rows
from runwatch.state.run import RunTracker
from runwatch.watcher.snapshot import split_block
from tests.state.test_run_chunk import shown
from tests.support.corpus import CORPUS
from tests.support.fast_path_logs import cut, every_case_log
from tests.support.paths import FIXTURES


def chunks(data: bytes, sizes: tuple[int, ...]) -> Iterator[ChunkRecords]:
    parser = SourceParser("log")
    line = 1
    for piece in cut(data, sizes):
        chunk = parser.feed_bytes(piece, line, 0.0, split_block)
        line += chunk.lines
        yield chunk


def tracker() -> RunTracker:
    t = RunTracker("r", "log")
    t.progress.bulk = True
    return t


def replayed(data: bytes, sizes: tuple[int, ...], seed: int) -> tuple[RunTracker, RunTracker, int]:
    """The log applied both ways, compared at every place the bulk tracker settles; and the rows taken
    in bulk."""
    rng = random.Random(seed)
    bulk, one_by_one = tracker(), tracker()
    now, rows = 1000.0, 0
    for chunk in chunks(data, sizes):
        chunk = chunk.one_rank()
        cols = chunk.steps
        if cols is None or not len(cols.line):
            for rec in chunk.merged():
                now += 0.5
                bulk.apply(rec, now)
                one_by_one.apply(rec, now)
            continue
        ends = np.searchsorted(cols.line, [r.line for r in chunk.records]).tolist()
        lo = 0
        for rec, end in [*zip(chunk.records, ends, strict=True), (None, len(cols.line))]:
            while lo < end:  # the rows before the record, in pieces of random size
                hi = min(end, lo + rng.randint(1, 40))
                times = now + 0.25 * np.arange(1, hi - lo + 1)
                bulk.apply_rows(chunk, lo, hi, times)
                for i in range(lo, hi):
                    one_by_one.apply(chunk.row(i), float(times[i - lo]))
                now, rows, lo = float(times[-1]), rows + hi - lo, hi
                if rng.random() < 0.2:  # the rules look here
                    bulk.settle()
                    series = rng.random() < 0.05
                    assert shown(bulk, now, series) == shown(one_by_one, now, series)
            if rec is not None:
                now += 3.0 if rec.kind == Kind.EVAL else 0.01
                bulk.apply(rec, now)
                one_by_one.apply(rec, now)
    bulk.settle()
    assert shown(bulk, now + 1) == shown(one_by_one, now + 1)
    return bulk, one_by_one, rows


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("sizes", [(1 << 20,), (4096,), (700, 3000, 50)])
def test_every_case_log(sizes: tuple[int, ...], seed: int) -> None:
    _, _, rows = replayed(every_case_log(prefixed=False), sizes, seed)  # rows of one rank: apply_rows's
    assert rows > 0


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("sizes", [(1 << 20,), (4096,), (700, 3000, 50)])
def test_rows_of_several_ranks(sizes: tuple[int, ...], seed: int) -> None:
    """Step lines of other ranks behind a launcher's prefix: rows that state their ranks are held and passed
    by records as rows of one rank are (`RunTracker._ranked_held`), with the same state."""
    _, _, rows = replayed(every_case_log(prefixed=True), sizes, seed)
    assert rows > 0


def test_a_real_torchrun_tee_run_twice_over() -> None:
    """The run lab's 2-rank torchrun `--tee` log twice over (the second copy a new attempt): its rows of both
    ranks in bulk leave the state its records one by one leave."""
    data = (FIXTURES / "realruns/torchrun-tee-healthy/run/train.log").read_bytes()
    bulk, _, rows = replayed(data + data, (1 << 20,), 3)
    assert rows > data.count(b":iter ") // 2 and len(bulk.ranks) == 2 and bulk.attempts == 2


def _nanogpt_carried(*offsets: int) -> list[str]:
    """The run lab's nanoGPT recording (an evaluation every 200 iterations, each but the first followed by
    `saving checkpoint to out`) once per offset, its iterations and evaluations carried on by it."""
    lines = (FIXTURES / "realruns/nanogpt-tb-healthy/run/train.log").read_text().splitlines()
    return [re.sub(r"^(iter|step) (\d+)", lambda m, by=by: f"{m[1]} {int(m[2]) + by}", x)
            for by in offsets for x in lines]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_checkpoint_saved_after_an_evaluation_is_placed_after_the_rows_before_it(seed: int) -> None:
    """nanoGPT's `saving checkpoint to out` names no step: it is the run's at the step it reached or its
    evaluation's, the later. Rows held past the evaluation before it must be in by then (`passes_held_rows`):
    after a resume (iterations to 1195, then from the evaluation at 1000 on again) it was placed at the step
    before them, 1160, where its record one by one is at 1195."""
    lines = _nanogpt_carried(600)
    at = lines.index(next(x for x in lines if x.startswith("step 1000:")))
    run = _nanogpt_carried(0, 600) + lines[at:] + _nanogpt_carried(1200)
    bulk, _, rows = replayed(("\n".join(run) + "\n").encode(), (2048,), seed)
    assert rows > 300 and bulk.attempts == 2


def test_rows_joined_to_held_ones_start_again_after_the_newest_held() -> None:
    """Rows held back in pieces, then a piece whose first row goes back from the newest held row far enough to
    be a resume (nanoGPT's iterations to 595, then from 520 again), though not from the first piece's: the run
    starts again there, as its records one by one say (`HeldRows.last_main`)."""
    lines = [x for x in _nanogpt_carried(0) if x.startswith("iter ")]
    again = lines.index(next(x for x in lines if x.startswith("iter 520:")))
    data = ("\n".join(lines + lines[again:]) + "\n").encode()
    chunk = SourceParser("log", fmt="nanogpt").feed_bytes(data, 1, 0.0, split_block)
    assert chunk.steps is not None and len(chunk.steps) == len(lines) + len(lines) - again and not chunk.records
    cut = len(lines)
    bulk, one_by_one = tracker(), tracker()
    for lo, hi in ((0, 1), (1, 40), (40, 60), (60, cut), (cut, len(chunk.steps))):  # the first rows bring metrics
        times = 1000.0 + np.arange(lo, hi, dtype=np.float64)
        bulk.apply_rows(chunk, lo, hi, times)
        for i in range(lo, hi):
            one_by_one.apply(chunk.row(i), float(times[i - lo]))
    bulk.settle()
    assert one_by_one.attempts == 2 and bulk.attempts == 2
    assert shown(bulk, 2000.0) == shown(one_by_one, 2000.0)


def test_the_real_nanochat_run() -> None:
    data = (CORPUS / "raw/nanochat_pr492_speedrun_d24_feb01.training_output.log").read_bytes()
    bulk, _, rows = replayed(data, (1 << 20,), 7)
    assert rows > 16_000 and bulk.progress.step == 16_703


def test_a_record_with_a_held_metric_settles_the_rows_before_it() -> None:
    """A NaN loss line goes the per-line way between fast rows: the loss series keeps its order."""
    data = b"".join(
        f"step {i:05d}/00100 (1.00%) | loss: {'nan' if i == 7 else f'{5 - i / 100:.6f}'} | lrm: 1.00 | "
        f"dt: 650.00ms | tok/sec: 806,131 | mfu: 50.38 | epoch: 1 | total time: 0.01m\n".encode()
        for i in range(12))
    chunk = SourceParser("log", fmt="picollm").feed_bytes(data, 1, 0.0, split_block)
    assert chunk.steps is not None and [r.step for r in chunk.records] == [7]
    run = tracker()
    run.apply_rows(chunk, 0, 1, np.array([1.0]))  # the first row brings the metrics: applied at once
    run.apply_rows(chunk, 1, 7, 1.0 + np.arange(1, 7))
    run.apply(chunk.records[0], 8.0)
    run.apply_rows(chunk, 7, 11, 8.0 + np.arange(1, 5))
    run.settle()
    loss = run.store.get("loss")
    assert loss is not None
    x, v, t = loss.recent()
    assert x.tolist() == list(range(12)) and np.isnan(v[7]) and t.tolist() == [float(i) for i in range(1, 13)]


def test_settling_nothing_is_nothing() -> None:
    run = tracker()
    run.settle()
    run.apply(Record(Kind.STEP, 1, metrics={"loss": 2.0}), 5.0)
    run.settle()
    assert run.latest() == {"loss": 2.0}


@pytest.mark.parametrize(("rec", "passes"), [
    (Record(Kind.EVAL, step=200, metrics={"val_loss": 3.2}), True),              # an evaluation at its step
    (Record(Kind.EVAL, metrics={"val_loss": 3.2}), False),                       # at the newest step
    (Record(Kind.EVENT, step=210, event=Event.OVERFLOW), True),                  # at its step, nothing ended
    (Record(Kind.EVENT, event=Event.OVERFLOW), False),                           # at the step the run reached
    (Record(Kind.EVENT, step=200, event=Event.CHECKPOINT_SAVED), False),         # placed by the run's step too
    (Record(Kind.EVENT, step=0, event=Event.LAUNCHED), False),                   # the run starts again
    (Record(Kind.EVENT, step=210, event=Event.TRACEBACK), False),                # the run may end
])
def test_which_records_pass_rows_held_before_them(rec: Record, passes: bool) -> None:
    assert passes_held_rows(rec) is passes
