"""The sink plug point: a `Protocol`, two error kinds and a filter.

Alertmanager's notifiers say whether a failure can be retried; so do ours, by
the exception they raise. The dispatcher, not the sink, owns queues, retries
and persistence, so a sink is a small object that makes one attempt.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from runwatch.alerts.types import Alert, Notification
from runwatch.errors import BadValueError
from runwatch.model import AlertState, Severity

_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class SinkError(Exception):
    """A failed delivery. The message is safe to show: it never holds a URL or token."""


class RetryableError(SinkError):
    """Worth trying again later: a timeout, a refused connection, HTTP 5xx or 429."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        """Seconds the receiver asked us to wait (HTTP `Retry-After`), if it said."""


class PermanentError(SinkError):
    """Trying again will not help (HTTP 4xx but 429, a rejected payload, bad config)."""


class SinkConfigError(BadValueError):
    """A sink cannot be built from its settings; raised before anything starts.

    `key` names the setting at fault where there is one, so the config reader can say where it was
    set (`cfg.toml: sinks[0].webhook_url_env: ...`)."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True, slots=True)
class SinkFilter:
    """Which notifications a sink wants: a severity floor, a rule list, resolved or not."""

    min_severity: Severity = Severity.INFO
    rules: frozenset[str] = frozenset()
    """Rule ids to pass; empty passes every rule."""
    send_resolved: bool = True

    @classmethod
    def of(
        cls, min_severity: Severity | str = Severity.INFO, rules: Iterable[str] | None = None,
        send_resolved: bool = True,
    ) -> SinkFilter:
        """Build from plain config values; raises `SinkConfigError` on an unknown severity."""
        if isinstance(rules, str):
            raise SinkConfigError(f"rules must be a list of rule ids, got the string {rules!r}")
        try:
            severity = Severity(min_severity)
        except ValueError:
            names = ", ".join(s.value for s in Severity)
            raise SinkConfigError(f"min_severity must be one of {names}, got {min_severity!r}") from None
        return cls(severity, frozenset(rules or ()), bool(send_resolved))

    def accepts(self, notification: Notification) -> bool:
        alert = notification.alert
        if notification.state == AlertState.RESOLVED and not self.send_resolved:
            return False
        if self.rules and alert.rule not in self.rules:
            return False
        return _SEVERITY_RANK.get(alert.severity, 0) >= _SEVERITY_RANK[self.min_severity]


class Sink(Protocol):
    """Where notifications go. `send` makes one attempt and raises a `SinkError` on failure.

    `send` runs on the sink's own worker thread, so it may block (up to its
    own timeout); it must never print or log a secret.
    """

    name: str
    filter: SinkFilter

    def send(self, payload: dict[str, Any], notification: Notification) -> None: ...


@runtime_checkable
class Refreshing(Protocol):
    """A sink whose receiver forgets an alert that is not said again (Alertmanager resolves an alert
    whose sender went quiet): besides `send`, its worker calls `refresh` every `refresh_interval`
    seconds, on the same thread, so a refresh and a send never race.

    The lifecycle's `repeat_interval` is not used for this: it speaks to people (hours, stops when
    acknowledged, goes to every sink, and each repeat is a notification kept in the outbox); a
    refresh is the protocol's keep-alive, for this sink alone.
    """

    refresh_interval: float

    def refresh(self) -> None:
        """Say every active alert again; raises a `SinkError` when no receiver took it."""

    def resume(self, alerts: Iterable[Alert]) -> None:
        """The firing alerts it was told of before a restart (or a reload): it keeps refreshing them."""

    def retain(self, firing: Collection[str]) -> None:
        """The keys of the alerts that fire now: it stops refreshing any other it was told of as firing."""
