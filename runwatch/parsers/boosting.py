"""Gradient boosting's iteration lines: XGBoost's, LightGBM's and CatBoost's own evaluation logs.

Each library prints one line per evaluated boosting round (every round, or every `verbose_eval`/`log_evaluation(n)`/
`metric_period`-th), its evaluation sets' metrics after the round:

    [10]	train-rmse:0.42459	valid-rmse:0.68190                          XGBoost, round 10 counted from 0
    [20]	training's l2: 0.471732	valid_1's l2: 0.649308                  LightGBM, round 20 counted from 1
    25:	learn: 0.7428429	test: 0.8268156	best: 0.8268156 (25)	total: 193ms	remaining: 3.52s     CatBoost

The round is the step. A metric is named by its set and its own name (`train_rmse`, `valid_1_l2`, `validation_0_rmse`);
CatBoost's sets are `learn`, `test` (`test1`, … for more) and `best` (the best test value so far), its `total` the
elapsed time and `remaining` the ETA. None of them prints how many rounds it plans. A stop by early stopping prints the
best round again after its announcement (LightGBM's `Early stopping, best iteration is:` and `Did not meet early
stopping. Best iteration is:`, XGBoost's older `Stopping. Best iteration:`): that line is a summary, no step (read as
one, the run went back to an earlier round and "started again"); the announcement is the run's finish
(runwatch.parsers.events), as CatBoost's `Stopped by overfitting detector  (30 iterations wait)` is.

Read per line: a state (the summary after the announcement) that a learned layout cannot carry, and logs of a few
thousand lines at most, one a round.
"""

from __future__ import annotations

from typing import ClassVar

from runwatch import patterns
from runwatch.model import Event, Kind, Record
from runwatch.parsers.base import FormatParser
from runwatch.parsers.numbers import NUMBER_TEXT, parse_number, spelled_seconds
from runwatch.parsers.pydict import metric_name, snake

_ROUND = patterns.compile(r"\[(\d{1,9})\]\t")
"""XGBoost's and LightGBM's round, before its tab-separated fields."""
_XGB_FIELD = patterns.compile(rf"([^\t:'\s-]{{1,80}})-([^\t:]{{1,80}}):({NUMBER_TEXT})(?:\+({NUMBER_TEXT}))?")
"""XGBoost's `set-metric:value` (its set names hold no `-`; a metric may: `aft-nloglik`, `ndcg@5-`), `xgb.cv`'s
`value+std`."""
_LGB_FIELD = patterns.compile(rf"([^\t]{{1,80}})'s ([^\t:]{{1,80}}): ({NUMBER_TEXT})(?: \+ ({NUMBER_TEXT}))?")
"""LightGBM's `set's metric: value`, `lgb.cv`'s `value + std`."""
_CB_ROUND = patterns.compile(r"(\d{1,9}):\tlearn: ")
"""CatBoost's round: `N:` and tab-separated `name: value` fields, `learn` first."""
_CB_FIELD = patterns.compile(rf"([a-zA-Z]\w{{0,40}}): ({NUMBER_TEXT})(?: \(\d{{1,9}}\))?")
_MOST_FIELDS = 256
_CB_CLOCKS = {"total": "elapsed", "remaining": "eta"}
_SUMMARY_NEXT = ("best iteration is:", "Best iteration is:", "Stopping. Best iteration:")
"""An early stop's announcement: the round after it is the best one printed again (see the module notes)."""
_CB_STOPPED = patterns.compile(r"Stopped by overfitting detector {1,2}\(\d{1,9} iterations wait\)\s*")


class BoostingParser(FormatParser):
    """XGBoost's, LightGBM's and CatBoost's round lines (see the module notes)."""

    name: ClassVar[str] = "boosting"

    def __init__(self) -> None:
        self._summary_next = False
        """The line before announced an early stop: the next round line is the best round printed again."""
        self._step: int | None = None

    def parse(self, line: str) -> Record | None:
        text = line.rstrip()
        if text.endswith(_SUMMARY_NEXT) or _CB_STOPPED.fullmatch(text) is not None:
            self._summary_next = not text.startswith("Stopped")
            return Record(Kind.EVENT, step=self._step, event=Event.FINISHED, message=text.strip()[:500])
        rec = _round(text)
        if self._summary_next and text:
            self._summary_next = False  # the line right after the announcement, whatever it is (`lgb.cv`'s mean ± std)
            if rec is not None:
                return None  # the best round, printed again after the stop
        if rec is not None:
            self._step = rec.step
        return rec

    def score(self, line: str) -> int:
        return 2 if _round(line.rstrip()) is not None else 0


def _round(text: str) -> Record | None:
    """The record of one round line of any of the three libraries, or None. Field by field, each a bounded match:
    linear in the line (a pattern over the whole line could split names at each `-` and backtrack for minutes)."""
    if text[:1] == "[":
        m = _ROUND.match(text)
        if m is None:
            return None
        fields = text[m.end():].split("\t", _MOST_FIELDS)
        metrics: dict[str, float] = {}
        form = _XGB_FIELD if "'s " not in fields[0] else _LGB_FIELD
        for field in fields:
            f = form.fullmatch(field.strip())
            if f is None:
                return None  # every field a metric, or no round line
            name = metric_name(snake(f"{f[1]}_{f[2]}"))
            value = parse_number(f[3])
            if value is not None:
                metrics[name] = value
            if f[4] is not None and (std := parse_number(f[4])) is not None:
                metrics[f"{name}_std"] = std  # a cross-validation's spread over its folds
        return Record(Kind.STEP, step=int(m[1]), metrics=metrics) if metrics else None
    if text[:1].isdigit() and ":\tlearn: " in text and (m := _CB_ROUND.match(text)) is not None:
        metrics = {}
        for field in text.split("\t", _MOST_FIELDS)[1:]:
            key, _, raw = field.partition(": ")
            if key in _CB_CLOCKS:
                seconds = spelled_seconds(raw)
                if seconds is not None:
                    metrics[_CB_CLOCKS[key]] = seconds
            elif (f := _CB_FIELD.fullmatch(field.strip())) is not None and (value := parse_number(f[2])) is not None:
                metrics["best_test" if f[1] == "best" else metric_name(snake(f[1]))] = value
        step = int(m[1])
        done = metrics.get("eta") == 0.0  # `remaining: 0us`: the last of its planned rounds (counted from 0)
        return Record(Kind.STEP, step=step, total_steps=step + 1 if done else None, metrics=metrics) if metrics else None
    return None
