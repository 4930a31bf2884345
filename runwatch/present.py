"""The words and numbers people read: one formatting for line mode, `check`, the daemon's log and the TUI.

Pure functions of snapshots, records and notifications (no I/O, no Textual): a metric value with its unit
(`fmt_value`), a duration (`fmt_duration`), the one-line status (`status_line`), the DESIGN §3 status
object (`status_object`), an event or alert line. What reaches a terminal is also cleaned of control
sequences where it is written (runwatch.text).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from runwatch.durations import human_duration
from runwatch.model import AlertBrief, AlertState, Record, RunSnapshot, RunState, json_number, other_losses
from runwatch.state.system import gpus_status, processes_status
from runwatch.text import clip, visible

# Metrics shown in a status line, in this order, when present.
LINE_METRICS = ("loss", "val_loss", "grad_norm", "lr", "step_time", "tokens_per_sec", "mfu")
FATAL_EVENTS = {"oom", "nccl_timeout", "nccl_error", "traceback", "child_failed", "killed",
                "segfault", "time_limit", "xid"}


def iso_utc(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def fmt_duration(s: float | None) -> str:
    """Seconds as a short human duration, as everything runwatch shows reads them (runwatch.durations):
    42s, 3m05s, 25m, 2h14m, 3d04h; "?" when unknown."""
    return "?" if s is None else human_duration(s)


SECONDS = frozenset({"step_time", "step_interval"})
"""Metrics in seconds, shown in ms below 10 s (the chart axes too)."""


def fmt_value(name: str, v: float) -> str:
    """A metric value short and readable, units where they help."""
    if not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Inf" if v > 0 else "-Inf")
    if name in SECONDS:
        return f"{v * 1000:.0f}ms" if v < 10 else f"{v:.1f}s"
    if name in ("tokens_per_sec", "samples_per_sec"):
        for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if abs(v) >= div:
                return f"{v / div:.2f}{suffix}"
        # three significant figures below 100: 7.6 samples/s read `8`, its p10 of 7.3 `7` (a new user's review)
        return f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}"
    if name == "mfu":  # nanoGPT on a small GPU prints `mfu 0.01%`: one decimal read 0.0%, as if none (a review)
        return f"{v:.2g}%" if 0 < abs(v) < 1 else f"{v:.1f}%"
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
        return f"{v:.2e}"
    return f"{v:.4g}"


SHORT = {"tokens_per_sec": "tok/s", "samples_per_sec": "samples/s", "step_time": "dt", "grad_norm": "gnorm"}


OVER = (RunState.FINISHED, RunState.CRASHED, RunState.ENDED)
"""States of a run that will take no more steps: no ETA, and its rates are what it ran at."""


def rate_text(snap: RunSnapshot, rate: str) -> str:
    """A rate (`28.6 step/s`) as it reads for the run's state: what the run does while it steps, what it did
    once it stopped (stalled) or is over: a crashed run's header at `28.6 step/s` read as a run going on."""
    return rate if snap.state in (RunState.RUNNING, RunState.WAITING) else f"was {rate}"


def eta_text(snap: RunSnapshot) -> str | None:
    """`ETA 2h14m` for a run with a known total (or an ETA of its own) that will go on; `ETA ?` while it is stalled (the estimate
    assumes it steps again at its pace, which a hang says nothing of); None for a run that is over."""
    p = snap.progress
    if snap.state in OVER or (not p.total_steps and p.eta_s is None):
        return None
    return "ETA ?" if snap.state == RunState.STALLED else f"ETA {fmt_duration(p.eta_s)}"


def line_metrics(metrics: Mapping[str, float]) -> list[str]:
    """The metrics a status line shows: `LINE_METRICS`, after up to two losses of other names where the run
    logs no `loss` (a distillation loop's `Task Loss` and `KD Loss` showed as a bare `lr 3.00e-06`)."""
    shown = [m for m in LINE_METRICS if m in metrics]
    if "loss" not in metrics:
        shown = other_losses(m for m in metrics if m not in shown) + shown
    return shown


NOTE_CHARS = 100
"""The most of a note a status line shows: the first of a run's notes, the rest in `--json` and the TUI."""


def status_line(snap: RunSnapshot) -> str:
    """One line a person reads at a glance."""
    p = snap.progress
    parts = [time.strftime("%H:%M:%S", time.localtime(snap.time)), visible(snap.run), f"[{snap.state}]"]
    firing = sorted({a.rule for a in snap.alerts if a.state == AlertState.FIRING})
    if firing:  # as the TUI's header says it: a glance at a status line tells a sick run from a healthy one
        parts.append(f"{sum(a.state == AlertState.FIRING for a in snap.alerts)} firing ({', '.join(firing)})")
    if p.step is not None:
        step = f"step {p.step}"
        if p.total_steps:
            step += f"/{p.total_steps}"
            if p.percent is not None:
                step += f" ({p.percent:.1f}%)"
        parts.append(step)
        if p.steps_per_sec:
            parts.append(rate_text(snap, f"{p.steps_per_sec:.3g} step/s"))
        eta = eta_text(snap)
        if eta:
            parts.append(eta)
    elif snap.state == RunState.WAITING:
        parts.append("no step yet")
    elif snap.state == RunState.ENDED and not snap.records:
        parts.append("no record")  # a launch that died before its first step (runwatch.ingest.LAUNCH_GONE_S)
    for name in line_metrics(snap.metrics):
        parts.append(f"{SHORT.get(name, name)} {fmt_value(name, snap.metrics[name])}")
    if len(snap.ranks) > 1:
        ranks = " ".join(f"{r}:{rp.step}" for r, rp in sorted(snap.ranks.items())[:16])
        more = f" +{len(snap.ranks) - 16}" if len(snap.ranks) > 16 else ""
        parts.append(f"ranks {ranks}{more}")
    age = snap.last_record_age_s
    if age is not None:
        parts.append(f"last {fmt_duration(age)} ago")
    for note in snap.notes[:1]:  # a long one cut in its middle: its end is often the way out (`--format NAME …`)
        parts.append(f"({clip(note, NOTE_CHARS, keep='ends')})")
    if snap.degraded:
        parts.append(f"DEGRADED: {len(snap.degraded)} runwatch thread(s) failed, latest {snap.degraded[-1]}")
    return "  ".join(parts)


def status_object(snap: RunSnapshot) -> dict[str, Any]:
    """The DESIGN §3 status object. `reading_history` only while a source of the run is still reading what it
    held at start: its state and numbers are then those of the log's latest lines (or of what is read so
    far), not yet of the whole run; a script that acts on `state` waits for it to go."""
    p = snap.progress
    age = snap.last_record_age_s
    return {
        "type": "status",
        "time": iso_utc(snap.time),
        "run": snap.run,
        "source": snap.source,
        "state": str(snap.state),
        "format": snap.format,
        "step": p.step,
        "total_steps": p.total_steps,
        "percent": _round(p.percent, 3),
        "steps_per_sec": _round(p.steps_per_sec, 4),
        "eta_s": _round(p.eta_s, 1),
        "elapsed_s": _round(p.elapsed_s, 1),
        "metrics": {k: json_number(v) for k, v in snap.metrics.items()},
        "ranks": {str(r): rp.step for r, rp in sorted(snap.ranks.items())},
        "last_record_age_s": _round(age, 2),
        "process": processes_status(snap.processes),
        "gpus": gpus_status(snap.gpus, snap.processes),
        "gpu_status": snap.gpu_status,
        "alerts": [a.to_json() for a in snap.alerts],
        "notes": list(snap.notes),
        "degraded": list(snap.degraded),
        **({"reading_history": True} if snap.reading_history else {}),
        **({"unreachable": snap.unreachable} if snap.unreachable else {}),
    }


def event_line(rec: Record, run: str, *, counted: str = "step") -> str:
    """One human line for an event record; `counted`: what its place counts, `record` in a run that logs no steps
    (its events are placed at the record they came after, as `check` says `first record 779`: `checkpoint_saved at
    step 247` of a run `check` said had `no steps` misled a review)."""
    step = f" at {counted} {rec.step}" if rec.step is not None else ""
    rank = f" rank {rec.rank}" if rec.rank is not None else ""
    return f"{time.strftime('%H:%M:%S')}  {visible(run)}  ! {rec.event}{rank}{step}: {rec.message or ''}"


def alert_line(n: Any) -> str:
    """One human line for a notification (a `runwatch.alerts.types.Notification`)."""
    a = n.alert
    what = "RESOLVED" if str(n.state) == "resolved" else ("still firing" if n.repeat else "FIRING")
    labels = " ".join(f"{k}={v}" for k, v in a.labels if k != "run")
    return (f"{time.strftime('%H:%M:%S')}  {visible(a.run)}  {what} {a.severity} {a.rule}"
            f"{' ' + labels if labels else ''}: {a.summary}")


def alert_update_line(run: str, a: AlertBrief) -> str:
    """One human line for a firing alert whose rule saw its condition again at a newer step (a second NaN):
    no notification (the same alert, deduplicated as Alertmanager does), but the line printer says it."""
    labels = " ".join(f"{k}={v}" for k, v in a.labels.items())
    return (f"{time.strftime('%H:%M:%S')}  {visible(run)}  updated {a.severity} {a.rule}"
            f"{' ' + labels if labels else ''}: {a.summary}; newest at step {a.last_step}")


def alert_update_object(run: str, a: AlertBrief, at: float) -> dict[str, Any]:
    """`alert_update_line` as a JSON object (`type` `alert_updated`)."""
    return {"type": "alert_updated", "time": iso_utc(at), "run": run, "rule": a.rule,
            "severity": str(a.severity), "labels": dict(a.labels), "summary": a.summary,
            "step": a.step, "last_step": a.last_step}


def _round(v: float | None, nd: int) -> float | None:
    if v is None or not math.isfinite(v):
        return None
    return round(v, nd)


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


@dataclass(frozen=True)
class ConfigTable:
    """One source's settings of a run, flattened (`model_config.n_layer`), with the words that name it."""

    title: str
    """The TUI overview's section title."""
    origin: str
    """Where it came from, as the report and the overview say it ("the W&B run's config")."""
    rows: list[tuple[str, Any]]


CONFIG_SOURCES: tuple[tuple[str, str, str], ...] = (
    ("config", "Config", "the W&B run's config"),
    ("hparams", "Hyperparameters", "Lightning's hparams.yaml"),
    ("trainer_state", "Trainer state", "trainer_state.json"),
    ("nanochat_meta", "Checkpoint config", "nanochat's checkpoint {file}"),
)
"""Run metadata key → title and origin of the config it holds, in the order they are shown: the one list
the report, `compare` and the TUI overview read, so a new source shows in all three."""


def config_tables(meta: Mapping[str, Any]) -> list[ConfigTable]:
    """The run's config from each structured source that carried some (`CONFIG_SOURCES`), in that order."""
    out = []
    for key, title, origin in CONFIG_SOURCES:
        found = meta.get(key)
        if isinstance(found, Mapping) and isinstance(found.get("settings"), Mapping):  # {"file", "settings"}
            origin = origin.format(file=str(found.get("file") or "meta file"))
            found = found["settings"]
        if isinstance(found, Mapping) and found:
            out.append(ConfigTable(title, origin, list(flat(found))))
    return out
