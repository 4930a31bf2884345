"""Robust statistics for the rules, in plain numpy.

Training metrics carry NaN/Inf (that is what some rules look for) and spikes
(what others look for), so every helper ignores non-finite values unless told
otherwise, and the centre/scale estimates are medians, which a spike cannot drag.
Empty inputs give NaN rather than an exception: "not enough data" is a value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

MAD_SCALE = 1.482602218505602
"""1 / Φ⁻¹(3/4): makes the MAD estimate σ for normally distributed data."""
MEAN_AD_SCALE = math.sqrt(math.pi / 2)
"""Makes the mean absolute deviation estimate σ for normal data (robust_z's fallback)."""
_BLOCK = 1 << 20
"""Elements per block when sorting sliding windows, to bound temporary memory."""

ArrayLike = Sequence[float] | np.ndarray


def _finite(values: ArrayLike, ignore_nonfinite: bool) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64).ravel()
    return a[np.isfinite(a)] if ignore_nonfinite else a


def median(values: ArrayLike, *, ignore_nonfinite: bool = True) -> float:
    """Median of the finite values (NaN if none); with `ignore_nonfinite=False` a NaN propagates."""
    a = _finite(values, ignore_nonfinite)
    return float(np.median(a)) if a.size else math.nan


def mad(values: ArrayLike, *, scaled: bool = True, ignore_nonfinite: bool = True) -> float:
    """Median absolute deviation from the median.

    Scaled by default (× MAD_SCALE), so it is comparable to a standard deviation
    and thresholds read as "sigmas"; `scaled=False` gives the raw MAD.
    """
    a = _finite(values, ignore_nonfinite)
    if not a.size:
        return math.nan
    raw = float(np.median(np.abs(a - np.median(a))))
    return raw * MAD_SCALE if scaled else raw


def percentile(
    values: ArrayLike, q: float | ArrayLike, *, ignore_nonfinite: bool = True
) -> float | np.ndarray:
    """Percentile(s) `q` (0–100, linear interpolation) of the finite values; NaN if none."""
    a = _finite(values, ignore_nonfinite)
    if not a.size:
        return math.nan if np.ndim(q) == 0 else np.full(np.shape(q), np.nan)
    out = np.percentile(a, q)
    return float(out) if np.ndim(out) == 0 else out


def ema(values: ArrayLike, alpha: float, *, ignore_nonfinite: bool = True) -> np.ndarray:
    """Exponential moving average y[i] = (1-alpha)·y[i-1] + alpha·x[i], y[0] = x[0], vectorised.

    Non-finite inputs are skipped: their position carries the previous average
    (NaN before the first finite value). With `ignore_nonfinite=False` a NaN
    poisons everything after it, as the plain recursion would.
    """
    _check_alpha(alpha)
    a = np.asarray(values, dtype=np.float64).ravel()
    if not ignore_nonfinite or not a.size:
        return _ema_dense(a, alpha)
    mask = np.isfinite(a)
    if mask.all():
        return _ema_dense(a, alpha)
    smoothed = _ema_dense(a[mask], alpha)
    last = np.cumsum(mask) - 1
    out = np.full(a.shape, np.nan)
    seen = last >= 0
    out[seen] = smoothed[last[seen]]
    return out


def ema_last(values: ArrayLike, alpha: float, *, ignore_nonfinite: bool = True) -> float:
    """The last value of `ema`, as one weighted sum (O(n), no intermediate array of averages)."""
    _check_alpha(alpha)
    a = _finite(values, ignore_nonfinite)
    if not a.size:
        return math.nan
    beta = 1.0 - alpha
    weights = alpha * np.power(beta, np.arange(a.size - 1, -1, -1, dtype=np.float64))
    weights[0] = beta ** (a.size - 1)
    return float(weights @ a)


def rolling_median(values: ArrayLike, window: int, *, min_count: int = 1) -> np.ndarray:
    """Median of the finite values among the `window` values ending at each index.

    NaN where fewer than `min_count` of them are finite. Cost O(n·w·log w): sorted
    sliding windows, processed in blocks so memory stays bounded.
    """
    _check_window(window)
    a = _nan_for_nonfinite(values)
    padded = np.concatenate((np.full(window - 1, np.nan), a))
    out = np.empty(a.size)
    for rows, blk, cnt in _sorted_windows(padded, window, a.size):
        med = _row_median(blk, cnt)
        med[cnt < min_count] = np.nan
        out[rows] = med
    return out


def robust_z(values: ArrayLike, window: int, *, min_count: int = 3) -> np.ndarray:
    """Robust z-score of each value against the `window` values before it.

    z[i] = (x[i] − median(B)) / (MAD_SCALE·MAD(B)), where B is the finite values
    among x[i-window:i] (the value itself is left out so a spike cannot soften its
    own score). When the MAD is 0 (a flat or quantised metric) the scaled mean
    absolute deviation stands in; when that is 0 too, a value equal to the median
    scores 0 and any other ±inf. NaN where B has fewer than `min_count` values or
    x[i] is NaN. Cost O(n·w·log w).
    """
    _check_window(window)
    raw = np.asarray(values, dtype=np.float64).ravel()
    a = _nan_for_nonfinite(raw)
    padded = np.concatenate((np.full(window, np.nan), a[:-1])) if a.size else a
    out = np.empty(a.size)
    for rows, blk, cnt in _sorted_windows(padded, window, a.size):
        centre = _row_median(blk, cnt)
        dev = np.sort(np.abs(blk - centre[:, None]), axis=1)
        scale = _row_median(dev, cnt) * MAD_SCALE
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_ad = np.nansum(dev, axis=1) / cnt * MEAN_AD_SCALE
            scale = np.where(scale > 0, scale, mean_ad)
            diff = raw[rows] - centre
            z = np.where(diff == 0, 0.0, diff / scale)
        z[cnt < min_count] = np.nan
        out[rows] = z
    return out


def _sorted_windows(
    padded: np.ndarray, window: int, n: int
) -> list[tuple[slice, np.ndarray, np.ndarray]]:
    """Row-sorted sliding windows (NaN sorted last) with their finite counts, in blocks."""
    view = sliding_window_view(padded, window) if padded.size >= window else np.empty((0, window))
    step = max(1, _BLOCK // window)
    blocks = []
    for s in range(0, n, step):
        rows = slice(s, min(n, s + step))
        blk = np.sort(view[rows], axis=1)
        blocks.append((rows, blk, window - np.count_nonzero(np.isnan(blk), axis=1)))
    return blocks


def _row_median(blk: np.ndarray, cnt: np.ndarray) -> np.ndarray:
    """Median of the first cnt[i] entries of each sorted row (NaN where cnt is 0)."""
    rows = np.arange(len(cnt))
    lo = blk[rows, np.maximum(cnt - 1, 0) // 2]
    hi = blk[rows, np.minimum(cnt // 2, blk.shape[1] - 1)]
    med: np.ndarray = 0.5 * lo + 0.5 * hi
    return med


def _ema_dense(a: np.ndarray, alpha: float) -> np.ndarray:
    """EMA of every element (NaN propagates): a cumulative sum per block.

    Within a block y[j] = β^(j+1)·(c + α·Σ_{k≤j} β^-(k+1)·x[k]) with c the carry;
    blocks are short enough that β^-len stays below 1e100, which keeps the
    rounding error of order eps·max|x|.
    """
    out = np.empty(a.size)
    if not a.size:
        return out
    beta = 1.0 - alpha
    out[0] = carry = a[0]
    if beta == 0.0:
        out[:] = a
        return out
    block = max(1, int(100 / -math.log10(beta)))
    for s in range(1, a.size, block):
        x = a[s : s + block]
        k = np.arange(1, x.size + 1, dtype=np.float64)
        y = np.power(beta, k) * (carry + np.cumsum(alpha * x * np.power(beta, -k)))
        out[s : s + x.size] = y
        carry = y[-1]
    return out


def _nan_for_nonfinite(values: ArrayLike) -> np.ndarray:
    a = np.array(values, dtype=np.float64).ravel()
    a[~np.isfinite(a)] = np.nan
    return a


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")


def _check_window(window: int) -> None:
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
