"""`runwatch report` against `runwatch parse` on the same 2 M-line log: what a report costs over reading.

Generates the nanochat log of `parse_throughput.py` (default 2,000,000 lines:
step lines with evaluations, a few `loss: nan` and 10% noise), then times, each
in a child process with start-up included and runwatch's bytecode compiled
first: `wc -l` (the anchor), `runwatch parse --output summary`, `runwatch check`
and `runwatch report` (the replay through the rules with the whole history kept,
the numbers, three PNGs, the Markdown), in wall and in CPU seconds. Then, in this process, it splits the
report's time as `runwatch report` spends it: reading and judging the log (the
replay as `check` does it), keeping the drawn metrics' whole history (the same
replay with it, less the one without), the numbers, importing matplotlib, the
PNGs and the document. Prints figures and the ratio; the issue's goal is report
< 2× parse.

    python benchmarks/report_time.py [--lines N] [--log FILE] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import run_as_installed
from parse_throughput import write_log

T = TypeVar("T")


class Spent(NamedTuple):
    """Seconds of wall time and of CPU time (user and system): on a machine others share, the CPU time of a
    command moves less than its wall time."""

    wall: float
    cpu: float


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _best(argv: list[str], repeat: int) -> Spent:
    """The least wall and the least CPU time of `repeat` runs of the command."""
    runs = []
    for _ in range(repeat):
        c0, t0 = _children_cpu(), time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        runs.append(Spent(time.perf_counter() - t0, _children_cpu() - c0))
    return Spent(min(r.wall for r in runs), min(r.cpu for r in runs))


def _timed(work: Callable[[], T], repeat: int) -> tuple[T, Spent]:
    """What `work` gives, and the least wall and CPU time of `repeat` runs of it."""
    runs, got = [], None
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        got = work()
        runs.append(Spent(time.perf_counter() - t0, time.process_time() - c0))
    assert got is not None
    return got, Spent(min(r.wall for r in runs), min(r.cpu for r in runs))


def split(path: Path, out: Path, repeat: int) -> list[tuple[str, Spent]]:
    """The report's time in the steps `runwatch report` takes them (runwatch.commands.report), in process."""
    from runwatch.commands.check import check_run, summarize
    from runwatch.commands.report import draw_plots, facts, write_document
    from runwatch.config import load_config
    from runwatch.plan import plan_runs
    from runwatch.report.numbers import run_numbers
    from runwatch.report.values import DRAWN

    (run,) = plan_runs([str(path)])
    config = load_config(None)
    _, judged = _timed(lambda: check_run(run, config, None, None), repeat)
    result, kept = _timed(lambda: check_run(run, config, None, None, history=DRAWN), repeat)
    numbers, numbered = _timed(lambda: run_numbers(facts(run, result, summarize(result))), repeat)
    c0, t0 = time.process_time(), time.perf_counter()
    import runwatch.report.plots  # noqa: F401  (matplotlib, as the report imports it: once, cold)

    imported = Spent(time.perf_counter() - t0, time.process_time() - c0)
    plots, drawn = _timed(lambda: draw_plots(result, out), repeat)
    _, written = _timed(lambda: write_document(numbers, plots, out, "md"), repeat)
    return [("read and judge (check's replay)", judged), ("keep the drawn metrics' history", Spent(kept.wall - judged.wall, kept.cpu - judged.cpu)),
            ("numbers", numbered), ("import matplotlib", imported), (f"draw {len(plots)} PNGs", drawn),
            ("write the Markdown", written)]


def _row(s: Spent, parse: Spent) -> str:
    return f"{s.wall:8.2f}{s.wall / parse.wall:9.2f}{s.cpu:8.2f}{s.cpu / parse.cpu:9.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--log", type=Path, help="measure this log instead of generating one")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each command; the fastest is shown")
    args = ap.parse_args(argv)

    run_as_installed()
    with tempfile.TemporaryDirectory(prefix="runwatch-bench-") as tmp:
        path = args.log or Path(tmp) / "nanochat_train.log"
        if args.log is None:
            write_log(path, args.lines)
        lines = sum(1 for _ in open(path, "rb"))
        cmd = [sys.executable, "-m", "runwatch"]
        wc = _best(["wc", "-l", str(path)], args.repeat)
        parse = _best([*cmd, "parse", "--output", "summary", str(path)], args.repeat)
        check = _best([*cmd, "check", str(path)], args.repeat)
        report = _best([*cmd, "report", str(path), "-o", str(Path(tmp) / "report")], args.repeat)
        pngs = sorted(p.name for p in (Path(tmp) / "report").glob("*.png"))
        steps = split(path, Path(tmp) / "split", args.repeat)

    origin = str(args.log) if args.log else "generated"
    print(f"{lines:,} lines ({origin}); {os.cpu_count()} CPUs; best of {args.repeat}; plots: {', '.join(pngs)}")
    print(f"{'':36}{'wall s':>8}{'× parse':>9}{'cpu s':>8}{'× parse':>9}")
    for name, s in (("wc -l (anchor)", wc), ("runwatch parse --output summary", parse),
                    ("runwatch check", check), ("runwatch report", report)):
        print(f"{name:36}{_row(s, parse)}")
    print(f"report / parse: {report.wall / parse.wall:.2f}× wall, {report.cpu / parse.cpu:.2f}× CPU (goal < 2×)")
    print(f"in process, the report's steps (best of {args.repeat}):")
    for name, s in steps:
        print(f"  {name:34}{_row(s, parse)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
