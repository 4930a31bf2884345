"""`Rule.widened`: a rule that counts records among its newest ones looks back over all that arrived
since it last looked (the engine asks after a history piece or a burst); the others stay as they are."""

from __future__ import annotations

import math

from runwatch.alerts.rules import default_rules
from runwatch.alerts.rules.grad import GradNormSpike
from runwatch.alerts.rules.loss import LossSpike
from runwatch.alerts.rules.nonfinite import NonFinite
from runwatch.alerts.rules.robust import LOOKBACK
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
        if rule.judges_records and rule.id in ("nonfinite", "loss_spike", "grad_norm_spike"):
            assert wide is not rule and type(wide) is type(rule)
            assert rule.params.enabled == wide.params.enabled and rule.timing == wide.timing
        else:
            assert wide is rule, rule.id
