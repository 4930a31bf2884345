"""BasicSR's `MessageLogger` lines → Records, on a whole real log (tests/fixtures/found/README.md)."""

from __future__ import annotations

import re

from runwatch.model import Event, Kind
from tests.support.found import found_lines as lines_of
from tests.support.found import source_records

NOHUP = "basicsr_iqa_torchrun_nohup.out.gz"


def test_iterations_losses_and_validation_are_read_and_the_options_total() -> None:
    """A new user's review: read as plain bars, the validation's image bar (`Test … 1/1000`) was the run's
    progress; no step and no loss were read."""
    fmt, recs = source_records(NOHUP)
    assert fmt == "basicsr"
    text = lines_of(NOHUP)
    logged = [m for x in text if (m := re.search(r"\]\[epoch: +(\d+), iter: +([\d,]+), lr:\(([^,]+),\)\].*"
                                                 r" l_mos: (\S+) l_metric: (\S+)", x))]
    steps = [r for r in recs if r.kind is Kind.STEP and "loss" in r.metrics]
    assert len(steps) == len(logged) == 62
    assert [r.step for r in steps] == [int(m[2].replace(",", "")) for m in logged]
    assert [r.metrics["loss"] for r in steps] == [float(m[4]) + float(m[5]) for m in logged]
    first = steps[0]
    assert (first.metrics["lr"], first.metrics["step_time"], first.metrics["data_time"]) == (2.999e-05, 2.064, 0.521)
    assert first.metrics["eta"] == 2 * 3600 + 37 * 60 and first.total_steps == 10000  # the options' total_iter
    evals = [r.metrics for r in recs if r.kind is Kind.EVAL]
    assert evals[:2] == [{"val_srcc": 0.9193}, {"val_plcc": 0.9371}]
    assert [r.event for r in recs if r.kind is Kind.EVENT] == [Event.FINISHED, Event.TRACEBACK]


def test_training_that_starts_again_is_a_step_at_its_iteration_and_time() -> None:
    """`Start training from epoch: 0, iter: 0` is where the second run begins: read as its step 0 at that line's
    time, the traceback of another launch that failed three minutes later was no longer the end of a run that
    had finished hours before (`check` paged a critical crash)."""
    _, recs = source_records(NOHUP)
    starts = [r for r in recs if r.kind is Kind.STEP and "loss" not in r.metrics]
    assert [(r.step, r.metrics) for r in starts] == [(0, {"epoch": 0.0}), (0, {"epoch": 0.0})]
    assert starts[1].t > max(r.t for r in recs if r.event == Event.FINISHED)
