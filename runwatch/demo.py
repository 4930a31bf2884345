"""A simulated training run for `runwatch demo`: a real log file, written live.

The simulator writes nanochat-format lines (the same shapes as the real
8×H100 speedrun log in the test corpus) into a file in a temp dir, at a
pace set by `speed`, with faults planted where a watcher should notice them:
a loss spike, a NaN, and a stall. runwatch then follows that file exactly as
it follows a real one; nothing in the pipeline knows it is a demo.
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DemoPlan:
    total_steps: int = 1200
    steps_per_sec: float = 30.0
    eval_every: int = 200
    spike_at: int = 420
    spike_len: int = 8
    nan_at: int = 760
    stall_at: int = 950
    stall_s: float = 12.0
    checkpoint_every: int = 400


class DemoRun:
    """Writes the simulated log on a background thread; stop() ends it early."""

    def __init__(self, path: Path, plan: DemoPlan | None = None, *, speed: float = 1.0, seed: int = 0) -> None:
        self.path = path
        self.plan = plan or DemoPlan()
        self.speed = max(speed, 1e-3)
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="runwatch-demo", daemon=True)
        self.done = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _sleep(self, seconds: float) -> bool:
        """Wait scaled by speed; False if stopped meanwhile."""
        return not self._stop.wait(seconds / self.speed)

    def _run(self) -> None:
        try:
            with open(self.path, "a", buffering=1, encoding="utf-8") as f:
                self._write_run(f)
        finally:
            self.done.set()

    def _write_run(self, f) -> None:  # type: ignore[no-untyped-def]
        p = self.plan
        f.write("Vocab size: 32,768\nnum_params: 561,012,736\n")
        f.write(f"Total number of training steps: {p.total_steps:,}\n")
        if not self._sleep(1.5):  # the slow first step (compile, warmup)
            return
        elapsed = 0.0
        for step in range(p.total_steps):
            if step == p.stall_at and not self._sleep(p.stall_s):
                return
            if step % p.eval_every == 0:
                bpb = 1.0 + 2.2 * math.exp(-step / 300) + self._rng.uniform(-0.01, 0.01)
                f.write(f"Step {step:05d} | Validation bpb: {bpb:.6f}\n")
            f.write(self._step_line(step, elapsed) + "\n")
            dt = 1.0 / p.steps_per_sec
            elapsed += dt
            if step and step % p.checkpoint_every == 0:
                f.write(
                    f"2026-11-21 17:38:00,000 - nanochat.checkpoint_manager - \x1b[32m\x1b[1mINFO\x1b[0m"
                    f" - Saved model parameters to: /tmp/demo/base_checkpoints/d20/model_{step:06d}.pt\n"
                )
            if not self._sleep(dt):
                return
        f.write(f"Total training time: {elapsed / 60:.2f}m\n")

    def _step_line(self, step: int, elapsed: float) -> str:
        p = self.plan
        loss = 3.0 + 7.5 * math.exp(-step / 120) + self._rng.gauss(0, 0.03)
        gnorm = 0.35 + 0.6 * math.exp(-step / 80) + abs(self._rng.gauss(0, 0.02))
        if p.spike_at <= step < p.spike_at + p.spike_len:
            loss *= 2.6
            gnorm *= 9
        loss_s, gnorm_s = f"{loss:.6f}", f"{gnorm:.4f}"
        if step == p.nan_at:
            loss_s, gnorm_s = "nan", "nan"
        dt_ms = 1000.0 / p.steps_per_sec * (1 + self._rng.uniform(-0.03, 0.03))
        tok = int(524288 / (dt_ms / 1000))
        pct = 100 * step / p.total_steps
        remaining_m = (p.total_steps - step) * dt_ms / 60000
        eta = f" | eta: {remaining_m:.1f}m" if step > 10 else ""
        return (
            f"step {step:05d}/{p.total_steps:05d} ({pct:.2f}%) | loss: {loss_s} | grad norm: {gnorm_s} | "
            f"lrm: 1.00 | dt: {dt_ms:.2f}ms | tok/sec: {tok:,} | mfu: {48 + self._rng.uniform(-1, 1):.2f} | "
            f"epoch: 1 | total time: {elapsed / 60:.2f}m{eta}"
        )
