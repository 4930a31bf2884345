"""`straggler`: one rank behind, or slower than, the others.

Needs per-rank progress (`[rank3]:` prefixes, per-rank log files), so it
says nothing for a single process or a rank-0-only log. Each rank is
compared with the median of the *other* ranks, so with two ranks the
other rank is the reference and with many one slow rank cannot drag the
reference towards itself. Two signs:

* lag: the rank's newest step is more than `lag_steps` behind the others'
  (a hung or restarting rank, or one whose output stopped);
* pace: its median step interval is more than `slow_factor` times the
  others' (a slow GPU, throttling, a noisy neighbour).

Ranks of synchronous data parallelism print their lines in bursts, so small
lags are normal; the default `for` asks the condition to hold 5 minutes.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from runwatch.alerts.rules.base import Coming, Rule, RuleParams, duration
from runwatch.alerts.types import Finding
from runwatch.model import RankProgress, RunState, Severity
from runwatch.state.run import RunTracker


@dataclass(frozen=True)
class StragglerParams(RuleParams):
    lag_steps: int = 100
    """Steps behind the median of the other ranks."""
    slow_factor: float = 1.5
    """Median step interval above this many times the other ranks' median."""
    for_s: float = duration(300.0)


class Straggler(Rule[StragglerParams]):
    id = "straggler"
    default_severity = Severity.WARNING
    explanation = "a rank's step is far behind the other ranks', or its step interval much slower (per-rank logs)"
    Params = StragglerParams
    names_lagging_rank = True

    def speechless(self, run: RunTracker, coming: Coming) -> bool:
        """Sure of silence while the run has fewer than two ranks, the coming rows' included."""
        return super().speechless(run, coming) or len(set(run.ranks.snapshot()) | coming.ranks) < 2

    def check(self, run: RunTracker, now: float) -> list[Finding]:
        ranks = run.ranks.snapshot()
        if len(ranks) < 2 or run.state(now) in (RunState.FINISHED, RunState.CRASHED):
            return []
        out = []
        for rank, rp in ranks.items():
            others = [o for r, o in ranks.items() if r != rank]
            found = self._lagging(run, rp, others) or self._slow(run, rp, others)
            if found is not None:
                out.append(found)
        return out

    def _lagging(self, run: RunTracker, rp: RankProgress, others: list[RankProgress]) -> Finding | None:
        ref = statistics.median(o.step for o in others)
        lag = ref - rp.step
        if lag <= self.params.lag_steps:
            return None
        return self.finding(
            run, f"rank {rp.rank} is {lag:.0f} steps behind the other ranks (step {rp.step} vs {ref:.0f})",
            rank=rp.rank, value=float(lag), threshold=float(self.params.lag_steps), step=rp.step)

    def _slow(self, run: RunTracker, rp: RankProgress, others: list[RankProgress]) -> Finding | None:
        paces = [o.step_interval_s for o in others if o.step_interval_s]
        if not rp.step_interval_s or not paces:
            return None
        ref = statistics.median(paces)
        if rp.step_interval_s <= self.params.slow_factor * ref:
            return None
        return self.finding(
            run, f"rank {rp.rank} takes {rp.step_interval_s:.3g} s a step, {rp.step_interval_s / ref:.2g}× the "
                 f"other ranks' {ref:.3g} s (step {rp.step})",
            rank=rp.rank, value=rp.step_interval_s,
            threshold=self.params.slow_factor * ref, step=rp.step)
