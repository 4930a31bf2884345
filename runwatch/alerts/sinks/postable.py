"""A notification as one of Alertmanager's "postable alerts" (`POST /api/v2/alerts`).

Alertmanager identifies an alert by its label set alone (annotations are
whatever it heard last). The labels here are therefore chosen so that one
run followed by two daemons (two nodes reading a shared filesystem) makes
one alert, not two:

- `alertname` (the rule id), `run` (the run's name: a log file's stem or
  its directory's name, never an absolute path, so nodes that mount the
  filesystem at different places still agree), `severity`, and the alert's
  own labels (`rank`, `metric`, `gpu`, `thread`…);
- `host` only for the rules about the machine a daemon runs on
  (`MACHINE_RULES`: GPU 0 of node 1 is not GPU 0 of node 2, and each node's
  runwatch fails on its own); for every other rule `host` is an annotation:
  it says who noticed, not what is wrong.

Pure: no I/O, no clock; times come from the alert.
"""

from __future__ import annotations

import math
import time
from typing import Any

from runwatch import patterns
from runwatch.alerts.types import Alert, Notification
from runwatch.model import AlertState
from runwatch.text import clean, clip

MACHINE_RULES = frozenset({
    "gpu_util_low", "gpu_memory_high", "gpu_health", "gpu_straggler", "host_memory", "disk_low", "io_stall",
    "process_exit", "runwatch_internal",
})
"""Rules that judge the machine a daemon runs on (its GPUs, memory, disks, processes, its own threads):
their alerts carry `host` as an identity label. A test keeps this equal to the rules that read the system."""

CONTEXT_LIMIT = 4000
"""Characters of log lines kept in the description: a notification template shows them whole."""
_LABEL_NAME = patterns.compile(r"[^A-Za-z0-9_]")


def postable_alert(notification: Notification, *, host: str, generator_url: str = "") -> dict[str, Any]:
    """The alert as Alertmanager takes it: labels, annotations, `startsAt`, `endsAt` when resolved."""
    a = notification.alert
    out: dict[str, Any] = {
        "labels": alert_labels(a, host=host),
        "annotations": _annotations(a, host),
        "startsAt": rfc3339(a.fired_at or a.active_since),
    }
    if notification.state == AlertState.RESOLVED:
        out["endsAt"] = rfc3339(a.resolved_at if a.resolved_at is not None else notification.at)
    if generator_url:
        out["generatorURL"] = generator_url
    return out


def alert_labels(a: Alert, *, host: str) -> dict[str, str]:
    """The identity of the alert in Alertmanager (see the module docstring)."""
    labels = {"alertname": a.rule, "run": a.run, "severity": str(a.severity)}
    for key, value in a.labels:
        if key != "run":
            labels[label_name(key)] = str(value)
    if a.rule in MACHINE_RULES:
        labels["host"] = host
    return {k: v for k, v in labels.items() if v != ""}  # Alertmanager treats an empty value as no label


def label_name(key: str) -> str:
    """A valid Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`)."""
    name = _LABEL_NAME.sub("_", key) or "_"
    return "_" + name if name[0].isdigit() else name


def _annotations(a: Alert, host: str) -> dict[str, str]:
    out = {"summary": clean(a.summary), "description": description(a), "host": host}
    if a.step is not None:
        out["step"] = str(a.step)
    if a.value is not None:
        out["value"] = _number(a.value)
    if a.threshold is not None:
        out["threshold"] = _number(a.threshold)
    if a.source:
        out["source"] = clean(a.source)
    return out


def description(a: Alert) -> str:
    """What a receiver's template shows under the summary: where, how far off, and the log lines."""
    facts = []
    if a.step is not None:
        since = f" (since step {a.first_step})" if a.first_step not in (None, a.step) else ""
        facts.append(f"step {a.step}{since}")
    if a.value is not None:
        against = f" (threshold {_number(a.threshold)})" if a.threshold is not None else ""
        facts.append(f"value {_number(a.value)}{against}")
    parts = [clean(a.summary)]
    if facts:
        parts.append(", ".join(facts))
    if a.source:
        parts.append(f"source: {clean(a.source)}")
    if a.context:
        lines = "\n".join(clean(line) for line in a.context)
        parts.append("log lines:\n" + clip(lines, CONTEXT_LIMIT, keep="tail"))
    if a.diagnosis:
        parts.append("processes:\n" + clip("\n".join(clean(d) for d in a.diagnosis), CONTEXT_LIMIT))
    return "\n".join(parts)


def rfc3339(t: float) -> str:
    """Unix seconds as RFC 3339 in UTC with milliseconds (Alertmanager's `strfmt.DateTime`)."""
    whole = math.floor(t)
    millis = min(999, round((t - whole) * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


def _number(v: float | str | None) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else f"{v:g}"
    return clean(str(v))
