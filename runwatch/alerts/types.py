"""Values the alert layer passes around (Alertmanager's vocabulary, DESIGN §5).

A rule looks at a run and returns `Finding`s: "this condition holds now for
these labels". The lifecycle turns findings over time into `Alert`s
(pending → firing → resolved) and `Notification`s for the sinks. Everything
here is a frozen value; time is float Unix seconds, durations float seconds.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runwatch.model import AlertState, Severity, json_number

Labels = tuple[tuple[str, str | int], ...]
"""Sorted (name, value) pairs; always includes ("run", NAME)."""


def make_labels(**labels: str | int | None) -> Labels:
    """Labels from keywords, dropping None, sorted so equal sets compare equal."""
    return tuple(sorted((k, v) for k, v in labels.items() if v is not None))


def alert_key(rule: str, labels: Labels) -> str:
    """A stable identity for an alert: rule + labels (used in state files)."""
    return rule + "{" + ",".join(f"{k}={v}" for k, v in labels) + "}"


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's condition holding for one label set at one instant."""

    rule: str
    labels: Labels
    severity: Severity
    summary: str
    """One line a person understands: "grad_norm is NaN at step 380"."""
    value: float | str | None = None
    threshold: float | None = None
    step: int | None = None
    first_step: int | None = None
    """The step where the condition began, where the rule can say and it is not `step` (a spike's first
    step above its threshold, `step` being its peak's): where the alert's episode starts (None: `step`)."""
    last_step: int | None = None
    """The newest step at which the data showed the condition, where the rule can say (a NaN's own step):
    a rule that keeps finding a one-off NaN while it is among its newest points saw it at that step
    only, not at every step the run reached meanwhile (None: at the run's step when it was found)."""
    metric: str | None = None
    source: str | None = None
    context: tuple[str, ...] = ()
    """Log lines around the event, escapes already stripped (for Slack)."""
    history: tuple[float, ...] = ()
    """Recent values of the metric, oldest first (for a sparkline)."""
    diagnosis: tuple[str, ...] = ()
    """What the training processes are doing (a stall): each one's state and, with py-spy, its stack."""

    @property
    def run(self) -> str:
        return str(dict(self.labels).get("run", ""))

    @property
    def key(self) -> str:
        return alert_key(self.rule, self.labels)


@dataclass(frozen=True, slots=True)
class RuleTiming:
    """How long a condition must hold before firing, and be gone before resolving."""

    for_s: float = 0.0
    resolve_after_s: float = 60.0
    repeat_interval_s: float = 4 * 3600.0


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert's lifecycle state: what the TUI lists and the state dir keeps."""

    rule: str
    labels: Labels
    state: AlertState
    severity: Severity
    summary: str
    active_since: float
    """When the condition was first seen holding (pending began)."""
    fired_at: float | None = None
    resolved_at: float | None = None
    last_seen: float = 0.0
    """Last time the condition held."""
    last_notified: float | None = None
    value: float | str | None = None
    threshold: float | None = None
    step: int | None = None
    first_step: int | None = None
    last_step: int | None = None
    """The newest step its rule saw the condition at, where the rule says (`Finding.last_step`: a newer
    NaN while the alert fires moves it on; the line printer says so once, with no new notification)."""
    metric: str | None = None
    source: str | None = None
    acknowledged: bool = False
    context: tuple[str, ...] = ()
    history: tuple[float, ...] = ()
    diagnosis: tuple[str, ...] = ()
    seen_reading_history: bool = False
    """Last seen by a judgement of a history being read in (a log read at start-up): once the history is
    read, a live judgement that no longer finds it resolves it at once, as the log already shows it cleared
    (`runwatch check`, replaying the log's own time, says resolved); resolve_after counts wall time."""
    silenced_by: str | None = None
    """Id of the silence muting this alert now (recomputed every tick, not persisted)."""
    inhibited_by: str | None = None
    """Key of the firing alert that inhibits this one now (recomputed every tick, not persisted)."""

    @property
    def key(self) -> str:
        return alert_key(self.rule, self.labels)

    @property
    def run(self) -> str:
        return str(dict(self.labels).get("run", ""))

    @property
    def muted(self) -> bool:
        return self.silenced_by is not None or self.inhibited_by is not None


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to send: an alert at a transition (firing, resolved) or a repeat."""

    alert: Alert
    state: AlertState
    """FIRING (first or repeat) or RESOLVED."""
    at: float
    repeat: bool = False
    id: str = ""
    """Unique per transition (key + state + transition time): dedupe across restarts."""
    in_history: bool = False
    """Found while the run's history was read at start-up (or cleared by it): what the log already held, not
    news of the moment. Sinks send it all the same; a front end that pops up each transition (the TUI) sums
    these up in one, or a long log's history covered the screen with them."""

    def payload(self) -> dict[str, Any]:
        """The DESIGN §5 JSON body (webhook, --json line, command stdin)."""
        a = self.alert
        labels = {k: v for k, v in a.labels if k != "run"}
        out: dict[str, Any] = {
            "type": "alert",
            "state": str(self.state),
            "rule": a.rule,
            "severity": str(a.severity),
            "run": a.run,
            "labels": labels,
            "step": a.step,
            "value": json_number(a.value) if isinstance(a.value, float) else a.value,
            "summary": a.summary,
            "starts_at": iso(a.fired_at or a.active_since),
            "source": a.source,
        }
        if a.threshold is not None:
            out["threshold"] = json_number(a.threshold)
        if a.diagnosis and self.state != AlertState.RESOLVED:
            out["diagnosis"] = list(a.diagnosis)
        if self.state == AlertState.RESOLVED and a.resolved_at is not None:
            out["ends_at"] = iso(a.resolved_at)
        if self.repeat:
            out["repeat"] = True
        out["id"] = self.id
        return out


@dataclass(frozen=True, slots=True)
class Matcher:
    """label = value (exact); a silence matches an alert when all its matchers do."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    rule: str | None
    """None or "*" mutes every rule (with the other matchers)."""
    matchers: tuple[Matcher, ...] = ()
    starts_at: float = 0.0
    ends_at: float = 0.0
    comment: str = ""
    created_by: str = ""

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, rule: str, labels: Mapping[str, str | int]) -> bool:
        if self.rule not in (None, "*", rule):
            return False
        return all(str(labels.get(m.name)) == m.value for m in self.matchers)


def iso(t: float | None) -> str | None:
    if t is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


@dataclass(frozen=True, slots=True)
class InhibitRule:
    """While an alert of `source_rule` fires for a run, alerts of `target_rules` for that run are muted."""

    source_rule: str
    target_rules: frozenset[str] = field(default_factory=frozenset)
    equal: tuple[str, ...] = ("run",)


DEFAULT_INHIBITIONS = (
    InhibitRule("crash", frozenset({"stall", "loss_spike", "loss_divergence", "step_time_drift",
                                    "throughput_drop", "gpu_util_low", "straggler", "checkpoint_stale",
                                    "grad_norm_spike", "io_stall"})),
    InhibitRule("process_exit", frozenset({"stall", "gpu_util_low", "throughput_drop", "step_time_drift",
                                           "checkpoint_stale", "io_stall"})),
)
