"""The loss's trend over the last tenth of a run, from curves built here."""

from __future__ import annotations

import numpy as np
import pytest

from runwatch.report.curves import Curve
from runwatch.report.loss import Tail, tail_slope, trend
from runwatch.report.values import TAIL_MIN_POINTS


def line(x: np.ndarray, y: np.ndarray) -> Curve:
    zeros = np.zeros(len(x), np.int64)
    return Curve("loss", x, y, y, y, zeros, x.astype(float), float(y[-1]))


@pytest.mark.parametrize(("slope", "expected"), [(-1e-4, "falling"), (0.0, "flat"), (1e-4, "rising")])
def test_tail_slope_reads_the_last_tenth_of_the_run(slope: float, expected: str) -> None:
    x = np.arange(0, 10_001, 10, dtype=float)
    y = np.where(x < 9000, 5.0 - x * 3e-4, 2.3 + (x - 9000) * slope)  # falls fast, then as `slope` says
    tail = tail_slope(line(x, y))
    assert tail.from_step == pytest.approx(9000.0) and tail.points == 101 and tail.span == 1000.0
    assert tail.per_1k_pct == pytest.approx(slope * 1000 / np.mean(y[x >= 9000]) * 100, rel=1e-6)
    assert trend(tail) == expected


def test_a_last_tenth_of_too_few_points_gives_no_slope() -> None:
    """A 20-step run's last tenth holds two steps: no line through them, and none through points before
    it (the old fallback took the last three, reaching back to 40% of a run logged every 100 steps)."""
    x = np.arange(0, 21, dtype=float)
    tail = tail_slope(line(x, 5.0 - 0.1 * x))
    assert tail.points == 3 < TAIL_MIN_POINTS
    assert tail.change_pct is None and tail.per_1k_pct is None and trend(tail) is None


def test_a_change_inside_its_own_noise_is_no_trend() -> None:
    """Six points scattered ±40% around a level fit some line; it says nothing unless it clears two
    standard errors, while the same slope through quiet points is a trend."""
    x = np.arange(0, 601, 10, dtype=float)
    wobble = np.resize([0.4, -0.4, 0.3, -0.3, 0.45, -0.1], len(x))
    noisy = tail_slope(line(x, 0.2 * (1 + wobble) + x * 1e-4))
    assert noisy.change_pct is not None and noisy.noise_pct is not None
    assert abs(noisy.change_pct) > 1.0 and abs(noisy.change_pct) < noisy.noise_pct and trend(noisy) is None
    assert trend(tail_slope(line(x, 0.2 + x * 1e-4))) == "rising"


def test_a_flat_tail_is_flat_whatever_its_noise() -> None:
    assert trend(Tail(100.0, 10, 50.0, 0.5, 30.0)) == "flat"
