"""The loss part of a report: start, end, minimum and its step, the trend over the last tenth of the run,
and the validation loss beside it."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from runwatch.report.curves import Curve, first_of
from runwatch.report.values import FLAT_PCT, LOSS, TAIL_SHARE, VAL, LossNumbers
from runwatch.state.run import RunTracker


def loss_numbers(t: RunTracker) -> LossNumbers | None:
    c = first_of(t, LOSS)
    if c is None:
        return None
    ok = c.finite
    firsts = c.first if c.first is not None else c.y  # each entry's first point: exact at the run's start
    logged = np.isfinite(firsts)
    start = float(firsts[logged][0]) if logged.any() else float(c.y[ok][0]) if ok.any() else None
    low = np.where(np.isfinite(c.lo), c.lo, np.inf)
    at = int(np.argmin(low)) if ok.any() else None
    where = c.x_lo if c.x_lo is not None else c.x  # the minimum's own step, not its bucket's last
    change, per_1k, tail_from = tail_slope(c)
    bad = np.flatnonzero(c.nonfinite > 0)
    numbers = LossNumbers(c.name, start, c.last, float(low[at]) if at is not None else None,
                          float(where[at]) if at is not None else None, tail_from, change, per_1k, _trend(change),
                          int(c.nonfinite.sum()), float(c.x[bad[0]]) if bad.size else None)
    val = first_of(t, VAL)
    if val is None or not val.finite.any():
        return numbers if val is None else _with_val(numbers, val, None, None, None)
    vlow = np.where(np.isfinite(val.lo), val.lo, np.inf)
    best = int(np.argmin(vlow))
    gap = None
    last_ok = np.flatnonzero(val.finite)
    if ok.any() and last_ok.size and val.name == "val_loss" and math.isfinite(c.last):  # val_bpb is bits per byte, not the loss's nats
        i = int(last_ok[-1])
        gap = float(val.y[i] - np.interp(val.x[i], c.x[ok], c.y[ok]))
    return _with_val(numbers, val, float(vlow[best]), float((val.x_lo if val.x_lo is not None else val.x)[best]), gap)


def _with_val(n: LossNumbers, val: Curve, best: float | None, step: float | None, gap: float | None) -> LossNumbers:
    return replace(n, val_name=val.name, best_val=best, best_val_step=step, last_val=val.last, gap_end=gap)


def tail_slope(c: Curve, share: float = TAIL_SHARE) -> tuple[float | None, float | None, float | None]:
    """(change over the last `share` of the run in percent of its level, the same per 1k steps, the step
    the window starts at) from a least-squares line through the finite values there."""
    ok = c.finite
    if ok.sum() < 3:
        return None, None, None
    x, y = c.x[ok], c.y[ok]
    lo, hi = float(x.min()), float(x.max())
    if hi <= lo:
        return None, None, None
    start = hi - share * (hi - lo)
    window = x >= start
    if window.sum() < 3:
        window = np.zeros(len(x), bool)
        window[-3:] = True
        start = float(x[window][0])
    slope, intercept = np.polyfit(x[window], y[window], 1)
    level = float(np.mean(y[window]))
    if level == 0:
        return None, None, start
    span = float(x[window].max() - x[window].min())
    change = float(slope) * span / abs(level) * 100.0
    return change, float(slope) * 1000.0 / abs(level) * 100.0, start


def _trend(change: float | None) -> str | None:
    if change is None:
        return None
    return "falling" if change < -FLAT_PCT else "rising" if change > FLAT_PCT else "flat"
