"""Per-rank progress: lag behind the leader and median step interval per rank."""

from __future__ import annotations

import numpy as np
import pytest

from runwatch.model import RankProgress
from runwatch.state.progress import StepIntervals
from runwatch.state.ranks import RankTracker

T0 = 1_700_000_000.0


@pytest.mark.parametrize(
    ("updates", "lags"),
    [
        ([], {0: None}),
        ([(0, 10), (1, 10)], {0: 0, 1: 0, 2: None}),
        ([(0, 10), (1, 8), (2, 10), (3, 2)], {0: 0, 1: 2, 2: 0, 3: 8}),
        ([(1, 5), (0, 7), (1, 4)], {0: 0, 1: 2}),  # an older step never moves a rank back
    ],
)
def test_lag_is_leader_step_minus_rank_step(updates: list[tuple[int, int]], lags: dict[int, int | None]) -> None:
    ranks = RankTracker()
    for i, (rank, step) in enumerate(updates):
        ranks.update(rank, step, T0 + i)
    assert {r: ranks.lag(r) for r in lags} == lags


def test_snapshot_has_step_time_and_median_interval_per_rank() -> None:
    ranks = RankTracker()
    for step in range(50):
        ranks.update(0, step, T0 + step * 1.0)
        if step % 2 == 0:
            ranks.update(1, step, T0 + step * 1.5)  # slower, logs every other step
    snap = ranks.snapshot()
    assert list(snap) == [0, 1]
    assert snap[0] == RankProgress(0, 49, T0 + 49.0, 1.0)
    assert snap[1].step == 48 and snap[1].t == T0 + 72.0
    assert snap[1].step_interval_s == pytest.approx(1.5)
    assert ranks.leader_step == 49 and len(ranks) == 2


def test_repeated_step_keeps_the_first_time() -> None:
    ranks = RankTracker()
    ranks.update(0, 5, T0)
    ranks.update(0, 5, T0 + 3)
    assert ranks.snapshot()[0].t == T0
    assert ranks.snapshot()[0].step_interval_s is None


def rank_state(ranks: RankTracker) -> str:
    """Everything a rank tracker keeps: each rank's step, time and intervals (what it shows and holds)."""
    out = []
    for rank, r in sorted(ranks._ranks.items()):
        iv = {k: getattr(r.intervals, k) for k in r.intervals.__slots__}
        iv["_per_step"] = list(iv["_per_step"])
        out.append((rank, r.step, r.t, iv))
    return repr((out, ranks.leader_step, ranks.snapshot()))


@pytest.mark.parametrize("seed", range(8))
def test_update_rows_leaves_what_update_of_each_leaves(seed: int) -> None:
    """A rank's step records read in bulk, each at the time its line states: lines of one time (a stamp of
    one-second resolution), times going back (excerpts of a log repeated), some closer than a millisecond to
    the newest before them, steps repeated or going back."""
    rng = np.random.default_rng(seed)
    bulk, one_by_one = RankTracker(window=8), RankTracker(window=8)
    step, t = int(rng.integers(0, 5)), T0
    for _ in range(60):
        n = int(rng.integers(1, 80))
        rank = int(rng.integers(0, 3))
        steps = step + np.cumsum(rng.choice([-4, 0, 1, 1, 1, 3], n))
        gaps = rng.choice([0.0, 0.0, 1.0, 2.5, -30.0, 1e-4, 0.001], n, p=[0.3, 0.1, 0.3, 0.1, 0.1, 0.05, 0.05])
        times = t + np.cumsum(gaps)
        step, t = int(steps.max()), float(times.max())
        bulk.update_rows(rank, steps, times)
        for s, at in zip(steps.tolist(), times.tolist(), strict=True):
            one_by_one.update(rank, s, at)
        assert rank_state(bulk) == rank_state(one_by_one)


def test_update_rows_of_stamped_lines_takes_them_in_one_go(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stamped lines two to a second (a stamp of one-second resolution) go in without a record at a time
    (tail's history of torchtitan's stamped lines of every rank went in one `update` per line)."""
    added = []
    one = StepIntervals.add
    monkeypatch.setattr(StepIntervals, "add", lambda self, step, t: (added.append(step), one(self, step, t))[1])
    ranks = RankTracker()
    steps = np.arange(1000)
    ranks.update_rows(3, steps, T0 + steps // 2 * 1.0)
    assert ranks.snapshot()[3] == RankProgress(3, 999, T0 + 499.0, 0.5)
    assert added == [0]  # the first row starts the count
