"""Sinks from plain settings: the one place config (or CLI flags) turns into sink objects.

Settings that do not belong to a sink's type are errors, not ignored, so a
typo in a `[[sinks]]` table is reported before anything starts.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

from runwatch.alerts.sinks.base import Sink, SinkConfigError, SinkFilter
from runwatch.alerts.sinks.command import CommandSink
from runwatch.alerts.sinks.file import FileSink
from runwatch.alerts.sinks.slack import SlackSink
from runwatch.alerts.sinks.terminal import TerminalSink
from runwatch.alerts.sinks.webhook import WebhookSink

SINK_TYPES = ("slack", "webhook", "command", "file", "terminal")
_ALLOWED = {
    "slack": {"webhook_url_env", "webhook_url", "timeout", "host", "environ"},
    "webhook": {"webhook_url_env", "webhook_url", "timeout", "environ"},
    "command": {"run", "timeout", "attempts"},
    "file": {"path", "fsync"},
    "terminal": {"stream"},
}


def build_sink(
    type: str, *, name: str | None = None, min_severity: str = "info", rules: Iterable[str] | None = None,
    send_resolved: bool = True, webhook_url_env: str | None = None, webhook_url: str | None = None,
    run: Sequence[str] | None = None, path: str | os.PathLike[str] | None = None, timeout: float | None = None,
    attempts: int | None = None, fsync: bool | None = None, host: str | None = None,
    environ: Mapping[str, str] | None = None, stream: TextIO | None = None,
) -> Sink:
    """A sink of `type`; raises `SinkConfigError` naming the setting at fault."""
    if type not in _ALLOWED:
        raise SinkConfigError(f"unknown sink type {type!r}; known: {', '.join(SINK_TYPES)}")
    given: dict[str, Any] = {k: v for k, v in {
        "webhook_url_env": webhook_url_env, "webhook_url": webhook_url, "run": run, "path": path,
        "timeout": timeout, "attempts": attempts, "fsync": fsync, "host": host, "environ": environ,
        "stream": stream}.items() if v is not None}
    stray = sorted(given.keys() - _ALLOWED[type])
    if stray:
        raise SinkConfigError(f"{type} sink: {stray[0]!r} is not a setting of this sink type")
    name = name or type
    flt = SinkFilter.of(min_severity, rules, send_resolved)
    if type in ("slack", "webhook"):
        cls = SlackSink if type == "slack" else WebhookSink
        extra = {"host": host} if type == "slack" else {}
        return cls(name, url_env=webhook_url_env, url=webhook_url, timeout=10.0 if timeout is None else timeout,
                   filter=flt, environ=environ, **extra)
    if type == "command":
        if run is None:
            raise SinkConfigError(f"command sink '{name}': 'run' (an argv list) is required")
        return CommandSink(name, argv=run, timeout=30.0 if timeout is None else timeout,
                           attempts=3 if attempts is None else attempts, filter=flt)
    if type == "file":
        if path is None:
            raise SinkConfigError(f"file sink '{name}': 'path' is required")
        return FileSink(name, path=path, fsync=bool(fsync), filter=flt)
    return TerminalSink(name, stream=stream, filter=flt)
