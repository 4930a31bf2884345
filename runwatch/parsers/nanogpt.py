"""nanoGPT `train.py` lines (and the llama2.c derivative's step line).

`iter N: loss X, time Yms[, mfu Z%]` is a training step (no mfu before Feb 2023;
`mfu -100.00%` is the "not measured yet" sentinel, so it is omitted);
`step N: train loss X, val loss Y` is the periodic evaluation on the same
counter. Users often pipe the output through a timestamper (`ts`), so a
leading `YYYY-MM-DD HH:MM:SS ` is read as the line's time.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import ClassVar

from runwatch.model import Kind, Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.fields import local_time, number, strip_lead

_ITER = re.compile(r"iter (\d+): loss ([^,\s]+)(?:, time ([-+.\d]+)(ms)?)?(?:, mfu ([^%\s]+)%)?")
_EVAL = re.compile(r"step (\d+): train loss ([^,\s]+), val loss (\S+)")
# llama2.c: `490 | loss 5.7543 | lr 4.900000e-05 | 8060.78ms | mfu 0.21%`
_LLAMA2C = re.compile(r"(\d+) \| loss (\S+) \| lr (\S+) \| ([.\d]+)ms \| mfu ([^%\s]+)%")
_STAMP = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) ")


class NanoGPTParser(GuardedParser):
    """Step and eval lines of karpathy/nanoGPT."""

    name: ClassVar[str] = "nanogpt"

    @staticmethod
    def metric_order(metrics: Collection[str], total: bool) -> list[str]:
        """The order `parse` gives these metrics of an `iter` line (for the columnar fast path; JSON shows it)."""
        order = ("loss", "step_time", "mfu")
        return [m for m in order if m in metrics] + sorted(set(metrics).difference(order))

    def _parse(self, line: str) -> Record | None:
        c = line[:1]
        if c not in ("i", "s"):
            if not c.isdigit():
                line = strip_lead(line)
                c = line[:1]
            if c.isdigit():
                return self._stamped_or_llama2c(line)
        if line.startswith("iter "):
            return _iter(line, 0.0)
        if line.startswith("step "):
            return _eval(line, 0.0)
        return None

    def _stamped_or_llama2c(self, line: str) -> Record | None:
        m = _STAMP.match(line)
        if m is None:
            return _llama2c(line)
        t = local_time(m.group(1))
        rest = line[m.end():]
        if rest.startswith("iter "):
            return _iter(rest, t)
        if rest.startswith("step "):
            return _eval(rest, t)
        return None


def _iter(line: str, t: float) -> Record | None:
    m = _ITER.match(line)
    if m is None:
        return None
    step, loss, ms, unit, mfu = m.groups()
    metrics: dict[str, float] = {}
    v = number(loss)
    if v is None:
        return None
    metrics["loss"] = v
    dt = number(ms) if unit else None  # a cut-off paste (`time 302.1`) has no unit: incomplete number
    if dt is not None:
        metrics["step_time"] = dt / 1000.0
    if mfu is not None:
        v = number(mfu)
        if v is not None and v >= 0:  # -100.00 = running_mfu's initial -1.0: not measured yet
            metrics["mfu"] = v
    return Record(kind=Kind.STEP, step=int(step), t=t, metrics=metrics)


def _eval(line: str, t: float) -> Record | None:
    m = _EVAL.match(line)
    if m is None:
        return None
    train, val = number(m.group(2)), number(m.group(3))
    if train is None or val is None:
        return None
    return Record(kind=Kind.EVAL, step=int(m.group(1)), t=t, metrics={"val_loss": val, "train_loss": train})


def _llama2c(line: str) -> Record | None:
    m = _LLAMA2C.match(line)
    if m is None:
        return None
    loss, lr, mfu = number(m.group(2)), number(m.group(3)), number(m.group(5))
    if loss is None or lr is None:
        return None
    metrics = {"loss": loss, "lr": lr, "step_time": float(m.group(4)) / 1000.0}
    if mfu is not None and mfu >= 0:
        metrics["mfu"] = mfu
    return Record(kind=Kind.STEP, step=int(m.group(1)), metrics=metrics)
