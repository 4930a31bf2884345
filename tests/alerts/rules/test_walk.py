"""Every rule walks pending → firing → resolved through the alert lifecycle on a fake clock.

A scenario is a list of moments: a record arriving, or None for a tick with
nothing new (time passing). The rule is evaluated and the AlertManager
updated at every moment, 1 s apart, as the engine does; the test checks
that the alert fired once, after its `for`, and resolved once, after its
`resolve_after`, and that nothing else was said.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from runwatch.alerts.lifecycle import AlertManager
from runwatch.alerts.rules import LOG_RULES, Rule, all_rules
from runwatch.alerts.rules.speed import StepTimeDriftParams
from runwatch.model import AlertState, Event, Record
from runwatch.state.run import RunTracker
from tests.support.rule_replay import T0, evaluation, event, step, step_with

Moment = Record | None


def noise(n: int, level: float, seed: int = 0, spread: float = 0.02) -> list[float]:
    return list(level * (1 + spread * np.random.default_rng(seed).standard_normal(n)))


def series(metric: str, values: list[float], start: int = 0) -> list[Moment]:
    return [step_with(start + i, {metric: v}) for i, v in enumerate(values)]


def idle(seconds: int) -> list[Moment]:
    return [None] * seconds


def ranks_at(step_of: dict[int, int]) -> list[Moment]:
    return [step(s, rank=r, loss=2.0) for r, last in step_of.items() for s in range(last - 9, last + 1)]


SCENARIOS: dict[str, tuple[list[Moment], list[Moment]]] = {
    # rule: (moments that make the condition true, moments that make it false again)
    "nonfinite": (series("loss", [2.0] * 20 + [math.nan]), series("loss", [2.0] * 260, start=21)),
    # a spike counts while among the newest `lookback` (256) points: it clears once 256 more arrived
    "loss_spike": (series("loss", noise(300, 3.0) + [7.0] * 5), series("loss", noise(260, 3.0, 1), start=305)),
    "loss_divergence": (series("loss", noise(400, 3.0) + noise(100, 6.0, 1)),
                        series("loss", noise(200, 3.0, 2), start=500)),
    "grad_norm_spike": (series("grad_norm", noise(200, 1.0) + [50.0] * 3),
                        series("grad_norm", noise(260, 1.0, 1), start=203)),
    "overfit": ([*series("loss", list(np.linspace(3, 1, 200))),
                 *[evaluation(50 * i, val_loss=1.5 + i / 10) for i in range(1, 5)]],
                [evaluation(250, val_loss=1.0)]),
    "stall": (series("loss", [2.0] * 20) + idle(700), series("loss", [2.0] * 5, start=20)),
    "step_time_drift": (series("step_time", noise(500, 0.5) + noise(60, 1.5, 1)),
                        series("step_time", noise(60, 0.5, 2), start=560)),
    "throughput_drop": (series("tokens_per_sec", noise(500, 1e6) + noise(60, 3e5, 1)),
                        series("tokens_per_sec", noise(60, 1e6, 2), start=560)),
    "crash": ([*series("loss", [2.0] * 10), event(Event.OOM, rank=0)],
              series("loss", [2.0] * 5, start=10) + idle(400)),
    "straggler": (ranks_at({0: 500, 1: 500, 2: 300}) + [x for _ in range(310) for x in
                                                        (step(500, rank=0, loss=2.0), None)],
                  ranks_at({2: 500})),
}


def walk(rule: Rule, moments: list[Moment], manager: AlertManager, tracker: RunTracker,
         now: float) -> tuple[float, list[tuple[float, AlertState]]]:
    said = []
    for moment in moments:
        now += 1.0
        if moment is not None:
            tracker.apply(Record(moment.kind, moment.step, moment.total_steps, moment.rank, now, moment.metrics,
                                 moment.event, moment.message), now)
        said += [(now, n.state) for n in manager.update(rule.evaluate(tracker, now), now)]
    return now, said


PARAMS = {"step_time_drift": StepTimeDriftParams(metrics=("step_time",))}
"""The walk steps once a second whatever the logged step time says; drift is walked on the logged one."""


@pytest.mark.parametrize("rule_id", sorted(SCENARIOS))
def test_pending_firing_resolved(rule_id: str) -> None:
    cls = all_rules()[rule_id]
    rule = cls(PARAMS[rule_id]) if rule_id in PARAMS else cls()
    timing = rule.timing
    manager = AlertManager({rule.id: timing})
    tracker = RunTracker("train", "logs/train.log")
    bad, good = SCENARIOS[rule_id]
    now, fired = walk(rule, bad, manager, tracker, T0)
    assert [s for _, s in fired] == [AlertState.FIRING], f"{rule_id}: {fired}"
    cleared_at = now
    now, resolved = walk(rule, good + idle(int(timing.resolve_after_s) + 2), manager, tracker, now)
    assert [s for _, s in resolved] == [AlertState.RESOLVED], f"{rule_id}: {resolved}"
    assert resolved[0][0] - cleared_at >= timing.resolve_after_s


def test_for_delays_firing() -> None:
    """straggler's default `for` is 5 minutes: pending first, firing only once the lag held that long."""
    rule = all_rules()["straggler"]()
    manager = AlertManager({rule.id: rule.timing})
    tracker = RunTracker("train", "logs")
    bad, _ = SCENARIOS["straggler"]
    now, fired = walk(rule, bad, manager, tracker, T0)
    (alert,) = manager.alerts()
    assert alert.state == AlertState.FIRING
    assert alert.fired_at is not None and alert.fired_at - alert.active_since >= rule.timing.for_s
    assert len(fired) == 1


def test_every_log_rule_has_a_walk() -> None:
    assert set(SCENARIOS) == {cls.id for cls in LOG_RULES}
