"""`?`: every key, from the one table in `runwatch.tui.keys`."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from runwatch.tui.keys import KEYS


def help_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for i, (section, keys) in enumerate(KEYS):
        if i:
            table.add_row("", "")
        table.add_row(Text(section, "bold underline"), "")
        for key, what in keys:
            table.add_row(Text(key), Text(what))
    return table


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 80; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; border-title-color: $text; padding: 0 1; background: $surface;
    }
    HelpScreen Static { width: 100%; }
    """
    BINDINGS = [Binding("escape,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        box = VerticalScroll()
        box.border_title = "runwatch keys"
        box.border_subtitle = "escape closes"
        with box:
            yield Static(help_table())

    def action_close(self) -> None:
        self.dismiss(None)
