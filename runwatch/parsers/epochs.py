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
then on every record of that rank has an offset added to its step. Where
that record (or the one before) states a total, that total is one epoch's
length S and the place is exact, `within` the count: epoch e of a count that
began at epoch e0 starts at (e − e0) × S (`epoch 2/3 step 1/50` is 51; a
loop logging every 50th batch from 0, `0 … 450/500`, starts epoch 2 at 500),
the tutorial's bracketed rule (`Epoch [e/E], Step [s/S]`, which places its
steps so itself, line by line, with these same two functions). Without a
stated length the offset is the sum, over the epochs that ended, of each
epoch's last step read (plus one when the new epoch counts from 0: `epoch 1
step 0` after `epoch 0 step 99` is step 100; `epoch 2 step 1` after `epoch 1
step 120` is 121), so epochs of different lengths give a monotone axis
too; a loop that logs every k-th batch from 0 then places the next epoch up
to k − 1 steps early (`0, 10, …, 90`: at 91). The exact place is never
below that one. A step that goes back while the epoch does not (a resumed
or restarted run, which the run state tells as a new attempt) and records
whose step is global already (HF Trainer's fractional epochs, bracketed's)
never look like a new epoch's count: nothing changes. Nor does a record whose
epoch, or the one before it, is no whole number: a loop that counts steps
within an epoch counts epochs in whole numbers, and the Trainer's `'epoch':
1.002` after an evaluation's `'epoch': 1` placed later than it ran (stdout
written in blocks) read as the first step of a new count, every step after it
1,659 too high and the run's step 5007 of 1677 (a review).

The total. A per-epoch total S stated on a placed record is one epoch's, not
the run's: with the epoch count E stated (`epoch 2/3`, kv's `epochs`, or
else the header's plan, `max_epochs=100`: `planned`) the run's is
`run_total`, E × S (bracketed's too); else none is known. Any other
stated total below a record's global step is dropped. Never a total below the
step: a run is not read as finished at the end of its first epoch. Before
the first wrap, the first epoch's lines keep what they state (one epoch's S:
nothing yet tells it from a run's).

Both readers go through the same rule: the per-line way record by record
(`record`), a chunk's step rows and records at once in line order
(`chunk`, numpy over the columns): the same steps either way.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from runwatch.arrays import distinct
from runwatch.model import Kind, Record

if TYPE_CHECKING:
    import numpy as np

    from runwatch.parsers.columnar import ColumnBatch



def within(epoch: Any, first: Any, step: Any, per_epoch: Any) -> Any:
    """The global step of `step` counted within `epoch`, each epoch `per_epoch` steps, the count's first epoch
    `first`: exact where the epoch's length is stated. Ints or arrays alike (bracketed's columns)."""
    return (epoch - first) * per_epoch + step


def run_total(epochs: Any, per_epoch: Any) -> Any:
    """The run's total of `epochs` epochs of `per_epoch` steps: `E × S`, never `S` (one epoch's)."""
    return epochs * per_epoch


def epochal(step: Any, epoch: Any, stated: Any, epochs: Any, sure: bool = False) -> Any:
    """Whether a total stated beside a whole epoch number is one epoch's, not the run's, before any epoch's count
    wrapped to tell it: the step is past what that epoch could reach of a run of `epochs` epochs of that total
    (epoch `e` of a run of `E` epochs, counted from 0 or from 1, ends by (e + 1) × S / E of it). mmengine's
    `Epoch(train) [1][650/3505]` under `max_epochs=12` is step 650 of 42,060; read of 3,505, a review's run killed
    in its first epoch showed 12 times its progress. Only in a rank's first epoch: a later one whose count did not
    wrap counts the whole run's steps, its total the run's (a script whose `Namespace(epochs=100)` a step limit cut
    short, `Epoch: 1, Iter: 2500/10000`; in its first epoch the same reading holds, and it is told of 1,000,000 until
    then, a code review). `sure`: the header said the run counts within epochs (`EpochSteps.epoch_based`), so the
    total is one epoch's from the first line on (mmdet's `[1][50/5455]` of `max: 12 epochs` read 5455 as the run's
    for its first 909 steps). Scalars or arrays alike."""
    return (stated > 0) & (epochs > 1) & (epoch % 1 == 0) & (sure | (step * epochs > (epoch + 1) * stated))


def set_step(rec: Record, step: int) -> None:
    """`rec`'s step set in place: a fresh record, not handed out yet, as model.completed stamps one (this rule's and
    runwatch.parsers.rounded's)."""
    object.__setattr__(rec, "step", step)


def _set_total(rec: Record, total: int | None) -> None:
    object.__setattr__(rec, "total_steps", total)


_COUNTED = (Kind.STEP, Kind.EVAL)


class _Rank:
    """One rank's count: the offset added to its steps, the per-epoch total it was placed by (-1: none), its
    first epoch, the shift of its places since an epoch changed its length (`start`), and the last record with an
    epoch (raw step, stated total or -1)."""

    __slots__ = ("offset", "per", "first", "shift", "step", "epoch", "total", "stride", "raw")

    def __init__(self) -> None:
        self.offset = 0
        self.per = -1
        self.first = math.nan
        self.shift = 0
        """Added to every exact place and run total (`within`, `run_total`): the steps the epochs before a change of
        length took beyond (or short of) what the new length makes of them."""
        self.step = math.nan
        self.epoch = math.nan
        self.total = -1
        self.stride = math.nan
        """The last move of its raw step within an epoch (`_wrapped`)."""
        self.raw = math.nan
        """The last step as printed, before `_wrapped` placed it (what the next is compared with: a row placed past
        its epoch's end is no measure for the one after it)."""

    def start(self, step: int, epoch: float, stated: int) -> None:
        """A new epoch's count starts at `step`: the offset of its records. With a per-epoch total stated
        (this record's, else the last one's) the epoch's place is exact, `within` its count; else after the
        last step logged (never below that: one rising axis either way)."""
        last = self.offset + int(self.step) + (step == 0)
        per = stated if stated >= 0 else self.total
        if per > 0 and self.per > 0 and per != self.per:  # an epoch of another length: the epochs before it
            self.shift += int(within(epoch, self.first, 0, self.per - per))  # keep theirs (a review's loop of
            # 448 batches an epoch, then 639, then 640 after its data grew, read 9,550 steps ahead at epoch 50)
        self.per = per if per > 0 else -1
        self.offset = max(last, int(within(epoch, self.first, 0, per)) + self.shift) if per > 0 else last

    def anew(self, epoch: float) -> None:
        """The epoch went back to where the count began, or before: a new launch counts from its own first epoch,
        its steps its own again (a YOLOX log of seven launches: the last one's `epoch: 1/20, iter: 10/14` read as
        step 2138, past the launch before it, and its first loss, 8.9, as a spike of that one; no restart was
        seen). Not back to a later epoch: PaddleRec's `infer.py` over the saved epochs 15 to 18 after training's
        20 is no new run of training (it read `step 3`, started again)."""
        if epoch <= self.first:
            self.offset, self.per, self.first, self.shift = 0, -1, epoch, 0


def _wrapped(step: Any, stated: Any, epoch: Any, prev_step: Any, prev_epoch: Any, stride: Any) -> Any:
    """Whether a step is past its epoch's end printed as the count modulo the epoch's length (it is `step +
    stated`): in the same epoch as the step before it, below it, and, once the length is added, on from it by the
    very move its steps made before (`stride`: one logging stride; an mmengine run killed at `[1][2900/2901]` and
    launched again at `[1][  50/2901]` moved by 51, a new run), from a step short of the epoch's end (one printed
    at its end, `[1][2900/2900]`, never wraps: a relaunch after it is a new run; a code review). Both readers compare
    the steps as printed (`_Rank.raw`), never a placed one. PaddleGAN's trainer prints
    `Epoch: 10/100, iter: 981/991`, then `Epoch: 10/100, iter: 0/991` for the 991st (and, logging from 2, `iter:
    982/991` then `iter: 1/991` for the 992nd): read as 0, the step went back an epoch, and `check` said the run
    started again at each epoch's end, its steps an epoch short after (a review). A float → bool, arrays → a bool
    array."""
    return (stated > 0) & (epoch == prev_epoch) & (step >= 0) & (step < prev_step) & (prev_step < stated) & (
        step + stated - prev_step == stride)


def _totals(stated: Any, epochs: Any, glob: Any, per: Any, shift: Any) -> Any:
    """The totals (-1: none) of records placed on the global axis, `per` the per-epoch total they were placed
    by (-1: none), `shift` their count's (`_Rank.shift`): that total stated becomes the run's (`run_total`, with the
    epoch count stated; else none), any other total below the global step none."""
    import numpy as np

    run = np.where(np.isnan(epochs) | (per <= 0), -1, run_total(np.nan_to_num(epochs), per) + shift).astype(np.int64)
    return np.where((per > 0) & (stated == per), np.where(run >= glob, run, -1), np.where(stated < glob, -1, stated))


class EpochSteps:
    """Per-epoch step counters of one source made global (see the module notes)."""

    def __init__(self) -> None:
        self._ranks: dict[int, _Rank] = {}
        """By the record's rank (-1: none)."""
        self.offset = False
        """Whether any rank's steps are offset yet (then every record of the source is looked at)."""
        self.stepped = False
        """Whether any record or row of the source stated a step (then no epoch is one: `_by_epoch`)."""
        self.first_stated: int | None = None
        """The line of the first record or row that stated a step (None: none yet); the records before it that
        have a step were stepped by their epoch (`by_epoch`)."""
        self.planned = math.nan
        """The epochs the log's header plans (runwatch.parsers.preamble.PLANNED_EPOCHS), NaN if none: the epoch
        count of a record that states none (`Epoch [2][50/1220]` of an mmcv run whose config said `max_epochs=100`)."""
        self.epoch_length = -1
        """The steps of one epoch as the header states them (runwatch.parsers.preamble.EPOCH_LENGTH), -1 if it
        states none: where each epoch's count starts, for records that state no per-epoch total. pix2pix and
        CycleGAN print `(epoch: 2, iters: 3, …)` every 20 images, and an epoch read as ending at its last print
        (60 of 77) placed epoch 2's iteration 3 at 63, not 80 (a review)."""
        self.epoch_based = False
        """Whether the header said the run counts its iterations within epochs (runwatch.parsers.preamble.MMCV_RUNNER):
        `epochal` is sure of a total stated beside an epoch."""

    def anew(self) -> EpochSteps:
        """Counters for another reading of the same source (a guessed format overturned): the header's plan kept, no
        rank's steps, nothing stated yet."""
        fresh = EpochSteps()
        fresh.planned, fresh.epoch_length, fresh.epoch_based = self.planned, self.epoch_length, self.epoch_based
        return fresh

    def _length(self, stated: int) -> int:
        """The per-epoch total a record's count is placed by: its own, else the header's."""
        return stated if stated >= 0 else self.epoch_length

    def _planned_total(self) -> int:
        """The run's total from the header's epoch length and epoch count (-1: it states not both)."""
        return int(run_total(self.planned, self.epoch_length)) if self.epoch_length > 0 and self.planned > 0 else -1

    def _by_epoch(self, rec: Record) -> None:
        """A loop that prints one line an epoch and no step (`Epoch 1/100 - Train Loss: 4.05, Val Loss: 3.25`)
        counts its run in epochs: the epoch is the step and the epoch count the total, as bracketed reads
        `Epoch [e/E], Train Loss:`. Only while the source stated no step at all: a per-epoch summary among
        lines that do state one (`Epoch 1/10 Batch 100/500 …`) stays off the step axis, where it would go
        back. Where the line states no count, the header's plan is it (`--n_epoch=100` on a launch command: a
        review's run stopped at epoch 51 of 100 read OK). Without it such a run read `no steps` and never finished
        (a new user's review). A line with no count (`INFO:root:Epoch 0 - Average Loss: 1.5552, …`) is at its
        epoch too: read stepless, several runs appended to one log made one loss series, and the next run's first
        loss read as the last one diverging (a review)."""
        if rec.kind is not Kind.STEP or self.stepped:
            return
        epoch, count = rec.metrics.get("epoch"), rec.metrics.get("epochs")
        if epoch is None or not epoch.is_integer() or not 0 <= epoch < 2**53:
            return
        if count is None and self.planned == self.planned:
            count = self.planned  # the header's `--n_epoch=100`: of that many
        if count is None:
            set_step(rec, int(epoch))  # `Epoch 0 - Average Loss: 1.5552, …`: the epoch, of no count stated
        elif epoch <= count < 2**53:
            set_step(rec, int(epoch))
            _set_total(rec, int(count))

    def stated_at(self, line: int) -> None:
        """A record of `line` stated a step."""
        self.stepped = True
        if self.first_stated is None:
            self.first_stated = line

    def by_epoch(self, rec: Record) -> bool:
        """Whether `rec`'s step is its epoch (`_by_epoch`): then a header's count of optimizer steps is not its
        total (a review's translation model logged `Scheduler: total_steps:25720.0` and one loss an epoch, and
        read `step 18/25720 (0.1%)`, `incomplete` after 18 of its epochs)."""
        return rec.step is not None and (self.first_stated is None or rec.line < self.first_stated)

    def record(self, rec: Record) -> None:
        """A STEP or EVAL record just made (the source's own, not handed out yet): its step made global in
        place, a total of its epoch made the run's or dropped."""
        step = rec.step
        if step is None:
            self._by_epoch(rec)
            return
        self.stated_at(rec.line)
        epoch = rec.metrics.get("epoch")
        key = -1 if rec.rank is None else rec.rank
        r = self._ranks.get(key)
        if r is None:
            if epoch is None:
                return
            r = self._ranks[key] = _Rank()
        stated = -1 if rec.total_steps is None else rec.total_steps
        raw = step
        if _wrapped(raw, stated, epoch, r.raw, r.epoch, r.stride):
            step += stated
            set_step(rec, step)
        if epoch == r.epoch and raw > r.raw:
            r.stride = raw - r.raw
        if epoch is not None:
            r.raw = raw
        if epoch is not None and epoch == epoch:
            if r.first != r.first:
                r.first = epoch
            if epoch.is_integer() and r.epoch.is_integer() and epoch != r.epoch:
                if epoch < r.epoch:
                    r.anew(epoch)
                elif step <= r.step:
                    r.start(step, epoch, self._length(stated))
                    self.offset = True
            r.step, r.epoch, r.total = step, epoch, stated
        if r.offset:
            glob = step + r.offset
            set_step(rec, glob)
            if stated >= 0:
                total = int(_totals(stated, rec.metrics.get("epochs", self.planned), glob, r.per, r.shift))
                _set_total(rec, None if total < 0 else total)
        elif epoch is not None and epoch == r.first and epochal(
                step, epoch, stated, count := rec.metrics.get("epochs", self.planned), self.epoch_based):
            if (run := int(run_total(count, stated))) >= step:
                _set_total(rec, run)
        if stated < 0 and epoch is not None and (planned := self._planned_total()) >= (rec.step or 0):
            _set_total(rec, planned)

    def chunk(self, records: list[Record], batch: ColumnBatch | None, rank: int | None) -> ColumnBatch | None:
        """`record` over a chunk's records (stamped: in place) and step rows (the batch returned, its steps
        global), in line order as they interleave; `rank`: the source's, a row's where its line states none."""
        import numpy as np

        rows = 0 if batch is None else len(batch)
        recs = [r for r in records if r.step is not None and r.kind in _COUNTED]  # before `_by_epoch` steps more
        if not self.stepped:
            first = min([r.line for r in recs] + ([int(batch.line[0])] if rows and batch is not None else []),
                        default=None)
            for rec in records:
                if first is not None and rec.line >= first:
                    break
                self._by_epoch(rec)  # no step stated before it: its epoch is one (and `record` passes it by, as
                # `record` of it does line by line: a step of its epoch is none stated, or the next chunk's
                # epoch lines were stepless where `feed` stepped them: a review's T5 log)
            if first is not None:
                self.stated_at(first)
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
        stated = np.concatenate((batch.total, np.array([-1 if r.total_steps is None else r.total_steps
                                                        for r in recs], np.int64)))
        epoch, count = self._column(batch, recs, "epoch"), self._column(batch, recs, "epochs")
        if self.planned == self.planned:
            count[np.isnan(count)] = self.planned
        ranks = np.full(n, -1 if rank is None else rank, np.int64)
        if batch.rank is not None:
            ranks[:rows] = np.where(batch.rank >= 0, batch.rank, ranks[:rows])
        ranks[rows:] = [-1 if r.rank is None else r.rank for r in recs]
        order = np.argsort(line, kind="stable") if recs else np.arange(n)
        glob = step.copy()
        total = stated.copy()
        for who in distinct(ranks).tolist():
            at = order[ranks[order] == who]
            glob[at], total[at] = self._run(who, step[at], epoch[at], stated[at], count[at])
        for i, rec in enumerate(recs, rows):
            if glob[i] != rec.step or total[i] != stated[i]:
                set_step(rec, int(glob[i]))
                _set_total(rec, None if total[i] < 0 else int(total[i]))
        if not self.offset and np.array_equal(total[:rows], stated[:rows]):
            return batch  # nothing moved, no total told otherwise (`epochal`, the header's plan)
        new, total = glob[:rows], total[:rows]
        new.flags.writeable = False
        total.flags.writeable = False
        return replace(batch, step=new, total=total)

    @staticmethod
    def _column(batch: ColumnBatch, recs: list[Record], name: str) -> np.ndarray:
        """Metric `name` of the batch's rows then of the records, NaN where a line states none."""
        import numpy as np

        out = np.full(len(batch) + len(recs), np.nan)
        col = batch.metrics.get(name)
        if col is not None:
            out[:len(batch)] = np.where(batch.present[name], col, np.nan)
        out[len(batch):] = [r.metrics.get(name, math.nan) for r in recs]
        return out

    def _run(self, rank: int, step: np.ndarray, epoch: np.ndarray, stated: np.ndarray,
             count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One rank's raw steps (with epochs, NaN where none; stated totals, -1 where none; epoch counts) in
        line order → global steps and totals; its state carried on."""
        import numpy as np

        r = self._ranks.get(rank)
        has = np.flatnonzero(~np.isnan(epoch))
        if r is None:
            if not has.size:
                return step, stated
            r = self._ranks[rank] = _Rank()
        offset = np.full(step.size, r.offset, np.int64)
        per = np.full(step.size, r.per, np.int64)
        shift = np.full(step.size, r.shift, np.int64)
        if has.size and r.first != r.first:
            r.first = float(epoch[has[0]])
        first = np.full(step.size, r.first)  # each row's count's first epoch, as `record` has it at that row (a new
        # launch's count begins anew: `_Rank.anew`)
        if has.size:
            s, e, t = step[has], epoch[has], stated[has]
            prev_s = np.concatenate(([r.step], s[:-1].astype(np.float64)))
            prev_e = np.concatenate(([r.epoch], e[:-1]))
            prev_t = np.concatenate(([r.total], t[:-1]))
            prev_raw = np.concatenate(([r.raw], s[:-1].astype(np.float64)))
            moves = np.where((e == prev_e) & (s > prev_raw), s - prev_raw, np.nan)
            known = np.where(np.isnan(moves), -1, np.arange(moves.size))
            np.maximum.accumulate(known, out=known)
            stride = np.concatenate(([r.stride], np.where(known >= 0, moves[np.maximum(known, 0)], r.stride)[:-1]))
            wrapped = _wrapped(s, t, e, prev_raw, prev_e, stride)
            r.raw = float(s[-1])
            if wrapped.any():
                s = np.where(wrapped, s + t, s)
                step[has] = s
                prev_s = np.concatenate(([r.step], s[:-1].astype(np.float64)))
            if known[-1] >= 0:
                r.stride = float(moves[known[-1]])
            whole = (e == np.floor(e)) & (prev_e == np.floor(prev_e))  # NaN before the first: no start
            starts = np.flatnonzero((((s <= prev_s) & (e > prev_e)) | (e < prev_e)) & whole)
            if starts.size:
                offs, pers, shifts, firsts = [], [], [], []
                for i in starts.tolist():  # one per epoch begun (or count begun anew) in the chunk: few
                    if e[i] < prev_e[i]:
                        r.anew(float(e[i]))  # or, back to a later epoch than its first, nothing changes
                    else:
                        r.step, r.total = float(prev_s[i]), int(prev_t[i])
                        r.start(int(s[i]), float(e[i]), self._length(int(t[i])))
                        self.offset = True
                    offs.append(r.offset)
                    pers.append(r.per)
                    shifts.append(r.shift)
                    firsts.append(r.first)
                since = np.searchsorted(has[starts], np.arange(step.size), side="right") - 1
                offset = np.where(since >= 0, np.array(offs, np.int64)[np.maximum(since, 0)], offset)
                per = np.where(since >= 0, np.array(pers, np.int64)[np.maximum(since, 0)], per)
                shift = np.where(since >= 0, np.array(shifts, np.int64)[np.maximum(since, 0)], shift)
                first = np.where(since >= 0, np.array(firsts)[np.maximum(since, 0)], first)
            r.step, r.epoch, r.total = float(s[-1]), float(e[-1]), int(t[-1])
        glob = step + offset
        moved = offset > 0
        total = np.where(moved & (stated >= 0), _totals(stated, count, glob, per, shift), stated)
        run = run_total(np.nan_to_num(count), stated).astype(np.int64)
        total = np.where(~moved & (epoch == first) & epochal(glob, epoch, stated, count, self.epoch_based) & (run >= glob), run, total)
        planned = self._planned_total()
        if planned >= 0:
            total = np.where((stated < 0) & ~np.isnan(epoch) & (glob <= planned), planned, total)
        return glob, total
