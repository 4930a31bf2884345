"""The values of a run report: what `runwatch check` read of a run (`RunFacts`) and the numbers computed
from it (`RunNumbers`), as frozen dataclasses that the Markdown, the HTML and `--json` all read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from runwatch.model import TOKEN_COUNTS, Preamble, SystemSample, json_number
from runwatch.state.run import RunTracker

LOSS = ("loss", "train_loss")
VAL = ("val_loss", "val_bpb")
"""Validation metrics, the first one logged is the run's (nanochat logs bits per byte)."""
THROUGHPUT = ("tokens_per_sec", "samples_per_sec")
LR = ("lr", "lrm")
DRAWN = frozenset((*LOSS, *VAL, *LR, *THROUGHPUT, *TOKEN_COUNTS, "grad_norm", "step_time", "mfu", "eval_runtime"))
"""The metrics a report or a comparison reads over the whole run: only their series keep a history (the
others' folding was half of it on a nanochat log: 1.2 s of 2.6 s on 2M lines). `elapsed` is read for its
newest value only."""
TAIL_SHARE = 0.10
"""The share of the run (by steps) whose slope says whether the loss still falls."""
FLAT_PCT = 1.0
"""A loss that moves less than this percent over the last 10% of the run is flat."""
TAIL_MIN_POINTS = 5
"""Points the last 10% must hold for its slope to say anything: a line through fewer tells nothing of a
trend (a 20-step run's last tenth is two steps)."""
STALL_FACTOR = 3.0
"""A step that took more than this many times the median step time lost its excess to a stall."""


@dataclass(frozen=True)
class AlertRow:
    """One alert as `runwatch check` reports it (runwatch.commands.check.Fired)."""

    rule: str
    severity: str
    labels: dict[str, Any]
    summary: str
    first_step: int | None
    last_step: int | None
    times: int
    end: str
    """"still firing at the end", "cleared before the end" or "resolved"."""


@dataclass(frozen=True)
class Overview:
    name: str
    source: str
    state: str
    """finished, crashed, ended or incomplete (check's words)."""
    cause: str | None
    """For a crashed run: the event that ended it and its line."""
    step: int | None
    total_steps: int | None
    start: float | None
    end: float | None
    runtime_s: float | None
    runtime_basis: str
    host: str | None
    hardware: str | None
    command: str | None
    records: int
    times_basis: str = ""
    """What said the start and the end when no W&B run or stamped log line did ("TensorBoard's event
    times", "checkpoint saves (their files' times)"); "" when they came from one of those, or are not known."""


@dataclass(frozen=True)
class Settings:
    """A table of settings and where they came from."""

    origin: str
    rows: list[tuple[str, str]]


@dataclass(frozen=True)
class LossNumbers:
    name: str
    start: float | None
    end: float | None
    minimum: float | None
    min_step: float | None
    tail_from_step: float | None
    tail_change_pct: float | None
    """Change of the fitted line over the last 10% of the run, percent of its level there."""
    per_1k_steps_pct: float | None
    trend: str | None
    """"falling", "flat" or "rising" over the last 10%; None when its points cannot tell (too few, or a
    change smaller than its own noise: `tail_noise_pct`)."""
    nonfinite: int
    first_nonfinite_step: float | None
    val_name: str | None = None
    best_val: float | None = None
    best_val_step: float | None = None
    last_val: float | None = None
    gap_end: float | None = None
    """Last validation value minus the training loss at its step (positive: validation is worse)."""
    tail_points: int = 0
    """Finite values in the last 10% of the run (fewer than `TAIL_MIN_POINTS`: no slope is given)."""
    tail_span_steps: float | None = None
    """Steps from the first to the last of those points: what a rate per N steps may be stated per."""
    tail_noise_pct: float | None = None
    """Two standard errors of `tail_change_pct`: a change smaller than this is no trend the points show."""


@dataclass(frozen=True)
class ThroughputNumbers:
    name: str | None
    median: float | None
    p10: float | None
    mfu_median: float | None
    step_time_median_s: float | None
    stall_s: float | None
    stall_steps: int
    steps_s: float | None
    """Seconds all the steps took, as their step times add up (what `stall_s` is a share of)."""
    evals: int
    eval_s: float | None


@dataclass(frozen=True)
class CheckpointNumbers:
    count: int
    last: str | None
    last_step: int | None
    last_size_bytes: float | None
    write_s: float | None


@dataclass(frozen=True)
class RunNumbers:
    overview: Overview
    settings: list[Settings]
    loss: LossNumbers | None
    throughput: ThroughputNumbers
    checkpoints: CheckpointNumbers
    alerts: list[AlertRow]
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Strict JSON: non-finite numbers as "nan"/"inf" (DESIGN §2)."""
        out: dict[str, Any] = _strict(asdict(self))
        return out


def _strict(value: Any) -> Any:
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, dict):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    return value


SOURCE_TIMES = "source_times"
"""The key of a run's metadata (`runwatch check` sets it) that maps what stamped the structured sources'
records with their own time ("TensorBoard's event times", "checkpoint saves (their files' times)") to the
first and the last such time."""
CHECKPOINT_TIMES = "checkpoint saves (their files' times)"


@dataclass(frozen=True)
class RunFacts:
    """What `runwatch check` read of one run, as the report needs it."""

    name: str
    source: str
    tracker: RunTracker
    end: float
    state: str
    meta: Mapping[str, Any]
    samples: Sequence[SystemSample]
    alerts: list[AlertRow]
    notes: list[str]
    synthetic_time: bool
    """No source carried its own time: the run's times are the replay's estimate from step times."""
    own_times: bool = False
    """The step lines carry their own timestamps: the time between the first and the last is the runtime."""
    times_by: str = ""
    """What stamped them, where a structured source beside the log did (`Replay.times_by`)."""
    preambles: Sequence[tuple[str, Preamble]] = ()
    """The settings each log printed at its top (its file name, what it printed)."""
