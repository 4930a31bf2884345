"""Feeding records to a RunTracker on a fake clock and collecting what the rules say.

`feed` is for table-driven rule tests (one record per `dt` seconds);
`replay` drives a whole log the way the engine would live: a synthetic clock
advances by each step's logged `step_time` (evals pause it by `eval_pause`),
and the rules are evaluated as the engine ticks: at most once a `tick`, at
the time the next record arrives and before it is applied (so a stall in
the gap before it is seen), and once more at the end.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runwatch.alerts.rules import Rule, default_rules
from runwatch.alerts.types import Finding
from runwatch.model import Kind, Record
from runwatch.parsers.source import SourceParser
from runwatch.state.run import RunTracker

T0 = 1_700_000_000.0


def step(n: int | None, rank: int | None = None, total: int | None = None, **metrics: float) -> Record:
    return Record(Kind.STEP, step=n, total_steps=total, rank=rank, metrics=metrics)


def step_with(n: int | None, metrics: Mapping[str, float], rank: int | None = None) -> Record:
    """A step record with metrics given as a mapping (names chosen at run time)."""
    return Record(Kind.STEP, step=n, rank=rank, metrics=dict(metrics))


def evaluation(n: int | None, **metrics: float) -> Record:
    return Record(Kind.EVAL, step=n, metrics=metrics)


def event(name: str, rank: int | None = None, message: str | None = None, **metrics: float) -> Record:
    return Record(Kind.EVENT, event=name, rank=rank, message=message or name, metrics=metrics)


def feed(records: Iterable[Record], *, dt: float = 1.0, tracker: RunTracker | None = None,
         start: float = T0) -> tuple[RunTracker, float]:
    """Apply records one per `dt` seconds (line time = receive time); the tracker and the last time."""
    tracker = tracker or RunTracker("train", "logs/train.log")
    now = start - dt
    for rec in records:
        now += dt
        tracker.apply(dataclasses.replace(rec, t=now), now)
    return tracker, now


def losses(values: Sequence[float], start: int = 0, **extra: float) -> list[Record]:
    """Step records start, start+1, … carrying `loss` (and the same `extra` metrics each)."""
    return [step_with(start + i, {"loss": v, **extra}) for i, v in enumerate(values)]


def metric_steps(metric: str, values: Sequence[float], start: int = 0) -> list[Record]:
    return [step_with(start + i, {metric: v}) for i, v in enumerate(values)]


@dataclass
class Replay:
    tracker: RunTracker
    fired: list[tuple[float, Finding]] = field(default_factory=list)
    end: float = T0

    def rules_fired(self) -> set[str]:
        return {f.rule for _, f in self.fired}

    def of(self, rule: str) -> list[Finding]:
        return [f for _, f in self.fired if f.rule == rule]

    def first(self, rule: str) -> Finding:
        found = self.of(rule)
        assert found, f"{rule} never fired; fired: {sorted(self.rules_fired())}"
        return found[0]


def replay(records: Iterable[Record], rules: Sequence[Rule] | None = None, *, default_dt: float = 1.0,
           eval_pause: float = 30.0, tick: float = 1.0, max_gap: float = 60.0, run: str = "run") -> Replay:
    """Drive records through a tracker on a synthetic clock, evaluating `rules` as the engine would.

    One record advances the clock by at most `max_gap` seconds: excerpts elide
    lines ("step 1" then "step 19559"), which is no 23-hour silence.
    """
    rules = list(rules) if rules is not None else default_rules()
    out = Replay(RunTracker(run, "log"))
    clock = last_eval = T0
    top: int | None = None
    for rec in records:
        before = clock
        clock, top = _advance(clock, rec, top, default_dt, eval_pause)
        clock = min(clock, before + max_gap)
        if clock - last_eval >= tick:  # a tick: it sees what arrived before this record, as live
            _evaluate(out, rules, clock)
            last_eval = clock
        out.tracker.apply(dataclasses.replace(rec, t=clock), clock)
    _evaluate(out, rules, clock)
    out.end = clock
    return out


def replay_lines(lines: Sequence[str], rules: Sequence[Rule] | None = None, **kw: Any) -> Replay:
    """Parse `lines` as one source (format detected) and replay the records."""
    parser = SourceParser("log")
    records = parser.feed(list(lines), 1, 0.0) + parser.flush()
    return replay(records, rules, **kw)


def _advance(clock: float, rec: Record, top: int | None, default_dt: float,
             eval_pause: float) -> tuple[float, int | None]:
    if rec.kind == Kind.EVAL:
        return clock + eval_pause, top
    if rec.kind != Kind.STEP:
        return clock + 0.01, top
    if rec.step is not None and top is not None and rec.step <= top:
        return clock, top  # another rank's line for a step already seen
    stride = 1 if rec.step is None or top is None else rec.step - top
    logged = rec.metrics.get("step_time")
    per_step = logged if logged is not None and math.isfinite(logged) and logged > 0 else default_dt
    return clock + per_step * stride, rec.step if rec.step is not None else top


def _evaluate(out: Replay, rules: Sequence[Rule], now: float) -> None:
    for rule in rules:
        out.fired.extend((now, f) for f in rule.evaluate(out.tracker, now))
