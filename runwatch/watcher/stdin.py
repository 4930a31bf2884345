"""Read a piped training process: `python train.py | runwatch tail -`.

The end of the stream means the training process exited (or closed its
output), which the engine wants to know at once, so `on_eof` is called then.
The reader waits with `select` and a short timeout, so `stop()` works even
when the writer never closes the pipe.
"""

from __future__ import annotations

import os
import select
import sys
import time
from collections.abc import Callable
from typing import IO, Any

from runwatch.watcher.lines import LineSplitter
from runwatch.watcher.threads import ServiceThread
from runwatch.watcher.types import LineBatch, Notice

PIPE_BYTES = 64 * 1024
"""A Linux pipe's capacity: a read that takes this much found the writer ahead of us."""
_WAIT = 0.1
"""How long one select waits: the most a stop() waits for the thread to notice."""


class StreamReader(ServiceThread):
    """Reads a binary stream (stdin by default) through `LineSplitter` until EOF or `stop()`.

    `stream` is anything with `fileno()`, or a file descriptor; the reader
    does not close it (stdin is not ours). Each read takes what the pipe
    holds, up to `chunk_size`, and becomes one `LineBatch`.
    """

    def __init__(
        self,
        on_batch: Callable[[LineBatch], None],
        on_eof: Callable[[], None],
        *,
        stream: IO[Any] | int | None = None,
        source: str = "-",
        rank: int | None = None,
        on_notice: Callable[[Notice], None] | None = None,
        chunk_size: int = 256 * 1024,
    ) -> None:
        super().__init__("stdin" if source == "-" else f"stdin-{source}")
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        stream = sys.stdin.buffer if stream is None else stream
        self._fd = stream if isinstance(stream, int) else stream.fileno()
        self.source, self.rank = source, rank
        self._on_batch, self._on_eof, self._on_notice = on_batch, on_eof, on_notice
        self._chunk = chunk_size
        self._splitter = LineSplitter()
        self._lines = 0

    @property
    def dropped_bytes(self) -> int:
        return self._splitter.dropped_bytes

    def body(self) -> None:
        try:
            while not self.stopping:
                data = self._read() if self._readable() else None
                if data is None:
                    continue
                if not data:
                    self._deliver(self._splitter.flush())
                    self._on_eof()
                    return
                # A read that took a full pipe, or after which more is waiting once its lines are split: a
                # backlog (`cat big.log |`), history whose read times say nothing of the run's speed; else
                # the reader caught up with the writer: live.
                pieces = self._splitter.feed_timed(data, time.time())
                backlog = len(data) >= PIPE_BYTES or self._readable(0.0)
                for lines, t in pieces:
                    self._deliver(lines, backlog=backlog, t=t)
        except Exception as exc:  # thread top: a failing callback ends the reader, but not silently
            self._notice(f"stopped reading {self.source}: {exc!r}")

    def _readable(self, wait: float = _WAIT) -> bool:
        try:
            ready, _, _ = select.select([self._fd], [], [], wait)
        except InterruptedError:
            return False
        return bool(ready)

    def _read(self) -> bytes | None:
        """What the stream holds now; b"" at its end (a read error ends it too); None for nothing yet."""
        try:
            return os.read(self._fd, self._chunk)
        except BlockingIOError:  # a non-blocking fd woke us for nothing
            return None
        except OSError as exc:
            self._notice(f"reading {self.source} failed: {exc.strerror or exc}; treating it as closed")
            return b""

    def _deliver(self, lines: list[str], *, backlog: bool = False, t: float | None = None) -> None:
        if lines:
            when = time.time() if t is None else t
            self._on_batch(LineBatch(self.source, self.rank, self._lines + 1, lines, when, backlog))
            self._lines += len(lines)

    def _notice(self, message: str) -> None:
        if self._on_notice is not None:
            self._on_notice(Notice(self.source, "error", message))
