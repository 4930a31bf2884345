"""The parsing pipeline of one source: rank prefix → crash events → log format.

One `SourceParser` per followed file (or stdin). It detects the format from
the first lines unless told, holds the lines seen until then so none is lost,
and re-detects when the chosen format has matched nothing for a long stretch
while another format matches (a launcher log that turns into a training log).
Pure: no I/O, no clock; read times come in with the lines.

Order: the records one `feed` call returns are in line order. Event records
are never held back (a crash before the first step line must show at once),
so the step records of held lines, released when the format is decided in a
later call, can follow events of later lines.

Re-detection: every `REDETECT_AFTER` record-less lines the last
`REDETECT_SAMPLE` of them are scored; a switch needs a signature line of
another format, or a total of `REDETECT_MIN_TOTAL` for a specific one (never
the generic `kv`, whose maybe-lines any quiet phase has). On a switch the
record-less lines kept since the last record (at most `REDETECT_AFTER`, and
`WINDOW_CHARS` of text) are parsed again with the new format, so its first
steps are not lost. Lines at the very end of the input that come after the
last record, fewer than `REDETECT_AFTER` of them, stay unparsed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from itertools import islice

from runwatch.model import Kind, Record
from runwatch.parsers.base import FormatParser
from runwatch.parsers.detect import MIN_GUESS, Detector
from runwatch.parsers.events import EventDetector
from runwatch.parsers.prefix import split_rank
from runwatch.parsers.registry import ALIASES, make_parser

DETECT_MAX_LINES = 400
"""Lines held back while no format is certain; after that the best guess wins."""
REDETECT_AFTER = 2000
"""Lines without a record from the chosen format before another is considered."""
REDETECT_SAMPLE = 200
"""Record-less lines, the latest, that a re-detection scores."""
REDETECT_MIN_TOTAL = 4
"""Least total that lets a format without a signature line in the sample take over."""
WINDOW_CHARS = 1 << 20
"""Most text kept for re-parsing after a switch (besides the `REDETECT_AFTER` lines cap)."""
GENERIC = frozenset({"kv"})
"""Fallback formats that re-detection never switches to on maybe-lines alone."""

_Line = tuple[int | None, str, int, float]  # rank, text, line number, read time


def _line_no(rec: Record) -> int:
    return rec.line


class SourceParser:
    """Turns the lines of one source into Records, in order."""

    def __init__(self, source: str, *, fmt: str | None = None, rank: int | None = None) -> None:
        self.source = source
        self.rank = rank
        self.fixed_format = fmt is not None
        self._parser: FormatParser | None = make_parser(fmt) if fmt else None
        self.format: str | None = ALIASES.get(fmt, fmt) if fmt else None
        self._events = EventDetector()
        self._detector: Detector | None = None if fmt else Detector()
        self._held: list[_Line] = []
        self._since_record = 0
        self._recent: deque[_Line] = deque()
        self._recent_chars = 0
        self._last: tuple[int | None, int, float] = (rank, 0, 0.0)
        self._reorder = False
        self.lines = 0
        self.records = 0

    def feed(self, lines: Sequence[str], first_line: int, t: float) -> list[Record]:
        """Records completed by these lines (numbered from `first_line`, read at `t`), in line order."""
        out: list[Record] = []
        self._reorder = False
        for i, raw in enumerate(lines):
            self._line(raw, first_line + i, t, out)
        if self._reorder:
            out.sort(key=_line_no)  # stable: an event stays before the step of its own line
        self.lines += len(lines)
        self.records += len(out)
        return out

    def flush(self) -> list[Record]:
        """Records of blocks still open at the end of the input (and of lines still held)."""
        out: list[Record] = []
        if self._parser is None and self._held:
            self._choose(self._detector.best(MIN_GUESS) if self._detector else None, out)
        rank, lineno, t = self._last
        for rec in (self._flush_events(), self._flush_parser()):
            if rec is not None:
                out.append(self._stamp(rec, rank, lineno, t))
        self.records += len(out)
        return out

    # -- internals -------------------------------------------------------

    def _line(self, raw: str, lineno: int, t: float, out: list[Record]) -> None:
        rank, text = split_rank(raw)
        if rank is None:
            rank = self.rank
        self._last = (rank, lineno, t)
        try:
            ev = self._events.feed(text)
        except Exception:  # as for format parsers: one odd line must not stop the source
            ev = None
        if ev is not None:
            out.append(self._stamp(ev, rank, lineno, t))
        if self._parser is None:
            self._hold(rank, text, lineno, t, out)
            return
        rec = self._parse(text)
        if rec is not None:
            self._since_record = 0
            if self._recent:
                self._recent.clear()
                self._recent_chars = 0
            out.append(self._stamp(rec, rank, lineno, t))
        elif not self.fixed_format:
            self._maybe_redetect((rank, text, lineno, t), out)

    def _parse(self, text: str) -> Record | None:
        assert self._parser is not None
        try:
            return self._parser.parse(text)
        except Exception:  # a parser bug on odd input must not lose the rest of the log
            return None

    def _flush_events(self) -> Record | None:
        try:
            return self._events.flush()
        except Exception:
            return None

    def _flush_parser(self) -> Record | None:
        if self._parser is None:
            return None
        try:
            return self._parser.flush()
        except Exception:
            return None

    def _hold(self, rank: int | None, text: str, lineno: int, t: float, out: list[Record]) -> None:
        assert self._detector is not None
        self._held.append((rank, text, lineno, t))
        found = self._detector.feed(text)
        if found is None and self._detector.lines_seen >= DETECT_MAX_LINES:
            found = self._detector.best(MIN_GUESS)
            if found is None:  # nothing known here yet: stop holding, keep listening
                self._held.clear()
                self._detector = Detector()
                return
        if found is not None:
            self._choose(found, out)

    def _choose(self, fmt: str | None, out: list[Record]) -> None:
        held, self._held = self._held, []
        if fmt is None:
            return
        self.format = fmt
        self._parser = make_parser(fmt)
        self._detector = None
        self._replay(held, out)

    def _replay(self, lines: Iterable[_Line], out: list[Record]) -> None:
        """Parse lines read earlier with the (new) parser; their records go out with their own numbers."""
        for rank, text, lineno, t in lines:
            rec = self._parse(text)
            if rec is not None:
                out.append(self._stamp(rec, rank, lineno, t))
                self._reorder = True

    def _maybe_redetect(self, line: _Line, out: list[Record]) -> None:
        self._since_record += 1
        self._recent.append(line)
        self._recent_chars += len(line[1])
        while len(self._recent) > REDETECT_AFTER or (self._recent_chars > WINDOW_CHARS and len(self._recent) > 1):
            self._recent_chars -= len(self._recent.popleft()[1])
        if self._since_record < REDETECT_AFTER:
            return
        self._since_record = 0
        start = max(0, len(self._recent) - REDETECT_SAMPLE)
        found = _redetect([text for _, text, _, _ in islice(self._recent, start, None)], self.format)
        if found is None:
            return
        window, self._recent, self._recent_chars = self._recent, deque(), 0
        self.format = found
        self._parser = make_parser(found)
        self._replay(window, out)

    def _stamp(self, rec: Record, rank: int | None, lineno: int, t: float) -> Record:
        # A new Record rather than dataclasses.replace, which costs a third of a nanochat line's parsing.
        return Record(
            rec.kind, step=rec.step, total_steps=rec.total_steps,
            rank=rec.rank if rec.rank is not None else rank, t=rec.t or t, metrics=rec.metrics,
            event=rec.event, message=rec.message, source=self.source, line=lineno,
        )


def _redetect(lines: list[str], current: str | None) -> str | None:
    """The format other than `current` that these record-less lines are in, if the evidence is clear."""
    det = Detector()
    signed: set[str] = set()
    for line in lines:
        found = det.feed(line)
        if found is not None and found != current:
            signed.add(found)
    candidates = {
        name: total for name, total in det.totals.items()
        if name != current and (name in signed or (name not in GENERIC and total >= REDETECT_MIN_TOTAL))
    }
    if not candidates:
        return None
    if signed:
        candidates = {name: total for name, total in candidates.items() if name in signed}
    return max(candidates, key=candidates.__getitem__)  # first of equal totals: registry order


def is_progress(rec: Record) -> bool:
    """A record that moves the run forward (not an event)."""
    return rec.kind in (Kind.STEP, Kind.EVAL)
