"""The run header: name, host, state badge, progress, rate, ETA, age of the last record."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget

from runwatch.model import AlertState, RunSnapshot, RunState, Severity
from runwatch.present import eta_text, fmt_duration, fmt_value, rate_text
from runwatch.text import one_line
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


def shorten_middle(text: str, width: int) -> str:
    """`text` in at most `width` cells, cut in the middle (`nanochat-…-d24`): both ends name a run."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    head = (width - 1 + 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head):]


def run_title(snap: RunSnapshot) -> str | None:
    """The name the run gives itself, where a source says it (W&B's display name)."""
    run = snap.meta.get("run")
    name = run.get("name") if isinstance(run, dict) else None
    return name if isinstance(name, str) and name else None


def header_text(snap: RunSnapshot | None, width: int, *, host: str = "", paused: bool = False,
                run_index: int = 0, run_count: int = 1) -> Text:
    """Two lines: who and where (with the progress bar), then how fast and how long.

    The step count is never cut: a long run name is shortened in the middle and the host dropped
    to make room for it."""
    if snap is None:
        return Text("runwatch · waiting for the first snapshot…", "dim", end="")
    p = snap.progress
    index = f"[{run_index + 1}/{run_count}] " if run_count > 1 else ""
    badge = f" {str(snap.state).upper()} "
    step = ""
    tail = ""
    if p.step is not None:
        step = f"  step {p.step:,}" + (f"/{p.total_steps:,}" if p.total_steps else "")
        if p.total_steps:
            pct = p.percent if p.percent is not None else 100.0 * p.step / p.total_steps  # the snapshot's (a
            # finished run near its total is 100%: RunTracker.snapshot)
            tail = f" {pct:5.1f}%"
    elif snap.state == RunState.WAITING:
        step = "  no step yet"
    fixed = len(index) + 2 + len(badge) + (len(" PAUSED ") + 1 if paused else 0) + len(step) + len(tail)
    room = max(4, width - fixed)
    title = one_line(snap.run)
    own = run_title(snap)
    if own and own != snap.run:  # a W&B run followed as `wandb/` is named by its directory; say its own name
        title = f"{one_line(snap.run)} ({one_line(own)})"
    where = f" @ {host}" if host and len(title) + len(host) + 3 <= room else ""
    top = Text(no_wrap=True, end="", overflow="ellipsis")
    if index:
        top.append(index, "bold")
    top.append(shorten_middle(title, room - len(where)), "bold")
    if where:
        top.append(where, "dim")
    top.append("  ")
    top.append(badge, BADGE_STYLES.get(snap.state, "reverse"))
    if paused:
        top.append(" ")
        top.append(" PAUSED ", "bold black on yellow")
    if snap.unreachable:  # the node does not answer: this is its last known state (the note says since when)
        top.append(" ")
        top.append(" NODE NOT ANSWERING ", "bold white on red")
    if step:
        top.append(step, "dim" if p.step is None else "bold")
    if tail:
        bar_room = width - top.cell_len - len(tail) - 1
        if bar_room >= 8:
            top.append(" ")
            top.append_text(progress_bar(float(tail.strip().rstrip("%")) / 100.0, min(bar_room, 60)))
        top.append(tail)
    return join_lines([top, _second_line(snap, width)])


def _second_line(snap: RunSnapshot, width: int) -> Text:
    """Alerts, rates, ETA, the last record's age and the elapsed time, then the first note. At 80 columns
    they did not fit and `elapsed` was cut to `e…`: the age says `last … ago` and the step rate gives way to
    the token rate before anything is cut (`_fit`)."""
    p = snap.progress
    parts: list[_Part] = []
    firing = [a for a in snap.alerts if a.state == AlertState.FIRING]
    if firing:  # first, so that a narrow terminal never cuts it off
        crit = any(a.severity == Severity.CRITICAL for a in firing)
        parts.append(_Part(f"▲ {len(firing)} firing", "bold red" if crit else "bold yellow"))
    tps = p.tokens_per_sec or snap.metrics.get("tokens_per_sec")
    if p.steps_per_sec:
        parts.append(_Part(rate_text(snap, f"{p.steps_per_sec:.3g} step/s"), "", short="" if tps else None))
    if tps:
        parts.append(_Part(rate_text(snap, f"{fmt_value('tokens_per_sec', tps)} tok/s"), ""))
    eta = eta_text(snap)
    if eta:
        parts.append(_Part(eta, "bold"))
    age = snap.last_record_age_s
    if age is not None:
        stale = snap.state == RunState.STALLED or age > 120
        parts.append(_Part(f"last record {fmt_duration(age)} ago", "bold yellow" if stale else "dim",
                           short=f"last {fmt_duration(age)} ago"))
    if p.elapsed_s is not None:
        parts.append(_Part(f"elapsed {fmt_duration(p.elapsed_s)}", ""))
    shown = _fit(parts, width)
    for note in snap.notes[:1]:
        shown.append(_Part(one_line(note), "italic dim"))
    line = Text(no_wrap=True, end="", overflow="ellipsis")
    for i, part in enumerate(shown):
        if i:
            line.append(" · ", "dim")
        line.append(part.text, part.style)
    return line


@dataclass(frozen=True)
class _Part:
    text: str
    style: str
    short: str | None = None
    """What the part says when the line is too long for the terminal ("" drops it); None keeps it whole."""


def _fit(parts: list[_Part], width: int) -> list[_Part]:
    """`parts` as they are if they fit in `width`, else with their short forms, taken in turn from the last
    part back, until they fit; what still does not fit is cut with an ellipsis by the caller."""
    out = list(parts)

    def length() -> int:
        texts = [p.text for p in out if p.text]
        return sum(map(len, texts)) + 3 * max(0, len(texts) - 1)

    for i in reversed(range(len(out))):
        if length() <= width:
            break
        short = out[i].short
        if short is not None:
            out[i] = _Part(short, out[i].style)
    return [p for p in out if p.text]


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
