"""`c`: one metric across every run — overlaid in one chart, and side by side on a shared y axis."""

from __future__ import annotations

import time

import numpy as np
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.screen import Screen
from textual.widgets import Footer, Static

from runwatch.model import ChartData, Controller, RunSnapshot
from runwatch.tui.plan import PALETTE, ZOOMS, ChartSpec, zoom_label
from runwatch.tui.widgets.chart_panel import ChartPanel
from runwatch.tui.widgets.charts_grid import MAX_HZ


def shared_range(data: list[ChartData | None]) -> tuple[float, float] | None:
    """The finite min and max over all runs, so side-by-side panels read alike."""
    vals = [np.asarray(a, np.float64) for d in data if d is not None for a in (d.ymin, d.ymax)]
    allv = np.concatenate(vals) if vals else np.empty(0)
    allv = allv[np.isfinite(allv)]
    return (float(allv.min()), float(allv.max())) if len(allv) else None


class CompareScreen(Screen[None]):
    DEFAULT_CSS = """
    CompareScreen #title { height: 1; padding: 0 1; background: $panel; }
    CompareScreen #overlay { height: 1fr; }
    CompareScreen #side { height: 1fr; grid-gutter: 0; }
    """
    BINDINGS = [
        Binding("m,right", "metric(1)", "Next metric"),
        Binding("left", "metric(-1)", "Prev metric", show=False),
        Binding("l", "log_scale", "Log"),
        Binding("z", "zoom", "Zoom"),
        Binding("c,escape", "back", "Back"),
    ]

    def __init__(self, controller: Controller, metric: str, snaps: list[RunSnapshot], *,
                 only: set[str] | None = None) -> None:
        super().__init__()
        self.controller = controller
        self.metric = metric
        self.only = set(only) if only else None
        """The runs pinned in the runs table (`r`, space): only they are compared; None: every run."""
        self.snaps = self._kept(snaps)
        self.zoom_i = 0
        self.log_scale = False
        self._fetched: object = None
        self._last_fetch = 0.0
        self._refetch_queued = False

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield ChartPanel(ChartSpec((self.metric,)), id="overlay")
        yield Grid(id="side")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._rebuild()

    def _kept(self, snaps: list[RunSnapshot]) -> list[RunSnapshot]:
        return snaps if self.only is None else [s for s in snaps if s.run in self.only] or snaps

    def follow(self, snaps: list[RunSnapshot], *, paused: bool = False) -> None:
        snaps = self._kept(snaps)
        runs_changed = [s.run for s in snaps] != [s.run for s in self.snaps]
        self.snaps = snaps
        if runs_changed:
            self._rebuild()
        else:
            self._fetch()

    def _rebuild(self) -> None:
        side = self.query_one("#side", Grid)
        side.remove_children()
        side.display = len(self.snaps) > 1  # one run: the overlay is its chart; no second copy beside it
        side.styles.grid_size_columns = max(1, min(len(self.snaps), 4))
        if side.display:
            side.mount_all([ChartPanel(ChartSpec((self.metric,)), styles=(PALETTE[i % len(PALETTE)],))
                            for i in range(len(self.snaps))])
        self._fetched = None
        self.call_after_refresh(self._fetch)

    def _fetch(self) -> None:
        """Refetch when records, metric, zoom or sizes changed; at most `MAX_HZ` times a second."""
        overlay = self.query_one("#overlay", ChartPanel)
        side = list(self.query_one("#side", Grid).query_children(ChartPanel))
        last = ZOOMS[self.zoom_i]
        view = (self.metric, last, self.log_scale, overlay.columns_wanted(), tuple(p.columns_wanted() for p in side))
        key = (view, tuple(s.records for s in self.snaps))
        now = time.monotonic()
        same_view = isinstance(self._fetched, tuple) and self._fetched[0] == view
        if key == self._fetched or (same_view and now - self._last_fetch < 1.0 / MAX_HZ):
            return  # new records within the 4 Hz budget wait for the next refresh tick
        self._fetched, self._last_fetch = key, now
        runs = [s.run for s in self.snaps]
        data = [self.controller.chart(r, self.metric, overlay.columns_wanted(), last_steps=last) for r in runs]
        overlay.spec = ChartSpec((self.metric,) * max(1, len(runs)))
        overlay.labels = tuple(runs)
        overlay.set_log(self.log_scale)
        overlay.set_data(data, zoom=zoom_label(last), width=overlay.columns_wanted())
        shared = shared_range(data)
        for run, panel in zip(runs, side, strict=False):
            panel.labels = (run,)
            panel.y_range = shared
            panel.set_log(self.log_scale)
            width = panel.columns_wanted()
            panel.set_data([self.controller.chart(run, self.metric, width, last_steps=last)],
                           zoom=zoom_label(last), width=width)
        title = Text(no_wrap=True, end="")
        title.append(f"Compare {self.metric}", "bold")
        title.append(f" across {len(runs)} run{'s' * (len(runs) != 1)} · m/←/→ metric · c back", "dim")
        self.query_one("#title", Static).update(title)

    @on(ChartPanel.Resized)
    def _chart_resized(self) -> None:
        if not self._refetch_queued:
            self._refetch_queued = True
            self.call_after_refresh(self._refetch)

    def _refetch(self) -> None:
        self._refetch_queued = False
        self._last_fetch = 0.0
        self._fetch()

    def action_metric(self, delta: int) -> None:
        names = sorted({m for s in self.snaps for m in s.metrics})
        if not names:
            return
        i = names.index(self.metric) if self.metric in names else -delta
        self.metric = names[(i + delta) % len(names)]
        self._rebuild()

    def action_log_scale(self) -> None:
        self.log_scale = not self.log_scale
        self._refetch()

    def action_zoom(self) -> None:
        self.zoom_i = (self.zoom_i + 1) % len(ZOOMS)
        self._refetch()

    def action_back(self) -> None:
        self.app.pop_screen()
