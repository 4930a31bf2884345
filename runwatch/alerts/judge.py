"""Every rule on one run at one instant, with a rule that raises isolated: the one evaluation both the
live engine (runwatch.alerting) and the one-shot replay (`runwatch check`, runwatch.replay) use.

A rule that raises is a bug in runwatch, not in the run: it is logged once with its traceback, marked
broken for the rest of the session, and the other rules go on, so one bad rule never blinds the
watchdog or crashes `check` with a traceback. `broken` says which failed and why (check reports it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from runwatch.alerts.rules import Rule
from runwatch.alerts.rules.system import evaluate_rule
from runwatch.alerts.types import Finding
from runwatch.state.run import RunTracker
from runwatch.state.series import KEEP
from runwatch.state.system import SystemState

log = logging.getLogger(__name__)

METRIC_PARAMS = ("metric", "metrics", "train_metric")
"""Rule parameters that name the metrics a rule judges."""


def unjudged_metrics(rules: Sequence[Rule[Any]], run: RunTracker, *, so_far: bool = False) -> list[str]:
    """Metrics a rule was set to judge (`--rule loss_divergence.metric=task_loss`, a config file) that the run does not
    log: nothing is judged where the user asked for a judgement, which a misspelt name made silent (`OK`, exit 0: a
    review). A rule's defaults are left out: a run without a validation loss is no mistake. `so_far`: a live run,
    which may log it later. The same words for `check` (a warning, exit 3) and the live views (a note)."""
    if run.records == 0:
        return []
    logged = set(run.store.metrics())
    out = []
    for rule in rules:
        params = rule.params
        default = type(params)()
        for name in METRIC_PARAMS:
            value = getattr(params, name, None)
            if value is None or value == getattr(default, name):
                continue
            wanted = (value,) if isinstance(value, str) else tuple(value)
            if wanted and logged.isdisjoint(wanted):
                out.append(f"{rule.id}.{name}: the run logs no {' or '.join(f'`{w}`' for w in wanted)}"
                           f"{' so far' if so_far else ''}; {rule.id} judged nothing")
    return out


LEAST_RECORDS = 32
"""The fewest records the rules are asked to look back over at once, whatever baselines they read."""


JUDGE_BATCH = 32
"""Records between two evaluations while the run streams (at the least: see `judge_every`): a NaN is
still found (its step is where the series holds it), at a 32nd of the cost of judging after every record."""


def judge_every(records: int, most: int) -> int:
    """Records between two evaluations of every rule that judges records once `records` are in: `JUDGE_BATCH`,
    and a 16th of the run so far once that is more (up to `most`, the records the rules may look back over at
    once: `Judge.most_records`). The one schedule of `runwatch check`'s replay and of a history `tail` reads at
    start-up (`Ingest.apply`'s pieces): judged whole pieces of 3,993 records, a spike early in a history was
    hidden behind a newer blip no higher than the loss often went, and `tail` said nothing where `check` warned
    (a review).

    A check of a long log judges it a few hundred times rather than once a
    second of its run: rules that judge records look back over all those
    since they last looked, so no NaN, spike or slowdown goes unseen
    (`Rule.widened`), and silences are judged as they end (`quiet`)."""
    return min(most, max(JUDGE_BATCH, records // 16))

@dataclass
class Judged:
    """What one evaluation of a run found, and which rules did look (the lifecycle resolves only those)."""

    findings: list[Finding] = field(default_factory=list)
    evaluated: set[tuple[str, str]] = field(default_factory=set)


class Judge:
    """A set of rules, evaluated with isolation; `broken` maps a failed rule's id to its error."""

    def __init__(self, rules: Sequence[Rule[Any]]) -> None:
        self.rules = list(rules)
        self.broken: dict[str, str] = {}
        self._wide: dict[int, tuple[int, Rule[Any]]] = {}
        """Each rule's last widened copy, by the records it was widened to: a long history is judged every
        `most_records` records, widened to that many each time (and a copy validates its settings anew)."""

    def most_records(self, *, history: bool = False) -> int:
        """The most records these rules may be asked to look back over at once (`judge`'s `new`): a history
        read whole (live, in pieces of this many; and in `runwatch check`) is judged at least this often.
        The rules see only the points a series keeps raw (`KEEP`), and a widened rule reads its baseline
        before the oldest it judges (`Rule.baseline_points`: a spike rule's window and run, 103 points; a
        speed rule's windows, 1,050): the rest is what they can judge at once, each with its whole baseline
        (3,993 records of a history with the default rules). A fixed 2,048, safe for any window up to 2,048,
        judged a history twice as often as the default rules need, a fifth of what `tail` spent reading a
        nanoGPT history. `history`: of the rules that judge a history as it is read."""
        need = max((r.baseline_points() for r in self.rules if r.judges_records or not history), default=0)
        return max(LEAST_RECORDS, KEEP - need)

    def judge(self, run: RunTracker, system: SystemState | None, now: float, *, new: int = 0,
              fresh: int | None = None, history: bool = False, urgent_only: bool = False,
              present: bool = False, into: Judged | None = None) -> Judged:
        """Every working rule on `run` at `now`. `new`: records since the run was last judged (rules that
        count records among their newest look back at least that far); `fresh`: records since the rules
        about the present last looked, which is as far as those look back (`new` if not given: a replay
        judges them at every quiet spell's end too, and widening them to all records since the last full
        evaluation made a check of a sparse log quadratic); `history`: only the rules that
        judge records in sequence (a history being read in: time-based rules judge the present);
        `urgent_only`: only the rules whose findings cannot wait (`Rule.urgent`); `present`: only the rules
        about the present moment (a silence, a pace: a replay judges them as a quiet spell ends, the rules
        that judge records when enough records came)."""
        out = into if into is not None else Judged()
        for i, rule in enumerate(self.rules):
            if (rule.id in self.broken or (history and not rule.judges_history(run)) or (urgent_only and not rule.urgent)
                    or (present and rule.judges_records)):
                continue
            try:
                points = new if rule.judges_records or fresh is None else fresh
                found = evaluate_rule(self._widened(i, rule, points) if points else rule, run, system, now)
            except Exception as exc:
                self.broken[rule.id] = f"{type(exc).__name__}: {exc}"
                log.exception("rule %s failed and is disabled for this session", rule.id)
                continue
            out.evaluated.add((rule.id, run.run))
            out.findings.extend(found)
        return out

    def _widened(self, i: int, rule: Rule[Any], points: int) -> Rule[Any]:
        """`rule.widened(points)`, the copy made last time when it was widened as far."""
        last = self._wide.get(i)
        if last is not None and last[0] == points:
            return last[1]
        wide = rule.widened(points)
        self._wide[i] = (points, wide)
        return wide
