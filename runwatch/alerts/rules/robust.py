"""Spike detection shared by `loss_spike` and `grad_norm_spike`.

A spike is judged against the points just before it, by their median and
MAD (a spike cannot drag either), and must clear two bars at once: a robust
z-score (so a noisy metric needs a big excursion) and a relative rise over
the median (so a very quiet metric is not flagged for a tiny wobble); and it
must rise above what the metric itself reached among those points (`USUAL_HIGH`:
a heavy-tailed per-batch loss's MAD says little of its highs). It must hold
for `persist` consecutive points: one bad batch is not an alert.

Rules are evaluated about once a second, but a fast run logs dozens of steps
in that second (and a history arrives in one batch), so a spike may begin
and end between two evaluations. Rules keep no memory, so instead every
evaluation looks back: a spike counts while its run of `persist` points ends
among the newest `lookback` points (widened to every record since the last
evaluation), each candidate run judged against the `window` points before its
own first point, exactly as if the rule had been evaluated when that run
arrived. A spike thus stays a finding while it lasts and `lookback` records
more; once the metric is back, its alert resolves.

A history piece widens the lookback to thousands of runs: most are ruled out
by bounds drawn from their neighbours' sorted baselines (`spike_bounds`), the
rest judged on their own, the newest first; the answer is the one judging
every run on its own sorted baseline gives.

A metric that falls steeply through its window (a loss in its first few
hundred steps) has a wide MAD and a median well above where it is now, so a
run far above the newest points may sit under both bars: a review's loss went
from 2.4 to 9.6 (4×) for five records at step 60 of a decay from 10 and was
not reported. Runs are judged a second way too (`_trend_spike`): against the
median of the `TREND_RECENT` points just before them, with a spread from the
MAD of the window's step-to-step differences (a trend moves their median, not
their spread), and a rise of at least `TREND_RISE` (a doubling: the stricter
bar keeps a recent level of a few points from calling a noisy loss's usual
swings spikes). The newer of the two ways' spikes is reported.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from runwatch.alerts.rules.base import HISTORY_POINTS, Rule, RuleParams
from runwatch.alerts.rules.spike_bounds import may_rise, may_spike
from runwatch.alerts.rules.tail import Tail, fmt, history, step_at, step_word
from runwatch.alerts.types import Finding
from runwatch.state.run import RunTracker
from runwatch.state.stats import MAD_SCALE

REL_SCALE_FLOOR = 1e-3
"""The spread used is at least this fraction of the median (a flat or quantised metric has MAD 0)."""
_BLOCK_ROWS = 64
"""Candidate baselines sorted at once."""
_BOUNDED_FROM = 64
"""Candidate runs from which bounds (`may_spike`) are worth setting before the exact judgement (a live tick
judges a few; a history's piece, thousands)."""
TREND_RECENT = 10
"""Points just before a run whose median is its recent level in the trend-aware judgement."""
TREND_RISE = 1.0
"""Least relative rise over the recent level there (or the rule's own, when larger)."""
USUAL_HIGH = 0.98
"""A spike's run must also clear this quantile of its baseline: rise above what the metric itself reached among
those points. A per-batch loss fallen to 0.0006 with batches of 0.1-0.4 among them (a T5 fine-tune logging every
batch) has a MAD so small that three batches at 0.003-0.007 cleared both bars, a warning on a healthy run (a
review); a real spike leaves the baseline's highest points far below."""
_JUDGED_FIRST = 256
"""Candidate runs judged first, the newest (`_newest_spike`): the others only when no spike is among them."""
LOOKBACK = 6
"""Default `lookback`: newest points in which a spike still counts — twice `persist`, so a spike is a
finding while it lasts and for a few records after, and its alert resolves `resolve_after` after the
loss came back (a recovering spike used to stay firing for 256 records: 450 steps after recovery).
The records that arrive between two evaluations are looked at too: the engine and `check` widen the
lookback to them (`Rule.widened`), so a spike that came and went between two ticks still fires."""


@dataclass(frozen=True)
class SpikeParams(RuleParams):
    """What every spike rule is configured with; each adds its own two bars (a z and a relative rise)."""

    metric: str = "loss"
    warmup: int = 10
    """Points at the start of the series never judged nor used as a baseline. In records, not steps: a
    log that prints every 10th step has 60 records in a 600-step run, and 100 would hide all of it;
    the robust z and the `min_baseline` points a baseline needs keep the early, noisy records safe."""
    window: int = 100
    """Baseline points before the scanned ones."""
    persist: int = 3
    """Consecutive records above the threshold: with the robust z of 6 three are already far beyond
    noise, and a log that prints every 10th step shows a 40-step spike in four records."""
    lookback: int = LOOKBACK
    """A spike counts while its `persist` records end among this many newest ones: rules are evaluated
    once a second, and a fast run logs a whole spike between two evaluations."""


class Spike(NamedTuple):
    start: int
    """Index in the tail of the first point of the spike."""
    end: int
    """Index of its last point above the threshold."""
    peak: int
    """Index of its highest point."""
    threshold: float
    baseline: float
    """Median of the `window` points before the spike."""


def baseline_slice(found: Tail, warmup: int) -> int:
    """Index of the first tail point past the series' first `warmup` points."""
    held_from = found.total - len(found.v)
    return max(0, warmup - held_from)


SP = TypeVar("SP", bound=SpikeParams)


def widened_spike(rule: Rule[SP], points: int) -> Rule[SP]:
    """`rule` (a spike rule) with its `lookback` at least `points`."""
    if points <= rule.params.lookback:
        return rule
    return type(rule)(dataclasses.replace(rule.params, lookback=points))


def spike_baseline_points(p: SpikeParams) -> int:
    """`Rule.baseline_points` of a spike rule: the baseline window before its oldest run, and that run."""
    return p.window + p.persist


def spike_tail_points(window: int, persist: int, lookback: int) -> int:
    """Tail length `find_spike` needs: every candidate run in the lookback, with its full baseline."""
    return window + max(lookback, persist) + persist


MIN_BASELINE = 10
"""Fewest baseline points a spike is judged against: a sparse log (one line every 10 steps) has a spike
within its first 30 records, and the old 20 (after 100 of warm-up) let it pass unseen."""
SHORT_BASELINE = 20
"""Below this many baseline points the z bar is raised by `SHORT_Z`: a short baseline's MAD is a rough
estimate, so it must be cleared by more."""
SHORT_Z = 1.5


def find_spike(found: Tail, *, warmup: int, window: int, persist: int, lookback: int, z: float, rel: float,
               min_baseline: int = MIN_BASELINE) -> Spike | None:
    """The newest spike whose run of `persist` points ends among the newest `lookback` points.

    A run starting at point s is a spike when each of its points is finite and
    above c + max(z·σ, rel·|c|), where c and σ (the scaled MAD) are those of
    the finite points among the `window` before s (warm-up points left out,
    at least `min_baseline` of them). The spike reported extends that run
    over the neighbouring points above the same threshold. None when there is none.
    """
    v = found.v
    n, persist, lookback = len(v), max(1, persist), max(1, lookback)
    if window < min_baseline:
        return None
    w0 = baseline_slice(found, warmup)
    first, last = max(w0 + min_baseline, n - lookback - persist + 1), n - persist
    if last < first:
        return None
    finite = np.isfinite(v)
    low = _lowest_of_runs(np.where(finite[first:], v[first:], -np.inf), persist, last - first + 1)
    starts = np.arange(first, last + 1)
    # every baseline median lies within [lo, hi] of the points baselines draw from, so no run below
    # min(c + rel·|c|) over that range can be a spike: the usual evaluation ends here, cheaply
    pool = v[max(w0, first - window) : last]
    pool = pool[np.isfinite(pool)]
    if len(pool) < min_baseline:
        return None
    lo, hi = float(pool.min()), float(pool.max())
    floor = min(lo + rel * abs(lo), hi + rel * abs(hi), 0.0 if lo < 0.0 < hi else math.inf)
    keep = low > floor
    if not keep.any():
        return None
    starts, low = starts[keep], low[keep]
    clean = np.where(finite, v, np.nan)
    clean[:w0] = np.nan
    padded = np.concatenate((np.full(window, np.nan), clean))
    trend = _trend_spike(padded, window, starts, low, z=z, rel=max(TREND_RISE, rel), min_baseline=min_baseline)
    rise = may_rise(padded, window, starts, low, rel=rel)
    if not rise.all():
        starts, low = starts[rise], low[rise]
    newest = _newest_spike(padded, window, starts, low, z=z, rel=rel, min_baseline=min_baseline)
    if newest is None or (trend is not None and trend[0] > newest[0]):
        newest = trend
    if newest is None:
        return None
    s, limit, centre = newest
    above = finite & (v > limit)
    start = s
    while start > w0 and above[start - 1]:
        start -= 1
    before = clean[max(0, start - window) : start]  # the baseline free of the spike
    before = before[~np.isnan(before)]
    if len(before) >= min_baseline and float(v[s : s + persist].min()) <= float(np.quantile(before, USUAL_HIGH)):
        return None  # no higher than the metric often goes (see `USUAL_HIGH`)
    end = s + persist - 1
    while end + 1 < n and above[end + 1]:
        end += 1
    peak = start + int(np.argmax(v[start : end + 1]))
    return Spike(start, end, peak, limit, centre)


def _lowest_of_runs(v: np.ndarray, persist: int, count: int) -> np.ndarray:
    """The lowest of `v[s : s + persist]` for each s below `count` (a non-finite point, given as -inf,
    disqualifies its runs): the minimum of `persist` shifted slices, where a strided view's minimum along
    its short axis cost numpy a reduction per run."""
    low = v[:count].copy()
    for i in range(1, persist):
        np.minimum(low, v[i : i + count], out=low)
    return low


def _newest_spike(padded: np.ndarray, window: int, starts: np.ndarray, low: np.ndarray, *, z: float, rel: float,
                  min_baseline: int) -> tuple[int, float, float] | None:
    """The start of the newest spike among `starts` (ascending), its threshold and baseline median: the oldest
    start of the newest unbroken run of starts that clear both bars, each judged on its own baseline
    `padded[s : s + window]` (v[s-window:s]). The newest `_JUDGED_FIRST` are judged first, the rest only
    when no spike is among them or its run goes on into them (in a history that spikes often, a grad norm
    that jumps tenfold every few steps, judging every start cost a sort each)."""
    hit: tuple[int, float, float] | None = None
    cut = max(0, len(starts) - _JUDGED_FIRST)
    for lo, hi in ((cut, len(starts)), (0, cut)):
        if hi <= lo:
            break
        mine = starts[lo:hi]
        ok, threshold, centre = _judged(padded, window, mine, low[lo:hi], z=z, rel=rel, min_baseline=min_baseline)
        if hit is not None and not (ok[-1] and mine[-1] == hit[0] - 1):
            break  # the run found begins in the newer block
        if hit is None and not ok.any():
            continue
        i = len(mine) - 1 if hit is not None else int(np.flatnonzero(ok)[-1])
        while i > 0 and ok[i - 1] and mine[i - 1] == mine[i] - 1:
            i -= 1  # the newest spike; its oldest qualifying run judges it (a baseline free of it)
        hit = int(mine[i]), float(threshold[i]), float(centre[i])
        if i > 0:
            break
    return hit


def _judged(padded: np.ndarray, window: int, starts: np.ndarray, low: np.ndarray, *, z: float, rel: float,
            min_baseline: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_clears` of each of `starts`, exactly where the bounds of `may_spike` leave it open (False elsewhere)."""
    ok, threshold, centre = np.zeros(len(starts), bool), np.full(len(starts), np.nan), np.full(len(starts), np.nan)
    may = (np.flatnonzero(may_spike(padded, window, starts, low, rel=rel, z=z)) if len(starts) > _BOUNDED_FROM
           else np.arange(len(starts)))
    if may.size:
        rows = sliding_window_view(padded, window)
        ok[may], threshold[may], centre[may] = _clears(rows, starts[may], low[may], z=z, rel=rel,
                                                       min_baseline=min_baseline)
    return ok, threshold, centre


def _clears(rows: np.ndarray, starts: np.ndarray, low: np.ndarray, *, z: float, rel: float,
            min_baseline: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whether each run's `low` clears both bars of its exact baseline, each one's threshold (NaN where the
    relative bar is not cleared) and baseline median."""
    centre, count = _medians(rows, starts)
    threshold = np.full(len(starts), np.nan)
    with np.errstate(invalid="ignore"):
        ok = (count >= min_baseline) & (low > centre + rel * np.abs(centre))
        if not ok.any():
            return ok, threshold, centre  # the threshold is at least this high: no need for the MAD
        c = centre[ok]
        spread, _ = _medians(rows, starts[ok], around=c)
        spread = np.maximum(np.maximum(MAD_SCALE * spread, REL_SCALE_FLOOR * np.abs(c)), 1e-12)
        z_bar = np.where(count[ok] < SHORT_BASELINE, z * SHORT_Z, z)
        threshold[ok] = c + np.maximum(z_bar * spread, rel * np.abs(c))
        ok[ok] = low[ok] > threshold[ok]
    return ok, threshold, centre


def _trend_spike(padded: np.ndarray, window: int, starts: np.ndarray, low: np.ndarray, *, z: float, rel: float,
                 min_baseline: int) -> tuple[int, float, float] | None:
    """As `_newest_spike`, each run judged against its recent level (the median of the `TREND_RECENT` points
    before it) and the scaled MAD of its baseline's step-to-step differences over √2 (see the module notes).

    The recent level is at least the least of those points, so a run whose lowest point is under that least
    one's bar is left out before any median is taken: on a falling loss most runs are."""
    k = min(TREND_RECENT, window)
    least = np.full(len(starts), np.nan)
    for i in range(window - k, window):
        np.fmin(least, padded[starts + i], out=least)
    with np.errstate(invalid="ignore"):
        bar = least + rel * np.abs(least)
        if rel > 1.0:  # the bar falls as a negative level rises: a bound only from 0 up
            bar = np.where(least >= 0.0, bar, -np.inf)
        may = np.flatnonzero(low > bar)
    if not may.size:
        return None
    starts, low = starts[may], low[may]
    centre, recent = _medians(sliding_window_view(padded, k), starts + window - k)
    seen = np.concatenate(([0], np.cumsum(~np.isnan(padded))))
    count = seen[starts + window] - seen[starts]
    steps = sliding_window_view(padded[1:] - padded[:-1], window - 1)
    with np.errstate(invalid="ignore"):
        ok = (count >= min_baseline) & (2 * recent >= k) & (low > centre + rel * np.abs(centre))
        if not ok.any():
            return None
        starts, low, centre, count = starts[ok], low[ok], centre[ok], count[ok]
        drift, _ = _medians(steps, starts)
        spread, _ = _medians(steps, starts, around=drift)
        spread = np.maximum(MAD_SCALE * spread / math.sqrt(2.0), REL_SCALE_FLOOR * np.abs(centre))
        spread = np.where(np.isnan(spread), np.inf, np.maximum(spread, 1e-12))
        z_bar = np.where(count < SHORT_BASELINE, z * SHORT_Z, z)
        threshold = centre + np.maximum(z_bar * spread, rel * np.abs(centre))
        hit = np.flatnonzero(low > threshold)
    if not hit.size:
        return None
    i = int(hit[-1])
    while i > 0 and low[i - 1] > threshold[i - 1] and starts[i - 1] == starts[i] - 1:
        i -= 1
    return int(starts[i]), float(threshold[i]), float(centre[i])


def params_spike(found: Tail, p: SpikeParams, *, z: float, rel: float) -> Spike | None:
    """`find_spike` with a spike rule's settings."""
    return find_spike(found, warmup=p.warmup, window=p.window, persist=p.persist, lookback=p.lookback,
                      z=z, rel=rel)


def spike_finding(rule: Rule[Any], run: RunTracker, found: Tail, spike: Spike, baseline_note: str) -> Finding:
    """The finding a spike rule makes of `spike`: summary (closed by `baseline_note`), peak, sparkline; its
    steps as the summary says them: the peak's, and the first and last above the threshold (not the run's
    step when the rules last saw it among the newest points, long after it ended)."""
    return rule.finding(
        run, f"{spike_summary(found, spike, step_word(run))}; {baseline_note})",
        rank=found.rank, metric=found.metric, value=float(found.v[spike.peak]), threshold=spike.threshold,
        step=step_at(found.x, spike.peak), first_step=step_at(found.x, spike.start),
        last_step=step_at(found.x, spike.end), history=spike_history(found, spike))


def spike_history(found: Tail, spike: Spike) -> tuple[float, ...]:
    """Sparkline values: the newest, or, once the spike has scrolled out of those, the ones around it."""
    return history(found.v[: min(len(found.v), spike.end + 1 + HISTORY_POINTS // 2)])


def spike_summary(found: Tail, spike: Spike, word: str = "step") -> str:
    """`<metric> spiked to <peak> at step <s> (steps a–b above <t>`: the caller adds to it and closes it; `word`
    what the x is (`tail.step_word`)."""
    x, v = found.x, found.v
    first, last = int(x[spike.start]), int(x[spike.end])
    span = f"{word} {first}" if first == last else f"{word}s {first}–{last}"
    return (f"{found.metric} spiked to {fmt(float(v[spike.peak]))} at {word} {int(x[spike.peak])} "
            f"({span} above {fmt(spike.threshold)}")


def _medians(rows: np.ndarray, starts: np.ndarray, around: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Median of the non-NaN values of `rows[s]` (of |rows[s] - around| when given) for each of `starts`,
    and how many there are; a block of rows at a time (temporaries past ~128 KiB cost page faults)."""
    med, count = np.empty(len(starts)), np.empty(len(starts), dtype=np.int64)
    for b in range(0, len(starts), _BLOCK_ROWS):
        block = rows[starts[b : b + _BLOCK_ROWS]]
        if around is not None:
            block = np.abs(block - around[b : b + _BLOCK_ROWS, None])
        med[b : b + _BLOCK_ROWS], count[b : b + _BLOCK_ROWS] = _row_medians(block)
    return med, count


def _row_medians(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median of the non-NaN values of each row (NaN where none), and how many there are."""
    srt = np.sort(rows, axis=1)  # NaN sorts last
    count = rows.shape[1] - np.count_nonzero(np.isnan(srt), axis=1)
    r = np.arange(len(srt))
    lo = srt[r, np.maximum(count - 1, 0) // 2]
    hi = srt[r, np.minimum(count // 2, rows.shape[1] - 1)]
    return np.where(count > 0, 0.5 * lo + 0.5 * hi, np.nan), count
