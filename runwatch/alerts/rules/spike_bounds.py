"""Which runs of points may be spikes, known before their baselines are sorted: what keeps judging a long
history in proportion to its length whatever its loss looks like.

A spike rule judges each run of points against the median and MAD of the
`window` points before it (runwatch.alerts.rules.robust): a sort of that
baseline per run. A history read at once asks it of every point, and a loss
that comes back down after each jump (a log of repeated epochs, a noisy run)
sends most of them past the pool's cheap bar, so that sorting their baselines
was most of what reading and judging a history cost.

The baselines of neighbouring starts share all but a few points. With the
baseline of start `a` sorted, that of `a + d` lacks at most `d` of its points
and holds at most `d` others, so, with `k` the rank of its lower median:

* its median is at least the (k - d)-th smallest point of start a's: the
  k-th smallest of its points is, and the median is no lower;
* its MAD is at least half the narrowest span of k - d + 1 consecutive sorted
  points of start a's: the k + 1 points nearest its median lie within a MAD
  of it, and at least k - d + 1 of them are start a's.

A run whose lowest point does not clear the bars those bounds set (a relative
rise over the median, z scaled MADs above it) is no spike. Sorting one baseline
in every `STRIDE` sets them for all; only the runs they let through are judged
exactly, and those are the rare ones (a spike, its neighbours).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from runwatch.state.stats import MAD_SCALE

STRIDE = 4
"""One baseline in this many is sorted to bound those of its neighbours."""
ROUNDING = 1e-9
"""A run this close to its bar (relative to the numbers that make it) is let through: judged exactly."""


def may_spike(padded: np.ndarray, window: int, starts: np.ndarray, low: np.ndarray, *, rel: float,
              z: float) -> np.ndarray:
    """Which of `starts` may have `low` (the lowest point of its run) above both bars of a spike: `rel` over
    the median of its baseline `padded[s : s + window]` (NaN points left out) and `z` scaled MADs over that
    median. Every start that clears both is let through; most that do not are left out."""
    rows = sliding_window_view(padded, window)
    anchors = starts - starts % STRIDE  # ascending, as `starts` are
    first = np.flatnonzero(np.diff(anchors, prepend=-1))  # each anchor's first start
    srt = np.sort(rows[anchors[first]], axis=1)  # NaN last
    which = np.repeat(np.arange(len(first)), np.diff(np.append(first, len(starts))))
    seen = np.concatenate(([0], np.cumsum(~np.isnan(padded))))
    count = seen[starts + window] - seen[starts]
    d = starts - anchors
    low_rank, high_rank = (count - 1) // 2 - d, count // 2 + d  # the median lies between these of the anchor's
    lowest = _at(srt, which, low_rank)
    mad = _mad_bounds(srt, first, low_rank, high_rank)[which]
    with np.errstate(invalid="ignore"):
        risen = lowest + rel * np.abs(lowest)
        if rel > 1.0:  # the bar falls as a negative median rises: the bound bounds it only from 0 up
            risen = np.where(lowest >= 0.0, risen, -np.inf)
        spread = z * MAD_SCALE * mad
        bar = np.maximum(risen, lowest + spread)
        slack = ROUNDING * ((1.0 + rel) * np.abs(lowest) + spread)
        may: np.ndarray = ~(low <= bar - slack)  # NaN (no bound) lets the run through
    return may


def may_rise(padded: np.ndarray, window: int, starts: np.ndarray, low: np.ndarray, *, rel: float) -> np.ndarray:
    """Which of `starts` may have `low` above the relative bar of a spike (`rel` over its baseline's median),
    by a coarser bound than `may_spike`'s and a cheaper one: one sort per `window` starts, not one in
    every `STRIDE`.

    The baseline of start s, `padded[s : s + window]`, lies within the two windows of points from
    `window * (s // window)` on; the k-th smallest of a set is no lower than the k-th smallest of a set
    that holds it, so its median is at least the k-th smallest of those two windows' points, k the rank
    of its lower median. A noisy metric (a grad norm that swings by half its median from step to step)
    sends most of a history piece's runs past the pool's bar, and `may_spike` then sorted a baseline for
    every fourth of them; this leaves it the few runs that rise far above their neighbours."""
    block = starts // window  # ascending, as `starts` are
    first = np.flatnonzero(block[1:] != block[:-1]) + 1
    which = np.zeros(len(starts), np.int64)
    which[first] = 1
    np.cumsum(which, out=which)  # each start's block, among those of `starts`
    at = np.concatenate((block[:1], block[first])) * window
    span = 2 * window
    ends = np.concatenate((padded, np.full(span, np.nan)))
    srt = np.sort(ends[at[:, None] + np.arange(span)], axis=1)  # NaN last
    seen = np.concatenate(([0], np.cumsum(~np.isnan(padded))))
    rank = (seen[starts + window] - seen[starts] - 1) // 2  # of the lower median among the baseline's points
    lowest = np.where(rank >= 0, srt.ravel()[which * span + np.maximum(rank, 0)], np.nan)
    with np.errstate(invalid="ignore"):
        risen = lowest + rel * np.abs(lowest)
        if rel > 1.0:  # the bar falls as a negative median rises: bounded only from 0 up
            risen = np.where(lowest >= 0.0, risen, np.minimum(risen, 0.0))
        slack = ROUNDING * (1.0 + rel) * np.abs(lowest)
        may: np.ndarray = ~(low <= risen - slack)  # NaN (no bound) lets the run through
    return may


def _at(srt: np.ndarray, which: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """`srt[which[i], rank[i]]` for each i, NaN where the rank is out of the row."""
    inside = (rank >= 0) & (rank < srt.shape[1])
    return np.where(inside, srt[which, np.clip(rank, 0, srt.shape[1] - 1)], np.nan)


def _mad_bounds(srt: np.ndarray, first: np.ndarray, low_rank: np.ndarray, high_rank: np.ndarray) -> np.ndarray:
    """A bound on the MAD of every start of each anchor (0 where none): the median lies among the anchor's
    sorted points `srt` from the least `low_rank` of its starts to the greatest `high_rank`; no fewer than
    k + 1 - d of the k + 1 points nearest it are the anchor's (k + 1 - d the least `low_rank` + 1 of them
    all, m + 1), and the nearest that many of its points come to that stretch is what no MAD is below:
    the least over runs of m + 1 consecutive points of how far the run reaches out of it."""
    window = srt.shape[1]
    lo = np.minimum.reduceat(low_rank, first)
    hi = np.maximum.reduceat(high_rank, first)
    rows = np.arange(len(srt))
    inside = (lo >= 0) & (hi < window)
    left = np.where(inside, srt[rows, np.clip(lo, 0, window - 1)], np.nan)
    right = np.where(inside, srt[rows, np.clip(hi, 0, window - 1)], np.nan)
    m = int(np.median(lo[inside])) if inside.any() else 0  # one run length for all: an anchor of fewer gets none
    if m <= 0:
        return np.zeros(len(srt))
    with np.errstate(invalid="ignore"):
        reach = np.fmin.reduce(np.maximum(left[:, None] - srt[:, : window - m], srt[:, m:] - right[:, None]), axis=1)
    return np.where(np.isnan(reach) | (lo < m), 0.0, np.maximum(reach, 0.0))  # NaN: too few points, or no stretch

