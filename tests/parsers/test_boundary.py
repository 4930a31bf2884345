"""What no parser may let out (issue 11): steps no float holds, steps far past their total, digits that are
not ASCII, `_` inside numbers. Real corpus lines with only the number changed."""

from __future__ import annotations

import re

import pytest

from runwatch.model import Kind, Record
from runwatch.parsers.boundary import ascii_digits, checked
from runwatch.parsers.hf_trainer import HFTrainerParser
from runwatch.parsers.numbers import ascii_float, parse_int, parse_number
from runwatch.parsers.source import SourceParser
from runwatch.watcher.snapshot import split_block
from tests.support.corpus import json_excerpt, line_with, md_block, raw_lines

NANOCHAT_LOG = "nanochat_pr492_speedrun_d24_feb01.training_output.log"
STEP_LINES = {  # format → (a real step line, the step number in it as printed)
    "picollm": (line_with(raw_lines(NANOCHAT_LOG), "step 00001/"), "00001"),
    "nanogpt": (line_with(md_block("nanogpt_llmc.md", "Excerpt G1"), "iter 10:"), "10"),
    "llmc": (line_with(md_block("nanogpt_llmc.md", "Excerpt L1"), "step 0: train loss"), "0"),
    "megatron": (line_with(json_excerpt("excerpts_megatron.json", "Excerpt M1 "), "iteration       71/"), "71"),
    "deepspeed": (line_with(json_excerpt("excerpts_deepspeed.json", "Excerpt D1 "), "step=40,"), "40"),
    "torchtitan": (line_with(json_excerpt("excerpts_torchtitan_composer_axolotl_accelerate.json", "Excerpt T1 ",
                                          "titan"), "step:  4"), "4"),
}
LOSS_LINES = {  # format → (a real line with a loss, the loss as printed)
    "picollm": (STEP_LINES["picollm"][0], "10.757717"),
    "nanogpt": (STEP_LINES["nanogpt"][0], "3.2202"),
    "llmc": (STEP_LINES["llmc"][0], "5.356189"),
    "torchtitan": (STEP_LINES["torchtitan"][0], "7.62585"),
}


def _with_step(fmt: str, step: str) -> str:
    line, printed = STEP_LINES[fmt]
    return line.replace(printed, step, 1)


def _records(fmt: str, lines: list[str]) -> list[Record]:
    p = SourceParser("train.log", fmt=fmt)
    return p.feed(lines, 1, 0.0) + p.flush()


@pytest.mark.parametrize("fmt", sorted(STEP_LINES))
def test_step_over_308_digits_is_not_a_step(fmt: str) -> None:
    line, printed = STEP_LINES[fmt]
    assert [r.step for r in _records(fmt, [line]) if r.kind == Kind.STEP] == [int(printed)]
    recs = _records(fmt, [_with_step(fmt, "9" * 309)])
    assert all(r.step is None or abs(r.step) <= 2**53 for r in recs)
    assert not [r for r in recs if r.kind == Kind.STEP and r.step is not None]


@pytest.mark.parametrize("fmt", sorted(STEP_LINES))
def test_step_over_2_pow_53_is_not_a_step(fmt: str) -> None:
    recs = _records(fmt, [_with_step(fmt, str(2**53 + 1))])
    assert not [r for r in recs if r.step is not None]


@pytest.mark.parametrize("fast", [True, False])
def test_bogus_step_far_past_its_total_is_not_a_step(fast: bool) -> None:
    lines = raw_lines(NANOCHAT_LOG)
    i = lines.index(STEP_LINES["picollm"][0])
    block = list(lines[: i + 50])

    def steps() -> list[int | None]:
        p = SourceParser("train.log", fast_path=fast)
        recs = p.feed_bytes(("\n".join(block) + "\n").encode(), 1, 0.0, split_block).merged() + p.flush()
        return [r.step for r in recs if r.kind == Kind.STEP]

    real = steps()
    block[i + 5] = re.sub(r"^step \d+/\d+", "step 999999999999/100", block[i + 5])
    assert steps() == [s for s in real if s != 6]


@pytest.mark.parametrize("fmt", sorted(LOSS_LINES))
@pytest.mark.parametrize("loss", ["٣.١", "３.１", "3_1"])
def test_loss_in_non_ascii_digits_or_with_underscore_is_no_number(fmt: str, loss: str) -> None:
    line, printed = LOSS_LINES[fmt]
    recs = _records(fmt, [line.replace(printed, loss, 1)])
    assert all(r.metrics.get("loss") not in (3.1, 31.0) for r in recs)
    assert not [r for r in recs if "loss" in r.metrics]


@pytest.mark.parametrize("loss", ["٣.١", "3_1"])
def test_hf_trainer_loss_in_non_ascii_digits_or_with_underscore_is_no_number(loss: str) -> None:
    line = line_with(tuple(json_excerpt("excerpts_hf_trainer.json", "Excerpt H8")), "'loss': ")
    printed = re.search(r"'loss': '?([0-9.]+)", line)
    assert printed is not None
    rec = HFTrainerParser().parse(line.replace(printed.group(1), loss, 1))
    assert rec is None or "loss" not in rec.metrics


def test_megatron_rank_and_step_in_arabic_indic_digits_are_not_read() -> None:
    line = _with_step("megatron", "٧١")
    assert not [r for r in _records("megatron", [line]) if r.step is not None]


@pytest.mark.parametrize("text", ["3_1", "٣.١", "３", " 1_000 "])
def test_number_helpers_take_ascii_digits_only(text: str) -> None:
    assert parse_number(text) is None
    assert parse_int(text) is None
    with pytest.raises(ValueError):
        ascii_float(text.strip())


def test_number_helpers_still_read_what_logs_print() -> None:
    assert parse_number("1,051,311") == 1051311.0
    assert parse_number("'4.437'") == 4.437
    assert parse_int("00042") == 42
    assert parse_int("9" * 5000) is None  # past Python's int() digit limit: no step, no ValueError


def test_ascii_digits_leaves_ascii_and_other_text_alone() -> None:
    assert ascii_digits("loss: 3.1 █▌ é") == "loss: 3.1 █▌ é"
    assert ascii_digits("loss: ٣.١") == "loss: \ufffd.\ufffd"


def test_ascii_digits_replaces_every_other_decimal_digit_and_no_other_character() -> None:
    """Each code point: replaced exactly when int() and `\\d` read it as a digit and it is not ASCII."""
    import sys

    text = "".join(map(chr, range(sys.maxunicode + 1)))
    want = "".join("\ufffd" if c.isdecimal() and not c.isascii() else c for c in text)
    assert ascii_digits("a" + text) == "a" + want
    assert want.count("\ufffd") > 600  # the digits of many scripts (Python's `\\d`: category Nd)


def test_checked_keeps_an_event_and_drops_its_bogus_step() -> None:
    rec = Record(Kind.CHECKPOINT, step=10**400)
    out = checked(rec)
    assert out is not None and out.kind == Kind.CHECKPOINT and out.step is None
    assert checked(Record(Kind.STEP, step=150, total_steps=100)) is not None  # a bar whose length was guessed low
    assert checked(Record(Kind.STEP, step=10, total_steps=10**20)) == Record(Kind.STEP, step=10)
