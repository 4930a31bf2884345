"""The training log of ESPnet2 (`exp/*/train.log`, speech recognition, synthesis, enhancement): its trainer's
reports every `log_interval` batches, its epoch results, its last word.

    [host] 2023-10-27 13:29:13,321 (trainer:298) INFO: 1/30epoch started
    [host] 2023-10-27 13:54:00,278 (trainer:753) INFO: 1epoch:train:8051-12075batch: iter_time=2.779e-04, forward_time=0.038, loss_ctc=141.743, loss_att=100.691, acc=0.336, loss=113.007, …, optim0_lr0=5.032e-05, train_time=0.118
    [host] 2020-09-17 18:14:26,464 (trainer:243) INFO: 1epoch results: [train] …, loss=480.386, … [valid] loss=479.955, acc=1.030e-04, cer=1.010, wer=1.000, … [att_plot] …
    [host] 2020-09-17 18:14:28,068 (trainer:322) INFO: The training was finished at 1 epochs

A report covers batches `A-B` of its epoch. An epoch's length is not printed: it is taken as the last `B` of the
first epoch the log shows (batches after an epoch's last report are not counted), and the step is the epochs since
that one times it, plus `B` (a run resumed at epoch 6, or launched again into the log at epoch 4, counts on from
its epoch number). The total is the epochs from that first one to the last planned (`6/10epoch started`: 5) times
the length, once that epoch is over. Each report's values are averages over its batches: `optim0_lr0` (or `lr_0`,
older) is the learning rate, `train_time` the seconds a batch took; a GAN's report (ESPnet2's VITS, JETS, HiFi-GAN
recipes) has `generator_loss` and `discriminator_loss` and no `loss`. An epoch's results are an evaluation at its
last step: the `[valid]` section's values (`val_loss`, `val_acc`, `val_cer`, `val_wer`). Read as key=value pairs,
the logger's `(trainer:753)` was a metric `trainer` and no report had a step (a review).
"""

from __future__ import annotations

from typing import ClassVar

from runwatch import patterns
from runwatch.model import Kind, Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.fields import logging_time
from runwatch.parsers.numbers import NUMBER_TEXT, parse_number
from runwatch.parsers.pydict import metric_name
from runwatch.parsers.reads import Reads

_PREFIX = patterns.compile(r"(?:\[[^\]\n]{0,200}\] )?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \(\w{1,60}:\d{1,6}\) [A-Z]{4,8}: ")
"""ESPnet2's logging format: `[hostname] asctime (module:lineno) LEVEL: message`."""
_STARTED = patterns.compile(r"(\d{1,6})/(\d{1,6})epoch started")
_REPORT = patterns.compile(r"(\d{1,6})epoch:train:(\d{1,12})-(\d{1,12})batch:(?:(\d{1,12})num_updates:)? ")
"""`1epoch:train:8051-12075batch: `; FunASR's trainer (ESPnet2's, forked) adds the run's updates so far, the step:
`2epoch:train:1-50batch:50num_updates: `."""
_RESULTS = patterns.compile(r"(\d{1,6})epoch results: ")
_PAIR = patterns.compile(rf"(\w{{1,80}})=({NUMBER_TEXT})(?=,|$)")
_SECTION = patterns.compile(r"\[(\w{1,40})\] ")
_LR = patterns.compile(r"(?:optim\d{1,3}_)?lr_?\d{1,3}")
_NAMES = {"train_time": "step_time"}


class EspnetParser(GuardedParser):
    """ESPnet2's trainer reports and epoch results (see the module notes)."""

    name: ClassVar[str] = "espnet"
    reads: ClassVar[Reads | None] = Reads(holds=("epoch started", "epoch:train:", "epoch results: "))

    def __init__(self) -> None:
        self._epochs: int | None = None
        """The last epoch planned (`1/30epoch started`)."""
        self._first: int | None = None
        """The first epoch the log shows a report of: steps count from its start."""
        self._epoch: int | None = None
        """The epoch of the last report."""
        self._batches = 0
        """Its batches so far (the last report's `B`)."""
        self._per_epoch: int | None = None
        """The first epoch's batches, once it is over: every epoch's length."""
        self._step: int | None = None

    def _parse(self, line: str) -> Record | None:
        prefix = _PREFIX.match(line)
        if prefix is None:
            return None
        rest = line[prefix.end():]
        t = logging_time(line[prefix.start(1):])  # the stamp, with what follows it (as logging_time reads one)
        if (m := _REPORT.match(rest)) is not None:
            return self._report(int(m[1]), int(m[3]), rest[m.end():], t, int(m[4]) if m[4] else None)
        if (m := _STARTED.match(rest)) is not None:
            self._epochs = int(m[2])
            return None
        if (m := _RESULTS.match(rest)) is not None and self._step is not None:
            metrics = _section(rest[m.end():], "valid")
            if metrics:
                return Record(Kind.EVAL, step=self._step, total_steps=self._total(),
                              metrics={f"val_{k}": v for k, v in metrics.items()}, t=t)
        return None

    def _report(self, epoch: int, batches: int, pairs: str, t: float, updates: int | None) -> Record | None:
        metrics = _values(pairs)
        if not any(name.endswith("loss") for name in metrics):
            return None
        if self._first is None:
            self._first = epoch
        if epoch != self._epoch:
            if self._per_epoch is None and self._epoch == self._first and epoch > self._first:
                self._per_epoch = self._batches  # the first epoch is over: its length
            self._epoch, self._batches = epoch, 0
        self._batches = max(self._batches, batches)
        metrics["epoch"] = float(epoch)
        if updates is not None:
            self._step = updates
        elif epoch == self._first:
            self._step = batches
        elif self._per_epoch is not None and epoch > self._first:
            self._step = (epoch - self._first) * self._per_epoch + batches
        else:
            return None  # an epoch before the log's first, or after it with the first's length unknown: no step
        return Record(Kind.STEP, step=self._step, total_steps=self._total(), metrics=metrics, t=t)

    def _total(self) -> int | None:
        epochs, first, per_epoch = self._epochs, self._first, self._per_epoch
        return (epochs - first + 1) * per_epoch if epochs and first and per_epoch and epochs >= first else None

    def score(self, line: str) -> int:
        """2 for a report with a loss or an epoch's results, 0 for any other line."""
        if "epoch:train:" in line or "epoch results: " in line:
            return 2 if _PREFIX.match(line) and "loss" in line else 0
        return 0


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
