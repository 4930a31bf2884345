"""The lifecycle every source thread shares (after watchdog's `BaseThread`): `runwatch.supervise`.

Each source thread is an object its owner starts, stops and joins; `stop()`
only signals, so an owner can stop many threads and then join them all; its
`body` runs under the owner's Supervisor, which restarts it if it raises.
"""

from __future__ import annotations

from collections.abc import Callable

from runwatch.supervise import THREAD_PREFIX, SupervisedThread
from runwatch.watcher.types import Notice, NoticeLevel

__all__ = ["THREAD_PREFIX", "ServiceThread", "SourceThread"]


ServiceThread = SupervisedThread
"""Every source thread: started, stopped and joined by its owner, its `body` run under a Supervisor."""


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
