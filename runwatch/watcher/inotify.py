"""Linux inotify, read at a gathered pace: the hub's native notifier where the kernel has one.

Why not watchdog here: a log written a line at a time is one IN_MODIFY per
write, and watchdog hands each through three threads (its reader, a delay
queue for pairing moves, the emitter, then the observer's dispatch) as
Python objects. Following one log at 150 lines/s, that pipeline was half of
the daemon's busy time (py-spy; issue 11). The hub needs far less: a path
to wake, never the event itself (what changed is always found out by a
stat). So this reader takes the fd's events as they come after a quiet
spell, then waits `gather_s` before it reads again: the kernel merges a
repeated event that is still unread with the one before it, so a file
written 150 times a second costs about 20 reads, each of one event.

Recursive watches are kept as inotify needs them: a watch per directory of
the tree, one added for each directory created or moved into it (and the
entries found there delivered, since they may predate the watch). A watch
whose root directory is deleted or moved away is dead (`alive` says so) and
the hub subscribes again once the directory is back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import select
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from runwatch.watcher.threads import THREAD_PREFIX

IN_MODIFY = 0x2
IN_ATTRIB = 0x4
IN_CLOSE_WRITE = 0x8
IN_MOVED_FROM = 0x40
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ONLYDIR = 0x1000000
IN_ISDIR = 0x40000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = 0o2000000

MASK = (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
        | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
"""What wakes a follower: writes, truncation, closes after writing, entries made, moved or deleted,
and the watched directory itself going. Opens and reads (ours included) are left out."""
GONE = IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED
"""A watched directory deleted or moved away, or its watch removed: paths under it mean nothing now."""
NEW_DIR = IN_CREATE | IN_MOVED_TO

_HEADER = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then len bytes of name)
READ_SIZE = 64 << 10
GATHER_S = 0.1
"""Wait between two reads of the fd, for the kernel to merge repeated events (as long as a follower's
wait between two looks, runwatch.watcher.polling.GATHER_S: a read sooner would wake it for nothing)."""

Deliver = Callable[[str], None]


class _Libc:
    """The three inotify calls, through ctypes (the standard library has none)."""

    def __init__(self) -> None:
        # find_library needs ldconfig or a compiler, which a slim container may lack: the process's own
        # symbols (CDLL(None)) hold libc's on Linux anyway.
        lib = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        try:
            self.init1 = lib.inotify_init1
            self.add_watch = lib.inotify_add_watch
            self.rm_watch = lib.inotify_rm_watch
        except AttributeError as exc:
            raise OSError(errno.ENOSYS, "no inotify on this platform") from exc
        self.init1.argtypes = [ctypes.c_int]
        self.add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self.rm_watch.argtypes = [ctypes.c_int, ctypes.c_int]

    def check(self, result: int, what: str, path: str | None = None) -> int:
        if result < 0:
            code = ctypes.get_errno()
            raise OSError(code, f"{what}: {os.strerror(code)}", path)
        return result


@dataclass(eq=False)
class Root:
    """One `watch()`: a directory, and for a tree every directory below it. The hub's token."""

    directory: str
    recursive: bool
    alive: bool = True
    wds: set[int] = field(default_factory=set)


@dataclass(eq=False)
class _Dir:
    """One kernel watch (the kernel gives one per directory, however often it is asked): its path, and
    the roots that hold it."""

    path: str
    roots: set[Root] = field(default_factory=set)


class InotifyNotifier:
    """One inotify instance and the thread that reads it; `deliver(path)` for every event's path.

    `watch` and `unwatch` may be called from any thread; `deliver` runs on the
    reader thread and must be quick (the hub's only wakes followers).
    """

    def __init__(self, deliver: Deliver, *, gather_s: float | None = None) -> None:
        self._libc = _Libc()
        self._deliver = deliver
        self._gather_s = GATHER_S if gather_s is None else gather_s
        self._fd = self._libc.check(self._libc.init1(IN_NONBLOCK | IN_CLOEXEC), "inotify_init1")
        self._lock = threading.Lock()
        self._dirs: dict[int, _Dir] = {}
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name=THREAD_PREFIX + "notify", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop the reader, join it, and close the instance (the kernel drops every watch with it)."""
        self._stop.set()
        os.write(self._wake_w, b"x")
        if self._thread.is_alive():
            self._thread.join()
        for fd in (self._fd, self._wake_r, self._wake_w):
            os.close(fd)

    def watch(self, directory: str, recursive: bool) -> Root:
        """Watch `directory` (and, `recursive`, everything below it); OSError when the kernel refuses
        (no such directory, the per-user watch limit)."""
        root = Root(directory, recursive)
        with self._lock:
            self._add(root, directory)
            if recursive:
                for sub in _subdirectories(directory):
                    self._add_quietly(root, sub)
        return root

    def unwatch(self, root: object) -> None:
        assert isinstance(root, Root)
        with self._lock:
            root.alive = False
            for wd in root.wds:
                held = self._dirs.get(wd)
                if held is None:
                    continue
                held.roots.discard(root)
                if not held.roots:
                    del self._dirs[wd]
                    self._libc.rm_watch(self._fd, wd)  # its IN_IGNORED then finds no directory
            root.wds.clear()

    def alive(self, root: object) -> bool:
        return isinstance(root, Root) and root.alive and self._thread.is_alive()

    # -- the reader thread ------------------------------------------------

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        while not self._stop.is_set():
            poller.poll()
            if self._stop.is_set():
                return
            self._read_all()
            self._stop.wait(self._gather_s)

    def _read_all(self) -> None:
        while True:
            try:
                data = os.read(self._fd, READ_SIZE)
            except BlockingIOError:
                return
            self._handle(data)

    def _handle(self, data: bytes) -> None:
        """Every event of one read, in order: its path delivered, the watch table kept."""
        at = 0
        while at + _HEADER.size <= len(data):
            wd, mask, _cookie, size = _HEADER.unpack_from(data, at)
            raw = data[at + _HEADER.size : at + _HEADER.size + size].rstrip(b"\0")
            at += _HEADER.size + size
            if mask & IN_Q_OVERFLOW:
                self._overflowed()
                continue
            with self._lock:
                held = self._dirs.get(wd)
                if held is None:
                    continue
                path = os.path.join(held.path, os.fsdecode(raw)) if raw else held.path
                found = self._follow_new_dir(held, path) if mask & IN_ISDIR and mask & NEW_DIR else []
                if mask & GONE:
                    self._lost(wd, held)
            for woke in (path, *found):
                self._wake(woke)

    def _wake(self, path: str) -> None:
        """Deliver `path`; what the receiver raises is dropped (the follower's poll finds the change
        anyway), never this thread."""
        try:
            self._deliver(path)
        except Exception:  # the reader must outlive any receiver
            pass

    def _follow_new_dir(self, parent: _Dir, path: str) -> list[str]:
        """A directory made or moved into a tree: watched like the rest of it, and what it already
        holds delivered (files can be written there before the watch exists)."""
        found: list[str] = []
        for root in [r for r in parent.roots if r.recursive]:
            for sub in [path, *_subdirectories(path)]:
                try:
                    self._add_quietly(root, sub)
                except OSError:  # the watch limit: that directory is found by the followers' polls
                    break
            found = _entries(path)
        return found

    def _lost(self, wd: int, held: _Dir) -> None:
        """The directory of `wd` is gone: its watch, and every root it was the top of, are dead."""
        del self._dirs[wd]
        for root in held.roots:
            root.wds.discard(wd)
            if held.path == root.directory:
                root.alive = False

    def _overflowed(self) -> None:
        """Events were dropped (the kernel's queue was full): wake everything watched."""
        with self._lock:
            dirs = sorted({d.path for d in self._dirs.values()})
        for directory in dirs:
            try:
                names = os.listdir(directory)
            except OSError:
                names = []
            for path in (directory, *(os.path.join(directory, n) for n in names)):
                self._wake(path)

    # -- the watch table (called with the lock held) -----------------------

    def _add(self, root: Root, directory: str) -> None:
        wd = self._libc.check(self._libc.add_watch(self._fd, os.fsencode(directory), MASK),
                              "inotify_add_watch", directory)
        held = self._dirs.get(wd)
        if held is None:
            held = self._dirs[wd] = _Dir(directory)
        elif not held.roots:
            held.path = directory
        held.roots.add(root)
        root.wds.add(wd)

    def _add_quietly(self, root: Root, directory: str) -> None:
        """A directory of a tree, which may vanish before it is watched: that one is left out."""
        try:
            self._add(root, directory)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                raise


def _subdirectories(directory: str) -> list[str]:
    """Every directory below `directory` (symlinks not followed); unreadable ones are left out."""
    out: list[str] = []
    for base, dirs, _files in os.walk(directory, followlinks=False):
        out.extend(os.path.join(base, d) for d in dirs)
    return out


def _entries(directory: str) -> list[str]:
    """Every path below `directory`."""
    out: list[str] = []
    for base, dirs, files in os.walk(directory, followlinks=False):
        out.extend(os.path.join(base, n) for n in (*dirs, *files))
    return out
