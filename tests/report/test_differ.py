"""What differs between runs' settings: a changed value, and a setting one run lacks."""

from __future__ import annotations

from runwatch.report.differ import MISSING, differing
from runwatch.report.values import CheckpointNumbers, Overview, RunNumbers, Settings, ThroughputNumbers


def run(*tables: Settings) -> RunNumbers:
    o = Overview("r", "x", "finished", None, 1, 1, None, None, None, "not known", None, None, None, 1)
    tp = ThroughputNumbers(None, None, None, None, None, None, 0, None, 0, None)
    return RunNumbers(o, list(tables), None, tp, CheckpointNumbers(0, None, None, None, None), [])


def test_a_changed_value_and_a_missing_setting_differ_and_nothing_else() -> None:
    a = run(Settings("W&B", [("lr", "0.001"), ("seed", "0")]), Settings("trainer_state.json", [("max_steps", "120")]))
    b = run(Settings("W&B", [("lr", "0.002"), ("seed", "0")]))
    assert differing([a, b]) == [("lr", ["0.001", "0.002"]), ("max_steps", ["120", MISSING])]


def test_the_first_table_wins_a_key_two_tables_hold() -> None:
    a = run(Settings("W&B", [("max_steps", "120")]), Settings("trainer_state.json", [("max_steps", "99")]))
    b = run(Settings("W&B", [("max_steps", "120")]))
    assert differing([a, b]) == []
