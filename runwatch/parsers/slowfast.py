"""PySlowFast's training log (SlowFast, X3D, MViT and the video models built on Facebook's `slowfast` package).

```
[06/21 17:58:49][INFO] logging.py:   99: json_stats: {"_type": "train_iter_", "dt": 19.53594, "dt_data": 18.29932,
    "dt_net": 1.23662, "epoch": "1/2", "eta": "3:22:31", "gpu_mem": "19.35G", "grad_norm": 6.47215, "iter": "10/316",
    "loss": 3.55658, "lr": 0.00986, "top1_err": 81.25000, "top5_err": 59.37500}
[06/23 16:12:41][INFO] logging.py:   99: json_stats: {"RAM": "16.11/187.58G", "_type": "val_epoch", "epoch": "10/20",
    "gpu_mem": "19.35G", "min_top1_err": 76.76561, "min_top5_err": 52.09826, "time_diff": 0.30940, "top1_err": …}
```
(each one line.) Its meters log a JSON object of stats every `LOG_PERIOD` iterations, its `_type` saying whose:
`train_iter` (`train_iter_` or `train_iter_ssl` by the task) is a training step, `val_epoch` the validation after an
epoch, `train_epoch` the epoch's averages of what the steps said, and `val_iter` or `test_iter` an evaluation's own
batches. The epoch and the iteration are texts, `"1/2"` and `"10/316"` (1-based, as printed), so the step is
`(e − 1)·N + i` of the run's `E·N`. `dt`, `dt_data` are the iteration's time and its data time (`step_time`,
`data_time`), `gpu_mem` `19.35G` is `memory_gib`, `eta` `3:22:31` (or `1 day, 2:03:04`) seconds, every other number
a metric by its name (`top1_err`, `grad_norm`); `val_epoch`'s numbers are `val_*`, its time none. `train_net.py`'s
`training done: _p33.79_f50.58 …` ends the training (the test that may follow is no step of it). The line's stamp
`[06/21 17:58:49]` states no year, so it gives no time (as detectron2's, which prints the same).

Read without it, the stats were HF Trainer dicts: every one stepless, a 9,000-line log of eight launches `no steps` (a
new user's review). Kept as a parser of its own: the step is a computation over two texts of the object.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from runwatch import patterns
from runwatch.model import Event, Kind, Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.epochs import run_total, within
from runwatch.parsers.numbers import clock_seconds, parse_number
from runwatch.parsers.pydict import metric_name
from runwatch.parsers.reads import Reads

_LEAD = "json_stats: {"
_DONE = "training done: "
_COUNT = patterns.compile(r"(\d{1,9})/(\d{1,9})")
_NAMES = {"dt": "step_time", "dt_data": "data_time", "dt_net": "net_time", "gpu_mem": "memory_gib"}
"""Its keys that name what another format's canonical metric is."""
_NOT_METRICS = frozenset({"_type", "epoch", "iter", "eta", "RAM", "time_diff", "mode"})
"""Keys read otherwise (the counts, the clock) or not at all: `RAM` (`13.90/187.58G`, the host's used of total)."""
MAX_LINE = 16384


def _memory(value: Any) -> float | None:
    """`19.35G` (GiB, as its `misc.gpu_mem_usage` divides by 1024³) → 19.35."""
    if isinstance(value, str) and value.endswith("G"):
        return parse_number(value[:-1])
    return None


class SlowFastParser(GuardedParser):
    """PySlowFast's `json_stats:` lines → STEP records (training iterations) and EVAL (epoch validations)."""

    name: ClassVar[str] = "slowfast"
    reads: ClassVar[Reads | None] = Reads(holds=(_LEAD, _DONE))

    def _parse(self, line: str) -> Record | None:
        at = line.find(_LEAD)
        if at < 0 or len(line) > MAX_LINE:
            if _DONE in line and "train_net.py" in line:
                return Record(Kind.EVENT, event=Event.FINISHED, message=line.strip()[:500])
            return None
        try:
            stats = json.loads(line[at + len(_LEAD) - 1:])
        except json.JSONDecodeError:  # a line cut short, or two glued: nothing of it is sure
            return None
        if not isinstance(stats, dict):
            return None
        kind = str(stats.get("_type", ""))
        if kind.startswith("train_iter"):
            return _step(stats)
        if kind == "val_epoch":
            return _validation(stats)
        return None  # `train_epoch` repeats the steps' averages; `val_iter`, `test_iter` count an evaluation's batches

    def score(self, line: str) -> int:
        """2 for a training iteration's stats, which no other format prints."""
        return 2 if _LEAD in line and '"_type": "train_iter' in line and self.parse(line) is not None else 0


def _step(stats: dict[str, Any]) -> Record | None:
    epoch, it = _COUNT.fullmatch(str(stats.get("epoch", ""))), _COUNT.fullmatch(str(stats.get("iter", "")))
    if epoch is None or it is None:
        return None
    e, epochs, i, per = int(epoch[1]), int(epoch[2]), int(it[1]), int(it[2])
    if not (1 <= e <= epochs and 1 <= i <= per):
        return None
    metrics = _metrics(stats, "")
    metrics["epoch"], metrics["epochs"] = float(e), float(epochs)
    eta = clock_seconds(str(stats.get("eta", "")))
    if eta is not None:
        metrics["eta"] = eta
    return Record(Kind.STEP, within(e, 1, i, per), run_total(epochs, per), metrics=metrics)


def _validation(stats: dict[str, Any]) -> Record | None:
    metrics = _metrics(stats, "val_")
    metrics.pop("val_memory_gib", None)
    return Record(Kind.EVAL, metrics=metrics) if metrics else None


def _metrics(stats: dict[str, Any], prefix: str) -> dict[str, float]:
    """The object's numbers under their metric names (`_NAMES`, else the key's own), `prefix` before each."""
    out: dict[str, float] = {}
    for key, value in stats.items():
        if key in _NOT_METRICS:
            continue
        name = _NAMES.get(key)
        number = _memory(value) if name == "memory_gib" else value
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            continue
        out.setdefault(prefix + (name or metric_name(key)), float(number))
    return out
