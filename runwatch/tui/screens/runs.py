"""`r`: every run followed, one row each — state, step of total, loss, rate, ETA, firing alerts.

A directory of runs (a sweep, a week of experiments) is a question of which
run to look at; the side list names them, this table compares them. `enter`
opens the highlighted run in the run view, `space` pins it for the compare
view (`c` then overlays only the pinned runs), a click on a column header
sorts by it (again: the other way).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from runwatch.model import AlertState, RunSnapshot
from runwatch.present import eta_text, fmt_value, rate_text
from runwatch.text import one_line
from runwatch.tui.widgets.header import BADGE_STYLES, shorten_middle

COLUMNS = ("", "run", "state", "step", "loss", "rate", "ETA", "alerts")


def _loss(snap: RunSnapshot) -> float | None:
    value = snap.metrics.get("loss", snap.metrics.get("val_loss"))
    return None if value is None else float(value)


def _rate(snap: RunSnapshot) -> tuple[float, str]:
    p = snap.progress
    if p.tokens_per_sec:
        return p.tokens_per_sec, rate_text(snap, f"{fmt_value('tokens_per_sec', p.tokens_per_sec)} tok/s")
    if p.steps_per_sec:
        return p.steps_per_sec, rate_text(snap, f"{p.steps_per_sec:.3g} step/s")
    return -math.inf, ""


SORT_KEYS: dict[str, Callable[[RunSnapshot], Any]] = {
    "run": lambda s: s.run,
    "state": lambda s: str(s.state),
    "step": lambda s: s.progress.step if s.progress.step is not None else -1,
    "loss": lambda s: (_loss(s) is None or not math.isfinite(_loss(s) or 0.0), _loss(s) or 0.0),
    "rate": lambda s: _rate(s)[0],
    "ETA": lambda s: s.progress.eta_s if s.progress.eta_s is not None else math.inf,
    "alerts": lambda s: -sum(a.state == AlertState.FIRING for a in s.alerts),
}


def run_cells(snap: RunSnapshot, pinned: bool) -> tuple[Text, ...]:
    """One run's row (as `Text`: a DataTable would read a `str` as markup); `fit_rows` narrows it."""
    p = snap.progress
    step = "" if p.step is None else f"{p.step:,}" + (f"/{p.total_steps:,}" if p.total_steps else "")
    loss = _loss(snap)
    firing = [a for a in snap.alerts if a.state == AlertState.FIRING]
    cells = (
        ("●" if pinned else " ", "bold magenta"),
        (one_line(snap.run), "bold"),
        # A run whose node does not answer: its last known state, crossed and on red.
        (f"✕{str(snap.state).upper()} ", "bold white on red") if snap.unreachable
        else (f" {str(snap.state).upper()} ", BADGE_STYLES.get(snap.state, "")),
        (step, ""),
        ("" if loss is None else fmt_value("loss", loss), "bold red" if loss is not None and not math.isfinite(loss) else ""),
        (_rate(snap)[1], ""),
        ((eta_text(snap) or "ETA ")[4:], ""),
        (", ".join(sorted({a.rule for a in firing})), "bold red" if firing else "dim"),
    )
    return tuple(Text(text, style, no_wrap=True, end="") for text, style in cells)


NAME_MIN, ALERTS_MIN = 12, 9
CHROME = 3
"""The table's border (2) and its vertical scrollbar's column (1)."""
GIVES_WAY = ("rate", "ETA")
"""Columns left out, in this order, when the run names are as short as they go and the row still does not
fit: a table that scrolls sideways hid the alerts, which matter most after the state."""


def fit_table(rows: list[tuple[Text, ...]], width: int) -> tuple[tuple[str, ...], list[tuple[Text, ...]]]:
    """The columns to show and the rows narrowed to `width` columns: at 80 the ETA and alerts columns were
    off screen behind a sideways scrollbar. Long run names give way first, shortened in the middle (a
    sweep's names differ at the end) down to `NAME_MIN`; then the rate and the ETA columns; then the
    alerts, cut with an ellipsis down to `ALERTS_MIN`."""
    columns = list(COLUMNS)

    def width_of(i: int) -> int:
        return max(len(COLUMNS[i]), *(row[i].cell_len for row in rows)) + 2 if rows else len(COLUMNS[i]) + 2

    natural = {name: width_of(i) for i, name in enumerate(COLUMNS)}
    name_room = natural["run"] - 2
    for drop in (None, *GIVES_WAY):
        if drop is not None:
            columns.remove(drop)
        over = sum(natural[c] for c in columns) + CHROME - width
        name_room = max(NAME_MIN, natural["run"] - 2 - max(0, over))
        over -= natural["run"] - 2 - name_room
        if over <= 0:
            break
    alerts_room = max(ALERTS_MIN, natural["alerts"] - 2 - max(0, over))
    keep = [COLUMNS.index(c) for c in columns]
    out = []
    for row in rows:
        cells = list(row)
        name, alerts = cells[1], cells[-1]
        cells[1] = Text(shorten_middle(name.plain, name_room), name.style, no_wrap=True, end="")
        if alerts.cell_len > alerts_room:
            cells[-1] = Text(alerts.plain[: alerts_room - 1] + "…", alerts.style, no_wrap=True, end="")
        out.append(tuple(cells[i] for i in keep))
    return tuple(columns), out


class RunsScreen(Screen[None]):
    """The runs table; the dashboard's `pinned` set is shared, so pins outlive the screen."""

    DEFAULT_CSS = """
    RunsScreen DataTable {
        height: auto; max-height: 1fr; width: auto; max-width: 100%;
        border: round $primary 50%; border-title-color: $text;
    }
    """
    BINDINGS = [
        Binding("enter", "open", "Open run"),
        Binding("space", "pin", "Pin for compare"),
        Binding("r,escape", "back", "Back"),
    ]

    def __init__(self, snaps: list[RunSnapshot], pinned: set[str], open_run: Callable[[int], None]) -> None:
        super().__init__()
        self.snaps = snaps
        self.pinned = pinned
        self._open_run = open_run
        self.order: list[int] = list(range(len(snaps)))
        self.sort_by: str | None = None
        self.reverse = False
        self._shown: object = None

    def compose(self) -> ComposeResult:
        table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True, cell_padding=1, id="runs-table")
        table.border_title = "Runs"
        yield table
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.follow(self.snaps)
        self.query_one(DataTable).focus()

    def follow(self, snaps: list[RunSnapshot], *, paused: bool = False) -> None:
        self.snaps = snaps
        order = list(range(len(snaps)))
        if self.sort_by in SORT_KEYS:
            order.sort(key=lambda i: SORT_KEYS[self.sort_by](snaps[i]), reverse=self.reverse)  # type: ignore[index]
        columns, rows = fit_table([run_cells(snaps[i], snaps[i].run in self.pinned) for i in order],
                                  self.size.width)
        shown = (columns, rows, order)
        if repr(shown) == self._shown:
            return
        self._shown = repr(shown)
        table = self.query_one(DataTable)
        keep = table.cursor_row
        kept_run = snaps[self.order[keep]].run if 0 <= keep < len(self.order) and self.order[keep] < len(snaps) else None
        self.order = order
        keys = tuple(name or "pin" for name in columns)
        table.clear(columns=tuple(k.value for k in table.columns) != keys)
        if not table.columns:
            for name, key in zip(columns, keys, strict=True):
                table.add_column(name, key=key)
        for i, cells in zip(order, rows, strict=True):
            table.add_row(*cells, key=str(i))
        table.border_title = f"Runs ({len(snaps)})"
        runs = [snaps[i].run for i in order]
        if kept_run in runs:
            table.move_cursor(row=runs.index(kept_run), animate=False)

    def on_resize(self) -> None:
        self.follow(self.snaps)

    def selected(self) -> int | None:
        """Index (in the snapshots) of the highlighted run."""
        row = self.query_one(DataTable).cursor_row
        return self.order[row] if 0 <= row < len(self.order) else None

    def action_open(self) -> None:
        index = self.selected()
        self.dismiss(None)
        if index is not None:
            self._open_run(index)

    def action_pin(self) -> None:
        index = self.selected()
        if index is None:
            return
        run = self.snaps[index].run
        (self.pinned.discard if run in self.pinned else self.pinned.add)(run)
        self.follow(self.snaps)

    def action_back(self) -> None:
        self.dismiss(None)

    @on(DataTable.HeaderSelected)
    def _sort(self, event: DataTable.HeaderSelected) -> None:
        name = str(event.column_key.value)
        if name not in SORT_KEYS:
            return
        self.reverse = not self.reverse if self.sort_by == name else False
        self.sort_by = name
        self.follow(self.snaps)

    @on(DataTable.RowSelected)
    def _clicked(self, event: DataTable.RowSelected) -> None:
        self.action_open()
