"""The training log of Marian NMT (`marian --log train.log`, or its stderr).

    [2019-03-11 23:42:20] Ep. 1 : Up. 500 : Sen. 416,512 : Cost 508.25894165 : Time 950.30s : 23219.51 words/s : L.r. 9.3750e-06
    [2019-03-12 01:48:17] Saving model weights and runtime parameters to model/model.src1tgt0_to_tgt1.concat.iter5000.npz
    [2019-03-12 01:49:10] [valid] Ep. 3 : Up. 5000 : cross-entropy : 255.358 : new best
    [2019-03-14 01:49:18] Training finished

is what its trainer prints every `--disp-freq` updates: ` : `-separated fields, the epoch (`Ep.`) and the update count
(`Up.`, the step) first, then the sentences of the epoch so far, the cost (the loss; later versions add `* 123,456
after 7,890,123`, the labels it is averaged over), the time since the last display, the target words a second and the
learning rate (`gNorm`, the gradient's norm, where it is shown). The time is over the updates since the last display:
divided by them, the step time. Each validation metric is a line of its own at the update it ran after (`val_` its
name: `val_cross_entropy`, `val_perplexity`, `val_translation` for an external script's BLEU); the save of the model's
`iterN` copy is a checkpoint at that update (runwatch.parsers.events). Unread, a run that ended `Training finished` read
as crashed: the tracebacks its validation script printed were the only records (a review).
"""

from __future__ import annotations

from typing import ClassVar

from runwatch import patterns
from runwatch.model import Kind, Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.fields import logging_time
from runwatch.parsers.numbers import NUMBER_TEXT, parse_number
from runwatch.parsers.pydict import metric_name, snake

_HEAD = patterns.compile(r"(?:\[[\d:. -]{19,26}\] )?(\[valid\] )?Ep\. (\d{1,9}) : Up\. (\d{1,12}) : ")
_FIELD = patterns.compile(rf"(Sen\.|Cost|Time|L\.r\.|gNorm) ({NUMBER_TEXT})s?\b|({NUMBER_TEXT}) words/s")
_VALID = patterns.compile(rf"([A-Za-z][\w-]{{0,40}}) : ({NUMBER_TEXT}) : ")
_NAMES = {"Cost": "loss", "L.r.": "lr", "gNorm": "grad_norm"}
FIRST_DISPLAY_MAX = 1000
"""The largest update a launch's first display may be at to be its first `--disp-freq` updates from 0: its time is
then over all of them (a resumed run's first display, at update 20,500, is over the last `--disp-freq` alone, which
the log does not say). Without it a healthy run's first interval, 500 updates of 1.6 s, was a critical stall."""


class MarianParser(GuardedParser):
    """Marian's display and validation lines and its model saves (see the module notes)."""

    name: ClassVar[str] = "marian"

    def __init__(self) -> None:
        self._update: int | None = None
        """The last display's update: the updates the next display's time is over."""

    def _parse(self, line: str) -> Record | None:
        head = _HEAD.match(line)
        if head is None:
            return None
        update = int(head[3])
        rest = line[head.end():]
        if head[1]:
            valid = _VALID.match(rest + " : ")
            value = parse_number(valid[2]) if valid is not None else None
            if value is None or valid is None:
                return None
            return Record(Kind.EVAL, step=update, metrics={f"val_{snake(valid[1])}": value}, t=logging_time(line))
        metrics: dict[str, float] = {"epoch": float(head[2])}
        for m in _FIELD.finditer(rest):
            if m[3] is not None:
                rate = parse_number(m[3])
                if rate is not None:
                    metrics["tokens_per_sec"] = rate
                continue
            value = parse_number(m[2])
            if value is None:
                continue
            if m[1] == "Time":
                before, self._update = self._update, update
                if before is None and update <= FIRST_DISPLAY_MAX:
                    before = 0  # a run's first display, its time since training began
                if before is not None and update > before:
                    metrics["step_time"] = value / (update - before)
            elif m[1] in _NAMES:
                metrics.setdefault(metric_name(_NAMES[m[1]]), value)
        if "loss" not in metrics:
            return None
        return Record(Kind.STEP, step=update, metrics=metrics, t=logging_time(line))

    def score(self, line: str) -> int:
        """2 for a display or validation line, 0 for any other (a save is no signature)."""
        return 2 if "Ep. " in line and self.parse(line) is not None else 0
