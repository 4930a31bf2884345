"""Rules that read the machine: GPUs (NVML), the training processes and the host (psutil).

They follow the `Rule` API of `base.py` but need a `SystemState` besides
the `RunTracker`, so each implements `check_system(run, system, now)`; the
engine calls `evaluate_system(run, system, now)` (or `evaluate_rule`, which
picks the right call for any rule). `evaluate(run, now)` with no system
still works: every rule then speaks only from the log events it declares
(`log_events`: io_stall's dataloader retries, gpu_health's Xid lines) or
stays silent, which is what each tells a replay (`speechless`) that gives
it no samples. Like every rule they are pure: time comes in as `now`,
windows are read from the tail of each series.

Windows ("over the last 60 s") average out single samples; `for` (the
lifecycle) asks the condition to hold for minutes where a short blip is
normal (a dataloader hiccup, an eval).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, ClassVar, TypeVar

import numpy as np

from runwatch.alerts.rules.base import Coming, Rule, RuleParams, duration
from runwatch.alerts.rules.tail import fmt_duration, history, tail
from runwatch.alerts.types import Finding
from runwatch.model import Event, GpuSample, Kind, ProcessSample, Record, RunState, Severity
from runwatch.state.run import RunTracker
from runwatch.state.system import SystemState, exited, window

GIB = float(1 << 30)
MIB = float(1 << 20)
STEP_METRICS = ("loss", "step_time", "lr", "tokens_per_sec", "samples_per_sec", "grad_norm")
EVAL_METRICS = ("val_loss", "val_bpb")

P = TypeVar("P", bound=RuleParams)


class SystemRule(Rule[P]):
    """A rule that reads a `SystemState` (None when system sampling is off) as well as the run."""

    needs_system: ClassVar[bool] = True
    log_events: ClassVar[frozenset[Event]] = frozenset()
    """The log's events this rule reads besides the machine (io_stall's dataloader retries, gpu_health's
    Xid lines): with no `SystemState` they alone can make it speak (`speechless_system`)."""

    def speechless(self, run: RunTracker, coming: Coming) -> bool:
        """As `evaluate(run, now)` judges: with no `SystemState` (what a replay gives every rule)."""
        return self.speechless_system(run, None, coming)

    def speechless_system(self, run: RunTracker, system: SystemState | None, coming: Coming) -> bool:
        """`speechless` for `evaluate_system(run, system, now)`. With samples never sure (a disabled rule
        aside): the coming rows say nothing of the machine. Without, `check_system` has only the run's
        events to read, and of them only `log_events`: sure while none is in the run or among the coming
        records (the run's events only grow by those), whatever the silences and values coming."""
        if super().speechless(run, coming):
            return True
        if system is not None:
            return False
        return not self.log_events or not any(
            r.event in self.log_events for records in (run.events, coming.records) for r in records)

    def evaluate(self, run: RunTracker, now: float) -> list[Finding]:
        return self.evaluate_system(run, None, now)

    def evaluate_system(self, run: RunTracker, system: SystemState | None, now: float) -> list[Finding]:
        if not self.params.enabled:
            return []
        return self.check_system(run, system, now)

    def check(self, run: RunTracker, now: float) -> list[Finding]:
        return self.check_system(run, None, now)

    def check_system(self, run: RunTracker, system: SystemState | None, now: float) -> list[Finding]:
        raise NotImplementedError

    def at_severity(self, f: Finding, severity: Severity) -> Finding:
        """`f` at `severity` (worse, or milder, than the rule's default), unless the config set one: it wins."""
        return f if self.params.severity is not None else replace(f, severity=severity)


def evaluate_rule(rule: Rule[Any], run: RunTracker, system: SystemState | None, now: float) -> list[Finding]:
    """What the engine calls for every rule: system rules get the SystemState, the others the run only."""
    if isinstance(rule, SystemRule):
        return rule.evaluate_system(run, system, now)
    return rule.evaluate(run, now)


def in_phase(run: RunTracker) -> bool:
    """Whether the run is inside an eval or checkpoint (the newest of those is at or past the newest step)."""
    step = run.progress.step
    if step is None:
        return False
    for name in EVAL_METRICS:
        found = tail(run, name, 1)
        if found is not None and found.x[-1] >= step:
            return True
    for rec in reversed(run.events[-8:]):
        if rec.kind == Kind.CHECKPOINT or rec.event == Event.CHECKPOINT_SAVED:
            return rec.step is not None and rec.step >= step
    return False


def stepping_since(run: RunTracker, now: float) -> float | None:
    """When the run's current stretch of plain stepping began: its first record, the end of its newest
    eval or checkpoint (the record that tells of one comes once it is done), or of its newest pause
    (`RunTracker.pause_ended_at`). GPU samples from before then (CUDA start-up and data loading before the
    first step, an eval's lighter load, a hang's idle GPU) say nothing of how well the steps use the GPU.
    None before the first record; a time past `now` (a log clock ahead of this machine's) is not trusted
    and leaves the whole window in."""
    since = run.progress.first_t
    if since is None:
        return None
    for name in EVAL_METRICS:
        found = tail(run, name, 1)
        if found is not None:
            since = max(since, float(found.t[-1]))
    for rec in reversed(run.events[-8:]):
        if rec.kind == Kind.CHECKPOINT or rec.event == Event.CHECKPOINT_SAVED:
            since = max(since, rec.t)
            break
    if run.pause_ended_at is not None:
        since = max(since, run.pause_ended_at)
    return since if since <= now else -math.inf


def _mean(v: np.ndarray) -> float | None:
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else None


def _covered(t: np.ndarray, now: float, seconds: float) -> bool:
    """The window holds at least two samples spanning most of it (a fresh GPU has no verdict yet)."""
    return len(t) >= 2 and t[-1] - t[0] >= 0.6 * seconds and now - t[-1] <= 0.5 * seconds


def _gpu_mean(system: SystemState, g: GpuSample, metric: str, now: float, seconds: float) -> float | None:
    t, v = window(system.gpu_series(g.index, metric), now, seconds)
    return _mean(v) if _covered(t, now, seconds) else None


def _gpu_list(indexes: list[int]) -> str:
    return ", ".join(str(i) for i in indexes)


# ── gpu_util_low ────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class GpuUtilLowParams(RuleParams):
    below: float = 40.0
    """Percent; a GPU whose mean utilisation over `window` is under this is idle."""
    window: float = duration(60.0)
    for_s: float = duration(300.0)


class GpuUtilLow(SystemRule[GpuUtilLowParams]):
    id = "gpu_util_low"
    default_severity = Severity.WARNING
    explanation = ("the run's GPUs average under `below`% utilisation while it steps (evals and checkpoints "
                   "excepted): a starved dataloader, CPU-bound code, or a wait")
    Params = GpuUtilLowParams

    def check_system(self, run: RunTracker, system: SystemState | None, now: float) -> list[Finding]:
        p = self.params
        if system is None or run.state(now) != RunState.RUNNING or in_phase(run) or run.paused(now):
            return []
        since = stepping_since(run, now)
        if since is None or now - since < p.window:
            return []  # not yet a whole window of stepping to judge
        low = []
        for g in system.run_gpus(run.run):
            mean = _gpu_mean(system, g, "util", now, p.window) if g.ok else None
            if mean is not None and mean < p.below:
                low.append((mean, g.index))
        if not low:
            return []
        low.sort()
        worst, idx = low[0]
        _, v = window(system.gpu_series(idx, "util"), now, p.for_s + p.window)
        return [self.finding(
            run, f"GPU utilisation {worst:.0f}% on GPU {_gpu_list(sorted(i for _, i in low))} "
                 f"(below {p.below:g}% over the last {fmt_duration(p.window)}) while the run is stepping",
            metric="gpu_util", value=worst, threshold=p.below, step=run.progress.step, history=history(v))]


# ── gpu_memory_high ─────────────────────────────────────────────────────────


@dataclass(frozen=True)
class GpuMemoryHighParams(RuleParams):
    above: float = 99.0
    """Percent of the GPU's memory in use (PyTorch's caching allocator keeps 90–97% normally)."""
    for_s: float = duration(120.0)


class GpuMemoryHigh(SystemRule[GpuMemoryHighParams]):
    id = "gpu_memory_high"
    default_severity = Severity.WARNING
    explanation = "a GPU of the run has more than `above`% of its memory in use: the next larger batch OOMs"
    Params = GpuMemoryHighParams

    def check_system(self, run: RunTracker, system: SystemState | None, now: float) -> list[Finding]:
        if system is None or run.state(now) == RunState.FINISHED:
            return []
        out = []
        for g in system.run_gpus(run.run):
            if not g.ok or not g.mem_total or g.mem_used is None:
                continue
            pct = 100.0 * g.mem_used / g.mem_total
            if pct > self.params.above:
                _, v = window(system.gpu_series(g.index, "mem_used"), now, 600.0)
                out.append(self.finding(
                    run, f"GPU {g.index} memory {g.mem_used / GIB:.1f} of {g.mem_total / GIB:.1f} GiB "
                         f"({pct:.1f}%, above {self.params.above:g}%)",
                    metric="gpu_mem", labels={"gpu": g.index}, value=pct, threshold=self.params.above,
                    history=history(v / GIB)))
        return out


# ── gpu_health ──────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class GpuHealthParams(RuleParams):
    temp_above: float = 85.0
    """°C held for `hold` (datacentre GPUs slow down near 87–90 °C)."""
    hold: float = duration(60.0)
    """How long a temperature or throttle condition must last (brief slowdowns are routine)."""
    throttle: tuple[str, ...] = ("thermal", "hw_thermal", "hw_slowdown", "power_brake")
    """Throttle reasons that count ("power", the software power cap, is normal under full load)."""
    ecc: bool = True
    """Uncorrected ECC errors that appeared while we watched (critical)."""
    lost: bool = True
    """A GPU that stopped answering NVML (critical)."""
    xid_window: float = duration(1800.0)
    """How long an Xid line from the log (kernel messages) keeps the alert up."""
    resolve_after_s: float = duration(120.0)


THROTTLE_BITS = {"power": 0x4, "hw_slowdown": 0x8, "thermal": 0x20, "hw_thermal": 0x40, "power_brake": 0x80}
XID_APPLICATION = {13: "graphics engine exception", 31: "GPU memory page fault", 43: "GPU stopped processing",
                   45: "preemptive cleanup after an earlier error"}
"""Xids an application fault usually causes (a bug, an illegal address): a warning, not a bad GPU."""
XID_HARDWARE = {48: "double-bit ECC error", 63: "ECC page retirement / row remap", 64: "row remap failure",
                74: "NVLink error", 79: "GPU has fallen off the bus", 92: "high single-bit ECC rate",
                94: "contained ECC error", 95: "uncontained ECC error", 119: "GSP timeout", 120: "GSP error",
                140: "unrecovered ECC error"}
"""Xids that mean the GPU (or its link) is failing: critical. Any other Xid is a warning."""


class GpuHealth(SystemRule[GpuHealthParams]):
    id = "gpu_health"
    default_severity = Severity.WARNING
    explanation = ("a GPU lost or new uncorrected ECC errors (critical), hotter than `temp_above` °C or "
                   "clock-throttled for thermal/hardware reasons for `hold`; Xid lines in the log")
    Params = GpuHealthParams
    log_events = frozenset({Event.XID})

    def check_system(self, run: RunTracker, system: SystemState | None, now: float) -> list[Finding]:
        out = self._xids(run, now)
        if system is None:
            return out
        for g in system.gpus:
            if not g.ok:
                if self.params.lost:
                    out.append(self._critical(run, g, "lost", f"GPU {g.index} cannot be read: {g.error}",
                                              value=str(g.error)))
                continue
            out.extend(self._gpu(run, system, g, now))
        return out

    def _gpu(self, run: RunTracker, system: SystemState, g: GpuSample, now: float) -> list[Finding]:
        p = self.params
        out = []
        first = system.gpu_first(g.index)
        base = first.ecc_uncorrected if first is not None and first.ecc_uncorrected is not None else 0
        if p.ecc and g.ecc_uncorrected is not None and g.ecc_uncorrected > base:
            out.append(self._critical(
                run, g, "ecc", f"GPU {g.index}: {g.ecc_uncorrected - base} new uncorrected ECC error(s) "
                               f"({g.ecc_uncorrected} since the driver loaded)", value=float(g.ecc_uncorrected)))
        t, temps = window(system.gpu_series(g.index, "temp_c"), now, p.hold)
        if _covered(t, now, p.hold) and temps.min() > p.temp_above:
            out.append(self.finding(
                run, f"GPU {g.index} at {temps[-1]:.0f} °C for {fmt_duration(p.hold)} (above {p.temp_above:g} °C)",
                metric="gpu_temp", labels={"gpu": g.index, "check": "temperature"}, value=float(temps[-1]),
                threshold=p.temp_above, history=history(temps)))
        mask = sum(THROTTLE_BITS.get(name, 0) for name in p.throttle)
        t, masks = window(system.gpu_series(g.index, "throttle_mask"), now, p.hold)
        if mask and _covered(t, now, p.hold) and all(int(m) & mask for m in masks):
            clock = f" (SM clock {g.sm_clock_mhz:.0f} MHz)" if g.sm_clock_mhz is not None else ""
            out.append(self.finding(
                run, f"GPU {g.index} clock-throttled ({', '.join(g.throttle)}) for {fmt_duration(p.hold)}{clock}",
                metric="gpu_throttle", labels={"gpu": g.index, "check": "throttle"},
                value=", ".join(g.throttle), history=history(_series_tail(system, g.index, "sm_clock_mhz", now))))
        return out

    def _xids(self, run: RunTracker, now: float) -> list[Finding]:
        """Xid lines (NVIDIA kernel messages) in the log within `xid_window`: one finding per Xid code."""
        since = now - self.params.xid_window
        latest: dict[int, Record] = {}
        for rec in run.events:
            if rec.event == Event.XID and (not rec.t or rec.t >= since):
                code = rec.metrics.get("xid")
                latest[79 if code is None or code != code else int(code)] = rec  # no code: "fallen off the bus"
        out = []
        for code, rec in sorted(latest.items()):
            what = XID_HARDWARE.get(code) or XID_APPLICATION.get(code) or "see NVIDIA's Xid catalog"
            f = self.finding(run, f"Xid {code} ({what}) in the log", metric="gpu_xid", labels={"xid": code},
                             value=float(code), context=(rec.message or "",))
            out.append(self.at_severity(f, Severity.CRITICAL) if code in XID_HARDWARE else f)
        return out

    def _critical(self, run: RunTracker, g: GpuSample, check: str, summary: str,
                  value: float | str | None) -> Finding:
        f = self.finding(run, summary, metric=f"gpu_{check}", labels={"gpu": g.index, "check": check}, value=value)
        return self.at_severity(f, Severity.CRITICAL)


def _series_tail(system: SystemState, index: int, metric: str, now: float) -> np.ndarray:
    return window(system.gpu_series(index, metric), now, 600.0)[1]


# ── gpu_straggler ───────────────────────────────────────────────────────────


@dataclass(frozen=True)
class GpuStragglerParams(RuleParams):
    window: float = duration(60.0)
    util_gap: float = 30.0
    """Points of utilisation below the median of the other GPUs."""
    power_ratio: float = 0.6
    """Power draw under this fraction of the other GPUs' median."""
    clock_drop: float = 0.15
    """SM clock this fraction below the other GPUs' median (a throttled GPU slows every rank)."""
    for_s: float = duration(300.0)


class GpuStraggler(SystemRule[GpuStragglerParams]):
    id = "gpu_straggler"
    default_severity = Severity.WARNING
    explanation = ("without per-rank logs: one GPU's utilisation, power or SM clock far below the other GPUs' "
                   "over `window` (the rank that holds every step back)")
    Params = GpuStragglerParams

    def check_system(self, run: RunTracker, system: SystemState | None, now: float) -> list[Finding]:
        p = self.params
        if system is None or len(run.ranks.snapshot()) >= 2 or run.state(now) != RunState.RUNNING or in_phase(run):
            return []  # a wait's spread still counts (unlike `gpu_util_low`): the one idle GPU of a hang is its rank
        gpus = [g for g in system.run_gpus(run.run) if g.ok]
        if len(gpus) < 2:
            return []
        means = {m: {g.index: _gpu_mean(system, g, m, now, p.window) for g in gpus} for m in _LAG_WORDS}
        ranks = system.rank_of(run.run)
        out = []
        for g in gpus:
            why = self._why(g.index, means)
            if why:
                rank = next((ranks[q.pid] for q in g.processes if q.pid in ranks), None)
                who = f"GPU {g.index}" if rank is None else f"GPU {g.index} (rank {rank})"
                out.append(self.finding(run, f"{who} lags the other GPUs: {why}", metric="gpu_spread",
                                        labels={"gpu": g.index}, step=run.progress.step))
        return out

    def _why(self, index: int, means: dict[str, dict[int, float | None]]) -> str:
        p = self.params
        limits = {"util": lambda ref: ref - p.util_gap, "power_w": lambda ref: p.power_ratio * ref,
                  "sm_clock_mhz": lambda ref: (1 - p.clock_drop) * ref}
        reasons = []
        for metric, (what, unit) in _LAG_WORDS.items():
            mine, ref = _vs_others(means[metric], index)
            if mine is not None and ref is not None and mine < limits[metric](ref):
                reasons.append(f"{what} {mine:.0f}{unit} vs {ref:.0f}{unit}")
        return "; ".join(reasons)


_LAG_WORDS = {"util": ("utilisation", "%"), "power_w": ("power", " W"), "sm_clock_mhz": ("SM clock", " MHz")}
"""GPU metric → how a straggler's reason names it, and its unit (`_why`, in this order)."""


def _vs_others(values: dict[int, float | None], index: int) -> tuple[float | None, float | None]:
    others = [v for i, v in values.items() if i != index and v is not None]
    return values.get(index), (float(np.median(others)) if others else None)


# ── io_stall ────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class IoStallParams(RuleParams):
    after: float = duration(120.0)
    """Least silence (no new step) that counts as stalled."""
    factor: float = 5.0
    """× the run's typical interval between step records, when longer than `after`."""
    phase_factor: float = 3.0
    """Budget multiplier during an eval or checkpoint (saving a checkpoint is I/O too)."""
    window: float = duration(60.0)
    """Span the system evidence is read over."""
    disk_sleep_fraction: float = 0.5
    """Share of samples with a run process in disk sleep (D state)."""
    iowait_above: float = 10.0
    """Host iowait percent (of all CPUs) averaged over `window`."""
    collapse_ratio: float = 0.1
    """Read rate over `window` under this fraction of the rate while steps still came."""
    min_read_bps: float = 1 * MIB
    """A baseline read rate worth comparing with."""
    retries: int = 5
    """Dataloader retry lines within `retry_window` that count on their own, without a stall."""
    retry_window: float = duration(300.0)


class IoStall(SystemRule[IoStallParams]):
    id = "io_stall"
    default_severity = Severity.WARNING
    explanation = ("steps stalled while a run process sits in disk sleep, host iowait is high, the read rate "
                   "collapsed or dataloader retries appear; or `retries` dataloader retries in `retry_window`")
    Params = IoStallParams
    log_events = frozenset({Event.DATALOADER_RETRY})

    def silence_s(self) -> float | None:
        return self._floor() if self.params.enabled else None

    def _floor(self) -> float:
        """What the budget is never below."""
        return self.params.after * min(1.0, self.params.phase_factor)

    def check_system(self, run: RunTracker, system: SystemState | None, now: float) -> list[Finding]:
        p = self.params
        retries = self._retries(run, now)
        last = run.last_record_t
        silence = None if last is None else now - last
        silent = silence is not None and silence > self._floor()
        if not silent and retries < p.retries:
            return []  # the usual evaluation ends here, before the costlier state and budget
        if run.state(now) not in (RunState.RUNNING, RunState.STALLED):
            return []
        if silent and silence is not None and silence > self._budget(run):
            evidence = self._evidence(run.run, system, now, last or now) if system is not None else []
            if retries:
                evidence.append(f"{retries} dataloader retr{'y' if retries == 1 else 'ies'} in the last "
                                f"{fmt_duration(p.retry_window)}")
            if evidence:
                return [self.finding(run, f"no new step for {fmt_duration(silence)} while " + "; ".join(evidence),
                                     value=silence, threshold=self._budget(run), step=run.progress.step)]
        if retries >= p.retries:
            return [self.finding(run, f"{retries} dataloader retries in the last {fmt_duration(p.retry_window)}",
                                 value=float(retries), threshold=float(p.retries), step=run.progress.step)]
        return []

    def _budget(self, run: RunTracker) -> float:
        interval = run.progress.record_interval_s or 0.0
        budget = max(self.params.after, self.params.factor * interval)
        return budget * self.params.phase_factor if in_phase(run) else budget

    def _retries(self, run: RunTracker, now: float) -> int:
        since = now - self.params.retry_window
        return sum(1 for r in run.events if r.event == Event.DATALOADER_RETRY and (not r.t or r.t >= since))

    def _evidence(self, name: str, system: SystemState, now: float, last_step_t: float) -> list[str]:
        """What the machine says of run `name`'s silence: its own processes in disk sleep or reading
        nothing any more (another run's do not speak for it), the host's iowait."""
        p = self.params
        out = []
        t, d = window(system.run_series("disk_sleep", name), now, p.window)
        if len(d) and float(np.mean(d > 0)) >= p.disk_sleep_fraction:
            who = [_who(q) for q in system.processes_of(name) if q.state == "disk-sleep"] or ["a run process"]
            out.append(f"{', '.join(who[:3])} in disk sleep {100 * float(np.mean(d > 0)):.0f}% of the last "
                       f"{fmt_duration(p.window)}")
        _, w = window(system.host_series("iowait_percent"), now, p.window)
        iowait = _mean(w)
        if iowait is not None and iowait > p.iowait_above:
            out.append(f"host iowait {iowait:.0f}%")
        collapsed = self._read_collapse(name, system, now, last_step_t)
        if collapsed:
            out.append(collapsed)
        return out

    def _read_collapse(self, name: str, system: SystemState, now: float, last_step_t: float) -> str | None:
        p = self.params
        series = system.run_series("rchar_bps", name)
        _, recent = window(series, now, p.window)
        _, before = window(series, last_step_t, 5 * p.window)
        if len(recent) < 2 or len(before) < 3:
            return None
        base, cur = float(np.median(before)), float(np.mean(recent))
        if base >= p.min_read_bps and cur < p.collapse_ratio * base:
            return f"its read rate fell to {cur / MIB:.1f} MiB/s from {base / MIB:.1f} MiB/s"
        return None


def _who(p: ProcessSample) -> str:
    return f"rank {p.rank} (pid {p.pid})" if p.rank is not None else f"{p.name or 'pid'} (pid {p.pid})"


# ── process_exit ────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class ProcessExitParams(RuleParams):
    resolve_after_s: float = duration(60.0)


class ProcessExit(SystemRule[ProcessExitParams]):
    id = "process_exit"
    default_severity = Severity.CRITICAL
    explanation = ("a training process (--pid, log writer, launcher or rank) exited and nothing replaced it: "
                   "critical with evidence of failure (a non-zero exit code or a signal runwatch saw, or a crash "
                   "in the log), else a warning naming what is missing; a clean exit (code 0) is not news")
    Params = ProcessExitParams

    def badge(self, severity: Severity) -> RunState | None:
        """The process ended before the run finished: crashed when critical (evidence of failure), ended
        when a warning (none: a script may end without a finish line)."""
        return RunState.CRASHED if severity == Severity.CRITICAL else RunState.ENDED

    def check_system(self, run: RunTracker, system: SystemState | None, now: float) -> list[Finding]:
        """Severity follows evidence. runwatch sees the exit code of its own children only; a process it
        found (the writer of a log, a `--pid`) just vanishes, and a script that ends normally without
        printing a finish line vanishes the same way. So an unknown exit is critical only when the log
        shows a crash; otherwise it is a warning that says why runwatch cannot tell."""
        if system is None:
            return []
        ended = exited(system.processes_of(run.run))
        failed = [q for q in ended if q.exit_code != 0]
        if not failed:
            return []
        state = run.state(now)
        finished = state == RunState.FINISHED
        if finished and all(q.exit_code is None for q in failed):
            return []
        known = [q for q in failed if q.exit_code is not None]
        first = (known or failed)[0]
        how = _how(first)
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        step = run.progress.step
        where = "" if step is None else f" at step {step}" + (
            f" of {run.progress.total}" if run.progress.total is not None else "")
        evidence = bool(known) or state == RunState.CRASHED or run.crash_printed  # its process gone: the end
        if finished:
            when = " after the run finished"
        elif evidence or run.progress.total is not None:
            when = f" before the run finished{where}"
        else:  # no total, no finish line, no failure: a script that ends so looks the same (seen on a GPU run)
            when = where
        unsure = "" if evidence else "; the log has no finish line and its exit code is unknown to runwatch"
        f = self.finding(run, f"{_who(first)} {how}{when}{more}{unsure}", value=_value(first), step=step)
        return [f if evidence and not finished else self.at_severity(f, Severity.WARNING)]


def _how(p: ProcessSample) -> str:
    if p.exit_code is not None:
        return f"exited with code {p.exit_code}" if p.exit_code >= 0 else f"was killed by signal {-p.exit_code}"
    return "is a zombie" if p.state == "zombie" else "is gone"


def _value(p: ProcessSample) -> float | str:
    return float(p.exit_code) if p.exit_code is not None else str(p.state)


# ── disk_low ────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class DiskLowParams(RuleParams):
    free_percent_below: float = 5.0
    free_gib_below: float = 10.0
    for_s: float = duration(60.0)


class DiskLow(SystemRule[DiskLowParams]):
    id = "disk_low"
    default_severity = Severity.WARNING
    explanation = ("the filesystem holding a log or checkpoint path has under `free_percent_below`% or "
                   "`free_gib_below` GiB free (the next checkpoint may not fit)")
    Params = DiskLowParams

    def check_system(self, run: RunTracker, system: SystemState | None, now: float) -> list[Finding]:
        host = None if system is None else system.host
        if host is None:
            return []
        p = self.params
        out = []
        for d in host.disks:
            pct = d.free_percent
            if pct is None or d.free_bytes is None:
                continue
            if pct < p.free_percent_below or d.free_bytes < p.free_gib_below * GIB:
                out.append(self.finding(
                    run, f"{d.free_bytes / GIB:.1f} GiB free ({pct:.1f}%) on the filesystem of {d.path}",
                    labels={"path": d.path}, value=pct, threshold=p.free_percent_below))
        return out


# ── host_memory ─────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class HostMemoryParams(RuleParams):
    available_below: float = 5.0
    """Percent of RAM still available, averaged over `window`."""
    swap_in_above: float = 10 * MIB
    """Bytes per second swapped in, averaged over `window` (a working set that no longer fits)."""
    window: float = duration(60.0)
    for_s: float = duration(120.0)


class HostMemory(SystemRule[HostMemoryParams]):
    id = "host_memory"
    default_severity = Severity.WARNING
    explanation = ("host memory pressure: under `available_below`% RAM available or swapping in more than "
                   "`swap_in_above` bytes/s (the OOM killer or a crawl is next)")
    Params = HostMemoryParams

    def check_system(self, run: RunTracker, system: SystemState | None, now: float) -> list[Finding]:
        if system is None or system.host is None or run.state(now) == RunState.FINISHED:
            return []
        p = self.params
        out = []
        t, avail = window(system.host_series("mem_available_percent"), now, p.window)
        mean = _mean(avail)
        if mean is not None and mean < p.available_below:
            out.append(self.finding(run, f"host memory {mean:.1f}% available (below {p.available_below:g}%)",
                                    metric="mem_available", value=mean, threshold=p.available_below,
                                    history=history(avail)))
        t, sin = window(system.host_series("swap_in_bps"), now, p.window)
        rate = _mean(sin)
        if rate is not None and rate > p.swap_in_above:
            out.append(self.finding(run, f"host swapping in {rate / MIB:.1f} MiB/s", metric="swap_in",
                                    value=rate, threshold=p.swap_in_above, history=history(sin)))
        return out


SYSTEM_RULES: tuple[type[SystemRule[Any]], ...] = (
    ProcessExit, GpuHealth, IoStall, DiskLow, HostMemory, GpuMemoryHigh, GpuUtilLow, GpuStraggler,
)
