"""The runs table (`r`): a row per run, open, pin for compare, sort."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable

from runwatch.model import RunState
from runwatch.tui.app import RunwatchApp
from runwatch.tui.screens.compare import CompareScreen
from runwatch.tui.screens.runs import RunsScreen
from tests.support.fake_controller import FakeController, FakeRun, canned_runs
from tests.support.tui_pilot import settle
from tests.tui.test_app import drive


def three_runs() -> FakeController:
    return FakeController([*canned_runs(), FakeRun("sweep-lr3e-3", 900, seed=3, state=RunState.CRASHED)])


def rows(screen: RunsScreen) -> list[list[str]]:
    table = screen.query_one(DataTable)
    return [[str(c).strip() for c in table.get_row_at(i)] for i in range(table.row_count)]


async def open_table(app: RunwatchApp, pilot: Pilot[Any]) -> RunsScreen:
    await settle(pilot)
    await pilot.press("r")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, RunsScreen)
    return screen


def test_r_lists_every_run_and_enter_opens_the_highlighted_one(make_app) -> None:  # type: ignore[no-untyped-def]
    async def table(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        got = rows(await open_table(app, pilot))
        assert [r[1] for r in got] == ["nanochat-d24", "baseline-d20", "sweep-lr3e-3"]
        assert got[0][2:4] == ["RUNNING", "3,200/5,568"] and got[0][7] == "nonfinite"
        assert got[1][2] == "FINISHED" and got[2][2] == "CRASHED" and got[2][3] == "900/5,568"
        assert got[0][4] and got[0][5].endswith("tok/s") and got[0][6]
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, RunsScreen)
        assert app.dashboard.current == 2

    drive(make_app(three_runs()), table, size=(160, 48))


def test_space_pins_runs_and_compare_overlays_only_those(make_app) -> None:  # type: ignore[no-untyped-def]
    async def pin(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("r", "space", "down", "down", "space")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        assert [r[0] for r in rows(screen)] == ["●", "", "●"]
        await pilot.press("escape", "c")
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        assert [s.run for s in app.screen.snaps] == ["nanochat-d24", "sweep-lr3e-3"]
        app.poll()  # the app's next snapshots keep to the pinned runs
        assert [s.run for s in app.screen.snaps] == ["nanochat-d24", "sweep-lr3e-3"]

    drive(make_app(three_runs()), pin, size=(160, 48))


def test_a_header_sorts_by_its_column_and_again_the_other_way(make_app) -> None:  # type: ignore[no-untyped-def]
    async def sort(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        screen = await open_table(app, pilot)
        table = screen.query_one(DataTable)
        column = next(c for c in table.columns.values() if c.key.value == "step")
        for expected in (["sweep-lr3e-3", "nanochat-d24", "baseline-d20"],
                         ["baseline-d20", "nanochat-d24", "sweep-lr3e-3"]):
            table.post_message(DataTable.HeaderSelected(table, column.key, table.get_column_index("step"),
                                                        column.label))
            await settle(pilot)
            assert [r[1] for r in rows(screen)] == expected

    drive(make_app(three_runs()), sort, size=(160, 48))


def test_a_directory_of_runs_opens_on_the_runs_table(make_app) -> None:  # type: ignore[no-untyped-def]
    """`runs_first` (the CLI sets it when a PATH is a directory): more than one run opens the table;
    escape goes to the run view. Without it, or with one run, the run view comes first."""
    async def first(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen)
        assert [r[1] for r in rows(app.screen)] == ["nanochat-d24", "baseline-d20", "sweep-lr3e-3"]
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.dashboard
        await settle(pilot)  # later polls leave the person where they went
        assert app.screen is app.dashboard

    drive(make_app(three_runs(), runs_first=True), first, size=(160, 48))

    async def run_view(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await settle(pilot)
        assert app.screen is app.dashboard

    drive(make_app(three_runs()), run_view, size=(160, 48))
    drive(make_app(FakeController([FakeRun("only-run", 900, seed=3)]), runs_first=True), run_view, size=(160, 48))


def test_at_80_columns_the_alerts_stay_on_screen_and_long_names_shorten_in_the_middle(make_app) -> None:  # type: ignore[no-untyped-def]
    """At 80×24 the table scrolled sideways and hid the ETA and alerts columns behind the rate."""
    ctrl = FakeController([*canned_runs(), FakeRun("sweep-lr3e-3-warmup-500-seed-7", 900, seed=3,
                                                   state=RunState.CRASHED)])

    async def narrow(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        screen = await open_table(app, pilot)
        table = screen.query_one(DataTable)
        assert [str(c.label) for c in table.columns.values()] == ["", "run", "state", "step", "loss", "ETA", "alerts"]
        assert table.virtual_size.width <= table.scrollable_content_region.width  # no sideways scrolling
        got = rows(screen)
        assert got[0][6] == "nonfinite" and got[2][1].startswith("sweep-") and got[2][1].endswith("seed-7")
        assert "…" in got[2][1]
        await pilot.resize_terminal(160, 48)
        await settle(pilot)
        assert [str(c.label) for c in table.columns.values()][5] == "rate"  # room again: every column
        assert rows(screen)[2][1] == "sweep-lr3e-3-warmup-500-seed-7"

    drive(make_app(ctrl), narrow, size=(80, 24))


def test_the_runs_table_is_as_tall_and_wide_as_its_runs(make_app) -> None:  # type: ignore[no-untyped-def]
    """Issue 13: three runs sat in a box the size of the screen (160×48), 40 empty rows and 70 empty
    columns framed. The box ends under the last run and after the last column."""
    async def size(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        table = (await open_table(app, pilot)).query_one(DataTable)
        assert table.region.height == 2 + 1 + 3  # border, header, three runs
        assert table.region.width <= table.virtual_size.width + 3  # border and the vertical scrollbar's column

    drive(make_app(three_runs()), size, size=(160, 48))
