"""Worst-case parse time per line: long, hostile lines built from real ones, for every format.

A follower caps a line at 64 KiB; a regex with adjacent unbounded quantifiers can still take
quadratic time on one such line (a torchtitan-prefixed line followed by 65,000 characters took
26 s, and held a live NaN alert back by 25 s). This builds, for every format, lines from real ones
(the run lab's recordings and the corpus in tests/fixtures): a real line cut at a token boundary,
one of its own tokens repeated to the target length, and the rest of the line after it. Each is
parsed by that format's SourceParser (prefixes, crash events and the format parser) and by a
detecting SourceParser (every format's probe scores it), at 4 KiB and 16 KiB; the growth between
the two tells linear (×4) from quadratic (×16). The worst cases are then timed at 64 KiB.

Prints, per format: cases tried, the worst 64 KiB time and its case, and the growth; then the
anchors measured in the same run: one normal line's parse time, and scanning 64 KiB (`str.split`,
`len(bytes)`), so "ms per hostile line" reads against what touching the bytes costs. Goal: every
64 KiB line under 50 ms. Figures only; no assertions.

    python benchmarks/pathological_lines.py [--worst 12] [--max-cases 400]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runwatch.parsers.source import SourceParser  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
SMALL, MID, BIG = 4 << 10, 16 << 10, 64 << 10
_TOKEN = re.compile(r"\s+|[^\w\s]+|\w+")


def sample_texts() -> Iterator[list[str]]:
    """Lines of each real source: recorded console logs, the corpus's whole runs and excerpts."""
    for log in sorted((FIXTURES / "realruns").glob("*/run/*.log")):
        yield log.read_text(errors="replace").replace("\r", "\n").splitlines()[:400]
    for log in sorted((FIXTURES / "corpus" / "raw").glob("*.log")):
        yield log.read_text(errors="replace").splitlines()[:400]
    for log in sorted((FIXTURES / "printed").glob("*.log")):  # what libraries print (tqdm, the boosting libraries)
        yield log.read_text(errors="replace").replace("\r", "\n").splitlines()[:400]
    for doc in sorted((FIXTURES / "corpus").glob("*.md")):  # the excerpts, quoted in fenced blocks
        fenced, block = False, []
        for line in doc.read_text().splitlines():
            if line.startswith("```"):
                if fenced:
                    yield block
                fenced, block = not fenced, []
            elif fenced:
                block.append(line)


def lines_by_format(per_format: int) -> dict[str, list[str]]:
    """Up to `per_format` distinct real lines per format that its parser reads as a record."""
    from runwatch.model import Kind
    from runwatch.parsers.registry import FORMATS

    every = list(dict.fromkeys(line for lines in sample_texts() for line in lines if 0 < len(line) < 2000))
    out: dict[str, list[str]] = {}
    for fmt in FORMATS:
        chosen: list[str] = []
        for line in every:
            sp = SourceParser("sample", fmt=fmt)  # prefixes (`[rank0]:`, timestamps) stripped as in a log
            if any(r.kind in (Kind.STEP, Kind.EVAL) for r in sp.feed([line], 1, 0.0) + sp.flush()):
                chosen.append(line)
            if len(chosen) == per_format:
                break
        if chosen:
            out[fmt] = chosen
    return out


def hostile(line: str, size: int, cuts: int, frags: int) -> Iterator[tuple[str, str]]:
    """(description, text of about `size` characters) built from `line`."""
    tokens = [m.group(0) for m in _TOKEN.finditer(line)]
    starts = [m.start() for m in _TOKEN.finditer(line)]
    picks = sorted({starts[i * len(starts) // cuts] for i in range(cuts)} | {len(line)}) if starts else [0]
    seen: list[str] = []
    for t in tokens:
        if t not in seen:
            seen.append(t)
    for t in [*seen[:frags - 2], "1", "a:"]:
        for cut in picks:
            body = (t * (size // len(t) + 1))[:size]
            yield f"cut {cut} + {t[:12]!r}×", line[:cut] + body + line[cut:]


def time_parse(fmt: str | None, text: str) -> float:
    sp = SourceParser("x", fmt=fmt)
    t0 = time.perf_counter()
    sp.feed([text], 1, 0.0)
    sp.flush()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worst", type=int, default=12, help="cases timed at 64 KiB")
    ap.add_argument("--per-format", type=int, default=3, help="real lines per format")
    ap.add_argument("--cuts", type=int, default=4)
    ap.add_argument("--frags", type=int, default=8)
    args = ap.parse_args()

    samples = lines_by_format(args.per_format)
    rows: list[tuple[float, float, str, str | None, str, str]] = []  # (t16, growth, fmt, parser fmt, case, line)
    tried: dict[str, int] = {}
    t_start = time.perf_counter()
    for fmt, lines in sorted(samples.items()):
        for line in lines:
            mids = dict(hostile(line, MID, args.cuts, args.frags))
            for case, small in hostile(line, SMALL, args.cuts, args.frags):
                for parser_fmt in ([fmt, None] if fmt != "none" else [None]):
                    t4, t16 = time_parse(parser_fmt, small), time_parse(parser_fmt, mids[case])
                    rows.append((t16, t16 / max(t4, 1e-6), fmt, parser_fmt, case, line))
                    tried[fmt] = tried.get(fmt, 0) + 1
    rows.sort(key=lambda r: r[0] * max(r[1], 4.0), reverse=True)  # worst expected at 64 KiB first
    print(f"{sum(tried.values())} hostile lines from {sum(map(len, samples.values()))} real lines of "
          f"{len(samples)} formats, each at 4 and 16 KiB ({time.perf_counter() - t_start:.1f} s)\n")
    print(f"{'format':<14} {'parser':<10} {'16 KiB':>9} {'growth':>7} {'64 KiB':>9}  case")
    worst64 = 0.0
    for t16, growth, fmt, parser_fmt, case, line in rows[:args.worst]:
        big = dict(hostile(line, BIG, args.cuts, args.frags))[case]
        t64 = min(time_parse(parser_fmt, big) for _ in range(2))
        worst64 = max(worst64, t64)
        print(f"{fmt:<14} {parser_fmt or 'detect':<10} {t16 * 1e3:8.2f}ms {growth:6.1f}× {t64 * 1e3:8.2f}ms  {case}")
    normal = [line for lines in samples.values() for line in lines]
    t0 = time.perf_counter()
    for line in normal:
        SourceParser("x").feed([line], 1, 0.0)
    per_normal = (time.perf_counter() - t0) / max(1, len(normal))
    blob = "a:" * (BIG // 2)
    t0 = time.perf_counter()
    for _ in range(100):
        blob.split()
    t_split = (time.perf_counter() - t0) / 100
    print(f"\nworst 64 KiB line: {worst64 * 1e3:.2f} ms (goal < 50 ms)")
    print(f"anchors: a normal line through a fresh detecting SourceParser {per_normal * 1e3:.3f} ms; "
          f"str.split() of 64 KiB {t_split * 1e3:.3f} ms (worst hostile line = {worst64 / t_split:.0f}× that)")


if __name__ == "__main__":
    main()
