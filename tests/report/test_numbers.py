"""The report's numbers and verdict from curves and numbers built here: slopes, stalls, the verdict's rules."""

from __future__ import annotations

import numpy as np
import pytest

from runwatch.model import Kind, Record
from runwatch.report.curves import Curve
from runwatch.report.numbers import (
    AlertRow,
    CheckpointNumbers,
    LossNumbers,
    Overview,
    RunNumbers,
    ThroughputNumbers,
    checkpoint_numbers,
    tail_slope,
)
from runwatch.report.verdict import verdict


def line(x: np.ndarray, y: np.ndarray) -> Curve:
    zeros = np.zeros(len(x), np.int64)
    return Curve("loss", x, y, y, y, zeros, x.astype(float), float(y[-1]))


@pytest.mark.parametrize(("slope", "trend"), [(-1e-4, "falling"), (0.0, "flat"), (1e-4, "rising")])
def test_tail_slope_reads_the_last_tenth_of_the_run(slope: float, trend: str) -> None:
    x = np.arange(0, 10_001, 10, dtype=float)
    y = np.where(x < 9000, 5.0 - x * 3e-4, 2.3 + (x - 9000) * slope)  # falls fast, then as `slope` says
    change, per_1k, start = tail_slope(line(x, y))
    assert start == pytest.approx(9000.0)
    assert per_1k == pytest.approx(slope * 1000 / np.mean(y[x >= 9000]) * 100, rel=1e-6)
    assert change is not None
    got = "falling" if change < -1.0 else "rising" if change > 1.0 else "flat"
    assert got == trend


def numbers(*, state: str = "finished", alerts: list[AlertRow] | None = None, stall_s: float | None = None,
            trend: str | None = "falling", steps: int = 10_000) -> RunNumbers:
    o = Overview("run", "train.log", state, None, steps, steps, None, None, 1000.0, "the log's elapsed time",
                 None, None, None, 5000)
    falling = trend == "falling"
    loss = LossNumbers("loss", 5.0, 2.0, 1.9, steps * 0.9, steps * 0.9, -4.0 if falling else 0.1,
                       (-4.0 if falling else 0.1) * 1000 / (steps * 0.1), trend, 0, None)
    tp = ThroughputNumbers("tokens_per_sec", 1e5, 9e4, None, 1.0, stall_s, 3 if stall_s else 0, 1000.0, 0, None)
    return RunNumbers(o, [], loss, tp, CheckpointNumbers(0, None, None, None, None), alerts or [])


def test_verdict_is_put_together_from_the_numbers() -> None:
    assert verdict(numbers()) == "Healthy; loss still falling 4% per 1k steps at the end."
    assert verdict(numbers(steps=500)) == "Healthy; loss still falling 4% over its last 50 steps at the end."
    assert verdict(numbers(trend="flat")) == "Healthy; loss flat over the last 10% of the run (+0.1%)."
    spike = AlertRow("loss_spike", "warning", {}, "loss spiked", 10, 12, 1, "resolved")
    said = verdict(numbers(alerts=[spike], stall_s=50.0))
    assert said == ("Finished with warnings; warnings: loss_spike; loss still falling 4% per 1k steps at the end; "
                    "5% of the time steps took (50s) lost to 3 slow steps.")
    crash = AlertRow("crash", "critical", {}, "OOM", 49, 49, 1, "still firing at the end")
    assert verdict(numbers(state="crashed", alerts=[crash])).startswith("Crashed; critical alerts: crash; ")


def test_checkpoints_on_disk_count_once_each_and_complete_only() -> None:
    def ckpt(step: int, state: str, size: float) -> Record:
        return Record(Kind.CHECKPOINT, step=step, event=state, metrics={"size_bytes": size}, source=f"out/checkpoint-{step}")

    got = checkpoint_numbers([ckpt(40, "writing", 1.0), ckpt(40, "complete", 2.0), ckpt(80, "partial", 3.0),
                              ckpt(80, "complete", 4.0), ckpt(120, "writing", 5.0)])
    assert (got.count, got.last, got.last_step, got.last_size_bytes) == (2, "out/checkpoint-80", 80, 4.0)
