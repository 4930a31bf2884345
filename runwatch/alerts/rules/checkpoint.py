"""`checkpoint_stale` and `checkpoint_partial`: the run's checkpoints, as the checkpoint watcher saw them.

Both read the CHECKPOINT records in `run.events` (runwatch.watcher.checkpoints
builds them): `event` is the state ("writing", "partial", "complete"),
`source` the checkpoint's path (its identity), `t` the newest file's mtime
once written, `metrics["generation"]` counts rewrites of one file in place.

* `checkpoint_stale`: once the run has saved at least `min_saves` (2)
  checkpoints, the usual interval is the median gap between saves; the
  alert holds while the newest save is older than `factor` × that interval
  (and at least `after`), the run neither finished nor crashed, and no
  checkpoint is being written now. A run that stops saving while its steps go
  on risks losing everything since the last save.
* `checkpoint_partial`: a checkpoint that stopped changing incomplete (a
  rank's shard missing, a file cut short) and stayed so for `after`
  seconds since it was last written, unless a newer checkpoint completed
  since (the run moved on; the partial one is a leftover, not a risk).
  Resuming from it would fail.

Disk space on the checkpoint filesystem is `disk_low`'s (system rules), which
reads the sampler's disk list: the engine adds checkpoint directories there.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from runwatch.alerts.rules.base import Coming, Rule, RuleParams, duration
from runwatch.alerts.rules.tail import fmt_duration
from runwatch.alerts.types import Finding
from runwatch.model import Kind, Record, RunState, Severity
from runwatch.state.run import RunTracker

WRITING, PARTIAL, COMPLETE = "writing", "partial", "complete"
"""The checkpoint states (runwatch.watcher.checkpoints.CheckpointState, which rules may not import)."""

Identity = tuple[str, int | None, float]


def checkpoint_records(run: RunTracker) -> list[Record]:
    return [r for r in run.events if r.kind == Kind.CHECKPOINT]


def identity(rec: Record) -> Identity:
    """Which checkpoint a record is about: path, step and rewrite generation."""
    return rec.source, rec.step, rec.metrics.get("generation", 1.0)


def latest_states(recs: list[Record]) -> dict[Identity, Record]:
    """The newest record of each checkpoint (records arrive in order)."""
    out: dict[Identity, Record] = {}
    for rec in recs:
        out[identity(rec)] = rec
    return out


def save_times(recs: list[Record]) -> list[float]:
    """When each checkpoint was saved (its first complete or partial record), oldest first."""
    first: dict[Identity, float] = {}
    for rec in recs:
        if rec.event in (COMPLETE, PARTIAL):
            first.setdefault(identity(rec), rec.t)
    return sorted(first.values())


# ── checkpoint_stale ─────────────────────────────────────────────────────────


@dataclass(frozen=True)
class CheckpointStaleParams(RuleParams):
    factor: float = 3.0
    """× the median interval between saves."""
    after: float = duration(600.0)
    """The least age of the newest save that counts as stale."""
    min_saves: int = 2
    """Saves needed before the rule knows the usual interval."""
    resolve_after_s: float = duration(60.0)


class CheckpointStale(Rule[CheckpointStaleParams]):
    id = "checkpoint_stale"
    default_severity = Severity.WARNING
    explanation = ("no new checkpoint for `factor` × the usual interval between saves (at least `after`), "
                   "once `min_saves` were seen; not while one is written, nor after the run ended")
    Params = CheckpointStaleParams

    def speechless(self, run: RunTracker, coming: Coming) -> bool:
        """Sure of silence when no checkpoint record comes and, with the saves seen so far, too few of
        them or the last one young enough at the last of `coming.at` (the age only grows)."""
        if super().speechless(run, coming):
            return True
        if any(r.kind == Kind.CHECKPOINT for r in coming.records):
            return False
        p = self.params
        saves = save_times(checkpoint_records(run))
        if len(saves) < max(2, p.min_saves):
            return True
        interval = statistics.median(b - a for a, b in zip(saves, saves[1:], strict=False))
        return bool(coming.at.max(initial=-math.inf) - saves[-1] <= max(p.after, p.factor * interval))

    def check(self, run: RunTracker, now: float) -> list[Finding]:
        p = self.params
        recs = checkpoint_records(run)
        saves = save_times(recs)
        if len(saves) < max(2, p.min_saves) or run.state(now) in (RunState.FINISHED, RunState.CRASHED):
            return []
        interval = statistics.median(b - a for a, b in zip(saves, saves[1:], strict=False))
        age = now - saves[-1]
        budget = max(p.after, p.factor * interval)
        if age <= budget:
            return []
        if any(r.event == WRITING and now - r.t <= budget for r in latest_states(recs).values()):
            return []  # a save under way (one that started long ago and never ended does not count)
        return [self.finding(
            run, f"no new checkpoint for {fmt_duration(age)} (usually one every {fmt_duration(interval)}; "
                 f"{len(saves)} saved so far)",
            value=age, threshold=budget, step=run.progress.step)]


# ── checkpoint_partial ───────────────────────────────────────────────────────


@dataclass(frozen=True)
class CheckpointPartialParams(RuleParams):
    after: float = duration(300.0)
    """How long a checkpoint must have stayed incomplete since it was last written."""
    resolve_after_s: float = duration(60.0)


class CheckpointPartial(Rule[CheckpointPartialParams]):
    id = "checkpoint_partial"
    default_severity = Severity.WARNING
    explanation = ("a checkpoint stayed incomplete (rank shards missing, a file cut short) for `after`, "
                   "and no newer checkpoint completed since")
    Params = CheckpointPartialParams

    def speechless(self, run: RunTracker, coming: Coming) -> bool:
        """Sure of silence when no checkpoint record comes and none seen is partial."""
        if super().speechless(run, coming):
            return True
        return not any(r.kind == Kind.CHECKPOINT for r in coming.records) and all(
            r.event != PARTIAL for r in latest_states(checkpoint_records(run)).values())

    def check(self, run: RunTracker, now: float) -> list[Finding]:
        latest = latest_states(checkpoint_records(run)).values()
        done = [r.t for r in latest if r.event == COMPLETE]
        newest_complete = max(done, default=float("-inf"))
        out = []
        for rec in latest:
            if rec.event != PARTIAL or rec.t <= newest_complete or now - rec.t < self.params.after:
                continue
            out.append(self.finding(
                run, f"checkpoint incomplete for {fmt_duration(now - rec.t)}: {rec.message or rec.source}",
                labels={"checkpoint": rec.source or str(rec.step)}, value=PARTIAL, step=rec.step))
        return out
