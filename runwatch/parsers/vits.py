"""The training log of VITS (text to speech) and of the voice-conversion forks that kept its `train.py`
(so-vits-svc): each `log_interval` steps the generator's losses, the global step and the learning rate as
one bare Python list, after a line saying where in which epoch it is.

    2023-03-26 21:11:45,898	32k	INFO	Train Epoch: 13 [50%]
    2023-03-26 21:11:45,899	32k	INFO	[2.367671012878418, 2.6419973373413086, 14.83607006072998, 22.52760887145996, 1.2664904594421387, 200, 9.98501030820433e-05]
    2023-03-26 21:11:51,633	32k	INFO	====> Epoch: 13

The list is `[loss_disc, loss_gen, loss_fm, loss_mel, loss_dur, loss_kl, global_step, lr]` in VITS and
`[loss_disc, loss_gen, loss_fm, loss_mel, loss_kl, global_step, lr]` in so-vits-svc (it has no duration
predictor); `loss` is the generator's total, the sum of its terms (what `train.py` calls `loss_gen_all` and
backpropagates). No key names a value, so no other reader took the list: a VITS run whose first losses
were `[nan, nan, nan, nan, 1.35, 134.3, 0, 0.0002]` read as nothing at all, its NaN unseen (a review).
The logger's own prefix (`%(asctime)s\\t%(name)s\\t%(levelname)s\\t`) comes first.
"""

from __future__ import annotations

from typing import ClassVar

from runwatch import patterns
from runwatch.model import Kind, Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.fields import logging_time
from runwatch.parsers.numbers import parse_number
from runwatch.parsers.reads import Reads

_FLOAT = r"(?:[-+]?\d{1,30}(?:\.\d{1,30}(?:e[-+]?\d{1,4})?|e[-+]?\d{1,4})|-?nan|-?inf)"
"""A Python float as `repr` spells it (`0.5`, `9.98501030820433e-05`, `1e-05`, `nan`): a whole number is no loss."""
_LIST = patterns.compile(rf"(?:^|\t)\[((?:{_FLOAT}, ){{4,5}}{_FLOAT}), (\d{{1,12}}), ({_FLOAT})\]$")
"""The losses, the global step and the learning rate."""
_SIGNED = patterns.compile(r"\t(?:INFO|DEBUG|WARNING)\t\[")
"""VITS's logger's prefix before the list (`%(asctime)s\t%(name)s\t%(levelname)s\t`): without it a bare list of
numbers is a script's own (`print(gpu_ids)`), no signature; one such line took a nanoGPT log's detection (a code
review)."""
_EPOCH = patterns.compile(r"(?:^|\t)Train Epoch: (\d{1,9}) \[\d{1,3}%\]$")
_LOSSES = {
    6: ("loss_disc", "loss_gen", "loss_fm", "loss_mel", "loss_dur", "loss_kl"),  # VITS
    5: ("loss_disc", "loss_gen", "loss_fm", "loss_mel", "loss_kl"),  # so-vits-svc
}


class VitsParser(GuardedParser):
    """VITS's and so-vits-svc's loss lists, with the epoch of the line before (see the module notes)."""

    name: ClassVar[str] = "vits"
    reads: ClassVar[Reads | None] = Reads(holds=("]",))  # both its lines end so

    def __init__(self) -> None:
        self._epoch: float | None = None
        """The epoch the last `Train Epoch:` line said: the next list's."""

    def _parse(self, line: str) -> Record | None:
        if line[-1:] != "]":
            return None
        m = _LIST.search(line)
        if m is None:
            if (e := _EPOCH.search(line)) is not None:
                self._epoch = float(e[1])
            return None
        values = [parse_number(x) for x in m[1].split(", ")]
        lr = parse_number(m[3])
        names = _LOSSES.get(len(values))
        if names is None or lr is None or any(v is None for v in values):
            return None
        metrics = {name: v for name, v in zip(names, values, strict=True) if v is not None}
        metrics["loss"] = sum(v for name, v in metrics.items() if name != "loss_disc")
        metrics["lr"] = lr
        if self._epoch is not None:
            metrics["epoch"] = self._epoch
        return Record(Kind.STEP, step=int(m[2]), metrics=metrics, t=logging_time(line))

    def score(self, line: str) -> int:
        """2 for a loss list after VITS's logger prefix, 0 for any other line (`Train Epoch:` alone, a bare list)."""
        return 2 if line[-1:] == "]" and _SIGNED.search(line) is not None and _LIST.search(line) is not None else 0
