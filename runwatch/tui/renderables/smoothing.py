"""Exponential smoothing of a chart's columns, as TensorBoard's smoothing slider does per point.

A chart holds columns, not points: a column of the folded history stands
for thousands of points, one at the right edge for one. Smoothing them as
if each were one point would change with the terminal's width and the zoom.
So a column of `n` points with mean `m` moves the average as `n` points of
value `m` would (weight `w**n` on what came before), which is the per-point
average exactly when the column's points are equal, and close otherwise.
The average is debiased (divided by the weight the start still holds), so
the curve starts at the first value, not at zero.
"""

from __future__ import annotations

import numpy as np

WEIGHTS = (0.0, 0.6, 0.9, 0.99)
"""What the `S` key cycles through: off, then TensorBoard's default, then heavier."""


def ema(mean: np.ndarray, count: np.ndarray | None, weight: float) -> np.ndarray:
    """The smoothed value at each column; a column with no finite value keeps the average before it
    (NaN until the first finite one). `count` None: one point a column."""
    mean = np.asarray(mean, np.float64)
    n = np.ones(len(mean)) if count is None else np.asarray(count, np.float64)
    out = np.full(len(mean), np.nan)
    if not 0.0 < weight < 1.0:
        return mean.copy()
    keep = np.power(weight, np.maximum(n, 1.0))
    total = held = 0.0
    for i, (m, k) in enumerate(zip(mean.tolist(), keep.tolist(), strict=True)):
        if m == m and abs(m) != float("inf"):
            total = k * total + (1.0 - k) * m
            held = k * held + (1.0 - k)
        if held > 0.0:
            out[i] = total / held
    return out
