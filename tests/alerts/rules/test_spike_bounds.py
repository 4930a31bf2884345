"""Spikes in a long history, judged fast and exactly: `may_rise` and `may_spike` never leave out a run that
clears both bars of its baseline, and `find_spike` finds what judging every run on its own sorted baseline finds.

The series are real: the loss and grad norm of the run lab's recordings and a corpus log, each repeated
as a long history repeats its epochs (the loss jumps back at every repeat: each jump a spike candidate),
some with NaN points and a warm-up; judged as a history piece is (every record since the last look).
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest

from runwatch.alerts.rules.robust import (
    MIN_BASELINE,
    SHORT_BASELINE,
    SHORT_Z,
    TREND_RECENT,
    TREND_RISE,
    USUAL_HIGH,
    Spike,
    find_spike,
)
from runwatch.alerts.rules.spike_bounds import may_rise, may_spike
from runwatch.alerts.rules.tail import Tail
from runwatch.model import Kind
from runwatch.parsers.source import SourceParser
from runwatch.state.stats import MAD_SCALE
from tests.support.corpus import CORPUS
from tests.support.realruns import REALRUNS

LOGS = {
    "nanogpt-tb-healthy": (REALRUNS / "nanogpt-tb-healthy" / "run" / "train.log", None),
    "accelerate-healthy": (REALRUNS / "accelerate-healthy" / "run" / "train.log", None),
    "nanogpt-tb-spike": (REALRUNS / "nanogpt-tb-spike" / "run" / "train.log", None),
    "tutorial-spike": (REALRUNS / "tutorial-spike" / "run" / "train.log", None),
    "kvlog-nan": (REALRUNS / "kvlog-nan" / "run" / "train.log", None),
    "llmc": (CORPUS / "nanogpt_llmc.md", "llmc"),  # excerpts of several llm.c runs, between their notes
}


@cache
def logged(log: str, metric: str) -> np.ndarray:
    """Every value of `metric` the log's step records hold, in order."""
    path, fmt = LOGS[log]
    parser = SourceParser("log", fmt=fmt)
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    recs = parser.feed(lines, 1, 0.0) + parser.flush()
    return np.array([r.metrics[metric] for r in recs if r.kind == Kind.STEP and metric in r.metrics])


def history(log: str, metric: str, points: int, holes: float, seed: int) -> np.ndarray:
    values = logged(log, metric)
    assert len(values) >= 20
    out = np.tile(values, points // len(values) + 1)[:points].copy()
    out[np.random.default_rng(seed).random(points) < holes] = np.nan
    return out


CASES = [(log, metric) for log, metric in [("nanogpt-tb-spike", "loss"), ("tutorial-spike", "loss"),
                                            ("kvlog-nan", "loss"), ("llmc", "loss"), ("llmc", "grad_norm")]]


@pytest.mark.parametrize(("log", "metric"), CASES)
@pytest.mark.parametrize(("rel", "z", "window"), [(0.25, 6.0, 100), (4.0, 6.0, 100), (0.25, 3.0, 30), (0.0, 0.0, 50)])
@pytest.mark.parametrize("holes", [0.0, 0.03])
def test_no_run_that_clears_both_bars_is_left_out(log: str, metric: str, rel: float, z: float, window: int,
                                                  holes: float) -> None:
    v = history(log, metric, 3000, holes, seed=window)
    padded = np.concatenate((np.full(window, np.nan), v))
    starts = np.arange(MIN_BASELINE, len(v) - 3)
    factor = np.random.default_rng(1).choice([1.0, 1.3, 2.0, 6.0], len(starts))  # lowest points of runs, some raised
    low = np.where(np.isnan(v[starts]), -np.inf, v[starts]) * factor
    kept = may_spike(padded, window, starts, low, rel=rel, z=z)
    clears = np.array([_clears(padded[s : s + window], float(lo), rel, z) for s, lo in zip(starts, low, strict=True)])
    assert clears.any()
    assert not (clears & ~kept).any()


@pytest.mark.parametrize(("log", "metric"), CASES)
@pytest.mark.parametrize(("rel", "window"), [(0.25, 100), (4.0, 100), (0.25, 30), (0.0, 50), (1.5, 100)])
@pytest.mark.parametrize(("holes", "shift"), [(0.0, 0.0), (0.03, 0.0), (0.0, -1.0), (0.03, -1.0)])
def test_no_run_that_clears_the_relative_bar_is_left_out(log: str, metric: str, rel: float, window: int,
                                                         holes: float, shift: float) -> None:
    """`may_rise` keeps every run whose lowest point clears `rel` over its baseline's median, on real series
    (and the same moved down by their own maximum: medians below zero and around it)."""
    v = history(log, metric, 3000, holes, seed=window)
    v = v + shift * float(np.nanmax(v))
    padded = np.concatenate((np.full(window, np.nan), v))
    starts = np.arange(MIN_BASELINE, len(v) - 3)
    factor = np.random.default_rng(1).choice([1.0, 1.3, 2.0, 6.0, -1.0, -6.0], len(starts))  # some raised
    low = np.where(np.isnan(v[starts]), -np.inf, v[starts]) * factor
    kept = may_rise(padded, window, starts, low, rel=rel)
    clears = np.array([_clears(padded[s : s + window], float(lo), rel, 0.0) for s, lo in zip(starts, low, strict=True)])
    assert clears.any() and not kept.all()
    assert not (clears & ~kept).any()


def test_most_runs_of_a_noisy_loss_are_left_out_by_the_coarse_bound() -> None:
    """What `may_rise` is for: the accelerate-healthy run's loss (from 2.5 down to 0.44, swinging by a
    third from step to step), repeated, sends nearly every run of a history piece past the pool's bar; the
    two windows' bound leaves a fifth of them for `may_spike`."""
    v = history("accelerate-healthy", "loss", 3000, 0.0, seed=0)
    padded = np.concatenate((np.full(100, np.nan), v))
    starts = np.arange(MIN_BASELINE, len(v) - 3)
    low = np.lib.stride_tricks.sliding_window_view(v, 3).min(axis=1)[starts]
    pool = 1.25 * float(v.min())
    kept = may_rise(padded, 100, starts, low, rel=0.25)
    assert np.count_nonzero(low > pool) > 0.9 * len(starts)
    assert np.count_nonzero(kept) < 0.2 * len(starts)


@pytest.mark.parametrize("log", ["nanogpt-tb-healthy", "tutorial-spike"])
def test_few_runs_of_a_repeated_history_are_left_to_sort(log: str) -> None:
    """What the bounds are for: a loss that jumps back at every repeat of a healthy run (past the relative bar
    for the first steps after each jump, under the z bar of its own spread), or a noisy one, leaves few runs
    to be judged on their sorted baselines."""
    v = history(log, "loss", 3000, 0.0, seed=0)
    padded = np.concatenate((np.full(100, np.nan), v))
    starts = np.arange(MIN_BASELINE, len(v) - 3)
    low = np.lib.stride_tricks.sliding_window_view(np.where(np.isfinite(v), v, -np.inf), 3).min(axis=1)[starts]
    kept = may_spike(padded, 100, starts, low, rel=0.25, z=6.0)
    assert np.count_nonzero(kept) < 0.05 * len(starts)


def _clears(baseline: np.ndarray, low: float, rel: float, z: float) -> bool:
    """Whether `low` clears both bars of its baseline, on the baseline's own median and MAD."""
    finite = baseline[~np.isnan(baseline)]
    if not len(finite):
        return False
    centre = float(np.median(finite))
    mad = float(np.median(np.abs(finite - centre)))
    return low > centre + max(z * MAD_SCALE * mad, rel * abs(centre))


@pytest.mark.parametrize(("log", "metric"), CASES)
@pytest.mark.parametrize(("rel", "z"), [(0.25, 6.0), (4.0, 6.0), (0.25, 2.0)])
@pytest.mark.parametrize("holes", [0.0, 0.02])
@pytest.mark.parametrize("lookback", [6, 300, 2048])
def test_the_spike_found_is_the_one_every_run_judged_on_its_own_baseline_gives(
        log: str, metric: str, rel: float, z: float, holes: float, lookback: int) -> None:
    v = history(log, metric, 4000, holes, seed=lookback)
    for end in range(600, len(v) + 1, 700):  # the tail a widened rule reads, at points along the history
        tail = v[max(0, end - lookback - 110) : end]
        found = Tail(metric, None, np.arange(len(tail), dtype=float), tail, np.zeros(len(tail)), end)
        kw = {"warmup": 10, "window": 100, "persist": 3, "lookback": lookback, "z": z, "rel": rel}
        assert repr(find_spike(found, **kw)) == repr(_every_run(found, **kw))


def _every_run(found: Tail, *, warmup: int, window: int, persist: int, lookback: int, z: float,
               rel: float) -> Spike | None:
    """`find_spike` the plain way: every candidate run judged on its own sorted baseline, both ways (its
    baseline's median and MAD; its recent level and the MAD of its baseline's steps), the newer spike kept."""
    v = found.v
    n = len(v)
    w0 = max(0, warmup - (found.total - n))
    clean = np.where(np.isfinite(v), v, np.nan)
    clean[:w0] = np.nan
    first, last = max(w0 + MIN_BASELINE, n - lookback - persist + 1), n - persist
    ok: dict[int, tuple[float, float]] = {}
    trend: dict[int, tuple[float, float]] = {}
    for s in range(first, last + 1):
        run = v[s : s + persist]
        window_points = clean[max(0, s - window) : s]
        base = window_points[~np.isnan(window_points)]
        if not np.isfinite(run).all() or len(base) < MIN_BASELINE:
            continue
        bar = z * SHORT_Z if len(base) < SHORT_BASELINE else z
        centre = float(np.median(base))
        spread = max(MAD_SCALE * float(np.median(np.abs(base - centre))), 1e-3 * abs(centre), 1e-12)
        threshold = centre + max(bar * spread, rel * abs(centre))
        if run.min() > threshold and run.min() > centre + rel * abs(centre):
            ok[s] = (threshold, centre)
        recent = clean[max(0, s - TREND_RECENT) : s]
        recent = recent[~np.isnan(recent)]
        steps = np.diff(window_points)
        steps = steps[~np.isnan(steps)]
        if 2 * len(recent) < TREND_RECENT:
            continue
        level = float(np.median(recent))
        rise = max(TREND_RISE, rel)
        spread = math.inf
        if len(steps):
            drift = float(np.median(steps))
            spread = max(MAD_SCALE * float(np.median(np.abs(steps - drift))) / math.sqrt(2.0), 1e-3 * abs(level),
                         1e-12)
        threshold = level + max(bar * spread, rise * abs(level))
        if run.min() > threshold:
            trend[s] = (threshold, level)
    newest = [_oldest_of_newest(runs) for runs in (ok, trend) if runs]
    if not newest:
        return None
    s, (limit, centre) = max(newest, key=lambda hit: hit[0])  # the first (by its baseline) on a tie
    above = np.isfinite(v) & (v > limit)
    start, end = s, s + persist - 1
    while start > w0 and above[start - 1]:
        start -= 1
    before = clean[max(0, start - window) : start]
    before = np.sort(before[~np.isnan(before)])
    if len(before) >= MIN_BASELINE:  # the quantile read off the sorted baseline, as numpy's default (linear) does
        at = USUAL_HIGH * (len(before) - 1)
        lo = int(at)
        usual = before[lo] + (at - lo) * (before[min(lo + 1, len(before) - 1)] - before[lo])
        if v[s : s + persist].min() <= usual:
            return None
    while end + 1 < n and above[end + 1]:
        end += 1
    return Spike(start, end, start + int(np.argmax(v[start : end + 1])), limit, centre)


def _oldest_of_newest(runs: dict[int, tuple[float, float]]) -> tuple[int, tuple[float, float]]:
    """The oldest start of the newest unbroken stretch of starts, and its threshold and centre."""
    s = max(runs)
    while s - 1 in runs:
        s -= 1
    return s, runs[s]


@pytest.mark.parametrize("calm", [150, 250, 262, 300, 600])
def test_a_spike_followed_by_calm_records_is_reported_from_its_first_run(calm: int) -> None:
    """The runs are judged from the newest, a block at a time, and a spike whose runs straddle two blocks is
    still reported from its oldest run: the tutorial-spike run's loss up to its last twenty records, then
    `calm` more of those twenty, back and forth (no jump), ending anywhere; at a z bar of 2 the spike is a
    run of several runs."""
    v = logged("tutorial-spike", "loss")
    calm_part = np.concatenate([v[40:60] if k % 2 == 0 else v[59:39:-1] for k in range(calm // 20 + 1)])
    v = np.concatenate((v[:40], calm_part[:calm]))
    for cut in range(0, 40):
        tail = v[: len(v) - cut]
        found = Tail("loss", None, np.arange(len(tail), dtype=float), tail, np.zeros(len(tail)), len(tail))
        kw = {"warmup": 10, "window": 100, "persist": 3, "lookback": len(tail), "z": 2.0, "rel": 0.25}
        spike = find_spike(found, **kw)
        assert repr(spike) == repr(_every_run(found, **kw))
        assert spike is not None and spike.peak == 25 and spike.end > spike.start + 2


def test_the_spike_of_a_recorded_run_is_found() -> None:
    """The loss spike the run lab's tutorial-spike run made (0.74 to 5.14), with the threshold it cleared."""
    v = logged("tutorial-spike", "loss")
    found = Tail("loss", None, np.arange(len(v), dtype=float), v, np.zeros(len(v)), len(v))
    spike = find_spike(found, warmup=10, window=100, persist=3, lookback=len(v), z=6.0, rel=0.25)
    assert spike is not None and v[spike.peak] == v.max() and math.isfinite(spike.threshold)
    assert spike.start == int(np.argmax(v > 5)) and spike.threshold < v[spike.start : spike.end + 1].min()
