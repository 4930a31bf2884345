"""`Rule.widened`: a rule that counts records among its newest ones looks back over all that arrived
since it last looked (the engine asks after a history piece or a burst); the others stay as they are."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from runwatch.alerts.judge import Judge
from runwatch.alerts.rules import default_rules
from runwatch.alerts.rules.grad import GradNormSpike
from runwatch.alerts.rules.loss import LossSpike
from runwatch.alerts.rules.nonfinite import NonFinite
from runwatch.alerts.rules.robust import LOOKBACK
from runwatch.alerts.rules.speed import StepTimeDrift, ThroughputDrop
from runwatch.state.pace import STEP_INTERVAL
from runwatch.state.series import KEEP
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


def test_an_overfit_between_two_looks_is_found_by_the_widened_rule() -> None:
    """val_loss rising three evaluations in a row while the loss falls, then falling again before the rules look
    (a history judged in pieces, a burst): the newest evaluations show nothing, the widened look finds the rise at
    its step, and not one that ended before the records it covers."""
    from runwatch.alerts.rules.loss import Overfit
    from tests.support.rule_replay import evaluation, step

    vals = [3.0, 2.9, 2.8, 3.0, 3.2, 3.4, 2.0, 1.9, 1.8, 1.7]  # evaluations every 10 steps: rising from 20 to 50
    records = []
    for i in range(100):
        records.append(step(i, loss=4.0 - 0.03 * i))
        if i % 10 == 0:
            records.append(evaluation(i, val_loss=vals[i // 10]))
    run, now = feed(records)
    rule = Overfit()
    assert rule.check(run, now) == [] and rule.widened(LOOKBACK) is rule
    (found,) = rule.widened(100).check(run, now)
    assert found.step == 50 and found.value == 3.4 and found.metric == "val_loss"
    assert rule.widened(30).check(run, now) == []  # that rise ended before the newest 30 records


def test_widening_never_narrows_and_leaves_present_state_rules_alone() -> None:
    for rule in default_rules():
        same = rule.widened(LOOKBACK)
        assert same is rule  # no more points than every window has already
        wide = rule.widened(100_000)
        if rule.id in ("nonfinite", "loss_spike", "grad_norm_spike", "step_time_drift", "throughput_drop", "overfit"):
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


def test_a_short_run_slower_over_most_of_its_end_is_found_by_its_one_look() -> None:
    """A check reads a short log in one look. The windows of a run under five windows long are a fifth of
    it: at the end the slow points are most of the baseline too (a GPU run 5x slower over its last 30 of
    60 records, gpu-nanogpt-starve, fired live and not in `check`); the windows before show it."""
    values = steady(30, 0.02) + steady(40, 0.11, seed=4)  # 10 warm-up points, 20 fast, 40 slow
    run, now = feed(metric_steps("step_time", values), dt=0.0)
    rule = StepTimeDrift()
    assert rule.check(run, now) == []
    (found,) = rule.widened(len(values)).check(run, now)
    assert 30 <= (found.step or 0) < 45 and "5." in found.summary
    calm = feed(metric_steps("step_time", steady(70, 0.02)), dt=0.0)[0]
    assert rule.widened(70).check(calm, now) == []
    # a pace measured as the reads came is judged at each tick: a starved follower's clumps are no slowdown
    measured = feed(metric_steps(STEP_INTERVAL, values), dt=0.0)[0]
    assert rule.widened(len(values)).check(measured, now) == []


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


def test_the_rules_look_back_at_once_over_what_a_series_keeps_raw_less_their_baselines() -> None:
    """A history is judged every `most_records` records: the points a series keeps raw less what the widened
    rules read before the oldest they judge (a spike rule's window and run, a speed rule's windows); only
    the rules that judge a history as it is read count for its pieces."""
    rules = default_rules()
    assert Judge(rules).most_records(history=True) == KEEP - (100 + 3)
    assert Judge(rules).most_records() == KEEP - (50 + 1000)
    wide = LossSpike(dataclasses.replace(LossSpike().params, window=2000))
    assert Judge([NonFinite(), wide]).most_records(history=True) == KEEP - 2003
    assert Judge([NonFinite()]).most_records(history=True) == KEEP


def test_a_spike_at_the_oldest_record_a_widened_rule_judges_has_its_whole_baseline() -> None:
    """`most_records` records after the rules last looked, the oldest of them is judged on the baseline it had
    when it arrived, though the series holds the fewest raw points it ever does (`KEEP` + 1, just after a
    fold): the spike found then (the rule at its own lookback, as the spike ends) is the spike found now."""
    most = Judge([LossSpike()]).most_records(history=True)
    before = KEEP + 1 + KEEP // 4 - most  # the points before the spike: all of them, `KEEP` + 1 after a fold
    calm = np.random.default_rng(0).normal(2.0, 0.01, before + most).tolist()  # no two baselines alike
    values = calm[:before] + [9.0] * 3 + calm[before + 3 :]
    run, now = feed(losses(values))
    assert len(run.store.get("loss").recent()[0]) == KEEP + 1  # type: ignore[union-attr]
    then, when = feed(losses(values[: before + 6]))
    late = LossSpike().widened(most).check(run, now)
    early = LossSpike().check(then, when)
    assert early and early[0].first_step == before
    assert [(f.first_step, f.last_step, f.threshold) for f in late] == [
        (f.first_step, f.last_step, f.threshold) for f in early]
