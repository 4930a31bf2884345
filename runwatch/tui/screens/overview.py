"""`o`: one run on a page — what it is and where it runs, what it was told (config), where it stands
(summary and last values), what went wrong (alerts), in that order.

The charts answer "how is it going"; this answers the questions a person asks
before and after: which run is this, with which settings, on which machine.
Everything comes from the run's snapshot: its W&B metadata (run name, id,
project, host, config, summary, environment) where a source carried it, and
what runwatch itself knows (sources, format, progress, processes, GPUs, alerts).
Text from a log or a run file goes through `one_line`: no control sequence of
theirs reaches the terminal.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.binding import Binding

from runwatch.model import AlertState, Event, Kind, Record, RunSnapshot
from runwatch.present import eta_text, fmt_duration, fmt_value, iso_utc
from runwatch.text import clip, one_line
from runwatch.tui.screens.page import PageScreen
from runwatch.tui.widgets.alerts import row_style, sort_alerts

VALUE_CHARS = 70
"""A config or summary value longer than this is cut (a whole JSON document helps nobody here)."""


def _section(title: str, rows: list[tuple[str, str]] | list[tuple[str, Text]], *, note: str = "") -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(overflow="fold")
    heading = Text(title, "bold underline")
    if note:
        heading.append(f"  {note}", "dim")
    table.add_row(heading, "")
    for key, value in rows:
        table.add_row(Text(one_line(key)), value if isinstance(value, Text) else Text(one_line(value)))
    return table


def flat(mapping: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Nested settings as dotted keys (`optimizer.lr`), in key order; W&B's `{"value": v}` wrappers unwrapped."""
    for key in sorted(mapping, key=str):
        value = mapping[key]
        if isinstance(value, Mapping) and set(value) <= {"value", "desc"} and "value" in value:
            value = value["value"]
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from flat(value, name + ".")
        else:
            yield name, value


def _text(value: Any) -> str:
    return clip(one_line(str(value)), VALUE_CHARS)


def overview(snap: RunSnapshot, *, host: str = "") -> Group:
    """The page for `snap`, as Rich renderables (pure: tested without a terminal)."""
    meta = snap.meta
    run_meta = meta.get("run") if isinstance(meta.get("run"), Mapping) else {}
    assert isinstance(run_meta, Mapping)
    p = snap.progress
    rows: list[tuple[str, str]] = [("run", snap.run)]
    for key, label in (("name", "W&B name"), ("id", "W&B id"), ("project", "project"), ("entity", "entity")):
        if run_meta.get(key):
            rows.append((label, _text(run_meta[key])))
    rows.append(("state", str(snap.state)))
    rows.append(("host", _text(run_meta.get("host") or host or "?")))
    rows.append(("sources", snap.source))
    if snap.format:
        rows.append(("format", snap.format))
    if p.step is not None:
        total = f" of {p.total_steps:,}" if p.total_steps else ""
        rows.append(("step", f"{p.step:,}{total}" + (f" ({p.percent:.1f}%)" if p.percent is not None else "")))
    if p.elapsed_s is not None:
        rows.append(("runtime", fmt_duration(p.elapsed_s)))
        rows.append(("started", iso_utc(snap.time - p.elapsed_s)))
    eta = eta_text(snap)
    if eta is not None:
        rows.append(("ETA", eta[4:]))
    if snap.last_record_age_s is not None:
        rows.append(("last record", f"{fmt_duration(snap.last_record_age_s)} ago"))
    for proc in snap.processes:
        rows.append((f"process {proc.pid}", f"{proc.name} ({proc.state})" + (
            f" rank {proc.rank}" if proc.rank is not None else "")))
    restarts = [e for e in snap.events if e.event == Event.RESTARTED]
    if restarts:
        last = restarts[-1]
        where = f", the last at step {last.step}" + (f" (line {last.line:,})" if last.line else "")
        rows.append(("restarts", f"{len(restarts)}{where}: the charts show the newest attempt"))
    if snap.gpus:
        names = sorted({g.name for g in snap.gpus if g.name})
        rows.append(("GPUs", f"{len(snap.gpus)}" + (f" × {', '.join(names)}" if names else "")))
    parts: list[RenderableType] = [_section("Run", rows)]
    config = meta.get("config")
    if isinstance(config, Mapping) and config:
        parts.append(_section("Config", [(k, _text(v)) for k, v in flat(config)], note="from the W&B run"))
    summary = meta.get("summary")
    if isinstance(summary, Mapping) and summary:
        parts.append(_section("Summary", [(k, _text(v)) for k, v in flat(summary) if not k.startswith("_")],
                              note="from the W&B run"))
    saved = _checkpoints(snap.events)
    if saved is not None:
        parts.append(saved)
    if snap.metrics:
        parts.append(_section("Last values", [(k, fmt_value(k, v)) for k, v in sorted(snap.metrics.items())]))
    env = meta.get("environment")
    if isinstance(env, Mapping) and env:
        parts.append(_section("Environment", [(k, _text(v)) for k, v in flat(env)]))
    alerts = sort_alerts(snap.alerts)
    parts.append(_section("Alerts", [
        (f"{a.rule} ({a.state})", Text(one_line(a.summary) + ("" if a.step is None else f" · step {a.step}"),
                                       row_style(a)))
        for a in alerts] or [("none", "no rule has fired")],
        note=f"{sum(a.state == AlertState.FIRING for a in alerts)} firing" if alerts else ""))
    if snap.notes:
        parts.append(_section("Notes", [(str(i + 1), n) for i, n in enumerate(snap.notes)]))
    spaced: list[RenderableType] = []
    for part in parts:
        spaced += [part, Text("")]
    return Group(*spaced[:-1])


CHECKPOINTS_SHOWN = 5


def _checkpoints(events: tuple[Record, ...]) -> Table | None:
    """The newest checkpoints: those a followed checkpoint directory holds (size, files, write time) and
    those the log says it saved, newest first; None when the run has shown none."""
    saved = [e for e in events if e.kind == Kind.CHECKPOINT or e.event == Event.CHECKPOINT_SAVED]
    if not saved:
        return None
    rows = [(f"step {e.step:,}" if e.step is not None else "step ?",
             (e.message or str(e.event)) + (f" · {iso_utc(e.t)}" if e.t else ""))
            for e in reversed(saved[-CHECKPOINTS_SHOWN:])]
    note = f"{len(saved)} seen" + (f", newest {CHECKPOINTS_SHOWN}" if len(saved) > CHECKPOINTS_SHOWN else "")
    return _section("Checkpoints", rows, note=note)


class OverviewScreen(PageScreen):
    """The overview of the run shown in the run view; `o` or escape closes it."""

    DEFAULT_CSS = """
    OverviewScreen > VerticalScroll { width: 100; }
    """
    BINDINGS = [Binding("escape,o", "close", "Close")]

    def __init__(self, snap: RunSnapshot, *, host: str = "") -> None:
        super().__init__()
        self.snap = snap
        self.host = host
        self.title_text = f"overview · {one_line(snap.run)}"

    def body(self) -> RenderableType:
        return overview(self.snap, host=self.host)
