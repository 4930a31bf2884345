"""JSON lines: one object per line (`{"step": 10, "loss": 2.3, "lr": 3e-4}`).

Python's json reads `NaN`, `Infinity` and `-Infinity`; the strings "nan",
"inf", "-inf" count too, since that is how runwatch's own `parse --output
jsonl` writes them (an object of that shape, `{"kind": …, "metrics": {…}}`,
is read back as the Record it was). Other strings, booleans and lists are
ignored.

Nested objects are flattened with `/` and the path snake_cased, with the
canonical names of DESIGN §2 (`train/loss` → loss, `eval/loss` → val_loss,
`metrics/lr` → lr; `eval/runtime` → `eval_runtime`). Step from `global_step`,
`step`, `iter`, `iteration` or wandb's `_step` (first found, in that order),
`total_steps`/`max_steps` → total_steps; `_timestamp`/`timestamp`/`time`/`ts`
→ t when it looks like Unix seconds (or milliseconds), else it stays a metric;
wandb's `_runtime` → elapsed. An object with only evaluation metrics
(`val_*`, `eval_*`, `test_*`) is an EVAL record, else STEP; one with no
numeric metric is not a record.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from runwatch.model import Kind, Record
from runwatch.parsers.base import FormatParser
from runwatch.parsers.pydict import CANONICAL, is_eval_metric, metric_name, snake

MAX_LINE = 1_000_000
MAX_DEPTH = 8
_STEP_KEYS = ("global_step", "train/global_step", "trainer/global_step", "step", "iter", "iteration", "_step")
_TOTAL_KEYS = ("total_steps", "max_steps")
_TIME_KEYS = ("_timestamp", "timestamp", "time", "ts")
_CONTAINERS = ("metrics", "train", "training", "scalars", "stats")
_NONFINITE = {"nan": math.nan, "inf": math.inf, "+inf": math.inf, "-inf": -math.inf,
              "infinity": math.inf, "-infinity": -math.inf}
_KINDS = {str(k) for k in Kind}


class JsonLinesParser(FormatParser):
    """One JSON object per line → STEP/EVAL records (see the module notes)."""

    name = "jsonl"

    def parse(self, line: str) -> Record | None:
        obj = _load(line)
        if obj is None or obj.get("type") in ("status", "alert"):
            return None
        kind = obj.get("kind")
        if isinstance(kind, str) and kind in _KINDS and isinstance(obj.get("metrics"), dict):
            return _own_record(obj)
        flat = dict(_flatten(obj))
        step = _pop_int(flat, _STEP_KEYS)
        total = _pop_int(flat, _TOTAL_KEYS)
        t = _pop_time(flat)
        metrics: dict[str, float] = {}
        for path, value in flat.items():
            name = "elapsed" if path == "_runtime" else _name(path)
            if name:
                metrics.setdefault(name, value)
        if not metrics:
            return None
        judged = [n for n in metrics if n != "epoch"]
        kind = Kind.EVAL if judged and all(is_eval_metric(n) for n in judged) else Kind.STEP
        return Record(kind, step=step, total_steps=total, t=t, metrics=metrics)

    def score(self, line: str) -> int:
        rec = self.parse(line)
        if rec is None:
            return 0
        known = rec.step is not None or any(n in CANONICAL.values() for n in rec.metrics)
        return 2 if known else 1


def _load(line: str) -> dict[str, Any] | None:
    s = line.strip()
    if not (s.startswith("{") and s.endswith("}")) or len(s) > MAX_LINE:
        return None
    try:
        obj = json.loads(s)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        return _NONFINITE.get(value.strip().lower())
    return None


def _flatten(obj: dict[str, Any], prefix: str = "", depth: int = 0) -> Iterator[tuple[str, float]]:
    """`{"train": {"loss": 2}}` → ("train/loss", 2.0); nesting beyond MAX_DEPTH is ignored."""
    for key, value in obj.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            if depth < MAX_DEPTH:
                yield from _flatten(value, path + "/", depth + 1)
        elif (number := _number(value)) is not None:
            yield path, number


def _name(path: str) -> str:
    """Canonical when the path or its tail after a container (`metrics/lr`) is; else snake_case."""
    full = metric_name(path)
    parts = path.split("/")
    if full not in CANONICAL.values() and len(parts) > 1 and parts[0].lower() in _CONTAINERS:
        tail = metric_name("/".join(parts[1:]))
        if tail in CANONICAL.values():
            return tail
    return full


def _pop_int(flat: dict[str, float], keys: tuple[str, ...]) -> int | None:
    found: int | None = None
    for key in keys:
        value = flat.pop(key, None)
        if found is None and value is not None and math.isfinite(value) and 0 <= value < 1e15:
            found = int(value)
    return found


def _pop_time(flat: dict[str, float]) -> float:
    for key in _TIME_KEYS:
        value = flat.get(key)
        if value is None:
            continue
        if 1e9 <= value < 1e10:
            del flat[key]
            return value
        if 1e12 <= value < 1e13:
            del flat[key]
            return value / 1000.0
    return 0.0


def _own_record(obj: dict[str, Any]) -> Record | None:
    """A line of `runwatch parse --output jsonl` back into its Record."""
    metrics = {snake(str(k)): v for k, raw in obj["metrics"].items() if (v := _number(raw)) is not None}
    step, total, rank = (_int_or_none(obj.get(k)) for k in ("step", "total_steps", "rank"))
    t = _number(obj.get("t"))
    event, message = obj.get("event"), obj.get("message")
    return Record(
        Kind(obj["kind"]), step=step, total_steps=total, rank=rank,
        t=t if t is not None and math.isfinite(t) else 0.0, metrics=metrics,
        event=event if isinstance(event, str) else None,
        message=message[:500] if isinstance(message, str) else None,
    )


def _int_or_none(value: Any) -> int | None:
    number = _number(value)
    if number is None or not math.isfinite(number) or abs(number) >= 1e15 or isinstance(value, str):
        return None
    return int(number)

