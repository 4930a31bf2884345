"""Which lines a reader could ever act on, said once: its per-line gate and the bulk screen both come from it.

A log is mostly lines that nothing in runwatch reads: warnings, logger chatter,
the frames of a logged traceback. Read one by one, each such line cost ~6 µs
(rank prefix, crash detector, the format parser, re-detection bookkeeping)
and a log with 10% of them parsed at half the speed of a clean one. A reader
(a format parser, the crash detector, the rank-prefix splitter) now declares
`Reads`: texts that every line it acts on holds. The format parser is held to
it (`GuardedParser.parse` returns None for a line its `Reads` does not admit,
before reading it), so the declaration cannot fall behind the code: a new
kind of line the parser learns but its `Reads` does not admit is never read,
and that parser's own tests fail. runwatch.parsers.screen compiles the same
`Reads` of every reader of a source into one regex over a block of lines.

A `Reads` is a necessary condition, never a reading: admitting a line that
the reader then ignores costs only time, so the texts may be loose.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from runwatch.parsers.fields import PASTED_ESCAPE, strip_lead


@dataclass(frozen=True, slots=True)
class Reads:
    """Texts one of which every line a reader acts on holds (see the module notes). Lines hold no `\\n`."""

    heads: tuple[str, ...] = ()
    """The line starts with one of these after leading blanks and a pasted `^[` (what `strip_lead` takes)."""
    holds: tuple[str, ...] = ()
    """The line holds one of these anywhere."""
    start: re.Pattern[str] | None = None
    """A pattern that matches at the line's start (a launcher's rank prefix)."""
    start_chars: frozenset[str] = frozenset()
    """Where `start` matches, the line's first character that is no blank is one of these."""
    lowered: re.Pattern[str] | None = None
    """A pattern found somewhere in the lowercased line (key words in any case)."""
    admits: Callable[[str], bool] = field(init=False, repr=False, compare=False)
    """The per-line test: whether this `Reads` admits a line (a few hundred ns; no regex for texts)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "admits", self._gate())

    def __or__(self, other: Reads) -> Reads:
        """A line either reads (at most one `start` and one `lowered` between the two)."""
        if (self.start and other.start) or (self.lowered and other.lowered):
            raise ValueError("two start or lowered patterns: write them as one")
        return Reads(
            _merged(self.heads, other.heads), _merged(self.holds, other.holds), self.start or other.start,
            self.start_chars | other.start_chars, self.lowered or other.lowered,
        )

    def _gate(self) -> Callable[[str], bool]:
        heads, holds, start_chars = self.heads, self.holds, self.start_chars
        start, lowered = self.start, self.lowered  # their methods looked up per call: compiled at first use
        held = _holds_test(holds)

        def admits(line: str) -> bool:
            if heads and (line.startswith(heads) or (_leads(line) and strip_lead(line).startswith(heads))):
                return True  # a step line, which starts with its template's head, at the first test
            if held(line):
                return True
            if start is not None and line.lstrip()[:1] in start_chars and start.match(line) is not None:
                return True
            return lowered is not None and lowered.search(line.lower()) is not None

        return admits


_RARE_FIRST = "!`~#$^&*;?\"'<>{}\\@ABCDEFGHIJKLMNOPQRSTUVWXYZqjzxkvwybfg"
"""Characters in the order a guard is chosen by (`_holds_test`): rarer in logs first; any other ASCII character
is too common to guard by, a non-ASCII one rarer than all."""


def _guard(text: str) -> str:
    """The character of `text` its test is guarded by: its rarest (`_RARE_FIRST`), or the whole text."""
    rare = [c for c in text if not c.isascii() or c in _RARE_FIRST]
    return min(rare, key=lambda c: -1 if not c.isascii() else _RARE_FIRST.index(c)) if rare else text


def _holds_test(holds: tuple[str, ...]) -> Callable[[str], bool]:
    """Whether a line holds one of `holds`, as straight-line code: the texts grouped behind the rarest character
    each holds, one `in` test (memchr speed) a group before its texts' (the crash detector's hundred texts cost
    6.5 µs a tqdm frame in a loop, 1.8 µs in its own hand-grouped gate, runwatch.parsers.events._GATE)."""
    if not holds:
        return _holds_none
    groups: dict[str, list[str]] = {}
    for text in holds:
        groups.setdefault(_guard(text), []).append(text)
    terms = [
        f"{guard!r} in s" if texts == [guard] else f"({guard!r} in s and ({' or '.join(f'{t!r} in s' for t in texts)}))"
        for guard, texts in groups.items()
    ]
    scope: dict[str, object] = {}
    exec("def held(s):\n    return (" + "\n        or ".join(terms) + ")", scope)  # the texts' own code
    found: Callable[[str], bool] = scope["held"]  # type: ignore[assignment]
    return found


def _holds_none(line: str) -> bool:
    return False


def _leads(line: str) -> bool:
    """Whether `strip_lead` may change the line: it starts with a blank or the `^` of a pasted `^[` (any
    other line is its own stripped form)."""
    first = line[:1]
    return first.isspace() or first == PASTED_ESCAPE[0]


def _merged(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a + b))
