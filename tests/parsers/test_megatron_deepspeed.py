"""Megatron-DeepSpeed logs: Megatron's iteration lines and the DeepSpeed engine's in one log, on the real
lines of DeepSpeed issue 3742 (tests/fixtures/corpus/deepspeed.md, excerpt D3)."""

from __future__ import annotations

import pytest

from runwatch.model import Kind
from runwatch.parsers.detect import detect
from runwatch.parsers.registry import make_parser
from tests.support.corpus import md_block

D3 = md_block("deepspeed.md", "Excerpt D3")


def test_the_d3_excerpt_is_detected_as_megatron() -> None:
    assert detect(D3) == "megatron"


@pytest.mark.parametrize("fmt", ["megatron", "deepspeed"])
def test_megatron_deepspeed_lines_give_the_loss_and_the_engine_times_under_either_format(fmt: str) -> None:
    """Detected as Megatron, the engine's stamped lines were left unread (no time, no `skipped_steps`);
    forced as DeepSpeed, the trainer's `lm_loss` was: either name now reads both families."""
    parser = make_parser(fmt)
    recs = [r for r in map(parser.parse, D3) if r is not None and r.kind == Kind.STEP]
    trainer = next(r for r in recs if "loss" in r.metrics)
    assert (trainer.step, trainer.total_steps, trainer.metrics["loss"]) == (34, 10000, 11.18665)
    assert trainer.metrics["step_time"] == pytest.approx(4.1031)
    engine = [r for r in recs if r.t > 0]
    assert {r.step for r in engine} == {34, 35}
    assert {"skipped_steps", "samples_per_sec", "memory_allocated_gib"} <= {m for r in engine for m in r.metrics}


@pytest.mark.parametrize(("fmt", "own"), [("megatron", {3}), ("deepspeed", {0, 5})])
def test_each_format_still_scores_only_its_own_lines(fmt: str, own: set[int]) -> None:
    """Detection tells the two apart by their own lines: neither format claims the other's."""
    parser = make_parser(fmt)
    assert {i for i, line in enumerate(D3[:6]) if parser.score(line)} == own


def test_the_test_sets_loss_is_no_validation_loss() -> None:
    """Megatron-DeepSpeed evaluates on both sets at the end (`validation loss at iteration 2500 on 320-sample draw
    from validation set | lm loss value: 1.360287E+01 |`, then `… from test set | lm loss value: 1.495915E+01 |`):
    a review saw the test set's read as `val_loss`, the status line's after it."""
    from tests.support.found import source_records

    _, recs = source_records("megatron_ds_llama_fp16_overflow_note.log")
    evals = [(r.step, r.metrics) for r in recs if r.kind is Kind.EVAL]
    assert evals == [(2500, {"val_loss": 13.60287, "val_ppl": 808449.7}),
                     (2500, {"test_loss": 14.95915, "test_ppl": 3138158.0})]
