"""The `/` metric filter: an input that hides itself when done."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class FilterInput(Input):
    DEFAULT_CSS = """
    FilterInput { dock: bottom; height: 3; display: none; border: round $accent; }
    """
    BINDINGS = [Binding("escape", "cancel", "Clear filter")]

    class Cancelled(Message):
        """Escape: the filter was cleared."""

    def __init__(self, *, id: str | None = None,
                 placeholder: str = "filter metrics by name (enter keeps, escape clears)") -> None:
        super().__init__(placeholder=placeholder, id=id)

    def action_cancel(self) -> None:
        self.value = ""
        self.post_message(self.Cancelled())
