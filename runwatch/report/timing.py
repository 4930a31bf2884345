"""How long the steps took: throughput medians, the time each step took as the log says, and the time lost
to stalls."""

from __future__ import annotations

import numpy as np

from runwatch.arrays import distinct
from runwatch.model import Kind
from runwatch.report.curves import curve, first_of
from runwatch.report.values import LOSS, STALL_FACTOR, THROUGHPUT, VAL, ThroughputNumbers
from runwatch.state.run import RunTracker


def throughput_numbers(t: RunTracker, *, clock: bool = True, stated: bool = True) -> ThroughputNumbers:
    """`clock`: the records' times are the run's (else a replay made them up from a default step time:
    no step time, stall or runtime is told from them); `stated`: the log stated them (else the replay
    rebuilt them from a progress bar's elapsed time and put a made-up pause at each evaluation)."""
    rate = first_of(t, THROUGHPUT)
    values = rate.y[rate.finite] if rate is not None else np.empty(0)
    mfu = curve(t, "mfu")
    mfu_ok = mfu.y[mfu.finite] if mfu is not None else np.empty(0)
    median_dt, stall, stalls, stepping = stall_time(t, clock=clock, stated=stated)
    val = first_of(t, VAL)
    evals = len(distinct(val.x)) if val is not None else t.counts[Kind.EVAL]  # a W&B run repeats the log's
    eval_rt = curve(t, "eval_runtime")
    eval_s = float(np.nansum(eval_rt.y)) if eval_rt is not None and eval_rt.finite.any() else None
    return ThroughputNumbers(
        rate.name if rate is not None else None,
        float(np.median(values)) if values.size else None,
        float(np.percentile(values, 10)) if values.size else None,
        float(np.median(mfu_ok)) if mfu_ok.size else None,
        median_dt, stall, stalls, stepping, evals, eval_s)


def step_times(t: RunTracker, *, clock: bool = True) -> tuple[np.ndarray, np.ndarray] | None:
    """(step, seconds that step took): the logged step time, else (`clock`: the records' times are real)
    the intervals between logged steps divided by the steps between them."""
    found = _timed_steps(t, clock=clock)
    return None if found is None else found[:2]


def _timed_steps(t: RunTracker, *, clock: bool, stated: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """`step_times` and the wall seconds since the entry before each (NaN for the first, and where the
    records' times are made up): what the log's own times say the same steps took. Where the times were
    rebuilt (not `stated`), the wall time across an evaluation is NaN too: the replay put a pause of its
    own there (an HF run's three evaluations read as 1m29s of stalls in a 7.9 s run); the evaluations'
    own time is told apart (`eval_runtime`)."""
    logged = curve(t, "step_time")
    if logged is not None and logged.finite.sum() >= 2:
        x, per = logged.x[logged.finite], logged.y[logged.finite]
        gap = np.diff(logged.t[logged.finite], prepend=np.nan) if clock else np.full(len(x), np.nan)
        if clock and not stated:
            gap[_after_an_eval(t, x)] = np.nan
        return x, per, gap
    if not clock:
        return None
    c = first_of(t, LOSS + THROUGHPUT)
    if c is None or len(c) < 3:
        return None
    ok = np.isfinite(c.t)
    x, times = c.x[ok], c.t[ok]
    dx, dt = np.diff(x), np.diff(times)
    good = dx > 0
    return x[1:][good], dt[good] / dx[good], dt[good]


def stall_time(t: RunTracker, *, clock: bool = True, stated: bool = True
               ) -> tuple[float | None, float | None, int, float | None]:
    """(median step time, seconds lost to stalls, logged steps that stalled, seconds all steps took): a
    step longer than `STALL_FACTOR` × the median loses its excess over the median.

    A log that prints every 5th step stands each logged step time for the steps since the one before,
    except a slow one between two fast ones: that is one stalled step (nanoGPT's 75 s hang at iter 150
    is one iteration, not five).

    Where the log states its own times (`clock`), the time between two step lines counts as well: a
    trainer's own step time leaves out a hang between its steps (a Megatron-DeepSpeed run's 47-minute
    silence at iteration 15000 was a `stall` alert in the report's Health table, and `0s in 0 steps` of
    stalls in its Summaries). The first entry is not judged: the first step's time is compilation and
    warm-up (nanochat's step 0 takes 18 s of 0.65 s steps), no stall."""
    found = _timed_steps(t, clock=clock, stated=stated)
    if found is None or not len(found[1]):
        return None, None, 0, None
    x, per, gap = found
    if clock and not stated:
        return _bar_stalls(x, per, gap)
    top = _slowest(t, x, per)
    median = float(np.median(per))
    slow = top > STALL_FACTOR * median
    slow[0] = False  # the first step: compilation and warm-up
    span = _spans(x)
    near = np.zeros(len(slow), bool)
    near[1:] |= slow[:-1]
    near[:-1] |= slow[1:]
    lasting = slow & near
    stalled = np.where(lasting, span, 1.0)  # steps each slow entry stands for
    folded = top > per  # a bucket of a long run's older steps: its mean hides its slowest step
    excess = np.where(folded, np.maximum(top - median, (per - median) * span), (per - median) * stalled)
    lost = np.where(slow, excess, 0.0)
    took = np.where(slow & ~folded, per * stalled + median * (span - stalled), per * span)
    silent = _silent(gap, median * span)
    lost = np.where(silent, np.maximum(lost, gap - median * span), lost)
    took = np.where(silent, np.maximum(took, gap), took)
    return median, float(np.sum(lost)), int(np.count_nonzero(slow | silent)), float(np.sum(took))


BAR_SLACK_S = 2.0
"""Seconds by which a gap on a clock rebuilt from a bar's elapsed time must pass what its steps usually take
to be a stall: the bar shows whole seconds, and the replay places the steps of one of them together."""


def _bar_stalls(x: np.ndarray, per: np.ndarray, gap: np.ndarray) -> tuple[float, float, int, float]:
    """`stall_time` of a log whose times were rebuilt from a progress bar's elapsed time (HF Trainer,
    Lightning, accelerate's tqdm, Keras's mean step time × its batches): the stalls are the clock's gaps, not the bar's rate. The rate is smoothed (tqdm: an average over
    its refreshes): after a 75 s hang it read seconds a step for a hundred 5 ms steps, and the report summed
    it into `7m01s in 104 steps` lost of an 84 s Lightning run. The bar's elapsed time is what passed."""
    median = float(np.median(per))
    span = _spans(x)
    usual = median * span
    known = np.isfinite(gap)
    with np.errstate(invalid="ignore"):
        silent = known & (gap > STALL_FACTOR * usual) & (gap - usual > BAR_SLACK_S)
    lost = np.where(silent, gap - usual, 0.0)
    took = _bar_took(per, span, np.where(known, gap, per * span), known)  # not known: the first, one across an evaluation
    return median, float(np.sum(lost)), int(np.count_nonzero(silent)), took


BAR_TICK_S = 1.0
"""What a bar's clock may leave out of each stretch it times: it shows whole seconds."""


def _bar_took(per: np.ndarray, span: np.ndarray, clock: np.ndarray, known: np.ndarray) -> float:
    """Seconds the steps took by a bar's clock (`clock`: seconds each entry took, `known` where the clock said
    it): the clock's, but for a stretch (up to the next entry the clock did not time) shorter than its steps'
    usual time by less than a tick of the clock, which took that usual time: Lightning's epochs read `00:00`
    each. The usual time is the stretch's own median step time × its steps; where it passes the clock by more
    than a tick, the clock stands: after a slowdown to 8× (the run lab's Keras run) the run's median step time
    × 1000 steps said 44 s of a run whose bar counted 29."""
    start = np.flatnonzero(~known)
    if not len(start) or start[0] != 0:
        start = np.concatenate(([0], start))
    took = 0.0
    for lo, hi in zip(start.tolist(), [*start[1:].tolist(), len(per)], strict=True):
        timed = float(np.sum(clock[lo:hi]))
        usual = float(np.median(per[lo:hi])) * float(np.sum(span[lo:hi]))
        took += max(timed, usual) if usual - timed < BAR_TICK_S else timed
    return took


def _spans(x: np.ndarray) -> np.ndarray:
    """The steps each entry at steps `x` stands for: those since the entry before (1 for the first, and for a
    redraw at the same step)."""
    span = np.diff(x, prepend=x[0] - 1.0)
    return np.where(span > 0, span, 1.0)


def _after_an_eval(t: RunTracker, x: np.ndarray) -> np.ndarray:
    """Entries at steps `x` (not descending) with an evaluation since the entry before: at or after its step
    and before theirs, or at the step both share (HF redraws its bar at the evaluation's step after it)."""
    val = first_of(t, VAL)
    out = np.zeros(len(x), bool)
    if val is None or len(x) < 2:
        return out
    evals = distinct(val.x)
    at = np.searchsorted(evals, x[:-1], side="left")  # the first evaluation at or after the entry before
    e = evals[np.minimum(at, len(evals) - 1)]
    out[1:] = (at < len(evals)) & ((e < x[1:]) | (e == x[:-1]))
    return out


STAMP_SLACK_S = 1.0
"""Seconds by which the time between two stamped step lines must pass what their steps usually take to
be a stall: many logs stamp to the whole second, and a 0.1 s step read across a second's turn is no hang."""


def _silent(gap: np.ndarray, usual: np.ndarray) -> np.ndarray:
    """Entries whose wall time since the one before (`gap`, NaN where unknown) is a stall: over
    `STALL_FACTOR` × what their steps usually take, and more than the stamps' resolution over it."""
    with np.errstate(invalid="ignore"):
        out: np.ndarray = (gap > STALL_FACTOR * usual) & (gap - usual > STAMP_SLACK_S)
    return out


def _slowest(t: RunTracker, x: np.ndarray, per: np.ndarray) -> np.ndarray:
    """The longest step time of each entry (a bucket's max where the logged step times were folded into
    buckets; the entry's own value elsewhere): a 10-minute hang among 5-s steps is 1/100 of its bucket's
    mean, and went uncounted as a stall in a 150k-step run."""
    logged = curve(t, "step_time")
    if logged is None or len(logged.x[logged.finite]) != len(x):
        return per
    hi = logged.hi[logged.finite]
    return np.where(np.isfinite(hi) & (hi > per), hi, per)
