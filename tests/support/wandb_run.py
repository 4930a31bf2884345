"""A `.wandb` file the real wandb SDK writes (offline, in a subprocess).

The writer runs in a child process so wandb's service process and threads stay
out of the test process (and out of the thread-leak check). Each kind of run is
written once per session and shared by the W&B tests of both packages."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

STEPS = 60
NAN_STEP, SPIKE_STEP, BLOB_STEP, CRASH_TEXT_STEP = 17, 33, 40, 50
CONFIG = {"lr": 3e-4, "max_steps": STEPS, "model": {"d_model": 64, "n_layers": 2}, "name": "tiny"}
OOM_TEXT = ("Traceback (most recent call last):\n  File \"train.py\", line 1, in <module>\n"
            "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB")


def train_loss(i: int) -> float:
    return math.nan if i == NAN_STEP else 80.0 if i == SPIKE_STEP else round(4.0 * 0.97**i, 6)


def grad_norm(i: int) -> float:
    return math.inf if i == SPIKE_STEP else round(1.0 + 0.01 * i, 6)


def learning_rate(i: int) -> float:
    return 3e-4 * min(1.0, (i + 1) / 10)


def eval_loss(i: int) -> float | None:
    return round(4.2 * 0.97**i, 6) if i % 10 == 9 else None


def main_rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for i in range(STEPS):
        row: dict[str, object] = {"train/loss": train_loss(i), "train/grad_norm": grad_norm(i),
                                  "train/learning_rate": learning_rate(i), "perf/tokens_per_sec": 1000.0 + i}
        if (v := eval_loss(i)) is not None:
            row["eval/loss"] = v
        if i == 0:
            row["opt"] = {"beta1": 0.9}
        if i == 5:
            row["note"] = "warmup done"
        if i == BLOB_STEP:
            row["blob"] = "x" * 70_000  # a record across three blocks: first, middle and last chunks
        rows.append(row)
    return rows


WRITER = r"""
import json, sys, time
import wandb
plan = json.loads(sys.argv[1])
run = wandb.init(project="runwatch-test", config=plan["config"])
for i, row in enumerate(plan["rows"]):
    text = plan["stderr"].get(str(i))
    if text:
        print(text, file=sys.stderr, flush=True)
    run.log(row)
    if plan["delay"]:
        time.sleep(plan["delay"])
for key, value in plan["summary"].items():
    run.summary[key] = value
run.finish(exit_code=plan["exit_code"])
"""


def wandb_env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update({
        "WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DIR": str(root),
        "WANDB_CACHE_DIR": str(root / "cache"), "WANDB_CONFIG_DIR": str(root / "config"),
        "WANDB_DATA_DIR": str(root / "data"), "WANDB_X_TRANSACTION_LOG_FLUSH_INTERVAL": "1",
        "WANDB_DISABLE_CODE": "true", "WANDB_DISABLE_GIT": "true",
    })
    return env


def start_writer(root: Path, rows: list[dict[str, object]], *, delay: float = 0.0, exit_code: int = 0,
                 summary: dict[str, object] | None = None, stderr: dict[str, str] | None = None,
                 config: dict[str, object] | None = None) -> subprocess.Popen[bytes]:
    """A child process logging `rows` with the real SDK into `root/wandb/` (offline)."""
    root.mkdir(parents=True, exist_ok=True)
    plan = {"config": config if config is not None else CONFIG, "rows": rows, "delay": delay,
            "exit_code": exit_code, "summary": summary or {}, "stderr": stderr or {}}
    return subprocess.Popen([sys.executable, "-c", WRITER, json.dumps(plan)], cwd=root, env=wandb_env(root),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def finish_writer(proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    _, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]


_BUILT: dict[str, Path] = {}


def main_run_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The main run's `.wandb` file, written once per session (NaN, spike, multi-block record, OOM text)."""
    if "main" not in _BUILT:
        root = tmp_path_factory.mktemp("wandb-main")
        proc = start_writer(root, main_rows(), summary={"best_val_loss": 1.234},
                            stderr={str(CRASH_TEXT_STEP): OOM_TEXT})
        finish_writer(proc)
        (found,) = (root / "wandb").glob("offline-run-*/run-*.wandb")
        _BUILT["main"] = found
    return _BUILT["main"]
