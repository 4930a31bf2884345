"""`Rule.widened`: a rule that counts records among its newest ones looks back over all that arrived
since it last looked (the engine asks after a history piece or a burst); the others stay as they are."""

from __future__ import annotations

import math

import numpy as np

from runwatch.alerts.rules import default_rules
from runwatch.alerts.rules.grad import GradNormSpike
from runwatch.alerts.rules.loss import LossSpike
from runwatch.alerts.rules.nonfinite import NonFinite
from runwatch.alerts.rules.robust import LOOKBACK
from runwatch.alerts.rules.speed import StepTimeDrift, ThroughputDrop
from tests.support.rule_replay import feed, losses, metric_steps

CALM = [2.0 + 0.01 * math.sin(i) for i in range(3000)]


def test_a_nan_older_than_the_window_is_found_by_the_widened_rule() -> None:
    values = list(CALM)
    values[1000] = math.nan  # 2000 records before the newest: outside the 256-record window
    run, now = feed(losses(values))
    rule = NonFinite()
    assert rule.check(run, now) == []
    found = rule.widened(2500).check(run, now)
    assert [f.step for f in found] == [1000]


def test_a_spike_older_than_the_lookback_is_found_by_the_widened_rule() -> None:
    values = list(CALM)
    for i in range(1500, 1510):
        values[i] = 6.0
    run, now = feed(losses(values))
    rule = LossSpike()
    assert rule.check(run, now) == []
    found = rule.widened(2000).check(run, now)
    assert len(found) == 1 and 1500 <= (found[0].step or 0) < 1510


def test_grad_norm_spike_widens_its_lookback_too() -> None:
    values = [0.3 + 0.005 * math.sin(i) for i in range(3000)]
    for i in range(1200, 1210):
        values[i] = 5.0
    run, now = feed(metric_steps("grad_norm", values))
    rule = GradNormSpike()
    assert rule.check(run, now) == []
    assert len(rule.widened(2000).check(run, now)) == 1


def test_widening_never_narrows_and_leaves_present_state_rules_alone() -> None:
    for rule in default_rules():
        same = rule.widened(LOOKBACK)
        assert same is rule  # no more points than every window has already
        wide = rule.widened(100_000)
        if rule.id in ("nonfinite", "loss_spike", "grad_norm_spike", "step_time_drift", "throughput_drop"):
            assert wide is not rule and type(wide) is type(rule)
            assert rule.params.enabled == wide.params.enabled and rule.timing == wide.timing
        else:
            assert wide is rule, rule.id


def steady(n: int, level: float, seed: int = 0) -> list[float]:
    return list(level * (1 + 0.02 * np.random.default_rng(seed).standard_normal(n)))


def test_a_slowdown_that_came_and_went_since_the_last_look_is_found_where_it_showed() -> None:
    """A check judges a long log every 2048 records: a 60-step slowdown between two looks is over by
    the second, and the newest 50 steps are fast again."""
    values = steady(3000, 0.5)
    values[2000:2060] = steady(60, 2.0, seed=1)
    run, now = feed(metric_steps("step_time", values), dt=0.0)
    rule = StepTimeDrift()
    assert rule.check(run, now) == []
    (found,) = rule.widened(1500).check(run, now)
    assert 2000 < (found.step or 0) < 2060 and "4×" in found.summary
    assert rule.widened(1500).check(feed(metric_steps("step_time", steady(3000, 0.5)), dt=0.0)[0], now) == []


def test_a_throughput_drop_that_came_and_went_is_found_too() -> None:
    values = steady(3000, 8e5)
    values[2200:2260] = steady(60, 2e5, seed=2)
    run, now = feed(metric_steps("tokens_per_sec", values))
    rule = ThroughputDrop()
    assert rule.check(run, now) == []
    (found,) = rule.widened(1000).check(run, now)
    assert 2200 < (found.step or 0) < 2260


def test_a_slowdown_still_on_is_found_at_the_newest_window() -> None:
    values = steady(3000, 0.5) + steady(100, 2.0, seed=3)
    run, now = feed(metric_steps("step_time", values), dt=0.0)
    (found,) = StepTimeDrift().widened(2000).check(run, now)
    assert found.step == 3099
