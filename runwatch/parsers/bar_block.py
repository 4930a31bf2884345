"""A block of lines read at once: which are plain training-bar frames (tqdm's), and their numbers as columns.

Read one by one, a frame cost ~11 µs of Python objects (a match, a Frame, a
dict of metrics, a Row, the source's bookkeeping), and a Lightning log is
mostly frames, two a step. Here the block is one text and one regex pass
made of `PLAIN_FRAME` itself (`progress_bar.FRAME_LINES`: each line matched
whole, as `plain_frame_of` matches it) gives every line's groups. What
repeats from frame to frame is read once per distinct text: the description
(training or not, its epoch), the postfix (its pairs, their canonical names)
and the clock and rate texts. What a frame means given the frames before it
(a stale postfix, values that persist, the global step) is the parser's
(`ProgressBarParser.take_frames`), over these columns; which frames are rows
and which lines are neutral is the format's (`FrameRules`). HF Trainer's
console was tried the same way and left per line: its frames come in runs
of its `logging_steps` between dicts, and reading the block cost what the
runs saved (1.85 s → 1.67 s on 200k frames with a dict every 50, a third
slower with one every few frames).

A line is a row here only if `take_row` would take it in any parser state
it may be taken in: a plain frame of a training bar with a description that
does not start like a launcher prefix, past its epoch's `0/M` frame, no
`Trainer.fit` stopped message, no digit that is not ASCII, and a postfix
whose keys have distinct canonical names. A line is *neutral* if `parse`
of it gives nothing and changes nothing while the parser is ready for rows
(noise, a validation bar's frames): a run of rows goes on past up to `_GAP`
of them, which the source reads in order, without the parser. Every other
line (an epoch's first frame, a percent-only line, the stopped message) ends
the run and goes the per-line way, as before.

Measured (`runwatch parse --output summary --format tqdm`, 2-core machine, old and new run in turn, three
times): a whole recorded Lightning console ×300 (172k split lines) 3.6-4.4 s before, 2.8-3.2 s after; the
benchmark's 300k-line log of its frames with 10% noise 5.2-5.6 s before, 3.6-4.6 s after. The regex pass
costs about what a naive regex does (~2.5 µs a line), and the `\r` splitter ~3 µs a line of the console:
what is left for a byte-level reader of frames (see issue 12's note).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple, Protocol

import numpy as np

from runwatch.arrays import distinct
from runwatch.parsers.base import RowColumns
from runwatch.parsers.beside import beside
from runwatch.parsers.boundary import ascii_digits, readable
from runwatch.parsers.events import WAKES
from runwatch.parsers.heading import heading_of
from runwatch.parsers.numbers import clock_seconds
from runwatch.parsers.prefix import FIRST_CHARS, launcher_prefixed, split_rank
from runwatch.parsers.progress_bar import (
    FIT_STOPPED,
    FRAME_LINES,
    any_frame,
    desc_of,
    desc_values,
    epoch_of,
    is_training,
    pct_only,
    postfix_of,
    starts_run,
    step_time_of,
)
from runwatch.parsers.pydict import metric_name
from runwatch.parsers.rich_bar import BAR_GLYPH

_NONE = float("nan")
_GAP = 64
"""Neutral lines a run of rows may hold between two of them: a longer stretch ends it (re-detection counts
record-less lines, and must not reach its count inside a run)."""
_TOTAL_DIGITS = 9
"""An `Epoch E:` frame's step is E * M + N - 1 with E under 10**9: an M of up to 9 digits keeps it in int64."""


class FrameRules(NamedTuple):
    """What a format makes of a block's frames, beyond what every format shares (no launcher prefix, no digit
    that is not ASCII, distinct canonical postfix names, an epoch's `0/M` no row)."""

    rows: Callable[[str, str, str], bool]
    """(description as printed, the postfix text, a line of them) → whether frames printing these are rows
    (the frames that differ from the line only in their numbers and bar are alike)."""
    neutral: Callable[[str, str | None], bool]
    """(a line that is no row, as split; the description `PLAIN_FRAME` read in it, None unless it matched
    whole) → whether `parse` of it gives nothing and changes nothing while the parser is ready for rows."""


class Postfix(NamedTuple):
    """One postfix as the parser reads it: its pairs under canonical names, and its text as `_shown` keeps it."""

    text: str
    """`repr` of the pairs: frames with equal texts show the same postfix (a stale redraw)."""
    names: tuple[str, ...]
    values: tuple[float, ...]


class _Kind(NamedTuple):
    """What a (description, unit, postfix) text gives every frame that prints it."""

    epoch: int
    """The `Epoch E:` of the description, -1 for a plain bar."""
    postfix: int
    """Its index in `FrameBlock.postfixes`."""
    quiet: bool
    """No line of it wakes the crash detector (`events.WAKES`)."""


@dataclass(frozen=True, slots=True, eq=False)
class FrameBlock:
    """The lines of a block; for each that is a row (`row`), the numbers of its frame. Arrays are per line."""

    row: np.ndarray
    """Whether the line is a plain training frame `take_row` takes (see the module notes)."""
    n: np.ndarray
    total: np.ndarray
    epoch: np.ndarray
    """-1 for a plain bar's frame."""
    elapsed: np.ndarray
    remaining: np.ndarray
    step_time: np.ndarray
    """NaN where the frame has none (`?`)."""
    postfix: np.ndarray
    """Index into `postfixes`."""
    quiet: np.ndarray
    """The line is nothing to an idle crash detector."""
    neutral: np.ndarray
    """Not a row, and `parse` leaves the parser as it is whenever it is `ready_for_frames` (no frame of a
    training bar, no percent-only line, no `Trainer.fit` stopped): a run of rows may go on past it."""
    postfixes: tuple[Postfix, ...]
    postfix_index: dict[str, int]
    """Each postfix's index by its text."""
    names: tuple[str, ...]
    """Every canonical name of the postfixes."""
    values: np.ndarray
    """(postfix, name) → value; NaN where the postfix has no such name."""
    shows: np.ndarray
    """(postfix, name) → whether the postfix has that name."""
    has_postfix: np.ndarray
    """Per postfix: it has a pair (an empty one is never stale)."""
    sizes: frozenset[int]
    """The totals of the rows that are `Epoch E:` bars' frames."""
    lowest: int
    """The lowest epoch of those rows as printed (-1: none)."""


def read_frames(lines: Sequence[str], rules: FrameRules) -> FrameBlock:
    """The frames of `lines` (as split, no launcher prefix removed), per line; see the module notes."""
    found = FRAME_LINES.findall("\n".join(lines))
    if len(found) != len(lines):  # a line with a `\n` in it (never, as lines are split): no rows, not wrong ones
        found = [("",) * 10] * len(lines)
    frames = [i for i, g in enumerate(found) if g[2]]  # a frame's `n` is never empty
    postfixes: dict[str, tuple[int, Postfix]] = {}
    cols: list[tuple[str, ...]] = list(zip(*[found[i] for i in frames], strict=True)) or [()] * 10
    keys = list(zip(cols[0], cols[8], cols[9], strict=True))
    example = dict(zip(keys, frames, strict=True))  # a line of each: every line of a key is alike here
    kinds = {key: _kind(key, lines[i], postfixes, rules) for key, i in example.items()}
    kind = [kinds[key] or _NO_ROW for key in keys]
    epoch = np.array([k.epoch for k in kind], np.int64)
    n = digit_ints(cols[2])
    narrow = np.array([len(t) <= _TOTAL_DIGITS for t in cols[3]], bool)  # wider: E * M + N beyond int64
    # an epoch's `0/M`: no step taken, no row; a plain bar's: the parser's, one by one (a bar opened under it nests)
    keep = (epoch > -2) & (n > 0) & ((epoch == -1) | narrow)
    at = np.array(frames, np.int64)[keep]
    row = np.zeros(len(lines), bool)
    row[at] = True
    neutral = np.zeros(len(lines), bool)
    descs = dict(zip(frames, cols[0], strict=True))
    neutral[[i for i in np.flatnonzero(~row).tolist() if rules.neutral(lines[i], descs.get(i))]] = True

    def spread(values: np.ndarray, fill: float | int | bool) -> np.ndarray:
        out = np.full(len(lines), fill, values.dtype)
        out[at] = values[keep]
        return out

    pfs = tuple(p for _, p in postfixes.values())
    names, values, shows = _tables(pfs)
    totals = digit_ints(cols[3])
    epoched = keep & (epoch >= 0)
    return FrameBlock(
        row=row,
        n=spread(n, 0),
        total=spread(totals, 0),
        epoch=spread(epoch, -1),
        elapsed=spread(np.array(list(map(_seconds, cols[4])), np.float64), _NONE),
        remaining=spread(np.array(list(map(_seconds, cols[5])), np.float64), _NONE),
        step_time=spread(np.array(list(map(_step_time, cols[6], cols[7], cols[8])), np.float64), _NONE),
        postfix=spread(np.array([k.postfix for k in kind], np.int64), -1),
        quiet=spread(np.array([k.quiet for k in kind], bool), False),
        neutral=neutral,
        postfixes=pfs,
        postfix_index={p.text: i for i, p in enumerate(pfs)},
        names=names,
        values=values,
        shows=shows,
        has_postfix=np.array([bool(p.names) for p in pfs], bool),
        sizes=frozenset(distinct(totals[epoched]).tolist()),
        lowest=int(epoch[epoched].min()) if epoched.any() else -1,
    )


_NO_ROW = _Kind(-2, -1, False)


def digit_ints(texts: Sequence[str]) -> np.ndarray:
    """Decimal texts of up to 12 ASCII digits → int64, parsed by numpy."""
    return np.array(texts, dtype=np.str_).astype(np.int64) if texts else np.zeros(0, np.int64)


@lru_cache(maxsize=4096)
def _seconds(text: str) -> float:
    found = clock_seconds(text)
    return _NONE if found is None else found


@lru_cache(maxsize=4096)
def _step_time(rate: str, scale: str, unit: str) -> float:
    found = step_time_of(rate, scale, unit)
    return _NONE if found is None else found


def _kind(
    key: tuple[str, str, str], line: str, postfixes: dict[str, tuple[int, Postfix]], rules: FrameRules
) -> _Kind | None:
    """What frames of this description, unit and postfix give; None when they are no rows (see the notes)."""
    raw_desc, _, body = key
    if not rules.rows(raw_desc, body, line) or launcher_prefixed(line):
        return None
    if not (raw_desc.isascii() and body.isascii()) and ascii_digits(line) is not line:
        return None
    pairs = postfix_of(body) + desc_values(desc_of(raw_desc))
    names = tuple(metric_name(k) for k, _ in pairs)
    if len(set(names)) < len(names):
        return None  # two keys of one name: the first that is shown wins, which depends on values; per line
    text = repr(pairs)
    index = postfixes.setdefault(text, (len(postfixes), Postfix(text, names, tuple(v for _, v in pairs))))[0]
    epoch = epoch_of(desc_of(raw_desc))
    return _Kind(-1 if epoch is None else epoch, index, not WAKES.admits(line))


def _tables(pfs: tuple[Postfix, ...]) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Every name of the postfixes, and their (postfix, name) values (NaN: none) and presence."""
    names = tuple(dict.fromkeys(name for p in pfs for name in p.names))
    col = {name: j for j, name in enumerate(names)}
    values = np.full((len(pfs), len(names)), np.nan)
    shows = np.zeros((len(pfs), len(names)), bool)
    for i, p in enumerate(pfs):
        for name, value in zip(p.names, p.values, strict=True):
            values[i, col[name]], shows[i, col[name]] = value, True
    return names, values, shows


def as_parsed(line: str) -> str:
    """The text the source hands to `parse` for this line (`SourceParser._line`): `readable` (digits that are
    not ASCII replaced, no U+FFFD first), a launcher prefix taken off."""
    text = readable(line)
    return split_rank(text)[1] if text[:1] in FIRST_CHARS else text


def _tqdm_rows(raw_desc: str, body: str, line: str) -> bool:
    """A training bar's frame, named (a bar with no description is no `Epoch`'s and no row of tqdm's)."""
    desc = desc_of(raw_desc)
    return bool(desc) and is_training(desc) and FIT_STOPPED not in line


def _tqdm_neutral(line: str, desc: str | None) -> bool:
    """Whether `parse` of this line changes nothing while the tqdm parser is `ready_for_frames`: it reads no
    training frame (a validation bar's frame only clears what is clear), no percent-only line and no
    `Trainer.fit` stopped, no heading (runwatch.parsers.heading). Most noise holds none of `[`, `%` and the rich
    bar's glyph: no frame at all."""
    if "[" not in line and "%" not in line and BAR_GLYPH not in line:
        return (FIT_STOPPED not in line and not starts_run(line) and beside(as_parsed(line), None) is None
                and heading_of(as_parsed(line)) is None)
    if desc is not None and line[:1] not in FIRST_CHARS and FIT_STOPPED not in line and ascii_digits(line) is line:
        return _not_training(desc)  # the frame `parse` reads: the line's own, as the source hands it over
    text = as_parsed(line)
    if FIT_STOPPED in text:
        return False
    frame = any_frame(text)
    if frame is None:
        return not pct_only(text) and not starts_run(text) and beside(text, None) is None and heading_of(text) is None
    return bool(frame.desc) and not is_training(frame.desc)


@lru_cache(maxsize=1024)
def _not_training(raw_desc: str) -> bool:
    desc = desc_of(raw_desc)
    return bool(desc) and not is_training(desc)


TQDM = FrameRules(_tqdm_rows, _tqdm_neutral)
"""tqdm's (Lightning's) frames: named training bars are rows; runwatch.parsers.progress_bar."""


def run_ends(row: np.ndarray, neutral: np.ndarray) -> list[int]:
    """Per line: for a row, the end of its run (the line after the run's last row: rows with at most `_GAP`
    neutral lines and nothing else between them); for any other line, its own index."""
    ends = np.arange(row.size)
    at = np.flatnonzero(row)
    if not at.size:
        return ends.tolist()
    other = np.concatenate([[0], np.cumsum(~(row | neutral))])  # lines that are neither, up to each index
    joined = (other[at[1:]] == other[at[:-1] + 1]) & (at[1:] - at[:-1] <= _GAP + 1)
    run = np.concatenate([[0], np.cumsum(~joined)])
    last = np.flatnonzero(np.concatenate([~joined, [True]]))  # each run's last row
    ends[at] = at[last][run] + 1
    return ends.tolist()


class FrameTaker(Protocol):
    """A parser that takes a block's frames in runs (`ProgressBarParser`)."""

    def ready_for_frames(self, frames: FrameBlock) -> bool: ...

    def take_frames(self, frames: FrameBlock, at: np.ndarray) -> RowColumns: ...


class FrameRowBlock:
    """A block's frames bound to the parser that takes them (`FormatParser.read_rows`, a `RowBlock`)."""

    __slots__ = ("parser", "frames", "row", "quiet", "ends")

    def __init__(self, parser: FrameTaker, frames: FrameBlock) -> None:
        self.parser, self.frames, self.row, self.quiet = parser, frames, frames.row, frames.quiet
        self.ends = run_ends(frames.row, frames.neutral)

    def ready(self) -> bool:
        return self.parser.ready_for_frames(self.frames)

    def take(self, lo: int, hi: int) -> RowColumns:
        return self.parser.take_frames(self.frames, np.flatnonzero(self.row[lo:hi]) + lo)
