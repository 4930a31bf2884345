"""The system sampler: one thread that reads processes, host and GPUs on a steady beat.

Every `interval` seconds (default 2) thread "runwatch-sampler" takes one
frozen `SystemSample` and hands it to a callback (the engine queues it for
its worker, which owns `SystemState`). NVML is opened once when the thread
starts and shut down when it ends. A part that fails marks itself and the
others go on: a psutil error leaves `processes` empty for that tick, an NVML
failure is a `gpu_status` line, a failing callback is logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from runwatch.model import GpuSample, HostSample, ProcessSample, SystemSample
from runwatch.watcher.gpu import GpuSampler, NvmlApi
from runwatch.watcher.host import HostSampler
from runwatch.watcher.processes import ExitCodes, ProcessSampler
from runwatch.watcher.threads import ServiceThread

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 2.0
GPU_OFF = "off: GPU sampling disabled"


class SystemSampler(ServiceThread):
    """Owns a ProcessSampler, a HostSampler and a GpuSampler (each optional) and samples them together.

    `sample_once()` works without the thread (tests, one-shot checks); the
    thread calls it every `interval` seconds of `monotonic` time and stamps
    samples with `clock()` (wall time, like records).
    """

    def __init__(
        self, on_sample: Callable[[SystemSample], None], *, processes: ProcessSampler | None = None,
        host: HostSampler | None = None, gpus: GpuSampler | None = None, interval: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], float] | None = None, monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not interval > 0:
            raise ValueError(f"sampler interval must be > 0 seconds, got {interval!r}")
        super().__init__("sampler")
        self.on_sample = on_sample
        self.processes = processes
        self.host = host
        self.gpus = gpus
        self.interval = interval
        self._clock = clock or time.time  # as `Engine` takes its clock
        self._monotonic = monotonic
        self._latest: SystemSample | None = None
        self._count = 0

    @property
    def latest(self) -> SystemSample | None:
        return self._latest

    @property
    def samples_taken(self) -> int:
        return self._count

    def open(self) -> None:
        """Initialise NVML (once); the thread does it itself, a one-shot `sample_once` caller calls it."""
        if self.gpus is not None:
            self.gpus.open()

    def close(self) -> None:
        """Shut NVML down (idempotent)."""
        if self.gpus is not None:
            self.gpus.close()

    def body(self) -> None:
        self.open()
        try:
            due = self._monotonic()
            while not self.stopping:
                self._tick()
                due += self.interval
                late = self._monotonic() - due
                if late > 0:  # a slow tick (or a suspended machine): skip the missed beats
                    due += self.interval * (late // self.interval + 1)
                self._stopping.wait(max(0.0, due - self._monotonic()))
        finally:
            self.close()

    def _tick(self) -> None:
        try:
            sample = self.sample_once()
        except Exception:  # thread top: never die, say what happened
            log.exception("system sample failed")
            return
        try:
            self.on_sample(sample)
        except Exception:
            log.exception("system sample callback failed")

    def sample_once(self) -> SystemSample:
        """One sample of every part, now."""
        now = self._clock()
        procs = self._processes(now)
        host = self._host(now)
        gpus: tuple[GpuSample, ...]
        if self.gpus is None:
            gpus, status = (), GPU_OFF
        else:
            gpus, status = self._gpus()
        sample = SystemSample(t=now, processes=procs, gpus=gpus, gpu_status=status, host=host)
        self._latest = sample  # one writer (this thread); readers see the old or the new one
        self._count += 1
        return sample

    def _processes(self, now: float) -> tuple[ProcessSample, ...]:
        if self.processes is None:
            return ()
        try:
            return self.processes.sample(now)
        except Exception:
            log.exception("process sampling failed")
            return ()

    def _host(self, now: float) -> HostSample | None:
        if self.host is None:
            return None
        try:
            return self.host.sample(now)
        except Exception:
            log.exception("host sampling failed")
            return None

    def _gpus(self) -> tuple[tuple[GpuSample, ...], str]:
        assert self.gpus is not None
        try:
            return self.gpus.sample()
        except Exception as e:  # NVML errors are handled inside; this is a bug or a binding surprise
            log.exception("GPU sampling failed")
            return (), f"degraded: GPU sampling failed ({type(e).__name__})"


def make_system_sampler(
    on_sample: Callable[[SystemSample], None], *, pids: Iterable[int] = (), logs: Iterable[str] = (),
    disk_paths: Iterable[str] = (), gpu: bool = True, nvml: NvmlApi | None = None,
    exit_codes: ExitCodes | None = None, stdin_pipe: bool = False, discover: bool = True,
    interval: float = DEFAULT_INTERVAL_S,
) -> SystemSampler:
    """The sampler the engine runs: `gpu=False` for --no-gpu, `nvml` to swap in a fake."""
    logs = tuple(logs)
    return SystemSampler(
        on_sample,
        processes=ProcessSampler(pids, logs, discover=discover, stdin_pipe=stdin_pipe, exit_codes=exit_codes),
        host=HostSampler((*logs, *disk_paths)),
        gpus=GpuSampler(nvml) if gpu else None,
        interval=interval,
    )
