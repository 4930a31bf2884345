"""watchdog as the hub's notifier: the platforms without inotify (macOS FSEvents, Windows), and
watchdog's polling observer where a test wants wake-ups without kernel limits.

On Linux the hub reads inotify itself (runwatch.watcher.inotify): watchdog's
pipeline of threads costs too much per event for a log written a line at a
time. Elsewhere its native observer is the well-kept way to be told.
"""

from __future__ import annotations

import contextlib
import errno
import warnings
from collections.abc import Callable

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

from runwatch.watcher.threads import THREAD_PREFIX

# Opens and reads (ours included) are left out: they would wake followers for nothing.
_EVENTS: list[type[FileSystemEvent]] = [
    FileModifiedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    FileClosedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]


def native_observer() -> BaseObserver:
    """The platform's native observer; OSError where there is none (runwatch polls then anyway)."""
    if Observer is PollingObserver:
        raise OSError(errno.ENOSYS, "no native file notification on this platform")
    # watchdog's recursive inotify watch adds a directory created with its subdirectories twice (once
    # for the new directory's event, once from its walk) and warns each time, naming the paths: a run
    # that makes `logs/<id>/attempt_0/0/` at once printed it to the daemon's stderr. The second watch
    # replaces the first with the same callback, so nothing is lost.
    warnings.filterwarnings("ignore", message="Callback with id .* already exists for watch",
                            category=RuntimeWarning, module="watchdog")
    observer = Observer(timeout=0.2)
    observer.name = THREAD_PREFIX + "notify"
    return observer


class WatchdogNotifier:
    """A watchdog observer behind the hub's Notifier protocol: each event's paths delivered."""

    def __init__(self, observer: BaseObserver, deliver: Callable[[str], None]) -> None:
        self._observer = observer
        self._handler = _Handler(deliver)

    def start(self) -> None:
        self._observer.start()

    def close(self) -> None:
        self._observer.stop()
        self._observer.join()

    def watch(self, directory: str, recursive: bool) -> ObservedWatch:
        return self._observer.schedule(self._handler, directory, recursive=recursive, event_filter=_EVENTS)

    def unwatch(self, token: object) -> None:
        assert isinstance(token, ObservedWatch)
        with contextlib.suppress(KeyError):
            self._observer.unschedule(token)

    def alive(self, token: object) -> bool:
        return any(e.watch is token and e.is_alive() for e in list(self._observer.emitters))


class _Handler(FileSystemEventHandler):
    def __init__(self, deliver: Callable[[str], None]) -> None:
        self._deliver = deliver

    def dispatch(self, event: FileSystemEvent) -> None:
        for raw in (event.src_path, event.dest_path):
            if raw:
                self._deliver(str(raw) if isinstance(raw, str) else raw.decode("utf-8", "surrogateescape"))
