"""Spike detection shared by `loss_spike` and `grad_norm_spike`.

A spike is judged against the points just before it, by their median and
MAD (a spike cannot drag either), and must clear two bars at once: a robust
z-score (so a noisy metric needs a big excursion) and a relative rise over
the median (so a very quiet metric is not flagged for a tiny wobble). It
must hold for `persist` consecutive points: one bad batch is not an alert.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from runwatch.alerts.rules.tail import Tail, median_of
from runwatch.state.stats import MAD_SCALE

REL_SCALE_FLOOR = 1e-3
"""The spread used is at least this fraction of the median (a flat or quantised metric has MAD 0)."""


class Spike(NamedTuple):
    start: int
    """Index in the tail of the first point of the newest qualifying run."""
    threshold: float
    baseline: float
    """Median of the window before the scanned points."""


def baseline_slice(found: Tail, warmup: int) -> int:
    """Index of the first tail point past the series' first `warmup` points."""
    held_from = found.total - len(found.v)
    return max(0, warmup - held_from)


def find_spike(found: Tail, *, warmup: int, window: int, persist: int, scan: int, z: float, rel: float,
               min_baseline: int = 20) -> Spike | None:
    """The newest run of >= `persist` points above median + max(z·σ, rel·|median|) among the last `scan`.

    σ is the scaled MAD of up to `window` points before the scanned ones
    (warm-up points left out). None when there is too little baseline or no run.
    """
    v = found.v
    if len(v) < scan + min_baseline:
        return None
    start = max(baseline_slice(found, warmup), len(v) - scan - window)
    base = v[start : len(v) - scan]
    base = base[np.isfinite(base)]
    if len(base) < min_baseline:
        return None
    centre = median_of(base)
    recent = v[-scan:]
    if not len(_run_ends(recent > centre + rel * abs(centre), persist)):
        return None  # the threshold is at least this high: no need for the MAD
    spread = max(MAD_SCALE * median_of(np.abs(base - centre)), REL_SCALE_FLOOR * abs(centre), 1e-12)
    threshold = centre + max(z * spread, rel * abs(centre))
    above = np.isfinite(recent) & (recent > threshold)
    ends = _run_ends(above, persist)
    if not len(ends):
        return None
    first = int(ends[-1]) - persist + 1
    while first > 0 and above[first - 1]:
        first -= 1
    return Spike(len(v) - scan + first, threshold, centre)


def _run_ends(mask: np.ndarray, length: int) -> np.ndarray:
    """Indices where a run of `length` consecutive True values ends."""
    if len(mask) < length:
        return np.empty(0, dtype=np.int64)
    counts = np.convolve(mask.astype(np.int64), np.ones(length, dtype=np.int64), mode="valid")
    return np.flatnonzero(counts == length) + length - 1
