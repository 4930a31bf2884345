"""The log of ST-GCN and the skeleton-action repositories built on its `torchlight` package, and of CTR-GCN and 2s-AGCN.

    [03.24.23|13:58:33] Training epoch: 0
    [03.24.23|13:58:44] 	Iter 0 Done. | loss: 1.4824 | lr: 0.010000
    [03.24.23|14:19:59] 	Iter 100 Done. | loss: 0.9193 | lr: 0.000000
    [03.24.23|14:20:02] 	mean_loss: 1.0251
    [03.24.23|14:20:02] Time consumption:
    [03.24.23|14:20:02] Done.
    [03.24.23|14:20:02] Eval epoch: 4
    [03.24.23|14:20:24] 	mean_loss: 5.9914655685424805
    [03.24.23|14:20:24] 	Top1: 0.00%

is what its processor prints through `torchlight.IO.print_log` (each line stamped `[%m.%d.%y|%X] `): a heading for
each epoch's training and evaluation, the iteration count across epochs every `log_interval` iterations with the
batch's loss and the learning rate, then the epoch's `name: value` lines, one a line (the mean loss, each top-k
accuracy in percent). No line holds both an epoch and a value, so the parser keeps the heading between lines.

The step is the iteration the `Iter N Done.` lines count; a loop that prints none (a `log_interval` longer than the
run, an older processor) counts its epochs instead (epoch e at step e + 1, of `num_epoch` from the `Parameters:`
dict the processor prints at its start). The training epoch's mean loss is `mean_loss` at the last step; an
evaluation's lines are `val_loss` and `val_top1`, … at it. Read as the `hf-trainer` format (that dict), a log of 62
launches, the first ones `mean_loss: nan` every epoch, read OK: no step, its config as evaluations (a review).
Read per line (a line an iteration at most: no fast path needed); the parser keeps the heading, so it has no learned
layouts.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import ClassVar

from runwatch import patterns
from runwatch.model import Event, Kind, Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.fields import local_time
from runwatch.parsers.numbers import NUMBER_TEXT, parse_number
from runwatch.parsers.pydict import metric_name, snake

_STAMP = patterns.compile(r"\[(\d\d)\.(\d\d)\.(\d\d)\|(\d\d:\d\d:\d\d)\] |\[ ([A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}) \] ")
"""`torchlight.IO`'s `time.strftime("[%m.%d.%y|%X] ")` (its `%X` as the C locale prints it), or the `print_log` of
the repositories after it, `"[ " + time.asctime() + " ] "` (2s-AGCN, CTR-GCN: `[ Mon Mar 13 23:37:00 2023 ] `)."""
_MEAN = patterns.compile(rf"Mean (?:training |train |test |val(?:idation)? )?(loss|acc)(?: of \d{{1,9}} batches)?: ({NUMBER_TEXT})%?")
"""CTR-GCN's sentences (`Mean training loss: 1.6603.  Mean training acc: 51.10%.`, `Mean test loss of 8 batches:
1.0724.`): the epoch's mean loss and accuracy."""
_HEADING = patterns.compile(r"(Training|Eval) epoch: (\d{1,9})")
_ITER = patterns.compile(r"\tIter (\d{1,12}) Done\.((?: \| [A-Za-z_][\w]{0,40}: [^|]{1,40}){0,32})\s*")
_PAIR = patterns.compile(rf" \| ([A-Za-z_]\w{{0,40}}): ({NUMBER_TEXT})(?= |$)")
_VALUE = patterns.compile(rf"\t([A-Za-z_]\w{{0,40}}): ({NUMBER_TEXT})%?\s*")
_NUM_EPOCH = patterns.compile(r"'num_epoch': (\d{1,9})\b")
_START_EPOCH = patterns.compile(r"'start_epoch': (\d{1,9})\b")


class TorchlightParser(GuardedParser):
    """`torchlight` processor logs: headings, iteration lines and the epoch's values (see the module notes)."""

    name: ClassVar[str] = "torchlight"

    def __init__(self) -> None:
        self._phase: str | None = None
        """"Training" or "Eval": the last heading's, None before the first."""
        self._epoch = 0
        self._iter: int | None = None
        """The last `Iter N Done.` count of this launch: the step the epoch's values are at."""
        self._epochs: int | None = None
        """`num_epoch` of the last `Parameters:` dict."""
        self._start: int | None = None
        """Its `start_epoch`: the first heading says whether the loop prints epochs from 0 (ST-GCN) or 1 (CTR-GCN)."""
        self._base: int | None = None
        """What the loop calls its first epoch, 0 or 1, decided at its first heading."""

    def _parse(self, line: str) -> Record | None:
        stamp = _STAMP.match(line)
        if stamp is None:
            if line.startswith("{'") and (n := _NUM_EPOCH.search(line)) is not None:
                again = self._epochs is not None  # a launch's `Parameters:`: its count starts anew
                self._epochs, self._iter, self._phase = int(n[1]), None, None
                start = _START_EPOCH.search(line)
                self._start, self._base = (int(start[1]) if start else None), None
                if again:
                    return Record(Kind.EVENT, event=Event.LAUNCHED, message="the processor's Parameters: printed "
                                  "again, a new launch")
            return None
        body = line[stamp.end():]
        heading = _HEADING.fullmatch(body.rstrip())
        if heading is not None:
            self._phase, self._epoch = heading[1], int(heading[2])
            if self._base is None:  # the first heading: 0 at a start from 0 is a 0-based loop (ST-GCN's `epoch`)
                self._base = 0 if self._epoch == (self._start or 0) else 1  # CTR-GCN prints `epoch + 1`
            return None
        if self._phase is None:
            return None
        t = _asctime(stamp[5]) if stamp[5] is not None else _seconds(stamp)
        it = _ITER.fullmatch(body)
        if it is not None:
            if self._phase != "Training":
                return None
            self._iter = int(it[1])
            metrics = {metric_name(p[1]): v for p in _PAIR.finditer(it[2]) if (v := parse_number(p[2])) is not None}
            metrics["epoch"] = float(self._epoch)
            return Record(Kind.STEP, step=self._iter, metrics=metrics, t=t)
        values = _values(body)
        if not values:
            return None
        counted = self._iter is None  # no iteration line: the epochs count
        step = self._epoch - (self._base or 0) + 1 if counted else self._iter
        total = self._epochs if counted else None
        if self._phase == "Training":
            if counted and "mean_loss" in values:  # the epoch's mean is the run's loss where no iteration prints one
                values["loss"] = values.pop("mean_loss")  # (the loss rules judge `loss`)
            return Record(Kind.STEP, step=step, total_steps=total, metrics={**values, "epoch": float(self._epoch)}, t=t)
        evaluated = {"val_loss" if name in ("mean_loss", "loss") else f"val_{name}": v for name, v in values.items()}
        return Record(Kind.EVAL, step=step, total_steps=total, metrics=evaluated, t=t)

    def score(self, line: str) -> int:
        """2 for an iteration line or an epoch's value under a heading read before it (the probe keeps the heading),
        else 0: a heading alone, or a `name: value` line with none before it, is any loop's."""
        return 2 if self.parse(line) is not None else 0


def _values(body: str) -> dict[str, float]:
    """An epoch's value line: `\tmean_loss: 1.0251`, `\tTop1: 59.70%`, or CTR-GCN's sentences (`_MEAN`)."""
    if not body.startswith("\t"):
        return {}
    found = {m[1]: v for m in _MEAN.finditer(body) if (v := parse_number(m[2])) is not None}
    if found:
        return found
    value = _VALUE.fullmatch(body)
    number = parse_number(value[2]) if value is not None else None
    return {} if value is None or number is None else {snake(value[1]): number}


def _seconds(stamp: re.Match[str]) -> float:
    """Unix seconds of `[03.24.23|09:56:11] `, local time, 0.0 for no real time. The format's own: read by
    `logging_time` for every format, the generic reader's column path had no such stamp, and the two disagreed."""
    month, day, year, clock = stamp[1], stamp[2], stamp[3], stamp[4]
    try:
        return local_time(f"20{year}-{month}-{day} {clock}")
    except ValueError:
        return 0.0


def _asctime(text: str) -> float:
    """Unix seconds of `time.asctime()`'s local `Mon Mar 13 23:37:00 2023`, 0.0 for no real time."""
    try:
        return datetime.strptime(" ".join(text.split()), "%a %b %d %H:%M:%S %Y").timestamp()
    except ValueError:
        return 0.0
