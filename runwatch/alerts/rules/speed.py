"""`step_time_drift` and `throughput_drop`: the run got slower than it was.

Both compare the median of the newest `recent` points with the median of
up to `baseline` points before them, skipping the first `warmup` points of
the run (compilation, autotuning, cache warm-up). Medians are the point:
a periodic eval or checkpoint makes one slow step in tens or hundreds, which
moves a median not at all, while a real slowdown (thermal throttling, a
degraded link, a slow node, a data loader falling behind) moves every step.

The baseline is the tail before the recent window, not the run's first
minutes (rules read only the tail): a slowdown that lasts longer than about
half the baseline window becomes the new normal and the alert resolves. That
is no recovery, and the resolution says so (`resolution`): the pace is still
past the bar the alert fired at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, TypeVar

import numpy as np

from runwatch.alerts.rules.base import Coming, Rule, RuleParams, duration
from runwatch.alerts.rules.robust import baseline_slice
from runwatch.alerts.rules.tail import Tail, first_tail, fmt, history, median_of, step_at
from runwatch.alerts.types import Alert, Finding
from runwatch.arrays import distinct
from runwatch.model import Severity
from runwatch.state.pace import STEP_INTERVAL, over_spans
from runwatch.state.run import RunTracker

MIN_RECENT = 10
"""Fewest points the recent median is taken over: one slow step (an eval, a checkpoint save) among them
moves it not at all."""


def spanned(found: Tail) -> Tail:
    """The measured pace (`step_interval`) taken over spans of at least ten seconds where the clock it was
    measured on ticks in whole seconds (runwatch.state.pace.over_spans); any other tail as it is."""
    if found.metric != STEP_INTERVAL:
        return found
    v = over_spans(found.x, found.v, found.t)
    return found if v is None else found._replace(v=v)


def split(found: Tail, *, recent: int, warmup: int, min_baseline: int) -> tuple[float, np.ndarray] | None:
    """The median of the newest finite points and the finite points before them (the baseline).

    The recent window is `recent` points, or a fifth of what the run has (at least `MIN_RECENT`) while
    it has less: a log that prints every 5th of 600 steps has 120 points, and a 50-point window let a
    100-step slowdown pass as noise. The baseline's median is left to the caller: most ticks rule an
    alert out against the baseline's minimum or maximum alone, which is much cheaper.
    """
    v = found.v[baseline_slice(found, warmup):]
    v = v[np.isfinite(v)]
    recent = min(max(1, recent), max(MIN_RECENT, len(v) // 5))
    if len(v) < recent + max(1, min_baseline):
        return None
    return median_of(v[-recent:]), v[:-recent]


@dataclass(frozen=True)
class DriftParams(RuleParams):
    """The windows both speed rules compare: the newest points against up to `baseline` before them."""

    metrics: tuple[str, ...] = ()
    """The first of these the run logs is the one judged."""
    recent: int = 50
    """Newest points whose median is judged (fewer while the run is short, see `split`)."""
    baseline: int = 1000
    warmup: int = 10
    """Points left out at the start (compilation, autotuning, cache warm-up): records, not steps."""
    min_baseline: int = 20
    """Baseline points needed before judging at all; below `short_baseline` the bar is higher."""
    short_baseline: int = 100
    resolve_after_s: float = duration(600.0)


D = TypeVar("D", bound=DriftParams)


class _Drift(Rule[D]):
    """Recent median past `ratio` × the baseline median, in the direction that means slower."""

    higher_is_slower: ClassVar[bool]
    """Step time grows when a run slows down; throughput shrinks."""
    lookback = 0
    """Points besides the newest window whose windows are judged too (`widened`)."""

    def judges_history(self, run: RunTracker) -> bool:
        """Where the series it judges is one the log states (a printed step time, tokens/s), not `step_interval`
        (the pace of arrival, which a history read at once does not have): the lines say it, as `check` reads them
        (each piece is judged widened to the records it brought, the windows before it judged with it)."""
        found = first_tail(run, self.judged_metrics(run), 1)
        return found is not None and found.metric != STEP_INTERVAL

    def ratio(self, short: bool) -> float:
        """The multiple of the baseline median the recent median must reach (or fall to); `short`: the
        baseline has fewer than `short_baseline` points, a rough estimate that must be cleared by more."""
        raise NotImplementedError

    def summary(self, found: Tail, level: float, base: float) -> str:
        """What the finding says, before the step."""
        raise NotImplementedError

    def large_enough(self, level: float, base: float) -> bool:
        """Whether a change past the ratio is also large in absolute terms (by default, any is)."""
        return True

    def still(self, found: Tail, level: float, bar: float) -> str:
        """The resolution of a slowdown still there: the newest median `level` past the `bar` it fired at."""
        raise NotImplementedError

    def back(self, found: Tail, level: float, bar: float) -> str:
        """The resolution of a slowdown that is over: the newest median `level` back within the `bar`."""
        raise NotImplementedError

    def resolution(self, run: RunTracker, alert: Alert, now: float) -> str | None:
        """Whether the pace came back or the slower pace became the baseline: the newest `recent` points'
        median against the bar the alert last fired at (its threshold). The run lab's Keras run, 8× slower
        from step 400 to its end, read "cleared before the end" in `check` and would have sent a resolved
        notification: its slow frames had become most of the baseline."""
        p = self.params
        found = first_tail(run, self.judged_metrics(run), p.recent + p.baseline)
        if found is None or alert.threshold is None or alert.metric not in (None, found.metric):
            return None
        found = spanned(found)
        parts = split(found, recent=p.recent, warmup=p.warmup, min_baseline=p.min_baseline)
        if parts is None:
            return None
        level = parts[0]
        bar = float(alert.threshold)
        return self.still(found, level, bar) if self._slower(level, bar, 1.0) else self.back(found, level, bar)

    def widened(self, points: int) -> Rule[D]:
        """This rule, judging also the windows of `recent` points (half a window apart) that ended among
        the newest `points`: a slowdown that came and went between two looks (a check judging a long log
        every 2048 records) is a finding at the step where it showed. A look after no more than two
        windows' worth of points misses none: this rule as it is."""
        if points <= 2 * min(self.params.recent, MIN_RECENT):  # the narrowest window `split` judges
            return self
        wide = type(self)(self.params)
        wide.lookback = points
        return wide

    def baseline_points(self) -> int:
        """The newest window and the baseline before it, behind the oldest window a widened look judges."""
        return self.params.recent + self.params.baseline

    def speechless(self, run: RunTracker, coming: Coming) -> bool:
        """Sure of silence when no window could be slower than any baseline: every window's median and
        every baseline's median lie between the least and the greatest finite value of the points the
        rule reads (the newest `recent + baseline` and as many more as the evaluations look back over,
        together with the coming values), so while the greatest stays under `ratio` × the least (over it
        for throughput), no median can be past `ratio` × another. A run whose pace holds steady is
        judged by two numbers a metric, not by a median per window."""
        if super().speechless(run, coming):
            return True
        p = self.params
        n = p.recent + p.baseline + max(0, coming.new)
        for name in self.judged_metrics(run):  # the first the run logs is judged: it or one before it, if one comes
            lo, hi = coming.values.get(name, (math.inf, -math.inf))
            found = first_tail(run, (name,), n)
            if found is not None:
                v = found.v[np.isfinite(found.v)]
                if len(v):
                    lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
            if math.isnan(lo) or math.isnan(hi):
                return False  # coming values, none finite: taken as unknown
            if lo > hi:
                continue  # no finite point at all: nothing to judge
            if not self._within(lo, hi):
                return False
            if found is not None:
                return True  # logged already: the metrics after it are never judged
        return True

    def _steady(self, v: np.ndarray) -> bool:
        """Whether no median of these values can be past `ratio` × another (see `speechless`)."""
        v = v[np.isfinite(v)]
        return not len(v) or self._within(float(v.min()), float(v.max()))

    def _within(self, lo: float, hi: float) -> bool:
        """Whether values between `lo` and `hi` have no median past `ratio` × another's, in the direction
        that means slower (False when a ratio below 0 leaves it unknown)."""
        ratios = (self.ratio(True), self.ratio(False))
        if min(ratios) < 0:
            return False
        return hi < min(ratios) * lo if self.higher_is_slower else lo > max(ratios) * hi

    def _slower(self, level: float, bound: float, ratio: float) -> bool:
        """Whether `level` is past `ratio` × `bound` in the direction that means slower."""
        return level >= ratio * bound if self.higher_is_slower else level <= ratio * bound

    def judged_metrics(self, run: RunTracker) -> tuple[str, ...]:
        """The metrics to judge, the first the run logs: `metrics`."""
        return self.params.metrics

    def check(self, run: RunTracker, now: float) -> list[Finding]:
        p = self.params
        found = first_tail(run, self.judged_metrics(run), p.recent + p.baseline + self.lookback)
        if found is None:
            return []
        found = spanned(found)
        if self._steady(found.v):
            return []
        for tail in self._candidates(found):
            hit = self._judged(tail)
            if hit is not None:
                return [self.finding(run, hit[0], rank=tail.rank, metric=tail.metric, value=hit[1],
                                     threshold=hit[2], step=step_at(tail.x), history=history(tail.v))]
        return []

    def _judged(self, found: Tail) -> tuple[str, float, float] | None:
        """(summary, level, threshold) when the newest window of `found` is slower than its baseline."""
        p = self.params
        parts = split(found, recent=p.recent, warmup=p.warmup, min_baseline=p.min_baseline)
        if parts is None:
            return None
        level, before = parts
        ratio = self.ratio(len(before) < p.short_baseline)
        # the baseline median lies within its extremes: most ticks end here, without a median
        if not self._slower(level, before.min() if self.higher_is_slower else before.max(), ratio):
            return None
        base = median_of(before)
        if base <= 0 or not self._slower(level, base, ratio) or not self.large_enough(level, base):
            return None
        return f"{self.summary(found, level, base)} (step {step_at(found.x)})", level, ratio * base

    def _slow_ends(self, v: np.ndarray, ends: list[int]) -> list[int]:
        """Of the windows ending at `ends` (ascending) of the finite values `v`, those `_judged` finds
        slower than their baseline (every value before the window), judged as it judges them; a window
        whose median a bound on its baseline's median rules out costs no partial sort of the baseline.

        The bound: the longest baseline sorted once, a shorter one's middle value lies between the
        longer's at the same rank and that rank moved up by the values it leaves out. A look back over
        thousands of points judged a hundred windows a tick, 32 of them past the cheap bound of
        `_candidates` on a log whose step times vary tenfold: most of `runwatch check`'s time."""
        p = self.params
        end = np.asarray(ends, dtype=np.int64)
        cut = end - self._window(end)
        keep = cut >= max(1, p.min_baseline)  # else `split` judges nothing
        end, cut = end[keep], cut[keep]
        if not len(end):
            return []
        level = np.empty(len(end))
        for size in distinct(end - cut).tolist():  # each window's median, windows of one size at once
            at = np.flatnonzero(end - cut == size)
            windows = np.lib.stride_tricks.sliding_window_view(v, size)[cut[at]]
            k = size // 2
            if size % 2:
                level[at] = np.partition(windows, k, axis=1)[:, k]
            else:
                part = np.partition(windows, (k - 1, k), axis=1)
                level[at] = 0.5 * part[:, k - 1] + 0.5 * part[:, k]  # as median_of takes it
        ratio = np.where(cut < p.short_baseline, self.ratio(True), self.ratio(False))
        longest = int(cut.max())
        ordered = np.sort(v[:longest])
        if self.higher_is_slower:  # each baseline's median is at least this
            maybe = level >= ratio * ordered[(cut - 1) // 2]
        else:  # at most this
            maybe = level <= ratio * ordered[np.minimum(cut // 2 + longest - cut, longest - 1)]
        maybe |= ratio < 0  # a bound that a ratio below 0 turns round: judged in full
        out: list[int] = []
        for e, c, lv, r in zip(end[maybe].tolist(), cut[maybe].tolist(), level[maybe].tolist(),
                               ratio[maybe].tolist(), strict=True):
            before = v[:c]
            if not self._slower(lv, before.min() if self.higher_is_slower else before.max(), r):
                continue
            base = median_of(before)
            if base > 0 and self._slower(lv, base, r) and self.large_enough(lv, base):
                out.append(e)
        return out

    def _window(self, ends: np.ndarray) -> np.ndarray:
        """The newest window `split` judges when the points after the warm-up end at each of `ends`."""
        window: np.ndarray = np.minimum(max(1, self.params.recent), np.maximum(MIN_RECENT, ends // 5))
        return window

    def _ends(self, n: int, first: int) -> np.ndarray:
        """Where the windows a widened look judges end, newest first, down to `first`: half a window apart,
        each as wide as `split` makes it there (a fifth of the points, `MIN_RECENT` at least, while the run
        has fewer than five windows' worth). A short log's one look at its end judged its newest window
        alone (10 of 50 points): a GPU run 5× slower over its last 30 records fired live, never in `check`."""
        recent = max(1, self.params.recent)
        ends: list[int] = []
        e = n
        while True:
            e -= max(1, min(recent, max(MIN_RECENT, e // 5)) // 2)
            if e < first:
                return np.asarray(ends, dtype=np.int64)
            ends.append(e)

    def _candidates(self, found: Tail) -> list[Tail]:
        """The tail as it stands, then (widened) the tails as they stood at the end of each earlier window
        that a cheap bound cannot rule out, oldest first: where the slowdown first showed."""
        p = self.params
        out = [found]
        if not self.lookback:
            return out
        finite = np.flatnonzero(np.isfinite(found.v))
        finite = finite[finite >= baseline_slice(found, p.warmup)]
        v = found.v[finite]
        n, recent = len(v), p.recent
        if found.metric == STEP_INTERVAL:  # measured as the reads came: each tick judged its newest window, and
            # the windows between two ticks only where more than two windows' worth came between them, in a run of
            # five windows or more (a follower short of CPU reads a healthy run in clumps: a 7-ms GPU step measured
            # 1.8 ms, then 25, fired on 10-point windows)
            first = max(recent + max(1, p.min_baseline), n - self.lookback)
            if self.lookback <= 2 * recent or n // 5 < recent:
                return out
            ends = np.arange(n - max(1, recent // 2), first - 1, -max(1, recent // 2))
        else:  # stated by the log (a printed step time, tokens/s): every window `split` would judge there
            ends = self._ends(n, max(min(max(1, recent), MIN_RECENT) + max(1, p.min_baseline), n - self.lookback))
        if not len(ends):
            return out
        w = self._window(ends)
        pool = v[max(0, int(ends[-1] - w[-1]) - p.baseline) : int(ends[0] - w[0])]
        ratio = min(self.ratio(True), self.ratio(False)) if self.higher_is_slower else max(
            self.ratio(True), self.ratio(False))
        # a window's median is past ratio × the lowest (highest) baseline point only if half its points are
        past = v >= ratio * pool.min() if self.higher_is_slower else v <= ratio * pool.max()
        count = np.concatenate(([0], np.cumsum(past)))
        maybe = ends[2 * (count[ends] - count[ends - w]) >= w]
        cut = len(found.v)
        for end in self._slow_ends(v, sorted(maybe.tolist())):
            stop = int(finite[end - 1]) + 1  # the tail up to the window's last point
            out.append(found._replace(x=found.x[:stop], v=found.v[:stop], t=found.t[:stop],
                                      total=found.total - (cut - stop)))
        return out


@dataclass(frozen=True)
class StepTimeDriftParams(DriftParams):
    metrics: tuple[str, ...] = (STEP_INTERVAL, "step_time")
    """Seconds per step as runwatch measured them arriving, else as the log prints them (a tqdm bar's
    rate is smoothed and reads slow long after a pause)."""
    factor: float = 1.5
    """Recent median step time at least this many times the baseline median…"""
    short_factor: float = 2.5
    """…or this many times while the baseline is short (20 to 100 points)…"""
    min_increase: float = duration(0.01)
    """…and at least this much longer per step: a 6 ms step taking 10 ms is writer jitter or a busy
    CPU, not a slowdown to wake someone for (the soak's healthy stream at 150 lines/s fired on it;
    every planted slowdown of the run lab adds 38 ms or more)."""


class StepTimeDrift(_Drift[StepTimeDriftParams]):
    id = "step_time_drift"
    default_severity = Severity.WARNING
    explanation = "recent median step time well above the median before it (periodic eval steps don't count)"
    Params = StepTimeDriftParams
    higher_is_slower = True

    def judged_metrics(self, run: RunTracker) -> tuple[str, ...]:
        """`metrics`, but never a progress bar's printed rate when the run's clock is that bar's elapsed time
        (`ProgressTracker.bar_clock`): after the run lab's 75 s data-loader hang, Lightning's bar read the
        epoch's mean, 0.16 it/s and rising, for the 110 steps left of the epoch, and `check` warned of a
        slowdown still firing at the end of a run that was back at 200 it/s. The bar clock's intervals
        (`step_interval`) are the run's pace."""
        metrics = self.params.metrics
        return tuple(m for m in metrics if m != "step_time") if run.progress.bar_clock else metrics

    def ratio(self, short: bool) -> float:
        return self.params.short_factor if short else self.params.factor

    def large_enough(self, level: float, base: float) -> bool:
        return level - base >= self.params.min_increase

    def summary(self, found: Tail, level: float, base: float) -> str:
        return f"steps take {fmt(level)} s, {level / base:.2g}× the {fmt(base)} s before"

    def still(self, found: Tail, level: float, bar: float) -> str:
        return (f"still slow: steps take {fmt(level)} s, past the {fmt(bar)} s it fired at; the slower pace "
                "is now the baseline it compares with")

    def back(self, found: Tail, level: float, bar: float) -> str:
        return f"pace back: steps take {fmt(level)} s (it fired past {fmt(bar)} s)"


@dataclass(frozen=True)
class ThroughputDropParams(DriftParams):
    metrics: tuple[str, ...] = ("tokens_per_sec", "samples_per_sec")
    """The first of these the run logs is its throughput."""
    drop: float = 0.35
    """Recent median below (1 − drop) × the baseline median…"""
    short_drop: float = 0.6
    """…or below (1 − short_drop) × while the baseline is short (20 to 100 points)."""


class ThroughputDrop(_Drift[ThroughputDropParams]):
    id = "throughput_drop"
    default_severity = Severity.WARNING
    explanation = "recent median tokens/s (or samples/s) well below the median before it"
    Params = ThroughputDropParams
    higher_is_slower = False

    def ratio(self, short: bool) -> float:
        return 1.0 - (self.params.short_drop if short else self.params.drop)

    def summary(self, found: Tail, level: float, base: float) -> str:
        return f"{found.metric} down {100.0 * (1.0 - level / base):.0f}%: {fmt(level)} vs {fmt(base)} before"

    def still(self, found: Tail, level: float, bar: float) -> str:
        return (f"still slow: {found.metric} {fmt(level)}, under the {fmt(bar)} it fired at; the lower rate is "
                "now the baseline it compares with")

    def back(self, found: Tail, level: float, bar: float) -> str:
        return f"{found.metric} back up: {fmt(level)} (it fired under {fmt(bar)})"
