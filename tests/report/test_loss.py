"""The loss's trend over the last tenth of a run, from curves built here."""

from __future__ import annotations

import numpy as np
import pytest

from runwatch.report.curves import Curve
from runwatch.report.loss import tail_slope


def line(x: np.ndarray, y: np.ndarray) -> Curve:
    zeros = np.zeros(len(x), np.int64)
    return Curve("loss", x, y, y, y, zeros, x.astype(float), float(y[-1]))


@pytest.mark.parametrize(("slope", "trend"), [(-1e-4, "falling"), (0.0, "flat"), (1e-4, "rising")])
def test_tail_slope_reads_the_last_tenth_of_the_run(slope: float, trend: str) -> None:
    x = np.arange(0, 10_001, 10, dtype=float)
    y = np.where(x < 9000, 5.0 - x * 3e-4, 2.3 + (x - 9000) * slope)  # falls fast, then as `slope` says
    change, per_1k, start = tail_slope(line(x, y))
    assert start == pytest.approx(9000.0)
    assert per_1k == pytest.approx(slope * 1000 / np.mean(y[x >= 9000]) * 100, rel=1e-6)
    assert change is not None
    got = "falling" if change < -1.0 else "rising" if change > 1.0 else "flat"
    assert got == trend
