"""TensorFlow Model Garden's trainers (tensorflow/models): their metrics are a Python dict that `pprint` lays out
over several lines.

```
I1130 18:13:24.836439 139898613349248 controller.py:535] train | step:     50 | steps/sec:  129.3 | output:
    {'learning_rate': np.float32(0.05),
     'model_loss': np.float32(0.23249455),
     'training_loss': np.float32(0.23249455)}
INFO:tensorflow:Step 100 per-step time 0.382s
INFO:tensorflow:{'Loss/classification_loss': 0.62606287,
 'Loss/localization_loss': 0.4728667,
 'Loss/total_loss': 1.2537961,
 'learning_rate': 0.0319994}
```
Orbit's `Controller` (Model Garden's `official/` models: BERT, ResNet, RetinaNet, YT8M …) logs `train | step: N |
steps/sec: R | output: ` and its outputs, one line when they fit in 80 columns, else one key a line four spaces in;
its evaluations ` eval | step: N | steps/sec: R | eval time: S sec | output: …` alike. The Object Detection API's
`model_lib_v2` (`model_main_tf2.py`) logs `Step N per-step time Ss`, then the loss dict through
`pprint.pformat(…, width=40)` as one more log call, its continuation lines one space in; its evaluations `Eval metrics
at step N` and a `\t+ name: value` line a metric, each behind the logger's prefix. Orbit logs each message through absl
and prints it too, and the Object Detection API's go to TensorFlow's logger and absl's both: in a log of stdout and
stderr each block comes twice, the second copy (same step, same text) read once.

A block opens on its header line and closes with the dict's last brace, where its record is given (a dict cut short by
another line gives what it read so far); values are read as `hf-trainer` reads a dict's (NumPy 2's `np.float32(nan)`
is NaN: runwatch.parsers.numbers.held_numbers). Names: Orbit's `training_loss` and the Object Detection API's
`Loss/total_loss` are the loss, `learning_rate` lr, `steps/sec` the step time (its inverse; `0.0`, a step slower than
20 s, gives none), `per-step time` the step time; an evaluation's `validation_loss` (else its `total_loss`) is
`val_loss`, every other name `val_` and its snake_case (`val_detection_boxes_precision_map`), its own pace dropped. A
line's glog prefix gives the record's time.

Kept as code of its own, as Composer's and OLMo's are: a record is several lines. Read as `kv`, the header lines gave
the step and no loss, the dict's lines nothing, and `check` said OK of runs whose loss was NaN (a new user's review:
a TF2 Object Detection API run; Orbit's real output, tests/fixtures/printed/orbit_nan.log).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from runwatch import patterns
from runwatch.model import Kind, Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.fields import GLOG_PREFIX, logging_time
from runwatch.parsers.numbers import held_numbers, parse_number
from runwatch.parsers.pydict import dict_pairs, metric_name, snake

_PREFIX = patterns.compile(rf"(?:{GLOG_PREFIX}|(?:INFO|WARNING):(?:tensorflow|absl):)")
"""The loggers' prefixes before a message: absl's glog-style (`I1130 18:13:24.836439 1398… controller.py:535] `) and
Python logging's default for TensorFlow's and absl's loggers (`INFO:tensorflow:`)."""
_ORBIT = patterns.compile(r" ?(?P<kind>train|eval) \| step: {0,12}(?P<step>\d{1,15}) \| (?:steps/sec: {0,12}(?P<rate>\S{1,30}) \| )?"
                    r"(?:eval time: {0,12}\S{1,30}(?: sec)? \| )?output: ?(?P<rest>.*)$")
_OD_STEP = patterns.compile(r"Step (?P<step>\d{1,15}) per-step time (?P<time>[\d.]{1,30})s\s*$")
_OD_EVAL = patterns.compile(r"Eval metrics at step (?P<step>\d{1,15})\s*$")
_OD_ITEM = patterns.compile(r"\t?\+ (?P<key>[^:\s][^:]{0,200}): (?P<value>\S{1,40})\s*$")
_MAX_LINES = 400
"""A dict longer than this is given up as not one of these (Model Garden's have a few to a few hundred keys)."""
_LOSSES = ("training_loss", "Loss/total_loss", "total_loss", "loss")
"""Where a training block's loss is, first found first."""
_VAL_LOSSES = ("validation_loss", "Loss/total_loss", "total_loss", "loss")
_REMEMBERED = 64
"""Blocks remembered to know the other logger's copy by (a buffered stdout holds a few kilobytes: a few dozen)."""
_DROPPED = frozenset({"steps_per_second"})
"""An evaluation's own pace, which Orbit adds to its output: no metric of the model."""


@dataclass(slots=True)
class _Block:
    kind: Kind
    step: int
    t: float
    stated: dict[str, float]
    """Metrics its header states (the step time)."""
    values: dict[str, float] = field(default_factory=dict)
    """The dict's values (an evaluation's `+ name: value` lines), by the names it logs."""
    text: list[str] = field(default_factory=list)
    depth: int = 0
    copy: bool = False
    """A dict with no header of its own after a training block's: the other logger's copy, read and dropped."""


class TFModelsParser(GuardedParser):
    """Orbit's and the Object Detection API's blocks → STEP/EVAL records (see the module notes)."""

    name = "tf-models"

    def __init__(self) -> None:
        self.more: list[Record] = []
        self._block: _Block | None = None
        """The dict being read, its header's step and metrics."""
        self._header: _Block | None = None
        """The Object Detection API's step header, waiting for the dict its next log call writes."""
        self._items: _Block | None = None
        """An Object Detection API evaluation's `+ name: value` lines so far."""
        self._given: dict[tuple[Kind, int], str] = {}
        """The dict text of each block given lately, by kind and step: the same again is the other logger's copy,
        which a buffered stdout may write long after absl's (Orbit's printed copies, all at the process's end)."""
        self._last_step: int | None = None

    def _parse(self, line: str) -> Record | None:
        block = self._block
        if block is not None:
            if line[:1] == " ":
                return self._more(block, line)
            self._block = None
            return self._then(self._finish(block), line)  # a dict cut short by another line: what it read
        prefix = _PREFIX.match(line) if line[:1] in "IWE" else None
        message = line[prefix.end():] if prefix is not None else line
        if self._items is not None:
            item = _OD_ITEM.match(message)
            if item is not None:
                if (value := parse_number(item["value"])) is not None:
                    self._items.values.setdefault(item["key"], value)
                return None
            items, self._items = self._items, None
            return self._then(self._record(items), line)
        if "| step:" in message and (orbit := _ORBIT.match(message)) is not None:
            return self._orbit(orbit, line)
        if message[:5] == "Step " and (od := _OD_STEP.match(message)) is not None:
            return self._od_header(od, line)
        if message[:1] == "{" and (header := self._header) is not None:
            self._header = None
            return self._more(self._opened(header), message)
        if message[:1] == "{" and self._last_step is not None:
            return self._more(self._opened(_Block(Kind.STEP, self._last_step, 0.0, {}, copy=True)), message)
        if message[:13] == "Eval metrics " and (ev := _OD_EVAL.match(message)) is not None:
            self._items = _Block(Kind.EVAL, int(ev["step"]), logging_time(line), {})
        return None

    def _then(self, done: Record | None, line: str) -> Record | None:
        """`done` (a block the line ended), then what the line itself gives, handed over in `more`."""
        try:
            own = self._parse(line)
        except (ValueError, IndexError, OverflowError):
            own = None  # the line is nobody's; the block it ended is still read
        if done is None:
            return own
        if own is not None:
            self.more.append(own)
        return done

    def _orbit(self, m: re.Match[str], line: str) -> Record | None:
        kind = Kind.STEP if m["kind"] == "train" else Kind.EVAL
        block = _Block(kind, int(m["step"]), logging_time(line), {})
        rate = parse_number(m["rate"]) if m["rate"] else None
        if kind is Kind.STEP and rate is not None and 0.0 < rate < math.inf:
            block.stated["step_time"] = 1.0 / rate
        rest = m["rest"].strip()
        self._opened(block)
        return self._more(block, rest) if rest[:1] == "{" else None  # else its dict on the lines after

    def _od_header(self, m: re.Match[str], line: str) -> Record | None:
        step, t = int(m["step"]), logging_time(line)
        header = self._header
        if header is not None and header.step == step:
            header.t = header.t or t  # the other logger's copy of the header
            return None
        self._header = _Block(Kind.STEP, step, t, {"step_time": float(m["time"])})
        return self._record(header) if header is not None else None  # a header whose dict never came

    def _opened(self, block: _Block) -> _Block:
        self._block = block
        return block

    def _more(self, block: _Block, text: str) -> Record | None:
        block.text.append(text.strip())
        block.depth += text.count("{") - text.count("}")
        if block.depth > 0 and len(block.text) < _MAX_LINES:
            return None
        self._block = None
        return self._finish(block) if block.depth <= 0 else None

    def _finish(self, block: _Block) -> Record | None:
        text = " ".join(block.text)
        if not text:
            return self._record(block)  # a header whose dict never came
        key = (block.kind, block.step)
        if block.copy or self._given.get(key) == text:
            return None  # the other logger's copy
        if len(self._given) >= _REMEMBERED:
            del self._given[next(iter(self._given))]
        self._given[key] = text
        for name, raw, complete in dict_pairs(held_numbers(text)):
            if complete and name not in _DROPPED and (value := parse_number(raw)) is not None:
                block.values.setdefault(name, value)
        return self._record(block)

    def _record(self, block: _Block) -> Record | None:
        if block.kind is Kind.STEP:
            metrics = {**_named(block.values, _LOSSES, "loss", ""), **block.stated}
            self._last_step = block.step
        else:
            metrics = _named(block.values, _VAL_LOSSES, "val_loss", "val_")
        return Record(block.kind, block.step, None, None, block.t, metrics) if metrics else None

    def flush(self) -> Record | None:
        block, self._block = self._block, None
        if block is not None:
            return self._finish(block)
        items, self._items = self._items, None
        if items is not None:
            return self._record(items)
        header, self._header = self._header, None
        return self._record(header) if header is not None else None

    @property
    def holding(self) -> bool:
        return self._header is not None or self._items is not None

    def score(self, line: str) -> int:
        """2 for a header only these trainers write (Orbit's `train | step: N | steps/sec: R | output:` and ` eval |
        step: N | … | output:`, the Object Detection API's `Step N per-step time Ss` and `Eval metrics at step N`: a
        continuous evaluation's job logs only these); nothing for the dict's lines, which any loop may print."""
        prefix = _PREFIX.match(line) if line[:1] in "IWE" else None
        message = line[prefix.end():] if prefix is not None else line
        if "| step:" in message and _ORBIT.match(message) is not None:
            return 2
        if message[:5] == "Step " and _OD_STEP.match(message) is not None:
            return 2
        return 2 if message[:13] == "Eval metrics " and _OD_EVAL.match(message) is not None else 0


def _named(values: dict[str, float], losses: tuple[str, ...], loss_name: str, lead: str) -> dict[str, float]:
    """The block's values by their runwatch names: the first of `losses` found is `loss_name`; the rest snake_case
    (an Object Detection API loss without its `Loss/`), each after `lead`."""
    out: dict[str, float] = {}
    loss = next((k for k in losses if k in values), None)
    if loss is not None:
        out[loss_name] = values[loss]
    for key, value in values.items():
        if key == loss:
            continue
        bare = key[5:] if key.startswith("Loss/") else key
        name = metric_name(bare) if not lead else f"{lead}{snake(bare)}"
        if name == "loss" and not lead:
            name = snake(bare)  # a second loss key (`total_loss` beside `training_loss`) keeps its name
        out.setdefault(name, value)
    return out
