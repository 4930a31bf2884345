"""Health rules: pure checks of a run's state at an instant (DESIGN §6).

`all_rules()` is the registry the engine, `runwatch check`, `runwatch rules`
and config.py use; `base` holds the plug point (`Rule`, `RuleParams`) and
the config-key mapping. Each module is one rule or one family of rules.
"""

from __future__ import annotations

from typing import Any

from runwatch.alerts.rules.base import CONFIG_ALIASES, Rule, RuleParams, param_table
from runwatch.alerts.rules.checkpoint import CheckpointPartial, CheckpointStale
from runwatch.alerts.rules.crash import Crash
from runwatch.alerts.rules.grad import GradNormSpike
from runwatch.alerts.rules.loss import LossDivergence, LossSpike, Overfit
from runwatch.alerts.rules.nonfinite import NonFinite
from runwatch.alerts.rules.speed import StepTimeDrift, ThroughputDrop
from runwatch.alerts.rules.stall import Stall
from runwatch.alerts.rules.straggler import Straggler
from runwatch.alerts.rules.system import SYSTEM_RULES

LOG_RULES: tuple[type[Rule[Any]], ...] = (
    NonFinite, Crash, Stall, LossSpike, LossDivergence, GradNormSpike, Overfit, StepTimeDrift,
    ThroughputDrop, Straggler,
)
"""The rules that read only the run's log records (the system rules also read GPU/process/host samples)."""
CHECKPOINT_RULES: tuple[type[Rule[Any]], ...] = (CheckpointStale, CheckpointPartial)
_RULES: tuple[type[Rule[Any]], ...] = LOG_RULES + SYSTEM_RULES + CHECKPOINT_RULES


def all_rules() -> dict[str, type[Rule[Any]]]:
    """Every rule class by id, most urgent first (the order `runwatch rules` prints)."""
    return {cls.id: cls for cls in _RULES}


def default_rules() -> list[Rule[Any]]:
    """One instance of every rule with its default parameters."""
    return [cls() for cls in _RULES]


__all__ = [
    "CHECKPOINT_RULES", "CONFIG_ALIASES", "LOG_RULES", "CheckpointPartial", "CheckpointStale", "Crash", "GradNormSpike", "LossDivergence", "LossSpike", "NonFinite",
    "Overfit", "Rule", "RuleParams", "Stall", "StepTimeDrift", "Straggler", "ThroughputDrop", "all_rules",
    "default_rules", "param_table",
]
