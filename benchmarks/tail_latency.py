"""Append → record latency of the engine, and its idle CPU.

(a) Latency. An `Engine` follows nanochat logs in this process; one step
line is appended at a time, and the time from just before the write+flush
to the moment `engine.snapshots()` shows that step is measured (a waiter
thread blocks on the engine's change condition between looks: no busy
loop). Modes:

* inotify: one file, trials one after another (a random 0-50 ms pause
  between them);
* polling only (`poll_interval` 1.0 and 0.25): a poll phase is random, so a
  trial must start at a random moment of it, and a serial trial costs a
  whole interval; 8 files with their own followers and 8 writer threads
  (each a random 0..interval pause, then one line) run the trials in
  parallel so that 200 of them fit in ~interval × 25.

(b) Idle CPU. 16 quiet files followed for `--idle-seconds` (16 paths, and a
directory of 16 rank logs), inotify and polling: each in its own process
(started together), CPU time of the whole process (all threads,
`time.process_time`) / wall → % of one core, and context switches per
second (wake-ups), measured after the history is read.

    python benchmarks/tail_latency.py [--trials 200] [--idle-seconds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _support import pct

from runwatch.engine import Engine, EngineOptions

POLL_WRITERS = 8
IDLE_FILES = 16
TOTAL = 1_000_000


def step_line(step: int, loss: str | None = None) -> str:
    """A nanochat step line (the format `runwatch` detects as picollm/nanochat)."""
    lv = loss if loss is not None else f"{3.0 + 1.0 / (1 + step):.6f}"
    return (f"step {step:05d}/{TOTAL:05d} ({100 * step / TOTAL:.2f}%) | loss: {lv} | lrm: 1.00 | dt: 650.00ms"
            f" | tok/sec: 806,131 | mfu: 50.38 | total time: {step * 0.65 / 60:.2f}m\n")


# -- waiting for the engine without busy loops --------------------------------------------------

class Observer(threading.Thread):
    """Looks at the snapshots after every engine change and completes the trials it sees.

    Blocks on the engine's change condition between looks. `Engine.wait()` takes the version
    when it is called, so a change landing between a look and the next `wait()` would be
    missed until the worker's next wake (up to its 1 s tick); waiting on the version read
    *before* the look closes that gap. Falls back on `Engine.wait()` if the engine changes shape.
    """

    def __init__(self, engine: Engine) -> None:
        super().__init__(name="bench-observer", daemon=True)
        self.engine = engine
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[int, threading.Event, list[float]]] = {}
        self._halt = threading.Event()
        self._exact = hasattr(engine, "_changed") and hasattr(engine, "_version")

    def expect(self, run: str, step: int) -> tuple[threading.Event, list[float]]:
        ev, box = threading.Event(), []
        with self._lock:
            self._pending[run] = (step, ev, box)
        return ev, box

    def stop(self) -> None:
        self._halt.set()
        self.join(5.0)

    def run(self) -> None:
        e = self.engine
        while not self._halt.is_set():
            v = e._version if self._exact else None
            snaps = e.snapshots()
            now = time.perf_counter()
            with self._lock:
                for s in snaps:
                    want = self._pending.get(s.run)
                    if want is not None and s.progress.step is not None and s.progress.step >= want[0]:
                        want[2].append(now)
                        want[1].set()
                        del self._pending[s.run]
            if self._exact:
                with e._changed:
                    e._changed.wait_for(lambda v=v: e._version != v or self._halt.is_set(), 0.5)
            else:
                e.wait(0.5)


# -- (a) latency ----------------------------------------------------------------------------------

def latency(trials: int, *, poll_only: bool, poll_interval: float, writers: int, pause: float) -> list[float]:
    """Seconds from write to snapshot, one per trial."""
    tmp = Path(tempfile.mkdtemp(prefix="runwatch-bench-tail-"))
    files = [tmp / f"job{i}.log" for i in range(writers)]
    for p in files:
        p.write_text("".join(step_line(s) for s in range(5)))
    engine = Engine([str(p) for p in files], EngineOptions(poll_only=poll_only, poll_interval=poll_interval))
    engine.start()
    obs = Observer(engine)
    obs.start()
    out: list[float] = []
    out_lock = threading.Lock()
    try:
        runs = [s.run for s in engine.snapshots()]
        for run in runs:  # history read by every follower
            ev, _ = obs.expect(run, 4)
            if not ev.wait(30):
                raise RuntimeError(f"{run}: history not read within 30 s")

        def writer(idx: int, n: int) -> None:
            rng = random.Random(idx)
            with open(files[idx], "a", encoding="utf-8") as f:
                for k in range(n):
                    step = 5 + k
                    time.sleep(rng.uniform(0, pause))
                    ev, box = obs.expect(runs[idx], step)
                    t0 = time.perf_counter()
                    f.write(step_line(step))
                    f.flush()
                    if not ev.wait(30):
                        raise RuntimeError(f"step {step} of {files[idx].name} not seen in 30 s")
                    with out_lock:
                        out.append(box[0] - t0)

        share = [trials // writers + (1 if i < trials % writers else 0) for i in range(writers)]
        threads = [threading.Thread(target=writer, args=(i, share[i]), daemon=True) for i in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        obs.stop()
        engine.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if len(out) != trials:
        raise RuntimeError(f"only {len(out)} of {trials} trials completed")
    return out


# -- (b) idle CPU (one child process per configuration) -------------------------------------------

def idle_child(layout: str, poll_only: bool, poll_interval: float, seconds: float) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="runwatch-bench-idle-"))
    try:
        files = [tmp / f"rank{i}.log" for i in range(IDLE_FILES)]
        for p in files:
            p.write_text("".join(step_line(s) for s in range(20)))
        paths = [str(tmp)] if layout == "dir" else [str(p) for p in files]
        engine = Engine(paths, EngineOptions(poll_only=poll_only, poll_interval=poll_interval))
        with engine:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # history read, then settle
                snaps = engine.snapshots()
                if snaps and all(s.progress.step == 19 and not s.notes for s in snaps):
                    break
                engine.wait(0.5)
            time.sleep(1.0)
            threads = threading.active_count()
            ru0, c0, w0 = resource.getrusage(resource.RUSAGE_SELF), time.process_time(), time.perf_counter()
            time.sleep(seconds)
            ru1, c1, w1 = resource.getrusage(resource.RUSAGE_SELF), time.process_time(), time.perf_counter()
        switches = (ru1.ru_nvcsw + ru1.ru_nivcsw) - (ru0.ru_nvcsw + ru0.ru_nivcsw)
        print(json.dumps({"cpu": c1 - c0, "wall": w1 - w0, "threads": threads, "switches": switches}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


IDLE_CONFIGS = [
    ("16 files, inotify", "files", False, 1.0),
    ("16 files, poll 1.0 s", "files", True, 1.0),
    ("16 files, poll 0.25 s", "files", True, 0.25),
    ("dir of 16, inotify", "dir", False, 1.0),
    ("dir of 16, poll 1.0 s", "dir", True, 1.0),
]


def idle_all(seconds: float) -> list[tuple[str, dict]]:
    me = str(Path(__file__).resolve())
    procs = []
    try:
        for label, layout, poll_only, interval in IDLE_CONFIGS:
            argv = [sys.executable, me, "--idle-child", layout, "poll" if poll_only else "inotify",
                    str(interval), str(seconds)]
            procs.append((label, subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)))
        rows = []
        for label, p in procs:
            out, _ = p.communicate(timeout=seconds + 120)
            if p.returncode:
                raise RuntimeError(f"idle child {label!r} exited {p.returncode}")
            rows.append((label, json.loads(out.strip().splitlines()[-1])))
        return rows
    finally:
        for _, p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


# -- main -----------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--idle-seconds", type=float, default=30.0)
    ap.add_argument("--idle-child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed run still cleans up
    if args.idle_child:
        layout, mode, interval, seconds = args.idle_child
        idle_child(layout, mode == "poll", float(interval), float(seconds))
        return 0

    modes = [("inotify", False, 1.0, 1, 0.05), ("poll 1.0 s", True, 1.0, POLL_WRITERS, 1.0),
             ("poll 0.25 s", True, 0.25, POLL_WRITERS, 0.25)]
    import runwatch

    print(f"runwatch from {Path(runwatch.__file__).parent}; load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(f"(a) append → snapshot shows the step; {args.trials} trials per mode")
    print(f"{'mode':14}{'files':>6}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'max ms':>10}{'mean ms':>10}"
          f"{'wall s':>8}")
    for label, poll_only, interval, writers, pause in modes:
        t0 = time.perf_counter()
        xs = latency(args.trials, poll_only=poll_only, poll_interval=interval, writers=writers, pause=pause)
        ms = [x * 1000 for x in xs]
        print(f"{label:14}{writers:6d}{pct(ms, 50):10.2f}{pct(ms, 90):10.2f}{pct(ms, 99):10.2f}{max(ms):10.2f}"
              f"{statistics.fmean(ms):10.2f}{time.perf_counter() - t0:8.1f}", flush=True)

    print(f"\n(b) idle: {IDLE_FILES} quiet files followed for {args.idle_seconds:g} s "
          "(one process each, run side by side)")
    print(f"{'configuration':24}{'% of a core':>12}{'CPU ms/s':>10}{'wakeups/s':>11}{'threads':>9}")
    for label, r in idle_all(args.idle_seconds):
        share = r["cpu"] / r["wall"]
        print(f"{label:24}{100 * share:12.3f}{1000 * share:10.2f}{r['switches'] / r['wall']:11.1f}"
              f"{r['threads']:9d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
