"""Sparklines for the metrics that do not get a chart of their own."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget

from runwatch.present import fmt_value
from runwatch.tui.renderables.lines import join_lines
from runwatch.tui.renderables.sparkline import spark_text

CELL = 34
"""Cells per entry: name, sparkline and last value."""
NAME_W = 15
"""Room for a metric's name: `samples_per_sec` and `tokens_per_sec` whole (at 12 they were `samples_per…`)."""
VALUE_W = 9


@dataclass(frozen=True, slots=True)
class SparkEntry:
    name: str
    values: np.ndarray
    last: float


def spark_width(total_width: int) -> int:
    """Sparkline columns per entry at this strip width (what to ask the engine for)."""
    return spark_width_in(_cell(total_width))


def spark_width_in(cell: int) -> int:
    return max(4, cell - NAME_W - VALUE_W - 4)


def _cell(total_width: int) -> int:
    cols = max(1, total_width // CELL)
    return max(CELL, total_width // cols) if total_width >= CELL else total_width


def sparks_text(entries: list[SparkEntry], width: int, rows: int) -> Text:
    """Entries laid out in columns of `CELL` cells, `rows` lines; overflow is counted."""
    cell = _cell(width)
    per_row = max(1, width // cell)
    room = per_row * rows
    shown = entries if len(entries) <= room else entries[: room - 1]
    lines: list[Text] = []
    for r in range(rows):
        line = Text(no_wrap=True, end="")
        for e in shown[r * per_row:(r + 1) * per_row]:
            line.append_text(_entry(e, cell))
        if r == rows - 1 and len(shown) < len(entries):
            line.append(f"+{len(entries) - len(shown)} more (/ to filter)", "dim")
        lines.append(line)
    return join_lines(lines)


def _entry(e: SparkEntry, cell: int) -> Text:
    sw = spark_width_in(cell)
    t = Text(no_wrap=True, end="")
    name = e.name if len(e.name) <= NAME_W else e.name[: NAME_W - 1] + "…"
    t.append(name.ljust(NAME_W) + " ", "bold")
    spark = spark_text(e.values, sw)
    t.append(" " * (sw - spark.cell_len))
    t.append_text(spark)
    value = fmt_value(e.name, e.last)
    value = value if len(value) <= VALUE_W else value[: VALUE_W - 1] + "…"
    # beside its sparkline, then the gap: right-aligned, a short value (lrm's `1`) sat against the next name
    t.append(" " + value.ljust(VALUE_W) + "  ", "bold red" if not math.isfinite(e.last) else "")
    return t


class SparklineStrip(Widget):
    """A few lines of sparklines; its height follows how many entries there are."""

    DEFAULT_CSS = """
    SparklineStrip { height: auto; max-height: 3; padding: 0 1; text-wrap: nowrap; text-overflow: clip; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entries: list[SparkEntry] = []
        self.max_rows = 3
        self.data_width = 0
        self.fetched: object = None
        """What the entries were fetched for (the screen's key), so an unchanged run is not refetched."""

    def set_entries(self, entries: list[SparkEntry], *, max_rows: int, width: int = 0) -> None:
        """New values (fetched `width` columns wide); a layout pass only when the shape changes."""
        relayout = len(entries) != len(self.entries) or max_rows != self.max_rows
        self.entries, self.max_rows, self.data_width = entries, max_rows, width
        if relayout:
            self.display = bool(entries)
            self.styles.max_height = max_rows
        self.refresh(layout=relayout)

    def rows_needed(self, width: int) -> int:
        per_row = max(1, width // _cell(max(1, width)))
        return min(self.max_rows, max(1, -(-len(self.entries) // per_row)))

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[no-untyped-def]
        return self.rows_needed(width)

    def render(self) -> RenderResult:
        w = self.content_size.width
        return sparks_text(self.entries, w, self.rows_needed(w))
