"""Sink types and how a sink is built: the one registry of sink types.

Each sink class declares its settings (`Settings`, a frozen dataclass of `setting()` fields) and
builds itself from them (`from_settings`). This registry maps a type name to both; the config
reader validates `[[sinks]]` tables against the declared settings, and the CLI's sink flags build
the same `Settings`. Adding a sink type is one class and one line here.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from runwatch.alerts.sinks.alertmanager import AlertmanagerSink
from runwatch.alerts.sinks.base import Sink, SinkConfigError, SinkFilter
from runwatch.alerts.sinks.command import CommandSink
from runwatch.alerts.sinks.file import FileSink
from runwatch.alerts.sinks.slack import SlackSink
from runwatch.alerts.sinks.terminal import TerminalSink
from runwatch.alerts.sinks.webhook import WebhookSink


@dataclass(frozen=True)
class SinkType:
    """A registered sink type: its name in `[[sinks]] type = ...`, its settings, how to build one."""

    name: str
    settings: type[Any]
    """The sink class's `Settings`: a frozen dataclass of `setting()` fields."""
    build: Callable[[str, Any, SinkFilter, Mapping[str, str]], Sink]
    """`(name, settings, filter, environ) -> Sink`: the class's `from_settings`."""


SINK_CLASSES: dict[str, SinkType] = {t.name: t for t in (
    SinkType("slack", SlackSink.Settings, SlackSink.from_settings),
    SinkType("webhook", WebhookSink.Settings, WebhookSink.from_settings),
    SinkType("command", CommandSink.Settings, CommandSink.from_settings),
    SinkType("file", FileSink.Settings, FileSink.from_settings),
    SinkType("terminal", TerminalSink.Settings, TerminalSink.from_settings),
    SinkType("alertmanager", AlertmanagerSink.Settings, AlertmanagerSink.from_settings),
)}
SINK_TYPES = tuple(SINK_CLASSES)


def sink_type(type: str) -> SinkType:
    try:
        return SINK_CLASSES[type]
    except KeyError:
        raise SinkConfigError(f"unknown sink type {type!r}; known: {', '.join(SINK_TYPES)}") from None


def make_sink(type: str, name: str, settings: Any, filter: SinkFilter,
              environ: Mapping[str, str] | None = None) -> Sink:
    """A sink of `type` from its `Settings` instance."""
    return sink_type(type).build(name, settings, filter, os.environ if environ is None else environ)


def build_sink(type: str, *, name: str | None = None, min_severity: str = "info", rules: Iterable[str] | None = None,
               send_resolved: bool = True, environ: Mapping[str, str] | None = None, **settings: Any) -> Sink:
    """A sink from plain keywords (for code and tests); a keyword that is no setting of `type` is an error."""
    spec = sink_type(type)
    known = {f.name for f in dataclasses.fields(spec.settings)}
    stray = sorted(settings.keys() - known)
    if stray:
        raise SinkConfigError(f"{type} sink: {stray[0]!r} is not a setting of this sink type", key=stray[0])
    for key in ("run", "urls"):  # lists given as lists; a settings value is hashable
        if key in settings and settings[key] is not None and not isinstance(settings[key], str):
            settings[key] = tuple(settings[key])
    flt = SinkFilter.of(min_severity, rules, send_resolved)
    return make_sink(type, name or type, spec.settings(**settings), flt, environ)
