"""HostSampler on the real host: CPU, memory, load, and free space per filesystem."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from runwatch.model import HostSample
from runwatch.watcher.host import HostSampler
from tests.support.waiting import wait_for


def test_host_cpu_memory_load_and_one_entry_per_filesystem(tmp_path: Path) -> None:
    host = HostSampler([str(tmp_path / "ckpt" / "not-yet"), str(tmp_path / "train.log")])
    first = host.sample(time.time())
    assert first.cpu_percent is None and first.swap_in_bps is None  # rates need two samples

    def later() -> HostSample | None:  # CPU counters tick at 100 Hz: wait until they moved
        s = host.sample(time.time())
        return s if s.cpu_percent is not None else None

    second = wait_for(later, interval=0.02)
    assert second.cpu_percent is not None and 0 <= second.cpu_percent <= 100
    if sys.platform.startswith("linux"):
        assert second.iowait_percent is not None and 0 <= second.iowait_percent <= 100
    assert second.mem_total and second.mem_available and 0 < second.mem_available <= second.mem_total
    assert second.load is not None and len(second.load) == 3 and second.cpus
    (disk,) = second.disks
    assert disk.path == str(tmp_path / "ckpt" / "not-yet") and disk.free_bytes and disk.total_bytes
    assert 0 < disk.free_percent <= 100  # type: ignore[operator]
