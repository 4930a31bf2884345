"""`runwatch report` against `runwatch parse` on the same 2 M-line log: what a report costs over reading.

Generates the nanochat log of `parse_throughput.py` (default 2,000,000 lines:
step lines with evaluations, a few `loss: nan` and 10% noise), then times, each
in a child process with start-up included and runwatch's bytecode compiled
first: `wc -l` (the anchor), `runwatch parse --output summary` and `runwatch
report` (the replay through the rules with the whole history kept, the numbers,
three PNGs, the Markdown). Prints figures and the ratio; the issue's goal is
report < 2× parse.

    python benchmarks/report_time.py [--lines N] [--log FILE] [--repeat N]
"""

from __future__ import annotations

import argparse
import compileall
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from parse_throughput import write_log


def _best(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t0)
    return min(times)


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

    origin = str(args.log) if args.log else "generated"
    print(f"{lines:,} lines ({origin}); {os.cpu_count()} CPUs; best of {args.repeat}; plots: {', '.join(pngs)}")
    print(f"{'':36}{'wall s':>8}{'× parse':>9}")
    for name, s in (("wc -l (anchor)", wc), ("runwatch parse --output summary", parse),
                    ("runwatch check", check), ("runwatch report", report)):
        print(f"{name:36}{s:8.2f}{s / parse:9.2f}")
    print(f"report / parse: {report / parse:.2f}× (goal < 2×)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
