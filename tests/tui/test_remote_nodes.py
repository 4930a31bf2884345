"""The TUI on the merged view of two nodes (real engines behind real listeners on 127.0.0.1, in-process):
both nodes' runs shown apart, a silence sent to the node that owns the alert, a node that stops answering
marked in the header and the runs table while the other stays live."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from typing import Any

from textual.pilot import Pilot

from runwatch.commands.nodes import NodeView
from runwatch.model import AlertState
from runwatch.remote.address import parse_node
from runwatch.serve.server import Listener
from runwatch.tui.app import RunwatchApp
from runwatch.tui.screens.runs import RunsScreen
from runwatch.tui.screens.silence import SilenceMenu
from runwatch.tui.widgets.alerts import AlertsPanel
from runwatch.tui.widgets.chart_panel import ChartPanel
from runwatch.tui.widgets.header import RunHeader
from runwatch.tui.widgets.run_list import RunList
from tests.support.tui_pilot import settle, until

DEADLINE_S = 30.0


def alerts_on(lst: Listener) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{lst.url}/api/v1/alerts", timeout=10) as r:
        return json.loads(r.read())  # type: ignore[no-any-return]


def silenced_on(lst: Listener, key: str) -> bool:
    return any(a["key"] == key and a["silenced"] for a in alerts_on(lst))


def header_text(app: RunwatchApp) -> str:
    return app.screen.query_one(RunHeader).render().plain  # type: ignore[union-attr]


def test_two_nodes_in_one_tui_silence_goes_to_the_owner_and_a_dead_node_is_marked(nodes) -> None:  # type: ignore[no-untyped-def]
    (_, one), (_, two) = nodes(2)
    p1, p2 = one.address.port, two.address.port
    view = NodeView([parse_node(f"127.0.0.1:{p}") for p in (p1, p2)], interval=0.2, chart_wait=DEADLINE_S, token="")

    async def scenario(app: RunwatchApp, pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: len(app.snaps) == 2 and all(s.records for s in app.snaps), DEADLINE_S)
        assert [s.run for s in app.snaps] == [f"127.0.0.1:{p1}:train", f"127.0.0.1:{p2}:train"]
        app.dashboard.action_run(1)  # node two's run
        await until(pilot, lambda: f"127.0.0.1:{p2}:train" in header_text(app))
        await settle(pilot, DEADLINE_S)  # its charts drawn from node two's series (the run is read: no new records)
        loss = next(p for p in app.screen.query(ChartPanel) if p.spec.key == "loss")
        assert loss.data and loss.data[0] is not None and loss.data[0].run == f"127.0.0.1:{p2}:train"
        panel = app.screen.query_one(AlertsPanel)
        panel.focus()
        firing = [i for i, a in enumerate(panel.alerts) if a.rule == "nonfinite" and a.state == AlertState.FIRING]
        panel.move_cursor(row=firing[0])
        await pilot.pause()
        chosen = panel.selected
        assert chosen is not None and chosen.key.startswith(f"127.0.0.1:{p2}:")
        await pilot.press("s")
        assert isinstance(app.screen, SilenceMenu)
        await pilot.press("enter")
        key_there = chosen.key.removeprefix(f"127.0.0.1:{p2}:")
        await until(pilot, lambda: silenced_on(two, key_there), DEADLINE_S)
        assert not silenced_on(one, key_there)  # the same alert on the other node stays as it was
        await until(pilot, lambda: any(a.key == chosen.key and a.silenced for a in app.snaps[1].alerts), DEADLINE_S)

        two.stop()  # node two stops answering
        await until(pilot, lambda: "NODE NOT ANSWERING" in header_text(app), DEADLINE_S)
        assert app.snaps[1].progress.step == 595 and not app.snaps[0].unreachable  # last known state; one lives
        prompts = [str(o.prompt) for o in app.screen.query_one(RunList).options]  # type: ignore[attr-defined]
        assert prompts[1].startswith("2 ✕ ") and prompts[0].startswith("1 ● ")
        app.screen.query_one(AlertsPanel).focus()
        said: list[str] = []
        app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign,assignment]
        await pilot.press("a")  # acknowledge on a node that does not answer: said, nothing crashes
        assert said and said[-1].startswith("could not acknowledge nonfinite: ") and app.is_running
        await pilot.press("r")
        assert isinstance(app.screen, RunsScreen)
        await until(pilot, lambda: "✕RUNNING" in _table_text(app) or "✕STALLED" in _table_text(app))

    async def main() -> None:
        with view as controller:
            app = RunwatchApp(controller, refresh_s=0.25, host="viewer", bell=False)
            async with app.run_test(size=(140, 40)) as pilot:
                await scenario(app, pilot)

    asyncio.run(main())


def _table_text(app: RunwatchApp) -> str:
    from textual.widgets import DataTable

    table = app.screen.query_one(DataTable)
    return " ".join(str(c) for row in range(table.row_count) for c in table.get_row_at(row))
