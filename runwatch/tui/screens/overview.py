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

from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Input, Static

from runwatch.model import AlertState, Event, Kind, Record, RunSnapshot
from runwatch.present import config_tables, eta_text, flat, fmt_duration, fmt_value, iso_utc
from runwatch.text import clip, one_line
from runwatch.tui.screens.page import PageScreen
from runwatch.tui.widgets.alerts import row_style, sort_alerts
from runwatch.tui.widgets.filter_input import FilterInput

VALUE_CHARS = 70
"""A config or summary value longer than this is cut (a whole JSON document helps nobody here)."""


def _section(title: str, rows: list[tuple[str, str | Text]], *, note: str = "") -> Group:
    """The title (and its note) on a line of its own above the rows: in the key column, a long note made
    that column as wide as itself and left the values no room."""
    heading = Text(no_wrap=True, overflow="ellipsis")
    heading.append(title, "bold underline")  # the title alone underlined: the note stands apart from it
    if note:
        heading.append(f"  {note}", "dim")
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(Text(one_line(key)), value if isinstance(value, Text) else Text(one_line(value)))
    return Group(heading, table)


def _text(value: Any) -> str:
    return clip(one_line(str(value)), VALUE_CHARS)


Row = tuple[str, str | Text]
Section = tuple[str, list[Row], str]
"""A section of the page: its title, its rows (key, value), a note beside the title."""


def overview(snap: RunSnapshot, *, host: str = "", needle: str = "") -> Group:
    """The page for `snap`, as Rich renderables (pure: tested without a terminal); with `needle`, only the
    rows whose key or value holds it (any case), in the sections that keep one (`/` on the page)."""
    sections = _sections(snap, host)
    if needle:
        low = needle.lower()
        sections = [(title, kept, note) for title, rows, note in sections
                    if (kept := [(k, v) for k, v in rows if low in k.lower() or low in _plain(v).lower()])]
        if not sections:
            return Group(Text(f"nothing on this page holds {one_line(needle)!r}", "dim"))
    spaced: list[RenderableType] = []
    for title, rows, note in sections:
        spaced += [_section(title, rows, note=note), Text("")]
    return Group(*spaced[:-1])


STARTED_UNKNOWN = "unknown: the log states no times and was read after it was written"


def _started(snap: RunSnapshot, run_meta: Mapping[str, Any]) -> str:
    """When the run started: the W&B run's word, else what its records say (`Progress.started_t`). Not
    the snapshot's time less the elapsed time: a log without times of its own read in one go long after it
    was written would have started a moment before runwatch opened it."""
    start = run_meta.get("start_time")
    if isinstance(start, (int, float)) and start > 0:
        return iso_utc(float(start))
    started = snap.progress.started_t
    return STARTED_UNKNOWN if started is None else iso_utc(started)


def _plain(value: str | Text) -> str:
    return value.plain if isinstance(value, Text) else value


def _sections(snap: RunSnapshot, host: str) -> list[Section]:
    meta = snap.meta
    run_meta = meta.get("run") if isinstance(meta.get("run"), Mapping) else {}
    assert isinstance(run_meta, Mapping)
    p = snap.progress
    rows: list[Row] = [("run", snap.run)]
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
    if p.step is not None or p.elapsed_s is not None:
        rows.append(("started", _started(snap, run_meta)))
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
        at = f"step {last.step}" if last.step is not None else "a record with no step"
        where = f", the last at {at}" + (f" (line {last.line:,})" if last.line else "")
        rows.append(("restarts", f"{len(restarts)}{where}: the charts show the newest attempt"))
    if snap.gpus:
        names = sorted({g.name for g in snap.gpus if g.name})
        rows.append(("GPUs", f"{len(snap.gpus)}" + (f" × {', '.join(names)}" if names else "")))
    parts: list[Section] = [("Run", rows, "")]
    parts += [(table.title, [(k, _text(v)) for k, v in table.rows], f"from {table.origin}")
              for table in config_tables(meta)]
    printed = meta.get("printed")
    for source, found in (printed.items() if isinstance(printed, Mapping) else ()):
        pairs = found.get("settings") if isinstance(found, Mapping) else None
        if pairs:
            parts.append(("Printed by the log", [(_text(k), _text(v)) for k, v in pairs],
                          f"before its first loss: {_text(PurePath(str(source)).name)}"))
    summary = meta.get("summary")
    if isinstance(summary, Mapping) and summary:
        parts.append(("Summary", [(k, _text(v)) for k, v in flat(summary) if not k.startswith("_")],
                      "from the W&B run"))
    saved = _checkpoints(snap.events)
    if saved is not None:
        parts.append(saved)
    if snap.metrics:
        parts.append(("Last values", [(k, fmt_value(k, v)) for k, v in sorted(snap.metrics.items())], ""))
    env = meta.get("environment")
    if isinstance(env, Mapping) and env:
        parts.append(("Environment", [(k, _text(v)) for k, v in flat(env)], ""))
    alerts = sort_alerts(snap.alerts)
    parts.append(("Alerts", [
        (f"{a.rule} ({a.state})", Text(one_line(a.summary) + ("" if a.step is None else f" · step {a.step}"),
                                       row_style(a)))
        for a in alerts] or [("none", "no rule has fired")],
        f"{sum(a.state == AlertState.FIRING for a in alerts)} firing" if alerts else ""))
    if snap.notes:
        parts.append(("Notes", [(str(i + 1), n) for i, n in enumerate(snap.notes)], ""))
    return parts


CHECKPOINTS_SHOWN = 5


def _checkpoints(events: tuple[Record, ...]) -> Section | None:
    """The newest checkpoints: those a followed checkpoint directory holds (size, files, write time) and
    those the log says it saved, newest first; None when the run has shown none."""
    saved = [e for e in events if e.kind == Kind.CHECKPOINT or e.event == Event.CHECKPOINT_SAVED]
    if not saved:
        return None
    rows = [(f"step {e.step:,}" if e.step is not None else "step ?",
             (e.message or str(e.event)) + (f" · {iso_utc(e.t)}" if e.t else ""))
            for e in reversed(saved[-CHECKPOINTS_SHOWN:])]
    note = f"{len(saved)} seen" + (f", newest {CHECKPOINTS_SHOWN}" if len(saved) > CHECKPOINTS_SHOWN else "")
    return ("Checkpoints", list(rows), note)


class OverviewScreen(PageScreen):
    """The overview of the run shown in the run view; `o` or escape closes it."""

    DEFAULT_CSS = """
    OverviewScreen > VerticalScroll { width: 100; }
    """
    BINDINGS = [Binding("escape", "back", "Close"), Binding("o", "close", "Close", show=False),
                Binding("slash", "search", "Search")]

    def __init__(self, snap: RunSnapshot, *, host: str = "") -> None:
        super().__init__()
        self.snap = snap
        self.host = host
        self.needle = ""
        self.title_text = f"overview · {one_line(snap.run)}"

    def body(self) -> RenderableType:
        return overview(self.snap, host=self.host, needle=self.needle)

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield FilterInput(id="search", placeholder="search this page: keys and values (enter keeps, escape clears)")

    def on_mount(self) -> None:
        self._subtitle()

    def _subtitle(self) -> None:
        box = self.query_one(VerticalScroll)
        box.border_subtitle = (f"search {one_line(self.needle)!r} · escape clears" if self.needle
                               else "/ search · escape closes")

    def action_search(self) -> None:
        box = self.query_one(FilterInput)
        box.display = True
        box.focus()

    def action_back(self) -> None:
        """Escape clears a kept search first, then closes the page."""
        if self.needle:
            self._search_cancelled()
        else:
            self.action_close()

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.needle = event.value
        self.query_one("#page-body", Static).update(self.body())
        self._subtitle()

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self.query_one(FilterInput).display = False
        self.query_one(VerticalScroll).focus()

    @on(FilterInput.Cancelled)
    def _search_cancelled(self) -> None:
        box = self.query_one(FilterInput)
        box.value = ""
        self.needle = ""
        self.query_one("#page-body", Static).update(self.body())
        self._subtitle()
        self._search_done()
