"""A step line's layout learned from its own parser: keyed formats on the columnar fast path.

Megatron, DeepSpeed, torchtitan and the generic `key=value` lines have no
fixed template: keys vary by fork, version and run. But within one run the
lines of one *shape* (the line with its digits turned into `0`) are printed
by one format string, so they are read alike. Rather than describe such a
format a second time for the fast path, the fast path asks the format's
parser, the one description there is, what each number of an example line
means: it changes that number's digits (keeping its width, so the shape
stays), parses the changed line, and looks at what moved. (The other widths
of the same format string take what was learned here, checked:
runwatch.parsers.layouts.)

- nothing moved: the digits are not read (a percent in brackets, a rank in a
  logger name) and may be anything;
- only the step, only the total, or only one metric moved, always by the
  value the new digits spell (times a fixed factor, as the parser converts
  `ms` to seconds): the number is that field;
- the record's structure changed (another key, no record): the digits are
  part of a label (`grad_norm:p2`) and must be those of the example;
- anything else (a value moved by some other rule, two fields moved): the
  shape is not learned, and its lines stay with the parser.

A local date and time (`2024-05-01 12:00:00.123`) is one field, the record's
time, when changing its seconds and fraction moves the time by what
`fields.local_time` makes of them. Each learned layout is then checked once
more by runwatch.parsers.columnar: its column reading of the example line
must give the very record the parser gave.

A format whose step and total are computed from several integers of the
line (the tutorial loop's `Epoch [3/5], Step [50/120]`: step
`(3 - 1) * 120 + 50`, total `5 * 120`) describes that computation once, as
`Counters`: its per-line parser reads with it, and the learner takes the
integers it names as columns (not probed) and the same computation over them.

Only a parser that keeps no state between lines may be learned from (its
answer for a line alone is its answer in context): such a format says so
with `FormatParser.learn_anchors`. Values the parser tests rather than
converts (a threshold) are caught where the probes cross them (all zeros,
all nines); a format whose parser tests values otherwise must not opt in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from runwatch import patterns
from runwatch.model import Kind, Record
from runwatch.parsers.boundary import printable
from runwatch.parsers.events import WAKES
from runwatch.parsers.fields import local_time
from runwatch.parsers.prefix import split_rank

STEP, TOTAL, TIME, RANK = "step", "total", "time", "rank"
"""Span names besides metrics'."""

_NUMBER = patterns.compile(r"-?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?(?:[eE][-+][0-9]+)?")
"""A number as the columns read one: digits, maybe thousands separators (`10,050`), decimals, exponent."""
_WORD = patterns.compile(r"(?<![\w.])[-+]?(?:nan|inf(?:inity)?)(?![\w.])", re.IGNORECASE)
"""A logged NaN or infinity in a number's place: a constant of its layout (its rows all print it)."""
_WORD_PROBES = ("1.25", "2.5", "0")
_STAMP = patterns.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2})(?:[.,]([0-9]{1,6}))?")
_SCALES = (1.0, -1000.0, 1000.0, 60.0, 3600.0, -1e6, 1e6, -100.0, 100.0, -1e9, 1e9, -1024.0, 1024.0)
"""Unit conversions a parser may apply to a number: multiply by (> 0) or divide by (< 0)."""
_MAX_TOKENS = 64
"""Lines with more numbers than this are not learned (each costs a few parses, once per shape)."""


@dataclass(frozen=True, slots=True)
class Span:
    """One number of a learned line: `name` is `step`, `total`, `time` or a metric; lo..hi its characters."""

    name: str
    lo: int
    hi: int
    scale: float = 1.0
    """Multiplied by (> 0) or divided by (< 0: by its absolute value) as the parser converts it."""
    constant: float | None = None
    """The value of a `nan`/`inf` word: every line of the layout prints that word there (no digits)."""


Counted = tuple[Any, Any, dict[str, Any], Any]
"""What `Counters.read` gives: step, total (None: none), metrics it derives, and whether the integers make a
step at all; each an int/float/bool for one line, an array of them for columns."""


@dataclass(frozen=True, slots=True)
class Counters:
    """A step and total computed from several integers of a step line, described once for both readers.

    `head` matches (from the line's start) the part of the line holding the
    integers, one named group each (digits only). `read` takes them by name,
    as ints (one line) or int64 arrays (a layout's rows), a group the line
    leaves out (an optional one) absent from the mapping, and computes with
    operators both support: it must not branch on their values (use `&`, not
    `and`), so that columns get what each line gets.
    """

    head: re.Pattern[str]
    read: Callable[[Mapping[str, Any]], Counted]

    def of(self, line: str) -> tuple[re.Match[str], Counted] | None:
        """The head's match and what `read` makes of its integers, or None: no head, or no step."""
        m = self.head.match(line)
        if m is None:
            return None
        got = self.read({k: int(v) for k, v in m.groupdict().items() if v is not None})
        return (m, got) if got[3] else None


@dataclass(frozen=True, slots=True)
class LearnedLine:
    """How a line of one shape reads: its fields, and the digit runs that must equal the example's."""

    spans: tuple[Span, ...]
    """Step first (unless `counted`), then total, time and rank if read, then the metrics in the record's order."""
    literals: tuple[tuple[int, int], ...]
    record: Record
    """What the parser gave for the example line (the columns must give the same); its rank is the launcher
    prefix's, as the source parser gives it."""
    counted: tuple[Span, ...] = ()
    """The integers `counters` computes the step, total and some metrics from, named by its groups."""
    counters: Counters | None = None


class _Role(Enum):
    FREE = "free"
    LABEL = "label"
    FIELD = "field"
    NO = "no"


def learn(parse: Callable[[str], Record | None], line: str, counters: Counters | None = None) -> LearnedLine | None:
    """The layout of `line` as `parse` (a stateless format parser's, which reads its step and total with
    `counters` if given) reads it behind a launcher's rank prefix (`[rank3]:`, runwatch.parsers.prefix),
    or None (see the module notes)."""
    rank, rest = split_rank(line)
    cut = len(line) - len(rest)
    prefix = _prefix_spans(line, cut, rank)
    found = _learn(parse, rest, counters) if prefix is not None else None
    if found is None or prefix is None:
        return None
    rank_spans = prefix
    rec = found.record
    if rec.rank is not None:  # the line's own rank (DeepSpeed's `[Rank 0]`) wins over a launcher's
        rank_spans = ()
    elif rank is not None:
        rec = _ranked(rec, rank)
    spans = tuple(replace(s, lo=s.lo + cut, hi=s.hi + cut) for s in found.spans) + rank_spans
    literals = tuple((lo + cut, hi + cut) for lo, hi in found.literals)
    counted = tuple(replace(s, lo=s.lo + cut, hi=s.hi + cut) for s in found.counted)
    return LearnedLine(spans, literals, rec, counted, found.counters)


def parsed(parse: Callable[[str], Record | None], line: str) -> Record | None:
    """The record `parse` gives `line` behind its launcher prefix, with that prefix's rank where the line
    states none: the record a learned layout must give (`LearnedLine.record`)."""
    rank, rest = split_rank(line)
    rec = parse(rest)
    return rec if rec is None or rec.rank is not None or rank is None else _ranked(rec, rank)


def reading(layout: LearnedLine, line: str) -> Record | None:
    """What the columns of `layout` read from `line`, a line with its numbers where the layout has them:
    the column reading (runwatch.parsers.columnar) in plain Python, to check a layout against the parser
    on lines other than the one it was learned from (runwatch.parsers.layouts). None where `counters`
    find no step; label digits are not looked at (they are the layout's own)."""
    step: Any = None
    total: Any = None
    metrics: dict[str, float] = {}
    if layout.counters is not None:
        step, total, derived, ok = layout.counters.read({s.name: int(line[s.lo:s.hi]) for s in layout.counted})
        if not ok:
            return None
        metrics.update((k, float(v)) for k, v in derived.items())
    t, rank = 0.0, None
    for s in layout.spans:
        text = line[s.lo:s.hi]
        if s.name == STEP:
            step = int(text)
        elif s.name == TOTAL:
            total = int(text)
        elif s.name == RANK:
            rank = int(text)
        elif s.name == TIME:
            m = _STAMP.fullmatch(text)
            if m is None:
                return None
            t = local_time(m.group(1), m.group(2) or "")
        else:
            metrics[s.name] = s.constant if s.constant is not None else _scaled(float(text.replace(",", "")), s.scale)
    return Record(Kind.STEP, step, total, rank, t, metrics)


def _ranked(rec: Record, rank: int) -> Record:
    return Record(rec.kind, rec.step, rec.total_steps, rank, rec.t, rec.metrics, rec.event, rec.message)


def _prefix_spans(line: str, cut: int, rank: int | None) -> tuple[Span, ...] | None:
    """The rank's digits in the launcher prefix line[:cut] (other digits there are free: a pid), or None
    when changing them changes more than the rank."""
    spans: list[Span] = []
    rest = line[cut:]
    for m in re.finditer(r"[0-9]+", line[:cut]):
        moved = 0
        for p in (_bump(m.group()), _bump(m.group(), 3), _fill(m.group(), "0")):
            if p == m.group():
                continue
            got, after = split_rank(line[: m.start()] + p + line[m.end() :])
            if after != rest:
                return None
            if got != rank:
                if got != int(p):
                    return None
                moved += 1
        if moved:
            if any(s.name == RANK for s in spans):
                return None
            spans.append(Span(RANK, m.start(), m.end()))
    if rank is not None and not spans:
        return None
    return tuple(spans)


def _learn(parse: Callable[[str], Record | None], line: str, counters: Counters | None) -> LearnedLine | None:
    rec = parse(line)
    if rec is None or rec.kind != Kind.STEP or rec.step is None or rec.event is not None or rec.message is not None:
        return None
    spans: list[Span] = []
    literals: list[tuple[int, int]] = []
    counted: list[Span] = []
    derived: set[str] = set()
    if counters is not None:  # the integers of the head are columns, read by `counters` (not probed)
        read = counters.of(line)
        if read is None:
            return None
        head, (_, total, metrics, _) = read
        counted = [Span(name, *head.span(name)) for name, v in head.groupdict().items() if v is not None]
        derived = {STEP, *metrics} | ({TOTAL} if total is not None else set())
    stamps = list(_STAMP.finditer(line))
    for m in stamps:
        role = _stamp_role(parse, line, rec, m)
        if role is _Role.NO:
            return None
        if role is _Role.FIELD:
            if rec.t == 0.0 or any(s.name == TIME for s in spans):
                return None
            spans.append(Span(TIME, m.start(), m.end()))
        elif role is _Role.LABEL:
            literals.append((m.start(), m.end()))
    inside = [(m.start(), m.end()) for m in stamps] + [(c.lo, c.hi) for c in counted]
    tokens = [m for m in _NUMBER.finditer(line) if not any(lo <= m.start() < hi for lo, hi in inside)]
    words = list(_WORD.finditer(line))
    if len(tokens) + len(words) > _MAX_TOKENS or not _could_fit(rec, tokens, words, derived):
        return None
    for m, probes in [*((t, None) for t in tokens), *((w, _WORD_PROBES) for w in words)]:
        found = _token_role(parse, line, rec, m.start(), m.end(), probes)
        if found is None:
            return None
        role, span = found
        if role is _Role.FIELD and span is not None:
            if any(s.name == span.name for s in spans) or span.name in derived:
                return None  # one field from two numbers: not a reading the columns can repeat
            spans.append(span)
        elif role is _Role.LABEL:
            literals.append((m.start(), m.end()))
    names = {s.name for s in spans} | derived
    if (STEP not in names or (rec.total_steps is not None) != (TOTAL in names) or set(rec.metrics) - names
            or (rec.t != 0.0) != (TIME in names) or (rec.rank is not None) != (RANK in names)):
        return None  # a value the line's numbers do not give alone (a constant, a name's digits): not learned
    order = {name: i for i, name in enumerate((STEP, TOTAL, TIME, RANK, *rec.metrics))}
    spans.sort(key=lambda s: order[s.name])
    return LearnedLine(tuple(spans), tuple(literals), rec, tuple(counted), counters)


def _could_fit(rec: Record, tokens: list[re.Match[str]], words: list[re.Match[str]], derived: set[str]) -> bool:
    """Whether each counter and metric of `rec` has a token that could spell it (`_fit` asks the same of one
    token with probes): a counter a token of digits alone, a metric a number at one of `_SCALES` or a NaN or
    infinity word. A line without is learned by no probing, so none is made: RARE-3D's PPO bar with its
    `global_step=4198.0000` glued on (github.com/LeeChangmin0310/RARE-3D) has a shape for nearly every
    line, and probing each of its numbers before the last one failed took 3 of the 3.4 s its 2,041 lines
    cost `runwatch parse`."""
    ints = {int(m.group()) for m in tokens if m.group().isdigit()}
    for name, want in ((STEP, rec.step), (TOTAL, rec.total_steps), (RANK, rec.rank)):
        if want is not None and name not in derived and want not in ints:
            return False
    values = [float(m.group().replace(",", "")) for m in tokens]  # `_NUMBER` spells what float() reads
    for name, v in rec.metrics.items():
        if name in derived:
            continue
        if not (any(_equal(v, _scaled(x, scale)) for x in values for scale in _SCALES)
                or (words and not math.isfinite(v))):
            return False
    return True


def _token_role(
    parse: Callable[[str], Record | None], line: str, rec: Record, lo: int, hi: int,
    probes: Sequence[str] | None = None,
) -> tuple[_Role, Span | None] | None:
    """What the number (or `nan`/`inf` word, tried with the `probes` numbers in its place) at lo..hi is
    to the parser (None: a reading the columns cannot repeat)."""
    text = line[lo:hi]
    probes = probes or _probes(text)
    seen = [(p, parse(line[:lo] + p + line[hi:])) for p in probes]
    if all(same_record(rec, r) for _, r in seen):
        return _Role.FREE, None
    if all(r is None or _structure(r) != _structure(rec) or same_record(rec, r) for _, r in seen):
        return _Role.LABEL, None
    for name in _moved(rec, seen):
        span = _fit(name, text, rec, seen, lo, hi)
        if span is not None:
            return _Role.FIELD, span
    return None


def _moved(rec: Record, seen: list[tuple[str, Record | None]]) -> list[str]:
    """The one field every changed probe moved (step, total or a metric), or none."""
    names: set[str] = set()
    for _, r in seen:
        if r is None or _structure(r) != _structure(rec):
            return []
        diff = {n for n in rec.metrics if not _equal(rec.metrics[n], r.metrics[n])}
        if r.step != rec.step:
            diff.add(STEP)
        if r.total_steps != rec.total_steps:
            diff.add(TOTAL)
        if r.rank != rec.rank:
            diff.add(RANK)
        if r.t != rec.t:
            return []
        names |= diff
    return list(names) if len(names) == 1 else []


def _fit(name: str, text: str, rec: Record, seen: list[tuple[str, Record | None]], lo: int, hi: int) -> Span | None:
    """The span of field `name` if every probe (and the example) gives what its digits spell."""
    if name in (STEP, TOTAL, RANK):
        if not text.isdigit():  # no sign, decimals or separators in a counter
            return None
        got = [(text, rec)] + seen
        for p, r in got:
            assert r is not None
            if {STEP: r.step, TOTAL: r.total_steps, RANK: r.rank}[name] != int(p):
                return None
        return Span(name, lo, hi)
    for scale in _SCALES:
        if all(r is not None and _equal(r.metrics[name], _scaled(float(p.replace(",", "")), scale))
               for p, r in [(text, rec), *seen]):
            word = not any(c.isdigit() for c in text)
            return Span(name, lo, hi, scale, rec.metrics[name] if word else None)
    return None


def _stamp_role(parse: Callable[[str], Record | None], line: str, rec: Record, m: re.Match[str]) -> _Role:
    """A local date and time: the record's time (as local_time reads it), a label, or not read."""
    lo, hi = m.span()
    whole, frac = m.group(1), m.group(2) or ""
    seconds = int(whole[17:19])
    probes = [f"{whole[:17]}{(seconds + 13) % 60:02d}", f"{whole[:14]}{(int(whole[14:16]) + 7) % 60:02d}{whole[16:]}"]
    probes = [f"{p}{m.group(0)[19:20]}{_bump(frac)}" if frac else p for p in probes]
    seen = [(p, parse(line[:lo] + p + line[hi:])) for p in probes]
    if all(same_record(rec, r) for _, r in seen):
        return _Role.FREE
    try:
        want = local_time(whole, frac)
        wants = [local_time(p[:19], p[20:]) for p, _ in seen]
    except ValueError:
        return _Role.NO
    if rec.t != want:
        return _Role.NO
    for w, (_, r) in zip(wants, seen, strict=True):
        if r is None or r.t != w or _structure(r) != _structure(rec) or r.step != rec.step:
            return _Role.NO
        if any(not _equal(v, r.metrics[k]) for k, v in rec.metrics.items()):
            return _Role.NO
    return _Role.FIELD


def _probes(text: str) -> list[str]:
    """The number with other digits of the same width: each digit moved on, all 0, all 9, the exponent
    moved on. Widths stay, so the line keeps its shape (and a layout's other fields their places)."""
    mantissa, e, exponent = text.partition("e") if "e" in text else text.partition("E")
    sign = "-" if mantissa.startswith("-") else ""
    body = mantissa[len(sign):]
    out = [sign + _bump(body), sign + _bump(body, 3), sign + _fill(body, "0"), sign + _fill(body, "9")]
    out = [p + e + exponent for p in out]
    if e:
        out.append(mantissa + e + exponent[:1] + _bump(exponent[1:]))
    return [p for p in dict.fromkeys(out) if p != text]


def _bump(digits: str, by: int = 1) -> str:
    return "".join(str((int(c) + by) % 10) if c.isdigit() else c for c in digits)


def _fill(digits: str, d: str) -> str:
    return "".join(d if c.isdigit() else c for c in digits)


def _scaled(v: float, scale: float) -> float:
    return v * scale if scale > 0 else v / -scale


def _structure(r: Record) -> tuple[object, ...]:
    return r.kind, r.step is None, r.total_steps is None, tuple(sorted(r.metrics)), r.rank is None, r.event, r.message


def same_record(a: Record, b: Record | None) -> bool:
    """Whether `b` is the record `a` as values: the same fields, each number the same float."""
    return (b is not None and _structure(a) == _structure(b) and a.step == b.step and a.total_steps == b.total_steps
            and a.t == b.t and a.rank == b.rank and all(_equal(v, b.metrics[k]) for k, v in a.metrics.items()))


def _equal(a: float, b: float) -> bool:
    """The same float, bit for bit in effect (NaN equals NaN; 0.0 and -0.0 differ)."""
    return (a == b and math.copysign(1.0, a) == math.copysign(1.0, b)) or (a != a and b != b)


# ── per line: a live line read by its shape's learned layout ───────────────────────────────────────────

_ZEROS = bytes.maketrans(b"123456789", b"000000000")


def shape_of(line: str) -> bytes:
    """`line`'s shape, the key both stores of a source's lines look it up by (LineLayouts, QuietShapes): its
    UTF-8 bytes with each digit turned into `0`. Of the bytes: `str.translate` looks each character up in a
    dict (2 µs a line of 150 characters), `bytes.translate` in a table (0.1 µs)."""
    return line.encode("utf-8", "surrogatepass").translate(_ZEROS)


_MAX_SHAPES = 1024
"""Shapes kept with their layouts (a compiled reader each: a few KiB), and (apart) shapes kept as no step
line's: each store is bounded."""


TRIES = 3
"""Lines of one shape learned, each giving no layout, before the shape is taken for no step line's."""
SIGHTS = 16
"""Lines of one shape the parser reads before the shape is probed for no record (QuietShapes): the probe's
parses (two a run of digits and five more) are paid where the shape is common."""
QUIET_CHARS = 1000
"""Lines longer than this are not looked up in QuietShapes (a printed sample of tokens: 60 KB keys)."""
_MAX_QUIET = 512
"""Shapes a QuietShapes keeps of each kind (probed, counted): about 1 MB at most for a source."""


class LineLayouts:
    """A stateless format's live lines read by the layout learned for their shape, as the fast path reads
    a block's (runwatch.parsers.columnar): one description, the parser's, for both.

    Keyed formats (Megatron, DeepSpeed, torchtitan, `key=value`, the
    tutorial loop) have no template, and their parsers read a line by
    splitting it into `name: value` pairs, a few µs a field. The lines of one
    shape (digits turned into `0`) print one format string, so what was
    learned from one of them (`learn`: which number is which field, by
    probing the parser) reads the others: a slice and a float() a field.
    A line with none of `anchors`, a shape that is no step line's (learning
    found no layout), and a line whose label digits differ from the
    example's are the parser's (`read` gives None).
    """

    def __init__(self, learn: Callable[[str], LearnedLine | None], anchors: tuple[str, ...],
                 refused: Callable[[str], bool] = lambda line: False,
                 recordless: Callable[[str], bool] = lambda line: False) -> None:
        self._learn, self._anchors, self._refused, self._probe = learn, anchors, refused, recordless
        """`refused`: whether a line that gave no layout failed for its values alone (it counts for nothing);
        `recordless`: whether the parser reads no record from a line whatever its numbers (probed)."""
        self._layouts: dict[bytes, tuple[LearnedLine, str, Callable[[str], Record | None]]] = {}
        """Shape → its layout, the line it was learned from, and its reader (`_reader`)."""
        self._none: dict[bytes, int] = {}
        """Shapes that gave no layout, and how often (noise, evals, lines the layouts cannot repeat): one that
        failed `TRIES` times is no step line's. A line may fail for its values alone (a stamp that is no real
        time; `Epoch [5/5]`, no step of a loop counting from 0, is not counted at all: `refused`): its
        shape's next lines are tried too, or a log whose first line of a shape was such read every line the
        parser's way."""

    def read(self, line: str) -> Record | None:
        """The record of a step line the layout of its shape reads, or None: the parser's line."""
        for anchor in self._anchors:  # a loop, not any() over a generator: 0.3 µs a line less
            if anchor in line:
                break
        else:
            if self._anchors:
                return None
        shape = shape_of(line)
        known = self._layouts.get(shape)
        if known is None:
            if self._none.get(shape, 0) >= TRIES:
                return None
            known = self._learned(line, shape)
            if known is None:
                return None
        layout, example, read = known
        for lo, hi in layout.literals:
            if line[lo:hi] != example[lo:hi]:
                return None
        try:
            return read(line)
        except ValueError:  # a stamp of the shape that is no real time (`2024-13-45`): the parser's to refuse
            return None

    def quiet(self) -> QuietShapes:
        """A source's own store of the shapes its parser reads no record from (QuietShapes), probed as this
        format's parser reads them."""
        return QuietShapes(self._probe)

    def _learned(self, line: str, shape: bytes) -> tuple[LearnedLine, str, Callable[[str], Record | None]] | None:
        """The layout of `line`'s shape, if it has one and no line of it wakes the crash detector (`WAKES`,
        whose texts hold no digit: lines of one shape are all admitted or none), so that a line read here
        is nothing to an idle detector but one more line (as the fast path's step rows: columnar)."""
        layout = self._learn(line) if printable(line) and not WAKES.admits(line) else None
        if layout is None:
            if len(self._none) >= _MAX_SHAPES:
                self._none.clear()
            if not self._refused(line):
                self._none[shape] = self._none.get(shape, 0) + 1
            return None
        if len(self._layouts) >= _MAX_SHAPES:
            self._layouts.clear()
        found = self._layouts[shape] = (layout, line, _reader(layout, line))
        return found


class QuietShapes:
    """The shapes of a source's lines that its parser reads no record from whatever their numbers, so that
    their lines need not be read (`SourceParser` asks before the parser reads a line no layout read).

    A log's noise is so: a nanochat run's evaluation lines (`Evaluating: piqa (10-shot, type: multiple_choice)...
    accuracy: 0.6877 | centered: …`) cost the generic `kv` 30 µs each to find no step in, a quarter of a noisy
    log's time, where a shape's lookup costs half a µs. A shape is probed (`probe`: runwatch.parsers.layouts.
    Learner.recordless) once its `SIGHTS`-th line has come, so a log of many rare shapes pays no probes, and
    the lines before were read, as any state they set in the parser (kv's `_stepped`) was. One store a source,
    not one a format: what another source's lines did to its parser is none of this one's. Lines longer
    than `QUIET_CHARS` are always read, so the store stays small (`_MAX_QUIET` shapes of each kind).
    """

    def __init__(self, probe: Callable[[str], bool]) -> None:
        self._probe = probe
        self._quiet: dict[bytes, bool] = {}
        """Shapes probed, and what the probe said."""
        self._sights: dict[bytes, int] = {}
        """Shapes not probed yet, and how often a line of each came to the parser."""

    def __call__(self, line: str) -> bool:
        """Whether `line` (rank prefix removed) is of a shape the parser reads no record from."""
        if len(line) > QUIET_CHARS:
            return False
        shape = shape_of(line)
        quiet = self._quiet.get(shape)
        if quiet is not None:
            return quiet
        seen = self._sights.get(shape, 0) + 1
        if seen < SIGHTS:
            if len(self._sights) >= _MAX_QUIET:
                self._sights.clear()
            self._sights[shape] = seen
            return False
        del self._sights[shape]
        if len(self._quiet) >= _MAX_QUIET:
            self._quiet.clear()
        quiet = self._quiet[shape] = self._probe(line)
        return quiet


def _reader(layout: LearnedLine, example: str) -> Callable[[str], Record | None]:
    """`reading(layout, line)` for lines of `example`'s shape, as Python source made for the layout and
    compiled once: the generic loop over the spans cost three times the straight-line code a person would
    write for one shape. Only the spans' positions and scales, metric names as literals (`repr`), and the
    layout's constants and counters by name go into it."""
    body = ["def read(line):", "    metrics = {}", "    step = total = rank = None", "    t = 0.0"]
    scope: dict[str, Any] = {"Record": Record, "STEP": Kind.STEP, "local_time": local_time}
    if layout.counters is not None:
        scope["counters"] = layout.counters.read
        ints = ", ".join(f"{s.name!r}: int(line[{s.lo}:{s.hi}])" for s in layout.counted)
        body += [f"    step, total, derived, ok = counters({{{ints}}})", "    if not ok:", "        return None",
                 "    for k, v in derived.items():", "        metrics[k] = float(v)"]
    for i, s in enumerate(layout.spans):
        text = f"line[{s.lo}:{s.hi}]"
        if s.name in (STEP, TOTAL, RANK):
            body.append(f"    {s.name} = int({text})")
        elif s.name == TIME:
            cut = s.lo + 19  # the shape fixes where the seconds end: `_STAMP`'s groups by position
            frac = f"line[{cut + 1}:{s.hi}]" if s.hi > cut else "''"
            body.append(f"    t = local_time(line[{s.lo}:{cut}], {frac})")
        elif s.constant is not None:
            scope[f"c{i}"] = s.constant
            body.append(f"    metrics[{s.name!r}] = c{i}")
        else:
            value = f"float({text}.replace(',', ''))" if "," in example[s.lo:s.hi] else f"float({text})"
            if s.scale != 1.0:
                value += f" * {s.scale!r}" if s.scale > 0 else f" / {-s.scale!r}"
            body.append(f"    metrics[{s.name!r}] = {value}")
    body.append("    return Record(STEP, step, total, rank, t, metrics)")
    exec("\n".join(body), scope)  # the layout's own code, see the docstring
    read: Callable[[str], Record | None] = scope["read"]
    return read
