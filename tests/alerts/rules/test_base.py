"""The rule plug point: registry, parameters as config keys, timing, the disabled switch."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from runwatch.alerts.rules import LOG_RULES, Rule, all_rules, default_rules, param_table
from runwatch.alerts.rules.base import CONFIG_ALIASES, RuleParams
from runwatch.alerts.rules.stall import Stall, StallParams
from runwatch.alerts.types import RuleTiming
from runwatch.config import ConfigError, rule_params
from runwatch.model import Severity
from tests.support.rule_replay import feed, losses

DESIGN_IDS = {"nonfinite", "loss_spike", "loss_divergence", "grad_norm_spike", "stall", "step_time_drift",
              "throughput_drop", "straggler", "crash", "overfit"}


def test_registry_has_every_rule_of_this_issue_under_its_design_id() -> None:
    rules = all_rules()
    assert {cls.id for cls in LOG_RULES} == DESIGN_IDS
    assert DESIGN_IDS <= set(rules)
    for rule_id, cls in rules.items():
        assert cls.id == rule_id
        assert isinstance(cls.default_severity, Severity)
        assert cls.explanation and "\n" not in cls.explanation
        assert issubclass(cls.Params, RuleParams)


@pytest.mark.parametrize("cls", list(all_rules().values()), ids=lambda c: c.id)
def test_params_are_frozen_defaulted_and_carry_the_lifecycle_fields(cls: type[Rule]) -> None:
    params = cls.Params()
    names = {f.name for f in dataclasses.fields(params)}
    assert {"enabled", "severity", "for_s", "resolve_after_s", "repeat_interval_s"} <= names
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.enabled = False  # type: ignore[misc]
    rule = cls()
    assert rule.severity == cls.default_severity
    assert rule.timing == RuleTiming(params.for_s, params.resolve_after_s, params.repeat_interval_s)


def test_config_keys_map_for_resolve_after_and_repeat_interval() -> None:
    params = rule_params(Stall, {"after": "30m", "for": "30s", "resolve_after": "2m", "repeat_interval": "1h",
                                 "severity": "warning", "enabled": True})
    assert isinstance(params, StallParams)
    assert (params.after, params.for_s, params.resolve_after_s, params.repeat_interval_s) == (1800, 30, 120, 3600)
    rule = Stall(params)
    assert rule.severity == Severity.WARNING
    assert rule.timing == RuleTiming(30.0, 120.0, 3600.0)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"aftr": "10m"}, "rules.stall.aftr: unknown key"),
        ({"for_s": "10s"}, "rules.stall.for_s: unknown key"),  # the field name is not a config key
        ({"after": 600}, "rules.stall.after: a duration needs a unit"),
        ({"enabled": "yes"}, "expected true or false"),
        ({"severity": "loud"}, "expected info | warning | critical"),
        ({"window": 1.5}, "expected a whole number"),
        ({"eval_metrics": "val_loss"}, "expected a list of strings"),
        ({"after": "-5s"}, "rules.stall.after"),
        ({"factor": -1.0}, "must not be negative"),
    ],
)
def test_bad_config_values_name_the_key(values: dict[str, object], message: str) -> None:
    """The one validator (runwatch.config.rule_params) that config files and `--rule` use."""
    with pytest.raises(ConfigError, match=message):
        rule_params(Stall, values)


def test_lists_become_tuples_and_durations_are_marked() -> None:
    params = rule_params(Stall, {"eval_metrics": ["val_loss"]})
    assert params.eval_metrics == ("val_loss",)  # type: ignore[attr-defined]
    table = {key: (default, is_duration) for key, default, is_duration in param_table(StallParams)}
    assert table["after"] == (60.0, True)
    assert table["for"] == (0.0, True)
    assert table["factor"] == (10.0, False)
    assert set(CONFIG_ALIASES) <= set(table)


@pytest.mark.parametrize("cls", list(all_rules().values()), ids=lambda c: c.id)
def test_zero_counts_do_not_break_a_rule(cls: type[Rule]) -> None:
    """`persist = 0` or `recent = 0` in a config is odd, not a crash of the engine's tick."""
    zeros: dict[str, Any] = {f.name: 0 for f in dataclasses.fields(cls.Params)
             if isinstance(f.default, int) and not isinstance(f.default, bool)}
    tracker, now = feed(losses([2.0] * 300 + [9.0] * 10))
    cls(cls.Params(**zeros)).evaluate(tracker, now)


def test_a_disabled_rule_finds_nothing() -> None:
    tracker, now = feed(losses([1.0, float("nan")]))
    nonfinite = all_rules()["nonfinite"]
    assert nonfinite().evaluate(tracker, now)
    assert nonfinite(nonfinite.Params(enabled=False)).evaluate(tracker, now) == []


def test_findings_carry_run_labels_source_and_a_bounded_history() -> None:
    tracker, now = feed(losses([1.0] * 100 + [float("nan")]))
    (found,) = all_rules()["nonfinite"]().evaluate(tracker, now)
    assert dict(found.labels) == {"run": "train", "metric": "loss"}
    assert found.source == "logs/train.log"
    assert found.severity == Severity.CRITICAL
    assert len(found.history) == 40


def test_every_rule_is_quiet_on_an_empty_run() -> None:
    tracker, now = feed([])
    assert [f for rule in default_rules() for f in rule.evaluate(tracker, now)] == []
