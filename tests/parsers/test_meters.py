"""PyTorch's ImageNet example's meter lines → Records, on whole real logs (tests/fixtures/found/README.md)."""

from __future__ import annotations

import re

from runwatch.model import Kind
from runwatch.parsers.meters import MetersParser
from tests.support.found import found_lines as lines_of
from tests.support.found import source_records


def test_a_whole_run_reads_its_optimizer_steps_across_80_epochs() -> None:
    """A new user's review: read as key/value lines, `Epoch: [0][10/250]` gave no step (`no steps` for an
    80-epoch run) and `check` paged a stall of a clock it had made up."""
    fmt, recs = source_records("wsdan_sac_imagenet_meters.log.gz")
    assert fmt == "meters"
    steps = [r for r in recs if r.kind is Kind.STEP]
    heads = [m for x in lines_of("wsdan_sac_imagenet_meters.log.gz") if (m := re.match(r"Epoch: \[(\d+)\]\[(\d+)/250\]", x))]
    assert len(steps) == len(heads) == 2000
    assert [r.step for r in steps] == [int(m[1]) * 250 + int(m[2]) for m in heads]
    assert steps[-1].step == 79 * 250 + 240 and steps[-1].metrics["epoch"] == 79.0
    assert steps[1].metrics == {"step_time": 1.154, "data_time": 0.371, "loss": 12.6626, "epoch": 0.0}  # not (avg)


def test_an_evaluations_result_carries_the_loss_its_last_test_batch_averaged() -> None:
    """` * Prec@1     52.365 Prec@5 80.394` is the evaluation's result; its test batches give no record, and
    the fork's own ` * Prec@1   k 49.206 Prec@5 001 78.840` lines are not the example's result."""
    text = lines_of("wsdan_sac_imagenet_meters.log.gz")
    _, recs = source_records("wsdan_sac_imagenet_meters.log.gz")
    evals = [r for r in recs if r.kind is Kind.EVAL]
    assert len(evals) == 80 == sum(1 for x in text if re.fullmatch(r" \* Prec@1 +[\d.]+ Prec@5 [\d.]+", x))
    first = text.index(" * Prec@1     52.365 Prec@5 80.394")
    last_test = next(x for x in reversed(text[:first]) if x.startswith("Test: "))
    assert last_test.endswith("Loss 4.6884 (6.4444)")
    assert evals[0].metrics == {"val_prec1": 52.365, "val_prec5": 80.394, "val_loss": 6.4444}


def test_the_example_itself_under_torchelastic_reads_acc_meters_and_its_nccl_crash() -> None:
    fmt, recs = source_records("imagenet_example_torchelastic.log")
    assert fmt == "meters"
    steps = [(r.step, r.metrics["acc5"]) for r in recs if r.kind is Kind.STEP]
    assert steps == [(0, 0.0), (10, 0.0), (782, 15.62), (792, 34.38), (962, 34.38), (972, 34.38)]
    (ev,) = [r.metrics for r in recs if r.kind is Kind.EVAL]
    assert ev == {"val_acc1": 0.39, "val_acc5": 1.42, "val_loss": 7.0174}
    assert [r.event for r in recs if r.kind is Kind.EVENT] == ["nccl_error"]


def test_a_batch_past_the_epochs_length_is_no_step() -> None:
    line = lines_of("imagenet_example_torchelastic.log")[5].replace("[ 10/782]", "[790/782]")
    assert line.startswith("Epoch: [0][790/782]\t") and MetersParser().parse(line) is None


def test_lines_behind_a_logging_prefix_with_colons_are_read_with_their_times() -> None:
    """A review: `2021-07-29 14:38:40,512:INFO: Epoch: [0][ 0/44]\\tLoss 5.711065 (5.711065)` (`%(asctime)s:%(levelname)s:
    %(message)s`) was UNREAD, a 253-epoch run whose steps slowed a hundredfold unseen; its results too."""
    from runwatch.parsers.fields import logging_time

    name = "causalhtp_logging_prefix_meters_excerpt.log"
    fmt, recs = source_records(name)
    assert fmt == "meters"
    steps = [r for r in recs if r.kind is Kind.STEP]
    heads = [(m, x) for x in lines_of(name) if (m := re.search(r":INFO: Epoch: \[(\d+)\]\[ *(\d+)/44\]", x))]
    assert len(steps) == len(heads) > 20
    assert [r.step for r in steps] == [int(m[1]) * 44 + int(m[2]) for m, _ in heads]
    assert [r.t for r in steps] == [logging_time(x) for _, x in heads] and steps[0].t > 0
    assert steps[0].metrics == {"loss": 5.711065, "epoch": 0.0}
    evals = [r for r in recs if r.kind is Kind.EVAL]
    assert [e.metrics for e in evals] == [{"val_ade": 1.207, "val_fde": 2.238}, {"val_ade": 1.141, "val_fde": 2.132},
                                          {"val_ade": 1.258, "val_fde": 2.388}]


def test_meters_named_in_words_keep_their_names_and_a_last_batch_of_n_is_a_step() -> None:
    """A review: `Loss dro 6.354 (6.316)` and `camera dro 0.000 (0.000)` were both read as `dro` (the camera's 0.000
    overwrote the loss), and every epoch's `[400/400]` (batches counted from 1) was dropped."""
    name = "dmnil_meters_named_losses_excerpt.log"
    fmt, recs = source_records(name)
    assert fmt == "meters"
    heads = [m for x in lines_of(name) if (m := re.match(r"Epoch: \[(\d+)\]\[ *(\d+)/400\]", x))]
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps] == [int(m[1]) * 400 + int(m[2]) for m in heads] and 400 in [r.step for r in steps]
    first = steps[0].metrics
    assert (first["loss"], first["loss_dro"], first["loss_sat"], first["camera_dro"]) == (23.873, 6.354, 4.816, 0.0)
    assert "dro" not in first and "sat" not in first


def test_lines_behind_a_logger_naming_its_file_are_read() -> None:
    """A review: `2019-08-27 10:51:08,139 [dltrainer.py:209] INFO Epoch: [0][0/739]\\t…` was read by `kv` with no step
    (so none of the ten launches in the file was seen starting again, and they read as one diverging curve)."""
    name = "fadnet_logger_file_prefix_meters_head.log"
    fmt, recs = source_records(name)
    heads = [m for x in lines_of(name) if (m := re.search(r"INFO Epoch: \[(\d+)\]\[(\d+)/(\d+)\]", x))]
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "meters" and len(steps) == len(heads) >= 10
    assert [r.step for r in steps] == [int(m[1]) * int(m[3]) + int(m[2]) for m in heads]
    assert steps[0].metrics["loss"] == 54.733 and steps[0].t > 0


def test_fair_loggers_lines_without_the_epochs_length_count_their_steps_across_epochs_and_launches() -> None:
    """A review's SwAV run (FAIR's `LogFormatter`: `INFO - 09/02/20 14:18:08 - 0:00:30 - Epoch: [0][50]\\tTime …\\tLr:
    0.0006`, no `/N` after the batch) read `no steps`, and its four launches one loss series. Each epoch's batches
    now count on from the last one read, a launch from epoch 0 counts anew (a restart), the stamp is the time, and
    `Lr:` the learning rate, by the per-line and the bulk reader alike."""
    from runwatch.parsers.fields import local_time
    from tests.support.found import FOUND, found_bytes
    from tests.support.readers import check
    from tests.support.realruns import check_json

    name = "swav_cifar10_fair_logger_meters_relaunched.log.gz"
    fmt, recs = source_records(name)
    steps = [r for r in recs if r.kind is Kind.STEP]
    heads = [(i, m) for i, x in enumerate(lines_of(name), 1) if (m := re.search(r" - Epoch: \[(\d+)\]\[(\d+)\]\t", x))]
    assert fmt == "meters" and len(steps) == len(heads) == 1164
    assert [r.metrics["epoch"] for r in steps] == [float(m[1]) for _, m in heads]
    anew = [i for (i, m), r in zip(heads, steps, strict=True) if r.step == 0]
    assert anew == [2100, 2347, 2982, 3758]  # each launch's `Epoch: [0][0]`
    last = steps[-1]
    assert (last.step, last.total_steps) == (399 * 51 + 50, None)  # batches 0 and 50 of each epoch: the next at 51
    assert last.metrics == {"step_time": 0.657, "data_time": 0.0, "loss": 2.1086, "lr": 0.0006, "epoch": 399.0}
    assert last.t == local_time("2020-09-03 02:40:55")
    for size in (1 << 20, 1 << 14):
        got, _ = check(found_bytes(name), sizes=(size,))
        assert [(r.step, r.t) for r in got if r.kind is Kind.STEP] == [(r.step, r.t) for r in steps]
    code, [run], _ = check_json(FOUND / name)
    assert code == 0 and run["step"] == 20399 and not run["alerts"], run
    assert any(n.startswith("the run started again 3 times") for n in run["notes"]), run["notes"]


def test_detrs_metriclogger_line_keeps_its_time_data_and_memory() -> None:
    """A review's DETR run: torchvision's MetricLogger prints 48 meters a line (each decoder layer's losses, scaled and
    unscaled), its `time: 5.9663  data: 2.7650  max mem: 1942` last; cut at 32 meters they were lost, and `check` said
    no step line carries a step time. `max mem` is MiB: `max_mem_gib`."""
    fmt, recs = source_records("detr_metric_logger_epoch0_excerpt.log")
    assert fmt == "meters"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps[:15]] == [*range(0, 121, 10), 127, 128]
    first = steps[0].metrics
    assert len(first) == 50 and first["loss"] == 68.5848
    assert (first["step_time"], first["data_time"], first["max_mem_gib"]) == (5.9663, 2.7650, 1942 / 1024)
    assert "mem" not in first and "max_mem" not in first


def test_detrs_evaluation_is_its_averaged_stats_after_the_test_lines() -> None:
    """A review's DETR run: its evaluations, `Test:  [i/N] …` then `Averaged stats: class_error: 92.26  loss: 51.4948
    (51.9826) …` (no `lr` meter), were no records at all. Each is an EVAL record of the averages in brackets; the
    training's own `Averaged stats: lr: 0.000100 …` stays no record (its step lines said it all)."""
    fmt, recs = source_records("detr_metric_logger_epoch0_excerpt.log")
    assert fmt == "meters"
    evals = [r for r in recs if r.kind is Kind.EVAL]
    assert [(e.metrics["val_loss"], e.metrics["val_class_error"]) for e in evals] == [(56.3321, 100.0), (51.9826, 92.26)]
    assert evals[1].metrics["val_loss_bbox"] == 3.5925 and "val_lr" not in evals[1].metrics
    assert len([r for r in recs if r.kind is Kind.STEP]) == 28
