"""nanochat / picollm console lines (`print0` from base_train, mid_train, chat_sft, chat_rl).

Every historical step-line variant is `step N[/T] (P%) | key: value | …`, so one
table of keys covers them all: optional `grad norm`, the `eta` suffix, `epoch`
(plain or `E pq: P rg: R`), `mfu`/`bf16_mfu`. Capital-`Step N[/T] | …` lines
are evaluations, except the old SFT `Training loss` line and RL rewards.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import ClassVar

from runwatch.model import Event, Kind, Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.fields import number, snake, strip_lead
from runwatch.parsers.numbers import ascii_float, parse_int

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
# The base_train line of every version since the first, read in one match; anything else
# (SFT/mid-train without `/T`, new fields, odd values) takes the general path.
_FAST = re.compile(
    r"step (\d+)/(\d+) \([^)]*\) \| loss: (\S+) \|(?: grad norm: (\S+) \|)? lrm: (\S+)"
    r" \| dt: (\S+)ms \| tok/sec: ([\d,]+) \| (?:bf16_)?mfu: (\S+)"
    r"(?: \| epoch: (\d+)(?: pq: (\d+) rg: (\d+))?)? \| total time: (\S+)m(?: \| eta: (\S+)m)?"
)


_NO_MFU = frozenset({"mfu"})
# Metric order of a step line's record: `_fast_record`'s (a `/T` line while mfu is known), else the line's own.
_FAST_ORDER = ("loss", "lrm", "step_time", "tokens_per_sec", "elapsed", "mfu", "grad_norm", "epoch", "pq", "rg", "eta")
_LINE_ORDER = ("loss", "grad_norm", "lrm", "step_time", "tokens_per_sec", "mfu", "epoch", "pq", "rg", "elapsed", "eta")


class NanochatParser(GuardedParser):
    """Step, eval and end-of-run lines of nanochat and its picollm copy."""

    name: ClassVar[str] = "picollm"

    def __init__(self) -> None:
        self._last_step: int | None = None
        self._mfu_unknown = False
        """`Peak FLOPS (BF16): inf` was printed: the `mfu: 0.00` that follows means unknown."""

    # -- the columnar fast path's view of this parser's state (runwatch.parsers.columnar) --

    def fast_omit(self) -> frozenset[str]:
        """Metrics the next step lines must leave out: `mfu` while the peak FLOPS are unknown."""
        return _NO_MFU if self._mfu_unknown else frozenset()

    def after_fast(self, last_step: int) -> None:
        """Step lines were read without this parser; the last of them was step `last_step`."""
        self._last_step = last_step

    @staticmethod
    def metric_order(metrics: Collection[str], total: bool) -> list[str]:
        """The order `parse` gives these metrics of a plain step line (`total`: it has `/T`): JSON shows it."""
        order = _FAST_ORDER if total and "mfu" in metrics else _LINE_ORDER
        return [m for m in order if m in metrics] + sorted(set(metrics).difference(order))

    def _parse(self, line: str) -> Record | None:
        if line[:1] not in ("s", "S", "T", "G"):
            line = strip_lead(line)
        if line.startswith("step "):
            return self._step(line)
        if line.startswith("Step "):
            return self._capital_step(line)
        if line.startswith("Total training time:"):
            return self._finished(line)
        if line.startswith("GPU: ") and "Peak FLOPS" in line:
            self._mfu_unknown = line.rstrip().endswith(": inf")
        elif "MFU will show as 0%" in line:
            self._mfu_unknown = True
        return None

    def _step(self, line: str) -> Record | None:
        m = _FAST.fullmatch(line)
        if m is not None and not self._mfu_unknown:
            rec = _fast_record(m)
            if rec is not None:
                self._last_step = rec.step
                return rec
        head, sep, rest = line.partition(" | ")
        parts = head.split()
        if not sep or len(parts) != 3 or not parts[2].endswith("%)") or parts[2][:1] != "(":
            return None
        step_text, _, total_text = parts[1].partition("/")
        step, total = parse_int(step_text), parse_int(total_text) if total_text else None
        if step is None:
            return None
        metrics = self._fields(rest)
        if "loss" not in metrics:
            return None
        self._last_step = step
        return Record(kind=Kind.STEP, step=step, total_steps=total, metrics=metrics)

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
            elif name == "mfu" and (self._mfu_unknown or v < 0):
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


def _fast_record(m: re.Match[str]) -> Record | None:
    step, total, loss, gnorm, lrm, dt, toks, mfu, epoch, pq, rg, elapsed, eta = m.groups()
    try:
        metrics = {"loss": ascii_float(loss), "lrm": ascii_float(lrm), "step_time": ascii_float(dt) / 1000.0,
                   "tokens_per_sec": float(toks.replace(",", "")), "elapsed": ascii_float(elapsed) * 60.0}
        mfu_v = ascii_float(mfu)
        if not mfu_v < 0:  # negative = "unknown" sentinel; NaN is kept
            metrics["mfu"] = mfu_v
        if gnorm is not None:
            metrics["grad_norm"] = ascii_float(gnorm)
        if epoch is not None:
            metrics["epoch"] = float(epoch)
        if pq is not None:
            metrics["pq"] = float(pq)
            metrics["rg"] = float(rg)
        if eta is not None:
            metrics["eta"] = ascii_float(eta) * 60.0
    except ValueError:
        return None
    return Record(kind=Kind.STEP, step=int(step), total_steps=int(total), metrics=metrics)
