"""The loss part of a report: start, end, minimum and its step, the trend over the last tenth of the run,
and the validation loss beside it."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from runwatch.report.curves import Curve, first_of
from runwatch.report.values import FLAT_PCT, LOSS, TAIL_MIN_POINTS, TAIL_SHARE, VAL, LossNumbers
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
    tail = tail_slope(c)
    bad = np.flatnonzero(c.nonfinite > 0)
    numbers = LossNumbers(c.name, start, c.last, float(low[at]) if at is not None else None,
                          float(where[at]) if at is not None else None, tail.from_step, tail.change_pct,
                          tail.per_1k_pct, trend(tail), int(c.nonfinite.sum()),
                          float(c.x[bad[0]]) if bad.size else None, tail_points=tail.points,
                          tail_span_steps=tail.span, tail_noise_pct=tail.noise_pct)
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


@dataclass(frozen=True)
class Tail:
    """The least-squares line through the loss's finite values in the last share of the run."""

    from_step: float | None
    """The step the window starts at (None: the run has no span)."""
    points: int
    span: float | None = None
    """Steps from the window's first point to its last."""
    change_pct: float | None = None
    """The line's change over the window, percent of the loss's level there (None: fewer than
    `TAIL_MIN_POINTS` points, or a level of 0)."""
    noise_pct: float | None = None
    """Two standard errors of `change_pct`, from the scatter around the line."""

    @property
    def per_1k_pct(self) -> float | None:
        if self.change_pct is None or not self.span:
            return None
        return self.change_pct / self.span * 1000.0


def tail_slope(c: Curve, share: float = TAIL_SHARE) -> Tail:
    """The line through the finite values of the last `share` of the run's steps. Only the points there
    count: a window of fewer than `TAIL_MIN_POINTS` gives no change (its line would be noise, or would
    reach back past the last tenth), and the change carries its own noise (`Tail.noise_pct`)."""
    ok = c.finite
    x, y = c.x[ok], c.y[ok]
    if len(x) < 2 or float(x.max()) <= float(x.min()):
        return Tail(None, int(ok.sum()))
    lo, hi = float(x.min()), float(x.max())
    start = hi - share * (hi - lo)
    window = x >= start
    n = int(window.sum())
    xs, ys = x[window], y[window]
    span = float(xs.max() - xs.min()) if n else 0.0
    level = float(np.mean(ys)) if n else 0.0
    if n < TAIL_MIN_POINTS or span <= 0 or level == 0:
        return Tail(start, n, span or None)
    slope, intercept = np.polyfit(xs, ys, 1)
    resid = ys - (slope * xs + intercept)
    se = math.sqrt(float(resid @ resid) / (n - 2) / float(((xs - xs.mean()) ** 2).sum()))
    scale = span / abs(level) * 100.0
    return Tail(start, n, span, float(slope) * scale, 2.0 * se * scale)


def trend(t: Tail) -> str | None:
    """"flat" within `FLAT_PCT`, "falling" or "rising" beyond it when the change is larger than its noise,
    None when the points cannot tell (too few, or a change inside the noise: six noisy points of a small
    run's last tenth fit a line 44% up that the next six could turn down)."""
    change = t.change_pct
    if change is None:
        return None
    if abs(change) <= FLAT_PCT:
        return "flat"
    if t.noise_pct is not None and abs(change) < t.noise_pct:
        return None
    return "falling" if change < 0 else "rising"
