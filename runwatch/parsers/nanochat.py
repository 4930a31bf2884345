"""nanochat / picollm console lines (`print0` from base_train, mid_train, chat_sft, chat_rl).

Every historical step-line variant is `step N[/T] (P%) | key: value | …`, so one
table of keys covers them all: optional `grad norm`, the `eta` suffix, `epoch`
(plain or `E pq: P rg: R`), `mfu`/`bf16_mfu`. Capital-`Step N[/T] | …` lines
are evaluations, except the old SFT `Training loss` line and RL rewards.
"""

from __future__ import annotations

from typing import ClassVar

from runwatch.model import Event, Kind, Record
from runwatch.parsers.base import StepLineParser
from runwatch.parsers.fields import number, snake, strip_lead
from runwatch.parsers.numbers import parse_int
from runwatch.parsers.reads import Reads
from runwatch.parsers.stepline import StepLine

_STEP = Kind.STEP
"""Looked up once: an enum member looked up on its class costs ~0.2 µs in Python 3.11."""
# field → (metric, unit suffix: `ms` and `m` (minutes) are converted to seconds)
_STEP_FIELDS: dict[str, tuple[str, str]] = {
    "loss": ("loss", ""),
    "Training loss": ("loss", ""),
    "grad norm": ("grad_norm", ""),
    "lrm": ("lrm", ""),
    "dt": ("step_time", "ms"),
    "tok/sec": ("tokens_per_sec", ""),
    "mfu": ("mfu", "%"),
    "bf16_mfu": ("mfu", "%"),
    "total time": ("elapsed", "m"),
    "eta": ("eta", "m"),
    "num_tokens": ("num_tokens", ""),
}
_EVAL_FIELDS: dict[str, str] = {
    "Validation bpb": "val_bpb",
    "Validation loss": "val_loss",
    "CORE metric": "core_metric",
}
_RL_KEYS = ("Average reward", "Average sequence length")
STEP_LINE = StepLine(
    "step {step:int}[/{total:int}] ({_}%) | loss: {loss} |[ grad norm: {grad_norm} |] lrm: {lrm}"
    " | dt: {step_time/1000}ms | tok/sec: {tokens_per_sec:commas} | [bf16_]mfu: {mfu}"
    "[ | epoch: {epoch:int}[ pq: {pq:int} rg: {rg:int}]] | total time: {elapsed*60}m[ | eta: {eta*60}m]"
)
"""The base_train line of every version since the first: read per line and in columns (runwatch.parsers.columnar).
Anything else (SFT/mid-train lines with other fields, odd values) takes `_fields`, which reads any `key: value`."""
_NO_MFU = frozenset({"mfu"})


def mfu_barrier(line: str, omit: frozenset[str]) -> frozenset[str]:
    """What a line does to the mfu of the step lines after it: none after `GPU: … Peak FLOPS (BF16): inf`
    or `MFU will show as 0%` (the `mfu: 0.00` printed then means unknown), back after a finite peak."""
    if line[:1] not in ("s", "S", "T", "G"):
        line = strip_lead(line)
    if line.startswith(("step ", "Step ", "Total training time:")):
        return omit
    if line.startswith("GPU: ") and "Peak FLOPS" in line:
        unknown = line.rstrip().endswith(": inf")
    elif "MFU will show as 0%" in line:
        unknown = True
    else:
        return omit
    return omit | _NO_MFU if unknown else omit - _NO_MFU


class NanochatParser(StepLineParser):
    """Step, eval and end-of-run lines of nanochat and its picollm copy."""

    name: ClassVar[str] = "picollm"
    step_line: ClassVar[StepLine] = STEP_LINE
    barriers: ClassVar[tuple[bytes, ...]] = (b"Peak FLOPS", b"MFU will show as 0%")
    barrier = staticmethod(mfu_barrier)
    reads: ClassVar[Reads | None] = Reads(heads=("Step ", "Total training time:"))
    """Besides the template's `step ` and the barriers (StepLineParser adds those): evals, the finish line."""

    def __init__(self) -> None:
        self._last_step: int | None = None
        self._omit: frozenset[str] = frozenset()
        """`{"mfu"}` once `Peak FLOPS (BF16): inf` was printed: the `mfu: 0.00` that follows means unknown."""

    def fast_omit(self) -> frozenset[str]:
        return self._omit

    def after_fast(self, last_step: int) -> None:
        self._last_step = last_step

    def _parse(self, line: str) -> Record | None:
        if line[:1] not in ("s", "S", "T", "G"):
            line = strip_lead(line)
        if line.startswith("step "):
            return self._step(line)
        if line.startswith("Step "):
            return self._capital_step(line)
        if line.startswith("Total training time:"):
            return self._finished(line)
        if line.startswith("GPU: ") or "MFU will show as 0%" in line:
            self._omit = mfu_barrier(line, self._omit)
        return None

    def _step(self, line: str) -> Record | None:
        read = STEP_LINE.read(line)
        if read is not None:
            step, total, metrics = read
            mfu = metrics.get("mfu")
            if mfu is not None and ("mfu" in self._omit or mfu < 0):  # negative: the "unknown" sentinel; NaN is kept
                del metrics["mfu"]
            self._last_step = step
            return Record(_STEP, step, total, None, 0.0, metrics)  # positional, the member looked up once
        head, sep, rest = line.partition(" | ")
        parts = head.split()
        if not sep or len(parts) != 3 or not parts[2].endswith("%)") or parts[2][:1] != "(":
            return None
        step_text, _, total_text = parts[1].partition("/")
        step_n, total_n = parse_int(step_text), parse_int(total_text) if total_text else None
        if step_n is None:
            return None
        metrics = self._fields(rest)
        if "loss" not in metrics:
            return None
        self._last_step = step_n
        return Record(kind=Kind.STEP, step=step_n, total_steps=total_n, metrics=metrics)

    def _capital_step(self, line: str) -> Record | None:
        head, sep, rest = line.partition("|")
        if not sep:
            return None
        step_text, _, total_text = head[5:].strip().partition("/")
        step, total = parse_int(step_text), parse_int(total_text) if total_text else None
        if step is None:
            return None
        key, _, value = rest.partition(":")
        key = key.strip()
        kind = Kind.EVAL
        if key in _EVAL_FIELDS:
            v = number(value)
            metrics = {} if v is None else {_EVAL_FIELDS[key]: v}
        elif key == "Training loss":  # old chat_sft: `Step N/T | Training loss: X| lrm: …`
            kind, metrics = Kind.STEP, self._fields(rest)
        elif key in _RL_KEYS:  # chat_rl per-step rewards
            kind, metrics = Kind.STEP, _generic(rest)
        elif key.startswith("Example step"):  # chat_rl per-example detail, not a step of its own
            return None
        else:  # ChatCORE, pass@k, old SFT metrics_str
            metrics = _generic(rest)
        if not metrics:
            return None
        self._last_step = step
        return Record(kind=kind, step=step, total_steps=total, metrics=metrics)

    def _finished(self, line: str) -> Record:
        elapsed = number(line[20:], "m")
        metrics = {} if elapsed is None else {"elapsed": elapsed * 60.0}
        return Record(
            kind=Kind.EVENT, event=Event.FINISHED, step=self._last_step,
            metrics=metrics, message=line[:500],
        )

    def _fields(self, text: str) -> dict[str, float]:
        metrics: dict[str, float] = {}
        for seg in text.split("|"):
            key, sep, value = seg.partition(":")
            if not sep:
                continue
            key = key.strip()
            if key == "epoch":
                _epoch(value, metrics)
                continue
            spec = _STEP_FIELDS.get(key)
            if spec is None:
                v = number(value)
                if v is not None:
                    metrics[snake(key)] = v
                continue
            name, unit = spec
            v = number(value, unit)
            if v is None:
                continue
            if unit == "ms":
                v /= 1000.0
            elif unit == "m":
                v *= 60.0
            elif name == "mfu" and ("mfu" in self._omit or v < 0):
                continue
            metrics[name] = v
        return metrics


def _epoch(value: str, metrics: dict[str, float]) -> None:
    """`1` or the ClimbMix compound `1 pq: 117 rg: 64` (parquet file and row group)."""
    tokens = value.split()
    if not tokens:
        return
    v = number(tokens[0])
    if v is not None:
        metrics["epoch"] = v
    for i in range(1, len(tokens) - 1, 2):
        v = number(tokens[i + 1])
        if v is not None:
            metrics[snake(tokens[i])] = v


def _generic(text: str) -> dict[str, float]:
    """Every `key: number` in `a: 1 | b: 2` or `Pass@1: 0.1, Pass@2: 0.2`, keys in snake_case."""
    metrics: dict[str, float] = {}
    for seg in text.replace(",", "|").split("|"):
        key, sep, value = seg.partition(":")
        if sep:
            v = number(value)
            if v is not None:
                metrics[snake(key)] = v
    return metrics
