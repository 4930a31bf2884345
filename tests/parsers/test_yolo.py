"""Ultralytics YOLO's training table → Records, on whole real logs (tests/fixtures/found/README.md)."""

from __future__ import annotations

import re

from runwatch import patterns
from runwatch.model import Event, Kind, Record
from runwatch.parsers.source import SourceParser
from tests.support.found import found_lines as lines_of

V5 = "yolov5_cots_300ep_terminal.log"
V8 = "yolo_ultralytics_8_4_recovered.log"


def records(name: str, *, live: bool) -> tuple[str | None, list[Record]]:
    """What a source detecting the format itself reads: in batches as `parse` does, or line by line with
    `settle` after each as a follower that has caught up with a run writing slowly (`tail`)."""
    text, sp = lines_of(name), SourceParser(name)
    if live:
        recs = [r for i, x in enumerate(text, 1) for r in sp.feed([x], i, 0.0) + sp.settle()]
    else:
        recs = [r for i in range(0, len(text), 500) for r in sp.feed(text[i:i + 500], i + 1, 0.0)]
    return sp.format, recs + sp.flush()


def test_a_yolov5_run_is_read_by_epoch_and_batch_not_as_a_finished_bar() -> None:
    """A new user's review: read as plain bars, a run at epoch 0 of 300 showed `finished 213/213`, the dataset
    scans read as restarts, hang detection was off, and no loss was read."""
    fmt, recs = records(V5, live=False)
    assert fmt == "yolo"
    rows = [m for x in lines_of(V5) if (m := re.match(r"\s+(\d+)/299\s+[\d.]+G\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s", x))]
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert len(steps) == len(rows) == 246
    assert [(r.step, r.total_steps) for r in steps] == [((int(m[1]) + 1) * 213, 300 * 213) for m in rows]
    assert [r.metrics["loss"] for r in steps] == [float(m[2]) + float(m[3]) + float(m[4]) for m in rows]
    assert steps[0].metrics["box_loss"] == 0.06359 and steps[0].metrics["epoch_elapsed"] == 381.0
    evals = [r for r in recs if r.kind is Kind.EVAL]
    assert len(evals) == 247  # one an epoch, and best.pt's at the end
    assert evals[1].metrics == {"val_precision": 0.0682, "val_recall": 0.126, "val_map50": 0.0251, "val_map50_95": 0.00763}
    assert [(r.event, r.step) for r in recs if r.kind is Kind.EVENT] == [(Event.FINISHED, 246 * 213)]


def test_ultralytics_own_bar_counts_epochs_from_one_and_a_bars_first_frame_is_no_step() -> None:
    fmt, recs = records(V8, live=False)
    assert fmt == "yolo"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [(r.step, r.total_steps) for r in steps] == [(e, 100) for e in range(1, 101)]
    assert steps[0].metrics["step_time"] == 1 / 1.5 and steps[0].metrics["dfl_loss"] == 4.334
    assert [r.event for r in recs if r.kind is Kind.EVENT] == [Event.FINISHED]


def test_a_follower_reads_the_table_as_parse_does_not_the_dataset_scans_as_bars() -> None:
    """A new user's review: `tail` guessed the generic bar format from the two dataset scans' bars before the
    table's header came, and said `restarted at step 677`, then `[finished] step 213/213`, while `check` said
    otherwise."""
    for name in (V5, V8):
        live_fmt, live = records(name, live=True)
        fmt, whole = records(name, live=False)
        assert live_fmt == fmt == "yolo"
        assert [(r.kind, r.step, r.metrics) for r in live] == [(r.kind, r.step, r.metrics) for r in whole]


def test_yolov5_v62_rows_are_read_when_the_copy_lost_the_bar() -> None:
    """A second review: `Epoch GPU_mem box_loss obj_loss cls_loss …` rows kept from a notebook, whose frame is
    `320: 100% 8/8 [00:03<00:00,  2.36it/s]` with no bar between the bars, gave no step (`no steps`, OK)."""
    name = "yolov5_v62_colab_readme_block.log"
    rows = [int(m[1]) for x in lines_of(name) if (m := re.match(r"\s+(\d+)/3999 .*: 100% 8/8 \[", x))]
    fmt, recs = records(name, live=False)
    assert fmt == "yolo"
    steps = [(r.step, r.total_steps) for r in recs if r.kind is Kind.STEP]
    assert len(steps) == len(rows) == 399 and steps == [((e + 1) * 8, 4000 * 8) for e in rows]


def test_rows_whose_bars_a_console_cut_off_count_epochs() -> None:
    """A new user's review: a W&B console kept each row up to its `640:` and no bar: `no steps`, no loss. Read
    in epochs (the epoch under way, of the run's), each row's losses, the two fits in the file as two runs."""
    name = "yolov8_wandb_console_cut_rows.log"
    row = patterns.compile(r"\s+(\d+)/500\s+[\d.]+G\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s.*640:\s*\d{0,3}\s*$")  # not one W&B glued a line to
    rows = [m for x in lines_of(name) if (m := row.match(x))]
    fmt, recs = records(name, live=False)
    assert fmt == "yolo"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert len(steps) == len(rows) > 250
    assert [(r.step, r.total_steps) for r in steps] == [(int(m[1]), 500) for m in rows]
    assert [r.metrics["box_loss"] for r in steps] == [float(m[2]) for m in rows]
    assert steps[0].metrics["loss"] == 2.415 + 3.94 + 1.845
    assert [(r.event, r.step) for r in recs if r.kind is Kind.EVENT] == [(Event.FINISHED, 125), (Event.FINISHED, 32)]
    live_fmt, live = records(name, live=True)
    assert live_fmt == "yolo" and [(r.kind, r.step) for r in live] == [(r.kind, r.step) for r in recs]


def test_rows_whose_bars_a_terminals_copy_cut_after_the_count_are_batches() -> None:
    """A review: a YOLOv8 console copied from a terminal as wide as the row, each bar cut after its count (`640: 100%|
    ██████████| 22/22`): none of the first run's 7 epochs was a step (its losses lost), its validations at step
    None. The count is the epoch's batches: steps `(e − 1) × 22 + 22`; the second run's bar keeps its clock."""
    name = "yolov8_cut_bars_two_runs.log"
    cut = patterns.compile(r"\s+(\d+)/100\s+[\d.]+G\s+([\d.]+)\s.*640: 100%\|█+\| 22/22$")
    rows = [m for x in lines_of(name) if (m := cut.match(x))]
    fmt, recs = records(name, live=False)
    assert fmt == "yolo" and len(rows) == 7
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [(r.step, r.total_steps) for r in steps[:7]] == [(int(m[1]) * 22, 100 * 22) for m in rows]
    assert [r.metrics["box_loss"] for r in steps[:7]] == [float(m[2]) for m in rows]
    assert all(r.step is not None for r in recs) and steps[-1].step == 150 * 22
    assert [(r.event, r.step) for r in recs if r.kind is Kind.EVENT] == [(Event.FINISHED, 704), (Event.FINISHED, 3300)]
    live_fmt, live = records(name, live=True)
    assert live_fmt == "yolo" and [(r.kind, r.step) for r in live] == [(r.kind, r.step) for r in recs]


def test_a_row_without_its_bar_in_a_log_whose_rows_have_bars_is_no_epoch() -> None:
    """What a redraw leaves of a row (`… 640: 1`) in a log whose rows carry bars counts nothing: steps stay batches."""
    text = lines_of(V5)
    first = next(i for i, x in enumerate(text) if re.match(r"\s+0/299 .*\|", x))
    cut = text[first].split(":")[0] + ":"
    sp = SourceParser("cut")
    recs = sp.feed(text[: first + 1] + [cut], 1, 0.0) + sp.flush()
    assert [r.step for r in recs if r.kind is Kind.STEP] == [213]


def test_a_classification_models_validation_gives_its_top1_and_top5() -> None:
    """A second review: `all 0.909 1` under `classes top1_acc top5_acc` gave no evaluation."""
    name = "yolov8_cls_readme_block.log.gz"
    tops = [(float(m[1]), float(m[2])) for x in lines_of(name) if (m := re.fullmatch(r"\s+all\s+([\d.]+)\s+([\d.]+)\s*", x))]
    fmt, recs = records(name, live=False)
    assert fmt == "yolo"
    evals = [(r.metrics["val_top1_acc"], r.metrics["val_top5_acc"]) for r in recs if r.kind is Kind.EVAL]
    assert len(evals) == len(tops) == 51 and evals == tops
    assert [r.step for r in recs if r.kind is Kind.STEP][-1] == 1500


def test_the_loss_terms_are_the_epochs_mean_at_its_last_batch_only() -> None:
    """A YOLOv3 console with every batch's frame (33 an epoch): its loss terms are running means over the epoch, which
    swing at an epoch's first batches. Judged as per-step losses, a healthy run read as diverging (critical) and
    spiking 11 times (a review). Frames before an epoch's last batch give progress only; the last gives the epoch's
    mean loss, as YOLO's `results.csv` has it. A NaN is kept wherever it comes."""
    import math

    from runwatch.parsers.yolo import _mid_epoch

    name = "yolov3_invoice_300ep_train.out.gz"
    ends = {int(m[1]): float(m[2]) for x in lines_of(name)
            if (m := re.match(r"\s+(\d+)/299\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S+)\s+\d+\s+\d+: 100%\|[^|]*\| 33/33 \[", x))}
    fmt, recs = records(name, live=False)
    assert fmt == "yolo" and len(ends) == 300
    steps = [r for r in recs if r.kind is Kind.STEP]
    losses = {r.step: r.metrics["loss"] for r in steps if "loss" in r.metrics}  # the last frame is drawn twice
    assert len(steps) > 9000 and list(losses) == [33 * (e + 1) for e in range(300)]
    assert list(losses.values()) == [ends[e] for e in range(300)]
    assert {"box_loss", "obj_loss", "cls_loss"} <= next(r for r in steps if r.step == 33).metrics.keys()
    mid = {"box_loss": 1.0, "obj_loss": math.nan, "loss": math.nan, "instances": 36.0}
    _mid_epoch(mid)
    assert set(mid) == {"box_loss", "obj_loss", "loss", "instances"}


def test_the_first_yolov3s_batch_table_behind_jdes_logger() -> None:
    """JDE (after Ultralytics' first YOLOv3): `2021-01-25 05:58:00 [INFO]:    Epoch       Batch       box      conf …
    time`, then a row every 40 batches, `0/29       0/165     0.227      2.06 …      59.6`: both counts from 0 to their
    last, so batch 160 of epoch 0 is step 161 of 30 × 166; `total` the loss, `time` the step time, the logger's
    stamp the row's time. A review: UNREAD (exit 3), also with `--format yolo` and `table`; by both readers alike."""
    from datetime import datetime

    from tests.support.found import found_bytes, source_records
    from tests.support.readers import check

    fmt, recs = source_records("jde_yolov3_batch_table.log")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "yolo" and len(steps) == 150
    first = steps[0]
    assert (first.step, first.total_steps, first.metrics["loss"], first.metrics["step_time"]) == (1, 30 * 166, 158.0, 59.6)
    assert first.t == datetime(2021, 1, 25, 5, 58, 59).timestamp()
    assert [r.step for r in steps[:6]] == [1, 41, 81, 121, 161, 167]  # epoch 1's batch 0 after epoch 0's 160
    got, _ = check(found_bytes("jde_yolov3_batch_table.log"), sizes=(1 << 14,))
    assert [(r.step, dict(r.metrics)) for r in got if r.kind is Kind.STEP] == [(r.step, dict(r.metrics)) for r in steps]


def test_ultralytics_own_bars_minutes_are_its_epochs_time_and_a_warned_oom_it_recovered_from_is_none() -> None:
    """A review's YOLO26 run (Ultralytics 8.4, tests/fixtures/found/README.md): its own bar prints times past a minute
    as `m:ss` (`201/6848 2.7it/s 1:13<41:32`), which were not read (the epoch's time, `check`'s clock, stopped at its
    first minute); and its last frame runs into `WARNING ⚠️ CUDA OutOfMemoryError in TaskAlignedAssigner, using CPU`,
    after which it trains on: the run read as a crash by OOM quoting that warning."""
    name = "ultralytics_yolo26_own_bar_minutes_oom_warning.log.gz"
    fmt, recs = records(name, live=False)
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "yolo" and (steps[0].step, steps[-1].step, steps[-1].total_steps) == (1, 609, 684800)
    assert (steps[0].metrics["epoch_elapsed"], steps[0].metrics["epoch_eta"]) == (1.6, 2 * 3600 + 26 * 60 + 31)
    at = {r.step: r.metrics for r in steps}
    assert (at[201]["epoch_elapsed"], at[201]["epoch_eta"]) == (73.0, 41 * 60 + 32)
    assert (at[609]["epoch_elapsed"], at[609]["epoch_eta"]) == (220.0, 38 * 60 + 10)
    [warned] = [x for x in lines_of(name) if "OutOfMemoryError" in x]
    assert warned.endswith("3:40<38:10WARNING ⚠️ CUDA OutOfMemoryError in TaskAlignedAssigner, using CPU")
    assert not [r for r in recs if r.kind is Kind.EVENT]
