"""GpuSampler over the fake NVML scenarios, and the pynvml wrapper against a stand-in module.

No GPU here: the scenarios are what a real node does (healthy, a GPU lost
mid-run, throttling, ECC, no NVML), played through the same sampler code.
"""

from __future__ import annotations

import sys
import types
from typing import Any

import pynvml
import pytest

from runwatch.watcher import nvml_fake
from runwatch.watcher.gpu import GpuSampler, NvmlError, NvmlFailure, PynvmlApi, throttle_names
from runwatch.watcher.nvml_fake import GIB, FakeNvml


def opened(fake: FakeNvml) -> GpuSampler:
    s = GpuSampler(fake)
    s.open()
    return s


def test_healthy_node_reads_every_field_of_every_gpu() -> None:
    s = opened(nvml_fake.healthy_node(8, pids=[100 + i for i in range(8)]))
    gpus, status = s.sample()
    assert status == "ok"
    assert [g.index for g in gpus] == list(range(8))
    g = gpus[0]
    assert g.ok and g.name == nvml_fake.H100 and g.uuid == "GPU-fake-0000"
    assert 95 <= g.util <= 99
    assert (g.mem_used, g.mem_total) == (60 * GIB, 80 * GIB)
    assert g.power_w == pytest.approx(505.0) and g.power_limit_w == pytest.approx(700.0)
    assert g.temp_c == 62 and g.sm_clock_mhz == 1980 and g.throttle == () and g.ecc_uncorrected == 0
    assert [p.pid for p in g.processes] == [100]
    assert gpus[7].processes[0].pid == 107


def test_nvml_missing_leaves_no_gpus_and_says_why_in_one_line() -> None:
    s = opened(nvml_fake.nvml_missing())
    assert s.sample() == ((), "unavailable: NVML library not found")
    s.close()  # nothing was initialised: nothing to shut down


@pytest.mark.parametrize(("fake", "status"), [
    (nvml_fake.driver_not_loaded, "unavailable: NVIDIA driver not loaded"),
    (nvml_fake.no_gpus, "unavailable: no GPU found"),
])
def test_other_reasons_for_no_gpus(fake: Any, status: str) -> None:
    assert opened(fake()).sample() == ((), status)


def test_gpu_lost_mid_run_becomes_a_placeholder_while_the_others_are_read() -> None:
    s = opened(nvml_fake.gpu_lost_mid_run(8, index=3, after=2))
    for _ in range(2):
        gpus, status = s.sample()
        assert status == "ok" and all(g.ok for g in gpus)
    gpus, status = s.sample()
    assert status == "degraded: GPU 3: GPU is lost"
    lost = gpus[3]
    assert not lost.ok and lost.error == "GPU is lost" and lost.name == nvml_fake.H100 and lost.util is None
    assert all(g.ok and g.util is not None for g in gpus if g.index != 3)
    assert s.sample()[1] == "degraded: GPU 3: GPU is lost"  # and stays so


def test_every_gpu_lost_says_so() -> None:
    fake = nvml_fake.healthy_node(2)
    s = opened(fake)
    for g in fake.gpus:
        g.lost = True
    gpus, status = s.sample()
    assert status == "degraded: no GPU could be read (GPU is lost)" and len(gpus) == 2


def test_throttling_gpu_names_its_reasons() -> None:
    gpus, _ = opened(nvml_fake.throttling(8, index=5)).sample()
    assert gpus[5].throttle == ("thermal", "hw_thermal") and gpus[5].temp_c == 91 and gpus[5].sm_clock_mhz == 1155
    assert gpus[4].throttle == ()


def test_throttle_names_skip_routine_reasons() -> None:
    assert throttle_names(0x1 | 0x2 | 0x10) == ()  # idle, app clocks, sync boost
    assert throttle_names(0x4 | 0x8 | 0x80) == ("power", "hw_slowdown", "power_brake")
    assert throttle_names(None) == ()


class Counting(FakeNvml):
    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.ecc_calls = 0

    def ecc_errors(self, handle: int, corrected: bool) -> int:
        self.ecc_calls += 1
        return super().ecc_errors(handle, corrected)


def test_unsupported_field_is_none_and_not_asked_again() -> None:
    fake = Counting(nvml_fake.consumer_card().gpus)
    s = opened(fake)
    for _ in range(3):
        (g,), status = s.sample()
        assert status == "ok" and g.ecc_uncorrected is None and g.ecc_corrected is None and g.util is not None
    assert fake.ecc_calls == 2  # uncorrected + corrected, once each


def test_nvml_is_initialised_once_and_shut_down_at_close() -> None:
    fake = nvml_fake.healthy_node(1)
    s = GpuSampler(fake)
    s.open()
    s.open()
    s.sample()
    s.close()
    s.close()
    assert (fake.init_calls, fake.shutdown_calls) == (1, 1)
    assert s.sample() == ((), "off: GPU sampling stopped")


def test_a_gpu_that_comes_back_after_a_reset_is_read_again() -> None:
    fake = nvml_fake.healthy_node(2)
    s = opened(fake)
    fake.gpus[1].lost = True
    assert not s.sample()[0][1].ok
    fake.gpus[1].lost = False
    gpus, status = s.sample()
    assert status == "ok" and gpus[1].ok


# ── the real wrapper ────────────────────────────────────────────────────────


def test_real_nvml_on_this_machine_is_a_status_line_not_an_exception() -> None:
    """CI has no GPU and no libnvidia-ml: the real wrapper must say so like the fake does."""
    s = GpuSampler(PynvmlApi())
    s.open()
    gpus, status = s.sample()
    if gpus:  # a machine with a GPU: nothing to assert beyond "it read them"
        assert status in ("ok",) or status.startswith("degraded")
    else:
        assert status.startswith("unavailable: ")
    s.close()


def test_the_pynvml_calls_we_make_exist_in_the_installed_binding() -> None:
    for name in ("nvmlInit", "nvmlShutdown", "nvmlDeviceGetCount", "nvmlDeviceGetHandleByIndex", "nvmlDeviceGetName",
                 "nvmlDeviceGetUUID", "nvmlDeviceGetUtilizationRates", "nvmlDeviceGetMemoryInfo",
                 "nvmlDeviceGetTemperature", "nvmlDeviceGetPowerUsage", "nvmlDeviceGetEnforcedPowerLimit",
                 "nvmlDeviceGetClockInfo", "nvmlDeviceGetCurrentClocksThrottleReasons",
                 "nvmlDeviceGetTotalEccErrors", "nvmlDeviceGetComputeRunningProcesses", "NVML_TEMPERATURE_GPU",
                 "NVML_CLOCK_SM", "NVML_MEMORY_ERROR_TYPE_UNCORRECTED", "NVML_MEMORY_ERROR_TYPE_CORRECTED",
                 "NVML_VOLATILE_ECC", "NVML_ERROR_GPU_IS_LOST", "NVML_ERROR_NOT_SUPPORTED",
                 "NVML_ERROR_LIBRARY_NOT_FOUND", "NVML_ERROR_DRIVER_NOT_LOADED", "NVMLError"):
        assert hasattr(pynvml, name), name


def stand_in_pynvml(lost_after: int = 99) -> types.ModuleType:
    """A pynvml look-alike (the real constants and error classes, canned device answers)."""
    m = types.ModuleType("pynvml")
    for k in dir(pynvml):
        if k.startswith(("NVML_", "NVMLError")):
            setattr(m, k, getattr(pynvml, k))
    calls = {"n": 0}

    def util(h: int) -> Any:
        calls["n"] += 1
        if calls["n"] > lost_after:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)
        return types.SimpleNamespace(gpu=88, memory=30)

    def not_supported(*a: Any) -> Any:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)

    m.nvmlInit = lambda: None  # type: ignore[attr-defined]
    m.nvmlShutdown = lambda: None  # type: ignore[attr-defined]
    m.nvmlDeviceGetCount = lambda: 1  # type: ignore[attr-defined]
    m.nvmlDeviceGetHandleByIndex = lambda i: i  # type: ignore[attr-defined]
    m.nvmlDeviceGetName = lambda h: b"NVIDIA A100-SXM4-40GB"  # type: ignore[attr-defined]
    m.nvmlDeviceGetUUID = lambda h: "GPU-abc"  # type: ignore[attr-defined]
    m.nvmlDeviceGetUtilizationRates = util  # type: ignore[attr-defined]
    m.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(used=30 * GIB, total=40 * GIB)  # type: ignore[attr-defined]
    m.nvmlDeviceGetTemperature = lambda h, sensor: 71  # type: ignore[attr-defined]
    m.nvmlDeviceGetPowerUsage = lambda h: 301_500  # type: ignore[attr-defined]
    m.nvmlDeviceGetEnforcedPowerLimit = lambda h: 400_000  # type: ignore[attr-defined]
    m.nvmlDeviceGetClockInfo = lambda h, clock: 1410  # type: ignore[attr-defined]
    m.nvmlDeviceGetCurrentClocksThrottleReasons = lambda h: 0x4  # type: ignore[attr-defined]
    m.nvmlDeviceGetTotalEccErrors = not_supported  # type: ignore[attr-defined]
    m.nvmlDeviceGetComputeRunningProcesses = lambda h: [  # type: ignore[attr-defined]
        types.SimpleNamespace(pid=42, usedGpuMemory=20 * GIB), types.SimpleNamespace(pid=43, usedGpuMemory=None)]
    return m


def test_pynvml_wrapper_converts_units_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", stand_in_pynvml(lost_after=1))
    s = GpuSampler(PynvmlApi())
    s.open()
    (g,), status = s.sample()
    assert status == "ok"
    assert (g.name, g.util, g.mem_util, g.temp_c, g.sm_clock_mhz) == ("NVIDIA A100-SXM4-40GB", 88, 30, 71, 1410)
    assert g.power_w == pytest.approx(301.5) and g.power_limit_w == pytest.approx(400.0)
    assert g.throttle == ("power",) and g.ecc_uncorrected is None
    assert [(p.pid, p.used_memory) for p in g.processes] == [(42, 20 * GIB), (43, None)]
    (g,), status = s.sample()
    assert status == "degraded: GPU 0: GPU is lost" and g.error == "GPU is lost"
    s.close()


def test_pynvml_library_missing_maps_to_its_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    m = stand_in_pynvml()

    def missing() -> None:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)

    m.nvmlInit = missing  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pynvml", m)
    with pytest.raises(NvmlError) as e:
        PynvmlApi().init()
    assert e.value.kind == NvmlFailure.LIBRARY_NOT_FOUND and str(e.value) == "NVML library not found"


def test_an_unknown_nvml_error_keeps_nvmls_words() -> None:
    assert str(NvmlError(NvmlFailure.OTHER, "Unknown Error")) == "NVML error: Unknown Error"
