"""The y range charts and report plots share: the run after its warm-up."""

from __future__ import annotations

import numpy as np

from runwatch.yrange import robust_range


def test_warm_up_is_left_off_when_it_would_flatten_the_run() -> None:
    x = np.arange(1000, dtype=float)
    y = np.where(x < 20, 11.0, 2.0 + 0.001 * (1000 - x))  # a loss of 11 at the start, then 3 → 2
    got = robust_range([(x, [y])])
    assert got is not None
    assert got.lo < 2.0 < 3.0 < got.hi < 11.0 and got.above == 11.0 and got.below is None


def test_every_value_when_the_warm_up_does_not_stretch_it_or_none_is_finite() -> None:
    x = np.arange(100, dtype=float)
    y = np.sin(x)
    got = robust_range([(x, [y])])
    assert got is not None and (got.lo, got.hi) == (float(y.min()), float(y.max()))
    assert robust_range([(x, [np.full(100, np.nan)])]) is None
