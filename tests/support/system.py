"""A SystemState read as a status line shows it: the DESIGN §3 `process`, `gpus` and `gpu_status`."""

from __future__ import annotations

from typing import Any

from runwatch.model import GpuProcess, GpuSample, ProcessRole, ProcessSample, ProcessState
from runwatch.state.system import SystemState, gpus_status, processes_status

GIB = 1 << 30


def status_parts(state: SystemState) -> tuple[dict[str, Any] | None, list[dict[str, Any]], str]:
    """What a snapshot of `state` puts in a status object, as the engine and `status_object` make it."""
    return processes_status(state.processes), gpus_status(state.gpus, state.processes), state.gpu_status


def proc(pid: int, role: ProcessRole = ProcessRole.MAIN, state: ProcessState = ProcessState.RUNNING,
         **kw: Any) -> ProcessSample:
    """A process as the sampler reports it (named `python`)."""
    return ProcessSample(pid=pid, name="python", state=state, role=role, **kw)


def gpu(index: int, util: float | None = 97.0, pids: tuple[int, ...] = (), **kw: Any) -> GpuSample:
    """A busy H100 as NVML reports it, running `pids`."""
    return GpuSample(index, name="H100", util=util, mem_used=60 * GIB, mem_total=80 * GIB, temp_c=66.0,
                     power_w=512.34, power_limit_w=700.0, sm_clock_mhz=1980.0, throttle_mask=0,
                     ecc_uncorrected=0, processes=tuple(GpuProcess(p, GIB) for p in pids), **kw)
