"""Megatron-LM `training_log` lines → Records, on real lines from corpus/raw/excerpts_megatron.json (M1–M10)."""

from __future__ import annotations

import math
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runwatch.model import Kind, Record
from runwatch.parsers.megatron import MegatronParser
from tests.support.corpus import assert_metrics, foreign_lines, json_excerpt, line_with, signature_scorers

NAN = math.nan


def _m(excerpt: str, fragment: str) -> str:
    return line_with(json_excerpt("excerpts_megatron.json", f"Excerpt {excerpt} "), fragment)


def _local(*fields: int) -> float:
    return datetime(*fields).timestamp()  # type: ignore[arg-type]


# (line, kind, step, total, t, metrics)
CASES: list[tuple[str, Kind, int, int | None, float, dict[str, float]]] = [
    # M1 (Megatron-LM#756): 2024 stamp, throughput, MoE load_balancing_loss, num zeros
    (_m("M1", "iteration       71/"), Kind.STEP, 71, 100, _local(2024, 4, 6, 3, 2, 12),
     {"consumed_samples": 9088, "step_time": 5.3616, "tflops": 243.6, "lr": 1.42e-05, "global_batch_size": 128,
      "loss": 1.818812, "load_balancing_loss": 1.013377, "loss_scale": 1.0, "grad_norm": 1.3, "num_zeros": 0.0,
      "skipped_iterations": 0, "nan_iterations": 0}),
    # M1: cut by the corpus mid-field: only the complete fields count
    (_m("M1", "iteration       74/"), Kind.STEP, 74, 100, _local(2024, 4, 6, 3, 2, 29), {"consumed_samples": 9472}),
    # M2 (epfLLM/Megatron-LLM#11): pre-2024, no stamp, `learning rate: {:.3E}`, 86 s iterations
    (_m("M2", "iteration      122/"), Kind.STEP, 122, 250000, 0.0,
     {"consumed_samples": 124928, "step_time": 86.5452, "lr": 9.15e-06, "global_batch_size": 1024, "loss": 2.50422,
      "loss_scale": 1.0, "grad_norm": 0.231, "skipped_iterations": 0, "nan_iterations": 0}),
    # M2: cut inside `lm loss: 2…`: the unfinished last field is not read as loss 2.0
    (_m("M2", "iteration      126/"), Kind.STEP, 126, 250000, 0.0,
     {"consumed_samples": 129024, "step_time": 89.6929, "lr": 9.45e-06, "global_batch_size": 1024}),
    # M3 (epfLLM/Megatron-LLM#33): no leading space; NaN onset: the `lm loss` field vanishes, none is invented
    (_m("M3", "iteration     3384/"), Kind.STEP, 3384, 8000, 0.0,
     {"consumed_samples": 216576, "step_time": 7.8455, "lr": 6.678e-06, "global_batch_size": 64, "loss": 0.7072597,
      "loss_scale": 1.0, "grad_norm": 0.741, "skipped_iterations": 0, "nan_iterations": 0}),
    (_m("M3", "iteration     3385/"), Kind.STEP, 3385, 8000, 0.0,
     {"consumed_samples": 216640, "step_time": 7.6243, "lr": 6.676e-06, "global_batch_size": 64, "loss_scale": 1.0}),
    # M4 (NVIDIA/nccl#743, BERT 2022): fp16 warm-up, no loss or grad norm yet, 10 skipped iterations
    (_m("M4", "iteration       10/"), Kind.STEP, 10, 1000000, 0.0,
     {"consumed_samples": 40, "step_time": 0.3562, "lr": 0.0, "global_batch_size": 4, "loss_scale": 8388608.0,
      "skipped_iterations": 10, "nan_iterations": 0}),
    # M4: `sop loss` keeps its own name; cut at the end
    (_m("M4", "iteration       20/"), Kind.STEP, 20, 1000000, 0.0,
     {"consumed_samples": 80, "step_time": 0.1406, "lr": 2.02e-08, "global_batch_size": 4, "loss": 10.05022,
      "sop_loss": 0.8174902, "loss_scale": 32768.0, "grad_norm": 217.199}),
    # M5 (awsome-distributed-training README): srun `1: ` label still in front, fp16 scale 2**32
    (_m("M5", "iteration       25/"), Kind.STEP, 25, 73242187, 0.0,
     {"consumed_samples": 50, "step_time": 0.087, "lr": 1.638e-08, "global_batch_size": 2, "loss": 10.86954,
      "loss_scale": 4294967296.0, "grad_norm": 0.0, "skipped_iterations": 0, "nan_iterations": 0}),
    # M6 (BigScience 104B notes): consumed tokens, huge grad norm
    (_m("M6", "iteration     6502/"), Kind.STEP, 6502, 159576, 0.0,
     {"consumed_samples": 216960, "consumed_tokens": 444334080, "step_time": 31.0741, "lr": 5.997e-05,
      "global_batch_size": 80, "loss": 3.876781, "loss_scale": 4096.0, "grad_norm": 3246.595, "num_zeros": 0.0,
      "skipped_iterations": 0, "nan_iterations": 0}),
    # M7 (bigscience Megatron-DeepSpeed#396): `grad norm: nan` kept as NaN, no loss field, fork fields
    (_m("M7", "iteration     5426/"), Kind.STEP, 5426, 250000, 0.0,
     {"consumed_samples": 43408, "consumed_tokens": 88899584, "step_time": 4.2479, "lr": 2.999e-04,
      "global_batch_size": 8, "loss_scale": 1.0, "grad_norm": NAN, "actual_seqlen": 2048, "skipped_iterations": 0,
      "nan_iterations": 0, "samples_per_sec": 1.883, "tflops": 78.36}),
    # M8 (deepspeedai/Megatron-DeepSpeed#434): NaN run, no loss, tokens per GPU per second
    (_m("M8", "iteration        9/"), Kind.STEP, 9, 10, 0.0,
     {"consumed_samples": 108, "consumed_tokens": 442368, "step_time": 1.9792, "lr": 4.219e-07,
      "global_batch_size": 12, "loss_scale": 1.0, "actual_seqlen": 4096, "skipped_iterations": 0,
      "nan_iterations": 0, "samples_per_sec": 6.063, "tokens_per_sec_per_gpu": 2069.506, "tflops": 127.0}),
    # M9 (Ascend ModelLink Qwen-7B README)
    (_m("M9", "iteration        3/"), Kind.STEP, 3, 1000, 0.0,
     {"consumed_samples": 192, "step_time": 38.3903, "lr": 2.5e-07, "global_batch_size": 64, "loss": 1.303225,
      "loss_scale": 1.0, "grad_norm": 9.847, "skipped_iterations": 0, "nan_iterations": 0}),
    # M10 (AMD Primus wrapper, unit-test fixture): colour residue, `value/max` pairs → the value
    (_m("M10", "iteration 4408/"), Kind.STEP, 4408, 5000, 0.0,
     {"consumed_samples": 564224, "step_time": 13.1, "tflops": 579.4, "tokens_per_sec_per_gpu": 10005.5,
      "lr": 3.421949e-07, "global_batch_size": 128, "loss": 4.142716e-03, "loss_scale": 1.0, "grad_norm": 0.003,
      "skipped_iterations": 0, "nan_iterations": 0}),
    # deepspeed.md Excerpt D3 (DeepSpeed#3742): GPT-NeoX-style line with throughput first
    (line_with(json_excerpt("excerpts_deepspeed.json", "Excerpt D3 "), "samples/sec: 7.799"), Kind.STEP, 34, 10000,
     0.0, {"samples_per_sec": 7.799, "step_time": 4.1031, "lr": 2.111e-06, "tflops": 112.9, "loss": 11.18665,
           "skipped_iterations": 0, "nan_iterations": 0}),
]

# No real excerpt (megatron.md "Not found"): the HEAD format code (training.py:5372) filled in, and
# M1's line with the 2026 microsecond stamp (c40b6ea) in place of its own.
FROM_SOURCE: list[tuple[str, Kind, int, int | None, float, dict[str, float]]] = [
    (" validation loss at iteration 14194 | " + "{} value: {:.6E} | ".format("lm loss", 2.724416)
     + "{} PPL: {:.6E} | ".format("lm loss", 15.24), Kind.EVAL, 14194, None, 0.0,
     {"val_loss": 2.724416, "val_ppl": 15.24}),
    (" validation loss at iteration 100 | lm loss value: 2.000000E+00 | lm loss PPL: 7.389056E+00 | "
     "sop loss value: 5.000000E-01 | sop loss PPL: 1.648721E+00 | ", Kind.EVAL, 100, None, 0.0,
     {"val_loss": 2.0, "val_ppl": 7.389056, "val_sop_loss": 0.5, "val_sop_loss_ppl": 1.648721}),
    (_m("M1", "iteration       71/").replace("[2024-04-06 03:02:12]", "[2026-01-16 07:32:24.250000]"),
     Kind.STEP, 71, 100, _local(2026, 1, 16, 7, 32, 24) + 0.25, CASES[0][5]),
]


@pytest.mark.parametrize(("line", "kind", "step", "total", "t", "metrics"), CASES + FROM_SOURCE)
def test_variants_parse_to_canonical_metrics(
    line: str, kind: Kind, step: int, total: int | None, t: float, metrics: dict[str, float]
) -> None:
    rec = MegatronParser().parse(line)
    assert rec is not None
    assert (rec.kind, rec.step, rec.total_steps, rec.rank) == (kind, step, total, None)
    assert rec.t == pytest.approx(t)
    assert_metrics(rec, metrics)


@pytest.mark.parametrize("line", [c[0] for c in CASES + FROM_SOURCE])
def test_only_megatron_claims_its_lines(line: str) -> None:
    assert signature_scorers(line) == {"megatron"}


@pytest.mark.parametrize(
    "line",
    [
        _m("M4", "time (ms) | forward-compute"),
        _m("M4", "[before the start of training step] datetime"),
        _m("M4", "elapsed time for building blendable dataset"),
        _m("M7", "d norm: nan | actual seqlen"),  # a line whose start was cut off
        " iteration x/y | consumed samples: 1 |",
    ],
)
def test_other_lines_are_not_records(line: str) -> None:
    assert MegatronParser().parse(line) is None


@pytest.mark.parametrize("junk", ["  ", "\t", "^[", " ^["])
def test_tolerates_stray_leading_blanks_and_escape_residue(junk: str) -> None:
    line = CASES[0][0]
    assert MegatronParser().parse(junk + line) == MegatronParser().parse(line) is not None


def test_other_stacks_lines_are_not_claimed() -> None:
    """HF Trainer, Lightning, failures, launchers, Composer, axolotl, Accelerate excerpts."""
    parser = MegatronParser()
    assert [line for line in foreign_lines() if parser.score(line) >= 2] == []


PREFIXES = ["", " iteration ", " iteration 1/2 | ", "[2024-04-06 03:02:12] iteration 1/2 |",
            " validation loss at iteration 1 | ", "iteration 1/ 2 | consumed samples: "]


@given(prefix=st.sampled_from(PREFIXES), tail=st.text())
def test_never_raises(prefix: str, tail: str) -> None:
    rec = MegatronParser().parse(prefix + tail)
    assert rec is None or isinstance(rec, Record)


@given(case=st.sampled_from(CASES + FROM_SOURCE), cut=st.integers(0, 500))
def test_cut_lines_never_raise(case: tuple[str, Kind, int, int | None, float, dict[str, float]], cut: int) -> None:
    rec = MegatronParser().parse(case[0][:cut])
    assert rec is None or isinstance(rec, Record)
