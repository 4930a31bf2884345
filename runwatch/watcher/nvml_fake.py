"""A fake NVML behind the same `NvmlApi` as the real one, playing the scenarios tests need.

No test machine has a GPU, so `GpuSampler` is exercised against this: a
healthy 8-GPU node, one GPU lost mid-run, a throttling GPU, ECC errors, and
NVML (or the driver) missing. A `FakeGpu` is plain mutable state: a test may
also flip it between samples (`fake.gpus[3].lost = True`). Handles are GPU
indexes; every call on a lost GPU raises GPU_LOST as NVML does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from runwatch.watcher.gpu import NvmlError, NvmlFailure

GIB = 1 << 30
H100 = "NVIDIA H100 80GB HBM3"


@dataclass
class FakeGpu:
    name: str = H100
    util: int = 97
    mem_util: int = 45
    mem_used: int = 60 * GIB
    mem_total: int = 80 * GIB
    temp_c: int = 66
    power_mw: int = 512_300
    power_limit_mw: int = 700_000
    sm_clock_mhz: int = 1980
    throttle_mask: int = 0
    ecc_uncorrected: int = 0
    ecc_corrected: int = 0
    ecc_supported: bool = True
    processes: list[tuple[int, int | None]] = field(default_factory=list)
    jitter: bool = True
    """Vary utilisation by ±1 from read to read, as a real GPU does."""
    lost: bool = False
    lost_after: int | None = None
    """Become lost after this many utilisation reads (one per sample)."""
    reads: int = 0


class FakeNvml:
    """`NvmlApi` over `FakeGpu`s; `init_error` makes `init` fail as a machine without NVML does."""

    def __init__(self, gpus: Sequence[FakeGpu] = (), *, init_error: NvmlFailure | None = None) -> None:
        self.gpus = list(gpus)
        self.init_error = init_error
        self.init_calls = 0
        self.shutdown_calls = 0
        self.initialised = False

    def init(self) -> None:
        self.init_calls += 1
        if self.init_error is not None:
            raise NvmlError(self.init_error)
        self.initialised = True

    def shutdown(self) -> None:
        self._check()
        self.shutdown_calls += 1
        self.initialised = False

    def device_count(self) -> int:
        self._check()
        return len(self.gpus)

    def handle(self, index: int) -> int:
        self._gpu(index)
        return index

    def name(self, handle: int) -> str:
        return self._gpu(handle).name

    def uuid(self, handle: int) -> str:
        self._gpu(handle)
        return f"GPU-fake-{handle:04d}"

    def utilization(self, handle: int) -> tuple[int, int]:
        g = self._gpu(handle)
        g.reads += 1
        if g.lost_after is not None and g.reads > g.lost_after:
            g.lost = True
            raise NvmlError(NvmlFailure.GPU_LOST)
        wobble = (g.reads % 3) - 1 if g.jitter else 0
        return max(0, min(100, g.util + wobble)), g.mem_util

    def memory(self, handle: int) -> tuple[int, int]:
        g = self._gpu(handle)
        return g.mem_used, g.mem_total

    def temperature(self, handle: int) -> int:
        return self._gpu(handle).temp_c

    def power_mw(self, handle: int) -> int:
        return self._gpu(handle).power_mw

    def power_limit_mw(self, handle: int) -> int:
        return self._gpu(handle).power_limit_mw

    def sm_clock_mhz(self, handle: int) -> int:
        return self._gpu(handle).sm_clock_mhz

    def throttle_reasons(self, handle: int) -> int:
        return self._gpu(handle).throttle_mask

    def ecc_errors(self, handle: int, corrected: bool) -> int:
        g = self._gpu(handle)
        if not g.ecc_supported:
            raise NvmlError(NvmlFailure.NOT_SUPPORTED)
        return g.ecc_corrected if corrected else g.ecc_uncorrected

    def compute_processes(self, handle: int) -> list[tuple[int, int | None]]:
        return list(self._gpu(handle).processes)

    def _check(self) -> None:
        if not self.initialised:
            raise NvmlError(NvmlFailure.UNINITIALIZED)

    def _gpu(self, handle: int) -> FakeGpu:
        self._check()
        if not 0 <= handle < len(self.gpus):
            raise NvmlError(NvmlFailure.OTHER, f"invalid GPU index {handle}")
        g = self.gpus[handle]
        if g.lost:
            raise NvmlError(NvmlFailure.GPU_LOST)
        return g


# ── scenarios ───────────────────────────────────────────────────────────────


def healthy_node(n: int = 8, pids: Sequence[int] = ()) -> FakeNvml:
    """`n` busy H100s; GPU i runs `pids[i]` when given (one rank per GPU)."""
    gpus = [FakeGpu(temp_c=62 + i % 5, power_mw=505_000 + 2_000 * i) for i in range(n)]
    for i, pid in enumerate(pids[:n]):
        gpus[i].processes = [(pid, 58 * GIB)]
    return FakeNvml(gpus)


def gpu_lost_mid_run(n: int = 8, index: int = 3, after: int = 2, pids: Sequence[int] = ()) -> FakeNvml:
    """GPU `index` answers `after` samples, then falls off the bus (Xid 79)."""
    fake = healthy_node(n, pids)
    fake.gpus[index].lost_after = after
    return fake


def throttling(n: int = 8, index: int = 5, pids: Sequence[int] = ()) -> FakeNvml:
    """GPU `index` runs hot: thermal slowdown, a lower SM clock, and less power than its peers."""
    fake = healthy_node(n, pids)
    g = fake.gpus[index]
    g.temp_c, g.sm_clock_mhz, g.power_mw = 91, 1155, 380_000
    g.throttle_mask = 0x20 | 0x40
    return fake


def ecc_errors(n: int = 8, index: int = 2, pids: Sequence[int] = ()) -> FakeNvml:
    """GPU `index` has volatile uncorrected ECC errors (bump `ecc_uncorrected` to add more)."""
    fake = healthy_node(n, pids)
    fake.gpus[index].ecc_uncorrected = 1
    return fake


def consumer_card() -> FakeNvml:
    """One GPU without ECC support (a desktop card): ECC reads as not supported, nothing else breaks."""
    return FakeNvml(
        [
            FakeGpu(
                name="NVIDIA GeForce RTX 4090",
                mem_total=24 * GIB,
                mem_used=20 * GIB,
                power_limit_mw=450_000,
                ecc_supported=False,
            )
        ]
    )


def nvml_missing() -> FakeNvml:
    """No libnvidia-ml.so: a laptop, a CPU node, a container without the driver mounted."""
    return FakeNvml(init_error=NvmlFailure.LIBRARY_NOT_FOUND)


def driver_not_loaded() -> FakeNvml:
    return FakeNvml(init_error=NvmlFailure.DRIVER_NOT_LOADED)


def no_gpus() -> FakeNvml:
    return FakeNvml([])


SCENARIOS = {
    "healthy": healthy_node,
    "gpu_lost": gpu_lost_mid_run,
    "throttling": throttling,
    "ecc": ecc_errors,
    "consumer": consumer_card,
    "nvml_missing": nvml_missing,
    "driver_not_loaded": driver_not_loaded,
    "no_gpus": no_gpus,
}
