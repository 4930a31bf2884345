"""Generic `key=value` / `key: value` / `key value` step lines, the fallback format.

`step 10 loss=2.3 lr=3e-4`, `step: 10, loss: 2.30, lr: 0.0003`,
`Iter 10/200 | loss 2.3 | dt 812ms`, `step 250: train loss 1.5440, val loss 1.7220`.

Because almost any line has a word and a number, a line counts only when it
has a step key (`step`, `iter`, `iteration`, `global_step`, `it`) and another
number, or at least two numeric pairs of which one has a canonical name
(loss, lr, grad_norm, …). score() is at most 1, so every specific format wins
detection over this one. Keys may be two words when the first is a split
(`train loss`, `val loss`). Labels (`Rank 0`, `pid`) and source
locations (`logging.py:96`) are not metrics. `N/M` after a step key gives total_steps. Units:
`ms`/`s` on a time key (`dt`, `time`, `step_time`, `iter_time`,
`batch_time`) give step_time in seconds; `%` is dropped (mfu is a percent
already); other units (`GiB`) are dropped with the number kept. A line with
only evaluation metrics is an EVAL record.
"""

from __future__ import annotations

import math
import re

from runwatch.model import Kind, Record
from runwatch.parsers.base import FormatParser
from runwatch.parsers.numbers import parse_number
from runwatch.parsers.pydict import CANONICAL, is_eval_metric, metric_name, snake

MAX_LINE = 4096
_NUMBER = (
    r"[-+]?(?:\d{1,3}(?:,\d{3}){1,6}|\d{1,30})(?:\.\d{0,30})?(?:[eE][-+]?\d{1,4})?"
    r"|[-+]?\.\d{1,30}(?:[eE][-+]?\d{1,4})?"
    r"|[-+]?(?:nan|inf(?:inity)?)"
)
_PAIR = re.compile(
    r"(?<![\w./\-'\"])(?P<key>(?:(?:train|training|val|valid|validation|eval|test)[ _])?[A-Za-z][\w./\-]{0,60})"
    r"(?:\s{0,3}[=:]\s{0,3}|\s{1,3})"
    rf"(?P<val>{_NUMBER})(?:/(?P<total>\d{{1,15}}))?(?P<unit>ms|s|%|[A-Za-z]{{1,4}})?"
    r"(?=$|[\s,;|)\](:])",
    re.IGNORECASE,
)
_STEP_KEYS = {"step", "iter", "iteration", "global_step", "it", "steps", "iters"}
_TIME_KEYS = {"dt", "time", "step_time", "iter_time", "batch_time", "time_per_step"}
_LABEL_KEYS = {"rank", "local_rank", "global_rank", "world_size", "pid", "node", "gpu", "device", "worker_id", "v_num"}
_SOURCE_FILE = re.compile(r"\.(?:py|pyx|cpp|cc|cu|c|h|hpp|rs|go|js|ts)$", re.IGNORECASE)


class KeyValueParser(FormatParser):
    """Conservative fallback for hand-written training prints (see the module notes)."""

    name = "kv"

    def parse(self, line: str) -> Record | None:
        step: int | None = None
        total: int | None = None
        metrics: dict[str, float] = {}
        pairs = 0
        for m in _PAIR.finditer(line[:MAX_LINE]):
            key = snake(m.group("key"))
            value = parse_number(m.group("val"))
            if value is None or not key or key in _LABEL_KEYS or _SOURCE_FILE.search(m.group("key")):
                continue
            pairs += 1
            if key in _STEP_KEYS and step is None and math.isfinite(value) and 0 <= value < 1e15:
                step = int(value)
                total = int(m.group("total")) if m.group("total") else None
                continue
            name, value = _convert(key, value, (m.group("unit") or "").lower())
            metrics.setdefault(name, value)
        if not metrics:
            return None
        known = any(n in CANONICAL.values() for n in metrics)
        if step is None and (pairs < 2 or not known):
            return None
        judged = [n for n in metrics if n != "epoch"]
        kind = Kind.EVAL if judged and all(is_eval_metric(n) for n in judged) else Kind.STEP
        return Record(kind, step=step, total_steps=total, metrics=metrics)

    def score(self, line: str) -> int:
        return 1 if self.parse(line) is not None else 0


def _convert(key: str, value: float, unit: str) -> tuple[str, float]:
    if key in _TIME_KEYS and unit in ("ms", "s"):
        return "step_time", value / 1000.0 if unit == "ms" else value
    return metric_name(key), value
