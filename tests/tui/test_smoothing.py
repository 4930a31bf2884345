"""The chart's exponential average: per point, whatever the columns hold."""

from __future__ import annotations

import math

import numpy as np
import pytest

from runwatch.state.series import Series
from runwatch.tui.renderables.smoothing import ema


def per_point(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's smoothing, point by point: a debiased exponential average."""
    out, total, held = [], 0.0, 0.0
    for v in values.tolist():
        total = weight * total + (1 - weight) * v
        held = weight * held + (1 - weight)
        out.append(total / held)
    return np.array(out)


@pytest.mark.parametrize("weight", [0.6, 0.9, 0.99])
def test_columns_of_equal_points_smooth_as_the_points_do(weight: float) -> None:
    """A column of n equal points weighs as n points: the curve is the per-point one at each column's end,
    however wide the chart (a folded history bucket holds thousands of points)."""
    rng = np.random.default_rng(3)
    levels = rng.normal(3.0, 1.0, 40)
    counts = rng.integers(1, 200, 40)
    points = np.repeat(levels, counts)
    expected = per_point(points, weight)[np.cumsum(counts) - 1]
    assert ema(levels, counts, weight) == pytest.approx(expected, rel=1e-9)


def test_it_starts_at_the_first_value_and_follows_a_step_with_the_weight() -> None:
    y = ema(np.array([2.0, 2.0, 4.0, 4.0]), None, 0.5)
    assert y.tolist() == pytest.approx([2.0, 2.0, 2.75 / 0.875, 3.375 / 0.9375])


def test_a_column_without_a_finite_value_keeps_the_average_before_it() -> None:
    y = ema(np.array([math.nan, 1.0, math.nan, math.inf, 3.0]), np.array([2, 1, 3, 1, 1]), 0.5)
    assert math.isnan(y[0])
    assert y[1:4].tolist() == [1.0, 1.0, 1.0]
    assert y[4] == pytest.approx((0.5 * 0.5 * 1 + 0.5 * 3) / (0.5 * 0.5 + 0.5))


def test_off_is_the_values_themselves() -> None:
    v = np.array([1.0, 5.0, 2.0])
    assert ema(v, None, 0.0).tolist() == v.tolist()


def test_a_series_columns_smooth_alike_at_any_width() -> None:
    """The same series drawn 40 and 400 columns wide: the averages at the last column agree closely."""
    s = Series(keep=512, budget=64)
    rng = np.random.default_rng(5)
    values = 3.0 * np.exp(-np.arange(20_000) / 5000) + rng.normal(0, 0.2, 20_000)
    s.extend(np.arange(20_000, dtype=float), values, 1.0)
    ends = [ema(c.mean, c.count, 0.99)[-1] for c in (s.columns(40), s.columns(400))]
    exact = per_point(values, 0.99)[-1]
    assert ends[0] == pytest.approx(exact, abs=0.02) and ends[1] == pytest.approx(exact, abs=0.02)
