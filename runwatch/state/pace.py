"""The run's pace as runwatch sees its steps arrive: seconds per step between reads.

A log may print no step time at all (the tutorial loop) or a smoothed one that
reads slow long after a pause has ended (tqdm's rate); the drift rule judges
this measured pace first.
"""

from __future__ import annotations

import math

import numpy as np

STEP_INTERVAL = "step_interval"
"""Seconds per step as runwatch measured them from when the steps arrived (not a number the log
prints): what the drift rule judges first, since a log may print no step time at all (the tutorial
loop) or a smoothed one that reads slow long after a pause has ended (tqdm's rate)."""
SAME_READ_S = 1e-3
"""Records received closer together than this were read together."""
CATCH_UP_S = 0.05
"""Reads this close after a catch-up's (a history, a burst of appended lines) are the rest of it: the
follower reads a big append in pieces back to back, and the pace of those pieces was thousands of times
the run's (a false step_time_drift after every burst)."""
CATCH_UP_STEPS = 64
"""A read that brings more steps than this within `SPREAD_WITHIN_S` of the one before is a catch-up too:
a follower gathering a steady run's writes reads tens of steps at a time (keras-v1-slow: 25), not hundreds."""
SPREAD_WITHIN_S = 1.0
"""A read that came this soon after the one before is a piece of a steady stream: its seconds per step
count once per step. One that came later may be a burst after a pause (a replayed progress bar's steps
of one second arrive together; so do the steps after a hang in it): one point, as the pause is one."""


class PaceMeter:
    """Seconds per step between reads: (time of read B − time of read A) / (top step of B − top step of A).

    A read's records share one receive time, so the interval of read B is known only once all of B
    is in: it is given when the next read's first step arrives (one read late), as one point per step
    record of B that moved the top (B within `SPREAD_WITHIN_S` of A), so that the drift rule counts
    steps, not reads: a follower that gathers writes for 100 ms reads a run of 4 ms steps 25 steps at a
    time, and 400 healthy steps were 16 points, too few for a baseline (the run lab's keras-v1-slow
    went unseen). A step no higher than
    the top so far (another rank's line for it, a late metric file) is no progress and is not counted.
    A one-shot replay gives every record its own time: one point per record.

    A read whose top step begins a new epoch one step past the last read's top gives no point: the
    interval is no step's (`_into_epoch`).
    """

    def __init__(self) -> None:
        self._anchor: tuple[float, float, float] | None = None  # (top step, time, its epoch) of the last finished read
        self._pending: tuple[float, float, float] | None = None  # of the read under way
        self._moved = 0  # step records of the read under way that moved the top
        self._hot: float | None = None  # when the catch-up that `restart` began last read

    @property
    def top(self) -> float:
        """The highest step seen (−inf before any)."""
        return -math.inf if self._pending is None else self._pending[0]

    def restart(self, step: float, now: float, epoch: float = math.nan) -> None:
        """Forget what was measured; `step` at `now` is where the next measurement starts from: a history
        read, or a catch-up burst whose arrival says nothing of the run's pace (reads that follow it back
        to back, within `CATCH_UP_S`, are the rest of it)."""
        self._anchor, self._pending, self._moved = None, (step, now, epoch), 0
        self._hot = now

    def step(self, step: float, now: float, moved: int = 1,
             epoch: float = math.nan) -> tuple[float, float, int, float] | None:
        """Note step records received at `now`, the highest at `step` (in `epoch`, if stated), `moved` of
        them above the top so far; the points of the read they ended, if any: (the top before it, its top,
        its points, its seconds per step), the points' steps spread evenly above the first and up to the
        second."""
        pending = self._pending
        if pending is None:
            self._pending, self._moved = (step, now, epoch), moved
            return None
        top, at, _ = pending
        if now - at <= SAME_READ_S:
            if step > top:
                self._pending = (step, at, epoch)
                self._moved += moved
            return None
        if step <= top:
            return None
        points = None
        soon = self._anchor is not None and at - self._anchor[1] < SPREAD_WITHIN_S
        if (self._hot is not None and at - self._hot <= CATCH_UP_S) or (soon and self._moved > CATCH_UP_STEPS):
            self._hot = at  # a read on a catch-up's heels is more of it; a read of many steps right after
            self._anchor, self._pending, self._moved = pending, (step, now, epoch), moved  # another is one too
            return None
        self._hot = None
        if self._anchor is not None and top > self._anchor[0] and not _into_epoch(self._anchor, pending):
            base = self._anchor[0]
            count = max(1, min(self._moved, int(top - base))) if at - self._anchor[1] < SPREAD_WITHIN_S else 1
            points = (base, top, count, (at - self._anchor[1]) / (top - base))
        self._anchor, self._pending, self._moved = pending, (step, now, epoch), moved
        return points


def _into_epoch(anchor: tuple[float, float, float], read: tuple[float, float, float]) -> bool:
    """Whether `read` (top step, time, its epoch) begins a new epoch one step past the read before it, `anchor`: the
    interval to it is no step's. A loop that logs every k-th batch and never an epoch's length has its next epoch placed one
    past the last batch it logged (runwatch.parsers.epochs: the rest of the epoch is unseen), and the interval held
    that rest and the evaluation after it: PaddleVideo's `train step:0` and `step:100` of each epoch read as steps
    of 1.3 s and of 130 s by turns, a healthy run's step_time_drift `14×`. Where every batch is logged, it is the
    one step that holds the evaluation."""
    was, now = anchor[2], read[2]
    return read[0] - anchor[0] == 1.0 and now > was and now.is_integer() and was.is_integer()


WHOLE_SECOND_SPAN_S = 10.0
"""The least time a pace point is taken over on a clock that ticks in whole seconds (see `over_spans`): a
read's interval there is off by up to a second, a span of ten by a tenth at most, well inside the drift
rule's 1.5×."""


WHOLE_SECOND_SLACK_S = 0.05
WHOLE_SECONDS_SHARE = 0.9
"""A clock ticks in whole seconds where this share of its intervals are whole seconds, give or take the slack:
`check`'s replay clock moves by a hundredth of a second at a record that is no step (an event: the Trainer's `Saving
model checkpoint to …`), and one such interval of 1.01 s among a thousand left the whole-second bar's pace judged
point by point again (a code review). Arrival times fall anywhere in their second: a tenth of them that close."""


def over_spans(x: np.ndarray, v: np.ndarray, t: np.ndarray, span: float = WHOLE_SECOND_SPAN_S) -> np.ndarray | None:
    """The pace points `v` (seconds per step, at steps `x`, measured at times `t`), each taken over the steps of
    the last `span` seconds or more that end at it, where the clock the points were measured on ticks in whole
    seconds; None where it does not (arrival times, stamps with a fraction) or the points do not allow it.

    A progress bar prints its elapsed time in whole seconds (so do many loggers' stamps), and `check`'s clock is
    that time: a run of 1.5-s steps read as steps of 1 s and of 2 s by turns, and the median of 50 of them flips
    between the two as the rounding falls. A DeepSpeed/LLaVA run at 1.44 to 1.56 s a step all along (its bar's own
    rate) warned `steps take 1.5 s, 1.5× the 1 s before` (a review). Each point times the steps since the point
    before it (`value × steps`), so the points' sum is a clock; the pace over a span of that clock is the mean
    of the points in it, which the rounding moves by a second over the whole span, not each point's second.

    A point that alone spans `span` or more (a pause: an evaluation between two epochs' bars, 30 s on `check`'s
    clock) is its own measure, and no span reaches back across it: spread over the spans after it, an Ultralytics
    run's evaluation every 16 s of training made most of each epoch's points read 2 to 3 s a step where every step
    took 0.45 s, a `step_time_drift` of 4× in `check` that `tail` never saw (a review)."""
    n = len(v)
    if n < 3 or len(x) != n or len(t) != n:
        return None
    dt, dx = np.diff(t), np.diff(x)
    if not (np.isfinite(v).all() and np.isfinite(dt).all()) or (dx <= 0).any() or (v < 0).any():
        return None
    moved = dt[dt > 0]
    whole = (np.abs(moved - np.rint(moved)) <= WHOLE_SECOND_SLACK_S) & (moved >= 1 - WHOLE_SECOND_SLACK_S)
    if not len(moved) or whole.mean() < WHOLE_SECONDS_SHARE:
        return None  # a clock with fractions of a second: each point is its own measure
    clock = np.concatenate(([0.0], np.cumsum(v[1:] * dx)))  # the time at each point's step, from the first's
    start = np.maximum(np.searchsorted(clock, clock - span, side="right") - 1, 0)  # the newest point `span` back
    alone = np.concatenate(([0], np.flatnonzero(v[1:] * dx >= span) + 1))
    np.maximum(start, alone[np.searchsorted(alone, np.arange(n), side="right") - 1], out=start)  # not across a pause
    out = v.astype(float, copy=True)
    at = np.flatnonzero(start < np.arange(n))
    out[at] = (clock[at] - clock[start[at]]) / (x[at] - x[start[at]])
    return out
