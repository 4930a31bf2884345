"""The report's numbers from run state: checkpoints counted once each, complete ones only."""

from __future__ import annotations

from runwatch.model import Kind, Record
from runwatch.report.numbers import checkpoint_numbers


def test_checkpoints_on_disk_count_once_each_and_complete_only() -> None:
    def ckpt(step: int, state: str, size: float) -> Record:
        return Record(Kind.CHECKPOINT, step=step, event=state, metrics={"size_bytes": size}, source=f"out/checkpoint-{step}")

    got = checkpoint_numbers([ckpt(40, "writing", 1.0), ckpt(40, "complete", 2.0), ckpt(80, "partial", 3.0),
                              ckpt(80, "complete", 4.0), ckpt(120, "writing", 5.0)])
    assert (got.count, got.last, got.last_step, got.last_size_bytes) == (2, "out/checkpoint-80", 80, 4.0)
