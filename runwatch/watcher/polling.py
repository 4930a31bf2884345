"""The loop every file-watching source runs: look, sleep until an event or the next poll, look again.

Followers of a log, a W&B run, a metric file, a checkpoint directory and the
log discovery all trust only what a stat shows: the shared `WatchHub` just
wakes them early. They also share how they talk: each condition is said once
(not once a poll), a failing look is reported and retried rather than ending
the thread. `PollingThread` is that loop and that talk; a subclass says what
one look (`_step`) does. (Its own module: threads.py sits below notify.py.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from runwatch.watcher.hublink import HubLink
from runwatch.watcher.notify import WatchHub, shared_hub
from runwatch.watcher.threads import SourceThread
from runwatch.watcher.types import Notice, NoticeLevel

GATHER_S = 0.1
"""The shortest time between two looks that file events cause: a log written a line at a time (150 lines/s)
is read in 10 looks a second, not 150 (each a stat, a read and a hash of the file's head, and a batch for
the engine). A write after a quiet spell is read at once; one that follows a look closely waits at most
this long. 50 ms cost 0.4% of a core more than 100 ms at 150 lines/s (benchmarks/follow_cpu.py)."""


class PollingThread(SourceThread):
    """A thread that takes one guarded look every `poll_interval`, or sooner when its `HubLink` wakes it.

    `watched` names the file or directory in messages (and the thread:
    `<prefix>-<name>`); `doing` completes "error while …" when a look fails.
    Notices go to `on_notice` (may be None: nobody listens) with `source`.
    """

    crash_key: ClassVar[str] = "crash"
    """The `_report` key of a failed look (a subclass whose keys mean something else picks its own)."""
    poll_word: ClassVar[str] = "polling"
    """What the thread does every `poll_interval` without notifications, in the notice that says so."""

    def __init__(
        self,
        prefix: str,
        watched: Path,
        *,
        doing: str,
        source: str,
        on_notice: Callable[[Notice], None] | None,
        poll_interval: float,
    ) -> None:
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval}")
        super().__init__(f"{prefix}-{watched.name}", source, on_notice)
        self._watched, self._doing = watched, doing
        self._poll = poll_interval
        self._wake = threading.Event()
        self._stop_asked = threading.Event()
        self._link: HubLink | None = None
        self._problem: str | None = None
        """The condition last reported, so that each is said once."""
        self._said_no_notify = False
        self._looked_at = float("-inf")
        """Monotonic time the last look began."""
        self.ready = threading.Event()
        """Set once the first look is done (and file events are subscribed): what the thread will report
        from now on is what happens after this. Tests wait on it instead of sleeping."""

    def _link_hub(
        self, hub: WatchHub | None, use_inotify: bool, targets: Callable[[], list[str]], *, recursive: bool = False,
        wants: Callable[[str], bool] | None = None,
    ) -> None:
        """Be woken by file events on `targets` (the shared hub unless `hub`; only for the event paths
        `wants`, if given); not at all without inotify."""
        if use_inotify:
            hub = hub if hub is not None else shared_hub()
            self._link = HubLink(hub, self._wake.set, targets, self._no_notify, recursive=recursive, wants=wants)

    def on_stop(self) -> None:
        self._stop_asked.set()
        self._wake.set()

    def body(self) -> None:
        try:
            if self._link is not None:
                self._link.open()
            while not self.stopping:
                self._wake.clear()
                self._looked_at = time.monotonic()
                self._round()
                self.ready.set()
                self._rest()
        except Exception as exc:  # thread top: the loop itself failed, outside a guarded look
            self._stopped(exc)
        finally:
            self.ready.set()  # nobody waits forever on a thread that ended before its first look
            self._finish()
            if self._link is not None:
                self._link.close()

    def _round(self) -> None:
        """One look, guarded: an odd filesystem or a failing callback must not end the thread."""
        try:
            if self._link is not None:
                self._link.ensure()
            self._step()
        except Exception as exc:
            self._report(self.crash_key, "error", f"error while {self._doing}: {exc!r} (retrying)")

    def _step(self) -> None:
        """One look at what is watched."""
        raise NotImplementedError

    def _rest(self) -> None:
        """Sleep until the next poll; a file event or `stop()` ends it early (an event no sooner than
        `GATHER_S` after the last look began, so that the writes of a burst are read in one look)."""
        if self._wake.wait(self._next_look_in()) and not self.stopping:
            left = self._looked_at + GATHER_S - time.monotonic()
            if left > 0:
                self._stop_asked.wait(left)

    def _next_look_in(self) -> float:
        """Seconds until the next look unless an event comes first: the poll interval, unless a subclass
        owes a look sooner."""
        return self._poll

    def _finish(self) -> None:
        """Hook: let go of what the looks held (the thread is ending)."""

    def _stopped(self, exc: Exception) -> None:
        """Hook: the loop failed outside a look; by default the thread ends with the error."""
        raise exc

    # -- notices -------------------------------------------------------------

    def _report(self, key: str, level: NoticeLevel, message: str) -> None:
        """Say `message` unless `key` is the condition said last."""
        if self._problem != key:
            self._problem = key
            self._notice(level, message)

    def _no_notify(self, exc: OSError) -> None:
        """The hub cannot watch: say once that the thread polls on its own."""
        if not self._said_no_notify:
            self._said_no_notify = True
            self._notice("warning", f"no file notifications for {self._watched} ({exc}); "
                         f"{self.poll_word} every {self._poll:g}s")
