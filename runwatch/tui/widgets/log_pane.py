"""The last lines of the run's log, errors highlighted.

Lines arrive with terminal escapes already stripped; they are shown as plain
`Text`, so `[bold]` or `[/]` in a log line is text, never Rich markup.
"""

from __future__ import annotations

import re

from rich.text import Text
from textual.binding import Binding

from runwatch import patterns
from runwatch.text import clean
from runwatch.tui.widgets.text_panel import TextPanel

ERROR = patterns.compile(r"error|traceback|exception|out of memory|\boom\b|\bnan\b|\binf\b|nccl|killed|"
                   r"segmentation fault|fatal|timed? ?out", re.IGNORECASE)
WARNING = patterns.compile(r"warn", re.IGNORECASE)


def log_text(lines: list[str]) -> Text:
    out = Text(no_wrap=True, end="", overflow="ellipsis")
    for i, line in enumerate(lines):
        if i:
            out.append("\n")
        style = "bold red" if ERROR.search(line) else ("yellow" if WARNING.search(line) else "")
        out.append(clean(line), style)
    return out


def new_lines(old: list[str], new: list[str]) -> int:
    """How many lines `new` (the log's latest lines) has after the newest line of `old`."""
    if not old:
        return len(new)
    for i in range(len(new) - 1, -1, -1):
        if new[i] == old[-1] and new[max(0, i - len(old) + 1):i + 1] == old[max(0, len(old) - i - 1):]:
            return len(new) - 1 - i
    return len(new)


class LogPane(TextPanel):
    """Stays on the newest line unless the person scrolls up (then "↓ N new lines" says what came);
    `w` wraps long lines instead of cutting them at the panel's edge."""

    BINDINGS = [Binding("w", "toggle_wrap", "Wrap", show=False)]
    FOLLOWS_END = True

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Log", id=id)
        self.lines: list[str] = []
        self.run: str | None = None
        self.unseen = 0
        self.wrap = False

    def show(self, lines: list[str], *, run: str | None = None) -> None:
        if run != self.run:
            self.unseen, self.following = 0, True
        self.run = run
        if lines == self.lines:
            self.keep_end()
            return
        if not self.following:
            self.unseen += new_lines(self.lines, lines)
        self.lines = list(lines)
        self.show_text(log_text(self.lines) if lines else Text("(no lines yet)", "dim"), follow_end=True)
        self._subtitle()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self.following and self.unseen:
            self.unseen = 0
        self._subtitle()

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap
        self._body.styles.text_wrap = "wrap" if self.wrap else "nowrap"
        self._body.styles.text_overflow = "fold" if self.wrap else "ellipsis"
        self._subtitle()

    def _subtitle(self) -> None:
        parts = []
        if not self.following and self.unseen:
            parts.append(f"↓ {self.unseen} new line{'s' * (self.unseen != 1)} (End)")
        if self.wrap:
            parts.append("wrap")
        self.border_subtitle = " · ".join(parts)
