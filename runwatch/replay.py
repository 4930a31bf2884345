"""Replaying a log's records through the rules as if live (`runwatch check`).

A log read at once carries no arrival times, so time is rebuilt: a log whose
step lines carry their own timestamps (Megatron, DeepSpeed, torchtitan) keeps
them, and gaps in it are real; otherwise a synthetic clock advances by each
step's logged `step_time` (1 s when there is none), eval records add an eval
pause, and one record never advances the clock by more than `max_gap` (an
excerpt that skips from step 1 to 19,559 is not a 23-hour silence). Rules are
evaluated as the engine ticks: at most once per `tick` seconds, before the
record that arrives at that time is applied, and once more at the end.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from runwatch.alerts.judge import Judge
from runwatch.alerts.lifecycle import AlertManager
from runwatch.alerts.rules import Rule
from runwatch.alerts.types import Finding, Notification
from runwatch.model import Kind, Record
from runwatch.parsers.failures import ParseFailures
from runwatch.state.run import RunTracker

T0 = 1_700_000_000.0
JUDGE_BATCH = 32
"""Records between two evaluations while the run streams: a NaN is still found (its step is where the
series holds it), at a 32nd of the cost of judging after every record."""
QUIET_S = 5.0


@dataclass
class Replay:
    """What a replay saw: the final run state, every finding, every notification."""

    tracker: RunTracker
    findings: list[tuple[float, Finding]] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    end: float = T0
    last_found_at: dict[str, int | None] = field(default_factory=dict)
    """Alert key → the run's step when the rule last found its condition (a finding's own step is
    where the trouble began: the first NaN), for `runwatch check`'s "last step"."""
    judge: Judge | None = None
    """The rules as evaluated; its `broken` names a rule that raised (and was left out from then on)."""
    parse_failures: list[ParseFailures] = field(default_factory=list)
    """Sources with lines their parser raised on (set by the caller that read them: `runwatch check`)."""

    def rules_fired(self) -> set[str]:
        """Ids of the rules that found something at least once."""
        return {f.rule for _, f in self.findings}

    def of(self, rule: str) -> list[Finding]:
        """Every finding of `rule`, in order."""
        return [f for _, f in self.findings if f.rule == rule]

    def first(self, rule: str) -> Finding:
        """The first finding of `rule`; LookupError (naming what did fire) when it never found anything."""
        found = self.of(rule)
        if not found:
            raise LookupError(f"{rule} never fired; fired: {sorted(self.rules_fired())}")
        return found[0]


class ReplayClock:
    """The time a record would have arrived at, rebuilt from the log."""

    def __init__(self, *, default_dt: float = 1.0, eval_pause: float = 30.0, max_gap: float = 60.0,
                 bar_time: Callable[[], bool] = lambda: False) -> None:
        self.default_dt, self.eval_pause, self.max_gap = default_dt, eval_pause, max_gap
        self.bar_time = bar_time
        """Whether step records come from a progress bar (asked as they come: a log's format is known once
        its first lines are read): its elapsed time is then the clock (`_on_the_bar`)."""
        self.now = T0
        self._top: int | None = None
        self._stamped: bool | None = None  # do step records carry their own time?
        self._per_step = default_dt  # the newest logged step time
        self._bars: dict[str, tuple[float, float]] = {}  # elapsed metric → (clock time at its 0, its last value)

    def advance(self, rec: Record) -> float:
        if self._stamped is None and rec.kind == Kind.STEP:
            self._stamped = rec.t > 0
            if self._stamped:
                self.now = rec.t
        if self._stamped and rec.kind == Kind.STEP and rec.t > 0:
            self.now = max(self.now, rec.t)
            return self.now
        before = self.now
        self.now = min(self._synthetic(rec), before + self.max_gap)
        if rec.kind == Kind.STEP and self.bar_time():
            self.now = self._on_the_bar(rec, before)
        return self.now

    def _on_the_bar(self, rec: Record, before: float) -> float:
        """The time of a progress bar's step: the bar's own elapsed time, not its rate.

        A bar's rate is smoothed (tqdm: an exponential average over its refreshes): after a 75 s hang
        it reads seconds per step for hundreds of 6 ms steps, and a clock stepped by it ran hours ahead,
        a slowdown that never was. Its elapsed time is what passed: a hang moves the clock by its real
        length (past `max_gap`: it is the log's word, not a guess), and the steps of one of its seconds
        (tqdm prints whole seconds) arrive together, which the run's measured step interval averages
        right. A bar that starts again (Lightning's bar per epoch) or a pause the bar does not count (an
        evaluation between bars) moves the bar's zero, never the clock back."""
        name = "elapsed" if "elapsed" in rec.metrics else "epoch_elapsed"
        e = rec.metrics.get(name)
        if e is None or not math.isfinite(e):
            return self.now
        zero, last = self._bars.get(name, (before - e, e))
        if e < last:  # a new bar
            zero = before - e
        now = zero + e
        if now < before:
            now, zero = before, before - e
        self._bars[name] = (zero, e)
        return now

    def _synthetic(self, rec: Record) -> float:
        if rec.kind == Kind.EVAL:
            return self.now + self.eval_pause
        if rec.kind != Kind.STEP:
            return self.now + 0.01
        if rec.step is not None and self._top is not None and rec.step <= self._top:
            return self.now  # another rank's line for a step already seen
        stride = 1 if rec.step is None or self._top is None else rec.step - self._top
        self._top = rec.step if rec.step is not None else self._top
        logged = rec.metrics.get("step_time")
        if logged is not None and math.isfinite(logged) and logged > 0:
            self._per_step = logged  # a record that prints none (a metric file's) steps at the log's pace
        return self.now + self._per_step * stride


def replay(records: Iterable[Record], rules: Sequence[Rule[Any]], *, manager: AlertManager | None = None,
           clock: ReplayClock | None = None, tick: float = 1.0, run: str = "run", source: str = "log",
           batch: int = JUDGE_BATCH, quiet: float = QUIET_S) -> Replay:
    """Drive records through a fresh RunTracker, evaluating `rules` as the engine would: at most once per
    `tick` seconds of the run's time, and then once `batch` records came (the rules that judge records
    look back over all of them, as the engine's do over a piece of history) or the run was quiet for
    `quiet` seconds (a pause, a hang: the rules about time judge it before the next record)."""
    clock = clock or ReplayClock()
    out = Replay(RunTracker(run, source))
    judge = out.judge = Judge(rules)
    last_eval: float | None = None
    last_record = clock.now
    unjudged = 0
    apply = out.tracker.apply
    for rec in records:
        now = clock.advance(rec)
        if last_eval is None or (now - last_eval >= tick and (unjudged >= batch or now - last_record >= quiet)):
            _evaluate(out, judge, manager, now, unjudged)
            last_eval, unjudged = now, 0
        if rec.t == now or (rec.t == 0 and rec.kind == Kind.STEP):
            apply(rec, now)  # a step record without a time takes `now` as its time (RunTracker.apply)
        else:  # a new Record rather than dataclasses.replace (a third of the cost of applying one)
            apply(Record(rec.kind, rec.step, rec.total_steps, rec.rank, now, rec.metrics, rec.event, rec.message,
                         rec.source, rec.line), now)
        unjudged += 1
        last_record = now
    _evaluate(out, judge, manager, clock.now, unjudged)
    out.end = clock.now
    return out


def _evaluate(out: Replay, judge: Judge, manager: AlertManager | None, now: float, unjudged: int = 0) -> None:
    """Every rule at `now` (isolated, as live), each looking back over the `unjudged` records since the
    last evaluation."""
    judged = judge.judge(out.tracker, None, now, new=unjudged)
    out.findings.extend((now, f) for f in judged.findings)
    step = out.tracker.progress.step
    out.last_found_at.update((f.key, step) for f in judged.findings)
    if manager is not None:
        out.notifications.extend(manager.update(judged.findings, now, evaluated=judged.evaluated))


def merge_by_step(streams: Sequence[Iterable[Record]]) -> Iterator[Record]:
    """Interleave the records of several sources (rank files, a run's logs, metric files,
    checkpoints, W&B) by step, as they would have arrived.

    Each record is keyed by the last step its own source had reached (by a step or
    checkpoint record), so an event stays right after the step line before it; at
    one step, earlier streams come first. A source that reaches no step at all (a
    rank's `stderr.log` beside its `stdout.log` under torchrun's `--log-dir`) has
    its records put after every other's: what such a file holds (a traceback, a
    failure report) is its process's last word, not its first.
    """

    def keyed(i: int, recs: Iterable[Record]) -> Iterator[tuple[float, int, int, Record]]:
        top = -1
        held: list[tuple[int, Record]] = []  # records before this source's first step
        for n, rec in enumerate(recs):
            if rec.step is not None and rec.kind in (Kind.STEP, Kind.CHECKPOINT):
                top = max(top, rec.step)
            if top < 0:
                held.append((n, rec))
                continue
            for m, early in held:
                yield -1, i, m, early
            held.clear()
            yield top, i, n, rec
        for m, early in held:
            yield math.inf, i, m, early

    for _, _, _, rec in heapq.merge(*(keyed(i, s) for i, s in enumerate(streams))):
        yield rec
