"""One step axis for logs whose step counter restarts with every epoch.

A plain PyTorch loop prints `epoch {e} step {s} loss {x}` with `s` the batch
index within the epoch (`for s, batch in enumerate(loader)`), so the step
read from the line goes 0…99, 0…99, …: a sawtooth. The chart, the ETA and
the rules want one monotone axis, the one the loop's optimizer counts, so
the source turns such steps into global ones here, for any format whose
records carry an `epoch` metric (the generic `key=value` format above all).

How it is decided. Records of one rank are taken in line order; of those
that state an epoch, one whose step is below the previous one's while its
epoch is above the previous one's starts the count of a new epoch. From
then on every record of that rank has an offset added to its step: the
sum, over the epochs that ended, of each epoch's last step read (plus one
when the new epoch counts from 0: `epoch 1 step 0` after `epoch 0 step 99`
is step 100; `epoch 2 step 1` after `epoch 1 step 120` is 121). Each
epoch's length is its own last step, so epochs of different lengths (a
last, shorter epoch, a resized loader) give a monotone axis too, each
placed after the last step logged before it. A loop that logs every k-th
batch and counts from 0 (`0, 10, …, 90`) places the next epoch at 91, not
100: monotone, up to k - 1 steps early. A step that goes back while the
epoch does not (a resumed or restarted run, which the run state tells as a
new attempt) and records whose step is global already (HF Trainer's
fractional epochs, `Epoch [e/E], Step [s/S]`, which bracketed counts
across epochs itself) never look like a new epoch's count: nothing changes.
A stated total below a record's global step was the epoch's (`step 5/120`
within epoch 3): it is dropped, the run's total being unknown.

Both readers go through the same rule: the per-line way record by record
(`record`), a chunk's step rows and records at once in line order
(`chunk`, numpy over the columns): the same steps either way.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

from runwatch.model import Kind, Record

if TYPE_CHECKING:
    import numpy as np

    from runwatch.parsers.columnar import ColumnBatch



def _set_step(rec: Record, step: int) -> None:
    object.__setattr__(rec, "step", step)  # a fresh record, not handed out yet: as model.completed stamps one


def _set_total(rec: Record, total: int | None) -> None:
    object.__setattr__(rec, "total_steps", total)


_COUNTED = (Kind.STEP, Kind.EVAL)


class _Rank:
    """One rank's count: the offset added to its steps, and the last record with an epoch (raw step)."""

    __slots__ = ("offset", "step", "epoch")

    def __init__(self) -> None:
        self.offset = 0
        self.step = math.nan
        self.epoch = math.nan


class EpochSteps:
    """Per-epoch step counters of one source made global (see the module notes)."""

    def __init__(self) -> None:
        self._ranks: dict[int, _Rank] = {}
        """By the record's rank (-1: none)."""
        self.offset = False
        """Whether any rank's steps are offset yet (then every record of the source is looked at)."""

    def record(self, rec: Record) -> None:
        """A STEP or EVAL record just made (the source's own, not handed out yet): its step made global in
        place, a total of its epoch dropped."""
        step = rec.step
        if step is None:
            return
        epoch = rec.metrics.get("epoch")
        key = -1 if rec.rank is None else rec.rank
        r = self._ranks.get(key)
        if r is None:
            if epoch is None:
                return
            r = self._ranks[key] = _Rank()
        if epoch is not None and epoch == epoch:
            if step < r.step and epoch > r.epoch:
                r.offset += int(r.step) + (step == 0)
                self.offset = True
            r.step, r.epoch = step, epoch
        if r.offset:
            _set_step(rec, step + r.offset)
            if rec.total_steps is not None and rec.total_steps < step + r.offset:
                _set_total(rec, None)

    def chunk(self, records: list[Record], batch: ColumnBatch | None, rank: int | None) -> ColumnBatch | None:
        """`record` over a chunk's records (stamped: in place) and step rows (the batch returned, its steps
        global), in line order as they interleave; `rank`: the source's, a row's where its line states none."""
        import numpy as np

        recs = [r for r in records if r.step is not None and r.kind in _COUNTED]
        rows = 0 if batch is None else len(batch)
        if not rows:
            for rec in recs:
                self.record(rec)
            return batch
        assert batch is not None
        epochs = batch.metrics.get("epoch")
        if not self.offset and epochs is None and not any("epoch" in r.metrics for r in recs):
            return batch
        n = rows + len(recs)
        line = np.concatenate((batch.line, np.array([r.line for r in recs], np.int64)))
        step = np.concatenate((batch.step, np.array([r.step for r in recs], np.int64)))
        epoch = np.full(n, np.nan)
        if epochs is not None:
            epoch[:rows] = np.where(batch.present["epoch"], epochs, np.nan)
        epoch[rows:] = [r.metrics.get("epoch", math.nan) for r in recs]
        ranks = np.full(n, -1 if rank is None else rank, np.int64)
        if batch.rank is not None:
            ranks[:rows] = np.where(batch.rank >= 0, batch.rank, ranks[:rows])
        ranks[rows:] = [-1 if r.rank is None else r.rank for r in recs]
        order = np.argsort(line, kind="stable") if recs else np.arange(n)
        glob = np.empty(n, np.int64)
        for who in np.unique(ranks).tolist():
            at = order[ranks[order] == who]
            glob[at] = self._run(who, step[at], epoch[at])
        for i, rec in enumerate(recs, rows):
            if glob[i] != rec.step:
                _set_step(rec, int(glob[i]))
                if rec.total_steps is not None and rec.total_steps < glob[i]:
                    _set_total(rec, None)
        if not self.offset:
            return batch
        new = glob[:rows]
        total = np.where((new != batch.step) & (batch.total >= 0) & (batch.total < new), -1, batch.total)
        new.flags.writeable = False
        total.flags.writeable = False
        return replace(batch, step=new, total=total)

    def _run(self, rank: int, step: np.ndarray, epoch: np.ndarray) -> np.ndarray:
        """One rank's raw steps (with epochs, NaN where none) in line order → global steps; its state
        carried on."""
        import numpy as np

        r = self._ranks.get(rank)
        has = np.flatnonzero(~np.isnan(epoch))
        if r is None:
            if not has.size:
                return step
            r = self._ranks[rank] = _Rank()
        offset = np.full(step.size, r.offset, np.int64)
        if has.size:
            s, e = step[has].astype(np.float64), epoch[has]
            prev_s = np.concatenate(([r.step], s[:-1]))
            prev_e = np.concatenate(([r.epoch], e[:-1]))
            starts = (s < prev_s) & (e > prev_e)  # NaN before the first: no start
            if starts.any():
                grow = np.where(starts, np.nan_to_num(prev_s) + (s == 0), 0).astype(np.int64)
                at = np.cumsum(grow) + r.offset  # each epoch-stating record's offset
                since = np.searchsorted(has, np.arange(step.size), side="right") - 1
                offset = np.where(since >= 0, at[np.maximum(since, 0)], r.offset)
                r.offset = int(at[-1])
                self.offset = True
            r.step, r.epoch = float(s[-1]), float(e[-1])
        return step + offset
