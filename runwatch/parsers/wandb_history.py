"""W&B history rows → STEP/EVAL records: the key, value and step rules both W&B decoders share.

- A history row is a STEP record, or EVAL when every metric in it is an
  evaluation metric (`eval/*`, `val/*`, `test/*`). Keys are `key`, or
  `nested_key` joined with "." (how W&B names logged nested dicts). Values are
  JSON numbers; "NaN", "Infinity" and "-Infinity" are kept as float NaN/Inf;
  strings, booleans, null, media and other objects are not metrics. Newer
  SDKs' typed values (`number`, `integer`) count as well.
- `_step` is the step, unless the run defined a step metric
  (`define_metric("*", step_metric=...)`, as Lightning's `trainer/global_step`)
  or logs `train/global_step` (Hugging Face), `global_step` or `iter` (mmengine): those are the optimizer step,
  while `_step` counts `log()` calls. `_runtime` → `elapsed`, `_timestamp` → `t`;
  `_wandb*` keys are W&B's own. Every other key goes through the spelling rules
  all formats share (`pydict.metric_name`): `train/loss` → loss, `eval/loss` and
  `val/loss` → val_loss, `train/grad_norm` → grad_norm, `train/learning_rate`
  → lr, `train/epoch` → epoch; the rest are snake_cased, `/` and `.` becoming
  `_` (`perf/tokens_per_sec` → perf_tokens_per_sec, `eval/runtime` → eval_runtime).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from runwatch.model import Kind, Record, is_eval_metric
from runwatch.parsers.pydict import metric_name

STEP_METRICS = ("train/global_step", "trainer/global_step", "global_step", "iter")
"""Logged optimizer steps that beat `_step` even without a `define_metric`: mmengine's `WandbVisBackend` logs each
training log's scalars with their `iter` and never passes a step, so `_step` counts its calls (a review's MMDetection
run read `steps 50 → 3`, its log's iterations and W&B's calls mixed, and a false critical stall)."""

_STEP, _TIME, _SKIP = "\0step", "\0time", "\0skip"
_NOT_JUDGED = frozenset({"epoch", "elapsed"})
_NONFINITE = {"nan": math.nan, "infinity": math.inf, "-infinity": -math.inf, "inf": math.inf, "-inf": -math.inf}


def json_number(text: str) -> float | None:
    """A `value_json` as a metric: JSON numbers and NaN/±Infinity; None for anything else."""
    try:
        return float(text)  # also reads "NaN", "Infinity", "-Infinity"
    except ValueError:
        return None


def typed_number(item: Any) -> float | None:
    """The typed value newer SDKs write instead of `value_json` (`x_history_value_encoding="typed"`)."""
    which = item.WhichOneof("value")
    if which == "number" or which == "integer":
        return float(getattr(item, which))
    if which == "json":
        return json_number(item.json)
    return None


def item_key(item: Any) -> str:
    """A history/summary/config item's name: its `nested_key` parts joined with ".", or its `key`."""
    nested = item.nested_key
    if len(nested) == 1:
        only: str = nested[0]  # what wandb 0.31 writes for every plain key
        return only
    return ".".join(nested) if nested else item.key


def _name(key: str) -> str:
    if key == "_step":
        return _STEP
    if key == "_timestamp":
        return _TIME
    if key == "_runtime":
        return "elapsed"
    if key.startswith("_wandb") or not key:
        return _SKIP
    return metric_name(key) or _SKIP


class HistoryMapper:
    """Turns one history row (key, value pairs) into a STEP/EVAL record; shared by both decoders."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self.step_keys: list[str] = list(STEP_METRICS)
        self.keys: set[str] = set()
        """Every history key seen: summary keys among these are mirrors, not news."""
        self.total_steps: int | None = None

    def define_step(self, key: str) -> None:
        """A step metric the run defined: it beats the built-in ones."""
        if key and self.step_keys[0] != key:
            if key in self.step_keys:
                self.step_keys.remove(key)
            self.step_keys.insert(0, key)

    def row(self, pairs: Iterable[tuple[str, float]], t: float, line: int = 0) -> Record | None:
        names, keys = self._names, self.keys
        metrics: dict[str, float] = {}
        found: dict[str, float] = {}
        step = stamp = None
        for key, value in pairs:
            name = names.get(key)
            if name is None:
                name = names[key] = _name(key)
                keys.add(key)
            if name == _STEP:
                step = value
            elif name == _TIME:
                stamp = value
            elif name != _SKIP:
                if key in self.step_keys:
                    found[key] = value
                else:
                    metrics.setdefault(name, value)
        for key in self.step_keys:
            if key in found:
                step = found[key]
                break
        if not metrics or len(metrics) == 1 and "elapsed" in metrics:
            return None
        judged = [n for n in metrics if n not in _NOT_JUDGED]
        kind = Kind.EVAL if judged and all(is_eval_metric(n) for n in judged) else Kind.STEP
        return Record(
            kind,
            step=int(step) if step is not None and math.isfinite(step) else None,
            total_steps=self.total_steps,
            t=stamp if stamp is not None and math.isfinite(stamp) and stamp > 0 else t,
            metrics=metrics,
            line=line,
        )


# ── rows of the online API ───────────────────────────────────────────────────


def _row_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        return _NONFINITE.get(value.lower())
    return None


def flat_row(row: Mapping[str, Any], prefix: str = "", depth: int = 0) -> Iterator[tuple[str, float]]:
    """A history row's numbers; nested dicts flattened with "." (media, `{"_type": …}`, skipped)."""
    for key, value in row.items():
        if isinstance(value, Mapping):
            if depth < 8 and "_type" not in value:
                yield from flat_row(value, f"{prefix}{key}.", depth + 1)
        elif (number := _row_number(value)) is not None:
            yield f"{prefix}{key}", number
