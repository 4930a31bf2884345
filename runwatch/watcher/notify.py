"""One file notifier shared by every follower.

inotify instances are a scarce per-user resource (128 by default), so a run
with 64 rank logs must not start 64 of them. `WatchHub` owns one `Notifier`
(inotify on Linux, watchdog elsewhere); followers subscribe to a path and get a wake-up call when
something happens to it. The hub only wakes: what changed is always found
out by a stat, so a lost or merged event costs latency, never data.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from runwatch.supervise import Managed

Wake = Callable[[], None]
Deliver = Callable[[str], None]


class Notifier(Protocol):
    """What tells the hub that something happened at a path: inotify read by runwatch on Linux
    (runwatch.watcher.inotify), watchdog elsewhere (runwatch.watcher.watchdog_notify). `deliver(path)`,
    given when it is made, hears of every event's path; a token stands for one watch."""

    def start(self) -> None: ...

    def close(self) -> None:
        """Stop delivering, join any thread, release the kernel's resources."""

    def watch(self, directory: str, recursive: bool) -> object:
        """Watch `directory` (and below it, `recursive`); OSError when the kernel refuses."""

    def unwatch(self, token: object) -> None: ...

    def alive(self, token: object) -> bool:
        """False once the watch died (its directory was deleted or moved away)."""


NOTIFIER_ENV = "RUNWATCH_NOTIFIER"
"""`watchdog` makes Linux use watchdog's inotify observer too (to compare, or to rule runwatch's reader
out when a wake-up goes missing)."""


def native_notifier(deliver: Deliver) -> Notifier:
    """inotify on Linux; the platform's watchdog observer elsewhere; OSError where there is neither (or
    the kernel refuses another inotify instance): runwatch polls then."""
    if sys.platform.startswith("linux") and os.environ.get(NOTIFIER_ENV) != "watchdog":
        from runwatch.watcher.inotify import InotifyNotifier

        return InotifyNotifier(deliver)
    from runwatch.watcher.watchdog_notify import WatchdogNotifier, native_observer

    return WatchdogNotifier(native_observer(), deliver)


@dataclass(frozen=True, eq=False)
class Subscription:
    """A wake-up registration: `name` in `directory`, or anything below it when `recursive`."""

    directory: str
    name: str | None
    recursive: bool
    wake: Wake
    watch: object
    """The notifier's token for the directory's watch."""
    wants: Callable[[str], bool] | None = None
    """For a tree: which event paths wake it (None: all). A log being written below a followed directory
    is an event at every write, and the directory's discovery wants only paths it does not know yet."""


@dataclass(eq=False)
class _Watch:
    watch: object
    users: int = 0


Table = dict[str, tuple[Subscription, ...]]


class WatchHub(Managed):
    """Owns one Notifier; running while at least one user holds it.

    `acquire()`/`release()` count users: the notifier starts with the first and
    is stopped and joined with the last, so a hub never outlives its followers.
    An owner that wants it up for longer holds it itself (`start`/`stop`, or
    `with hub:`). One watch per directory, shared by its subscribers.
    """

    def __init__(self, notifier_factory: Callable[[Deliver], Notifier] = native_notifier) -> None:
        self._factory = notifier_factory
        self._lock = threading.Lock()
        self._users = 0
        self._notifier: Notifier | None = None
        self._watches: dict[tuple[str, bool], _Watch] = {}
        # Read by the notifier's thread without the lock (copy-on-write): the notifier
        # holds its own lock while dispatching, so taking ours there could deadlock.
        self.files: Table = {}
        self.trees: Table = {}

    @property
    def running(self) -> bool:
        return self._notifier is not None

    def acquire(self) -> None:
        """Add a user; the first one starts the notifier (OSError when notification is unavailable)."""
        with self._lock:
            if self._notifier is None:
                notifier = self._factory(self._deliver)
                notifier.start()
                self._notifier = notifier
            self._users += 1

    def release(self) -> None:
        """Drop a user; the last one stops and joins the notifier."""
        with self._lock:
            if self._users <= 0:
                raise RuntimeError("WatchHub.release() without a matching acquire()")
            self._users -= 1
            if self._users > 0 or self._notifier is None:
                return
            notifier, self._notifier = self._notifier, None
            self._watches.clear()
            self.files, self.trees = {}, {}
        notifier.close()

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
            notifier = self._notifier
        if entry is None or entry.watch is not sub.watch or notifier is None:
            return False
        return notifier.alive(sub.watch)

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
        notifier = self._notifier
        if notifier is None:
            raise RuntimeError("WatchHub is not running: acquire() it first")
        key = (directory, recursive)
        entry = self._watches.get(key)
        if entry is not None and notifier.alive(entry.watch):
            return entry
        if entry is not None:  # its directory was deleted: subscribers of the old watch resubscribe
            del self._watches[key]
            self._unschedule(entry.watch)
        if not os.path.isdir(directory):
            raise FileNotFoundError(errno.ENOENT, "no such directory", directory)
        watch = notifier.watch(directory, recursive)
        entry = self._watches[key] = _Watch(watch)
        return entry

    def _deliver(self, path: str) -> None:
        """An event at `path` (on the notifier's thread): wake the subscribers it concerns."""
        files, trees = self.files, self.trees
        directory, name = os.path.split(path)
        for sub in files.get(directory, ()):
            if sub.name == name:
                sub.wake()
        if trees:
            _wake_trees(trees, path)

    def _unschedule(self, watch: object) -> None:
        if self._notifier is not None:
            self._notifier.unwatch(watch)

    def _table(self, recursive: bool) -> Table:
        return self.trees if recursive else self.files

    def _set_table(self, recursive: bool, table: Table) -> None:
        if recursive:
            self.trees = table
        else:
            self.files = table


def _added(table: Table, sub: Subscription) -> Table:
    return {**table, sub.directory: (*table.get(sub.directory, ()), sub)}


def _removed(table: Table, sub: Subscription) -> Table:
    rest = tuple(s for s in table.get(sub.directory, ()) if s is not sub)
    table = {k: v for k, v in table.items() if k != sub.directory}
    if rest:
        table[sub.directory] = rest
    return table


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
    """A subscriber's filter, on the notifier's thread: one that fails wakes it (it looks for itself)."""
    try:
        return wants(path)
    except Exception:
        return True


_SHARED = WatchHub()


def shared_hub() -> WatchHub:
    """The process-wide hub that followers use unless given one (as client_python's default registry)."""
    return _SHARED
