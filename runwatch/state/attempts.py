"""Where a run starts again from its beginning in the same output: a new attempt, judged afresh.

`python train.py >> train.log` run a second time, a job array writing into one
file, a `tee -a` after a crash: the step counter goes back to where the run
began and the loss to its untrained value. Taken as the same curve, that is a
divergence and a spike that never happened (the run lab's healthy nanoGPT log
written twice raised `loss_divergence`), and the charts draw the second
attempt back over the first.

A step starts a new attempt when, in one source and on the main rank, it is
lower than the step before it and either no higher than the first step of the
current attempt (runs log their first step again: `iter 0`, HF's
`logging_steps`) or far below the step before it: `RESUME_BACK_STEPS` steps and
`RESUME_BACK_FRACTION` of the attempt so far. The second is a resume from an
earlier checkpoint, whose reloaded weights bring back that checkpoint's higher
loss (a false divergence, judged as the same curve), or the next phase of a
pipeline writing one log (nanochat's SFT from its step 1 after pre-training's
16,703). A step that goes back a little is no new attempt: ranks printing to one
stream without a prefix reach the same step out of order. A step that goes back
while the record's epoch goes up is a loop that counts its steps per epoch
(`epoch 2 step 10`), not a restart.

Records that state no step (the HF Trainer's dicts in a log with no training bar: stdout of a job whose
bar went to stderr) have only their epoch: one that goes back to the attempt's first epoch, or by
`RESUME_BACK_FRACTION` of the epochs since it, starts a new attempt (`epoch_restarts`). A job that trains
one task and then another (`trainer.train()` twice: epoch 2.0, its summary, then epoch 0.08 and the loss
of an untrained model) read as one curve diverging, a critical alert on a healthy run (a review).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

RESUME_BACK_STEPS = 20
RESUME_BACK_FRACTION = 0.1


@dataclass
class _Attempt:
    """One source's current attempt: its first step, the step before, and its epoch (NaN: none said)."""

    first: float
    prev: float
    epoch: float
    measured: float = math.nan
    """The step of its last record that carried a loss (NaN: none yet): see `Attempts.restarts`."""


def _new_epoch(epoch: float, before: float) -> bool:
    return not math.isnan(epoch) and not math.isnan(before) and epoch > before


def _far_back(step: float, prev: float, first: float) -> bool:
    """Whether going from `prev` back to `step` starts a new attempt whose first step was `first`."""
    return step <= first or prev - step >= max(RESUME_BACK_STEPS, RESUME_BACK_FRACTION * (prev - first))


class Attempts:
    """The attempt of every source of a run, by its main rank's steps (see the module notes). Pure: the
    run state asks, then says which steps it took (`advance`) and when it started afresh (`restart`)."""

    def __init__(self) -> None:
        self._by_source: dict[str, _Attempt] = {}
        self.count = 1
        """Attempts seen: 1, and one more at each restart."""
        self._unstepped: dict[str, _Attempt] = {}
        """Per source, the epochs of its records that state no step (`epoch_restarts`)."""

    def restarts(self, source: str, step: float, epoch: float = math.nan, loss: bool = False) -> bool:
        """Whether `step` (with `epoch`, NaN when the record says none) starts a new attempt of `source`.

        A record with a loss (`loss`) that goes back only behind steps no record with a loss reached (a
        progress bar's frames) is no restart: it was placed late, the HF Trainer's dicts of a block-buffered
        stdout (runwatch.parsers.hf_trainer), each placed back at its logging step after the bar had drawn
        the steps past it. A restarted bar goes back itself."""
        a = self._by_source.get(source)
        if a is None or step >= a.prev:
            return False
        if loss and step > (a.first if math.isnan(a.measured) else a.measured):
            return False
        return _far_back(step, a.prev, a.first) and not _new_epoch(epoch, a.epoch)

    def restart_row(self, source: str, steps: np.ndarray, epochs: np.ndarray | None,
                    after: tuple[float, float] | None = None) -> int | None:
        """The first of these step rows (in line order) that starts a new attempt, or None. `after`: the step and
        epoch (NaN: none stated) of the row right before them that the run has not taken yet (rows held back,
        already asked about): the first of these is compared with it, as it is when both are asked about at
        once. Needs the source's attempt begun (else None is no answer: ask about all of them)."""
        if not len(steps):
            return None
        a = self._by_source.get(source)
        first = float(steps[0]) if a is None else a.first
        before = np.empty(len(steps))
        before[0] = (-math.inf if a is None else a.prev) if after is None else after[0]  # a first row starts the
        before[1:] = steps[:-1]  # attempt, it cannot start again
        for i in np.flatnonzero(steps < before).tolist():
            if not _far_back(float(steps[i]), float(before[i]), first):
                continue
            epoch = math.nan if epochs is None else float(epochs[i])
            if i:
                last = math.nan if epochs is None else float(epochs[i - 1])
            else:
                last = (math.nan if a is None else a.epoch) if after is None else after[1]
            if not _new_epoch(epoch, last):
                return int(i)
        return None

    def begun(self, source: str) -> bool:
        """Whether `source` took a step of its attempt yet."""
        return source in self._by_source

    def advance(self, source: str, step: float, epoch: float = math.nan, loss: bool = False) -> None:
        """The run took `step` (the last of a run of rows) in `source`; `loss`: its record (or a row of the
        run) carried a loss."""
        a = self._by_source.get(source)
        if a is None:
            self._by_source[source] = a = _Attempt(step, step, epoch)
        elif loss and a.first < step < a.prev and (math.isnan(a.measured) or step > a.measured):
            a.measured = step  # placed late (`restarts`): the run stays where its bar was
            return
        a.prev = step
        if not math.isnan(epoch):
            a.epoch = epoch
        if loss:
            a.measured = step

    def advance_rows(self, source: str, steps: np.ndarray, epochs: np.ndarray | None,
                     loss: np.ndarray | None = None) -> None:
        """`advance` for each of these rows, in one go (none of them a restart: see `restart_row`); `loss`:
        which rows carry a loss (None: none)."""
        if not len(steps):
            return
        if source not in self._by_source:
            self.advance(source, float(steps[0]))
        said = None if epochs is None else epochs[~np.isnan(epochs)]
        self.advance(source, float(steps[-1]), float(said[-1]) if said is not None and said.size else math.nan)
        if loss is not None and loss.any():
            a = self._by_source[source]
            a.measured = float(steps[np.flatnonzero(loss)[-1]])

    def launched(self, source: str) -> None:
        """`source` printed that its program was launched again (runwatch.parsers.launches, a `torchlight` log's
        `Parameters:`): its next step starts a new attempt, wherever it is, unless it carries a loss past the
        last one's (a launch resumed from a later checkpoint). ST-GCN relaunched 40 times from `Iter 0`, each
        killed before its next step, read as one attempt at step 0 two hours silent: a critical stall."""
        a = self._by_source.get(source)
        if a is not None:
            a.prev = math.inf

    def epoch_restarts(self, source: str, epoch: float) -> bool:
        """Whether a record of `source` that states no step but this `epoch` starts a new attempt (module
        notes); the epoch is taken either way. A record without an epoch says nothing."""
        if math.isnan(epoch):
            return False
        a = self._unstepped.get(source)
        if a is None:
            self._unstepped[source] = _Attempt(epoch, epoch, epoch)
            return False
        back = epoch < a.prev and (epoch <= a.first or a.prev - epoch >= RESUME_BACK_FRACTION * (a.prev - a.first))
        if back:
            self._unstepped[source] = _Attempt(epoch, epoch, epoch)
        else:
            a.prev = epoch
        return back

    def restart(self, source: str, step: float | None, epoch: float = math.nan, *, counted: bool = True) -> None:
        """`source` started again at `step` (None: its records state none, `epoch_restarts`): the first step
        of its new attempt. Not `counted`: the steps before were another loop's bar, not an attempt of the
        run (the run state's `_bar_replaced`)."""
        if step is not None:
            self._by_source[source] = _Attempt(step, step, epoch)
        if counted:
            self.count += 1
