"""The training loop of MONAI's tutorials, copied into a great many medical-imaging projects.

```
----------
epoch 1/6
1/6, train_loss: 0.5150
…
7/6, train_loss: 0.2413
epoch 1 average loss: 0.3393
saved new best metric model
current epoch: 2 current mean dice: 0.9870
best mean dice: 0.9870 at epoch: 2
train completed, best_metric: 0.9870 at epoch: 2
```
`epoch e/E` opens an epoch (`Epoch e/E`, or `epoch 0/E` in copies that count from 0); each iteration prints its
count over `len(train_ds) // batch_size` (which the last, smaller batch passes: `7/6`) and its loss, `train_loss`
(`Train_loss` in some copies; the BraTS tutorial's `, step time: 1.03` after it is the step time). The step is the
iterations counted across the epochs: the count within an epoch added to the iterations of the epochs before it, each
as many as the more of its printed length and its last count (a copy that prints every 50th iteration still runs
them all). The total is E times an epoch's iterations, the most of the printed length and the counts seen. `epoch e
average loss` is `epoch_loss` at the epoch's last step; `current epoch: e current mean dice: 0.9870` (`current
accuracy`, `current AUC`: the metric it names; what follows it on the line is not read) an evaluation at the epoch's
end, `val_mean_dice`; `train completed, …` (`Training completed`) the finish. A copy's own lines alone on a line
between (`Train_dice: 0.4177`, `val_loss_epoch: 0.5454`) are read at the step they follow, `val_…` ones as an
evaluation. Only the iteration's line signs the format: an `epoch 1/4` heading is any loop's.

Read as `kv`, only the epochs' averages were steps: no total, a run that completed `ended`, a NaN seen an epoch late.
"""

from __future__ import annotations

from runwatch import patterns
from runwatch.model import Event, Kind, Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.numbers import NUMBER_TEXT, parse_number
from runwatch.parsers.pydict import metric_name, snake

_EPOCH = patterns.compile(r"[Ee]poch (\d{1,9})/(\d{1,9})\s*$")
_ITER = patterns.compile(rf"(\d{{1,9}})/(\d{{1,9}}), ([Tt]rain_loss): ({NUMBER_TEXT})(?P<rest>(?:, [A-Za-z][\w ]{{0,30}}: \S{{1,40}}){{0,8}})\s*$")
_PAIR = patterns.compile(rf", ([A-Za-z][\w ]{{0,30}}): ({NUMBER_TEXT})(?=,|$)")
_AVERAGE = patterns.compile(rf"epoch (\d{{1,9}}) average loss: ({NUMBER_TEXT})\s*$")
_CURRENT = patterns.compile(rf"[Cc]urrent epoch: (\d{{1,9}}) current ([A-Za-z][\w ]{{0,40}}?): ({NUMBER_TEXT})(?:\s|$)")
_LONE = patterns.compile(rf"([A-Za-z][A-Za-z0-9_]{{0,40}}): ({NUMBER_TEXT})\s*$")
_DONE = ("train completed, best_metric: ", "Training completed, best_metric: ")


class MonaiLoopParser(GuardedParser):
    """MONAI's tutorial loop → STEP and EVAL records (see the module notes)."""

    name = "monai"

    def __init__(self) -> None:
        self._epoch = 0
        self._epochs: int | None = None
        self._before: int | None = None
        """Iterations of the epochs before this one (None: not known until the epoch's first iteration says how
        long an epoch is: the loop's first epoch here was not its first, a resumed run's)."""
        self._count = 0
        """The last iteration count this epoch printed."""
        self._length: int | None = None
        """An epoch's iterations: the most of the printed length and the counts seen."""
        self._printed = 0
        """The length this epoch's lines print: a loop that prints every 50th iteration still runs them all."""
        self._first = 1
        """The number of the loop's first epoch: 0 where its heading counts from 0 (`epoch 0/3`)."""

    @property
    def _step(self) -> int:
        return (self._before or 0) + self._count

    @property
    def _total(self) -> int | None:
        return None if self._epochs is None or self._length is None else self._epochs * self._length

    def _parse(self, line: str) -> Record | None:
        head = line[:1]
        if head.isdigit():
            m = _ITER.match(line)
            if m is None or self._epochs is None:
                return None
            count, self._printed = int(m[1]), int(m[2])
            self._count = count
            self._length = max(self._length or 0, count, self._printed)
            if self._before is None:
                self._before = (self._epoch - self._first) * self._length
            loss = parse_number(m[4])
            if loss is None:
                return None
            metrics = {"loss": loss}
            for key, raw in _PAIR.findall(m["rest"]):
                if (value := parse_number(raw)) is not None:
                    metrics.setdefault(metric_name(snake(key)), value)  # the BraTS tutorial's `, step time: 1.03`
            return Record(Kind.STEP, self._step, self._total, None, 0.0, metrics)
        if head in "eE" and (m := _EPOCH.match(line)) is not None:
            epoch, epochs = int(m[1]), int(m[2])
            if epoch == self._epoch + 1 and epochs == self._epochs and self._before is not None:
                self._before += max(self._count, self._printed)
            else:  # the first heading, a new launch of the loop, or a resumed one's
                self._before, self._length = None, None
                self._first = 0 if epoch == 0 else 1
            self._epoch, self._epochs, self._count = epoch, epochs, 0
            return None
        if self._epochs is None:
            return None
        if head == "e" and (m := _AVERAGE.match(line)) is not None and int(m[1]) == self._epoch:
            value = parse_number(m[2])
            return None if value is None else self._at(Kind.STEP, {"epoch_loss": value})
        if head in "cC" and (m := _CURRENT.match(line)) is not None and int(m[1]) == self._epoch:
            value = parse_number(m[3])
            return None if value is None else self._at(Kind.EVAL, {f"val_{snake(m[2])}": value})
        if line.startswith(_DONE):
            return Record(Kind.EVENT, self._step, self._total, None, 0.0, {}, Event.FINISHED, line.strip()[:500])
        if self._count and (m := _LONE.match(line)) is not None:
            value = parse_number(m[2])
            if value is None:
                return None
            key = snake(m[1])
            if key.startswith("val_"):
                return self._at(Kind.EVAL, {metric_name(key.removesuffix("_epoch")): value})
            return self._at(Kind.STEP, {key: value})
        return None

    def _at(self, kind: Kind, metrics: dict[str, float]) -> Record:
        return Record(kind, self._step, self._total, None, 0.0, metrics)

    def score(self, line: str) -> int:
        """2 for an iteration's line (`3/6, train_loss: 0.3478`); nothing for the epoch's heading (`epoch 1/6`), which
        other loops print too (a loop's `epoch 1/4` over `Train Loss: 0.5 | Val Loss: 0.6` lines is no MONAI loop)."""
        return 2 if line[:1].isdigit() and _ITER.match(line) is not None else 0
