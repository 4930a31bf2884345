"""The numbers of a run report, computed from the run state `runwatch check` builds: pure, no I/O.

Every figure the report prints and `--json` gives comes from here, so the
Markdown, the HTML and a script read the same numbers. What the sources do not
say stays None (the report says "not known"): a runtime is the run's own word
(the trainer's `train_runtime`, W&B's runtime, the log's elapsed time) before
runwatch's replay clock, which is only an estimate built from the logged step
times (`runtime_basis` says which).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from runwatch.model import Event, Kind, Record, SystemSample, json_number
from runwatch.present import FATAL_EVENTS, flat
from runwatch.report.curves import Curve, curve, first_of
from runwatch.report.preamble import Preamble
from runwatch.state.run import RunTracker

LOSS = ("loss", "train_loss")
VAL = ("val_loss", "val_bpb")
"""Validation metrics, the first one logged is the run's (nanochat logs bits per byte)."""
THROUGHPUT = ("tokens_per_sec", "samples_per_sec")
LR = ("lr", "lrm")
TAIL_SHARE = 0.10
"""The share of the run (by steps) whose slope says whether the loss still falls."""
FLAT_PCT = 1.0
"""A loss that moves less than this percent over the last 10% of the run is flat."""
STALL_FACTOR = 3.0
"""A step that took more than this many times the median step time lost its excess to a stall."""


@dataclass(frozen=True)
class AlertRow:
    """One alert as `runwatch check` reports it (runwatch.commands.check.Fired)."""

    rule: str
    severity: str
    labels: dict[str, Any]
    summary: str
    first_step: int | None
    last_step: int | None
    times: int
    end: str
    """"still firing at the end", "cleared before the end" or "resolved"."""


@dataclass(frozen=True)
class Overview:
    name: str
    source: str
    state: str
    """finished, crashed, ended or incomplete (check's words)."""
    cause: str | None
    """For a crashed run: the event that ended it and its line."""
    step: int | None
    total_steps: int | None
    start: float | None
    end: float | None
    runtime_s: float | None
    runtime_basis: str
    host: str | None
    hardware: str | None
    command: str | None
    records: int


@dataclass(frozen=True)
class Settings:
    """A table of settings and where they came from."""

    origin: str
    rows: list[tuple[str, str]]


@dataclass(frozen=True)
class LossNumbers:
    name: str
    start: float | None
    end: float | None
    minimum: float | None
    min_step: float | None
    tail_from_step: float | None
    tail_change_pct: float | None
    """Change of the fitted line over the last 10% of the run, percent of its level there."""
    per_1k_steps_pct: float | None
    trend: str | None
    """"falling", "flat" or "rising" over the last 10%."""
    nonfinite: int
    first_nonfinite_step: float | None
    val_name: str | None = None
    best_val: float | None = None
    best_val_step: float | None = None
    last_val: float | None = None
    gap_end: float | None = None
    """Last validation value minus the training loss at its step (positive: validation is worse)."""


@dataclass(frozen=True)
class ThroughputNumbers:
    name: str | None
    median: float | None
    p10: float | None
    mfu_median: float | None
    step_time_median_s: float | None
    stall_s: float | None
    stall_steps: int
    steps_s: float | None
    """Seconds all the steps took, as their step times add up (what `stall_s` is a share of)."""
    evals: int
    eval_s: float | None


@dataclass(frozen=True)
class CheckpointNumbers:
    count: int
    last: str | None
    last_step: int | None
    last_size_bytes: float | None
    write_s: float | None


@dataclass(frozen=True)
class RunNumbers:
    overview: Overview
    settings: list[Settings]
    loss: LossNumbers | None
    throughput: ThroughputNumbers
    checkpoints: CheckpointNumbers
    alerts: list[AlertRow]
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Strict JSON: non-finite numbers as "nan"/"inf" (DESIGN §2)."""
        out: dict[str, Any] = _strict(asdict(self))
        return out


def _strict(value: Any) -> Any:
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, dict):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    return value


@dataclass(frozen=True)
class RunFacts:
    """What `runwatch check` read of one run, as the report needs it."""

    name: str
    source: str
    tracker: RunTracker
    end: float
    state: str
    meta: Mapping[str, Any]
    samples: Sequence[SystemSample]
    alerts: list[AlertRow]
    notes: list[str]
    synthetic_time: bool
    """No source carried its own time: the run's times are the replay's estimate from step times."""
    preambles: Sequence[tuple[str, Preamble]] = ()
    """The settings each log printed at its top (its file name, what it printed)."""


def run_numbers(facts: RunFacts) -> RunNumbers:
    t = facts.tracker
    return RunNumbers(overview(facts), settings(facts.meta, facts.preambles), loss_numbers(t), throughput_numbers(t),
                      checkpoint_numbers(t.events), facts.alerts, facts.notes)


def overview(facts: RunFacts) -> Overview:
    t = facts.tracker
    meta = facts.meta
    run = _mapping(meta.get("run"))
    env = _mapping(meta.get("environment"))
    runtime, basis = runtime_of(facts)
    start = _number(run.get("start_time"))
    end = start + runtime if start is not None and runtime is not None else None
    cause = crash_cause(t.events) if facts.state == "crashed" else None
    name = facts.name + (f" (W&B run {run['name']})" if run.get("name") else "")
    machine = hardware(env, facts.samples) or next(
        (f"{h} (as the log says)" for _, p in facts.preambles if (h := p.hardware())), None)
    return Overview(name, facts.source, facts.state, cause, t.progress.step, t.progress.total, start, end,
                    runtime, basis, _str(run.get("host") or env.get("host")), machine,
                    _str(env.get("program")), t.records)


def runtime_of(facts: RunFacts) -> tuple[float | None, str]:
    """The run's runtime and what said it: the trainer's own figure, W&B's, the log's elapsed time, else
    the replay's sum of step times."""
    finished = [r for r in reversed(facts.tracker.events) if r.event == Event.FINISHED]
    for key, basis in (("train_runtime", "the trainer's train_runtime"), ("runtime", "the W&B run")):
        for rec in finished:
            v = rec.metrics.get(key)
            if v is not None and math.isfinite(v):
                return float(v), basis
    elapsed = curve(facts.tracker, "elapsed")
    if elapsed is not None and elapsed.finite.any():
        return float(np.nanmax(elapsed.hi)), "the log's elapsed time"
    snap = facts.tracker.snapshot(facts.end)
    if snap.progress.elapsed_s is not None:
        return snap.progress.elapsed_s, "the log's times"
    if facts.synthetic_time:
        took = stall_time(facts.tracker)[3]
        return (None, "not known") if took is None else (took, "the sum of the logged step times, an estimate")
    first = _first_step_time(facts.tracker)
    if first is None:
        return None, "not known"
    return facts.end - first, "the records' times"


def _first_step_time(t: RunTracker) -> float | None:
    c = first_of(t, LOSS + THROUGHPUT + ("step_time",))
    if c is None or not np.isfinite(c.t).any():
        return None
    return float(np.nanmin(c.t))


def hardware(env: Mapping[str, Any], samples: Sequence[SystemSample]) -> str | None:
    """GPU model and count from W&B's environment or the sampled GPUs, and the CPU count."""
    parts: list[str] = []
    gpus = [g for g in env.get("gpu_nvidia", ()) if isinstance(g, Mapping)]
    names = sorted({str(g.get("name")) for g in gpus if g.get("name")}) or ([str(env["gpu"])] if env.get("gpu") else [])
    count = _number(env.get("gpu_count")) or len(gpus)
    if not names:
        sampled = max(samples, key=lambda s: len(s.gpus), default=None)
        if sampled is not None and sampled.gpus:
            names = sorted({g.name for g in sampled.gpus if g.name})
            count = len(sampled.gpus)
    if names or count:
        parts.append(f"{int(count) if count else '?'} × {', '.join(names) or 'GPU'}")
    if env.get("cpu_count"):
        parts.append(f"{env['cpu_count']} CPUs")
    if _number(env.get("memory_total")):
        parts.append(f"{float(env['memory_total']) / 2**30:.0f} GiB memory")
    return ", ".join(parts) or None


def crash_cause(events: Sequence[Record]) -> str | None:
    """The last fatal event: its name and its line."""
    for rec in reversed(events):
        if rec.event in FATAL_EVENTS:
            step = f" at step {rec.step}" if rec.step is not None else ""
            return f"{rec.event}{step}: {rec.message}" if rec.message else f"{rec.event}{step}"
    return None


def settings(meta: Mapping[str, Any], preambles: Sequence[tuple[str, Preamble]] = ()) -> list[Settings]:
    """The config runwatch found, each table with its origin: W&B's, trainer_state.json's, and the
    `key: value` lines a log printed before its first loss."""
    out = []
    for key, origin in (("config", "the W&B run's config"), ("trainer_state", "trainer_state.json")):
        found = _mapping(meta.get(key))
        if found:
            out.append(Settings(origin, [(k, str(v)) for k, v in flat(found)]))
    out += [Settings(f"the lines {name} printed before its first loss", p.settings) for name, p in preambles
            if p.settings]
    return out


def loss_numbers(t: RunTracker) -> LossNumbers | None:
    c = first_of(t, LOSS)
    if c is None:
        return None
    ok = c.finite
    start = float(c.y[ok][0]) if ok.any() else None
    low = np.where(np.isfinite(c.lo), c.lo, np.inf)
    at = int(np.argmin(low)) if ok.any() else None
    change, per_1k, tail_from = tail_slope(c)
    bad = np.flatnonzero(c.nonfinite > 0)
    numbers = LossNumbers(c.name, start, c.last, float(low[at]) if at is not None else None,
                          float(c.x[at]) if at is not None else None, tail_from, change, per_1k, _trend(change),
                          int(c.nonfinite.sum()), float(c.x[bad[0]]) if bad.size else None)
    val = first_of(t, VAL)
    if val is None or not val.finite.any():
        return numbers if val is None else _with_val(numbers, val, None, None, None)
    vlow = np.where(np.isfinite(val.lo), val.lo, np.inf)
    best = int(np.argmin(vlow))
    gap = None
    last_ok = np.flatnonzero(val.finite)
    if ok.any() and last_ok.size and val.name == "val_loss" and math.isfinite(c.last):  # val_bpb is bits per byte, not the loss's nats
        i = int(last_ok[-1])
        gap = float(val.y[i] - np.interp(val.x[i], c.x[ok], c.y[ok]))
    return _with_val(numbers, val, float(vlow[best]), float(val.x[best]), gap)


def _with_val(n: LossNumbers, val: Curve, best: float | None, step: float | None, gap: float | None) -> LossNumbers:
    from dataclasses import replace

    return replace(n, val_name=val.name, best_val=best, best_val_step=step, last_val=val.last, gap_end=gap)


def tail_slope(c: Curve, share: float = TAIL_SHARE) -> tuple[float | None, float | None, float | None]:
    """(change over the last `share` of the run in percent of its level, the same per 1k steps, the step
    the window starts at) from a least-squares line through the finite values there."""
    ok = c.finite
    if ok.sum() < 3:
        return None, None, None
    x, y = c.x[ok], c.y[ok]
    lo, hi = float(x.min()), float(x.max())
    if hi <= lo:
        return None, None, None
    start = hi - share * (hi - lo)
    window = x >= start
    if window.sum() < 3:
        window = np.zeros(len(x), bool)
        window[-3:] = True
        start = float(x[window][0])
    slope, intercept = np.polyfit(x[window], y[window], 1)
    level = float(np.mean(y[window]))
    if level == 0:
        return None, None, start
    span = float(x[window].max() - x[window].min())
    change = float(slope) * span / abs(level) * 100.0
    return change, float(slope) * 1000.0 / abs(level) * 100.0, start


def _trend(change: float | None) -> str | None:
    if change is None:
        return None
    return "falling" if change < -FLAT_PCT else "rising" if change > FLAT_PCT else "flat"


def throughput_numbers(t: RunTracker) -> ThroughputNumbers:
    rate = first_of(t, THROUGHPUT)
    values = rate.y[rate.finite] if rate is not None else np.empty(0)
    mfu = curve(t, "mfu")
    mfu_ok = mfu.y[mfu.finite] if mfu is not None else np.empty(0)
    median_dt, stall, stalls, stepping = stall_time(t)
    val = first_of(t, VAL)
    evals = len(np.unique(val.x)) if val is not None else t.counts[Kind.EVAL]  # a W&B run repeats the log's
    eval_rt = curve(t, "eval_runtime")
    eval_s = float(np.nansum(eval_rt.y)) if eval_rt is not None and eval_rt.finite.any() else None
    return ThroughputNumbers(
        rate.name if rate is not None else None,
        float(np.median(values)) if values.size else None,
        float(np.percentile(values, 10)) if values.size else None,
        float(np.median(mfu_ok)) if mfu_ok.size else None,
        median_dt, stall, stalls, stepping, evals, eval_s)


def step_times(t: RunTracker) -> tuple[np.ndarray, np.ndarray] | None:
    """(step, seconds that step took): the logged step time, else the intervals between logged steps
    divided by the steps between them."""
    logged = curve(t, "step_time")
    if logged is not None and logged.finite.sum() >= 2:
        return logged.x[logged.finite], logged.y[logged.finite]
    c = first_of(t, LOSS + THROUGHPUT)
    if c is None or len(c) < 3:
        return None
    ok = np.isfinite(c.t)
    x, times = c.x[ok], c.t[ok]
    dx, dt = np.diff(x), np.diff(times)
    good = dx > 0
    return x[1:][good], dt[good] / dx[good]


def stall_time(t: RunTracker) -> tuple[float | None, float | None, int, float | None]:
    """(median step time, seconds lost to stalls, logged steps that stalled, seconds all steps took): a
    step longer than `STALL_FACTOR` × the median loses its excess over the median.

    A log that prints every 5th step stands each logged step time for the steps since the one before,
    except a slow one between two fast ones: that is one stalled step (nanoGPT's 75 s hang at iter 150
    is one iteration, not five)."""
    found = step_times(t)
    if found is None or not len(found[1]):
        return None, None, 0, None
    x, per = found
    median = float(np.median(per))
    slow = per > STALL_FACTOR * median
    span = np.diff(x, prepend=x[0] - 1.0)
    span = np.where(span > 0, span, 1.0)
    near = np.zeros(len(slow), bool)
    near[1:] |= slow[:-1]
    near[:-1] |= slow[1:]
    lasting = slow & near
    stalled = np.where(lasting, span, 1.0)  # steps each slow entry stands for
    lost = float(np.sum((per[slow] - median) * stalled[slow]))
    took = float(np.sum(np.where(slow, per * stalled + median * (span - stalled), per * span)))
    return median, lost, int(slow.sum()), took


def checkpoint_numbers(events: Sequence[Record]) -> CheckpointNumbers:
    """Complete checkpoints found on disk (the newest word on each), else the saves the log announced."""
    on_disk: dict[str, Record] = {}
    for r in events:
        if r.kind == Kind.CHECKPOINT:
            on_disk[r.source or r.message or ""] = r
    saved = [r for r in on_disk.values() if r.event == "complete"]
    if not on_disk:
        saved = [r for r in events if r.event == Event.CHECKPOINT_SAVED]
    if not saved:
        return CheckpointNumbers(0, None, None, None, None)
    last = max(saved, key=lambda r: (r.step if r.step is not None else -1, r.t))
    where = last.source if last.kind == Kind.CHECKPOINT and last.source else last.message
    return CheckpointNumbers(len(saved), where, last.step, last.metrics.get("size_bytes"), last.metrics.get("write_s"))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) else None


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


