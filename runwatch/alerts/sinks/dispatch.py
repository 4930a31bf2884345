"""The dispatcher: hands notifications to every sink without blocking the engine.

`submit` only filters, dedupes and appends to in-memory queues. Each sink
has its own worker thread (`runwatch-sink-<name>`), so a hung Slack does not
delay the command sink; a separate writer thread (`runwatch-outbox`) keeps
each sink's undelivered notifications on disk, so the caller never waits
on a disk either. A dispatcher built on the same outbox after a restart
resends what was left and remembers what was already delivered.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

from runwatch.alerts.sinks.backoff import Backoff
from runwatch.alerts.sinks.base import Refreshing, Sink, SinkFilter
from runwatch.alerts.sinks.outbox import Outbox
from runwatch.alerts.sinks.redact import describe
from runwatch.alerts.sinks.worker import ErrorCallback, SinkStats, SinkWorker
from runwatch.alerts.types import Alert, Notification
from runwatch.errors import BadValueError
from runwatch.supervise import Managed, SupervisedThread, Supervisor

log = logging.getLogger(__name__)
_ALL = SinkFilter()
_JOIN_GRACE = 1.0
"""Seconds past the drain deadline that stop() waits for a send in flight."""


def _log_error(sink: str, message: str) -> None:
    log.warning("%s", message)


class Dispatcher(Managed):
    """Queues, retries and persistence for a set of sinks (see the module docstring)."""

    def __init__(
        self, sinks: Iterable[Sink], *, outbox: Path | None = None, clock: Callable[[], float] | None = None,
        backoff: Backoff | None = None, on_error: ErrorCallback | None = None,
    ) -> None:
        """`outbox` is a directory (e.g. `<state-dir>/outbox`); None keeps nothing on disk.

        `on_error(sink_name, message)` hears each permanent failure and the first
        failure of each outage; messages are redacted. It runs on sink threads.
        """
        self._on_error = on_error or _log_error
        self._outbox = Outbox(outbox) if outbox is not None else None
        self._writer = _OutboxWriter(self._outbox, self._on_error) if self._outbox else None
        self._workers: dict[str, SinkWorker] = {}
        for sink in sinks:
            if sink.name in self._workers:
                raise BadValueError(f"two sinks are named {sink.name!r}; give each a distinct name")
            self._workers[sink.name] = self._worker(sink, backoff or Backoff(), clock or time.time)
        if self._writer:
            self._writer.workers = self._workers
        self._state = "new"
        self._lock = threading.Lock()  # orders submit against stop: nothing offered after the final save

    def _worker(self, sink: Sink, backoff: Backoff, clock: Callable[[], float]) -> SinkWorker:
        pending: list[Notification] = []
        delivered: list[str] = []
        if self._outbox is not None:
            loaded = self._outbox.load(sink.name)
            for problem in loaded.problems:
                self._on_error(sink.name, problem)
            pending, delivered = loaded.pending, loaded.delivered
        writer = self._writer
        on_change = (lambda: writer.mark(sink.name)) if writer else (lambda: None)
        return SinkWorker(sink, backoff=backoff, on_error=self._on_error, on_change=on_change, clock=clock,
                          pending=pending, delivered=delivered)

    def start(self, supervisor: Supervisor | None = None) -> None:
        """Start the sink threads, under `supervisor` when given (the engine's: failures count there)."""
        with self._lock:
            if self._state != "new":
                raise RuntimeError(f"dispatcher already {self._state}")
            self._state = "running"
        threads: list[SupervisedThread] = [*([self._writer] if self._writer else []), *self._workers.values()]
        for thread in threads:
            thread.supervisor = supervisor
            thread.start()

    def resume(self, alerts: Iterable[Alert]) -> None:
        """Hand the alerts that fire and were notified (from the state dir, or before a config reload) to
        the sinks that keep saying them (`Refreshing`: Alertmanager forgets an alert not said again)."""
        told = [a for a in alerts if a.last_notified is not None]
        for worker in self._workers.values():
            if isinstance(worker.sink, Refreshing):
                worker.sink.resume(told)

    def retain(self, firing: Callable[[], Collection[str]]) -> None:
        """Tell the `Refreshing` sinks which alerts fire now (`firing()`, asked only when there is one)."""
        refreshing = [w.sink for w in self._workers.values() if isinstance(w.sink, Refreshing)]
        if refreshing:
            keys = firing()
            for sink in refreshing:
                sink.retain(keys)

    def submit(self, notification: Notification) -> None:
        """Queue for every sink whose filter accepts it; never waits on a network, never raises for a sink's
        sake. The outbox is written before it returns: the caller then records the notification as sent
        (and the daemon's read offsets move past its line), so a daemon killed a moment later must find
        it in the outbox, not lose it."""
        if not notification.id:
            notification = dataclasses.replace(notification, id=fallback_id(notification))
        with self._lock:
            if self._state == "stopped":
                raise RuntimeError("dispatcher is stopped")
            for name, worker in self._workers.items():
                if getattr(worker.sink, "filter", _ALL).accepts(notification) and worker.offer(notification):
                    if self._outbox is not None:
                        _save(self._outbox, name, worker, self._on_error)

    def stop(self, drain_timeout: float = 3.0) -> None:
        """Deliver what can be within `drain_timeout` seconds, then persist the rest and join."""
        with self._lock:
            was, self._state = self._state, "stopped"
        if was != "running":
            self._save_all()
            return
        deadline = time.monotonic() + max(0.0, drain_timeout)
        for worker in self._workers.values():
            worker.begin_stop(deadline)
        give_up = deadline + _JOIN_GRACE
        for worker in self._workers.values():
            # a send in flight ends by its own timeout; past the grace the thread is abandoned (a daemon)
            worker.join(max(0.0, give_up - time.monotonic()))
        if self._writer:
            self._writer.stop()
            self._writer.join()
        saved = self._save_all()
        for name, worker in self._workers.items():
            self._report_undelivered(worker, saved=name in saved)

    def _report_undelivered(self, worker: SinkWorker, *, saved: bool) -> None:
        """Say what a sink had not delivered by shutdown, and where it went: the outbox, or nowhere."""
        left = len(worker.outbox_state()[0])
        if not left:
            return
        what = f"{left} notification{'' if left == 1 else 's'} not delivered by shutdown"
        if worker.is_alive():
            what = f"still sending at shutdown; {what}"
        if saved:
            where = "kept in the outbox, sent at the next start"
        elif self._outbox is not None:
            where = "lost: the outbox could not be written"
        else:
            where = "dropped (only `runwatch watch` keeps undelivered alerts, in its state dir)"
        self._on_error(worker.sink.name, f"{what}: {where}")

    def stats(self) -> dict[str, SinkStats]:
        return {name: worker.stats() for name, worker in self._workers.items()}

    def _save_all(self) -> set[str]:
        """Write every sink's outbox file; the names of those written."""
        if self._outbox is None:
            return set()
        return {name for name, worker in self._workers.items() if _save(self._outbox, name, worker, self._on_error)}


def fallback_id(n: Notification) -> str:
    """An id for a notification built without one: alert key, state and time, as the lifecycle does."""
    return f"{n.alert.key}|{n.state}|{n.at!r}"


def _save(outbox: Outbox, name: str, worker: SinkWorker, on_error: ErrorCallback) -> bool:
    try:
        with outbox.lock:  # a state taken earlier is never written over a later one
            pending, delivered = worker.outbox_state()
            outbox.save(name, pending, delivered)
    except OSError as exc:
        on_error(name, f"cannot write the outbox: {describe(exc)}")
        return False
    return True


class _OutboxWriter(SupervisedThread):
    """Writes the outbox files of sinks whose queues changed, off the caller's thread."""

    def __init__(self, outbox: Outbox, on_error: ErrorCallback) -> None:
        super().__init__("outbox")
        self.outbox, self.on_error = outbox, on_error
        self.workers: dict[str, SinkWorker] = {}
        self._cond = threading.Condition()
        self._dirty: set[str] = set()

    def mark(self, sink: str) -> None:
        with self._cond:
            self._dirty.add(sink)
            self._cond.notify()

    def on_stop(self) -> None:
        with self._cond:
            self._cond.notify()

    def body(self) -> None:
        failing = False
        while True:
            with self._cond:
                while not self._dirty and not self.stopping:
                    self._cond.wait()
                if self.stopping:
                    return  # the dispatcher saves everything once the workers are joined
                dirty, self._dirty = self._dirty, set()
            for name in sorted(dirty):
                try:
                    ok = _save(self.outbox, name, self.workers[name], self._report_once(failing))
                except Exception as exc:  # thread top: report, keep the thread
                    self.on_error(name, f"outbox writer failed: {describe(exc)}")
                    ok = False
                failing = not ok

    def _report_once(self, failing: bool) -> ErrorCallback:
        """Report a write failure once per streak, not on every change."""
        return (lambda name, message: log.debug("%s: %s", name, message)) if failing else self.on_error
