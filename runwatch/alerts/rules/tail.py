"""Reading the newest points of a run's series, the only part rules may touch.

Rules run about once a second over series that can hold millions of points,
so they read a bounded tail (`Series.recent(n)`) and never the folded
history. The helpers here pick which rank's series speaks for the run and
shape what a finding carries (sparkline history, readable numbers).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from runwatch.alerts.rules.base import HISTORY_POINTS
from runwatch.state.run import RunTracker


class Tail(NamedTuple):
    """The newest points of one (metric, rank) series, oldest first."""

    metric: str
    rank: int | None
    x: np.ndarray
    """Step of each point."""
    v: np.ndarray
    t: np.ndarray
    total: int
    """Points the series ever received (the tail may be shorter)."""


def main_rank(run: RunTracker, metric: str) -> int | None:
    """The rank whose `metric` speaks for the run: no rank (a single process) first, else the lowest."""
    ranks = run.store.ranks(metric)
    return ranks[0] if ranks else None


def tail(run: RunTracker, metric: str, n: int) -> Tail | None:
    """The last `n` points of `metric` on the main rank; None when never logged."""
    return rank_tail(run, metric, main_rank(run, metric), n)


def rank_tail(run: RunTracker, metric: str, rank: int | None, n: int) -> Tail | None:
    """The last `n` points of `metric` on `rank`; None when that rank never logged it."""
    series = run.store.get(metric, rank)
    if series is None or not len(series):
        return None
    x, v, t = series.recent(n)
    return Tail(metric, rank, x, v, t, len(series))


PULSE = ("step_time", "loss", "lr", "tokens_per_sec", "samples_per_sec", "elapsed", "grad_norm", "loss_scale")
"""Metrics that step records carry; the most frequent one times the run's steps."""


def step_pulse(run: RunTracker, n: int) -> Tail | None:
    """The tail of the metric logged most often on the main rank: its points are the step records."""
    counts = {name: len(s) for name in PULSE if (s := run.store.get(name, main_rank(run, name))) is not None}
    return tail(run, max(counts, key=counts.__getitem__), n) if counts else None


def first_tail(run: RunTracker, metrics: tuple[str, ...], n: int) -> Tail | None:
    """The tail of the first of `metrics` the run logs (e.g. tokens/s, else samples/s)."""
    for name in metrics:
        found = tail(run, name, n)
        if found is not None:
            return found
    return None


def history(values: np.ndarray) -> tuple[float, ...]:
    """The newest values for a sparkline (non-finite kept: the sparkline shows them)."""
    return tuple(float(v) for v in values[-HISTORY_POINTS:])


def step_word(run: RunTracker) -> str:
    """What a point's x is, as a summary names it: `step`, or `record` for a run whose lines state no step (a
    loop's `Epoch 1 - Batch loss: 12.1336`), whose points are numbered in the order they came: "last step 775" of
    such a run named a step that is in no line of its log (a review)."""
    return "step" if run.progress.step is not None else "record"


def step_at(x: np.ndarray, i: int = -1) -> int | None:
    return int(x[i]) if len(x) else None


def median_of(finite: np.ndarray) -> float:
    """Median of values already known finite, by partial sort (a few times faster than np.median on
    the short arrays rules look at every tick); NaN when empty."""
    n = len(finite)
    if n == 0:
        return math.nan
    k = n // 2
    if n % 2:
        return float(np.partition(finite, k)[k])
    part = np.partition(finite, (k - 1, k))
    return 0.5 * float(part[k - 1]) + 0.5 * float(part[k])


def fmt(v: float) -> str:
    """A number as a person reads it in a one-line summary: 4 significant digits, NaN, Inf."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Inf" if v > 0 else "-Inf"
    return f"{v:.4g}"


def fmt_duration(s: float) -> str:
    """Seconds as "45s", "12m", "3.5h"."""
    if s < 120:
        return f"{s:.0f}s"
    if s < 7200:
        return f"{s / 60:.0f}m"
    return f"{s / 3600:.1f}h"

