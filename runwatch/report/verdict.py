"""The report's verdict: one paragraph put together by rules from the numbers, never free prose.

Each clause is a rule over `RunNumbers` that speaks only when its number is
known; the paragraph is the clauses that spoke, in a fixed order (what ended
the run, the alerts, the loss at the end, validation, time lost).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from runwatch.present import fmt_duration
from runwatch.report.values import LossNumbers, RunNumbers

GAP_PCT = 10.0
"""A validation loss this many percent above the training loss at the end is named."""
LOST_PCT = 1.0
"""Time lost to stalls or evals is named from this share of the runtime on."""


def verdict(n: RunNumbers) -> str:
    """"healthy; loss still falling 0.4% per 1k steps at the end; 3% of wall time lost to stalls." """
    clauses = [c for rule in RULES if (c := rule(n))]
    text = "; ".join(clauses)
    return text[:1].upper() + text[1:] + "."


def _health(n: RunNumbers) -> str:
    o = n.overview
    critical = sorted({a.rule for a in n.alerts if a.severity == "critical"})
    warning = sorted({a.rule for a in n.alerts if a.severity != "critical"})
    if o.state == "crashed":
        head = "crashed" + (f" ({o.cause.split(':')[0]})" if o.cause else "")
    elif o.state == "incomplete":
        head = f"stopped at step {o.step} of {o.total_steps}"
    elif critical:
        head = "unhealthy"
    elif warning:
        head = "finished with warnings" if o.state == "finished" else "warnings"
    else:
        head = "healthy" if o.state == "finished" else f"{o.state}, no alert fired"
    said = [head]
    if critical:
        said.append(f"critical alerts: {', '.join(critical)}")
    if warning:
        said.append(f"warnings: {', '.join(warning)}")
    return "; ".join(said)


def _loss(n: RunNumbers) -> str | None:
    loss = n.loss
    if loss is None:
        return "no loss was logged"
    if loss.first_nonfinite_step is not None:
        if loss.end is not None and math.isfinite(loss.end):  # a NaN the run went past: not "from" there on
            return (f"{loss.name} not finite at step {loss.first_nonfinite_step:.0f} ({loss.nonfinite} value"
                    f"{'s' * (loss.nonfinite != 1)}), finite again at the end")
        return f"{loss.name} not finite from step {loss.first_nonfinite_step:.0f}"
    if loss.trend is None or loss.tail_change_pct is None:
        return None  # too few points in the last 10%, or a change inside their noise: no trend to name
    if loss.trend == "falling":
        return f"{loss.name} still falling {tail_rate(loss, signed=False)} at the end"
    if loss.trend == "rising":
        return f"{loss.name} rising {tail_rate(loss, signed=False)} at the end"
    return f"{loss.name} flat over the last 10% of the run ({loss.tail_change_pct:+.1f}%)"


RATE_STEPS = (1000, 100, 10)
"""The step counts a slope is stated per: the largest one the last 10% of the run spans, so a 600-step run's
trend is not stated per 1k steps, which would stretch its 59 steps 17-fold."""


def tail_rate(loss: LossNumbers, *, signed: bool = True) -> str:
    """The loss's change over the last 10% as a rate per 1k, 100 or 10 steps, whichever the window spans
    (or its whole change over its steps when it spans fewer than 10): "0.4% per 1k steps"."""
    change, span = loss.tail_change_pct, loss.tail_span_steps
    if change is None or not span:
        return UNKNOWN_RATE
    unit = next((u for u in RATE_STEPS if span >= u), None)
    pct = change if unit is None else change / span * unit
    number = f"{pct:+.2g}%" if signed else f"{abs(pct):.2g}%"
    return f"{number} over the last {span:.0f} steps" if unit is None else f"{number} per {_per(unit)} steps"


UNKNOWN_RATE = "not known"


def _per(unit: int) -> str:
    return "1k" if unit == 1000 else str(unit)


def _validation(n: RunNumbers) -> str | None:
    loss = n.loss
    if (loss is None or loss.gap_end is None or loss.val_name is None or loss.end is None or not loss.end
            or not math.isfinite(loss.gap_end)):
        return None
    pct = loss.gap_end / abs(loss.end) * 100.0
    if pct < GAP_PCT:
        return None
    return f"{loss.val_name} {pct:.0f}% above the training loss at the end"


def _stalls(n: RunNumbers) -> str | None:
    tp = n.throughput
    if tp.stall_s is None or not tp.steps_s or tp.stall_s <= 0:
        return None
    pct = tp.stall_s / tp.steps_s * 100.0
    if pct < LOST_PCT:
        return None
    steps = f"{tp.stall_steps} slow step" + ("s" if tp.stall_steps != 1 else "")
    return f"{pct:.0f}% of the time steps took ({fmt_duration(tp.stall_s)}) lost to {steps}"


def _evals(n: RunNumbers) -> str | None:
    tp, runtime = n.throughput, n.overview.runtime_s
    if tp.eval_s is None or not runtime:
        return None
    pct = tp.eval_s / runtime * 100.0
    evals = f"{tp.evals} evaluation" + ("s" if tp.evals != 1 else "")
    return f"{pct:.0f}% of the runtime in {evals}" if pct >= LOST_PCT else None


RULES: tuple[Callable[[RunNumbers], str | None], ...] = (_health, _loss, _validation, _stalls, _evals)
