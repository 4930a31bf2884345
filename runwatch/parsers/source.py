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

A guess (a format chosen with no signature line, as a follower that caught up must choose) stays open to
the `DETECT_MAX_LINES`-th line: detection goes on, and the format `check` of those lines would choose takes
over if it is another (`_guessing`).

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
become numpy columns in one call. Of the other lines (about one in ten in a
real log) the noise screen (runwatch.parsers.screen) picks those some reader
may act on, for a format whose parser says which lines it reads (`reads`);
those take the per-line way, in line order, and the rest, with the step rows
between them, are counted in runs, with the state reading them would have
left (the format parser's last step and mfu state, the crash detector's line
count, the re-detection counter and its kept lines). While a traceback or
failure report is open, and after a format switch, lines are read one by
one too, but for runs of step rows and of a traceback's frames. The records
are those `feed` gives for the same lines, in the same order; so are the
counts and ParseFailures, but for this: a line no reader acts on is given to
none, so a reader that would raise on such a line is not seen to.
A format whose parser keeps state between lines and takes its plain step
lines as rows (`rows_in_bulk`: HF Trainer's bar, tqdm, Keras) reads a block
line by line, but a line its parser takes (`take_row`) becomes a row of
the block's ColumnBatch instead of a Record (`_row_lines`).
`RUNWATCH_NO_FAST_PATH=1` in the environment (or `fast_path=False`) turns the
fast path off: every line then goes the per-line way, which is how tests
check that both give the same.

A `feed` of `FEED_BULK` lines and more of a format with a fast path (a
follower catching up, many ranks writing to one file) is read as one chunk
too: one pipeline for a live burst and a one-shot read.

Live lines of a keyed format (a stateless parser with `learn_anchors`:
Megatron, DeepSpeed, torchtitan, `key=value`, the tutorial loop) are read
by the layout learned for their shape, the one the fast path reads a
block's rows with (`line_layouts`, runwatch.parsers.learned.LineLayouts);
a line no layout reads goes to the parser. `fast_path=False` sends every
line to the parser, the reference the tests hold both to.
"""

from __future__ import annotations

import math
import os
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from functools import cache
from itertools import islice
from operator import attrgetter
from typing import TYPE_CHECKING

from runwatch.model import FATAL_EVENTS, Event, Kind, Preamble, Record, completed
from runwatch.parsers.base import FormatParser, RowBlock, RowColumns, StepLineParser
from runwatch.parsers.boundary import OVERRUN, checked, overruns, plausible_step, readable
from runwatch.parsers.chunk import ChunkRecords as ChunkRecords  # its home before chunk.py: importers keep it
from runwatch.parsers.chunk import with_total as with_total
from runwatch.parsers.detect import MIN_GUESS, Detector
from runwatch.parsers.epochs import EpochSteps
from runwatch.parsers.events import FRAME_LEAD, WAKES, EventDetector, never_wakes
from runwatch.parsers.failures import DETECTION, EVENTS, ParseFailures
from runwatch.parsers.launches import LaunchWatch
from runwatch.parsers.learned import LineLayouts
from runwatch.parsers.numbers import MAX_STEP
from runwatch.parsers.preamble import RELAUNCH_BYTES, Collector, relaunched
from runwatch.parsers.prefix import FIRST_CHARS, launcher_prefixed, split_rank
from runwatch.parsers.registry import ALIASES, make_parser, parser_class
from runwatch.parsers.rounded import RoundedSteps
from runwatch.parsers.rows import Rows

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
MIN_RUN = 16
"""Lines of a run of rows (`RowBlock.ends`) from which it is taken in one go: a run costs ~50 µs of numpy
calls, a row taken one by one ~10 µs (an HF Trainer console with a dict every few frames is all short runs)."""
DETECT_PIECE = 1 << 13
"""Bytes of a chunk split and read line by line at a time while the format is undecided."""
FEED_BULK = 64
"""Lines of one `feed` call from which a format with a fast path reads them as one chunk (`feed_bytes`):
a call of the fast path costs ~0.1 ms, a line read the per-line way 3–10 µs."""

SplitLines = Callable[[bytes], list[str]]
"""Bytes of whole lines → their text lines, as the source's line splitter gives them (escapes
stripped, `\\r` frames split off): one per line, but for a line with a `\\r` (any number). A last
line without `\\n` is the input's last line. A plain line (printable ASCII and tabs, at most
runwatch.parsers.screen.PLAIN_MAX bytes) is its own text. runwatch.watcher.snapshot.split_block is one."""


_Line = tuple[int | None, str, int, float]  # rank, text, line number, read time


_line_no = attrgetter("line")
_STEP = Kind.STEP
_EVAL = Kind.EVAL
_FINISHED = Event.FINISHED
"""Looked up once: an enum member looked up on its class costs ~0.2 µs in Python 3.11, on every step line."""
_HOLDS_NOTHING = FormatParser.settle
"""The `settle` of a parser that holds no record for a line that may never come (not called: a live line
is followed by a `settle`)."""


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
        self._held_events: list[Record] = []
        """Events of lines read while no format was chosen, waiting to go out in line order with the records of
        the held lines before them (`_release_events`)."""
        self.undecided_lines = 0
        """Lines read while no format was chosen (for a note when a file holds nothing runwatch knows)."""
        self._since_record = 0
        self._guess_left = 0
        """Lines to go while a guess is open (`_guessing`), up to the `DETECT_MAX_LINES`-th; 0: no guess open."""
        self._guess_window: list[_Line] = []
        """The record-less lines since the guess."""
        self._guess_detector: Detector | None = None
        """Detection going on while a guess is open."""
        self._guess_signed: str | None = None
        """The last format other than the guess that a line since the guess signed."""
        self._recent: deque[_Line] = deque()
        self._recent_chars = 0
        self._last: tuple[int | None, int, float] = (rank, 0, 0.0)
        self._reorder = False
        self.lines = 0
        self.records = 0
        self._settings: Collector | None = Collector()
        """The settings the log prints before its first loss or step (`preamble`); None once they ended."""
        self._found: Preamble | None = None
        self._prior: tuple[int | None, tuple[int, ...], float, int] | None = None
        """The plans before a launch's header reopened the settings (`_reopen_settings`): those it states none of."""
        self._plan_changes: list[tuple[int, int | None]] = []
        """Within `feed_bytes`, once another launch's header came: the plan before it (from line 0), then each line
        where a header changed `planned` and the new plan: the chunk's records and rows take the plan of the launch
        they are in (`_planned_by_line`)."""
        self.planned: int | None = None
        """The steps the log's header says the run plans (`max_steps=400`: runwatch.parsers.preamble.PLANNED),
        the total of every step record and row that states none; None while it said none."""
        self.pauses: tuple[int, ...] = ()
        """Every how many steps the log's header says the run saves or evaluates (runwatch.parsers.preamble.
        PAUSE_EVERY): its run's planned pauses (RunTracker.planned_pauses)."""
        self.stamped: bool | None = None
        """Whether the log's step lines state when they were written (Megatron's `[2024-04-06 03:02:12]`),
        as its first step record says; None before one. A record of a line that states none takes the read
        time, which says nothing of when the run logged it where a history is read at once."""
        self.fast_path = os.environ.get(NO_FAST_PATH_ENV, "0") in ("", "0") if fast_path is None else fast_path
        """Whether `feed_bytes` may use the columnar fast path, and `feed` the learned layouts of a keyed
        format's step lines (RUNWATCH_NO_FAST_PATH turns both off: every line then goes to the parser)."""
        self._use_layouts(self.format)
        self._epochs = EpochSteps()
        """Steps counted within each epoch made one axis (runwatch.parsers.epochs)."""
        self._sure_epochs = True
        """Whether the header's epochs are the parser's to count by (`_planned_epochs`)."""
        self._rounded = RoundedSteps()
        self._launches = LaunchWatch()
        """New launches into this source, told while no format is chosen (runwatch.parsers.launches)."""
        self._in_chunk = False
        """Within `feed_bytes`: the epochs of its records and rows are counted at its end, in line order."""

    def feed(self, lines: Sequence[str], first_line: int, t: float) -> list[Record]:
        """Records completed by these lines (numbered from `first_line`, read at `t`), in line order.

        A batch of `FEED_BULK` lines and up (a follower catching up, many ranks writing to one file) of a
        format with a fast path goes the way `feed_bytes` reads a chunk, the same records."""
        if len(lines) >= FEED_BULK and (self._fast_parser() is not None or self._row_parser() is not None):
            text = "\n".join(lines)
            if "\r" not in text and text.count("\n") == len(lines) - 1:  # one line each, as split gives them back
                return self.feed_bytes((text + "\n").encode("utf-8", "surrogatepass"), first_line, t, _lines_of).merged()
        out: list[Record] = []
        self._reorder = False
        if len(lines) == 1:  # a live line alone, the usual case of a follower
            self._line(lines[0], first_line, t, out)
        else:
            self._lines(lines, first_line, t, out)
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
        self._in_chunk = True
        try:
            line, steps = self._chunk(data, first_line, t, split, out)
        finally:
            self._in_chunk = False
        if self._reorder:
            out.sort(key=_line_no)  # stable: an event stays before the step of its own line
        if self._parser is not None and self._parser.rounds_steps:
            steps = self._rounded.chunk(out, steps)
        steps = self._epochs.chunk(out, steps, self.rank)
        self.lines += line - first_line
        self.records += len(out) + (len(steps) if steps is not None else 0)
        if self.stamped is None and steps is not None and len(steps):
            self.stamped = steps.t is not None and bool(steps.t[0] > 0)
        changes, self._plan_changes = self._plan_changes, []
        if changes:  # another launch's header in the chunk: each record and row under the plan of its own launch
            steps = self._planned_by_line(out, steps, changes, self._epochs.by_epoch)
        elif self.planned is not None:
            steps = self._planned(out, steps, self.planned, self._epochs.by_epoch)
        return ChunkRecords(line - first_line, out, steps, self.source, self.rank, t)

    def _chunk(
        self, data: bytes, first_line: int, t: float, split: SplitLines, out: list[Record]
    ) -> tuple[int, ColumnBatch | None]:
        """`feed_bytes`' reading: (the number of the line after the chunk, its step rows)."""
        line, pos, steps = first_line, 0, None
        while pos < len(data) and (self._parser is None or self._guess_left):  # detect (or go on after a guess)
            # line by line, a piece at a time
            end = data.find(b"\n", pos + DETECT_PIECE) + 1 or len(data)
            line = self._lines(split(data[pos:end]), line, t, out)
            pos = end
        if pos < len(data):
            rest = data[pos:] if pos else data
            if not self._launches.seen:  # a format given: the log's first line, as `_line` would have read it first
                head = rest[:1 << 16]
                self._opening(split(head[:head.rfind(b"\n") + 1] or head), line)
            if self._fast_parser() is not None:
                line, steps = self._fast(rest, line, t, split, out)
            elif self._row_parser() is not None:
                line, steps = self._row_lines(split(rest), line, t, out)
            else:
                line = self._lines(split(rest), line, t, out)
        return line, steps

    @property
    def preamble(self) -> Preamble | None:
        """The `key: value` settings the log printed before its first loss or step record (runwatch.parsers.
        preamble), so far while they go on; None when it printed none."""
        found = self._found if self._settings is None else self._settings.result()
        if self._settings is not None and self._prior is not None and found is not None and not found.settings:
            found = self._found  # another launch's header, no setting of it read yet: the last launch's meanwhile
        return found if found is not None and found.settings else None

    def _end_settings(self) -> None:
        if self._settings is not None:
            found = self._settings.result()
            if self._prior is None or found.settings:  # a launch's header with no settings keeps the last one's
                self._found = found
            self._settings = None

    def _reopen_settings(self) -> None:
        """Another launch's header after steps (runwatch.parsers.preamble.RELAUNCH_MARKERS): its settings are read
        until its first step, as the log's first ones were, and its plans replace those it states."""
        self._prior = (self.planned, self.pauses, self._epochs.planned, self._epochs.epoch_length)
        self._settings = Collector()
        if self._in_chunk and not self._plan_changes:
            self._plan_changes.append((0, self.planned))  # the chunk's lines before it keep the plan they had

    def flush(self) -> list[Record]:
        """Records of blocks still open at the end of the input (and of lines still held)."""
        out: list[Record] = []
        if self._parser is None and self._held:
            self._choose(self._detector.best(MIN_GUESS) if self._detector else None, out, guessed=True)
        rec = self._flush_events()
        if rec is not None:
            self._emit(rec, *self._last, out)
        self._take_flushed(out)
        self.records += len(out)
        return out

    def end_of_input(self, t: float) -> list[Record]:
        """A stream (stdin) ended: `flush()`'s records and the exit event that says so, at the last line.

        End of input is no finished run (only a finish line, an exit code or the total reached are);
        `runwatch tail -` ends a pipe with this one record (`parse -`/`check -` read a pipe as a file,
        runwatch.commands.readers.BlockReader, and their replay ends the input itself). A stream of which
        nothing was understood (empty, binary, prose) gets none: it would be the run's only record.
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
                self._choose(found, out, guessed=True)
        elif self._guess_left:
            self._look_at_guess(out)
        self._release_events(out)  # live, an event cannot wait for a format that may never be chosen
        parser = self._parser
        if parser is not None and type(parser).settle is not _HOLDS_NOTHING:  # a live line's cost: no call
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

    @property
    def holds_record(self) -> bool:
        """Whether the format parser holds a record for a line that comes soon while the run goes on
        (`FormatParser.holding`: an HF dict waiting for its bar's redraw, a block for its closing rule)."""
        return self._parser is not None and self._parser.holding

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

    def close_held(self) -> list[Record]:
        """The source went quiet while the format parser held a record (`holds_record`): that record now, as
        `flush` gives it at the end of a one-shot read (an HF console that ended on a dict after a
        KeyboardInterrupt read 2102 to `check`, 2100 to `tail` for ever). The parser goes on if more comes."""
        out: list[Record] = []
        if self.holds_record:
            self._take_flushed(out)
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
        return parser is not None and (isinstance(parser, StepLineParser) or parser.learn_anchors is not None
                                       or parser.documents is not None)

    def _fast_parser(self) -> FormatParser | None:
        """The format parser, if the fast path may read its step lines now."""
        return self._parser if self.fast_path and self.has_fast_path else None

    def _row_parser(self) -> FormatParser | None:
        """The format parser, if it takes its step lines as rows (`FormatParser.rows_in_bulk`) and the fast
        path is on."""
        parser = self._parser
        return parser if self.fast_path and parser is not None and parser.rows_in_bulk else None

    def _row_lines(
        self, lines: Sequence[str], first: int, t: float, out: list[Record]
    ) -> tuple[int, ColumnBatch | None]:
        """`_lines` for a parser that takes step lines as rows (`take_row`): (the number of the line after
        them, the rows as columns). A line it takes is what `_line` makes of it (its event, if any, first),
        but for the Record: a line with a launcher prefix, and any line the parser does not take (one with a
        digit that is not ASCII among them), goes through `_line`; so does the rest after a format switch."""
        parser = self._parser
        assert parser is not None
        take, line_of, rows = parser.take_row, self._line, Rows()
        block = self._row_block(parser, lines, first)
        k, n = 0, len(lines)
        while k < n:
            if block is not None and block.ends[k] - k >= MIN_RUN and self._parser is parser and block.ready():
                end = block.ends[k]
                if self._take_run(block, lines, k, end, first, t, out, rows):
                    k = end
                    continue
                block = None  # its state is unsure after a failure: the rest the usual way
            i, raw = first + k, lines[k]
            k += 1
            if self._parser is not parser or launcher_prefixed(raw):
                line_of(raw, i, t, out)
                continue
            try:
                row = take(raw)
            except Exception as exc:  # counted as `_line` counts a parser's; the line then goes that way
                self.failures.add(self.format or "parser", exc, i)
                row = None
            if row is None:
                line_of(raw, i, t, out)
                continue
            step, total = row[0], row[1]
            self._row_read(raw, i, t, out, -1 if step is None else step)
            if total is not None and not 0 <= total <= MAX_STEP:
                row = (step, None, row[2])
            elif total is not None and step is not None and overruns(step, total):
                continue  # no step line after all (`boundary.checked`)
            if plausible_step(step):
                rows.add(i, row)
        return first + len(lines), rows.batch()

    def _row_read(self, raw: str, i: int, t: float, out: list[Record], step: int) -> None:
        """What `_line` does for a step line besides its record, for a row taken at line `i` (one by one, or in
        a run while a traceback is open): the crash detector reads it (an event first), and the source's
        bookkeeping after record-less lines. `after_fast` is nothing for the parsers that take rows."""
        self._last = (self.rank, i, t)
        events = self._events
        try:
            ev = events.feed(raw)
        except Exception as exc:  # as `_line` counts it
            self.failures.add(EVENTS, exc, i)
            ev = None
        if ev is not None:
            self._emit(ev, self.rank, i, t, out)
            self._launches.event(ev.event, i)
        if self._since_record or self._recent or self._settings is not None:  # after a record-less line
            self._stepped(self._parser.after_fast, step)  # type: ignore[union-attr]  # a step record, as `_line` takes one
        elif step >= 0:
            self._launches.stepped(step)  # as `_emit` of its record (`_stepped` tells the watch itself)
        if not events.idle:
            events.stepped()

    def _row_block(self, parser: FormatParser, lines: Sequence[str], first: int) -> RowBlock | None:
        """The parser's `RowBlock` of these lines; None when it reads none or no row (a failure is counted)."""
        try:
            block = parser.read_rows(lines)
        except Exception as exc:  # the block goes `take_row` by `take_row`: nothing is lost, but it is a bug
            self.failures.add(f"{self.format or 'parser'} rows", exc, first)
            return None
        return block if block is not None and block.row.any() else None

    def _opening(self, lines: Sequence[str], first: int) -> None:
        """The launch watch's first line, when the fast path reads from the log's first line on (`_chunk`)."""
        for k, raw in enumerate(lines):
            text = raw if raw.isascii() else readable(raw)
            if text[:1] in FIRST_CHARS:
                text = split_rank(text)[1]
            self._launches.line(text, first + k)
            if self._launches.seen:
                return

    def _take_run(
        self, block: RowBlock, lines: Sequence[str], lo: int, hi: int, first: int, t: float, out: list[Record],
        rows: Rows,
    ) -> bool:
        """Lines lo..hi-1, a run of `block`, taken as `_row_lines` takes each line: the rows in one go (their
        events, the source's bookkeeping, the row checks), the neutral lines between them the usual way, in
        order; False, with nothing taken, when the parser failed on them."""
        import numpy as np

        try:
            cols = block.take(lo, hi)
        except Exception as exc:
            self.failures.add(f"{self.format or 'parser'} rows", exc, first + lo)
            return False
        events, rank, after_fast, row = self._events, self.rank, self._parser.after_fast, block.row  # type: ignore[union-attr]
        at = np.flatnonzero(row[lo:hi]) + lo
        cut = np.flatnonzero(at[1:] - at[:-1] != 1) + 1  # rows in groups of adjacent lines
        starts, stops = at[np.concatenate([[0], cut])].tolist(), (at[np.concatenate([cut - 1, [at.size - 1]])] + 1).tolist()
        k, r = lo, 0  # the next line, the rows so far
        for start, stop in zip(starts, stops, strict=True):
            if k < start:
                self._neutral_lines(lines, k, start, first, t, out)
            if events.idle and bool(block.quiet[start:stop].all()):
                events.skip(stop - start, lines[stop - 1])  # as `feed` of each: lines no idle detector acts on
                self._launches.stepped(int(cols.step[r + stop - start - 1]))
                if self._since_record or self._recent or self._settings is not None:
                    self._stepped(after_fast, int(cols.step[r]))
                self._last = (rank, first + stop - 1, t)
            else:
                for j in range(start, stop):
                    self._row_read(lines[j], first + j, t, out, int(cols.step[r + j - start]))
            r += stop - start
            k = stop
        step, total = cols.step, cols.total
        total = np.where(total > MAX_STEP, -1, total)  # as `checked`: a total no float holds is none
        keep = ~((total >= 0) & (step > OVERRUN * total)) & (step >= -MAX_STEP) & (step <= MAX_STEP)  # `checked`
        if not keep.all():
            cols = RowColumns(step[keep], total[keep], {m: v[keep] for m, v in cols.metrics.items()},
                              {m: v[keep] for m, v in cols.present.items()})
        else:
            cols = cols._replace(total=total)
        rows.add_run((at + first)[keep], cols)
        return True

    def _neutral_lines(self, lines: Sequence[str], lo: int, hi: int, first: int, t: float, out: list[Record]) -> None:
        """Lines lo..hi-1 of a run of rows, none a row, each one whose `parse` gives nothing and changes
        nothing (`RowBlock.ends`): read as `_line` reads them, but for the parser's call. A plain line no
        idle crash detector wakes on, while no settings are collected, is only counted (re-detection keeps
        it; a validation bar's frames are such lines); any other goes through `_line`."""
        events, admits, rank = self._events, WAKES.admits, self.rank
        counted: list[_Line] = []
        for j in range(lo, hi):
            raw = lines[j]
            if events.idle and self._settings is None and self._layouts is None and raw[:1] not in FIRST_CHARS and not (
                    self._launches.armed and (opening := self._launches.opening) is not None and opening in raw):
                text = raw if raw.isascii() else readable(raw)  # as `_line` reads it
                if not admits(text):
                    events.skip(1, text)
                    counted.append((rank, text, first + j, t))
                    continue
            if counted:
                self._counted(counted)
                counted = []
            self._line(raw, first + j, t, out)
        if counted:
            self._counted(counted)

    def _counted(self, lines: list[_Line]) -> None:
        """Record-less lines no reader acts on, as `_line` leaves the source after each."""
        self._last = lines[-1][0], lines[-1][2], lines[-1][3]
        if not self.fixed_format:
            self._keep(lines)  # fewer than REDETECT_AFTER: a run of rows holds at most a few between two

    def _fast(
        self, data: bytes, first: int, t: float, split: SplitLines, out: list[Record]
    ) -> tuple[int, ColumnBatch | None]:
        """The fast path over a chunk of whole lines: (the number of the line after them, the step columns).

        Every physical line (split at `\\n`) is a step row of the batch or
        unhandled; a step row is one line of the splitter (printable UTF-8, no
        `\\r`), an unhandled line one or more (or none: a last lone `\\r`).
        The noise screen (runwatch.parsers.screen) flags the unhandled lines
        that some reader may act on; `_Walk` reads those in line order and
        counts the rest in runs.
        """
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
        if found is not None:
            batch, rest = found
            raw = rest.texts(data)
            flagged = self._flagged(self.format, raw, batch, rest)
            texts = _texts(raw, flagged, data.endswith(b"\n"), b"\r" in data, split)
            if texts is not None:
                walk = _Walk(self, parser, data, (first, t, out), batch, rest, raw, flagged, texts)
                lines = walk.run()
                return first + lines, _renumber(batch, first, rest.line, texts[1], walk.redo)
        return self._lines(split(data), first, t, out), None

    def _flagged(self, fmt: str, raw: list[bytes], batch: ColumnBatch, rest: Unhandled) -> np.ndarray:
        """Which unhandled lines (`raw`, their bytes) must be read per line: those the noise screen flags
        (a reader may act on them, or they are not plain ASCII: `\\r` frames, escapes), and while settings
        are collected those before the first step row (the collector reads every line until then). All
        of them for a parser without `reads`. The rest are plain lines no reader acts on."""
        import numpy as np

        from runwatch.parsers.screen import screen_for

        screen = screen_for(fmt)
        if screen is None:
            return np.ones(len(rest), bool)
        flagged = screen.flag(raw)
        if self._settings is not None:
            flagged[: int(np.searchsorted(rest.line, batch.line[0])) if len(batch) else len(rest)] = True
        opening = self._launches.opening
        if opening is not None and (self._launches.armed or flagged.any()):  # what may arm the watch is flagged
            mark = opening.encode("utf-8", "replace")
            for i, line in enumerate(raw):  # a launch is told by its log's first line again (`_line`)
                if mark in line:
                    flagged[i] = True
        for i in np.flatnonzero(flagged).tolist():  # another launch's header: every line up to its first step row,
            if any(marker in raw[i] for marker in RELAUNCH_BYTES):  # as the collector reads them line by line
                after = int(np.searchsorted(batch.line, rest.line[i]))
                flagged[i: int(np.searchsorted(rest.line, batch.line[after])) if after < len(batch) else len(rest)] = True
        return flagged

    @classmethod
    def _planned_by_line(cls, out: list[Record], batch: ColumnBatch | None, plans: list[tuple[int, int | None]],
                         by_epoch: Callable[[Record], bool]) -> ColumnBatch | None:
        """`_planned` of a chunk whose plan changed at some lines (`plans`: from each line on, its plan; None: none):
        each part of its records and rows under its own."""
        import numpy as np

        starts = [line for line, _ in plans]
        for i, rec in enumerate(out):
            planned = plans[bisect_right(starts, rec.line) - 1][1]
            if planned is not None:
                one = [rec]
                cls._planned(one, None, planned, by_epoch)
                out[i] = one[0]
        ends = [*starts[1:], 1 << 62]
        for (lo, planned), hi in zip(plans, ends, strict=True):
            if planned is not None and batch is not None and len(batch):
                inside = (batch.line >= lo) & (batch.line < hi)
                if inside.any():
                    whole = cls._planned([], batch, planned, by_epoch)
                    assert whole is not None
                    total = np.where(inside, whole.total, batch.total)
                    total.flags.writeable = False
                    batch = replace(batch, total=total)
        return batch

    @staticmethod
    def _planned(out: list[Record], batch: ColumnBatch | None, planned: int,
                 by_epoch: Callable[[Record], bool]) -> ColumnBatch | None:
        """`planned` (SourceParser.planned) as the total of a chunk's step and eval records and rows whose line
        states none or one epoch's (`_short_of`), but not of records stepped by their epoch (`by_epoch`), as
        `_emit` gives it to a line's record: the batch so made."""
        for i, rec in enumerate(out):
            if ((rec.kind is _STEP or rec.kind is _EVAL) and rec.step is not None and not by_epoch(rec)
                    and _short_of(rec, planned)):
                out[i] = replace(rec, total_steps=planned)
        if batch is None:
            return batch
        import numpy as np

        epoch = batch.metrics.get("epoch")
        short = batch.total < 0
        if epoch is not None:
            short |= ~np.isnan(epoch) & (batch.total != planned)
        short &= batch.step <= planned  # `_short_of`
        if not short.any():
            return batch
        total = np.where(short, planned, batch.total)
        total.flags.writeable = False
        return replace(batch, total=total)

    def _stepped(self, after_fast: Callable[[int], None], step: int) -> None:
        """What reading a run of step rows per line would have left, the last of them at `step`."""
        after_fast(step)
        self._launches.stepped(step)
        if self._settings is not None:
            self._end_settings()
        self._since_record = 0
        if self._recent:
            self._recent.clear()
            self._recent_chars = 0

    def _line(self, raw: str, lineno: int, t: float, out: list[Record]) -> None:
        text = raw if raw.isascii() else readable(raw)
        launched: int | None = None
        if text[:1] in FIRST_CHARS:  # the rest are their own text: no call for them
            launched, text = split_rank(text)
            rank = self.rank if launched is None else launched
        else:
            rank = self.rank
        self._last = (rank, lineno, t)
        layouts, quiet = self._layouts, self._quiet
        fatal: Record | None = None
        rec = self._learned(layouts, text, lineno) if layouts is not None and self._events.idle else None
        if rec is None and (quick := self._quick) is not None and (parser := self._parser) is not None and self._events.idle and (
                self._launches.seen and not self._launches.armed and (read := quick(text)) is not None):
            # a template's step line of plain numbers, read as the fast path reads its row: not by the parser's
            # general reading, nor the crash detector's gate, nor the launch watch (most of a live line's cost)
            step, total, metrics = read
            for name in parser.fast_omit():
                metrics.pop(name, None)
            rec = Record(_STEP, step, total, None, 0.0, metrics)
        if rec is not None:  # a line no idle crash detector wakes on (LineLayouts keeps no other, nor `quick_reader`)
            self._events.skip(1, text)
            if (parser := self._parser) is not None and rec.step is not None:  # as the fast path's rows tell it
                parser.after_fast(rec.step)
        else:
            try:
                ev = self._events.feed(text)
            except Exception as exc:  # one odd line must not stop the source; counted, not lost in silence
                self.failures.add(EVENTS, exc, lineno)
                ev = None
            parser = self._parser
            if ev is not None:
                if launched is not None and ev.rank is not None and ev.rank != launched:
                    # the launcher's label is the process's global rank; a rank the message names may be its
                    # rank in a process group (`29: [rank29]:… [Rank 1] Watchdog caught collective operation
                    # timeout`, tensor parallel: the alert named rank 1, a review)
                    ev = replace(ev, rank=launched)
                if parser is not None and ev.event in FATAL_EVENTS and ev.message and ev.message[:40] in text:
                    # given out after the step its own line drew: a bar's frame, then what killed the run on
                    # the same line (`29948it [35:34, 7.00s/it]slurmstepd: error: *** JOB 25883692 … CANCELLED
                    # …`). Before it, the step read as the run going on after the crash: `check` said `ended`,
                    # "the run went on after a fatal error" (a review). A finish keeps its place before it, and
                    # so does a report that ended at this line (torch elastic's, its message on lines before)
                    fatal = ev
                else:
                    if ev.event == _FINISHED and ev.step is None and parser is not None:
                        ev = replace(ev, step=parser.epoch_end_step())  # printed before the epoch's last step line
                    self._emit(ev, rank, lineno, t, self._held_events if parser is None and self._may_wait() else out)
            if ev is not None:  # a line's own fatal event (an OOM, `Killed`) arms the launch watch; a traceback's
                self._launches.event(ev.event, lineno)  # arms it at its header and comes with the line after its
                # block, maybe the opening line
            if parser is None:
                if (launch := self._launches.line(text, lineno)) is not None:  # no format yet: no step says it went on
                    self._emit(launch, rank, lineno, t, self._held_events if self._may_wait() else out)
                if self._settings is not None:
                    self._setting(self._settings, text, lineno)
                self._hold(rank, text, lineno, t, out)
                if ev is not None and self._parser is None and self._held and self._detector is not None:
                    self._choose_before(out)
                return
            if (launch := self._launches.line(text, lineno)) is not None:
                # a format read, the log's first line again after a fatal error: launches that log only evaluations
                # (`Initial validation loss: 11.7` as each starts: the last, after a crash, read `crashed`), or steps
                # of a bar the new launch draws anew (HF's `0/40001` after `560/240003` and a crash, read as an
                # evaluation at 560: `crashed` while it trained; reviews)
                if _steps_alone(parser, text):
                    self._launches.forget()  # an opening step line: the fast path reads it as a row, no launch
                else:
                    self._emit(launch, rank, lineno, t, out)
                    parser.launched()
            try:  # as in _parse, inlined: this runs for every line
                rec = None if quiet is not None and quiet(text) else parser.parse(text)
            except Exception as exc:
                self.failures.add(self.format or "parser", exc, lineno)
                rec = None
            if fatal is not None and (rec is None or rec.kind is not _STEP):
                self._emit(fatal, rank, lineno, t, out)
                fatal = None
        if rec is None and self._settings is None and relaunched(text):
            self._reopen_settings()
        settings = self._settings
        if settings is not None:  # a step line is no setting (the fast path never shows it one)
            if rec is not None and rec.kind is _STEP:
                self._end_settings()
            else:
                self._setting(settings, text, lineno)
        if rec is not None:
            self._since_record = 0
            if self._recent:
                self._recent.clear()
                self._recent_chars = 0
            if rec.kind is _STEP and not self._events.idle:
                self._events.stepped()
            self._emit(rec, rank, lineno, t, out)
            if fatal is not None:
                self._emit(fatal, rank, lineno, t, out)
            if self._parser is not None and self._parser.more:
                self._take_more(rank, lineno, t, out)
        elif not self.fixed_format:
            self._maybe_redetect((rank, text, lineno, t), out)
        if self._guess_left:
            self._guessing(rec is None, (rank, text, lineno, t), out)

    def _guessing(self, recordless: bool, line: _Line, out: list[Record]) -> None:
        """A line read while a guess is open. A follower guesses from the lines it found (`settle`), fewer than
        `check` of the whole file decides on (the first `DETECT_MAX_LINES`, or all of a shorter file), and
        what came next overturned it there: bare tqdm frames (`0/5 [00:00<?, ?it/s]`, a loop's bars before
        its first step) were the HF Trainer's by registry order, and its `loss=` frames after them no HF bar's
        (a run lab recording of nested bars followed live missed the NaN `check` caught); DeepSpeed's
        `step=1, skipped=0, lr=[…]` beat a script's `[Step 1/100] Loss: 5.49` lines not yet written, and the
        run showed no loss live (a review). So detection goes on over the lines after a guess up to the
        `DETECT_MAX_LINES`-th, and at each catch-up (`settle`), at a signature line and at the last of them
        the format it finds then, as `check` of the same lines would, takes over if it is another, reading
        again the lines the guess read no record from; what the guess read stays read. The lines are read
        one by one (`_chunk`), as `feed` reads them."""
        det = self._guess_detector
        assert det is not None
        try:
            signed = det.feed(line[1])
        except Exception as exc:  # a probe bug must not stop the source
            self.failures.add(DETECTION, exc, line[2])
            signed = None
        if signed is not None and signed != self.format:
            self._guess_signed = signed
        if recordless:
            self._guess_window.append(line)
        self._guess_left -= 1
        early = signed is None and bool(det.stepped) and self.format not in det.stepped and self.format not in det.signed
        if signed is not None or not self._guess_left or early:
            # at once, too, where another format read a step with its loss and the guess none (a RecBole run's bar
            # guessed tqdm, then its `epoch 0 training [… train loss: 74.7694]`): its next lines are the new
            # reading's (a catch-up of the rest read all of them as bars: `finished` at 108/108). That reading is
            # itself a guess, open to a signature line still to come (the HF Trainer's after a loop's own `Step 5 |
            # loss 2.31`: closed, its 200 losses and a NaN went unread by a follower, a code review)
            self._look_at_guess(out, still_open=early and self._guess_left > 0)
        if not self._guess_left:
            self._guess_window, self._guess_detector, self._guess_signed = [], None, None

    def _look_at_guess(self, out: list[Record], *, still_open: bool = False) -> None:
        """The open guess against what detection finds now: another format takes over (`_guessing`), itself a
        guess where `still_open`."""
        det = self._guess_detector
        if det is None:
            return
        found = self._guess_signed or det.best(MIN_GUESS)
        if found is None or found == self.format:
            return
        window, self._guess_window = self._guess_window, []
        if not still_open:
            self._guess_left, self._guess_detector, self._guess_signed = 0, None, None
        self._recent, self._recent_chars, self._since_record = deque(), 0, 0
        self._epochs = self._epochs.anew()  # what the guess's steps stated is no fact of the new reading (a RecBole
        # run's bar read as steps: its `epoch 430 training [… train loss: 33.01]` lines, read by epoch, gave none)
        self.format = found
        self._parser = self._planned_parser(found)
        self._use_layouts(found)
        self._replay(window, out)

    def _use_layouts(self, fmt: str | None) -> None:
        """Read `fmt`'s lines by its learned layouts (shared by the format's sources, `line_layouts`), and
        leave unread those of the shapes its parser reads no record from (this source's own QuietShapes)."""
        self._layouts = line_layouts(fmt) if fmt and self.fast_path else None
        self._quiet = self._layouts.quiet() if self._layouts is not None else None
        self._quick = quick_reader(fmt) if fmt and self.fast_path else None

    def _learned(self, layouts: LineLayouts, text: str, lineno: int) -> Record | None:
        """The record of a step line its shape's learned layout reads, or None (the parser's line)."""
        try:
            return layouts.read(text)
        except Exception as exc:  # a bug, not the line's: counted, and the parser reads it
            self.failures.add(f"{self.format} layouts", exc, lineno)
            return None

    def _setting(self, settings: Collector, text: str, lineno: int) -> None:
        try:
            settings.feed(text, lineno)
        except Exception as exc:  # counted, not lost in silence: settings are an aside, never a line's cost
            self.failures.add("settings", exc)
            self._end_settings()
            return
        self._adopt_plans(settings, lineno)
        if not settings.open:
            self._end_settings()

    def _adopt_plans(self, settings: Collector, lineno: int = 0) -> None:
        """The run's plans as the preamble states them now: steps for `total_steps`, epochs for the epoch count.
        Copied whole, a plan `cut` dropped (stated after the first step) is dropped here too; after another launch's
        header, one it does not state is the launch's before it (`_prior`)."""
        planned, pauses, epochs, length = (None, (), math.nan, -1) if self._prior is None else self._prior
        now = planned if settings.planned is None else settings.planned
        if self._plan_changes and now != self.planned:
            self._plan_changes.append((lineno, now))
        self.planned = now
        self.pauses = settings.pauses or pauses
        self._epochs.planned = epochs if (e := settings.planned_epochs) is None else float(e)
        self._epochs.epoch_length = length if settings.epoch_length is None else settings.epoch_length
        self._epochs.epoch_based = settings.epoch_based or self._epochs.epoch_based
        self._sure_epochs = len(settings.epoch_counts) <= 1
        if self._parser is not None:
            self._parser.plan_epochs(self._planned_epochs)

    @property
    def _planned_epochs(self) -> int | None:
        """The run's epochs as the header plans them (`EpochSteps.planned`) for a parser that counts across epochs
        itself (`FormatParser.plan_epochs`); None where it states none, or more than one count of epochs (a
        scheduler's `max_epochs: 100` beside the trainer's 20: a code review). A plan of steps beside it is the
        run's (`_short_of`)."""
        e = self._epochs.planned
        return int(e) if e == e and e > 0 and self._sure_epochs else None

    def _planned_parser(self, fmt: str) -> FormatParser:
        """`fmt`'s parser, told the epochs the header plans (`FormatParser.plan_epochs`)."""
        parser = make_parser(fmt)
        parser.plan_epochs(self._planned_epochs)
        return parser

    def _take_more(self, rank: int | None, lineno: int, t: float, out: list[Record]) -> None:
        """The records the parser gave beyond the one it returned (`FormatParser.more`), at the same line."""
        assert self._parser is not None
        more = list(self._parser.more)
        self._parser.more = []
        for rec in more:
            self._emit(rec, rank, lineno, t, out)

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

    def _take_flushed(self, out: list[Record]) -> None:
        """The format parser's record of what it still holds (`flush`), and what it gave beyond it (`more`)."""
        rec = self._flush_parser()
        if rec is not None:
            self._emit(rec, *self._last, out)
        if self._parser is not None and self._parser.more:
            self._take_more(*self._last, out)

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
        guessed = False
        if found is None and self._detector.lines_seen >= DETECT_MAX_LINES:
            found, guessed = self._detector.best(MIN_GUESS), True
            if found is None:  # nothing known here yet: stop holding, keep listening
                self._held.clear()
                self._detector = Detector(failures=self.failures)
                self._release_events(out)
                return
        if found is not None:
            self._choose(found, out, guessed=guessed)

    def _choose_before(self, out: list[Record]) -> None:
        """An event among held lines (a traceback after the step lines of a format with no signature line,
        `key=value`'s, a plain loop's): the format is chosen from what was read, as a follower's catch-up
        chooses it (`settle`), so that the held steps go out before the event (sorted into line order with
        it). Released later, at the end of the input, they came after it: `check` replayed the crash before
        the run's first step, the steps after it a new attempt, and said OK of a run that died of an OOM;
        `tail` showed it running."""
        assert self._detector is not None
        found = self._detector.best(MIN_GUESS)
        if found is not None:
            self._choose(found, out, guessed=True)

    def _choose(self, fmt: str | None, out: list[Record], *, guessed: bool = False) -> None:
        """Read with `fmt` from now on, the held lines first; `guessed`: no line signed it (`_guessing`)."""
        held, self._held = self._held, []
        if fmt is None:
            self._release_events(out)
            return
        det = self._detector
        seen = det.lines_seen if det is not None else DETECT_MAX_LINES
        self._guess_left = DETECT_MAX_LINES - seen if guessed and seen < DETECT_MAX_LINES and not self.fixed_format else 0
        self._guess_window, self._guess_signed = [], None
        self._guess_detector = det if self._guess_left else None
        self.format = fmt
        self._parser = self._planned_parser(fmt)
        self._use_layouts(fmt)
        self._detector = None
        self._replay(held, out, self._held_events)
        self._release_events(out)

    def _may_wait(self) -> bool:
        """Whether an event read while no format is chosen waits for the lines held before it (`_release_events`):
        only if one of them may be a step line of some format; else it goes out at once."""
        return self._detector is not None and bool(self._held) and self._detector.best(1) is not None

    def _release_events(self, out: list[Record]) -> None:
        """The events of lines read while no format was chosen, into `out` in line order with the records of the
        lines held with them. Let out at once, a fatal event among held lines went before the steps printed
        above it, which the format chosen later (at the end of the input, or of a catch-up) gave out after
        it: a tqdm bar's first frame, an OOM, and the bar's closing redraw of that frame (HF Trainer under
        oumi) read as a crash the next line went on from, and `check` said `ended` of a run that died."""
        if self._held_events:
            out.extend(self._held_events)
            self._held_events = []
            out.sort(key=_line_no)  # stable: an event stays before the step of its own line

    def _replay(self, lines: Iterable[_Line], out: list[Record], events: list[Record] | None = None) -> None:
        """Parse lines read earlier with the (new) parser; their records go out with their own numbers. `events`:
        those read among them while no format was chosen, a finish with no step given the step its epoch ends at
        as the parser stands at its line (`epoch_end_step`, as `_line` gives it to one read with the parser)."""
        held = events if events is not None else []
        finishes = [i for i, ev in enumerate(held) if ev.event == _FINISHED and ev.step is None]
        for rank, text, lineno, t in lines:
            while finishes and held[finishes[0]].line <= lineno:
                i = finishes.pop(0)
                held[i] = replace(held[i], step=self._parser.epoch_end_step() if self._parser is not None else None)
            rec = self._parse(text, lineno)
            if rec is None and self._settings is None and relaunched(text):
                self._reopen_settings()  # another launch among the held lines, as `_line` tells one
            elif rec is None and self._settings is not None and self._prior is not None:
                self._setting(self._settings, text, lineno)  # its header (the first one's was read as it came)
            if rec is not None:
                if rec.kind is Kind.STEP and self._settings is not None and self._prior is not None:
                    self._end_settings()  # a relaunch's header, read line by line above: nothing to cut
                elif rec.kind is Kind.STEP and self._settings is not None:  # held while undecided: no setting
                    self._settings.cut(lineno)
                    self._adopt_plans(self._settings, lineno)
                    self._end_settings()
                self._emit(rec, rank, lineno, t, out)
                if self._parser is not None and self._parser.more:
                    self._take_more(rank, lineno, t, out)
                self._reorder = True

    def _maybe_redetect(self, line: _Line, out: list[Record]) -> None:
        self._keep([line])
        if self._since_record < REDETECT_AFTER:
            return
        self._since_record = 0
        start = max(0, len(self._recent) - REDETECT_SAMPLE)
        found = _redetect([text for _, text, _, _ in islice(self._recent, start, None)], self.format)
        if found is None:
            return
        window, self._recent, self._recent_chars = self._recent, deque(), 0
        self.format = found
        self._parser = self._planned_parser(found)
        self._use_layouts(found)
        self._replay(window, out)

    def _keep(self, lines: list[_Line]) -> None:
        """Record-less lines, counted towards re-detection and kept for a switch to parse again."""
        self._since_record += len(lines)
        self._recent.extend(lines)
        self._recent_chars += sum(len(line[1]) for line in lines)
        while len(self._recent) > REDETECT_AFTER or (self._recent_chars > WINDOW_CHARS and len(self._recent) > 1):
            self._recent_chars -= len(self._recent.popleft()[1])

    def _emit(self, rec: Record, rank: int | None, lineno: int, t: float, out: list[Record]) -> None:
        """Stamp `rec` and append it, unless it is no record after all (`boundary.checked`: a bogus step).

        `rec` is a reader's fresh answer (FormatParser.parse hands its record over): stamped in place."""
        if rec.step is not None or rec.total_steps is not None:
            ok = checked(rec)
            if ok is None:
                return
            rec = ok
        if rec.kind == _STEP:
            if self.stamped is None:
                self.stamped = rec.t > 0
            if rec.step is not None:
                self._launches.stepped(rec.step)
        completed(rec, rank, t, self.source, lineno)
        if (rec.kind is _STEP or rec.kind is _EVAL) and not self._in_chunk:
            if self._parser is not None and self._parser.rounds_steps:
                self._rounded.record(rec)  # a step printed rounded (`step:1K`) placed, before its epoch is looked at
            if self._epochs.offset or "epoch" in rec.metrics:
                self._epochs.record(rec)  # before the header's plan, as `feed_bytes` counts them
            elif rec.step is not None:
                self._epochs.stated_at(lineno)  # as `EpochSteps.chunk` notes any record with a step
            if (self.planned is not None and rec.step is not None and not self._epochs.by_epoch(rec)
                    and _short_of(rec, self.planned)):
                rec = replace(rec, total_steps=self.planned)  # the header's plan, where the line states none
        out.append(rec)


def _steps_alone(parser: FormatParser, line: str) -> bool:
    """Whether the format reads `line` alone as a step (a fresh parser: its answer whatever came before)."""
    try:
        rec = type(parser)().parse(line)
    except Exception:
        return False
    return rec is not None and rec.kind is _STEP


def _short_of(rec: Record, planned: int) -> bool:
    """Whether the header's `planned` steps are the total of `rec`, not past it: it states none, or its epoch and
    another total, one epoch's below the plan (`Total training steps: 13002`, then `Epoch 0 | Step 3150/6501`: the first
    epoch read as the run, 48% done at 24%, its ETA half the time left: a review) or the planned epochs' above it
    (Lightning stops at whichever of `max_steps` and `max_epochs` comes first: a code review's `max_steps: 30` under
    bars of 20 epochs of 2 read `29/40`, incomplete)."""
    total = rec.total_steps
    if rec.step is not None and rec.step > planned:
        return False  # no plan of this run's: a sampler's `num_steps: 50` under Lightning's bar at step 86 (a review)
    return total is None or ("epoch" in rec.metrics and total != planned)


class _Walk:
    """One chunk through the fast path, in line order (SourceParser._fast).

    While the crash detector is idle, the step rows and unflagged lines up to
    the next flagged line are counted in one go (`_pass`) and the flagged
    line is read the per-line way. While a traceback or failure report is
    open, and after a format switch, lines are read one by one, but for runs
    of step rows and of a traceback's frames, which an open traceback only
    counts (`EventDetector.absorbable`, `absorbs`). A line re-detection would
    score its sample at is read the per-line way too (`_redetect_stop`).
    """

    def __init__(
        self, src: SourceParser, parser: FormatParser, data: bytes, at: tuple[int, float, list[Record]],
        batch: ColumnBatch, rest: Unhandled, raw: list[bytes], flagged: np.ndarray,
        texts: tuple[list[str | None], dict[int, list[str]]],
    ) -> None:
        import numpy as np

        self.src, self.parser, self.data, self.batch, self.rest, self.raw = src, parser, data, batch, rest, raw
        self.after_fast = parser.after_fast
        self.first, self.t, self.out = at
        self.flagged = flagged
        self.texts, self.several = texts
        self.unhandled: list[int] = rest.line.tolist()
        self.n_rest, self.n_lines = len(rest), len(batch) + len(rest)
        self.stops: list[int] = [*np.flatnonzero(flagged).tolist(), self.n_rest]
        self.extra = 0
        """Lines so far beyond one per physical line (`\\r` frames)."""
        self.redo: list[int] = []
        """Step rows read the per-line way after all."""
        self._starts: np.ndarray | None = None
        self._frame_ends: list[int] | None = None

    def run(self) -> int:
        """Walk the chunk; the number of lines it held (as the line splitter counts them)."""
        src, events, parser = self.src, self.src._events, self.parser
        unhandled, stops, n_rest, n_lines = self.unhandled, self.stops, self.n_rest, self.n_lines
        texts, several, read_line, first, t, out = self.texts, self.several, src._line, self.first, self.t, self.out
        skip, stepped, after_fast, step_of = events.skip, src._stepped, self.after_fast, self.batch.step.item
        k = pos = si = 0  # the next unhandled line, the next line of the chunk, the next stop
        while True:
            if events.idle and src._parser is parser:
                while stops[si] < k:
                    si += 1
                s = stops[si] if src.fixed_format else self._redetect_stop(k, stops[si], pos)
                end = unhandled[s] if s < n_rest else n_lines
                if end > pos:
                    if k == s < n_rest:  # step rows only, and a line read next (which sets `_last`): `_pass`
                        skip(end - pos)  # inlined, for a log whose noise is mostly read (kv reads `time: 3.2`)
                        stepped(after_fast, step_of(end - s - 1))
                    else:
                        self._pass(pos, end, k, s)
                if s == n_rest:
                    return n_lines + self.extra
                text = texts[s]
                if text is not None:  # the usual flagged line, read as `_read` reads it
                    read_line(text, first + end + self.extra, t, out)
                else:
                    self._read(s)
                k, pos = s + 1, end + 1
                continue
            end = unhandled[k] if k < n_rest else n_lines
            if pos < end:
                pos = self._rows(pos, end)
                if pos < end:
                    continue  # the detector went idle: the rest in one go
            if k == n_rest:
                return n_lines + self.extra
            if texts[k] is None and k not in several and src._parser is parser and events.absorbs(self._text(k)):
                k = self._frames(k)
                pos = unhandled[k - 1] + 1
                continue
            self._read(k)
            k, pos = k + 1, end + 1

    def _pass(self, lo: int, hi: int, k: int, s: int) -> None:
        """Chunk lines lo..hi-1 while idle: step rows and the unhandled lines k..s-1, which no reader acts
        on, counted as reading them one by one would leave the source (the crash detector's count, the
        format parser's last step, the settings ended, re-detection's count and kept lines)."""
        src, first = self.src, self.first + self.extra
        src._events.skip(hi - lo)  # none of them starts with `Exception ignored in` (the screen flags those)
        if hi - lo > s - k:  # step rows: the last of them is row hi - s - 1 (s unhandled lines come before hi)
            last = hi - s - 1
            src._stepped(self.after_fast, self.batch.step.item(last))
            if k < s:
                k = max(k, self.batch.line.item(last) - last)  # the unhandled lines after it
        if k < s and not src.fixed_format:
            rank, raw, unhandled, t = src.rank, self.raw, self.unhandled, self.t
            src._keep([(rank, raw[j].decode("ascii"), first + unhandled[j], t) for j in range(k, s)])
        src._last = (src.rank, first + hi - 1, self.t)

    def _redetect_stop(self, k: int, stop: int, pos: int) -> int:
        """`stop`, or the unflagged line before it at which re-detection would score its sample (read per
        line, so that a switch happens where `feed` makes it): the `REDETECT_AFTER`-th record-less line."""
        since, unhandled = self.src._since_record, self.unhandled
        if since + stop - k < REDETECT_AFTER:
            return stop
        prev = pos - 1
        for j in range(k, stop):
            since = since + 1 if unhandled[j] == prev + 1 else 1  # a step row between: a record
            if since >= REDETECT_AFTER:
                return j
            prev = unhandled[j]
        return stop

    def _frames(self, k: int) -> int:
        """Unhandled line k, a frame of the open traceback (`EventDetector.absorbs`), and the frames right
        after it that no reader but the crash detector wants, counted in one go as feeding them would: the
        first line after them."""
        src, raw, unhandled = self.src, self.raw, self.unhandled
        events, first = src._events, self.first + self.extra
        if self._frame_ends is None:
            self._frame_ends = _frame_runs(self.data, self.rest, self.flagged)
        ends = self._frame_ends
        j = min(ends[bisect_right(ends, k)], k + events.absorbable(len(raw) - k))
        if not src.fixed_format:  # re-detection counts them too: the one that starts a scoring goes alone
            j = min(j, k + max(1, REDETECT_AFTER - 1 - src._since_record))
        last = ""
        for i in range(j - 1, k - 1, -1):  # the last frame with text: the block's last line
            text = raw[i].decode("ascii")
            if text.strip(" \t^~"):
                last = text
                break
        events.skip(j - k, last, steps=0)
        src._last = (src.rank, first + unhandled[j - 1], self.t)
        if not src.fixed_format:
            lines = [(src.rank, raw[i].decode("ascii"), first + unhandled[i], self.t) for i in range(k, j)]
            if len(lines) == 1:
                src._maybe_redetect(lines[0], self.out)
            else:
                src._keep(lines)
        return j

    def _rows(self, lo: int, hi: int) -> int:
        """Step rows lo..hi-1 while busy: counted in runs where the crash detector can take them unread (an
        open traceback), else read per line; the first row left (the detector went idle)."""
        import numpy as np

        src, events, batch = self.src, self.src._events, self.batch
        while lo < hi:
            if src._parser is self.parser:
                if events.idle:
                    break
                k = events.absorbable(hi - lo)
                if k:
                    events.skip(k, self._last_indented(lo, lo + k))
                    lo += k
                    src._stepped(self.after_fast, int(batch.step[np.searchsorted(batch.line, lo - 1)]))
                    src._last = (src.rank, self.first + lo - 1 + self.extra, self.t)
                    continue
            start = int(self._line_starts()[lo - 1]) if lo else 0
            self.redo.append(lo)
            text = self.data[start : self.data.find(b"\n", start)].decode("utf-8")
            src._line(text, self.first + lo + self.extra, self.t, self.out)
            lo += 1
        return lo

    def _read(self, k: int) -> None:
        """Unhandled line k, the per-line way (a line of `\\r` frames: its lines, any number)."""
        lineno = self.first + self.unhandled[k] + self.extra
        several = self.several.get(k)
        if several is None:
            self.src._line(self._text(k), lineno, self.t, self.out)
            return
        for j, text in enumerate(several):
            self.src._line(text, lineno + j, self.t, self.out)
        self.extra += len(several) - 1

    def _text(self, k: int) -> str:
        """Unhandled line k's text (not one of several): split as read, or a plain line's own bytes."""
        text = self.texts[k]
        return self.raw[k].decode("ascii") if text is None else text

    def _line_starts(self) -> np.ndarray:
        """Byte offset of the start of line i + 1 of the chunk, for every i (computed once)."""
        import numpy as np

        if self._starts is None:
            self._starts = np.flatnonzero(np.frombuffer(self.data, np.uint8) == 10) + 1
        return self._starts

    def _last_indented(self, lo: int, hi: int) -> str:
        """The last of step rows lo..hi-1 that starts with a blank, "" if none (EventDetector.skip's `last`
        inside a traceback)."""
        import numpy as np

        after = self._line_starts()
        rows = np.arange(lo, hi)
        begin = np.where(rows > 0, after[np.maximum(rows - 1, 0)], 0)
        head = np.frombuffer(self.data, np.uint8)[begin]
        hits = np.flatnonzero((head == 32) | (head == 9))
        if not hits.size:
            return ""
        at = int(begin[hits[-1]])
        return self.data[at : int(after[lo + int(hits[-1])]) - 1].decode("utf-8")


def _texts(
    raw: list[bytes], flagged: np.ndarray, closed: bool, frames: bool, split: SplitLines
) -> tuple[list[str | None], dict[int, list[str]]] | None:
    """The text lines of the flagged unhandled lines, by index (None for the others): one each, but for
    those with a `\\r` (`frames`: the chunk holds one) and a last line without `\\n` (`closed` false: flagged
    here): their lines, any number, in the second part. An unflagged line is plain, its own text
    (`raw[i].decode("ascii")`). None if `split` breaks its word (one per line)."""
    several: dict[int, list[str]] = {}
    if not closed:  # the input's last line: always unhandled
        flagged[-1] = True
        several[len(raw) - 1] = split(raw[-1])
    at = flagged.nonzero()[0].tolist()
    if frames:
        several |= {i: split(raw[i] + b"\n") for i in at if b"\r" in raw[i] and i not in several}
    if several:
        at = [i for i in at if i not in several]
    plain = split(b"\n".join([raw[i] for i in at]) + b"\n") if at else []
    if len(plain) != len(at):
        return None
    if len(at) == len(raw):  # every line read per line (no screen)
        return list(plain), several
    texts: list[str | None] = [None] * len(raw)
    for i, text in zip(at, plain, strict=True):
        texts[i] = text
    return texts, several


def _frame_runs(data: bytes, rest: Unhandled, flagged: np.ndarray) -> list[int]:
    """The unhandled lines (indices, ascending, then `len(rest)`) that end a run of traceback frames: each
    that is flagged, is no frame (runwatch.parsers.events.is_frame), or has a step row before it."""
    import numpy as np

    head = np.frombuffer(data, np.uint8)[np.minimum(rest.start, max(len(data) - 1, 0))]
    frame = (rest.start == rest.end) | np.isin(head, np.frombuffer(FRAME_LEAD.encode(), np.uint8))
    frame[1:] &= np.diff(rest.line) == 1
    return [*np.flatnonzero(flagged | ~frame).tolist(), len(rest)]


def _lines_of(data: bytes) -> list[str]:
    """The lines `feed` joined into `data` (each ended by `\\n`), as they were: `feed_bytes`'s splitter."""
    return data.decode("utf-8", "surrogatepass").split("\n")[:-1]


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


@cache
def quick_reader(fmt: str) -> Callable[[str], tuple[int, int | None, dict[str, float]] | None] | None:
    """The quick read of a template format's step lines (runwatch.parsers.stepline.StepLine.quick), where it is
    proven that no line it reads wakes an idle crash detector (runwatch.parsers.events.never_wakes); None for
    any other format, whose lines its parser reads."""
    cls = parser_class(fmt)
    if not issubclass(cls, StepLineParser) or not never_wakes(cls.step_line.texts, cls.step_line.chars):
        return None
    return cls.step_line.quick


@cache
def line_layouts(fmt: str) -> LineLayouts | None:
    """The learned layouts a keyed format's live step lines are read by (runwatch.parsers.learned.
    LineLayouts), one store per format as the fast path's: None for a format with none (a template's, whose
    parser reads its step line by the template, or a parser that keeps state)."""
    from runwatch.parsers.columnar import fast_format

    spec = fast_format(fmt)
    if spec is None or spec.learn is None:
        return None
    return LineLayouts(spec.learn, tuple(a.decode() for a in spec.anchors), spec.learn.refused, spec.learn.recordless)


def _redetect(lines: list[str], current: str | None) -> str | None:
    """The format other than `current` that these record-less lines are in, if the evidence is clear.

    Without a signature line, another format must outscore `current` on them: lines the current format
    scores as its own just as well are its lines that give no record (an HF Trainer's evaluation bar, 2948
    frames the generic tqdm format reads as steps and the Trainer's parser rightly does not), and switching
    to a format that only ties lost the run's evaluation and its last losses (a new user's review). Nor is a
    format whose maybe-lines hold no step with a loss (bare progress bars) one to switch to on them alone: a YOLOv3
    trainer's `Epoch:[ 5 | 19 ]    Batch:[ 2000 | 2068 ]    … loss: 13.52` lines (the generic `kv`) were left for
    the HF Trainer's reading of its validation bar, 4952 frames after each epoch, and the run read "step 84620",
    its losses at no step (a review); the Trainer's own loss dicts sign it."""
    det = Detector()
    signed: set[str] = set()
    for line in lines:
        found = det.feed(line)
        if found is not None and found != current:
            signed.add(found)
    ours = det.totals.get(current, 0) if current is not None else 0
    candidates = {
        name: total for name, total in det.totals.items()
        if name != current and (name in signed or (name not in GENERIC and total >= REDETECT_MIN_TOTAL
                                                   and total > ours and name in det.stepped))
    }
    if not candidates:
        return None
    if signed:
        candidates = {name: total for name, total in candidates.items() if name in signed}
    return max(candidates, key=candidates.__getitem__)  # first of equal totals: registry order


def is_progress(rec: Record) -> bool:
    """A record that moves the run forward (not an event)."""
    return rec.kind in (Kind.STEP, Kind.EVAL)
