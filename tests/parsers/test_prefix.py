"""Launcher prefixes → (rank, rest), on real lines from the corpus copy."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from runwatch.parsers.prefix import rank_from_path, split_rank, stripped
from tests.support.corpus import CORPUS, json_excerpt, line_with, md_block, raw_lines

FAILURES = "excerpts_failures.json"
PREFIXES = "excerpts_torchrun_slurm.json"
SPEEDRUN = "nanochat_pr492_speedrun_d24_feb01.training_output.log"


def _ray_line() -> str:
    """lightning.md P7 note: the Ray worker line, quoted inline in backticks."""
    text = (CORPUS / "lightning.md").read_text(encoding="utf-8")
    m = re.search(r"`(\(RayTrainWorker pid=[^`]*)`", text)
    assert m is not None
    return m.group(1)


R1 = json_excerpt(PREFIXES, "Excerpt R1")
R2 = json_excerpt(PREFIXES, "Excerpt R2")
R3 = json_excerpt(PREFIXES, "Excerpt R3")

# (line, rank, what the rest starts with)
PREFIXED: list[tuple[str, int | None, str]] = [
    # R1: torchrun --tee, default role, LOCAL rank, no space after the colon
    (R1[0], 0, "ep 55 train, step 1347, ce 0.324"),
    (R1[1], 3, "ep 55 train, step 1347, ce 0.355"),
    (R1[2], 1, "ep 55 train, step 1347, ce 0.538, ctc_4 1.705"),  # cut mid-line
    # R2: `[rank6]:` glued to TORCH_LOGS' own `[2024-…]`
    (R2[0], 6, "[2024-01-16 22:29:36,221] [0/0_1] torch.fx"),
    # R3: a collector's `[80746] ` in front of `[rank0]:`
    (R3[0], 0, "[E321 02:07:08.408271257 ProcessGroupNCCL.cpp:607] [Rank 0] Watchdog"),
    (R3[1], 4, "[E321 02:07:08.414640780 ProcessGroupNCCL.cpp:607] [Rank 4]"),
    # failures.md F9: `[rank4]:[E1206 …]`
    (json_excerpt(FAILURES, "F9 —")[2], 4, "[E1206 18:44:12.755262105 ProcessGroupNCCL.cpp:607]"),
    # failures.md F11: `[1745] ` collector numbers, no rank; an empty numbered line
    (json_excerpt(FAILURES, "F11 —")[2], None, "  1%|          | 10/1752"),
    (json_excerpt(FAILURES, "F11 —")[1], None, ""),
    # failures.md F27: vLLM `(APIServer pid=1) `
    (json_excerpt(FAILURES, "F27 —")[1], None, "Retrying in 8s [Retry 4/5]."),
    # lightning.md P7 note: Ray Train worker tag
    (_ray_line(), None, "/tmp/ray/session_.../lightning/pytorch/loops/fit_loop.py:527:"),
    # megatron.md M5: srun --label, right-aligned; Megatron's own leading space survives
    (json_excerpt("excerpts_megatron.json", "Excerpt M5")[0], 1, " iteration       25/73242187 | consumed"),
    # hf_trainer.md H7: pdsh host prefix, no rank
    (json_excerpt("excerpts_hf_trainer.json", "Excerpt H7")[1], None, "{'loss': 1.2992, 'learning_rate'"),
    (json_excerpt("excerpts_hf_trainer.json", "Excerpt H7")[0], None, "  total_norm_cuda = get_accelerator()"),
    # srun label stacked on a torchrun prefix (the label added to R3's line): torchrun's number wins
    ("2: " + R3[1], 4, "[E321 02:07:08.414640780"),
    ("0: [rank0]: " + json_excerpt(FAILURES, "F5 —")[0], 0, "torch.OutOfMemoryError: CUDA out of memory."),
]


@pytest.mark.parametrize(("line", "rank", "rest"), PREFIXED)
def test_prefixes_are_removed(line: str, rank: int | None, rest: str) -> None:
    got_rank, got_rest = split_rank(line)
    assert got_rank == rank
    assert got_rest.startswith(rest) if rest else got_rest == ""
    assert line.endswith(got_rest)


UNCHANGED: list[str] = [
    # nanochat: step lines, logger lines with a date, the GC callback's own `[GC rank3]`
    line_with(raw_lines(SPEEDRUN), "step 00001/16704"),
    line_with(raw_lines(SPEEDRUN), "Saved model parameters"),
    line_with(raw_lines(SPEEDRUN), "[GC rank3]"),
    # failures.md: glog and dmesg brackets, the elastic table's `[0]:` index lines and fields
    json_excerpt(FAILURES, "F7 —")[0],
    json_excerpt(FAILURES, "F30 —")[0],
    json_excerpt(FAILURES, "F31 —")[0],
    line_with(json_excerpt(FAILURES, "F15 —"), "[0]:"),
    line_with(json_excerpt(FAILURES, "F15 —"), "rank      : 1"),
    json_excerpt(FAILURES, "F11 —")[0],  # `1743] {…` — the collector number cut by the corpus
    json_excerpt(FAILURES, "F22 —")[0],  # `2024-04-29T14:55:41,678628+02:00 pool invoked oom-killer`
    md_block("nanogpt_llmc.md", "Related derivative")[0],  # llama2.c `490 | loss 5.7543 | …`
    # synthetic edge cases: a time, a label with nothing after it
    "12:30:01 step 5",
    "1: ",
    "1:",
    "",
]


@pytest.mark.parametrize("line", UNCHANGED)
def test_ordinary_lines_are_left_alone(line: str) -> None:
    assert split_rank(line) == (None, line)


@pytest.mark.parametrize(("path", "rank"), [
    # torchrun --log-dir layout (torchrun_slurm_prefixes.md §1b): the folder is the local rank
    ("/tmp/logs/none_k2x9/attempt_0/3/stdout.log", 3),
    ("logs/run_ab12/attempt_2/11/stderr.log", 11),
    ("C:\\logs\\run\\attempt_0\\5\\stderr.log", 5),
    # hand-made names
    ("logs/rank3.log", 3),
    ("out/log_rank_3.txt", 3),
    ("train-rank-3.out", 3),
    ("logs/rank7/train.log", 7),
    ("RANK_12.log", 12),
    # not ranks
    ("logs/train.log", None),
    ("logs/ranking.log", None),
    ("logs/frank3.log", None),
    ("/tmp/logs/run/attempt_0/3/error.json", None),
])
def test_rank_from_path(path: str, rank: int | None) -> None:
    assert rank_from_path(path) == rank


@given(st.text(max_size=200))
def test_split_rank_never_raises_and_only_cuts_the_front(line: str) -> None:
    rank, rest = split_rank(line)
    assert line.endswith(rest)
    assert rank is None or rank >= 0
    if line[:1].isalpha():
        assert (rank, rest) == (None, line)


@given(st.text(max_size=200))
def test_rank_from_path_never_raises(path: str) -> None:
    rank = rank_from_path(path)
    assert rank is None or rank >= 0


@pytest.mark.parametrize(("line", "rank", "rest"), [
    ("   1:  iteration       25/73242187 | x", 1, " iteration       25/73242187 | x"),  # srun label behind blanks
    ("      7: text", 7, "text"),  # six blanks: the most a right-aligned label has
    ("       7: text", None, "       7: text"),  # seven: no label
    (" iteration 1/ 10 | lm loss: 2.0 |", None, " iteration 1/ 10 | lm loss: 2.0 |"),  # Megatron: fast reject
    (" [2024-04-06 03:02:12] iteration 1/ 10 |", None, " [2024-04-06 03:02:12] iteration 1/ 10 |"),
    ("   ", None, "   "),
    (" \t3: x", None, " \t3: x"),
])
def test_blank_led_lines_only_lose_an_srun_label(line: str, rank: int | None, rest: str) -> None:
    assert split_rank(line) == (rank, rest)


def _primus_line() -> str:
    """megatron.md M10: AMD Primus's logger line, its colour codes' ESC lost in the copy (`[32m` residue)."""
    return line_with(json_excerpt("excerpts_megatron.json", "Excerpt M10 "), "rank-7/8")


@pytest.mark.parametrize("stripped", [False, True], ids=["residue", "escapes stripped"])
def test_primus_rank_slash_world_size_prefix_gives_the_rank(stripped: bool) -> None:
    """`[20251202 06:56:28][rank-7/8]` gave no rank: every Primus rank's line read as one unranked stream.
    The rank is the number before the slash, not the world size; with escapes stripped (as runwatch's
    decoder leaves a real colour log) or as the residue the corpus copy holds."""
    line = _primus_line()
    if stripped:
        line = re.sub(r"\[[\d;]*m", "", line)
    rank, rest = split_rank(line)
    assert rank == 7
    assert rest.lstrip("[1m").startswith("INFO") and "iteration 4408/ 5000" in rest


@given(st.lists(st.sampled_from(["[", "]", "(", " ", ":", ".", "-", "3", "12", "٣", "rank", "default", "2024-05-01",
                                 "192.168.0.1", "APIServer pid=1) ", "[m", "x", "\t"]), max_size=10).map("".join))
@example("٣: [")  # a digit that is not ASCII first: the regex took it for srun's label (hypothesis, CI)
def test_the_tests_in_front_of_the_regex_change_no_answer(line: str) -> None:
    assert split_rank(line) == stripped(line)


def test_the_tests_in_front_of_the_regex_change_no_answer_on_real_lines() -> None:
    from tests.parsers.test_screen import fixture_lines

    lines = [x.decode("utf-8", "replace") for x in fixture_lines()]
    assert sum(split_rank(x)[1] != x for x in lines) > 100
    for line in lines:
        assert split_rank(line) == stripped(line), line
