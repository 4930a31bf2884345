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

Chunks (`feed_bytes`): a one-shot reader (`runwatch parse`) hands over raw
blocks of whole lines instead. Until the format is decided they are split
and read line by line; then, for a format with a columnar fast path
(a StepLineParser, or a stateless parser with `learn_anchors`:
runwatch.parsers.columnar), the block's plain step lines
become numpy columns in one call and only the other lines (about one in ten
in a real log) take the per-line way, in line order, with the state the
step lines would have left (the format parser's last step and mfu state, the
crash detector's line count, the re-detection counter). While a traceback or
failure report is open, and after a format switch, step lines are read one
by one too. The records are those `feed` gives for the same lines, in the
same order. `RUNWATCH_NO_FAST_PATH=1` in the environment (or
`fast_path=False`) turns the fast path off: every line then goes the per-line
way, which is how tests check that both give the same.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import islice, pairwise
from typing import TYPE_CHECKING

from runwatch.model import Event, Kind, Preamble, Record
from runwatch.parsers.base import FormatParser, StepLineParser
from runwatch.parsers.boundary import ascii_digits, checked
from runwatch.parsers.detect import MIN_GUESS, Detector
from runwatch.parsers.events import EventDetector
from runwatch.parsers.failures import EVENTS, ParseFailures
from runwatch.parsers.preamble import Collector
from runwatch.parsers.prefix import split_rank
from runwatch.parsers.registry import ALIASES, make_parser

if TYPE_CHECKING:
    import numpy as np

    from runwatch.parsers.columnar import ColumnBatch, Unhandled

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
NO_FAST_PATH_ENV = "RUNWATCH_NO_FAST_PATH"
"""Set (to anything but `0`) to read every line the per-line way in `feed_bytes`."""
DETECT_PIECE = 1 << 13
"""Bytes of a chunk split and read line by line at a time while the format is undecided."""

SplitLines = Callable[[bytes], list[str]]
"""Bytes of whole lines → their text lines, as the source's line splitter gives them (escapes
stripped, `\\r` frames split off): one per line, but for a line with a `\\r` (any number). A last
line without `\\n` is the input's last line. runwatch.watcher.snapshot.split_block is one."""


@dataclass(frozen=True, slots=True)
class ChunkRecords:
    """The records of one `feed_bytes` chunk: step records of the fast path as columns, the rest as objects.

    `records` are the per-line records (events, evals, odd step lines, and
    records of earlier lines released by detection), in the order `feed`
    would give them; `steps` are plain step lines, their `line` the source's
    line numbers (not the chunk's line indices) and rank, time and source
    those of this chunk. `merged()` gives all of them as `feed` would.
    """

    lines: int
    """Lines the chunk held, counted as the line splitter counts them."""
    records: list[Record]
    steps: ColumnBatch | None
    source: str
    rank: int | None
    t: float

    def __len__(self) -> int:
        return len(self.records) + (len(self.steps) if self.steps is not None else 0)

    def step_records(self) -> list[Record]:
        """The `steps` rows as Records, equal to those the per-line parser gives (metrics in its order)."""
        batch = self.steps
        if batch is None or not len(batch):
            return []
        names = list(batch.metrics)
        values = [batch.metrics[n].tolist() for n in names]
        present = [batch.present[n] for n in names]
        import numpy as np  # only where a fast format's columns are read

        code = sum((p.astype("int64") << i for i, p in enumerate(present)), np.zeros(len(batch), np.int64))
        orders = {c: [(n, values[i]) for i, n in enumerate(names) if c >> i & 1] for c in set(code.tolist())}
        rank, t, source, step = self.rank, self.t, self.source, batch.kind
        times = [t] * len(batch) if batch.t is None else [s or t for s in batch.t.tolist()]
        ranks = [rank] * len(batch) if batch.rank is None else [rank if r < 0 else r for r in batch.rank.tolist()]
        return [
            Record(step, st, None if tot < 0 else tot, r, at, {n: v[i] for n, v in orders[c]}, None, None, source, ln)
            for i, (ln, st, tot, c, at, r) in enumerate(zip(
                batch.line.tolist(), batch.step.tolist(), batch.total.tolist(), code.tolist(), times, ranks, strict=True))
        ]

    def row(self, i: int) -> Record:
        """The `steps` row `i` as the Record `step_records()` gives for it (for one row of many, cheaper)."""
        batch = self.steps
        assert batch is not None
        total = int(batch.total[i])
        rank = -1 if batch.rank is None else int(batch.rank[i])
        return Record(
            batch.kind, int(batch.step[i]), None if total < 0 else total, self.rank if rank < 0 else rank,
            self.t if batch.t is None else float(batch.t[i]) or self.t,
            {n: float(v[i]) for n, v in batch.metrics.items() if batch.present[n][i]}, None, None, self.source,
            int(batch.line[i]),
        )

    def merged(self) -> list[Record]:
        """Every record of the chunk, in the order `feed` gives them for the same lines."""
        rows = self.step_records()
        if not rows or not self.records:
            return rows or list(self.records)
        out: list[Record] = []
        i = 0
        for rec in self.records:  # both in line order, never on the same line
            while i < len(rows) and rows[i].line < rec.line:
                out.append(rows[i])
                i += 1
            out.append(rec)
        out += rows[i:]
        return out

    def pieces(self, size: int) -> list[ChunkRecords]:
        """This chunk cut by line into chunks of at most `size` records each (rows and records together; the
        records of one line stay together), in order. A history is judged every JUDGED_RECORDS records: cut
        so, its step rows stay columns and go into the run in bulk, as `check` takes them (merged into
        Records to be cut, they went one at a time, and `tail` read a history 2-3× slower)."""
        if len(self) <= size:
            return [self]
        import numpy as np  # only where a fast format's columns are read

        steps = self.steps
        rows = steps.line if steps is not None else np.zeros(0, np.int64)
        own = np.fromiter((r.line for r in self.records), np.int64, len(self.records))
        every = np.sort(np.concatenate((rows, own)), kind="stable")
        cuts = np.unique(every[size::size])  # each piece's first line after the first piece's
        bounds = [None, *cuts.tolist(), None]
        at = [0, *np.searchsorted(own, cuts).tolist(), len(own)]  # records are in line order
        out: list[ChunkRecords] = []
        for i, (lo, hi) in enumerate(pairwise(bounds)):
            part = None
            if steps is not None:
                mask = np.ones(len(steps), bool)
                if lo is not None:
                    mask &= steps.line >= lo
                if hi is not None:
                    mask &= steps.line < hi
                part = steps.take(mask)
            piece = replace(self, records=self.records[at[i] : at[i + 1]], steps=part, lines=0 if out else self.lines)
            if len(piece):
                out.append(piece)
        return out

    def one_rank(self) -> ChunkRecords:
        """This chunk with its step rows' rank as the chunk's, when every row states the same one (DeepSpeed's
        `[Rank 0]` on every line, one rank's file of torchrun's `[rank3]:` lines): rows of one rank go into a
        run in bulk; rows of several stay as they are (and go as records)."""
        steps = self.steps
        if steps is None or steps.rank is None or not len(steps):
            return self
        first = int(steps.rank[0])
        if first < 0 or not bool((steps.rank == first).all()):
            return self
        return replace(self, steps=replace(steps, rank=None), rank=first)

    def with_total(self, total: int | None) -> ChunkRecords:
        """`--total-steps`: this chunk with every record that has a step, and every step row, planned to
        end at `total` (None: as it is)."""
        if total is None:
            return self
        steps = self.steps
        if steps is not None:
            import numpy as np  # only where a fast format's columns are read
            steps = replace(steps, total=np.full(len(steps), total, np.int64))
        return replace(self, records=with_total(self.records, total), steps=steps)


def with_total(recs: list[Record], total: int | None) -> list[Record]:
    """`--total-steps`: every record with a step gets `total` as its total (None leaves them)."""
    if total is None:
        return recs
    return [replace(r, total_steps=total) if r.step is not None else r for r in recs]


_Line = tuple[int | None, str, int, float]  # rank, text, line number, read time


def _line_no(rec: Record) -> int:
    return rec.line


class SourceParser:
    """Turns the lines of one source into Records, in order."""

    def __init__(
        self, source: str, *, fmt: str | None = None, rank: int | None = None, fast_path: bool | None = None
    ) -> None:
        self.source = source
        self.rank = rank
        self.fixed_format = fmt is not None
        self._parser: FormatParser | None = make_parser(fmt) if fmt else None
        self.format: str | None = ALIASES.get(fmt, fmt) if fmt else None
        self._events = EventDetector()
        self.failures = ParseFailures(source)
        """Lines a parser raised on (each gave no record; the source went on)."""
        self._detector: Detector | None = None if fmt else Detector(failures=self.failures)
        self._held: list[_Line] = []
        self.undecided_lines = 0
        """Lines read while no format was chosen (for a note when a file holds nothing runwatch knows)."""
        self._since_record = 0
        self._recent: deque[_Line] = deque()
        self._recent_chars = 0
        self._last: tuple[int | None, int, float] = (rank, 0, 0.0)
        self._reorder = False
        self.lines = 0
        self.records = 0
        self._settings: Collector | None = Collector()
        """The settings the log prints before its first loss or step (`preamble`); None once they ended."""
        self._found: Preamble | None = None
        self.stamped: bool | None = None
        """Whether the log's step lines state when they were written (Megatron's `[2024-04-06 03:02:12]`),
        as its first step record says; None before one. A record of a line that states none takes the read
        time, which says nothing of when the run logged it where a history is read at once."""
        self.fast_path = os.environ.get(NO_FAST_PATH_ENV, "0") in ("", "0") if fast_path is None else fast_path
        """Whether `feed_bytes` may use the columnar fast path (RUNWATCH_NO_FAST_PATH turns it off)."""

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

    def feed_bytes(self, data: bytes, first_line: int, t: float, split: SplitLines) -> ChunkRecords:
        """The records of a chunk of whole lines (numbered from `first_line`, read at `t`); see the module notes.

        `data` is raw bytes of whole lines, each ending in `\\n` but the
        input's last line; `split` turns such bytes into text lines exactly as
        the line splitter that `feed`'s lines come from (see SplitLines). The
        result holds the same records `feed(split(data), …)` gives, in the same
        order, and counts the same lines.
        """
        out: list[Record] = []
        self._reorder = False
        line, pos, steps = first_line, 0, None
        while pos < len(data) and self._parser is None:  # detect line by line, a piece at a time
            end = data.find(b"\n", pos + DETECT_PIECE) + 1 or len(data)
            line = self._lines(split(data[pos:end]), line, t, out)
            pos = end
        if pos < len(data):
            rest = data[pos:] if pos else data
            if self._fast_parser() is not None:
                line, steps = self._fast(rest, line, t, split, out)
            else:
                line = self._lines(split(rest), line, t, out)
        if self._reorder:
            out.sort(key=_line_no)  # stable: an event stays before the step of its own line
        self.lines += line - first_line
        self.records += len(out) + (len(steps) if steps is not None else 0)
        if self.stamped is None and steps is not None and len(steps):
            self.stamped = steps.t is not None and bool(steps.t[0] > 0)
        return ChunkRecords(line - first_line, out, steps, self.source, self.rank, t)

    @property
    def preamble(self) -> Preamble | None:
        """The `key: value` settings the log printed before its first loss or step record (runwatch.parsers.
        preamble), so far while they go on; None when it printed none."""
        found = self._found if self._settings is None else self._settings.result()
        return found if found is not None and found.settings else None

    def _end_settings(self) -> None:
        if self._settings is not None:
            self._found, self._settings = self._settings.result(), None

    def flush(self) -> list[Record]:
        """Records of blocks still open at the end of the input (and of lines still held)."""
        out: list[Record] = []
        if self._parser is None and self._held:
            self._choose(self._detector.best(MIN_GUESS) if self._detector else None, out)
        rank, lineno, t = self._last
        for rec in (self._flush_events(), self._flush_parser()):
            if rec is not None:
                self._emit(rec, rank, lineno, t, out)
        self.records += len(out)
        return out

    def end_of_input(self, t: float) -> list[Record]:
        """A stream (stdin) ended: `flush()`'s records and the exit event that says so, at the last line.

        End of input is no finished run (only a finish line, an exit code or the total reached are);
        `runwatch tail -` and `parse -`/`check -` end a pipe with this one record. A stream of which
        nothing was understood (empty, binary, prose) gets none: it would be the run's only record, and
        `check -` passed such input as `OK … 1 records` where the same bytes in a file are UNREAD, exit 3.
        """
        out = self.flush()
        if self.records == 0:
            return out
        out.append(Record(Kind.EVENT, event=Event.EXIT, t=t, source=self.source, line=self.lines,
                          message="input ended"))
        self.records += 1
        return out

    def settle(self) -> list[Record]:
        """The source has no more lines for now (a follower caught up with its file): a format with no
        signature line (`key=value`, a plain loop's prints) is chosen from what was read, as `flush`
        chooses it at the end of a one-shot read, so live following understands a short log as soon as
        `check` does instead of holding its lines until `DETECT_MAX_LINES`. A later signature line of
        another format still switches it (redetection). The format parser then says what it holds only
        until a line that may never come (`FormatParser.settle`)."""
        out: list[Record] = []
        if self._parser is None and self._held and self._detector is not None:
            found = self._detector.best(MIN_GUESS)
            if found is not None:
                self._choose(found, out)
        parser = self._parser
        if parser is not None:
            try:
                rec = parser.settle()
            except Exception as exc:  # counted, not lost in silence, as a line's parse
                self.failures.add(f"{self.format} settle", exc, self._last[1])
                rec = None
            if rec is not None:
                self._emit(rec, *self._last, out)
        self.records += len(out)
        return out

    @property
    def holds_block(self) -> bool:
        """Whether a traceback or failure report is open, its end not read yet."""
        return not self._events.idle

    def close_block(self) -> list[Record]:
        """The source went quiet inside a block (a traceback cut off before its exception line, as a process
        killed while it printed leaves it, or a log that ends so): the block's record now, as `flush` gives
        it at the end of a one-shot read, so `tail` says what `check` says of the same file. A follower
        never reaches an end of input: without this the traceback was held, unseen, for ever."""
        out: list[Record] = []
        rec = self._flush_events()
        if rec is not None:
            self._emit(rec, *self._last, out)
        self.records += len(out)
        return out

    # -- internals -------------------------------------------------------

    def _lines(self, lines: Sequence[str], first: int, t: float, out: list[Record]) -> int:
        """Read `lines` one by one; the number of the line after them."""
        line = self._line
        for i, raw in enumerate(lines, first):
            line(raw, i, t, out)
        return first + len(lines)

    @property
    def has_fast_path(self) -> bool:
        """Whether the format, once decided, has a columnar fast path (whether or not `fast_path` is on)."""
        parser = self._parser
        return parser is not None and (isinstance(parser, StepLineParser) or parser.learn_anchors is not None)

    def _fast_parser(self) -> FormatParser | None:
        """The format parser, if the fast path may read its step lines now."""
        return self._parser if self.fast_path and self.has_fast_path else None

    def _fast(
        self, data: bytes, first: int, t: float, split: SplitLines, out: list[Record]
    ) -> tuple[int, ColumnBatch | None]:
        """The fast path over a chunk of whole lines: (the number of the line after them, the step columns).

        Every physical line (split at `\\n`) is a step row of the batch or
        unhandled; a step row is one line of the splitter (printable UTF-8, no
        `\\r`), an unhandled line one or more (or none: a last lone `\\r`).
        Unhandled lines are read in order; before each, the run of step rows
        since the previous one is skipped over in one go, or read one by one
        while the crash detector has a block open or after a format switch.
        """
        import numpy as np

        from runwatch.parsers.columnar import extract_steps

        parser = self._fast_parser()
        assert parser is not None and self.format is not None
        if b"\r" in data and data.count(b"\r") == data.count(b"\r\n"):
            data = data.replace(b"\r\n", b"\n")  # CRLF only: what the splitter makes of it, and step lines match
        try:
            found = extract_steps(self.format, data, omit=parser.fast_omit())
        except Exception as exc:  # the block is read line by line instead: nothing is lost, but it is a bug
            self.failures.add(f"{self.format} fast path", exc, first)
            found = None
        unhandled_text = None if found is None or not len(found[0]) else _texts(data, found[1], split)
        if found is None or unhandled_text is None:
            return self._lines(split(data), first, t, out), None
        batch, rest = found
        texts, several = unhandled_text

        n_lines, n_rest = len(batch) + len(rest), len(rest)
        unhandled, ends = rest.line.tolist(), rest.end.tolist()
        gaps = (np.diff(rest.line, prepend=-1) - 1).tolist()  # step rows before each unhandled line
        run_steps = batch.step[np.maximum(rest.line - np.arange(n_rest) - 1, 0)].tolist()  # the last of them
        events, read_line = self._events, self._line
        skip, after_fast = events.skip, parser.after_fast
        redo: list[int] = []  # step rows read the per-line way after all
        extra = 0  # lines so far beyond one per physical line (`\r` frames)
        busy = not events.idle

        starts: list[np.ndarray] = []  # byte offset of every physical line, once a traceback needs them

        def line_starts() -> np.ndarray:
            """Byte offset of the start of line i + 1 of the chunk, for every i (computed once)."""
            if not starts:
                starts.append(np.flatnonzero(np.frombuffer(data, np.uint8) == 10) + 1)
            return starts[0]

        def last_indented(lo: int, hi: int) -> str:
            """The last of step rows lo..hi-1 that starts with a blank, "" if none (EventDetector.skip's
            `last` inside a traceback)."""
            after = line_starts()
            rows = np.arange(lo, hi)
            begin = np.where(rows > 0, after[np.maximum(rows - 1, 0)], 0)
            head = np.frombuffer(data, np.uint8)[begin]
            hits = np.flatnonzero((head == 32) | (head == 9))
            if not hits.size:
                return ""
            at = int(begin[hits[-1]])
            return data[at : int(after[lo + int(hits[-1])]) - 1].decode("utf-8")

        def one_by_one(lo: int, hi: int, start: int) -> int:
            """Step rows lo.. (line lo at byte `start`) while busy: counted in runs where the crash
            detector can take them unread (an open traceback), else read per line; the first row left."""
            while lo < hi:
                if self._parser is parser:
                    if events.idle:
                        break
                    k = events.absorbable(hi - lo)
                    if k:
                        skip(k, last_indented(lo, lo + k))
                        lo += k
                        self._stepped(after_fast, int(batch.step[np.searchsorted(batch.line, lo - 1)]))
                        self._last = (self.rank, first + lo - 1 + extra, t)
                        if lo < hi:
                            start = int(line_starts()[lo - 1])
                        continue
                end = data.find(b"\n", start)
                redo.append(lo)
                read_line(data[start:end].decode("utf-8"), first + lo + extra, t, out)
                lo, start = lo + 1, end + 1
            return lo

        for k in range(n_rest):
            u, gap = unhandled[k], gaps[k]
            if gap:
                lo = one_by_one(u - gap, u, ends[k - 1] + 1 if k else 0) if busy else u - gap
                if lo < u:  # the run of step rows (or what is left of it) in one go
                    skip(u - lo)  # a step line is no `Exception ignored in …` line: no need to decode it
                    self._stepped(after_fast, run_steps[k])
            if several and k in several:
                for j, text in enumerate(several[k]):
                    read_line(text, first + u + extra + j, t, out)
                if gap and not several[k]:  # no line after all (a last lone `\r`): the step row was the last
                    self._last = (self.rank, first + u - 1 + extra, t)
                extra += len(several[k]) - 1
            else:
                read_line(texts[k], first + u + extra, t, out)
            busy = not events.idle or self._parser is not parser
        last = unhandled[-1] if n_rest else -1
        if n_lines > last + 1:  # step rows after the last unhandled line
            lo = one_by_one(last + 1, n_lines, ends[-1] + 1 if n_rest else 0) if busy else last + 1
            if lo < n_lines:
                skip(n_lines - lo)
                self._stepped(after_fast, int(batch.step[-1]))
                self._last = (self.rank, first + n_lines - 1 + extra, t)
        return first + n_lines + extra, _renumber(batch, first, rest.line, several, redo)

    def _stepped(self, after_fast: Callable[[int], None], step: int) -> None:
        """What reading a run of step rows per line would have left, the last of them at `step`."""
        after_fast(step)
        if self._settings is not None:
            self._end_settings()
        self._since_record = 0
        if self._recent:
            self._recent.clear()
            self._recent_chars = 0

    def _line(self, raw: str, lineno: int, t: float, out: list[Record]) -> None:
        rank, text = split_rank(ascii_digits(raw))
        if rank is None:
            rank = self.rank
        self._last = (rank, lineno, t)
        try:
            ev = self._events.feed(text)
        except Exception as exc:  # one odd line must not stop the source; counted, not lost in silence
            self.failures.add(EVENTS, exc, lineno)
            ev = None
        if ev is not None:
            self._emit(ev, rank, lineno, t, out)
        parser = self._parser
        settings = self._settings
        if parser is None:
            if settings is not None:
                self._setting(settings, text, lineno)
            self._hold(rank, text, lineno, t, out)
            return
        try:  # as in _parse, inlined: this runs for every line
            rec = parser.parse(text)
        except Exception as exc:
            self.failures.add(self.format or "parser", exc, lineno)
            rec = None
        if settings is not None:  # a step line is no setting (the fast path never shows it one)
            if rec is not None and rec.kind is Kind.STEP:
                self._end_settings()
            else:
                self._setting(settings, text, lineno)
        if rec is not None:
            self._since_record = 0
            if self._recent:
                self._recent.clear()
                self._recent_chars = 0
            if rec.kind is Kind.STEP and not self._events.idle:
                self._events.stepped()
            self._emit(rec, rank, lineno, t, out)
        elif not self.fixed_format:
            self._maybe_redetect((rank, text, lineno, t), out)

    def _setting(self, settings: Collector, text: str, lineno: int) -> None:
        try:
            settings.feed(text, lineno)
        except Exception as exc:  # counted, not lost in silence: settings are an aside, never a line's cost
            self.failures.add("settings", exc)
            self._end_settings()
            return
        if not settings.open:
            self._end_settings()

    def _parse(self, text: str, lineno: int | None = None) -> Record | None:
        assert self._parser is not None
        try:
            return self._parser.parse(text)
        except Exception as exc:  # a parser bug on odd input must not lose the rest of the log
            self.failures.add(self.format or "parser", exc, lineno)
            return None

    def _flush_events(self) -> Record | None:
        try:
            return self._events.flush()
        except Exception as exc:
            self.failures.add(EVENTS, exc)
            return None

    def _flush_parser(self) -> Record | None:
        if self._parser is None:
            return None
        try:
            return self._parser.flush()
        except Exception as exc:
            self.failures.add(self.format or "parser", exc)
            return None

    def _hold(self, rank: int | None, text: str, lineno: int, t: float, out: list[Record]) -> None:
        assert self._detector is not None
        self._held.append((rank, text, lineno, t))
        self.undecided_lines += 1
        found = self._detector.feed(text)
        if found is None and self._detector.lines_seen >= DETECT_MAX_LINES:
            found = self._detector.best(MIN_GUESS)
            if found is None:  # nothing known here yet: stop holding, keep listening
                self._held.clear()
                self._detector = Detector(failures=self.failures)
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
            rec = self._parse(text, lineno)
            if rec is not None:
                if rec.kind is Kind.STEP and self._settings is not None:  # held while undecided: no setting
                    self._settings.cut(lineno)
                    self._end_settings()
                self._emit(rec, rank, lineno, t, out)
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

    def _emit(self, rec: Record, rank: int | None, lineno: int, t: float, out: list[Record]) -> None:
        """Stamp `rec` and append it, unless it is no record after all (`boundary.checked`: a bogus step)."""
        ok = checked(rec) if rec.step is not None or rec.total_steps is not None else rec
        if ok is not None:
            if self.stamped is None and ok.kind == Kind.STEP:
                self.stamped = ok.t > 0
            out.append(self._stamp(ok, rank, lineno, t))

    def _stamp(self, rec: Record, rank: int | None, lineno: int, t: float) -> Record:
        # A new Record rather than dataclasses.replace, which costs a third of a nanochat line's parsing;
        # positional arguments (kind, step, total_steps, rank, t, metrics, event, message, source, line): -25%.
        return Record(
            rec.kind, rec.step, rec.total_steps, rec.rank if rec.rank is not None else rank, rec.t or t,
            rec.metrics, rec.event, rec.message, self.source, lineno,
        )


def _texts(data: bytes, rest: Unhandled, split: SplitLines) -> tuple[list[str], dict[int, list[str]]] | None:
    """The text lines of the unhandled lines: one each, but for those with a `\\r` and a last line
    without `\\n` (by index: their lines, any number). None if `split` breaks its word (one per line)."""
    raw = rest.texts(data)
    tail = raw.pop() if not data.endswith(b"\n") else None  # the input's last line: always unhandled
    several: dict[int, list[str]] = {}
    if b"\r" in data:
        for i, r in enumerate(raw):
            if b"\r" in r:
                several[i] = split(r + b"\n")
    plain_raw = [r for i, r in enumerate(raw) if i not in several] if several else raw
    plain = split(b"\n".join(plain_raw) + b"\n") if plain_raw else []
    if len(plain) != len(plain_raw):
        return None
    if several:
        it = iter(plain)
        plain = [[] if i in several else next(it) for i in range(len(raw))]  # type: ignore[misc]
    if tail is not None:
        several[len(raw)] = split(tail)
    return plain, several


def _renumber(
    batch: ColumnBatch, first: int, unhandled: np.ndarray, several: dict[int, list[str]], redo: list[int]
) -> ColumnBatch:
    """The batch without the rows read per line, `line` turned into source line numbers."""
    import numpy as np

    line = batch.line
    if redo:
        keep = np.ones(line.size, bool)
        keep[np.searchsorted(line, redo)] = False
        batch = batch.take(keep)
        line = batch.line
    numbers = line + first
    if several:  # lines before each row beyond one per physical line
        more = np.zeros(unhandled.size + 1, np.int64)
        for k, texts in several.items():
            more[k + 1] = len(texts) - 1
        numbers += np.cumsum(more)[np.searchsorted(unhandled, line)]
    numbers.flags.writeable = False
    return replace(batch, line=numbers)


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
