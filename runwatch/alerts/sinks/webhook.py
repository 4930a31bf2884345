"""The generic webhook sink: the DESIGN §5 payload as a JSON POST."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runwatch.alerts.sinks.base import SinkConfigError, SinkFilter
from runwatch.alerts.sinks.endpoint import resolve_url
from runwatch.alerts.sinks.httppost import make_opener, post_json
from runwatch.alerts.sinks.settings import SettingKind, setting
from runwatch.alerts.types import Notification


class WebhookSink:
    """POSTs the payload to a URL taken from the environment (or a CLI flag).

    The URL is a secret: it lives in a private attribute, is left out of
    `repr`, and is registered for redaction when the sink is built. It is
    checked then too (endpoint.py); user info in it becomes HTTP Basic auth.
    """

    kind = "webhook"
    path_tokens = False
    """Whether the URL's path segments are credentials however short (Slack's are)."""

    @dataclass(frozen=True)
    class Settings:
        webhook_url_env: str | None = setting(
            SettingKind.ENV_NAME, required=True,
            doc="the NAME of the environment variable that holds the URL (the URL never goes in the file)")
        webhook_url: str | None = setting(SettingKind.STR, in_file=False, secret=True,
                                          doc="the URL itself: the --webhook flag only")
        timeout: float = setting(SettingKind.DURATION, 10.0, doc="per request")

    @classmethod
    def from_settings(cls, name: str, settings: Settings, filter: SinkFilter,
                      environ: Mapping[str, str]) -> WebhookSink:
        var = settings.webhook_url_env
        if var and not environ.get(var, "").strip():
            raise SinkConfigError(f"environment variable {var} is not set (or empty); set it to the webhook "
                                  f"URL in runwatch's environment", key="webhook_url_env")
        return cls(name, url_env=var, url=settings.webhook_url, timeout=settings.timeout, filter=filter,
                   environ=environ, **cls._own_settings(settings))

    @classmethod
    def _own_settings(cls, settings: Settings) -> dict[str, Any]:
        """Keywords a subclass's constructor takes beyond the webhook's (Slack's `host`)."""
        return {}

    def __init__(
        self, name: str = "webhook", *, url_env: str | None = None, url: str | None = None,
        timeout: float = 10.0, filter: SinkFilter | None = None, environ: Mapping[str, str] | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.name = name
        self.filter = filter or SinkFilter()
        self.timeout = timeout
        self.label = f"{self.kind} sink '{name}'"
        self._endpoint = resolve_url(self.label, url=url, url_env=url_env, path_tokens=self.path_tokens,
                                     environ=os.environ if environ is None else environ)
        self._opener = make_opener()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, url=<redacted>, timeout={self.timeout:g})"

    def send(self, payload: dict[str, Any], notification: Notification) -> None:
        post_json(self._opener, self._endpoint.url, self.body(payload, notification), timeout=self.timeout,
                  label=self.label, headers=self._endpoint.headers)

    def body(self, payload: dict[str, Any], notification: Notification) -> Mapping[str, Any]:
        """What to POST; the Slack sink overrides this."""
        return payload
