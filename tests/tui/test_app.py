"""Pilot tests: every key and every screen, against a FakeController.

Tests are plain functions that drive the app with `asyncio.run`, so no async
pytest plugin is needed.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest
from rich.console import Console
from textual.containers import VerticalScroll
from textual.pilot import Pilot

from runwatch.alerts.types import Notification
from runwatch.model import AlertState, Notice, Severity, XAxis
from runwatch.text import clip
from runwatch.tui.app import TOAST_TEXT_W, RunwatchApp
from runwatch.tui.screens.compare import CompareScreen
from runwatch.tui.screens.help import HelpScreen
from runwatch.tui.screens.silence import SilenceMenu
from runwatch.tui.widgets.alerts import AlertDetail, AlertsBox, AlertsPanel
from runwatch.tui.widgets.chart_panel import ChartPanel
from runwatch.tui.widgets.filter_input import FilterInput
from runwatch.tui.widgets.header import RunHeader
from runwatch.tui.widgets.log_pane import LogPane
from runwatch.tui.widgets.ranks import RanksPanel
from runwatch.tui.widgets.run_list import RunList
from runwatch.tui.widgets.sparklines import SparklineStrip
from runwatch.tui.widgets.system import SystemPanel
from tests.support.alerts import make_notification
from tests.support.fake_controller import (
    MARKUP_TRAP,
    FakeController,
    canned_alerts,
    canned_runs,
    fired,
    single_run,
    with_alerts,
)
from tests.support.nanochat import step_lines
from tests.support.tui_pilot import settle, until

Scenario = Callable[[RunwatchApp, Pilot[Any]], Awaitable[None]]


def drive(app: RunwatchApp, scenario: Scenario, size: tuple[int, int] = (120, 36), *,
          notifications: bool = False) -> RunwatchApp:
    async def main() -> None:
        async with app.run_test(size=size, notifications=notifications) as pilot:
            await settle(pilot)
            await scenario(app, pilot)

    asyncio.run(main())
    return app


def charts(app: RunwatchApp) -> dict[str, ChartPanel]:
    return {p.spec.key: p for p in app.screen.query(ChartPanel)}


def footer(app: RunwatchApp) -> str:
    """The descriptions of the bindings the footer shows now."""
    return " ".join(b.binding.description for b in app.screen.active_bindings.values() if b.binding.show)


def header(app: RunwatchApp) -> str:
    h = app.screen.query_one(RunHeader)
    return h.render().plain  # type: ignore[union-attr]


def test_run_view_shows_header_charts_panels_and_log(make_app) -> None:  # type: ignore[no-untyped-def]
    async def check(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        text = header(app)
        for want in ("nanochat-d24", "gpu-node-1", "RUNNING", "step 3,200/5,568", "57.5%", "ETA 39m21s",
                     "tok/s", "elapsed", "last record 0.4s ago", "1 firing"):
            assert want in text
        assert set(charts(app)) == {"loss", "lr", "grad_norm", "tokens_per_sec", "mfu"}
        assert charts(app)["loss"].spec.metrics == ("loss", "val_loss")
        sparks = {e.name for e in app.screen.query_one(SparklineStrip).entries}
        assert {"step_time", "lrm", "loss_scale"} <= sparks
        assert "3,196   -4    1.31s slow" in app.screen.query_one(RanksPanel).body_text  # 4 steps behind
        assert "GPU3" in app.screen.query_one(SystemPanel).body_text
        alerts = app.screen.query_one(AlertsPanel)
        assert [a.state for a in alerts.alerts] == [AlertState.FIRING, AlertState.PENDING, AlertState.RESOLVED]
        assert alerts.selected is not None and alerts.selected.rule == "nonfinite"

    drive(make_app(), check)


def test_log_lines_are_plain_text_never_markup(make_app) -> None:  # type: ignore[no-untyped-def]
    async def check(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        assert MARKUP_TRAP in app.screen.query_one(LogPane).body_text
        assert "Traceback" in app.screen.query_one(LogPane).body_text

    drive(make_app(), check)


def test_q_quits_with_exit_code_0(make_app) -> None:  # type: ignore[no-untyped-def]
    async def quit_(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await pilot.press("q")

    app = drive(make_app(), quit_)
    assert app.return_code == 0


def test_p_pauses_following_and_tells_the_controller(make_app) -> None:  # type: ignore[no-untyped-def]
    ctrl = FakeController(live=True)

    async def pause(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await pilot.press("p")
        assert ctrl.calls[-1] == ("set_paused", True)
        assert "PAUSED" in header(app)
        step = app.snaps[0].progress.step
        app.poll()
        assert app.snaps[0].progress.step == step  # frozen while paused
        await pilot.press("p")
        assert ctrl.calls[-1] == ("set_paused", False)
        app.poll()
        assert app.snaps[0].progress.step > step
        assert "PAUSED" not in header(app)

    drive(make_app(ctrl), pause)


def test_help_opens_and_closes_and_b_toggles_the_bell(make_app) -> None:  # type: ignore[no-untyped-def]
    async def helpme(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        assert app.bell_on
        await pilot.press("b")
        assert not app.bell_on

    drive(make_app(bell=True), helpme)


def test_tab_walks_panels_and_brings_lower_ones_into_view_on_a_small_terminal(make_app) -> None:  # type: ignore[no-untyped-def]
    async def walk(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        seen = []
        for _ in range(9):  # five charts and four lower panels (one run: no run list)
            await pilot.press("tab")
            seen.append(app.screen.focused)
        assert {getattr(w, "id", None) for w in seen} >= {"alerts", "ranks", "system", "log"}
        assert sum(isinstance(w, ChartPanel) for w in seen) == 5
        while app.screen.focused is not app.screen.query_one(LogPane):
            await pilot.press("tab")
        log = app.screen.query_one(LogPane)
        assert log.has_class("-active") and log.display and log.region.height > 0
        assert not app.screen.query_one(AlertsPanel).region.height  # one lower panel at a time
        await pilot.press("shift+tab")
        assert app.screen.focused is app.screen.query_one(SystemPanel)
        await settle(pilot)
        assert app.screen.query_one(SystemPanel).region.width > 60  # the whole width, not the 40 beside others

    drive(make_app(single_run()), walk, size=(80, 24))


def test_at_160x48_the_log_shows_whole_lines_under_the_other_panels_sized_to_them(make_app) -> None:  # type: ignore[no-untyped-def]
    """At 160×48 with 8 ranks the log sat beside the alerts, ranks and system with 45 columns for the
    speedrun's step lines of up to 147 (cut unless `w`), and the alerts left 7 empty rows beside the ranks and
    system: the log spans the width under them (a second run's list takes 22 of it), and their row is no
    taller than the tallest needs."""
    real = step_lines()[:20]
    ctrl = FakeController(canned_runs()[:1], log=real)  # the fake's 8-rank run and 3 alerts, the real console

    async def look(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await settle(pilot)
        screen = app.screen
        log, panes = screen.query_one(LogPane), [screen.query_one(w) for w in (AlertsBox, RanksPanel, SystemPanel)]
        assert log.content_size.width >= max(map(len, real))  # every line whole without `w`
        assert len({p.region.y for p in panes}) == 1 and log.region.y >= max(p.region.bottom for p in panes)
        tallest = max(p.rows_wanted() for p in panes)  # type: ignore[attr-defined]
        assert all(p.region.height <= tallest for p in panes)
        assert log.region.height >= 5  # three lines at least

    drive(make_app(ctrl), look, size=(160, 48))


def test_a_run_without_ranks_has_no_ranks_panel_and_tab_skips_it(make_app) -> None:  # type: ignore[no-untyped-def]
    """Issue 13: the Ranks panel spent 38 columns saying "no per-rank records". A single-process run
    (the second fake run) shows no Ranks panel: the system panel has the column, tab goes past it;
    back on the 8-rank run it is there again."""
    async def switch(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        ranks, system = app.screen.query_one(RanksPanel), app.screen.query_one(SystemPanel)
        alerts = app.screen.query_one(AlertsBox)
        assert ranks.display and ranks.region.height
        await pilot.press("2")
        await settle(pilot)
        assert not ranks.display and not ranks.region.height
        assert system.region.y == alerts.region.y and alerts.region.width > 80  # the alerts take its columns
        seen = []
        for _ in range(12):
            await pilot.press("tab")
            seen.append(getattr(app.screen.focused, "id", None))
        assert "ranks" not in seen and {"alerts", "system", "log"} <= set(seen)
        await pilot.press("1")
        await settle(pilot)
        assert ranks.display and ranks.region.height

    drive(make_app(), switch, size=(160, 48))


def test_the_ranks_panel_keeps_its_header_line_in_view(make_app) -> None:  # type: ignore[no-untyped-def]
    """At 160×48 the Ranks panel (a header and 8 ranks in 7 rows) was scrolled down a line, as a log that
    follows its newest line is: the `rank step lag interval` line was out of view. A table stays at its top."""
    async def top(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        ranks = app.screen.query_one(RanksPanel)
        assert ranks.max_scroll_y > 0  # more lines than rows: there is somewhere to scroll to
        assert ranks.scroll_y == 0 and ranks.body_text.split()[:2] == ["rank", "step"]

    drive(make_app(), top, size=(160, 48))


def test_number_keys_and_brackets_switch_runs(make_app) -> None:  # type: ignore[no-untyped-def]
    async def switch(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        assert "[1/2] nanochat-d24" in header(app)
        await pilot.press("2")
        await settle(pilot)
        assert "[2/2] baseline-d20" in header(app)
        assert "FINISHED" in header(app) and "ETA" not in header(app)
        assert "NVML library not found" in app.screen.query_one(SystemPanel).body_text
        await pilot.press("left_square_bracket")
        assert "[1/2]" in header(app)
        await pilot.press("right_square_bracket")
        assert "[2/2]" in header(app)
        await pilot.press("9")  # no such run: stays
        assert "[2/2]" in header(app)

    drive(make_app(), switch)


def test_run_list_highlight_is_not_pulled_back_by_a_refresh(make_app) -> None:  # type: ignore[no-untyped-def]
    async def pick(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        runs = app.screen.query_one(RunList)
        assert runs.display and runs.option_count == 2
        await settle(pilot)  # the list is laid out and filled before keys go to it
        runs.focus()
        await pilot.press("down")
        await pilot.pause(1.2)  # a refresh passes: it must not pull the highlight back
        await pilot.press("enter")
        await until(pilot, lambda: "[2/2] baseline-d20" in header(app))

    drive(make_app(), pick, size=(160, 48))  # the run list takes a column from 140 cells on


def test_slash_filters_metrics_and_escape_clears(make_app) -> None:  # type: ignore[no-untyped-def]
    async def filt(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await pilot.press("slash")
        box = app.screen.query_one(FilterInput)
        assert box.display and box.has_focus
        await pilot.press("g", "r", "a", "d")
        await settle(pilot)
        assert set(charts(app)) == {"grad_norm"}
        assert not app.screen.query_one(SparklineStrip).entries
        await pilot.press("enter")
        assert not box.display
        assert set(charts(app)) == {"grad_norm"}  # enter keeps the filter
        await settle(pilot)
        assert "Show all" in footer(app) and "Filter" not in footer(app)  # a kept filter shows in the footer
        await pilot.press("escape")  # on the dashboard, not in the box: clears it too
        await settle(pilot)
        assert len(charts(app)) == 5
        assert "Show all" not in footer(app) and "Filter" in footer(app)
        await pilot.press("slash", "l", "o", "s", "s", "escape")  # in the box
        await settle(pilot)
        assert len(charts(app)) == 5
        assert not box.display and box.value == ""

    drive(make_app(), filt)


def test_alert_pop_ups_leave_every_pane_in_view(make_app) -> None:  # type: ignore[no-untyped-def]
    """Reviews: two alert pop-ups (Textual's toasts, bottom right, five rows each) covered the Ranks, System
    and Log panes; moved over the Alerts pane, they hid its rows, the alert that fired among them. They now
    sit at the top left of the charts, under the first chart's title, two rows each."""
    from textual.widgets._toast import Toast

    async def pop(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        ctrl = app.controller
        assert isinstance(ctrl, FakeController)
        ctrl.feed.publish(
            make_notification("n1", summary="grad_norm is NaN at step 380 (18 of the 18 steps logged from there on "
                                            "are not finite)"),
            make_notification("n2", rule="straggler", severity=Severity.WARNING, summary="rank 5 is 4 steps behind"))
        app.poll()
        await pilot.pause(0.3)
        toasts = [t.region for t in app.screen.query(Toast)]
        panes = [w.region for cls in (AlertsBox, RanksPanel, SystemPanel, LogPane, SparklineStrip, RunList, RunHeader)
                 for w in app.screen.query(cls) if w.display and w.region.height]
        assert len(toasts) == 2 and len(panes) >= 3
        assert all(t.height == 2 for t in toasts)  # the title and one line
        assert not [(t, p) for t in toasts for p in panes if t.overlaps(p)]
        first = min((p.region for p in app.screen.query(ChartPanel)), key=lambda r: (r.y, r.x))
        assert min(t.y for t in toasts) == first.y + 1  # the chart's title row stays in view

    for size in ((160, 48), (120, 40), (80, 24)):
        drive(make_app(), pop, size=size, notifications=True)


def test_many_alerts_at_once_are_one_pop_up_that_lists_them(make_app) -> None:  # type: ignore[no-untyped-def]
    """A new user's review: a run going NaN fires several rules in one poll, and their pop-ups covered half
    of an 80×24 screen; more than two transitions at once are one pop-up listing them."""
    from textual.widgets._toast import Toast

    from tests.support.alerts import make_notification
    from tests.support.fake_controller import single_run

    ctrl = single_run()

    async def many(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await settle(pilot)
        ctrl.feed.publish(*(make_notification(f"n{i}", rule=r) for i, r in
                            enumerate(("nonfinite", "loss_spike", "grad_explosion", "nonfinite", "stall", "crash"))))
        await pilot.pause(1.5)
        toasts = list(app.screen.query(Toast))
        assert len(toasts) == 1
        text = str(toasts[0].render())
        assert "6 alerts" in text and "loss_spike firing" in text and "… and 2 more" in text
        ctrl.feed.publish(make_notification("n9", rule="stall"), make_notification("n10", rule="crash"))
        await pilot.pause(1.5)
        assert len(list(app.screen.query(Toast))) == 3  # two at once: each its own

    drive(make_app(ctrl), many, size=(80, 24), notifications=True)


def test_alerts_a_history_fires_are_one_pop_up_once_it_is_read(make_app) -> None:  # type: ignore[no-untyped-def]
    """A new user's review: `runwatch tail` on a long log whose history fires alerts showed nine pop-ups at
    once, a toast or a list for each poll the read spanned. What a history fired is one pop-up once it is
    read; those it resolved say nothing on their own (the Alerts panel lists them); live ones pop up."""
    import dataclasses

    from textual.widgets._toast import Toast

    ctrl = single_run()
    ctrl.runs[0].reading_history = True

    def found(nid: str, rule: str, **kw: Any) -> Notification:
        return dataclasses.replace(make_notification(nid, rule=rule, **kw), in_history=True)

    async def read(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        for i, batch in enumerate([("nonfinite", "loss_spike", "grad_norm_spike"), ("nonfinite",), ("straggler",)]):
            ctrl.feed.publish(*(found(f"h{i}{j}", r) for j, r in enumerate(batch)))
            await pilot.pause(1.2)  # a poll or more a piece, as a long history is read
        ctrl.feed.publish(found("h9", "loss_spike", state=AlertState.RESOLVED))
        await pilot.pause(1.2)
        assert list(app.screen.query(Toast)) == []  # nothing while the history is read
        ctrl.runs[0].reading_history = False
        await until(pilot, lambda: bool(list(app.screen.query(Toast))), timeout=5)
        await pilot.pause(1.2)
        [toast] = list(app.screen.query(Toast))
        assert "5 alerts fired in the history; see Alerts" in str(toast.render())
        ctrl.feed.publish(make_notification("live", rule="stall"))
        await until(pilot, lambda: len(list(app.screen.query(Toast))) == 2, timeout=5)

    drive(make_app(ctrl), read, size=(80, 24), notifications=True)


def test_a_kept_filter_leaves_help_in_the_footer_at_80_columns(make_app) -> None:  # type: ignore[no-untyped-def]
    """A review: with a kept filter the 80-column footer was cut at `q Qu`; `/` opens the kept filter again."""
    from textual.widgets._footer import FooterKey

    def shown(app: RunwatchApp) -> list[tuple[str, int]]:
        keys = [k for k in app.screen.query(FooterKey) if k.display]
        return [(k.description, k.region.right) for k in keys]

    async def kept(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("slash", "l", "o", "s", "s", "enter")
        await settle(pilot)
        await pilot.pause(0.1)
        keys = shown(app)
        assert keys[-1][0] == "Help" and keys[-1][1] <= 80, keys
        assert "Show all" in [d for d, _ in keys] and "Filter" not in [d for d, _ in keys]
        await pilot.press("slash")
        box = app.screen.query_one(FilterInput)
        assert box.display and box.has_focus and box.value == "loss"

    drive(make_app(), kept, size=(80, 24))


def test_f_toggles_every_y_axis_between_the_run_and_every_value(make_app) -> None:  # type: ignore[no-untyped-def]
    """The fake run's grad norm starts with warm-up spikes: scaled to the run after them they are
    marked off scale (▲ and the value in the subtitle); `f` scales every chart to every value."""
    async def full(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await settle(pilot)
        grad = charts(app)["grad_norm"]
        assert "▲" in str(grad.border_subtitle) and not grad.full_range
        await pilot.press("f")
        assert all(p.full_range for p in charts(app).values())
        assert "▲" not in str(grad.border_subtitle)
        await pilot.press("f")
        assert not any(p.full_range for p in charts(app).values())

    drive(make_app(), full)


def test_shift_s_cycles_smoothing_on_every_chart_but_schedules(make_app) -> None:  # type: ignore[no-untyped-def]
    """Off → 0.6 → 0.9 → 0.99 → off: each line goes grey under its average (drawn after it, in the
    line's colour), the subtitle says the weight; the learning-rate schedule is left as it is."""
    async def smooth(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await settle(pilot)
        loss = charts(app)["loss"]
        assert len(loss.chart().lines) == len([d for d in loss.data if d is not None])
        for weight in (0.6, 0.9, 0.99):
            await pilot.press("S")
            await settle(pilot)
            assert all(p.smoothing == weight for p in charts(app).values())
            assert f"EMA {weight:g}" in str(loss.border_subtitle)
            assert "EMA" not in str(charts(app)["lr"].border_subtitle)
        drawn = loss.chart().lines
        assert [ln.label for ln in drawn[:2]] == ["loss", "loss EMA"]
        assert drawn[0].style == "bright_black" and drawn[1].style != "bright_black"
        assert len(charts(app)["lr"].chart().lines) == len([d for d in charts(app)["lr"].data if d is not None])
        await pilot.press("S")
        assert not any(p.smoothing for p in charts(app).values())
        assert "EMA" not in str(loss.border_subtitle)

    drive(make_app(), smooth)


def test_x_puts_wall_time_then_tokens_on_every_x_axis_and_back(make_app) -> None:  # type: ignore[no-untyped-def]
    """The fake run hangs 15 minutes after step 2600: with `x`, the charts are fetched by time (each
    column's x a time), their subtitles say `wall time`, the axis counts back to `now`, and the stroke
    is broken across the hang; `x` again: tokens seen (the run logs tokens/s and step time, 524,288
    tokens a step); `x` again: steps."""
    from tests.support.fake_controller import HANG, STEP_S, T0

    async def axis(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await settle(pilot)
        loss = charts(app)["loss"]
        assert loss.data[0] is not None and loss.data[0].x[-1] == 3200
        await pilot.press("x")
        await settle(pilot)
        data = loss.data[0]
        assert data is not None and loss.x_axis is XAxis.TIME and "wall time" in str(loss.border_subtitle)
        end = T0 + 3200 * STEP_S + HANG[1]
        assert data.x[-1] == pytest.approx(end)
        in_hang = (data.x > T0 + HANG[0] * STEP_S + 1) & (data.x < T0 + HANG[0] * STEP_S + HANG[1])
        assert not in_hang.any()
        rows = [str(r) for r in loss.chart().render_rows()]
        assert rows[-1].rstrip().endswith("now") and "-30m" in rows[-1]
        await pilot.press("x")
        await settle(pilot)
        data = loss.data[0]
        assert data is not None and loss.x_axis is XAxis.TOKENS and "tokens" in str(loss.border_subtitle)
        assert data.x[-1] == pytest.approx(524288 * 3201, rel=1e-3)
        assert (np.diff(data.x) > 0).all()
        rows = [str(r) for r in loss.chart().render_rows()]
        assert "G" in rows[-1]  # 1.7G tokens at the right end
        await pilot.press("x")
        await settle(pilot)
        assert loss.x_axis is XAxis.STEP and loss.data[0] is not None and loss.data[0].x[-1] == 3200
        assert "wall time" not in str(loss.border_subtitle) and "tokens" not in str(loss.border_subtitle)

    drive(make_app(), axis, size=(160, 48))


def test_g_charts_every_metric_and_back(make_app) -> None:  # type: ignore[no-untyped-def]
    """The grid: every metric the run logs gets a chart (the key ones first, in their place), the
    sparkline strip goes and its rows go to the charts; `g` again brings the key charts back."""
    async def grid(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await settle(pilot)
        key = list(charts(app))
        strip = app.screen.query_one(SparklineStrip)
        assert len(key) == 5 and strip.display
        await pilot.press("g")
        await settle(pilot)
        every = list(charts(app))
        assert every[:5] == key and {"lrm", "loss_scale", "samples_per_sec", "step_time"} <= set(every)
        assert not strip.display
        await pilot.press("g")
        await settle(pilot)
        assert list(charts(app)) == key and strip.display

    drive(make_app(), grid, size=(160, 48))


def test_the_chart_grid_leaves_no_blank_line_above_the_lower_panels(make_app) -> None:  # type: ignore[no-untyped-def]
    """`g` at 160×48: three rows of 10-row charts in 31 rows left a blank line under them."""
    async def grid(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await pilot.press("g")
        await settle(pilot)
        bottom = max(p.region.bottom for p in app.screen.query(ChartPanel))
        assert bottom == app.screen.query_one("#lower").region.y

    drive(make_app(), grid, size=(160, 48))


def test_a_run_without_console_output_has_no_log_panel(make_app) -> None:  # type: ignore[no-untyped-def]
    """Issue 13: the Log panel was empty for a W&B run. A run with no log line has none (tab skips it,
    the alerts and system panels take its width); the first lines bring it back."""
    ctrl = FakeController(canned_runs()[:1], log=[])

    async def no_log(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await settle(pilot)
        log = app.screen.query_one(LogPane)
        assert not log.region.width
        seen = []
        for _ in range(10):
            await pilot.press("tab")
            seen.append(getattr(app.screen.focused, "id", None))
        assert "log" not in seen and "alerts" in seen
        ctrl.log.extend(["step 1 | loss: 2.5"])
        app.poll()
        await settle(pilot)
        assert log.region.width > 20

    drive(make_app(ctrl), no_log, size=(160, 48))


def test_o_opens_the_runs_overview_and_o_closes_it(make_app) -> None:  # type: ignore[no-untyped-def]
    from runwatch.tui.screens.overview import OverviewScreen
    from tests.support.fake_controller import WANDB_META, with_meta

    async def over(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("o")
        assert isinstance(app.screen, OverviewScreen) and app.screen.snap.run == "nanochat-d24"
        await pilot.press("o")
        assert not isinstance(app.screen, OverviewScreen)
        await pilot.press("o", "escape")
        assert not isinstance(app.screen, OverviewScreen)

    drive(make_app(with_meta(FakeController(), "nanochat-d24", WANDB_META)), over)


def test_slash_searches_the_overview_and_escape_clears_then_closes(make_app) -> None:  # type: ignore[no-untyped-def]
    """The overview of a W&B run is long (config, summary, environment): `/` keeps the rows that hold the
    text, in keys or values, across every section."""
    from textual.widgets import Static

    from runwatch.tui.screens.overview import OverviewScreen
    from tests.support.fake_controller import WANDB_META, with_meta

    def page(app: RunwatchApp) -> str:
        body = app.screen.query_one("#page-body", Static).content
        console = Console(width=100, record=True, color_system=None, file=io.StringIO())
        console.print(body)
        return console.export_text()

    async def search(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("o")
        whole = page(app)
        assert "optimizer.name" in whole and "python" in whole and "tokens_per_sec" in whole
        await pilot.press("slash", "o", "p", "t", "i", "m")
        await pilot.pause()
        found = page(app)
        assert "optimizer.name" in found and "adamw" in found
        assert "python" not in found and "tokens_per_sec" not in found and "Environment" not in found
        await pilot.press("enter")
        assert "optim" in str(app.screen.query_one(VerticalScroll).border_subtitle)
        await pilot.press("escape")  # clears the kept search, the page stays
        assert isinstance(app.screen, OverviewScreen) and "tokens_per_sec" in page(app)
        await pilot.press("escape")
        assert not isinstance(app.screen, OverviewScreen)

    drive(make_app(with_meta(FakeController(), "nanochat-d24", WANDB_META)), search)


def test_l_toggles_log_scale_on_the_focused_chart_or_all(make_app) -> None:  # type: ignore[no-untyped-def]
    async def logs(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await pilot.press("l")
        assert all(p.log_scale for p in charts(app).values())
        assert "log" in str(charts(app)["loss"].border_subtitle)
        await pilot.press("l")
        assert not any(p.log_scale for p in charts(app).values())
        charts(app)["lr"].focus()
        await pilot.press("l")
        assert [k for k, p in charts(app).items() if p.log_scale] == ["lr"]

    drive(make_app(), logs)


def test_z_cycles_the_zoom_window_and_refetches(make_app) -> None:  # type: ignore[no-untyped-def]
    ctrl = FakeController()

    async def zoom(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        for expected in ["last 10k steps", "last 1k steps", "last 100 steps", "all steps"]:
            await pilot.press("z")
            await until(pilot, lambda expected=expected: charts(app)["loss"].zoom == expected)
            await settle(pilot)

    seen: list[float | None] = []
    chart = ctrl.chart

    def spy(run: str, metric: str, width: int, **kw: Any) -> Any:
        seen.append(kw.get("last_steps"))
        return chart(run, metric, width, **kw)

    ctrl.chart = spy  # type: ignore[method-assign]
    drive(make_app(ctrl), zoom)
    assert {10_000, 1_000, 100, None} <= set(seen)


def test_the_selected_alerts_whole_summary_is_under_the_table(make_app) -> None:  # type: ignore[no-untyped-def]
    """Issue 13: at 160 columns the summary column was cut and a horizontal scrollbar took a row. The
    table has no horizontal scrollbar; the line under it holds the selected alert's rule and summary,
    wrapped, and follows the cursor."""
    async def detail(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await settle(pilot)
        table, below = app.screen.query_one(AlertsPanel), app.screen.query_one(AlertDetail)
        assert table.styles.scrollbar_size_horizontal == 0
        first = table.selected
        assert first is not None and below.display
        assert str(below.render()) == f"{first.rule}: {first.summary}"
        table.focus()
        await pilot.press("down")
        await settle(pilot)
        second = table.selected
        assert second is not None and second.key != first.key
        assert str(below.render()) == f"{second.rule}: {second.summary}"

    drive(make_app(), detail, size=(160, 48))


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_the_alert_summary_column_gets_the_width_the_others_leave(make_app, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    """Issue 13: at 160×48 the summary column was cut to 4 characters ("summ", "grad") at the pane's edge,
    the rest off to the side. Every shown column fits in the pane and the summary is the widest of them."""
    async def widths(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        table = app.screen.query_one(AlertsPanel)
        shown = {str(k.value): c.get_render_width(table) for k, c in table.columns.items()}
        assert sum(shown.values()) <= table.size.width - 1  # no sideways scrolling, whether a scrollbar shows or not
        assert shown["summary"] >= 18 and shown["summary"] == max(shown.values())
        assert {"state", "rule", "ago", "summary"} <= shown.keys()
        summaries = [str(table.get_row_at(i)[-1]).strip() for i in range(table.row_count)]
        assert summaries[0].startswith("grad_norm is NaN")

    drive(make_app(), widths, size=size)


def test_an_alerts_pane_with_one_alert_leaves_its_rows_to_the_charts(make_app) -> None:  # type: ignore[no-untyped-def]
    """Issue 13: at 80×24 the Alerts pane took 9 rows whatever it held (two of them empty with three
    alerts). It takes what its alerts need (border, header, rows, the detail line); the charts the rest,
    and it grows again when more alerts fire."""
    one = canned_alerts("nanochat-d24")[1:2]
    ctrl = with_alerts(single_run(), "nanochat-d24", one)

    async def rows(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        box = app.screen.query_one("#alerts-box")
        assert box.region.height <= 5
        assert app.screen.query_one("#charts").region.height >= 14
        ctrl.alerts["nanochat-d24"] = canned_alerts("nanochat-d24")
        await until(pilot, lambda: box.region.height == 7)
        await settle(pilot)
        assert app.screen.query_one(AlertsPanel).row_count == 3
        footer_text = footer(app)
        assert footer_text.endswith("Help")

    drive(make_app(ctrl), rows, size=(80, 24))


def test_an_alerts_pane_too_low_for_its_alerts_says_how_many_are_below(make_app) -> None:  # type: ignore[no-untyped-def]
    """A new user's review of `runwatch demo`: the pane's title said "5 firing" over two rows, and the rest
    looked lost. The title says how many rows are out of view (a scroll away)."""
    from dataclasses import replace

    nan = canned_alerts("nanochat-d24")[1]
    many = tuple(replace(nan, key=f"{nan.key}|k={i}", labels={"rank": i}) for i in range(12))
    ctrl = with_alerts(single_run(), "nanochat-d24", many)

    async def title(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await settle(pilot)
        table = app.screen.query_one(AlertsPanel)
        shown = table.scrollable_content_region.height - table.header_height
        assert 0 < shown < 12
        assert table.border_title == f"Alerts (12 firing) · {12 - shown} out of view"

    drive(make_app(ctrl), title, size=(80, 24))


def test_s_silences_the_selected_alert_for_the_chosen_time(make_app) -> None:  # type: ignore[no-untyped-def]
    ctrl = FakeController()

    async def silence(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        app.screen.query_one(AlertsPanel).focus()
        await pilot.press("down")  # the pending straggler alert
        await pilot.press("s")
        assert isinstance(app.screen, SilenceMenu)
        await pilot.press("down", "enter")  # 1h
        assert not isinstance(app.screen, SilenceMenu)
        await pilot.press("s", "escape")  # cancelled: nothing sent

    drive(make_app(ctrl), silence)
    assert ctrl.calls == [("silence", "straggler|run=nanochat-d24|rank=5", 3600.0,
                           "silenced from the runwatch TUI")]


def test_a_acknowledges_the_selected_alert(make_app) -> None:  # type: ignore[no-untyped-def]
    ctrl = FakeController()

    async def ack(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await pilot.press("a")

    drive(make_app(ctrl), ack)
    assert ctrl.calls == [("acknowledge", "nonfinite|run=nanochat-d24|metric=grad_norm")]


def test_s_and_a_without_alerts_only_say_so(make_app) -> None:  # type: ignore[no-untyped-def]
    ctrl = with_alerts(single_run(), "nanochat-d24", ())

    async def nothing(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await pilot.press("s", "a")
        assert not isinstance(app.screen, SilenceMenu)

    drive(make_app(ctrl), nothing)
    assert ctrl.calls == []


def test_c_compares_one_metric_across_runs(make_app) -> None:  # type: ignore[no-untyped-def]
    async def compare(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        charts(app)["grad_norm"].focus()
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CompareScreen) and screen.metric == "grad_norm"
        side = [p for p in screen.query(ChartPanel) if p.id != "overlay"]
        assert [p.labels for p in side] == [("nanochat-d24",), ("baseline-d20",)]
        assert side[0].y_range == side[1].y_range  # one y axis for both
        overlay = screen.query_one("#overlay", ChartPanel)
        assert overlay.labels == ("nanochat-d24", "baseline-d20") and len(overlay.data) == 2
        await pilot.press("m")
        assert screen.metric == "loss"
        await pilot.press("left")
        assert screen.metric == "grad_norm"
        await pilot.press("right", "right")
        assert screen.metric == "loss_scale"
        await pilot.press("l", "z")
        await settle(pilot)
        assert overlay.log_scale and overlay.zoom == "last 10k steps"
        await pilot.press("c")
        assert not isinstance(app.screen, CompareScreen)
        await pilot.press("c", "escape")
        assert not isinstance(app.screen, CompareScreen)

    drive(make_app(), compare)


def test_the_log_pane_follows_the_newest_line_until_scrolled_up(make_app) -> None:  # type: ignore[no-untyped-def]
    """Issue 13: the log pane showed steps 1001-1007 while the run was at 1199, until End was pressed.
    It stays on the newest line; scrolled up it stays put and counts what came; End follows again."""
    from runwatch.tui.widgets.log_pane import LogPane

    ctrl = single_run(log=[f"line {i}" for i in range(200)])

    async def follows(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        pane = app.screen.query_one(LogPane)
        await until(pilot, lambda: pane.max_scroll_y > 0 and pane.scroll_y == pane.max_scroll_y)
        ctrl.log = ctrl.log + [f"line {i}" for i in range(200, 230)]
        app.poll()
        await until(pilot, lambda: pane.lines[-1] == "line 229" and pane.scroll_y == pane.max_scroll_y)
        pane.focus()
        await pilot.press("home")
        assert not pane.following
        ctrl.log = ctrl.log + ["line 230", "line 231"]
        app.poll()
        await until(pilot, lambda: "↓ 2 new lines" in str(pane.border_subtitle))
        assert pane.scroll_y == 0
        await pilot.press("end")
        await until(pilot, lambda: pane.following and "new line" not in str(pane.border_subtitle))
        await pilot.press("w")
        assert pane.wrap and "wrap" in str(pane.border_subtitle)

    drive(make_app(ctrl), follows)


def test_the_log_pane_stays_on_the_newest_line_when_the_layout_changes(make_app) -> None:  # type: ignore[no-untyped-def]
    """A new user's review: `g` (every chart) gave the log pane another height and it showed older lines,
    the newest hidden below, though nobody had scrolled."""
    from runwatch.tui.widgets.log_pane import LogPane

    ctrl = single_run(log=[f"line {i}" for i in range(200)])

    async def newest(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        pane = app.screen.query_one(LogPane)
        await until(pilot, lambda: pane.max_scroll_y > 0 and pane.scroll_y == pane.max_scroll_y)
        height = pane.size.height
        await pilot.press("g")
        await until(pilot, lambda: pane.size.height != height)
        app.poll()  # the next refresh
        await until(pilot, lambda: pane.following and pane.scroll_y == pane.max_scroll_y)
        await pilot.press("g")
        await until(pilot, lambda: pane.size.height == height)
        app.poll()
        await until(pilot, lambda: pane.scroll_y == pane.max_scroll_y)

    drive(make_app(ctrl), newest, size=(160, 48))  # at 120×36 `g` leaves the log its height (whole chart rows)


def test_compare_with_one_run_draws_its_chart_once(make_app) -> None:  # type: ignore[no-untyped-def]
    """Issue 13: with one run the compare view drew the same chart twice (the overlay and a side panel)."""
    async def once(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        assert [p.id for p in screen.query(ChartPanel)] == ["overlay"]
        assert len(screen.query_one("#overlay", ChartPanel).data) == 1

    drive(make_app(single_run()), once)


@pytest.mark.parametrize(("bell", "silenced", "rings"), [(True, False, 1), (False, False, 0), (True, True, 0)])
def test_bell_rings_once_for_a_new_critical_firing_alert(make_app, bell, silenced, rings) -> None:  # type: ignore[no-untyped-def]
    ctrl = with_alerts(single_run(), "nanochat-d24", ())
    nan_alert = canned_alerts("nanochat-d24")[1]
    assert nan_alert.severity == Severity.CRITICAL
    app = make_app(ctrl, bell=bell)
    rung: list[int] = []
    app.bell = lambda: rung.append(1)
    app._ring(ctrl.snapshots())
    assert not rung
    ctrl.alerts["nanochat-d24"] = (fired(nan_alert, silenced=silenced),)
    app._ring(ctrl.snapshots())
    app._ring(ctrl.snapshots())  # still firing: no second bell
    assert len(rung) == rings


def test_live_run_keeps_updating(make_app) -> None:  # type: ignore[no-untyped-def]
    ctrl = FakeController(live=True, advance=50)

    async def live(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        first = charts(app)["loss"].data[0]
        app.poll()
        await pilot.pause(0.3)  # past the 4 Hz chart throttle
        app.poll()
        await settle(pilot)
        assert charts(app)["loss"].data[0] is not first
        assert charts(app)["loss"].data[0].points > first.points  # type: ignore[union-attr]

    drive(make_app(ctrl, refresh_s=10.0), live)


def test_a_silence_the_controller_refuses_is_reported_not_fatal(make_app) -> None:  # type: ignore[no-untyped-def]
    class NoAlerting(FakeController):
        def silence(self, alert_key: str, duration_s: float, comment: str = "") -> str:
            raise KeyError(alert_key)  # what the engine does when alerting is off

    async def refuse(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await pilot.press("s", "enter")
        assert not isinstance(app.screen, SilenceMenu)
        assert any("could not silence" in n.message for n in app._notifications)

    app = drive(make_app(NoAlerting()), refuse, size=(80, 24))
    assert app.return_code in (None, 0)


def test_alert_notifications_reach_the_tui_through_its_subscription(make_app) -> None:  # type: ignore[no-untyped-def]
    """The engine's notifications were drained by the line printer or not at all: the TUI never saw them."""
    ctrl = FakeController()
    daemon = ctrl.subscribe()  # another front end reading the same feed takes nothing from the TUI

    async def toast(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        ctrl.feed.publish(Notice("logs/train.log", "warning", "rotated"), make_notification("n1"),
                          make_notification("n2", state=AlertState.RESOLVED, severity=Severity.WARNING))
        assert len(daemon.take().items) == 3
        app.poll()
        await settle(pilot)
        toasts = [(n.title, n.severity) for n in app._notifications]
        assert toasts == [("nonfinite firing", "error"), ("nonfinite resolved", "information")]
        assert all(n.message == clip("nanochat-d24: grad_norm is NaN at step 380", TOAST_TEXT_W)  # one line
                   for n in app._notifications)
        app.poll()
        assert len(app._notifications) == 2  # each shown once

    drive(make_app(ctrl, refresh_s=10.0), toast)


def test_a_tick_while_the_screen_is_torn_down_is_skipped_not_fatal(make_app) -> None:  # type: ignore[no-untyped-def]
    """CI once saw the refresh timer fire while the app was exiting and the dashboard
    had already lost its widgets: the tick must pass over such a screen."""
    async def teardown(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await app.screen.query_one(RunHeader).remove()
        app.poll()  # raised NoMatches before the fix
        assert not app.screen.query(RunHeader)
        assert app.screen.query_one(AlertsPanel)  # the screen itself is still there

    drive(make_app(), teardown)


def test_x_skips_tokens_for_a_run_that_logs_none() -> None:
    from runwatch.tui.screens.dashboard import next_x_axis

    assert [next_x_axis(a, True) for a in XAxis] == [XAxis.TIME, XAxis.TOKENS, XAxis.STEP]
    assert [next_x_axis(a, False) for a in XAxis] == [XAxis.TIME, XAxis.STEP, XAxis.STEP]


def test_x_on_a_run_without_tokens_goes_back_to_steps_and_says_why(make_app) -> None:  # type: ignore[no-untyped-def]
    """A new user's review: on a run with no token count `x x` went steps → wall time → steps and
    nothing said why tokens were skipped."""
    ctrl = FakeController()
    for run in ctrl.runs:
        del run.series["tokens_per_sec"]

    async def axis(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("x", "x")
        await settle(pilot)
        assert charts(app)["loss"].x_axis is XAxis.STEP
        assert any("no token count" in n.message for n in app._notifications)

    drive(make_app(ctrl), axis, size=(160, 48))


def test_a_run_over_before_its_first_step_says_so_where_its_charts_would_be(make_app) -> None:  # type: ignore[no-untyped-def]
    """A new user's try in tmux: two NCCL ranks on one GPU crashed before any step; under the CRASHED badge the
    charts said "no metrics yet: waiting for the first step record", as if more could come."""
    from textual.widgets import Static

    from runwatch.model import RunState
    from tests.support.fake_controller import FakeRun

    def notes(app: RunwatchApp) -> list[str]:
        return [str(w.render()) for w in app.screen.query(Static) if w.has_class("empty-note")]

    async def main(app: RunwatchApp) -> None:
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: notes(app))
            assert notes(app) == ["no metrics yet: waiting for the first step record"]
            run.state = RunState.CRASHED  # it died before its first step: the note changes with the badge
            await until(pilot, lambda: notes(app) == ["no metrics to chart: the run crashed before it logged any"])

    run = FakeRun("dupgpu", 0, seed=1)
    run.series.clear()
    asyncio.run(main(make_app(FakeController([run]))))


def test_with_no_chart_the_alerts_pane_has_the_rows_the_charts_would_take(make_app) -> None:  # type: ignore[no-untyped-def]
    """A review at 160×48 in tmux: a torchrun job crashed before its first step, two alerts firing; the pane
    showed one row (`1 out of view`) under 29 blank rows where charts would be: the panels below had 30% of the
    screen. With no chart they may take all but the note's three rows, as many as they need (here eight alerts)."""
    from dataclasses import replace

    from runwatch.model import RunState
    from tests.support.fake_controller import FakeRun

    nan = canned_alerts("nanochat-d24")[1]
    said = ("a worker process failed on rank 3: RuntimeError: Expected all tensors to be on the same device, but found"
            " at least two devices, cpu and cuda:3! (when checking argument for argument mat1 in method wrapper_CUDA_addmm);"
            " applications/train.py FAILED; root cause rank 3 (local_rank 3); exitcode 1 (pid 434249); on gcn04")
    two = (replace(nan, key="crash|run=dupgpu", rule="crash", labels={"event": "child_failed"}, summary=said),
           replace(nan, key="process_exit|run=dupgpu", rule="process_exit", labels={}, summary="pid 14568 gone"),
           *(replace(nan, key=f"crash|run=dupgpu|rank={r}", rule="crash", labels={"rank": r}, summary=said)
             for r in range(6)))  # eight firing: more rows than 30% of the screen
    run = FakeRun("dupgpu", 0, seed=1, state=RunState.CRASHED)
    run.series.clear()
    ctrl = with_alerts(FakeController([run]), "dupgpu", two)

    async def main(app: RunwatchApp) -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: app.screen.query(AlertsPanel) and "firing" in str(
                app.screen.query_one(AlertsPanel).border_title))
            await pilot.pause(0.3)
            table = app.screen.query_one(AlertsPanel)
            assert table.border_title == "Alerts (8 firing)", table.border_title
            assert table.scrollable_content_region.height - table.header_height >= 8

    asyncio.run(main(make_app(ctrl)))
