"""The run view: header, charts, sparklines, alerts, ranks, system and log of one run.

On a small terminal (under 120×34) the lower panels share one slot and `tab`
brings each in turn. On a wide one the alerts, ranks and system sit side by
side, as tall as the tallest needs, and the log spans the width under them:
beside them it had what the three left (45 columns of a 160-column terminal;
a nanochat step line is 132), and the alerts left empty rows beside the
ranks and the system. Either way `tab` walks the same panels, so the keys
behave alike at every size.
"""

from __future__ import annotations

import numpy as np
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input

from runwatch.model import Controller, RunSnapshot, RunState, XAxis, knows_tokens
from runwatch.tui.plan import ZOOMS, plan_charts, zoom_label
from runwatch.tui.screens.silence import SilenceMenu
from runwatch.tui.widgets.alerts import AlertsBox, AlertsPanel
from runwatch.tui.widgets.chart_panel import ChartPanel
from runwatch.tui.widgets.charts_grid import ChartsGrid
from runwatch.tui.widgets.filter_input import FilterInput
from runwatch.tui.widgets.header import RunHeader
from runwatch.tui.widgets.log_pane import LogPane
from runwatch.tui.widgets.ranks import RanksPanel
from runwatch.tui.widgets.run_list import RUN_LIST_W, RunList
from runwatch.tui.widgets.sparklines import SparkEntry, SparklineStrip, spark_width
from runwatch.tui.widgets.system import SystemPanel

LOG_LINES = 200
COMPACT_W, COMPACT_H = 120, 30
"""Below this width (beside the run list) or height, the lower panels share one slot."""
RUN_LIST_MIN_W = 140
"""The run list takes a column only on wide terminals; elsewhere 1-9 and [ ] switch runs."""
LOWER_MIN = 5
"""The lower panels' fewest rows: one alert (border, header, row, detail)."""
LOG_MIN = 8
"""Under the other panels a Log panel is given this many rows when the screen has them..."""
LOG_FEWEST = 5
"""...and never fewer than these (three lines): the ranks scroll first."""
NOTE_ROWS = 3
"""The rows the charts' place keeps where there is no chart, only the note saying why: a crash before the first
step left two alerts' pane one row (`1 out of view`) under 29 blank ones (a review, 160×48)."""


def next_x_axis(axis: XAxis, tokens: bool) -> XAxis:
    """The `x` key's cycle: step → wall time → tokens (only when the run logs them) → step."""
    if axis is XAxis.STEP:
        return XAxis.TIME
    return XAxis.TOKENS if axis is XAxis.TIME and tokens else XAxis.STEP


def _no_charts(snap: RunSnapshot, needle: str) -> str:
    """Why there is no chart: the filter matches none, the run is over with no metric (a launch that died before
    its first step: "waiting for the first step record" under a CRASHED badge), or none came yet."""
    if needle and snap.metrics:
        return f"no metric matches {needle!r} (escape clears the filter)"
    if snap.state in (RunState.CRASHED, RunState.ENDED, RunState.FINISHED):
        return f"no metrics to chart: the run {snap.state.value} before it logged any"
    return "no metrics yet: waiting for the first step record"


class DashboardScreen(Screen[None]):
    BINDINGS = [
        Binding("tab", "panel(1)", "Panels", priority=True),
        Binding("shift+tab", "panel(-1)", "Prev panel", show=False, priority=True),
        Binding("slash", "filter", "Filter"),
        Binding("slash", "filter_again", "Filter", show=False),
        Binding("escape", "clear_filter", "Show all"),
        Binding("l", "log_scale", "Log", show=False),
        Binding("f", "full_range", "Full range", show=False),
        Binding("S", "smoothing", "Smooth", show=False),
        Binding("x", "x_axis", "X axis", show=False),
        Binding("g", "every_metric", "Grid", show=False),
        Binding("o", "overview", "Overview", show=False),
        Binding("r", "runs", "Runs", show=False),
        Binding("z", "zoom", "Zoom"),
        Binding("s", "silence", "Silence"),
        Binding("a", "acknowledge", "Ack"),
        Binding("c", "compare", "Compare"),
        Binding("left_square_bracket", "step_run(-1)", "Prev run", show=False),
        Binding("right_square_bracket", "step_run(1)", "Next run", show=False),
        *(Binding(str(n), f"run({n - 1})", f"Run {n}", show=False) for n in range(1, 10)),
    ]

    def __init__(self, controller: Controller, *, host: str = "") -> None:
        super().__init__()
        self.controller = controller
        self.host = host
        self.snaps: list[RunSnapshot] = []
        self.current = 0
        self.zoom_i = 0
        self.pinned: set[str] = set()
        """Runs pinned in the runs table (`r`, space): the compare view overlays only these."""
        self.every_metric = False
        """A chart for every metric (the `g` grid) rather than the key ones and sparklines."""
        self.needle = ""
        self.paused = False
        self.active_lower = "alerts-box"
        self._refetch_queued = False
        self._lower_h = 0
        """The lower panels' rows at the last layout: laid out again only when what they need changes."""

    def compose(self) -> ComposeResult:
        yield RunHeader(host=self.host, id="header")
        with Horizontal(id="body"):
            yield RunList(id="runs")
            with Vertical(id="main"):
                yield ChartsGrid(id="charts")
                yield SparklineStrip(id="sparks")
                with Vertical(id="lower"):
                    with Horizontal(id="panes"):
                        yield AlertsBox(id="alerts-box")
                        yield RanksPanel(id="ranks")
                        yield SystemPanel(id="system")
                    yield LogPane(id="log")
        yield FilterInput(id="filter")
        yield Footer(compact=True)

    # -- following snapshots -----------------------------------------------------------

    @property
    def snap(self) -> RunSnapshot | None:
        return self.snaps[self.current] if self.snaps else None

    def follow(self, snaps: list[RunSnapshot], *, paused: bool = False) -> None:
        """Show the newest snapshots (the app calls this on every refresh tick)."""
        self.snaps, self.paused = snaps, paused
        self.current = min(self.current, max(0, len(snaps) - 1))
        snap = self.snap
        self.query_one(RunHeader).show(snap, paused=paused, run_index=self.current, run_count=len(snaps))
        runs = self.query_one(RunList)
        runs.display = len(snaps) > 1 and self.size.width >= RUN_LIST_MIN_W
        runs.show(snaps, self.current)
        if snap is None:
            return
        self.query_one(AlertsBox).show(snap.alerts, snap.time)
        ranks = self.query_one(RanksPanel)
        if ranks.has_class("-none") == bool(snap.ranks):  # a single process has no ranks: the others share the row
            ranks.set_class(not snap.ranks, "-none")  # a class, as the small terminal's one slot hides it too
            if not snap.ranks and self.active_lower == "ranks":
                self._show_lower("system")
        ranks.show(snap)
        self.query_one(SystemPanel).show(snap)
        log = self.query_one(LogPane)
        if not paused or log.run != snap.run:  # paused: the log stays still too
            lines = self.controller.log_tail(snap.run, LOG_LINES)
            log.show(lines, run=snap.run)
            if log.has_class("-empty") == bool(lines):  # a run with no console (a W&B run without its output)
                log.set_class(not lines, "-empty")  # has no Log panel (CSS: its class outranks the compact rules)
                if not lines and self.active_lower == "log":
                    self._show_lower("alerts-box")
        self._fit_lower()
        self._charts(snap)

    def on_screen_resume(self) -> None:
        """Back from compare or a modal: catch up with what the app polled meanwhile."""
        snaps = getattr(self.app, "snaps", None)
        if snaps:
            self.follow(snaps, paused=getattr(self.app, "paused", False))

    def _charts(self, snap: RunSnapshot) -> None:
        grid = self.query_one(ChartsGrid)
        specs, spark_metrics = plan_charts(snap.metrics, self.needle, every=self.every_metric)
        why = _no_charts(snap, self.needle)
        strip = self.query_one(SparklineStrip)
        spark_rows = not self.every_metric  # the grid has a chart for each: the strip's rows go to them
        if grid.sync(specs, empty=why) or strip.display != spark_rows:
            strip.display = spark_rows
            self._relayout()
        last = ZOOMS[self.zoom_i]
        grid.fetch(self.controller.chart, snap.run, snap.records, last, zoom_label(last))
        main_w = self.query_one("#main").size.width
        if not main_w:
            return  # not laid out yet; the charts' first resize fetches again
        width = spark_width(main_w - 2)  # the strip spans #main, less its padding
        key = (snap.run, snap.records, last, width, tuple(spark_metrics))
        if key == strip.fetched:
            return
        entries = []
        for m in spark_metrics:
            data = self.controller.chart(snap.run, m, width, last_steps=last)
            values = data.ylast if data is not None else np.empty(0)
            entries.append(SparkEntry(m, values, float(snap.metrics[m])))
        strip.set_entries(entries, max_rows=2 if self._compact else 3, width=width)
        strip.fetched = key

    def _charts_later(self) -> None:
        """Fetch again once panels have their (new) size."""
        self._refetch_queued = False
        if self.snap is not None:
            self._charts(self.snap)

    # -- layout --------------------------------------------------------------------------

    @property
    def _compact(self) -> bool:
        w, h = self.size
        beside = w - (RUN_LIST_W if len(self.snaps) > 1 and w >= RUN_LIST_MIN_W else 0)
        return beside < COMPACT_W or h < COMPACT_H

    def on_resize(self) -> None:
        self._relayout()
        self._keep_ends()

    @on(ChartPanel.Resized)
    def _chart_resized(self) -> None:
        if not self._refetch_queued:  # panels resize together: fetch once for all of them
            self._refetch_queued = True
            self.call_after_refresh(self._charts_later)

    def _lower_rows(self) -> int:
        """Rows for the lower panels: what they need, up to 30% of the screen (what they always had). A
        pane sized for content it did not have took half of 80×24 for 1-2 alerts, from the charts. On a
        small terminal the panel shown needs them (the log: all it may have); on a wide one the tallest of
        the alerts, the ranks and the system, and `LOG_MIN` for a log under them."""
        cap = max(9, int(self.size.height * 0.3))
        if not self.query_one(ChartsGrid).specs:  # no chart, a note in its place: the panels have its rows
            cap = max(cap, self.size.height - NOTE_ROWS - 2 - 1)
        alerts = self.query_one(AlertsBox).rows_wanted()
        ranks, system = self.query_one(RanksPanel), self.query_one(SystemPanel)
        wanted = {"alerts-box": alerts, "ranks": ranks.rows_wanted(), "system": system.rows_wanted()}
        if self._compact:
            need = wanted.get(self.active_lower, cap)
        else:
            need = self._panes_rows() + (0 if self.query_one(LogPane).has_class("-empty") else LOG_MIN)
        return min(cap, max(LOWER_MIN, need))

    def _panes_rows(self) -> int:
        """What the row of alerts, ranks and system needs on a wide terminal: the tallest of them."""
        ranks = self.query_one(RanksPanel)
        return max(self.query_one(AlertsBox).rows_wanted(), 0 if ranks.has_class("-none") else ranks.rows_wanted(),
                   self.query_one(SystemPanel).rows_wanted())

    def _size_panes(self, compact: bool, lower_h: int) -> None:
        """On a wide terminal the row of alerts, ranks and system is as tall as they need, less what keeps
        the log under it `LOG_FEWEST` rows; the log has the rest. Without a log, or in the small terminal's
        one slot, the row takes it all."""
        panes = self.query_one("#panes")
        if compact or self.query_one(LogPane).has_class("-empty"):
            panes.styles.height = "1fr"
        else:
            panes.styles.height = max(LOWER_MIN, min(self._panes_rows(), lower_h - LOG_FEWEST))
        self.call_after_refresh(self._place_pop_ups)

    def _place_pop_ups(self) -> None:
        """Alert pop-ups sit at the top left of the charts, under the first chart's title: over the first
        steps of the run, which matter least while it runs (a chart's right edge is now). Over the Alerts
        pane (bottom left) they hid the table's rows, the alert that fired among them (a new user's review);
        Textual's place, bottom right, covered Ranks, System and Log."""
        charts = self.query_one(ChartsGrid).region
        for rack in self.query("#textual-toastrack"):
            rack.styles.dock, rack.styles.align = "top", ("left", "top")
            rack.styles.margin = (charts.y + 1, 0, 0, charts.x + 1)

    def _fit_lower(self) -> None:
        """Lay out again if the lower panels need other rows (new alerts, another panel tabbed in)."""
        if self._lower_rows() != self._lower_h:
            self._relayout()

    def _relayout(self) -> None:
        w, h = self.size
        compact = self._compact
        self.set_class(compact, "-compact")
        lower_h = self._lower_h = self._lower_rows()
        self._size_panes(compact, lower_h)
        sparks_h = 0 if not self.query_one(SparklineStrip).display else 2 if compact else 3
        grid = self.query_one(ChartsGrid)
        charts_h = max(8 if grid.specs else NOTE_ROWS, h - 2 - 1 - sparks_h - lower_h)
        runs = self.query_one(RunList)
        runs.display = len(self.snaps) > 1 and w >= RUN_LIST_MIN_W
        grid.shape(w - (RUN_LIST_W if runs.display else 0), charts_h)
        self._show_lower(self.active_lower)

    def _lower_panels(self) -> list[Widget]:
        """The lower panels in tab order; the Ranks panel only while it is shown (a run with ranks)."""
        ranks = self.query_one(RanksPanel)
        log = self.query_one(LogPane)
        return [self.query_one(AlertsBox), *([] if ranks.has_class("-none") else [ranks]), self.query_one(SystemPanel),
                *([] if log.has_class("-empty") else [log])]

    def _show_lower(self, panel_id: str) -> None:
        """Mark the lower panel a small terminal shows (and its column), in the CSS's `-active`."""
        self.active_lower = panel_id
        for panel in self._lower_panels():
            panel.set_class(panel.id == panel_id, "-active")
        self.query_one("#panes").set_class(panel_id != "log", "-active")

    # -- panels and runs ---------------------------------------------------------------

    def _panels(self) -> list[Widget]:
        runs = self.query_one(RunList)
        chain: list[Widget] = [runs] if runs.display else []
        chain += self.query_one(ChartsGrid).panels
        return chain + self._lower_panels()

    def action_panel(self, delta: int) -> None:
        """Focus the next panel, bringing a lower one into view first on a small terminal."""
        chain = self._panels()
        if not chain:
            return
        focused = self.focused
        index = next((i for i, w in enumerate(chain) if focused is not None and
                      (focused is w or w in focused.ancestors)), -1 if delta > 0 else 0)
        target = chain[(index + delta) % len(chain)]
        if target in self._lower_panels():
            self._show_lower(target.id or "")
            self._fit_lower()
        target.focus()

    def action_run(self, index: int) -> None:
        if 0 <= index < len(self.snaps) and index != self.current:
            self.current = index
            self.follow(self.snaps, paused=self.paused)
        elif index >= len(self.snaps):
            self.notify(f"there is no run {index + 1}", severity="warning", timeout=2)

    def action_step_run(self, delta: int) -> None:
        if self.snaps:
            self.action_run((self.current + delta) % len(self.snaps))

    @on(RunList.RunChosen)
    def _run_chosen(self, event: RunList.RunChosen) -> None:
        self.action_run(event.index)

    # -- charts ------------------------------------------------------------------------

    def action_log_scale(self) -> None:
        focused = self.focused
        self.query_one(ChartsGrid).toggle_log(focused if isinstance(focused, ChartPanel) else None)

    def action_full_range(self) -> None:
        self.query_one(ChartsGrid).toggle_full_range()

    def action_every_metric(self) -> None:
        """Every metric as a chart, the grid scrolling as it must (tab walks them), or back."""
        self.every_metric = not self.every_metric
        if self.snap is not None:
            self._charts(self.snap)
        self._keep_ends()

    def _keep_ends(self) -> None:
        """Once the panels have their new heights, the log shows its newest line again if it follows it."""
        self.call_after_refresh(self._panels_to_end)

    def _panels_to_end(self) -> None:
        for panel in self.query(LogPane):
            panel.keep_end()

    def action_x_axis(self) -> None:
        """Steps, wall time, then tokens seen (for a run that logs them) along every chart's x axis; each
        chart's subtitle says `wall time` or `tokens`."""
        grid = self.query_one(ChartsGrid)
        tokens = self.snap is not None and knows_tokens(self.snap.metrics)
        was, grid.x_axis = grid.x_axis, next_x_axis(grid.x_axis, tokens)
        if was is XAxis.TIME and not tokens:
            self.notify("no token count or tokens/s and step time in this run: back to steps", timeout=3)
        if self.snap is not None:
            self._charts(self.snap)

    def action_smoothing(self) -> None:
        self.query_one(ChartsGrid).cycle_smoothing()  # each chart's subtitle says the weight

    def action_zoom(self) -> None:
        self.zoom_i = (self.zoom_i + 1) % len(ZOOMS)
        self.notify(zoom_label(ZOOMS[self.zoom_i]), timeout=1.5)
        if self.snap is not None:
            self._charts(self.snap)

    def action_filter(self) -> None:
        box = self.query_one(FilterInput)
        box.display = True
        box.focus()

    def action_filter_again(self) -> None:
        """`/` while a filter is kept: the same box, with the kept text (its footer entry gives way to `esc`)."""
        self.action_filter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While a filter is kept, the footer says `esc Show all` in place of `/ Filter`: that is the filter's
        indicator, and at 80 columns the footer still ends with `? Help` (`/` still opens the box)."""
        if action in ("clear_filter", "filter_again"):
            return bool(self.needle)
        if action == "filter":
            return not self.needle
        return True

    def action_clear_filter(self) -> None:
        """Escape on the dashboard clears a kept filter (in the box, the box's own escape does)."""
        self._filter_cancelled()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.needle = event.value
        self.refresh_bindings()
        if self.snap is not None:
            self._charts(self.snap)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(FilterInput).display = False
        panels = self.query_one(ChartsGrid).panels
        if panels:
            panels[0].focus()

    @on(FilterInput.Cancelled)
    def _filter_cancelled(self) -> None:
        self.needle = ""
        self.query_one(FilterInput).value = ""
        self.refresh_bindings()
        self._filter_done()
        if self.snap is not None:
            self._charts(self.snap)

    def action_runs(self) -> None:
        from runwatch.tui.screens.runs import RunsScreen

        self.app.push_screen(RunsScreen(self.snaps, self.pinned, self.action_run))

    def action_overview(self) -> None:
        from runwatch.tui.screens.overview import OverviewScreen

        if self.snap is not None:
            self.app.push_screen(OverviewScreen(self.snap, host=self.host))

    def action_compare(self) -> None:
        from runwatch.tui.screens.compare import CompareScreen

        focused = self.focused
        metric = focused.spec.key if isinstance(focused, ChartPanel) else None
        if metric is None:
            panels = self.query_one(ChartsGrid).panels
            metric = panels[0].spec.key if panels else "loss"
        self.app.push_screen(CompareScreen(self.controller, metric, self.snaps, only=self.pinned))

    # -- alerts ------------------------------------------------------------------------

    def action_silence(self) -> None:
        alert = self.query_one(AlertsPanel).selected
        if alert is None:
            self.notify("no alert to silence", severity="warning", timeout=2)
            return

        def chosen(seconds: float | None) -> None:
            if seconds is None:
                return
            try:
                ident = self.controller.silence(alert.key, seconds, "silenced from the runwatch TUI")
            except (KeyError, ValueError, OSError) as e:  # no alerting, unknown alert, state dir unwritable
                self.notify(f"could not silence {alert.rule}: {e}", severity="error", timeout=5)
                return
            self.notify(f"silenced {alert.rule} for {_human(seconds)} ({ident})", timeout=3)

        self.app.push_screen(SilenceMenu(alert), chosen)

    def action_acknowledge(self) -> None:
        alert = self.query_one(AlertsPanel).selected
        if alert is None:
            self.notify("no alert to acknowledge", severity="warning", timeout=2)
            return
        try:
            self.controller.acknowledge(alert.key)
        except (KeyError, OSError) as e:  # its node does not know it (any more), or does not answer
            self.notify(f"could not acknowledge {alert.rule}: {e}", severity="error", timeout=5)
            return
        self.notify(f"acknowledged {alert.rule}", timeout=2)


def _human(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:.0f}s"
