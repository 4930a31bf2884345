"""A W&B run's metadata (config, summary, run and machine details) as one `run_meta` EVENT record.

The record's message is strict JSON `{"run", "config", "summary",
"environment"}` that `run_meta()` reads back; the engine keeps it as the
run's `meta`. A positive `max_steps`-like config value also becomes the
`total_steps` of the step records.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from runwatch.model import Kind, Record
from runwatch.parsers.wandb_history import HistoryMapper

RUN_META = "run_meta"
TOTAL_KEYS = ("total_steps", "max_steps", "num_training_steps", "train_iters", "max_iters", "num_iterations")
MAX_META_TEXT = 1000
"""Longer text values in config and summary are cut (a logged document is no run metadata)."""


def run_meta(rec: Record) -> dict[str, Any] | None:
    """The metadata a `run_meta` record carries, as a dict (None for any other record)."""
    if rec.event != RUN_META or not rec.message:
        return None
    try:
        meta = json.loads(rec.message)
    except ValueError:
        return None
    return meta if isinstance(meta, dict) else None


def json_value(text: str) -> Any:
    """A `.wandb` config/summary `value_json` as a value (the text itself where it is no JSON)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _strict(value: Any, depth: int = 0) -> Any:
    """JSON-safe copy: non-finite floats as "nan"/"inf"/"-inf" (DESIGN §2), odd objects as text."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return value if len(value) <= MAX_META_TEXT else value[:MAX_META_TEXT] + "…"
    if value is None or isinstance(value, int | bool):
        return value
    if depth > 32:
        return "…"
    if isinstance(value, Mapping):
        return {str(k): _strict(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v, depth + 1) for v in value]
    return str(value)


class RunMeta:
    """Config, summary, run and machine details of one run, and whether they changed since last said."""

    def __init__(self, decode: Callable[[Any], Any]) -> None:
        self._decode = decode
        self.run: dict[str, Any] = {}
        self.config: dict[str, Any] = {}
        self.summary: dict[str, Any] = {}
        self.environment: dict[str, Any] = {}
        self.dirty = False
        """Something worth saying at once changed (config, run details, a summary key of its own)."""
        self.summary_changed = False

    def set_config(self, key: str, value: Any, mapper: HistoryMapper) -> None:
        if key.startswith("_wandb"):
            return
        self.config[key] = value
        self.dirty = True
        if key.split(".")[-1] in TOTAL_KEYS:
            total = self._decode(value)
            if isinstance(total, int | float) and not isinstance(total, bool) and 0 < total < 1e15:
                mapper.total_steps = int(total)

    def set_summary(self, key: str, value: Any, mirrors: set[str]) -> None:
        self.summary[key] = value
        self.summary_changed = True
        if key not in mirrors and not key.startswith("_"):
            self.dirty = True

    def record(self, t: float, line: int = 0) -> Record:
        self.dirty = self.summary_changed = False
        body = {
            "run": self.run,
            "config": {k: self._decode(v) for k, v in self.config.items()},
            "summary": {k: self._decode(v) for k, v in self.summary.items() if not k.startswith("_wandb")},
            "environment": self.environment,
        }
        return meta_record(body, t, line)


def meta_record(body: Mapping[str, Any], t: float, line: int = 0) -> Record:
    """A `run_meta` record carrying `body` (strict JSON): W&B's run details, and any other source's
    settings under a key of its own (`trainer_state`: the HF Trainer's, from trainer_state.json)."""
    message = json.dumps(_strict(body), separators=(",", ":"), sort_keys=True)
    return Record(Kind.EVENT, t=t, event=RUN_META, message=message, line=line)


def flat_config(config: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """The public API's config: `{"lr": {"value": 0.1}}` (raw form) or `{"lr": 0.1}` → ("lr", 0.1)."""
    for key, value in config.items():
        if isinstance(value, Mapping) and set(value) <= {"value", "desc"} and "value" in value:
            value = value["value"]
        yield str(key), value
