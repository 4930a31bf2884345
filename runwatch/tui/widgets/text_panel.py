"""A bordered, focusable, scrollable panel whose body is one block of plain `Text`.

Bodies are `rich.text.Text`, never markup strings: what a log or a rank table
says is shown as it is, whatever brackets it holds.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static


class TextPanel(VerticalScroll):
    """Base of the ranks, system and log panels."""

    FOLLOWS_END: ClassVar[bool] = False
    """Whether the view goes to the newest line as the body grows: a log's, not a table's (the Ranks
    panel, scrolled to its end when its 9 lines first met 7 rows, hid its header line)."""

    DEFAULT_CSS = """
    TextPanel {
        border: round $primary 50%;
        border-title-color: $text;
        height: 1fr;
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    TextPanel:focus { border: round $accent; }
    TextPanel > Static { width: 100%; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = title
        self._body = Static("", markup=False)
        self._last: Text | None = None
        self.following = True
        """Whether the view stays on the newest line: until the person scrolls up, again once back at the end."""

    def compose(self) -> ComposeResult:
        yield self._body

    def show_text(self, text: Text, *, follow_end: bool = False) -> None:
        """Replace the body; skipped when nothing changed, so an idle panel costs nothing. A view that
        follows is put back on the newest line even then: the panel may have got another height (`g`, a
        terminal resized), which moves the end without a scroll or a new line."""
        if self._last is not None and text.plain == self._last.plain and text.spans == self._last.spans:
            if follow_end:
                self.keep_end()
            return
        # Same number of lines: same height, so skip the screen-wide layout pass (the costliest part).
        relayout = self._last is None or len(text.plain.splitlines()) != len(self._last.plain.splitlines())
        self._last = text
        self._body.update(text, layout=relayout)
        if follow_end and self.following:
            self.call_after_refresh(self.scroll_end, animate=False)

    def keep_end(self) -> None:
        """A view that follows back on the newest line, if it is not (the panel got another height)."""
        if self.following and self.scroll_y < self.max_scroll_y:
            self.scroll_end(animate=False)

    def watch_virtual_size(self) -> None:
        """The body grew (or was first laid out) under a view that follows: to the newest line. The first
        lines arrive before the panel has its size, so a scroll asked for then lands nowhere."""
        if self.FOLLOWS_END and self.following and self._last is not None:
            self.call_after_refresh(self.scroll_end, animate=False)

    def watch_scroll_y(self, old: float, new: float) -> None:
        """A scroll the person made up from the end stops following; scrolling back to the end resumes it.
        (Content growing under a view at the end moves `max_scroll_y`, not `scroll_y`: still following.)"""
        super().watch_scroll_y(old, new)
        if new < old and new < self.max_scroll_y:
            self.following = False
        elif new >= self.max_scroll_y:
            self.following = True

    def rows_wanted(self) -> int:
        """Rows the panel needs to show its whole body: its lines and its border."""
        return 2 + max(1, len(self.body_text.splitlines()))

    @property
    def body_text(self) -> str:
        """The plain text shown (for tests)."""
        return "" if self._last is None else self._last.plain
