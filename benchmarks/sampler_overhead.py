"""CPU cost of the system sampler: 8 fake GPUs and 16 real processes at the default interval.

Spawns 16 sleeping child processes (each with a RANK in its environment),
runs the real `SystemSampler` thread ("runwatch-sampler") over them, the host,
one log and one disk path, and 8 fake NVML GPUs (the sampler code is the same
for real NVML) for `--seconds`, then prints the sampler thread's CPU time per sample and per
second of wall time. Goal: under 0.5% of one core. The fake GPUs cost only
Python calls; a real driver adds its own time per NVML call (about ten
calls per GPU per sample): `--real-nvml` samples this machine's own GPUs through the real
driver instead (for a machine that has them: the device machine), with the same 16 processes.

The sampler thread's CPU is measured with `time.thread_time()` around each
tick (sampling + handing over); the process's CPU over the same window is
printed as a cross-check (the main thread only sleeps). Periodic process
discovery (the descendants refresh every `tree_s`, the full /proc scan every
`rescan_s`) is included.

    python benchmarks/sampler_overhead.py [--seconds 60] [--interval 2] [--real-nvml]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

from runwatch.model import SystemSample
from runwatch.state.system import SystemState
from runwatch.watcher import nvml_fake
from runwatch.watcher.gpu import GpuSampler
from runwatch.watcher.host import HostSampler
from runwatch.watcher.processes import ProcessSampler
from runwatch.watcher.sampler import DEFAULT_INTERVAL_S, SystemSampler

CHILDREN = 16
GPUS = 8


class MeasuredSampler(SystemSampler):
    """The real sampler, with the thread CPU time of every tick added up."""

    cpu_s = 0.0
    ticks = 0
    first_tick_s = 0.0

    def _tick(self) -> None:
        t = time.thread_time()
        super()._tick()
        spent = time.thread_time() - t
        if self.ticks == 0:
            self.first_tick_s = spent
        self.cpu_s += spent
        self.ticks += 1


def spawn_children(log: str) -> list[subprocess.Popen[bytes]]:
    code = "import sys, time\nf = open(sys.argv[1], 'a')\ntime.sleep(3600)"
    return [subprocess.Popen([sys.executable, "-c", code, log], env=dict(os.environ, RANK=str(i), LOCAL_RANK=str(i % 8)))
            for i in range(CHILDREN)]


def run(seconds: float, interval: float, real_nvml: bool = False) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "train.log")
        open(log, "w").close()
        children = spawn_children(log)
        try:
            return measure(children, log, tmp, seconds, interval, real_nvml)
        finally:
            for c in children:
                c.kill()
            for c in children:
                c.wait()


def measure(children: list[subprocess.Popen[bytes]], log: str, tmp: str, seconds: float, interval: float,
            real_nvml: bool) -> int:
    pids = [c.pid for c in children]
    gpus = GpuSampler() if real_nvml else GpuSampler(nvml_fake.healthy_node(GPUS, pids=pids[::2]))
    samples: list[SystemSample] = []
    sampler = MeasuredSampler(
        samples.append,
        processes=ProcessSampler(pids, [log]),
        host=HostSampler([log, os.path.join(tmp, "checkpoints")]),
        gpus=gpus,
        interval=interval,
    )
    time.sleep(0.5)  # let the children start
    wall0, cpu0 = time.monotonic(), time.process_time()
    with sampler:
        time.sleep(seconds)
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0

    state = SystemState()
    t = time.thread_time()
    for s in samples:
        state.apply(s)
    apply_ms = 1e3 * (time.thread_time() - t) / max(1, len(samples))

    last = samples[-1]
    per_tick_ms = 1e3 * sampler.cpu_s / max(1, sampler.ticks)
    steady_ms = 1e3 * (sampler.cpu_s - sampler.first_tick_s) / max(1, sampler.ticks - 1)
    kind = "real (NVML)" if real_nvml else "fake"
    print(f"sampler overhead: {len(last.gpus)} {kind} GPUs ({last.gpu_status}), {len(last.processes)} processes "
          f"(+ host, 1 log, 2 disk paths), interval {interval:g} s, {wall:.1f} s of wall time")
    print(f"ticks: {sampler.ticks}   sampler thread CPU: {per_tick_ms:.2f} ms/tick "
          f"(first tick, with discovery: {1e3 * sampler.first_tick_s:.1f} ms; later ticks: {steady_ms:.2f} ms)")
    print(f"sampler CPU per second: {100 * sampler.cpu_s / wall:.3f}% of one core "
          f"(goal < 0.5%) -> {'OK' if sampler.cpu_s / wall < 0.005 else 'OVER GOAL'}")
    print(f"whole process CPU over the window (cross-check): {100 * cpu / wall:.3f}% of one core")
    print(f"engine side, SystemState.apply: {apply_ms:.2f} ms/sample "
          f"({100 * apply_ms / 1e3 / interval:.3f}% of one core at this interval)")
    return 0 if sampler.cpu_s / wall < 0.005 else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="how long to sample (default 60)")
    ap.add_argument("--interval", type=float, default=DEFAULT_INTERVAL_S, help="sampling interval in seconds")
    ap.add_argument("--real-nvml", action="store_true", help="sample this machine's GPUs through the real driver")
    args = ap.parse_args(argv)
    return run(args.seconds, args.interval, args.real_nvml)


if __name__ == "__main__":
    sys.exit(main())
