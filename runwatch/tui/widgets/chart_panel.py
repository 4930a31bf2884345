"""A chart panel: one key metric (and its overlays) as a braille line chart."""

from __future__ import annotations

import math

from rich.text import Text
from textual import events
from textual.app import RenderResult
from textual.message import Message
from textual.widget import Widget

from runwatch.headless import fmt_value
from runwatch.model import ChartData
from runwatch.tui.plan import PALETTE, ChartSpec
from runwatch.tui.renderables.linechart import Line, LineChart

Y_LABEL_GUESS = 6
"""Cells the y tick labels usually take; only used to size the data request."""


class ChartPanel(Widget, can_focus=True):
    """Holds the latest `ChartData` of its metrics and draws them at its current size.

    The panel never fetches: the screen asks it how many columns it wants
    (`columns_wanted`), fetches at most ~4 times a second and hands the data over.
    """

    DEFAULT_CSS = """
    ChartPanel {
        border: round $primary 50%;
        border-title-color: $text;
        border-subtitle-color: $text-muted;
        height: 1fr;
        padding: 0;
    }
    ChartPanel:focus { border: round $accent; }
    """

    class Resized(Message):
        """The panel got a new size: its data should be fetched again at the new width."""

    def __init__(self, spec: ChartSpec, *, log: bool = False, styles: tuple[str, ...] = PALETTE,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.spec = spec
        self.log_scale = log
        self.line_styles = styles
        self.data: list[ChartData | None] = []
        self.data_width = 0
        self.zoom = ""
        self.y_range: tuple[float, float] | None = None
        self.labels: tuple[str, ...] | None = None
        self._title()

    def on_resize(self, event: events.Resize) -> None:
        self.post_message(self.Resized())

    def columns_wanted(self) -> int:
        """Braille columns (two per cell) the plot area will have; what to ask the engine for."""
        return max(8, 2 * (self.content_size.width - Y_LABEL_GUESS))

    def set_data(self, data: list[ChartData | None], *, zoom: str = "", width: int = 0) -> None:
        """New data, fetched for `width` columns (kept so tests can tell a stale fetch)."""
        self.data, self.zoom, self.data_width = data, zoom, width
        self._title()
        self.refresh()

    def set_log(self, log: bool) -> None:
        self.log_scale = log
        self._title()
        self.refresh()

    def render(self) -> RenderResult:
        lines = [Line.from_chart(d, self.line_styles[i % len(self.line_styles)], self._label(i, d))
                 for i, d in enumerate(self.data) if d is not None and d.points]
        size = self.content_size
        return LineChart(lines, size.width, size.height, log=self.log_scale, y_range=self.y_range)

    def _label(self, i: int, d: ChartData) -> str:
        return self.labels[i] if self.labels and i < len(self.labels) else d.metric

    def _title(self) -> None:
        title = Text(no_wrap=True, end="")
        nonfinite = 0
        names = self.spec.metrics if not self.labels else self.labels
        for i, name in enumerate(names):
            d = self.data[i] if i < len(self.data) else None
            if i:
                title.append(" · ", "dim")
            title.append(name, f"bold {self.line_styles[i % len(self.line_styles)]}")
            if d is not None and len(d.ylast):
                metric = d.metric
                last = float(d.ylast[-1])
                title.append(f" {fmt_value(metric, last)}", "bold red" if not math.isfinite(last) else "")
                nonfinite += int(sum(d.nonfinite)) if d.nonfinite is not None else 0
        self.border_title = title
        sub = Text(no_wrap=True, end="")
        if nonfinite:
            sub.append(f"{nonfinite} NaN/Inf ", "bold red")
        if self.log_scale:
            sub.append("log ", "bold")
        sub.append(self.zoom)
        self.border_subtitle = sub
