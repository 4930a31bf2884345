"""The lifecycle every runwatch thread shares (after watchdog's `BaseThread`).

Each source thread is an object its owner starts, stops and joins; `stop()`
only signals, so an owner can stop many threads and then join them all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Self

from runwatch.watcher.types import Notice, NoticeLevel

THREAD_PREFIX = "runwatch-"


class ServiceThread(threading.Thread):
    """A daemon thread with a stop signal, named `runwatch-<name>`, usable as a context manager."""

    def __init__(self, name: str) -> None:
        super().__init__(name=THREAD_PREFIX + name, daemon=True)
        self._stopping = threading.Event()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self) -> None:
        """Ask the thread to end soon; does not wait (call `join`)."""
        self._stopping.set()
        self.on_stop()

    def on_stop(self) -> None:
        """Hook: wake the thread from whatever it waits on."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        self.join()


class SourceThread(ServiceThread):
    """A thread that reads one source and tells a person what happens to it, in `Notice`s.

    Notices carry `source` and go to `on_notice` (None: nobody listens); they
    are called on this thread, so one that fails while the thread is already
    failing must not hide the first error (`_safe_notice`).
    """

    def __init__(self, name: str, source: str, on_notice: Callable[[Notice], None] | None) -> None:
        super().__init__(name)
        self.source = source
        self._on_notice = on_notice

    def _notice(self, level: NoticeLevel, message: str) -> None:
        if self._on_notice is not None:
            self._on_notice(Notice(self.source, level, message))

    def _safe_notice(self, level: NoticeLevel, message: str) -> None:
        try:
            self._notice(level, message)
        except Exception:  # the notice callback itself failed: nobody is left to tell
            pass
