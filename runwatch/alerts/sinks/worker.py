"""One sink's delivery thread: a FIFO of notifications, tried head first.

Delivery is in order, the head blocking the rest: a "resolved" must not
reach a channel before its "firing", and when a receiver is down every
notification would fail alike. A retryable failure backs the whole sink off;
a permanent one drops that notification (reported once) and moves on.

A notification raised while the sink backs off does not wait out the backoff
the outage built up (a minute, after a minute of 500s): it makes the worker
try the head again at once, once. If the receiver is back, the queue drains
in order right away, the new alert with it; if not, the backoff goes on as
scheduled, not lengthened by the probe.

A `Refreshing` sink (Alertmanager) is also asked to `refresh` every
`refresh_interval` seconds, on this thread after any notification that is
due: a refresh and a send never race, so a refresh's "firing" cannot land
after the "resolved" that a send just delivered.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

from runwatch.alerts.sinks.backoff import Backoff
from runwatch.alerts.sinks.base import PermanentError, Refreshing, RetryableError, Sink, SinkError
from runwatch.alerts.sinks.outbox import DELIVERED_MEMORY
from runwatch.alerts.sinks.redact import describe, redact
from runwatch.alerts.types import Notification
from runwatch.supervise import SupervisedThread

log = logging.getLogger(__name__)

ErrorCallback = Callable[[str, str], None]
MAX_PENDING = 1000
"""Undelivered notifications kept per sink; the oldest go first beyond it."""


@dataclass(frozen=True, slots=True)
class SinkStats:
    delivered: int
    failed: int
    """Notifications dropped after a permanent failure."""
    retries: int
    """Failed tries that were retried."""
    pending: int
    last_error: str | None
    last_error_at: float | None
    last_delivered_at: float | None


class SinkWorker(SupervisedThread):
    """Delivers to one sink; `offer` never blocks, `begin_stop` (or `stop`: no drain) then `join` ends it.

    Its loop runs under the owner's Supervisor: a bug in it is logged, counted
    and the loop runs again; the queue is the worker's, so nothing pending is lost.
    """

    def __init__(
        self, sink: Sink, *, backoff: Backoff, on_error: ErrorCallback, on_change: Callable[[], None],
        clock: Callable[[], float], pending: Iterable[Notification] = (), delivered: Iterable[str] = (),
    ) -> None:
        super().__init__(f"sink-{sink.name}")
        self.sink = sink
        self._backoff, self._on_error, self._on_change, self._clock = backoff, on_error, on_change, clock
        self._cond = threading.Condition()
        self._pending: OrderedDict[str, Notification] = OrderedDict((n.id, n) for n in pending)
        self._delivered: OrderedDict[str, None] = OrderedDict.fromkeys(delivered)
        self._failures = 0
        self._next_try = 0.0  # monotonic
        self._scheduled: float | None = None
        """While a probe (a try a new notification asked for) is due or under way: the retry it displaced."""
        self._stop_at: float | None = None  # monotonic drain deadline once stopping
        self._counts = {"delivered": 0, "failed": 0, "retries": 0}
        self._last_error: tuple[str, float] | None = None
        self._last_delivered_at: float | None = None
        self._refreshing = sink if isinstance(sink, Refreshing) else None
        self._refresh_at = time.monotonic() + self._refreshing.refresh_interval if self._refreshing else None
        self._refresh_failing = False

    def offer(self, notification: Notification) -> bool:
        """Queue unless already pending or recently delivered; True when queued."""
        with self._cond:
            if notification.id in self._pending or notification.id in self._delivered:
                return False
            self._pending[notification.id] = notification
            now = time.monotonic()
            if self._failures and self._next_try > now and self._scheduled is None:
                self._scheduled, self._next_try = self._next_try, now  # probe: is the receiver back?
            if len(self._pending) > MAX_PENDING:  # a receiver down for days: keep memory and outbox bounded
                self._pending.popitem(last=False)
                self._counts["failed"] += 1
                log.warning("sink %s: queue full; dropped the oldest notification", self.sink.name)
            self._cond.notify()
        return True

    def begin_stop(self, deadline: float) -> None:
        """Keep delivering until the queue is empty or `deadline` (monotonic) passes, then end."""
        with self._cond:
            self._stop_at = deadline
            self._cond.notify()

    def outbox_state(self) -> tuple[list[Notification], list[str]]:
        with self._cond:
            return list(self._pending.values()), list(self._delivered)

    def stats(self) -> SinkStats:
        with self._cond:
            error, at = self._last_error or (None, None)
            return SinkStats(pending=len(self._pending), last_error=error, last_error_at=at,
                             last_delivered_at=self._last_delivered_at, **self._counts)

    @property
    def stopping(self) -> bool:
        with self._cond:
            return self._stop_at is not None

    def on_stop(self) -> None:
        """`stop()`: end without draining (the owner drains with `begin_stop`)."""
        self.begin_stop(time.monotonic())

    def body(self) -> None:
        try:
            while (job := self._next_due()) is not None:
                job()
        except Exception as exc:  # say it on the sink's channel (redacted: no URL), then the supervisor's turn
            self._report(f"delivery thread failed: {describe(exc)}; restarting")
            raise

    def _next_due(self) -> Callable[[], None] | None:
        """What to do next: try the head of the queue once its retry time has come, else refresh once that
        is due; None when it is time to end."""
        with self._cond:
            while True:
                now = time.monotonic()
                head = next(iter(self._pending.values()), None)
                if self._stop_at is not None and (head is None or max(now, self._next_try) >= self._stop_at):
                    return None
                if head is not None and now >= self._next_try:
                    return partial(self._attempt, head)
                refresh_at = self._refresh_at if self._stop_at is None else None
                if refresh_at is not None and now >= refresh_at:
                    return self._refresh
                wakes = [t for t in (self._next_try if head is not None else None, refresh_at, self._stop_at)
                         if t is not None]
                self._cond.wait(min(wakes) - now if wakes else None)

    def _refresh(self) -> None:
        """One refresh; its first failure in a row is reported (the receiver may be down with no alert
        queued), the next ones only logged; the next refresh is an interval later either way."""
        sink = self._refreshing
        if sink is None:
            return
        try:
            sink.refresh()
        except SinkError as exc:
            if not self._refresh_failing:
                self._report(f"{exc}; active alerts not re-sent, will try again")
            else:
                log.debug("%s (refresh)", exc)
            self._refresh_failing = True
        except Exception as exc:  # a sink bug: say it, keep the thread
            log.debug("sink %s refresh raised:\n%s", self.sink.name, redact("".join(traceback.format_exception(exc))))
            self._report(f"{self.sink.name}: refresh failed: unexpected {describe(exc)}")
        else:
            if self._refresh_failing:
                log.info("sink %s: active alerts re-sent again", self.sink.name)
            self._refresh_failing = False
        with self._cond:
            self._refresh_at = time.monotonic() + sink.refresh_interval

    def _attempt(self, notification: Notification) -> None:
        try:
            self.sink.send(notification.payload(), notification)
        except RetryableError as exc:
            self._retry_later(str(exc), exc.retry_after)
        except PermanentError as exc:
            self._drop(notification, f"{exc}; notification dropped")
        except Exception as exc:  # a sink bug: drop this one, keep the thread
            log.debug("sink %s raised:\n%s", self.sink.name, redact("".join(traceback.format_exception(exc))))
            self._drop(notification, f"{self.sink.name}: unexpected {describe(exc)}; notification dropped")
        else:
            self._delivered_one(notification)

    def _retry_later(self, message: str, retry_after: float | None) -> None:
        with self._cond:
            self._counts["retries"] += 1
            if self._scheduled is not None:  # a probe failed: still down, back to the retry it displaced
                self._next_try, self._scheduled = max(self._scheduled, time.monotonic()), None
                self._last_error = (message, self._clock())
                log.debug("%s (probe for a new notification)", message)
                return
            self._failures += 1
            self._next_try = time.monotonic() + self._backoff.delay(self._failures, retry_after)
            first = self._failures == 1
            self._last_error = (message, self._clock())
        if first:  # once per outage, not once per try
            self._report(f"{message}; will retry")
        else:
            log.debug("%s (try %d)", message, self._failures)

    def _drop(self, notification: Notification, message: str) -> None:
        with self._cond:
            self._pending.pop(notification.id, None)
            self._counts["failed"] += 1
            self._failures, self._next_try, self._scheduled = 0, 0.0, None
            self._last_error = (message, self._clock())
        self._report(message)
        self._on_change()

    def _delivered_one(self, notification: Notification) -> None:
        with self._cond:
            self._pending.pop(notification.id, None)
            self._delivered[notification.id] = None
            while len(self._delivered) > DELIVERED_MEMORY:
                self._delivered.popitem(last=False)
            self._counts["delivered"] += 1
            self._last_delivered_at = self._clock()
            recovered, self._failures, self._next_try, self._scheduled = self._failures, 0, 0.0, None
        if recovered:
            log.info("sink %s delivered again after %d failed tries", self.sink.name, recovered)
        self._on_change()

    def _report(self, message: str) -> None:
        try:
            self._on_error(self.sink.name, redact(message))
        except Exception as exc:  # the callback is the user's; it must not kill delivery
            log.error("on_error callback failed: %s", describe(exc))
