"""Judging's schedule on a fake clock: which rules are evaluated when, and what counts as judged."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pytest

from runwatch.ingest import Ingest, RunIngest
from runwatch.judging import BUSY_TICK_S, RECORD_TICK_S, TICK_S, Judging
from runwatch.model import Kind, Record
from runwatch.state.run import RunTracker
from runwatch.watcher.types import FilePosition


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Ticks:
    """An Alerting that records each evaluation: (time, urgent only, records it was told of)."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, bool, int]] = []

    def tick(self, ready: list[Any], now: float, *, points: dict[str, int], urgent_only: bool = False,
             reading: Collection[str] = (), ended: Collection[str] = ()) -> list[Any]:
        self.calls.append((now, urgent_only, sum(points.values())))
        return []


class Stacks:
    def ask(self, *args: object) -> None:
        pass


class Feed:
    def publish(self, *items: object) -> None:
        pass


@pytest.fixture
def setup() -> tuple[Judging, Ingest, Ticks, Clock, RunIngest]:
    clock = Clock()
    ingest = Ingest(log_format=None, stall_floor_s=30.0, total_steps=None, system=None)
    run = RunIngest("r", "train.log", RunTracker("r", "train.log"))
    run.parsers["train.log"] = None  # type: ignore[assignment]  # only its name is read here
    ingest.runs.append(run)
    ingest.run_of_source["train.log"] = run
    judging = Judging(ingest, Feed(), None, Stacks(), clock, {})  # type: ignore[arg-type]
    ticks = Ticks()
    judging.alerting = ticks  # type: ignore[assignment]
    return judging, ingest, ticks, clock, run


def arrive(judging: Judging, run: RunIngest, clock: Clock, step: int) -> None:
    run.tracker.apply(Record(Kind.STEP, step, metrics={"loss": 1.0}, source="train.log"), clock.now)
    run.unjudged += 1
    judging.arrived()


def test_while_records_stream_the_urgent_rules_tick_often_and_all_rules_at_most_every_busy_tick(
        setup: tuple[Judging, Ingest, Ticks, Clock, RunIngest]) -> None:
    """150 lines/s read 10 times a second: every rule after every read was half the daemon's CPU."""
    judging, _, ticks, clock, run = setup
    judging.maybe_tick()  # the first evaluation, with the first records
    for i in range(40):  # 4 s of reads, 0.1 s apart
        clock.now += RECORD_TICK_S
        arrive(judging, run, clock, i)
        judging.maybe_tick()
    full = [t for t, urgent, _ in ticks.calls if not urgent]
    urgent = [t for t, u, _ in ticks.calls if u]
    assert len(urgent) >= 25  # after (nearly) every read
    assert 4 / BUSY_TICK_S - 1 <= len(full) <= 4 / BUSY_TICK_S + 1
    assert all(b - a >= BUSY_TICK_S - 1e-9 for a, b in zip(full, full[1:], strict=False))


def test_every_rule_sees_every_record_since_it_last_looked(setup: tuple[Judging, Ingest, Ticks, Clock, RunIngest]) -> None:
    """An urgent-only evaluation does not count the records as judged: the next evaluation of every rule
    is told of all of them (its rules look back that far), and only then is the log judged that far."""
    judging, _, ticks, clock, run = setup
    judging.maybe_tick()
    ticks.calls.clear()
    marks: list[tuple[str, int, int | None]] = []
    for i in range(1, 21):
        clock.now += RECORD_TICK_S / 2
        arrive(judging, run, clock, i)
        judging.read_to("train.log", FilePosition(1, 1, i, None))
        judging.maybe_tick()
        kind = "none" if not ticks.calls or ticks.calls[-1][0] != clock.now else (
            "urgent" if ticks.calls[-1][1] else "full")
        judged = judging.judged.get("train.log")
        marks.append((kind, i, None if judged is None else judged.offset))
    told = [n for _, urgent, n in ticks.calls if not urgent]
    assert told and all(n > 1 for n in told)  # every record since the last look of every rule
    assert sum(told) + run.unjudged == 20
    assert any(kind == "urgent" for kind, _, _ in marks)
    for kind, i, judged in marks:
        if kind == "full":
            assert judged == i
        elif kind == "urgent":
            assert judged is None or judged < i  # the urgent rules alone judged nothing


def test_a_quiet_run_is_judged_about_once_a_second(setup: tuple[Judging, Ingest, Ticks, Clock, RunIngest]) -> None:
    judging, _, ticks, clock, run = setup
    arrive(judging, run, clock, 0)
    judging.maybe_tick()
    ticks.calls.clear()
    for _ in range(50):
        clock.now += 0.1
        judging.maybe_tick()
    assert [u for _, u, _ in ticks.calls] == [False] * 5
    assert judging.next_tick_in() <= TICK_S


def test_a_record_after_quiet_is_judged_by_every_rule_at_once(setup: tuple[Judging, Ingest, Ticks, Clock, RunIngest]) -> None:
    judging, _, ticks, clock, run = setup
    arrive(judging, run, clock, 0)
    judging.maybe_tick()
    clock.now += 0.9
    judging.maybe_tick()
    ticks.calls.clear()
    clock.now += 0.6
    arrive(judging, run, clock, 1)
    assert judging.next_tick_in() == 0.0
    judging.maybe_tick()
    assert ticks.calls == [(clock.now, False, 1)]
