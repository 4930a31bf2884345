"""The noise screen: which lines of a block something in a source's pipeline may read, found in bulk.

Every line a source reads passes the rank-prefix splitter, `ascii_digits`, the
crash detector and the format parser. For most noise lines (warnings, logger
lines, a logged traceback's frames) none of them does anything but count it,
which still cost a few µs a line of Python calls. Each of them says which
lines it could act on (runwatch.parsers.reads: the format parser's `reads`,
the crash detector's `WAKES`, the prefix splitter's `PREFIXED`); a `Screen`
tests a block's raw lines against all of them at once, and flags too every
line that is not plain (printable ASCII and tabs, at most `PLAIN_MAX` bytes):
only such a line is its own text, with no escape to strip and nothing for
`ascii_digits` to change. The fast path (SourceParser.feed_bytes) reads only
the flagged lines and counts the rest in runs, with the state they would
have moved.

Speed (~0.4 µs a line, where a `re` alternation of the same texts costs
~1 µs: `re` tries every alternative at every position that starts one):
- texts anywhere (`holds`): a table of character pairs, one pair per text
  (its rarest), looked up for every position of the block at once (numpy);
  a text is then confirmed only where its pair is;
- texts at the start (`heads`): `bytes.lstrip` and `startswith` mapped over
  the lines (C calls, no Python frame per line);
- patterns at the start (`start`, a rank prefix): tried only on lines whose
  first character after blanks is one of its `start_chars`; lowercased
  patterns (`lowered`) by `re` over the block, lowercased.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from itertools import compress, pairwise, repeat

import numpy as np

from runwatch import patterns
from runwatch.parsers.events import WAKES
from runwatch.parsers.fields import PASTED_ESCAPE
from runwatch.parsers.preamble import RELAUNCHES
from runwatch.parsers.prefix import PREFIXED
from runwatch.parsers.reads import Reads
from runwatch.parsers.registry import parser_class

PLAIN_MAX = 4096
"""Longest line the screen may leave unflagged (a line splitter cuts none this short)."""
_PLAIN = bytes(range(32, 127)) + b"\t\n"
_STRIPPED = PASTED_ESCAPE.encode()
"""What `strip_lead` takes after blanks besides more blanks: a line that starts so after its blanks is
flagged, whatever its heads."""


class Screen:
    """The raw lines of a block that any of `reads` may act on, or that are not plain (`flag`)."""

    def __init__(self, reads: Sequence[Reads]) -> None:
        heads = [h.encode() for h in dict.fromkeys(h for r in reads for h in r.heads)]
        self._heads = (*heads, _STRIPPED) if heads else ()
        self._head_chars = np.array(sorted({h[0] for h in self._heads}), np.uint8)
        self._holds = _Texts([h.encode() for r in reads for h in r.holds])
        self._starts = [
            (patterns.compile(r.start.pattern.encode(), r.start.flags & (re.VERBOSE | re.IGNORECASE)),
             np.array(sorted(map(ord, r.start_chars)), np.uint8))
            for r in reads if r.start is not None
        ]
        lowered = [r.lowered.pattern for r in reads if r.lowered is not None]
        self._lowered = patterns.compile("|".join(f"(?:{p})" for p in lowered).encode()) if lowered else None

    def flag(self, lines: list[bytes]) -> np.ndarray:
        """A bool per line (its bytes, without `\\n`): True where a reader may act on it, or it is not plain."""
        n = len(lines)
        if not n:
            return np.zeros(0, bool)
        text = b"\n" + b"\n".join(lines)
        buf = np.frombuffer(text, np.uint8)
        starts = np.flatnonzero(buf == 10) + 1  # of each line in `text`
        lens = np.diff(starts, append=len(text) + 1) - 1
        out = lens > PLAIN_MAX
        if text.translate(None, _PLAIN):  # some byte outside printable ASCII: mark the lines that hold one
            odd = np.flatnonzero((buf < 32) & (buf != 9) & (buf != 10) | (buf > 126))
            out[np.searchsorted(starts, odd, side="right") - 1] = True
        found = self._holds.find(text)
        if found.size:
            out[np.searchsorted(starts, found, side="right") - 1] = True
        # the first character after blanks (a plain line's blanks are spaces and tabs: bytes.lstrip's)
        stripped = list(map(bytes.lstrip, lines))
        blanks = lens - np.fromiter(map(len, stripped), np.int64, n)
        first = np.where(blanks < lens, buf[np.minimum(starts + blanks, len(text) - 1)], 0)
        if self._heads:
            maybe = np.flatnonzero(np.isin(first, self._head_chars)).tolist()
            out[list(compress(maybe, map(bytes.startswith, [stripped[i] for i in maybe], repeat(self._heads))))] = True
        for pattern, chars in self._starts:  # tried where the first character after blanks may start one
            maybe = np.flatnonzero(np.isin(first, chars)).tolist()
            out[list(compress(maybe, map(pattern.match, [lines[i] for i in maybe])))] = True
        if self._lowered is not None:
            _mark(self._lowered, text.lower(), starts, out)
        return out


@cache
def screen_for(fmt: str) -> Screen | None:
    """The screen of a source in format `fmt` (None: its parser reads any line, so every line is read)."""
    reads = parser_class(fmt).reads
    return None if reads is None else Screen([reads, WAKES, PREFIXED, RELAUNCHES])


def _mark(pattern: re.Pattern[bytes], text: bytes, starts: np.ndarray, out: np.ndarray) -> None:
    """Flag every line a match of `pattern` in `text` touches (a `\\n` belongs to the line after it).

    A pattern that a line matches on its own also matches where that line
    sits in the block; the scan finds a match that starts no later and ends
    in or after that line, unless an earlier one spans it: either touches it.
    """
    spans = [m.span() for m in pattern.finditer(text)]
    if not spans:
        return
    at = np.array(spans, np.int64)
    first = np.searchsorted(starts, at[:, 0] + 1, side="right") - 1
    last = np.searchsorted(starts, np.maximum(at[:, 1], at[:, 0] + 1), side="right") - 1
    out[first] = True
    for a, b in zip(first[last > first].tolist(), last[last > first].tolist(), strict=True):
        out[a : b + 1] = True


class _Texts:
    """Where a block holds any of some texts: each is looked for where its rarest pair of characters is.

    One table of 2**16 pairs; the block's pairs at even and at odd offsets
    are looked up in it at once (two numpy gathers). The hits are sorted by
    pair, and those of each pair are confirmed together, a text at a time:
    first its second rarest pair at its own offset (two bytes a hit), then
    its whole bytes where that is (a gather each). The rarest pair is judged
    by how common its characters are in logs (`_commonness`); noise still
    hits common ones (`done: `'s `e:` in every `time: 6.3s`, `training
    finished`'s `ng`): the nanochat speedrun's 22,446 noise lines hit 94,000
    times, and a whole-text gather at each, one pair after another, took
    35 ms of the screen's 58 (best of 21); sorted once and sifted by the
    second pair, 15 ms of 39 (benchmarks/format_throughput.py's noise).
    """

    def __init__(self, texts: Sequence[bytes]) -> None:
        self._at: dict[int, list[tuple[np.ndarray, int, int, int]]] = {}
        """Per pair (as a little-endian uint16 reads it): the texts it is the rarest pair of, its offset, and
        the offset and code of the text's second rarest pair (-1, 0 for a text of one pair)."""
        self._table = np.zeros(1 << 16, bool)
        self._bytes = np.zeros(256, bool)
        for text in dict.fromkeys(texts):
            if len(text) == 1:
                self._bytes[text[0]] = True
                continue
            i, j = _rarest_pairs(text)
            code = text[i + 1] << 8 | text[i]
            self._at.setdefault(code, []).append(
                (np.frombuffer(text, np.uint8), i, j, text[j + 1] << 8 | text[j] if j >= 0 else 0))
            self._table[code] = True

    def find(self, text: bytes) -> np.ndarray:
        """Offsets in `text` where one of the texts is (at least one per line that holds one)."""
        n = len(text)
        table = self._table
        buf = np.frombuffer(text, np.uint8)
        even = np.flatnonzero(np.take(table, np.frombuffer(text, "<u2", n // 2))) * 2
        odd = np.flatnonzero(np.take(table, np.frombuffer(text, "<u2", (n - 1) // 2, 1))) * 2 + 1
        hits = np.concatenate((even, odd))
        found = [np.flatnonzero(self._bytes[buf])] if self._bytes.any() else []
        if hits.size:
            codes = buf[hits + 1].astype(np.uint16) << 8 | buf[hits]
            order = np.argsort(codes, kind="stable")  # the hits of each pair together: one pass, not one a pair
            codes, hits = codes[order], hits[order]
            cuts = (np.flatnonzero(np.diff(codes)) + 1).tolist()
            for lo, hi in zip([0, *cuts], [*cuts, len(codes)], strict=True):
                at = hits[lo:hi]
                for want, i, j, second in self._at[int(codes[lo])]:
                    start = at - i
                    start = start[(start >= 0) & (start <= n - want.size)]
                    if j >= 0:  # the second pair first: two bytes a hit, where the whole text is many
                        start = start[(buf[start + j + 1].astype(np.uint16) << 8 | buf[start + j]) == second]
                    same = buf[start[:, None] + np.arange(want.size)] == want
                    found.append(start[same.all(axis=1)] + i)
        return np.concatenate(found) if found else np.zeros(0, np.int64)


_LETTERS = b"etaoinshrdlcumwfgypbvkjxqz"
"""Lowercase letters, the most common in English first."""


def _commonness(c: int) -> float:
    """A rough share of log text that is the byte `c` (blanks, lowercase, digits and punctuation common)."""
    if c in _LETTERS:
        return 0.08 / (1 + _LETTERS.index(c) / 4)
    if c == 32:
        return 0.15
    if 48 <= c <= 57:
        return 0.02
    if 65 <= c <= 90:
        return 0.004
    return 0.01 if c in b".,:;-/_()[]='\"|" else 0.002


def _rarest_pairs(text: bytes) -> tuple[int, int]:
    """Where in `text` its rarest pair of characters starts (the first of equals), and its second rarest
    (-1 if it has one pair)."""
    common = sorted((_pair_commonness(a, b), i) for i, (a, b) in enumerate(pairwise(text)))
    return common[0][1], common[1][1] if len(common) > 1 else -1


def _pair_commonness(a: int, b: int) -> float:
    """How common the pair `ab` is in logs, roughly: a capital after a lowercase letter is rare (camelCase)."""
    rare = 0.1 if a in _LETTERS and 65 <= b <= 90 else 1.0
    return _commonness(a) * _commonness(b) * rare
