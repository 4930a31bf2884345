"""GPUs and the training process. Snapshots carry only the latest sample, so
the panel keeps a short history per GPU for its sparklines."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np
from rich.text import Text

from runwatch.headless import fmt_duration
from runwatch.model import RunSnapshot
from runwatch.tui.renderables.lines import join_lines
from runwatch.tui.renderables.sparkline import spark_text
from runwatch.tui.widgets.text_panel import TextPanel

HISTORY = 60
SPARK_W = 8


def _gib(b: Any) -> str:
    return f"{float(b) / 2**30:.0f}" if isinstance(b, int | float) else "?"


def _num(v: Any, fmt: str, unit: str) -> str:
    return f"{v:{fmt}}{unit}" if isinstance(v, int | float) else "?"


def gpu_line(g: Mapping[str, Any], util_history: list[float]) -> Text:
    t = Text(no_wrap=True, end="")
    util = g.get("util")
    hot = isinstance(g.get("temp_c"), int | float) and g["temp_c"] >= 85
    t.append(f"GPU{g.get('index', '?')} ", "bold")
    t.append(_num(util, "3.0f", "%"))
    t.append(" ")
    t.append_text(spark_text(np.asarray(util_history or [0.0]), SPARK_W, "green"))
    t.append(f" mem {_gib(g.get('mem_used'))}/{_gib(g.get('mem_total'))}G")
    t.append(f" {_num(g.get('temp_c'), '.0f', '°C')}", "bold red" if hot else "")
    t.append(f" {_num(g.get('power_w'), '.0f', 'W')}")
    return t


def process_line(proc: Mapping[str, Any] | None) -> Text:
    if proc is None:
        return Text("process: not known (pass --pid)", "dim", end="")
    t = Text(no_wrap=True, end="")
    t.append(f"pid {proc.get('pid', '?')} ", "bold")
    state = str(proc.get("state", "?"))
    t.append(state, "bold red" if state in ("exited", "zombie", "dead") else "")
    if isinstance(proc.get("cpu_percent"), int | float):
        t.append(f" cpu {proc['cpu_percent']:.0f}%")
    if isinstance(proc.get("rss_bytes"), int | float):
        t.append(f" rss {proc['rss_bytes'] / 2**30:.1f}G")
    if isinstance(proc.get("uptime_s"), int | float):
        t.append(f" up {fmt_duration(proc['uptime_s'])}")
    return t


class SystemPanel(TextPanel):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("System", id=id)
        self._util: dict[tuple[str, Any], deque[float]] = {}
        self._seen: dict[str, float] = {}

    def show(self, snap: RunSnapshot) -> None:
        if self._seen.get(snap.run) != snap.time:  # one history point per new snapshot
            self._seen[snap.run] = snap.time
            for g in snap.gpus:
                hist = self._util.setdefault((snap.run, g.get("index")), deque(maxlen=HISTORY))
                if isinstance(g.get("util"), int | float):
                    hist.append(float(g["util"]))
        lines = [process_line(snap.process)]
        if not snap.gpus:
            lines.append(Text(f"GPUs: {snap.gpu_status}", "dim", end=""))
        for g in snap.gpus:
            lines.append(gpu_line(g, list(self._util.get((snap.run, g.get("index")), ()))))
        self.show_text(join_lines(lines))
