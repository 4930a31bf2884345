"""Where a run is and when it will end.

The naive ETA, (now − start) / step, is wrong in every interesting case: the
first steps include compilation (nanochat's step 0 takes 18–392 s), evals pause
training every few hundred steps, a history read at once has one read time for
every line, and stdout piped to a file arrives in buffered blocks. So:

* the steady rate is the median of recent per-step wall intervals, skipping the
  first `warmup` intervals; lines that share a timestamp (one read, one flush)
  extend the interval that ended at that time instead of adding zero-length ones,
  and intervals are divided by their step delta (multi-step strides, batches);
* pauses add their excess over the steady rate to a pause account, and
  ETA = remaining steps × (median + pause seconds per step so far). An eval's
  cost is thus amortised over all steps, never extrapolated from the one slow
  interval that follows it. A pause the log announced (an eval or checkpoint
  record inside the interval) counts in full. An unannounced one (slower than
  `pause_factor` × the median) counts at most `pause_cap_s`, and k of them count
  (k−1)/k of their sum: recurring slow intervals are a cost of the run, a single
  outage is an incident (the stall rule's business) that must not inflate the
  ETA for the rest of the run;
* without wall intervals (a history read at once) the median logged
  `step_time` stands in (basis "step_time"), then the log's own `eta` ("log").
"""

from __future__ import annotations

import statistics
from collections import deque

import numpy as np

from runwatch.model import Progress
from runwatch.state.pace import SAME_READ_S

SHIFT_RECORDS = 8
SHIFT_FACTOR = 1.5
"""A lasting change of pace: the newest SHIFT_RECORDS intervals all this many times slower (or faster)."""


class StepIntervals:
    """Median wall seconds per step over a recent window of step records.

    Records whose time is within `eps` of the previous one were read (or
    flushed) together: they extend the interval that ended at that time, so a
    batch of lines read at once counts as the steps it holds, not as zero time.
    """

    __slots__ = ("_eps", "_pending", "_per_step", "_seen", "_step", "_t", "_warmup", "previous")

    def __init__(self, window: int = 64, warmup: int = 0, eps: float = 1e-3) -> None:
        self._per_step: deque[float] = deque(maxlen=window)
        self._warmup = warmup
        self._eps = eps
        self._seen = 0
        self._step: int | None = None
        self._t = 0.0
        self._pending: tuple[float, int] | None = None
        self.previous: tuple[float, int] | None = None
        """(seconds, steps) of the interval the last opening `add` closed; None in warm-up."""

    def add(self, step: int, t: float) -> bool:
        """Note a step record; True when it opened a new interval (closing `previous`)."""
        last = self._step
        if last is None:
            self._step, self._t = step, t
            return False
        ds = step - last
        if ds <= 0:
            return False
        self._step = step
        if t - self._t < self._eps:
            if self._pending is not None:
                dt, steps = self._pending
                self._pending = (dt, steps + ds)
                self._per_step[-1] = dt / (steps + ds)
            return False
        closed = self._pending
        self.previous = closed if closed is not None and self._seen > self._warmup else None
        dt = t - self._t
        self._pending = (dt, ds)
        self._per_step.append(dt / ds)
        self._seen += 1
        self._t = t
        return True

    def add_rows(self, steps: np.ndarray, ts: np.ndarray) -> None:
        """`add` of each step record in turn (steps and times in order), in one go where that is sure to
        leave the same state: when no record comes later than the newest before it by less than `eps`
        (each then opens an interval or joins the newest one's at its very time). Else each in turn."""
        if self._step is None and len(steps):
            self.add(int(steps[0]), float(ts[0]))
            steps, ts = steps[1:], ts[1:]
        assert self._step is not None
        top = self._step
        prior = np.maximum.accumulate(np.concatenate(([top], steps[:-1])))
        moved = steps > prior  # the others leave every part of the state as it is
        steps, ts = steps[moved], ts[moved]
        if not len(steps):
            return
        newest = np.maximum.accumulate(np.concatenate(([self._t], ts[:-1])))
        late = ts - newest
        if ((late > 0) & (late < self._eps)).any():  # a record that would join an interval opened before
            for step, t in zip(steps.tolist(), ts.tolist(), strict=True):
                self.add(step, t)
            return
        opens = late >= self._eps  # the newest time so far is the last opening's: opens, or joins it at its time
        ds = np.diff(np.concatenate(([top], steps)))
        group = np.cumsum(opens)  # 0: joins the interval open before these rows
        joined = int(ds[group == 0].sum())
        if joined and self._pending is not None:
            dt, held = self._pending
            self._pending = (dt, held + joined)
            self._per_step[-1] = dt / (held + joined)
        self._step = int(steps[-1])
        at = np.flatnonzero(opens)
        if not at.size:
            return
        dts = late[at]
        counts = np.add.reduceat(ds, at)
        closed = self._pending if at.size == 1 else (float(dts[-2]), int(counts[-2]))
        seen = self._seen + at.size - 1  # when the last opened
        self.previous = closed if closed is not None and seen > self._warmup else None
        self._per_step.extend((dts / counts)[-(self._per_step.maxlen or 0):].tolist())
        self._pending = (float(dts[-1]), int(counts[-1]))
        self._seen += int(at.size)
        self._t = float(ts[at[-1]])

    def rebase(self, step: int, t: float) -> None:
        """Stand at `step` at time `t` without timing the steps before it (they were read in bulk)."""
        if self._step is None or step > self._step:
            self._step, self._t, self._pending = step, t, None

    @property
    def count(self) -> int:
        """Intervals seen after the warm-up."""
        return max(0, self._seen - self._warmup)

    def median(self) -> float | None:
        """Median seconds per step, warm-up intervals left out while later ones exist; the median of the
        newest `SHIFT_RECORDS` when every one of them is `SHIFT_FACTOR` slower or faster than the window's.

        The window's median stands firm against evals and one-off pauses, but after a lasting slowdown it
        held the old pace for half a window (a new user's review: `66.6 step/s`, `ETA 4.9s` a minute into a
        run that had slowed to 9 step/s); a run of intervals all on one side of it is the new pace."""
        values = list(self._per_step)
        skip = self._warmup - (self._seen - len(values))
        if 0 < skip < len(values):
            values = values[skip:]
        if not values:
            return None
        med = statistics.median(values)
        if len(values) >= 2 * SHIFT_RECORDS:
            recent = values[-SHIFT_RECORDS:]
            if min(recent) > SHIFT_FACTOR * med or max(recent) * SHIFT_FACTOR < med:
                return statistics.median(recent)
        return med


def past_total(step: int | None, total: int | None) -> int | None:
    """`total`, unless the step went well past it: then it is no total of this run, but one epoch's length
    that its first epoch's lines stated (`200/ 2983 batches`; runwatch.parsers.epochs drops it from the
    later ones, and `check` said `step 14732/2983`) or a plan the run outgrew. A step one past it (0- and
    1-based counts) keeps it; one logging stride past it does not (MMDetection's `Epoch [2][50/5455]`, step
    5505, read `5505/5455 finished` while 1% past a total kept it: a review)."""
    if total is not None and step is not None and step > total + 1:
        return None
    return total


class ProgressTracker:
    """Step, rate and ETA of one run from its step records (see the module doc for the method)."""

    def __init__(
        self, *, window: int = 64, warmup: int = 2, pause_factor: float = 3.0,
        pause_cap_s: float = 300.0, min_intervals: int = 3,
    ) -> None:
        self._wall = StepIntervals(window, warmup)
        self.bulk = False
        """Records now come from a history read in bulk: their read times say nothing of the run's
        speed, so they time no interval (the logged step time serves until live ones come)."""
        self.bar_clock = False
        """The records' times were rebuilt from a progress bar's elapsed time (a one-shot replay of a tqdm,
        HF Trainer or Keras log): the `step_time` they state is the bar's smoothed rate, which reads slow
        long after a hang ended (Lightning's: the epoch's mean), and only the bar clock's intervals say
        how fast steps went."""
        self.own_times = True
        """The records now applied state when the run logged them: read as they were written, or stamped by
        their lines. False for a history read at once from a log whose lines state no time (their time is
        when runwatch read them) and for a replay's made-up clock: they tell no start."""
        self._step_times: deque[float] = deque(maxlen=window)
        self._step_times_seen = 0
        self._step_time_warm: float | None = None
        self._strides: deque[int] = deque(maxlen=window)
        self._warmup = warmup
        self._pause_factor = pause_factor
        self._pause_cap_s = pause_cap_s
        self._min_intervals = min_intervals
        self.step: int | None = None
        self.first_step: int | None = None
        """The step of the first step record: 1 says the log counts from 1 (`counts_from_one`)."""
        self._total: int | None = None
        self._t_first: float | None = None
        self._pause_marked = False
        self._pending_is_pause = False
        self._announced_s = 0.0
        self._outlier_s = 0.0
        self._outliers = 0
        self.longest_pause_s = 0.0
        """The longest interval between step records seen so far (an eval, a checkpoint save): a silence
        no longer than a pause the run has already shown is no stall yet."""
        self._accounted_steps = 0
        self._median_cache: float | None = None
        self._median_age = 0
        self._tokens_per_sec: float | None = None
        self._elapsed: tuple[float, float] | None = None
        self._elapsed_step: int | None = None
        """The step whose record stated the newest elapsed time (None: a record before the newest step's)."""
        self._start_first: float | None = None
        """The first record's time, where it is the run's (`own_times`)."""
        self._start_elapsed: float | None = None
        """The newest record's time less the elapsed time it states, where that time is the run's."""
        self.t_last: float | None = None
        """The time of the newest step or eval record (its line's, or when it was read): `estimate`'s `now`
        is on this clock, which a log's own stamps set (RunTracker.snapshot translates)."""
        self._log_eta: float | None = None

    @property
    def counts_from_one(self) -> bool:
        """Whether the log counts its steps from 1 (its first step record was step 1: Keras's `Epoch 1/15`): its
        last step is its total, where a log counting from 0 (nanoGPT's `iter 0`) ends at total - 1. A Keras fit
        stopped after epoch 14 of 15 read `finished` by the allowance 0-based logs need (a review)."""
        return self.first_step == 1

    @property
    def logged_to_end(self) -> bool:
        """Whether the newest step is the last its logging shows of a run at its total: the total itself (a 0-based
        log's total - 1), or within one logging stride below it, where the next step it would log is past the total
        (a loop that logs every k-th step: HRNet's `Iter:[490/495]`; mmdet's `Epoch [12][21950/21989]`, every 50, of
        a run that saved its 12th epoch's checkpoint and evaluated it, read `ended`, a review). Never absurdly past
        it (`ending.reached_total`). `check`'s "incomplete" and the state at the input's end both ask this."""
        step, total = self.step, self.total
        if step is None or not total:
            return False
        return (step >= self.last_step(total) or step + self.stride > total) and step <= 2 * total

    def last_step(self, total: int) -> int:
        """The step a run of `total` steps logs last as this log counts: the total, or total - 1 counted from 0."""
        return total - (not self.counts_from_one)

    @property
    def total(self) -> int | None:
        """The run's planned steps: the latest stated, unless the step went well past it (`past_total`)."""
        return past_total(self.step, self._total)

    def update(
        self, step: int, total: int | None, t: float, *, step_time: float | None = None,
        is_eval: bool = False, tokens_per_sec: float | None = None, elapsed: float | None = None,
        log_eta: float | None = None,
    ) -> None:
        """Note a record at `step` with time `t` (line timestamp or read time).

        `is_eval` marks an eval record: it only flags the interval it falls in
        as a pause. Records for a step already seen (other ranks) do not move
        the step; `total` is kept from the latest record that states one.
        """
        if total is not None:
            self._total = total
        if is_eval:
            self.mark_pause()
            self._newest(t)
            return
        self._note(t, tokens_per_sec, elapsed, log_eta)
        last = self.step
        if elapsed is not None:
            self._elapsed_step = step if last is None else max(step, last)  # the run's step when it was stated
        if last is not None and step <= last:
            return
        if last is None:
            self.first_step = step
        self.step = step
        if last is not None:
            self._strides.append(step - last)
        if step_time is not None and step_time == step_time:
            self._step_times_seen += 1
            if self._step_times_seen > self._warmup:
                self._step_times.append(step_time)
            else:
                self._step_time_warm = step_time
        if self.bulk:
            self._wall.rebase(step, t)
        else:
            self._time(step, t)

    def _time(self, step: int, t: float) -> None:
        """A step that moved the run on, at `t`: the wall interval it opens closes the one before."""
        if self._wall.add(step, t):
            if self._wall.previous is not None:
                self._account(*self._wall.previous, self._pending_is_pause)
            self._pending_is_pause = self._pause_marked
            self._pause_marked = False

    def _newest(self, t: float) -> None:
        """A record of time `t`: the newest so far (rows held back by a replay come in after an eval that
        followed them)."""
        if self.t_last is None or t > self.t_last:
            self.t_last = t

    def _note(self, t: float, tokens_per_sec: float | None, elapsed: float | None, log_eta: float | None) -> None:
        """What a record says besides its step: the first time, and the latest of what the log states."""
        if self._t_first is None:
            self._t_first = t
            self._start_first = t if self.own_times else None
        self._newest(t)
        if tokens_per_sec is not None:
            self._tokens_per_sec = tokens_per_sec
        if elapsed is not None:
            self._elapsed = (elapsed, t)
            self._start_elapsed = t - elapsed if self.own_times else None
        if log_eta is not None:
            self._log_eta = log_eta

    @property
    def first_t(self) -> float | None:
        """The time of the run's first record (None before one)."""
        return self._t_first

    @property
    def started_t(self) -> float | None:
        """When the run started, where its records can say: the time of the newest record that states the
        run's elapsed time less that, else the time of its first record; None when that record's time is
        only when runwatch read it (`own_times`): for a log without times of its own whose history was read
        at once long after it was written, `now` less the elapsed time made a start up."""
        return self._start_elapsed if self._start_elapsed is not None else self._start_first

    def update_steps(
        self, steps: np.ndarray, t: float | np.ndarray, *, total: int | None = None,
        step_time: np.ndarray | None = None, tokens_per_sec: float | None = None, elapsed: float | None = None,
        log_eta: float | None = None, elapsed_last: bool = True,
    ) -> None:
        """`update` of each of these step records (all read at `t`), in order, in one go: the same state.

        `step_time` holds each record's value (NaN where it has none); the
        other keywords are the last value the records state (None if none
        does; `elapsed_last`: whether the last record states `elapsed`). Only steps above every earlier one move the step; at one time
        they extend the wall interval the first of them opens (or extends), so
        an `add` of the first and one of the last stand for all of them.

        `t` may also give each record's time (a replay): a run whose intervals
        are timed (not `bulk`: the log stated its times) then times each step
        that moves it, in turn, as `update` does.
        """
        if not len(steps):
            return
        if total is not None:
            self._total = total
        each: np.ndarray | None = None
        if isinstance(t, np.ndarray):
            self._note(float(t[0]), None, None, None)
            each, t = (None if self.bulk else t), float(t[-1])
        self._note(t, tokens_per_sec, elapsed, log_eta)
        last = self.step
        if last is None:
            self.first_step = int(steps[0])
        prior = np.empty_like(steps)
        prior[0] = np.iinfo(steps.dtype).min if last is None else last
        np.maximum.accumulate(steps[:-1], out=prior[1:])
        if last is not None:
            np.maximum(prior, last, out=prior)
        ok = steps > prior
        taken = steps[ok]
        if elapsed is not None:
            self._elapsed_step = (int(taken[-1]) if taken.size else last) if elapsed_last else None
        if not taken.size:
            return
        if last is not None:
            self._strides.append(int(taken[0]) - last)
        strides = taken[1:] - taken[:-1]  # np.diff, without its overhead
        self._strides.extend(strides[-(self._strides.maxlen or 0):].tolist())
        if step_time is not None:
            self._note_step_times(step_time[ok])
        self.step = int(taken[-1])
        if each is not None:
            for step, at in zip(taken.tolist(), each[ok].tolist(), strict=True):
                self._time(step, at)
            return
        if self.bulk:
            self._wall.rebase(self.step, t)
        elif self._wall.add(int(taken[0]), t):  # only the first can open an interval: account for the last one
            if self._wall.previous is not None:
                self._account(*self._wall.previous, self._pending_is_pause)
            self._pending_is_pause = self._pause_marked
            self._pause_marked = False
        if taken.size > 1 and not self.bulk:
            self._wall.add(self.step, t)  # the rest add up to what it opened (or extended)

    def _note_step_times(self, values: np.ndarray) -> None:
        """Logged step times of accepted steps, in order: the first `warmup` are warm-up values."""
        values = values[values == values]
        warm = max(0, self._warmup - self._step_times_seen)
        if warm and values.size:
            self._step_time_warm = float(values[min(warm, values.size) - 1])
        kept = values[warm:]
        if kept.size:
            self._step_times.extend(kept[-(self._step_times.maxlen or 0):].tolist())
        self._step_times_seen += int(values.size)

    def mark_pause(self) -> None:
        """An eval or checkpoint happened: the interval that contains it is a pause."""
        self._pause_marked = True

    @property
    def steps_per_sec(self) -> float | None:
        """Steady training speed (median rate, pauses excluded)."""
        rate, _ = self._steady()
        return 1.0 / rate if rate else None

    @property
    def record_interval_s(self) -> float | None:
        """Typical seconds between step records: steady rate × median step stride."""
        rate, _ = self._steady()
        if rate is None:
            return None
        return rate * self.stride

    @property
    def stride(self) -> float:
        """The median of the steps between two step records lately (1 before there are two): the run's
        logging interval (`log_interval`, HF's `logging_steps`, a loop's `i % 10 == 0`)."""
        return statistics.median(self._strides) if self._strides else 1

    @property
    def pause_s_per_step(self) -> float:
        """Pause seconds (evals, checkpoints) amortised over the steps accounted so far."""
        if not self._accounted_steps:
            return 0.0
        k = self._outliers
        outliers = self._outlier_s * (k - 1) / k if k else 0.0
        return (self._announced_s + outliers) / self._accounted_steps

    def estimate(self, now: float) -> Progress:
        """Progress as of the last step record (`now` only advances the elapsed time).

        `elapsed_s` is the log's own `elapsed` carried forward to `now` when it
        states one, else the time since the first record once wall intervals exist
        (the time watched), else None.
        """
        step, total = self.step, self.total
        rate, basis = self._steady()
        per_step = None if rate is None else rate + self.pause_s_per_step
        percent = eta = None
        if step is not None and total:
            percent = min(100.0, 100.0 * step / total)
            remaining = max(0, total - step)
            if remaining == 0:
                eta = 0.0
            elif per_step is not None:
                eta = remaining * per_step
        outgrown = self._total is not None and total is None  # the log's ETA was to the total the step went past
        if eta is None and self._log_eta is not None and not (total and step is not None and step >= total) \
                and not outgrown:
            eta, basis = self._log_eta, "log"
        return Progress(
            step=step, total_steps=total, percent=percent,
            steps_per_sec=None if not rate else 1.0 / rate, tokens_per_sec=self._tokens_per_sec,
            eta_s=eta, elapsed_s=self._elapsed_s(now), eta_basis=basis if eta is not None else "",
            started_t=self.started_t,
        )

    def _steady(self) -> tuple[float | None, str]:
        """Seconds per step and its basis: wall intervals, else logged step_time, else warm-up values."""
        wall = self._wall.median()
        if wall and self._wall.count >= self._min_intervals:
            return wall, "wall"
        if self._step_times:
            return statistics.median(self._step_times), "step_time"
        if wall:
            return wall, "wall"
        if self._step_time_warm:
            return self._step_time_warm, "step_time"
        return None, ""

    def _account(self, dt: float, steps: int, is_pause: bool) -> None:
        """Book a finished interval: its excess over the steady rate, if it was a pause."""
        self._accounted_steps += steps
        self._median_age -= 1
        if self._median_age <= 0:
            self._median_cache = self._wall.median()
            self._median_age = 16
        median = self._median_cache
        if median is None:
            return
        excess = dt - median * steps
        if excess <= 0:
            return
        self.longest_pause_s = max(self.longest_pause_s, dt)
        if is_pause:
            self._announced_s += excess
        elif dt > self._pause_factor * median * steps:
            self._outlier_s += min(excess, self._pause_cap_s)
            self._outliers += 1

    def _elapsed_s(self, now: float) -> float | None:
        if self._elapsed is not None:
            logged, t = self._elapsed
            if self._elapsed_step != self.step and (self.t_last is None or self.t_last - t < SAME_READ_S):
                return None  # steps came after it in the same read (a history read at once): how long, unknown
            return logged + max(0.0, now - t)
        if self._t_first is not None and self._wall.count:
            return max(0.0, now - self._t_first)
        return None
