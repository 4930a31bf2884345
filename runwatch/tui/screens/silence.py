"""`s`: how long to silence the selected alert, from a short menu."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from runwatch.model import AlertBrief
from runwatch.text import one_line

DURATIONS: tuple[tuple[str, float], ...] = (("30m", 1800.0), ("1h", 3600.0), ("2h", 7200.0), ("1d", 86400.0))


class SilenceMenu(ModalScreen[float | None]):
    """Dismisses with the chosen duration in seconds, or None when cancelled."""

    DEFAULT_CSS = """
    SilenceMenu { align: center middle; }
    SilenceMenu > Vertical {
        width: 44; height: auto; border: round $warning; background: $surface; padding: 0 1;
    }
    SilenceMenu OptionList, SilenceMenu OptionList:focus { height: auto; border: none; padding: 0; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, alert: AlertBrief) -> None:
        super().__init__()
        self.alert = alert

    def compose(self) -> ComposeResult:
        box = Vertical()
        box.border_title = "Silence for…"
        with box:
            yield Static(Text(one_line(f"{self.alert.rule}: {self.alert.summary or self.alert.key}"), "bold",
                              overflow="ellipsis", no_wrap=True))
            yield OptionList(*(Option(label, id=label) for label, _ in DURATIONS), id="durations")

    @on(OptionList.OptionSelected, "#durations")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(DURATIONS[event.option_index][1])

    def action_cancel(self) -> None:
        self.dismiss(None)
