"""The plug point every health rule fits (DESIGN §4–§6).

A rule is a class with an `id`, a `default_severity`, a one-line
`explanation` (what `runwatch rules` prints) and a frozen `Params` dataclass
of its settings. `evaluate(run, now)` reads a `RunTracker` and the time it
is given and returns the `Finding`s that hold at that instant: no I/O, no
clock, no memory between calls, so the same rule works live (ticked about
once a second) and in a replay (`runwatch check`, `now` = record time), and
a test needs nothing but records and a number for `now`. The alert lifecycle
turns findings into pending → firing → resolved using the rule's `timing`.

Parameters and the TOML config (DESIGN §4)
------------------------------------------
The field names of `Params` are the config keys of `[rules.<id>]`, with one
exception: the three lifecycle durations are fields `for_s`,
`resolve_after_s` and `repeat_interval_s` for the keys `for`,
`resolve_after` and `repeat_interval` (`for` is a Python keyword; see
`CONFIG_ALIASES`). Every duration is float seconds here; a field made with
`duration()` is one, and `runwatch.config.rule_params` (the one validator of
rule parameters) turns "10m" into 600.0. Everything else is a plain number,
bool, string or tuple.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar, cast

import numpy as np

from runwatch.alerts.types import Alert, Finding, RuleTiming, make_labels
from runwatch.errors import BadValueError
from runwatch.model import Record, RunState, Severity
from runwatch.state.run import RunTracker

log = logging.getLogger("runwatch.rules")

CONFIG_ALIASES = {"for": "for_s", "resolve_after": "resolve_after_s", "repeat_interval": "repeat_interval_s"}
"""Config key → `Params` field, where the two differ; every other key is its field's name."""
CONFIG_KEYS = {field_name: key for key, field_name in CONFIG_ALIASES.items()}
"""`Params` field → config key, where the two differ."""

HISTORY_POINTS = 40
"""Values a finding carries for a sparkline."""


def duration(default: float) -> Any:
    """A `Params` field in seconds (config writes it "90s", "10m", "2h")."""
    return field(default=default, metadata={"duration": True})


@dataclass(frozen=True)
class RuleParams:
    """Settings every rule has; a rule's own `Params` subclasses this with more fields, all defaulted."""

    enabled: bool = True
    severity: Severity | None = None
    """None: the rule's `default_severity`."""
    for_s: float = duration(0.0)
    """How long the condition must hold before the alert fires (config key `for`)."""
    resolve_after_s: float = duration(300.0)
    """How long it must be gone before the alert resolves (config key `resolve_after`)."""
    repeat_interval_s: float = duration(4 * 3600.0)
    """Re-notify this often while firing (config key `repeat_interval`)."""

    def __post_init__(self) -> None:
        """Counts, factors and durations are finite and not negative: a typo must not disable a rule silently."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                if not math.isfinite(value) or value < 0:
                    raise BadValueError(f"{CONFIG_KEYS.get(f.name, f.name)} must be a number >= 0, got {value!r}")


@dataclass(frozen=True)
class Coming:
    """What a replay (`runwatch check`) is about to apply to a run before the evaluations of the rules about
    the present it would make at `at`, each as a silence ended (see `Rule.speechless`).

    Between two such evaluations the run only grows by what is described here; a rule that can show from
    this and the run as it stands that it finds nothing at any of them lets the replay skip them."""

    at: np.ndarray
    """When each evaluation would be, in order."""
    silence: np.ndarray
    """The silence each ends: seconds since the newest step before it."""
    items: int
    """Step rows and records applied before the last of them (0: the run is as it stands)."""
    new: int
    """The most records the evaluations would ask the rules to look back over (`Judge.judge`'s `new`)."""
    values: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    """Metric → the least and the greatest finite value the coming rows and records add to its series
    (the run's measured `step_interval` as the pace meter will measure it); a metric absent: none."""
    ranks: frozenset[int] = frozenset()
    """Ranks the coming rows are of (empty: none stated)."""
    records: Sequence[Record] = ()
    """The coming records (not rows) in order."""


P = TypeVar("P", bound=RuleParams)


class Rule(Generic[P]):
    """Base of every rule: holds the parameters and builds findings with the right labels."""

    id: ClassVar[str]
    default_severity: ClassVar[Severity]
    explanation: ClassVar[str]
    """One line: what the rule watches and when it speaks."""
    Params: ClassVar[type[RuleParams]] = RuleParams
    judges_records: ClassVar[bool] = False
    """Whether the rule judges the records in sequence (a NaN, a spike, a crash line), not the present
    moment (a stall, a drift, a GPU): such rules judge a history while it is read in (engine; `judges_history`)."""
    urgent: ClassVar[bool] = False
    """Whether a finding cannot wait (a NaN, a crash): evaluated within 0.1 s of the records that bring
    it, where the other rules are evaluated at most twice a second while records stream (engine)."""
    names_lagging_rank: ClassVar[bool] = False
    """Whether a firing alert of this rule names, in its `rank` label, a rank that lags the others (the
    TUI's ranks panel marks it slow)."""

    def __init__(self, params: P | None = None) -> None:
        self.params: P = params if params is not None else cast(P, self.Params())

    def judges_history(self, run: RunTracker) -> bool:
        """Whether this rule judges `run`'s history while it is read in: a rule that judges records does; a drift
        rule does where the series it judges is one the log states (a printed step time), which the history's
        lines carry as they carry a loss (`cat train.log | runwatch tail -`, all history, read no slowdown that
        `check` read: a review's Megatron log, its `elapsed time per iteration` doubled)."""
        return self.judges_records

    def silence_s(self) -> float | None:
        """The least silence (no new record) on which this rule can speak; None (most rules): a silence
        alone never makes it speak. A replay (`runwatch check`) judges a silence this long as the record
        that ends it arrives, rather than when the next batch of records is due."""
        return None

    def speechless(self, run: RunTracker, coming: Coming) -> bool:
        """Whether this rule surely finds nothing at any of `coming.at` once `coming` is applied to `run`
        (a replay then skips those evaluations, which change nothing: `runwatch.replay`). It must hold
        for every state `run` passes through on the way; False when the rule cannot tell (the default:
        a disabled rule alone is sure)."""
        return not self.params.enabled

    def badge(self, severity: Severity) -> RunState | None:
        """What this rule's alert, firing at `severity`, says the run is (its badge in every front end):
        STALLED, ENDED, CRASHED; None, most rules: it says nothing of the run's state. The engine reads
        this, never the rule's id."""
        return None

    @property
    def severity(self) -> Severity:
        return self.params.severity or self.default_severity

    @property
    def timing(self) -> RuleTiming:
        p = self.params
        return RuleTiming(p.for_s, p.resolve_after_s, p.repeat_interval_s)

    def evaluate(self, run: RunTracker, now: float) -> list[Finding]:
        """The findings that hold for `run` at `now` (none when the rule is disabled)."""
        if not self.params.enabled:
            return []
        return self.check(run, now)

    def check(self, run: RunTracker, now: float) -> list[Finding]:
        """The condition itself; subclasses implement it, reading only the tail of each series."""
        raise NotImplementedError

    def resolution(self, run: RunTracker, alert: Alert, now: float) -> str | None:
        """What ended `alert`, said when it resolves (and by `check` of an alert its rule no longer found at
        the end); None: the generic "cleared; was: …". A rule says it where the end itself is news: the step
        that ended a stall, or a slowdown that is still there but has become the rule's baseline."""
        return None

    def widened(self, points: int) -> Rule[P]:
        """This rule, looking back over at least the newest `points` records.

        A rule that judges single records or short runs of them (a NaN, a spike)
        counts them only among its newest points; when more than that arrived
        since the last evaluation (a history read at once, a burst) the engine
        asks for a wider look so none go unseen. Rules that judge the present
        state (stall, drift) keep their settings: this default.
        """
        return self

    def baseline_points(self) -> int:
        """Points before the newest ones it judges that this rule, widened, reads as well (a spike's
        baseline window): it is asked to look back over no more records than a series keeps raw less these,
        so that the oldest it judges still has its whole baseline (`Judge.most_records`). Most rules: none."""
        return 0

    def finding(
        self, run: RunTracker, summary: str, *, rank: int | None = None, metric: str | None = None,
        labels: Mapping[str, str | int | None] | None = None, **fields: Any,
    ) -> Finding:
        """A finding of this rule for `run`, labelled run (+ rank, metric, extra `labels`)."""
        return Finding(
            rule=self.id, labels=make_labels(run=run.run, rank=rank, metric=metric, **(labels or {})),
            severity=self.severity, summary=summary, metric=metric, source=run.source, **fields,
        )


def resolution_of(rule: Rule[Any] | None, run: RunTracker | None, alert: Alert, now: float) -> str | None:
    """`rule.resolution`, where there is a rule and a run, guarded: a rule's bug must not stop the lifecycle
    nor a check; the generic summary stands (the error is logged with its traceback)."""
    if rule is None or run is None:
        return None
    try:
        text = rule.resolution(run, alert, now)
    except Exception:
        log.exception("rule %s could not describe its resolution", alert.rule)
        return None
    return text if isinstance(text, str) and text else None


def param_table(params_cls: type[RuleParams]) -> list[tuple[str, Any, bool]]:
    """(config key, default, is a duration) for every parameter, for `runwatch rules` and docs."""
    return [(CONFIG_KEYS.get(f.name, f.name), f.default, bool(f.metadata.get("duration")))
            for f in dataclasses.fields(params_cls)]
