"""step_time_drift and throughput_drop: real slowdowns fire, warm-up and periodic eval steps don't."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from runwatch.alerts.rules.speed import StepTimeDrift, StepTimeDriftParams, ThroughputDrop
from runwatch.state.run import RunTracker
from tests.support.found import FOUND
from tests.support.realruns import check_json
from tests.support.rule_replay import T0, feed, metric_steps, step

DRIFT, DROP = StepTimeDrift(), ThroughputDrop()


def jitter(n: int, level: float, seed: int = 0) -> list[float]:
    return list(level * (1 + 0.02 * np.random.default_rng(seed).standard_normal(n)))


def with_evals(values: list[float], every: int, factor: float) -> list[float]:
    """Every `every`-th step includes an eval: nanoGPT logs a 35 s iteration among 1 s ones (excerpt G2)."""
    return [v * factor if i % every == every - 1 else v for i, v in enumerate(values)]


def drift(values: list[float], rule: StepTimeDrift = DRIFT) -> list[str]:
    """Each step record arrives when its logged step time has passed, as a live run's would: the rule
    judges the intervals runwatch measures (`step_interval`) and they agree with the log."""
    tracker = RunTracker("train", "logs/train.log")
    now = T0
    for rec in metric_steps("step_time", values):
        now += rec.metrics["step_time"]
        tracker.apply(dataclasses.replace(rec, t=now), now)
    return [f.summary for f in rule.evaluate(tracker, now)]


def test_a_logged_step_time_is_judged_where_nothing_was_measured() -> None:
    """Records read together (a history, one receive time) give no measured interval: the log's own."""
    tracker, now = feed(metric_steps("step_time", jitter(500, 0.5) + jitter(50, 1.0, seed=1)), dt=0.0)
    (f,) = DRIFT.evaluate(tracker, now)
    assert dict(f.labels)["metric"] == "step_time"


def drop(values: list[float], metric: str = "tokens_per_sec") -> list[str]:
    tracker, now = feed(metric_steps(metric, values))
    return [f.summary for f in DROP.evaluate(tracker, now)]


def test_steps_that_got_twice_as_slow_fire() -> None:
    (summary,) = drift(jitter(500, 0.5) + jitter(50, 1.0, seed=1))
    assert summary.startswith("steps take 1") and "s, 2× the 0.49" in summary


@pytest.mark.parametrize(
    "values",
    [
        jitter(600, 0.5),
        [20.0] * 30 + jitter(400, 0.5),  # compilation and autotuning in the warm-up
        with_evals(jitter(1000, 0.5), every=20, factor=35),  # periodic eval steps
        with_evals(jitter(1000, 0.5), every=3, factor=5),  # even a third of the steps
        jitter(500, 0.5) + jitter(50, 0.6, seed=1),  # +20 %
        jitter(120, 0.5),  # too little baseline yet
    ],
    ids=["steady", "warmup", "evals", "frequent-evals", "mild", "short"],
)
def test_step_time_quiet(values: list[float]) -> None:
    assert drift(values) == []


def test_milliseconds_of_jitter_on_tiny_steps_are_no_slowdown() -> None:
    """The soak's healthy stream at 150 lines/s fired `steps take 0.01003 s, 1.5× the 0.006586 s before`:
    3 ms more per step is a busy CPU, not a slowdown. A planted one (the run lab's keras-v1-slow: 4 ms to
    42 ms) still fires."""
    assert drift(jitter(300, 0.0066) + jitter(60, 0.0100, seed=1)) == []
    (summary,) = drift(jitter(300, 0.004) + jitter(60, 0.042, seed=1))
    assert summary.startswith("steps take 0.04") and "10× the" in summary


def test_a_slowdown_that_lasts_becomes_the_new_normal() -> None:
    rule = StepTimeDrift(StepTimeDriftParams(baseline=200))
    assert drift(jitter(500, 0.5) + jitter(300, 1.0, seed=1), rule) == []


def test_throughput_halved_fires() -> None:
    (summary,) = drop(jitter(500, 1e6) + jitter(50, 5e5, seed=1))
    assert summary.startswith("tokens_per_sec down 50%")


@pytest.mark.parametrize(
    "values",
    [
        jitter(600, 1e6),
        [3e4] * 20 + jitter(500, 1e6),  # nanochat step 0: 29k tok/s while compiling
        with_evals(jitter(1000, 1e6), every=20, factor=0.02),
        jitter(500, 1e6) + jitter(50, 8e5, seed=1),  # -20 %
    ],
    ids=["steady", "warmup", "evals", "mild"],
)
def test_throughput_quiet(values: list[float]) -> None:
    assert drop(values) == []


def test_samples_per_sec_when_no_tokens_per_sec() -> None:
    (summary,) = drop(jitter(500, 80.0) + jitter(50, 30.0, seed=1), metric="samples_per_sec")
    assert summary.startswith("samples_per_sec down")


def test_tokens_per_sec_wins_over_samples_per_sec() -> None:
    records = [step(i, tokens_per_sec=1e6, samples_per_sec=80.0 if i < 500 else 10.0) for i in range(550)]
    tracker, now = feed(records)
    assert DROP.evaluate(tracker, now) == []


def test_steps_dated_in_whole_seconds_are_no_slowdown() -> None:
    """A run of 1.45-s steps dated by a clock of whole seconds (a progress bar's elapsed time, as `check` reads
    it) measures steps of 1 s and of 2 s by turns; the median of 50 flipped from one to the other and warned of
    a 1.5× slowdown that never was (here the pace goes from 1.45 s to 1.55 s: mostly 1 s, then mostly 2 s). A real
    one on the same clock still fires."""
    def whole_seconds(paces: list[float]) -> list[str]:
        tracker = RunTracker("train", "logs/train.log")
        clock = T0
        for rec in metric_steps("loss", [2.0] * len(paces)):
            clock += paces[rec.step or 0]
            now = float(np.floor(clock))
            tracker.apply(dataclasses.replace(rec, t=now), now)
        return [f.summary for f in DRIFT.evaluate(tracker, float(np.floor(clock)))]

    steady = jitter(1200, 1.45)
    assert whole_seconds(steady + jitter(100, 1.55, seed=1)) == []
    (slow,) = whole_seconds(steady + jitter(100, 3.0, seed=1))
    assert "steps take 3 s" in slow


def test_a_deepspeed_bar_in_whole_seconds_warns_of_no_drift() -> None:
    """The real log (tests/fixtures/found/README.md): a LLaVA fine-tune's bar at 1.44–1.56 s a step from its
    first minutes to its last line, printed with whole-second elapsed times: `check` warned `steps take 1.5 s,
    1.5× the 1 s before`."""
    _, [report], _ = check_json(FOUND / "chartwiz_llava_deepspeed_whole_second_bar.log.gz")
    assert (report["step"], report["total_steps"]) == (1885, 67374)
    assert [a["rule"] for a in report["alerts"]] == []
