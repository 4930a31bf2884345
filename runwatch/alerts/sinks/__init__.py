"""Where alerts go: Slack, webhooks, Alertmanager, commands, files, the terminal (DESIGN §4, §5).

`build_sink` turns settings into sinks; a `Dispatcher` delivers to them off
the engine's thread, with retries and an outbox that survives restarts.

The names below are loaded on first use (PEP 562): the config reader needs only
`settings`, and `runwatch check`, which sends nothing, should not pay for HTTP,
TLS and subprocess modules at every start. `redact` is not among them: a
submodule of that name would shadow it once loaded (import it from `.redact`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runwatch.alerts.sinks.alertmanager import AlertmanagerSink
    from runwatch.alerts.sinks.backoff import Backoff
    from runwatch.alerts.sinks.base import (
        PermanentError,
        Refreshing,
        RetryableError,
        Sink,
        SinkConfigError,
        SinkError,
        SinkFilter,
    )
    from runwatch.alerts.sinks.command import CommandSink
    from runwatch.alerts.sinks.dispatch import Dispatcher
    from runwatch.alerts.sinks.factory import SINK_TYPES, build_sink
    from runwatch.alerts.sinks.file import FileSink
    from runwatch.alerts.sinks.redact import RedactingFilter, register_secret
    from runwatch.alerts.sinks.slack import SlackSink
    from runwatch.alerts.sinks.terminal import TerminalSink
    from runwatch.alerts.sinks.webhook import WebhookSink
    from runwatch.alerts.sinks.worker import SinkStats

_HOME = {
    "AlertmanagerSink": "alertmanager", "Backoff": "backoff", "PermanentError": "base", "Refreshing": "base", "RetryableError": "base", "Sink": "base",
    "SinkConfigError": "base", "SinkError": "base", "SinkFilter": "base", "CommandSink": "command",
    "Dispatcher": "dispatch", "SINK_TYPES": "factory", "build_sink": "factory", "FileSink": "file",
    "RedactingFilter": "redact", "register_secret": "redact", "SlackSink": "slack",
    "TerminalSink": "terminal", "WebhookSink": "webhook", "SinkStats": "worker",
}

__all__ = [
    "SINK_TYPES", "AlertmanagerSink", "Backoff", "CommandSink", "Dispatcher", "FileSink", "PermanentError",
    "RedactingFilter", "Refreshing", "RetryableError", "Sink", "SinkConfigError", "SinkError", "SinkFilter", "SinkStats", "SlackSink",
    "TerminalSink", "WebhookSink", "build_sink", "register_secret",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
