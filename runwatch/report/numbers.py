"""The numbers of a run report, computed from the run state `runwatch check` builds: pure, no I/O.

Every figure the report prints and `--json` gives comes from here, so the
Markdown, the HTML and a script read the same numbers. What the sources do not
say stays None (the report says "not known"): a runtime is the run's own word
(the trainer's `train_runtime`, W&B's runtime, the log's elapsed time) before
runwatch's replay clock, which is only an estimate built from the logged step
times (`runtime_basis` says which).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from runwatch.model import Event, Kind, Preamble, Record, SystemSample
from runwatch.present import FATAL_EVENTS, config_tables
from runwatch.report.curves import curve, first_of
from runwatch.report.loss import loss_numbers
from runwatch.report.timing import stall_time, throughput_numbers
from runwatch.report.values import (
    CHECKPOINT_TIMES,
    LOSS,
    SOURCE_TIMES,
    THROUGHPUT,
    AlertRow,
    CheckpointNumbers,
    LossNumbers,
    Overview,
    RunFacts,
    RunNumbers,
    Settings,
)
from runwatch.state.run import RunTracker


def run_numbers(facts: RunFacts) -> RunNumbers:
    t = facts.tracker
    throughput = throughput_numbers(t, clock=not facts.synthetic_time, stated=facts.own_times)
    return RunNumbers(overview(facts), settings(facts.meta, facts.preambles), _first_bad(loss_numbers(t), facts.alerts),
                      throughput, checkpoint_numbers(t.events), facts.alerts, facts.notes)


def _first_bad(loss: LossNumbers | None, alerts: Sequence[AlertRow]) -> LossNumbers | None:
    """The loss numbers with the first non-finite value at its own step: the series folds a long run's older
    points into buckets and knows only the bucket (step 100166 for a NaN at 100071 of 150k); the nonfinite
    alert `check` raised says the step where the rule found it, the same one the report's Health table lists."""
    if loss is None or loss.first_nonfinite_step is None:
        return loss
    steps = [a.first_step for a in alerts if a.rule == "nonfinite" and a.labels.get("metric") == loss.name
             and a.first_step is not None and a.first_step <= loss.first_nonfinite_step]
    return replace(loss, first_nonfinite_step=float(min(steps))) if steps else loss


def overview(facts: RunFacts) -> Overview:
    t = facts.tracker
    meta = facts.meta
    run = _mapping(meta.get("run"))
    env = _mapping(meta.get("environment"))
    runtime, basis = runtime_of(facts)
    start = _number(run.get("start_time"))
    end = start + runtime if start is not None and runtime is not None else None
    times_basis = ""
    if start is None and facts.own_times:  # lines stamped with their time (Megatron, DeepSpeed, torchtitan), or
        start = _first_step_time(t)  # the records of a structured source beside a log without times
        end = facts.end if start is not None else None
        times_basis = facts.times_by if start is not None else ""
    if start is None and end is None and (said := times_said(meta)) is not None:
        start, end, times_basis = said
        if start is not None and end is not None and basis in (ESTIMATE, BAR_ESTIMATE, NOT_KNOWN):
            runtime, basis = end - start, times_basis
    cause = _crash_said(facts.alerts) or crash_cause(t.events) if facts.state == "crashed" else None
    name = facts.name + (f" (W&B run {run['name']})" if run.get("name") else "")
    machine = hardware(env, facts.samples) or next(
        (f"{h} (as the log says)" for _, p in facts.preambles if (h := p.hardware())), None)
    return Overview(name, facts.source, facts.state, cause, t.progress.step, t.progress.total, start, end,
                    runtime, basis, _str(run.get("host") or env.get("host")), machine,
                    _str(env.get("program")), t.records, times_basis)


def times_said(meta: Mapping[str, Any]) -> tuple[float | None, float, str] | None:
    """(start, end, what said them) from the times the structured sources stamped their records with, for a
    log without times (a review: a nanoGPT log beside its TensorBoard events said "not known"). A source
    that spans the run (TensorBoard's wall times, a metric file's) gives both; checkpoint saves give only
    the end (the last save), their first save being no start. None when no source stamped a time."""
    found = {by: span for by, span in _mapping(meta.get(SOURCE_TIMES)).items()
             if isinstance(span, tuple | list) and len(span) == 2}
    spans = {by: span for by, span in found.items() if by != CHECKPOINT_TIMES}
    if spans:
        by = min(spans, key=lambda b: spans[b][0])
        return float(spans[by][0]), max(float(s[1]) for s in found.values()), by
    if CHECKPOINT_TIMES in found:
        return None, float(found[CHECKPOINT_TIMES][1]), CHECKPOINT_TIMES
    return None


ESTIMATE, NOT_KNOWN = "the sum of the logged step times, an estimate", "not known"
BAR_ESTIMATE = "the progress bar's clock and step times, less its evaluations, an estimate"


def runtime_of(facts: RunFacts) -> tuple[float | None, str]:
    """The run's runtime and what said it: the trainer's own figure, W&B's, the log's elapsed time, else
    the replay's sum of step times."""
    finished = [r for r in reversed(facts.tracker.events) if r.event == Event.FINISHED]
    for key, basis in (("train_runtime", "the trainer's train_runtime"), ("runtime", "the W&B run")):
        for rec in finished:
            v = rec.metrics.get(key)
            if v is not None and math.isfinite(v):
                return float(v), basis
    elapsed = curve(facts.tracker, "elapsed")
    if elapsed is not None and elapsed.finite.any() and np.nanmax(elapsed.hi) > 0:  # a bar's [00:00] is < 1 s
        return float(np.nanmax(elapsed.hi)), "the log's elapsed time"
    snap = facts.tracker.snapshot(facts.end)
    if facts.own_times and snap.progress.elapsed_s is not None:
        return snap.progress.elapsed_s, facts.times_by or "the log's times"
    first = _first_step_time(facts.tracker) if facts.own_times else None
    if first is not None:
        return facts.end - first, "the records' times"
    # a clock the records stated, or one rebuilt from a bar's elapsed time (less its made-up evaluation pauses)
    took = stall_time(facts.tracker, clock=not facts.synthetic_time, stated=facts.own_times)[3]
    bar = not facts.synthetic_time and not facts.own_times  # the replay rebuilt the times from a bar's
    return (None, NOT_KNOWN) if took is None else (took, BAR_ESTIMATE if bar else ESTIMATE)


def _first_step_time(t: RunTracker) -> float | None:
    c = first_of(t, LOSS + THROUGHPUT + ("step_time",))
    times = c.t_first if c is not None and c.t_first is not None else None if c is None else c.t
    if times is None or not np.isfinite(times).any():
        return None
    return float(np.nanmin(times))  # each entry's first point: the run's first, not a bucket's last


def hardware(env: Mapping[str, Any], samples: Sequence[SystemSample]) -> str | None:
    """GPU model and count from W&B's environment or the sampled GPUs, and the CPU count."""
    parts: list[str] = []
    gpus = [g for g in env.get("gpu_nvidia", ()) if isinstance(g, Mapping)]
    names = sorted({str(g.get("name")) for g in gpus if g.get("name")}) or ([str(env["gpu"])] if env.get("gpu") else [])
    count = _number(env.get("gpu_count")) or len(gpus)
    if not names:
        sampled = max(samples, key=lambda s: len(s.gpus), default=None)
        if sampled is not None and sampled.gpus:
            names = sorted({g.name for g in sampled.gpus if g.name})
            count = len(sampled.gpus)
    if names or count:
        parts.append(f"{int(count) if count else '?'} × {', '.join(names) or 'GPU'}")
    if env.get("cpu_count"):
        parts.append(f"{env['cpu_count']} CPUs")
    if _number(env.get("memory_total")):
        parts.append(f"{float(env['memory_total']) / 2**30:.0f} GiB memory")
    return ", ".join(parts) or None


def _crash_said(alerts: Sequence[AlertRow]) -> str | None:
    """What the crash alert says of the crash: the root-cause rank and its words, as the Health table has
    them (the last fatal line named another rank: a peer's NCCL timeout after rank 0 raised)."""
    return next((a.summary for a in alerts if a.rule == "crash"), None)


def crash_cause(events: Sequence[Record]) -> str | None:
    """The last fatal event: its name and its line."""
    for rec in reversed(events):
        if rec.event in FATAL_EVENTS:
            step = f" at step {rec.step}" if rec.step is not None else ""
            return f"{rec.event}{step}: {rec.message}" if rec.message else f"{rec.event}{step}"
    return None


def settings(meta: Mapping[str, Any], preambles: Sequence[tuple[str, Preamble]] = ()) -> list[Settings]:
    """The config runwatch found, each table with its origin: the structured sources' (W&B's config,
    hparams.yaml, trainer_state.json, nanochat's meta file: `config_tables`), and the `key: value` lines a
    log printed before its first loss."""
    out = [Settings(table.origin, [(k, str(v)) for k, v in table.rows]) for table in config_tables(meta)]
    out += [Settings(f"the lines {name} printed before its first loss", p.settings) for name, p in preambles
            if p.settings]
    return out


def checkpoint_numbers(events: Sequence[Record]) -> CheckpointNumbers:
    """Complete checkpoints found on disk (the newest word on each), else the saves the log announced."""
    on_disk: dict[str, Record] = {}
    for r in events:
        if r.kind == Kind.CHECKPOINT:
            on_disk[r.source or r.message or ""] = r
    saved = [r for r in on_disk.values() if r.event == "complete"]
    if not on_disk:
        saved = [r for r in events if r.event == Event.CHECKPOINT_SAVED]
    if not saved:
        return CheckpointNumbers(0, None, None, None, None)
    last = max(saved, key=lambda r: (r.step if r.step is not None else -1, r.t))
    where = last.source if last.kind == Kind.CHECKPOINT and last.source else last.message
    return CheckpointNumbers(len(saved), where, last.step, last.metrics.get("size_bytes"), last.metrics.get("write_s"))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) else None


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
