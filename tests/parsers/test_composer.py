"""Composer console blocks → Records, on corpus/others_torchtitan_composer_axolotl_accelerate.md §2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.model import Kind, Record
from runwatch.parsers.composer import ComposerParser

RAW = Path(__file__).parents[1] / "fixtures" / "corpus" / "raw"


def excerpt(tag: str) -> list[str]:
    """Lines of the composer excerpt whose headline is `tag — …`."""
    data = json.loads((RAW / "excerpts_torchtitan_composer_axolotl_accelerate.json").read_text(encoding="utf-8"))
    [found] = [e for e in data["composer"] if e["h"].split(" — ")[0] == tag]
    return str(found["t"]).splitlines()


def run(lines: list[str]) -> list[Record]:
    """Every record of one parser over the lines, flush included."""
    p = ComposerParser()
    out = [rec for line in lines if (rec := p.parse(line)) is not None]
    end = p.flush()
    return out + ([end] if end is not None else [])


C1 = excerpt("Excerpt C1")


def test_block_is_emitted_when_the_next_header_arrives() -> None:
    # C1: `[batch=1/10]:` + 20 `Train …` items inside the launcher's rank-1 STDERR dump
    p = ComposerParser()
    header2 = C1.index("[batch=2/10]:")
    assert all(p.parse(line) is None for line in C1[:header2])
    rec = p.parse(C1[header2])
    assert rec is not None
    assert (rec.kind, rec.step, rec.total_steps, rec.rank) == (Kind.STEP, 1, 10, 1)
    assert rec.metrics["loss"] == 11.6153  # Train loss/train/total
    assert rec.metrics["lr"] == 0.0  # Train lr-DecoupledAdamW/group0: 0.0000 (`:.4f` hides small LRs)
    assert rec.metrics["elapsed"] == pytest.approx(0.0073 * 3600)  # time/total, SpeedMonitor hours
    assert rec.metrics["epoch"] == 0.0  # time/epoch
    assert rec.metrics["metrics_train_language_perplexity"] == 110783.0234
    assert rec.metrics["trainer_device_train_microbatch_size"] == 8.0
    assert rec.metrics["memory_reserved_mem"] == 8.5794
    assert rec.metrics["time_train"] == 0.0073
    assert len(rec.metrics) == 20


def test_block_ends_on_a_non_item_line_and_flush_is_empty_after() -> None:
    # C1 ends with `         Tr` (cut by the corpus): not an item, so block 2 ends there
    recs = run(C1)
    assert [(r.step, r.total_steps) for r in recs] == [(1, 10), (2, 10)]
    assert dict(recs[1].metrics) == {"time_batch": 1.0, "time_sample": 256.0}


def test_flush_returns_the_open_block() -> None:
    # C1 without its second header: the first block is still open at the end of input
    p = ComposerParser()
    for line in C1[: C1.index("[batch=2/10]:")]:
        p.parse(line)
    rec = p.flush()
    assert rec is not None and rec.step == 1 and rec.metrics["loss"] == 11.6153
    assert p.flush() is None


def test_rank_banner_scopes_the_rank() -> None:
    # C1 opens with `----------End global rank 1 STDOUT----------`, `----------Begin global rank 1 STDERR…`
    assert run(C1)[0].rank == 1
    assert run(C1[C1.index("[batch=1/10]:"):])[0].rank is None


def test_user_reformatted_bullets_without_a_header_are_not_records() -> None:
    # C2: the same items as a markdown list, no `[batch=…]:` header
    assert run(excerpt("Excerpt C2")) == []


# No real epoch-based or eval block is in the corpus: these are built from composer 0.32.1's
# `ConsoleLogger._get_progress_string` / `_get_eval_progress_string` (quoted in the corpus §2)
# around real C1 items.
ITEMS = [line for line in C1 if line.startswith("         Train ")]


def test_epoch_based_header_uses_time_batch() -> None:
    # `[epoch=E][batch=N/M]:` counts batches within epoch E (from 1); C1's items say time/batch 0 → step 1
    recs = run(["[epoch=1][batch=1/10]:", *ITEMS, "[epoch=2][batch=3/10]:", "\t Train loss/train/total: 2.5000"])
    assert [(r.step, r.total_steps) for r in recs] == [(1, None), (13, None)]
    assert recs[1].metrics == {"loss": 2.5}


def test_eval_block_is_eval_at_the_last_train_step() -> None:
    lines = [
        "[batch=2/10]:", *ITEMS,
        "[Eval batch=1/4] Eval on eval data",  # progress only (no colon): no record
        "[Eval batch=4/4] Eval on eval data:",
        "\t Eval metrics/eval/LanguageCrossEntropy: 2.3100",
        "\t Eval metrics/eval/LanguagePerplexity: 10.0744",
        "[batch=3/10]:",
    ]
    recs = run(lines)
    assert [(r.kind, r.step, r.total_steps) for r in recs] == [
        (Kind.STEP, 2, 10), (Kind.EVAL, 2, 10), (Kind.STEP, 3, 10),  # the last block, items not yet seen
    ]
    assert dict(recs[2].metrics) == {}
    assert dict(recs[1].metrics) == {"val_loss": 2.31, "metrics_eval_language_perplexity": 10.0744}


def test_speed_monitor_names() -> None:
    lines = [
        "[batch=5/10]:",
        "\t Train throughput/batches_per_sec: 2.0000",
        "\t Train throughput/samples_per_sec: 512.0000",
        "\t Train throughput/device/mfu: 0.4123",
        "\t Train time_seconds/total: 30.0000",
        "\t Train time/total: 0.0083",
        "\t Train l2_norm/grad/global: nan",
        "\t Train time/secs_per_step: 0",
    ]
    [rec] = run(lines)
    assert rec.metrics["step_time"] == 0.5  # from batches_per_sec; secs_per_step 0 = not measured
    assert rec.metrics["mfu"] == pytest.approx(41.23)
    assert rec.metrics["elapsed"] == 30.0
    assert rec.metrics["samples_per_sec"] == 512.0
    assert rec.metrics["grad_norm"] != rec.metrics["grad_norm"]  # NaN kept


@pytest.mark.parametrize(("line", "score"), [
    ("[batch=1/10]:", 2),
    ("[epoch=1][batch=1/10]:", 2),
    ("[Eval batch=4/4] Eval on eval data:", 2),
    (ITEMS[0], 1),
    (C1[0], 0),
    (C1[2], 0),
])
def test_score(line: str, score: int) -> None:
    assert ComposerParser().score(line) == score


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=200), max_size=8))
def test_never_raises(lines: list[str]) -> None:
    p = ComposerParser()
    for line in lines:
        p.parse(line)
        p.score(line)
    p.flush()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["[batch=", "[epoch=", "[Eval batch=", "]", ":", "\t Train ", "\t Eval ", "1", "/",
                                 "x", " ", "nan", "time/batch", "lr-A/group0", "Eval on ", " data"]), max_size=12))
def test_never_raises_on_block_like_text(parts: list[str]) -> None:
    p = ComposerParser()
    for line in ("".join(parts), "".join(reversed(parts))):
        p.parse(line)
    p.flush()
