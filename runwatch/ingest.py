"""Per-run ingest: what the sources read, parsed and applied to each run's state.

The engine's worker is the single writer of run state; this is what it writes
with, kept apart from the threads and the queue that bring the batches (this
module imports neither) so that turning a batch into records and records into
a RunTracker can be read, and reasoned about, as plain sequential code. It
knows the runs and which run each source feeds, parses a batch (outside the
engine's lock), applies the records (under it), and keeps the per-run
bookkeeping front ends read: the log lines, source notes, the "reading
history" percent.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import TYPE_CHECKING

from runwatch.alerts.judge import judge_every
from runwatch.messages import Batch, LinesRead
from runwatch.model import Notice, ProcessSample, Record
from runwatch.parsers.base import ItemDecoder
from runwatch.parsers.source import ChunkRecords, SourceParser, with_total
from runwatch.parsers.stated import at_stated_times
from runwatch.state.run import RunTracker
from runwatch.state.system import STDIN, trainers
from runwatch.watcher.fileid import binary_file, is_table, last_written
from runwatch.watcher.lines import LineSplitter
from runwatch.watcher.snapshot import last_lines, split_block
from runwatch.watcher.types import ItemBatch, LineBatch

if TYPE_CHECKING:
    from runwatch.plan import RunPlan
    from runwatch.state.system import SystemState

LOG_LINES = 500
"""Raw lines kept per run: the TUI's log pane and the context of alerts."""
TABLE_LOOK_LINES = 64
"""The lines of a log with no format yet within which it may still turn out a metrics table (`table_appeared`): a
table's header and first row come first; a log read that far as lines is one."""

Parsed = tuple[Batch, list[Record] | ChunkRecords, list[str] | None]
"""A batch, the records it completes, and for a raw history block its last lines (for the log pane)."""


@dataclass
class RunIngest:
    """One training run: one or more files (ranks) or stdin."""

    name: str
    label: str
    tracker: RunTracker
    parsers: dict[str, SourceParser] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    """The current problem of each source (waiting, denied …); cleared when lines flow."""
    preview: RunTracker | None = None
    history_pending: set[str] = field(default_factory=set)
    history_bytes: dict[str, int] = field(default_factory=dict)
    """Size of each previewed file at start: what "reading history: N%" counts against."""
    parsed_bytes: dict[str, int] = field(default_factory=dict)
    """About how much of each log's history has been applied (bytes of raw blocks, characters + line
    ends of lines): the "reading history" percent, and how far the rules have judged it."""
    ended: bool = False
    format: str | None = None
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_LINES))
    item_sources: list[str] = field(default_factory=list)
    """Structured sources (metric files, checkpoint dirs, W&B runs) by path."""
    decoders: dict[tuple[str, str], ItemDecoder] = field(default_factory=dict)
    meta: dict[str, object] = field(default_factory=dict)
    unjudged: int = 0
    """Records applied since the rules last looked at this run (they look at least this far back)."""
    quiet_since: dict[str, float] = field(default_factory=dict)
    """When each log last gave lines (for a history read at start, when its file was last written):
    a traceback still open after `BLOCK_QUIET_S` of that is closed (`Ingest.close_quiet_blocks`)."""

    def reading_history(self) -> bool:
        """Whether a source of the run is amid its history (read some of it, not yet all): not a log that
        did not exist at start, or was empty then, whose first lines end its pending history when they come."""
        return any(self.parsed_bytes.get(source) for source in self.history_pending)

    def history_percent(self) -> float:
        total = sum(self.history_bytes.values())
        done = sum(min(self.parsed_bytes.get(p, 0), size) for p, size in self.history_bytes.items())
        return min(99.0, 100.0 * done / total) if total else 0.0


BLOCK_QUIET_S = 10.0
"""A traceback (or failure report) still open after its log has been quiet this long was cut off before its
exception line (a process killed while it printed): what it says is said then. Python prints a traceback
in one go, so its lines never lie seconds apart."""

STAMPS_OVER_FILE_S = 86_400.0
"""A history whose newest record states a time more than this before its file's modification time was
copied or touched since (`scp`, `cp`, a checkout): its own times say when it was written. No time zone
between the training host's stamps and this machine's clock is a day apart."""


LAUNCH_GONE_S = 3600.0
"""A log with no step record that was last written this long before runwatch read it, with no training process
alive, is a launch that died before its first step (or a run whose steps runwatch cannot read, ended): its badge reads ENDED, not WAITING (a directory of a project's
aborted launches, each a config dump and nothing more, showed `[waiting] no step yet` forever: a review). A
launch loading its data for minutes is still waiting; an hour is far beyond what one takes to log anything."""


def alive_trainers(system: SystemState | None, run: str) -> list[ProcessSample]:
    """`run`'s training processes (main and ranks) alive at the latest sample; none when not sampling."""
    return [] if system is None else trainers(system.processes_of(run))


class Ingest:
    """The runs, which run each source feeds, and the parsing and applying of their batches."""

    def __init__(self, *, log_format: str | None, stall_floor_s: float, total_steps: int | None,
                 system: SystemState | None) -> None:
        self._log_format = log_format
        """`--format` as SourceParser takes it (`wandb` names a structured source, not a log format)."""
        self._stall_floor_s = stall_floor_s
        self._total_steps = total_steps
        self._system = system
        self.runs: list[RunIngest] = []
        self.run_of_source: dict[str, RunIngest] = {}
        self.rank_of_source: dict[str, int | None] = {}
        self._planned: dict[int, RunIngest] = {}
        """id of a RunPlan → its run (`planned_run`)."""

    # -- runs and their sources ----------------------------------------------

    def planned_run(self, rp: RunPlan) -> RunIngest:
        """The run for a planned one, made the first time it is asked for (its sources are attached
        by the caller: `attach_file`, `attach_items`)."""
        run = self._planned.get(id(rp))
        if run is None:
            run = self._planned[id(rp)] = self._add_run(rp.name, rp.label)
        return run

    def attach_items(self, run: RunIngest, path: str) -> bool:
        """A structured source: a metric file, or a checkpoint dir (its path is the source).
        False when `path` is followed already."""
        if path in self.run_of_source:
            return False
        self.run_of_source[path] = run
        run.item_sources.append(path)
        self._attribute(run, path)
        return True

    def attach_stdin(self, run: RunIngest) -> None:
        run.parsers[STDIN] = SourceParser(STDIN, fmt=self._log_format)
        self.run_of_source[STDIN] = run
        self._attribute(run, STDIN)

    def _attribute(self, run: RunIngest, source: str) -> None:
        """The processes found writing `source` are `run`'s (SystemState.processes_of)."""
        if self._system is not None:
            self._system.attribute(run.name, source)

    def _add_run(self, name: str, label: str) -> RunIngest:
        taken = {r.name for r in self.runs}
        base, n = name, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
        run = RunIngest(name=name, label=label, tracker=RunTracker(name, label, stall_floor_s=self._stall_floor_s))
        run.tracker.pause_plan = lambda: [every for parser in run.parsers.values() for every in parser.pauses]
        self.runs.append(run)
        return run

    def attach_file(self, run: RunIngest, path: str, rank: int | None) -> None:
        if path in self.run_of_source:
            return
        self.run_of_source[path] = run
        self.rank_of_source[path] = rank
        run.parsers[path] = SourceParser(path, fmt=self._log_format, rank=rank)
        run.history_pending.add(path)
        self._attribute(run, path)

    def find(self, run: str) -> RunIngest | None:
        return next((r for r in self.runs if r.name == run), None)

    def preview(self, run: RunIngest, path: str, data: bytes, clock: Callable[[], float]) -> None:
        """The latest lines of a big log (its tail, whole lines: `peek_tail_bytes`) into the run's preview, shown
        until its history is read. Read as the history is: runs of plain lines raw to the parser's fast path
        (`feed_bytes`, the same records as `feed` of their lines), the odd lines as lines. Line by line, the
        256 KiB of a kv log's tail cost 0.15 s of tail's start-up, half of all the rest."""
        parser = SourceParser(path, fmt=self._log_format, rank=self.rank_of_source.get(path))
        preview = run.preview or RunTracker(run.name, run.label)
        now = clock()
        line = 0
        for piece in LineSplitter().feed_raw(data):
            if isinstance(piece, bytes):
                chunk = parser.feed_bytes(piece, line, now, split_block)
                line += chunk.lines
                if len(chunk):
                    preview.apply_chunk(chunk, now)
            else:
                preview.apply_many(parser.feed(piece, line, now), now)
                line += len(piece)
        preview.apply_many(parser.flush(), now)
        self._aged(preview, path, now)
        run.preview = preview

    # -- parsing (no lock held) ------------------------------------------------

    def parse(self, item: Batch) -> Parsed | None:
        """The records a batch of lines or items completes (worker thread, no lock held), and for a
        raw history block the last lines of it for the log pane.

        A raw block goes to `feed_bytes`, whose columnar fast path (when the format has one) turns
        its step lines into columns that RunTracker.apply_chunk takes in bulk."""
        if isinstance(item, LinesRead):
            b = item.batch
            parser = self._parser_of(b.source)
            if parser is None:
                return None
            if b.raw:  # a history block, or a live burst (then caught up, for now, as below)
                chunk = parser.feed_bytes(b.raw, b.first_line, b.t, split_block)
                settled = [] if b.history else parser.settle()
                if settled:
                    chunk = replace(chunk, records=[*chunk.records, *settled])
                return item, chunk, last_lines(b.raw, LOG_LINES)
            recs = parser.feed(b.lines, b.first_line, b.t)
            return item, recs if b.history else recs + parser.settle(), None  # live: caught up, for now
        run = self.run_of_source.get(item.source)
        if run is None:
            return None
        return item, self._decode(run, item.batch, item.source), None

    def _parser_of(self, source: str) -> SourceParser | None:
        """The parser of a followed file or stdin (None: a source no run takes, e.g. after a stop, or no log any
        more: `table_appeared`)."""
        run = self.run_of_source.get(source)
        return None if run is None else run.parsers.get(source)

    def table_appeared(self, source: str) -> RunIngest | None:
        """A followed log that turns out a metrics table now that its first lines came (Keras's CSVLogger into
        `training.log`, followed from before training wrote it: empty or not there when the run was planned, it was
        planned a log, and `tail` said `waiting` to the end where `check` read every row, a review): no log any more
        but its run's metric file, to be followed as one from its start (the caller starts that follower and stops
        the log's). Its run, or None. Looked at while its parser has read no format in its first
        `TABLE_LOOK_LINES` lines, never for a format given or stdin."""
        run = self.run_of_source.get(source)
        parser = None if run is None else run.parsers.get(source)
        if run is None or parser is None or parser.fixed_format or parser.format is not None or source == STDIN:
            return None
        if parser.lines >= TABLE_LOOK_LINES or not is_table(source):
            return None
        del run.parsers[source], self.run_of_source[source]
        self.rank_of_source.pop(source, None)
        run.history_pending.discard(source)
        run.history_bytes.pop(source, None)
        run.parsed_bytes.pop(source, None)
        run.notes.pop(source, None)  # the log follower's `waiting for … to appear`: it is here
        self.attach_items(run, source)
        return run

    def parse_each(self, item: Batch, on_error: Callable[[Exception], None]) -> Parsed | None:
        """A batch whose `parse` raised (a bug in runwatch, not in the log: the format parsers turn bad
        input into NaN or no record), parsed again a line (an item) at a time so that one line cannot cost
        the others: a line whose parse raises goes to `on_error` and gives no record, but stays in the log
        pane. The parser may have seen some of the lines already before the error; what it held of them
        (a traceback being collected) is what it holds."""
        if isinstance(item, LinesRead):
            b = item.batch
            parser = self._parser_of(b.source)
            if parser is None:
                return None
            lines = split_block(b.raw) if b.raw else list(b.lines)
            recs: list[Record] = []
            for i, line in enumerate(lines):
                try:
                    recs += parser.feed([line], b.first_line + i, b.t)
                except Exception as exc:
                    on_error(exc)
            shown = lines[-LOG_LINES:] if b.raw else None
            if not b.history:
                recs += parser.settle()
            return item, recs, shown
        run = self.run_of_source.get(item.source)
        if run is None:
            return None
        out: list[Record] = []
        for one in item.batch.items:
            try:
                out += self._decode(run, replace(item.batch, items=[one]), item.source)
            except Exception as exc:
                on_error(exc)
        return item, out, None

    def _decode(self, run: RunIngest, b: ItemBatch, path: str) -> list[Record]:
        """Decode a structured batch; one decoder per run for HF log history (checkpoints and the
        final trainer_state.json repeat entries, deduplicated within one decoder)."""
        from runwatch.decoding import decode

        return decode(run.decoders, run.name, path, b.kind, list(b.items), b.t)

    # -- applying (the engine's lock held) ---------------------------------------

    def apply(self, item: Batch, recs: list[Record] | ChunkRecords, shown: list[str] | None, now: float, *,
              judge: bool | None, on_piece: Callable[[RunIngest, float], None],
              on_error: Callable[[Exception], None], piece_records: int = 0,
              on_burst: Callable[[RunIngest, float], None] | None = None) -> bool:
        """Records of one parsed batch into run state; `shown`: the log lines of a raw block. `judge`:
        True for history to judge as it is applied (`on_piece` after each piece of at most `piece_records`
        records), None for history a previous daemon judged (the run owes the rules nothing for it), False
        for live records (judged at the next tick, or by `on_burst` after each piece of a batch too large
        for the rules to look back over: `_apply_pieces`). Whether any record was applied.

        A record whose apply raises (a bug in runwatch) goes to `on_error` and is left out; the batch's
        other records are still applied, each once (a chunk whose bulk apply raised is applied again record
        by record: the rows it had taken in before the error may be counted twice, never lost)."""
        history_done = False
        before: float | None = None
        if isinstance(item, LinesRead):
            reading = self.run_of_source[item.batch.source].history_pending
            was_reading = item.batch.source in reading
            run, now, history_done = self._lines_read(item.batch, shown, now)
            if was_reading and item.batch.source not in reading and run.unjudged:
                on_piece(run, now)  # the history's last records, judged as history before what comes live
        else:
            run = self.run_of_source[item.source]
            if isinstance(recs, list):
                recs = self._wandb_side_records(run, item.batch.kind, recs)
            run.format = run.format or item.batch.kind
            history_done = bool(item.batch.history)  # a structured source's history is as old as its files
            before = run.tracker.last_record_t
        progress = run.tracker.progress
        burst = isinstance(item, LinesRead) and bool(item.batch.raw) and not item.batch.history
        progress.own_times = self._own_times(item, recs, old=bool(item.batch.history) or history_done)
        # read times of a history or a catch-up say no speed; the times a log's lines state do (as `check` has
        # them: a stamped log's history read at once had `tail` say no step/s and no ETA where `check` timed it)
        stamped = isinstance(item, LinesRead) and progress.own_times and self._stamped(item.batch.source)
        run.tracker.arrived_together = bool(item.batch.history) or burst
        progress.bulk = run.tracker.arrived_together and not stamped
        if isinstance(item, LinesRead) and item.batch.history and progress.own_times:
            # its events at the times its step lines state, not all at the read time (as `check` has them)
            recs = at_stated_times(recs, item.batch.t, progress.t_last)
        if judge is not None:
            run.tracker.before_new_attempt = _judge_attempt(run, on_piece)
        try:
            applied = self._apply_pieces(run, recs, now, judge=judge, on_piece=on_piece, on_error=on_error,
                                         size=piece_records, on_burst=on_burst)
        finally:
            run.tracker.before_new_attempt = None
        if history_done and run.tracker.records:
            # a log's records held until the follower caught up; a metric file, a checkpoint directory or a
            # W&B run read at start: runwatch received them now, but they are as old as the files say
            self._history_read(run, item.batch.source if isinstance(item, LinesRead) else item.source, now,
                               not_before=before)
        elif isinstance(item, LinesRead) and item.batch.history and applied:
            # a log's history part read: the statuses while the rest is read say its age too (they said
            # "last 0.0s ago" of an 11-minute-old log, then 1.2 s, 3.3 s, until the history was read)
            self._aged(run.tracker, item.batch.source, now)
        if judge is None:
            run.unjudged = 0  # judged by the daemon before us
        return applied

    def _stamped(self, source: str) -> bool:
        """Whether the lines of `source` state their time (a logging stamp, Megatron's `[2024-04-06 03:02:12]`)."""
        parser = self._parser_of(source)
        return parser is not None and bool(parser.stamped)

    def _own_times(self, item: Batch, recs: list[Record] | ChunkRecords, *, old: bool) -> bool:
        """Whether the records' times say when the run logged them: read as written, or, in a history read
        at once (`old`), stated by their lines; a record of an item that states no time took the batch's."""
        if not old:
            return True
        if isinstance(item, LinesRead):
            return self._stamped(item.batch.source)
        return isinstance(recs, list) and any(r.t != item.batch.t for r in recs)

    def _apply_pieces(self, run: RunIngest, recs: list[Record] | ChunkRecords, now: float, *, judge: bool | None,
                      on_piece: Callable[[RunIngest, float], None], on_error: Callable[[Exception], None],
                      size: int, on_burst: Callable[[RunIngest, float], None] | None) -> bool:
        """`apply`'s records into the run's state, piece by piece (each judged after it when `judge`).

        A live batch (`judge` False) is judged so too, by `on_burst`, when with the records not judged yet
        it holds more than the rules can look back over (`size`): a trainer that flushes thousands of lines
        at once, a catch-up after a pause. Left to the next tick, the oldest of them were no longer among
        the points the rules read, and a NaN there was never seen (`runwatch check` judged it)."""
        applied = False
        history = judge is True  # a live burst is judged to its end: its last records are the run's present
        burst = judge is False and size > 0 and run.unjudged + len(recs) > size
        if burst and on_burst is not None:
            if run.unjudged:
                on_burst(run, now)  # what came before it, while the rules still see it all
            judge, on_piece = True, on_burst
        pieces = _pieces(recs, size if judge is True else 0, run.tracker.records, run.unjudged)
        for n, piece in enumerate(pieces, 1):
            if isinstance(piece, ChunkRecords):
                if len(piece):
                    try:
                        run.tracker.apply_chunk(self._chunk_with_total(piece), now)
                    except Exception as exc:
                        on_error(exc)
                        run.tracker.apply_many(self._with_total(piece.merged()), now, on_error=on_error)
            elif piece:
                run.tracker.apply_many(self._with_total(piece), now, on_error=on_error)
            run.unjudged += len(piece)
            applied = applied or bool(len(piece))
            if judge is True and len(piece) and (n < len(pieces) or not history or run.unjudged >= _due(run.tracker.records, run.unjudged, size)):
                on_piece(run, now)  # a history's last piece waits for its due count, or the history's end
        return applied

    def _lines_read(self, b: LineBatch, shown: list[str] | None, now: float) -> tuple[RunIngest, float, bool]:
        """The bookkeeping of a batch of lines (log pane, notes, history percent and end); its run, when
        its records happened, and whether it ends the source's history with no record yet (a format
        without a signature line gives its records only when the follower has caught up, in this very
        batch: `apply` then ages them by the file's modification time)."""
        if not b.history and 0 < b.t < now:
            now = b.t  # when its bytes arrived: a line held until the next one ended it (a tqdm frame)
        run = self.run_of_source[b.source]
        if b.history and b.source == STDIN:
            run.history_pending.add(STDIN)  # a pipe's backlog (`cat train.log |`): history until the reader catches up
        run.lines.extend(line for line in (b.lines if shown is None else shown) if line and not line.isspace())
        # a blank line says nothing: W&B's console of an SB3 run ended in 40 of them, its log pane blank (a review)
        run.format = run.parsers[b.source].format or run.format  # its latest: a guess re-detection replaced
        if b.history:
            done = len(b.raw) if b.raw else sum(map(len, b.lines)) + len(b.lines)
            run.parsed_bytes[b.source] = run.parsed_bytes.get(b.source, 0) + done
        if b.lines or b.raw:
            run.notes.pop(b.source, None)
            run.quiet_since[b.source] = now
        ended = False
        if not b.history and b.source in run.history_pending:
            run.history_pending.discard(b.source)
            written = last_written(b.source) if b.source != "-" else None
            if not b.count and written is not None:  # caught up with a file: quiet since it was last written
                run.quiet_since[b.source] = min(written, run.quiet_since.get(b.source, written))
            if not b.count:  # the end of the history: how old is it really?
                if run.tracker.records:
                    self._history_read(run, b.source, now)
                else:
                    ended = True
                    why = binary_file(b.source) if b.source != "-" else None
                    if why is not None:  # it will never give a record: say so, not "waiting" for ever
                        run.notes[b.source] = why
                    if b.source != "-":
                        self._aged(run.tracker, b.source, now)  # a launch long dead before its first record
        return run, now, ended

    def _history_read(self, run: RunIngest, source: str, now: float, *, not_before: float | None = None) -> None:
        """A source's history is read: its records are as old as its files say, but no older than what
        the run had received before them (`not_before`: a TensorBoard file flushed two minutes ago beside
        a log written a moment ago does not make the run two minutes silent); a run whose last step is
        older than a stall, with no training process alive, ended before we came."""
        self._aged(run.tracker, source, now, not_before=not_before)

    def _aged(self, tracker: RunTracker, source: str, now: float, *, not_before: float | None = None) -> None:
        """`_history_read` of one tracker: the run's, or its preview (the tail of a big log, shown while the
        history is read) and the run's own while its history is read, which the README promises are never
        younger than the file either."""
        written = last_written(source)
        stamped = tracker.progress.t_last
        if written is not None and stamped is not None and stamped < written - STAMPS_OVER_FILE_S:
            written = stamped  # a log copied or touched since it was written: its lines say when that was
        if written is not None:
            tracker.written_by(written if not_before is None else max(written, not_before))
        last = tracker.last_step_at
        if last is not None:
            if now - last > tracker.stall_after_s() and not alive_trainers(self._system, tracker.run):
                tracker.ended_quietly(True)
        elif written is not None and now - written > LAUNCH_GONE_S and not alive_trainers(self._system, tracker.run):
            tracker.ended_quietly(True)  # a launch that died before its first step record (or a run that prints
            # none: a DreamBooth script's checkpoint line alone read `running` on a 3-day-old log, a review)

    def _wandb_side_records(self, run: RunIngest, kind: str, recs: list[Record]) -> list[Record]:
        """W&B metadata goes to the run's `meta`, W&B system stats to the GPU view (when this
        machine has none of its own); the rest are ordinary records."""
        from runwatch.decoding import split_side_records

        side = split_side_records(kind, recs)
        run.meta.update(side.meta)
        for sample in side.samples:
            if self._system is not None and not self._system.gpus:
                self._system.apply(sample)
        return side.own

    def _chunk_with_total(self, chunk: ChunkRecords) -> ChunkRecords:
        return chunk.with_total(self._total_steps)

    def _with_total(self, recs: list[Record]) -> list[Record]:
        return with_total(recs, self._total_steps)

    def notice(self, n: Notice) -> None:
        """A source's notice stands as its run's note when it is a problem (or a wait)."""
        run = self.run_of_source.get(n.source)
        if run is not None and (n.level != "info" or "waiting" in n.message or n.source in run.item_sources):
            # a structured source's notice (W&B: how late its writer flushes) stands until replaced
            run.notes[n.source] = n.message

    def end_input(self, source: str, now: float) -> bool:
        """A stream (stdin) ended: its last records and an exit event. False when no run reads it."""
        run = self.run_of_source.get(source)
        if run is None:
            return False
        recs = run.parsers[source].end_of_input(now)
        run.tracker.apply_many(self._with_total(recs), now)
        run.unjudged += len(recs)
        run.ended = True
        run.history_pending.discard(source)  # a backlog read to its end: all of it is read
        return True

    def close_quiet_blocks(self, now: float) -> bool:
        """Close the tracebacks (and failure reports) of logs quiet for `BLOCK_QUIET_S` (see
        `SourceParser.close_block`), and give up the records a format parser holds for a line that never
        came once the log has been quiet for the run's whole stall budget (`SourceParser.close_held`: a run
        stepping every 30 s holds an HF dict 30 s in its normal course, and a block-buffered flush can split a
        block of `name: value` lines): the checks a one-shot read makes at its end, made by a follower, which
        has none. Whether any record came of it (the rules are then due)."""
        found = False
        for run in self.runs:
            for source, parser in run.parsers.items():
                quiet = now - run.quiet_since.get(source, now)
                recs: list[Record] = []
                if parser.holds_block and quiet >= BLOCK_QUIET_S:
                    recs += parser.close_block()
                if parser.holds_record and quiet >= max(BLOCK_QUIET_S, run.tracker.stall_after_s()):
                    recs += parser.close_held()
                if recs:  # received with the block's last line: the output has been over since (`crash`)
                    run.tracker.apply_many(self._with_total(recs), min(now, run.quiet_since.get(source, now)))
                    run.unjudged += len(recs)
                    found = True
        return found

    def flush_all(self, now: float) -> None:
        for run in self.runs:
            for parser in run.parsers.values():
                recs = parser.flush()
                if recs:
                    run.tracker.apply_many(self._with_total(recs), now)


def _pieces(recs: list[Record] | ChunkRecords, size: int, records: int,
            unjudged: int = 0) -> list[list[Record] | ChunkRecords]:
    """A batch whole, or, when it is judged (`size`: the most records the rules can look back over,
    `Judge.most_records`; 0: not judged), in slices on `runwatch check`'s schedule for a run that holds
    `records` already, `unjudged` of them not judged yet (`judge_every`: 32 records at a time at first, a
    16th of the run later, at most `size`), counted from the run's last judgement and not from the batch:
    where a read cut the input says nothing of the run. `cat train.log | runwatch tail -` judged the run at
    each 64 KiB the pipe held, and a YOLOv3 log's OOM, the last record of one, fired as if it ended the run,
    which then went on for 4,400 steps (`check` said it went on). A chunk's slices are chunks."""
    if not size:
        return [recs]
    cuts: list[int] = []
    at = max(1, _due(records, unjudged, size) - unjudged)
    while at < len(recs):
        cuts.append(at)
        at += judge_every(records + at, size)
    if not cuts:
        return [recs]
    if isinstance(recs, ChunkRecords):
        return list(recs.cut_at(cuts))  # step rows stay columns: in bulk, as `check` takes them
    return [recs[lo:hi] for lo, hi in pairwise([0, *cuts, len(recs)])]


def _due(records: int, unjudged: int, size: int) -> int:
    """Records after the rules last looked (`unjudged` of the run's `records` ago) at which its history is due to be
    judged again: `judge_every` from there, the schedule `_pieces` cuts by."""
    return judge_every(records - unjudged, size)


def _judge_attempt(run: RunIngest, on_piece: Callable[[RunIngest, float], None]) -> Callable[[float], None]:
    """RunTracker.before_new_attempt for a batch being applied: the rules that read records in sequence judge
    the attempt that ends, over what it applied since they last looked (the rest of the batch is the new one)."""
    start = run.tracker.records

    def ends(now: float) -> None:
        run.unjudged += run.tracker.records - start
        on_piece(run, now)

    return ends
