"""What the view across nodes costs, and that a hung node does not hold it up: one `runwatch watch --listen`
following 50 runs, read by `runwatch tail http://127.0.0.1:PORT`.

    python benchmarks/remote_view.py [--runs 50] [--steps 2000] [--polls 100] [--every 0.1] [--seconds 20]

The logs are exporter_cost.py's (real nanochat step lines, every 10th run with a NaN). Figures:
- the node's CPU per `GET /api/v1/snapshots` (what each viewer asks every second) beside per
  `GET /api/v1/runs`, each over a window of requests less an idle window of the same length, and what
  one viewer then costs the node at the 1 s poll interval (% of one core);
- the viewer's own parse of one poll's answer (`runwatch.wire.snapshot_from_json` of every run, median of
  `--polls`), and the CPU of a real `runwatch tail … --headless --json --interval 1` over `--seconds`;
- `snapshots()` of the merged view (the call the TUI makes every redraw) while a second node accepts
  connections and never answers: p50/p99/max, against the 3 s request timeout it would wait if it asked
  the node on the caller's thread. Figures only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import runwatch_cmd, stop_process
from exporter_cost import cpu_s, start_daemon, wait_read, window, write_runs

from runwatch.commands.nodes import NodeView
from runwatch.remote.address import parse_node
from runwatch.remote.client import TIMEOUT_S
from runwatch.remote.node import POLL_INTERVAL_S
from runwatch.wire import snapshot_from_json


def viewer_cpu(base: str, seconds: float) -> float:
    """% of one core a `runwatch tail NODE --headless --json --interval 1` uses over `seconds` (after start-up)."""
    tail = subprocess.Popen([*runwatch_cmd(), "tail", base, "--headless", "--json", "--interval", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc = psutil.Process(tail.pid)
        time.sleep(3.0)  # imports, first polls
        c0 = cpu_s(proc)
        time.sleep(seconds)
        return 100 * (cpu_s(proc) - c0) / seconds
    finally:
        stop_process(tail)


def hung_view_calls(base: str, calls: int) -> list[float]:
    """Seconds each merged `snapshots()` took while a second node accepts and never answers."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        hung = parse_node(f"127.0.0.1:{silent.getsockname()[1]}")
        with NodeView([parse_node(base), hung], interval=POLL_INTERVAL_S, token="") as view:
            deadline = time.monotonic() + 30
            while not any(s.records for s in view.snapshots()) and time.monotonic() < deadline:
                time.sleep(0.1)
            took = []
            for _ in range(calls):
                t0 = time.perf_counter()
                view.snapshots()
                took.append(time.perf_counter() - t0)
                time.sleep(0.05)
            return took


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--polls", type=int, default=100, help="requests in each measured window")
    ap.add_argument("--every", type=float, default=0.1, help="seconds between requests in a window")
    ap.add_argument("--seconds", type=float, default=20.0, help="how long the viewer's CPU is measured")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="runwatch-remote-view-"))
    daemon, base = start_daemon(tmp, write_runs(tmp / "runs", args.runs, args.steps))
    try:
        wait_read(base, args.runs, args.steps)
        proc = psutil.Process(daemon.pid)
        idle, _, _ = window(proc, None, args.polls, args.every)
        rows = []
        for path in ("/api/v1/snapshots", "/api/v1/runs"):
            used, lat, size = window(proc, base + path, args.polls, args.every)
            per = max(0.0, used - idle) / args.polls
            rows.append((path, per, statistics.median(lat), size))
        with urllib.request.urlopen(f"{base}/api/v1/snapshots", timeout=30) as r:
            raw = json.loads(r.read())
        parse = []
        for _ in range(args.polls):
            t0 = time.perf_counter()
            [snapshot_from_json(o) for o in raw]
            parse.append(time.perf_counter() - t0)
        tail_pct = viewer_cpu(base, args.seconds)
        took = sorted(hung_view_calls(base, 200))
    finally:
        stop_process(daemon)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{args.runs} runs of {args.steps} steps behind one `runwatch watch --listen`; {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}; viewers poll every {POLL_INTERVAL_S:g} s")
    print(f"{'node endpoint':20s} {'CPU ms/request':>15s} {'% core @1s poll':>16s} {'p50 ms':>8s} {'bytes':>9s}")
    for path, per, p50, size in rows:
        print(f"{path:20s} {1000 * per:15.2f} {100 * per / POLL_INTERVAL_S:16.3f} {1000 * p50:8.2f} {size:9d}")
    print(f"snapshots vs runs: {rows[0][1] / rows[1][1] if rows[1][1] else float('nan'):.2f}x the CPU, "
          f"{rows[0][3] / rows[1][3]:.2f}x the bytes")
    print(f"viewer: parse of one poll ({args.runs} snapshots) median {1000 * statistics.median(parse):.2f} ms; "
          f"`runwatch tail NODE --headless --json` {tail_pct:.2f}% of one core")
    p50, p99, worst = took[len(took) // 2], took[int(len(took) * 0.99) - 1], took[-1]
    print(f"merged snapshots() while one node hangs: p50 {1000 * p50:.3f} ms, p99 {1000 * p99:.3f} ms, "
          f"max {1000 * worst:.3f} ms (the request timeout: {TIMEOUT_S:g} s, {TIMEOUT_S / worst:.0f}x the worst call)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
