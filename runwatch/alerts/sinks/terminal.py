"""The terminal sink: one readable line on stderr per notification.

For `runwatch watch` in a tmux pane and for `runwatch tail`. The line is
built from log text, so escapes and line breaks are removed: a log must not
be able to move the cursor or recolour the user's terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from runwatch.alerts.sinks.base import RetryableError, SinkFilter
from runwatch.alerts.types import Notification
from runwatch.model import AlertState
from runwatch.text import clip, one_line


class TerminalSink:
    """Writes `runwatch: FIRING critical nonfinite run=… rank=0 step=380: summary` lines."""

    kind = "terminal"

    @dataclass(frozen=True)
    class Settings:
        """No settings: the line goes to stderr."""

    @classmethod
    def from_settings(cls, name: str, settings: Settings, filter: SinkFilter,
                      environ: Mapping[str, str]) -> TerminalSink:
        return cls(name, filter=filter)

    def __init__(
        self, name: str = "terminal", *, stream: TextIO | None = None, filter: SinkFilter | None = None
    ) -> None:
        self.name = name
        self.filter = filter or SinkFilter()
        self._stream = stream

    def send(self, payload: dict[str, Any], notification: Notification) -> None:
        stream = self._stream or sys.stderr  # looked up late: tests and the TUI swap sys.stderr
        try:
            stream.write(terminal_line(notification) + "\n")
            stream.flush()
        except (OSError, ValueError) as exc:  # a closed or broken stream
            raise RetryableError(f"terminal sink '{self.name}': cannot write ({type(exc).__name__})") from None


def terminal_line(notification: Notification) -> str:
    """The one-line form (pure)."""
    a = notification.alert
    state = "REPEAT" if notification.repeat else str(notification.state).upper()
    labels = " ".join(f"{k}={v}" for k, v in a.labels)
    step = f" step={a.step}" if a.step is not None and notification.state != AlertState.RESOLVED else ""
    text = f"runwatch: {state} {a.severity} {a.rule} {labels}{step}: {a.summary}"
    return clip(one_line(text), 500)
