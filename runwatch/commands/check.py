"""`runwatch check`: the whole history through the rules, as a report read in five seconds.

Exit 0 when nothing fired, 1 when only warnings fired, 2 when anything
critical fired (DESIGN §3).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from runwatch.alerting import build_rules
from runwatch.alerts.lifecycle import AlertManager
from runwatch.commands.parse import expand, records_of
from runwatch.config import Config
from runwatch.headless import fmt_value
from runwatch.model import AlertState, RunState, Severity
from runwatch.replay import Replay, merge_by_step, replay
from runwatch.watcher.discover import rank_from_path


@dataclass
class Fired:
    """One alert as the report shows it."""

    rule: str
    severity: Severity
    labels: dict[str, Any]
    summary: str
    first_step: int | None
    last_step: int | None
    value: Any
    firing_at_end: bool
    times: int = 1


def group_runs(files: Sequence[Path]) -> dict[str, list[Path]]:
    """Rank files of one run (same directory tree, ranks in their paths) go together."""
    runs: dict[str, list[Path]] = {}
    for f in files:
        if rank_from_path(str(f)) is not None:
            key = str(f.parent.parent if f.parent.name.isdigit() else f.parent)
        else:
            key = str(f)
        runs.setdefault(key, []).append(f)
    return runs


def run_name(key: str, files: list[Path]) -> str:
    return files[0].stem if len(files) == 1 else Path(key).name


def check_run(files: list[Path], config: Config, fmt: str | None, total_steps: int | None, name: str) -> Replay:
    streams = [records_of(f, fmt, total_steps) for f in files]
    records = streams[0] if len(streams) == 1 else merge_by_step(streams)
    manager = AlertManager(config.timings())
    return replay(records, build_rules(config), manager=manager, run=name, source=str(files[0]))


def summarize(result: Replay) -> list[Fired]:
    """Alerts that fired, once each (a rule that fired, resolved and fired again counts `times`)."""
    out: dict[str, Fired] = {}
    firing_now = {a.key for a in _final_alerts(result) if a.state == AlertState.FIRING}
    for n in result.notifications:
        if n.state != AlertState.FIRING or n.repeat:
            continue
        a = n.alert
        if a.key in out:
            out[a.key].times += 1
            out[a.key].last_step = a.step
            continue
        out[a.key] = Fired(a.rule, a.severity, {k: v for k, v in a.labels if k != "run"}, a.summary,
                           a.first_step if a.first_step is not None else a.step, a.step, a.value,
                           a.key in firing_now)
    for a in _final_alerts(result):
        if a.key in out:
            out[a.key].last_step = a.step if a.step is not None else out[a.key].last_step
            out[a.key].firing_at_end = a.state == AlertState.FIRING
    return sorted(out.values(), key=lambda f: (f.severity != Severity.CRITICAL, f.first_step or 0))


def _final_alerts(result: Replay) -> list:  # type: ignore[type-arg]
    seen: dict[str, Any] = {}
    for n in result.notifications:
        seen[n.alert.key] = n.alert
    return list(seen.values())


def exit_code(fired: Sequence[Fired]) -> int:
    if any(f.severity == Severity.CRITICAL for f in fired):
        return 2
    return 1 if fired else 0


def run_check(paths: list[str], *, config: Config, fmt: str | None, total_steps: int | None,
              as_json: bool, out: TextIO) -> int:
    from runwatch.cli import UsageError
    from runwatch.commands.parse import PathError

    try:
        files = expand(paths)
    except PathError as e:
        raise UsageError(str(e)) from None
    worst = 0
    for key, group in group_runs(files).items():
        name = run_name(key, group)
        result = check_run(group, config, fmt, total_steps, name)
        fired = summarize(result)
        worst = max(worst, exit_code(fired))
        if as_json:
            out.write(json.dumps(_json(name, key, result, fired), allow_nan=False) + "\n")
        else:
            out.write(_report(name, key, result, fired) + "\n")
    return worst


def _report(name: str, source: str, result: Replay, fired: list[Fired]) -> str:
    t = result.tracker
    p = t.progress
    state = t.state(result.end)
    steps = f"step {p.step}" + (f"/{p.total}" if p.total else "") if p.step is not None else "no steps"
    verdict = {0: "OK", 1: "WARNING", 2: "CRITICAL"}[exit_code(fired)]
    head = f"{verdict:<8} {name}  ({source})  {steps}  {_state_words(state)}  {t.records} records"
    if not fired:
        return head + "\n         no alerts"
    lines = [head]
    for f in fired:
        labels = " ".join(f"{k}={v}" for k, v in sorted(f.labels.items()))
        span = f"step {f.first_step}" if f.first_step == f.last_step else f"steps {f.first_step}–{f.last_step}"
        end = "still firing at the end" if f.firing_at_end else "resolved"
        times = f", {f.times}×" if f.times > 1 else ""
        lines.append(f"  {f.severity!s:<8} {f.rule:<16} {labels:<24} {span}{times}; {end}")
        lines.append(f"           {f.summary}")
    return "\n".join(lines)


def _state_words(state: RunState) -> str:
    return {RunState.FINISHED: "finished", RunState.CRASHED: "crashed"}.get(state, "ended")


def _json(name: str, source: str, result: Replay, fired: list[Fired]) -> dict[str, Any]:
    p = result.tracker.progress
    return {
        "type": "check", "run": name, "source": source, "step": p.step, "total_steps": p.total,
        "state": str(result.tracker.state(result.end)), "exit_code": exit_code(fired),
        "alerts": [{"rule": f.rule, "severity": str(f.severity), "labels": f.labels, "summary": f.summary,
                    "first_step": f.first_step, "last_step": f.last_step, "times": f.times,
                    "firing_at_end": f.firing_at_end,
                    "value": fmt_value("value", f.value) if isinstance(f.value, float) else f.value}
                   for f in fired],
    }

