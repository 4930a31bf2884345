"""W&B system stats: their names in runwatch's words, and the SystemSample a stats record describes.

Pure: no wandb package needed (the decoder side is in test_wandb.py).
"""

from __future__ import annotations

import pytest

from runwatch.model import Kind, Record
from runwatch.parsers.wandb_stats import SYSTEM_STATS, stats_name, system_sample


@pytest.mark.parametrize(("key", "name"), [
    ("gpu.3.gpu", "gpu3_util"), ("gpu.0.memory", "gpu0_mem_util"), ("gpu.0.memoryAllocated", "gpu0_mem_percent"),
    ("gpu.0.enforcedPowerLimitWatts", "gpu0_power_limit_w"), ("gpu.0.newThing", "gpu0_new_thing"),
    ("cpu", "proc_cpu_percent"), ("memory_percent", "host_mem_percent"), ("disk./.usagePercent",
                                                                          "disk_usage_percent"),
])
def test_stats_names(key: str, name: str) -> None:
    assert stats_name(key) == name


def test_stats_without_gpus_say_so_and_keep_the_host() -> None:
    rec = Record(Kind.EVENT, t=5.0, event=SYSTEM_STATS,
                 metrics={"cpu0_percent": 20.0, "cpu1_percent": float("nan"), "host_mem_available_mb": 512.0})
    sample = system_sample(rec)
    assert sample is not None and sample.gpus == () and sample.gpu_status.startswith("unavailable")
    assert sample.host is not None and sample.host.cpu_percent == 20.0 and sample.host.cpus == 1
    assert sample.host.mem_available == 512 * 2**20 and sample.t == 5.0
