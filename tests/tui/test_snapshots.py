"""SVG snapshots of the TUI at 80×24 and 160×48, fed by canned snapshots.

Update after a deliberate change with `pytest tests/tui --snapshot-update`, then
look at the SVGs (tests/tui/__snapshots__/) before committing them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

pytest.importorskip("pytest_textual_snapshot", reason="pytest-textual-snapshot (the test extra) is not installed")

from runwatch.tui.app import RunwatchApp
from tests.support.fake_controller import FakeController, single_run
from tests.support.tui_pilot import settle

SIZES = {"80x24": (80, 24), "160x48": (160, 48)}


def presses(*keys: str) -> Callable[[Pilot[Any]], Any]:
    async def before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        if keys:
            await pilot.press(*keys)
            await settle(pilot)

    return before


@pytest.mark.parametrize("size", SIZES)
def test_run_view(snap_compare, make_app, size: str) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=SIZES[size], run_before=presses())


def test_run_view_single_run_log_scale_and_log_pane_80x24(snap_compare, make_app) -> None:  # type: ignore[no-untyped-def]
    # One run (no run list), every chart in log scale, the log pane brought up with tab.
    app: RunwatchApp = make_app(single_run())
    assert snap_compare(app, terminal_size=(80, 24), run_before=presses("l", *["tab"] * 9))


def test_compare_view_160x48(snap_compare, make_app) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(160, 48), run_before=presses("c"))


def test_help_80x24(snap_compare, make_app) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=presses("question_mark"))


def test_silence_menu_80x24(snap_compare, make_app) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(FakeController()), terminal_size=(80, 24), run_before=presses("s"))


def test_run_view_smoothed_160x48(snap_compare, make_app) -> None:  # type: ignore[no-untyped-def]
    """`S` twice: EMA 0.9 over each line in grey; the learning-rate schedule as it is."""
    assert snap_compare(make_app(), terminal_size=(160, 48), run_before=presses("S", "S"))


@pytest.mark.parametrize("size", SIZES)
def test_run_view_wall_time_across_a_hang(snap_compare, make_app, size: str) -> None:  # type: ignore[no-untyped-def]
    """`x`: the x axis is wall time, counted back from the newest point; the fake run's 15-minute hang
    after step 2600 is a hole in every chart (on the step axis it is nothing)."""
    assert snap_compare(make_app(), terminal_size=SIZES[size], run_before=presses("x"))


def test_run_view_tokens_axis_80x24(snap_compare, make_app) -> None:  # type: ignore[no-untyped-def]
    """`x` twice: tokens seen on the x axis (the fake run: 524,288 tokens a step, from its tokens/s and
    step time), each chart's subtitle says so."""
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=presses("x", "x"))


def test_every_metric_grid_160x48(snap_compare, make_app) -> None:  # type: ignore[no-untyped-def]
    """`g`: a chart for every metric the run logs, the key ones first, no sparklines."""
    assert snap_compare(make_app(), terminal_size=(160, 48), run_before=presses("g"))


def test_run_without_console_160x48(snap_compare, make_app) -> None:  # type: ignore[no-untyped-def]
    """A run with no log line (a W&B run whose file holds no console output): no Log panel."""
    app = make_app(FakeController(single_run().runs, log=[]))
    assert snap_compare(app, terminal_size=(160, 48), run_before=presses())


@pytest.mark.parametrize("size", SIZES)
def test_overview_of_a_w_and_b_run(snap_compare, make_app, size: str) -> None:  # type: ignore[no-untyped-def]
    """`o` on a run whose W&B file gave its name, id, project, config and summary."""
    from tests.support.fake_controller import WANDB_META, with_meta

    app = make_app(with_meta(single_run(), "nanochat-d24", WANDB_META))
    assert snap_compare(app, terminal_size=SIZES[size], run_before=presses("o"))


@pytest.mark.parametrize("size", SIZES)
def test_runs_table_with_three_runs(snap_compare, make_app, size: str) -> None:  # type: ignore[no-untyped-def]
    """`r`: running, finished and crashed runs side by side, the first pinned for compare."""
    from runwatch.model import RunState
    from tests.support.fake_controller import FakeRun, canned_runs

    ctrl = FakeController([*canned_runs(), FakeRun("sweep-lr3e-3", 900, seed=3, state=RunState.CRASHED)])
    assert snap_compare(make_app(ctrl), terminal_size=SIZES[size], run_before=presses("r", "space"))
