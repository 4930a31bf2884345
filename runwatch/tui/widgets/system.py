"""GPUs and the training process. Snapshots carry only the latest sample, so
the panel keeps a short history per GPU for its sparklines."""

from __future__ import annotations

from collections import deque

import numpy as np
from rich.text import Text

from runwatch.model import GpuSample, ProcessSample, RunSnapshot
from runwatch.state.system import main_process
from runwatch.tui.renderables.lines import join_lines
from runwatch.tui.renderables.sparkline import spark_text
from runwatch.tui.widgets.text_panel import TextPanel

HISTORY = 60
SPARK_W = 8


def _gib(b: int | None) -> str:
    return "?" if b is None else f"{b / 2**30:.0f}"


def _num(v: float | None, fmt: str, unit: str) -> str:
    return "?" if v is None else f"{v:{fmt}}{unit}"


def gpu_line(g: GpuSample, util_history: list[float]) -> Text:
    t = Text(no_wrap=True, end="")
    hot = g.temp_c is not None and g.temp_c >= 85
    t.append(f"GPU{g.index} ", "bold")
    t.append(_num(g.util, "3.0f", "%"))
    t.append(" ")
    t.append_text(spark_text(np.asarray(util_history or [0.0]), SPARK_W, "green"))
    t.append(f" mem {_gib(g.mem_used)}/{_gib(g.mem_total)}G")
    t.append(f" {_num(g.temp_c, '.0f', '°C')}", "bold red" if hot else "")
    t.append(f" {_num(g.power_w, '.0f', 'W')}")
    return t


def process_line(proc: ProcessSample | None) -> Text:
    if proc is None:
        return Text("process: not known (pass --pid)", "dim", end="")
    t = Text(no_wrap=True, end="")
    t.append(f"pid {proc.pid} ", "bold")
    t.append(str(proc.state), "" if proc.alive else "bold red")
    if proc.cpu_percent is not None:
        t.append(f" cpu {proc.cpu_percent:.0f}%")
    if proc.rss_bytes is not None:
        t.append(f" rss {proc.rss_bytes / 2**30:.1f}G")
    return t


class SystemPanel(TextPanel):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("System", id=id)
        self._util: dict[tuple[str, int], deque[float]] = {}
        self._seen: dict[str, float] = {}

    def show(self, snap: RunSnapshot) -> None:
        if self._seen.get(snap.run) != snap.time:  # one history point per new snapshot
            self._seen[snap.run] = snap.time
            for g in snap.gpus:
                hist = self._util.setdefault((snap.run, g.index), deque(maxlen=HISTORY))
                if g.util is not None:
                    hist.append(g.util)
        lines = [process_line(main_process(snap.processes))]
        if not snap.gpus:
            lines.append(Text(f"GPUs: {snap.gpu_status}", "dim", end=""))
        for g in snap.gpus:
            lines.append(gpu_line(g, list(self._util.get((snap.run, g.index), ()))))
        self.show_text(join_lines(lines))
