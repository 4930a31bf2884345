"""The y range a chart of a training curve is drawn to: the run after its warm-up, not its first steps.

Step 0's loss of 11 or a tokens/s of 0 while the first batch compiles would
flatten the whole run into one row (a terminal chart) or one pixel band (a
report's PNG). Both draw to the range `robust_range` picks, so a person sees the
same curve in the TUI and in `runwatch report`; what it leaves off is named
(`above`, `below`) and marked at the edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

WARMUP_SHARE = 0.05
"""The first share of the x range that does not set the y axis (unless a chart asks for every value)."""
ROBUST_GAIN = 1.5
"""Warm-up is left out of the y range only when that narrows it by at least this factor."""


@dataclass(frozen=True)
class YRange:
    """The values' range to draw (`lo`, `hi`), and the extremes left off it (None: nothing was)."""

    lo: float
    hi: float
    above: float | None = None
    below: float | None = None


def robust_range(lines: Sequence[tuple[np.ndarray, Sequence[np.ndarray]]], warmup: float = WARMUP_SHARE,
                 gain: float = ROBUST_GAIN) -> YRange | None:
    """The range of the finite values of `lines`, each (x, [values…]) (a column chart's ymin and ymax, or a
    curve's points), without those in the first `warmup` of the shared x range when leaving them out
    narrows the range by `gain` or more; then with a margin of 8% of the narrowed range. None when no
    value is finite. Values whose array is not as long as its x are all taken as past the warm-up."""
    finite_x = [x[np.isfinite(x)] for x, _ in lines if len(x)]
    allx = np.concatenate(finite_x) if finite_x else np.empty(0)
    cut = float(allx.min()) + warmup * float(allx.max() - allx.min()) if len(allx) else 0.0
    every: list[np.ndarray] = []
    body: list[np.ndarray] = []
    for x, arrays in lines:
        for v in arrays:
            if len(v):
                every.append(v)
                body.append(v[x >= cut] if len(x) == len(v) else v)
    allv = _finite(every)
    if not len(allv):
        return None
    lo, hi = float(allv.min()), float(allv.max())
    later = _finite(body)
    if warmup <= 0 or len(later) < 2:
        return YRange(lo, hi)
    blo, bhi = float(later.min()), float(later.max())
    if (hi - lo) < gain * max(bhi - blo, 1e-300):
        return YRange(lo, hi)
    margin = 0.08 * (bhi - blo) if bhi > blo else abs(bhi) * 0.05 or 0.5
    lo2, hi2 = blo - margin, bhi + margin
    return YRange(lo2, hi2, hi if hi > hi2 else None, lo if lo < lo2 else None)


def _finite(arrays: list[np.ndarray]) -> np.ndarray:
    values = np.concatenate(arrays) if arrays else np.empty(0)
    return values[np.isfinite(values)]
