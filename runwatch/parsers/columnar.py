"""Columnar fast path: the step lines of a whole chunk → numpy columns, no object per value.

A per-line parser spends its time on Python objects (a str per field, a float
per value, a dict and a Record per line) and tops out near 0.25 M lines/s.
Here a chunk of complete lines is one byte buffer:

1. newline positions and a vectorised prefix test pick the candidate lines
   (every line, for a learned format), which are grouped by length and
   copied out as rows of uint64 words;
2. a line's *shape* is the line with every digit turned into `0`: lines that
   one format string printed with equally wide numbers share it. Each round
   takes the rows whose bytes equal the first row's wherever that row has no
   digit, and that hold digits wherever it has one: exactly the rows of its
   shape. Lengths rarely hold more than two shapes; what is left after a few
   rounds is grouped by a hash of the shapes (`bytes.translate`);
3. the format's layout pattern is matched once per shape, giving each field's
   digit columns; the numbers are then digit arithmetic on those columns (two
   matrix products per block of rows: runwatch.parsers.digits), all in C. A
   format with no template (Megatron, DeepSpeed, torchtitan, kv) has its
   layout per shape learned from its own parser instead
   (runwatch.parsers.learned, once per skeleton: runwatch.parsers.layouts);
   such lines may state a local time and a rank, which become columns too.

A value is the integer its digits spell divided by a power of ten; both are
exact in float64 (at most 15 digits), so the quotient is the correctly rounded
decimal, i.e. exactly `float(text)`, and unit conversions repeat the per-line
parser's own arithmetic: results are bit-identical to the per-line parser's.
What this path cannot vouch for (`nan`/`inf`, a sign, a trailing blank, `\\r`,
escapes, an unknown field, a number over 15 digits, lines after a state
change it cannot read) is returned as *unhandled*, for the per-line parser.
Chunks of 1–8 MiB work best: the per-call overhead is ~0.1 ms.

SourceParser.feed_bytes (runwatch.parsers.source) is where a source uses this:
it keeps the per-line parsers' state in step with the rows (the format
parser's `fast_omit`/`after_fast`, EventDetector.skip), reads the unhandled
lines in order, and step rows one by one while a traceback is open.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from itertools import accumulate

import numpy as np

from runwatch import patterns
from runwatch.arrays import distinct, groups
from runwatch.model import Kind, Record
from runwatch.parsers.base import DocumentReader, FormatParser, StepLineParser
from runwatch.parsers.boundary import OVERRUN, ascii_digits, printable
from runwatch.parsers.digits import MAX_DIGITS, Field, Integers, Plan, Stamp, values
from runwatch.parsers.events import EventDetector
from runwatch.parsers.layouts import Learner
from runwatch.parsers.learned import RANK, STEP, TIME, TOTAL, LearnedLine
from runwatch.parsers.prefix import split_rank
from runwatch.parsers.registry import UnknownFormatError, parser_class

_DIGITS_TO_ZERO = bytes(48 if 48 <= c <= 57 else c for c in range(256))
_SGR = patterns.compile(rb"\x1b\[[0-9;]*m")
_MAX_LINE = 4096
"""Longer candidates go the per-line way; no step line is this long."""
_ROUNDS = 4
"""Layouts taken out of a length group one by one before hashing the rest."""
_FEW = 64
"""Anchor bytes found one by one up to this many per chunk, by a vectorised compare beyond."""
_STRAYS = 64
_STRAY_ROWS = 8
"""Shapes not ours a chunk may try, and the fewest lines they must hold on average after that, before the
chunk is searched for a learned format's anchors."""
_PREFIX_WINDOW = 32
"""Bytes of a line's head looked at for a launcher's `[role N]:` prefix."""


def _odd_mixes(n: int) -> np.ndarray:
    """n well-mixed odd 64-bit multipliers (splitmix64 of 1..n), without importing numpy.random (~7 ms)."""
    x = np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    for shift, mul in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
        x = (x ^ (x >> np.uint64(shift))) * np.uint64(mul)
    mixed: np.ndarray = (x ^ (x >> np.uint64(31))) | np.uint64(1)
    return mixed


_HASH = _odd_mixes(_MAX_LINE // 8 + 1)
"""Per-word multipliers of a shape's hash (`_length_group`)."""


@dataclass(frozen=True, slots=True)
class ColumnBatch:
    """The step records of one chunk, one array element per record, in line order.

    `metrics` holds canonical names (DESIGN §2) as float64, in the order a
    per-line record of the format holds them (its template's). A row whose line
    lacks a field (no `eta` before step 11, no `grad norm` without clipping)
    holds NaN there and False in `present[name]`; logged NaNs never appear
    here from a template (those lines go the per-line way) but may from a
    learned layout (`grad norm: nan`): use `present` or `column()` rather
    than NaN tests to tell absent from logged. The arrays are
    read-only (metrics present on every row share one all-True mask).
    """

    line: np.ndarray
    """0-based index of each record's line within the chunk (int64)."""
    step: np.ndarray
    total: np.ndarray
    """Planned steps from `step N/T`; -1 where the line has no `/T`."""
    metrics: Mapping[str, np.ndarray]
    present: Mapping[str, np.ndarray]
    kind: Kind = Kind.STEP
    t: np.ndarray | None = None
    """Unix seconds each line states (a local date and time), 0.0 where it states none; None: no
    line of the chunk states one (all were read at the chunk's time)."""
    rank: np.ndarray | None = None
    """The rank each line's launcher prefix states (`[rank3]:`), -1 where none; None: no line has one."""

    def __len__(self) -> int:
        return int(self.line.size)

    def take(self, keep: np.ndarray | slice) -> ColumnBatch:
        """The rows where `keep` (a bool mask) holds, at `keep` (ascending row indices), or in `keep` (a slice:
        views of the batch's own arrays), every column of them: the one place a batch is cut, so no column is
        left behind (its times and ranks once were, and `runwatch check` failed on the batch). Indices and
        slices take a few rows of a large batch without a mask as long as the batch."""
        return replace(self, line=self.line[keep], step=self.step[keep], total=self.total[keep],
                       metrics={m: v[keep] for m, v in self.metrics.items()},
                       present={m: v[keep] for m, v in self.present.items()},
                       t=None if self.t is None else self.t[keep], rank=None if self.rank is None else self.rank[keep])

    def column(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(line, value) of the rows that carry metric `name` (the batch's own read-only arrays, where all do)."""
        mask = self.present[name]
        if mask.all():
            return self.line, self.metrics[name]
        return self.line[mask], self.metrics[name][mask]

    def records(self, first_line: int = 0) -> list[Record]:
        """One Record per row, `line` offset by `first_line` (slow: for tests and object consumers)."""
        names = list(self.metrics)
        values = [self.metrics[n].tolist() for n in names]
        present = [self.present[n].tolist() for n in names]
        times = self.t.tolist() if self.t is not None else [0.0] * len(self)
        ranks = self.rank.tolist() if self.rank is not None else [-1] * len(self)
        rows = zip(self.line.tolist(), self.step.tolist(), self.total.tolist(), times, ranks, strict=True)
        return [
            Record(kind=self.kind, step=st, total_steps=None if tot < 0 else tot, line=first_line + ln, t=t,
                   rank=None if r < 0 else r,
                   metrics={n: v[i] for n, v, p in zip(names, values, present, strict=True) if p[i]})
            for i, (ln, st, tot, t, r) in enumerate(rows)
        ]


@dataclass(frozen=True, slots=True)
class Unhandled:
    """The lines of a chunk the fast path left to the per-line parser, ascending."""

    line: np.ndarray
    """0-based line indices within the chunk (int64)."""
    start: np.ndarray
    """Byte offset of each line in the chunk."""
    end: np.ndarray
    """Byte offset of each line's end (its `\\n`, or the chunk's end)."""

    def __len__(self) -> int:
        return int(self.line.size)

    def texts(self, data: bytes) -> list[bytes]:
        """The lines' bytes, without their `\\n`, cut from the chunk they came from."""
        return [data[s:e] for s, e in zip(self.start.tolist(), self.end.tolist(), strict=True)]


@dataclass(frozen=True, slots=True, eq=False)
class FastFormat:
    """What the fast path knows of one format's step line, derived from its `StepLine` (`of`).

    `layout` is matched against a line's shape (digits turned into `0`); its
    named groups `step`, `total` and those in `metrics` are the numbers.
    `metrics` maps a group to (metric, scale): the value is multiplied
    (scale > 0) or divided (scale < 0) by abs(scale), as the per-line parser
    converts units. `literal` groups are label text with digits (`bf16_`) that
    must match exactly. `barriers` are texts of lines that may change the
    per-line parser's state; `barrier_rule` maps such a line (as the per-line
    parser sees it) and the metrics omitted before it to those omitted after,
    or None when unsure: then that line and the rest of the chunk go per-line.
    `order` is the metrics' order in a record (the template's).
    """

    name: str
    prefix: bytes
    layout: re.Pattern[bytes]
    metrics: Mapping[str, tuple[str, float]]
    literal: Mapping[str, bytes] = field(default_factory=dict)
    barriers: tuple[bytes, ...] = ()
    barrier_rule: Callable[[str, frozenset[str]], frozenset[str] | None] | None = None
    kind: Kind = Kind.STEP
    order: tuple[str, ...] = ()
    learn: Learner | None = None
    """A layout per line shape, learned from the format's own parser (runwatch.parsers.learned, once per
    skeleton: runwatch.parsers.layouts), for a format without a template; `layout` then matches nothing and
    `anchors` pick the shapes worth learning."""
    anchors: tuple[bytes, ...] = ()
    """Texts one of which every step line of a learned format holds (none: every line is a step line's
    candidate); a line shape without one is not learned."""
    documents: DocumentReader | None = None
    """For a format of documents (JSON lines): reads the block's candidate lines at once
    (`FormatParser.documents`); `layout` then matches nothing."""

    @classmethod
    def of(cls, parser: type[StepLineParser]) -> FastFormat:
        line = parser.step_line
        return cls(name=parser.name, prefix=line.prefix[:8], layout=line.shape, metrics=line.groups,
                   literal=line.literals, barriers=parser.barriers,
                   barrier_rule=parser.barrier if parser.barriers else None, order=line.metrics)

    @classmethod
    def learned(cls, parser: type[FormatParser], anchors: tuple[bytes, ...]) -> FastFormat:
        """A stateless format's fast path: each line shape read as the parser reads an example of it.

        Anchors are looked for once per line shape, in its example (`_learned_layout`): the lines of a
        shape share every byte but their digits, so an anchor must hold none."""
        if any(c in b"0123456789" for a in anchors for c in a):
            raise ValueError(f"{parser.name}: a learn anchor holds a digit: {anchors!r}")
        probed = parser()
        probed.after_fast(0)  # as a source's parser stands once step lines went by: a reading that holds only
        # before any (kv's episode as the step) is no layout's, the episodes of a log that states steps read on
        return cls(name=parser.name, prefix=b"", layout=_NOTHING, metrics={},
                   learn=Learner(probed.parse, parser.learn_counters, parser.state_texts), anchors=anchors)


_NOTHING = patterns.compile(rb"(?!)")


@cache
def fast_format(fmt: str) -> FastFormat | None:
    """The fast path of a format (by name or alias), or None: formats whose parser is a StepLineParser,
    or keeps no state and names its anchors (`FormatParser.learn_anchors`)."""
    try:
        parser = parser_class(fmt)
    except UnknownFormatError:
        return None
    if issubclass(parser, StepLineParser):
        return FastFormat.of(parser)
    if parser.documents is not None:
        return FastFormat(name=parser.name, prefix=b"", layout=_NOTHING, metrics={}, documents=parser.documents)
    return FastFormat.learned(parser, parser.learn_anchors) if parser.learn_anchors is not None else None


def extract_steps(
    fmt: str, data: bytes, *, omit: Collection[str] = (), stop: Collection[bytes] = ()
) -> tuple[ColumnBatch, Unhandled] | None:
    """The step records of a chunk of lines, and the lines left to the per-line path.

    Lines are split at `\\n` only; a last piece without `\\n` is a line, and
    unhandled. `omit` names metrics the per-line parser would leave out at the
    chunk's start, e.g. `{"mfu"}` once NanochatParser has seen unknown peak
    FLOPS. `stop` texts end the fast path: the first line containing one, and
    every line after it in the chunk, are unhandled (for the caller's own
    stateful per-line steps, e.g. a traceback block that must see the lines
    that follow it). None when `fmt` has no fast path. Every line index of the
    chunk is in exactly one of `batch.line` and `unhandled.line`.
    """
    spec = fast_format(fmt)
    if spec is None:
        return None
    return _Chunk(spec, bytes(data), frozenset(omit), tuple(stop)).run()


_Found = tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray], "np.ndarray | None", "np.ndarray | None"]
"""Rows (chunk line indices), step, total, metrics, times and ranks of one layout group."""


class _Chunk:
    """One call of extract_steps: the chunk's buffers and the rows parsed so far."""

    def __init__(self, spec: FastFormat, data: bytes, omit: frozenset[str], stop: tuple[bytes, ...]) -> None:
        self.spec, self.data, self.omit, self.stop = spec, data, omit, stop
        self.buf = np.frombuffer(data, np.uint8)
        nl = np.flatnonzero(self.buf == 10)
        self.complete = nl.size
        partial = int(bool(data) and not data.endswith(b"\n"))
        self.starts = np.empty(nl.size + partial, np.int64)
        self.starts[:1] = 0
        self.starts[1:] = nl[: self.starts.size - 1] + 1
        self.lens = np.empty_like(self.starts)
        self.lens[: nl.size] = nl - self.starts[: nl.size]
        self.lens[nl.size :] = len(data) - self.starts[nl.size :]
        self.line_starts, self.line_lens = self.starts, self.lens
        """Where each whole line is; `starts` and `lens` skip a launcher's `[rank3]:` (`_strip_ranks`)."""
        self.prefix_rank: np.ndarray | None = None
        """The rank of each line's `[rank3]:` prefix (-1: none), once one was found."""
        self.found: list[_Found] = []
        self.strays = self.stray_rows = 0
        """Line shapes tried that were not ours, and their lines (`_anchored`)."""
        self.anchor_lines: np.ndarray | None = None
        """Which lines hold an anchor of a learned format, once searched for (`_anchored`)."""
        self.omits: list[frozenset[str]] = [omit]
        self.omit_class: np.ndarray | None = None
        """The metrics omitted in each segment between barriers, and which of them each candidate line's
        segment omits where they differ (`_omitting`)."""
        if spec.learn is None:  # a learned format reads the prefix as part of its layout
            self._strip_ranks()

    def _prefixed(self, rows: np.ndarray) -> np.ndarray | None:
        """The prefix ranks of these rows, None when none has one (no rank column for them)."""
        if self.prefix_rank is None:
            return None
        ranks = self.prefix_rank[rows]
        return ranks if bool((ranks >= 0).any()) else None

    def _strip_ranks(self) -> None:
        """Lines that start with torchrun's `[default3]:` / `[rank3]:` (and the letter of the trainer's
        own line after it): their `starts` and `lens` from after it, and its rank, as split_rank reads them
        (runwatch.parsers.prefix: `[role N]:` and one optional blank; nothing stacked after it starts with
        a letter), so that a template reads a `--tee` log of every rank."""
        heads = np.flatnonzero((self.buf[self.starts[: self.complete]] == ord("[")) & (self.lens[: self.complete] > 4))
        if not heads.size:
            return
        w = _rows(self.buf, self.starts[heads], _PREFIX_WINDOW)
        letter = ((w | 0x20) >= ord("a")) & ((w | 0x20) <= ord("z"))
        digit = (w >= ord("0")) & (w <= ord("9"))
        role = letter | (w == ord("_")) | (w == ord("-"))
        cols = np.arange(_PREFIX_WINDOW)
        role_end = np.where(role[:, 1:].all(axis=1), _PREFIX_WINDOW, np.argmin(role[:, 1:], axis=1) + 1)
        past = (cols[None, :] >= role_end[:, None]) & ~digit
        digit_end = np.where(past.any(axis=1), np.argmax(past, axis=1), _PREFIX_WINDOW)
        at = np.minimum(digit_end, _PREFIX_WINDOW - 3)
        pick = np.take_along_axis
        ok = ((letter[:, 1] | (w[:, 1] == ord("_"))) & (digit_end - role_end >= 1) & (digit_end - role_end <= 6)
              & (digit_end <= _PREFIX_WINDOW - 3)
              & (pick(w, at[:, None], 1)[:, 0] == ord("]")) & (pick(w, at[:, None] + 1, 1)[:, 0] == ord(":")))
        blank = pick(w, at[:, None] + 2, 1)[:, 0] == ord(" ")
        cut = at + 2 + blank
        after = pick(w, np.minimum(cut, _PREFIX_WINDOW - 1)[:, None], 1)[:, 0]
        ok &= (((after | 0x20) >= ord("a")) & ((after | 0x20) <= ord("z"))) & (cut < self.lens[heads])
        if not ok.any():
            return
        heads, cut, w, role_end, digit_end = heads[ok], cut[ok], w[ok], role_end[ok], digit_end[ok]
        ranks = np.zeros(heads.size, np.int64)
        for k in range(6):  # the rank's digits, most significant first, up to six
            col = role_end + k
            more = col < digit_end
            ranks = np.where(more, ranks * 10 + (pick(w, np.minimum(col, _PREFIX_WINDOW - 1)[:, None], 1)[:, 0] - 48),
                             ranks)
        self.starts, self.lens = self.starts.copy(), self.lens.copy()
        self.starts[heads] += cut
        self.lens[heads] -= cut
        self.prefix_rank = np.full(self.starts.size, -1, np.int64)
        self.prefix_rank[heads] = ranks

    def run(self) -> tuple[ColumnBatch, Unhandled]:
        segments = self._segments()
        if self.spec.documents is not None:
            for lo, hi, _ in segments:
                self._documents(self.spec.documents, lo, hi)
            return self._assemble()
        cand = np.concatenate([self._candidates(lo, hi) for lo, hi, _ in segments])
        self._omitting(segments, cand)
        for rows in _by_length(cand, self.lens[cand]) if cand.size else ():
            self._length_group(rows)
        return self._assemble()

    def _omitting(self, segments: list[tuple[int, int, frozenset[str]]], cand: np.ndarray) -> None:
        """What each candidate line's segment omits (`omits`, and `omit_class` where segments differ): the
        lines of every segment are grouped by shape in one pass, the omitted metrics taken out per row. A
        pass per segment cost each barrier line a grouping of its own (~1 ms: 155 `Peak FLOPS` lines of the
        benchmark's 1M-line noisy log read in 0.74 s CPU against 0.49 s without noise)."""
        self.omits = list(dict.fromkeys(omit for _, _, omit in segments))
        if len(self.omits) > 1:
            ids = np.array([self.omits.index(omit) for _, _, omit in segments], np.int8)
            at = np.searchsorted(np.array([lo for lo, _, _ in segments]), cand, side="right") - 1
            self.omit_class = np.zeros(self.starts.size, np.int8)
            self.omit_class[cand] = ids[at]

    def _segments(self) -> list[tuple[int, int, frozenset[str]]]:
        """Line ranges between barrier lines, with the metrics to omit in each."""
        out: list[tuple[int, int, frozenset[str]]] = []
        lo, omit = 0, self.omit
        end = min([self.complete, *self._lines_with(self.stop)[:1]])
        for b in self._lines_with(self.spec.barriers):
            if b >= end:
                break
            out.append((lo, b, omit))
            start = int(self.starts[b])
            after = _after_barrier(self.spec, self.data[start : start + int(self.lens[b])], omit)
            if after is None:  # unsure what the per-line parser makes of it: the rest goes per-line
                return out
            lo, omit = b + 1, after
        out.append((lo, end, omit))
        return out

    def _lines_with(self, texts: Collection[bytes]) -> list[int]:
        """Indices of the lines that contain any of `texts`, ascending."""
        texts = [t for t in texts if t]
        if not texts:
            return []
        pos = _occurrences(self.data, self.buf, texts)
        return sorted(set((np.searchsorted(self.line_starts, pos, side="right") - 1).tolist()))

    def _documents(self, reader: DocumentReader, lo: int, hi: int) -> None:
        """Lines in [lo, hi) that are one `{…}` of printable ASCII (as split, what `parse` gets is these very
        bytes), read by the format's document reader; its rows taken as a layout's are."""
        starts, lens = self.starts[lo:hi], self.lens[lo:hi]
        ok = (lens >= 2) & (lens <= _MAX_LINE)
        ok[ok] &= (self.buf[starts[ok]] == ord("{")) & (self.buf[starts[ok] + lens[ok] - 1] == ord("}"))
        cand = np.flatnonzero(ok) + lo
        if not cand.size:
            return
        s, e = self.starts[cand], self.starts[cand] + self.lens[cand]
        buf = self.buf
        odd = np.flatnonzero(((buf < 32) & (buf != 10)) | (buf > 126))  # what a split line may not keep as is
        if odd.size:
            plain = np.searchsorted(odd, s) == np.searchsorted(odd, e)
            cand, s, e = cand[plain], s[plain], e[plain]
        data = self.data
        for got in reader.read([data[a:b] for a, b in zip(s.tolist(), e.tolist(), strict=True)]):
            rows = cand[got.at]
            self._add(rows, got.step, got.total, got.metrics, got.t, self._prefixed(rows),
                      ~_overrun(got.step, got.total))

    def _candidates(self, lo: int, hi: int) -> np.ndarray:
        """Lines in [lo, hi) that start with the format's prefix (one 8-byte compare each), or for a learned
        format every line (its anchors are looked for once per line shape, in `_learned_layout`: a pass
        over every byte for each anchor cost a third of a Megatron chunk's time)."""
        prefix = self.spec.prefix
        lens = self.lens[lo:hi]
        if self.spec.learn is not None:
            return np.flatnonzero((lens >= 8) & (lens <= _MAX_LINE)) + lo
        cand = np.flatnonzero((lens >= max(8, len(prefix) + 1)) & (lens <= _MAX_LINE)) + lo
        mask = np.zeros(8, np.uint8)
        mask[: len(prefix)] = 0xFF
        want = np.zeros(8, np.uint8)
        want[: len(prefix)] = np.frombuffer(prefix, np.uint8)
        heads = _rows(self.buf, self.starts[cand], 8).view(np.uint64)[:, 0]
        hits: np.ndarray = cand[(heads & mask.view(np.uint64)[0]) == want.view(np.uint64)[0]]
        return hits

    def _length_group(self, rows: np.ndarray) -> None:
        """Rows of equal length: take out the rows of one layout after another.

        Most lengths hold one or two layouts, so each round compares the rows
        left with the first of them; what is left after `_ROUNDS` is grouped
        by a hash of its shape.
        """
        keep = self._anchored(rows)
        if keep is not None:
            rows = rows[keep]
            if not rows.size:
                return
        length = int(self.lens[rows[0]])
        words = _words(self.buf, self.starts[rows], length)
        for _ in range(_ROUNDS):
            taken = self._layout_group(rows, words, length)
            rows, words = rows[~taken], words[~taken]
            if not rows.size:
                return
        shapes = np.frombuffer(words.tobytes().translate(_DIGITS_TO_ZERO), np.uint64).reshape(words.shape)
        hashes = shapes @ _HASH[: words.shape[1]]
        ordered = np.sort(hashes)
        keep = self._anchored(rows, 1 + int(np.count_nonzero(ordered[1:] != ordered[:-1])))
        if keep is not None:
            rows, words, hashes = rows[keep], words[keep], hashes[keep]
        for part in groups(hashes) if rows.size else ():
            self._layout_group(rows[part], words[part], length)

    def _anchored(self, rows: np.ndarray, coming: int = 0) -> np.ndarray | None:
        """Which of `rows` hold one of a learned format's anchors, once this chunk has tried more than
        `_STRAYS` line shapes without one, of fewer than `_STRAY_ROWS` lines each on average (counting the
        `coming` shapes of `rows` about to be tried); None: try them all.

        A shape is tried for the price of a few passes over its rows: worth
        it for shapes of many lines (a run's other lines repeat), and for
        the step lines it saves searching every byte for the anchors. But a
        chunk of lines that all differ (ids, addresses, paths) would be tried
        line by line, at ten times the cost of reading them per line: such a
        chunk is searched for the anchors once (a pass over its bytes each)."""
        if self.anchor_lines is None:
            shapes = self.strays + coming
            lines = self.stray_rows + (rows.size if coming else 0)
            if self.spec.learn is None or not self.spec.anchors or shapes <= _STRAYS or lines >= _STRAY_ROWS * shapes:
                return None
            self.anchor_lines = np.zeros(self.starts.size, bool)
            self.anchor_lines[self._lines_with(self.spec.anchors)] = True
        keep: np.ndarray = self.anchor_lines[rows]
        return keep

    def _layout_group(self, rows: np.ndarray, words: np.ndarray, length: int) -> np.ndarray:
        """Parse the rows laid out exactly like the first one; return which rows that was.

        A row has the first row's layout when it has the same bytes wherever
        that row has no digit, and a digit wherever it has one: then the
        layout's plan reads it exactly as the per-line parser would.
        """
        first = words[0].tobytes()[:length]
        shape = first.translate(_DIGITS_TO_ZERO)
        layout = (_layout(self.spec, shape, words.shape[1]) if self.spec.learn is None
                  else _learned_layout(self.spec, first, shape, words.shape[1]))
        plan = layout.plan
        diff = np.bitwise_xor(words, words[0])
        np.bitwise_and(diff, layout.fixed, out=diff)
        other = diff.any(axis=1)
        if plan is None:  # not ours: its rows (and any with letters where it has digits) go per line
            same: np.ndarray = ~other
            self.strays += 1
            self.stray_rows += int(np.count_nonzero(same))
            return same
        idx = np.flatnonzero(~other) if other.any() else np.arange(rows.size)
        block = words.view(np.uint8)[idx] if idx.size < rows.size else words.view(np.uint8)
        digits = np.take(block, layout.digits, axis=1)
        if digits.size and (digits.min() < 48 or digits.max() > 57):
            good = (np.subtract(digits, 48, dtype=np.uint8) < 10).all(axis=1)
            idx, block, digits = idx[good], block[good], digits[good]
        taken = np.zeros(rows.size, bool)
        taken[idx] = True
        for cols, text in plan.literal:
            lit = block[:, cols] == text  # label digits (`bf16_`): the same shape with other digits is not ours
            if not lit.all():
                keep = lit.all(axis=1)
                idx, block, digits = idx[keep], block[keep], digits[keep]
        if not idx.size:
            return taken
        if self.omit_class is None:
            self._read(plan, rows[idx], digits, self.omits[0], taken, idx)
            return taken
        classes = self.omit_class[rows[idx]]
        for c in distinct(classes).tolist():
            mine = classes == c
            self._read(plan, rows[idx[mine]], digits[mine], self.omits[c], taken, idx[mine])
        return taken

    def _read(self, plan: Plan, rows: np.ndarray, digits: np.ndarray, omit: frozenset[str], taken: np.ndarray,
              idx: np.ndarray) -> None:
        """Rows of one layout whose segments omit `omit`, read from their digits; those the fast path cannot
        read exactly (`taken[idx]` made False) are left to the per-line path."""
        got = values(plan, digits, omit)
        step, total, found, times = got.step, got.total, got.metrics, got.times
        ranks = got.ranks if got.ranks is not None else self._prefixed(rows)
        bogus = got.inexact | _overrun(step, total)
        taken[idx[bogus]] = False
        self._add(rows, step, total, found, times, ranks, ~bogus)

    def _add(self, rows: np.ndarray, step: np.ndarray, total: np.ndarray, found: dict[str, np.ndarray],
             times: np.ndarray | None, ranks: np.ndarray | None, keep: np.ndarray) -> None:
        """A group's rows where `keep` holds, for `_assemble`."""
        if not keep.all():
            rows, step, total, found = rows[keep], step[keep], total[keep], {m: v[keep] for m, v in found.items()}
            times = times[keep] if times is not None else None
            ranks = ranks[keep] if ranks is not None else None
        if rows.size:
            self.found.append((rows, step, total, found, times, ranks))

    def _assemble(self) -> tuple[ColumnBatch, Unhandled]:
        """Scatter the groups' rows into line order; arrays come out read-only."""
        handled = np.zeros(self.starts.size, bool)
        for rows, *_ in self.found:
            handled[rows] = True
        stamped = any(found[4] is not None for found in self.found)
        t = np.zeros(int(handled.sum())) if stamped else None
        ranked = any(found[5] is not None for found in self.found)
        rank_col = np.full(int(handled.sum()), -1, np.int64) if ranked else None
        line = np.flatnonzero(handled)
        dest = np.cumsum(handled) - 1
        step = np.empty(line.size, np.int64)
        total = np.empty(line.size, np.int64)
        counts: dict[str, int] = {}
        for rows, _, _, vals, _, _ in self.found:
            for m in vals:
                counts[m] = counts.get(m, 0) + rows.size
        everywhere = np.ones(line.size, bool)
        metrics = {m: np.empty(line.size) if n == line.size else np.full(line.size, np.nan) for m, n in counts.items()}
        present = {m: everywhere if n == line.size else np.zeros(line.size, bool) for m, n in counts.items()}
        for rows, st, tot, vals, times, ranks in self.found:
            at = dest[rows]
            step[at], total[at] = st, tot
            if t is not None and times is not None:
                t[at] = times
            if rank_col is not None and ranks is not None:
                rank_col[at] = ranks
            for m, v in vals.items():
                metrics[m][at] = v
                if present[m] is not everywhere:
                    present[m][at] = True
        for a in (line, step, total, *metrics.values(), *present.values(), *(x for x in (t, rank_col) if x is not None)):
            a.flags.writeable = False
        rank = {m: i for i, m in enumerate(self.spec.order)}
        ordered = dict(sorted(metrics.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))
        batch = ColumnBatch(line=line, step=step, total=total, metrics=ordered,
                            present=present, kind=self.spec.kind, t=t, rank=rank_col)
        rest = np.flatnonzero(~handled)
        start = self.line_starts[rest]
        return batch, Unhandled(rest, start, start + self.line_lens[rest])


def _overrun(step: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Rows whose step is far past the total their line states (`step 999999999999/100`): `boundary.checked`'s
    call, so no step line after all."""
    return (total >= 0) & (step > OVERRUN * total)


def _occurrences(data: bytes, buf: np.ndarray, texts: Collection[bytes]) -> np.ndarray:
    """Start offsets of any of `texts` in `data`.

    `bytes.find` of a multi-byte needle runs at ~2 GB/s, but of one byte at
    memchr speed: each needle is found from one of its uppercase bytes (rare
    in step lines) while that byte is rare in the chunk, else by a vectorised
    compare for it.
    """
    found = [np.empty(0, np.int64)]
    for text in texts:
        anchors = [i for i, c in enumerate(text) if 65 <= c <= 90] or [0]
        for k in anchors:
            hits = _few(data, text[k : k + 1], _FEW)
            if hits is not None:
                found.append(np.array([h - k for h in hits if data.startswith(text, h - k) and h >= k], np.int64))
                break
        else:
            k = anchors[0]
            pos = np.flatnonzero(buf == text[k]) - k
            pos = pos[(pos >= 0) & (pos <= buf.size - len(text))]
            for j, c in enumerate(text):
                if j != k and pos.size:
                    pos = pos[buf[pos + j] == c]
            found.append(pos)
    return np.concatenate(found)


def _few(data: bytes, byte: bytes, limit: int) -> list[int] | None:
    """Offsets of `byte` in `data`, or None when there are more than `limit`."""
    hits: list[int] = []
    pos = data.find(byte)
    while pos >= 0:
        if len(hits) == limit:
            return None
        hits.append(pos)
        pos = data.find(byte, pos + 1)
    return hits


def _after_barrier(spec: FastFormat, raw: bytes, omit: frozenset[str]) -> frozenset[str] | None:
    """The metrics to omit after this barrier line, or None when that is not certain.

    Only printable ASCII plus colour codes (`ESC[33m`, which the line splitter
    removes) is read: other escapes or `\\r` could make the per-line path see
    other text. The launcher prefix is removed as the per-line pipeline does.
    """
    if spec.barrier_rule is None or len(raw) > _MAX_LINE or not raw.isascii():
        return None
    text = _SGR.sub(b"", raw).decode("ascii")
    if not text.isprintable():
        return None
    return spec.barrier_rule(split_rank(text)[1], omit)


def _by_length(cand: np.ndarray, lens: np.ndarray) -> list[np.ndarray]:
    """Candidate line indices split into groups of equal line length."""
    return [cand[g] for g in groups(lens.astype(np.uint16))]


def _rows(buf: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """`width` bytes from each start as a (rows, width) uint8 array: one memcpy per row.

    Rows running past the end of `buf` (the chunk's last line, when `width`
    is rounded up to whole words) are zero-padded.
    """
    inside = buf.size - width + 1
    view = np.ndarray(buffer=buf, dtype=f"S{width}", shape=(max(inside, 0),), strides=(1,))
    over = np.flatnonzero(starts >= inside)
    if not over.size:
        rows: np.ndarray = view[starts].view(np.uint8).reshape(starts.size, width)
        return rows
    out = np.zeros((starts.size, width), np.uint8)
    ok = starts < inside
    out[ok] = view[starts[ok]].view(np.uint8).reshape(-1, width)
    for i in over.tolist():
        tail = buf[int(starts[i]) :]
        out[i, : tail.size] = tail
    return out


def _words(buf: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Each line as uint64 words, the bytes past the line's end zeroed."""
    nwords = (length + 7) // 8
    words = _rows(buf, starts, nwords * 8).view(np.uint64).reshape(starts.size, nwords)
    tail = length - (nwords - 1) * 8
    if tail < 8:
        words[:, -1] &= _byte_mask(np.arange(8) < tail)
    return words


def _byte_mask(keep: np.ndarray) -> np.ndarray:
    """uint64 words with 0xFF in the bytes where `keep` is true (its length a multiple of 8)."""
    return np.where(keep, 0xFF, 0).astype(np.uint8).view(np.uint64)


@dataclass(frozen=True, slots=True, eq=False)
class _Layout:
    """One line shape: where its digits are, and how to read it (None: not a step line we can vouch for)."""

    fixed: np.ndarray
    """uint64 words, 0xFF in the bytes that are not digits: those must equal the first row's."""
    digits: np.ndarray
    """Columns of the digits, in line order."""
    plan: Plan | None


@lru_cache(maxsize=4096)
def _layout(spec: FastFormat, shape: bytes, nwords: int) -> _Layout:
    fixed, digits = _digit_columns(shape, nwords)
    return _Layout(fixed, digits, _plan(spec, shape, digits))


def _digit_columns(shape: bytes, nwords: int) -> tuple[np.ndarray, np.ndarray]:
    """A shape's mask of the bytes that are no digit (as uint64 words) and its digit columns."""
    codes = np.frombuffer(shape.ljust(nwords * 8, b"\0"), np.uint8)
    return _byte_mask(codes != 48), np.flatnonzero(codes == 48)


def _plan(spec: FastFormat, shape: bytes, digit_cols: np.ndarray) -> Plan | None:
    """How to read lines of this shape, or None when the format's layout does not fit it exactly."""
    m = spec.layout.fullmatch(shape)
    if m is None:
        return None
    ints = Integers(digit_cols.size)
    counters: dict[str, int] = {}
    fields: list[Field] = []
    groups = m.groupdict()
    for group in ("step", "total", *spec.metrics):
        if groups.get(group) is None:
            continue
        lo, hi = m.span(group)
        first, last = (int(i) for i in np.searchsorted(digit_cols, [lo, hi]))
        if last - first > MAX_DIGITS:
            return None
        if group in spec.metrics:
            metric, scale = spec.metrics[group]
            fields.append(Field.of(metric, scale, shape[lo:hi], first, last, ints))
        else:
            counters[group] = ints.add(first, last)
    literal = tuple(
        (np.arange(*m.span(g)), np.frombuffer(text, np.uint8))
        for g, text in spec.literal.items() if groups.get(g) is not None
    )
    return Plan(ints.build(), counters["step"], counters.get("total", -1), tuple(fields), literal)


_LEARNED: dict[tuple[str, bytes, int], _Layout] = {}
"""Learned layouts by (format, shape, words): each shape is learned once per process."""
_MAX_LEARNED = 4096


def _learned_layout(spec: FastFormat, first: bytes, shape: bytes, nwords: int) -> _Layout:
    """The layout of a learned format's line shape, learned from `first`, a line of that shape.

    Only a shape holding one of the format's anchors is learned and kept (an
    anchor holds no digit, so every line of the shape holds it too): other
    lines, which may come in endless shapes (ids, paths), would evict the step
    lines' layouts from the bounded store."""
    key = (spec.name, shape, nwords)
    found = _LEARNED.get(key)
    if found is None:
        fixed, digits = _digit_columns(shape, nwords)
        if spec.anchors and not any(a in first for a in spec.anchors):
            return _Layout(fixed, digits, None)
        if len(_LEARNED) >= _MAX_LEARNED:
            _LEARNED.clear()
        found = _LEARNED[key] = _Layout(fixed, digits, _learned_plan(spec, first, shape, digits))
    return found


def _learned_plan(spec: FastFormat, first: bytes, shape: bytes, digit_cols: np.ndarray) -> Plan | None:
    """How to read lines of `first`'s shape as the parser read `first`, or None (then they go per line).

    Only printable UTF-8 (tabs too) with ASCII digits alone is learned: the per-line path
    sees such a line as it is (DeepSpeed's step line behind the tqdm bar it
    followed, `█` and all), and its other lines differ from it in ASCII digits
    only. The plan must read `first` itself into the parser's own record, and
    `first` must be no event to the crash detector (step rows skip it)."""
    assert spec.learn is not None
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not printable(text) or ascii_digits(text) != text:
        return None
    events = EventDetector()
    if events.feed(split_rank(text)[1]) is not None or not events.idle:
        return None
    learned = spec.learn(text)
    if learned is None:
        return None
    if not first.isascii():
        learned = _in_bytes(learned, text)
    return _checked_plan(learned, first, shape, digit_cols)


def _checked_plan(learned: LearnedLine, first: bytes, shape: bytes, digit_cols: np.ndarray) -> Plan | None:
    """The plan of a learned line's spans over its shape's digit columns, if it reads `first` into the very
    record the parser gave."""
    ints = Integers(digit_cols.size)
    fields: list[Field] = []
    stamp = None
    constants = tuple((s.name, s.constant) for s in learned.spans if s.constant is not None)
    counted = []
    special = {STEP: -1, TOTAL: -1, RANK: -1}
    for span in learned.counted:
        first_col, last_col = (int(i) for i in np.searchsorted(digit_cols, [span.lo, span.hi]))
        if last_col == first_col or last_col - first_col > MAX_DIGITS or not first[span.lo:span.hi].isdigit():
            return None
        counted.append((span.name, ints.add(first_col, last_col)))
    for span in learned.spans:
        if span.constant is not None:
            continue
        first_col, last_col = (int(i) for i in np.searchsorted(digit_cols, [span.lo, span.hi]))
        if span.name == TIME:
            frac = last_col - first_col - 14
            if frac < 0 or frac > 6:
                return None
            stamp = Stamp.at(first_col, frac, ints)
        elif span.name in special:
            if last_col == first_col or last_col - first_col > MAX_DIGITS or not first[span.lo:span.hi].isdigit():
                return None
            special[span.name] = ints.add(first_col, last_col)
        elif last_col == first_col:
            return None
        else:
            fields.append(Field.of(span.name, span.scale, shape[span.lo:span.hi], first_col, last_col, ints))
    if special[STEP] < 0 and learned.counters is None:
        return None
    literal = tuple((np.arange(lo, hi), np.frombuffer(first[lo:hi], np.uint8)) for lo, hi in learned.literals)
    plan = Plan(ints.build(), special[STEP], special[TOTAL], tuple(fields), literal, stamp, special[RANK], constants,
                tuple(counted), learned.counters)
    row = np.frombuffer(first, np.uint8)[digit_cols[None, :]] if digit_cols.size else np.zeros((1, 0), np.uint8)
    cols = values(plan, row, frozenset())
    rec = learned.record
    same = (
        not cols.inexact[0] and (None if cols.ranks is None else int(cols.ranks[0])) == rec.rank
        and int(cols.step[0]) == rec.step and (int(cols.total[0]) if cols.total[0] >= 0 else None) == rec.total_steps
        and (float(cols.times[0]) if cols.times is not None else 0.0) == rec.t and set(cols.metrics) == set(rec.metrics)
        and all(_bits(float(v[0])) == _bits(rec.metrics[m]) for m, v in cols.metrics.items())
    )
    return plan if same else None


def _in_bytes(learned: LearnedLine, text: str) -> LearnedLine:
    """`learned`, whose positions count the characters of `text`, with positions in its UTF-8 bytes."""
    at = [0, *accumulate(len(c.encode()) for c in text)]
    return replace(learned, spans=tuple(replace(s, lo=at[s.lo], hi=at[s.hi]) for s in learned.spans),
                   literals=tuple((at[lo], at[hi]) for lo, hi in learned.literals),
                   counted=tuple(replace(s, lo=at[s.lo], hi=at[s.hi]) for s in learned.counted))


def _bits(v: float) -> bytes:
    return np.float64(v).tobytes()
