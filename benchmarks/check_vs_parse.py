"""`runwatch check` against `runwatch parse` on the same log: what judging a history costs over reading it.

Generates the nanochat log of `parse_throughput.py` (default 170,000 lines: a
27-hour run at its 0.65 s steps, with evaluations and a few `loss: nan`), then
times, each in a child process and start-up included: `wc -l` (the anchor),
`runwatch parse --output summary`, `runwatch check`, and `runwatch tail
--headless --json` until its first status with no notes (the history read
and judged: format_throughput.history_read). In this process it
then splits check's own time: reading the log's blocks as check reads them
(step rows as columns), the replay of those blocks as check does it
(`runwatch.replay`: step rows in bulk a piece between two evaluations at a
time, every rule every 32 records and then a 32nd of the run so far, the
rules about silences as a long one ends), against the way before it (every
record one by one, every rule every 32 records) and the naive cadence (every
record, judged after each one: on the first `--naive-records` records, scaled
to the whole log). Prints figures only; the issue's goal is check ≤ 2× parse.

`--spacing` measures instead how check's cost grows with the log: Megatron logs
built from its real step lines (format_throughput.py's, 10% real noise), each
step line stamped with its own time, dense (steps `DENSE_S` apart, under the
stall rule's `after`), middle (`MID_S` apart: each record ends a silence the
crash rule's settle counts) and sparse (steps 1.5 × `after` apart: every record
ends a silence the stall rule may speak on), at each of `--sizes`, with the excerpts'
step lines of nine runs in turn or one run's alone; check's CPU time ÷ parse's
CPU time on the same log. A check linear in the log gives the same ratio at
every size.

    python benchmarks/check_vs_parse.py [--lines N] [--log FILE] [--repeat N] [--naive-records N]
    python benchmarks/check_vs_parse.py --spacing [--sizes 25000 100000] [--repeat N]
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import run_as_installed
from parse_throughput import write_log


def _wall(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t0


def _best(argv: list[str], repeat: int) -> float:
    return min(_wall(argv) for _ in range(repeat))


MID_S = 20.0
"""Seconds between step lines of the middle log: over `crash`'s settle (10 s, a traceback's silence), under
the stall rule's `after`: every record ends a silence only the crash rule may speak on."""
DENSE_S = 5.0
"""Seconds between the dense log's steps (Megatron's own excerpts step every 5.4 s): under the stall
rule's `after`, so no record ends a silence."""
_ITERATION = re.compile(r"^.*?(?=iteration\s+\d+/)")


def write_spaced(path: Path, lines: int, every: float, *, one_run: bool = False) -> None:
    """A Megatron log of `lines` lines (format_throughput.py's: real step lines, 10% real noise) whose step
    lines all state their time, `every` seconds apart: each line's prefix (the excerpts' own stamp, a rank
    number or none) is replaced by the stamp Megatron prints (` [2024-04-06 03:02:12] iteration …`).
    The excerpts' step lines come from nine runs in turn (step times from 0.14 to 7.6 s, and so on), a
    pace no run has; `one_run`: only the three whole stamped lines of one of them (Megatron-LM issue 756)."""
    import dataclasses

    from format_throughput import BY_NAME
    from format_throughput import write_log as write_format

    fmt = BY_NAME["megatron"]
    if one_run:
        own = [x for x in fmt.lines() if x.lstrip().startswith("[2024-04-06") and x.rstrip().endswith("|")]
        fmt = dataclasses.replace(fmt, lines=lambda: own)
    raw = path.with_suffix(".raw")
    write_format(fmt, raw, lines, noisy=True)
    t0 = datetime.datetime(2024, 4, 6)
    k = 0
    with open(raw, encoding="utf-8") as f, open(path, "w", encoding="utf-8") as out:
        for line in f:
            m = _ITERATION.search(line)
            if m is not None:
                line = f" [{t0 + datetime.timedelta(seconds=k * every):%Y-%m-%d %H:%M:%S}] {line[m.end():]}"
                k += 1
            out.write(line)
    raw.unlink()


def _cpu(argv: list[str], repeat: int) -> float:
    """The least CPU time (user + system) of `repeat` runs of a command: it moves less than wall time on a
    machine others share."""
    best = float("inf")
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best = min(best, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return best


def spacing(sizes: list[int], repeat: int) -> int:
    """check CPU ÷ parse CPU on dense and sparse Megatron logs of each size (see the module's docstring)."""
    from runwatch.alerts.rules.stall import StallParams

    run_as_installed()
    sparse = 1.5 * StallParams().after
    cmd = [sys.executable, "-m", "runwatch"]
    print(f"Megatron logs, every step line stamped; {os.cpu_count()} CPUs; CPU s, best of {repeat}")
    print(f"{'lines':>9} {'step lines':>11} {'steps':>22}{'parse':>8}{'check':>8}{'check/parse':>13}")
    with tempfile.TemporaryDirectory(prefix="runwatch-bench-") as tmp:
        for n in sizes:
            for one_run in (False, True):
                for name, every in (("dense", DENSE_S), ("mid", MID_S), ("sparse", sparse)):
                    path = Path(tmp) / f"megatron_{name}_{n}.log"
                    write_spaced(path, n, every, one_run=one_run)
                    parse = _cpu([*cmd, "parse", "--output", "summary", str(path)], repeat)
                    check = _cpu([*cmd, "check", str(path)], repeat)
                    print(f"{n:9,} {'one run' if one_run else '9 runs':>11} {f'{name} ({every:g} s apart)':>22}"
                          f"{parse:8.2f}{check:8.2f}{check / parse:12.1f}×", flush=True)
                    path.unlink()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spacing", action="store_true",
                    help="check ÷ parse on dense and sparse-step Megatron logs of each of --sizes instead")
    ap.add_argument("--sizes", type=int, nargs="+", default=[25_000, 100_000])
    ap.add_argument("--lines", type=int, default=170_000)
    ap.add_argument("--log", type=Path, help="measure this log instead of generating one")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each command; the fastest is shown")
    ap.add_argument("--naive-records", type=int, default=20_000,
                    help="records replayed with the rules after every one (scaled to the log)")
    args = ap.parse_args(argv)
    if args.spacing:
        return spacing(args.sizes, args.repeat)

    from runwatch.alerts.lifecycle import AlertManager
    from runwatch.commands.parse import readers_of
    from runwatch.config import load_config
    from runwatch.plan import plan_runs
    from runwatch.replay import replay

    with tempfile.TemporaryDirectory(prefix="runwatch-bench-") as tmp:
        path = args.log or Path(tmp) / "nanochat_train.log"
        if args.log is None:
            write_log(path, args.lines)
        lines = sum(1 for _ in open(path, "rb"))
        # both commands timed as installed code runs: from bytecode (PYTHONDONTWRITEBYTECODE=1, set on some
        # machines, recompiles every module at every start: 0.1-0.3 s more for check, which imports more)
        run_as_installed()
        cmd = [sys.executable, "-m", "runwatch"]
        wc = _best(["wc", "-l", str(path)], args.repeat)
        parse = _best([*cmd, "parse", "--output", "summary", str(path)], args.repeat)
        check = _best([*cmd, "check", str(path)], args.repeat)
        start = _best([*cmd, "--version"], args.repeat)
        from format_throughput import history_read

        tail = min(history_read([*cmd, "tail", str(path), "--headless", "--json", "--interval", "0.1"])[0]
                   for _ in range(args.repeat))  # (wall, CPU): the wall, as the other rows

        t0 = time.perf_counter()
        (run,) = plan_runs([str(path)])
        chunks = [c for reader in readers_of(run, None, read_time=False) for c in reader.chunks()]
        read = time.perf_counter() - t0
        records = [r for c in chunks for r in c.merged()]
        config = load_config(None)

        def replayed(items: list[object], batch: int | None, history: bool = True) -> float:
            t0 = time.perf_counter()
            replay(items, config.rules(), manager=AlertManager(config.timings()), batch=batch,  # type: ignore[arg-type]
                   history=history)
            return time.perf_counter() - t0

        judged = replayed(chunks, None, history=False)  # type: ignore[arg-type]
        before = replayed(records, 32)  # type: ignore[arg-type]
        few = records[: args.naive_records]
        naive = replayed(few, 1) * len(records) / max(1, len(few))  # type: ignore[arg-type]

    n = len(records)
    origin = str(args.log) if args.log else "generated"
    print(f"{lines:,} lines ({origin}), {n:,} records; {os.cpu_count()} CPUs; best of {args.repeat}")
    print(f"{'':44}{'wall s':>8}{'× parse':>9}")
    for name, s in (("wc -l (anchor)", wc), ("python -m runwatch --version (start-up)", start),
                    ("runwatch parse --output summary", parse), ("runwatch check", check),
                    ("runwatch tail --headless: history judged", tail)):
        print(f"{name:44}{s:8.2f}{s / parse:9.2f}")
    print("in process:")
    for name, s in (("  read the log's blocks as check does (step rows as columns)", read),
                    ("  replay them as check does (rows in bulk, cadence growing)", judged),
                    ("  replay record by record, rules every 32 records (before)", before),
                    (f"  replay, rules after every record (naive; {len(few):,} scaled)", naive)):
        print(f"{name:64}{s:8.2f} s")
    print(f"check / parse: {check / parse:.1f}×, tail's history / parse: {tail / parse:.1f}× (goal ≤ 2×); before / now in process: {before / judged:.1f}×; "
          f"naive / now: {naive / judged:.1f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
