"""Plain value types shared by every layer (DESIGN §2, §3).

Everything here is a frozen dataclass or an enum with no behaviour beyond
conversion to JSON, so that parsers, state, rules and front ends can exchange
values across threads without copies or locks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """What a parsed line says."""

    STEP = "step"
    EVAL = "eval"
    EVENT = "event"
    CHECKPOINT = "checkpoint"


class Event(StrEnum):
    """Names of `kind=event` records (DESIGN §2). Rules match on these."""

    OOM = "oom"
    NCCL_TIMEOUT = "nccl_timeout"
    NCCL_ERROR = "nccl_error"
    TRACEBACK = "traceback"
    CHILD_FAILED = "child_failed"
    KILLED = "killed"
    SEGFAULT = "segfault"
    SIGNAL = "signal"
    NONFINITE = "nonfinite"
    DATALOADER_ERROR = "dataloader_error"
    DATALOADER_RETRY = "dataloader_retry"
    CHECKPOINT_SAVED = "checkpoint_saved"
    TIME_LIMIT = "time_limit"
    XID = "xid"
    FINISHED = "finished"
    """The run says it is done (final summary dict, `Total training time`, …)."""
    EXIT = "exit"
    """The watched process (stdin pipe or child) ended; `metrics["exit_code"]` when known."""


@dataclass(frozen=True, slots=True)
class Record:
    """One thing a parser understood from one line (or one multi-line block).

    `metrics` holds canonical names (DESIGN §2) with fixed units; non-finite
    values are kept as float NaN/Inf. `t` is the timestamp the line carries,
    or the wall time it was read; parsers leave it 0.0 when the line has none
    and the source stamps it.
    """

    kind: Kind
    step: int | None = None
    total_steps: int | None = None
    rank: int | None = None
    t: float = 0.0
    metrics: Mapping[str, float] = field(default_factory=dict)
    event: str | None = None
    message: str | None = None
    source: str = ""
    line: int = 0

    def to_json(self) -> dict[str, Any]:
        """Strict-JSON dict: non-finite numbers become "nan", "inf", "-inf"."""
        out: dict[str, Any] = {
            "kind": str(self.kind),
            "step": self.step,
            "total_steps": self.total_steps,
            "rank": self.rank,
            "t": self.t,
            "metrics": {k: json_number(v) for k, v in self.metrics.items()},
        }
        if self.event is not None:
            out["event"] = self.event
        if self.message is not None:
            out["message"] = self.message
        out["source"] = self.source
        out["line"] = self.line
        return out


def json_number(v: float) -> float | int | str:
    """A float as strict JSON allows it (DESIGN §2: NaN/Inf as strings)."""
    if isinstance(v, float) and not math.isfinite(v):
        if math.isnan(v):
            return "nan"
        return "inf" if v > 0 else "-inf"
    return v


class RunState(StrEnum):
    """The badge a front end shows for a run."""

    WAITING = "waiting"
    RUNNING = "running"
    STALLED = "stalled"
    FINISHED = "finished"
    CRASHED = "crashed"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertState(StrEnum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class AlertBrief:
    """The part of an alert a status line carries (DESIGN §3 `alerts`)."""

    rule: str
    state: AlertState
    severity: Severity
    summary: str = ""
    labels: Mapping[str, str | int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "state": str(self.state), "severity": str(self.severity)}
        if self.summary:
            out["summary"] = self.summary
        if self.labels:
            out["labels"] = dict(self.labels)
        return out


@dataclass(frozen=True, slots=True)
class RankProgress:
    rank: int
    step: int
    t: float
    """Wall time of this rank's latest step record."""
    step_interval_s: float | None = None
    """Median seconds between this rank's recent steps, when known."""


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a run is and when it will end, as runwatch computes it."""

    step: int | None = None
    total_steps: int | None = None
    percent: float | None = None
    steps_per_sec: float | None = None
    tokens_per_sec: float | None = None
    eta_s: float | None = None
    elapsed_s: float | None = None
    eta_basis: str = ""
    """Which estimate the ETA came from ("wall", "step_time", "log"), for the curious."""


@dataclass(frozen=True, slots=True)
class RunSnapshot:
    """An immutable picture of one run at one instant: what front ends draw.

    Front ends (headless printer, TUI, exporters) read only snapshots.
    """

    run: str
    source: str
    time: float
    state: RunState
    progress: Progress
    metrics: Mapping[str, float]
    """Latest value of every metric (rank 0, or the only rank)."""
    ranks: Mapping[int, RankProgress]
    last_record_t: float | None
    """Wall time runwatch last received a step/eval record for this run."""
    records: int = 0
    events: tuple[Record, ...] = ()
    """The most recent event records, newest last (bounded)."""
    format: str | None = None
    notes: tuple[str, ...] = ()
    """One-line remarks for the user (waiting for file, permission denied …)."""
    alerts: tuple[AlertBrief, ...] = ()
    process: Mapping[str, Any] | None = None
    gpus: tuple[Mapping[str, Any], ...] = ()
    gpu_status: str = "off: GPU sampling not enabled"

    @property
    def last_record_age_s(self) -> float | None:
        return None if self.last_record_t is None else max(0.0, self.time - self.last_record_t)
