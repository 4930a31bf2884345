"""What reading a compressed log costs: `runwatch parse` of a log kept gzip-, bzip2- or xz-compressed, against
the same log as text, with the decompressors' own speed and `zcat | wc -l` as the anchors.

Builds parse_throughput.py's nanochat log (real step-line layout, 10% noise) of `--lines` lines, compresses it
with each of the standard library's compressors at their default levels, then times, each the best of `--repeat`:
- `runwatch parse --output summary` of the text log and of each compressed one, as users run it (start-up
  included, runwatch's bytecode cached as after a pip install): wall and CPU seconds, M lines/s, and the
  compressed read's CPU over the text read's;
- the decompressor alone on the file (Python's `gzip`/`bz2`/`lzma` module, reading it whole: what decompressing
  costs before any parsing) and `zcat FILE | wc -l` (the anchor: the C tool decompressing to a pipe);
- the file sizes and compression ratios.
runwatch reads a compressed log through `runwatch.watcher.compressed.DecompressedLog`, 16 KiB of text at a time
(so that damage loses at most that much): the row `× text` says what that costs over the text log's read.
Prints figures only.

    python benchmarks/compressed_read.py [--lines 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import lzma
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import run_as_installed, runwatch_cmd
from parse_throughput import write_log

COMPRESSORS: dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes], list[str]]] = {
    "gz": (gzip.compress, gzip.decompress, ["zcat"]),
    "bz2": (bz2.compress, bz2.decompress, ["bzcat"]),
    "xz": (lzma.compress, lzma.decompress, ["xzcat"]),
}


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _timed(argv: list[str], env: dict[str, str], *, shell: bool = False) -> tuple[float, float]:
    """(wall, CPU) seconds of one child process run to its end."""
    cpu0, t0 = _children_cpu(), time.perf_counter()
    subprocess.run(argv if not shell else " ".join(argv), env=env, shell=shell, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0, _children_cpu() - cpu0


def _best(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return min(runs, key=lambda r: r[1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    env = {**os.environ, **run_as_installed()}
    cmd = runwatch_cmd()
    with tempfile.TemporaryDirectory(prefix="rw-compressed-") as tmp:
        text = Path(tmp) / "train.log"
        write_log(text, args.lines)
        raw = text.read_bytes()
        files = {"text": text}
        for suffix, (pack, _, _) in COMPRESSORS.items():
            files[suffix] = Path(tmp) / f"train.log.{suffix}"
            files[suffix].write_bytes(pack(raw))
        subprocess.run([*cmd, "parse", str(text), "--output", "summary"], env=env, check=True,
                       stdout=subprocess.DEVNULL)  # bytecode compiled and cached before any timing
        print(f"{args.lines:,} lines, {len(raw) / 1e6:.1f} MB of text; best of {args.repeat} by CPU time\n")
        print(f"{'file':6} {'MB':>7} {'ratio':>6} {'parse s':>8} {'cpu s':>7} {'M lines/s':>10} {'× text':>7} "
              f"{'decompress s':>13} {'cat|wc s':>9}")
        base = 0.0
        for name, path in files.items():
            wall, cpu = _best([_timed([*cmd, "parse", str(path), "--output", "summary"], env)
                               for _ in range(args.repeat)])
            base = base or cpu
            size = path.stat().st_size
            unpack = cat = ""
            if name in COMPRESSORS:
                _, undo, tool = COMPRESSORS[name]
                data = path.read_bytes()
                t0 = time.process_time()
                undo(data)
                unpack = f"{time.process_time() - t0:.2f}"
                cat = f"{_best([_timed([*tool, str(path), '|', 'wc', '-l'], env, shell=True) for _ in range(args.repeat)])[0]:.2f}"
            print(f"{name:6} {size / 1e6:7.1f} {len(raw) / size:6.1f} {wall:8.2f} {cpu:7.2f} "
                  f"{args.lines / wall / 1e6:10.2f} {cpu / base:7.2f} {unpack:>13} {cat:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
