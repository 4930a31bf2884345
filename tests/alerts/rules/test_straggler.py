"""straggler: a rank behind or slower than the others, only where per-rank progress exists."""

from __future__ import annotations

import pytest

from runwatch.alerts.rules.straggler import Straggler
from runwatch.model import Event, Kind, Record
from runwatch.state.run import RunTracker
from tests.support.rule_replay import T0, event, step

RULE = Straggler()


def ranks(steps_of: dict[int, int], *, interval: dict[int, float] | None = None, total: int | None = None,
          extra: list[Record] | None = None) -> tuple[RunTracker, float]:
    """Each rank logs steps 0..steps_of[rank] at its own interval (default 1 s); the tracker and the end."""
    tracker = RunTracker("train", "logs")
    lines = []
    for rank, last in steps_of.items():
        dt = (interval or {}).get(rank, 1.0)
        lines += [(T0 + s * dt, step(s, rank=rank, total=total, loss=2.0)) for s in range(last + 1)]
    lines.sort(key=lambda item: item[0])
    for t, rec in lines:
        tracker.apply(Record(Kind.STEP, rec.step, rec.total_steps, rec.rank, t, rec.metrics), t)
    end = lines[-1][0]
    for rec in extra or []:
        tracker.apply(rec, end)
    return tracker, end


def summaries(tracker: RunTracker, now: float) -> list[tuple[int | str, str]]:
    return [(dict(f.labels)["rank"], f.summary) for f in RULE.evaluate(tracker, now)]


def test_a_rank_far_behind_fires_with_its_rank_label() -> None:
    tracker, now = ranks({0: 500, 1: 500, 2: 350, 3: 499})
    assert summaries(tracker, now) == [(2, "rank 2 is 150 steps behind the other ranks (step 350 vs 500)")]


def test_a_slow_rank_fires() -> None:
    tracker, now = ranks({0: 300, 1: 300, 2: 300, 3: 300}, interval={3: 2.0})
    # rank 3 logged 300 steps at 2 s: it is also 150 steps behind by the time the others finish
    assert [r for r, _ in summaries(tracker, now)] == [3]


def test_pace_alone() -> None:
    tracker, now = ranks({0: 100, 1: 100, 2: 100, 3: 60}, interval={3: 1.7})
    ((rank, summary),) = summaries(tracker, now)
    assert rank == 3 and summary.startswith("rank 3 takes 1.7 s a step, 1.7× the other ranks' 1 s")


@pytest.mark.parametrize(
    ("steps_of", "extra"),
    [
        ({0: 500, 1: 499, 2: 498, 3: 500}, None),  # ranks print in bursts: small lags are normal
        ({0: 500}, None),  # one rank: nothing to compare
        ({0: 500, 1: 300}, [event(Event.FINISHED)]),  # the run ended
        ({0: 500, 1: 300}, [event(Event.OOM, rank=1)]),  # crashed: crash's business
    ],
    ids=["bursts", "single-rank", "finished", "crashed"],
)
def test_quiet(steps_of: dict[int, int], extra: list[Record] | None) -> None:
    tracker, now = ranks(steps_of, extra=extra)
    assert RULE.evaluate(tracker, now) == []


def test_two_ranks_compare_with_each_other() -> None:
    tracker, now = ranks({0: 500, 1: 300})
    assert [r for r, _ in summaries(tracker, now)] == [1]


def test_the_default_for_asks_five_minutes() -> None:
    assert RULE.timing.for_s == 300.0
