"""Megatron-DeepSpeed logs: Megatron's iteration lines and the DeepSpeed engine's lines in one log.

Megatron-DeepSpeed (microsoft/deepspeedai, bigscience's BLOOM fork, GPT-NeoX-like trainers) prints
Megatron's `iteration N/ T | … | lm loss: …` line, which carries the loss but, in these forks, no
time, between the DeepSpeed engine's `[YYYY-MM-DD HH:MM:SS,mmm] [INFO] [...] [Rank 0] step=N, …` and
timer lines, which carry the time but no loss. Either format read alone lost half the run: detected as
Megatron (its iteration line is the signature) the times and the engine's metrics were dropped, forced
as DeepSpeed the loss was. So both names read both families; each format keeps its own `score`, so
detection still tells a pure Megatron-LM log from a DeepSpeed-under-HF-Trainer one by their lines.

No state is kept between lines (an unstamped iteration line is not given the stamp of the engine line
before it): the fast path learns each line shape from this parser (`learn_anchors`), and `check`'s
replay clock, which follows the engine's stamps, moves an unstamped iteration line on by its own
logged step time (runwatch.replay). Both families say `lr` and `samples_per_sec`; they agree up to
rounding, and each is kept at its own step.
"""

from __future__ import annotations

from typing import ClassVar

from runwatch.model import Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.deepspeed import DeepSpeedParser
from runwatch.parsers.megatron import MegatronParser
from runwatch.parsers.reads import Reads


class MegatronDeepSpeedParser(GuardedParser):
    """Reads a line as Megatron's, else as the DeepSpeed engine's; scores it as `_own` does."""

    learn_anchors: ClassVar[tuple[bytes, ...] | None] = (
        *(MegatronParser.learn_anchors or ()), *(DeepSpeedParser.learn_anchors or ())
    )
    reads: ClassVar[Reads | None] = (MegatronParser.reads or Reads()) | (DeepSpeedParser.reads or Reads())
    """The lines either family reads: noise goes to neither parser, and the fast path's screen leaves it."""
    _own: ClassVar[type[GuardedParser]]
    """The format whose lines alone decide detection (the other family's lines score as its own would)."""

    def __init__(self) -> None:
        self._megatron = MegatronParser()
        self._engine = DeepSpeedParser()

    def score(self, line: str) -> int:
        return self._own().score(line)

    def _parse(self, line: str) -> Record | None:
        rec = self._megatron.parse(line)
        return rec if rec is not None else self._engine.parse(line)


class MegatronFamilyParser(MegatronDeepSpeedParser):
    """`--format megatron`: Megatron-LM, and the DeepSpeed engine lines of its Megatron-DeepSpeed forks."""

    name: ClassVar[str] = "megatron"
    _own = MegatronParser


class DeepSpeedFamilyParser(MegatronDeepSpeedParser):
    """`--format deepspeed`: the DeepSpeed engine, and the Megatron iteration lines of the trainer above it."""

    name: ClassVar[str] = "deepspeed"
    _own = DeepSpeedParser
