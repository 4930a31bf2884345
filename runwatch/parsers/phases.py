"""The epoch loop of PyTorch's transfer-learning tutorial, and the many training scripts built on it.

    Epoch 0/24
    ----------
    train Loss: 0.5531 Acc: 0.7131
    val Loss: 0.2367 Acc: 0.9085

is what its `train_model` prints: an epoch's heading (`Epoch {epoch}/{num_epochs - 1}`: counted from 0, the last
epoch's number after the slash), a rule of dashes, then one line for each phase of the epoch with the epoch's mean loss
and accuracy (scripts built on it add their own fields: `train Loss: 0.4552 Reg: 0.0000 Acc: 0.0087 MeanMargin:
-0.1545`), and at its end `Training complete in 24m 12s` (a finish, runwatch.parsers.events) and `Best val Acc:
0.954248`. No line holds both the epoch and a loss, so the parser keeps the heading's epoch and reads each phase line
under it: the training phase's line is the run's step, epoch e of E + 1 at step e + 1 (a log whose first heading is
`Epoch 1/…` counts from 1: step e of E), the other phases' lines are evaluations at that step (`val_loss`, `val_acc`).

Read as Keras's format (its `Epoch 3/6` headings look alike), a person re-identification run's 70 epochs read as no
record at all, and read as the generic `kv` as 70 losses with no step (a review). A heading alone scores nothing (it is
Keras's too): a phase line under one is the signature. Read per line (a line an epoch needs no fast path); the parser
keeps the heading between lines, so it has no learned layouts.
"""

from __future__ import annotations

import re
from typing import ClassVar

from runwatch import patterns
from runwatch.model import Kind, Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.fields import logging_time
from runwatch.parsers.numbers import NUMBER_TEXT, parse_number
from runwatch.parsers.pydict import metric_name, snake

MAX_FIELDS = 32
_HEADING = patterns.compile(r"\s{0,8}Epoch (\d{1,9})/(\d{1,9})\s{0,8}")
_PHASE = patterns.compile(r"\s{0,8}(train|training|val|valid|validation|eval|test)\s{1,4}(?=Loss:)", re.IGNORECASE)
_FIELD = patterns.compile(rf"([A-Za-z][\w.()/-]{{0,40}}(?: [A-Za-z][\w.()/-]{{0,40}})?):\s{{0,4}}({NUMBER_TEXT})%?(?=[\s,;|]|$)")
"""A `Name: value` pair, its name of a word or two (`Acc`, `MeanMargin`, `Train Accuracy`), its value a number (a `%` after
it dropped), then a blank, a separator or the line's end."""
_TRAINING = frozenset({"train", "training"})


class PhasesParser(GuardedParser):
    """`Epoch e/E` headings and the `phase Loss: … Acc: …` lines under them (see the module notes)."""

    name: ClassVar[str] = "phases"

    def __init__(self) -> None:
        self._epoch: int | None = None
        self._last: int | None = None
        """The last epoch's number as the heading states it (`num_epochs - 1` from 0)."""
        self._first: int | None = None
        """The number of the first heading read: 0, or 1 for a loop that counts its epochs from 1."""

    def _parse(self, line: str) -> Record | None:
        if self._heading(line):
            return None
        if self._epoch is None or self._last is None or self._first is None:
            return None
        m = _PHASE.match(line)
        if m is None:
            return None
        metrics = phase_fields(line[m.end():])
        if not metrics:
            return None
        base = 0 if self._first == 0 else 1
        step, total = self._epoch - base + 1, self._last - base + 1
        phase = m[1].lower()
        if phase in _TRAINING:
            metrics["epoch"] = float(self._epoch)
            return Record(Kind.STEP, step=step, total_steps=total, metrics=metrics, t=logging_time(line))
        evaluated = {metric_name(f"val_{snake(k)}" if phase.startswith("val") else f"{phase}_{snake(k)}"): v
                     for k, v in metrics.items()}
        return Record(Kind.EVAL, step=step, total_steps=total, metrics=evaluated, t=logging_time(line))

    def _heading(self, line: str) -> bool:
        """Whether `line` is an epoch's heading, taken as the epoch the phase lines after it are of."""
        h = _HEADING.fullmatch(line)
        if h is None:
            return False
        epoch, last = int(h[1]), int(h[2])
        if epoch > last:
            return True  # no epoch of this run: the phase lines after it are no one's
        if self._first is None or epoch < self._first:
            self._first = epoch
        self._epoch, self._last = epoch, last
        return True

    def score(self, line: str) -> int:
        """2 for a phase line under an epoch's heading read before it (the probe keeps the heading), else 0: a heading
        alone is Keras's too, and a `train Loss: 0.45` line with none before it any loop's."""
        return 2 if self.parse(line) is not None else 0  # a heading, read into the probe, gives no record


def phase_fields(rest: str) -> dict[str, float]:
    """The phase line's `Name: value` pairs from its loss on, each by its metric name (`Loss` → `loss`)."""
    out: dict[str, float] = {}
    for m in _FIELD.finditer(rest):
        if len(out) >= MAX_FIELDS:
            break
        value = parse_number(m[2])
        if value is not None:
            out.setdefault(metric_name(m[1]), value)
    return out
