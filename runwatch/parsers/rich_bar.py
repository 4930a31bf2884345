"""Lightning's RichProgressBar (its default bar when `rich` is installed), read as a tqdm frame.

`Epoch 3/3  ━━━━━━━━━━━━━━━━ 60/60 0:00:00 • 0:00:00 436.34it/s v_num: 0.000 train_loss: nan`

The columns are Lightning's: the description (`Epoch E/LAST`, where LAST is `max_epochs - 1`), rich's
bar (`━`, with `╸`/`╺` half cells), the batch count `N/M` (`N/?` for an unknown length), elapsed and
remaining time (`H:MM:SS • H:MM:SS`, the remaining `-:--:--` while unknown), the speed (`X.XXit/s`),
and the metrics as `name: value` pairs. Same numbers as a tqdm frame, so a rich frame becomes a
`Frame` and `ProgressBarParser` gives it the same step, metrics and stale-postfix rules: one reader of
progress bars, two spellings.

A pipe or a file is not a terminal, and rich then draws nothing while the bar runs: it prints the
bar's last state once, when Lightning stops it (at the end of `fit`). At the console's width (80
columns on a pipe) the metrics column wraps onto lines of their own, indented to the column's start
(`CONTINUATION`): they belong to the frame above them, so a NaN in `train_loss` on the second line of
the last frame is still seen.
"""

from __future__ import annotations

from dataclasses import dataclass

from runwatch import patterns
from runwatch.parsers.numbers import clock_seconds, parse_number

BAR_GLYPH = "━"
"""Rich draws every cell of its bar with it, done or to do (the half cells `╸`/`╺` only at the edge): a
line without it is not a rich frame, a test that costs next to nothing on the lines that are not."""

_FRAME = patterns.compile(
    r"(?P<desc>.{0,200}?)\s*[━╸╺ ]*[━╸╺][━╸╺ ]*\s(?P<n>\d{1,12})/(?P<total>\d{1,12}|\?)"
    r"\s+(?P<elapsed>\d{1,6}:\d\d:\d\d)\s+•\s+(?P<remaining>\d{1,6}:\d\d:\d\d|-:--:--)"
    r"(?:\s+(?P<rate>\d{1,12}(?:\.\d{1,9})?)it/s)?(?P<metrics>(?:\s+[^\s:]{1,200}: \S{1,64})*)\s*$"
)
CONTINUATION = patterns.compile(r"\s{8,}(?P<metrics>[^\s:]{1,200}: \S{1,64}(?:\s+[^\s:]{1,200}: \S{1,64})*)\s*$")
"""A line holding only `name: value` pairs, indented: the wrapped rest of the frame above it."""
_PAIR = patterns.compile(r"([^\s:]{1,200}): (\S{1,64})")


@dataclass(frozen=True, slots=True)
class RichFrame:
    """The parts of one rich frame; `progress_bar.any_frame` turns it into a tqdm `Frame`."""

    desc: str
    n: int
    total: int | None
    elapsed: float | None
    remaining: float | None
    step_time: float | None
    metrics: tuple[tuple[str, float], ...]


def parse_rich_frame(line: str) -> RichFrame | None:
    """The rich frame on `line`, or None. Callers test for `BAR_GLYPH` first: most lines have none."""
    m = _FRAME.match(line.rstrip("\n")[:2000])
    if m is None:
        return None
    total = m.group("total")
    rate = m.group("rate")
    speed = float(rate) if rate else 0.0
    return RichFrame(
        desc=m.group("desc").strip(), n=int(m.group("n")), total=None if total == "?" else int(total),
        elapsed=clock_seconds(m.group("elapsed")), remaining=clock_seconds(m.group("remaining")),
        step_time=1.0 / speed if speed > 0 else None, metrics=pairs(m.group("metrics")),
    )


def pairs(text: str) -> tuple[tuple[str, float], ...]:
    """The numeric `name: value` pairs of a metrics column, in their order (`nan` and `inf` included)."""
    out: list[tuple[str, float]] = []
    for key, raw in _PAIR.findall(text):
        value = parse_number(raw)
        if value is not None:
            out.append((key, value))
    return tuple(out)
