"""The meter lines of PyTorch's ImageNet example and the countless loops copied from it.

```
Epoch: [0][ 10/782]	Time  1.638 ( 1.849)	Data  0.086 ( 0.300)	Loss 5.7640e+00 (6.3097e+00)	Acc@1   0.00 (  0.00)
Test: [310/313]	Time  0.139 ( 0.166)	Loss 7.3541e+00 (7.0174e+00)	Acc@1   0.00 (  0.39)	Acc@5   3.12 (  1.43)
 * Acc@1 0.390 Acc@5 1.420
```
`ProgressMeter.display` prints the prefix `Epoch: [e]`, the batch `[i/N]` (padded to N's width since 2019;
unpadded before), then each `AverageMeter` as `Name value (average)`, tab-separated. The epoch counts from
0, and so does the batch: the optimizer's step is `e × N + i` (`COUNTERS`; the run's total is not printed).
The value is the batch's; the average in brackets is the epoch's so far, and is left out. `Time` is the
batch's time (`step_time`), `Data` its loading time (`data_time`), `Acc@1` → `acc1` (the example's own
variable names), `Prec@1` (the 2018 example's) → `prec1`.

`validate` prints the same meters after `Test: [i/N]`, then ` * Acc@1 x Acc@5 y`: the evaluation's result.
The batch lines give no record (a test batch's loss is no validation loss); the result line gives one
EVAL record, `val_acc1` and `val_acc5`, with `val_loss` the average the last `Test:` line printed (the one
state this parser keeps: evaluation lines only, which the fast path never reads).

Read without it, the generic key/value format took `Epoch: [0][10/250]` for no step at all (`check` of an
80-epoch run said `no steps`), `Acc@1` for nothing, and each test batch's loss for a validation loss (a new
user's review).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from runwatch import patterns
from runwatch.model import Kind, Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.epochs import within
from runwatch.parsers.fields import LOGGED_PREFIX, logging_time
from runwatch.parsers.learned import Counted, Counters
from runwatch.parsers.numbers import NUMBER_TEXT, parse_number
from runwatch.parsers.pydict import metric_name
from runwatch.parsers.reads import Reads

_MAX_METERS = 64
"""Meters a line is read for at most: DETR's MetricLogger prints 48 (six decoder layers' losses, scaled and not),
its `time` and `data` last (cut at 32, a review's run read "no step line carries a step time")."""
_HEAD = patterns.compile(
    LOGGED_PREFIX + r"\s{0,20}(?:Train\s{0,4})?Epoch:?\s{0,4}\[\s{0,8}(?P<epoch>\d{1,9})\s{0,8}\]"
    r"\s{0,4}\[\s{0,8}(?P<inner>\d{1,12})\s{0,8}(?:/\s{0,8}(?P<per_epoch>\d{1,12})\s{0,8})?\]"
)
"""`Epoch: [e][i/N]`, or `Epoch: [e][i]` without the epoch's length (SwAV's, DeepCluster-v2's loops: `Epoch: [399][50]`)."""
_TEST = patterns.compile(LOGGED_PREFIX + r"\s{0,20}(?:Test|Val|Validation|Eval)\s{0,4}:?\s{0,4}\[\s{0,8}\d{1,12}\s{0,8}/\s{0,8}\d{1,12}\s{0,8}\]")
_NAME = r"[A-Za-z][\w@./-]{0,40}"
_METER = patterns.compile(
    rf"(?P<name>{_NAME}):?\s{{1,8}}(?P<value>{NUMBER_TEXT})(?:\s{{1,4}}\(\s{{0,8}}(?P<average>{NUMBER_TEXT})\s{{0,8}}\))?(?=\s|$)"
)
"""`Loss 5.7640e+00 (6.3097e+00)`, `Acc@1   0.00 (  0.00)`, a result's `Acc@1 0.390` without an average, and
SwAV's `Lr: 0.0006` (its one meter with a colon: the learning rate was lost)."""
_TABBED = patterns.compile(
    rf"(?P<name>{_NAME}(?: (?!(?:nan|NaN|inf|Inf)\b){_NAME}){{0,3}})\s{{1,8}}(?P<value>{NUMBER_TEXT})"
    rf"(?:\s{{1,4}}\(\s{{0,8}}(?P<average>{NUMBER_TEXT})\s{{0,8}}\))?"
)
"""One tab-separated meter whose name has words (`Loss dro 6.354 (6.316)`, `camera dro 0.000 (0.000)`): `_METER` took
the last word for the name, and both were `dro` (a review: the camera's 0.000 overwrote the loss)."""
_RESULT = patterns.compile(LOGGED_PREFIX + rf"(?P<result>\s{{0,8}}\* (?=[A-Za-z])(?:{_NAME}\s{{1,8}}(?:{NUMBER_TEXT})(?:\s{{1,8}}|$)){{1,{_MAX_METERS}}})")
"""` * Acc@1 76.130 Acc@5 92.862`, `validate`'s result at the evaluation's end: names and numbers only, to the
line's end (a fork's ` * Prec@1   k 49.206 Prec@5 001 78.840` is something else)."""
_AVERAGED = patterns.compile(LOGGED_PREFIX + r"Averaged stats: ")
"""torchvision's MetricLogger (DETR, Deformable DETR, DINO) after `evaluate`'s `Test:  [i/N]` lines: each meter's
median and, in brackets, its average over the whole evaluation; its own line after training has the `lr` meter, the
evaluation's none. A DETR run's evaluations were no records at all (a review)."""
_MAX_MEM = "max mem:"
"""torchvision's MetricLogger (DETR, DINO, DeiT, MAE) ends its line `max mem: 1776`, the peak CUDA memory in MiB:
`max_mem_gib` (read as a meter `mem`, a review)."""
_NAMES = {"time": "step_time", "data": "data_time", "batch_time": "step_time", "data_time": "data_time"}


def _counted(n: Mapping[str, Any]) -> Counted:
    """Step `e × N + i` of `Epoch: [e][i/N]` (both count from 0), the epoch as a metric; a batch past N is no
    step. A loop that counts its batches from 1 prints `[N/N]` last: e × N + N, where the next epoch's `[0/N]` would
    be, which such a loop never prints (a review: DMNIL's 24 `[400/400]` lines were dropped). Operators ints and
    arrays share (runwatch.parsers.learned.Counters). Without N (`Epoch: [399][50]`) the step is the batch `i`
    within its epoch, which the source makes global as any per-epoch count (runwatch.parsers.epochs): read as no
    step at all, a 400-epoch SwAV run of 15 launches said `no steps` and its launches made one loss series (a
    review)."""
    e, i, per = n["epoch"], n["inner"], n.get("per_epoch", 0)
    return within(e, 0, i, per), None, {"epoch": e * 1.0}, (i <= per) | (per == 0)


COUNTERS = Counters(_HEAD, _counted)


def _name(raw: str) -> str:
    key = raw.replace("@", "").lower()
    return _NAMES.get(key) or metric_name(key)


def _meters(rest: str) -> list[tuple[str, float, float | None]]:
    """Each meter's (name, value, average) in `rest`; a value that is no number is left out."""
    out: list[tuple[str, float, float | None]] = []
    found: list[re.Match[str]] = []
    for field in rest.split("\t") if "\t" in rest else (rest,):
        whole = _TABBED.fullmatch(field.strip(" ")) if " " in field.strip(" ") else None
        found.extend((whole,) if whole is not None else _METER.finditer(field))
    for m in found:
        value = parse_number(m["value"])
        if value is None:
            continue
        average = parse_number(m["average"]) if m["average"] is not None else None
        out.append((_name(m["name"]), value, average))
        if len(out) >= _MAX_METERS:
            break
    return out


class MetersParser(GuardedParser):
    """`Epoch: [e][i/N]\\tName value (average)…` lines → STEP records; `validate`'s result → EVAL."""

    name: ClassVar[str] = "meters"
    learn_anchors: ClassVar[tuple[bytes, ...] | None] = (b"Epoch",)
    learn_counters: ClassVar[Counters | None] = COUNTERS
    reads: ClassVar[Reads | None] = Reads(holds=("Epoch", "* ", "Test", "Val", "Eval", "Averaged stats: "))
    state_texts: ClassVar[tuple[str, ...]] = ("* ", "Test", "Val", "Eval", "Averaged stats: ")
    """The evaluation's lines, whose loss (`_test_loss`) its result line states."""

    def __init__(self) -> None:
        self._test_loss: float | None = None
        """The average loss the last `Test: [i/N]` line printed: the evaluation's loss at its result line."""

    def _parse(self, line: str) -> Record | None:
        found = COUNTERS.of(line)
        if found is not None:
            m, (step, _, derived, _) = found
            rest = line[m.end():]
            metrics = {name: value for name, value, _ in _meters(rest.replace(_MAX_MEM, "max_mem:"))}
            if not metrics:
                return None
            if "max_mem" in metrics and _MAX_MEM in rest:
                metrics["max_mem_gib"] = metrics.pop("max_mem") / 1024
            metrics.update(derived)
            return Record(Kind.STEP, step=step, metrics=metrics, t=logging_time(line.lstrip()))
        test = _TEST.match(line)
        if test is not None:
            loss = next((avg for name, _, avg in _meters(line[test.end():]) if name == "loss"), None)
            if loss is not None:
                self._test_loss = loss
            return None
        averaged = _AVERAGED.match(line) if "Averaged stats: " in line else None
        if averaged is not None:
            return self._averaged(line[averaged.end():], line)
        result = _RESULT.fullmatch(line)
        if result is None:
            return None
        metrics = {f"val_{name}": value for name, value, _ in _meters(result["result"].lstrip()[2:])}
        if not metrics:
            return None
        if self._test_loss is not None:
            metrics.setdefault("val_loss", self._test_loss)
        self._test_loss = None
        return Record(Kind.EVAL, metrics=metrics, t=logging_time(line.lstrip()))

    def _averaged(self, rest: str, line: str) -> Record | None:
        """The evaluation's `Averaged stats:` after its `Test:` lines: each meter's average (else its value) as
        `val_<name>`; None for the training's (an `lr` meter) or one after no `Test:` line."""
        meters = _meters(rest)
        if self._test_loss is None or any(name == "lr" for name, _, _ in meters):
            return None
        self._test_loss = None
        metrics = {f"val_{name}": value if average is None else average for name, value, average in meters}
        return Record(Kind.EVAL, metrics=metrics, t=logging_time(line.lstrip())) if metrics else None

    def score(self, line: str) -> int:
        """2 for a meter step line or an evaluation's result (the default), nothing for a test batch."""
        rec = self.parse(line)
        return 2 if rec is not None else 0
