"""nanoGPT `train.py` lines (and the llama2.c derivative's step line).

`iter N: loss X, time Yms[, mfu Z%]` is a training step (no mfu before Feb 2023;
`mfu -100.00%` is the "not measured yet" sentinel, so it is omitted);
`step N: train loss X, val loss Y` is the periodic evaluation on the same
counter. Users often pipe the output through a timestamper (`ts`), so a
leading `YYYY-MM-DD HH:MM:SS ` is read as the line's time.

build-nanogpt's metric file (`log/log.txt`: `19071 train 3.072705`, `19072 val 3.0316`, `19072 hella
0.3036`, a step, its split and one number) is read too: `train` a step's loss, `val` and `hella` an
evaluation's `val_loss` and `hellaswag_acc` (its console is the generic `kv` format's).

`done: N iterations …` (the run lab's torchrun loop prints it on rank 0 after
its last `iter` line) is the run's finish line: without it a run that ended
well read RUNNING, then STALLED 30 s later. Only that whole shape counts, so
that "Loading checkpoint shards: done" or a `done.` in a message is no finish.
"""

from __future__ import annotations

from typing import ClassVar

from runwatch import patterns
from runwatch.model import Event, Kind, Record
from runwatch.parsers.base import StepLineParser
from runwatch.parsers.fields import local_time, number, strip_lead
from runwatch.parsers.reads import Reads
from runwatch.parsers.stepline import StepLine

_STEP = Kind.STEP
"""Looked up once: an enum member looked up on its class costs ~0.2 µs in Python 3.11."""

STEP_LINE = StepLine("iter {step:int}: loss {loss}[ BPC][, time {step_time/1000}ms][, mfu {mfu|-}%]", whole=False)
"""A training step. Not the whole line: a cut-off paste (`…, time 302.1`, no unit) still gives its loss. A
negative MFU is none (`-100.00%`: running_mfu's initial -1.0, printed until iteration 5 measures one), on the
fast path too: the first lines of every run were read one by one. Character-level forks print the loss in
bits per character (`loss 1.5822 BPC, time 323.32ms`): its unit was the end of the line's reading, and a
real run showed a loss and no step time, MFU or evaluation (a review)."""
_EVAL = patterns.compile(r"step (\d+): train loss ([^,\s]+)(?: BPC)?, val loss (\S+)")
# llama2.c: `490 | loss 5.7543 | lr 4.900000e-05 | 8060.78ms | mfu 0.21%`
_LLAMA2C = patterns.compile(r"(\d+) \| loss (\S+) \| lr (\S+) \| ([.\d]+)ms \| mfu ([^%\s]+)%")
_STAMP = patterns.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) ")
_SPLIT_LINE = patterns.compile(r"(\d{1,15}) (train|val|hella) ([-+.0-9A-Za-z]{1,40})$")
_SPLITS = {"train": (Kind.STEP, "loss"), "val": (Kind.EVAL, "val_loss"), "hella": (Kind.EVAL, "hellaswag_acc")}
"""build-nanogpt's `log.txt`: a line's split → its record's kind and metric."""
_DONE = patterns.compile(r"done: (\d+) iterations?\b")


class NanoGPTParser(StepLineParser):
    """Step and eval lines of karpathy/nanoGPT."""

    name: ClassVar[str] = "nanogpt"
    step_line: ClassVar[StepLine] = STEP_LINE
    reads: ClassVar[Reads | None] = Reads(holds=("iter ", "step ", "done: ", " | loss ", " train ", " val ", " hella "))
    """Steps, evals and the finish line, also behind a `ts` stamp (`_STAMP`), llama2.c's step line and
    build-nanogpt's metric file."""

    def _parse(self, line: str) -> Record | None:
        c = line[:1]
        if c == "d":
            return _done(line, 0.0)
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
            return _llama2c(line) or _split_line(line)
        t = local_time(m.group(1))
        rest = line[m.end():]
        if rest.startswith("iter "):
            return _iter(rest, t)
        if rest.startswith("step "):
            return _eval(rest, t)
        if rest.startswith("done: "):
            return _done(rest, t)
        return None


def _iter(line: str, t: float) -> Record | None:
    read = STEP_LINE.read(line)
    if read is None:
        return None
    step, _, metrics = read
    return Record(_STEP, step, None, None, t, metrics)  # positional, the member looked up once: every live step


def _eval(line: str, t: float) -> Record | None:
    m = _EVAL.match(line)
    if m is None:
        return None
    train, val = number(m.group(2)), number(m.group(3))
    if train is None or val is None:
        return None
    return Record(kind=Kind.EVAL, step=int(m.group(1)), t=t, metrics={"train_loss": train, "val_loss": val})


def _done(line: str, t: float) -> Record | None:
    """The finish line (no step of its own: the run is at the last step it logged)."""
    if _DONE.match(line) is None:
        return None
    return Record(kind=Kind.EVENT, event=Event.FINISHED, t=t, message=line[:500])


def _split_line(line: str) -> Record | None:
    """A line of build-nanogpt's `log.txt` (`_SPLIT_LINE`)."""
    m = _SPLIT_LINE.match(line)
    if m is None:
        return None
    value = number(m.group(3))
    if value is None:
        return None
    kind, name = _SPLITS[m.group(2)]
    return Record(kind=kind, step=int(m.group(1)), metrics={name: value})


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
