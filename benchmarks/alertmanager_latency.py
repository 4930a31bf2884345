"""Append a NaN → Alertmanager's webhook receiver has the notification, through `runwatch watch --alertmanager`.

The real Alertmanager binary (`prometheus-alertmanager`, Debian's package; exit 77 when it is not
installed) runs on 127.0.0.1 with a temp config: one route grouped by `alertname` and `run`,
`group_wait` as `--group-wait` (default 1s), `group_interval: 1s`, `repeat_interval: 1h`, and a
webhook receiver that is this process's HTTP server (127.0.0.1). `runwatch watch A.log B.log
--alertmanager http://127.0.0.1:PORT --rule nonfinite.window=1 --rule nonfinite.resolve_after=1s`
runs as a subprocess. A trial appends one nanochat step line with `loss: nan` to a log that so far
held healthy lines and times it from just before the write+flush to the moment the receiver has read
Alertmanager's FIRING notification for that run and step (both clocks are this process's). One
healthy line follows, so the alert resolves a second later; the two logs (two runs, two Alertmanager
groups) take turns, and a log is used again only once its RESOLVED notification arrived (its group is
then gone, so the next NaN waits `group_wait` again, as a fresh alert would). The writer pauses a
random 0-1 s before each NaN, so it lands at a random phase of runwatch's tick; the first trial on
each log is a warm-up.

The goal (issue 14): p99 below `group_wait` + 1 s: runwatch's part (read, judge, POST) must stay
well under a second on top of what Alertmanager itself waits by design.

    python benchmarks/alertmanager_latency.py [--trials 30] [--group-wait 1s]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from _support import Received, Receiver, pct, runwatch_cmd, stop_process
from alert_latency import step_line

SKIP = 77
WARMUP = 1
HEALTHY_BEFORE = 20


def seconds(text: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "m": 60.0}
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    raise argparse.ArgumentTypeError(f"a duration like 1s or 500ms, got {text!r}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_alertmanager(binary: str, tmp: Path, hook: str, group_wait: str) -> tuple[subprocess.Popen[bytes], str]:
    cfg = tmp / "alertmanager.yml"
    cfg.write_text(json.dumps({
        "route": {"receiver": "hook", "group_by": ["alertname", "run"], "group_wait": group_wait,
                  "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{"name": "hook", "webhook_configs": [{"url": hook, "send_resolved": True}]}],
    }))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([binary, f"--config.file={cfg}", f"--storage.path={tmp / 'am-data'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                            stdout=subprocess.DEVNULL, stderr=open(tmp / "alertmanager.log", "wb"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"alertmanager exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("alertmanager not ready within 60 s")


def notified(path: str, status: str, run: str, step: int | None) -> Callable[[Received], bool]:
    """Alertmanager's webhook body for `run`'s nonfinite alert in `status` (at `step`, when given)."""
    def match(p: Received) -> bool:
        return p.path == path and any(
            a.get("status") == status and a.get("labels", {}).get("run") == run
            and a.get("labels", {}).get("alertname") == "nonfinite"
            and (step is None or a.get("annotations", {}).get("step") == str(step))
            for a in p.body.get("alerts", []))
    return match


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--group-wait", type=seconds, default=1.0, metavar="DURATION")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    binary = next((b for b in (shutil.which("prometheus-alertmanager"), shutil.which("alertmanager"),
                               "/usr/bin/prometheus-alertmanager") if b and os.path.exists(b)), None)
    if binary is None:
        print("the Alertmanager binary (Debian package prometheus-alertmanager) is not installed", file=sys.stderr)
        return SKIP
    group_wait = f"{int(args.group_wait * 1000)}ms"
    tmp = Path(tempfile.mkdtemp(prefix="runwatch-bench-am-"))
    rng = random.Random(args.seed)
    procs: list[subprocess.Popen[bytes]] = []
    latencies: list[float] = []
    load0, t_start = os.getloadavg()[0], time.perf_counter()
    try:
        with Receiver() as rx:
            path = "/am-hook"
            am, am_url = start_alertmanager(binary, tmp, f"http://127.0.0.1:{rx.port}{path}", group_wait)
            procs.append(am)
            logs = [tmp / f"run{k:03d}.log" for k in range(args.trials + WARMUP)]
            for log in logs:
                log.write_text("".join(step_line(s) for s in range(HEALTHY_BEFORE)))
            daemon = subprocess.Popen(
                [*runwatch_cmd(), "watch", *map(str, logs), "--alertmanager", am_url, "--state-dir",
                 str(tmp / "state"), "--interval", "60"],
                stdout=subprocess.DEVNULL, stderr=open(tmp / "daemon.log", "wb"))
            procs.append(daemon)
            files = [log.open("a", encoding="utf-8") for log in logs]
            for i, (log, f) in enumerate(zip(logs, files, strict=True)):
                time.sleep(rng.uniform(0, 1))
                t0 = time.monotonic()
                f.write(step_line(HEALTHY_BEFORE, "nan"))
                f.flush()
                got = rx.wait_for(notified(path, "firing", log.stem, HEALTHY_BEFORE), 60)
                if got is None:
                    raise RuntimeError(f"{log.stem}: no FIRING notification for its NaN within 60 s\n"
                                       f"{(tmp / 'daemon.log').read_text(errors='replace')[-2000:]}")
                if i >= WARMUP:
                    latencies.append(got.t - t0)
            for f in files:
                f.close()
    finally:
        for proc in reversed(procs):
            stop_process(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    xs = [x * 1000 for x in latencies]
    goal = (args.group_wait + 1.0) * 1000
    import runwatch

    print(f"runwatch from {Path(runwatch.__file__).parent}; Alertmanager {binary}")
    print(f"append NaN line → Alertmanager's webhook FIRING received (127.0.0.1); group_wait {group_wait}, "
          f"group_interval 1s; {len(xs)} trials; wall {time.perf_counter() - t_start:.0f} s; "
          f"load avg {load0:.1f} → {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'n':>5}{'min ms':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}{'mean ms':>9}  goal p99")
    print(f"{len(xs):5d}{min(xs):9.1f}{pct(xs, 50):9.1f}{pct(xs, 90):9.1f}{pct(xs, 99):9.1f}{max(xs):9.1f}"
          f"{statistics.fmean(xs):9.1f}  < group_wait + 1 s = {goal:.0f} ms: "
          f"{'met' if pct(xs, 99) < goal else 'missed'}")
    print(f"beyond group_wait (runwatch + Alertmanager's dispatch): p50 {pct(xs, 50) - args.group_wait * 1000:.1f} ms, "
          f"p99 {pct(xs, 99) - args.group_wait * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
