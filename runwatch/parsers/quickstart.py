"""The training loop of PyTorch's quickstart tutorial ("Learn the Basics"), and the many scripts built on it.

    Epoch 1
    -------------------------------
    loss: 2.303494  [   64/60000]
    loss: 2.294637  [ 6464/60000]
    Test Error:
     Accuracy: 35.5%, Avg loss: 2.161529

is what its `train_loop` and `test_loop` print: every 100th batch its loss and the samples seen so far of the
dataset's size (`loss: {loss:>7f}  [{current:>5d}/{size:>5d}]`, `current` = (batch + 1) × the batch size), and after
each epoch the test set's accuracy and mean loss, and `Done!` at the end (a finish, once a count line was read).
Scripts built on it add fields before the count (`loss: 0.711220
accuracy: 46.000000 [   50/66045]`), write the heading their own way (`====> Epoch: 1`), log through `logging`
(a stamp before each line), and print their own epoch summaries (`Val loss: 0.3497 Val accuracy: 85.08%`).

No line states a step: the count does. Every count is a whole number of batches, so their greatest common divisor
within an epoch is the batch size (the first line's count itself, batch 0's), and a line's step is the batches of the
epochs before it (each its size over the batch size, rounded up) + its count over the batch size. The epoch is the
heading's (counted from where the first heading counts: 0 or 1), or, with no heading, one more each time the count does
not go on (or is of another size: a script that draws each epoch's data anew). A log of many launches then goes back to step 1 at each launch's `Epoch 1`, and each launch is judged on
its own; read as the generic `kv`, a review's log of 30 launches was 3,000 records with no step, one run whose loss
"diverged" and "spiked" from one launch to the next.

A heading alone scores nothing (Keras's `Epoch 1/5` is one too): the count line is the signature. Read per line (a
line every 100 batches needs no fast path); the parser keeps the epoch and the batch size between lines.
"""

from __future__ import annotations

import math
import re
from typing import ClassVar

from runwatch import patterns
from runwatch.model import Event, Kind, Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.fields import logging_time
from runwatch.parsers.numbers import NUMBER_TEXT, parse_number
from runwatch.parsers.phases import phase_fields
from runwatch.parsers.pydict import metric_name, snake

_LOGGED = patterns.compile(
    r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d{1,6})?(?:[ \t]{1,4}[\w.-]{1,40})?[ \t]{1,4}(?:DEBUG|INFO|WARNING)[ \t:|-]{1,4}")
"""Python `logging`'s stamp and level (and logger name) before the message (`2023-07-27 16:01:50,849\\troot\\tINFO\\t`)."""
_COUNT = patterns.compile(rf"\s{{0,8}}loss:\s{{0,12}}({NUMBER_TEXT})(.{{0,300}}?)\s{{1,8}}\[\s{{0,12}}(\d{{1,12}})(?:/\s{{0,12}}(\d{{1,12}}))?\]\s*")
"""The batch's line: `loss: 2.303494  [   64/60000]` (`loss:     nan` padded to 7 places, the size to 5), other
`name: value` pairs between the loss and the count; a script's `[ 100]` says no size."""
_HEADING = patterns.compile(r"[\s=>#*-]{0,40}Epoch:?\s{0,4}(\d{1,9})(?:\s{0,3}/\s{0,3}(\d{1,9}))?[\s=<#*-]{0,40}")
"""An epoch's heading, the whole line: `Epoch 1` (the quickstart's), `====> Epoch: 1`, `Epoch 3/10`."""
_TEST_ERROR = patterns.compile(rf"\s{{0,8}}Accuracy:\s{{0,8}}({NUMBER_TEXT})%,\s{{1,4}}Avg loss:\s{{0,12}}({NUMBER_TEXT})\s*")
"""The quickstart's test summary, the line after `Test Error:` (`Avg loss:      nan`: padded to 8 places)."""
_EVALUATED = patterns.compile(r"\s{0,8}(Val|Validation|Valid|Test|Eval)[ _](?=[Ll]oss:)")
"""An evaluation's summary line by its own loop (`Val loss: 0.349689 Val accuracy: 85.077720%`)."""


class QuickstartParser(GuardedParser):
    """`loss: x  [current/size]` lines under `Epoch N` headings (see the module notes)."""

    name: ClassVar[str] = "quickstart"

    def __init__(self) -> None:
        self._epoch: int | None = None
        """The heading's epoch, or the epochs counted by the count going back (0 for the first)."""
        self._first: int | None = None
        """Where the headings count from: 0 where one says 0, else 1 (the quickstart's `Epoch {t+1}`); 0 with none."""
        self._epochs: int | None = None
        """The number of epochs, where a heading states it (`Epoch 3/10`)."""
        self._batch = 0
        """The epoch's batch size so far: the greatest common divisor of its counts (0 before one)."""
        self._count = 0
        """The newest count of the epoch (0 before one)."""
        self._size = 0
        """The dataset's size the newest count is of."""
        self._going = False
        """Whether a count was read since the newest heading: the next count that does not go on starts an epoch."""
        self._per = 0
        """The batches of the newest epoch a count was read in (its size over its batch size, rounded up)."""
        self._base: int | None = 0
        """The steps of the epochs before this one: each epoch's batches, as its own size made them (None: whole
        epochs of this one's size, once a count says it: after a first heading that is not the first epoch's)."""
        self._step: int | None = None
        """The step of the newest count line (the step an evaluation after it is at)."""

    def _parse(self, line: str) -> Record | None:
        text = _message(line)
        if (h := _HEADING.fullmatch(text)) is not None:
            self._heading(int(h[1]), int(h[2]) if h[2] else None)
            return None
        if (c := _COUNT.fullmatch(text)) is not None:
            return self._counted(c, logging_time(line))
        if self._step is None:
            return None
        if text.strip() == "Done!":  # the quickstart's last word, after its last epoch's test
            return Record(Kind.EVENT, step=self._step, event=Event.FINISHED, message="Done!", t=logging_time(line))
        if (t := _TEST_ERROR.fullmatch(text)) is not None:
            accuracy, loss = parse_number(t[1]), parse_number(t[2])
            if accuracy is None or loss is None:
                return None
            return Record(Kind.EVAL, step=self._step, metrics={"val_accuracy": accuracy, "val_loss": loss},
                          t=logging_time(line))
        if (e := _EVALUATED.match(text)) is not None:
            metrics: dict[str, float] = {}
            for key, value in phase_fields(text[e.end():]).items():
                name = snake(key)
                metrics.setdefault(metric_name(name if name.startswith("val_") else f"val_{name}"), value)
            if metrics:
                return Record(Kind.EVAL, step=self._step, metrics=metrics, t=logging_time(line))
        return None

    def _heading(self, epoch: int, epochs: int | None) -> None:
        if self._first is None or epoch == 0:
            self._first = 0 if epoch == 0 else 1  # the quickstart's `Epoch {t+1}`: from 1 unless one says 0
        if self._epoch is not None and epoch == self._epoch + 1 and self._base is not None:
            self._base += self._per  # the epoch before, as long as its size made it
        else:  # the first heading (a log's tail: `Epoch 10` first), a launch's `Epoch 1` again, or a jump
            self._base = None  # whole epochs of this one's size before it, once a count says its size
        self._epoch, self._epochs = epoch, epochs
        self._batch = self._count = 0
        self._going = False

    def _counted(self, c: re.Match[str], t: float) -> Record | None:
        loss, current = parse_number(c[1]), int(c[3])
        size = int(c[4]) if c[4] else 0  # 0: not said
        if loss is None or current < 0 or (size and current > size):
            return None
        if self._epoch is not None and self._going and (current <= self._count or size != self._size):
            self._epoch += 1  # no heading, and the count did not go on (or is of another size): the next epoch
            self._base = (self._base or 0) + self._per
            self._batch = 0
        if self._epoch is None:
            self._epoch = self._first = 0
        origin = self._first or 0
        self._batch = math.gcd(self._batch, current)
        self._count, self._size, self._going = current, size, True
        if self._batch:
            self._per = -(-size // self._batch) if size else current // self._batch  # no size: the batches so far
        if self._base is None:
            self._base = (self._epoch - origin) * self._per
        step = self._base + (current // self._batch if self._batch else 0)  # `[    0/60000]`: the epoch's start
        total = self._epochs * self._per if self._epochs is not None and origin == 1 and size else None  # `Epoch 3/10`
        metrics = {"loss": loss, **{k: v for k, v in phase_fields(c[2]).items() if k != "loss"}}
        metrics["epoch"] = self._epoch - origin + (current / size if size else 0.0)
        self._step = step
        return Record(Kind.STEP, step=step, total_steps=total, metrics=metrics, t=t)

    def score(self, line: str) -> int:
        """2 for a count line (`loss: 2.303494  [   64/60000]`), else 0: a heading alone is Keras's too."""
        return 2 if _COUNT.fullmatch(_message(line)) is not None else 0


def _message(line: str) -> str:
    """The line without a `logging` stamp and level before it (`_LOGGED`)."""
    if line[:1].isdigit() and (m := _LOGGED.match(line)) is not None:
        return line[m.end():]
    return line
