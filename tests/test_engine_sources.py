"""The engine following a run directory whose structured sources (metric files, TensorBoard events,
checkpoints, W&B) are written after it started, as `runwatch tail runs/exp1/` before the first step."""

from __future__ import annotations

import importlib.util
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from runwatch.engine import Engine, EngineOptions
from runwatch.model import Kind, RunSnapshot
from tests.support.nanochat import nanochat_line
from tests.support.waiting import wait_for

try:
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
except ImportError:  # the optional `tensorboard` extra
    event_pb2 = None
needs_tensorboard = pytest.mark.skipif(event_pb2 is None, reason="the tensorboard extra is not installed")

# watchdog warns, harmlessly, when `mkdir -p` races its recursive watch setup.
pytestmark = pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")


def options(poll_only: bool = False) -> EngineOptions:
    return EngineOptions(poll_interval=0.1, poll_only=poll_only, system=False)


def followers_of(path: Path) -> list[str]:
    """Names of the live threads following `path` (a follower is named after the file it reads)."""
    return [t.name for t in threading.enumerate() if t.is_alive() and t.name.endswith("-" + path.name)]


def only(eng: Engine) -> RunSnapshot:
    [snap] = eng.snapshots()
    return snap


def steps_with(eng: Engine, metric: str) -> list[float]:
    chart = eng.chart(only(eng).run, metric, 1000)
    return [] if chart is None else list(chart.x)


@pytest.mark.parametrize("poll_only", [False, True], ids=["inotify", "poll"])
def test_a_metrics_csv_written_after_start_is_followed_once(tmp_path: Path, poll_only: bool) -> None:
    run_dir = tmp_path / "exp1"
    run_dir.mkdir()
    csv = run_dir / "lightning_logs" / "version_0" / "metrics.csv"
    with Engine([str(run_dir)], options(poll_only)) as eng:
        assert only(eng).records == 0
        csv.parent.mkdir(parents=True)
        csv.write_text("epoch,step,train_loss\n0,9,2.5\n0,19,2.25\n")
        wait_for(lambda: only(eng).progress.step == 19)
        with csv.open("a") as f:
            f.write("0,29,2.0\n")
        snap = wait_for(lambda: next((s for s in eng.snapshots() if s.progress.step == 29), None))
        assert len(followers_of(csv)) == 1
        assert steps_with(eng, "loss") == [9.0, 19.0, 29.0]
    assert snap.metrics["loss"] == 2.0
    assert snap.format == "csv_rows"
    assert snap.records == 3  # each row once


@needs_tensorboard
def test_a_tensorboard_writer_started_after_the_engine_is_followed(tmp_path: Path) -> None:
    run_dir = tmp_path / "exp1"
    run_dir.mkdir()
    (run_dir / "train.log").write_text("starting\n")
    with Engine([str(run_dir)], options()) as eng:
        writer = EventFileWriter(str(run_dir / "tb"), flush_secs=3600)
        try:
            for step in range(3):
                writer.add_event(scalar(step, train__loss=2.0 - step / 4))
            writer.flush()
            wait_for(lambda: only(eng).progress.step == 2)
            writer.add_event(scalar(3, train__loss=1.0))
            writer.flush()
            snap = wait_for(lambda: next((s for s in eng.snapshots() if s.progress.step == 3), None))
        finally:
            writer.close()
        [events_file] = (run_dir / "tb").glob("events.out.tfevents.*")
        assert len(followers_of(events_file)) == 1
        assert steps_with(eng, "loss") == [0.0, 1.0, 2.0, 3.0]
    assert snap.metrics["loss"] == 1.0


def scalar(step: int, **values: float) -> Any:
    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=k.replace("__", "/"), simple_value=v)
                                         for k, v in values.items()])
    return event_pb2.Event(wall_time=1_700_000_000.0 + step, step=step, summary=summary)


def test_a_first_checkpoint_written_after_start_is_reported(tmp_path: Path) -> None:
    run_dir = tmp_path / "exp1"
    run_dir.mkdir()
    log = run_dir / "train.log"
    log.write_text("".join(nanochat_line(i) for i in range(5)))
    with Engine([str(run_dir)], options()) as eng:
        wait_for(lambda: only(eng).progress.step == 4)
        ckpt = run_dir / "checkpoint-500"
        ckpt.mkdir()
        (ckpt / "model.safetensors").write_bytes(b"\0" * 4096)
        snap = wait_for(lambda: next((s for s in eng.snapshots()
                                      if any(e.kind == Kind.CHECKPOINT for e in s.events)), None))
        assert followers_of(run_dir).count("runwatch-checkpoints-exp1") == 1
    [event] = [e for e in snap.events if e.kind == Kind.CHECKPOINT]
    assert event.step == 500 and event.source == str(ckpt)
    assert snap.progress.step == 4  # the same run as the log's


def test_sources_present_at_start_are_not_attached_again(tmp_path: Path) -> None:
    run_dir = tmp_path / "exp1"
    csv = run_dir / "logs" / "metrics.csv"
    csv.parent.mkdir(parents=True)
    csv.write_text("step,train_loss\n1,3.0\n2,2.0\n")
    (run_dir / "wandb").mkdir()
    with Engine([str(csv), str(run_dir)], options()) as eng:  # the file also on its own: one follower still
        wait_for(lambda: any(s.progress.step == 2 for s in eng.snapshots()))
        late = run_dir / "eval" / "metrics.csv"
        late.parent.mkdir()
        late.write_text("step,val_loss\n2,2.5\n")
        wait_for(lambda: any("val_loss" in s.metrics for s in eng.snapshots()))
        with csv.open("a") as f:
            f.write("3,1.5\n")
        wait_for(lambda: any(s.progress.step == 3 for s in eng.snapshots()))
        names = [t.name for t in threading.enumerate() if t.name.startswith("runwatch-")]
        runs = {s.run: s for s in eng.snapshots()}
    assert names.count("runwatch-csv_rows-metrics.csv") == 2  # logs/metrics.csv and eval/metrics.csv
    assert names.count("runwatch-wandb-wandb") == 1
    assert runs["logs"].records == 3  # the explicit file's run: each row once
    assert runs["exp1"].metrics == {"val_loss": 2.5}  # the late file went to the directory's run


def test_format_wandb_reads_a_path_as_a_wandb_run_whatever_its_name(tmp_path_factory: pytest.TempPathFactory,
                                                                     tmp_path: Path) -> None:
    """`runwatch tail --format wandb PATH` (DESIGN §3 names `wandb` a format): a W&B transaction log
    under a name runwatch would not recognise is still followed as one, and its NaN judged."""
    if importlib.util.find_spec("wandb") is None:
        pytest.skip("needs the wandb package")
    from runwatch.alerting import Alerting
    from runwatch.config import load_config
    from tests.support.runs import WANDB_NAN_STEP, WANDB_STEPS, the_wandb_file, wandb_run

    odd = tmp_path / "exported.bin"  # no `.wandb` suffix, no run-* directory: nothing says "W&B" but the flag
    shutil.copyfile(the_wandb_file(wandb_run(tmp_path_factory)), odd)
    config = load_config(None)
    opts = EngineOptions(poll_interval=0.1, system=False, fmt="wandb")
    with Engine([str(odd)], opts, alerting=lambda: Alerting(config, persist=False)) as engine:
        wait_for(lambda: engine.snapshots()[0].progress.step == WANDB_STEPS - 1, timeout=20)
        alert = wait_for(lambda: next((a for s in engine.snapshots() for a in s.alerts if a.rule == "nonfinite"),
                                      None), timeout=10)
    assert alert.step == WANDB_NAN_STEP


def test_tail_dir_of_two_runs_follows_two_runs_as_check_reports_them(tmp_path: Path) -> None:
    """A nanochat pre-training log and an SFT log in one directory are two runs, live as in `check`:
    not one run with its step from one file and its tokens/s from the other (which raised a bogus
    throughput_drop and loss_spike)."""
    from runwatch.alerting import Alerting
    from runwatch.config import load_config
    from runwatch.plan import plan_runs

    raw = Path(__file__).parent / "fixtures" / "corpus" / "raw"
    for name in ("nanochat_pr492_speedrun_d24_feb01.training_output.log", "nanochat_pr657_sft_run.log"):
        (tmp_path / name).write_bytes((raw / name).read_bytes())
    planned = [(p.name, p.label) for p in plan_runs([str(tmp_path)])]
    config = load_config(None)
    with Engine([str(tmp_path)], EngineOptions(poll_interval=0.1, system=False),
                alerting=lambda: Alerting(config, persist=False)) as eng:
        def read_in() -> list[RunSnapshot] | None:
            snaps = eng.snapshots()
            return snaps if all(s.progress.step is not None and not s.reading_history for s in snaps) else None

        snaps = wait_for(read_in, timeout=60)
        assert [(s.run, s.source) for s in snaps] == planned
        pretrain, sft = snaps
        assert pretrain.progress.step == 16703 and (sft.progress.step or 0) >= 130
        wait_for(lambda: any(a.rule == "nonfinite" for s in eng.snapshots() if s.run == sft.run for a in s.alerts),
                 timeout=30)
        assert [a.rule for s in eng.snapshots() if s.run == pretrain.run for a in s.alerts] == []


def test_a_log_followed_before_it_is_written_that_turns_out_a_table_is_read_as_one(tmp_path: Path) -> None:
    """A review: `runwatch tail training.log` started before training (Keras's CSVLogger writes `training.log`, its
    default name) stayed `waiting`, no format, to the end, where `check` read its 10 rows: a path not there (or empty)
    when the run is planned is planned a log. Once its first lines come and they are a metrics table (a header with a
    step column, a row of numbers), it is followed as a metric file from its start, its log follower stopped: every
    row read, as `check` reads them. The real CSVLogger file, written as Keras writes it (its header with the first
    row, a row an epoch)."""
    from tests.support.paths import FIXTURES

    rows = (FIXTURES / "found" / "keras_csvlogger_training.log").read_bytes().splitlines(keepends=True)
    log = tmp_path / "training.log"
    with Engine([str(log)], options()) as eng:
        assert "to appear" in wait_for(lambda: only(eng).notes, timeout=30)[0]  # `waiting for …/training.log to appear`
        with log.open("ab") as f:
            f.write(rows[0] + rows[1])
            f.flush()
            wait_for(lambda: only(eng).records > 0, timeout=30)
            for row in rows[2:]:
                f.write(row)
                f.flush()
        snap = wait_for(lambda: next((s for s in eng.snapshots() if s.progress.step == 9), None), timeout=30)
        assert len(followers_of(log)) == 1  # the metric file's; the log's stopped
        assert steps_with(eng, "loss") == [float(e) for e in range(10)]  # each row once, the first among them
    assert snap.format == "csv_rows"
    assert snap.metrics["val_loss"] == 0.12048257887363434
    assert snap.records == 20  # ten training rows and their ten evaluations, as `check` reads the file
    assert snap.notes == ()  # no `waiting for … to appear` left of the log follower
