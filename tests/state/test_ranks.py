"""Per-rank progress: lag behind the leader and median step interval per rank."""

from __future__ import annotations

import pytest

from runwatch.model import RankProgress
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
