"""A series' chart columns along the x axis a person chose: steps, wall time or tokens seen.

Steps and wall time are the series' own (`Series.columns`). Tokens are the
run's: a logged count (`TOKEN_COUNTS`) where there is one, else the sum over
steps of tokens/s × step time, each logged step standing for the steps since
the one before (a log that prints every 10th step). The step columns are then
placed at the tokens seen by their step, interpolated between logged steps.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from runwatch.model import TOKEN_COUNTS, TOKEN_RATE, XAxis
from runwatch.state.series import Columns, Series

TOKEN_RESOLUTION = 4096
"""Columns the tokens-by-step curve is read at: plenty for a chart, bounded for a run of millions of steps."""

SeriesOf = Callable[[str], Series | None]


def columns_for(series: Series, width: int, x_min: float | None, axis: XAxis, series_of: SeriesOf) -> Columns | None:
    """`series` in `width` columns along `axis`; `series_of` finds the run's other metrics (for tokens).
    None when the axis is tokens and the run says nothing of them."""
    if axis is XAxis.TIME:
        return series.columns(width, x_min, by_time=True)
    c = series.columns(width, x_min)
    if axis is XAxis.STEP:
        return c
    curve = tokens_by_step(series_of)
    if curve is None:
        return None
    return c._replace(x=np.interp(c.x, *curve))


def tokens_by_step(series_of: SeriesOf) -> tuple[np.ndarray, np.ndarray] | None:
    """(steps, tokens seen by each), steps increasing; None when the run logs no tokens."""
    for name in TOKEN_COUNTS:
        s = series_of(name)
        if s is not None and len(s):
            c = s.columns(TOKEN_RESOLUTION)
            ok = np.isfinite(c.ylast)
            if ok.any():
                return _increasing(c.x[ok], np.maximum.accumulate(c.ylast[ok]))
    rate, dt = (series_of(n) for n in TOKEN_RATE)
    if rate is None or dt is None or not len(rate) or not len(dt):
        return None
    r, d = rate.columns(TOKEN_RESOLUTION), dt.columns(TOKEN_RESOLUTION)
    ok_d = np.isfinite(d.mean)
    ok_r = np.isfinite(r.mean)
    if not ok_d.any() or not ok_r.any():
        return None
    steps = r.x[ok_r]
    per_step = r.mean[ok_r] * np.interp(steps, d.x[ok_d], d.mean[ok_d])
    span = np.diff(steps, prepend=steps[0] - 1.0)  # the steps a logged step stands for
    return _increasing(steps, np.cumsum(np.maximum(per_step, 0.0) * np.maximum(span, 0.0)))


def _increasing(steps: np.ndarray, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The curve with steps strictly increasing (np.interp needs it): a resumed run's log steps back,
    and the steps it logs again are left out."""
    keep = steps >= np.maximum.accumulate(steps) if steps.size else steps.astype(bool)
    s, first = np.unique(steps[keep], return_index=True)
    return (s, tokens[keep][first]) if s.size else None
