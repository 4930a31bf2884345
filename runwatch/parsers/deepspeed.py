"""DeepSpeed engine lines: progress, throughput timer, fp16 overflow, pipeline engine.

Logger lines look like `[YYYY-MM-DD HH:MM:SS,mmm] [INFO] [file:line:func] msg`
and may follow a tqdm bar on the same line (no newline after the bar), so the
header is searched for, not matched at the start. The pipeline engine prints
`steps: N loss: X … iter time (s): Y samples/sec: Z` with no header.

DeepSpeed's own lines carry no loss: under HF Trainer or Megatron-DeepSpeed
the loss comes from that trainer's lines. So only the pipeline line (which has
the loss) scores as a signature; the others say "maybe" (see `score`).
"""

from __future__ import annotations

from typing import ClassVar

from runwatch import patterns
from runwatch.model import Kind, Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.fields import local_time, number, snake, strip_lead
from runwatch.parsers.reads import Reads

_HEADER = patterns.compile(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})\] \[INFO\] \[[^\]]*\] ")
_PROGRESS = patterns.compile(r"step=(\d+), skipped=(\d+), lr=\[([^\],]*)")
_TIMER = patterns.compile(r"(?:epoch=(\d+)/micro_step=(\d+)/global_step=(\d+)|(\d+)/(\d+)), ")
_OVERFLOW = patterns.compile(
    r"OVERFLOW! Rank (\d+) Skipping step\. Attempted loss scale: (\d+)(?:, reducing to (\d+))?"
)
_REDUCING = patterns.compile(r"Reducing dynamic loss scale from \S+ to (\S+)")
_PIPE_FIELD = patterns.compile(r" *([^:]+?): (\S+)")

_TIMER_FIELDS = {
    "SamplesPerSec": ("samples_per_sec", ""),
    "CurrSamplesPerSec": ("samples_per_sec", ""),
    "RunningAvgSamplesPerSec": ("running_avg_samples_per_sec", ""),
    "MemAllocated": ("memory_allocated_gib", "GB"),  # DeepSpeed divides by 1024**3
    "MaxMemAllocated": ("max_memory_allocated_gib", "GB"),
}
_PIPE_FIELDS = {"loss": "loss", "iter time (s)": "step_time", "samples/sec": "samples_per_sec"}


class DeepSpeedParser(GuardedParser):
    """Step-level lines of the DeepSpeed engine."""

    name: ClassVar[str] = "deepspeed"
    learn_anchors: ClassVar[tuple[bytes, ...] | None] = (b"step=", b"SamplesPerSec=", b"steps: ")
    reads: ClassVar[Reads | None] = Reads(heads=("steps: ",), holds=("] [INFO] [",))
    """The pipeline engine's line; every other line it reads is a logger line (`_HEADER`)."""

    def score(self, line: str) -> int:
        rec = DeepSpeedParser().parse(line)
        if rec is None:
            return 0
        return 2 if "loss" in rec.metrics else 1

    def _parse(self, line: str) -> Record | None:
        if line[:1] in (" ", "^"):
            line = strip_lead(line)
        if line.startswith("steps: "):
            return _pipeline(line)
        i = line.find("] [INFO] [")
        if i < 24:
            return None
        m = _HEADER.match(line, i - 24)
        if m is None:
            return None
        t = local_time(m.group(1), m.group(2))
        msg = line[m.end():]
        rank = None
        if msg.startswith("[Rank "):
            rank_text, _, msg = msg[6:].partition("] ")
            rank = int(rank_text)
        if msg.startswith("step="):
            return _progress(msg, t, rank)
        if "SamplesPerSec=" in msg:
            return _timer(msg, t, rank)
        if "OVERFLOW!" in msg:
            return _overflow(msg, t)
        if msg.startswith("Reducing dynamic loss scale"):
            m = _REDUCING.match(msg)
            v = number(m.group(1)) if m else None
            return None if v is None else Record(kind=Kind.STEP, rank=rank, t=t, metrics={"loss_scale": v})
        return None


def _progress(msg: str, t: float, rank: int | None) -> Record | None:
    """`step=40, skipped=2, lr=[5e-05], mom=[[0.9, 0.999]]`: lr of the first param group.

    `skipped` counts the steps fp16 overflow skipped since the start (DeepSpeed's `skipped_steps`), and
    `step` counts them too: it is read as `skipped_steps`, the name `nonfinite` judges (a run whose
    newest steps are nearly all skipped no longer trains), not as the bare word, which a generic
    `key=value` log may use for anything.
    """
    m = _PROGRESS.match(msg)
    if m is None:
        return None
    metrics = {"skipped_steps": float(m.group(2))}
    lr = number(m.group(3))
    if lr is not None:
        metrics["lr"] = lr
    return Record(kind=Kind.STEP, step=int(m.group(1)), rank=rank, t=t, metrics=metrics)


def _timer(msg: str, t: float, rank: int | None) -> Record | None:
    """The timer line: `epoch=E/micro_step=M/global_step=N, …`, or the older `E/N, SamplesPerSec=…`."""
    m = _TIMER.match(msg)
    if m is None:
        return None
    epoch, micro, step, old_epoch, old_step = m.groups()
    metrics = {"epoch": float(epoch or old_epoch)}
    if micro is not None:
        metrics["micro_step"] = float(micro)
    for pair in msg[m.end():].split(", "):
        key, sep, value = pair.partition("=")
        spec = _TIMER_FIELDS.get(key)
        v = number(value, spec[1]) if sep and spec else None
        if v is not None and spec:
            metrics[spec[0]] = v
    return Record(kind=Kind.STEP, step=int(step or old_step), rank=rank, t=t, metrics=metrics)


def _overflow(msg: str, t: float) -> Record | None:
    """fp16 overflow: the step is skipped and the loss scale halves (or hysteresis is spent first)."""
    m = _OVERFLOW.search(msg)
    if m is None:
        return None
    scale = m.group(3) or m.group(2)
    return Record(kind=Kind.STEP, rank=int(m.group(1)), t=t, metrics={"loss_scale": float(scale)})


def _pipeline(line: str) -> Record | None:
    """`steps: 200 loss: 5.5508 lm loss: 5.5103 iter time (s): 0.936 samples/sec: 136.706`."""
    step_text, _, rest = line[7:].partition(" ")
    if not step_text.isdigit():
        return None
    metrics: dict[str, float] = {}
    for m in _PIPE_FIELD.finditer(rest):
        v = number(m.group(2))
        if v is not None:
            metrics[_PIPE_FIELDS.get(m.group(1)) or snake(m.group(1))] = v
    if "loss" not in metrics:
        return None
    return Record(kind=Kind.STEP, step=int(step_text), metrics=metrics)
