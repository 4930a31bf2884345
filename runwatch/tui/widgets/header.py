"""The run header: name, host, state badge, progress, rate, ETA, age of the last record."""

from __future__ import annotations

from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget

from runwatch.headless import fmt_duration, fmt_value
from runwatch.model import AlertState, RunSnapshot, RunState, Severity
from runwatch.tui.renderables.lines import join_lines

BADGE_STYLES = {
    RunState.WAITING: "bold black on white",
    RunState.RUNNING: "bold black on green",
    RunState.STALLED: "bold black on yellow",
    RunState.FINISHED: "bold white on blue",
    RunState.CRASHED: "bold white on red",
    RunState.ENDED: "bold white on grey37",
}


def progress_bar(fraction: float, width: int) -> Text:
    """A bar of `width` cells in half-cell steps (━ and ╸), readable in 16 colours."""
    fraction = min(1.0, max(0.0, fraction))
    halves = round(fraction * width * 2)
    full, half = divmod(halves, 2)
    bar = Text(no_wrap=True, end="")
    bar.append("━" * full + ("╸" if half else ""), "green")
    bar.append("━" * (width - full - half), "bright_black")
    return bar


def header_text(snap: RunSnapshot | None, width: int, *, host: str = "", paused: bool = False,
                run_index: int = 0, run_count: int = 1) -> Text:
    """Two lines: who and where (with the progress bar), then how fast and how long."""
    if snap is None:
        return Text("runwatch · waiting for the first snapshot…", "dim", end="")
    p = snap.progress
    top = Text(no_wrap=True, end="", overflow="ellipsis")
    if run_count > 1:
        top.append(f"[{run_index + 1}/{run_count}] ", "bold")
    top.append(snap.run, "bold")
    if host:
        top.append(f" @ {host}", "dim")
    top.append("  ")
    top.append(f" {str(snap.state).upper()} ", BADGE_STYLES.get(snap.state, "reverse"))
    if paused:
        top.append(" ")
        top.append(" PAUSED ", "bold black on yellow")
    if p.step is not None:
        step = f"  step {p.step:,}" + (f"/{p.total_steps:,}" if p.total_steps else "")
        top.append(step, "bold")
        if p.total_steps:
            pct = p.percent if p.percent is not None else 100.0 * p.step / p.total_steps
            tail = f" {pct:5.1f}%"
            room = width - top.cell_len - len(tail) - 1
            if room >= 8:
                top.append(" ")
                top.append_text(progress_bar(pct / 100.0, min(room, 60)))
            top.append(tail)
    elif snap.state == RunState.WAITING:
        top.append("  no step yet", "dim")
    return join_lines([top, _second_line(snap)])


def _second_line(snap: RunSnapshot) -> Text:
    p = snap.progress
    parts: list[tuple[str, str]] = []
    firing = [a for a in snap.alerts if a.state == AlertState.FIRING]
    if firing:  # first, so that a narrow terminal never cuts it off
        crit = any(a.severity == Severity.CRITICAL for a in firing)
        parts.append((f"▲ {len(firing)} firing", "bold red" if crit else "bold yellow"))
    if p.steps_per_sec:
        parts.append((f"{p.steps_per_sec:.3g} step/s", ""))
    tps = p.tokens_per_sec or snap.metrics.get("tokens_per_sec")
    if tps:
        parts.append((f"{fmt_value('tokens_per_sec', tps)} tok/s", ""))
    if p.total_steps and snap.state not in (RunState.FINISHED, RunState.CRASHED, RunState.ENDED):
        parts.append((f"ETA {fmt_duration(p.eta_s)}", "bold"))
    age = snap.last_record_age_s
    if age is not None:
        stale = snap.state == RunState.STALLED or age > 120
        parts.append((f"last record {fmt_duration(age)} ago", "bold yellow" if stale else "dim"))
    if p.elapsed_s is not None:
        parts.append((f"elapsed {fmt_duration(p.elapsed_s)}", ""))
    for note in snap.notes[:1]:
        parts.append((note, "italic dim"))
    line = Text(no_wrap=True, end="", overflow="ellipsis")
    for i, (s, style) in enumerate(parts):
        if i:
            line.append(" · ", "dim")
        line.append(s, style)
    return line


class RunHeader(Widget):
    """Redraws from the latest snapshot; width-aware, so the bar fills what is left."""

    DEFAULT_CSS = """
    RunHeader { height: 2; padding: 0 1; background: $panel; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, *, host: str = "", id: str | None = None) -> None:
        super().__init__(id=id)
        self.host = host
        self.snapshot: RunSnapshot | None = None
        self.paused = False
        self.run_index = 0
        self.run_count = 1

    def show(self, snap: RunSnapshot | None, *, paused: bool, run_index: int, run_count: int) -> None:
        self.snapshot, self.paused = snap, paused
        self.run_index, self.run_count = run_index, run_count
        self.refresh()

    def render(self) -> RenderResult:
        return header_text(self.snapshot, self.content_size.width, host=self.host, paused=self.paused,
                           run_index=self.run_index, run_count=self.run_count)
