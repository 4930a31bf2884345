"""llm.c lines: `train_gpt2.cu` console output, the CPU reference and `main.log`.

The CUDA step line went through nine format strings (2024); two shapes cover
them: the early `step N/T: train loss X [...] (Y ms[, Z tok/s])` and the
`step N/T | loss X (+0.12z)| norm … | lr … | Y ms | Z% bf16 MFU | W tok/s` pipe
form. `(+nanz)` z-scores are normal until the outlier detector has history, so
only finite z-scores are kept; `-100.0% … MFU` means "GPU not in the table" and
is omitted. `val loss` and `HellaSwag` lines carry no step: they belong to the
last step printed (0 before the first).
"""

from __future__ import annotations

import math
from typing import ClassVar

from runwatch import patterns
from runwatch.model import Event, Kind, Record, is_eval_metric
from runwatch.parsers.base import StepLineParser
from runwatch.parsers.fields import number, strip_lead
from runwatch.parsers.numbers import scaled
from runwatch.parsers.pydict import metric_name
from runwatch.parsers.reads import Reads
from runwatch.parsers.stepline import StepLine

_STEP = Kind.STEP
"""Looked up once: an enum member looked up on its class costs ~0.2 µs in Python 3.11."""
_HEAD = patterns.compile(r"step +(\d+)(?:/(\d+))?(:| \|)")
_OLD = patterns.compile(
    r" train loss (\S+)(?: \(acc (\S+)\))?(?: norm (\S+))?(?: lr (\S+))?"
    r" \((?:took )?([.\d]+) ms(?:, ([.\d]+) tok/s)?\)"
)
_MAIN_LOG = patterns.compile(r"s:(\d+) (\w+):(\S+)(?: lr:(\S+) norm:(\S+))?$")
STEP_LINE = StepLine(
    "step {step:pad}/{total:int} | loss {loss} ({loss_z:signed|+nan}z)| norm {grad_norm} ({grad_norm_z:signed|+nan}z)"
    "| lr {lr} | {step_time/1000} ms | {mfu|-}% bf16 MFU | {tokens_per_sec} tok/s"
)
"""The pipe form as train_gpt2.cu prints it since mid-2024: read per line and in columns (runwatch.parsers.columnar).
Its other forms (no z-scores, another GPU's MFU label) take `_pipe_fields`, which reads any of them."""
_Z = ("loss_z", "grad_norm_z")


class LlmcParser(StepLineParser):
    """Step, validation and HellaSwag lines of karpathy/llm.c."""

    name: ClassVar[str] = "llmc"
    step_line: ClassVar[StepLine] = STEP_LINE
    reads: ClassVar[Reads | None] = Reads(
        heads=("val loss ", "HellaSwag: ", "s:", "total average iteration time: ", "[eval] step ")
    )
    """Besides the template's `step ` (and the early `step N/T: train loss` form): evals, main.log, the finish."""

    def __init__(self) -> None:
        self._last_step = 0

    def after_fast(self, last_step: int) -> None:
        self._last_step = last_step

    def score(self, line: str) -> int:
        """`val loss X` and `HellaSwag:` lines are llm.c's too, but plain enough to be anyone's."""
        rec = LlmcParser().parse(line)
        if rec is None or rec.kind not in (Kind.STEP, Kind.EVAL):
            return 0
        return 1 if rec.kind is Kind.EVAL and not line.lstrip().startswith("s:") else 2

    def _parse(self, line: str) -> Record | None:
        if line[:1] not in ("s", "v", "H", "t"):
            line = strip_lead(line)
        if line.startswith("step "):
            return self._step(line)
        if line.startswith("[eval] step "):
            return self._eval_step(line[7:])
        if line.startswith("val loss "):
            v = number(line[9:])
            return None if v is None else self._eval({"val_loss": v})
        if line.startswith("HellaSwag: "):
            v = number(line.rpartition("=")[2])
            return None if v is None else self._eval({"hellaswag": v})
        if line.startswith("s:"):
            return self._main_log(line)
        if line.startswith("total average iteration time: "):
            return self._finished(line)
        return None

    def _eval(self, metrics: dict[str, float]) -> Record:
        return Record(kind=Kind.EVAL, step=self._last_step, metrics=metrics)

    def _step(self, line: str) -> Record | None:
        read = STEP_LINE.read(line)
        if read is not None:
            step, total, metrics = read
            for z in _Z:  # `(+nanz)` (no history yet) left them out already; another non-finite one too
                if z in metrics and not math.isfinite(metrics[z]):
                    del metrics[z]
            self._last_step = step
            return Record(_STEP, step, total, None, 0.0, metrics)  # positional, the member looked up once
        m = _HEAD.match(line)
        if m is None:
            return None
        step = int(m.group(1))
        total = int(m.group(2)) if m.group(2) else None
        rest = line[m.end():]
        metrics = _pipe_fields(rest) if m.group(3) == " |" else _old_fields(rest)
        if not metrics or "loss" not in metrics:
            return None
        self._last_step = step
        return Record(kind=Kind.STEP, step=step, total_steps=total, metrics=metrics)

    def _eval_step(self, line: str) -> Record | None:
        """`[eval] step   48000 | val_loss 4.0749`: the pipe form of a loop written after llm.c's, its evaluation."""
        m = _HEAD.match(line)
        if m is None or m.group(3) != " |":
            return None
        metrics = {k: v for k, v in _pipe_fields(line[m.end():]).items() if is_eval_metric(k)}
        return Record(kind=Kind.EVAL, step=int(m.group(1)), metrics=metrics) if metrics else None

    def _main_log(self, line: str) -> Record | None:
        """`main.log`: `s:N trl:X lr:Y norm:Z`, `s:N tel:X` (val loss), `s:N eval:X` (HellaSwag)."""
        m = _MAIN_LOG.match(line)
        if m is None:
            return None
        step, key, value, lr, norm = m.groups()
        v = number(value)
        if v is None:
            return None
        if key == "trl":
            metrics = {"loss": v}
            for field, text in (("lr", lr), ("grad_norm", norm)):
                x = number(text) if text else None
                if x is not None:
                    metrics[field] = x
            return Record(kind=Kind.STEP, step=int(step), metrics=metrics)
        name = {"tel": "val_loss", "eval": "hellaswag"}.get(key)
        if name is None:
            return None
        return Record(kind=Kind.EVAL, step=int(step), metrics={name: v})

    def _finished(self, line: str) -> Record:
        ms = number(line[30:], "ms")
        metrics = {} if ms is None else {"avg_step_time": ms / 1000.0}
        return Record(kind=Kind.EVENT, event=Event.FINISHED, step=self._last_step,
                      metrics=metrics, message=line[:500])


def _pipe_fields(text: str) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for seg in text.split("|"):
        seg = seg.strip()
        if seg.endswith(" ms"):
            v = number(seg[:-3])
            if v is not None:
                metrics["step_time"] = v / 1000.0
        elif seg.endswith("MFU"):  # `28.8% bf16 MFU`, `40.1% A100 fp16 MFU`
            v = number(seg.partition("%")[0])
            if v is not None and v >= 0:
                metrics["mfu"] = v
        elif seg.endswith(" tok/s"):
            v = scaled(seg[:-6])
            if v is not None:
                metrics["tokens_per_sec"] = v
        else:
            _named(seg, metrics)
    return metrics


_NAMES = {"loss": "loss", "train loss": "loss", "norm": "grad_norm", "grad": "grad_norm", "lr": "lr", "mfu": "mfu"}
_OTHER_NAME = patterns.compile(r"[A-Za-z][\w/.\-]{0,40}")
"""A segment's name that is none of `_NAMES`: kept as its metric name (`val_loss 4.07`, `ppl 12.3`). A loop
written after llm.c's (`step 47700 | loss 1.4684 | lr 1.79e-04 | grad 0.075 | 113.4k tok/s | mfu 114.07%`) read
its loss and rate only (a review)."""


def _named(seg: str, metrics: dict[str, float]) -> None:
    """`loss 3.2 (+0.19z)`, `train loss 3.2`, `norm 0.27 (+nanz)`, `lr 3.00e-04`."""
    value_part, _, z_part = seg.partition("(")
    words = value_part.split()
    if not words:
        return
    said = " ".join(words[:-1])
    name = _NAMES.get(said) or (metric_name(said) if _OTHER_NAME.fullmatch(said) else None)
    v = number(words[-1].removesuffix("%")) if name else None
    if name is None or v is None:
        return
    metrics[name] = v
    if z_part:  # `+0.19z)` (current) or `z +0.12)` (June 2024)
        z = number(z_part.rstrip(")").removeprefix("z ").removesuffix("z"))
        if z is not None and math.isfinite(z):  # `(+nanz)` just means "no history yet"
            metrics[name + "_z"] = z


def _old_fields(text: str) -> dict[str, float]:
    m = _OLD.match(text)
    if m is None:
        return {}
    loss, acc, norm, lr, ms, toks = m.groups()
    metrics: dict[str, float] = {}
    for name, value in (("loss", loss), ("accumulated_loss", acc), ("grad_norm", norm), ("lr", lr),
                        ("tokens_per_sec", toks)):
        v = number(value) if value is not None else None
        if v is not None:
            metrics[name] = v
    v = number(ms)
    if v is not None:
        metrics["step_time"] = v / 1000.0
    return metrics
