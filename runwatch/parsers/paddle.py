"""PaddlePaddle's high-level API (`paddle.Model.fit`, "hapi"): its `ProgBarLogger`'s epochs, steps and evaluations.

```
    Epoch 1/10
    step  10/614 - loss: 0.1195 - AUROC_Atelectasis: 0.8004 - AUROC_Cardiomegaly: 0.9457 - …
    step 614/614 - loss: 0.1401 - AUROC_Atelectasis: 0.8480 - …
    save checkpoint at /home/aistudio/CheXNet/save_fine/0
    Eval begin...
    step 88/88 - loss: 0.1309 - AUROC_Atelectasis: 0.8252 - …
    Eval samples: 11219
    Epoch 6: Early stopping.
```
(verbose 2, as a log file or a notebook keeps it; verbose 1 draws `step 10/614 [====>…] - loss: …` instead). Each
epoch counts its steps from 1, so the optimizer's step is `(e − 1)·N + n` of the run's `E·N`. The step lines after
`Eval begin...` (to `Eval samples: N`) count the evaluation's batches, not training's: its last line (`88/88`, its
metrics the averages over the evaluation, its loss the last batch's) is an EVAL record (`val_loss`, `val_*`), the
others nothing. `Epoch N: Early stopping.` ends the run. A step line's pairs are read as the generic `kv` format reads
them (runwatch.parsers.keyvalue: units, `nan`), so they are said once.

Read without it, the steps were `kv`'s: each epoch's count started again (11 "restarts" over 6 epochs), the
evaluation's `88/88` the run's progress (`finished` after any epoch) and its losses the training's (a new user's
review). Kept as a parser of its own: a step line means what the lines before it say.
"""

from __future__ import annotations

from typing import ClassVar

from runwatch import patterns
from runwatch.model import Event, Kind, Record
from runwatch.parsers.base import FormatParser
from runwatch.parsers.epochs import run_total, within
from runwatch.parsers.keyvalue import KeyValueParser

_EPOCH = patterns.compile(r"Epoch (\d{1,9})/(\d{1,9})")
_STEP = patterns.compile(r"step\s{1,8}(\d{1,12})/(\d{1,12})(?:\s{1,4}\[[=>.]{0,200}\])?\s{1,4}- ")
_EVAL_BEGIN = frozenset({"Eval begin...", "Predict begin..."})
_EVAL_END = patterns.compile(r"(?:Eval|Predict) samples: \d{1,15}")
_EARLY_STOP = patterns.compile(r"Epoch \d{1,9}: Early stopping\.")
_NO_EVAL_METRICS = frozenset({"step_time", "eta", "data_time", "samples_per_sec", "elapsed"})
"""What an evaluation's line times (its batches' cost), not what it measures."""


class PaddleParser(FormatParser):
    """`paddle.Model.fit`'s log → STEP records (training steps), EVAL (each evaluation's last line), the finish."""

    name: ClassVar[str] = "paddle"

    def __init__(self) -> None:
        self._epoch = 1
        self._epochs: int | None = None
        self._evaluating = False
        """Between `Eval begin...` and `Eval samples: N`: step lines count the evaluation's batches."""
        self._pairs = KeyValueParser()
        self._step: int | None = None
        self._total: int | None = None

    def parse(self, line: str) -> Record | None:
        text = line.strip()
        if text.startswith("Epoch "):
            if (m := _EPOCH.fullmatch(text)) is not None:
                self._epoch, self._epochs, self._evaluating = int(m[1]), int(m[2]), False
                return None
            if _EARLY_STOP.fullmatch(text) is not None:
                return Record(Kind.EVENT, self._step, self._total, event=Event.FINISHED, message=text[:500])
            return None
        if text in _EVAL_BEGIN:
            self._evaluating = True
            return None
        if self._evaluating and _EVAL_END.fullmatch(text) is not None:
            self._evaluating = False
            return None
        m = _STEP.match(text) if text.startswith("step") else None
        if m is None:
            return None
        n, per = int(m[1]), int(m[2])
        if not 1 <= n <= per:
            return None
        read = self._pairs.parse(text)
        metrics = dict(read.metrics) if read is not None else {}
        if self._evaluating:
            if n < per:
                return None  # a running average over the evaluation's first batches
            measured = {("val_loss" if k == "loss" else f"val_{k}"): v for k, v in metrics.items()
                        if k not in _NO_EVAL_METRICS}
            return Record(Kind.EVAL, self._step, self._total, metrics=measured) if measured else None
        self._step = within(self._epoch, 1, n, per)
        self._total = run_total(self._epochs, per) if self._epochs is not None else None
        metrics["epoch"] = float(self._epoch)
        return Record(Kind.STEP, self._step, self._total, metrics=metrics)

    def score(self, line: str) -> int:
        """2 for a step line (`step  10/614 - loss: …`), which only hapi prints so; Keras's `Epoch 1/10` is its too."""
        text = line.strip()
        return 2 if text.startswith("step") and _STEP.match(text) is not None and " - loss: " in text else 0
