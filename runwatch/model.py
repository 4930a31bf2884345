"""Plain value types shared by every layer (DESIGN §2, §3).

Everything here is a frozen dataclass or an enum with no behaviour beyond
conversion to JSON, so that parsers, state, rules and front ends can exchange
values across threads without copies or locks.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol

from runwatch import patterns

if TYPE_CHECKING:
    from runwatch.feed import Subscription


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
    OVERFLOW = "overflow"
    """fp16 loss-scale overflow (DeepSpeed/apex): the step was skipped, the scale reduced."""
    FINISHED = "finished"
    """The run says it is done (final summary dict, `Total training time`, …)."""
    EXIT = "exit"
    """The watched process (stdin pipe or child) ended; `metrics["exit_code"]` when known."""
    RESTARTED = "restarted"
    """The run started again from its beginning in the same output (its step went back to where it began):
    a new attempt, charted and judged on its own (runwatch.state.attempts)."""
    LAUNCHED = "launched"
    """The log's opening line printed again after a fatal error, in a log of no step records yet: the script
    launched anew into the same output (runwatch.parsers.launches); the crash before it was an earlier
    launch's."""


NEW_ATTEMPT = frozenset({Event.RESTARTED, Event.LAUNCHED})
"""Events after which the run is another attempt: a crash before one is an earlier attempt's."""


COMMAND_LINE_REFUSED = "command_line_refused"
"""A `traceback` event's metric, 1: argparse refused the script's command line (`train_bash.py: error: argument --fp16:
…`): the script exited before it trained, no exception of its own (runwatch.parsers.events; the crash alert says so)."""
ELASTIC_SIGNAL = patterns.compile(r"SignalException: Process \d{1,10} got signal: (\d{1,3})\b")
"""torch elastic's exception for a signal its agent received (`SignalException: Process 49154 got signal: 15`) and the
signal's number: the launcher itself was stopped, a kill (runwatch.parsers.events), whose signal the crash alert names
(runwatch.alerts.rules.crash)."""
ENDED_TRAINING = "ended_training"
"""A fatal event's metric, 1: the trainer said this exception ended its training (detectron2's `Exception during
training:` before the traceback, runwatch.parsers.events), so a step line its teardown writes after it is no sign
the run went on (runwatch.state.ending)."""


FATAL_EVENTS = frozenset({
    Event.OOM, Event.NCCL_TIMEOUT, Event.NCCL_ERROR, Event.CHILD_FAILED, Event.KILLED,
    Event.SEGFAULT, Event.TIME_LIMIT, Event.TRACEBACK,
})
"""Events that end a run unless a step record follows (a caught, printed traceback does not)."""


class _Fields:
    """A Record's slots, in field order: Record (frozen) and `_Draft` (its draft while made) share them."""

    __slots__ = ("kind", "step", "total_steps", "rank", "t", "metrics", "event", "message", "source", "line")


@dataclass(frozen=True, init=False)  # its slots are _Fields': no `slots=True`
class Record(_Fields):
    """One thing a parser understood from one line (or one multi-line block).

    `metrics` holds canonical names (DESIGN §2) with fixed units; non-finite
    values are kept as float NaN/Inf. `t` is the timestamp the line carries,
    or the wall time it was read; parsers leave it 0.0 when the line has none
    and the source stamps it.

    Immutable like any frozen dataclass once made, but made by its own
    `__new__`: the generated `__init__` sets each field through
    `object.__setattr__` (3.3 µs a Record), the slots' descriptors called one
    by one cost 0.8 µs, and a live line makes a Record or two. `__new__` fills
    a `_Draft` (the same slots, plain attribute stores: 0.3 µs) and turns it
    into a Record (`__class__`, which CPython allows between classes of one
    layout) before anyone sees it.
    """

    __slots__ = ()
    kind: Kind
    step: int | None
    total_steps: int | None
    rank: int | None
    t: float
    metrics: Mapping[str, float]
    event: str | None
    message: str | None
    source: str
    line: int

    def __new__(
        cls, kind: Kind, step: int | None = None, total_steps: int | None = None, rank: int | None = None,
        t: float = 0.0, metrics: Mapping[str, float] | None = None, event: str | None = None,
        message: str | None = None, source: str = "", line: int = 0,
    ) -> Record:
        rec: Any = _new(_Draft)
        rec.kind = kind
        rec.step = step
        rec.total_steps = total_steps
        rec.rank = rank
        rec.t = t
        rec.metrics = {} if metrics is None else metrics
        rec.event = event
        rec.message = message
        rec.source = source
        rec.line = line
        rec.__class__ = cls
        made: Record = rec
        return made

    def __reduce__(self) -> tuple[type[Record], tuple[Any, ...]]:
        """Pickled and copied as its fields, made again by `__new__` (the dataclass's own `__setstate__`
        would need a Record made without them)."""
        return Record, (self.kind, self.step, self.total_steps, self.rank, self.t, self.metrics, self.event,
                        self.message, self.source, self.line)

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


class _Draft(_Fields):
    """A Record while `Record.__new__` fills it: the same slots, set as any object's (see Record)."""

    __slots__ = ()


_new = object.__new__
_SET_RANK, _SET_T, _SET_SOURCE, _SET_LINE = (vars(_Fields)[f].__set__ for f in ("rank", "t", "source", "line"))
"""The slots' own setters of the fields a source stamps on the record its parser just made (runwatch.parsers.
source, `stamp`): a frozen class refuses `rec.x = …`, as it should once the record is out."""


def completed(rec: Record, rank: int | None, t: float, source: str, line: int) -> Record:
    """`rec` with its source and line number, and the rank and read time where the line stated none, set in
    place: only for a record just made that nobody else holds, a format parser's answer as its source
    takes it over (runwatch.parsers.base.FormatParser.parse). A stamped copy cost a second Record on
    every step line of a live log."""
    if rec.rank is None and rank is not None:
        _SET_RANK(rec, rank)
    if not rec.t and t:
        _SET_T(rec, t)
    _SET_SOURCE(rec, source)
    _SET_LINE(rec, line)
    return rec


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
    ENDED = "ended"
    """The training process is gone with no finish line and no sign of failure (no traceback, no exit
    code or signal runwatch saw): neither finished nor crashed as far as anything shows."""


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
    key: str = ""
    """Identity (rule + labels): what the TUI passes back to silence or acknowledge."""
    since: float | None = None
    """When it fired (or became pending, or resolved: the time of its current state)."""
    step: int | None = None
    last_step: int | None = None
    """The newest step the condition was seen at, where its rule says (a later NaN while it fires); not
    in the status JSON."""
    value: float | str | None = None
    acknowledged: bool = False
    silenced: bool = False
    badge: RunState | None = None
    """What the alert, firing, says its run is (its rule declares it: `Rule.badge`); not in the status JSON,
    whose `state` already says it."""
    lagging_rank: bool = False
    """Whether, firing, it names in its `rank` label a rank that lags the others (`Rule.names_lagging_rank`)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "state": str(self.state), "severity": str(self.severity)}
        if self.summary:
            out["summary"] = self.summary
        if self.labels:
            out["labels"] = dict(self.labels)
        if self.step is not None:
            out["step"] = self.step
        if self.value is not None:
            out["value"] = json_number(self.value) if isinstance(self.value, float) else self.value
        if self.acknowledged:
            out["acknowledged"] = True
        if self.silenced:
            out["silenced"] = True
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
    started_t: float | None = None
    """When the run started, on its records' clock; None when they cannot say (`ProgressTracker.started_t`)."""


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
    events_seen: int = 0
    """Event records the run has had in all, `events` the newest of them: how a front end that prints each
    event once (line mode) knows how many are new since its last look, and how many it never saw (more
    came at once than `events` holds: a big history's noisy stretch). 0: not counted (a node of an older
    runwatch); the events are then told apart by (source, line)."""
    format: str | None = None
    notes: tuple[str, ...] = ()
    """One-line remarks for the user (waiting for file, permission denied …)."""
    alerts: tuple[AlertBrief, ...] = ()
    processes: tuple[ProcessSample, ...] = ()
    """The watched processes at the latest system sample (main, ranks, children); () when not sampling."""
    gpus: tuple[GpuSample, ...] = ()
    """The GPUs at the latest system sample; a GPU that could not be read has `error`."""
    gpu_status: str = "off: GPU sampling not enabled"
    meta: Mapping[str, Any] = field(default_factory=dict)
    """What the run says about itself where a source knows it (W&B config, summary, run name)."""
    reading_history: bool = False
    """Whether a source of the run is still reading what it held at start (the numbers will jump)."""
    previewing: bool = False
    """Whether what it shows (figures, events) is the quick look at a big log's tail taken before its history
    is read: the history brings the same tail's events again, with their line numbers in the whole file."""
    degraded: tuple[str, ...] = ()
    """runwatch's own threads that failed (`supervise.Supervisor.degraded`), one line each; () when all is well."""
    unreachable: str = ""
    """Why the node that follows this run does not answer (`runwatch tail http://NODE:PORT`): the rest of the
    snapshot is then its last known state. "" while it answers, and for every run followed here."""

    @property
    def last_record_age_s(self) -> float | None:
        return None if self.last_record_t is None else max(0.0, self.time - self.last_record_t)

    @property
    def measured(self) -> bool:
        """Whether anything of the run's training was read: a step, a metric, or the run's own word that it
        finished or crashed (a script that logs no step, only `✅ Training completed in 3 days, …`: a review
        read it finished; a DeepSpeed job's NCCL timeout before its first step); not other events alone (a
        review's T5 log gave only its checkpoint lines). `runwatch check` and `tail` in line mode call a run
        of which nothing was measured UNREAD, exit 3."""
        return bool(self.records) and (self.progress.step is not None or bool(self.metrics)
                                       or self.state in (RunState.FINISHED, RunState.CRASHED))


NoticeLevel = Literal["info", "warning", "error"]


@dataclass(frozen=True, slots=True)
class Notice:
    """Something a human should know about a source: one readable line (a source raises it, the engine
    publishes it to every front end)."""

    source: str
    level: NoticeLevel
    message: str


@dataclass(frozen=True, slots=True)
class ChartData:
    """One metric of one run, downsampled to a chart's width (min/max per column).

    Arrays are numpy float64 of equal length, one entry per column; a column that
    held a NaN has NaN in `ymin`/`ymax` (so it is drawn as a marker, not skipped),
    `nonfinite` counts the non-finite points folded into each column.
    """

    run: str
    metric: str
    rank: int | None
    x: Any
    ymin: Any
    ymax: Any
    ylast: Any
    nonfinite: Any
    points: int
    """How many points the series holds in all (before downsampling)."""
    mean: Any = None
    """Mean of each column's finite values (NaN where none), and `count` its points: what smoothing
    weighs a column by (None: each column one point, its last value)."""
    count: Any = None
    until: float | None = None
    """Wall-time axis of a run still going: the time the chart was taken. The axis runs to it, so a run
    silent since its last point shows the silence as it happens (the hole was seen only once steps came
    again: a new user's review)."""


class XAxis(StrEnum):
    """What a chart's x axis counts."""

    STEP = "step"
    TIME = "time"
    """Wall time: columns of equal time span, `x` the time of each (a hang is a hole)."""
    TOKENS = "tokens"
    """Tokens seen: the step columns placed at the tokens the run had seen by then (runs of different
    batch sizes line up); known from a logged count or from tokens/s × step time (`knows_tokens`)."""


SPLIT_METRICS = frozenset({"train", "learn", "val", "valid", "validation", "test"})
"""Values a loop labels by their data split alone (`Epoch [1/30] Train: 0.0962 | Val: 0.0991 | 457.0s`, CatBoost's
`learn: 0.74  test: 0.83`): its loss on that split as often as not, or a score; the parsers keep the name as written
(no guess makes it `loss`), the NaN rule judges each as it judges a loss, and a line of them beside progress bars is
the loop's summary (runwatch.parsers.beside). Such a log's epochs were read as no record at all (a review)."""
ERROR_MEASURES = frozenset({"rmse", "mse", "mae", "rmsle", "l1", "l2", "logloss", "mlogloss", "nloglik", "deviance",
                            "merror"})
"""Words of a metric's name (between `_`) that make it a measure of the model's error, as a loss is: gradient
boosting's evaluation metrics (XGBoost's `train-rmse`, `valid-logloss`, `poisson-nloglik`; LightGBM's `valid_0's l2`,
`binary_logloss`), a loop's `val_mse`. NaN or Inf there is the model gone bad: an XGBoost fit whose learning rate
overflowed printed `train-rmse:inf` then `nan` for every round, judged OK (a review's leftover). Not `mape` (infinite
wherever a label is 0: the data, not the model) nor a bare `error` (as often a count of failed samples, `decode_error`:
a code review)."""


def names_error_measure(name: str) -> bool:
    """Whether a (snake_case) metric's name says it measures the model's error (`ERROR_MEASURES`): `valid_rmse`."""
    return not ERROR_MEASURES.isdisjoint(name.split("_"))
OTHER_LOSSES_SHOWN = 2
"""The most losses of other names shown in `loss`'s place (`other_losses`)."""


EVAL_WORDS = ("val", "valid", "validation", "eval", "evaluation", "test")
"""Words that say a value is an evaluation's, not training's: a metric's prefix (`val_loss`), a line's first
word (runwatch.parsers.keyvalue), a word of a bracketed line's name (`Smoothed Validation Loss`)."""
_EVAL_PREFIXES = tuple(f"{word}_" for word in EVAL_WORDS)


def is_eval_metric(name: str) -> bool:
    """Whether a (snake_case) metric comes from evaluation rather than training."""
    return name == "val_loss" or name.startswith(_EVAL_PREFIXES)


def other_losses(names: Iterable[str]) -> list[str]:
    """Up to `OTHER_LOSSES_SHOWN` of `names` named for a loss, in the order given: what stands in the place of
    `loss` on a status line and in the TUI's first charts where a run logs none (a distillation loop's `Task Loss`
    and `KD Loss`, YOLO's `box_loss` and `cls_loss`, a GAN's `d_loss` and `g_loss`)."""
    return loss_names(names)[:OTHER_LOSSES_SHOWN]


def loss_names(names: Iterable[str]) -> list[str]:
    """The names among `names` that name a loss, in the order given. Not `loss_scale`, a setting."""
    return [m for m in names if "loss" in m and m != "loss_scale"]


CLOCK_METRICS = frozenset({"elapsed", "eta", "epoch_elapsed", "epoch_eta"})
"""A log's own clock readings (a progress bar's `[elapsed<remaining]`, a loop's `eta`): they feed the run's
elapsed time and ETA and are no curve of training to chart (an epoch bar's restart every epoch, a saw-tooth)."""
TOKEN_COUNTS = ("consumed_tokens", "num_input_tokens_seen")
"""Metrics that count the tokens seen so far (Megatron; the HF Trainer with include_num_input_tokens_seen)."""
TOKEN_RATE = ("tokens_per_sec", "step_time")
"""Metrics whose product is the tokens of one step, when no count is logged (nanochat, nanoGPT forks)."""


def knows_tokens(metrics: Collection[str]) -> bool:
    """Whether a run logging these metrics can be charted against tokens seen."""
    return any(n in metrics for n in TOKEN_COUNTS) or all(n in metrics for n in TOKEN_RATE)


class Controller(Protocol):
    """What a front end may ask of the engine: read snapshots, act on alerts.

    The TUI holds one of these and nothing else of the engine; it never imports
    the watcher, parsers or rules.
    """

    def snapshots(self) -> list[RunSnapshot]: ...

    def chart(self, run: str, metric: str, width: int, *, rank: int | None = None,
              last_steps: float | None = None, x: XAxis = XAxis.STEP) -> ChartData | None:
        """`x`: what the x axis counts (steps, wall time or tokens seen); None when the run has no such
        metric, or no tokens to count."""

    def log_tail(self, run: str, lines: int) -> list[str]: ...

    def silence(self, alert_key: str, duration_s: float, comment: str = "") -> str: ...

    def acknowledge(self, alert_key: str) -> None: ...

    def set_paused(self, paused: bool) -> None: ...

    def subscribe(self) -> Subscription[object]:
        """The front end's own cursor on what is pushed rather than polled: alert notifications
        (`runwatch.alerts.types.Notification`) and source notices (`Notice`)."""
        ...


# ── System telemetry: what the psutil/NVML sampler hands to SystemState ──────────


class ProcessState(StrEnum):
    """A watched process as a person reads it (psutil's dozen states folded to six)."""

    RUNNING = "running"
    SLEEPING = "sleeping"
    DISK_SLEEP = "disk-sleep"
    """Uninterruptible wait, nearly always I/O (`D` in ps): the sign of an I/O stall."""
    STOPPED = "stopped"
    ZOMBIE = "zombie"
    GONE = "gone"


@dataclass(frozen=True)
class StackDump:
    """One process's Python stacks at `taken_at` (py-spy's dump, cleaned), or why there are none (`error`)."""

    pid: int
    taken_at: float
    lines: tuple[str, ...] = ()
    error: str = ""


class ProcessRole(StrEnum):
    """Why a process is watched, which decides what its exit means."""

    MAIN = "main"
    """Named by --pid, holding the log open, or a torchrun launcher."""
    RANK = "rank"
    """A worker whose environment names a RANK its parent does not have (torchrun's children)."""
    CHILD = "child"
    """Any other descendant (DataLoader workers, compilers): their exits are routine."""


@dataclass(frozen=True, slots=True)
class ProcessSample:
    """One watched process at one sample. A metric psutil cannot read (permission) is None."""

    pid: int
    name: str
    state: ProcessState
    role: ProcessRole = ProcessRole.MAIN
    found_by: str = "pid"
    """"pid" (named), "log" (holds the log open), "pipe" (writes to the log's pipe), "torchrun", "child"."""
    create_time: float = 0.0
    ppid: int | None = None
    rank: int | None = None
    local_rank: int | None = None
    cpu_percent: float | None = None
    """Percent of one core since the previous sample (None on the first)."""
    rss_bytes: int | None = None
    threads: int | None = None
    read_bps: float | None = None
    """Storage reads per second (`read_bytes`, what iotop shows)."""
    write_bps: float | None = None
    rchar_bps: float | None = None
    """Bytes per second through read() calls, page cache and network filesystems included."""
    open_fds: int | None = None
    exit_code: int | None = None
    """Known only for our own children (through the exit-code hook)."""
    ended_t: float | None = None
    """When the sampler first saw it gone (or a zombie)."""
    cmdline: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    """The watched files it was found writing, or its launcher, ranks or parent were (`-`: our stdin pipe);
    () when found otherwise (`--pid`). What attributes it to a run (`SystemState.processes_of`)."""

    @property
    def alive(self) -> bool:
        return self.state not in (ProcessState.GONE, ProcessState.ZOMBIE)


@dataclass(frozen=True, slots=True)
class GpuProcess:
    pid: int
    used_memory: int | None = None


@dataclass(frozen=True, slots=True)
class GpuSample:
    """One GPU at one sample; fields NVML does not support are None. A GPU that failed has `error`."""

    index: int
    name: str = ""
    uuid: str = ""
    util: float | None = None
    """Percent of time a kernel ran (reads 100% through a hung collective too)."""
    mem_util: float | None = None
    mem_used: int | None = None
    mem_total: int | None = None
    temp_c: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    sm_clock_mhz: float | None = None
    throttle_mask: int | None = None
    throttle: tuple[str, ...] = ()
    """Readable clock-throttle reasons: "power", "thermal", "hw_thermal", "hw_slowdown", "power_brake"."""
    ecc_uncorrected: int | None = None
    """Volatile (since driver load) uncorrected ECC errors."""
    ecc_corrected: int | None = None
    processes: tuple[GpuProcess, ...] = ()
    error: str | None = None
    """Why this GPU could not be read ("GPU is lost"); the entry is then a placeholder."""

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class DiskSample:
    path: str
    """The path asked about (a log or checkpoint location)."""
    total_bytes: int | None = None
    free_bytes: int | None = None
    error: str | None = None

    @property
    def free_percent(self) -> float | None:
        if self.total_bytes is None or self.free_bytes is None or self.total_bytes <= 0:
            return None
        return 100.0 * self.free_bytes / self.total_bytes


@dataclass(frozen=True, slots=True)
class HostSample:
    """The machine: CPU and iowait since the previous sample, memory, swap, load, disks."""

    cpu_percent: float | None = None
    iowait_percent: float | None = None
    mem_total: int | None = None
    mem_available: int | None = None
    swap_total: int | None = None
    swap_used: int | None = None
    swap_in_bps: float | None = None
    swap_out_bps: float | None = None
    load: tuple[float, float, float] | None = None
    cpus: int | None = None
    disks: tuple[DiskSample, ...] = ()


@dataclass(frozen=True, slots=True)
class SystemSample:
    """Everything one sampler tick saw; handed from the watcher to SystemState."""

    t: float
    processes: tuple[ProcessSample, ...] = ()
    gpus: tuple[GpuSample, ...] = ()
    gpu_status: str = "off: GPU sampling not enabled"
    host: HostSample | None = None


@dataclass(frozen=True)
class Preamble:
    """The `key: value` settings a log printed before its first loss (runwatch.parsers.preamble collects
    them), and the GPU model and world size among them."""

    settings: list[tuple[str, str]]
    gpu: str | None
    world_size: int | None

    def hardware(self) -> str | None:
        if self.gpu is None:
            return None
        return f"{self.world_size} × {self.gpu}" if self.world_size else self.gpu
