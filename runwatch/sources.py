"""The engine's sources: which thread follows each path, started and stopped under one supervisor.

Sources (file followers, directory watchers, structured-source readers, the
stdin reader, the system sampler) run on their own threads and only put
messages (`runwatch.messages`) on the engine's queue. Choosing the thread for
a path, starting it under the engine's supervisor, stopping and joining them
all, and the back-pressure that keeps a follower from reading a huge history
into memory ahead of the worker are one job, kept here apart from what the
worker does with the messages (`runwatch.ingest`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from runwatch import messages
from runwatch.engine_options import EngineOptions
from runwatch.ingest import Ingest
from runwatch.plan import WatchedDirectory
from runwatch.supervise import Stoppable, SupervisedThread, Supervisor
from runwatch.watcher.compressed import compression
from runwatch.watcher.discover import DirectoryWatcher
from runwatch.watcher.snapshot import peek_tail_bytes
from runwatch.watcher.stdin import StreamReader
from runwatch.watcher.tail import CHUNK_BYTES, FileFollower, LineBatch, Notice
from runwatch.watcher.types import ItemBatch

if TYPE_CHECKING:
    from runwatch.watcher.sampler import SystemSampler

PREVIEW_MIN_BYTES = 4 << 20
"""Files larger than this get a quick look at their tail before history is read."""
RAW_AHEAD_BYTES = 32 << 20
"""Raw history a follower may have queued before it waits for the worker to parse some."""


class Sources:
    """The source threads of one engine: each puts what it reads on `put` (the engine's queue)."""

    def __init__(self, options: EngineOptions, put: Callable[[messages.Message], None], supervisor: Supervisor,
                 stopping: threading.Event, stdin: IO[Any] | int | None = None) -> None:
        self._options = options
        self._put = put
        self._supervisor = supervisor
        self._stopping = stopping
        self._stdin = stdin
        self.threads: list[Stoppable] = []  # followers, watchers, the stdin reader, the sampler
        self.sampler: SystemSampler | None = None
        self._followers: dict[str, FileFollower] = {}
        self._raw_queued = 0  # bytes of raw history blocks queued and not yet parsed
        self._raw_room = threading.Condition()

    def own(self, thread: SupervisedThread) -> None:
        """Start a source thread under the engine's supervisor; `stop()` stops and joins it."""
        thread.supervisor = self._supervisor
        thread.start()
        self.threads.append(thread)

    def stop(self) -> None:
        for t in self.threads:
            t.stop()
        for t in self.threads:
            t.join(5.0)
        self.threads.clear()

    def _notice(self, n: Notice) -> None:
        self._put(messages.NoticeRaised(n))

    def watch_directory(self, d: WatchedDirectory) -> None:
        """Report logs and structured sources that appear in `d` after planning, for the worker to place."""
        w = DirectoryWatcher(
            d.path,
            lambda p: self._put(messages.FileAppeared(str(p), d)),
            poll_interval=self._options.poll_interval,
            use_inotify=not self._options.poll_only,
            known=d.known_logs,
            on_notice=self._notice,
            on_new_source=lambda p: self._put(messages.SourceAppeared(str(p), d)),
            known_sources=[Path(p) for p in d.known_items],
        )
        self.own(w)

    def start_sampler(self, paths_followed: list[str], stdin_pipe: bool) -> None:
        from runwatch.watcher.sampler import make_system_sampler

        o = self._options
        self.sampler = make_system_sampler(
            lambda sample: self._put(messages.SystemSampled(sample)),
            pids=o.pids, logs=paths_followed, gpu=o.gpu,
            nvml=o.nvml,  # type: ignore[arg-type]
            stdin_pipe=stdin_pipe, interval=o.sample_interval,
        )
        self.own(self.sampler)

    def start_items(self, path: str) -> None:
        """A structured source: a W&B run (online or offline), a checkpoint dir, or a metric file."""
        from runwatch.watcher.checkpoints import CheckpointWatcher
        from runwatch.watcher.metric_files import classify_path, follow
        from runwatch.watcher.wandb_online import WandbOnlineSource, is_wandb_url
        from runwatch.watcher.wandb_source import WandbSource, is_wandb_path

        put: Callable[[ItemBatch], None] = lambda b: self._put(messages.ItemsRead(b, path))  # noqa: E731
        notice = self._notice
        kw: dict[str, object] = {"use_inotify": not self._options.poll_only}
        thread: object | None
        if is_wandb_url(path):
            thread = WandbOnlineSource(path, put, notice)
        elif is_wandb_path(path) or self._options.fmt == "wandb":
            thread = WandbSource(path, put, notice, poll_interval=self._options.poll_interval, **kw)  # type: ignore[arg-type]
        elif classify_path(path) == "checkpoint_dir":
            thread = CheckpointWatcher(path, put, notice, **kw)  # type: ignore[arg-type]
        else:
            thread = follow(path, put, notice, **kw)
        if thread is not None:
            self.own(thread)

    def start_follower(self, path: str, rank: int | None) -> None:
        """Follow a log: its history in raw blocks of a read each (RAW_READ_BYTES; a judged history is judged
        every `Judge.most_records` records of a block, `Ingest.apply`: smaller blocks cost the fast path more)."""
        f = FileFollower(
            path,
            self._put_batch,
            self._notice,
            poll_interval=self._options.poll_interval,
            use_inotify=not self._options.poll_only,
            rank=rank,
            raw_history=True,  # history in raw blocks, for SourceParser.feed_bytes (see Ingest.parse)
            chunk_size=CHUNK_BYTES,
            on_position=lambda pos: self._put(messages.PositionReached(path, pos)),  # after its batches (FIFO)
            boundary=self._options.seen_bytes.get(os.path.abspath(path)) or None,
        )
        self._followers[path] = f
        self.own(f)

    def stop_follower(self, path: str) -> None:
        """Stop following `path` as a log (it is followed as a metric file now: `Ingest.table_appeared`)."""
        f = self._followers.pop(path, None)
        if f is not None:
            f.stop()

    def writers_gone(self, path: str, gone: bool) -> None:
        """Tell the follower of `path` whether its writers are all gone (`FileFollower.writers_gone`)."""
        f = self._followers.get(path)
        if f is not None:
            f.writers_gone(gone)

    def start_stdin(self) -> None:
        r = StreamReader(
            lambda b: self._put(messages.LinesRead(b)),
            on_eof=lambda: self._put(messages.InputEnded("-")),
            stream=self._stdin,
        )
        self.own(r)

    def _put_batch(self, b: LineBatch) -> None:
        """Queue a follower's batch; a raw history block waits (follower thread) while the worker
        has RAW_AHEAD_BYTES to parse, so a huge log is not read into memory ahead of it."""
        if b.raw:
            with self._raw_room:
                while self._raw_queued >= RAW_AHEAD_BYTES and not self._stopping.is_set():
                    self._raw_room.wait(0.5)
                self._raw_queued += len(b.raw)
        self._put(messages.LinesRead(b))

    def taken(self, b: LineBatch) -> None:
        """The worker took a batch out of the queue: room for the follower to read on (see `_put_batch`)."""
        if b.raw:
            with self._raw_room:
                self._raw_queued -= len(b.raw)
                self._raw_room.notify_all()


def preview_large_files(ingest: Ingest, clock: Callable[[], float]) -> None:
    """Show a big log's latest state at once (its tail); its history fills in behind."""
    for run in ingest.runs:
        for path in run.parsers:
            try:
                size = os.path.getsize(path)
            except OSError:
                continue
            if size < PREVIEW_MIN_BYTES or compression(path) is not None:
                continue  # a compressed file's last bytes are no lines, and its size counts no text
            run.history_bytes[path] = size
            ingest.preview(run, path, peek_tail_bytes(path), clock)
