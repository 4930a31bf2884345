"""Alerts: pending, firing and resolved, with time, step and value; one row selected, its whole
summary on the line under the table.

`s` and `a` act on the selected row (the screen asks `selected`). Rows are
rebuilt only when the alerts change, and the cursor stays on the same alert
(by its key) across rebuilds, so a silence goes to the alert the person chose.
A summary is a sentence: in the table it is cut at the panel's edge (a
horizontal scrollbar to reach the rest cost a row and showed one alert's
tail at a time), so the selected one is shown whole, wrapped, below.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from runwatch.model import AlertBrief, AlertState, Severity
from runwatch.present import fmt_duration, fmt_value
from runwatch.text import one_line

COLUMNS = ("state", "sev", "rule", "step", "value", "ago", "summary")
SEVERITY_TAGS = {Severity.CRITICAL: "CRIT", Severity.WARNING: "warn", Severity.INFO: "info"}
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
    ago = fmt_duration(now - a.since) if a.since is not None else ""
    sev = SEVERITY_TAGS.get(a.severity, str(a.severity))
    cells = (state, sev, a.rule, "" if a.step is None else str(a.step), value, ago, one_line(a.summary))
    return tuple(Text(c + " ", style, no_wrap=True, end="") for c in cells)


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
        self._shown: tuple[tuple[AlertBrief, ...], int] | None = None

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.add_column(name + " ", key=name)

    @property
    def selected(self) -> AlertBrief | None:
        if not self.alerts:
            return None
        return self.alerts[min(max(0, self.cursor_row), len(self.alerts) - 1)]

    def show(self, alerts: tuple[AlertBrief, ...], now: float) -> None:
        # Ages are shown to the minute past a minute: re-render when they change, not every tick.
        shown = (alerts, int(now // 10))
        if shown == self._shown:
            return
        self._shown = shown
        keep = self.selected.key if self.selected else None
        self.alerts = sort_alerts(alerts)
        self.clear()
        for a in self.alerts:
            self.add_row(*alert_cells(a, now), key=a.key or f"{a.rule}:{id(a)}")
        firing = sum(a.state == AlertState.FIRING for a in self.alerts)
        self.border_title = f"Alerts ({firing} firing)" if firing else (
            "Alerts" if self.alerts else "Alerts (none)")
        keys = [a.key for a in self.alerts]
        if keep in keys:
            self.move_cursor(row=keys.index(keep), animate=False)


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

    def focus(self, scroll_visible: bool = True) -> AlertsBox:
        """The table takes the focus the box is given (the screen's tab walks the lower panels)."""
        self.query_one(AlertsPanel).focus(scroll_visible)
        return self

    @on(DataTable.RowHighlighted)
    def _moved(self) -> None:
        self.query_one(AlertDetail).show(self.query_one(AlertsPanel).selected)
