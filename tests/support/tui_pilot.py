"""Waiting on a Textual app under a Pilot: until a condition holds, until its charts are drawn."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from runwatch.tui.app import RunwatchApp
from runwatch.tui.screens.compare import CompareScreen
from runwatch.tui.screens.dashboard import DashboardScreen
from runwatch.tui.widgets.chart_panel import ChartPanel
from runwatch.tui.widgets.sparklines import SparklineStrip, spark_width


def charts_settled(app: RunwatchApp) -> bool:
    """Every chart panel on screen holds data fetched for its current width."""
    panels = list(app.screen.query(ChartPanel))
    if not panels:  # a modal on top, or a filter that matches nothing; but not before the first poll
        return bool(app.snaps) and not isinstance(app.screen, DashboardScreen | CompareScreen)
    strips = [s for s in app.screen.query(SparklineStrip) if s.display]
    return all(p.data and p.data_width == p.columns_wanted() for p in panels) and all(
        s.data_width == spark_width(s.content_size.width) for s in strips)


async def until(pilot: Pilot[Any], cond: Any, timeout: float = 5.0) -> None:
    """Let the app run until `cond()` holds (messages are handled asynchronously)."""
    waited = 0.0
    await pilot.pause()
    while not cond():
        if waited > timeout:
            raise AssertionError(f"condition not met within {timeout}s on {pilot.app.screen}")
        await pilot.pause(0.02)
        waited += 0.02


async def settle(pilot: Pilot[Any], timeout: float = 5.0) -> None:
    """Let the app poll, lay out and fetch chart data for its final sizes."""
    waited = 0.0
    await pilot.pause()
    while not charts_settled(pilot.app):  # type: ignore[arg-type]
        if waited > timeout:
            raise AssertionError(f"charts did not settle within {timeout}s on {pilot.app.screen}")
        await pilot.pause(0.02)
        waited += 0.02
    await pilot.pause()
