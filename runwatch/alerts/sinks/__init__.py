"""Where alerts go: Slack, webhooks, commands, files, the terminal (DESIGN §4, §5).

`build_sink` turns settings into sinks; a `Dispatcher` delivers to them off
the engine's thread, with retries and an outbox that survives restarts.
"""

from runwatch.alerts.sinks.backoff import Backoff
from runwatch.alerts.sinks.base import (
    PermanentError,
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
from runwatch.alerts.sinks.redact import RedactingFilter, redact, register_secret
from runwatch.alerts.sinks.slack import SlackSink
from runwatch.alerts.sinks.terminal import TerminalSink
from runwatch.alerts.sinks.webhook import WebhookSink
from runwatch.alerts.sinks.worker import SinkStats

__all__ = [
    "SINK_TYPES", "Backoff", "CommandSink", "Dispatcher", "FileSink", "PermanentError", "RedactingFilter",
    "RetryableError", "Sink", "SinkConfigError", "SinkError", "SinkFilter", "SinkStats", "SlackSink",
    "TerminalSink", "WebhookSink", "build_sink", "redact", "register_secret",
]
