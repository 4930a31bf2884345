"""Columnar fast path: the step lines of a whole chunk → numpy columns, no object per value.

A per-line parser spends its time on Python objects (a str per field, a float
per value, a dict and a Record per line) and tops out near 0.25 M lines/s.
Here a chunk of complete lines is one byte buffer:

1. newline positions and a vectorised prefix test pick the candidate lines,
   which are grouped by length and copied out as rows of uint64 words;
2. a line's *shape* is the line with every digit turned into `0`: lines that
   one format string printed with equally wide numbers share it. Each round
   takes the rows whose bytes equal the first row's wherever that row has no
   digit, and that hold digits wherever it has one: exactly the rows of its
   shape. Lengths rarely hold more than two shapes; what is left after a few
   rounds is grouped by a hash of the shapes (`bytes.translate`);
3. the format's layout pattern is matched once per shape, giving each field's
   digit columns; the numbers are then digit arithmetic on those columns (a
   small matrix-vector product per field), all in C. A format with no
   template (Megatron, DeepSpeed, torchtitan, kv) has its layout per shape
   learned from its own parser instead (runwatch.parsers.learned); such lines
   may state a local time and a rank, which become columns too.

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

import numpy as np

from runwatch.model import Kind, Record
from runwatch.parsers.base import FormatParser, StepLineParser
from runwatch.parsers.boundary import OVERRUN
from runwatch.parsers.events import EventDetector
from runwatch.parsers.fields import local_seconds
from runwatch.parsers.learned import RANK, STEP, TIME, TOTAL, Counters, LearnedLine, learn
from runwatch.parsers.prefix import split_rank
from runwatch.parsers.registry import UnknownFormatError, parser_class

_DIGITS_TO_ZERO = bytes(48 if 48 <= c <= 57 else c for c in range(256))
_SGR = re.compile(rb"\x1b\[[0-9;]*m")
_MAX_DIGITS = 15
"""Digits per number: 10**15 < 2**53, so the integer of the digits is exact in float64."""
_MAX_LINE = 4096
"""Longer candidates go the per-line way; no step line is this long."""
_SUB_ROWS = 2048
_ROUNDS = 4
"""Layouts taken out of a length group one by one before hashing the rest."""
_FEW = 64
"""Anchor bytes found one by one up to this many per chunk, by a vectorised compare beyond."""
_PREFIX_WINDOW = 32
"""Bytes of a line's head looked at for a launcher's `[role N]:` prefix."""
_HASH = np.random.default_rng(0x5EED).integers(0, 2**63, _MAX_LINE // 8 + 1, dtype=np.uint64) * 2 + 1


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

    def take(self, keep: np.ndarray) -> ColumnBatch:
        """The rows where `keep` (a bool mask) holds, every column of them: the one place a batch is cut, so
        no column is left behind (its times and ranks once were, and `runwatch check` failed on the batch)."""
        return replace(self, line=self.line[keep], step=self.step[keep], total=self.total[keep],
                       metrics={m: v[keep] for m, v in self.metrics.items()},
                       present={m: v[keep] for m, v in self.present.items()},
                       t=None if self.t is None else self.t[keep], rank=None if self.rank is None else self.rank[keep])

    def column(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(line, value) of the rows that carry metric `name`."""
        mask = self.present[name]
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
    learn: Callable[[str], LearnedLine | None] | None = None
    """A layout per line shape, learned from the format's own parser (runwatch.parsers.learned), for a
    format without a template; `layout` then matches nothing and `anchors` pick the candidate lines."""
    anchors: tuple[bytes, ...] = ()
    """Texts one of which every step line of a learned format holds (none: every line is a candidate)."""

    @classmethod
    def of(cls, parser: type[StepLineParser]) -> FastFormat:
        line = parser.step_line
        return cls(name=parser.name, prefix=line.prefix[:8], layout=line.shape, metrics=line.groups,
                   literal=line.literals, barriers=parser.barriers,
                   barrier_rule=parser.barrier if parser.barriers else None, order=line.metrics)

    @classmethod
    def learned(cls, parser: type[FormatParser], anchors: tuple[bytes, ...]) -> FastFormat:
        """A stateless format's fast path: each line shape read as the parser reads an example of it."""
        parse, counters = parser().parse, parser.learn_counters
        return cls(name=parser.name, prefix=b"", layout=_NOTHING, metrics={},
                   learn=lambda text: learn(parse, text, counters), anchors=anchors)


_NOTHING = re.compile(rb"(?!)")


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
        for lo, hi, omit in self._segments():
            cand = self._candidates(lo, hi)
            for rows in _by_length(cand, self.lens[cand]) if cand.size else ():
                self._length_group(rows, omit)
        return self._assemble()

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

    def _candidates(self, lo: int, hi: int) -> np.ndarray:
        """Lines in [lo, hi) that start with the format's prefix (one 8-byte compare each), or for a learned
        format hold one of its anchors."""
        prefix = self.spec.prefix
        lens = self.lens[lo:hi]
        if self.spec.learn is not None:
            fit = (lens >= 8) & (lens <= _MAX_LINE)
            if self.spec.anchors:
                at = np.array(self._lines_with(self.spec.anchors), np.int64)
                at = at[(at >= lo) & (at < hi)]
                return at[fit[at - lo]]
            return np.flatnonzero(fit) + lo
        cand = np.flatnonzero((lens >= max(8, len(prefix) + 1)) & (lens <= _MAX_LINE)) + lo
        mask = np.zeros(8, np.uint8)
        mask[: len(prefix)] = 0xFF
        want = np.zeros(8, np.uint8)
        want[: len(prefix)] = np.frombuffer(prefix, np.uint8)
        heads = _rows(self.buf, self.starts[cand], 8).view(np.uint64)[:, 0]
        hits: np.ndarray = cand[(heads & mask.view(np.uint64)[0]) == want.view(np.uint64)[0]]
        return hits

    def _length_group(self, rows: np.ndarray, omit: frozenset[str]) -> None:
        """Rows of equal length: take out the rows of one layout after another.

        Most lengths hold one or two layouts, so each round compares the rows
        left with the first of them; what is left after `_ROUNDS` is grouped
        by a hash of its shape.
        """
        length = int(self.lens[rows[0]])
        words = _words(self.buf, self.starts[rows], length)
        for _ in range(_ROUNDS):
            taken = self._layout_group(rows, words, length, omit)
            rows, words = rows[~taken], words[~taken]
            if not rows.size:
                return
        shapes = np.frombuffer(words.tobytes().translate(_DIGITS_TO_ZERO), np.uint64).reshape(words.shape)
        for part in _groups(shapes @ _HASH[: words.shape[1]]):
            self._layout_group(rows[part], words[part], length, omit)

    def _layout_group(self, rows: np.ndarray, words: np.ndarray, length: int, omit: frozenset[str]) -> np.ndarray:
        """Parse the rows laid out exactly like the first one; return which rows that was.

        A row has the first row's layout when it has the same bytes wherever
        that row has no digit, and a digit wherever it has one: then the
        layout's plan reads it exactly as the per-line parser would.
        """
        first = words[0].tobytes()[:length]
        shape = first.translate(_DIGITS_TO_ZERO)
        layout = (_layout(self.spec, shape, words.shape[1]) if self.spec.learn is None
                  else _learned_layout(self.spec, first, shape, words.shape[1]))
        diff = np.bitwise_xor(words, words[0])
        np.bitwise_and(diff, layout.fixed, out=diff)
        idx = np.arange(rows.size) if not diff.any() else np.flatnonzero(~diff.any(axis=1))
        block = words.view(np.uint8)[idx] if idx.size < rows.size else words.view(np.uint8)
        digits = np.take(block, layout.digits, axis=1)
        if digits.size and (digits.min() < 48 or digits.max() > 57):
            good = (np.subtract(digits, 48, dtype=np.uint8) < 10).all(axis=1)
            idx, block, digits = idx[good], block[good], digits[good]
        taken = np.zeros(rows.size, bool)
        taken[idx] = True
        plan = layout.plan
        for cols, text in plan.literal if plan is not None else ():
            lit = block[:, cols] == text  # label digits (`bf16_`): the same shape with other digits is not ours
            if not lit.all():
                keep = lit.all(axis=1)
                idx, block, digits = idx[keep], block[keep], digits[keep]
        if plan is not None and idx.size:
            step, total, values, inexact, times = _values(plan, digits, omit)
            ranks = (_integer(digits.T.astype(np.float64), plan.rank).astype(np.int64) if plan.rank
                     else self._prefixed(rows[idx]))
            bogus = inexact | ((total >= 0) & (step > OVERRUN * total))  # `step 999999999999/100`: boundary.checked's call
            if bogus.any():
                taken[idx[bogus]] = False
                keep = ~bogus
                idx, step, total, values = idx[keep], step[keep], total[keep], {m: v[keep] for m, v in values.items()}
                times = times[keep] if times is not None else None
                ranks = ranks[keep] if ranks is not None else None
            if idx.size:
                self.found.append((rows[idx], step, total, values, times, ranks))
        return taken

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
    return [cand[g] for g in _groups(lens.astype(np.uint16))]


def _groups(keys: np.ndarray) -> list[np.ndarray]:
    """Positions of equal keys, each group ascending (np.unique would import numpy.ma: 70 ms)."""
    order = np.argsort(keys, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(keys[order])) + 1)


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
class _Field:
    """One number of a layout: its digits among the layout's digit columns, and its conversion."""

    metric: str
    lo: int
    hi: int
    weights: np.ndarray
    """Powers of ten of the digits, most significant first."""
    bias: float
    """What the weights make of the digits' `0` offset (48 per digit): subtracted after."""
    divisor: float
    """10**decimals: exact, like the integer of the digits, so their quotient is float(text)."""
    scale: float
    sign: float = 1.0
    """-1.0 for a number printed with `-` (a shape holds its sign, so one layout has one)."""
    exponent: _Field | None = None
    """The digits after `e±`, for scientific notation (`divisor` then counts the mantissa's decimals)."""
    exp_sign: int = 1
    decimals: int = 0
    """log10 of `divisor`: the power of ten the exponent is offset by."""
    text: bytes | None = None
    """For a number of more digits than float64 holds exactly (Python's repr of a float: `83.48609168106144`):
    its shape; the value is then float() of the text rebuilt from digit columns lo..hi into it, as the
    per-line parser reads it (a few hundred ns a value instead of a line's parse)."""


@dataclass(frozen=True, slots=True, eq=False)
class _Plan:
    """How to read one layout: the fields (over the layout's digit columns) and the label digits to check."""

    step: _Field | None
    """None when `counters` computes it."""
    total: _Field | None
    fields: tuple[_Field, ...]
    literal: tuple[tuple[np.ndarray, np.ndarray], ...]
    time: _Stamp | None = None
    rank: _Field | None = None
    constants: tuple[tuple[str, float], ...] = ()
    """Metrics every row of the layout prints as the same word (`grad norm: nan`), with their value."""
    counted: tuple[_Field, ...] = ()
    """The integers `counters` reads (each field's `metric` is its name there)."""
    counters: Counters | None = None


@dataclass(frozen=True, slots=True, eq=False)
class _Stamp:
    """A local `YYYY-MM-DD HH:MM:SS[.f…]`: its 14 digits (and `frac` more) from digit column `lo` on."""

    lo: int
    frac: int


@dataclass(frozen=True, slots=True, eq=False)
class _Layout:
    """One line shape: where its digits are, and how to read it (None: not a step line we can vouch for)."""

    fixed: np.ndarray
    """uint64 words, 0xFF in the bytes that are not digits: those must equal the first row's."""
    digits: np.ndarray
    """Columns of the digits, in line order."""
    plan: _Plan | None


@lru_cache(maxsize=4096)
def _layout(spec: FastFormat, shape: bytes, nwords: int) -> _Layout:
    fixed, digits = _digit_columns(shape, nwords)
    return _Layout(fixed, digits, _plan(spec, shape, digits))


def _digit_columns(shape: bytes, nwords: int) -> tuple[np.ndarray, np.ndarray]:
    """A shape's mask of the bytes that are no digit (as uint64 words) and its digit columns."""
    codes = np.frombuffer(shape.ljust(nwords * 8, b"\0"), np.uint8)
    return _byte_mask(codes != 48), np.flatnonzero(codes == 48)


def _plan(spec: FastFormat, shape: bytes, digit_cols: np.ndarray) -> _Plan | None:
    """How to read lines of this shape, or None when the format's layout does not fit it exactly."""
    m = spec.layout.fullmatch(shape)
    if m is None:
        return None
    fields: dict[str, _Field] = {}
    groups = m.groupdict()
    for group in ("step", "total", *spec.metrics):
        if groups.get(group) is None:
            continue
        lo, hi = m.span(group)
        first, last = np.searchsorted(digit_cols, [lo, hi])
        if last - first > _MAX_DIGITS:
            return None
        metric, scale = spec.metrics.get(group, (group, 1.0))
        fields[group] = _field(metric, scale, shape[lo:hi], int(first), int(last))
    literal = tuple(
        (np.arange(*m.span(g)), np.frombuffer(text, np.uint8))
        for g, text in spec.literal.items() if groups.get(g) is not None
    )
    step, total = fields.pop("step"), fields.pop("total", None)
    return _Plan(step, total, tuple(fields.values()), literal)


def _field(metric: str, scale: float, text: bytes, lo: int, hi: int) -> _Field:
    """A field of `text` (its shape: `0` digits, maybe a sign and `e±` exponent) at digit columns lo..hi;
    one of more digits than float64 holds exactly is read by float() (a learned layout's: see `_Field.text`)."""
    if hi - lo > _MAX_DIGITS:
        return _Field(metric, lo, hi, np.zeros(0), 0.0, 1.0, scale, text=text)
    sign = -1.0 if text[:1] == b"-" else 1.0
    e = max(text.find(b"e"), text.find(b"E"))
    mantissa, exponent = (text, b"") if e < 0 else (text[:e], text[e + 1:])
    split = lo + mantissa.count(b"0")
    dot = mantissa.find(b".")
    decimals = 0 if dot < 0 else len(mantissa) - dot - 1
    weights = 10.0 ** np.arange(split - lo - 1, -1, -1)
    exp = None
    if exponent:
        ew = 10.0 ** np.arange(hi - split - 1, -1, -1)
        exp = _Field(metric, split, hi, ew, 48.0 * float(ew.sum()), 1.0, 1.0)
    return _Field(metric, lo, split, weights, 48.0 * float(weights.sum()), 10.0**decimals, scale, sign, exp,
                  -1 if exponent[:1] == b"-" else 1, decimals)


_POW10 = np.array([float(10**k) for k in range(23)])
"""10**0 … 10**22: exact in float64, so m × 10**k and m / 10**k are one correctly rounded operation."""


def _values(
    plan: _Plan, digits: np.ndarray, omit: frozenset[str]
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray | None]:
    """Step, total and metric columns from the digit bytes (rows × digit columns) of one layout, which
    rows hold a number this path cannot give exactly (an exponent beyond ±22 decimals, a date that is
    no real local time), and the times the rows state (None: the layout states none).

    Digits are converted `_SUB_ROWS` rows at a time so that their float64 copy
    (8 bytes per digit) stays in the CPU cache instead of going to memory.
    """
    k = digits.shape[0]
    fields = [f for f in plan.fields if f.metric not in omit]
    step = np.empty(k, np.int64)
    total = np.full(k, -1, np.int64)
    vals = np.empty((len(fields), k))
    inexact = np.zeros(k, bool)
    times = np.empty(k) if plan.time is not None else None
    counted = np.empty((len(plan.counted), k), np.int64)
    for lo in range(0, k, _SUB_ROWS):
        hi = min(k, lo + _SUB_ROWS)
        sub = digits[lo:hi].T.astype(np.float64, order="C")  # a row per digit column
        if plan.step is not None:
            step[lo:hi] = _integer(sub, plan.step)
        for i, f in enumerate(plan.counted):
            counted[i, lo:hi] = _integer(sub, f)
        if times is not None and plan.time is not None:
            times[lo:hi], bad = _times(sub, plan.time)
            inexact[lo:hi] |= bad
        if plan.total is not None:
            total[lo:hi] = _integer(sub, plan.total)
        for i, f in enumerate(fields):
            if f.text is not None:
                vals[i, lo:hi] = _by_text(digits[lo:hi, f.lo : f.hi], f.text)
                continue
            if f.exponent is None:
                vals[i, lo:hi] = _integer(sub, f) / f.divisor
                continue
            power = f.exp_sign * _integer(sub, f.exponent).astype(np.int64) - f.decimals
            inexact[lo:hi] |= np.abs(power) >= _POW10.size
            power = np.clip(power, 1 - _POW10.size, _POW10.size - 1)
            m = _integer(sub, f)
            vals[i, lo:hi] = np.where(power >= 0, m * _POW10[np.maximum(power, 0)], m / _POW10[np.maximum(-power, 0)])
    out = {}
    for i, f in enumerate(fields):
        v = vals[i] if f.sign > 0 else -vals[i]
        out[f.metric] = _scaled(v, f.scale)
    for metric, value in plan.constants:
        if metric not in omit:
            out[metric] = np.full(k, value)
    if plan.counters is not None:  # the format's own computation, over columns (runwatch.parsers.learned.Counters)
        inexact |= (counted >= 2**31).any(axis=0)  # products of such would overflow int64, not Python's ints
        got_step, got_total, derived, ok = plan.counters.read({f.metric: counted[i] for i, f in enumerate(plan.counted)})
        step[:] = got_step
        if got_total is not None:
            total[:] = got_total
        out.update((m, np.asarray(v, np.float64)) for m, v in derived.items() if m not in omit)
        inexact |= ~np.asarray(ok, bool)  # no step for the per-line parser either: it reads them
    return step, total, out, inexact, times


def _times(sub: np.ndarray, stamp: _Stamp) -> tuple[np.ndarray, np.ndarray]:
    """Unix seconds of local stamps (digit columns × rows, as `_values` has them), and which rows are no
    real time (left to the per-line parser, which reads no record from them).

    As runwatch.parsers.fields.local_time reads one: the local start of the
    stamp's minute (one datetime per distinct minute, checked to have one UTC
    offset throughout), its seconds added, then the fraction's digits over
    their power of ten; each an exact or one correctly rounded operation, so
    the same float.
    """
    d = sub[stamp.lo : stamp.lo + 14 + stamp.frac] - 48.0

    def num(a: int, b: int) -> np.ndarray:
        part: np.ndarray = 10.0 ** np.arange(b - a - 1, -1, -1) @ d[a:b]
        return part

    minute = num(0, 12)  # YYYYMMDDhhmm: below 2**53, exact
    seconds = num(12, 14)
    t = np.empty(seconds.size)
    bad = seconds > 59
    for group in _groups(minute):
        start = _minute_start(int(minute[group[0]]))
        if start is None:
            bad[group] = True
        else:
            t[group] = start + seconds[group]
    if stamp.frac:
        t = t + num(14, 14 + stamp.frac) / 10.0**stamp.frac
    return t, bad


@lru_cache(maxsize=4096)
def _minute_start(minute: int) -> float | None:
    """Unix seconds of the local minute YYYYMMDDhhmm, None if it is no real time or its UTC offset changes
    within it (then each second of it is left to the per-line parser)."""
    text = str(minute).zfill(12)
    stamp = f"{text[0:4]}-{text[4:6]}-{text[6:8]} {text[8:10]}:{text[10:12]}:"
    try:
        start = local_seconds(stamp + "00")
        if local_seconds(stamp + "59") != start + 59:
            return None
    except ValueError:
        return None
    return start


_LEARNED: dict[tuple[str, bytes, int], _Layout] = {}
"""Learned layouts by (format, shape, words): each shape is learned once per process."""
_MAX_LEARNED = 4096


def _learned_layout(spec: FastFormat, first: bytes, shape: bytes, nwords: int) -> _Layout:
    """The layout of a learned format's line shape, learned from `first`, a line of that shape."""
    key = (spec.name, shape, nwords)
    found = _LEARNED.get(key)
    if found is None:
        if len(_LEARNED) >= _MAX_LEARNED:
            _LEARNED.clear()
        fixed, digits = _digit_columns(shape, nwords)
        found = _LEARNED[key] = _Layout(fixed, digits, _learned_plan(spec, first, shape, digits))
    return found


def _learned_plan(spec: FastFormat, first: bytes, shape: bytes, digit_cols: np.ndarray) -> _Plan | None:
    """How to read lines of `first`'s shape as the parser read `first`, or None (then they go per line).

    Only printable ASCII with no rank prefix is learned: the per-line path
    sees such a line as it is. The plan must read `first` itself into the
    parser's own record, and `first` must be no event to the crash detector
    (step rows skip it)."""
    assert spec.learn is not None
    if not first.isascii():
        return None
    text = first.decode("ascii")
    if not text.isprintable():
        return None
    events = EventDetector()
    if events.feed(split_rank(text)[1]) is not None or not events.idle:
        return None
    learned = spec.learn(text)
    if learned is None:
        return None
    fields: dict[str, _Field] = {}
    stamp = None
    constants = tuple((s.name, s.constant) for s in learned.spans if s.constant is not None)
    counted = []
    for span in learned.counted:
        first_col, last_col = (int(i) for i in np.searchsorted(digit_cols, [span.lo, span.hi]))
        if last_col == first_col or last_col - first_col > _MAX_DIGITS or not first[span.lo:span.hi].isdigit():
            return None
        counted.append(_field(span.name, 1.0, shape[span.lo:span.hi], first_col, last_col))
    for span in learned.spans:
        if span.constant is not None:
            continue
        first_col, last_col = (int(i) for i in np.searchsorted(digit_cols, [span.lo, span.hi]))
        if span.name == TIME:
            frac = last_col - first_col - 14
            if frac < 0 or frac > 6:
                return None
            stamp = _Stamp(first_col, frac)
            continue
        if last_col == first_col or (last_col - first_col > _MAX_DIGITS and span.name in (STEP, TOTAL, RANK)):
            return None
        fields[span.name] = _field(span.name, span.scale, shape[span.lo:span.hi], first_col, last_col)
    literal = tuple((np.arange(lo, hi), np.frombuffer(first[lo:hi], np.uint8)) for lo, hi in learned.literals)
    plan = _Plan(fields.pop(STEP, None), fields.pop(TOTAL, None), tuple(f for n, f in fields.items() if n != RANK),
                 literal, stamp, fields.get(RANK), constants, tuple(counted), learned.counters)
    if plan.step is None and plan.counters is None:
        return None
    row = np.frombuffer(first, np.uint8)[digit_cols[None, :]] if digit_cols.size else np.zeros((1, 0), np.uint8)
    step, total, values, inexact, times = _values(plan, row, frozenset())
    rec = learned.record
    rank = int(_integer(row.T.astype(np.float64), plan.rank)[0]) if plan.rank else None
    same = (
        not inexact[0] and rank == rec.rank and int(step[0]) == rec.step and (int(total[0]) if total[0] >= 0 else None) == rec.total_steps
        and (float(times[0]) if times is not None else 0.0) == rec.t
        and set(values) == set(rec.metrics) and all(_bits(float(v[0])) == _bits(rec.metrics[m]) for m, v in values.items())
    )
    return plan if same else None


def _bits(v: float) -> bytes:
    return np.float64(v).tobytes()


def _by_text(digits: np.ndarray, shape: bytes) -> np.ndarray:
    """float() of each row's number: its digit bytes (rows × digits) put back into the number's shape."""
    template = np.frombuffer(shape, np.uint8)
    rows = np.tile(template, (digits.shape[0], 1))
    rows[:, template == 48] = digits
    texts = rows.view(f"S{len(shape)}").ravel().tolist()
    if b"," in shape:  # thousands separators, as the parsers read them
        texts = [t.replace(b",", b"") for t in texts]
    return np.array([float(t) for t in texts], np.float64)


def _integer(digits: np.ndarray, f: _Field) -> np.ndarray:
    """The integers the field's digit columns spell (exact: every partial sum is below 2**53)."""
    values: np.ndarray = f.weights @ digits[f.lo : f.hi] - f.bias
    return values


def _scaled(v: np.ndarray, scale: float) -> np.ndarray:
    if scale > 0:
        return v if scale == 1.0 else v * scale
    return v / -scale
