"""When the event and eval lines of a stamped log's history were written: at the time the step lines around
them state.

A history read at once gives each record that states no time of its own the
time it was read. Event lines (a crash, a dataloader or Hugging Face Hub
retry warning) state none, but in a log whose step lines do (Megatron's
`[2024-04-06 03:02:12]`, a `ts` prefix) the step line before one says when
it was written, to within a step. `runwatch check` replays such a log on
its stamps and so gives each event that time; live following of the same
history must too, or every retry warning of a log spanning days was "in the
last 5m" once read and the io_stall rule fired in `tail` but not in `check`.

Eval lines state no time either (Megatron's `validation loss at iteration 100`): read at once, a history's
evals were at the read time and its steps at their stamps, 590 days apart in the TUI's wall-time view of a
2025 Megatron log (a new user's review; a log stamped in another time zone would put them hours apart).

Step lines of another kind state none either, between lines that do: a Megatron-DeepSpeed log's `iteration N`
lines between DeepSpeed's stamped `step=N` lines were at the read time, the others at 2023's stamps, and `tail`
said `4.81e-05 step/s`, elapsed 1200 days (a review). Every record read at the read time is timed so.

A record before any stamp takes the first one after it in the same block
(it was written before that), and none is made later than it was read (a
log stamped in a time zone ahead of this machine's).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from runwatch.model import Record
from runwatch.parsers.source import ChunkRecords


def at_stated_times(recs: list[Record] | ChunkRecords, read_t: float,
                    before: float | None) -> list[Record] | ChunkRecords:
    """`recs` of one history block read at `read_t`, those of lines that state no time (read at `read_t`) at the
    time the newest line before them states (`before`: the newest such time of the blocks before this one, None
    if none)."""
    if isinstance(recs, ChunkRecords):
        return _chunk(recs, read_t, before)
    if all(r.t != read_t for r in recs):
        return recs
    stamps = [r.t if r.t > 0 and r.t != read_t else np.nan for r in recs]
    return [_at(r, s, read_t) for r, s in zip(recs, _newest(np.array(stamps), before), strict=True)]


def _chunk(chunk: ChunkRecords, read_t: float, before: float | None) -> ChunkRecords:
    records, rows = chunk.records, chunk.steps
    rows_unstated = rows is not None and len(rows) > 0 and (rows.t is None or not bool((rows.t > 0).all()))
    if not rows_unstated and all(r.t != read_t for r in records):
        return chunk
    lines = [r.line for r in records]
    own = [r.t if r.t > 0 and r.t != read_t else np.nan for r in records]
    if rows is not None and len(rows):
        lines += rows.line.tolist()
        own += (np.full(len(rows), np.nan) if rows.t is None else np.where(rows.t > 0, rows.t, np.nan)).tolist()
    order = np.argsort(np.array(lines), kind="stable")  # in line order: a record before the row of its line
    stated = np.empty(len(order))
    stated[order] = _newest(np.array(own)[order], before)
    timed = [_at(r, float(s), read_t) for r, s in zip(records, stated[: len(records)], strict=True)]
    if rows_unstated and rows is not None:
        row_t = np.zeros(len(rows)) if rows.t is None else rows.t
        said = np.fmin(stated[len(records):], read_t)
        rows = replace(rows, t=np.where(row_t > 0, row_t, np.where(np.isnan(said), 0.0, said)))
    return replace(chunk, records=timed, steps=rows)


def _newest(stamps: np.ndarray, before: float | None) -> np.ndarray:
    """For each position, the newest stamp at or before it (`before` ahead of them all), else the first after
    it; NaN where the block and `before` state none."""
    ahead = np.fmax.accumulate(np.concatenate(([np.nan if before is None else before], stamps)))[1:]
    after = np.fmin.accumulate(stamps[::-1])[::-1]
    return np.where(np.isnan(ahead), after, ahead)


def _at(rec: Record, stated: float, read_t: float) -> Record:
    if np.isnan(stated) or rec.t != read_t:
        return rec
    return replace(rec, t=float(min(stated, read_t)))
