"""The last lines of the run's log, errors highlighted.

Lines arrive with terminal escapes already stripped; they are shown as plain
`Text`, so `[bold]` or `[/]` in a log line is text, never Rich markup.
"""

from __future__ import annotations

import re

from rich.text import Text

from runwatch.tui.widgets.text_panel import TextPanel

ERROR = re.compile(r"error|traceback|exception|out of memory|\boom\b|\bnan\b|\binf\b|nccl|killed|"
                   r"segmentation fault|fatal|timed? ?out", re.IGNORECASE)
WARNING = re.compile(r"warn", re.IGNORECASE)


def log_text(lines: list[str]) -> Text:
    out = Text(no_wrap=True, end="", overflow="ellipsis")
    for i, line in enumerate(lines):
        if i:
            out.append("\n")
        style = "bold red" if ERROR.search(line) else ("yellow" if WARNING.search(line) else "")
        out.append(line, style)
    return out


class LogPane(TextPanel):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Log", id=id)
        self.lines: list[str] = []
        self.run: str | None = None

    def show(self, lines: list[str], *, run: str | None = None) -> None:
        self.run = run
        if lines == self.lines:
            return
        self.lines = list(lines)
        self.show_text(log_text(self.lines) if lines else Text("(no lines yet)", "dim"), follow_end=True)
