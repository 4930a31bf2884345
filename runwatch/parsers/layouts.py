"""A learned layout shared by every number width of one format string: learned once, not once per shape.

runwatch.parsers.learned learns the layout of one line *shape* (its digits
turned into `0`) by probing the parser, a few parses per number. But a shape
changes whenever a number gains a digit (step 9 → 10, a loss 9.87 → 10.02), and
a padded field trades a blank for it (`iteration       7/` → `iteration      12/`):
one Megatron format string, a dozen numbers to a line, prints dozens of shapes,
and learning each cost more than reading all their lines.

Lines of one format string share a *skeleton*: the line with each run of
digits, and the blanks that pad it, turned into one mark. What was learned
from one line of a skeleton (which number is the step, which a metric and by
what factor, which digits are a label) is placed on another line of it number
by number, then checked against the parser itself, which stays the one
description: the placed layout must read that line, and the line with all its
numbers changed at once (each digit moved on by one and by three, all `0`, all
`9`: the learner's probes, all numbers together), into the very records the
parser gives. A line that fails the check is learned on its own.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import replace

from runwatch import patterns
from runwatch.model import Record
from runwatch.parsers.learned import TIME, Counters, LearnedLine, learn, parsed, reading, same_record

_PIECE = patterns.compile(r" *[0-9]+")
"""A run of digits and the blanks that pad it: what differs between lines of one skeleton."""
_DIGITS = patterns.compile(r"[0-9]+")
_MAX_SKELETONS = 4096
_MAX_RUNS = 24
"""Runs of digits of a line probed for `Learner.recordless` at most (each costs two parses, once per shape):
a line with more is read (an evaluation's or a table's row of many numbers cost its probes more than it saved)."""
_Pieces = list[tuple[int, int, int]]
"""Each piece's start, its first digit and its end."""


def skeleton(line: str) -> str:
    """What the lines of one format string share: each run of digits one `0`, its padding one blank."""
    return _PIECE.sub(lambda m: " 0" if m.group()[0] == " " else "0", line)


class Learner:
    """`learn` for a stateless format's parser, each skeleton probed once and placed on its other shapes.

    Only layouts are remembered (a bounded number): a line that could not be
    learned says nothing of the other lines of its skeleton (a stamp that is
    no real time, a value past a threshold), so those are tried on their own.
    """

    def __init__(self, parse: Callable[[str], Record | None], counters: Counters | None = None,
                 state_texts: tuple[str, ...] = ()) -> None:
        self._parse, self._counters, self._state_texts = parse, counters, state_texts
        self._known: dict[str, tuple[str, LearnedLine]] = {}

    def recordless(self, line: str) -> bool:
        """Whether the parser reads no record from `line` (rank prefix removed), nor from it with its numbers
        changed: each run of digits alone to all `0` and to all `9` (where a test of one value is crossed:
        `Epoch [5/5]` against `[0/5]`; of two against each other, `n <= N`, by either), and all of them at once by
        the placing check's changes (where they are equal). Then no line of `line`'s shape is one of this
        format's whatever its numbers say (runwatch.parsers.learned.QuietShapes). Never a line holding one of
        the parser's `state_texts` (its reading is not the line's alone), one with more than `_MAX_RUNS` runs
        of digits, or one the parser fails on (it is counted when read)."""
        if any(text in line for text in self._state_texts):
            return False
        runs = [(m.start(), m.end()) for m in _DIGITS.finditer(line)]
        if len(runs) > _MAX_RUNS:
            return False
        tries = [line]
        for lo, hi in runs:
            tries += [line[:lo] + fill * (hi - lo) + line[hi:] for fill in "09"]
        tries += [_changed(line, [], change) for change in _CHANGES]
        try:
            return all(self._parse(other) is None for other in dict.fromkeys(tries))
        except Exception:
            return False

    def refused(self, line: str) -> bool:
        """Whether the format's `Counters` found its integers but refused their values (`Epoch [5/5]` is no
        step of a loop counting epochs from 0): the line says nothing of its shape's other lines."""
        counters = self._counters
        return counters is not None and counters.head.match(line) is not None and counters.of(line) is None

    def __call__(self, line: str) -> LearnedLine | None:
        key = skeleton(line)
        known = self._known.get(key)
        if known is not None:
            placed = _placed(known[1], known[0], line)
            checked = None if placed is None else _checked(placed, self._parse, line)
            if checked is not None:
                return checked
        found = learn(self._parse, line, self._counters)
        if found is not None and known is None:
            if len(self._known) >= _MAX_SKELETONS:
                self._known.clear()
            self._known[key] = (line, found)
        return found


def _placed(known: LearnedLine, example: str, line: str) -> LearnedLine | None:
    """`known` (learned from `example`) with its spans moved onto `line`, a line of the same skeleton, or
    None when a span does not start at a number's first digit or in the text between numbers."""
    src, dst = _pieces(example), _pieces(line)
    starts = [p[0] for p in src]

    def at(pos: int) -> int | None:
        i = bisect_right(starts, pos) - 1
        if i < 0:
            return pos  # before the first number: the same text
        start, first, end = src[i]
        if pos == first:
            return dst[i][1]
        if pos == start:
            return dst[i][0]
        return None if pos < end else dst[i][2] + pos - end

    def moved(lo: int, hi: int) -> tuple[int, int] | None:
        a, b = at(lo), at(hi)
        return None if a is None or b is None else (a, b)

    spans = [moved(s.lo, s.hi) for s in known.spans]
    counted = [moved(s.lo, s.hi) for s in known.counted]
    literals = [moved(lo, hi) for lo, hi in known.literals]
    if None in spans or None in counted or None in literals:
        return None
    return replace(
        known,
        spans=tuple(replace(s, lo=p[0], hi=p[1]) for s, p in zip(known.spans, spans, strict=True) if p),
        counted=tuple(replace(s, lo=p[0], hi=p[1]) for s, p in zip(known.counted, counted, strict=True) if p),
        literals=tuple(p for p in literals if p),
    )


def _pieces(line: str) -> _Pieces:
    return [(m.start(), m.end() - len(m.group().lstrip(" ")), m.end()) for m in _PIECE.finditer(line)]


_CHANGES: tuple[Callable[[str], str], ...] = (
    lambda d: "".join(str((int(c) + 1) % 10) for c in d),
    lambda d: "".join(str((int(c) + 3) % 10) for c in d),
    lambda d: "0" * len(d),
    lambda d: "9" * len(d),
)
"""What the learner's probes do to one number, done here to all of them at once."""


def _checked(layout: LearnedLine, parse: Callable[[str], Record | None], line: str) -> LearnedLine | None:
    """`layout` with `line`'s record, if it reads `line` and its changed copies as `parse` does."""
    rec = parsed(parse, line)
    if rec is None or not _agree(layout, line, rec):
        return None
    kept = [*layout.literals, *((s.lo, s.hi) for s in layout.spans if s.name == TIME)]
    for change in _CHANGES:
        other = _changed(line, kept, change)
        want = parsed(parse, other)
        if want is None and _read(layout, other) is None:
            continue
        if want is None or not _agree(layout, other, want):
            return None
    return replace(layout, record=rec)


def _agree(layout: LearnedLine, line: str, rec: Record) -> bool:
    got = _read(layout, line)
    return got is not None and same_record(rec, got)


def _read(layout: LearnedLine, line: str) -> Record | None:
    try:
        return reading(layout, line)
    except ValueError:  # a placed span that holds no number (the check then fails)
        return None


def _changed(line: str, kept: list[tuple[int, int]], change: Callable[[str], str]) -> str:
    """`line` with `change` done to each run of digits but those inside the `kept` ranges."""
    return _DIGITS.sub(lambda m: m.group() if any(lo <= m.start() < hi for lo, hi in kept) else change(m.group()), line)
