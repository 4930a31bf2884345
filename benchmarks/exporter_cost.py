"""What Prometheus costs the daemon: CPU of one `runwatch watch --listen` following 50 runs, per scrape of
`/metrics` and per `GET /api/v1/runs`, and what that is at a 15 s scrape interval.

    python benchmarks/exporter_cost.py [--runs 50] [--steps 2000] [--scrapes 200] [--every 0.1]

50 logs of real nanochat step lines (the PR #492 speedrun, renumbered; every 10th run with a NaN, so
alert series are exported too) are written first, then one daemon follows them all. Once it has read
them, the daemon's CPU (user+system, psutil) is measured over three windows of equal length: no
requests (the daemon's own idle cost), `/metrics` scraped every `--every` s (faster than Prometheus's
15 s, so the cost stands out of the noise), then `/api/v1/runs` at the same pace. Per request: the
window's CPU minus the idle window's, divided by the requests; at a 15 s interval: that over 15 s, as
% of one core (goal < 1%). Figures only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
from soak import StepLines

SCRAPE_INTERVAL_S = 15.0


def cpu_s(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def write_runs(root: Path, runs: int, steps: int) -> list[Path]:
    """`runs` logs of `steps` real step lines each, one per directory (a run each); every 10th has a NaN."""
    lines, logs = StepLines(), []
    for r in range(runs):
        log = root / f"run{r:02d}" / "train.log"
        log.parent.mkdir(parents=True)
        nan_at = steps // 2 if r % 10 == 0 else -1
        log.write_bytes(b"".join(lines.line(i, nan=i == nan_at) for i in range(steps)))
        logs.append(log)
    return logs


def get(url: str) -> tuple[float, int]:
    """Seconds the request took and the size of the answer."""
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as r:
        n = len(r.read())
    return time.perf_counter() - t0, n


def window(proc: psutil.Process, url: str | None, count: int, every: float) -> tuple[float, list[float], int]:
    """CPU seconds of the daemon over `count` × `every` seconds, requesting `url` each time (None: idle);
    the requests' latencies and the last answer's size."""
    c0, latencies, size = cpu_s(proc), [], 0
    t0 = time.monotonic()
    for i in range(count):
        if url is not None:
            took, size = get(url)
            latencies.append(took)
        delay = t0 + (i + 1) * every - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    return cpu_s(proc) - c0, latencies, size


def start_daemon(tmp: Path, logs: list[Path]) -> tuple[subprocess.Popen[bytes], str]:
    log = tmp / "daemon.log"
    daemon = subprocess.Popen([*runwatch_cmd(), "watch", *map(str, logs), "--listen", "127.0.0.1:0", "--no-gpu",
                               "--interval", "3600", "--state-dir", str(tmp / "state"), "--log-file", str(log)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        if "listening on 127.0.0.1:" in text:
            port = text.split("listening on 127.0.0.1:", 1)[1].split(":", 1)[0]
            return daemon, f"http://127.0.0.1:{port}"
        time.sleep(0.1)
    daemon.kill()
    raise SystemExit("the daemon did not start listening within 60 s")


def wait_read(base: str, runs: int, steps: int) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base}/api/v1/runs", timeout=30) as r:
            got = json.loads(r.read())
        if len(got) == runs and all(s["step"] == steps - 1 and not s["notes"] for s in got):
            time.sleep(2.0)
            return
        time.sleep(0.5)
    raise SystemExit("the daemon did not read the logs within 300 s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--steps", type=int, default=2000, help="step lines in each run's log")
    ap.add_argument("--scrapes", type=int, default=200, help="requests in each measured window")
    ap.add_argument("--every", type=float, default=0.1, help="seconds between requests in a window")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="runwatch-exporter-cost-"))
    logs = write_runs(tmp / "runs", args.runs, args.steps)
    daemon, base = start_daemon(tmp, logs)
    try:
        wait_read(base, args.runs, args.steps)
        proc = psutil.Process(daemon.pid)
        idle, _, _ = window(proc, None, args.scrapes, args.every)
        rows = []
        for name, path in (("/metrics", "/metrics"), ("/api/v1/runs", "/api/v1/runs")):
            used, lat, size = window(proc, base + path, args.scrapes, args.every)
            per = max(0.0, used - idle) / args.scrapes
            rows.append((name, per, 100 * per / SCRAPE_INTERVAL_S, statistics.median(lat), max(lat), size))
        with urllib.request.urlopen(f"{base}/metrics", timeout=30) as r:
            samples = sum(1 for line in r.read().decode().splitlines() if line and not line.startswith("#"))
    finally:
        stop_process(daemon)
        shutil.rmtree(tmp, ignore_errors=True)
    secs = args.scrapes * args.every
    print(f"{args.runs} runs of {args.steps} steps, one `runwatch watch --listen`; windows of {args.scrapes} "
          f"requests every {args.every:g} s ({secs:g} s); {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"daemon idle (no requests): {100 * idle / secs:.2f}% of a core; /metrics holds {samples} samples")
    print(f"{'endpoint':14s} {'CPU ms/request':>15s} {'% core @15s':>12s} {'p50 ms':>8s} {'max ms':>8s} {'bytes':>9s}")
    for name, per, pct, p50, worst, size in rows:
        print(f"{name:14s} {1000 * per:15.2f} {pct:12.4f} {1000 * p50:8.2f} {1000 * worst:8.2f} {size:9d}")
    print(f"goal (issue 14): < 1% of a core with {args.runs} runs scraped every {SCRAPE_INTERVAL_S:g} s; "
          f"/metrics: {rows[0][2]:.3f}% ({rows[0][2]:.2f}x of the budget's 1%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
