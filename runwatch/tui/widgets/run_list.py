"""The list of runs (several paths, or a directory of runs): pick one to show."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from runwatch.model import AlertState, RunSnapshot
from runwatch.text import one_line
from runwatch.tui.widgets.header import BADGE_STYLES

RUN_LIST_W = 22


def run_prompt(i: int, snap: RunSnapshot) -> Text:
    t = Text(no_wrap=True, end="", overflow="ellipsis")
    t.append(f"{i + 1} " if i < 9 else "  ", "bold")
    if snap.unreachable:  # its node does not answer: what follows is its last known state
        t.append("✕ ", "bold red")
    else:
        t.append("● ", BADGE_STYLES.get(snap.state, "").split(" on ")[-1])
    t.append(one_line(snap.run))
    if any(a.state == AlertState.FIRING for a in snap.alerts):
        t.append(" ▲", "bold red")
    return t


class RunList(OptionList):
    """One line per run with its state colour (a red ✕ instead when its node does not answer) and a mark
    when an alert fires."""

    DEFAULT_CSS = f"""
    RunList {{ width: {RUN_LIST_W}; height: 1fr; border: round $primary 50%; border-title-color: $text; }}
    RunList:focus {{ border: round $accent; }}
    """

    class RunChosen(Message):
        """The person picked the run at `index`."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Runs"
        self._shown: list[tuple[str, str, bool, bool]] = []
        self._current: int | None = None

    def show(self, snaps: list[RunSnapshot], current: int) -> None:
        """Refresh the rows; move the highlight only when the current run changed (or the rows
        were rebuilt), so a person moving through the list is not pulled back by each refresh."""
        shown = [(s.run, str(s.state), any(a.state == AlertState.FIRING for a in s.alerts), bool(s.unreachable))
                 for s in snaps]
        rebuilt = shown != self._shown
        if rebuilt:
            self._shown = shown
            keep = self.highlighted
            self.set_options(Option(run_prompt(i, s), id=f"run-{i}") for i, s in enumerate(snaps))
            if keep is not None and keep < len(snaps) and self._current == current:
                self.highlighted = keep
        if snaps and (current != self._current or self.highlighted is None):
            self.highlighted = current
        self._current = current

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.RunChosen(event.option_index))
