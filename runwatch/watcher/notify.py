"""One inotify observer shared by every follower (watchdog underneath).

inotify instances are a scarce per-user resource (128 by default), so a run
with 64 rank logs must not start 64 observers. `WatchHub` owns one watchdog
Observer; followers subscribe to a path and get a wake-up call when
something happens to it. The hub only wakes: what changed is always found
out by a stat, so a lost or merged event costs latency, never data.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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

from runwatch.supervise import Managed
from runwatch.watcher.threads import THREAD_PREFIX

Wake = Callable[[], None]

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


@dataclass(frozen=True, eq=False)
class Subscription:
    """A wake-up registration: `name` in `directory`, or anything below it when `recursive`."""

    directory: str
    name: str | None
    recursive: bool
    wake: Wake
    watch: ObservedWatch
    wants: Callable[[str], bool] | None = None
    """For a tree: which event paths wake it (None: all). A log being written below a followed directory
    is an event at every write, and the directory's discovery wants only paths it does not know yet."""


@dataclass(eq=False)
class _Watch:
    watch: ObservedWatch
    users: int = 0


Table = dict[str, tuple[Subscription, ...]]


class WatchHub(Managed):
    """Owns one Observer; running while at least one user holds it.

    `acquire()`/`release()` count users: the observer starts with the first and
    is stopped and joined with the last, so a hub never outlives its followers.
    An owner that wants it up for longer holds it itself (`start`/`stop`, or
    `with hub:`). One watch per directory, shared by its subscribers.
    """

    def __init__(self, observer_factory: Callable[[], BaseObserver] = native_observer) -> None:
        self._factory = observer_factory
        self._lock = threading.Lock()
        self._users = 0
        self._observer: BaseObserver | None = None
        self._watches: dict[tuple[str, bool], _Watch] = {}
        self._handler = _Dispatcher(self)
        # Read by the observer thread without the lock (copy-on-write): the observer
        # holds its own lock while dispatching, so taking ours there could deadlock.
        self.files: Table = {}
        self.trees: Table = {}

    @property
    def running(self) -> bool:
        return self._observer is not None

    def acquire(self) -> None:
        """Add a user; the first one starts the observer (OSError when notification is unavailable)."""
        with self._lock:
            if self._observer is None:
                observer = self._factory()
                observer.start()
                self._observer = observer
            self._users += 1

    def release(self) -> None:
        """Drop a user; the last one stops and joins the observer."""
        with self._lock:
            if self._users <= 0:
                raise RuntimeError("WatchHub.release() without a matching acquire()")
            self._users -= 1
            if self._users > 0 or self._observer is None:
                return
            observer, self._observer = self._observer, None
            self._watches.clear()
            self.files, self.trees = {}, {}
        observer.stop()
        observer.join()

    start = acquire  # and so `with hub:` acquires and releases (Managed)
    stop = release

    def subscribe(self, path: str | Path, wake: Wake, *, recursive: bool = False,
                  wants: Callable[[str], bool] | None = None) -> Subscription:
        """Call `wake` when `path` (a file) changes, or anything below `path` (a directory) when `recursive`.

        Raises FileNotFoundError while the directory to watch does not exist
        (subscribe again later) and OSError when the kernel refuses a watch
        (inotify limits); RuntimeError when the hub is not running.
        """
        path = os.path.abspath(path)
        directory, name = (path, None) if recursive else os.path.split(path)
        with self._lock:
            entry = self._live_watch(directory, recursive)
            entry.users += 1
            sub = Subscription(directory, name, recursive, wake, entry.watch, wants)
            self._set_table(recursive, _added(self._table(recursive), sub))
        return sub

    def alive(self, sub: Subscription) -> bool:
        """False once the watch behind `sub` died (its directory was deleted): subscribe again."""
        with self._lock:
            entry = self._watches.get((sub.directory, sub.recursive))
            observer = self._observer
        if entry is None or entry.watch is not sub.watch or observer is None:
            return False
        return _emitting(observer, sub.watch)

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop waking `sub`; a directory's watch goes with its last subscriber."""
        with self._lock:
            self._set_table(sub.recursive, _removed(self._table(sub.recursive), sub))
            key = (sub.directory, sub.recursive)
            entry = self._watches.get(key)
            if entry is None or entry.watch is not sub.watch:
                return  # a watch that died with its directory, already replaced or dropped
            entry.users -= 1
            if entry.users == 0:
                del self._watches[key]
                self._unschedule(entry.watch)

    # -- internals (called with the lock held) -----------------------------

    def _live_watch(self, directory: str, recursive: bool) -> _Watch:
        observer = self._observer
        if observer is None:
            raise RuntimeError("WatchHub is not running: acquire() it first")
        key = (directory, recursive)
        entry = self._watches.get(key)
        if entry is not None and _emitting(observer, entry.watch):
            return entry
        if entry is not None:  # its directory was deleted: subscribers of the old watch resubscribe
            del self._watches[key]
            self._unschedule(entry.watch)
        if not os.path.isdir(directory):
            raise FileNotFoundError(errno.ENOENT, "no such directory", directory)
        watch = observer.schedule(self._handler, directory, recursive=recursive, event_filter=_EVENTS)
        entry = self._watches[key] = _Watch(watch)
        return entry

    def _unschedule(self, watch: ObservedWatch) -> None:
        if self._observer is not None:
            with contextlib.suppress(KeyError):
                self._observer.unschedule(watch)

    def _table(self, recursive: bool) -> Table:
        return self.trees if recursive else self.files

    def _set_table(self, recursive: bool, table: Table) -> None:
        if recursive:
            self.trees = table
        else:
            self.files = table


def _emitting(observer: BaseObserver, watch: ObservedWatch) -> bool:
    return any(e.watch is watch and e.is_alive() for e in list(observer.emitters))


def _added(table: Table, sub: Subscription) -> Table:
    return {**table, sub.directory: (*table.get(sub.directory, ()), sub)}


def _removed(table: Table, sub: Subscription) -> Table:
    rest = tuple(s for s in table.get(sub.directory, ()) if s is not sub)
    table = {k: v for k, v in table.items() if k != sub.directory}
    if rest:
        table[sub.directory] = rest
    return table


class _Dispatcher(FileSystemEventHandler):
    """Turns watchdog events into wake-up calls for the subscribers they concern."""

    def __init__(self, hub: WatchHub) -> None:
        self._hub = hub

    def dispatch(self, event: FileSystemEvent) -> None:
        files, trees = self._hub.files, self._hub.trees
        for raw in (event.src_path, event.dest_path):
            if not raw:
                continue
            path = os.fsdecode(raw)
            directory, name = os.path.split(path)
            for sub in files.get(directory, ()):
                if sub.name == name:
                    sub.wake()
            if trees:
                _wake_trees(trees, path)


def _wake_trees(trees: dict[str, tuple[Subscription, ...]], path: str) -> None:
    event = path
    while True:
        for sub in trees.get(path, ()):
            if sub.wants is None or _wants(sub.wants, event):
                sub.wake()
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


def _wants(wants: Callable[[str], bool], path: str) -> bool:
    """A subscriber's filter, on the observer's thread: one that fails wakes it (it looks for itself)."""
    try:
        return wants(path)
    except Exception:
        return True


_SHARED = WatchHub()


def shared_hub() -> WatchHub:
    """The process-wide hub that followers use unless given one (as client_python's default registry)."""
    return _SHARED
