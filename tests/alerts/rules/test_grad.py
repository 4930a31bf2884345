"""grad_norm_spike: exploding and vanishing gradient norms, not heavy-tailed noise."""

from __future__ import annotations

import numpy as np
import pytest

from runwatch.alerts.rules.grad import GradNormSpike
from runwatch.alerts.rules.robust import LOOKBACK
from tests.support.rule_replay import feed, metric_steps, replay

RULE = GradNormSpike()


def norms(n: int, level: float = 1.0, seed: int = 0) -> list[float]:
    """Grad norms: log-normal around `level`, with the occasional 3× step real runs show."""
    rng = np.random.default_rng(seed)
    return list(level * np.exp(0.3 * rng.standard_normal(n)))


def summaries(values: list[float]) -> list[str]:
    tracker, now = feed(metric_steps("grad_norm", values))
    return [f.summary for f in RULE.evaluate(tracker, now)]


def test_an_explosion_held_for_three_records_fires_with_its_peak() -> None:
    (summary,) = summaries(norms(200) + [40.0, 55.0, 80.0])
    assert summary.startswith("grad_norm spiked to 80 at step 202 (steps 200–202 above ")


def test_an_explosion_between_two_ticks_fires_until_it_scrolls_out() -> None:
    """A fast run (30 steps/s, `runwatch demo`) logs the whole explosion between two evaluations."""
    values = norms(318 + LOOKBACK)
    values[310:318] = [9 * v for v in values[310:318]]
    result = replay(metric_steps("grad_norm", values), [RULE], default_dt=1 / 30, tick=1.0)
    first = result.first("grad_norm_spike")
    assert first.step == 310 + int(np.argmax(values[310:318]))
    assert summaries(values[:-1]) and not summaries(values)  # the last spiked record is LOOKBACK old


@pytest.mark.parametrize(
    "values",
    [
        norms(300),
        norms(200) + [40.0, 1.0, 40.0, 1.0],  # isolated spikes: clipping handles them
        norms(200) + [3.0, 3.5, 4.0],  # 3–4×: within what grad norms do
        [300.0, 200.0, 150.0] + norms(50, level=10.0),  # warm-up
        norms(200, level=0.5) + norms(30, level=0.2),  # falling, as late training does
    ],
    ids=["healthy", "isolated", "moderate", "warmup", "falling"],
)
def test_quiet(values: list[float]) -> None:
    assert summaries(values) == []


@pytest.mark.parametrize(
    ("values", "start"),
    [
        (norms(200) + [1e-6] * 20, "grad_norm vanished: 1e-06 over the last 20 records (was "),
        (norms(200) + [0.0] * 20, "grad_norm vanished: 0 over the last 20 records"),
    ],
)
def test_a_vanishing_norm_fires(values: list[float], start: str) -> None:
    (summary,) = summaries(values)
    assert summary.startswith(start)


def test_zeros_during_warm_up_are_not_vanishing() -> None:
    """Megatron fp16 prints grad norm 0.0 while the loss scale settles (excerpt M5)."""
    assert summaries([0.0] * 30 + norms(30)) == []
