"""A `Controller` with canned runs, for TUI tests, snapshots, the tmux test and benchmarks.

Its series are real `runwatch.state.series.Series`, downsampled the way the
engine does it, so the charts see the same min/max columns they will see live.
Everything is seeded and the clock is fixed: two runs of a test draw the same
screen. `live=True` makes every `snapshots()` call advance the runs, as a
training run followed at the TUI's refresh rate would.
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import replace
from typing import Any

import numpy as np

from runwatch.feed import Feed, Subscription
from runwatch.model import (
    AlertBrief,
    AlertState,
    ChartData,
    GpuSample,
    ProcessSample,
    ProcessState,
    Progress,
    RankProgress,
    RunSnapshot,
    RunState,
    Severity,
    XAxis,
)
from runwatch.state.series import Series
from runwatch.state.xaxis import columns_for

T0 = 1_790_000_000.0
TOTAL = 5568
NAN_STEP = 380
SPIKE_STEP = 1420
MARKUP_TRAP = "[bold red]this is log text, not markup[/] [/] [link=x]"
STEP_S = 0.9974
HANG = (2600, 900.0)
"""nanochat-d24 hangs 15 minutes after step 2600: nothing on a step axis, a hole on a wall-time axis."""


def _curves(steps: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Plausible training curves, with a grad-norm NaN and a loss spike planted."""
    n = len(steps)
    s = steps.astype(np.float64)
    loss = 2.3 + 4.5 * np.exp(-s / 420.0) + 0.05 * rng.standard_normal(n)
    loss[steps == SPIKE_STEP] = 6.9
    warm = np.minimum(1.0, s / 200.0)
    decay = np.where(s > 0.8 * TOTAL, 1.0 - (s - 0.8 * TOTAL) / (0.2 * TOTAL), 1.0)
    lr = 3e-4 * warm * decay
    gnorm = 0.4 + 1.6 * np.exp(-s / 300.0) + 0.08 * np.abs(rng.standard_normal(n))
    gnorm[steps == NAN_STEP] = math.nan
    step_time = 0.9974 + 0.01 * rng.standard_normal(n)
    return {
        "loss": loss,
        "lr": lr,
        "grad_norm": gnorm,
        "step_time": step_time,
        "tokens_per_sec": 524288 / step_time,
        "mfu": 48.0 + 0.5 * rng.standard_normal(n),
        "lrm": warm * decay,
        "loss_scale": np.full(n, 65536.0),
        "samples_per_sec": 512 / step_time,
    }


class FakeRun:
    """One run's canned state and series."""

    def __init__(self, name: str, step: int, *, seed: int, state: RunState = RunState.RUNNING,
                 keep: int = 4096, hang: tuple[int, float] | None = None) -> None:
        self.name = name
        self.hang = hang
        self.state = state
        self.rng = np.random.default_rng(seed)
        self.keep = keep
        self.series: dict[str, Series] = {}
        self.step = 0
        self.records = 0
        self.reading_history = False
        """What its snapshot says of its history (set it to show a run whose history is still read)."""
        self.extend(step)

    def extend(self, n: int) -> None:
        steps = np.arange(self.step + 1, self.step + n + 1)
        times = self.time_of(steps)
        for name, values in _curves(steps, self.rng).items():
            series = self.series.setdefault(name, Series(self.keep))
            for x, v, t in zip(steps.tolist(), values.tolist(), times.tolist(), strict=True):
                series.append(x, v, t)
        val = self.series.setdefault("val_loss", Series(self.keep))
        for x, t in zip(steps[steps % 200 == 0].tolist(), times[steps % 200 == 0].tolist(), strict=True):
            val.append(x, 2.45 + 4.2 * math.exp(-x / 420.0), t)
        self.step += n
        self.records += n


    def time_of(self, steps: np.ndarray) -> np.ndarray:
        """When each step was logged: a step every STEP_S from T0, and the run's hang."""
        times = T0 + steps * STEP_S
        if self.hang is not None:
            times = times + np.where(steps > self.hang[0], self.hang[1], 0.0)
        return np.asarray(times, np.float64)


class FakeController:
    """Canned snapshots and chart data; records what the TUI asked it to do."""

    def __init__(self, runs: list[FakeRun] | None = None, *, live: bool = False, advance: int = 5,
                 tick_s: float = 1.0, log: list[str] | None = None) -> None:
        self.runs = runs if runs is not None else canned_runs()
        self.live = live
        self.advance = advance
        self.tick_s = tick_s
        self.time = T0
        self.calls: list[tuple[Any, ...]] = []
        self.log = log if log is not None else canned_log()
        self.alerts: dict[str, tuple[AlertBrief, ...]] = {r.name: canned_alerts(r.name) for r in self.runs}
        self.chart_calls = 0
        self.feed: Feed[object] = Feed()
        """What the engine would push: publish a `Notification` here and the app shows it."""

    # -- Controller -----------------------------------------------------------------

    def snapshots(self) -> list[RunSnapshot]:
        if self.live:
            self.time += self.tick_s
            for r in self.runs:
                if r.state == RunState.RUNNING:
                    r.extend(self.advance)
        return [self._snapshot(r) for r in self.runs]

    def chart(self, run: str, metric: str, width: int, *, rank: int | None = None,
              last_steps: float | None = None, x: XAxis = XAxis.STEP) -> ChartData | None:
        self.chart_calls += 1
        fr = next((r for r in self.runs if r.name == run), None)
        series = fr.series.get(metric) if fr is not None else None
        if fr is None or series is None or not len(series):
            return None
        x_min = None if last_steps is None else series.latest[0] - last_steps  # type: ignore[index]
        c = columns_for(series, width, x_min, x, fr.series.get)  # as the engine fills it: min/max ignore NaN
        if c is None:
            return None
        return ChartData(run, metric, rank, c.x, c.ymin, c.ymax, c.ylast, (c.nan + c.inf).astype(np.int64),
                         len(series), c.mean, c.count)

    def log_tail(self, run: str, lines: int) -> list[str]:
        return self.log[-lines:]

    def silence(self, alert_key: str, duration_s: float, comment: str = "") -> str:
        self.calls.append(("silence", alert_key, duration_s, comment))
        return f"sil-{len(self.calls)}"

    def acknowledge(self, alert_key: str) -> None:
        self.calls.append(("acknowledge", alert_key))

    def set_paused(self, paused: bool) -> None:
        self.calls.append(("set_paused", paused))

    def subscribe(self) -> Subscription[object]:
        return self.feed.subscribe()

    # -- canned snapshot -------------------------------------------------------------

    def _snapshot(self, r: FakeRun) -> RunSnapshot:
        metrics = {name: s.latest[1] for name, s in r.series.items() if s.latest is not None}
        done = r.state == RunState.FINISHED
        sps = 1.0 / 0.9974
        progress = Progress(step=r.step, total_steps=TOTAL, percent=100.0 * r.step / TOTAL, steps_per_sec=sps,
                            tokens_per_sec=metrics.get("tokens_per_sec"),
                            eta_s=None if done else (TOTAL - r.step) / sps, elapsed_s=r.step / sps,
                            started_t=self.time - r.step / sps)  # watched live: its times are its own
        multi = r.name == self.runs[0].name
        ranks = {i: RankProgress(i, r.step - (4 if i == 5 else 0), self.time - 0.4,
                                 1.31 if i == 5 else 0.997) for i in range(8)} if multi else {}
        return RunSnapshot(
            run=r.name, source=f"logs/{r.name}.log", time=self.time, state=r.state, progress=progress,
            metrics=metrics, ranks=ranks, last_record_t=self.time - 0.4, records=r.records,
            format="picollm", alerts=self.alerts.get(r.name, ()),
            processes=(ProcessSample(4242, "python", ProcessState.RUNNING, cpu_percent=98.0, rss_bytes=12 * 2**30),)
            if multi else (),
            gpus=canned_gpus() if multi else (),
            gpu_status="ok" if multi else "unavailable: NVML library not found", reading_history=r.reading_history,
        )


def canned_runs() -> list[FakeRun]:
    return [copy.deepcopy(r) for r in _canned()]


@functools.cache
def _canned() -> tuple[FakeRun, ...]:
    """Built once per process (appending 80k points takes a while); callers get copies."""
    return (FakeRun("nanochat-d24", 3200, seed=1, hang=HANG),
            FakeRun("baseline-d20", TOTAL, seed=2, state=RunState.FINISHED))


def canned_alerts(run: str) -> tuple[AlertBrief, ...]:
    if run != "nanochat-d24":
        return ()
    return (
        AlertBrief("loss_spike", AlertState.RESOLVED, Severity.WARNING, "loss 6.9 is 3.1x its recent median",
                   {"metric": "loss"}, key=f"loss_spike|run={run}", since=T0 - 900, step=SPIKE_STEP, value=6.9),
        AlertBrief("nonfinite", AlertState.FIRING, Severity.CRITICAL, f"grad_norm is NaN at step {NAN_STEP}",
                   {"metric": "grad_norm", "rank": 0}, key=f"nonfinite|run={run}|metric=grad_norm",
                   since=T0 - 1500, step=NAN_STEP, value=math.nan),
        AlertBrief("straggler", AlertState.PENDING, Severity.WARNING, "rank 5 is 4 steps behind",
                   {"rank": 5}, key=f"straggler|run={run}|rank=5", since=T0 - 30, step=3196, value=4.0,
                   lagging_rank=True),
    )


def canned_gpus() -> tuple[GpuSample, ...]:
    return tuple(GpuSample(i, util=97 - 3 * i, mem_used=(60 + i) * 2**30, mem_total=80 * 2**30, temp_c=66 + 6 * i,
                           power_w=512.3 - 10 * i) for i in range(4))


def canned_log() -> list[str]:
    lines = [f"step {s:05d}/{TOTAL:05d} (57.47%) | loss: 2.3{s % 10:d}17 | lrm: 1.00 | dt: 997.40ms | "
             f"tok/sec: 525,656 | mfu: 48.12" for s in range(3180, 3190)]
    lines[3:3] = [
        f"step 00{NAN_STEP}/{TOTAL:05d} (6.82%) | loss: 3.4120 | grad norm: nan | dt: 997.40ms",
        "[rank5]:[W NCCL] WARN Call to ibv_reg_mr timed out, retrying",
        MARKUP_TRAP,
        "Traceback (most recent call last):",
        '  File "train.py", line 212, in <module>',
        "RuntimeError: CUDA error: an illegal memory access was encountered",
    ]
    return lines


def single_run(**kw: Any) -> FakeController:
    """One running run, no second one (the usual `runwatch tail train.log`)."""
    return FakeController(canned_runs()[:1], **kw)


def with_alerts(ctrl: FakeController, run: str, alerts: tuple[AlertBrief, ...]) -> FakeController:
    ctrl.alerts[run] = alerts
    return ctrl


def fired(alert: AlertBrief, **kw: Any) -> AlertBrief:
    return replace(alert, **kw)


WANDB_META = {
    "run": {"name": "nan-demo", "id": "mgc70s0x", "project": "runwatch-lab", "host": "gpu-node-1"},
    "config": {"learning_rate": {"value": 3e-4}, "optimizer": {"name": "adamw", "betas": [0.9, 0.95]},
               "per_device_train_batch_size": 16, "note": "\x1b]0;TITLE\x07evil\x1b[2J"},
    "summary": {"train/loss": 2.265, "_runtime": 3190.5, "train/global_step": 3200},
    "environment": {"python": "3.11.7", "os": "Linux"},
}
"""What a W&B run says about itself (the shape `wandb_meta.RunMeta` gives), with a config value that
tries to set the terminal's title and clear the screen."""


def with_meta(ctrl: FakeController, run: str, meta: dict[str, Any]) -> FakeController:
    """`ctrl` whose snapshots of `run` carry `meta` (as a W&B run's do)."""
    original = ctrl._snapshot

    def snapshot(r: FakeRun) -> RunSnapshot:
        snap = original(r)
        return replace(snap, meta=meta) if r.name == run else snap

    ctrl._snapshot = snapshot  # type: ignore[method-assign]
    return ctrl
