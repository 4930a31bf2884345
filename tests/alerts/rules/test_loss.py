"""loss_spike, loss_divergence and overfit on synthetic losses with realistic noise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from runwatch.alerts.rules.loss import LossDivergence, LossSpike, Overfit
from runwatch.model import Record
from tests.alerts.rules._replay import evaluation, feed, losses, step

SPIKE, DIVERGENCE, OVERFIT = LossSpike(), LossDivergence(), Overfit()


def noisy(n: int, level: float = 3.0, noise: float = 0.03, seed: int = 0, slope: float = 0.0) -> list[float]:
    """A training loss: a level (optionally falling) with a few percent of batch noise."""
    rng = np.random.default_rng(seed)
    return list(level * (1 + noise * rng.standard_normal(n)) - slope * np.arange(n))


def spike_findings(values: list[float]) -> list[str]:
    tracker, now = feed(losses(values))
    return [f.summary for f in SPIKE.evaluate(tracker, now)]


class TestLossSpike:
    def test_a_persistent_spike_fires_at_its_first_step(self) -> None:
        (summary,) = spike_findings(noisy(300) + [6.0] * 5)
        assert summary.startswith("loss spiked to 6 at step 300")

    @pytest.mark.parametrize(
        "values",
        [
            noisy(300),
            noisy(300) + [6.0] * 4,  # not persistent enough
            noisy(300) + [6.0, 6.0, 3.0, 6.0, 6.0],  # interrupted
            noisy(300) + [3.3] * 5,  # +10 %: within what a loss does
            [10.4, 10.7, 12.0, 12.5, 11.0, 10.0] + noisy(60),  # warm-up: the first 100 points are never judged
            noisy(300, noise=0.3, seed=3),  # very noisy loss: the robust z keeps it quiet
        ],
        ids=["healthy", "four-records", "interrupted", "small-rise", "warmup", "noisy"],
    )
    def test_quiet(self, values: list[float]) -> None:
        assert spike_findings(values) == []

    def test_non_finite_values_are_left_to_nonfinite(self) -> None:
        assert spike_findings(noisy(300) + [math.nan] * 5 + [math.inf] * 5) == []

    def test_a_spike_that_recovered_scrolls_out_and_a_long_one_becomes_the_baseline(self) -> None:
        assert spike_findings(noisy(300) + [6.0] * 5 + noisy(20, seed=1)) == []
        assert spike_findings(noisy(300) + [6.0] * 80) == []  # no longer a spike: divergence's business

    def test_eval_records_do_not_enter_the_train_loss(self) -> None:
        records: list[Record] = losses(noisy(300))
        records += [evaluation(300, val_loss=9.0) for _ in range(10)]
        tracker, now = feed(records)
        assert SPIKE.evaluate(tracker, now) == []


class TestLossDivergence:
    def test_a_loss_that_climbs_and_stays_up_fires(self) -> None:
        values = noisy(400, level=3.0, slope=0.001) + noisy(200, level=5.0, seed=2)
        tracker, now = feed(losses(values))
        (found,) = DIVERGENCE.evaluate(tracker, now)
        assert found.summary.startswith("loss diverging: smoothed 5")
        assert found.metric == "loss" and found.threshold is not None and found.threshold < 4.0

    @pytest.mark.parametrize(
        "values",
        [
            noisy(800, slope=0.001),  # healthy: falls
            noisy(400) + noisy(40, level=5.0),  # too short-lived
            noisy(400, level=0.004, noise=0.2) + noisy(200, level=0.008, noise=0.2),  # tiny losses wobble
            [1.0] * 60 + noisy(300),  # a low warm-up loss is not the minimum to beat
        ],
        ids=["falling", "short", "tiny-loss", "warmup"],
    )
    def test_quiet(self, values: list[float]) -> None:
        tracker, now = feed(losses(values))
        assert DIVERGENCE.evaluate(tracker, now) == []


def run_with_evals(train: list[float], val: list[float], every: int = 50, metric: str = "val_loss") -> list[Record]:
    records: list[Record] = []
    for i, v in enumerate(train):
        records.append(step(i, loss=v))
        if i % every == every - 1:
            records.append(evaluation(i, **{metric: val[i // every]}))
    return records


class TestOverfit:
    def test_val_rising_while_train_falls_fires(self) -> None:
        train = list(np.linspace(3.0, 1.0, 300))
        tracker, now = feed(run_with_evals(train, [2.0, 1.8, 1.7, 1.75, 1.8, 1.9]))
        (found,) = OVERFIT.evaluate(tracker, now)
        assert found.summary == "val_loss rose 3 evaluations in a row (1.7 → 1.9 by step 299) while loss fell"
        assert found.step == 299 and found.metric == "val_loss"

    @pytest.mark.parametrize(
        ("train", "val"),
        [
            (list(np.linspace(3.0, 1.0, 300)), [2.0, 1.8, 1.7, 1.6, 1.55, 1.5]),  # generalising
            (list(np.linspace(3.0, 1.0, 300)), [2.0, 1.8, 1.7, 1.6, 1.7, 1.8]),  # only two rises so far
            (list(np.linspace(1.0, 3.0, 300)), [2.0, 1.8, 1.7, 1.75, 1.8, 1.9]),  # train rising too
            (list(np.linspace(3.0, 1.0, 300)), [1.7, 1.7, 1.7, 1.7001, 1.7002, 1.7003]),  # flat
        ],
        ids=["falling", "two-rises", "train-rising", "flat"],
    )
    def test_quiet(self, train: list[float], val: list[float]) -> None:
        tracker, now = feed(run_with_evals(train, val))
        assert OVERFIT.evaluate(tracker, now) == []

    def test_nanochat_val_bpb_counts_as_validation_loss(self) -> None:
        train = list(np.linspace(3.0, 1.0, 300))
        tracker, now = feed(run_with_evals(train, [0.9, 0.85, 0.8, 0.81, 0.82, 0.83], metric="val_bpb"))
        assert [f.metric for f in OVERFIT.evaluate(tracker, now)] == ["val_bpb"]
