"""`?`: every key, from the one table in `runwatch.tui.keys`."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.binding import Binding

from runwatch.tui.keys import KEYS
from runwatch.tui.screens.page import PageScreen


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


class HelpScreen(PageScreen):
    BINDINGS = [Binding("escape,question_mark", "close", "Close")]
    title_text = "runwatch keys"

    def body(self) -> RenderableType:
        return help_table()
