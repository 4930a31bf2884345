"""nnU-Net v2's trainer log (`nnUNetTrainer.print_to_log_file`): one message a line after the time it was written.

```
2024-07-09 13:31:30.162810: Epoch 0
2024-07-09 13:31:30.168464: Current learning rate: 0.01
2024-07-09 13:35:54.727426: train_loss nan
2024-07-09 13:35:54.740389: val_loss nan
2024-07-09 13:35:54.745506: Pseudo dice [nan, 0.0, 0.0]
2024-07-09 13:35:54.754245: Epoch time: 264.58 s
2024-07-09 13:35:54.762500: Yayy! New best EMA pseudo Dice: 0.0
```
Each epoch (counted from 0) is a step, `Epoch E` step E + 1 (as `phases` counts an epoch's heading): `train_loss` the
loss (the mean over the epoch's iterations, a Dice+CE loss, negative as the Dice term grows), with the learning rate
its `Current learning rate` line gave; `val_loss` an evaluation's `val_loss`; `Pseudo dice [...]` (each foreground
class's Dice on the validation batches, NaN for a class no batch held: no fault) its `val_dice`, the mean of the
classes that have one; `Epoch time: 61.1 s` the step time (a step is an epoch); `Training done.` the finish. The
values are NumPy's, `np.float32(0.8197)` under NumPy 2 (numbers.held_numbers). The prefix is `datetime.now()` as
`str` prints it, its microseconds left out when they are 0; its time is the record's.

Read as `kv`, only the `val_loss` lines made records (at no step: no progress, no ETA), `train_loss` alone on its
line none, and a log whose training loss was NaN from its first epoch was `UNREAD`, exit 3 (a new user's review,
nnU-Net issue 2357).
"""

from __future__ import annotations

import math

from runwatch import patterns
from runwatch.model import Event, Kind, Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.fields import logging_time
from runwatch.parsers.numbers import held_numbers, parse_number

_PREFIX = patterns.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})?: ")
_LIST_ITEM = patterns.compile(r"[^,\[\]]{1,60}")
_READ = ("Epoch ", "Current learning rate: ", "train_loss ", "val_loss ", "Pseudo dice ", "Training done.")
"""The messages read, by how they start (the rest of a log's lines are its set-up's)."""


class NnUNetParser(GuardedParser):
    """nnU-Net v2's epoch lines → STEP and EVAL records (see the module notes)."""

    name = "nnunet"

    def __init__(self) -> None:
        self._epoch: int | None = None
        self._lr: float | None = None

    def _parse(self, line: str) -> Record | None:
        if line[:2] != "20" or (m := _PREFIX.match(line)) is None:
            return None
        message = line[m.end():].rstrip()
        if not message.startswith(_READ):
            return None
        t = logging_time(line)  # the prefix's stamp, as every logger's
        if message[:6] == "Epoch ":
            if message[6:].isdigit():
                self._epoch, self._lr = int(message[6:]), None
            elif message[:12] == "Epoch time: " and message[-2:] == " s" and self._epoch is not None:
                seconds = parse_number(message[12:-2])
                if seconds is not None:
                    return Record(Kind.STEP, self._epoch + 1, None, None, t, {"step_time": seconds})
            return None
        if message[:23] == "Current learning rate: ":
            self._lr = parse_number(held_numbers(message[23:]))
            return None
        if message == "Training done.":
            step = None if self._epoch is None else self._epoch + 1
            return Record(Kind.EVENT, step, None, None, t, {}, Event.FINISHED, message)
        if self._epoch is None:
            return None  # a line of another program's that looks alike, before any epoch
        step = self._epoch + 1
        if message[:11] == "train_loss ":
            loss = parse_number(held_numbers(message[11:]))
            if loss is None:
                return None
            metrics = {"loss": loss, "epoch": float(self._epoch)}
            if self._lr is not None:
                metrics["lr"] = self._lr
            return Record(Kind.STEP, step, None, None, t, metrics)
        if message[:9] == "val_loss ":
            loss = parse_number(held_numbers(message[9:]))
            return None if loss is None else Record(Kind.EVAL, step, None, None, t, {"val_loss": loss})
        dice = _mean_dice(message[12:])
        return None if dice is None else Record(Kind.EVAL, step, None, None, t, {"val_dice": dice})

    def score(self, line: str) -> int:
        """2 for the epoch's own lines after nnU-Net's prefix (`train_loss` and one number, `Pseudo dice [...]`); an
        `Epoch N` line is a maybe (any loop logging through a timestamp says so)."""
        if line[:2] != "20" or (m := _PREFIX.match(line)) is None:
            return 0
        message = line[m.end():].rstrip()
        if message[:11] == "train_loss " and parse_number(held_numbers(message[11:])) is not None:
            return 2  # one number, nothing after it: `train_loss 0.5, val_loss 0.6` is a loop of its own's
        if message[:13] == "Pseudo dice [" and message[-1:] == "]":
            return 2
        return 1 if message[:6] == "Epoch " and message[6:].isdigit() else 0


def _mean_dice(text: str) -> float | None:
    """The mean of a `[0.84, nan, np.float32(0.9)]` list's numbers that are not NaN; None for none."""
    if text[:1] != "[" or "]" not in text:
        return None
    values = [parse_number(x) for x in _LIST_ITEM.findall(held_numbers(text[1:text.index("]")]))]
    known = [v for v in values if v is not None and not math.isnan(v)]
    return sum(known) / len(known) if known else None
