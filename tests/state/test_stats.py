"""Robust statistics against naive, loop-by-loop definitions on random data with NaN/Inf."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.state import stats

floats = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6), st.sampled_from([math.nan, math.inf, -math.inf])
)


def dirty(n: int, seed: int, bad: float = 0.1) -> np.ndarray:
    """Normal data with a fraction of NaN, +inf and -inf sprinkled in."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n).cumsum()
    for value in (math.nan, math.inf, -math.inf):
        a[rng.random(n) < bad / 3] = value
    return a


def finite(values) -> list[float]:  # type: ignore[no-untyped-def]
    return [float(v) for v in values if math.isfinite(v)]


def naive_median(values) -> float:  # type: ignore[no-untyped-def]
    f = finite(values)
    return statistics.median(f) if f else math.nan


def naive_ema(values, alpha: float) -> list[float]:  # type: ignore[no-untyped-def]
    out, y = [], math.nan
    for v in values:
        if math.isfinite(v):
            y = v if math.isnan(y) else (1 - alpha) * y + alpha * v
        out.append(y)
    return out


@given(st.lists(floats, max_size=60))
@settings(max_examples=200, deadline=None)
def test_median_and_mad_match_naive(values: list[float]) -> None:
    med = naive_median(values)
    got = stats.median(values)
    assert (math.isnan(med) and math.isnan(got)) or got == pytest.approx(med)
    f = finite(values)
    raw = statistics.median([abs(v - med) for v in f]) if f else math.nan
    assert stats.mad(values, scaled=False) == pytest.approx(raw, nan_ok=True)
    assert stats.mad(values) == pytest.approx(raw * stats.MAD_SCALE, nan_ok=True)


@pytest.mark.parametrize(
    ("values", "ignore", "want"),
    [
        ([], True, math.nan),
        ([math.nan, math.inf], True, math.nan),
        ([1.0, math.nan, 3.0], True, 2.0),
        ([1.0, math.nan, 3.0], False, math.nan),
    ],
)
def test_median_edge_cases(values: list[float], ignore: bool, want: float) -> None:
    assert stats.median(values, ignore_nonfinite=ignore) == pytest.approx(want, nan_ok=True)


def test_mad_scale_estimates_sigma() -> None:
    a = np.random.default_rng(0).normal(0, 2.5, 200_000)
    assert stats.mad(a) == pytest.approx(2.5, rel=0.02)


@pytest.mark.parametrize("q", [0, 5, 50, 95, 100])
def test_percentile_matches_numpy_on_finite_values(q: float) -> None:
    a = dirty(1000, 1)
    assert stats.percentile(a, q) == pytest.approx(np.percentile(finite(a), q))


def test_percentile_of_nothing_is_nan() -> None:
    assert math.isnan(stats.percentile([math.nan], 50))  # type: ignore[arg-type]
    assert np.isnan(stats.percentile([], [10, 90])).all()


@pytest.mark.parametrize(("n", "alpha", "seed"), [(1, 0.5, 0), (50, 0.1, 1), (5_000, 0.01, 2), (3_000, 0.9, 3),
                                                  (20_000, 0.001, 4), (100, 1.0, 5)])
def test_ema_matches_the_recursion(n: int, alpha: float, seed: int) -> None:
    a = dirty(n, seed)
    want = naive_ema(a.tolist(), alpha)
    scale = max((abs(v) for v in finite(a)), default=1.0)
    np.testing.assert_allclose(stats.ema(a, alpha), want, rtol=1e-9, atol=1e-9 * scale)
    last = next((v for v in reversed(want) if not math.isnan(v)), math.nan)
    assert stats.ema_last(a, alpha) == pytest.approx(last, rel=1e-9, abs=1e-9, nan_ok=True)


def test_ema_propagates_nan_when_told() -> None:
    out = stats.ema([1.0, math.nan, 2.0], 0.5, ignore_nonfinite=False)
    assert out[0] == 1.0 and np.isnan(out[1:]).all()


def test_ema_rejects_bad_alpha() -> None:
    with pytest.raises(ValueError):
        stats.ema([1.0], 0.0)


def naive_rolling_median(a: np.ndarray, window: int, min_count: int) -> list[float]:
    out = []
    for i in range(len(a)):
        f = finite(a[max(0, i - window + 1) : i + 1])
        out.append(statistics.median(f) if len(f) >= min_count else math.nan)
    return out


@pytest.mark.parametrize(("n", "window", "min_count", "seed"),
                         [(0, 5, 1, 0), (1, 5, 1, 0), (200, 1, 1, 1), (500, 7, 1, 2), (500, 50, 10, 3),
                          (3_000, 64, 1, 4), (40, 100, 1, 5)])
def test_rolling_median_matches_naive(n: int, window: int, min_count: int, seed: int) -> None:
    a = dirty(n, seed, bad=0.3)
    got = stats.rolling_median(a, window, min_count=min_count)
    np.testing.assert_allclose(got, naive_rolling_median(a, window, min_count))


def naive_robust_z(a: np.ndarray, window: int, min_count: int) -> list[float]:
    out = []
    for i in range(len(a)):
        base = finite(a[max(0, i - window) : i])
        if len(base) < min_count or math.isnan(a[i]):
            out.append(math.nan)
            continue
        med = statistics.median(base)
        dev = [abs(b - med) for b in base]
        scale = statistics.median(dev) * stats.MAD_SCALE or sum(dev) / len(dev) * stats.MEAN_AD_SCALE
        diff = a[i] - med
        out.append(0.0 if diff == 0 else (diff / scale if scale else math.copysign(math.inf, diff)))
    return out


@pytest.mark.parametrize(("n", "window", "seed"), [(0, 5, 0), (300, 5, 1), (1_000, 30, 2), (2_000, 100, 3)])
def test_robust_z_matches_naive(n: int, window: int, seed: int) -> None:
    a = dirty(n, seed)
    np.testing.assert_allclose(stats.robust_z(a, window), naive_robust_z(a, window, 3), rtol=1e-9)


def test_robust_z_flags_a_spike_but_not_its_neighbours() -> None:
    a = np.random.default_rng(0).normal(2.0, 0.01, 500)
    a[400] = 3.0
    z = stats.robust_z(a, 100)
    assert z[400] > 50
    assert np.nanmax(np.abs(np.delete(z, 400))) < 6


@pytest.mark.parametrize(
    ("values", "want_last"),
    [
        ([1.0] * 10 + [1.0], 0.0),  # flat: no deviation at all
        ([1.0] * 10 + [2.0], math.inf),  # flat then a step: MAD and mean AD are 0
        ([1.0] * 9 + [3.0] + [2.0], 1 / (0.2 * stats.MEAN_AD_SCALE)),  # MAD 0, mean AD stands in
    ],
)
def test_robust_z_with_zero_mad(values: list[float], want_last: float) -> None:
    assert stats.robust_z(values, 10)[-1] == pytest.approx(want_last)
