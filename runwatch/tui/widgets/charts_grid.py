"""The grid of chart panels: which panels exist, how they are laid out, and their data.

It fetches through a `ChartFetcher` (the controller's `chart` method) at most
`MAX_HZ` times a second, and only when something that changes the picture
changed: new records, the zoom, the filter or a panel's width.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from rich.text import Text
from textual.containers import VerticalScroll
from textual.timer import Timer
from textual.widgets import Static

from runwatch.model import ChartData, XAxis
from runwatch.tui.plan import ChartSpec
from runwatch.tui.renderables.smoothing import WEIGHTS
from runwatch.tui.widgets.chart_panel import ChartPanel

ChartFetcher = Callable[..., ChartData | None]
MAX_HZ = 4.0
MIN_ROW_H = 8


def grid_shape(n: int, width: int, height: int) -> tuple[int, int, int]:
    """(columns, row height, rows visible without scrolling) for `n` charts in width × height."""
    cols = 1 if width < 60 else 2 if width < 120 else 3 if width < 200 else 4
    cols = max(1, min(cols, n))
    rows = max(1, math.ceil(n / cols))
    visible = max(1, min(rows, height // MIN_ROW_H))
    return cols, max(MIN_ROW_H, height // visible), visible


class ChartsGrid(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    ChartsGrid { layout: grid; grid-size: 2; grid-gutter: 0; height: 1fr; scrollbar-size-vertical: 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.specs: list[ChartSpec] = []
        self.log_keys: set[str] = set()
        self.full_range = False
        """Panels mounted later (a new metric, another run) keep the `f` choice…"""
        self.smoothing = 0.0
        """…and the `S` one."""
        self.x_axis = XAxis.STEP
        """What x counts (the `x` key): asked of the fetcher."""
        self._fetched_key: object = None
        self._empty = ""
        """The note shown where no spec has a chart: a new one replaces it (a run that crashed meanwhile)."""
        self._last_fetch = 0.0
        self._pending: Timer | None = None
        self._latest: tuple[ChartFetcher, str, object, float | None, str] | None = None
        self._clock = time.monotonic

    @property
    def panels(self) -> list[ChartPanel]:
        return list(self.query_children(ChartPanel))

    def sync(self, specs: list[ChartSpec], *, empty: str = "no metrics yet") -> bool:
        """Mount a panel per spec (or a note saying why there is none); True if the set changed."""
        if specs == self.specs and self.children and (specs or empty == self._empty):
            return False
        self.specs, self._empty = list(specs), empty
        self.remove_children()
        if specs:
            panels = [ChartPanel(s, log=s.key in self.log_keys) for s in specs]
            for panel in panels:
                panel.full_range = self.full_range
                panel.smoothing = self.smoothing
            self.mount_all(panels)
        else:
            note = Static(Text(empty, "dim"), classes="empty-note")
            note.styles.column_span = 4
            self.mount(note)
        self._fetched_key = None
        return True

    def shape(self, width: int, height: int) -> None:
        cols, row_h, visible = grid_shape(len(self.specs) or 1, width, height)
        self.styles.grid_size_columns = cols
        self.styles.grid_rows = str(row_h)
        # Whole rows only: the rows' remainder (31 rows for three 10-row charts) was a blank line under them;
        # the panels below take it.
        self.styles.height = row_h * visible if self.specs else height
        panels = self.panels
        for i, p in enumerate(panels):  # the last chart widens to fill its row
            p.styles.column_span = cols - len(panels) % cols + 1 if i == len(panels) - 1 else 1

    def toggle_log(self, panel: ChartPanel | None) -> None:
        """Log scale on `panel`, or on every panel (all follow the first) when None."""
        targets = [panel] if panel is not None else self.panels
        if not targets:
            return
        on = not targets[0].log_scale
        for p in targets:
            p.set_log(on)
            (self.log_keys.add if on else self.log_keys.discard)(p.spec.key)

    def toggle_full_range(self) -> None:
        """Every panel's y axis to every value (warm-up included), or back to the run after warm-up."""
        on = self.full_range = not self.full_range
        for p in self.panels:
            p.set_full_range(on)

    def cycle_smoothing(self) -> float:
        """Every panel's smoothing to the next of `WEIGHTS` (off, 0.6, 0.9, 0.99, off …); the new weight."""
        i = WEIGHTS.index(self.smoothing) if self.smoothing in WEIGHTS else 0
        self.smoothing = WEIGHTS[(i + 1) % len(WEIGHTS)]
        for p in self.panels:
            p.set_smoothing(self.smoothing)
        return self.smoothing

    def fetch(self, fetcher: ChartFetcher, run: str, version: object, last_steps: float | None,
              zoom: str) -> None:
        """Refresh the panels' data unless nothing changed.

        New records redraw at most `MAX_HZ` times a second; a change the person
        made (zoom, filter, run, terminal size) redraws at once.
        """
        panels = self.panels
        if not panels or any(p.content_size.width == 0 for p in panels):
            return  # not laid out yet: the screen fetches again after the first refresh
        widths = tuple(p.columns_wanted() for p in panels)
        view = (run, last_steps, widths, tuple(self.specs), self.x_axis)
        if self.x_axis is XAxis.TIME:  # the axis runs to now: a silent run's charts move on each second
            version = (version, int(self._clock()))
        key = (view, version)
        if key == self._fetched_key:
            return
        same_view = isinstance(self._fetched_key, tuple) and self._fetched_key[0] == view
        wait = self._last_fetch + 1.0 / MAX_HZ - self._clock()
        if same_view and wait > 0:
            self._latest = (fetcher, run, version, last_steps, zoom)
            if self._pending is None:
                self._pending = self.set_timer(wait, self._deferred)
            return
        self._fetched_key = key
        self._last_fetch = self._clock()
        for panel, width in zip(panels, widths, strict=True):
            data = [fetcher(run, m, width, last_steps=last_steps, x=self.x_axis) for m in panel.spec.metrics]
            panel.set_data(data, zoom=zoom, width=width, x_axis=self.x_axis)

    def _deferred(self) -> None:
        """The throttled fetch, with the newest arguments asked for meanwhile."""
        self._pending = None
        if self._latest is not None:
            args, self._latest = self._latest, None
            self.fetch(*args)
