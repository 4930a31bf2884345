"""BasicSR's `MessageLogger` lines → Records, on a whole real log (tests/fixtures/found/README.md)."""

from __future__ import annotations

import re

from runwatch.model import Event, Kind
from tests.support.found import FOUND as FOUND_DIR
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


MMSR = "hdrunet_mmsr_logger_right_aligned_iters.log.gz"


def test_mmsrs_logger_its_learning_rate_tuple_and_validation_average_are_read() -> None:
    """mmsr (EDVR's and SR3's code, BasicSR's parent) prints no experiment name before `[epoch: …]` and its
    validation's average as `# Validation # PSNR: 1.5157e+01` after the logger's prefix: a review's HDRUNet run read
    no learning rate from `lr:(2.000e-04,)` and no PSNR at all. Its stamp is each record's time, `Total epochs
    needed: 98 for iters 600,000` the run's total, and `l_pix` its loss."""
    from runwatch.parsers.fields import local_time
    from tests.support.found import found_bytes
    from tests.support.readers import check
    from tests.support.realruns import check_json

    fmt, recs = source_records(MMSR)
    text = lines_of(MMSR)
    heads = [m for x in text if (m := re.search(r"iter: +([\d,]+), lr:\(([^,]+),\)\] l_pix: (\S+)", x))]
    steps = [r for r in recs if r.kind is Kind.STEP and "loss" in r.metrics]
    assert fmt == "basicsr" and len(steps) == len(heads) == 1214
    assert [(r.step, r.metrics["lr"], r.metrics["loss"]) for r in steps] == [
        (int(m[1].replace(",", "")), float(m[2]), float(m[3])) for m in heads]
    assert steps[0].t == local_time("2023-05-05 21:26:52") + 0.413 and steps[0].total_steps == 600_000
    psnr = [float(m[1]) for x in text if (m := re.search(r"# Validation # PSNR: (\S+)$", x))]
    assert len(psnr) == 12 and [r.metrics for r in recs if r.kind is Kind.EVAL] == [{"val_psnr": v} for v in psnr]
    for size in (1 << 20, 1 << 14):
        got, _ = check(found_bytes(MMSR), sizes=(size,))
        assert [(r.step, r.t, r.total_steps, r.metrics) for r in got if r.kind is not Kind.EVENT] == [
            (r.step, r.t, r.total_steps, r.metrics) for r in recs if r.kind is not Kind.EVENT]
    code, [run], _ = check_json(FOUND_DIR / MMSR)
    assert code == 0 and (run["step"], run["total_steps"]) == (121_400, 600_000), run


def test_older_heads_in_angle_brackets_and_a_validation_loggers_line() -> None:
    """BasicSR's forerunners print `<epoch:  0, iter:     200, lr:1.000e-04> l_g_pix: …` (one learning rate, no
    tuple), SR3 `<epoch:  1, iter:     100> l_pix: …` (none), and mmsr's validation logger `<epoch:  1, iter:
    1,000> psnr: 2.8e+01` (an evaluation's: no loss term). A `[` never closes with `>`."""
    from runwatch.parsers.basicsr import BasicSRParser

    p = BasicSRParser()
    gan = p.parse("19-04-03 17:00:12.447 - INFO: <epoch:  0, iter:     200, lr:1.000e-04> l_g_pix: 4.4571e-03 "
                  "l_g_fea: 2.6769e+00 l_d_real: 0.0000e+00 D_real: 2.3803e+01")
    assert gan is not None and gan.kind is Kind.STEP and gan.step == 200
    assert gan.metrics["lr"] == 1e-4 and gan.metrics["loss"] == 4.4571e-03 + 2.6769e+00
    sr3 = p.parse("26-04-27 17:17:07.089 - INFO: <epoch:  1, iter:     100> l_pix: 5.2024e-02")
    assert sr3 is not None and (sr3.step, sr3.metrics) == (100, {"epoch": 1.0, "l_pix": 5.2024e-02, "loss": 5.2024e-02})
    line = f"<epoch:{1:3d}, iter:{1000:8,d}> psnr: {28.031:.4e}"  # mmsr train.py's `logger_val` format
    val = p.parse(line)
    assert val is not None and val.kind is Kind.EVAL and (val.step, val.metrics) == (1000, {"epoch": 1.0, "val_psnr": 28.031})
    assert p.parse("<epoch:  1, iter:     100] l_pix: 5.2024e-02") is None and p.score("[epoch: 1, iter: 100> x") == 0
