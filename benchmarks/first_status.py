"""Time to the first status line of `runwatch tail` on a long log, and what start-up imports cost.

Generates a nanochat log (default 2,000,000 lines, 10% noise; the generator
of parse_throughput.py when it can be imported, a small one otherwise; in a
child process) and a 2,000-line log (its head: start-up alone), then starts
`runwatch tail LOG --headless --json --interval 1` `--runs` times on each and
times, from just before the process is started:

* the first status line on stdout (goal: under 0.5 s on the long log);
* the first status with `"notes": []` (history fully read; status lines come
  every second, so this is seen to within about 1 s; waiting stops after
  `--timeout` s per run);
* the longest gap between two status lines until then (the front end
  cannot take a snapshot while the engine's worker holds its lock);
* then how long it takes to end after SIGTERM (killed after 5 s), its CPU
  time and peak RSS (os.wait4).

Every run's figures and the medians are printed. Then `python -X importtime`
of `import runwatch.cli` and of the real `tail` path (the command above on
the 2,000-line log, stopped at its first status line): the total (self times
summed, inflated by -X importtime), the heaviest packages (per top-level
package; runwatch per subpackage), and whether textual or wandb are among
them. Default settings take about 2 minutes on 2 cores.

    python benchmarks/first_status.py [--lines N] [--runs 3] [--timeout 40] [--log FILE] [--keep]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOAL_S = 0.5
EXIT_WAIT_S = 5.0
SMALL_LINES = 2000
HEAVY = ("textual", "wandb")


# -- the log --------------------------------------------------------------------------------------

def write_log(path: Path, lines: int) -> str:
    """The log; says which generator wrote it."""
    sys.path.insert(0, str(HERE))
    try:
        from parse_throughput import write_log as pt_write_log
    except ImportError:
        pt_write_log = None
    finally:
        sys.path.remove(str(HERE))
    if pt_write_log is not None:
        pt_write_log(path, lines)
        return "parse_throughput.write_log"
    import random

    rng = random.Random(0)
    with open(path, "w", encoding="utf-8") as f:
        step = 0
        for _ in range(lines):
            if rng.random() < 0.10:
                f.write(f"[GC rank{rng.randrange(8)}] collected {rng.randrange(400000)} objects\n")
                continue
            f.write(f"step {step:07d}/9999999 ({step / 99999.99:.2f}%) | loss: {2.3 + 8 / (1 + step / 500):.6f}"
                    f" | lrm: 1.00 | dt: {650 + rng.gauss(0, 3):.2f}ms | tok/sec: 806,131 | mfu: 50.38"
                    f" | total time: {step * 0.0108:.2f}m\n")
            step += 1
    return "built-in generator"


# -- one run of `runwatch tail` -------------------------------------------------------------------

def runwatch_cmd() -> list[str]:
    script = Path(sys.executable).with_name("runwatch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "runwatch"]


def one_run(log: Path, timeout: float) -> dict[str, float | int | None]:
    argv = [*runwatch_cmd(), "tail", str(log), "--headless", "--json", "--interval", "1"]
    status_times: list[float] = []
    first_step: list[int | None] = []
    full = threading.Event()
    t_full: list[float] = []
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def read() -> None:
        assert p.stdout is not None
        for raw in p.stdout:
            now = time.perf_counter() - t0
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if obj.get("type") != "status":
                continue
            if not full.is_set():
                status_times.append(now)
                if len(first_step) == 0:
                    first_step.append(obj.get("step"))
                if obj.get("notes") == []:
                    t_full.append(now)
                    full.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    exit_s: float | None = None
    try:
        full.wait(timeout)
        t_stop = time.perf_counter() - t0
        p.send_signal(signal.SIGTERM)
        if _wait_for(p, EXIT_WAIT_S):
            exit_s = time.perf_counter() - t0 - t_stop
        else:
            p.kill()
        _, status, ru = os.wait4(p.pid, 0)  # reaps it, with its own CPU time and peak RSS
        p.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if p.returncode is None:
            p.kill()
            p.wait()
        reader.join(5.0)
        if p.stdout is not None:
            p.stdout.close()
    marks = status_times + ([] if t_full else [t_stop])  # an unfinished read: the open gap counts too
    gaps = [b - a for a, b in zip(marks, marks[1:], strict=False)]
    return {
        "first": status_times[0] if status_times else None,
        "first_step": first_step[0] if first_step else None,
        "full": t_full[0] if t_full else None,
        "max_gap": max(gaps) if gaps else None,
        "statuses": len(status_times),
        "exit": exit_s,
        "rss_mb": ru.ru_maxrss / 1024,
        "cpu": ru.ru_utime + ru.ru_stime,
    }


def _wait_for(p: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait for the child to end without reaping it (os.wait4 then reaps it with its rusage)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            info = os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return False
        if info is not None:
            return True
        time.sleep(0.01)
    return False


def interpreter_floor() -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - t


# -- import time ----------------------------------------------------------------------------------

_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def parse_importtime(text: str) -> list[tuple[int, int, int, str]]:
    """(self µs, cumulative µs, depth, module) per import, in the order printed."""
    out = []
    for line in text.splitlines():
        m = _IMPORT_LINE.match(line)
        if m:
            out.append((int(m.group(1)), int(m.group(2)), len(m.group(3)) // 2, m.group(4)))
    return out


def group(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "runwatch" and len(parts) > 1 else parts[0]


def import_summary(label: str, rows: list[tuple[int, int, int, str]], top: int = 10) -> list[str]:
    total = sum(r[0] for r in rows)
    by: dict[str, int] = {}
    for self_us, _, _, mod in rows:
        by[group(mod)] = by.get(group(mod), 0) + self_us
    heavy = sorted({r[3].split(".")[0] for r in rows} & set(HEAVY))
    out = [f"{label}: {len(rows)} modules, {total / 1000:.1f} ms (self times summed, under -X importtime); "
           f"textual/wandb imported: {', '.join(heavy) if heavy else 'no'}"]
    for name, us in sorted(by.items(), key=lambda kv: -kv[1])[:top]:
        out.append(f"    {name:32}{us / 1000:8.1f} ms  {100 * us / max(total, 1):5.1f}%")
    return out


def importtime_cli() -> list[tuple[int, int, int, str]]:
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", "import runwatch.cli"],
                       capture_output=True, text=True, check=True)
    return parse_importtime(r.stderr)


def importtime_tail(log: Path, timeout: float = 30.0) -> list[tuple[int, int, int, str]]:
    """The imports of the real `tail` path up to its first status line."""
    argv = [sys.executable, "-X", "importtime", "-m", "runwatch", "tail", str(log), "--headless", "--json",
            "--interval", "1"]
    with tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True)
        timer = threading.Timer(timeout, p.terminate)  # never wait forever on a first line
        timer.start()
        try:
            assert p.stdout is not None
            for line in p.stdout:
                if '"type": "status"' in line:
                    break
        finally:
            timer.cancel()
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            if p.stdout is not None:
                p.stdout.close()
        err.seek(0)
        return parse_importtime(err.read())


# -- main -----------------------------------------------------------------------------------------

def _fmt(v: float | int | None, spec: str = ".3f", missing: str = "—") -> str:
    return missing if v is None else format(v, spec)


def table(label: str, log: Path, runs: int, timeout: float) -> float | None:
    """Print one row per run and a median row; the median time to the first status."""
    rows = []
    for i in range(runs):
        r = one_run(log, timeout)
        rows.append(r)
        print(f"{label:>10}{i + 1:4d}{_fmt(r['first']):>14}{_fmt(r['first_step'], 'd'):>10}"
              f"{_fmt(r['full'], '.2f', f'>{timeout:g}'):>10}{_fmt(r['max_gap'], '.2f'):>9}{r['statuses']:10d}"
              f"{_fmt(r['exit'], '.2f', f'>{EXIT_WAIT_S:g}'):>14}{_fmt(r['cpu'], '.1f'):>7}"
              f"{_fmt(r['rss_mb'], '.0f'):>9}", flush=True)

    def med(key: str) -> float | None:  # a missing figure counts as longer than any
        xs = [math.inf if r[key] is None else float(r[key]) for r in rows]
        m = statistics.median(xs) if xs else None
        return None if m is None or math.isinf(m) else m

    first = med("first")
    print(f"{label:>10}{'med':>4}{_fmt(first):>14}{'':>10}{_fmt(med('full'), '.2f', f'>{timeout:g}'):>10}"
          f"{_fmt(med('max_gap'), '.2f'):>9}{'':>10}{_fmt(med('exit'), '.2f', f'>{EXIT_WAIT_S:g}'):>14}"
          f"{_fmt(med('cpu'), '.1f'):>7}{_fmt(med('rss_mb'), '.0f'):>9}", flush=True)
    return first


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=40.0,
                    help="stop waiting for the history to be read after this many seconds (per run)")
    ap.add_argument("--log", type=Path, help="use this log instead of generating one")
    ap.add_argument("--keep", action="store_true", help="keep the generated log and print its path")
    ap.add_argument("--generate", nargs=2, metavar=("LINES", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.generate:
        print(write_log(Path(args.generate[1]), int(args.generate[0])))
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed run still cleans up

    tmp = Path(tempfile.mkdtemp(prefix="runwatch-bench-first-"))
    log = args.log or tmp / "nanochat_train.log"
    try:
        if args.log is None:  # in a child: a forked child's peak RSS starts at its parent's
            t = time.perf_counter()
            how = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--generate", str(args.lines),
                                  str(log)], check=True, capture_output=True, text=True).stdout.strip()
            print(f"generated {args.lines:,} lines ({log.stat().st_size / 2**20:.0f} MiB) with {how} "
                  f"in {time.perf_counter() - t:.1f} s")
        import runwatch

        print(f"runwatch from {Path(runwatch.__file__).parent}; load average "
              f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
        floor = statistics.median(interpreter_floor() for _ in range(3))
        small = tmp / "small.log"  # the same start-up (format detected, rules built), no history to read
        with open(log, "rb") as src, open(small, "wb") as dst:
            dst.writelines(line for _, line in zip(range(SMALL_LINES), src, strict=False))
        print(f"`{' '.join(Path(a).name for a in runwatch_cmd())} tail LOG --headless --json --interval 1`, "
              f"{args.runs} runs per log; seconds from process start (python -c pass: {floor:.3f} s)")
        print(f"{'log':>10}{'run':>4}{'first status':>14}{'its step':>10}{'notes []':>10}{'max gap':>9}"
              f"{'statuses':>10}{'exit on TERM':>14}{'CPU s':>7}{'peak MB':>9}")
        first = None
        for label, path in ((f"{SMALL_LINES} lines", small), (f"{args.lines / 1e6:g}M lines", log)):
            first = table(label, path, args.runs, args.timeout)
        print(f"('>': not within --timeout {args.timeout:g} s, or not ended {EXIT_WAIT_S:g} s after SIGTERM "
              f"(then killed); load average now {', '.join(f'{x:.1f}' for x in os.getloadavg())})")
        verdict = "—" if first is None else ("met" if first < GOAL_S else "missed")
        print(f"goal: first status under {GOAL_S} s on the long log: {verdict}")

        print()
        for line in import_summary("import runwatch.cli", importtime_cli()):
            print(line)
        for line in import_summary("runwatch tail path, up to its first status", importtime_tail(small)):
            print(line)
    finally:
        if args.keep and args.log is None:
            print(f"log kept: {log}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
