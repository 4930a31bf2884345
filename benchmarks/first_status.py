"""Time to the first status line of `runwatch tail` on a 2 M-line log of every text format, and what start-up imports cost.

For each format of format_throughput.py (its logs: the format's real lines,
10% real noise with 0.5% traceback headers; built in a child process,
`--lines` lines, default 2,000,000) `runwatch tail LOG --headless --json
--interval 1` is started with `--format F` and without it (the format
detected), `--runs` times each, and timed from just before the process is
started:

* the first status line on stdout (goal, issue 12: under 0.5 s for every
  format, both ways), the CPU time the process had used by then (from
  /proc: what start-up costs apart from waiting for a CPU on a loaded
  machine), and the step it shows;
* in the first run of each way only (the others stop at the first status):
  the first status with `"notes": []` (history read and judged; statuses
  come every second, so this is seen to within about 1 s; waiting stops
  after `--timeout` s), the longest gap between two status lines until then
  (the front end cannot take a snapshot while the engine's worker holds its
  lock), how long it then takes to end after SIGTERM (killed after 5 s),
  and the process's CPU time and peak RSS (os.wait4).

A `start-up` row does the same on the first 2,000 lines of the picollm log
(no history to speak of); `--log FILE` adds a row for a log of yours (its
format detected only). Medians of the first status are printed; every
run's figure with `--verbose`. Then `python -X importtime` of `import
runwatch.cli` and of the real `tail` path (on the 2,000-line log, stopped at
its first status line): the total (self times summed, inflated by -X
importtime), the heaviest packages (per top-level package; runwatch per
subpackage), and whether textual or wandb are among them.

runwatch runs as installed: with its modules' bytecode cached (a pip install
compiles them), in a cache of this benchmark's own (PYTHONPYCACHEPREFIX, one
warm-up run first), whatever PYTHONDONTWRITEBYTECODE says here: without it
every start compiles runwatch's sources again (about 0.3 s more). `--logs
DIR` keeps the generated logs there and reuses them on the next run (the
same logs before and after a change). All formats at default settings take
about 10 minutes on 2 cores.

    python benchmarks/first_status.py [--lines N] [--only FMT …] [--runs 3] [--timeout 60] [--logs DIR] [--log FILE]
                                      [--verbose]
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
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import rss_mb, run_as_installed, runwatch_cmd
from format_throughput import BY_NAME, FORMATS

HERE = Path(__file__).resolve().parent
GOAL_S = 0.5
EXIT_WAIT_S = 5.0
SMALL_LINES = 2000
HEAVY = ("textual", "wandb")
TAIL_ARGS = ("--headless", "--json", "--interval", "1")


# -- the logs -------------------------------------------------------------------------------------

def make_log(name: str, lines: int, where: Path) -> Path:
    """format_throughput.py's noisy log of the format (its own child builds it), reused if already there."""
    path = where / f"{name}-{lines}.log"
    if not path.exists():
        part = path.with_suffix(".part")
        subprocess.run([sys.executable, str(HERE / "format_throughput.py"), "--child", "noisy", name, str(part)],
                       check=True, env={**os.environ, "BENCH_LINES": str(lines)})
        part.rename(path)
    return path


def head(src: Path, dst: Path, lines: int) -> Path:
    with open(src, "rb") as f, open(dst, "wb") as out:
        out.writelines(line for _, line in zip(range(lines), f, strict=False))
    return dst


# -- one run of `runwatch tail` -------------------------------------------------------------------

@dataclass
class Run:
    first: float | None = None
    first_cpu: float | None = None
    first_step: int | None = None
    full: float | None = None
    max_gap: float | None = None
    exit: float | None = None
    cpu: float | None = None
    rss_mb: float | None = None


def one_run(log: Path, fmt: str | None, env: dict[str, str], *, timeout: float, full: bool) -> Run:
    """Start `runwatch tail LOG --headless --json --interval 1 [--format F]`; stop it at its first status, or
    (`full`) at its first status with no notes (the history read), `timeout` s at most."""
    argv = [*runwatch_cmd(), "tail", str(log), *TAIL_ARGS, *(["--format", fmt] if fmt else [])]
    times: list[float] = []
    run = Run()
    done = threading.Event()
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)

    def read() -> None:
        assert p.stdout is not None
        for raw in p.stdout:
            now = time.perf_counter() - t0
            if b'"type": "status"' not in raw or done.is_set():
                continue
            obj = json.loads(raw)
            times.append(now)
            if len(times) == 1:
                run.first_step, run.first_cpu = obj.get("step"), cpu_s(p.pid)
            if not full or obj.get("notes") == []:
                run.full = now if obj.get("notes") == [] else None
                done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        done.wait(timeout)
        t_stop = time.perf_counter() - t0
        p.send_signal(signal.SIGTERM)
        if _wait_for(p, EXIT_WAIT_S):
            run.exit = time.perf_counter() - t0 - t_stop
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
    run.first = times[0] if times else None
    if full:
        marks = times + ([] if run.full is not None else [t_stop])  # an unfinished read: the open gap counts too
        run.max_gap = max((b - a for a, b in zip(marks, marks[1:], strict=False)), default=None)
        run.cpu, run.rss_mb = ru.ru_utime + ru.ru_stime, rss_mb(ru)
    return run


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


def cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) the process has used so far, from /proc (to 10 ms); None elsewhere.

    What a start-up costs apart from waiting for a CPU: on a shared 2-core machine the wall time to the
    first status swings with the load, its CPU time much less."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def interpreter_floor() -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - t


# -- a row: one log, with the format given and detected ------------------------------------------

@dataclass
class Way:
    runs: list[Run] = field(default_factory=list)

    @property
    def first(self) -> float | None:
        """Median first status (a run without one counts as longer than any)."""
        m = statistics.median(math.inf if r.first is None else r.first for r in self.runs) if self.runs else None
        return None if m is None or math.isinf(m) else m

    @property
    def first_cpu(self) -> float | None:
        xs = [r.first_cpu for r in self.runs if r.first_cpu is not None]
        return statistics.median(xs) if xs else None

    @property
    def history(self) -> Run:
        return self.runs[0] if self.runs else Run()


def measure(label: str, log: Path, fmt: str | None, env: dict[str, str], runs: int, timeout: float,
            verbose: bool) -> tuple[Way, Way]:
    ways = (Way(), Way())
    for i in range(runs):
        for way, given in zip(ways, (fmt, None), strict=True):
            if way is ways[0] and fmt is None:  # a log of --log: its format detected only
                continue
            r = one_run(log, given, env, timeout=timeout, full=i == 0)
            way.runs.append(r)
            if verbose:
                print(f"    {label} {f'--format {given}' if given else 'detected'} run {i + 1}: first "
                      f"{_fmt(r.first)} s (step {r.first_step}), notes [] {_fmt(r.full, '.2f')} s", flush=True)
    return ways


def _fmt(v: float | int | None, spec: str = ".3f", missing: str = "—") -> str:
    return missing if v is None else format(v, spec)


HEADER = (f"{'log':11}{'MiB':>5}{'first s':>9}{'CPU':>6}{'detected':>9}{'CPU':>6}{'its step':>10}"
          f"{'notes [] s':>11}{'detected':>9}{'max gap':>8}{'exit':>6}{'CPU s':>7}{'peak MB':>8}")


def row(label: str, log: Path, given: Way, detected: Way, timeout: float) -> str:
    over = f">{timeout:g}"
    gaps = [g for g in (given.history.max_gap, detected.history.max_gap) if g is not None]
    rss = [m for m in (given.history.rss_mb, detected.history.rss_mb) if m is not None]
    ends = [x for x in (given.history.exit, detected.history.exit) if x is not None]
    runs = len([r for r in (given.history, detected.history) if r.cpu is not None])
    return (f"{label:11}{log.stat().st_size / 2**20:5.0f}{_fmt(given.first):>9}{_fmt(given.first_cpu, '.2f'):>6}"
            f"{_fmt(detected.first):>9}{_fmt(detected.first_cpu, '.2f'):>6}"
            f"{_fmt(detected.history.first_step, 'd'):>10}"
            f"{_fmt(given.history.full, '.2f', over if given.runs else '—'):>11}"
            f"{_fmt(detected.history.full, '.2f', over):>9}{_fmt(max(gaps, default=None), '.2f'):>8}"
            f"{_fmt(max(ends) if len(ends) == runs else None, '.2f', f'>{EXIT_WAIT_S:g}'):>6}"
            f"{_fmt(given.history.cpu if given.runs else detected.history.cpu, '.1f'):>7}"
            f"{_fmt(max(rss, default=None), '.0f'):>8}")


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
    total = sum(max(r[0], 0) for r in rows)
    by: dict[str, int] = {}
    for self_us, _, _, mod in rows:
        by[group(mod)] = by.get(group(mod), 0) + max(self_us, 0)
    heavy = sorted({r[3].split(".")[0] for r in rows} & set(HEAVY))
    out = [f"{label}: {len(rows)} modules, {total / 1000:.1f} ms (self times summed, under -X importtime); "
           f"textual/wandb imported: {', '.join(heavy) if heavy else 'no'}"]
    for name, us in sorted(by.items(), key=lambda kv: -kv[1])[:top]:
        out.append(f"    {name:32}{us / 1000:8.1f} ms  {100 * us / max(total, 1):5.1f}%")
    return out


def importtime_cli(env: dict[str, str]) -> list[tuple[int, int, int, str]]:
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", "import runwatch.cli"],
                       capture_output=True, text=True, check=True, env=env)
    return parse_importtime(r.stderr)


def importtime_tail(log: Path, env: dict[str, str], timeout: float = 30.0) -> list[tuple[int, int, int, str]]:
    """The imports of the real `tail` path up to its first status line."""
    argv = [sys.executable, "-X", "importtime", "-m", "runwatch", "tail", str(log), *TAIL_ARGS]
    with tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
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

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--only", nargs="+", choices=list(BY_NAME), help="these formats only")
    ap.add_argument("--runs", type=int, default=3, help="runs per format and way; the median first status is shown")
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="stop waiting for the history to be read after this many seconds (per run)")
    ap.add_argument("--log", type=Path, help="a row for this log too (its format detected only)")
    ap.add_argument("--logs", type=Path, help="keep the generated logs in DIR, and reuse those already there")
    ap.add_argument("--verbose", action="store_true", help="every run's figures too")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed run still cleans up

    tmp = Path(tempfile.mkdtemp(prefix="runwatch-bench-first-"))
    where = args.logs or tmp
    where.mkdir(parents=True, exist_ok=True)
    env = run_as_installed()
    try:
        import runwatch

        t = time.perf_counter()
        formats = [f for f in FORMATS if not args.only or f.name in args.only]
        logs = {f.name: make_log(f.name, args.lines, where) for f in formats}
        print(f"{len(logs)} logs of {args.lines:,} lines (format_throughput.py's, 10% real noise) ready in "
              f"{time.perf_counter() - t:.0f} s in {where}")
        small = head(logs.get("picollm") or make_log("picollm", args.lines, where), tmp / "small.log", SMALL_LINES)
        subprocess.run([*runwatch_cmd(), "parse", "--output", "summary", str(small)], env=env, check=True,
                       capture_output=True)  # the warm-up: the files runwatch reads in the OS cache
        floor = statistics.median(interpreter_floor() for _ in range(3))
        print(f"runwatch from {Path(runwatch.__file__).parent}; load average "
              f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs; python -c pass: "
              f"{floor:.3f} s")
        print(f"`runwatch tail LOG {' '.join(TAIL_ARGS)} [--format F]`, seconds from process start; first s: "
              f"median of {args.runs} runs with --format, detected: without, each with the CPU seconds the process "
              "had used by then; the history read (notes []), the longest gap between statuses, the exit on SIGTERM "
              "(the slower way), CPU s (with --format) and peak RSS of the first run of each")
        print(HEADER)
        firsts: dict[str, float | None] = {}
        rows: list[tuple[str, Path, str | None]] = [("start-up", small, "picollm"),
                                                    *((f.name, logs[f.name], f.runwatch_format) for f in formats)]
        if args.log is not None:
            rows.append((args.log.name[:10], args.log, None))
        for label, log, fmt in rows:
            given, detected = measure(label, log, fmt, env, args.runs, args.timeout, args.verbose)
            print(row(label, log, given, detected, args.timeout), flush=True)
            if label != "start-up" and fmt is not None:
                firsts[f"{label} --format"], firsts[f"{label} detected"] = given.first, detected.first
        print(f"('>': not within --timeout {args.timeout:g} s; start-up: the picollm log's first {SMALL_LINES:,} "
              f"lines; load average now {', '.join(f'{x:.1f}' for x in os.getloadavg())})")
        missed = [k for k, v in firsts.items() if v is None or v >= GOAL_S]
        slowest = max(firsts.values(), key=lambda v: math.inf if v is None else v, default=None)
        print(f"goal: first status under {GOAL_S} s on every log, format given or detected: "
              f"{'met' if not missed else 'missed by ' + ', '.join(missed)} (slowest {_fmt(slowest)} s)")

        print()
        for line in import_summary("import runwatch.cli", importtime_cli(env)):
            print(line)
        for line in import_summary("runwatch tail path, up to its first status", importtime_tail(small, env)):
            print(line)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
