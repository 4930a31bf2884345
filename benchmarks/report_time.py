"""`runwatch report` against `runwatch parse` on the same 2 M-line log: what a report costs over reading.

Generates the nanochat log of `parse_throughput.py` (default 2,000,000 lines:
step lines with evaluations, a few `loss: nan` and 10% noise), then times, each
in a child process with start-up included and runwatch's bytecode compiled
first: `wc -l` (the anchor), `runwatch parse --output summary`, `runwatch check`
and `runwatch report` (the replay through the rules with the whole history kept,
the numbers, three PNGs, the Markdown). Then, in this process, it splits the
report's time as `runwatch report` spends it: reading and judging the log (the
replay as `check` does it), keeping the drawn metrics' whole history (the same
replay with it, less the one without), the numbers, importing matplotlib, the
PNGs and the document. Prints figures and the ratio; the issue's goal is report
< 2× parse.

    python benchmarks/report_time.py [--lines N] [--log FILE] [--repeat N]
"""

from __future__ import annotations

import argparse
import compileall
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from parse_throughput import write_log

T = TypeVar("T")


def _best(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t0)
    return min(times)


def _timed(work: Callable[[], T], repeat: int) -> tuple[T, float]:
    """What `work` gives, and the fastest of `repeat` runs of it."""
    best, got = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        got = work()
        best = min(best, time.perf_counter() - t0)
    assert got is not None
    return got, best


def split(path: Path, out: Path, repeat: int) -> list[tuple[str, float]]:
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
    t0 = time.perf_counter()
    import runwatch.report.plots  # noqa: F401  (matplotlib, as the report imports it: once, cold)

    imported = time.perf_counter() - t0
    plots, drawn = _timed(lambda: draw_plots(result, out), repeat)
    _, written = _timed(lambda: write_document(numbers, plots, out, "md"), repeat)
    return [("read and judge (check's replay)", judged), ("keep the drawn metrics' history", kept - judged),
            ("numbers", numbered), ("import matplotlib", imported), (f"draw {len(plots)} PNGs", drawn),
            ("write the Markdown", written)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--log", type=Path, help="measure this log instead of generating one")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each command; the fastest is shown")
    args = ap.parse_args(argv)

    import runwatch

    compileall.compile_dir(str(Path(runwatch.__file__).parent), quiet=1)
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
    print(f"{'':36}{'wall s':>8}{'× parse':>9}")
    for name, s in (("wc -l (anchor)", wc), ("runwatch parse --output summary", parse),
                    ("runwatch check", check), ("runwatch report", report)):
        print(f"{name:36}{s:8.2f}{s / parse:9.2f}")
    print(f"report / parse: {report / parse:.2f}× (goal < 2×)")
    print(f"in process, the report's steps (best of {args.repeat}):")
    for name, s in steps:
        print(f"  {name:34}{s:8.2f}{s / parse:9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
