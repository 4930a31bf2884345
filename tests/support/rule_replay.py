"""Records for rule tests, a fake clock to feed them on, and `runwatch.replay` with test defaults.

`feed` is for table-driven rule tests (one record per `dt` seconds);
`replay` drives a whole log the way the engine would live, through
`runwatch.replay` (the clock `runwatch check` uses: step lines' own
timestamps when they carry them, else a synthetic clock that advances by
each step's logged `step_time`, evals pausing it by `eval_pause`), with
every default rule unless told otherwise; the rules are evaluated as the
engine ticks: at most once a `tick`, at the time the next record arrives
and before it is applied (so a stall in the gap before it is seen), and
once more at the end.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from runwatch import replay as replaying
from runwatch.alerts.rules import Rule, default_rules
from runwatch.alerts.types import Finding
from runwatch.model import Kind, Record
from runwatch.parsers.source import SourceParser
from runwatch.replay import T0, ReplayClock
from runwatch.state.run import RunTracker

__all__ = [
    "T0", "Replay", "evaluation", "event", "feed", "losses", "metric_steps", "replay", "replay_lines", "step",
    "step_with",
]


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


class Replay(replaying.Replay):
    """`runwatch.replay.Replay` (with `rules_fired`, `of`, `first`), its findings also as `fired`."""

    @property
    def fired(self) -> list[tuple[float, Finding]]:
        return self.findings


def replay(records: Iterable[Record], rules: Sequence[Rule] | None = None, *, default_dt: float = 1.0,
           eval_pause: float = 30.0, tick: float = 1.0, max_gap: float = 60.0, run: str = "run") -> Replay:
    """`runwatch.replay.replay` with every default rule unless `rules` are given, on a `ReplayClock`.

    One record advances the synthetic clock by at most `max_gap` seconds:
    excerpts elide lines ("step 1" then "step 19559"), which is no 23-hour silence.
    """
    clock = ReplayClock(default_dt=default_dt, eval_pause=eval_pause, max_gap=max_gap)
    out = replaying.replay(records, default_rules() if rules is None else list(rules), clock=clock, tick=tick,
                           run=run)
    return Replay(out.tracker, out.findings, out.notifications, out.end)


def replay_lines(lines: Sequence[str], rules: Sequence[Rule] | None = None, **kw: Any) -> Replay:
    """Parse `lines` as one source (format detected) and replay the records."""
    parser = SourceParser("log")
    records = parser.feed(list(lines), 1, 0.0) + parser.flush()
    return replay(records, rules, **kw)
