"""A metric of a finished run as arrays: what the report's numbers and plots are computed from.

The run's series keep their newest points raw and fold older ones into
buckets (runwatch.state.series): a curve has one entry per raw point or bucket,
with the bucket's mean as its value and its min and max beside it, so a
minimum or a NaN anywhere in the run is kept however long the run was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from runwatch.model import XAxis
from runwatch.state.run import RunTracker
from runwatch.state.series import Series
from runwatch.state.xaxis import columns_for

EVERY = 1 << 40
"""Columns asked of a series for its numbers: as many as it holds (raw points and buckets)."""


@dataclass(frozen=True)
class Curve:
    """One metric along the run: step (`x`), value (`y`), the low and high of each entry, how many
    non-finite values each entry held, and the run's time of each entry (replay clock seconds)."""

    name: str
    x: np.ndarray
    y: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    nonfinite: np.ndarray
    t: np.ndarray
    last: float
    """The newest value as logged (NaN stays NaN)."""
    first: np.ndarray | None = None
    """The value of each entry's first point: the run's first value is `first[0]`, exact."""
    t_first: np.ndarray | None = None
    """The time of each entry's first point (when the run started: `t_first[0]`)."""
    x_lo: np.ndarray | None = None
    """The step of each entry's `lo` (its first occurrence), exact where `x` is a bucket's last step."""

    @property
    def finite(self) -> np.ndarray:
        ok: np.ndarray = np.isfinite(self.y)
        return ok

    def __len__(self) -> int:
        return len(self.x)


def series_of(tracker: RunTracker, name: str) -> Series | None:
    """`name` of the run's lowest rank that logs it (rank 0, or no rank)."""
    ranks = tracker.store.ranks(name)
    if not ranks:
        return None
    return tracker.store.get(name, min(ranks, key=lambda r: -1 if r is None else r))


def curve(tracker: RunTracker, name: str, width: int = EVERY) -> Curve | None:
    """`name` in at most `width` entries along its steps; None when the run never logged it."""
    series = series_of(tracker, name)
    if series is None or not len(series) or series.latest is None:
        return None
    c = series.columns(width)
    t = c.t if c.t is not None else np.full(len(c.x), np.nan)
    bad = (c.nan + c.inf).astype(np.int64)
    y = np.where(c.count == 1, c.ylast, c.mean)
    return Curve(name, c.x, y, c.ymin, c.ymax, bad, t, series.latest[1], c.first, c.t_first, c.x_at_min)


def aligned(tracker: RunTracker, name: str, axis: XAxis, width: int) -> Curve | None:
    """`name` in at most `width` entries along `axis` (steps, wall time from the first point, tokens seen),
    aligned as the TUI's compare view aligns runs (runwatch.state.xaxis); None when the run never logged
    it or says nothing of tokens."""
    series = series_of(tracker, name)
    if series is None or not len(series) or series.latest is None:
        return None
    c = columns_for(series, width, None, axis, lambda other: series_of(tracker, other))
    if c is None:
        return None
    x = c.x - float(np.nanmin(c.x)) if axis is XAxis.TIME and len(c.x) else c.x
    t = c.t if c.t is not None else np.full(len(c.x), np.nan)
    y = np.where(c.count == 1, c.ylast, c.mean)
    return Curve(name, x, y, c.ymin, c.ymax, (c.nan + c.inf).astype(np.int64), t, series.latest[1])


def first_of(tracker: RunTracker, names: tuple[str, ...], width: int = EVERY) -> Curve | None:
    """The first of `names` the run logged, as a curve."""
    for name in names:
        found = curve(tracker, name, width)
        if found is not None:
            return found
    return None
