"""The training log of ESPnet2 (`exp/*/train.log`, speech recognition, synthesis, enhancement): its trainer's
reports every `log_interval` batches, its epoch results, its last word.

    [host] 2023-10-27 13:29:13,321 (trainer:298) INFO: 1/30epoch started
    [host] 2023-10-27 13:54:00,278 (trainer:753) INFO: 1epoch:train:8051-12075batch: iter_time=2.779e-04, forward_time=0.038, loss_ctc=141.743, loss_att=100.691, acc=0.336, loss=113.007, …, optim0_lr0=5.032e-05, train_time=0.118
    [host] 2020-09-17 18:14:26,464 (trainer:243) INFO: 1epoch results: [train] …, loss=480.386, … [valid] loss=479.955, acc=1.030e-04, cer=1.010, wer=1.000, … [att_plot] …
    [host] 2020-09-17 18:14:28,068 (trainer:322) INFO: The training was finished at 1 epochs

A report covers batches `A-B` of its epoch; the step is the batches of the epochs before it (each as many as its
last report reached: ESPnet2 does not print an epoch's length, and batches after an epoch's last report are not
counted) plus `B`. The total is the epochs planned (`1/30epoch`) times the first epoch's batches, once that epoch
is over. Each report's values are averages over its batches: `optim0_lr0` (or `lr_0`, older) is the learning rate,
`train_time` the seconds a batch took. An epoch's results are an evaluation at its last step: the `[valid]`
section's values (`val_loss`, `val_acc`, `val_cer`, `val_wer`). Read as key=value pairs, the logger's
`(trainer:753)` was a metric `trainer` and no report had a step (a review).
"""

from __future__ import annotations

import re
from typing import ClassVar

from runwatch.model import Kind, Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.fields import logging_time
from runwatch.parsers.numbers import NUMBER_TEXT, parse_number
from runwatch.parsers.pydict import metric_name
from runwatch.parsers.reads import Reads

_PREFIX = re.compile(r"(?:\[[^\]\n]{0,200}\] )?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \(\w{1,60}:\d{1,6}\) [A-Z]{4,8}: ")
"""ESPnet2's logging format: `[hostname] asctime (module:lineno) LEVEL: message`."""
_STARTED = re.compile(r"(\d{1,6})/(\d{1,6})epoch started")
_REPORT = re.compile(r"(\d{1,6})epoch:train:(\d{1,12})-(\d{1,12})batch: ")
_RESULTS = re.compile(r"(\d{1,6})epoch results: ")
_PAIR = re.compile(rf"(\w{{1,80}})=({NUMBER_TEXT})(?=,|$)")
_SECTION = re.compile(r"\[(\w{1,40})\] ")
_LR = re.compile(r"(?:optim\d{1,3}_)?lr_?\d{1,3}")
_NAMES = {"train_time": "step_time"}


class EspnetParser(GuardedParser):
    """ESPnet2's trainer reports and epoch results (see the module notes)."""

    name: ClassVar[str] = "espnet"
    reads: ClassVar[Reads | None] = Reads(holds=("epoch started", "epoch:train:", "epoch results: "))

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._epochs: int | None = None
        """The epochs planned (`1/30epoch started`)."""
        self._epoch: int | None = None
        """The epoch of the last report."""
        self._before = 0
        """The batches of the epochs before it."""
        self._batches = 0
        """Its batches so far (the last report's `B`)."""
        self._per_epoch: int | None = None
        """The first epoch's batches, once it is over."""
        self._step: int | None = None

    def _parse(self, line: str) -> Record | None:
        prefix = _PREFIX.match(line)
        if prefix is None:
            return None
        rest = line[prefix.end():]
        t = logging_time(line[prefix.start(1):])  # the stamp, with what follows it (as logging_time reads one)
        if (m := _REPORT.match(rest)) is not None:
            return self._report(int(m[1]), int(m[3]), rest[m.end():], t)
        if (m := _STARTED.match(rest)) is not None:
            self._epochs = int(m[2])
            return None
        if (m := _RESULTS.match(rest)) is not None and self._step is not None:
            metrics = _section(rest[m.end():], "valid")
            if metrics:
                return Record(Kind.EVAL, step=self._step, total_steps=self._total(),
                              metrics={f"val_{k}" if k != "lr" else k: v for k, v in metrics.items()}, t=t)
        return None

    def _report(self, epoch: int, batches: int, pairs: str, t: float) -> Record | None:
        if epoch != self._epoch:
            if self._epoch is not None and epoch > self._epoch:
                self._before += self._batches
                if self._per_epoch is None:
                    self._per_epoch = self._batches
            self._epoch, self._batches = epoch, 0
        self._batches = max(self._batches, batches)
        metrics = _values(pairs)
        if "loss" not in metrics:
            return None
        metrics["epoch"] = float(epoch)
        self._step = self._before + batches
        return Record(Kind.STEP, step=self._step, total_steps=self._total(), metrics=metrics, t=t)

    def _total(self) -> int | None:
        return self._epochs * self._per_epoch if self._epochs and self._per_epoch else None

    def launched(self) -> None:
        """A new launch counts its epochs from where it resumed: what the last one planned and counted is stale."""
        self._reset()

    def score(self, line: str) -> int:
        """2 for a report or an epoch's results, 0 for any other line."""
        return 2 if ("epoch:train:" in line or "epoch results: " in line) and _PREFIX.match(line) else 0


def _values(pairs: str) -> dict[str, float]:
    """A report's `key=value` pairs as metrics: the first learning rate `lr`, `train_time` the step time."""
    metrics: dict[str, float] = {}
    for key, text in _PAIR.findall(pairs):
        value = parse_number(text)
        if value is None:
            continue
        name = "lr" if _LR.fullmatch(key) else _NAMES.get(key) or metric_name(key)
        metrics.setdefault(name, value)
    return metrics


def _section(results: str, name: str) -> dict[str, float]:
    """The values of one `[name]` section of an epoch's results (up to the next section)."""
    parts = _SECTION.split(results)
    for i in range(1, len(parts) - 1, 2):
        if parts[i] == name:
            return {k: v for k, v in _values(parts[i + 1]).items() if k not in ("lr", "step_time", "total_count")}
    return {}
