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
from collections.abc import Iterator

import numpy as np
import pytest

from runwatch.model import Kind, Record
from runwatch.parsers.source import ChunkRecords, SourceParser
from runwatch.state.run import RunTracker
from runwatch.watcher.snapshot import split_block
from tests.state.test_run_chunk import shown
from tests.support.corpus import CORPUS
from tests.support.fast_path_logs import cut, every_case_log


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
        if cols is None or not len(cols.line) or cols.rank is not None:  # rows of several ranks: one by one
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
