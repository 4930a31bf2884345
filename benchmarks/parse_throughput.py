"""Parse throughput on a long nanochat log, next to the physical anchors.

Generates a nanochat log (default 2,000,000 lines: realistic step lines with
`grad norm`, `eta`, the `mfu` → `bf16_mfu` + `epoch: E pq: P rg: R` change of
a resumed run, 10% noise: `[GC rankN]` lines, coloured logger lines,
validation lines, a few `loss: nan` steps), then times, each in its own
process: `wc -l`, `grep -c step`, a naive per-line `re` parser of all fields,
NanochatParser line by line, the columnar fast path (8 MiB chunks, unhandled
lines through NanochatParser), and `runwatch parse --output summary` as users
run it (start-up included): the integrated path (raw blocks, columnar step
lines, the rest through the whole per-line pipeline, a columnar summary),
then the same with RUNWATCH_NO_FAST_PATH=1 (every line per line), then on a
Megatron log built from the corpus excerpts' lines (`--megatron-lines`, a
format without a fast path: the per-line pipeline plus its parser). Prints
figures only; `--repeat N` shows the fastest of N runs (for shared machines).

    python benchmarks/parse_throughput.py [--lines N] [--megatron-lines N] [--keep] [--log FILE] [--repeat N]
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import naive_parse, rss_mb, run_as_installed

CHUNK = 8 << 20
NOISE = 0.10


# -- the log -------------------------------------------------------------------

def _step_lines(rng: Any, steps: int, total: int) -> list[str]:
    """Step lines of one run: first half old format (mfu, grad norm, epoch N), then the current one."""
    import numpy as np

    s = np.arange(steps)
    loss = 2.3 + 8.5 * np.exp(-s / (total / 40)) + rng.normal(0, 0.01, steps)
    grad = np.abs(rng.normal(0.9, 0.2, steps))
    lrm = np.clip((total - s) / (total * 0.4), 0.0, 1.0)
    dt = 651.0 + rng.normal(0, 3.0, steps)
    tok = (524288 / (dt / 1000)).astype(np.int64)
    mfu = 50.2 * 651.0 / dt
    elapsed = np.cumsum(np.where(s > 10, dt / 1000, 0.0)) / 60
    eta = np.where(s > 10, (total - s) * elapsed / np.maximum(s - 10, 1), 0.0)
    nan_at = set(rng.choice(steps, 5, replace=False).tolist())
    half = steps // 2
    cols = zip(range(steps), loss.tolist(), grad.tolist(), lrm.tolist(), dt.tolist(), tok.tolist(), mfu.tolist(),
               elapsed.tolist(), eta.tolist(), strict=True)
    out = []
    for i, lo, gn, lr, d, tk, mf, el, et in cols:
        lv = "nan" if i in nan_at else f"{lo:.6f}"
        if i < half:
            mid = f" grad norm: {gn:.4f} | lrm: {lr:.2f} | dt: {d:.2f}ms | tok/sec: {tk:,} | mfu: {mf:.2f} | epoch: 1"
        else:
            mid = (f" lrm: {lr:.2f} | dt: {d:.2f}ms | tok/sec: {tk:,} | bf16_mfu: {mf:.2f}"
                   f" | epoch: 1 pq: {i // 5000} rg: {i // 40 % 128}")
        eta_text = f" | eta: {et:.1f}m" if i > 10 else ""
        out.append(f"step {i:05d}/{total:05d} ({100 * i / total:.2f}%) | loss: {lv} |{mid} | total time: {el:.2f}m{eta_text}")
    return out


def _noise(rng: Any, i: int, step: int) -> str:
    """GC lines (most), coloured logger lines, validation and CORE-eval lines, as in the real PR #492 log."""
    kind = int(rng.integers(0, 20))
    if kind < 12:
        return f"[GC rank{rng.integers(0, 8)}] gen2: {rng.uniform(5, 700):.1f}ms collected {rng.integers(0, 400000)} objects"
    if kind < 14:
        return (f"2026-02-01 20:{i // 60 % 60:02d}:{i % 60:02d},{i % 1000:03d} - nanochat.common - "
                f"\x1b[32m\x1b[1mINFO\x1b[0m - Shard {i % 1823} loaded: \x1b[1m{rng.uniform(80, 99):.1f}%\x1b[0m")
    if kind < 16:
        return f"Step {step:05d} | Validation bpb: {rng.uniform(0.7, 1.2):.6f}"
    return f"Evaluating: hellaswag (0-shot, type: multiple_choice)... accuracy: {rng.uniform(0, 1):.4f} | time: 3.2s"


MEGATRON_EXCERPTS = Path(__file__).resolve().parents[1] / "tests/fixtures/corpus/raw/excerpts_megatron.json"
_ITERATION = re.compile(r"iteration\s+(\d+)/")


def write_megatron_log(path: Path, lines: int) -> None:
    """A Megatron log of exactly `lines` lines: the corpus excerpts' lines over and over, iterations renumbered."""
    excerpts = json.loads(MEGATRON_EXCERPTS.read_text(encoding="utf-8"))
    corpus = [line for e in excerpts for line in e["t"].splitlines()]
    with open(path, "w", encoding="utf-8") as f:
        for i in range(lines):
            line = corpus[i % len(corpus)]
            f.write(_ITERATION.sub(lambda m, i=i: f"iteration {i:>8d}/", line, count=1) + "\n")


def write_log(path: Path, lines: int, seed: int = 0) -> None:
    """A nanochat log of exactly `lines` lines, about NOISE of them not step lines."""
    import numpy as np

    rng = np.random.default_rng(seed)
    header = ["Autodetected device type: cuda", "GPU: NVIDIA H100 80GB HBM3 | Peak FLOPS (BF16): 9.89e+14"]
    body = lines - len(header)
    is_noise = rng.random(body) < NOISE
    steps = int(body - is_noise.sum())
    step_lines = iter(_step_lines(rng, steps, steps))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(header) + "\n")
        step = 0
        for i, noise in enumerate(is_noise.tolist()):
            if noise:
                f.write(_noise(rng, i, step) + "\n")
            else:
                f.write(next(step_lines) + "\n")
                step += 1


# -- the contestants (each runs in its own process) -----------------------------

_NAIVE = re.compile(
    r"step (\d+)(?:/(\d+))? \(([\d.]+)%\) \| loss: (\S+) \|(?: grad norm: (\S+) \|)? lrm: (\S+)"
    r" \| dt: (\S+)ms \| tok/sec: ([\d,]+) \| (?:bf16_)?mfu: (\S+)"
    r"(?: \| epoch: (\d+)(?: pq: (\d+) rg: (\d+))?)? \| total time: (\S+)m(?: \| eta: (\S+)m)?"
)


def naive_re(path: str) -> int:
    """What a user writes: one regex, floats per field, lists per metric."""
    return naive_parse(_NAIVE, path, anchored=True)


def per_line(path: str) -> int:
    from runwatch.parsers.nanochat import NanochatParser

    parser = NanochatParser()
    n = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            n += 1
            parser.parse(line.rstrip("\n"))
    return n


def _chunks(path: str) -> Iterator[bytes]:
    """The file in CHUNK-sized pieces, each cut after its last newline (the rest is read again)."""
    with open(path, "rb", buffering=0) as f:
        while block := f.read(CHUNK):
            cut = block.rfind(b"\n") + 1
            if 0 < cut < len(block):
                f.seek(cut - len(block), os.SEEK_CUR)
                block = block[:cut]
            yield block


def columnar(path: str) -> int:
    """The fast path; its unhandled lines go through NanochatParser, as a full parse needs."""
    from runwatch.parsers.columnar import extract_steps
    from runwatch.parsers.nanochat import NanochatParser

    parser = NanochatParser()
    n = 0
    for data in _chunks(path):
        res = extract_steps("picollm", data, omit=parser.fast_omit())
        assert res is not None
        batch, rest = res
        for raw in rest.texts(data):
            parser.parse(raw.decode("utf-8", "replace"))
        n += len(batch) + len(rest)
    return n


def columnar_only(path: str) -> int:
    from runwatch.parsers.columnar import extract_steps

    n = 0
    for data in _chunks(path):
        res = extract_steps("picollm", data)
        assert res is not None
        n += len(res[0]) + len(res[1])
    return n


CONTESTANTS: dict[str, Callable[[str], int]] = {
    "naive re (per line)": naive_re,
    "NanochatParser (per line)": per_line,
    "columnar + per-line rest": columnar,
    "columnar alone": columnar_only,
}
_IMPORTS = {  # imported before the clock starts: start-up is not parsing
    "NanochatParser (per line)": ("runwatch.parsers.nanochat",),
    "columnar + per-line rest": ("runwatch.parsers.columnar", "runwatch.parsers.nanochat"),
    "columnar alone": ("runwatch.parsers.columnar",),
}


def _child(name: str, path: str) -> None:
    """Run one contestant here and print its figures as JSON (time excludes start-up)."""
    if name.startswith("generate "):
        write_log(Path(path), int(name.split()[1]))
        return
    if name.startswith("megatron "):
        write_megatron_log(Path(path), int(name.split()[1]))
        return
    for module in _IMPORTS.get(name, ()):
        importlib.import_module(module)
    t0, c0 = time.perf_counter(), time.process_time()
    n = CONTESTANTS[name](path)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"lines": n, "wall": wall, "cpu": cpu, "rss": rss_mb(resource.getrusage(resource.RUSAGE_SELF))}))


# -- measuring -----------------------------------------------------------------

def _run(argv: list[str], env: dict[str, str] | None = None) -> tuple[str, float, float, float]:
    """stdout, wall s, cpu s and peak RSS MB of one child (os.wait4 gives that child's own usage)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        text = out.read().decode()
    if p.returncode:
        raise RuntimeError(f"{argv[0]} exited {p.returncode}")
    return text, wall, ru.ru_utime + ru.ru_stime, rss_mb(ru)


def _runwatch_cmd() -> list[str] | None:
    """`runwatch parse --output summary`, if this checkout has it."""
    cmd = [sys.executable, "-m", "runwatch"]
    try:
        help_text = subprocess.run([*cmd, "parse", "--help"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return [*cmd, "parse", "--output", "summary"] if "summary" in help_text else None


Row = tuple[str, float, float, float, str, int]
"""name, wall s, cpu s, peak MB, note, lines of the log it read."""


def _best(runs: list[Row]) -> Row:
    """The run with the least wall time: on a shared machine the others measure the neighbours."""
    return min(runs, key=lambda r: r[1])


def measure(path: Path, lines: int, repeat: int, megatron: tuple[Path, int] | None = None) -> list[Row]:
    rows: list[Row] = []
    for label, argv in (("wc -l", ["wc", "-l", str(path)]), ("grep -c step", ["grep", "-c", "step", str(path)])):
        if shutil.which(argv[0]):
            rows.append(_best([(label, *_run(argv)[1:], "subprocess", lines) for _ in range(repeat)]))
    me = str(Path(__file__).resolve())
    for name in CONTESTANTS:
        runs: list[Row] = []
        for _ in range(repeat):
            fig = json.loads(_run([sys.executable, me, "--child", name, str(path)])[0])
            note = "in process" if fig["lines"] == lines else f"counted {fig['lines']} lines"
            runs.append((name, fig["wall"], fig["cpu"], fig["rss"], note, lines))
        rows.append(_best(runs))
    cmd = _runwatch_cmd()
    runs_of = [("runwatch parse --output summary", path, lines, {}, "subprocess, incl. start-up"),
               ("  … RUNWATCH_NO_FAST_PATH=1", path, lines, {"RUNWATCH_NO_FAST_PATH": "1"}, "every line per line")]
    if megatron is not None:
        runs_of.append(("  … Megatron log (no fast path)", *megatron, {}, f"{megatron[1]:,} corpus lines"))
    for label, log, n, extra_env, note in runs_of:
        if cmd is None:
            rows.append((label, math.nan, math.nan, math.nan, "skipped: not available", n))
            continue
        env = {**os.environ, **extra_env}
        rows.append(_best([(label, *_run([*cmd, str(log)], env)[1:], note, n) for _ in range(repeat)]))
    return rows


def render(rows: list[Row], lines: int, size: int) -> str:
    anchor = next((r[1] for r in rows if r[0] == "wc -l"), math.nan)
    floor = rss_mb(resource.getrusage(resource.RUSAGE_SELF))
    out = [f"{lines:,} lines, {size / 2**20:.0f} MiB, {os.cpu_count()} CPUs; M lines/s = lines / wall s; "
           f"peak MB includes ~{floor:.0f} MB of this launcher (a child's RSS before exec)",
           f"{'':34}{'wall s':>8}{'cpu s':>8}{'M lines/s':>11}{'× wc -l':>9}{'peak MB':>9}  note"]
    for name, wall, cpu, rss, note, n in rows:
        rate = n / wall / 1e6 if wall > 0 else math.nan
        ratio = f"{anchor / wall:9.3f}" if n == lines else f"{'':9}"  # another log: no wc -l of it here
        out.append(f"{name:34}{wall:8.2f}{cpu:8.2f}{rate:11.2f}{ratio}{rss:9.0f}  {note}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--keep", action="store_true", help="keep the generated log and print its path")
    ap.add_argument("--log", type=Path, help="measure this log instead of generating one")
    ap.add_argument("--repeat", type=int, default=1, help="runs per contestant; the fastest is shown")
    ap.add_argument("--megatron-lines", type=int, default=500_000,
                    help="lines of the Megatron log for the per-line row (0: no such row)")
    ap.add_argument("--child", nargs=2, metavar=("NAME", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    run_as_installed()
    tmp = Path(tempfile.mkdtemp(prefix="runwatch-bench-"))
    try:
        path = args.log or tmp / "nanochat_train.log"
        if args.log is None:  # in a child, so that this process stays small (its RSS is every child's floor)
            _run([sys.executable, str(Path(__file__).resolve()), "--child", f"generate {args.lines}", str(path)])
        with open(path, "rb") as f:
            lines = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
        megatron = None
        if args.megatron_lines > 0 and MEGATRON_EXCERPTS.exists():
            megatron = (tmp / "megatron_train.log", args.megatron_lines)
            _run([sys.executable, str(Path(__file__).resolve()), "--child", f"megatron {args.megatron_lines}",
                  str(megatron[0])])
        print(render(measure(path, lines, max(1, args.repeat), megatron), lines, path.stat().st_size))
    finally:
        if args.keep and args.log is None:
            print(f"log kept: {path}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
