"""W&B's own system metrics of the training machine, in runwatch's names and as a SystemSample.

The SDK logs `stats` records (`gpu.0.gpu`, `cpu.3.cpu_percent`,
`proc.memory.rssMB` …); the decoder turns them into EVENT `system_stats`
records named as runwatch's own samplers name things (`stats_name`), and
`system_sample()` turns one back into the SystemSample the GPU view draws
when this machine has no GPUs of its own to show.
"""

from __future__ import annotations

import math

from runwatch import patterns
from runwatch.model import GpuSample, HostSample, Record, SystemSample
from runwatch.parsers.pydict import snake

SYSTEM_STATS = "system_stats"
STATS_NAMES = {
    "gpu": "util", "memory": "mem_util", "memoryAllocated": "mem_percent", "memoryAllocatedBytes": "mem_used",
    "memoryTotal": "mem_total", "temp": "temp_c", "powerWatts": "power_w",
    "enforcedPowerLimitWatts": "power_limit_w", "powerPercent": "power_percent", "smClock": "sm_clock_mhz",
    "graphicsClock": "graphics_clock_mhz", "memoryClock": "mem_clock_mhz",
    "correctedMemoryErrors": "ecc_corrected", "uncorrectedMemoryErrors": "ecc_uncorrected",
    "fanSpeed": "fan_percent",
}
"""W&B's per-GPU stats (`gpu.<i>.<name>`) → runwatch's `gpu<i>_<name>`; others are snake_cased."""
_HOST_NAMES = {
    "cpu": "proc_cpu_percent", "memory_percent": "host_mem_percent",
    "proc.memory.availableMB": "host_mem_available_mb", "proc.memory.rssMB": "proc_rss_mb",
    "proc.memory.percent": "proc_mem_percent", "proc.cpu.threads": "proc_threads",
}
_GPU_KEY = patterns.compile(r"^gpu\.(process\.)?(\d+)\.(\w+)$")
_CPU_KEY = patterns.compile(r"^cpu\.(\d+)\.cpu_percent$")
_GPU_METRIC = patterns.compile(r"^gpu(\d+)_([a-z_]+)$")


def stats_name(key: str) -> str:
    """`gpu.0.gpu` → `gpu0_util`, `gpu.process.0.temp` → `gpu0_process_temp_c`, `cpu.3.cpu_percent` → `cpu3_percent`."""
    if m := _GPU_KEY.match(key):
        field = STATS_NAMES.get(m[3]) or snake(m[3])
        return f"gpu{m[2]}_{'process_' if m[1] else ''}{field}"
    if m := _CPU_KEY.match(key):
        return f"cpu{m[1]}_percent"
    return _HOST_NAMES.get(key) or snake(key)


def system_sample(rec: Record) -> SystemSample | None:
    """The SystemSample a `system_stats` record describes (the training machine's GPUs), for SystemState."""
    if rec.event != SYSTEM_STATS:
        return None
    fields: dict[int, dict[str, float]] = {}
    for name, value in rec.metrics.items():
        if m := _GPU_METRIC.match(name):
            fields.setdefault(int(m[1]), {})[m[2]] = value
    gpus = tuple(_gpu(index, f) for index, f in sorted(fields.items()))
    cores = [v for k, v in rec.metrics.items() if _is_core(k) and math.isfinite(v)]
    available = rec.metrics.get("host_mem_available_mb")
    host = HostSample(
        cpu_percent=sum(cores) / len(cores) if cores else None,
        mem_available=int(available * 2**20) if available is not None and math.isfinite(available) else None,
        cpus=len(cores) or None,
    )
    status = "remote: W&B system metrics of the training machine" if gpus else "unavailable: no GPU in W&B stats"
    return SystemSample(t=rec.t, gpus=gpus, gpu_status=status, host=host)


def _is_core(name: str) -> bool:
    return name.startswith("cpu") and name.endswith("_percent") and name[3:-8].isdigit()


def _gpu(index: int, f: dict[str, float]) -> GpuSample:
    def num(key: str) -> float | None:
        v = f.get(key)
        return v if v is not None and math.isfinite(v) else None

    def whole(key: str) -> int | None:
        v = num(key)
        return None if v is None else int(v)

    return GpuSample(
        index=index, util=num("util"), mem_util=num("mem_util"), mem_used=whole("mem_used"),
        mem_total=whole("mem_total"), temp_c=num("temp_c"), power_w=num("power_w"),
        power_limit_w=num("power_limit_w"), sm_clock_mhz=num("sm_clock_mhz") or num("graphics_clock_mhz"),
        ecc_corrected=whole("ecc_corrected"), ecc_uncorrected=whole("ecc_uncorrected"),
    )
