"""Snapshots as Prometheus metric families (README: the metric table, a contract for dashboards).

A custom `prometheus_client` collector on its own registry: nothing is kept between scrapes, every
family is built from the engine's current snapshots when Prometheus (or the textfile writer) asks, so
what it exports is exactly what the status line and `/api/v1/runs` say. A value runwatch does not know
is left out (absent, not 0); a NaN the trainer logged is exported as NaN, which is what an alert on it
looks for. Names follow Prometheus's conventions: base units, `_seconds`, `_ratio` (MFU as 0–1),
`_total` on counters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import CollectorRegistry

from runwatch import patterns
from runwatch.model import AlertBrief, AlertState, Event, GpuSample, Kind, Record, RunSnapshot, RunState

OVER = (RunState.FINISHED, RunState.CRASHED, RunState.ENDED)
"""A run in one of these states takes no more steps: it has no ETA."""
CHECKPOINT_NOT_SAVED = ("writing", "partial")
"""Checkpoint records (runwatch.watcher.checkpoints) that are not (yet) a saved checkpoint."""
ALERT_RESERVED = frozenset({"run", "host", "alertname", "alertstate", "severity", "rule"})


class SnapshotSource(Protocol):
    def snapshots(self) -> list[RunSnapshot]: ...


def _step_time(s: RunSnapshot) -> float | None:
    """The logged step time, else the one runwatch measures between steps."""
    if "step_time" in s.metrics:
        return s.metrics["step_time"]
    rate = s.progress.steps_per_sec
    return 1.0 / rate if rate else None


def _tokens_per_sec(s: RunSnapshot) -> float | None:
    return s.progress.tokens_per_sec if s.progress.tokens_per_sec is not None else s.metrics.get("tokens_per_sec")


def _percent_ratio(v: float | None) -> float | None:
    return None if v is None else v / 100.0


def saved_checkpoints(s: RunSnapshot) -> list[Record]:
    """The saved checkpoints among the run's recent events: a followed directory's complete ones and those
    the log says it saved."""
    return [e for e in s.events if (e.kind == Kind.CHECKPOINT and e.event not in CHECKPOINT_NOT_SAVED)
            or e.event == Event.CHECKPOINT_SAVED]


def _last_checkpoint(s: RunSnapshot) -> Record | None:
    saved = saved_checkpoints(s)
    return saved[-1] if saved else None


RunValue = Callable[[RunSnapshot], float | int | None]

RUN_GAUGES: Sequence[tuple[str, str, RunValue]] = (
    ("runwatch_step", "Latest optimizer step of the run.", lambda s: s.progress.step),
    ("runwatch_planned_steps", "Steps the run plans in all, where the log or --total-steps says.",
     lambda s: s.progress.total_steps),
    ("runwatch_progress_ratio", "Share of the planned steps done (0-1).", lambda s: _percent_ratio(s.progress.percent)),
    ("runwatch_last_record_timestamp_seconds", "Unix time runwatch last received a step or eval record.",
     lambda s: s.last_record_t),
    ("runwatch_step_time_seconds", "Seconds per step: as logged, else measured between steps.", _step_time),
    ("runwatch_steps_per_second", "Steps per second runwatch measures.", lambda s: s.progress.steps_per_sec),
    ("runwatch_tokens_per_second", "Training tokens per second.", _tokens_per_sec),
    ("runwatch_eta_seconds", "Estimated seconds until the planned last step (absent once the run is over).",
     lambda s: None if s.state in OVER else s.progress.eta_s),
    ("runwatch_elapsed_seconds", "Seconds the run has been going.", lambda s: s.progress.elapsed_s),
    ("runwatch_mfu_ratio", "Model FLOPs utilisation (0-1), as logged.", lambda s: _percent_ratio(s.metrics.get("mfu"))),
    ("runwatch_checkpoint_last_step", "Step of the newest saved checkpoint.",
     lambda s: c.step if (c := _last_checkpoint(s)) is not None else None),
    ("runwatch_checkpoint_last_write_timestamp_seconds", "Unix time the newest saved checkpoint was written.",
     lambda s: c.t or None if (c := _last_checkpoint(s)) is not None else None),
    ("runwatch_checkpoints_seen", "Saved checkpoints among the run's recent events (the newest 200 events).",
     lambda s: len(saved_checkpoints(s))),
    ("runwatch_degraded_threads", "runwatch's own threads that failed (0 when all is well).",
     lambda s: len(s.degraded)),
)


def families(snaps: Sequence[RunSnapshot], host: str) -> list[Metric]:
    """Every metric family for these snapshots, in the README's order."""
    out = [_gauge(name, doc, [({"run": s.run, "host": host}, get(s)) for s in snaps]) for name, doc, get in RUN_GAUGES]
    out.append(_gauge("runwatch_metric", "Last value of each metric the run logs (canonical names; NaN as NaN).",
                      [({"run": s.run, "host": host, "metric": k}, v) for s in snaps for k, v in s.metrics.items()]))
    out.append(_gauge("runwatch_run_state", "1 for the run's current state, 0 for the others.",
                      [({"run": s.run, "host": host, "state": str(st)}, float(s.state == st))
                       for s in snaps for st in RunState]))
    out.append(_gauge("runwatch_run_info", "Always 1: the run's source and log format.",
                      [({"run": s.run, "host": host, "source": s.source, "format": s.format or ""}, 1) for s in snaps]))
    out.append(_gauge("runwatch_rank_step", "Latest step of each rank.",
                      [({"run": s.run, "host": host, "rank": str(r)}, rp.step) for s in snaps for r, rp in s.ranks.items()]))
    out.append(_gauge("runwatch_rank_last_step_timestamp_seconds", "Unix time of each rank's latest step record.",
                      [({"run": s.run, "host": host, "rank": str(r)}, rp.t) for s in snaps for r, rp in s.ranks.items()]))
    records = Metric("runwatch_records", "Step and eval records runwatch has taken in for the run.", "counter")
    for s in snaps:
        records.add_sample("runwatch_records_total", {"run": s.run, "host": host}, float(s.records))
    out.append(records)
    out.extend(gpu_families(snaps, host))
    out.append(_gauge("runwatch_alert_firing", "1 while an alert of the rule fires for the run, 0 while one is "
                      "pending or resolved.", _rule_firing(snaps, host)))
    out.append(_gauge("runwatch_alerts", "ALERTS-style: 1 for each pending or firing alert, with its labels.",
                      [(_alert_labels(s.run, host, a), 1) for s in snaps for a in s.alerts
                       if a.state in (AlertState.PENDING, AlertState.FIRING)]))
    return out


GpuValue = Callable[[GpuSample], float | int | None]

GPU_GAUGES: Sequence[tuple[str, str, GpuValue]] = (
    ("runwatch_gpu_up", "1 while NVML reads the GPU, 0 when it fails (lost, fallen off the bus).", lambda g: int(g.ok)),
    ("runwatch_gpu_utilization_ratio", "Share of time a kernel ran (0-1).", lambda g: _percent_ratio(g.util)),
    ("runwatch_gpu_memory_used_bytes", "GPU memory in use.", lambda g: g.mem_used),
    ("runwatch_gpu_memory_total_bytes", "GPU memory in all.", lambda g: g.mem_total),
    ("runwatch_gpu_temperature_celsius", "GPU temperature.", lambda g: g.temp_c),
    ("runwatch_gpu_power_watts", "GPU power draw.", lambda g: g.power_w),
)


def gpu_families(snaps: Sequence[RunSnapshot], host: str) -> list[Metric]:
    """The machine's GPUs (the same in every run's snapshot: taken from the first that has them), labelled as
    dcgm-exporter labels its series (`gpu`, `UUID`, `modelName`, `Hostname`) so a dashboard can join them."""
    gpus = next((s.gpus for s in snaps if s.gpus), ())

    def labels(g: GpuSample) -> dict[str, str]:
        return {"host": host, "Hostname": host, "gpu": str(g.index), "UUID": g.uuid, "modelName": g.name}

    return [_gauge(name, doc, [(labels(g), get(g) if g.ok or name == "runwatch_gpu_up" else None) for g in gpus])
            for name, doc, get in GPU_GAUGES]


def _gauge(name: str, doc: str, samples: Sequence[tuple[dict[str, str], float | int | None]]) -> Metric:
    """A gauge family; samples whose value is unknown (None) are left out."""
    m = Metric(name, doc, "gauge")
    for labels, value in samples:
        if value is not None:
            m.add_sample(name, labels, float(value))
    return m


def _rule_firing(snaps: Sequence[RunSnapshot], host: str) -> list[tuple[dict[str, str], float | int | None]]:
    """One series per run, rule and severity: 1 if any of its alerts (any rank, metric…) fires."""
    seen: dict[tuple[str, str, str], int] = {}
    for s in snaps:
        for a in s.alerts:
            k = (s.run, a.rule, str(a.severity))
            seen[k] = max(seen.get(k, 0), int(a.state == AlertState.FIRING))
    return [({"run": run, "host": host, "rule": rule, "severity": sev}, v) for (run, rule, sev), v in seen.items()]


_LABEL_NAME = patterns.compile(r"[^a-zA-Z0-9_]")


def label_name(key: str) -> str:
    """An alert's label key as a valid Prometheus label name that cannot shadow ours (`label_run`)."""
    name = _LABEL_NAME.sub("_", key)
    if not name or name[0].isdigit() or name.startswith("__") or name in ALERT_RESERVED:
        name = "label_" + name
    return name


def _alert_labels(run: str, host: str, a: AlertBrief) -> dict[str, str]:
    labels = {label_name(k): str(v) for k, v in a.labels.items()}
    return {**labels, "run": run, "host": host, "alertname": a.rule, "alertstate": str(a.state),
            "severity": str(a.severity)}


class RunCollector:
    """A `prometheus_client` collector over the engine's snapshots, read at every scrape."""

    def __init__(self, source: SnapshotSource, host: str) -> None:
        self.source, self.host = source, host

    def collect(self) -> Iterator[Metric]:
        yield from families(self.source.snapshots(), self.host)

    def describe(self) -> list[Metric]:
        """Nothing: registering must not take snapshots (names are not checked for clashes on this registry)."""
        return []


def registry_for(source: SnapshotSource, host: str) -> CollectorRegistry:
    """A registry of its own (not the process-wide default) holding only runwatch's collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RunCollector(source, host))
    return registry
