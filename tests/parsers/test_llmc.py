"""llm.c lines → Records, on real lines from corpus/nanogpt_llmc.md (§4 excerpts L1–L6)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runwatch.model import Event, Kind, Record
from runwatch.parsers.llmc import LlmcParser
from tests.support.corpus import assert_metrics, foreign_lines, line_with, md_block, signature_scorers

MD = "nanogpt_llmc.md"


def _printf(c_format: str, *args: float) -> str:
    """A line as llm.c's printf would write it (Python's `%` reads the same conversions)."""
    return c_format % args


def _l(excerpt: str, fragment: str) -> str:
    return line_with(md_block(MD, f"Excerpt {excerpt}"), fragment)


# (line, kind, step, total_steps, metrics), each parsed by a fresh parser
CASES: list[tuple[str, Kind, int, int | None, dict[str, float]]] = [
    # L1 (README, CPU train_gpt2.c): `step N: train loss X (took Y ms)`, no total
    (_l("L1", "step 0: train loss"), Kind.STEP, 0, None, {"loss": 5.356189, "step_time": 1.452121}),
    # L1: `val loss` before any step belongs to step 0
    (_l("L1", "val loss 5.252026"), Kind.EVAL, 0, None, {"val_loss": 5.252026}),
    # L2 (README f7fb3e6, April 2024): `step N/T: train loss X (Y ms)`
    (_l("L2", "step 2/74"), Kind.STEP, 2, 74, {"loss": 4.031242, "step_time": 0.077378867}),
    # L3 (llm.c#796, Blackwell): `-100.0% bf16 MFU` = GPU unknown, omitted; `(+nanz)` z-scores omitted
    (_l("L3", "step   61/74"), Kind.STEP, 61, 74,
     {"loss": 3.208939, "grad_norm": 1.48, "lr": 3e-4, "step_time": 0.04457, "tokens_per_sec": 91886}),
    # L3: the excerpt's last line is cut after the time value (no ` ms`): that field is dropped
    (_l("L3", "step   72/74"), Kind.STEP, 72, 74, {"loss": 3.750491, "grad_norm": 2.1341, "lr": 3e-4}),
    # L4 (124M reproduction on an A100): first step, width-4 step, real MFU
    (_l("L4", "step    1/19560"), Kind.STEP, 1, 19560,
     {"loss": 11.010252, "grad_norm": 15.1374, "lr": 8.57e-07, "step_time": 4.68825, "mfu": 28.8,
      "tokens_per_sec": 111830}),
    # L4: finite z-scores are kept
    (_l("L4", "step 19559/19560"), Kind.STEP, 19559, 19560,
     {"loss": 3.314194, "loss_z": 0.19, "grad_norm": 0.2776, "grad_norm_z": 3.74, "lr": 1.79e-11,
      "step_time": 4.33991, "mfu": 31.1, "tokens_per_sec": 124285}),
    # L4: last step, `lr 0.00e+00`, negative z-score
    (_l("L4", "step 19560/19560"), Kind.STEP, 19560, 19560,
     {"loss": 3.252871, "loss_z": -1.21, "grad_norm": 0.2281, "grad_norm_z": 0.02, "lr": 0.0,
      "step_time": 4.36796, "mfu": 30.9, "tokens_per_sec": 124072}),
    # L5 (GPT-2 1.5B, 8×H100)
    (_l("L5", "step    7/32000"), Kind.STEP, 7, 32000,
     {"loss": 9.16565, "grad_norm": 10.5941, "lr": 6e-06, "step_time": 2.75303, "mfu": 47.3,
      "tokens_per_sec": 381327}),
    # L6 (3-step smoke run)
    (_l("L6", "step    3/3"), Kind.STEP, 3, 3,
     {"loss": 10.811316, "grad_norm": 21.1251, "lr": 2.57e-06, "step_time": 2.4995, "mfu": 40.2,
      "tokens_per_sec": 209950}),
]

# No real excerpt exists of these: the C format strings quoted in nanogpt_llmc.md §3 (commit per
# case), filled in with Python's printf, which reads the same conversions.
FROM_SOURCE: list[tuple[str, Kind, int, int | None, dict[str, float]]] = [
    # a00a3a8 (2024-04-26)
    (_printf("step %4d/%d: train loss %f (acc %f) (%f ms, %d tok/s)", 5, 74, 4.031242, 4.1, 77.378867, 52934),
     Kind.STEP, 5, 74,
     {"loss": 4.031242, "accumulated_loss": 4.1, "step_time": 0.077378867, "tokens_per_sec": 52934}),
    # bc58cd1 (2024-05-19)
    (_printf("step %4d/%d: train loss %f norm %.4f (%.2f ms, %.0f tok/s)", 5, 74, 4.031242, 1.25, 77.38, 52934),
     Kind.STEP, 5, 74, {"loss": 4.031242, "grad_norm": 1.25, "step_time": 0.07738, "tokens_per_sec": 52934}),
    # 661975c (2024-05-23)
    (_printf("step %4d/%d: train loss %f norm %.4f lr %.2e (%.2f ms, %.0f tok/s)",
             5, 74, 4.031242, 1.25, 6e-4, 77.38, 52934), Kind.STEP, 5, 74,
     {"loss": 4.031242, "grad_norm": 1.25, "lr": 6e-4, "step_time": 0.07738, "tokens_per_sec": 52934}),
    # 90a745c (2024-05-25): pipes, `train loss`, A100 fp16 MFU
    (_printf("step %4d/%d | train loss %7.4f | norm %6.4f | lr %.2e | %.2f ms | %.1f%% A100 fp16 MFU | %.0f tok/s",
             5, 74, 4.0312, 1.25, 6e-4, 77.38, 40.1, 52934), Kind.STEP, 5, 74,
     {"loss": 4.0312, "grad_norm": 1.25, "lr": 6e-4, "step_time": 0.07738, "mfu": 40.1, "tokens_per_sec": 52934}),
    # 569f9f1 (2024-06-25): `(z %+.2f)` after the loss
    (_printf("step %4d/%d | loss %7.6f (z %+.2f)| norm %6.4f | lr %.2e | %.2f ms | %.1f%% bf16 MFU | %.0f tok/s",
             5, 74, 4.031242, 0.5, 1.25, 6e-4, 77.38, 40.1, 52934), Kind.STEP, 5, 74,
     {"loss": 4.031242, "loss_z": 0.5, "grad_norm": 1.25, "lr": 6e-4, "step_time": 0.07738, "mfu": 40.1,
      "tokens_per_sec": 52934}),
    # llmc/logger.h main.log lines
    (_printf("s:%d trl:%.4f lr:%.6f norm:%.2f", 100, 3.2, 6e-4, 0.5), Kind.STEP, 100, None,
     {"loss": 3.2, "lr": 6e-4, "grad_norm": 0.5}),
    (_printf("s:%d tel:%.4f", 250, 3.3), Kind.EVAL, 250, None, {"val_loss": 3.3}),
    (_printf("s:%d eval:%.4f", 250, 0.31), Kind.EVAL, 250, None, {"hellaswag": 0.31}),
]


@pytest.mark.parametrize(("line", "kind", "step", "total", "metrics"), CASES + FROM_SOURCE)
def test_variants_parse_to_canonical_metrics(
    line: str, kind: Kind, step: int, total: int | None, metrics: dict[str, float]
) -> None:
    rec = LlmcParser().parse(line)
    assert rec is not None
    assert (rec.kind, rec.step, rec.total_steps, rec.t, rec.rank) == (kind, step, total, 0.0, None)
    assert_metrics(rec, metrics)


def test_end_of_run_evals_belong_to_the_last_step() -> None:
    """L4: `val loss`, `HellaSwag` and `total average iteration time` follow step 19560."""
    parser = LlmcParser()
    records = [r for r in map(parser.parse, md_block(MD, "Excerpt L4")) if r is not None]
    assert [(r.kind, r.step) for r in records] == [
        (Kind.STEP, 1), (Kind.STEP, 19559), (Kind.STEP, 19560),
        (Kind.EVAL, 19560), (Kind.EVAL, 19560), (Kind.EVENT, 19560),
    ]
    assert_metrics(records[3], {"val_loss": 3.265413})
    assert_metrics(records[4], {"hellaswag": 0.313782})
    assert records[5].event == Event.FINISHED
    assert_metrics(records[5], {"avg_step_time": 4.17995303})


def test_whole_readme_run() -> None:
    """L1: validation before step 0 and after step 39; every `step` line is a STEP."""
    parser = LlmcParser()
    records = [r for r in map(parser.parse, md_block(MD, "Excerpt L1")) if r is not None]
    assert [(r.kind, r.step) for r in records] == [
        (Kind.EVAL, 0), (Kind.STEP, 0), (Kind.STEP, 1), (Kind.STEP, 2), (Kind.STEP, 3), (Kind.STEP, 39), (Kind.EVAL, 39),
    ]


@pytest.mark.parametrize("line", [c[0] for c in CASES + FROM_SOURCE if c[1] is Kind.STEP])
def test_only_llmc_claims_its_step_lines(line: str) -> None:
    assert signature_scorers(line) == {"llmc"}


def test_bare_eval_lines_are_only_a_hint() -> None:
    """`val loss X` could come from any script: llm.c says "maybe", not "mine"."""
    for line in (_l("L1", "val loss"), _l("L4", "HellaSwag: 3151")):
        assert LlmcParser().score(line) == 1
        assert signature_scorers(line) == set()


@pytest.mark.parametrize(
    "line",
    [
        _l("L4", "evaluating HellaSwag: 770/837"),
        _l("L4", "Writing checkpoint at step"),
        _l("L5", "allocated 2971 MiB"),
        _l("L6", "use_master_weights"),
        line_with(md_block(MD, "Excerpt G1"), "step 250:"),  # nanoGPT eval
        "step 00001/16704 (0.01%) | loss: 10.757717 | lrm: 1.00",  # nanochat shape
    ],
)
def test_other_lines_are_not_records(line: str) -> None:
    assert LlmcParser().parse(line) is None


@pytest.mark.parametrize("junk", ["  ", "\t", "^[", " ^["])
def test_tolerates_stray_leading_blanks_and_escape_residue(junk: str) -> None:
    line = CASES[3][0]
    assert LlmcParser().parse(junk + line) == LlmcParser().parse(line) is not None


def test_other_stacks_lines_are_not_claimed() -> None:
    """HF Trainer, Lightning, failures, launchers, Composer, axolotl, Accelerate excerpts."""
    parser = LlmcParser()
    assert [line for line in foreign_lines() if parser.score(line) >= 2] == []


PREFIXES = ["", "step ", "step    1/74 | ", "step 1/74: train loss ", "val loss ", "HellaSwag: ", "s:1 ",
            "total average iteration time: "]


@given(prefix=st.sampled_from(PREFIXES), tail=st.text())
def test_never_raises(prefix: str, tail: str) -> None:
    rec = LlmcParser().parse(prefix + tail)
    assert rec is None or isinstance(rec, Record)


@given(case=st.sampled_from(CASES + FROM_SOURCE), cut=st.integers(0, 160))
def test_cut_lines_never_raise(case: tuple[str, Kind, int, int | None, dict[str, float]], cut: int) -> None:
    rec = LlmcParser().parse(case[0][:cut])
    assert rec is None or isinstance(rec, Record)


def test_a_loop_written_after_llmcs_pipe_form_is_read_whole() -> None:
    """`step   47700 | loss 1.4684 | lr 1.79e-04 | grad 0.075 | 113.4k tok/s | mfu 114.07%`: llm.c's pipe form with
    other segments; read as llm.c's, only the loss and rate were kept, `113.4k` no number, `[eval]` lines and the
    header's `Max steps : 100,000` unread (a review)."""
    from runwatch.parsers.source import SourceParser
    from tests.support.found import found_lines, source_records

    fmt, recs = source_records("qwen3_llmc_style_resume_head.out")
    assert fmt == "llmc"
    first = next(r for r in recs if r.kind is Kind.STEP)
    assert first.step == 47700 and first.metrics == {
        "loss": 1.4684, "lr": 1.79e-4, "grad_norm": 0.075, "tokens_per_sec": 113400.0, "mfu": 114.07}
    evals = [(r.step, r.metrics) for r in recs if r.kind is Kind.EVAL]
    assert evals[0] == (48000, {"val_loss": 4.0749})
    sp = SourceParser("x")
    sp.feed(found_lines("qwen3_llmc_style_resume_head.out"), 1, 0.0)
    assert sp.planned == 100_000
