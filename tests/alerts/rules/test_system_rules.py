"""The system rules on a fake clock: a RunTracker fed records and a SystemState fed samples.

Samples come every 2 s of fake time (as the sampler would take them); GPU
samples come from the fake NVML scenarios through the real GpuSampler where
a scenario exists, so the rules see what the sampler would hand them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from runwatch.alerts.lifecycle import AlertManager
from runwatch.alerts.rules import all_rules
from runwatch.alerts.rules.base import Coming
from runwatch.alerts.rules.stall import Stall
from runwatch.alerts.rules.system import (
    SYSTEM_RULES,
    DiskLow,
    GpuHealth,
    GpuMemoryHigh,
    GpuStraggler,
    GpuUtilLow,
    HostMemory,
    IoStall,
    ProcessExit,
    SystemRule,
    evaluate_rule,
)
from runwatch.alerts.types import Finding
from runwatch.config import rule_params
from runwatch.model import (
    AlertState,
    DiskSample,
    Event,
    GpuSample,
    HostSample,
    ProcessRole,
    ProcessSample,
    ProcessState,
    Record,
    RunState,
    Severity,
    SystemSample,
)
from runwatch.state.run import RunTracker
from runwatch.state.system import SystemState
from runwatch.watcher import nvml_fake
from runwatch.watcher.gpu import GpuSampler
from runwatch.watcher.nvml_fake import FakeNvml
from tests.support.rule_replay import T0, evaluation, event, feed, step

GIB = 1 << 30
MIB = 1 << 20
EVERY = 2.0

Gpus = Callable[[float], tuple[GpuSample, ...]]
Procs = Callable[[float], tuple[ProcessSample, ...]]
Host = Callable[[float], HostSample | None]


def training(steps: int = 600, total: int | None = 10_000) -> tuple[RunTracker, float]:
    """A run stepping once a second for `steps` seconds from T0."""
    return feed([step(i, total=total, loss=2.0, step_time=1.0) for i in range(steps)], dt=1.0)


def trainer(t: float) -> tuple[ProcessSample, ...]:
    return (ProcessSample(4242, "python", ProcessState.RUNNING, cpu_percent=100.0, rchar_bps=50e6),)


def healthy_host(t: float) -> HostSample:
    return HostSample(cpu_percent=30.0, iowait_percent=0.5, mem_total=512 * GIB, mem_available=300 * GIB,
                      swap_total=0, swap_used=0, swap_in_bps=0.0, disks=(DiskSample("/data", 1000 * GIB, 400 * GIB),))


def from_fake(fake: FakeNvml) -> Gpus:
    sampler = GpuSampler(fake)
    sampler.open()
    return lambda t: sampler.sample()[0]


def system(start: float, end: float, *, gpus: Gpus | None = None, procs: Procs = trainer,
           host: Host = healthy_host, state: SystemState | None = None) -> SystemState:
    """Samples every 2 s from `start` to `end` (inclusive)."""
    state = state or SystemState()
    t = start
    while t <= end + 1e-9:
        state.apply(SystemSample(t=t, processes=procs(t), gpus=gpus(t) if gpus else (), gpu_status="ok",
                                 host=host(t)))
        t += EVERY
    return state


def util_gpus(util: Callable[[float], float], n: int = 8) -> Gpus:
    fake = nvml_fake.healthy_node(n, pids=[4242] * n)
    sample = from_fake(fake)

    def gpus(t: float) -> tuple[GpuSample, ...]:
        for g in fake.gpus:
            g.util, g.jitter = int(util(t)), False
        return sample(t)
    return gpus


def step_on(run: RunTracker, first: int, start: float, end: float) -> None:
    """The run steps on once a second from `start` to `end`, from step `first` (no pause in between)."""
    t, i = start, first
    while t <= end + 1e-9:
        run.apply(dataclasses.replace(step(i, total=10_000, loss=2.0, step_time=1.0), t=t), t)
        t, i = t + 1.0, i + 1


def summaries(findings: list[Finding]) -> list[str]:
    return [f.summary for f in findings]


# ── gpu_util_low ────────────────────────────────────────────────────────────


def test_gpu_util_low_when_every_gpu_idles_while_the_run_steps() -> None:
    run, now = training()
    sysstate = system(now - 120, now, gpus=util_gpus(lambda t: 12))
    (f,) = GpuUtilLow().evaluate_system(run, sysstate, now)
    assert f.summary == ("GPU utilisation 12% on GPU 0, 1, 2, 3, 4, 5, 6, 7 (below 40% over the last 60s) "
                         "while the run is stepping")
    assert f.value == 12.0 and f.threshold == 40.0 and dict(f.labels) == {"run": "train", "metric": "gpu_util"}
    assert f.history[-1] == 12.0


def test_gpu_util_low_silent_on_busy_gpus_without_a_system_or_a_window() -> None:
    run, now = training()
    assert GpuUtilLow().evaluate_system(run, system(now - 120, now, gpus=util_gpus(lambda t: 97)), now) == []
    assert GpuUtilLow().evaluate(run, now) == []  # no SystemState: nothing to say
    assert GpuUtilLow().evaluate_system(run, system(now - 10, now, gpus=util_gpus(lambda t: 5)), now) == []


def test_gpu_util_low_ignores_eval_and_checkpoint_phases() -> None:
    run, now = training()
    run.apply(dataclasses.replace(evaluation(599, val_loss=2.1), t=now), now)
    assert GpuUtilLow().evaluate_system(run, system(now - 120, now, gpus=util_gpus(lambda t: 3)), now) == []
    run, now = training()
    run.apply(dataclasses.replace(event(Event.CHECKPOINT_SAVED), step=599, t=now), now)
    assert GpuUtilLow().evaluate_system(run, system(now - 120, now, gpus=util_gpus(lambda t: 3)), now) == []


def test_gpu_util_low_leaves_out_the_start_up_before_the_first_step() -> None:
    """Seen on an H100 beside a real nanoGPT run: ~10 s of CUDA start-up at 0% before the first step
    pulled a 60-s mean of ~50% stepping down to 38% (pending while the steps kept the GPU half busy)."""
    run, now = feed([step(i, total=10_000, loss=2.0, step_time=1.0) for i in range(30)], dt=1.0)
    first = now - 29  # half of the last minute was start-up
    start_up = util_gpus(lambda t: 0 if t < first else 50, n=1)
    assert GpuUtilLow().evaluate_system(run, system(now - 120, now, gpus=start_up), now) == []
    later = now + 40  # a whole window of stepping now: judged, and 50% is fine
    step_on(run, 30, now + 1, later)
    assert GpuUtilLow().evaluate_system(run, system(now - 120, later, gpus=start_up), later) == []
    idle = util_gpus(lambda t: 0 if t < first else 20, n=1)
    (f,) = GpuUtilLow().evaluate_system(run, system(now - 120, later, gpus=idle), later)
    assert f.value == 20.0  # the start-up's zeros are not in the mean either way


def test_gpu_util_low_waits_a_whole_window_after_an_eval() -> None:
    run, now = training()
    run.apply(dataclasses.replace(evaluation(590, val_loss=2.1), t=now - 20), now - 20)  # ended 20 s ago
    low = util_gpus(lambda t: 3)
    assert GpuUtilLow().evaluate_system(run, system(now - 120, now, gpus=low), now) == []
    later = now + 45
    step_on(run, 600, now + 1, later)
    assert len(GpuUtilLow().evaluate_system(run, system(now - 120, later, gpus=low), later)) == 1


def test_gpu_util_low_leaves_a_hang_to_stall() -> None:
    """Seen on an H200 (realruns/gpu_check.sh, gpu-nanogpt-hang): the steps stop, the GPU drops to 0% and the
    badge still reads running for half a minute; a short window judged the hang as a starved GPU."""
    rule = GpuUtilLow(GpuUtilLow.Params(window=15.0))
    run, last = training()  # a step a second, the newest at `last`
    idle = util_gpus(lambda t: 0, n=1)
    soon = last + 8  # within the run's pace (10 s at least): still stepping, and the GPU idles
    (f,) = rule.evaluate_system(run, system(last - 30, soon, gpus=idle), soon)
    assert f.value == 0.0
    later = last + 20  # no step for 20 intervals: a wait, whatever the badge says yet
    assert run.state(later) == RunState.RUNNING
    assert rule.evaluate_system(run, system(last - 30, later, gpus=idle), later) == []


def test_gpu_util_low_leaves_the_hang_out_of_the_window_after_it() -> None:
    """Seen on an H200 (realruns/gpu_check.sh, gpu-nanogpt-hang): the steps came again after a 75-s hang, the
    GPU was back at 56%, and a 15-s window still holding the hang's zeros went pending."""
    rule = GpuUtilLow(GpuUtilLow.Params(window=15.0))
    run, last = training()  # a step a second, the newest at `last`
    back = last + 75  # the hang ends: steps every second again
    step_on(run, 600, back, back + 4)
    assert run.pause_ended_at == back and not run.paused(back + 4)
    hang = util_gpus(lambda t: 0 if t < back else 56, n=1)
    assert rule.evaluate_system(run, system(last - 30, back + 4, gpus=hang), back + 4) == []
    t = back + 20  # a whole window of stepping since: judged on it alone, and 56% is fine
    step_on(run, 605, back + 5, t)
    assert rule.evaluate_system(run, system(last - 30, t, gpus=hang), t) == []
    starved = util_gpus(lambda t: 0 if t < back else 20, n=1)
    (f,) = rule.evaluate_system(run, system(last - 30, t, gpus=starved), t)
    assert f.value == 20.0  # still judged: a starved run after a hang fires, on its own samples


def test_gpu_util_low_fires_on_a_log_that_comes_in_bursts() -> None:
    """A review: `python train.py > log` block-buffers its stdout, and its lines arrive 20 at a time every
    20 s. Such a gap, shown again and again, is the run's rhythm, not a wait: a starved GPU still fires."""
    rule = GpuUtilLow()
    manager = AlertManager({rule.id: rule.timing})
    run, now = training(steps=120)  # a step a second, read as it came
    idle = util_gpus(lambda t: 10, n=1)
    sysstate = system(now - 60, now, gpus=idle)
    fired = None
    for k in range(1, 500):
        t = now + k
        if k % 20 == 0:  # a burst: the 20 steps since the last one, all read at once
            for i in range(120 + k - 20, 120 + k):
                run.apply(dataclasses.replace(step(i, total=10_000, loss=2.0, step_time=1.0), t=t), t)
        if k % 2 == 0:
            system(t, t, gpus=idle, state=sysstate)
        manager.update(rule.evaluate_system(run, sysstate, t), t)
        if fired is None and manager.alerts() and manager.alerts()[0].state is AlertState.FIRING:
            fired = k
    assert run.longest_arrival_gap_s == 20 and not run.paused(now + 499)
    assert fired is not None and fired < 400


def test_gpu_util_low_only_while_the_run_is_active() -> None:
    run, now = training(steps=100, total=99)  # finished
    assert GpuUtilLow().evaluate_system(run, system(now - 120, now, gpus=util_gpus(lambda t: 3)), now) == []
    waiting = RunTracker("train", "log")
    assert GpuUtilLow().evaluate_system(waiting, system(now - 120, now, gpus=util_gpus(lambda t: 3)), now) == []


def test_gpu_util_low_reads_only_the_runs_gpus() -> None:
    run, now = training()
    fake = nvml_fake.healthy_node(2, pids=[4242])
    fake.gpus[1].util, fake.gpus[1].processes = 0, [(777, GIB)]  # another job's idle GPU
    assert GpuUtilLow().evaluate_system(run, system(now - 120, now, gpus=from_fake(fake)), now) == []


def test_gpu_util_low_walks_pending_firing_resolved_on_a_fake_clock() -> None:
    rule = GpuUtilLow()
    manager = AlertManager({rule.id: rule.timing})
    fake = nvml_fake.healthy_node(1, pids=[4242])
    gpus = from_fake(fake)
    run, now = training(steps=120)
    sysstate = system(now - 60, now, gpus=gpus)
    states = []
    for k in range(1, 900):
        t = now + k
        run.apply(dataclasses.replace(step(120 + k, total=10_000, loss=2.0, step_time=1.0), t=t), t)
        fake.gpus[0].util = 10 if k < 500 else 97
        if k % 2 == 0:
            system(t, t, gpus=gpus, state=sysstate)
        manager.update(rule.evaluate_system(run, sysstate, t), t)
        states.append((k, manager.alerts()[0].state if manager.alerts() else None))
    changes = [(k, s) for (k, s), (_, before) in zip(states[1:], states, strict=False) if s != before]
    assert [s for _, s in changes] == [AlertState.PENDING, AlertState.FIRING, AlertState.RESOLVED]
    pending, firing, resolved = (k for k, _ in changes)
    assert firing - pending == 300  # for = 5m
    assert 500 < resolved < 500 + 60 + 300 + 10  # window drains, then resolve_after


# ── gpu_memory_high ─────────────────────────────────────────────────────────


def test_gpu_memory_high_per_gpu() -> None:
    run, now = training()
    fake = nvml_fake.healthy_node(2, pids=[4242, 4242])
    fake.gpus[1].mem_used = int(79.5 * GIB)
    (f,) = GpuMemoryHigh().evaluate_system(run, system(now - 10, now, gpus=from_fake(fake)), now)
    assert f.summary == "GPU 1 memory 79.5 of 80.0 GiB (99.4%, above 99%)"
    assert dict(f.labels)["gpu"] == 1 and f.severity == Severity.WARNING


# ── gpu_health ──────────────────────────────────────────────────────────────


def test_gpu_lost_mid_run_is_critical() -> None:
    run, now = training()
    sysstate = system(now - 20, now, gpus=from_fake(nvml_fake.gpu_lost_mid_run(8, index=3, after=4)))
    (f,) = GpuHealth().evaluate_system(run, sysstate, now)
    assert f.severity == Severity.CRITICAL and f.summary == "GPU 3 cannot be read: GPU is lost"
    assert dict(f.labels) == {"run": "train", "gpu": 3, "check": "lost", "metric": "gpu_lost"}


def test_new_uncorrected_ecc_errors_are_critical_old_ones_are_not() -> None:
    run, now = training()
    fake = nvml_fake.ecc_errors(8, index=2)
    gpus = from_fake(fake)
    sysstate = system(now - 20, now - 10, gpus=gpus)
    assert GpuHealth().evaluate_system(run, sysstate, now) == []  # 1 error from before we watched
    fake.gpus[2].ecc_uncorrected = 3
    system(now - 8, now, gpus=gpus, state=sysstate)
    (f,) = GpuHealth().evaluate_system(run, sysstate, now)
    assert f.severity == Severity.CRITICAL
    assert f.summary == "GPU 2: 2 new uncorrected ECC error(s) (3 since the driver loaded)"


def test_hot_and_throttled_gpu_for_a_minute() -> None:
    run, now = training()
    sysstate = system(now - 70, now, gpus=from_fake(nvml_fake.throttling(8, index=5)))
    found = GpuHealth().evaluate_system(run, sysstate, now)
    assert summaries(found) == ["GPU 5 at 91 °C for 60s (above 85 °C)",
                                "GPU 5 clock-throttled (thermal, hw_thermal) for 60s (SM clock 1155 MHz)"]
    assert {f.severity for f in found} == {Severity.WARNING}
    assert [dict(f.labels)["check"] for f in found] == ["temperature", "throttle"]


def test_brief_heat_and_the_power_cap_are_routine() -> None:
    run, now = training()
    fake = nvml_fake.healthy_node(2)
    gpus = from_fake(fake)
    sysstate = system(now - 70, now - 30, gpus=gpus)
    fake.gpus[0].temp_c, fake.gpus[0].throttle_mask = 90, 0x20  # the last 30 s only
    fake.gpus[1].throttle_mask = 0x4  # software power cap: normal at full load
    system(now - 28, now, gpus=gpus, state=sysstate)
    assert GpuHealth().evaluate_system(run, sysstate, now) == []


def test_xid_lines_in_the_log_count_without_any_system_sampling() -> None:
    run, now = feed([step(1), event(Event.XID, xid=79), event(Event.XID, xid=43), event(Event.XID)])
    found = GpuHealth().evaluate(run, now)
    assert summaries(found) == ["Xid 43 (GPU stopped processing) in the log",
                                "Xid 79 (GPU has fallen off the bus) in the log"]
    assert [f.severity for f in found] == [Severity.WARNING, Severity.CRITICAL]
    assert GpuHealth().evaluate(run, now + 3600) == []  # an old Xid lets the alert resolve


def test_configured_severity_wins_for_every_check() -> None:
    run, now = training()
    sysstate = system(now - 20, now, gpus=from_fake(nvml_fake.gpu_lost_mid_run(2, index=0, after=1)))
    rule = GpuHealth(rule_params(GpuHealth, {"severity": "info"}))
    assert [f.severity for f in rule.evaluate_system(run, sysstate, now)] == [Severity.INFO]


# ── gpu_straggler ───────────────────────────────────────────────────────────


def test_a_throttled_gpu_holds_back_the_others() -> None:
    run, now = training()
    sysstate = system(now - 70, now, gpus=from_fake(nvml_fake.throttling(8, index=5, pids=[4242] * 8)))
    (f,) = GpuStraggler().evaluate_system(run, sysstate, now)
    assert f.summary == "GPU 5 lags the other GPUs: SM clock 1155 MHz vs 1980 MHz"
    ranked = system(now - 70, now, gpus=from_fake(nvml_fake.throttling(8, index=5, pids=range(100, 108))),
                    procs=lambda t: tuple(ProcessSample(100 + r, "python", ProcessState.RUNNING,
                                                        role=ProcessRole.RANK, rank=r) for r in range(8)))
    (f,) = GpuStraggler().evaluate_system(run, ranked, now)
    assert f.summary.startswith("GPU 5 (rank 5) lags the other GPUs")
    assert dict(f.labels)["gpu"] == 5


def test_gpu_straggler_finds_an_idle_and_cold_gpu() -> None:
    run, now = training()
    fake = nvml_fake.healthy_node(4)
    fake.gpus[2].util, fake.gpus[2].power_mw = 40, 150_000
    (f,) = GpuStraggler().evaluate_system(run, system(now - 70, now, gpus=from_fake(fake)), now)
    assert f.summary == "GPU 2 lags the other GPUs: utilisation 40% vs 97%; power 150 W vs 507 W"


def test_gpu_straggler_names_the_idle_gpu_of_a_hang_too() -> None:
    """Unlike `gpu_util_low`, a wait is no reason for silence: the GPU that idles while the others spin in a
    collective is the rank the hang waits for."""
    run, last = training()
    later = last + 20  # no step for 20 of the run's intervals
    fake = nvml_fake.healthy_node(4)
    fake.gpus[1].util, fake.gpus[1].power_mw = 0, 90_000
    assert run.paused(later)
    (f,) = GpuStraggler().evaluate_system(run, system(later - 70, later, gpus=from_fake(fake)), later)
    assert f.summary.startswith("GPU 1 lags the other GPUs: utilisation 0%")


def test_gpu_straggler_leaves_per_rank_logs_to_straggler() -> None:
    run, now = feed([step(i // 2, rank=i % 2, loss=2.0) for i in range(400)])
    sysstate = system(now - 70, now, gpus=from_fake(nvml_fake.throttling(8, index=5)))
    assert GpuStraggler().evaluate_system(run, sysstate, now) == []


def test_gpu_straggler_quiet_on_a_healthy_node() -> None:
    run, now = training()
    assert GpuStraggler().evaluate_system(run, system(now - 70, now, gpus=from_fake(nvml_fake.healthy_node())),
                                          now) == []


# ── io_stall ────────────────────────────────────────────────────────────────


def stalled(silence: float = 300.0) -> tuple[RunTracker, float, float]:
    """A run that stepped for 10 minutes and then stopped `silence` seconds ago."""
    run, last = training()
    return run, last, last + silence


def in_disk_sleep(after: float) -> Procs:
    def procs(t: float) -> tuple[ProcessSample, ...]:
        state = ProcessState.DISK_SLEEP if t > after else ProcessState.RUNNING
        return (ProcessSample(4242, "python", state, rank=0, rchar_bps=50e6),)
    return procs


def test_io_stall_when_steps_stop_and_the_trainer_sits_in_disk_sleep() -> None:
    run, last, now = stalled()
    sysstate = system(last - 300, now, procs=in_disk_sleep(last))
    (f,) = IoStall().evaluate_system(run, sysstate, now)
    assert f.summary == "no new step for 5m while rank 0 (pid 4242) in disk sleep 100% of the last 60s"
    assert f.threshold == 120.0 and f.value == 300.0


def test_io_stall_on_high_iowait_or_a_collapsed_read_rate() -> None:
    run, last, now = stalled()

    def host(t: float) -> HostSample:
        return dataclasses.replace(healthy_host(t), iowait_percent=40.0 if t > last else 1.0)

    def reads(t: float) -> tuple[ProcessSample, ...]:
        return (ProcessSample(4242, "python", ProcessState.SLEEPING, rchar_bps=80e6 if t <= last else 0.1e6),)

    (f,) = IoStall().evaluate_system(run, system(last - 300, now, procs=reads, host=host), now)
    assert f.summary == ("no new step for 5m while host iowait 40%; "
                         "its read rate fell to 0.1 MiB/s from 76.3 MiB/s")


def test_io_stall_needs_both_a_stall_and_evidence() -> None:
    run, last, now = stalled()
    assert IoStall().evaluate_system(run, system(last - 300, now), now) == []  # a plain stall is stall's
    run, now = training()
    assert IoStall().evaluate_system(run, system(now - 300, now, procs=in_disk_sleep(now - 200)), now) == []


def test_io_stall_budget_follows_a_slow_run() -> None:
    run, now = feed([step(i, loss=2.0) for i in range(30)], dt=60.0)  # a step a minute
    sysstate = system(now - 300, now + 200, procs=in_disk_sleep(now))
    assert IoStall().evaluate_system(run, sysstate, now + 200) == []  # 200 s < 5 × 60 s
    assert len(IoStall().evaluate_system(run, system(now + 202, now + 400, procs=in_disk_sleep(now),
                                                     state=sysstate), now + 400)) == 1


def test_dataloader_retries_count_alone_and_as_evidence() -> None:
    run, now = feed([step(1, loss=2.0), *[event(Event.DATALOADER_RETRY) for _ in range(6)]])
    (f,) = IoStall().evaluate(run, now)  # no system sampling needed
    assert f.summary == "6 dataloader retries in the last 5m"
    run, now = feed([step(1, loss=2.0), event(Event.DATALOADER_RETRY)])
    assert IoStall().evaluate(run, now) == []
    (f,) = IoStall().evaluate(run, now + 200)
    assert f.summary == "no new step for 3m while 1 dataloader retry in the last 5m"


# ── speechless: when a replay may skip them ─────────────────────────────────


def coming(now: float, *records: Record) -> Coming:
    """An evaluation `now`, the end of a long silence, after `records` (a replay's quiet spell)."""
    return Coming(np.array([now]), np.array([600.0]), len(records), len(records), records=records)


@pytest.mark.parametrize(("rule", "word"), [(IoStall, Event.DATALOADER_RETRY), (GpuHealth, Event.XID)])
def test_without_samples_a_rule_that_reads_the_log_speaks_once_its_lines_come(
    rule: type[SystemRule[Any]], word: Event,
) -> None:
    """io_stall counts dataloader retry lines and gpu_health Xid lines with no system sampling: speechless
    through a long silence until one comes, or is in the run, and then it does speak."""
    run, now = training()
    assert rule().speechless(run, coming(now + 600, event(Event.NCCL_TIMEOUT), event(Event.CHECKPOINT_SAVED)))
    assert not rule().speechless(run, coming(now + 600, event(word)))
    run, now = feed([step(1, loss=2.0), event(word)])
    assert not rule().speechless(run, coming(now + 200))
    assert rule().evaluate(run, now + 200) != []
    assert rule(rule.Params(enabled=False)).speechless(run, coming(now + 200))


@pytest.mark.parametrize("rule", SYSTEM_RULES, ids=lambda r: r.id)
def test_a_system_rule_with_samples_is_never_speechless_and_without_them_hears_only_its_log_events(
    rule: type[SystemRule[Any]],
) -> None:
    """With samples, the coming rows say nothing of the machine: never sure (disabled aside). Without, a
    run holding any other event stays silent whenever it is judged, as speechless says."""
    run, now = training()
    sampled = system(now - 300, now, gpus=util_gpus(lambda t: 95.0))
    assert not rule().speechless_system(run, sampled, coming(now + 1))
    assert rule(rule.Params(enabled=False)).speechless_system(run, sampled, coming(now + 1))
    for word in (e for e in Event if e not in rule.log_events):
        run, now = feed([*(step(i, loss=2.0, step_time=1.0) for i in range(60)), event(word)])
        assert rule().speechless(run, coming(now + 4000))
        assert all(rule().evaluate(run, now + dt) == [] for dt in (1.0, 200.0, 600.0, 4000.0)), word


# ── process_exit ────────────────────────────────────────────────────────────


def procs_state(*procs: ProcessSample) -> SystemState:
    state = SystemState()
    state.apply(SystemSample(t=T0, processes=procs))
    return state


def gone(pid: int, code: int | None, role: ProcessRole = ProcessRole.MAIN, rank: int | None = None) -> ProcessSample:
    return ProcessSample(pid, "python", ProcessState.GONE, role=role, rank=rank, exit_code=code)


def alive(pid: int, role: ProcessRole = ProcessRole.MAIN, rank: int | None = None) -> ProcessSample:
    return ProcessSample(pid, "python", ProcessState.RUNNING, role=role, rank=rank)


@pytest.mark.parametrize(("procs", "summary", "severity"), [
    ((gone(1, 1),), "python (pid 1) exited with code 1 before the run finished at step 599 of 10000",
     Severity.CRITICAL),
    ((gone(1, None),), "python (pid 1) is gone before the run finished at step 599 of 10000; the log has no finish "
     "line and its exit code is unknown to runwatch", Severity.WARNING),
    ((gone(1, 0),), None, None),
    ((alive(1), gone(2, 1, ProcessRole.RANK, rank=3)),
     "rank 3 (pid 2) exited with code 1 before the run finished at step 599 of 10000", Severity.CRITICAL),
    ((alive(1), gone(2, 1, ProcessRole.RANK, rank=3), alive(5, ProcessRole.RANK, rank=3)), None, None),
    ((alive(1), gone(2, -9, ProcessRole.CHILD)), None, None),
    ((gone(1, None), gone(2, -9, ProcessRole.RANK, rank=0)),  # the signal is the evidence, and named first
     "rank 0 (pid 2) was killed by signal 9 before the run finished at step 599 of 10000 (and 1 more)",
     Severity.CRITICAL),
    ((gone(1, 1), alive(9)), None, None),  # a new main process (a restart) took over
])
def test_process_exit(procs: tuple[ProcessSample, ...], summary: str | None, severity: Severity | None) -> None:
    run, now = training()
    found = ProcessExit().evaluate_system(run, procs_state(*procs), now)
    assert summaries(found) == ([summary] if summary else [])
    assert [f.severity for f in found] == ([severity] if severity else [])


def test_an_unknown_exit_of_a_run_with_no_total_does_not_say_it_came_before_the_finish() -> None:
    """On a GPU, a nanoGPT-style loop (no total, no finish line) that ended cleanly after its last step, followed by
    `tail`, was told `python3 (pid 669) is gone before the run finished at step 1180`: nothing says the run had more
    to do. It says what is known: gone at that step, no finish line, the exit code unknown (a warning, as before)."""
    run, now = training(total=None)
    (f,) = ProcessExit().evaluate_system(run, procs_state(gone(1, None)), now)
    assert (f.severity, f.summary) == (Severity.WARNING, "python (pid 1) is gone at step 599; the log has no finish "
                                       "line and its exit code is unknown to runwatch")
    (f,) = ProcessExit().evaluate_system(run, procs_state(gone(1, 1)), now)  # a failure: the run did not finish
    assert (f.severity, f.summary) == (Severity.CRITICAL, "python (pid 1) exited with code 1 before the run finished "
                                       "at step 599")


def test_an_unknown_exit_is_critical_when_the_log_shows_a_crash() -> None:
    """The exit code of a process runwatch did not start is unknown; a crash in the log is the evidence."""
    run, now = feed([event("traceback", message="RuntimeError: boom")], tracker=training()[0], start=T0 + 600)
    (f,) = ProcessExit().evaluate_system(run, procs_state(gone(1, None)), now)
    assert f.severity == Severity.CRITICAL
    assert f.summary == "python (pid 1) is gone before the run finished at step 599 of 10000"


def test_process_exit_after_the_run_finished() -> None:
    run, now = training(steps=100, total=99)
    assert ProcessExit().evaluate_system(run, procs_state(gone(1, None)), now) == []
    (f,) = ProcessExit().evaluate_system(run, procs_state(gone(1, 137)), now)
    assert f.severity == Severity.WARNING and f.summary == "python (pid 1) exited with code 137 after the run finished"


TRAIN, OTHER = "/runs/train.log", "/runs/other.log"
"""The logs of run `train` (the tracker `feed` makes) and of another run the same engine follows."""


def two_runs(*procs: ProcessSample) -> SystemState:
    state = SystemState()
    state.attribute("train", TRAIN)
    state.attribute("other", OTHER)
    state.apply(SystemSample(t=T0, processes=procs))
    return state


def test_process_exit_hears_only_of_its_own_runs_processes() -> None:
    """One engine follows two runs: the other run's writer exiting is not this run's news, and the
    other's writer still alive does not hide this run's writer's exit."""
    run, now = training()
    theirs = dataclasses.replace(gone(2, 1), sources=(OTHER,))
    assert ProcessExit().evaluate_system(run, two_runs(alive(1), theirs), now) == []  # alive(1): nobody's
    assert ProcessExit().evaluate_system(run, two_runs(dataclasses.replace(alive(1), sources=(TRAIN,)), theirs),
                                         now) == []
    mine = dataclasses.replace(gone(1, 1), sources=(TRAIN,))
    (f,) = ProcessExit().evaluate_system(run, two_runs(mine, dataclasses.replace(alive(2), sources=(OTHER,))), now)
    assert f.summary == "python (pid 1) exited with code 1 before the run finished at step 599 of 10000"
    assert f.severity == Severity.CRITICAL


def test_io_stall_reads_only_its_own_runs_processes() -> None:
    """Another run's process in disk sleep is no evidence of this run's stall."""
    run, last, now = stalled()

    def theirs(t: float) -> tuple[ProcessSample, ...]:
        return tuple(dataclasses.replace(p, sources=(OTHER,)) for p in in_disk_sleep(last)(t))

    state = SystemState()
    state.attribute("train", TRAIN)
    state.attribute("other", OTHER)
    assert IoStall().evaluate_system(run, system(last - 300, now, procs=theirs, state=state), now) == []
    state.attribute("train", OTHER)  # the same process writing this run's log too: its evidence counts
    (f,) = IoStall().evaluate_system(run, system(now + 2, now + 62, procs=theirs, state=state), now + 62)
    assert "rank 0 (pid 4242) in disk sleep" in f.summary


# ── disk_low, host_memory ───────────────────────────────────────────────────


@pytest.mark.parametrize(("total", "free", "fires"), [
    (100, 3, True), (1000, 50, False), (100, 8, True), (10_000, 600, False),
])
def test_disk_low(total: int, free: int, fires: bool) -> None:
    run, now = training()

    def host(t: float) -> HostSample:
        return dataclasses.replace(healthy_host(t), disks=(DiskSample("/ckpt", total * GIB, free * GIB),))

    found = DiskLow().evaluate_system(run, system(now - 4, now, host=host), now)
    assert bool(found) is fires
    if fires:
        assert dict(found[0].labels)["path"] == "/ckpt" and "GiB free" in found[0].summary


def test_host_memory_pressure_and_swapping() -> None:
    run, now = training()

    def host(t: float) -> HostSample:
        return dataclasses.replace(healthy_host(t), mem_available=int(0.03 * 512 * GIB), swap_in_bps=50.0 * MIB)

    assert summaries(HostMemory().evaluate_system(run, system(now - 60, now, host=host), now)) == [
        "host memory 3.0% available (below 5%)", "host swapping in 50.0 MiB/s"]
    assert HostMemory().evaluate_system(run, system(now - 60, now), now) == []


# ── the family ──────────────────────────────────────────────────────────────


def test_a_healthy_node_raises_nothing() -> None:
    run, now = training()
    sysstate = system(now - 600, now, gpus=from_fake(nvml_fake.healthy_node(8, pids=[4242] * 8)))
    for cls in SYSTEM_RULES:
        assert cls().evaluate_system(run, sysstate, now) == [], cls.id


def test_rule_ids_are_new_and_params_load_from_config() -> None:
    taken = set(all_rules())
    for cls in SYSTEM_RULES:
        assert cls.id not in taken or all_rules()[cls.id] is cls, cls.id
        assert cls.explanation and cls.default_severity in Severity
        rule_params(cls, {"enabled": False, "for": "30s"})
    params = rule_params(GpuUtilLow, {"below": 30, "for": "10m"})
    assert (params.below, params.for_s) == (30.0, 600.0)  # type: ignore[attr-defined]


def test_disabled_rule_says_nothing() -> None:
    run, now = training()
    rule = GpuUtilLow(rule_params(GpuUtilLow, {"enabled": False}))
    assert rule.evaluate_system(run, system(now - 120, now, gpus=util_gpus(lambda t: 3)), now) == []


def test_evaluate_rule_passes_the_system_only_to_system_rules() -> None:
    run, now = training()
    sysstate = procs_state(gone(1, 2))
    assert summaries(evaluate_rule(ProcessExit(), run, sysstate, now))
    assert evaluate_rule(Stall(), run, sysstate, now) == []
    assert isinstance(ProcessExit(), SystemRule) and not isinstance(Stall(), SystemRule)
