"""The Alertmanager sink: alerts POSTed to `/api/v2/alerts` of one Alertmanager or of an HA pair.

Alertmanager expects its clients to say an active alert again and again: an
alert heard without `endsAt` is resolved `resolve_timeout` (5 minutes by
default) after it was last heard. So this sink keeps the alerts it has told
of and says them all again every `resend_interval` (60 s by default: well
under five minutes, so two refreshes may be lost before an alert lapses;
Prometheus re-sends every minute too). The refresh runs on the sink's own
delivery thread (`Refreshing`), not through the lifecycle's
`repeat_interval`, which is for people (see `base.Refreshing`).

Every URL gets every alert: the members of an Alertmanager HA cluster share
silences and what they notified, not alerts. A notification counts as
delivered once one of them answered 2xx (the others are told at the next
refresh, so one member down does not hold up the queue); when none did, the
dispatcher retries it with backoff and keeps it in the outbox as for any
sink. A resolved alert is said (with its `endsAt`) at every refresh until
every member acknowledged it, for at most `RESOLVED_KEEP_S`.

Labels and identity: `postable.py`. URLs may carry `user:password@` (sent
as Basic auth and redacted); messages name a member by host and port only.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from runwatch.alerts.sinks.base import PermanentError, RetryableError, SinkConfigError, SinkError, SinkFilter
from runwatch.alerts.sinks.endpoint import Endpoint, endpoint
from runwatch.alerts.sinks.httppost import make_opener, post_json
from runwatch.alerts.sinks.postable import postable_alert
from runwatch.alerts.sinks.redact import register_secret
from runwatch.alerts.sinks.settings import SettingKind, setting
from runwatch.alerts.types import Alert, Notification
from runwatch.model import AlertState

API_PATH = "/api/v2/alerts"
DEFAULT_RESEND_S = 60.0
RESOLVED_KEEP_S = 3600.0
"""How long a resolved alert is said again to a member that has not acknowledged it (one down for longer
has lost it anyway: Alertmanager keeps alerts in memory only)."""


@dataclass(frozen=True, slots=True)
class _Member:
    """One Alertmanager: where to POST, the headers that carry its credentials, its name in messages."""

    endpoint: Endpoint
    label: str


@dataclass(slots=True)
class _Active:
    """An alert this sink has told of: its latest body, and for a resolved one the members still owed it."""

    body: dict[str, Any]
    resolved: bool
    owed: set[int]
    since: float
    """When it resolved (the sink's clock): it is forgotten `RESOLVED_KEEP_S` later."""


class AlertmanagerSink:
    """POSTs each notification to every member; re-sends the active ones every `refresh_interval` seconds."""

    kind = "alertmanager"

    @dataclass(frozen=True)
    class Settings:
        urls: tuple[str, ...] | None = setting(
            SettingKind.URLS, required=True,
            doc="one Alertmanager, or every member of an HA cluster: each gets every alert")
        resend_interval: float = setting(
            SettingKind.DURATION, DEFAULT_RESEND_S,
            doc="re-send active alerts this often (keep it well under Alertmanager's resolve_timeout, 5m)")
        generator_url: str = setting(SettingKind.STR, "", doc="the alerts' generatorURL (a link back to runwatch)")
        host: str | None = setting(SettingKind.STR, doc="the host name in the alerts (default: this host)")
        timeout: float = setting(SettingKind.DURATION, 10.0, doc="per request")

    @classmethod
    def from_settings(cls, name: str, settings: Settings, filter: SinkFilter,
                      environ: Mapping[str, str]) -> AlertmanagerSink:
        return cls(name, urls=settings.urls or (), resend_interval=settings.resend_interval,
                   generator_url=settings.generator_url, host=settings.host, timeout=settings.timeout,
                   filter=filter)

    def __init__(
        self, name: str = "alertmanager", *, urls: Iterable[str], resend_interval: float = DEFAULT_RESEND_S,
        generator_url: str = "", host: str | None = None, timeout: float = 10.0, filter: SinkFilter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if timeout <= 0 or resend_interval <= 0:
            raise ValueError(f"timeout and resend_interval must be positive, got {timeout}, {resend_interval}")
        self.name = name
        self.filter = filter or SinkFilter()
        self.label = f"{self.kind} sink '{name}'"
        if not self.filter.send_resolved:
            raise SinkConfigError(f"{self.label}: send_resolved = false would keep every alert firing in Alertmanager "
                                  f"while runwatch runs; its receivers' own send_resolved decides who hears the end",
                                  key="send_resolved")
        self.refresh_interval = resend_interval
        self.generator_url = generator_url
        self.host = host or socket.gethostname()
        self.timeout = timeout
        self._members = _members(self.label, list(urls))
        self._opener = make_opener()
        self._clock = clock
        self._lock = threading.Lock()
        self._active: dict[str, _Active] = {}
        """Alert key → what was said of it, while it fires and until every member acknowledged its end."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, members={len(self._members)}, " \
               f"resend_interval={self.refresh_interval:g})"

    def send(self, payload: dict[str, Any], notification: Notification) -> None:
        """Tell every member; delivered when one took it (the rest hear it at the next refresh)."""
        body = postable_alert(notification, host=self.host, generator_url=self.generator_url)
        key = notification.alert.key
        entry = _Active(body, notification.state == AlertState.RESOLVED, set(range(len(self._members))),
                        self._clock())
        with self._lock:
            self._active[key] = entry
        acked, errors = self._post_to(range(len(self._members)), [body])
        with self._lock:
            self._acknowledged(key, entry, acked)
        if not acked:
            raise _combined(errors)

    def refresh(self) -> None:
        """Say every active alert again, and each resolved one to the members that have not taken it."""
        with self._lock:
            self._forget_old(self._clock())
            entries = list(self._active.items())
        tried, errors = 0, []
        for i in range(len(self._members)):
            batch = [(key, e) for key, e in entries if not e.resolved or i in e.owed]
            if not batch:
                continue
            tried += 1
            acked, failed = self._post_to([i], [e.body for _, e in batch])
            errors += failed
            with self._lock:
                for key, e in batch:
                    self._acknowledged(key, e, acked)
        if tried and len(errors) == tried:
            raise _combined(errors)

    def resume(self, alerts: Iterable[Alert]) -> None:
        """Keep refreshing these firing alerts (told of before a restart or a config reload)."""
        now = self._clock()
        with self._lock:
            for a in alerts:
                if a.state == AlertState.FIRING and a.key not in self._active:
                    n = Notification(a, AlertState.FIRING, a.fired_at or a.active_since)
                    body = postable_alert(n, host=self.host, generator_url=self.generator_url)
                    self._active[a.key] = _Active(body, False, set(), now)

    def retain(self, firing: Collection[str]) -> None:
        """Stop re-sending the alerts told of as firing that no longer fire (by key): one whose "resolved" a
        silence holds back lapses in Alertmanager after its resolve_timeout instead of firing for ever."""
        with self._lock:
            for key in [k for k, e in self._active.items() if not e.resolved and k not in firing]:
                del self._active[key]

    def active(self) -> dict[str, dict[str, Any]]:
        """What the next refresh will say: alert key → body (for the daemon's status and for tests)."""
        with self._lock:
            return {key: e.body for key, e in self._active.items()}

    def _post_to(self, members: Iterable[int], body: list[dict[str, Any]]) -> tuple[set[int], list[SinkError]]:
        """POST `body` to each member; the members that answered 2xx and the errors of the others."""
        acked: set[int] = set()
        errors: list[SinkError] = []
        for i in members:
            m = self._members[i]
            try:
                post_json(self._opener, m.endpoint.url, body, timeout=self.timeout, label=m.label,
                          headers=m.endpoint.headers)
            except SinkError as exc:
                errors.append(exc)
            else:
                acked.add(i)
        return acked, errors

    def _acknowledged(self, key: str, entry: _Active, acked: set[int]) -> None:
        """A resolved alert every member has taken is forgotten (unless a newer entry replaced it). Lock held."""
        if not entry.resolved:
            return
        entry.owed -= acked
        if not entry.owed and self._active.get(key) is entry:
            del self._active[key]

    def _forget_old(self, now: float) -> None:
        for key, e in list(self._active.items()):
            if e.resolved and now - e.since > RESOLVED_KEEP_S:
                del self._active[key]


def _members(label: str, urls: list[str]) -> list[_Member]:
    """Each URL checked (a `SinkConfigError` naming `urls[i]`, never the URL), with `/api/v2/alerts` added."""
    if not urls:
        raise SinkConfigError(f"{label}: urls: give at least one Alertmanager URL", key="urls")
    out = []
    for i, url in enumerate(urls):
        where = f"{label}: urls[{i}]"
        try:
            parts = urllib.parse.urlsplit(url)
        except ValueError:
            raise SinkConfigError(f"{where} is not a valid URL", key="urls") from None
        if "@" in parts.netloc or parts.query:
            register_secret(url)
        if parts.query or parts.fragment:
            raise SinkConfigError(f"{where}: give the Alertmanager's base URL, without ?query or #fragment",
                                  key="urls")
        path = parts.path.rstrip("/")
        if not path.endswith(API_PATH):
            path += API_PATH
        try:
            ep = endpoint(urllib.parse.urlunsplit(parts._replace(path=path)), where)
        except SinkConfigError as exc:
            raise SinkConfigError(str(exc), key="urls") from None
        hostport = parts.netloc.rpartition("@")[2]
        out.append(_Member(ep, f"{label} ({hostport})"))
    return out


def _combined(errors: list[SinkError]) -> SinkError:
    """One error for a try that no member took: retryable when any member's failure was."""
    message = "; ".join(str(e) for e in errors) or "no Alertmanager to send to"
    retryable = [e for e in errors if isinstance(e, RetryableError)]
    if retryable:
        waits = [e.retry_after for e in retryable if e.retry_after is not None]
        return RetryableError(message, retry_after=max(waits) if waits else None)
    return PermanentError(message)
