"""Would a native regex library read step lines faster than runwatch's columnar path? pyarrow, polars, numpy.

Issue 12 asks whether a well-kept native library (pyarrow's RE2 kernels,
polars) would reach parse speeds runwatch's own numpy path does not, to be
chosen deliberately and measured against it. This puts the three on the same
job: the step lines of a nanochat log built from the real speedrun's lines
with 10% real noise (format_throughput.py's generator, `picollm`), every
field of the step line to float64, lines read from the file included.

Contestants, each in its own process, the fastest of `--repeat` runs:
- `naive`: one `re.search` per line, float() per field (what a user writes);
- `runwatch`: `extract_steps("picollm", …)` over 8 MiB blocks of whole lines,
  runwatch's columnar fast path alone (the layouts it knows, NaN lines and
  noise left over), as `runwatch parse` runs it;
- `pyarrow`: the file read as one string column (`pyarrow.csv`, a delimiter no
  line holds), `pyarrow.compute.extract_regex` (RE2), the groups cast to
  float64 (tok/sec's thousands separators removed first);
- `polars`: the same with `polars.read_csv` and `str.extract_groups`
  (Rust's regex), cast to Float64;
- `wc -l` on the same file (reading the bytes: the floor).

Each prints the step lines it read; they must agree with `naive`'s count (the
runwatch row counts the step lines its layouts take, which is the naive
count less the `loss: nan` lines it leaves to the per-line parser). A
library that is not installed is reported as such: neither is a runwatch
dependency (`pip install pyarrow polars` to run them).

    python benchmarks/native_regex.py [--lines 1000000] [--repeat 3] [--log FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from format_throughput import BY_NAME, write_log
from format_throughput import _run as run_child

STEP = (r"step (\d+)/(\d+) \(([\d.]+)%\) \| loss: ([\d.]+) \| lrm: ([\d.]+) \| dt: ([\d.]+)ms \| tok/sec: ([\d,]+)"
        r" \| (?:bf16_)?mfu: ([\d.]+) \| epoch: (\d+) \| total time: ([\d.]+)m")
"""The naive regex of format_throughput.py's picollm row: every field a group."""
FIELDS = ("step", "total", "pct", "loss", "lrm", "dt", "tok", "mfu", "epoch", "minutes")
COMMA = 6
"""The group with thousands separators (tok/sec: `806,131`)."""


def naive(path: str) -> int:
    rx, n = re.compile(STEP), 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = rx.search(line)
            if m is None:
                continue
            [float(g.replace(",", "")) for g in m.groups()]
            n += 1
    return n


def columnar(path: str) -> int:
    from runwatch.parsers.columnar import extract_steps
    from runwatch.watcher.snapshot import read_blocks

    n = 0
    for block in read_blocks(path):
        if isinstance(block, bytes):
            found = extract_steps("picollm", block)
            assert found is not None
            n += len(found[0])
    return n


def arrow(path: str) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv

    table = csv.read_csv(path, read_options=csv.ReadOptions(column_names=["line"]),
                         parse_options=csv.ParseOptions(delimiter="\x01", quote_char=False, escape_char=False),
                         convert_options=csv.ConvertOptions(column_types={"line": pa.string()}))
    groups = pc.extract_regex(table.column("line"), pattern=_named(STEP))  # RE2 takes named groups only
    matched = pc.drop_null(groups)
    columns = [pc.struct_field(matched, [i]) for i in range(len(FIELDS))]
    columns[COMMA] = pc.replace_substring(columns[COMMA], ",", "")
    values = [pc.cast(c, pa.float64()) for c in columns]
    return len(values[0])


def polars_(path: str) -> int:
    import polars as pl

    frame = pl.read_csv(path, has_header=False, separator="\x01", quote_char=None, new_columns=["line"],
                        schema_overrides={"line": pl.String})
    found = frame.select(pl.col("line").str.extract_groups(_named(STEP)).alias("g")).drop_nulls().unnest("g")
    found = found.filter(pl.col(FIELDS[0]).is_not_null())
    out = found.select([pl.col(f).str.replace_all(",", "").cast(pl.Float64) for f in FIELDS])
    return out.height


def _named(pattern: str) -> str:
    """`pattern` with its capturing groups named after FIELDS, in order (RE2 and Rust's regex both read
    `(?P<name>…)`; the non-capturing `(?:…)` stays as it is)."""
    out, k, i = [], 0, 0
    while i < len(pattern):
        if pattern[i] == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if pattern[i] == "(" and not pattern.startswith("(?", i):
            out.append(f"(?P<{FIELDS[k]}>")
            k += 1
        else:
            out.append(pattern[i])
        i += 1
    assert k == len(FIELDS)
    return "".join(out)


CONTESTANTS = {"naive": naive, "runwatch": columnar, "pyarrow": arrow, "polars": polars_}
MODULES = {"pyarrow": "pyarrow", "polars": "polars"}


def _child(kind: str, path: str) -> None:
    if kind in MODULES:
        __import__(MODULES[kind])  # imported before the clock starts, as runwatch's modules are below
    if kind == "runwatch":
        import runwatch.parsers.columnar
        import runwatch.watcher.snapshot  # noqa: F401
    t0 = time.perf_counter()
    n = CONTESTANTS[kind](path)
    print(json.dumps({"lines": n, "wall": time.perf_counter() - t0}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--log", help="a nanochat log to read instead of a generated one")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="runwatch-native-"))
    try:
        if args.log:
            path, lines = args.log, sum(1 for _ in open(args.log, "rb"))
        else:
            path, lines = str(tmp / "picollm.log"), args.lines
            write_log(BY_NAME["picollm"], Path(path), lines, True)
        me = str(Path(__file__).resolve())
        wc = min(run_child(["wc", "-l", path])[1] for _ in range(args.repeat)) if shutil.which("wc") else float("nan")
        rows: dict[str, tuple[float, int] | str] = {}
        for kind in CONTESTANTS:
            if kind in MODULES:
                try:
                    __import__(MODULES[kind])
                except ImportError:
                    rows[kind] = f"not installed (pip install {MODULES[kind]})"
                    continue
            best = None
            for _ in range(args.repeat):
                fig = json.loads(run_child([sys.executable, me, "--child", kind, path])[0])
                best = fig if best is None or fig["wall"] < best["wall"] else best
            assert best is not None
            rows[kind] = (best["wall"], best["lines"])
        naive_s = rows["naive"][0] if isinstance(rows["naive"], tuple) else float("nan")
        print(f"{lines:,} lines ({Path(path).stat().st_size / 2**20:.0f} MiB), nanochat step lines with 10% real "
              f"noise; in-process, reading included; fastest of {args.repeat}")
        print(f"{'':10}{'s':>8}{'M lines/s':>11}{'× naive':>9}{'× wc -l':>9}{'step lines':>12}")
        print(f"{'wc -l':10}{wc:8.3f}{lines / wc / 1e6:11.2f}{naive_s / wc:9.2f}{1.0:9.2f}")
        for kind, row in rows.items():
            if isinstance(row, str):
                print(f"{kind:10}  {row}")
                continue
            wall, n = row
            print(f"{kind:10}{wall:8.3f}{lines / wall / 1e6:11.2f}{naive_s / wall:9.2f}{wc / wall:9.3f}{n:12,}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
