"""Time to the first status line of `runwatch tail` on a long log, and what start-up imports cost.

Generates a nanochat log (default 2,000,000 lines, 10% noise; the generator
of parse_throughput.py when it can be imported, a small one otherwise), then
`--runs` times starts `runwatch tail LOG --headless --json --interval 1` and
times, from just before the process is started:

* the first status line on stdout (goal: under 0.5 s);
* the first status with `"notes": []` (history fully read; status lines come
  every second, so this is seen to within about 1 s);
* the longest gap between two status lines before that (the front end
  cannot take a snapshot while the worker holds the engine's lock);
* after that, how long SIGTERM takes to end it, and its peak RSS.

Medians are printed, with every run's figures. Then `python -X importtime`
of `import runwatch.cli` and of the real `tail` path (the command above,
stopped at its first status line): the total, the heaviest packages (self
time summed per top-level package; runwatch per subpackage), and whether
textual or wandb are among them.

    python benchmarks/first_status.py [--lines N] [--runs 3] [--log FILE] [--keep]
"""

from __future__ import annotations

import argparse
import json
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
    try:
        full.wait(timeout)
        t_term = time.perf_counter()
        p.send_signal(signal.SIGTERM)
        ru = None
        if _wait_for(p, 30.0):
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
        exit_s = time.perf_counter() - t_term
    finally:
        if p.returncode is None and p.poll() is None:
            p.kill()
            p.wait()
        reader.join(5.0)
        if p.stdout is not None:
            p.stdout.close()
    gaps = [b - a for a, b in zip(status_times, status_times[1:], strict=False)]
    return {
        "first": status_times[0] if status_times else None,
        "first_step": first_step[0] if first_step else None,
        "full": t_full[0] if t_full else None,
        "max_gap": max(gaps) if gaps else None,
        "statuses": len(status_times),
        "exit": exit_s,
        "rss_mb": ru.ru_maxrss / 1024 if ru is not None else None,
        "cpu": ru.ru_utime + ru.ru_stime if ru is not None else None,
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

def _fmt(v: float | int | None, spec: str = ".3f") -> str:
    return "—" if v is None else format(v, spec)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=40.0,
                    help="stop waiting for the history to be read after this many seconds (per run)")
    ap.add_argument("--log", type=Path, help="use this log instead of generating one")
    ap.add_argument("--keep", action="store_true", help="keep the generated log and print its path")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="runwatch-bench-first-"))
    log = args.log or tmp / "nanochat_train.log"
    try:
        if args.log is None:
            t = time.perf_counter()
            how = write_log(log, args.lines)
            print(f"generated {args.lines:,} lines ({log.stat().st_size / 2**20:.0f} MiB) with {how} "
                  f"in {time.perf_counter() - t:.1f} s")
        import runwatch

        print(f"runwatch from {Path(runwatch.__file__).parent}; load average "
              f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
        floor = statistics.median(interpreter_floor() for _ in range(3))
        print(f"`{' '.join(Path(a).name for a in runwatch_cmd())} tail LOG --headless --json --interval 1`, "
              f"{args.runs} runs; seconds from process start; python -c pass takes {floor:.3f} s here")
        print(f"{'run':>4}{'first status':>14}{'its step':>10}{'notes []':>10}{'max gap':>9}{'statuses':>10}"
              f"{'exit on TERM':>14}{'CPU s':>7}{'peak MB':>9}")
        runs = []
        for i in range(args.runs):
            r = one_run(log, args.timeout)
            runs.append(r)
            print(f"{i + 1:4d}{_fmt(r['first']):>14}{_fmt(r['first_step'], 'd'):>10}{_fmt(r['full'], '.2f'):>10}"
                  f"{_fmt(r['max_gap'], '.2f'):>9}{r['statuses']:10d}{_fmt(r['exit'], '.2f'):>14}"
                  f"{_fmt(r['cpu'], '.1f'):>7}{_fmt(r['rss_mb'], '.0f'):>9}", flush=True)

        def med(key: str) -> float | None:
            xs = [r[key] for r in runs if r[key] is not None]
            return statistics.median(xs) if xs else None

        first = med("first")
        print(f"{'med':>4}{_fmt(first):>14}{'':>10}{_fmt(med('full'), '.2f'):>10}{_fmt(med('max_gap'), '.2f'):>9}"
              f"{'':>10}{_fmt(med('exit'), '.2f'):>14}{_fmt(med('cpu'), '.1f'):>7}{_fmt(med('rss_mb'), '.0f'):>9}")
        print(f"('—': not within --timeout {args.timeout:g} s; load average now "
              f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs)")
        verdict = "—" if first is None else ("met" if first < GOAL_S else "missed")
        print(f"goal: first status under {GOAL_S} s: {verdict}")

        print()
        for line in import_summary("import runwatch.cli", importtime_cli()):
            print(line)
        with tempfile.TemporaryDirectory(prefix="runwatch-bench-imports-") as d:
            small = Path(d) / "small.log"  # the same imports (format detected, rules built), no history to wait on
            with open(log, "rb") as src, open(small, "wb") as dst:
                dst.writelines(line for _, line in zip(range(2000), src, strict=False))
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
