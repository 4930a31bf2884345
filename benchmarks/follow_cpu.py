"""What following a busy log costs: CPU of a `runwatch watch` daemon while a writer appends real
nanochat step lines at `--rate` lines/s, then while the log is quiet.

    python benchmarks/follow_cpu.py [--rate 150] [--seconds 60] [--idle-seconds 30] [--warmup 10]

One writer, three followers of the same log, measured over the same windows: `runwatch watch` as
shipped (on Linux it reads inotify itself, gathering events for 50 ms between reads), the same daemon
with `RUNWATCH_NOTIFIER=watchdog` (watchdog's inotify observer: the way it was done before), and GNU
`tail -F` (inotify, no parsing: the physical anchor of being told about writes). CPU is the change in
each process's user+system time over a window, as % of one core. Issue 11's goals: ≤ 2% of a core at
150 lines/s, ≤ 0.5% idle. Figures only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import runwatch_cmd
from soak import StepLines


def cpu_s(proc: psutil.Process) -> float:
    """User+system seconds of `proc` and its children."""
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


def write(log: Path, rate: float, stop: threading.Event) -> int:
    """Append step lines at `rate`/s until `stop`; the lines written."""
    lines, n, t0 = StepLines(), 0, time.monotonic()
    with open(log, "ab", buffering=0) as f:
        while not stop.is_set():
            f.write(lines.line(n))
            n += 1
            delay = t0 + n / rate - time.monotonic()
            if delay > 0:
                stop.wait(delay)
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=150.0, help="step lines per second")
    ap.add_argument("--seconds", type=float, default=60.0, help="the busy window measured")
    ap.add_argument("--idle-seconds", type=float, default=30.0, help="the quiet window measured")
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds of writing before measuring")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="runwatch-follow-cpu-"))
    log = tmp / "train.log"
    log.touch()
    base = [*runwatch_cmd(), "watch", str(log), "--no-gpu", "--interval", "3600"]
    env = {k: v for k, v in os.environ.items() if k != "RUNWATCH_NOTIFIER"}
    followers = {
        "runwatch watch": subprocess.Popen([*base, "--state-dir", str(tmp / "a")], env=env,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        "runwatch watch, watchdog": subprocess.Popen([*base, "--state-dir", str(tmp / "b")],
                                                     env={**env, "RUNWATCH_NOTIFIER": "watchdog"},
                                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    }
    if shutil.which("tail"):
        followers["tail -F (anchor)"] = subprocess.Popen(["tail", "-F", "-n", "0", str(log)],
                                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs = {name: psutil.Process(p.pid) for name, p in followers.items()}
    stop = threading.Event()
    written: list[int] = []
    writer = threading.Thread(target=lambda: written.append(write(log, args.rate, stop)), daemon=True)
    try:
        time.sleep(3.0)  # start-up: imports, the (empty) history
        writer.start()
        time.sleep(args.warmup)
        busy0 = {n: cpu_s(p) for n, p in procs.items()}
        t0 = time.monotonic()
        time.sleep(args.seconds)
        busy = {n: (cpu_s(p) - busy0[n]) / (time.monotonic() - t0) for n, p in procs.items()}
        stop.set()
        writer.join(10)
        time.sleep(3.0)  # the last lines read
        idle0 = {n: cpu_s(p) for n, p in procs.items()}
        t1 = time.monotonic()
        time.sleep(args.idle_seconds)
        idle = {n: (cpu_s(p) - idle0[n]) / (time.monotonic() - t1) for n, p in procs.items()}
    finally:
        stop.set()
        for p in followers.values():
            p.terminate()
        for p in followers.values():
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{written[0] if written else 0} lines at {args.rate:g}/s; busy window {args.seconds:g} s, "
          f"quiet window {args.idle_seconds:g} s; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"{'follower':28s} {'busy % core':>12s} {'idle % core':>12s}")
    for name in procs:
        print(f"{name:28s} {100 * busy[name]:12.2f} {100 * idle[name]:12.2f}")
    ours, before = "runwatch watch", "runwatch watch, watchdog"
    if busy[ours] > 0:
        print(f"watchdog / runwatch's reader, busy: {busy[before] / busy[ours]:.1f}x")
    print("goals (issue 11): <= 2% of a core at 150 lines/s, <= 0.5% idle")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
