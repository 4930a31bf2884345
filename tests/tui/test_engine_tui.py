"""The TUI over the real engine (not the fake): what it draws from real ChartData and snapshots."""

from __future__ import annotations

import asyncio
from pathlib import Path

from runwatch.engine import Engine, EngineOptions
from runwatch.tui.app import RunwatchApp
from runwatch.tui.widgets.chart_panel import ChartPanel
from runwatch.tui.widgets.header import RunHeader
from runwatch.tui.widgets.log_pane import LogPane
from tests.support.tui_pilot import settle
from tests.support.waiting import wait_for

FAST = EngineOptions(poll_interval=0.1, system=False, gpu=False)


def nanochat_line(i: int, total: int = 500) -> str:
    loss = "nan" if i == 120 else f"{6 - 3 * i / total:.6f}"
    return (f"step {i:05d}/{total:05d} ({100 * i / total:.2f}%) | loss: {loss} | lrm: 1.00 | dt: 650.00ms | "
            f"tok/sec: 806,131 | mfu: 50.38 | epoch: 1 | total time: {i / 90:.2f}m\n")


def test_tui_over_the_engine_draws_its_chart_data_and_marks_the_nan(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.write_text("".join(nanochat_line(i) for i in range(300)))
    with Engine([str(log)], FAST) as engine:
        wait_for(lambda: engine.snapshots() and engine.snapshots()[0].progress.step == 299)
        app = RunwatchApp(engine, host="node", bell=False)

        async def main() -> None:
            async with app.run_test(size=(120, 36)) as pilot:
                await settle(pilot)
                header = app.screen.query_one(RunHeader).render().plain  # type: ignore[union-attr]
                assert "train" in header and "step 299/500" in header
                loss = next(p for p in app.screen.query(ChartPanel) if p.spec.key == "loss")
                assert loss.data[0] is not None and loss.data[0].points == 300
                assert "1 NaN/Inf" in str(loss.border_subtitle)
                assert "×" in "".join(r.plain for r in loss.chart().render_rows())
                assert "loss: nan" in app.screen.query_one(LogPane).body_text
                await pilot.press("p")
                assert app.paused
                await pilot.press("q")

        asyncio.run(main())
    assert app.return_code == 0
