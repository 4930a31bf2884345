"""A chunk taken whole: its step records merged into its step rows, and where its other records fall.

A chunk's step rows go into a run in bulk (`RunTracker.apply_chunk`), but its
per-line records come between them: a traceback the training loop caught and
printed, an eval, a step line the fast path left to its parser (nanoGPT's
first iteration, DeepSpeed's step behind a progress bar). Taken a run of
rows at a time, a history of 0.5% logged tracebacks and 1% odd step lines
went into the run a few dozen rows at a time, each run some twenty numpy
calls, and applying it cost more than reading it. Here the step records join
the rows as rows of their own (the same columns), so that all of them go in
at once; the other records keep their place (how many rows come before each)
for what they share with the rows, which the run state puts right
afterwards: the step of the row before an eval without one, whether the run
went on after a traceback.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from runwatch.arrays import distinct
from runwatch.model import Kind, Record
from runwatch.state.chunk import RecordChunk, StepColumns


@dataclasses.dataclass(frozen=True)
class Rows:
    """Step records as columns (a `StepColumns`): a chunk's rows with its step records among them."""

    line: np.ndarray
    step: np.ndarray
    total: np.ndarray
    metrics: Mapping[str, np.ndarray]
    present: Mapping[str, np.ndarray]
    kind: Kind
    t: np.ndarray | None
    rank: np.ndarray | None

    def __len__(self) -> int:
        return int(self.line.size)

    def take(self, keep: np.ndarray) -> Rows:
        return Rows(self.line[keep], self.step[keep], self.total[keep], {m: v[keep] for m, v in self.metrics.items()},
                    {m: p[keep] for m, p in self.present.items()}, self.kind,
                    None if self.t is None else self.t[keep], None if self.rank is None else self.rank[keep])


@dataclasses.dataclass(frozen=True)
class Whole:
    """A chunk as one piece: every step row and step record as `rows`, and the `others` (evals, events, step
    records without a step) each after `at[i]` of them, in line order."""

    rows: StepColumns
    others: list[Record]
    at: list[int]


def whole(chunk: RecordChunk, now: float) -> Whole | None:
    """The chunk's rows and step records as one set of rows (None: a step record no row can stand for: a rank
    the chunk's rows cannot state). A step record without a step (a line whose step the log does not say) is
    no row: it goes after the rows before it, as evals do."""
    cols = chunk.steps
    assert cols is not None
    steps = [r for r in chunk.records if r.kind == Kind.STEP and r.step is not None]
    others = [r for r in chunk.records if r.kind != Kind.STEP or r.step is None]
    rows = cols if not steps else _merged(chunk, steps, now)
    if rows is None:
        return None
    at = np.searchsorted(rows.line, [r.line for r in others]).tolist() if others else []
    return Whole(rows, others, at)


def _merged(chunk: RecordChunk, steps: Sequence[Record], now: float) -> Rows | None:
    """The chunk's rows with `steps` (its step records, in line order) among them."""
    cols = chunk.steps
    assert cols is not None
    rank, default_t = chunk.rank, chunk.t or now
    numbers: list[int] = []
    stated_ranks: list[int] = []
    times: list[float] = []
    for rec in steps:
        if rec.step is None or (rec.rank is None and rank is not None):
            return None  # a row that states no rank has the chunk's
        numbers.append(rec.step)
        stated_ranks.append(-1 if rec.rank is None or rec.rank == rank else rec.rank)
        at = rec.t or now
        times.append(0.0 if at == default_t else at)
    where = np.searchsorted(cols.line, [r.line for r in steps])

    def put(column: np.ndarray, values: Sequence[float]) -> np.ndarray:
        return np.insert(column, where, np.asarray(values, dtype=column.dtype))

    names = list(cols.metrics) + [m for m in dict.fromkeys(m for r in steps for m in r.metrics) if m not in cols.metrics]
    metrics: dict[str, np.ndarray] = {}
    present: dict[str, np.ndarray] = {}
    for name in names:
        values = cols.metrics.get(name)
        held = cols.present.get(name)
        metrics[name] = put(values if values is not None else np.full(len(cols.line), np.nan),
                            [r.metrics.get(name, np.nan) for r in steps])
        present[name] = put(held if held is not None else np.zeros(len(cols.line), bool), [name in r.metrics for r in steps])
    t = None
    if cols.t is not None or any(times):
        t = put(cols.t if cols.t is not None else np.zeros(len(cols.line)), times)
    ranks = None
    if cols.rank is not None or any(r >= 0 for r in stated_ranks):
        ranks = put(cols.rank if cols.rank is not None else np.full(len(cols.line), -1, np.int64), stated_ranks)
    total = [-1 if r.total_steps is None else r.total_steps for r in steps]
    return Rows(put(cols.line, [r.line for r in steps]), put(cols.step, numbers), put(cols.total, total), metrics,
                present, cols.kind, t, ranks)


def moving(rows: StepColumns, rank: int | None, step_of: Mapping[int | None, float]) -> np.ndarray:
    """Whether each row moves its rank on: a step other than the rank's before it (`step_of`: each rank's
    newest step before the rows). A run of rows that does not is a redraw, no progress (RunTracker.`_progress`)."""
    steps = rows.step.astype(np.float64)
    if rows.rank is None:
        before = np.concatenate(([step_of.get(rank, np.nan)], steps[:-1]))
        return steps != before  # type: ignore[no-any-return]
    stated = np.where(rows.rank < 0, -1 if rank is None else rank, rows.rank)
    out = np.empty(len(steps), bool)
    for r in distinct(stated).tolist():
        mine = np.flatnonzero(stated == r)
        key = None if r < 0 else r
        before = np.concatenate(([step_of.get(key, np.nan)], steps[mine[:-1]]))
        out[mine] = steps[mine] != before
    return out
