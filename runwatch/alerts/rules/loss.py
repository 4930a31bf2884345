"""Rules on the training and validation loss: `loss_spike`, `loss_divergence`, `overfit`.

They read only the `loss` series (train steps; eval records log `val_*`
metrics, so evaluations never enter it) and leave the first `warmup` points
out, where a loss legitimately jumps around (compilation, LR warm-up, the
first batches of a fine-tune). NaN is `nonfinite`'s business: these rules
skip non-finite values.

References for the spike defaults: llm-foundry's loss-spike callback (loss ≥
2× the window mean for more than 4 consecutive steps) and W&B's z-score
automation (window 30, |z| > 3). A robust z (median/MAD) of 6 *and* a 25 %
rise for 5 consecutive records is stricter than either on noisy per-step
losses and looser than llm-foundry's 2× on quiet, late-training ones.

A spike counts while its records are among the newest `lookback` (10, widened to
every record since the last evaluation), so one that came and went between two
ticks of a fast run is still reported, with its peak, and a recovered one
resolves soon after the loss is back (see `robust`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from runwatch.alerts.rules.base import Rule, RuleParams, duration
from runwatch.alerts.rules.robust import (
    LOOKBACK,
    SpikeParams,
    baseline_slice,
    params_spike,
    spike_baseline_points,
    spike_finding,
    spike_tail_points,
    widened_spike,
)
from runwatch.alerts.rules.tail import (
    Tail,
    first_tail,
    fmt,
    history,
    rank_tail,
    step_at,
    step_pulse,
    step_word,
    tail,
)
from runwatch.alerts.types import Finding
from runwatch.model import Severity
from runwatch.state.run import RunTracker
from runwatch.state.stats import median


@dataclass(frozen=True)
class LossSpikeParams(SpikeParams):
    z: float = 6.0
    rise: float = 0.25
    """…and at least this fraction above the baseline median."""


class LossSpike(Rule[LossSpikeParams]):
    id = "loss_spike"
    default_severity = Severity.WARNING
    explanation = ("loss well above its recent median (robust z and relative rise) for several records, "
                   "among the last `lookback` records")
    Params = LossSpikeParams
    judges_records = True

    def widened(self, points: int) -> Rule[LossSpikeParams]:
        return widened_spike(self, points)

    def baseline_points(self) -> int:
        return spike_baseline_points(self.params)

    def check(self, run: RunTracker, now: float) -> list[Finding]:
        p = self.params
        found = tail(run, p.metric, spike_tail_points(p.window, p.persist, p.lookback))
        if found is None:
            return []
        spike = params_spike(found, p, z=p.z, rel=p.rise)
        if spike is None:
            return []
        return [spike_finding(self, run, found, spike, f"recent median {fmt(spike.baseline)}")]


@dataclass(frozen=True)
class LossDivergenceParams(RuleParams):
    metric: str = "loss"
    warmup: int = 10
    """Records (not steps) left out at the start: sparse logs (one line every 10 or 50 steps) have few."""
    window: int = 1000
    """Points the smoothed floor is taken over."""
    span: int = 5
    """Points averaged together: the smoothed loss is the mean of consecutive blocks of this many."""
    rise: float = 0.4
    """Smoothed loss above its minimum by this fraction…"""
    min_rise: float = 0.1
    """…and by at least this much in absolute terms (tiny losses wobble by large fractions)…"""
    noise_k: float = 4.0
    """…and by this many standard deviations of the smoothed loss's own wobble: the per-batch loss of a
    small batch swings by more than `rise` from one block to the next, and a healthy run must not read
    as diverging whenever a few noisy blocks come in a row…"""
    sustain: int = 20
    """…for this many consecutive points (rounded up to whole blocks): longer than a spike that recovers
    at once, short enough for a log that prints every 10th step (a 600-step run has 60 records)."""
    resolve_after_s: float = duration(600.0)


class LossDivergence(Rule[LossDivergenceParams]):
    id = "loss_divergence"
    default_severity = Severity.CRITICAL
    explanation = "the smoothed loss climbs well above its minimum and stays there: training is diverging"
    Params = LossDivergenceParams
    judges_records = True

    def check(self, run: RunTracker, now: float) -> list[Finding]:
        p = self.params
        found = tail(run, p.metric, p.window)
        if found is None:
            return []
        span = max(1, p.span)
        skip = max(baseline_slice(found, p.warmup), _ramped(run, found.x))
        smooth = _block_means(found.v[skip:], span)
        need = max(1, -(-p.sustain // span))
        if len(smooth) < need + 2 or not np.isfinite(smooth).any():
            return []
        # the held level is no lower than the lowest block, so the threshold is at least this high:
        # a loss that is not above it (nearly every tick of a healthy run) needs no floor and no wobble
        least = float(np.nanmin(smooth))
        if not (smooth[-need:] > least + max(p.min_rise, p.rise * least if least > 0 else 0.0)).all():
            return []
        low, wobble = _sustained_floor(smooth, need)
        threshold = low + max(p.rise * abs(low), p.min_rise, p.noise_k * wobble)
        if not (smooth[-need:] > threshold).all():
            return []
        level = float(smooth[-1])
        below = np.flatnonzero(~(smooth > threshold))
        first_block = int(below[-1]) + 1 if below.size else 0  # where the climb above the threshold began
        v = found.v[skip:]
        start = len(found.v) - len(v) + (len(v) - len(smooth) * span) + first_block * span
        over = np.flatnonzero(found.v[start:start + span] > threshold)  # its first point above, in that block
        since = step_at(found.x, start + (int(over[0]) if over.size else 0))
        return [self.finding(
            run, f"{p.metric} diverging since {step_word(run)} {since}: smoothed {fmt(level)} vs its lowest held "
                 f"level {fmt(low)} for the last {len(smooth) - first_block} blocks of {span} records "
                 f"({step_word(run)} {step_at(found.x)})",
            rank=found.rank, metric=p.metric, value=level, threshold=threshold, step=since,
            history=history(found.v))]


RAMP_FROM = 0.01
"""A learning rate that starts below this fraction of where it climbs to is warming up from nothing."""


def _ramped(run: RunTracker, x: np.ndarray) -> int:
    """The index of the first of the loss's points `x` at or past the top of a learning-rate warm-up from
    nearly nothing (0 when the run logs no such ramp). A loss held while the rate climbed from ~0 is no level
    the run can be held to: MMDetection's RTMDet starts at 0.04 with `lr: 4.0000e-08` and climbs to 1.15 as
    its rate does over 1000 iterations, then falls to 0.37 (its mAP 0.05 → 0.85), and read as diverging from
    0.15 (a new user's review). A rate that jumps from where it was (the usual cause of a divergence) is no
    ramp from nothing, and a ramp's top is where it stops climbing (its highest before the rate first falls),
    not the highest rate later. A rate printed with six decimals reads `0.000000` twice at DINO's start: taken
    as the top, no ramp was seen, and the loss its teacher's warm-up holds low in the first epoch read as a
    level the run diverged from (a review)."""
    lr = tail(run, "lr", len(x))
    if lr is None or len(lr.v) < 3 or not np.isfinite(lr.v).all() or lr.x[0] > x[0]:
        return 0
    v = lr.v
    falls = np.flatnonzero(np.diff(v) < 0)  # a rate printed with few digits holds between rises (`lr: 0.000000`
    top = int(np.argmax(v[: int(falls[0]) + 1 if falls.size else len(v)]))  # twice): the top is the climb's highest
    if top == 0 or not (v[0] < RAMP_FROM * v[top] or _inside_linear_ramp(lr.x[: top + 1], v[: top + 1])):
        return 0
    return int(np.searchsorted(x, lr.x[top]))


RAMP_FIT = 0.05
"""How far (a fraction of its top) a rate may stray from a straight climb and still be a linear warm-up."""
RAMP_POINTS = 10
"""Fewest points of a climb that show it straight: fewer may be a jump."""


def _inside_linear_ramp(x: np.ndarray, v: np.ndarray) -> bool:
    """Whether a rate climbing from v[0] to its top v[-1] is the later part of a linear warm-up from nothing
    near the run's start: the points lie on a line that reaches 0 at step `RAMP_FIT` × its top's step or
    before. The rules read the newest 1000 points: at RTMDet's step 1024 they began at step 25 of its
    1000-iteration warm-up, at 2.5% of its top, and the ramp (and the loss it held low) read as a level
    held (a critical `loss_divergence` once `check`'s looks fell there, a review). A jump is no line."""
    if len(v) < RAMP_POINTS or not x[-1] > x[0] or not v[-1] > v[0]:
        return False
    slope = (v[-1] - v[0]) / (x[-1] - x[0])
    if np.abs(v - (v[0] + slope * (x - x[0]))).max() > RAMP_FIT * v[-1]:
        return False
    return bool(x[0] - v[0] / slope <= RAMP_FIT * x[-1])


@dataclass(frozen=True)
class OverfitParams(RuleParams):
    metrics: tuple[str, ...] = ("val_loss", "val_bpb", "test_loss")
    """The first of these the run logs is the validation loss: a loop that evaluates on its test split after each
    epoch and logs no other (`TEST in epoch24, loss = 3.64, acc = 45.5%`) holds its data out there (a review's run
    whose test loss rose from 2.01 to 3.64 over 21 epochs while its training loss fell read no alert)."""
    train_metric: str = "loss"
    evals: int = 3
    """Consecutive evaluations, each worse than the one before."""
    min_rise: float = 0.01
    """Total rise over those evaluations, as a fraction of the first."""
    noise: float = 3.0
    """How far the rise must reach, in the noise of one evaluation (`_eval_noise`), once the run has made
    `NOISE_EVALS_MIN` evaluations to measure it on: a validation loss that swings by a third from one evaluation to
    the next rises three evaluations in a row by chance once in every two dozen (a review's 300-epoch CGCNN run,
    12 to 21 and back, read `overfit` ten times and "still firing at the end"). A steady rise has no noise to beat."""
    resolve_after_s: float = duration(3600.0)


class Overfit(Rule[OverfitParams]):
    id = "overfit"
    default_severity = Severity.WARNING
    explanation = "validation loss rose for several evaluations in a row while the training loss fell"
    Params = OverfitParams
    judges_records = True
    lookback = 0
    """Records a widened look covers (`widened`; 0: the newest evaluations alone)."""

    def widened(self, points: int) -> Rule[OverfitParams]:
        """This rule, judging every run of evaluations that ended among the newest `points` records, newest first,
        as live ticks judge each evaluation as it comes. Judged at the end of each piece of a history alone, the
        same log read `overfit` to `tail` and nothing to `check` (a run's val_loss rose three evaluations in a row
        at step 560, then fell: seen where a piece happened to end there; a review)."""
        if points <= LOOKBACK:
            return self  # a live tick's few records: the newest evaluations are theirs
        wide = type(self)(self.params)
        wide.lookback = points
        return wide

    def check(self, run: RunTracker, now: float) -> list[Finding]:
        evals = max(1, self.params.evals)
        val = first_tail(run, self.params.metrics, evals + 1 + self.lookback)
        if val is None or len(val.v) < evals + 1:
            return []
        return self._rising(run, val, evals) or self._still_above(run, evals)

    def _rising(self, run: RunTracker, val: Tail, evals: int) -> list[Finding]:
        """The finding of the newest run of `evals` rising evaluations (among those the look covers)."""
        if not self.lookback:
            return self._judged(run, val, evals)
        pulse = step_pulse(run, self.lookback)
        since = float(pulse.x[0]) if pulse is not None and len(pulse.x) else -np.inf
        rising = np.lib.stride_tricks.sliding_window_view(np.diff(val.v) > 0, evals).all(axis=1)
        for i in np.flatnonzero(rising)[::-1].tolist():  # windows val[i .. i + evals], newest first
            if float(val.x[i + evals]) < since:
                break
            found = self._judged(run, val._replace(x=val.x[i:i + evals + 1], v=val.v[i:i + evals + 1],
                                                   t=val.t[i:i + evals + 1]), evals)
            if found:
                return found
        return []

    def _still_above(self, run: RunTracker, evals: int) -> list[Finding]:
        """The finding of a run whose validation loss rose `evals` evaluations in a row after its best and has not
        come back: the newest evaluation is still nearer the top of that rise than the best, and above the best by
        `min_rise`. One evaluation a hair below the one before (1.5777, then 1.5776) ended the rising run, and
        `check` said the overfit "cleared before the end" of a run that ended worse than its best checkpoint (a
        review's LLaMA-Factory fine-tune: 1.552 at step 4500, 1.578 at its end)."""
        p = self.params
        val = first_tail(run, p.metrics, STILL_EVALS)
        if val is None or len(val.v) < evals + 2 or not np.isfinite(val.v).all():
            return []
        best = int(np.argmin(val.v))
        after = val.v[best:]
        if len(after) < evals + 2:
            return []
        low, last = float(after[0]), float(after[-1])
        if (last <= low + 0.5 * (float(after.max()) - low)
                or last - low <= max(p.min_rise * abs(low), STILL_NOISE * _wobble(val.v))):
            return []
        rising = np.lib.stride_tricks.sliding_window_view(np.diff(after) > 0, evals).all(axis=1)
        for i in np.flatnonzero(rising)[::-1].tolist():  # the newest run of rises since the best that rose enough
            window = after[i:i + evals + 1]
            x = val.x[best + i:best + i + evals + 1]
            if float(window[-1] - window[0]) <= p.min_rise * abs(float(window[0])):
                continue
            if not _falling(run, p.train_metric, float(x[0]), float(x[-1])):
                return []  # one look at the training loss, not one a run (a long history judged often)
            return [self.finding(
                run, f"{val.metric} {fmt(last)} at {step_word(run)} {step_at(val.x)}, still above its best "
                     f"{fmt(low)} ({step_word(run)} {int(val.x[best])}) since it rose {evals} evaluations in a "
                     f"row while {p.train_metric} fell",
                rank=val.rank, metric=val.metric, value=last, threshold=low, step=step_at(val.x),
                history=history(val.v))]
        return []

    def _judged(self, run: RunTracker, val: Tail, evals: int) -> list[Finding]:
        """The finding of the `evals` + 1 evaluations `val` holds, if they rose while the loss fell."""
        p = self.params
        if not np.isfinite(val.v).all():
            return []
        rise = float(val.v[-1] - val.v[0])
        if not (np.diff(val.v) > 0).all() or rise <= p.min_rise * abs(float(val.v[0])):
            return []
        if rise <= p.noise * _eval_noise(run, val):
            return []
        if not _falling(run, p.train_metric, float(val.x[0]), float(val.x[-1])):
            return []
        return [self.finding(
            run, f"{val.metric} rose {evals} evaluations in a row ({fmt(float(val.v[0]))} → "
                 f"{fmt(float(val.v[-1]))} by {step_word(run)} {step_at(val.x)}) while {p.train_metric} fell",
            rank=val.rank, metric=val.metric, value=float(val.v[-1]), threshold=float(val.v[0]),
            step=step_at(val.x), history=history(val.v))]


STILL_EVALS = 1024
"""Evaluations `Overfit._still_above` looks back over for the run's best."""
STILL_NOISE = 4.0
"""How far above its best, in the noise of its evaluations (`_wobble`: the spread of one evaluation to the next),
the validation loss must still be for `Overfit._still_above`: on a flat, noisy one the best is a low of the noise
and the newest above it by chance (a code review's plateaus of 1% noise: "still firing at the end" 7 of 20)."""


NOISE_EVALS = 32
"""Evaluations, up to the newest one judged, whose noise `_eval_noise` measures: the noise of the stretch the rise
is in, not of the first epochs (the review's CGCNN run swung by 14 over its first 50 evaluations, by 4 at its end)."""
NOISE_EVALS_MIN = 10
"""Fewer evaluations measure no noise: a short run's rise is judged by `min_rise` alone."""


def _eval_noise(run: RunTracker, val: Tail) -> float:
    """The standard deviation of one evaluation around the trend of its neighbours, from the median absolute second
    difference of the `NOISE_EVALS` evaluations up to the newest of `val` (a trend, falling or rising, has none; one
    outlier barely moves the median); 0 with fewer than `NOISE_EVALS_MIN`. Those up to the newest of `val`, not the
    run's newest: a window judged in a history's look back is judged on what was known when it ended, as live."""
    found = rank_tail(run, val.metric, val.rank, STILL_EVALS)
    if found is None:
        return 0.0
    upto = found.v[:int(np.searchsorted(found.t, val.t[-1], side="right"))]
    finite = upto[np.isfinite(upto)][-NOISE_EVALS:]
    if len(finite) < NOISE_EVALS_MIN:
        return 0.0
    return float(1.4826 * np.median(np.abs(np.diff(finite, 2))) / np.sqrt(6.0))


def _sustained_floor(smooth: np.ndarray, need: int) -> tuple[float, float]:
    """The lowest level the loss held, and the wobble of the smoothed loss up to where it held it.

    The level is the least mean of `need` consecutive block means (the sustain window: like is compared
    with like), or of `need // 2` (at least 2) while the history is shorter than three sustain windows:
    the plain minimum of a noisy per-batch loss (batch 16, label noise) is an outlier far below the
    level the run trains at, and a healthy run then sits "above its minimum" for good. Half the window
    let a healthy accelerate run's loss read as diverging when judged after every record (a low stretch
    of 10 records at 0.86 against a noisy 1.4); a short log that diverges a few records after its
    warm-up still gets half, and shows the level it left. The wobble is measured on the history up to that level
    only: the blocks after it may be the divergence itself, whose swings are no measure of noise."""
    finite = smooth[np.isfinite(smooth)]
    width = max(2, need if len(finite) >= 3 * need else need // 2)
    if len(finite) < width:
        return float(finite.min()), 0.0
    means = np.lib.stride_tricks.sliding_window_view(finite, width).mean(axis=1)
    at = int(means.argmin())
    return float(means[at]), _wobble(finite[:at + width])


def _wobble(finite: np.ndarray) -> float:
    """The standard deviation of block means around their trend, robustly: from the median absolute
    difference of neighbours (a trend or one outlier barely moves it); 0 with too few blocks."""
    if len(finite) < 4:
        return 0.0
    return float(1.4826 * np.median(np.abs(np.diff(finite))) / np.sqrt(2.0))


def _block_means(v: np.ndarray, size: int) -> np.ndarray:
    """Means of the finite values of consecutive blocks of `size` points, newest block last (NaN if none)."""
    n = len(v) // size
    blocks = v[len(v) - n * size:].reshape(n, size)
    finite = np.isfinite(blocks)
    counts = finite.sum(axis=1)
    sums = np.where(finite, blocks, 0.0).sum(axis=1)
    means: np.ndarray = np.divide(sums, counts, out=np.full(n, np.nan), where=counts > 0)
    return means


def _falling(run: RunTracker, metric: str, x0: float, x1: float, n: int = 4096) -> bool:
    """Whether the train loss ended lower than it started between steps x0 and x1 (medians of quarters)."""
    found = tail(run, metric, n)
    if found is None:
        return False
    inside = found.v[(found.x >= x0) & (found.x <= x1) & np.isfinite(found.v)]
    if len(inside) < 4:
        return False
    q = max(1, len(inside) // 4)
    return median(inside[-q:]) < median(inside[:q])
