"""Real lines for the tests that compare a format's two readers: the run lab's recordings, and real noise.

A log for such a test is a format's real lines with their numbers redrawn
(`redrawn`, widths kept, so one real line gives many of its shape) and one
line in ten of real noise (`noise`): the nanochat speedrun's other lines
and the logged traceback of the nanogpt-tb-raise recording.
"""

from __future__ import annotations

import random
import re
from functools import cache

from tests.support.corpus import CORPUS

REALRUNS = CORPUS.parent / "realruns"


def recording(run: str) -> list[str]:
    """The non-blank lines of a run lab recording's `train.log` (`\\r` frames split off)."""
    text = (REALRUNS / run / "run/train.log").read_text(encoding="utf-8", errors="replace")
    return [x for x in re.split(r"\r\n|\r|\n", text) if x.strip()]


@cache
def noise() -> tuple[str, ...]:
    """Single noise lines, and one logged traceback (its lines joined by `\\n`)."""
    speedrun = (CORPUS / "raw" / "nanochat_pr492_speedrun_d24_feb01.training_output.log").read_text(encoding="utf-8")
    singles = [x for x in speedrun.splitlines() if x and not x.startswith(("step ", "Step "))][:200]
    raised = recording("nanogpt-tb-raise")
    start = next(i for i, x in enumerate(raised) if x.startswith("Traceback (most recent call last):"))
    end = next(i for i in range(start + 1, len(raised)) if re.match(r"\w+Error: ", raised[i]))
    return (*singles, "\n".join(raised[start:end + 1]))


def redrawn(line: str, rng: random.Random) -> str:
    """The line with each digit of each number redrawn (same width, so the same shape), stamps kept valid
    and exponents as printed (a redrawn `E-93` is beyond what the columns read exactly: per line)."""
    def digits(m: re.Match[str]) -> str:
        return "".join(str(rng.randrange(10)) if c.isdigit() else c for c in m.group())

    stamp = re.search(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d", line)
    head, body = (line[: stamp.end()], line[stamp.end():]) if stamp else ("", line)
    if stamp:
        head = head[:-2] + f"{rng.randrange(60):02d}"
    return head + re.sub(r"(?<![A-Za-z_:\[+-])\d+(?:\.\d+)?", digits, body)  # exponents kept: `E-05`
