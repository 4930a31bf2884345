"""The verdict is put together by rules from the numbers (numbers built here)."""

from __future__ import annotations

import pytest

from runwatch.report.values import (
    AlertRow,
    CheckpointNumbers,
    LossNumbers,
    Overview,
    RunNumbers,
    ThroughputNumbers,
)
from runwatch.report.verdict import verdict


def numbers(*, state: str = "finished", alerts: list[AlertRow] | None = None, stall_s: float | None = None,
            trend: str | None = "falling", steps: int = 10_000) -> RunNumbers:
    o = Overview("run", "train.log", state, None, steps, steps, None, None, 1000.0, "the log's elapsed time",
                 None, None, None, 5000)
    falling = trend == "falling"
    loss = LossNumbers("loss", 5.0, 2.0, 1.9, steps * 0.9, steps * 0.9, -4.0 if falling else 0.1,
                       (-4.0 if falling else 0.1) * 1000 / (steps * 0.1), trend, 0, None,
                       tail_points=100, tail_span_steps=steps * 0.1, tail_noise_pct=0.5)
    tp = ThroughputNumbers("tokens_per_sec", 1e5, 9e4, None, 1.0, stall_s, 3 if stall_s else 0, 1000.0, 0, None)
    return RunNumbers(o, [], loss, tp, CheckpointNumbers(0, None, None, None, None), alerts or [])


def test_verdict_is_put_together_from_the_numbers() -> None:
    assert verdict(numbers()) == "Healthy; loss still falling 4% per 1k steps at the end."
    assert verdict(numbers(steps=500)) == "Healthy; loss still falling 0.8% per 10 steps at the end."
    assert verdict(numbers(trend="flat")) == "Healthy; loss flat over the last 10% of the run (+0.1%)."
    spike = AlertRow("loss_spike", "warning", {}, "loss spiked", 10, 12, 1, "resolved")
    said = verdict(numbers(alerts=[spike], stall_s=50.0))
    assert said == ("Finished with warnings; warnings: loss_spike; loss still falling 4% per 1k steps at the end; "
                    "5% of the time steps took (50s) lost to 3 slow steps.")
    crash = AlertRow("crash", "critical", {}, "OOM", 49, 49, 1, "still firing at the end")
    assert verdict(numbers(state="crashed", alerts=[crash])).startswith("Crashed; critical alerts: crash; ")


@pytest.mark.parametrize(("steps", "said"), [
    (10_000, "4% per 1k steps"), (6_000, "0.67% per 100 steps"), (1_000, "4% per 100 steps"),
    (600, "0.67% per 10 steps"), (200, "2% per 10 steps"), (60, "4% over the last 6 steps")])
def test_a_trend_is_stated_per_as_many_steps_as_the_last_tenth_spans(steps: int, said: str) -> None:
    """A 600-step run's last tenth spans 60 steps: its rate per 1k steps stretched the data 17-fold
    ("rising 876% per 1k steps"); per 10 steps it stays within what was seen."""
    assert verdict(numbers(steps=steps)) == f"Healthy; loss still falling {said} at the end."


def test_no_trend_is_named_when_the_points_cannot_tell() -> None:
    assert verdict(numbers(trend=None)) == "Healthy."
