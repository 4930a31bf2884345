"""Runs as the frameworks leave them on disk, for `parse` and `check` to read: a W&B run the real SDK
writes offline, a Hugging Face checkpoint's trainer_state.json (real corpus excerpt), a Lightning
CSVLogger metrics.csv (real corpus rows, written the way CSVLogger writes), a truncated real log."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
from pathlib import Path

import pytest

from tests.support.corpus import trainer_state
from tests.support.lightning_csv import LightningCsv, corpus_rows
from tests.support.paths import FIXTURES
from tests.support.tensorboard import scalar
from tests.support.wandb_run import finish_writer, start_writer

HEALTHY = FIXTURES / "corpus/raw/nanochat_pr492_speedrun_d24_feb01.training_output.log"
SFT_NAN = FIXTURES / "corpus/raw/nanochat_pr657_sft_run.log"
needs_wandb = pytest.mark.skipif(importlib.util.find_spec("wandb") is None, reason="needs the wandb package")

WANDB_STEPS, WANDB_NAN_STEP = 200, 150
HF_NAN_STEP = 30
"""The second entry of the real trainer_state.json S1 (steps 15, 30, 45, eval 200, 2790, eval 2800)."""
CSV_NAN_STEP = 299
TB_STEPS, TB_NAN_STEP = 50, 20
TB_T0 = 1_700_000_000.0
"""`scalar`'s wall_time of step 0 (step s is written at TB_T0 + s)."""

_BUILT: dict[str, Path] = {}


def wandb_loss(i: int) -> float:
    return math.nan if i == WANDB_NAN_STEP else round(4.0 * 0.99**i, 6)


def wandb_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding `wandb/`: 200 steps logged by the real SDK (offline), loss NaN at step 150,
    config `max_steps` 200; written once per session, copied out by `copy_wandb_run`."""
    if "wandb" not in _BUILT:
        root = tmp_path_factory.mktemp("wandb-nan")
        rows = [{"train/loss": wandb_loss(i), "train/grad_norm": round(1.0 + i / 100, 4)} for i in range(WANDB_STEPS)]
        finish_writer(start_writer(root, rows, config={"max_steps": WANDB_STEPS, "lr": 3e-4}))
        _BUILT["wandb"] = root
    return _BUILT["wandb"]


def copy_wandb_run(src: Path, dest: Path) -> Path:
    shutil.copytree(src / "wandb", dest / "wandb", symlinks=True)
    return dest


def the_wandb_file(root: Path) -> Path:
    [found] = (root / "wandb").glob("offline-run-*/run-*.wandb")
    return found


def hf_state_doc(*, nan_step: int | None = HF_NAN_STEP) -> dict[str, object]:
    doc = trainer_state(0)
    for entry in doc["log_history"]:
        if entry.get("step") == nan_step and "grad_norm" in entry:
            entry["grad_norm"] = float("nan")  # json.dumps writes NaN, as transformers' json.dump does
    return doc


def hf_checkpoint(out: Path, *, settled: bool = True) -> Path:
    """`out/checkpoint-2800/trainer_state.json` (real S1 excerpt, grad_norm NaN at step 30);
    `settled`: its files dated a minute back, as a checkpoint written earlier is."""
    ckpt = out / "checkpoint-2800"
    ckpt.mkdir(parents=True)
    state = ckpt / "trainer_state.json"
    state.write_text(json.dumps(hf_state_doc(), indent=2))
    if settled:
        past = state.stat().st_mtime - 60
        os.utime(state, (past, past))
    return state


def lightning_csv(root: Path) -> Path:
    """`lightning_logs/version_0/metrics.csv` written as CSVLogger writes it (header rewrites included),
    the real corpus rows, `train_loss_step` NaN at step 299."""
    path = root / "lightning_logs" / "version_0" / "metrics.csv"
    path.parent.mkdir(parents=True)
    logger = LightningCsv(path)
    for row in corpus_rows():
        if row["step"] == str(CSV_NAN_STEP) and "train_loss_step" in row:
            row["train_loss_step"] = "nan"
        logger.log_metrics(row)
        logger.save()
    assert "nan" in path.read_text()
    return path


def truncated_log(path: Path, last_step: int = 145) -> Path:
    """The real 16,704-step run cut after its `step 00145/16704` line, as a log looks when the job died."""
    lines = HEALTHY.read_text().splitlines(keepends=True)
    end = next(i for i, line in enumerate(lines) if line.startswith(f"step {last_step:05d}/16704"))
    path.write_text("".join(lines[: end + 1]))
    return path


def tensorboard_events(log_dir: Path) -> Path:
    """An event file the real TensorBoard writer writes: `train/loss` for 50 steps, NaN at step 20."""
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(log_dir), flush_secs=3600)
    try:
        for step in range(TB_STEPS):
            writer.add_event(scalar(step, train__loss=math.nan if step == TB_NAN_STEP else 3.0 - step / 50))
    finally:
        writer.close()
    [path] = log_dir.glob("events.out.tfevents.*")
    return path

