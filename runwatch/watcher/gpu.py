"""GPU telemetry through NVML, behind a small interface a fake can fill.

`NvmlApi` is the handful of NVML calls runwatch makes; `PynvmlApi` wraps
nvidia-ml-py and `nvml_fake.FakeNvml` plays scenarios for tests, so
`GpuSampler` runs the same code over both. Failure stays local (gpustat,
nvitop's NA): no library, driver or GPU leaves `gpus` empty with a one-line
status; a GPU that fails mid-run becomes a placeholder entry while the others
are read; a field the GPU does not support is None.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from runwatch.model import GpuProcess, GpuSample


class NvmlFailure(StrEnum):
    LIBRARY_NOT_FOUND = "NVML library not found"
    DRIVER_NOT_LOADED = "NVIDIA driver not loaded"
    NO_PERMISSION = "no permission to read the GPU"
    GPU_LOST = "GPU is lost"
    NOT_SUPPORTED = "not supported"
    UNINITIALIZED = "NVML not initialised"
    OTHER = "NVML error"


class NvmlError(Exception):
    """What an `NvmlApi` raises: a failure kind and NVML's own words."""

    def __init__(self, kind: NvmlFailure, detail: str = "") -> None:
        known = kind != NvmlFailure.OTHER or not detail
        super().__init__(kind.value if known else f"{kind.value}: {detail}")
        self.kind = kind
        self.detail = detail


class NvmlApi(Protocol):
    """The NVML calls the sampler makes (names after pynvml's, units as NVML gives them)."""

    def init(self) -> None: ...
    def shutdown(self) -> None: ...
    def device_count(self) -> int: ...
    def handle(self, index: int) -> Any: ...
    def name(self, handle: Any) -> str: ...
    def uuid(self, handle: Any) -> str: ...
    def utilization(self, handle: Any) -> tuple[int, int]:
        """(gpu %, memory %)."""
        ...

    def memory(self, handle: Any) -> tuple[int, int]:
        """(used bytes, total bytes)."""
        ...

    def temperature(self, handle: Any) -> int: ...
    def power_mw(self, handle: Any) -> int: ...
    def power_limit_mw(self, handle: Any) -> int: ...
    def sm_clock_mhz(self, handle: Any) -> int: ...
    def throttle_reasons(self, handle: Any) -> int: ...
    def ecc_errors(self, handle: Any, corrected: bool) -> int:
        """Volatile ECC error count (since the driver loaded)."""
        ...

    def compute_processes(self, handle: Any) -> list[tuple[int, int | None]]:
        """(pid, used GPU memory bytes or None) of each compute process."""
        ...


THROTTLE_NAMES = {
    0x4: "power",  # software power cap: normal under full load on most datacentre GPUs
    0x8: "hw_slowdown",
    0x20: "thermal",  # software thermal slowdown
    0x40: "hw_thermal",
    0x80: "power_brake",
}
"""NVML clocks-event reason bits worth a name (idle, app clocks, sync boost are not news)."""


def throttle_names(mask: int | None) -> tuple[str, ...]:
    if not mask:
        return ()
    return tuple(name for bit, name in THROTTLE_NAMES.items() if mask & bit)


class PynvmlApi:
    """`NvmlApi` over nvidia-ml-py (imported lazily: a missing package reads as a missing library)."""

    def __init__(self) -> None:
        self._nv: Any = None

    def init(self) -> None:
        try:
            import pynvml
        except ImportError as e:
            raise NvmlError(NvmlFailure.LIBRARY_NOT_FOUND, "nvidia-ml-py is not installed") from e
        self._nv = pynvml
        self._call(pynvml.nvmlInit)

    def shutdown(self) -> None:
        self._call(self._nv.nvmlShutdown)

    def device_count(self) -> int:
        return int(self._call(self._nv.nvmlDeviceGetCount))

    def handle(self, index: int) -> Any:
        return self._call(self._nv.nvmlDeviceGetHandleByIndex, index)

    def name(self, handle: Any) -> str:
        return _text(self._call(self._nv.nvmlDeviceGetName, handle))

    def uuid(self, handle: Any) -> str:
        return _text(self._call(self._nv.nvmlDeviceGetUUID, handle))

    def utilization(self, handle: Any) -> tuple[int, int]:
        u = self._call(self._nv.nvmlDeviceGetUtilizationRates, handle)
        return int(u.gpu), int(u.memory)

    def memory(self, handle: Any) -> tuple[int, int]:
        m = self._call(self._nv.nvmlDeviceGetMemoryInfo, handle)
        return int(m.used), int(m.total)

    def temperature(self, handle: Any) -> int:
        return int(self._call(self._nv.nvmlDeviceGetTemperature, handle, self._nv.NVML_TEMPERATURE_GPU))

    def power_mw(self, handle: Any) -> int:
        return int(self._call(self._nv.nvmlDeviceGetPowerUsage, handle))

    def power_limit_mw(self, handle: Any) -> int:
        return int(self._call(self._nv.nvmlDeviceGetEnforcedPowerLimit, handle))

    def sm_clock_mhz(self, handle: Any) -> int:
        return int(self._call(self._nv.nvmlDeviceGetClockInfo, handle, self._nv.NVML_CLOCK_SM))

    def throttle_reasons(self, handle: Any) -> int:
        return int(self._call(self._nv.nvmlDeviceGetCurrentClocksThrottleReasons, handle))

    def ecc_errors(self, handle: Any, corrected: bool) -> int:
        nv = self._nv
        kind = nv.NVML_MEMORY_ERROR_TYPE_CORRECTED if corrected else nv.NVML_MEMORY_ERROR_TYPE_UNCORRECTED
        return int(self._call(nv.nvmlDeviceGetTotalEccErrors, handle, kind, nv.NVML_VOLATILE_ECC))

    def compute_processes(self, handle: Any) -> list[tuple[int, int | None]]:
        procs = self._call(self._nv.nvmlDeviceGetComputeRunningProcesses, handle)
        return [(int(p.pid), _bytes_or_none(getattr(p, "usedGpuMemory", None))) for p in procs]

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._nv is None:
            raise NvmlError(NvmlFailure.UNINITIALIZED)
        try:
            return fn(*args)
        except self._nv.NVMLError as e:
            raise NvmlError(_failure(self._nv, e), str(e)) from e


def _failure(nv: Any, e: Any) -> NvmlFailure:
    kinds = {
        "NVML_ERROR_LIBRARY_NOT_FOUND": NvmlFailure.LIBRARY_NOT_FOUND,
        "NVML_ERROR_DRIVER_NOT_LOADED": NvmlFailure.DRIVER_NOT_LOADED,
        "NVML_ERROR_NO_PERMISSION": NvmlFailure.NO_PERMISSION,
        "NVML_ERROR_GPU_IS_LOST": NvmlFailure.GPU_LOST,
        "NVML_ERROR_NOT_SUPPORTED": NvmlFailure.NOT_SUPPORTED,
        "NVML_ERROR_UNINITIALIZED": NvmlFailure.UNINITIALIZED,
    }
    for const, kind in kinds.items():
        if getattr(e, "value", None) == getattr(nv, const, object()):
            return kind
    return NvmlFailure.OTHER


def _text(v: bytes | str) -> str:
    return v.decode(errors="replace") if isinstance(v, bytes) else str(v)


def _bytes_or_none(v: Any) -> int | None:
    # NVML reports "not available" as a huge sentinel (or None in newer bindings).
    return int(v) if isinstance(v, int) and 0 <= v < 1 << 60 else None


T = TypeVar("T")

FIELDS = (
    "utilization",
    "memory",
    "temperature",
    "power_mw",
    "power_limit_mw",
    "sm_clock_mhz",
    "throttle_reasons",
    "ecc_uncorrected",
    "ecc_corrected",
    "compute_processes",
)


class GpuSampler:
    """Reads every GPU through an `NvmlApi`: `open()` once, `sample()` per tick, `close()` at exit.

    A field that raised NOT_SUPPORTED on a GPU is not asked again for that GPU
    (ECC on consumer cards, power on some boards), which keeps a tick cheap.
    """

    def __init__(self, api: NvmlApi | None = None) -> None:
        self.api: NvmlApi = api if api is not None else PynvmlApi()
        self._handles: list[Any] = []
        self._static: dict[int, tuple[str, str]] = {}
        self._unsupported: dict[int, set[str]] = {}
        self._open = False
        self.status = "off: GPU sampling not started"

    def open(self) -> None:
        """Initialise NVML once and find the GPUs; failure becomes `status`, never an exception."""
        if self._open:
            return
        try:
            self.api.init()
        except NvmlError as e:
            self.status = f"unavailable: {e}"
            return
        self._open = True
        try:
            count = self.api.device_count()
            self._handles = [self._handle(i) for i in range(count)]
        except NvmlError as e:
            self.status = f"unavailable: {e}"
            return
        self.status = "ok" if count else "unavailable: no GPU found"

    def _handle(self, index: int) -> Any:
        try:
            return self.api.handle(index)
        except NvmlError as e:
            return e

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        self._handles = []
        try:
            self.api.shutdown()
        except NvmlError:
            pass
        self.status = "off: GPU sampling stopped"

    @property
    def available(self) -> bool:
        return self._open and bool(self._handles)

    def sample(self) -> tuple[tuple[GpuSample, ...], str]:
        """Every GPU now (placeholders for failed ones) and a one-line status."""
        if not self.available:
            return (), self.status
        gpus = tuple(self._sample(i, h) for i, h in enumerate(self._handles))
        failed = [g for g in gpus if not g.ok]
        if not failed:
            self.status = "ok"
        elif len(failed) == len(gpus) > 1:
            self.status = f"degraded: no GPU could be read ({failed[0].error})"
        else:
            self.status = "degraded: " + "; ".join(f"GPU {g.index}: {g.error}" for g in failed)
        return gpus, self.status

    def _sample(self, index: int, handle: Any) -> GpuSample:
        if isinstance(handle, NvmlError):
            handle = self._handles[index] = self._handle(index)  # a GPU may come back after a reset
            if isinstance(handle, NvmlError):
                return GpuSample(index, error=str(handle))
        try:
            return self._read(index, handle)
        except NvmlError as e:
            return GpuSample(index, name=self._static.get(index, ("", ""))[0], error=str(e))

    def _read(self, index: int, h: Any) -> GpuSample:
        api = self.api
        if index not in self._static:
            self._static[index] = (api.name(h), api.uuid(h))
        name, uuid = self._static[index]
        util = self._field(index, "utilization", lambda: api.utilization(h), required=True)
        mem = self._field(index, "memory", lambda: api.memory(h))
        power = self._field(index, "power_mw", lambda: api.power_mw(h))
        limit = self._field(index, "power_limit_mw", lambda: api.power_limit_mw(h))
        mask = self._field(index, "throttle_reasons", lambda: api.throttle_reasons(h))
        procs = self._field(index, "compute_processes", lambda: api.compute_processes(h)) or []
        return GpuSample(
            index,
            name=name,
            uuid=uuid,
            util=None if util is None else float(util[0]),
            mem_util=None if util is None else float(util[1]),
            mem_used=None if mem is None else mem[0],
            mem_total=None if mem is None else mem[1],
            temp_c=_float(self._field(index, "temperature", lambda: api.temperature(h))),
            power_w=None if power is None else power / 1000.0,
            power_limit_w=None if limit is None else limit / 1000.0,
            sm_clock_mhz=_float(self._field(index, "sm_clock_mhz", lambda: api.sm_clock_mhz(h))),
            throttle_mask=mask,
            throttle=throttle_names(mask),
            ecc_uncorrected=self._field(index, "ecc_uncorrected", lambda: api.ecc_errors(h, False)),
            ecc_corrected=self._field(index, "ecc_corrected", lambda: api.ecc_errors(h, True)),
            processes=tuple(GpuProcess(pid, used) for pid, used in procs),
        )

    def _field(self, index: int, name: str, read: Callable[[], T], required: bool = False) -> T | None:
        """One reading; None when unsupported or refused. A lost GPU (or a failed `required` read) raises."""
        skip = self._unsupported.setdefault(index, set())
        if name in skip:
            return None
        try:
            return read()
        except NvmlError as e:
            if e.kind == NvmlFailure.NOT_SUPPORTED:
                skip.add(name)
                return None
            if required or e.kind in (NvmlFailure.GPU_LOST, NvmlFailure.UNINITIALIZED):
                raise
            return None


def _float(v: int | None) -> float | None:
    return None if v is None else float(v)
