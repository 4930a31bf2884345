"""What front ends see of a run: its snapshot, a chart of one metric, the tail of its log.

Front ends (headless printer, TUI, daemon) never touch run state; the engine
hands them these read-only views, built under its lock from a run's ingest
(`runwatch.ingest.RunIngest`). The decisions that shape what they show live
here: the preview shown while a big history is read, the badge a firing alert
makes graver, the notes a run carries (a source's problem, a log in no format
runwatch knows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from runwatch.alerts.judge import unjudged_metrics
from runwatch.ingest import RunIngest
from runwatch.model import AlertBrief, AlertState, ChartData, RunSnapshot, RunState, XAxis
from runwatch.parsers.source import DETECT_MAX_LINES
from runwatch.state.xaxis import columns_for

if TYPE_CHECKING:
    from runwatch.alerts.rules import Rule
    from runwatch.state.run import RunTracker
    from runwatch.state.series import Series
    from runwatch.state.system import SystemState

BADGE_RANK = {RunState.RUNNING: 0, RunState.STALLED: 1, RunState.ENDED: 2, RunState.CRASHED: 3}
"""How grave a badge is: a firing alert's badge (`AlertBrief.badge`) replaces a live run's when graver."""


def snapshot(run: RunIngest, now: float, *, alerts: tuple[AlertBrief, ...], degraded: tuple[str, ...],
             system: SystemState | None, rules: Sequence[Rule[Any]] = ()) -> RunSnapshot:
    """A run as front ends draw it: its preview while its history is read, with its alerts and notes (`rules`: the
    engine's, whose metrics a run may not log: `alerts.judge.unjudged_metrics`, as `check` says it)."""
    catching_up = bool(run.history_pending) and run.preview is not None
    tracker = run.preview if catching_up and run.preview is not None else run.tracker
    snap = tracker.snapshot(now)
    notes = tuple(run.notes.values()) + unknown_format_notes(run, ended=snap.state == RunState.ENDED) \
        + parse_failure_notes(run)
    if catching_up:
        notes = (f"reading history: {run.history_percent():.0f}%; showing the latest lines first",) + notes
    elif not run.history_pending:
        notes += tuple(unjudged_metrics(rules, run.tracker, so_far=True))
    meta: dict[str, object] = dict(run.meta)
    printed = printed_settings(run)
    if printed:
        meta["printed"] = printed
    snap = replace(snap, run=run.name, source=run.label, format=run.format, notes=notes, alerts=alerts,
                   meta=meta, state=state_with_alerts(snap.state, alerts, tracker.last_step_at),
                   reading_history=bool(run.history_pending), previewing=catching_up, degraded=degraded)
    if system is not None:
        snap = replace(snap, processes=system.processes_of(run.name), gpus=system.gpus, gpu_status=system.gpu_status)
    return snap


def printed_settings(run: RunIngest) -> dict[str, dict[str, object]]:
    """What each log of the run printed before its first loss (runwatch.parsers.preamble), by source:
    `settings` as [key, value] pairs, `hardware` as the log says it (or None)."""
    out: dict[str, dict[str, object]] = {}
    for source, parser in run.parsers.items():
        found = parser.preamble
        if found is not None:
            out[source] = {"settings": [list(kv) for kv in found.settings], "hardware": found.hardware()}
    return out


def chart(run: RunIngest, metric: str, width: int, rank: int | None, last_steps: float | None,
          x: XAxis = XAxis.STEP, now: float | None = None) -> ChartData | None:
    """One metric of a run in `width` columns (the lowest rank when none is given), optionally its last
    `last_steps` steps only, along the x axis `x` (runwatch.state.xaxis)."""
    tracker: RunTracker = run.preview if run.history_pending and run.preview is not None else run.tracker
    series = _series(tracker, metric, rank)
    if series is None or len(series) == 0:
        return None
    x_min = None
    if last_steps is not None and series.latest is not None:
        x_min = series.latest[0] - last_steps
    c = columns_for(series, max(1, width), x_min, x, lambda name: _series(tracker, name, None))
    if c is None:
        return None
    nonfinite = (c.nan + c.inf).astype(np.int64)
    going = now is not None and x is XAxis.TIME and tracker.state(now) in (RunState.RUNNING, RunState.STALLED)
    return ChartData(run.name, metric, rank, c.x, c.ymin, c.ymax, c.ylast, nonfinite, len(series), c.mean, c.count,
                     until=now if going else None)


def _series(tracker: RunTracker, metric: str, rank: int | None) -> Series | None:
    """`metric` of `rank`; with no rank given, of the run's lowest rank that logs it."""
    found = tracker.store.get(metric, rank)
    if found is None and rank is None:
        ranks = tracker.store.ranks(metric)
        found = tracker.store.get(metric, min(ranks, key=lambda r: -1 if r is None else r)) if ranks else None
    return found


def log_tail(run: RunIngest, lines: int) -> list[str]:
    return list(run.lines)[-lines:]


def state_with_alerts(state: RunState, alerts: Sequence[AlertBrief], last_step_at: float | None) -> RunState:
    """The badge agrees with the alerts whose rules say what their firing means (`Rule.badge`: a stall is
    a stalled run, by its budget rather than the badge's own rougher one; a process that exited before
    the run finished, a crashed or ended one): the gravest of them, for a run still live (running or
    stalled); unless a step came since it fired (the alert resolves only after its `resolve_after`; the
    run is back now)."""
    if state not in (RunState.RUNNING, RunState.STALLED):
        return state
    said = [a.badge for a in alerts if a.badge is not None and a.state == AlertState.FIRING
            and (a.since is None or last_step_at is None or last_step_at <= a.since)]
    return max([state, *said], key=lambda s: BADGE_RANK.get(s, 0))


def parse_failure_notes(run: RunIngest) -> tuple[str, ...]:
    """A log some of whose lines its parser raised on says so (those lines gave no record), once per file."""
    return tuple(f"{path}: {said}" for path, p in run.parsers.items() if (said := p.failures.describe()))


def unknown_format_notes(run: RunIngest, *, ended: bool = False) -> tuple[str, ...]:
    """A run with no record yet whose logs hold many lines and no format runwatch knows says so, once
    per file, rather than look like it waits for its first step; so does one that has ended (its logs long
    unwritten, no process alive) with any line undecided: no more will come (a review's 339-line log of INFO
    lines read `ended` with no word of why nothing was shown)."""
    if run.tracker.progress.step is not None or run.tracker.store.metrics():
        return ()  # something of its training was read (events alone are no run's training: a review's T5 log)
    least = 1 if ended else DETECT_MAX_LINES
    return tuple(f"{path}: no known log format in its first {p.undecided_lines:,} lines (--format NAME forces one)"
                 for path, p in run.parsers.items() if p.format is None and p.undecided_lines >= least)
