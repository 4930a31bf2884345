"""nanochat / picollm lines → Records, on real lines from corpus/nanochat.md and the two raw runs."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runwatch.model import Event, Kind, Record
from runwatch.parsers.nanochat import NanochatParser
from tests.support.corpus import (
    CORPUS,
    assert_metrics,
    foreign_lines,
    line_with,
    md_block,
    raw_lines,
    signature_scorers,
)

SPEEDRUN = "nanochat_pr492_speedrun_d24_feb01.training_output.log"
SFT = "nanochat_pr657_sft_run.log"
MD = "nanochat.md"
NAN = math.nan


def _autoresearch_line() -> str:
    """nanochat.md "Not real / excluded": the autoresearch-style line, quoted inline with its trailing spaces."""
    text = (CORPUS / MD).read_text(encoding="utf-8")
    m = re.search(r"`(step 00309 [^`]*)`", text)
    assert m is not None
    return m.group(1)


# (line, kind, step, total_steps, metrics)
CASES: list[tuple[str, Kind, int, int | None, dict[str, float]]] = [
    # raw/nanochat_pr492 (PR #492, 43c29dd format `mfu:` + `epoch: N`): first step, 18 s dt, no eta yet
    (line_with(raw_lines(SPEEDRUN), "step 00000/16704"), Kind.STEP, 0, 16704,
     {"loss": 10.397165, "lrm": 1.0, "step_time": 18.07785, "tokens_per_sec": 29001, "mfu": 1.81,
      "epoch": 1, "elapsed": 0.0}),
    # raw/nanochat_pr492: step 11 is the first with the `| eta: …m` suffix
    (line_with(raw_lines(SPEEDRUN), "step 00011/16704"), Kind.STEP, 11, 16704,
     {"loss": 7.507898, "lrm": 1.0, "step_time": 0.6586, "tokens_per_sec": 796060, "mfu": 49.75,
      "epoch": 1, "elapsed": 0.6, "eta": 183.2 * 60}),
    # raw/nanochat_pr492: last step line, epoch 3, lrm 0.00
    (line_with(raw_lines(SPEEDRUN), "step 16703/16704"), Kind.STEP, 16703, 16704,
     {"loss": 2.417931, "lrm": 0.0, "step_time": 0.64543, "tokens_per_sec": 812305, "mfu": 50.77,
      "epoch": 3, "elapsed": 179.44 * 60, "eta": 0.0}),
    # raw/nanochat_pr492: periodic validation, capital `Step`, no total
    (line_with(raw_lines(SPEEDRUN), "Step 00250 | Validation bpb"), Kind.EVAL, 250, None, {"val_bpb": 1.086329}),
    # raw/nanochat_pr492: CORE eval at step 3000
    (line_with(raw_lines(SPEEDRUN), "Step 03000 | CORE metric"), Kind.EVAL, 3000, None, {"core_metric": 0.1697}),
    # nanochat.md Excerpt N3 (discussion #1, initial 3a5e0bc format): literal `^[` pasted before the line
    (line_with(md_block(MD, "Excerpt N3"), "^[step 00000/21400"), Kind.STEP, 0, 21400,
     {"loss": 11.090355, "lrm": 1.0, "step_time": 23.15674, "tokens_per_sec": 22640, "mfu": 1.0, "elapsed": 0.0}),
    # nanochat.md Excerpt N3: plain initial-format line
    (line_with(md_block(MD, "Excerpt N3"), "step 00002/21400"), Kind.STEP, 2, 21400,
     {"loss": 10.179083, "lrm": 1.0, "step_time": 0.47229, "tokens_per_sec": 1110094, "mfu": 48.99,
      "elapsed": 0.0}),
    # nanochat.md Excerpt N3: validation before the first step
    (line_with(md_block(MD, "Excerpt N3"), "Step 00000 | Validation bpb"), Kind.EVAL, 0, None, {"val_bpb": 3.3013}),
    # nanochat.md Excerpt N4 (run1000.sh comment; the `# ` shell-comment marker removed)
    (line_with(md_block(MD, "Excerpt N4"), "step 00004/71680")[2:], Kind.STEP, 4, 71680,
     {"loss": 8.813754, "lrm": 1.0, "step_time": 1.57188, "tokens_per_sec": 83385, "mfu": 50.92, "elapsed": 0.0}),
    # nanochat.md Excerpt N5 (PR #663 leaderboard; = picollm format): bf16_mfu, `epoch: E pq: P rg: R`, eta
    (line_with(md_block(MD, "Excerpt N5"), "step 05567/05568"), Kind.STEP, 5567, 5568,
     {"loss": 2.388741, "lrm": 0.05, "step_time": 1.0483, "tokens_per_sec": 1000264, "mfu": 60.37,
      "epoch": 1, "pq": 117, "rg": 64, "elapsed": 97.38 * 60, "eta": 0.0}),
    # nanochat.md Excerpt N5: final validation and CORE
    (line_with(md_block(MD, "Excerpt N5"), "Validation bpb"), Kind.EVAL, 5568, None, {"val_bpb": 0.724772}),
    (line_with(md_block(MD, "Excerpt N5"), "CORE metric"), Kind.EVAL, 5568, None, {"core_metric": 0.2614}),
    # nanochat.md Excerpt N7 (PR #654 README, backtick-quoted there; quotes removed): CPU run, bf16_mfu 0.00
    (line_with(md_block(MD, "Excerpt N7"), "step 00499/04000").strip("`"), Kind.STEP, 499, 4000,
     {"loss": 7.45752, "lrm": 1.0, "step_time": 0.01905, "tokens_per_sec": 13435, "mfu": 0.0,
      "epoch": 1, "pq": 0, "rg": 1, "elapsed": 0.16 * 60, "eta": 1.1 * 60}),
    # nanochat.md Excerpt N7 (PR #518 DGX Spark script comment; `# ` removed): first-step dt of 392 s
    (line_with(md_block(MD, "Excerpt N7", 1), "step 00000/04357")[2:], Kind.STEP, 0, 4357,
     {"loss": 10.397409, "lrm": 1.0, "step_time": 392.09488, "tokens_per_sec": 2674, "mfu": 0.0,
      "epoch": 1, "elapsed": 0.0}),
    # raw/nanochat_pr657 (SFT, current chat_sft.py): no `/total`; a fresh parser has not seen `Peak FLOPS: inf`
    (line_with(raw_lines(SFT), "step 00001 (0.00%)"), Kind.STEP, 1, None,
     {"loss": 5.471677, "lrm": 1.0, "step_time": 1.14298, "tokens_per_sec": 111, "mfu": 0.0,
      "epoch": 1, "elapsed": 0.0}),
    # raw/nanochat_pr657: the loss has gone NaN and stays NaN in the record
    (line_with(raw_lines(SFT), "step 00129 (0.00%)"), Kind.STEP, 129, None,
     {"loss": NAN, "lrm": 1.0, "step_time": 0.00498, "tokens_per_sec": 25697, "mfu": 0.0,
      "epoch": 1, "elapsed": 0.01 * 60}),
    # raw/nanochat_pr657: SFT validation at step 0 (4 decimals)
    (line_with(raw_lines(SFT), "Step 00000 | Validation bpb"), Kind.EVAL, 0, None, {"val_bpb": 3.3084}),
    # nanochat.md "Not real / excluded" (autoresearch train.py, related format): integer ms, `%` after
    # mfu, unknown `remaining: 0s` field and trailing spaces
    (_autoresearch_line(), Kind.STEP, 309, None,
     {"loss": 3.452771, "lrm": 0.0, "step_time": 1.014, "tokens_per_sec": 129238, "mfu": 18.3, "epoch": 1}),
]

# No real excerpt exists of these (nanochat.md §1a/§1b quote only the source); each line is the
# quoted f-string of that commit filled in with plausible values.
FROM_SOURCE: list[tuple[str, Kind, int, int | None, dict[str, float]]] = [
    # c6b7ab7 (2025-11-05) + 9d4c9b7 eta: optional ` grad norm: X |` spliced in before lrm
    ("step 00100/21400 (0.47%) | loss: 4.123456 | grad norm: 0.5123 | lrm: 1.00 | dt: 487.03ms"
     " | tok/sec: 1,076,511 | mfu: 47.51 | total time: 0.73m | eta: 172.3m", Kind.STEP, 100, 21400,
     {"loss": 4.123456, "grad_norm": 0.5123, "lrm": 1.0, "step_time": 0.48703, "tokens_per_sec": 1076511,
      "mfu": 47.51, "elapsed": 0.73 * 60, "eta": 172.3 * 60}),
    # 2f09686 (2026-02-10): bf16_mfu with a plain epoch
    ("step 00100/21400 (0.47%) | loss: 4.123456 | lrm: 1.00 | dt: 487.03ms | tok/sec: 1,076,511"
     " | bf16_mfu: 47.51 | epoch: 2 | total time: 0.73m | eta: 172.3m", Kind.STEP, 100, 21400,
     {"loss": 4.123456, "lrm": 1.0, "step_time": 0.48703, "tokens_per_sec": 1076511, "mfu": 47.51,
      "epoch": 2, "elapsed": 0.73 * 60, "eta": 172.3 * 60}),
    # mid_train.py (3a5e0bc): no `/total`, no epoch
    ("step 00042 (12.50%) | loss: 2.345678 | lrm: 1.00 | dt: 400.00ms | tok/sec: 1,310,720 | mfu: 40.00"
     " | total time: 0.30m", Kind.STEP, 42, None,
     {"loss": 2.345678, "lrm": 1.0, "step_time": 0.4, "tokens_per_sec": 1310720, "mfu": 40.0, "elapsed": 18.0}),
    # old chat_sft.py (3a5e0bc..1ddaad1^): `Training loss:`, no space before `|`
    ("Step 00010/00650 | Training loss: 1.234567| lrm: 0.984615| num_tokens: 12,345", Kind.STEP, 10, 650,
     {"loss": 1.234567, "lrm": 0.984615, "num_tokens": 12345}),
    # old chat_sft.py validation
    ("Step 00010 | Validation loss: 1.234567", Kind.EVAL, 10, None, {"val_loss": 1.234567}),
    # chat_sft.py HEAD: ChatCORE
    ("Step 00100 | ChatCORE: 0.0730 | ChatCORE_cat: 0.1234", Kind.EVAL, 100, None,
     {"chatcore": 0.073, "chatcore_cat": 0.1234}),
    # chat_rl.py HEAD: per-step rewards
    ("Step 5/100 | Average reward: 0.25 | Average sequence length: 312.50", Kind.STEP, 5, 100,
     {"average_reward": 0.25, "average_sequence_length": 312.5}),
]


def _check(rec: Record | None, kind: Kind, step: int, total: int | None, metrics: dict[str, float]) -> None:
    assert rec is not None
    assert (rec.kind, rec.step, rec.total_steps, rec.t, rec.rank) == (kind, step, total, 0.0, None)
    assert_metrics(rec, metrics)


@pytest.mark.parametrize(("line", "kind", "step", "total", "metrics"), CASES + FROM_SOURCE)
def test_variants_parse_to_canonical_metrics(
    line: str, kind: Kind, step: int, total: int | None, metrics: dict[str, float]
) -> None:
    _check(NanochatParser().parse(line), kind, step, total, metrics)


@pytest.mark.parametrize("line", [c[0] for c in CASES])
def test_only_picollm_claims_its_lines(line: str) -> None:
    assert signature_scorers(line) == {"picollm"}


@pytest.mark.parametrize(
    "line",
    [
        line_with(raw_lines(SPEEDRUN), "Evaluating: hellaswag_zeroshot"),  # CORE task detail
        line_with(raw_lines(SPEEDRUN), "[GC rank0]"),
        line_with(raw_lines(SPEEDRUN), "Saved model parameters"),  # checkpoints: the events module's
        line_with(raw_lines(SPEEDRUN), "Peak memory usage"),
        line_with(raw_lines(SPEEDRUN), "Minimum validation bpb"),
        line_with(raw_lines(SPEEDRUN), "Calculated number of iterations"),
        "Step 5/100 | Example step 0 | Pass 0 | loss: 0.123456 | Average reward: 0.0",  # chat_rl detail
        "",
    ],
)
def test_other_lines_are_not_records(line: str) -> None:
    assert NanochatParser().parse(line) is None


def test_whole_speedrun_log() -> None:
    """raw/nanochat_pr492: one STEP per `step ` line, one EVAL per `Step ` line, one FINISHED at the end."""
    lines = raw_lines(SPEEDRUN)
    parser = NanochatParser()
    records = [r for r in map(parser.parse, lines) if r is not None]
    steps = [r for r in records if r.kind is Kind.STEP]
    evals = [r for r in records if r.kind is Kind.EVAL]
    assert len(steps) == sum(line.startswith("step ") for line in lines) == 16704
    assert len(evals) == sum(line.startswith("Step ") for line in lines) == 74
    assert sum("val_bpb" in r.metrics for r in evals) == 68
    assert sum("core_metric" in r.metrics for r in evals) == 6
    assert [r.step for r in steps] == list(range(16704))
    assert (steps[-1].step, steps[-1].total_steps) == (16703, 16704)
    finished = records[-1]
    assert (finished.kind, finished.event, finished.step) == (Kind.EVENT, Event.FINISHED, 16704)
    assert finished.message == "Total training time: 179.44m"
    assert_metrics(finished, {"elapsed": 179.44 * 60})
    assert len(records) == 16704 + 74 + 1


def test_sft_run_keeps_nan_losses_and_knows_mfu_is_unknown() -> None:
    """raw/nanochat_pr657: `Peak FLOPS (BF16): inf` makes every `mfu: 0.00` meaningless; NaN losses stay NaN."""
    lines = raw_lines(SFT)
    parser = NanochatParser()
    records = [r for r in map(parser.parse, lines) if r is not None]
    steps = [r for r in records if r.kind is Kind.STEP]
    assert len(steps) == sum(line.startswith("step ") for line in lines) == 133
    assert sum(math.isnan(r.metrics["loss"]) for r in steps) == sum("loss: nan" in line for line in lines) == 125
    assert all("mfu" not in r.metrics for r in steps)
    assert all(r.total_steps is None for r in steps)
    assert [r.kind for r in records].count(Kind.EVAL) == 1


@pytest.mark.parametrize("junk", ["  ", "\t", "^[", " ^["])
def test_tolerates_stray_leading_blanks_and_escape_residue(junk: str) -> None:
    line = CASES[0][0]
    assert NanochatParser().parse(junk + line) == NanochatParser().parse(line) is not None


def test_other_stacks_lines_are_not_claimed() -> None:
    """HF Trainer, Lightning, failures, launchers, Composer, axolotl, Accelerate excerpts."""
    parser = NanochatParser()
    assert [line for line in foreign_lines() if parser.score(line) >= 2] == []


PREFIXES = ["", "step ", "Step ", "step 00001/", "step 00001 (0.00%) | ", "Step 00010 | ", "Total training time:",
            "GPU: x | Peak FLOPS (BF16): "]


@given(prefix=st.sampled_from(PREFIXES), tail=st.text())
def test_never_raises(prefix: str, tail: str) -> None:
    rec = NanochatParser().parse(prefix + tail)
    assert rec is None or isinstance(rec, Record)


@given(case=st.sampled_from(CASES + FROM_SOURCE), cut=st.integers(0, 400))
def test_cut_lines_never_raise(case: tuple[str, Kind, int, int | None, dict[str, float]], cut: int) -> None:
    rec = NanochatParser().parse(case[0][:cut])
    assert rec is None or isinstance(rec, Record)
