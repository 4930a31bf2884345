"""A watchdog for the watchdog: every runwatch thread runs under a `Supervisor`.

A thread's body should never raise: sources guard each look, sinks each
send. When one does anyway (a bug, an input nobody foresaw), the thread must
not die silently while the daemon carries on blind. The supervisor logs the
traceback, counts the failure, keeps a short description for the status
(`degraded`), tells its owner once per thread (`on_failure`: the daemon sends
a `runwatch_internal` alert) and runs the body again, after the thread's
`reset` hook has put it back in a consistent state. Past `limit` failures in
`window_s` it gives up: the thread ends and `gave_up` is set, so `runwatch
watch` exits non-zero and systemd's `Restart=on-failure` starts it afresh.

Here, below every other runwatch module, so that sources, sinks and the
engine share one implementation (and one `Stoppable` protocol).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

log = logging.getLogger("runwatch.supervise")

THREAD_PREFIX = "runwatch-"
RESTART_LIMIT = 5
"""Failures (of all supervised threads together) tolerated within `RESTART_WINDOW_S`; one more and it gives up."""
RESTART_WINDOW_S = 600.0


@runtime_checkable
class Stoppable(Protocol):
    """What an owner needs of a thread it started: ask it to stop (without waiting), then join it."""

    @property
    def name(self) -> str: ...

    def stop(self) -> None: ...

    def join(self, timeout: float | None = None) -> None: ...

    def is_alive(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class ThreadFailure:
    """One exception that escaped a thread's body."""

    thread: str
    error: str
    """`OverflowError: int too large to convert to float`: type and message, one line."""
    at: float
    count: int
    """Failures of this thread so far, this one included."""
    restarting: bool
    """False when this failure made the supervisor give up."""

    def describe(self) -> str:
        """The status's short line: `runwatch-engine: OverflowError: … (failed 2×, restarted)`."""
        what = "restarted" if self.restarting else "gave up"
        return f"{self.thread}: {self.error} (failed {self.count}×, {what})"


FailureCallback = Callable[[ThreadFailure], None]


class Supervisor:
    """Runs thread bodies, restarting them after an exception, within a limit (see the module docstring)."""

    def __init__(self, *, limit: int = RESTART_LIMIT, window_s: float = RESTART_WINDOW_S,
                 clock: Callable[[], float] | None = None, on_failure: FailureCallback | None = None) -> None:
        self.limit, self.window_s, self._clock = limit, window_s, clock or time.time  # as `Engine` takes its clock
        self.on_failure = on_failure
        """Called (on the failing thread) at the first failure of each thread and when giving up."""
        self.gave_up = threading.Event()
        self._lock = threading.Lock()
        self._recent: deque[float] = deque()
        self._last: dict[str, ThreadFailure] = {}

    def run(self, name: str, body: Callable[[], None], *, stopping: Callable[[], bool] = lambda: False,
            reset: Callable[[], None] | None = None) -> None:
        """Call `body` until it returns, restarting it (after `reset`) when it raises, unless stopping or given up."""
        while True:
            try:
                body()
                return
            except Exception as exc:
                if not self.failed(name, exc) or stopping():
                    return
            if reset is not None:
                try:
                    reset()
                except Exception as exc:  # a reset that fails is one more failure; the body runs again anyway
                    if not self.failed(name, exc):
                        return

    def failed(self, name: str, exc: BaseException) -> bool:
        """Record a failure of thread `name`; True when it may run again."""
        log.error("thread %s failed:\n%s", name, "".join(traceback.format_exception(exc)).rstrip())
        now = self._clock()
        with self._lock:
            self._recent.append(now)
            while self._recent and now - self._recent[0] > self.window_s:
                self._recent.popleft()
            restarting = len(self._recent) <= self.limit and not self.gave_up.is_set()
            first = name not in self._last
            count = self._last[name].count + 1 if not first else 1
            failure = ThreadFailure(name, _one_line(exc), now, count, restarting)
            self._last[name] = failure
        if not restarting:
            self.gave_up.set()
            log.critical("%d thread failures within %.0fs: giving up (%s)", len(self._recent), self.window_s,
                         failure.describe())
        if (first or not restarting) and self.on_failure is not None:
            try:
                self.on_failure(failure)
            except Exception:  # the owner's callback must not turn one failure into two
                log.exception("reporting the failure of %s failed", name)
        return restarting

    def degraded(self) -> tuple[str, ...]:
        """One line per thread that has failed (its latest failure), oldest first; () when all is well."""
        with self._lock:
            return tuple(f.describe() for f in sorted(self._last.values(), key=lambda f: f.at))

    def latest(self) -> dict[str, ThreadFailure]:
        """Each thread that has failed, by name: its latest failure."""
        with self._lock:
            return dict(self._last)

    @property
    def failures(self) -> int:
        with self._lock:
            return sum(f.count for f in self._last.values())


def _one_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    name = type(exc).__name__
    return f"{name}: {text[:200]}" if text else name


class Managed:
    """`with x:` starts `x` and ends it (`end()`: `stop()` unless a class says more), for owners of threads."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def end(self) -> None:
        self.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.end()


class SupervisedThread(threading.Thread, Managed):
    """A daemon thread named `runwatch-<name>` whose `body` runs under a `Supervisor`, with a stop signal.

    `stop()` only signals, so an owner can stop many threads and then join
    them all; usable as a context manager. The owner sets `supervisor`
    before `start()`; without one, the thread has its own (failures are
    logged and restarted all the same, nobody else hears of them).
    """

    def __init__(self, name: str) -> None:
        super().__init__(name=THREAD_PREFIX + name, daemon=True)
        self._stopping = threading.Event()
        self.supervisor: Supervisor | None = None

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self) -> None:
        """Ask the thread to end soon; does not wait (call `join`)."""
        self._stopping.set()
        self.on_stop()

    def on_stop(self) -> None:
        """Hook: wake the thread from whatever it waits on."""

    def run(self) -> None:
        supervisor = self.supervisor if self.supervisor is not None else Supervisor()
        supervisor.run(self.name, self.body, stopping=lambda: self.stopping, reset=self.reset)

    def body(self) -> None:
        """The thread's work; returns when it is done (or stopping)."""
        raise NotImplementedError

    def reset(self) -> None:
        """Hook: after `body` raised, restore a consistent state before it runs again."""

    def end(self) -> None:
        self.stop()
        self.join()


class TaskThread(SupervisedThread):
    """A supervised thread around one function (the engine's worker): `body` is that function."""

    def __init__(self, name: str, task: Callable[[], None], *, wake: Callable[[], None] | None = None,
                 reset: Callable[[], None] | None = None) -> None:
        super().__init__(name)
        self._task, self._wake, self._reset = task, wake, reset

    def body(self) -> None:
        self._task()

    def on_stop(self) -> None:
        if self._wake is not None:
            self._wake()

    def reset(self) -> None:
        if self._reset is not None:
            self._reset()
