"""A chart panel: one key metric (and its overlays) as a braille line chart."""

from __future__ import annotations

import math

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from runwatch.model import ChartData, XAxis
from runwatch.present import SECONDS, fmt_value
from runwatch.tui.plan import PALETTE, ChartSpec
from runwatch.tui.renderables.linechart import Line, LineChart
from runwatch.tui.renderables.smoothing import ema

Y_LABEL_GUESS = 6
"""Cells the y tick labels usually take; only used to size the data request."""
RAW_UNDER_AVERAGE = "bright_black"
"""A smoothed line's raw values, under the average: a dimmed colour was hard to tell from the average."""


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
        self.full_range = False
        """Scale the y axis to every value, warm-up included (the `f` key); schedules always are."""
        self.smoothing = 0.0
        """The exponential average's weight drawn over each line (the `S` key); 0: off."""
        self.x_axis = XAxis.STEP
        """What the data's x counts (the `x` key): steps, wall time or tokens."""
        self.labels: tuple[str, ...] | None = None
        self._version = 0
        """Bumped on every change that alters the picture; the strips are rebuilt on the next paint."""
        self._strips_key: object = None
        self._strips: list[Strip] = []
        self._title()

    def on_resize(self, event: events.Resize) -> None:
        self.post_message(self.Resized())

    def columns_wanted(self) -> int:
        """Braille columns (two per cell) the plot area will have; what to ask the engine for."""
        return max(8, 2 * (self.content_size.width - Y_LABEL_GUESS))

    def set_data(self, data: list[ChartData | None], *, zoom: str = "", width: int = 0,
                 x_axis: XAxis = XAxis.STEP) -> None:
        """New data, fetched for `width` columns (kept so tests can tell a stale fetch), along `x_axis`."""
        self.data, self.zoom, self.data_width, self.x_axis = data, zoom, width, x_axis
        self._version += 1
        self._title()
        self.refresh()

    def set_log(self, log: bool) -> None:
        self.log_scale = log
        self._version += 1
        self._title()
        self.refresh()

    def set_full_range(self, full: bool) -> None:
        self.full_range = full
        self._version += 1
        self._title()
        self.refresh()

    def set_smoothing(self, weight: float) -> None:
        self.smoothing = weight
        self._version += 1
        self._title()
        self.refresh()

    def chart(self) -> LineChart:
        """The renderable for the current data at the current size; smoothed, each line goes grey under
        its average in its colour (schedules are not smoothed: a warm-up's ramp is the point)."""
        lines: list[Line] = []
        smooth = self.smoothing if not self.spec.schedule else 0.0
        for i, d in enumerate(self.data):
            if d is None or not d.points:
                continue
            style, label = self.line_styles[i % len(self.line_styles)], self._label(i, d)
            raw = Line.from_chart(d, RAW_UNDER_AVERAGE if smooth else style, label)
            lines.append(raw)
            if smooth:
                y = ema(raw.ylast if d.mean is None else d.mean, d.count, smooth)
                lines.append(Line(raw.x, y, y, y, style, f"{label} EMA"))
        size = self.content_size
        return LineChart(lines, size.width, size.height, log=self.log_scale, y_range=self.y_range,
                         full_range=self.full_range or self.spec.schedule, seconds=self.spec.key in SECONDS,
                         wall_time=self.x_axis is XAxis.TIME,
                         until=max((d.until for d in self.data if d is not None and d.until is not None), default=None))

    def render_line(self, y: int) -> Strip:
        """Textual's line API: strips straight from the chart's runs, built once per change.

        Skipping the Rich console round trip (render, split, crop) halves what a
        chart redraw costs, which is most of what following a live run costs.
        """
        width = self.content_size.width
        key = (self.content_size, self._version, self.visual_style.rich_style)
        if key != self._strips_key:
            self._strips_key, self._strips = key, self._build_strips()
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(width, self.visual_style.rich_style)

    def _build_strips(self) -> list[Strip]:
        base = self.visual_style.rich_style
        width = self.content_size.width
        styles: dict[str, Style] = {}

        def style(name: str) -> Style:
            if name not in styles:
                styles[name] = base + Style.parse(name) if name else base
            return styles[name]

        return [Strip([Segment(text, style(name)) for text, name in row]).adjust_cell_length(width, base)
                for row in self.chart().runs()]

    def _off_scale(self) -> tuple[float | None, float | None]:
        """What the warm-up scaling leaves off the y axis (it does not depend on the panel's size)."""
        if self.y_range is not None:
            return None, None
        chart = self.chart()
        chart.y_limits()
        return chart.off_scale

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
        above, below = self._off_scale()
        if above is not None:
            sub.append(f"▲{fmt_value(self.spec.key, above)} ", "bold yellow")
        if below is not None:
            sub.append(f"▼{fmt_value(self.spec.key, below)} ", "bold yellow")
        if self.log_scale:
            sub.append("log ", "bold")
        if self.x_axis is not XAxis.STEP:
            sub.append("wall time " if self.x_axis is XAxis.TIME else "tokens ", "bold")
        if self.smoothing and not self.spec.schedule:
            sub.append(f"EMA {self.smoothing:g} ", "bold")
        sub.append(self.zoom)
        self.border_subtitle = sub
