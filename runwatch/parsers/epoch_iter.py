"""The `[epoch, i]` step lines of PyTorch's CIFAR-10 tutorial and of the loops built on it (Meta's I-JEPA, V-JEPA).

    [1,  2000] loss: 2.187
    INFO:root:[1,    10] loss: 0.466 masks: 68.0 44.0 [wd: 4.00e-02] [lr: 2.01e-04] [mem: 5.22e+03] (1040.9 ms)
    INFO:root:[1,     1/ 2562] - train_losses - Parent Class: nan - Children class: nan -Autoencoder Loss (total):
        nan - Reconstruction/K-Means Loss: [nan / 3827592585216.0000] - … [lr: 8.50e-05] [mem: 6.69e+04] (1941.7 ms)

The tutorial ("Training a Classifier") prints the running loss of the last 2,000 mini-batches, epoch and count
1-based; I-JEPA logs `epoch + 1` and the iteration within the epoch (from 0; forks add the epoch's length, `/ 2562`),
then its meters as `name: value` pairs (one word or several, ` - ` or ` | ` between them, a list's first value),
its schedule in brackets (`[wd: …] [lr: …] [autoencoder lr: …]`, `[mem: …]` in MiB) and the iteration time's
running mean in milliseconds (`(1040.9 ms)`, the step time). The per-epoch count becomes one step axis in
runwatch.parsers.epochs, as any count that restarts each epoch. Its `grad_stats:` lines (the first and last layers'
gradient norms of the same iteration) are no second step. A fork whose losses have names of its own (no `loss`)
went unread, its NaN from the second iteration on unseen (a review: `no known log format`, the crash after it the
only finding); runwatch.alerts.rules.nonfinite judges any metric named for a loss.

Other lines of such a log (a fork's evaluation, `avg. test_loss 5.446 avg. Accuracy@1 2.542`) are read as the
generic `kv` format reads them, evaluations only: its step lines would be a second, conflicting step axis.
"""

from __future__ import annotations

import re
from typing import ClassVar

from runwatch import patterns
from runwatch.model import Kind, Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.fields import named_values
from runwatch.parsers.keyvalue import KeyValueParser

_HEAD = patterns.compile(
    r"[^\[]{0,120}\[ {0,4}(?P<epoch>\d{1,7}), {1,12}(?P<itr>\d{1,12})(?: {0,4}/ {0,4}(?P<per>\d{1,12}))?\] {0,4}"
    r"(?P<body>\S.{0,4000})$"
)
_BRACKETED = patterns.compile(r"\[ {0,2}([A-Za-z][\w ]{0,30}?): {0,4}([^\[\]:]{1,60})\]")
"""`[wd: 4.00e-02]`, `[autoencoder lr: 4.10e-04]`: the schedule's values, in brackets of their own."""
_MS = patterns.compile(r"\( {0,2}(\d{1,9}(?:\.\d{1,6})?) {0,2}ms\) *$")
_PIECES = patterns.compile(r" +- *(?=[A-Za-z])| +\| +")
_NEXT_NAME = patterns.compile(r"(?<=\S) +(?=[A-Za-z_]\w{0,40}:)")
"""Between two pairs with no separator but a blank (`loss: 0.466 masks: 68.0 44.0`)."""


class EpochIterParser(GuardedParser):
    """`[epoch, i]` step lines (see the module notes); evaluations of its other lines as kv's."""

    name: ClassVar[str] = "epoch-iter"

    def __init__(self) -> None:
        self._other = KeyValueParser()

    def _parse(self, line: str) -> Record | None:
        m = _HEAD.match(line) if "[" in line else None
        if m is None:
            rec = self._other.parse(line)
            return rec if rec is not None and rec.kind is Kind.EVAL else None
        return _step(m)

    def score(self, line: str) -> int:
        """2 for a step line with a metric besides its epoch; 0 for any other (an evaluation is no signature)."""
        m = _HEAD.match(line) if "[" in line else None
        return 2 if m is not None and _step(m) is not None else 0


def _step(m: re.Match[str]) -> Record | None:
    body = m["body"]
    if body.startswith("grad_stats"):
        return None
    metrics: dict[str, float] = {}
    ms = _MS.search(body)
    if ms is not None:
        metrics["step_time"] = float(ms[1]) / 1e3
        body = body[:ms.start()]
    scheduled = named_values(f"{k}: {v}" for k, v in _BRACKETED.findall(body))
    body = _BRACKETED.sub(" ", body)
    pieces = [p for piece in _PIECES.split(body)
              for p in (_NEXT_NAME.split(piece) if piece.count(":") > 1 else (piece,))]
    metrics.update(named_values(pieces))
    for name, value in scheduled.items():
        metrics.setdefault(name, value)
    if not metrics or set(metrics) <= {"step_time"}:
        return None
    metrics["epoch"] = float(m["epoch"])
    per = m["per"]
    return Record(Kind.STEP, step=int(m["itr"]), total_steps=int(per) if per else None, metrics=metrics)
