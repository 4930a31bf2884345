"""Alerts: pending, firing and resolved, with time, step and value; one row selected, its whole
summary on the line under the table.

`s` and `a` act on the selected row (the screen asks `selected`). Rows are
rebuilt only when the alerts change, and the cursor stays on the same alert
(by its key) across rebuilds, so a silence goes to the alert the person chose.
A summary is a sentence: in the table it gets the width the other columns
leave and is cut there with an ellipsis (a horizontal scrollbar to reach the
rest cost a row and showed one alert's tail at a time), and the selected one
is shown whole, wrapped, below.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from runwatch.durations import human_duration
from runwatch.model import AlertBrief, AlertState, Severity
from runwatch.present import fmt_value
from runwatch.text import one_line

COLUMNS = ("state", "sev", "rule", "step", "value", "ago", "summary")
SEVERITY_TAGS = {Severity.CRITICAL: "CRIT", Severity.WARNING: "warn", Severity.INFO: "info"}
SUMMARY = COLUMNS.index("summary")
SUMMARY_MIN = 24
GIVES_WAY = ("value", "step", "sev")
"""Columns left out, in this order, while the summary would be narrower than `SUMMARY_MIN`: the summary
says the value and the step in words ("grad_norm is NaN at step 380") and a firing row's colour says its
severity. At 160×48 the Alerts pane has 45 columns, and with every column the summary had 4 ("summ")."""
DETAIL_MAX = 3
_ORDER = {AlertState.FIRING: 0, AlertState.PENDING: 1, AlertState.RESOLVED: 2, AlertState.INACTIVE: 3}


def row_style(a: AlertBrief) -> str:
    if a.state == AlertState.FIRING:
        return "bold red" if a.severity == Severity.CRITICAL else "bold yellow"
    if a.state == AlertState.PENDING:
        return "yellow"
    return "dim"


def alert_cells(a: AlertBrief, now: float) -> tuple[Text, ...]:
    """The cells of one row, as `Text` (a DataTable would read a `str` as markup)."""
    style = row_style(a)
    state = str(a.state)
    if a.acknowledged:
        state += " ack"
    if a.silenced:
        state += " muted"
    if isinstance(a.value, float):
        value = fmt_value(str(a.labels.get("metric", a.rule)), a.value)
    else:
        value = "" if a.value is None else str(a.value)
    ago = human_duration(now - a.since) if a.since is not None else ""  # 25m, as every duration reads
    sev = SEVERITY_TAGS.get(a.severity, str(a.severity))
    cells = (state, sev, a.rule, "" if a.step is None else str(a.step), value, ago, one_line(a.summary))
    return tuple(Text(c + " ", style, no_wrap=True, end="") for c in cells)


def fit_columns(rows: list[tuple[Text, ...]], width: int) -> tuple[tuple[str, ...], int]:
    """The columns to show in `width` cells and the summary's width: all the others leave it."""
    natural = {name: max([len(name) + 1, *(row[i].cell_len for row in rows)]) for i, name in enumerate(COLUMNS)}
    columns = list(COLUMNS)
    room = width - sum(natural[c] for c in columns if c != "summary")
    for drop in GIVES_WAY:
        if room >= SUMMARY_MIN:
            break
        columns.remove(drop)
        room += natural[drop]
    return tuple(columns), max(len("summary "), room)


def fit_row(cells: tuple[Text, ...], columns: tuple[str, ...], summary_w: int) -> tuple[Text, ...]:
    """One row's shown cells, the summary cut with an ellipsis at `summary_w` (the detail line has it whole)."""
    summary = cells[SUMMARY]
    if len(summary.plain.rstrip()) > summary_w:  # the last column: its separating space may go
        summary = Text(summary.plain[: summary_w - 1] + "…", summary.style, no_wrap=True, end="")
    return tuple(summary if c == "summary" else cells[COLUMNS.index(c)] for c in columns)


def detail_lines(alerts: list[AlertBrief], width: int) -> int:
    """Lines the detail under the table takes for the longest of `alerts` at `width` (wrapped, at most
    `DETAIL_MAX`): counted for every alert, not the selected one, so moving the cursor moves no layout."""
    if not alerts:
        return 0
    longest = max(len(a.rule) + 2 + len(one_line(a.summary)) for a in alerts)
    return min(DETAIL_MAX, math.ceil(longest / width)) if width > 0 else 1


def sort_alerts(alerts: tuple[AlertBrief, ...]) -> list[AlertBrief]:
    """Firing first (critical before warning), then pending, then resolved; newest first."""
    return sorted(alerts, key=lambda a: (_ORDER.get(a.state, 9), a.severity != Severity.CRITICAL,
                                         -(a.since or 0.0)))


class AlertsPanel(DataTable[Text]):
    DEFAULT_CSS = """
    AlertsPanel {
        border: round $primary 50%;
        border-title-color: $text;
        height: 1fr;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 0;
    }
    AlertsPanel:focus { border: round $accent; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, show_cursor=True, cell_padding=0)
        self.border_title = "Alerts"
        self.alerts: list[AlertBrief] = []
        self._shown: tuple[tuple[AlertBrief, ...], int, int] | None = None
        self._given: tuple[tuple[AlertBrief, ...], float] = ((), 0.0)

    def on_resize(self) -> None:
        """Another width: the columns are fitted again (the alerts did not change, so `show` would not)."""
        self.show(*self._given)
        self._title()

    @property
    def selected(self) -> AlertBrief | None:
        if not self.alerts:
            return None
        return self.alerts[min(max(0, self.cursor_row), len(self.alerts) - 1)]

    def show(self, alerts: tuple[AlertBrief, ...], now: float) -> None:
        # Ages are shown to the minute past a minute: re-render when they change, not every tick.
        self._given = (alerts, now)
        width = self.size.width - 1  # the vertical scrollbar's column, kept whether it shows or not
        shown = (alerts, int(now // 10), width)
        if shown == self._shown:
            return
        self._shown = shown
        keep = self.selected.key if self.selected else None
        self.alerts = sort_alerts(alerts)
        rows = [alert_cells(a, now) for a in self.alerts]
        columns, summary_w = fit_columns(rows, width)
        self.clear(columns=True)
        for name in columns:
            self.add_column(name + " ", key=name, width=summary_w if name == "summary" else None)
        for a, cells in zip(self.alerts, rows, strict=True):
            self.add_row(*fit_row(cells, columns, summary_w), key=a.key or f"{a.rule}:{id(a)}")
        self._title()
        keys = [a.key for a in self.alerts]
        if keep in keys:
            self.move_cursor(row=keys.index(keep), animate=False)


    def _title(self) -> None:
        """How many fire, and how many rows the pane's height leaves out (a user read "5 firing" over two rows
        and took the other three for lost): they are a scroll away (tab focuses the table)."""
        firing = sum(a.state == AlertState.FIRING for a in self.alerts)
        title = f"Alerts ({firing} firing)" if firing else ("Alerts" if self.alerts else "Alerts (none)")
        rows = self.scrollable_content_region.height - (self.header_height if self.show_header else 0)
        hidden = len(self.alerts) - max(0, rows)
        if rows > 0 and hidden > 0:
            title += f" · {hidden} out of view"
        self.border_title = title


class AlertDetail(Static):
    """The selected alert's rule and whole summary, wrapped (at most three lines)."""

    DEFAULT_CSS = """
    AlertDetail { height: auto; max-height: 3; padding: 0 1; }
    """

    def show(self, alert: AlertBrief | None) -> None:
        self.display = alert is not None
        if alert is not None:
            text = Text(f"{alert.rule}: ", f"bold {row_style(alert)}")
            text.append(one_line(alert.summary), row_style(alert))
            self.update(text)


class AlertsBox(Vertical):
    """The alerts table and, under it, the selected alert's detail; tab focuses the table."""

    DEFAULT_CSS = """
    AlertsBox { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield AlertsPanel(id="alerts")
        yield AlertDetail(id="alert-detail")

    def show(self, alerts: tuple[AlertBrief, ...], now: float) -> None:
        table = self.query_one(AlertsPanel)
        table.show(alerts, now)
        self.query_one(AlertDetail).show(table.selected)

    def rows_wanted(self) -> int:
        """Rows the box needs to show every alert: the table's border, header and rows, and the detail.
        The screen gives the lower panels no more than they need, so 1 alert leaves its rows to the charts."""
        alerts = self.query_one(AlertsPanel).alerts
        return 3 + max(1, len(alerts)) + detail_lines(alerts, self.size.width - 2)  # the detail's padding

    def focus(self, scroll_visible: bool = True) -> AlertsBox:
        """The table takes the focus the box is given (the screen's tab walks the lower panels)."""
        self.query_one(AlertsPanel).focus(scroll_visible)
        return self

    @on(DataTable.RowHighlighted)
    def _moved(self) -> None:
        self.query_one(AlertDetail).show(self.query_one(AlertsPanel).selected)
