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

An event or eval before any stamp takes the first one after it in the same block
(it was written before that), and none is made later than it was read (a
log stamped in a time zone ahead of this machine's).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from runwatch.model import Kind, Record
from runwatch.parsers.source import ChunkRecords

_TIMED = frozenset({Kind.EVENT, Kind.EVAL})
"""The kinds of record whose lines state no time in a log whose step lines do."""


def at_stated_times(recs: list[Record] | ChunkRecords, read_t: float,
                    before: float | None) -> list[Record] | ChunkRecords:
    """`recs` of one history block read at `read_t`, their events and evals at the time the newest step line
    before them states (`before`: the newest such time of the blocks before this one, None if none)."""
    if isinstance(recs, ChunkRecords):
        return _chunk(recs, read_t, before)
    if not any(r.kind in _TIMED for r in recs):
        return recs
    stamps = [r.t if r.kind == Kind.STEP and r.t > 0 else np.nan for r in recs]
    return [_at(r, s, read_t) for r, s in zip(recs, _newest(np.array(stamps), before), strict=True)]


def _chunk(chunk: ChunkRecords, read_t: float, before: float | None) -> ChunkRecords:
    records = chunk.records
    if not any(r.kind in _TIMED for r in records):
        return chunk
    rows = chunk.steps
    lines = [r.line for r in records]
    own = [r.t if r.kind == Kind.STEP and r.t > 0 else np.nan for r in records]
    if rows is not None and rows.t is not None and len(rows):
        lines += rows.line.tolist()
        own += np.where(rows.t > 0, rows.t, np.nan).tolist()
    order = np.argsort(np.array(lines), kind="stable")  # in line order: a record before the row of its line
    stated = np.empty(len(order))
    stated[order] = _newest(np.array(own)[order], before)
    timed = [_at(r, float(s), read_t) for r, s in zip(records, stated[: len(records)], strict=True)]
    return replace(chunk, records=timed)


def _newest(stamps: np.ndarray, before: float | None) -> np.ndarray:
    """For each position, the newest stamp at or before it (`before` ahead of them all), else the first after
    it; NaN where the block and `before` state none."""
    ahead = np.fmax.accumulate(np.concatenate(([np.nan if before is None else before], stamps)))[1:]
    after = np.fmin.accumulate(stamps[::-1])[::-1]
    return np.where(np.isnan(ahead), after, ahead)


def _at(rec: Record, stated: float, read_t: float) -> Record:
    if rec.kind not in _TIMED or np.isnan(stated) or rec.t != read_t:
        return rec
    return replace(rec, t=min(stated, read_t))
