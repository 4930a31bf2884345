"""torchtitan metric lines: `[titan] YYYY-MM-DD HH:MM:SS,mmm - root - INFO - step: N  loss: X  …`.

Fields are separated by two spaces and padded (`step:  4`, `grad_norm:  0.8319`),
so they are read as `name: value` pairs rather than by position. `memory:
66.91GiB(37.51%)` holds two values; `mfu: N/A` (peak FLOPs unknown) is omitted.
Older releases have no `grad_norm`. `validate step:` lines are evaluations.

Under pipeline parallelism only the ranks that hold the last stage compute the loss: the others log
torchtitan's stand-in, `loss: -1.00000` (its trainer's `torch.tensor([-1.0])` where `pp_has_last_stage` is
false), which is no loss. Read as one, a PP run's first-stage log (the rank a launcher's log shows) was a flat
loss of -1 from the first step to the last, and a chart of it a line that said the run learned nothing (a
review). A cross-entropy is never negative, so -1 exactly is read as no value.
"""

from __future__ import annotations

from typing import ClassVar

from runwatch import patterns
from runwatch.model import Kind, Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.fields import local_time, number, snake
from runwatch.parsers.numbers import parse_int
from runwatch.parsers.reads import Reads

_HEADER = patterns.compile(r"\[titan\] (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) - [^ ]+ - [A-Z]+ - ")
_PAIR = patterns.compile(r"(?<!\w)(\w++): +(\S+)")
"""A `name: value` pair; the look-behind starts a name only at a word's first character, so a long word
is scanned once, not once from each of its characters (a 65,000-character line took 26 s)."""
_STEP_NAMES = {
    "loss": "loss", "grad_norm": "grad_norm", "tps": "tokens_per_sec", "tflops": "tflops", "mfu": "mfu",
}
_EVAL_NAMES = {"loss": "val_loss", "tps": "val_tokens_per_sec"}
_NO_LOSS = -1.0
"""What a rank without the pipeline's last stage logs as its loss (see the module notes)."""


class TorchtitanParser(GuardedParser):
    """Training and validation metric lines of pytorch/torchtitan."""

    name: ClassVar[str] = "torchtitan"
    learn_anchors: ClassVar[tuple[bytes, ...] | None] = (b"step: ",)
    reads: ClassVar[Reads | None] = Reads(holds=("step: ",))
    """A metric line's message starts `step: ` or `validate step: `."""

    def score(self, line: str) -> int:
        """Any `[titan]` logger line is a hint; a metric line is the signature."""
        rec = TorchtitanParser().parse(line)
        if rec is not None:
            return 2
        return 1 if _HEADER.search(line) else 0

    def _parse(self, line: str) -> Record | None:
        i = line.find("[titan] ")
        if i < 0:
            return None
        m = _HEADER.match(line, i)
        if m is None:
            return None
        msg = line[m.end():]
        if msg.startswith("step: "):
            kind, names = Kind.STEP, _STEP_NAMES
        elif msg.startswith("validate step: "):
            kind, names, msg = Kind.EVAL, _EVAL_NAMES, msg[9:]
        else:
            return None
        pairs = _PAIR.findall(msg)
        if not pairs or pairs[0][0] != "step":
            return None
        step = parse_int(pairs[0][1])
        if step is None:
            return None
        prefix = "val_" if kind is Kind.EVAL else ""  # keep eval throughput out of the training series
        metrics: dict[str, float] = {}
        for key, value in pairs[1:]:
            if key == "memory":  # `66.91GiB(37.51%)`
                gib, _, pct = value.partition("GiB(")
                for name, text in (("memory_gib", gib), ("memory_pct", pct.rstrip("%)"))):
                    v = number(text)
                    if v is not None:
                        metrics[prefix + name] = v
                continue
            v = number(value.rstrip("%"))
            if key == "loss" and v == _NO_LOSS:
                continue
            if v is not None:  # `mfu: N/A` is not a number: omitted
                metrics[names.get(key) or prefix + snake(key)] = v
        t = local_time(m.group(1), m.group(2))
        return Record(kind=kind, step=step, t=t, metrics=metrics)
