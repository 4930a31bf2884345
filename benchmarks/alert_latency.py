"""Append a NaN → webhook request received, through a real `runwatch watch` daemon.

A real HTTP receiver (http.server in a thread, 127.0.0.1 only) takes the
webhook POSTs. `runwatch watch A.log B.log --webhook http://127.0.0.1:PORT/hook/..
--state-dir TMP --interval 60` runs as a subprocess, once with inotify and once
with `--poll --poll-interval 1`. A trial appends one nanochat step line with
`loss: nan` at a new step to a log that so far held healthy lines, and times
it from just before the write+flush to the moment the receiver has read the
`nonfinite` FIRING POST for that step (both clocks are this process's).

Separate trials need separate alert episodes; `nonfinite` fires once per
episode. The daemon gets `--rule nonfinite.window=1` (a NaN counts only while
it is the newest point of its series) and `--rule nonfinite.resolve_after=1s`.
After each firing one healthy line is appended, so the next tick finds
nothing and resolves the alert (a RESOLVED POST, ignored here). Two logs (two
runs, so two alert keys) take turns, so a trial never waits for the previous
one to resolve; before a log is used again its RESOLVED must have arrived.
The first trial on each log is a warm-up and is not counted. Before each NaN
the writer pauses a random 0-1 s (0-interval when polling more slowly), so the
NaN lands at a random phase of the poll loop and of the engine's rule tick,
as a real one would; written right after the previous alert it would always
land just after a poll (and read ~1 poll interval late).

Rules are evaluated on the engine's ~1 s tick, which bounds the latency. A
trial costs about a tick (inotify) or a tick plus a poll interval (polling),
so to stay within a few minutes `--parallel` daemons per mode (default 2,
each its own process with its own logs, idle between trials) run side by
side, inotify and polling at the same time, each doing its share of the
trials one after another; `--parallel 1` measures strictly one daemon per
mode at a time (about 5 minutes).

    python benchmarks/alert_latency.py [--trials 100] [--parallel 2] [--poll-interval 1]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from _support import Received, Receiver, pct, runwatch_cmd

TOTAL = 1_000_000
FILES_PER_DAEMON = 2
HEALTHY_BEFORE = 20


def step_line(step: int, loss: str | None = None) -> str:
    lv = loss if loss is not None else f"{3.0 + 1.0 / (1 + step):.6f}"
    return (f"step {step:05d}/{TOTAL:05d} ({100 * step / TOTAL:.2f}%) | loss: {lv} | lrm: 1.00 | dt: 650.00ms"
            f" | tok/sec: 806,131 | mfu: 50.38 | total time: {step * 0.65 / 60:.2f}m\n")


# -- one daemon and its trials ----------------------------------------------------------------------

class Daemon:
    def __init__(self, name: str, rx: Receiver, tmp: Path, poll: float | None, seed: int) -> None:
        self.name, self.rx, self.poll = name, rx, poll
        self.pause = max(1.0, poll or 0.0)
        self.dir = tmp / name
        self.dir.mkdir()
        self.logs = [self.dir / f"{name}-{k}.log" for k in range(FILES_PER_DAEMON)]
        self.next_step = [HEALTHY_BEFORE] * FILES_PER_DAEMON
        for p in self.logs:
            p.write_text("".join(step_line(s) for s in range(HEALTHY_BEFORE)))
        self.path = f"/hook/{name}"
        self.rng = random.Random(seed)
        self.latencies: list[float] = []
        self.error: str | None = None
        argv = [*runwatch_cmd(), "watch", *map(str, self.logs), "--webhook", f"http://127.0.0.1:{rx.port}{self.path}",
                "--state-dir", str(self.dir / "state"), "--interval", "60",
                "--rule", "nonfinite.window=1", "--rule", "nonfinite.resolve_after=1s"]
        if poll is not None:
            argv += ["--poll", "--poll-interval", f"{poll:g}"]
        self.stderr = open(self.dir / "stderr.log", "w+b")
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self.stderr)
        self.files = [open(p, "a", encoding="utf-8") for p in self.logs]

    def _nonfinite(self, run: str, state: str, step: int | None) -> Callable[[Received], bool]:
        def match(p: Received) -> bool:
            b = p.body
            return (p.path == self.path and b.get("rule") == "nonfinite" and b.get("run") == run
                    and b.get("state") == state and (step is None or b.get("step") == step))
        return match

    def trial(self, k: int, counted: bool) -> None:
        run = self.logs[k].stem
        if self.next_step[k] > HEALTHY_BEFORE:  # this log's previous episode must be over
            if self.rx.wait_for(self._nonfinite(run, "resolved", None), 30) is None:
                raise RuntimeError(f"{run}: previous alert not resolved within 30 s")
        time.sleep(self.rng.uniform(0, self.pause))
        step = self.next_step[k]
        f = self.files[k]
        t0 = time.monotonic()
        f.write(step_line(step, "nan"))
        f.flush()
        got = self.rx.wait_for(self._nonfinite(run, "firing", step), 30)
        if got is None:
            raise RuntimeError(f"{run}: no FIRING webhook for the NaN at step {step} within 30 s")
        if counted:
            self.latencies.append(got.t - t0)
        f.write(step_line(step + 1))  # pushes the NaN out of the window: the alert resolves
        f.flush()
        self.next_step[k] = step + 2
        # drop this run's posts so that the next wait sees only new ones
        self.rx.forget(lambda p: p.path == self.path and p.body.get("run") == run)

    def run_trials(self, n: int) -> None:
        try:
            for k in range(FILES_PER_DAEMON):  # warm-up; also proves the daemon is up and reading
                self.trial(k, counted=False)
            for i in range(n):
                self.trial(i % FILES_PER_DAEMON, counted=True)
        except Exception as exc:  # reported by the main thread
            self.error = f"{self.name}: {exc}"

    def close(self) -> None:
        for f in self.files:
            f.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()

    def stderr_tail(self) -> str:
        return (self.dir / "stderr.log").read_text(errors="replace")[-2000:]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=100, help="per mode")
    ap.add_argument("--parallel", type=int, default=2, help="daemons per mode, side by side")
    ap.add_argument("--poll-interval", type=float, default=1.0)
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed run still cleans up
    if args.trials < 1 or args.parallel < 1:
        ap.error("--trials and --parallel must be positive")

    tmp = Path(tempfile.mkdtemp(prefix="runwatch-bench-alert-"))
    daemons: list[Daemon] = []
    load0 = os.getloadavg()[0]
    t_start = time.perf_counter()
    try:
        with Receiver() as rx:  # 127.0.0.1, every POST recorded
            modes = [("inotify", None), (f"poll {args.poll_interval:g} s", args.poll_interval)]
            for _, poll in modes:
                for j in range(args.parallel):
                    daemons.append(Daemon(f"{'poll' if poll else 'inotify'}{j}", rx, tmp, poll, seed=j))
            shares = [args.trials // args.parallel + (1 if j < args.trials % args.parallel else 0)
                      for j in range(args.parallel)]
            threads = [threading.Thread(target=d.run_trials, args=(shares[i % args.parallel],), daemon=True)
                       for i, d in enumerate(daemons)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            errors = [d for d in daemons if d.error]
            for d in errors:
                print(f"error: {d.error}\n--- its stderr ---\n{d.stderr_tail()}", file=sys.stderr)
            wall = time.perf_counter() - t_start
            import runwatch

            print(f"runwatch from {Path(runwatch.__file__).parent}")
            print(f"append NaN line → webhook FIRING received (127.0.0.1); {args.trials} trials per mode over "
                  f"{args.parallel} daemon(s) side by side; wall {wall:.0f} s; "
                  f"load avg {load0:.1f} → {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            print(f"{'mode':14}{'n':>5}{'min ms':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}"
                  f"{'mean ms':>9}  goal p99")
            for label, poll in modes:
                xs = [x * 1000 for d in daemons if (d.poll is None) == (poll is None) for x in d.latencies]
                goal_ms = 1000.0 if poll is None else (poll + 0.5) * 1000
                if not xs:
                    print(f"{label:14}{0:5d}  (no trial completed)")
                    continue
                verdict = "met" if pct(xs, 99) < goal_ms else "missed"
                print(f"{label:14}{len(xs):5d}{min(xs):9.1f}{pct(xs, 50):9.1f}{pct(xs, 90):9.1f}{pct(xs, 99):9.1f}"
                      f"{max(xs):9.1f}{statistics.fmean(xs):9.1f}  < {goal_ms:.0f} ms: {verdict}")
            return 1 if errors else 0
    finally:
        for d in daemons:
            d.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
