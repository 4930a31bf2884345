"""The host the run is on, through psutil: CPU, iowait, memory, swap, load and free disk space.

CPU and iowait come from deltas of `cpu_times`, not psutil's shared module
state (another caller of `cpu_percent()` would skew ours); swap in/out are
rates between two samples; free space is that of the filesystems holding the
given paths (logs, checkpoint directories), one entry per filesystem.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

import psutil

from runwatch.model import DiskSample, HostSample


class HostSampler:
    """CPU, iowait, memory, swap, load and free space of the filesystems holding `paths`."""

    def __init__(self, paths: Iterable[str] = ()) -> None:
        self.paths: tuple[str, ...] = tuple(paths)
        self._prev_cpu: tuple[float, float, float] | None = None
        self._prev_swap: tuple[float, int, int] | None = None

    def watch(self, paths: Iterable[str]) -> None:
        self.paths = tuple(dict.fromkeys((*self.paths, *paths)))

    def sample(self, now: float) -> HostSample:
        cpu, iowait = self._cpu()
        vm = psutil_reading(psutil.virtual_memory)
        sw = psutil_reading(psutil.swap_memory)
        sin, sout = self._swap_rates(now, sw)
        load = psutil_reading(os.getloadavg) if hasattr(os, "getloadavg") else None
        return HostSample(
            cpu_percent=cpu, iowait_percent=iowait,
            mem_total=getattr(vm, "total", None), mem_available=getattr(vm, "available", None),
            swap_total=getattr(sw, "total", None), swap_used=getattr(sw, "used", None),
            swap_in_bps=sin, swap_out_bps=sout, load=load, cpus=psutil.cpu_count(), disks=self._disks(),
        )

    def _cpu(self) -> tuple[float | None, float | None]:
        t = psutil.cpu_times()
        total = sum(t) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)  # guest is inside user
        idle = t.idle + getattr(t, "iowait", 0.0)
        iowait = getattr(t, "iowait", None)
        now = (total, idle, iowait if iowait is not None else -1.0)
        prev, self._prev_cpu = self._prev_cpu, now
        if prev is None or total <= prev[0]:
            return None, None
        span = total - prev[0]
        busy = 100.0 * max(0.0, span - (idle - prev[1])) / span
        return busy, None if iowait is None else 100.0 * max(0.0, iowait - prev[2]) / span

    def _swap_rates(self, now: float, sw: object) -> tuple[float | None, float | None]:
        if sw is None:
            return None, None
        cur = (now, int(getattr(sw, "sin", 0)), int(getattr(sw, "sout", 0)))
        prev, self._prev_swap = self._prev_swap, cur
        if prev is None or now <= prev[0]:
            return None, None
        dt = now - prev[0]
        return max(0.0, (cur[1] - prev[1]) / dt), max(0.0, (cur[2] - prev[2]) / dt)

    def _disks(self) -> tuple[DiskSample, ...]:
        out: list[DiskSample] = []
        seen: set[int] = set()
        for path in self.paths:
            d = disk_sample(path)
            dev = _device(path)
            if dev is not None and dev in seen:
                continue
            if dev is not None:
                seen.add(dev)
            out.append(d)
        return tuple(out)


def _existing(path: str) -> str:
    """`path`, or its nearest existing parent (a log or checkpoint dir not created yet)."""
    p = os.path.abspath(path)
    while not os.path.exists(p) and os.path.dirname(p) != p:
        p = os.path.dirname(p)
    return p


def _device(path: str) -> int | None:
    try:
        return os.stat(_existing(path)).st_dev
    except OSError:
        return None


def disk_sample(path: str) -> DiskSample:
    """Free space (for an unprivileged user) of the filesystem holding `path`."""
    try:
        st = os.statvfs(_existing(path))
    except (OSError, AttributeError) as e:
        try:
            u = psutil.disk_usage(_existing(path))
        except OSError:
            return DiskSample(path, error=str(e))
        return DiskSample(path, total_bytes=u.total, free_bytes=u.free)
    return DiskSample(path, total_bytes=st.f_blocks * st.f_frsize, free_bytes=st.f_bavail * st.f_frsize)


def psutil_reading(fn: Callable[[], object]):  # type: ignore[no-untyped-def]
    """A psutil reading, None where the platform does not give it or permission is refused
    (the rest of the process or host may still be read)."""
    try:
        return fn()
    except psutil.AccessDenied:
        return None
    except (NotImplementedError, OSError):
        return None
