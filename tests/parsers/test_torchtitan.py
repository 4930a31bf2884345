"""torchtitan metric lines → Records, on real lines from corpus/raw/excerpts_torchtitan_composer_axolotl_accelerate.json."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runwatch.model import Kind, Record
from runwatch.parsers.torchtitan import TorchtitanParser
from tests.support.corpus import assert_metrics, foreign_lines, json_excerpt, line_with, signature_scorers

JSON = "excerpts_torchtitan_composer_axolotl_accelerate.json"


def _t(excerpt: str, fragment: str) -> str:
    return line_with(json_excerpt(JSON, f"Excerpt {excerpt} ", "titan"), fragment)


def _local(*fields: int, ms: int = 0) -> float:
    return datetime(*fields).timestamp() + ms / 1000  # type: ignore[arg-type]


# (line, kind, step, t, metrics)
CASES: list[tuple[str, Kind, int, float, dict[str, float]]] = [
    # T1 (torchtitan#2389): 0.3.0 format with grad_norm, 5-decimal loss, comma thousands in tps
    (_t("T1", "step:  4"), Kind.STEP, 4, _local(2026, 2, 24, 19, 46, 17, ms=508),
     {"loss": 7.62585, "grad_norm": 26.625, "memory_gib": 66.91, "memory_pct": 37.51, "tokens_per_sec": 10050,
      "tflops": 314.71, "mfu": 13.99}),
    # T1: the excerpt's last line is cut after `grad_norm:`
    (json_excerpt(JSON, "Excerpt T1 ", "titan")[-1], Kind.STEP, 5,
     _local(2026, 2, 24, 19, 46, 19, ms=145), {"loss": 7.07623}),
    # T2 (torchtitan#1287): older format (no grad_norm, 4-decimal loss); `[rank0]:` still in front
    (_t("T2", "step: 200"), Kind.STEP, 200, _local(2025, 6, 16, 22, 30, 50, ms=322),
     {"loss": 6.1384, "memory_gib": 49.66, "memory_pct": 52.28, "tokens_per_sec": 5856, "tflops": 339.16,
      "mfu": 34.29}),
    # T3 (torchtitan#3393): padded `grad_norm:  0.8319` and `memory:  9.46GiB`, tiny tflops
    (_t("T3", "step: 14"), Kind.STEP, 14, _local(2026, 5, 18, 16, 4, 46, ms=338),
     {"loss": 3.24405, "grad_norm": 0.8319, "memory_gib": 9.46, "memory_pct": 64.99, "tokens_per_sec": 7282,
      "tflops": 0.52, "mfu": 0.17}),
]

# No real excerpt: the torchtitan 0.3.0 f-strings (metrics.py:521 with mfu None → `N/A`, and
# metrics.py:564 validation) filled in, colours off.
_STEP_NA = (f"step: {7:2}  loss: {3.5:8.5f}  grad_norm: {1.25:7.4f}  memory: {9.46:5.2f}GiB({64.99:.2f}%)  "
            f"tps: {round(7282.4):,}  tflops: {1234.5:,.2f}  mfu: N/A")
_VALIDATE = f"validate step: {7:2}  loss: {3.25:7.4f}  memory: {9.46:5.2f}GiB({64.99:.2f}%)  tps: {round(21000.2):,}"
HEADER = "[titan] 2026-05-18 16:04:46,338 - root - INFO - "
FROM_SOURCE: list[tuple[str, Kind, int, float, dict[str, float]]] = [
    (HEADER + _STEP_NA, Kind.STEP, 7, _local(2026, 5, 18, 16, 4, 46, ms=338),
     {"loss": 3.5, "grad_norm": 1.25, "memory_gib": 9.46, "memory_pct": 64.99, "tokens_per_sec": 7282,
      "tflops": 1234.5}),
    (HEADER + _VALIDATE, Kind.EVAL, 7, _local(2026, 5, 18, 16, 4, 46, ms=338),
     {"val_loss": 3.25, "val_memory_gib": 9.46, "val_memory_pct": 64.99, "val_tokens_per_sec": 21000}),
]


@pytest.mark.parametrize(("line", "kind", "step", "t", "metrics"), CASES + FROM_SOURCE)
def test_metric_lines(line: str, kind: Kind, step: int, t: float, metrics: dict[str, float]) -> None:
    rec = TorchtitanParser().parse(line)
    assert rec is not None
    assert (rec.kind, rec.step, rec.total_steps, rec.rank) == (kind, step, None, None)
    assert rec.t == pytest.approx(t)
    assert_metrics(rec, metrics)


@pytest.mark.parametrize("line", [c[0] for c in CASES + FROM_SOURCE])
def test_only_torchtitan_claims_its_lines(line: str) -> None:
    assert signature_scorers(line) == {"torchtitan"}


def test_all_ranks_logging_gives_one_record_per_line() -> None:
    """T1: 8 ranks print the same step-4 line; each is a record (the rank is not on the line)."""
    parser = TorchtitanParser()
    records = [r for r in map(parser.parse, json_excerpt(JSON, "Excerpt T1 ", "titan")) if r is not None]
    assert [r.step for r in records] == [4] * 7 + [5, 5]


@pytest.mark.parametrize(
    "line", [_t("T2", "[GC] Peforming"), _t("T2", "Dumping profiler traces"), _t("T2", "Finished dumping")]
)
def test_other_titan_lines_are_a_hint_not_a_record(line: str) -> None:
    assert TorchtitanParser().parse(line) is None
    assert TorchtitanParser().score(line) == 1


def test_foreign_lines_score_nothing() -> None:
    assert TorchtitanParser().score("step: 4  loss:  7.62585") == 0
    assert TorchtitanParser().parse("[titan] 2026-02-24 19:46:17,508 - root - INFO - step: x  loss: 1") is None


@pytest.mark.parametrize("junk", ["  ", "\t", "^[", " ^["])
def test_tolerates_stray_leading_blanks_and_escape_residue(junk: str) -> None:
    line = CASES[0][0]
    assert TorchtitanParser().parse(junk + line) == TorchtitanParser().parse(line) is not None


def test_other_stacks_lines_are_not_claimed() -> None:
    """HF Trainer, Lightning, failures, launchers, Composer, axolotl, Accelerate excerpts."""
    parser = TorchtitanParser()
    assert [line for line in foreign_lines() if parser.score(line) >= 2] == []


PREFIXES = ["", "[titan] ", HEADER, HEADER + "step: ", HEADER + "step: 1  ", HEADER + "validate step: 1  "]


@given(prefix=st.sampled_from(PREFIXES), tail=st.text())
def test_never_raises(prefix: str, tail: str) -> None:
    rec = TorchtitanParser().parse(prefix + tail)
    assert rec is None or isinstance(rec, Record)


@given(case=st.sampled_from(CASES + FROM_SOURCE), cut=st.integers(0, 200))
def test_cut_lines_never_raise(case: tuple[str, Kind, int, float, dict[str, float]], cut: int) -> None:
    rec = TorchtitanParser().parse(case[0][:cut])
    assert rec is None or isinstance(rec, Record)


def test_a_pipeline_ranks_stand_in_loss_is_no_loss() -> None:
    """A review's torchtitan run with 8 pipeline stages (tests/fixtures/found/README.md): its log is rank 0's, which
    holds no last stage, and torchtitan prints `loss: -1.00000` there at every step. It read as a flat loss of -1 for
    1,000 steps; it is no loss, while every other value of the line (and the Inf `grad_norm` at step 780) stays."""
    from tests.support.found import source_records

    fmt, recs = source_records("torchtitan_pp8_first_stage_loss_placeholder.log.gz")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "torchtitan" and len(steps) == 101 and steps[-1].step == 1000
    assert not any("loss" in r.metrics for r in steps)
    assert all({"grad_norm", "tokens_per_sec", "mfu"} <= r.metrics.keys() for r in steps)
    assert [r.step for r in steps if r.metrics["grad_norm"] == float("inf")] == [780]
    line = HEADER + _STEP_NA.replace(f"{3.5:8.5f}", f"{-1.0:8.5f}")
    assert "loss: -1.00000" in line
    rec = TorchtitanParser().parse(line)
    assert rec is not None and "loss" not in rec.metrics and rec.metrics["grad_norm"] == 1.25
