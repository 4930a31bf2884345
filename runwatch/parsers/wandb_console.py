"""Console output the W&B SDK captured, turned back into lines for the crash-event detector.

The SDK stores stdout/stderr in the pieces the program wrote them, not in
lines, and progress bars redraw with `\\r`; a run followed only through its
`.wandb` file still shows its tracebacks, OOMs and NCCL errors this way.
"""

from __future__ import annotations

from collections import deque

from runwatch.model import Record
from runwatch.parsers.events import EventDetector

MAX_PENDING_CONSOLE = 64 * 1024
"""At most this much of an unfinished line is kept (its end) while waiting for the newline."""


class Console:
    """Console text of one stream, in the pieces it was written, → lines → crash events."""

    def __init__(self, tail: deque[str]) -> None:
        self._pending = ""
        self._events = EventDetector()
        self._tail = tail

    def feed(self, text: str) -> list[Record]:
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()[-MAX_PENDING_CONSOLE:]
        return [rec for line in lines if (rec := self._line(line)) is not None]

    def flush(self) -> list[Record]:
        out = [rec] if self._pending and (rec := self._line(self._pending)) is not None else []
        self._pending = ""
        if (rec := self._events.flush()) is not None:
            out.append(rec)
        return out

    def _line(self, line: str) -> Record | None:
        if "\r" in line:  # progress bars redraw with \r: the last frame is the line
            line = next((p for p in reversed(line.split("\r")) if p.strip()), "")
        self._tail.append(line)
        return self._events.feed(line)
