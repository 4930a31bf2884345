"""The sampler thread: lifecycle, NVML once, failures that stay local, fake scenarios end to end."""

from __future__ import annotations

import os
import threading
import time

import pytest

from runwatch.model import SystemSample
from runwatch.state.system import SystemState
from runwatch.watcher import nvml_fake
from runwatch.watcher.gpu import GpuSampler
from runwatch.watcher.host import HostSampler
from runwatch.watcher.processes import ProcessSampler
from runwatch.watcher.sampler import GPU_OFF, SystemSampler, make_system_sampler
from tests.support.system import status_parts
from tests.support.waiting import wait_for


class Collect:
    def __init__(self) -> None:
        self.samples: list[SystemSample] = []
        self.state = SystemState()

    def __call__(self, s: SystemSample) -> None:
        self.samples.append(s)
        self.state.apply(s)


def test_thread_samples_on_its_beat_and_opens_nvml_once() -> None:
    fake = nvml_fake.healthy_node(8, pids=[os.getpid()])
    got = Collect()
    sampler = SystemSampler(got, processes=ProcessSampler([os.getpid()], discover=False), host=HostSampler(),
                            gpus=GpuSampler(fake), interval=0.01)
    with sampler:
        assert sampler.name == "runwatch-sampler" and sampler.daemon
        wait_for(lambda: len(got.samples) >= 3)
    assert not sampler.is_alive()
    assert (fake.init_calls, fake.shutdown_calls) == (1, 1)
    s = got.samples[-1]
    assert len(s.gpus) == 8 and s.gpu_status == "ok" and s.host is not None
    assert [p.pid for p in s.processes] == [os.getpid()]
    assert sampler.latest is not None and sampler.samples_taken >= 3
    process, gpus, status = status_parts(got.state)
    assert process is not None and process["pid"] == os.getpid()
    assert status == "ok" and gpus[0]["pids"] == [os.getpid()]


def test_stop_wakes_a_long_interval_at_once() -> None:
    got = Collect()
    sampler = SystemSampler(got, interval=3600.0)
    sampler.start()
    wait_for(lambda: got.samples)
    t = time.monotonic()
    sampler.stop()
    sampler.join()
    assert time.monotonic() - t < 5.0  # not an hour


def test_gpu_lost_mid_run_through_the_sampler_keeps_the_rest() -> None:
    got = Collect()
    sampler = SystemSampler(got, processes=ProcessSampler([os.getpid()], discover=False),
                            gpus=GpuSampler(nvml_fake.gpu_lost_mid_run(8, index=3, after=2)), interval=0.01)
    with sampler:
        wait_for(lambda: len(got.samples) >= 4)
    process, gpus, status = status_parts(got.state)
    assert status == "degraded: GPU 3: GPU is lost"
    assert gpus[3] == {"index": 3, "name": nvml_fake.H100, "error": "GPU is lost"}
    assert all("util" in g for g in gpus if g["index"] != 3)
    assert process is not None and process["state"] in ("running", "sleeping")


def test_no_nvml_still_samples_processes_and_host() -> None:
    got = Collect()
    sampler = make_system_sampler(got, pids=[os.getpid()], discover=False, nvml=nvml_fake.nvml_missing(),
                                  interval=0.01)
    with sampler:
        wait_for(lambda: len(got.samples) >= 2)
    process, gpus, status = status_parts(got.state)
    assert (gpus, status) == ([], "unavailable: NVML library not found")
    assert process is not None and process["pid"] == os.getpid()
    assert got.state.host is not None


def test_no_gpu_flag_turns_gpu_sampling_off() -> None:
    got = Collect()
    sampler = make_system_sampler(got, discover=False, gpu=False)
    got(sampler.sample_once())
    assert status_parts(got.state) == (None, [], GPU_OFF)


def test_throttling_scenario_through_the_sampler() -> None:
    fake = nvml_fake.throttling(8, index=5)
    sampler = SystemSampler(lambda s: None, gpus=GpuSampler(fake))
    sampler.open()
    s = sampler.sample_once()
    sampler.close()
    assert (fake.init_calls, fake.shutdown_calls) == (1, 1)
    assert s.gpus[5].throttle == ("thermal", "hw_thermal") and s.gpu_status == "ok"


class Broken(ProcessSampler):
    def sample(self, now: float):  # type: ignore[no-untyped-def]
        raise RuntimeError("psutil surprise")


def test_a_failing_part_or_callback_does_not_stop_the_thread(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[SystemSample] = []
    healthy = threading.Event()

    def callback(s: SystemSample) -> None:
        calls.append(s)
        if len(calls) == 1:
            raise ValueError("consumer bug")
        healthy.set()

    sampler = SystemSampler(callback, processes=Broken(discover=False),
                            gpus=GpuSampler(nvml_fake.healthy_node(2)), interval=0.01)
    with sampler:
        wait_for(healthy.is_set)
    assert calls[-1].processes == () and len(calls[-1].gpus) == 2
    assert "process sampling failed" in caplog.text and "system sample callback failed" in caplog.text


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="interval must be > 0"):
        SystemSampler(lambda s: None, interval=0)


def test_samples_are_stamped_with_the_injected_clock() -> None:
    sampler = SystemSampler(lambda s: None, clock=lambda: 1234.5)
    assert sampler.sample_once() == SystemSample(t=1234.5, gpu_status=GPU_OFF)
