"""Line mode: status lines (or JSON objects) at a steady interval.

What `runwatch tail` prints when there is no terminal (tmux pipes, nohup,
cron, `| tee`), and with `--headless`. It reads only snapshots.
`StatusSchedule` decides when a status is due, for this printer and for the
`runwatch watch` daemon alike: the first once there is something to show
(not a "[waiting] no step yet" for a log that is being read), then every
interval, and a last one at exit only if it says something new.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TextIO

from runwatch.alerts.types import Notification
from runwatch.feed import Subscription
from runwatch.model import Kind, Notice, Record, RunSnapshot, RunState, json_number
from runwatch.state.system import gpus_status, processes_status
from runwatch.text import one_line

# Metrics shown in a status line, in this order, when present.
LINE_METRICS = ("loss", "val_loss", "grad_norm", "lr", "step_time", "tokens_per_sec", "mfu")
FATAL_EVENTS = {"oom", "nccl_timeout", "nccl_error", "traceback", "child_failed", "killed",
                "segfault", "time_limit", "xid"}


class SnapshotSource(Protocol):
    def snapshots(self) -> list[RunSnapshot]: ...
    def wait(self, timeout: float) -> bool: ...
    def subscribe(self) -> Subscription[Notification | Notice]: ...
    @property
    def all_ended(self) -> bool: ...


def iso_utc(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def fmt_duration(s: float | None) -> str:
    """Seconds as a short human duration: 42s, 3m05s, 2h14m, 3d04h."""
    if s is None or not math.isfinite(s):
        return "?"
    s = max(0.0, s)
    if s < 60:
        return f"{s:.0f}s" if s >= 10 or s == int(s) else f"{s:.1f}s"
    m, sec = divmod(int(s), 60)
    if m < 60:
        return f"{m}m{sec:02d}s"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h}h{m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d{h:02d}h"


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
        return f"{v:.0f}"
    if name == "mfu":
        return f"{v:.1f}%"
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
        return f"{v:.2e}"
    return f"{v:.4g}"


SHORT = {"tokens_per_sec": "tok/s", "samples_per_sec": "samples/s", "step_time": "dt", "grad_norm": "gnorm"}


def status_line(snap: RunSnapshot) -> str:
    """One line a person reads at a glance."""
    p = snap.progress
    parts = [time.strftime("%H:%M:%S", time.localtime(snap.time)), snap.run, f"[{snap.state}]"]
    if p.step is not None:
        step = f"step {p.step}"
        if p.total_steps:
            step += f"/{p.total_steps}"
            if p.percent is not None:
                step += f" ({p.percent:.1f}%)"
        parts.append(step)
        if p.steps_per_sec:
            parts.append(f"{p.steps_per_sec:.3g} step/s")
        if p.total_steps and snap.state not in (RunState.FINISHED, RunState.CRASHED, RunState.ENDED):
            parts.append(f"ETA {fmt_duration(p.eta_s)}")
    elif snap.state == RunState.WAITING:
        parts.append("no step yet")
    for name in LINE_METRICS:
        if name in snap.metrics:
            parts.append(f"{SHORT.get(name, name)} {fmt_value(name, snap.metrics[name])}")
    if len(snap.ranks) > 1:
        ranks = " ".join(f"{r}:{rp.step}" for r, rp in sorted(snap.ranks.items())[:16])
        more = f" +{len(snap.ranks) - 16}" if len(snap.ranks) > 16 else ""
        parts.append(f"ranks {ranks}{more}")
    age = snap.last_record_age_s
    if age is not None:
        parts.append(f"last {fmt_duration(age)} ago")
    for note in snap.notes[:1]:
        parts.append(f"({note if len(note) <= 100 else note[:99] + '…'})")
    if snap.degraded:
        parts.append(f"DEGRADED: {len(snap.degraded)} runwatch thread(s) failed, latest {snap.degraded[-1]}")
    return "  ".join(parts)


def status_object(snap: RunSnapshot) -> dict[str, Any]:
    """The DESIGN §3 status object."""
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
    }


def event_line(rec: Record, run: str) -> str:
    step = f" at step {rec.step}" if rec.step is not None else ""
    rank = f" rank {rec.rank}" if rec.rank is not None else ""
    return f"{time.strftime('%H:%M:%S')}  {run}  ! {rec.event}{rank}{step}: {rec.message or ''}"


def alert_line(n: Any) -> str:
    """One human line for a notification (a `runwatch.alerts.types.Notification`)."""
    a = n.alert
    what = "RESOLVED" if str(n.state) == "resolved" else ("still firing" if n.repeat else "FIRING")
    labels = " ".join(f"{k}={v}" for k, v in a.labels if k != "run")
    return (f"{time.strftime('%H:%M:%S')}  {a.run}  {what} {a.severity} {a.rule}"
            f"{' ' + labels if labels else ''}: {a.summary}")


def _round(v: float | None, nd: int) -> float | None:
    if v is None or not math.isfinite(v):
        return None
    return round(v, nd)


FIRST_STATUS_GRACE_S = 2.0
"""How long the first status waits for the first records (or a note) of an existing log."""


def _gist(snaps: list[RunSnapshot]) -> tuple[object, ...]:
    """What a status says apart from the clock: equal gists print the same news."""
    return tuple((s.run, s.state, s.progress.step, s.records, s.notes,
                  tuple((a.key, a.state) for a in s.alerts)) for s in snaps)


def _ready(snap: RunSnapshot) -> bool:
    """Whether a first status of the run would say something settled: a note (waiting, reading a big
    history behind its tail), or records once its history is read (not a small log's first piece)."""
    return bool(snap.notes) or (snap.records > 0 and not snap.reading_history)


class StatusSchedule:
    """When a status is due: the first once every run has a note or its history read (or `grace` seconds after
    start), then every `interval`; at exit, once more only if something changed since the last."""

    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic,
                 grace: float = FIRST_STATUS_GRACE_S) -> None:
        self.interval, self.grace = interval, grace
        self._clock = clock
        self._start = self._next = clock()
        self._last: tuple[object, ...] | None = None

    @property
    def started(self) -> bool:
        """Whether a status has been printed."""
        return self._last is not None

    def wait_s(self) -> float:
        """How long the caller may sleep before asking again."""
        if not self.started:
            return 0.2
        return min(0.5, max(0.05, self._next - self._clock()))

    def is_time(self) -> bool:
        """Whether the interval has passed (cheap: ask before taking snapshots)."""
        return self._clock() >= self._next

    def take(self, snaps: list[RunSnapshot]) -> bool:
        """Whether to print `snaps` now (they are then counted as printed)."""
        if not self.is_time():
            return False
        early = self._clock() - self._start < self.grace
        if not self.started and early and not (snaps and all(_ready(s) for s in snaps)):
            return False
        self.printed(snaps)
        return True

    def printed(self, snaps: list[RunSnapshot]) -> None:
        self._last = _gist(snaps)
        self._next = self._clock() + self.interval

    def is_news(self, snaps: list[RunSnapshot]) -> bool:
        """Whether a status of `snaps` would tell more than the last one printed."""
        return _gist(snaps) != self._last


class HeadlessPrinter:
    """Prints status at a steady interval, and events as they come."""

    def __init__(self, out: TextIO, err: TextIO, *, interval: float = 10.0, as_json: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.out, self.err = out, err
        self.interval = interval
        self.as_json = as_json
        self._clock = clock
        self._seen_events: dict[str, tuple[str, int]] = {}

    def run(self, source: SnapshotSource, should_stop: Callable[[], bool],
            until_done: Callable[[list[RunSnapshot]], bool] | None = None) -> list[RunSnapshot]:
        """Print until `should_stop()` or `until_done(snapshots)`; returns the last snapshots.

        The last status is printed at exit unless the one just printed already said it all.
        """
        schedule = StatusSchedule(self.interval, clock=self._clock)
        news = source.subscribe()
        snaps: list[RunSnapshot] = []
        while not should_stop():
            if schedule.started or not any(s.records for s in source.snapshots()):
                source.wait(schedule.wait_s())
            alerts = self._news(news)
            snaps = source.snapshots()
            self._events(snaps)
            self._alerts(alerts)
            if schedule.take(snaps):
                self.print_status(snaps)
            if until_done is not None and until_done(snaps):
                break
        snaps = source.snapshots()
        self._events(snaps)
        self._alerts(self._news(news))
        if schedule.is_news(snaps):
            self.print_status(snaps)
        return snaps

    def _news(self, news: Subscription[Notification | Notice]) -> list[Notification]:
        """Source notices to stderr at once; the alert notifications, to print after the events."""
        taken = news.take()
        if taken.missed:
            self.err.write(f"runwatch: {taken.missed} notices and alerts not shown (printing fell behind)\n")
        alerts = []
        for item in taken.items:
            match item:
                case Notice():
                    self.err.write(one_line(f"runwatch: {item.source}: {item.message}") + "\n")
                case Notification():
                    alerts.append(item)
        self.err.flush()
        return alerts

    def _alerts(self, notes: list[Notification]) -> None:
        """Every alert transition at once: the DESIGN §5 payload, or one line."""
        for n in notes:
            if self.as_json:
                self.out.write(json.dumps(n.payload(), allow_nan=False) + "\n")
            else:
                self.out.write(one_line(alert_line(n)) + "\n")
        if notes:
            self.out.flush()

    def print_status(self, snaps: list[RunSnapshot]) -> None:
        for s in snaps:
            if self.as_json:
                self.out.write(json.dumps(status_object(s), allow_nan=False) + "\n")
            else:
                self.out.write(one_line(status_line(s)) + "\n")
        self.out.flush()

    def _events(self, snaps: list[RunSnapshot]) -> None:
        """Print each new event record once, at once."""
        for s in snaps:
            last_key = self._seen_events.get(s.run)
            new: list[Record] = []
            for rec in reversed(s.events):
                if (rec.source, rec.line) == last_key:
                    break
                new.append(rec)
            if not s.events:
                continue
            self._seen_events[s.run] = (s.events[-1].source, s.events[-1].line)
            for rec in reversed(new):
                if rec.kind == Kind.EVENT and rec.event in FATAL_EVENTS | {"checkpoint_saved", "finished", "exit"}:
                    if self.as_json:
                        obj = {"type": "event", "time": iso_utc(rec.t or time.time()), "run": s.run,
                               **_event_fields(rec)}
                        self.out.write(json.dumps(obj, allow_nan=False) + "\n")
                    else:
                        self.out.write(one_line(event_line(rec, s.run)) + "\n")
            self.out.flush()


def _event_fields(rec: Record) -> Mapping[str, Any]:
    d = rec.to_json()
    d.pop("kind", None)
    return d
