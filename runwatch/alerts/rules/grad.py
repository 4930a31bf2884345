"""`grad_norm_spike`: the gradient norm explodes, or vanishes.

Grad norms are heavy-tailed (single steps 3–5× the median are routine, and
clipping makes them harmless), so a spike needs a large factor over the
recent median and a robust z, held for a few records. An exploding norm
usually precedes a loss spike or a NaN; a norm that collapses towards zero
(relative to where it was, or exactly 0 record after record) means the
model stopped learning: dead activations, a frozen graph, a zeroed LR path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from runwatch.alerts.rules.base import Rule
from runwatch.alerts.rules.robust import (
    SpikeParams,
    baseline_slice,
    params_spike,
    spike_baseline_points,
    spike_finding,
    spike_tail_points,
    widened_spike,
)
from runwatch.alerts.rules.tail import Tail, fmt, history, median_of, step_at, tail
from runwatch.alerts.types import Finding
from runwatch.model import Severity
from runwatch.state.run import RunTracker


@dataclass(frozen=True)
class GradNormSpikeParams(SpikeParams):
    metric: str = "grad_norm"
    persist: int = 3
    factor: float = 5.0
    """A spike is at least this many times the recent median…"""
    z: float = 6.0
    """…and this many robust standard deviations above it."""
    vanish_ratio: float = 1e-3
    """Vanishing: the median of the newest `vanish_points` below this fraction of the baseline median…"""
    vanish_points: int = 20
    """…or exactly 0 for that many records (0 turns the vanishing check off)."""


class GradNormSpike(Rule[GradNormSpikeParams]):
    id = "grad_norm_spike"
    default_severity = Severity.WARNING
    explanation = ("grad norm many times its recent median for several records among the last `lookback`, "
                   "or collapsed towards zero")
    Params = GradNormSpikeParams
    judges_records = True

    def widened(self, points: int) -> Rule[GradNormSpikeParams]:
        return widened_spike(self, points)

    def baseline_points(self) -> int:
        return spike_baseline_points(self.params)

    def check(self, run: RunTracker, now: float) -> list[Finding]:
        p = self.params
        n = max(spike_tail_points(p.window, p.persist, p.lookback), p.window + p.vanish_points)
        found = tail(run, p.metric, n)
        if found is None:
            return []
        spike = params_spike(found, p, z=p.z, rel=p.factor - 1.0)
        if spike is not None:
            peak = float(found.v[spike.peak])
            times = f"{peak / spike.baseline:.2g}× " if spike.baseline > 0 else ""
            return [spike_finding(self, run, found, spike, f"{times}the recent median {fmt(spike.baseline)}")]
        return self._vanishing(run, found)

    def _vanishing(self, run: RunTracker, found: Tail) -> list[Finding]:
        p = self.params
        k = p.vanish_points
        n = p.window + k  # the newest k points against the window before them
        found = found._replace(x=found.x[-n:], v=found.v[-n:], t=found.t[-n:]) if n else found
        v = found.v[baseline_slice(found, p.warmup):]
        newest = v[-k:] if k > 0 else v[:0]
        if k <= 0 or len(v) < k or not np.isfinite(newest).all():
            return []
        base = v[:-k][np.isfinite(v[:-k])]
        level = median_of(newest)
        before = median_of(base) if len(base) >= k else math.nan
        zero = bool((newest == 0).all())
        if not (zero or level < p.vanish_ratio * before):
            return []
        was = f" (was {fmt(before)})" if before == before else ""
        return [self.finding(
            run, f"{p.metric} vanished: {fmt(level)} over the last {k} records{was}, step {step_at(found.x)}",
            rank=found.rank, metric=p.metric, value=level,
            threshold=p.vanish_ratio * before if before == before else 0.0, step=step_at(found.x),
            history=history(found.v))]
