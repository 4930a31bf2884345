"""Megatron-LM `training_log` lines (and Megatron-DeepSpeed / GPT-NeoX / Primus forks).

` [YYYY-MM-DD HH:MM:SS[.ffffff]] iteration N/ T | key: value | … |` — the stamp
came in 2024, microseconds in 2026; forks add or rename fields, so unknown
keys keep their own name. A NaN loss is never printed: Megatron drops the loss
field (the `avg > 0` test fails), so such a record simply has no `loss`.
` validation loss at iteration N | lm loss value: X | lm loss PPL: Y |` is an eval.
"""

from __future__ import annotations

from typing import ClassVar

from runwatch import patterns
from runwatch.model import Kind, Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.fields import local_time, number, snake
from runwatch.parsers.numbers import ascii_float, parse_int
from runwatch.parsers.reads import Reads

_STAMP = patterns.compile(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d{1,6}))?\]")
_TRAINING_KEYS = ("consumed samples", "elapsed time per iteration", "learning rate", "lm loss", "loss scale")

# field → (metric, unit suffix removed); `(ms)` times are converted to seconds
_FIELDS: dict[str, tuple[str, str]] = {
    "consumed samples": ("consumed_samples", ""),
    "consumed tokens": ("consumed_tokens", ""),
    "skipped samples": ("skipped_samples", ""),
    "elapsed time per iteration (ms)": ("step_time", "ms"),
    "throughput per GPU (TFLOP/s/GPU)": ("tflops", ""),
    "TFLOPs": ("tflops", ""),
    "approx flops per GPU": ("tflops", "TFLOPS"),
    "energy per GPU (J/iter/GPU)": ("energy_per_gpu", ""),
    "power per GPU (W/GPU)": ("power_per_gpu", ""),
    "learning rate": ("lr", ""),
    "decoupled learning rate": ("decoupled_lr", ""),
    "global batch size": ("global_batch_size", ""),
    "lm loss": ("loss", ""),
    "lm_loss": ("loss", ""),
    "loss scale": ("loss_scale", ""),
    "grad norm": ("grad_norm", ""),
    "num zeros": ("num_zeros", ""),
    "params norm": ("params_norm", ""),
    "number of skipped iterations": ("skipped_iterations", ""),
    "number of nan iterations": ("nan_iterations", ""),
    "samples per second": ("samples_per_sec", ""),
    "samples/sec": ("samples_per_sec", ""),
    "tokens per gpu per second (tgs)": ("tokens_per_sec_per_gpu", ""),
    "tokens per GPU (tokens/s/GPU)": ("tokens_per_sec_per_gpu", ""),
}
_LM_LOSS = ("lm loss", "lm_loss", "loss")


class MegatronParser(GuardedParser):
    """Iteration and validation lines printed by Megatron's last rank."""

    name: ClassVar[str] = "megatron"
    learn_anchors: ClassVar[tuple[bytes, ...] | None] = (b"iteration ",)
    reads: ClassVar[Reads | None] = Reads(holds=("iteration ",))
    """Training and validation lines both hold `iteration N`."""

    def _parse(self, line: str) -> Record | None:
        i = line.find("iteration ")
        if i < 0:
            return None
        j = line.find("|", i)
        if j < 0:
            return None
        head = line[:i]
        counter, rest = line[i + 10:j], line[j + 1:]
        step_text, _, total_text = counter.partition("/")
        words = step_text.split()  # `71`, or `14194 [panel]` for a named validation set
        step = parse_int(words[0]) if words else None
        if step is None:
            return None  # e.g. `elapsed time per iteration (ms)` inside a cut line
        total = parse_int(total_text)
        m = _STAMP.search(head) if "[" in head else None
        t = local_time(m.group(1), m.group(2) or "") if m else 0.0
        if head.endswith("loss at "):  # ` validation loss at iteration N |`, `validation (val) loss at …`
            metrics = _validation(rest, "test" if counter.rstrip().endswith("test set") else "val")
            if not metrics:
                return None
            return Record(kind=Kind.EVAL, step=step, total_steps=total, t=t, metrics=metrics)
        if not (
            "consumed samples" in rest or "elapsed time per iteration" in rest or "learning rate" in rest
            or "lm loss" in rest or "loss scale" in rest
        ):  # _TRAINING_KEYS, spelled out: this runs for every line
            return None
        metrics = _fields(rest)
        if head.lstrip().startswith("samples/sec:"):  # GPT-NeoX puts throughput first
            v = number(head.lstrip()[12:].partition("|")[0])
            if v is not None:
                metrics["samples_per_sec"] = v
        return Record(Kind.STEP, step, total, None, t, metrics)  # positional: cheaper on every step line


def _segments(text: str) -> list[str]:
    segs = text.split("|")
    if text.rstrip()[-1:] != "|":
        segs.pop()  # every field ends in `|`: the last one of a cut-off line may be incomplete
    return segs


_MAX_KEYS = 4096
_KEYS: dict[str, tuple[str, str]] = {}
"""Raw key text as split (padding kept) → (metric, unit): the same few keys on every line of a run."""


def _key_spec(raw: str) -> tuple[str, str]:
    key = raw.strip()
    spec = _FIELDS.get(key)
    if spec is None:
        spec = (snake(key), "")  # `sop loss`, `load_balancing_loss`, `actual seqlen`, …: no unit
    if raw:  # never "": a segment without `:` splits to that key too, and must miss (see _fields)
        if len(_KEYS) >= _MAX_KEYS:  # cut lines give odd fragments; keep the cache bounded
            _KEYS.clear()
        _KEYS[raw] = spec
    return spec


def _fields(text: str) -> dict[str, float]:
    metrics: dict[str, float] = {}
    segs = text.split("|")
    if text.rstrip()[-1:] != "|":
        segs.pop()  # as in _segments
    keys = _KEYS
    for seg in segs:
        key, sep, value = seg.rpartition(":")
        spec = keys.get(key)
        if spec is None:
            if not sep:
                continue
            spec = _key_spec(key)
        try:  # the common plain number; `float` takes the padding, and fails on `/`, units, quotes, commas
            v: float | None = ascii_float(value)
        except ValueError:
            v = number(value.partition("/")[0], spec[1])  # Primus prints `value/max` pairs
        if v is None:
            continue
        metrics[spec[0]] = v / 1000.0 if spec[1] == "ms" else v
    return metrics


def _validation(text: str, split: str) -> dict[str, float]:
    """`lm loss value: X | lm loss PPL: Y` → val_loss, val_ppl; other losses keep their name. `split` "test" for
    Megatron-DeepSpeed's `validation loss at iteration N on 320-sample draw from test set`: test_loss, test_ppl (a
    review saw the test set's loss read as the validation loss, after it)."""
    metrics: dict[str, float] = {}
    for seg in _segments(text):
        key, sep, value = seg.rpartition(":")
        key = key.strip()
        v = number(value) if sep else None
        if v is None:
            continue
        base, _, what = key.rpartition(" ")
        if what not in ("value", "PPL"):
            continue
        name = f"{split}_loss" if base in _LM_LOSS else f"{split}_{snake(base)}"
        if what == "PPL":
            name = f"{split}_ppl" if base in _LM_LOSS else name + "_ppl"
        metrics[name] = v
    return metrics
