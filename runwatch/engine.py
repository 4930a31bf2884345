"""The monitor: owns the sources, feeds the parsers, updates run state.

Sources (file followers, directory watchers, a stdin reader) run on their
own threads and only enqueue what they read (`runwatch.messages`); one worker
thread parses and applies records, so run state has a single writer. Front
ends (headless printer, TUI, daemon) call `snapshots()` and draw what they
get, and each `subscribe()`s to the alert notifications and source notices
(`runwatch.feed`), which none of them takes from the others.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from runwatch.alerts.types import Notification
from runwatch.feed import Feed, Subscription
from runwatch.messages import (
    Batch,
    FileAppeared,
    InputEnded,
    ItemsRead,
    LinesRead,
    Message,
    NoticeRaised,
    PositionReached,
    SourceAppeared,
    StacksTaken,
    StopAsked,
    SystemSampled,
    WarmUpAsked,
)
from runwatch.model import (
    AlertBrief,
    AlertState,
    ChartData,
    Event,
    Kind,
    ProcessRole,
    ProcessSample,
    ProcessState,
    Record,
    RunSnapshot,
    RunState,
)
from runwatch.parsers.base import ItemDecoder
from runwatch.parsers.source import DETECT_MAX_LINES, ChunkRecords, SourceParser
from runwatch.plan import RunPlan, WatchedDirectory, plan
from runwatch.state.run import RunTracker
from runwatch.supervise import Stoppable, SupervisedThread, Supervisor, TaskThread, ThreadFailure
from runwatch.watcher.discover import DirectoryWatcher, rank_from_path
from runwatch.watcher.snapshot import last_lines, split_block
from runwatch.watcher.stacks import PySpy, StackDumper, StallStacks
from runwatch.watcher.stdin import StreamReader
from runwatch.watcher.tail import CHUNK_BYTES, FileFollower, LineBatch, Notice, peek_tail
from runwatch.watcher.types import FilePosition, ItemBatch

if TYPE_CHECKING:
    from runwatch.alerting import Alerting
    from runwatch.state.system import SystemState
    from runwatch.watcher.sampler import SystemSampler

FrontEndNews = Notification | Notice
"""What the engine's feed carries: alert transitions (to show or send at once) and what sources say."""

PREVIEW_MIN_BYTES = 4 << 20
"""Files larger than this get a quick look at their tail before history is read."""
RAW_AHEAD_BYTES = 32 << 20
"""Raw history a follower may have queued before it waits for the worker to parse some."""
LOG_LINES = 500
"""Raw lines kept per run: the TUI's log pane and the context of alerts."""
TICK_S = 1.0
"""How often rules are evaluated when nothing arrives (time-based rules such as stall)."""
RECORD_TICK_S = 0.1
"""After new records, rules are evaluated this soon (at most this often), so alerts are not
held back by the idle period."""
JUDGED_PIECE_BYTES = 128 << 10
"""History is read (and judged, when there are rules) in pieces this big."""
STACKS_AT = 0.5
"""Stacks are taken once a run has been silent for this share of the silence that turns its badge
STALLED: the stall alert waits longer still (a 60 s floor to the badge's 30 s), so they are there
when it fires. A long eval costs one dump (py-spy pauses the process for a moment)."""
JUDGED_RECORDS = 2048
"""A piece of history with more records than this (short lines; a metric file read whole) is applied
and judged this many at a time: rules see only the points a series keeps raw (4096)."""


@dataclass(frozen=True)
class EngineOptions:
    fmt: str | None = None
    poll_only: bool = False
    poll_interval: float = 1.0
    total_steps: int | None = None
    preview: bool = True
    system: bool = True
    """Sample the training processes and the host (psutil) and the GPUs (NVML)."""
    gpu: bool = True
    pids: tuple[int, ...] = ()
    sample_interval: float = 2.0
    stall_floor_s: float = 30.0
    """The least silence that turns a run's badge STALLED (see RunTracker)."""
    stack_dumper: Callable[[], StackDumper | None] = PySpy.find
    """What takes a stalled run's Python stacks (py-spy from PATH, when installed)."""
    nvml: object | None = None
    """An NVML implementation to use instead of the real one (tests, demos)."""
    seen_bytes: Mapping[str, int] = field(default_factory=dict)
    """Bytes of each log (absolute path) a previous `runwatch watch` already judged: its history up to
    there is read again to rebuild the series but not judged again (that daemon sent what it found); the
    follower ends a read exactly there, so the bytes after it are judged, all of them and only them."""


@dataclass
class _Run:
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


class Engine:
    """Follows the given paths and keeps a RunTracker per run."""

    def __init__(
        self,
        paths: list[str],
        options: EngineOptions | None = None,
        *,
        clock: Callable[[], float] = time.time,
        stdin: IO[Any] | int | None = None,
        alerting: Alerting | Callable[[], Alerting] | None = None,
    ) -> None:
        self.options = options or EngineOptions()
        self._clock = clock
        self._log_format = None if self.options.fmt == "wandb" else self.options.fmt
        """`--format` as SourceParser takes it: `wandb` names a structured source, not a log format."""
        self._stdin = stdin
        # A factory is called on the worker thread, so importing the rules and sinks does not
        # delay the first status.
        self.alerting: Alerting | None = None if callable(alerting) else alerting
        self._alerting_factory = alerting if callable(alerting) else None
        self.feed: Feed[FrontEndNews] = Feed()
        """Alert notifications and source notices, for every front end to read at its own pace (`subscribe`)."""
        self._last_tick = 0.0
        self._dirty = False  # records arrived since the last evaluation
        self._paused: list[RunSnapshot] | None = None
        self.system: SystemState | None = None
        if self.options.system:
            from runwatch.state.system import SystemState

            self.system = SystemState()
        self._sampler: SystemSampler | None = None
        self._queue: queue.Queue[Message] = queue.Queue()
        self._stacks = StallStacks(self.options.stack_dumper() if self.system is not None else None,
                                   lambda dumps: self._queue.put(StacksTaken(dumps)), self._clock)
        if self.system is not None:
            self.system.stack_note = self._stacks.note
        self._raw_queued = 0  # bytes of raw history blocks queued and not yet parsed
        self._raw_room = threading.Condition()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._version = 0
        self._runs: list[_Run] = []
        self._run_of_source: dict[str, _Run] = {}
        self._rank_of_source: dict[str, int | None] = {}
        self._threads: list[Stoppable] = []  # followers, watchers, the stdin reader, the sampler
        self._worker: TaskThread | None = None
        self.supervisor = Supervisor(on_failure=self._thread_failed)
        """Runs every thread of this engine (and of its alerting's sinks): restarts, `degraded`, `gave_up`."""
        self._stopping = threading.Event()
        self._dirs: list[WatchedDirectory] = []
        """Directories given as paths: their new logs and sources are placed by the planner's rules."""
        self._planned: dict[int, _Run] = {}
        """id of a RunPlan → its run (`_run_of`)."""
        self._applied: dict[str, FilePosition] = {}
        """Per log: the follower's position after the last batch the worker applied."""
        self._judged: dict[str, FilePosition] = {}
        """Per log: the position up to which the rules have judged every line (what `positions()` gives)."""
        self._past_seen: set[str] = set()
        """Logs whose reading has passed `seen_bytes` (what comes now is judged)."""
        self._plan(paths)

    # -- setup -------------------------------------------------------------

    def _plan(self, paths: list[str]) -> None:
        """The runs and sources `runwatch.plan` finds in the paths (what does not exist yet is waited for)."""
        planned = plan(paths, fmt=self.options.fmt, live=True)
        for rp in planned.runs:
            self._run_of(rp)
        self._dirs = planned.directories

    def _run_of(self, rp: RunPlan) -> _Run:
        """The engine's run for a planned one, made (its sources attached) the first time it is asked for."""
        run = self._planned.get(id(rp))
        if run is None:
            run = self._planned[id(rp)] = self._add_run(rp.name, rp.label)
        for log in rp.logs:
            self._attach_file(run, str(log), rank_from_path(log))
        for item in rp.items:
            self._attach_items(run, item)
        return run

    def _attach_items(self, run: _Run, path: str) -> bool:
        """A structured source: a metric file, or a checkpoint dir (its path is the source).
        False when `path` is followed already."""
        if path in self._run_of_source:
            return False
        self._run_of_source[path] = run
        run.item_sources.append(path)
        return True

    def _add_run(self, name: str, label: str) -> _Run:
        taken = {r.name for r in self._runs}
        base, n = name, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
        run = _Run(name=name, label=label, tracker=RunTracker(name, label, stall_floor_s=self.options.stall_floor_s))
        self._runs.append(run)
        return run

    def _attach_file(self, run: _Run, path: str, rank: int | None) -> None:
        if path in self._run_of_source:
            return
        self._run_of_source[path] = run
        self._rank_of_source[path] = rank
        run.parsers[path] = SourceParser(path, fmt=self._log_format, rank=rank)
        run.history_pending.add(path)

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        self._preview_large_files()
        if self.alerting is not None:
            self.alerting.start(self.supervisor)
        self._queue.put(WarmUpAsked())  # the sampler and a deferred alerting start on the worker
        self._worker = TaskThread("engine", self._work, reset=self._after_failure)
        self._worker.supervisor = self.supervisor
        self._worker.start()
        for run in self._runs:
            for path in list(run.parsers):
                self._start_follower(path)
            if run.label == "-":
                self._start_stdin(run)
        for run in self._runs:
            for path in run.item_sources:
                self._start_items(path)
        for d in self._dirs:
            self._watch_directory(d)

    def _watch_directory(self, d: WatchedDirectory) -> None:
        """Report logs and structured sources that appear in `d` after planning, for the worker to place."""
        w = DirectoryWatcher(
            d.path,
            lambda p: self._queue.put(FileAppeared(str(p), d)),
            poll_interval=self.options.poll_interval,
            use_inotify=not self.options.poll_only,
            known=d.known_logs,
            on_notice=lambda n: self._queue.put(NoticeRaised(n)),
            on_new_source=lambda p: self._queue.put(SourceAppeared(str(p), d)),
            known_sources=[Path(p) for p in d.known_items],
        )
        self._own(w)

    def _own(self, thread: SupervisedThread) -> None:
        """Start a source thread under this engine's supervisor; `stop()` stops and joins it."""
        thread.supervisor = self.supervisor
        thread.start()
        self._threads.append(thread)

    def _thread_failed(self, failure: ThreadFailure) -> None:
        """A thread's body raised (its thread, no lock of ours held): a `runwatch_internal` alert to the sinks
        and to the front end's notifications, once per thread (the supervisor calls this once per thread,
        and again when it gives up); `degraded` in every snapshot says the rest."""
        alerting = self.alerting
        if alerting is None:
            return
        notes = alerting.internal_failure(failure)
        with self._changed:
            self.feed.publish(*notes)
            self._version += 1
            self._changed.notify_all()

    def _after_failure(self) -> None:
        """The worker's body raised and runs again: judge soon (the item it was on is lost, not the rest)."""
        self._dirty, self._last_tick = True, -math.inf

    def stop(self) -> None:
        """The worker first (it may still start threads: a sampler, a follower for a new rank
        file), then every source thread, then the alert sinks (which drain for a few seconds)."""
        self._stopping.set()
        self._queue.put(StopAsked())
        if self._worker is not None:
            self._worker.join(10.0)
            self._worker = None
        for t in self._threads:
            t.stop()
        for t in self._threads:
            t.join(5.0)
        self._threads.clear()
        if self.alerting is not None:
            self.alerting.stop()

    def __enter__(self) -> Engine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _warm_up(self) -> None:
        """What the first status does not need: started on the worker after it (no lock held;
        the alerting is published by one assignment)."""
        if self._stopping.is_set():
            return
        if self._alerting_factory is not None:
            alerting = self._alerting_factory()
            alerting.start(self.supervisor)
            self.alerting, self._alerting_factory = alerting, None
        self._start_sampler(paths_followed=[p for r in self._runs for p in r.parsers if p != "-"])

    def _start_sampler(self, paths_followed: list[str]) -> None:
        if self.system is None:
            return
        from runwatch.watcher.sampler import make_system_sampler

        self._sampler = make_system_sampler(
            lambda sample: self._queue.put(SystemSampled(sample)),
            pids=self.options.pids, logs=paths_followed, gpu=self.options.gpu,
            nvml=self.options.nvml,  # type: ignore[arg-type]
            stdin_pipe=any(r.label == "-" for r in self._runs), interval=self.options.sample_interval,
        )
        self._own(self._sampler)

    def _start_items(self, path: str) -> None:
        from runwatch.watcher.checkpoints import CheckpointWatcher
        from runwatch.watcher.metric_files import classify_path, follow
        from runwatch.watcher.wandb_online import WandbOnlineSource, is_wandb_url
        from runwatch.watcher.wandb_source import WandbSource, is_wandb_path

        put: Callable[[ItemBatch], None] = lambda b: self._queue.put(ItemsRead(b, path))  # noqa: E731
        notice: Callable[[Notice], None] = lambda n: self._queue.put(NoticeRaised(n))  # noqa: E731
        kw: dict[str, object] = {"use_inotify": not self.options.poll_only}
        thread: object | None
        if is_wandb_url(path):
            thread = WandbOnlineSource(path, put, notice)
        elif is_wandb_path(path) or self.options.fmt == "wandb":
            thread = WandbSource(path, put, notice, poll_interval=self.options.poll_interval, **kw)  # type: ignore[arg-type]
        elif classify_path(path) == "checkpoint_dir":
            thread = CheckpointWatcher(path, put, notice, **kw)  # type: ignore[arg-type]
        else:
            thread = follow(path, put, notice, **kw)
        if thread is not None:
            self._own(thread)

    def _start_follower(self, path: str) -> None:
        f = FileFollower(
            path,
            self._put_batch,
            lambda n: self._queue.put(NoticeRaised(n)),
            poll_interval=self.options.poll_interval,
            use_inotify=not self.options.poll_only,
            rank=self._rank_of_source.get(path),
            raw_history=True,  # history in raw blocks, for SourceParser.feed_bytes (see _parse)
            chunk_size=JUDGED_PIECE_BYTES if self.alerting is not None or self._alerting_factory else CHUNK_BYTES,
            on_position=lambda pos: self._queue.put(PositionReached(path, pos)),  # after its batches (FIFO)
            boundary=self.options.seen_bytes.get(os.path.abspath(path)) or None,
        )
        self._own(f)

    def _put_batch(self, b: LineBatch) -> None:
        """Queue a follower's batch; a raw history block waits (follower thread) while the worker
        has RAW_AHEAD_BYTES to parse, so a huge log is not read into memory ahead of it."""
        if b.raw:
            with self._raw_room:
                while self._raw_queued >= RAW_AHEAD_BYTES and not self._stopping.is_set():
                    self._raw_room.wait(0.5)
                self._raw_queued += len(b.raw)
        self._queue.put(LinesRead(b))

    def _start_stdin(self, run: _Run) -> None:
        run.parsers["-"] = SourceParser("-", fmt=self._log_format)
        self._run_of_source["-"] = run
        r = StreamReader(
            lambda b: self._queue.put(LinesRead(b)),
            on_eof=lambda: self._queue.put(InputEnded("-")),
            stream=self._stdin,
        )
        self._own(r)

    def _preview_large_files(self) -> None:
        """Show a big log's latest state at once; its history fills in behind."""
        if not self.options.preview:
            return
        for run in self._runs:
            for path in run.parsers:
                try:
                    size = os.path.getsize(path)
                except OSError:
                    continue
                big = size >= PREVIEW_MIN_BYTES
                if big:
                    run.history_bytes[path] = size
                if not big:
                    continue
                lines = peek_tail(path)
                parser = SourceParser(path, fmt=self._log_format, rank=self._rank_of_source.get(path))
                recs = parser.feed(lines, 0, self._clock()) + parser.flush()
                preview = run.preview or RunTracker(run.name, run.label)
                preview.apply_many(recs, self._clock())
                run.preview = preview

    # -- worker ------------------------------------------------------------

    def _work(self) -> None:
        """One item at a time: parse outside the lock (only this thread touches the parsers),
        apply under it, so front ends get a snapshot between any two chunks of a long history."""
        while True:
            try:
                item: Message | None = self._queue.get(timeout=self._next_tick_in())
            except queue.Empty:
                item = None
            match item:
                case WarmUpAsked():
                    self._warm_up()  # imports and thread starts: not under the lock
                    continue
                case StopAsked():
                    with self._changed:
                        self._flush_all()
                        self._version += 1
                        self._changed.notify_all()
                    return
                case LinesRead() | ItemsRead():
                    parsed = self._parse(item)
                case _:
                    parsed = None
            with self._changed:
                if parsed is not None:
                    self._apply_parsed(*parsed)
                elif item is not None:
                    self._handle(item)
                self._maybe_tick()
                self._version += 1
                self._changed.notify_all()

    def _parse(self, item: Batch) -> tuple[Batch, list[Record] | ChunkRecords, list[str] | None] | None:
        """The records a batch of lines or items completes (worker thread, no lock held), and for a
        raw history block the last lines of it for the log pane.

        A raw block goes to `feed_bytes`, whose columnar fast path (when the format has one) turns
        its step lines into columns that RunTracker.apply_chunk takes in bulk."""
        if isinstance(item, LinesRead):
            b = item.batch
            if b.raw:
                with self._raw_room:  # out of the queue: room for the follower to read on (see _put_batch)
                    self._raw_queued -= len(b.raw)
                    self._raw_room.notify_all()
            run = self._run_of_source.get(b.source)
            if run is None:
                return None
            parser = run.parsers[b.source]
            if b.raw:
                return item, parser.feed_bytes(b.raw, b.first_line, b.t, split_block), last_lines(b.raw, LOG_LINES)
            recs = parser.feed(b.lines, b.first_line, b.t)
            return item, recs if b.history else recs + parser.settle(), None  # live: caught up, for now
        run = self._run_of_source.get(item.source)
        if run is None:
            return None
        return item, self._decode(run, item.batch, item.source), None

    def _next_tick_in(self) -> float:
        if self.alerting is None:
            return TICK_S
        due = self._last_tick + (RECORD_TICK_S if self._dirty else TICK_S)
        return min(TICK_S, max(0.0, due - self._clock()))

    def _maybe_tick(self) -> None:
        """Evaluate the rules soon after records arrive and about once a second otherwise."""
        now = self._clock()
        if self.alerting is None or now - self._last_tick < (RECORD_TICK_S if self._dirty else TICK_S):
            return
        self._last_tick, self._dirty = now, False
        judged = [r for r in self._runs if r.tracker.records and not (r.history_pending and r.preview is not None)]
        if judged:
            ready = [(r.tracker, self.system, list(r.lines)[-40:]) for r in judged]
            self.feed.publish(*self.alerting.tick(ready, now, points={r.tracker.run: r.unjudged for r in judged}))
            trainers = self._trainers()
            for r in judged:
                r.unjudged = 0
                self._ask_stacks(r, now, trainers)
                if trainers and r.tracker.quiet_end:
                    r.tracker.ended_quietly(False)  # a process holds its log after all: silent, not ended
        for r in self._runs:
            if r.unjudged == 0:  # the rules have seen all it holds: its logs are judged as far as applied
                self._judged.update((s, self._applied[s]) for s in r.parsers if s in self._applied)

    def _trainers(self) -> list[ProcessSample]:
        """The training processes (main and ranks) alive at the latest sample; none when not sampling."""
        latest = None if self.system is None else self.system.latest
        return [] if latest is None else [p for p in latest.processes if p.alive and p.role != ProcessRole.CHILD]

    def _ask_stacks(self, run: _Run, now: float, trainers: list[ProcessSample]) -> None:
        """The processes of a run silent for half the time that turns its badge STALLED get their stacks
        taken (once per silence), so that the stall alert, which comes later still, can show them."""
        tracker = run.tracker
        if tracker.last_step_at is None:
            return
        silent = (now - tracker.last_step_at >= STACKS_AT * tracker.stall_after_s()
                  and tracker.state(now) in (RunState.RUNNING, RunState.STALLED))
        pids = [p.pid for p in trainers if p.state != ProcessState.STOPPED]  # py-spy cannot suspend those
        self._stacks.ask(run.name, tracker.last_step_at, silent, pids)

    def _handle(self, item: Message) -> None:
        """Everything but line and item batches, which `_work` parses outside the lock."""
        now = self._clock()
        match item:
            case NoticeRaised(n):
                self.feed.publish(n)
                run = self._run_of_source.get(n.source)
                if run is not None and (n.level != "info" or "waiting" in n.message or n.source in run.item_sources):
                    # a structured source's notice (W&B: how late its writer flushes) stands until replaced
                    run.notes[n.source] = n.message
            case InputEnded(source):
                run = self._run_of_source.get(source)
                if run is not None:
                    recs = run.parsers[source].flush()
                    recs.append(Record(Kind.EVENT, event=Event.EXIT, t=now, source=source, message="input ended"))
                    run.tracker.apply_many(self._with_total(recs), now)
                    run.unjudged += len(recs)
                    run.ended = True
                    self._dirty, self._last_tick = True, -math.inf  # judge the last records before front ends see the end
            case SystemSampled(sample):
                if self.system is not None:
                    self.system.apply(sample)
            case StacksTaken(dumps):
                if self.system is not None:
                    self.system.stacks.update((d.pid, d) for d in dumps)
            case FileAppeared(path, directory):
                if path not in self._run_of_source and not self._stopping.is_set():
                    self._run_of(directory.place(Path(path))[0])  # the planner's grouping: its run, or a new one
                    self._start_follower(path)
                    if self._sampler is not None and self._sampler.processes is not None:
                        self._sampler.processes.watch(logs=[path])
            case SourceAppeared(path, directory):
                self._add_source(self._run_of(directory.items_home()[0]), path)
            case PositionReached(source, pos):
                self._read_to(source, pos)

    def _read_to(self, source: str, pos: FilePosition) -> None:
        """Every batch of `source` before `pos` is applied (the follower queued `pos` after them); judged
        too when the run owes the rules nothing, else at the run's next tick (`_maybe_tick`)."""
        self._applied[source] = pos
        if pos.offset >= self.options.seen_bytes.get(os.path.abspath(source), 0):
            self._past_seen.add(source)
        run = self._run_of_source.get(source)
        if self.alerting is None or run is None or run.unjudged == 0:
            self._judged[source] = pos

    def _add_source(self, run: _Run, path: str) -> None:
        """A structured source that appeared in a followed directory: attached and started as at
        start-up, unless something follows that path already (worker thread, lock held)."""
        if not self._stopping.is_set() and self._attach_items(run, path):
            self._start_items(path)

    def _apply_parsed(self, item: Batch, recs: list[Record] | ChunkRecords, shown: list[str] | None = None) -> None:
        """Records of one parsed batch into run state (lock held); `shown`: the log lines of a raw block."""
        now = self._clock()
        if isinstance(item, LinesRead):
            b = item.batch
            if not b.history and 0 < b.t < now:
                now = b.t  # when its bytes arrived: a line held until the next one ended it (a tqdm frame)
            run = self._run_of_source[b.source]
            run.lines.extend(b.lines if shown is None else shown)
            run.format = run.format or run.parsers[b.source].format
            if b.history:
                done = len(b.raw) if b.raw else sum(map(len, b.lines)) + len(b.lines)
                run.parsed_bytes[b.source] = run.parsed_bytes.get(b.source, 0) + done
            if b.lines or b.raw:
                run.notes.pop(b.source, None)
            if not b.history and b.source in run.history_pending:
                run.history_pending.discard(b.source)
                if not b.count and run.tracker.records:  # the end of the history: how old is it really?
                    with contextlib.suppress(OSError):
                        run.tracker.written_by(os.stat(b.source).st_mtime)
                    last = run.tracker.last_step_at
                    if last is not None and now - last > run.tracker.stall_after_s() and not self._trainers():
                        run.tracker.ended_quietly(True)
        else:
            run = self._run_of_source[item.source]
            if item.batch.kind.startswith("wandb") and isinstance(recs, list):
                recs = self._wandb_side_records(run, recs)
            run.format = run.format or item.batch.kind
        judge = self._judge_history(run, item)
        run.tracker.progress.bulk = bool(item.batch.history)  # read times of a history say nothing of speed
        pieces: list[list[Record] | ChunkRecords] = [recs]
        if judge is True and len(recs) > JUDGED_RECORDS:  # short lines: more than a rule could look back on
            merged = recs.merged() if isinstance(recs, ChunkRecords) else recs
            pieces = [merged[i : i + JUDGED_RECORDS] for i in range(0, len(merged), JUDGED_RECORDS)]
        for piece in pieces:
            if isinstance(piece, ChunkRecords):
                if len(piece):
                    run.tracker.apply_chunk(self._chunk_with_total(piece), now)
            elif piece:
                run.tracker.apply_many(self._with_total(piece), now)
            run.unjudged += len(piece)
            self._dirty = self._dirty or bool(len(piece))
            if judge is True and len(piece):
                self._history_tick(run, now)
        if judge is None:
            run.unjudged = 0  # judged by the daemon before us

    def _judge_history(self, run: _Run, item: Batch) -> bool | None:
        """Whether a batch just applied is history to judge now (see `_history_tick`); None for
        history a previous daemon judged (`EngineOptions.seen_bytes`)."""
        if self.alerting is None:
            return False
        if not item.batch.history:
            return False
        if isinstance(item, ItemsRead):
            return True
        return True if item.batch.source in self._past_seen or not self.options.seen_bytes else None

    def _history_tick(self, run: _Run, now: float) -> None:
        """Judge a run after each piece of its history, with the rules that read records in sequence.

        A history is applied in pieces far faster than the rules tick, and the
        rules look back only so far: without this, a NaN or a spike in the
        middle of a log read at start-up would never be seen (`runwatch check`
        replays for the same reason). Rules about time (stall, drift, system)
        judge the present: they wait for the live ticks.
        """
        assert self.alerting is not None
        ready = [(run.tracker, None, list(run.lines)[-40:])]
        self.feed.publish(*self.alerting.tick(ready, now, points={run.tracker.run: run.unjudged}, history=True))
        run.unjudged = 0

    def _chunk_with_total(self, chunk: ChunkRecords) -> ChunkRecords:
        """`_with_total` for a chunk: its step rows get the total too."""
        total = self.options.total_steps
        if total is None:
            return chunk
        steps = chunk.steps
        if steps is not None:
            steps = replace(steps, total=np.full(len(steps), total, np.int64))
        return replace(chunk, records=self._with_total(chunk.records), steps=steps)

    def _decode(self, run: _Run, b: ItemBatch, path: str) -> list[Record]:
        """Decode a structured batch; one decoder per run for HF log history (checkpoints and the
        final trainer_state.json repeat entries, deduplicated within one decoder)."""
        from runwatch.decoding import decoder_for

        decoder = decoder_for(run.decoders, run.name, path, b.kind)
        return decoder.feed(list(b.items), b.t) if decoder is not None else []

    def _wandb_side_records(self, run: _Run, recs: list[Record]) -> list[Record]:
        """W&B metadata goes to the run's `meta`, W&B system stats to the GPU view (when this
        machine has none of its own); the rest are ordinary records."""
        from runwatch.parsers.wandb_meta import run_meta
        from runwatch.parsers.wandb_stats import system_sample

        out = []
        for rec in recs:
            meta = run_meta(rec)
            if meta is not None:
                run.meta.update(meta)
                continue
            sample = system_sample(rec)
            if sample is not None:
                if self.system is not None and not self.system.gpus:
                    self.system.apply(sample)
                continue
            out.append(rec)
        return out

    def _with_total(self, recs: list[Record]) -> list[Record]:
        total = self.options.total_steps
        if total is None:
            return recs
        return [replace(r, total_steps=total) if r.step is not None else r for r in recs]

    def _flush_all(self) -> None:
        now = self._clock()
        for run in self._runs:
            for parser in run.parsers.values():
                recs = parser.flush()
                if recs:
                    run.tracker.apply_many(self._with_total(recs), now)

    # -- reading -----------------------------------------------------------

    def snapshots(self) -> list[RunSnapshot]:
        if self._paused is not None:
            return self._paused
        now = self._clock()
        with self._lock:
            return [self._snapshot(run, now) for run in self._runs]

    def subscribe(self) -> Subscription[FrontEndNews]:
        """A front end's own cursor on the alert notifications and source notices (to show at once);
        what one front end takes, the others still get."""
        return self.feed.subscribe()

    # -- Controller (model.Controller): what front ends may ask -------------

    def chart(self, run: str, metric: str, width: int, *, rank: int | None = None,
              last_steps: float | None = None) -> ChartData | None:
        with self._lock:
            r = self._find(run)
            if r is None:
                return None
            tracker = r.preview if r.history_pending and r.preview is not None else r.tracker
            series = tracker.store.get(metric, rank)
            if series is None and rank is None:
                ranks = tracker.store.ranks(metric)
                series = tracker.store.get(metric, min(ranks, key=lambda r: -1 if r is None else r)) if ranks else None
            if series is None or len(series) == 0:
                return None
            x_min = None
            if last_steps is not None and series.latest is not None:
                x_min = series.latest[0] - last_steps
            c = series.columns(max(1, width), x_min)
            nonfinite = (c.nan + c.inf).astype(np.int64)
            return ChartData(run, metric, rank, c.x, c.ymin, c.ymax, c.ylast, nonfinite, len(series))

    def log_tail(self, run: str, lines: int) -> list[str]:
        with self._lock:
            r = self._find(run)
            return list(r.lines)[-lines:] if r is not None else []

    def silence(self, alert_key: str, duration_s: float, comment: str = "") -> str:
        if self.alerting is None:
            raise KeyError(alert_key)
        return self.alerting.silence(alert_key, duration_s, self._clock(), comment)

    def acknowledge(self, alert_key: str) -> None:
        if self.alerting is not None:
            self.alerting.acknowledge(alert_key)

    def set_paused(self, paused: bool) -> None:
        """Freeze what snapshots() returns (the engine keeps reading underneath)."""
        self._paused = None
        if paused:
            self._paused = self.snapshots()

    def _find(self, run: str) -> _Run | None:
        return next((r for r in self._runs if r.name == run), None)

    def _snapshot(self, run: _Run, now: float) -> RunSnapshot:
        catching_up = bool(run.history_pending) and run.preview is not None
        tracker = run.preview if catching_up and run.preview is not None else run.tracker
        snap = tracker.snapshot(now)
        notes = tuple(run.notes.values()) + _unknown_format_notes(run)
        if catching_up:
            notes = (f"reading history: {self._history_percent(run):.0f}%; showing the latest lines first",) + notes
        alerts = self.alerting.briefs(run.name) if self.alerting is not None else ()
        snap = replace(snap, run=run.name, source=run.label, format=run.format, notes=notes, alerts=alerts,
                       meta=dict(run.meta), state=_state_with_alerts(snap.state, alerts, tracker.last_step_at),
                       reading_history=bool(run.history_pending), degraded=self.supervisor.degraded())
        if self.system is not None:
            snap = replace(snap, processes=self.system.processes, gpus=self.system.gpus,
                           gpu_status=self.system.gpu_status)
        return snap

    def _history_percent(self, run: _Run) -> float:
        total = sum(run.history_bytes.values())
        done = sum(min(run.parsed_bytes.get(p, 0), size) for p, size in run.history_bytes.items())
        return min(99.0, 100.0 * done / total) if total else 0.0

    def positions(self) -> dict[str, FilePosition]:
        """How far each log has been judged, by path (DESIGN §7: what `runwatch watch` saves across
        restarts): never further than the rules have looked, history and live lines alike. A follower
        reads ahead of the worker (up to RAW_AHEAD_BYTES of history, any amount of live lines), and the
        worker applies records before the next tick judges them; a daemon killed in between must judge
        those lines next time. Read-only, from any thread."""
        with self._lock:
            return dict(self._judged)

    @property
    def version(self) -> int:
        """Bumped at every state change; pass it to `wait(since=…)` to miss none."""
        return self._version

    def wait(self, timeout: float, since: int | None = None) -> bool:
        """Block until state changes (after `since`, else after now) or the timeout passes."""
        with self._changed:
            v = self._version if since is None else since
            self._changed.wait_for(lambda: self._version != v, timeout)
            return self._version != v

    @property
    def all_ended(self) -> bool:
        """True when every source is a stream that has ended (stdin at EOF)."""
        with self._lock:
            return bool(self._runs) and all(r.ended for r in self._runs)


BADGE_RANK = {RunState.RUNNING: 0, RunState.STALLED: 1, RunState.ENDED: 2, RunState.CRASHED: 3}
"""How grave a badge is: a firing alert's badge (`AlertBrief.badge`) replaces a live run's when graver."""


def _state_with_alerts(state: RunState, alerts: Sequence[AlertBrief], last_step_at: float | None) -> RunState:
    """The badge agrees with the alerts whose rules say what their firing means (`Rule.badge`: a stall is
    a stalled run, by its budget rather than the badge's own rougher one; a process that exited before
    the run finished, a crashed or ended one): the gravest of them, for a run still live (running or
    stalled); unless a step came since it fired (the alert resolves only after its `resolve_after`; the
    run is back now)."""
    if state not in (RunState.RUNNING, RunState.STALLED):
        return state
    said = [a.badge for a in alerts if a.badge is not None and a.state == AlertState.FIRING
            and (a.since is None or last_step_at is None or last_step_at <= a.since)]
    return max([state, *said], key=lambda s: BADGE_RANK.get(s, 0))


def _unknown_format_notes(run: _Run) -> tuple[str, ...]:
    """A run with no record yet whose logs hold many lines and no format runwatch knows says so, once
    per file, rather than look like it waits for its first step."""
    if run.tracker.records:
        return ()
    return tuple(f"{path}: no known log format in its first {p.undecided_lines:,} lines (--format NAME forces one)"
                 for path, p in run.parsers.items() if p.format is None and p.undecided_lines >= DETECT_MAX_LINES)
