"""DeepSpeed engine lines → Records, on real lines from corpus/raw/excerpts_deepspeed.json (D1–D5)."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runwatch.model import Kind, Record
from runwatch.parsers.deepspeed import DeepSpeedParser
from tests.support.corpus import assert_metrics, foreign_lines, json_excerpt, line_with, signature_scorers


def _d(excerpt: str, fragment: str) -> str:
    return line_with(json_excerpt("excerpts_deepspeed.json", f"Excerpt {excerpt} "), fragment)


def _local(*fields: int, ms: int = 0) -> float:
    return datetime(*fields).timestamp() + ms / 1000  # type: ignore[arg-type]


# (line, step, rank, t, metrics); all are Kind.STEP
CASES: list[tuple[str, int | None, int | None, float, dict[str, float]]] = [
    # D1 (DeepSpeed#1825, ~0.5/0.6): `log_dist` progress line; lr is a per-param-group list
    (_d("D1", "step=40,"), 40, 0, _local(2022, 3, 11, 2, 6, 58, ms=985), {"skipped_steps": 2, "lr": 5e-05}),
    # D1: old timer format `epoch/step, SamplesPerSec=…` with memory in GiB
    (_d("D1", "0/40, SamplesPerSec"), 40, None, _local(2022, 3, 11, 2, 6, 58, ms=985),
     {"epoch": 0, "samples_per_sec": 83.48609168106144, "memory_allocated_gib": 0.26,
      "max_memory_allocated_gib": 9.02}),
    # D2 (DeepSpeed#5779): fp16 overflow halves the loss scale; the step number is not on the line
    (_d("D2", "reducing to 32768"), None, 0, _local(2024, 7, 17, 19, 44, 6, ms=945), {"loss_scale": 32768}),
    # D2: hysteresis spent first: the scale stays
    (_d("D2", "but hysteresis is 2"), None, 0, _local(2024, 7, 17, 19, 44, 6, ms=829), {"loss_scale": 65536}),
    # D3 (DeepSpeed#3742, ~0.9/0.10): new timer format with micro/global step and running average
    (_d("D3", "epoch=0/micro_step=34/global_step=34"), 34, None, _local(2023, 7, 25, 21, 3, 17, ms=269),
     {"epoch": 0, "micro_step": 34, "running_avg_samples_per_sec": 7.864669709950182,
      "samples_per_sec": 8.00912418308922, "memory_allocated_gib": 59.65, "max_memory_allocated_gib": 63.31}),
    # D3: two param groups, nested mom list
    (_d("D3", "step=35,"), 35, 0, _local(2023, 7, 25, 21, 3, 21, ms=37), {"skipped_steps": 0, "lr": 2.1731931451279077e-06}),
    # D4 (transformers#14531): tqdm bar glued in front of the log line; 1995 of 2000 steps skipped
    (_d("D4", "step=2000,"), 2000, 0, _local(2021, 11, 26, 3, 7, 16, ms=494), {"skipped_steps": 1995, "lr": 0.001}),
    (_d("D4", "0/2000, SamplesPerSec"), 2000, None, _local(2021, 11, 26, 3, 7, 16, ms=494),
     {"epoch": 0, "samples_per_sec": 9.526738918021234}),
]

# No full real excerpt (deepspeed.md §2 end): the pipeline-engine line as quoted in a
# Megatron-DeepSpeed test-script comment (code-index id 34677345188), the only one that carries the loss.
PIPELINE = "steps: 200 loss: 5.5508 lm loss: 5.5103 moe loss: 0.0405 iter time (s): 0.936 samples/sec: 136.706"


@pytest.mark.parametrize(("line", "step", "rank", "t", "metrics"), CASES)
def test_engine_lines(line: str, step: int | None, rank: int | None, t: float, metrics: dict[str, float]) -> None:
    rec = DeepSpeedParser().parse(line)
    assert rec is not None
    assert (rec.kind, rec.step, rec.total_steps, rec.rank) == (Kind.STEP, step, None, rank)
    assert rec.t == pytest.approx(t)
    assert_metrics(rec, metrics)


def test_pipeline_line_carries_loss_and_seconds() -> None:
    rec = DeepSpeedParser().parse(PIPELINE)
    assert rec is not None
    assert (rec.kind, rec.step, rec.t, rec.rank) == (Kind.STEP, 200, 0.0, None)
    assert_metrics(rec, {"loss": 5.5508, "lm_loss": 5.5103, "moe_loss": 0.0405, "step_time": 0.936,
                         "samples_per_sec": 136.706})


def test_overflow_cascade_tracks_the_loss_scale() -> None:
    """D2: every complete OVERFLOW line is a loss-scale reading; the cut last line is not."""
    parser = DeepSpeedParser()
    lines = json_excerpt("excerpts_deepspeed.json", "Excerpt D2 ")
    scales = [r.metrics["loss_scale"] for r in map(parser.parse, lines) if r is not None]
    assert scales == [65536, 32768, 16384, 8192, 4096, 2048, 1024, 512]


def test_only_the_pipeline_line_is_a_signature() -> None:
    """Engine/timer/overflow lines also appear under HF Trainer and Megatron-DeepSpeed, whose own lines
    carry the loss: they must not win detection, so they score 1; the pipeline line scores 2."""
    assert signature_scorers(PIPELINE) == {"deepspeed"}
    for line, *_ in CASES:
        assert DeepSpeedParser().score(line) == 1
        assert signature_scorers(line) == set()


@pytest.mark.parametrize(
    "line",
    [
        _d("D1", "<IPython.core.display.HTML object>"),
        _d("D3", "rank=0 time (ms) | forward_microstep"),
        _d("D3", "samples/sec: 7.799 | iteration"),  # Megatron's line, not DeepSpeed's
        _d("D5", "compute_norm"),
        _d("D3", "global_step=35, RunningAvgSampl"),  # cut before its first value
        "steps: x loss: 1",
    ],
)
def test_other_lines_are_not_records(line: str) -> None:
    assert DeepSpeedParser().parse(line) is None


@pytest.mark.parametrize("junk", ["  ", "\t", "^[", " ^["])
def test_tolerates_stray_leading_blanks_and_escape_residue(junk: str) -> None:
    line = CASES[0][0]
    assert DeepSpeedParser().parse(junk + line) == DeepSpeedParser().parse(line) is not None


def test_other_stacks_lines_are_not_claimed() -> None:
    """HF Trainer, Lightning, failures, launchers, Composer, axolotl, Accelerate excerpts."""
    parser = DeepSpeedParser()
    assert [line for line in foreign_lines() if parser.score(line) >= 2] == []


PREFIXES = ["", "steps: ", "steps: 1 ", "[2022-03-11 02:06:58,985] [INFO] [logging.py:69:log_dist] ",
            "[2022-03-11 02:06:58,985] [INFO] [logging.py:69:log_dist] [Rank 0] step=",
            "[2022-03-11 02:06:58,985] [INFO] [timer.py:189:stop] 0/40, ",
            "[2024-07-17 19:44:06,945] [INFO] [loss_scaler.py:183:update_scale] [deepspeed] OVERFLOW! Rank "]


@given(prefix=st.sampled_from(PREFIXES), tail=st.text())
def test_never_raises(prefix: str, tail: str) -> None:
    rec = DeepSpeedParser().parse(prefix + tail)
    assert rec is None or isinstance(rec, Record)


@given(line=st.sampled_from([c[0] for c in CASES] + [PIPELINE]), cut=st.integers(0, 260))
def test_cut_lines_never_raise(line: str, cut: int) -> None:
    rec = DeepSpeedParser().parse(line[:cut])
    assert rec is None or isinstance(rec, Record)
