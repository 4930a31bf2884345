"""nanoGPT lines → Records, on real lines from corpus/nanogpt_llmc.md (§2 excerpts G1–G7, llama2.c)."""

from __future__ import annotations

import math
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runwatch.model import Kind, Record
from runwatch.parsers.nanogpt import NanoGPTParser
from tests.support.corpus import assert_metrics, foreign_lines, line_with, md_block, signature_scorers

MD = "nanogpt_llmc.md"
NAN = math.nan


def _g(excerpt: str, fragment: str) -> str:
    line = line_with(md_block(MD, f"Excerpt {excerpt}"), fragment)
    return line.removeprefix("> ")  # G2 was pasted as a Markdown quote; the `> ` is the paste's, not the log's


def _local(*fields: int) -> float:
    return datetime(*fields).timestamp()  # type: ignore[arg-type]


# (line, kind, step, t, metrics)
CASES: list[tuple[str, Kind, int, float, dict[str, float]]] = [
    # G1 (nanoGPT#178): iter 0 prints the `mfu -100.00%` "not measured yet" sentinel: omitted
    (_g("G1", "iter 0:"), Kind.STEP, 0, 0.0, {"loss": 4.2648, "step_time": 9.37181}),
    # G1: regular line, ms → s, mfu in percent
    (_g("G1", "iter 10:"), Kind.STEP, 10, 0.0, {"loss": 3.2202, "step_time": 0.89376, "mfu": 16.68}),
    # G1: the eval line shares the iteration counter
    (_g("G1", "step 250:"), Kind.EVAL, 250, 0.0, {"train_loss": 1.544, "val_loss": 1.722}),
    # G2 (nanoGPT#215): user-added timestamp prefix is the line's own time
    (_g("G2", "iter 2920:"), Kind.STEP, 2920, _local(2023, 3, 22, 9, 30, 39),
     {"loss": 3.9883, "step_time": 1.09934, "mfu": 15.34}),
    (_g("G2", "step 3000:"), Kind.EVAL, 3000, _local(2023, 3, 22, 9, 32, 32), {"train_loss": 4.039, "val_loss": 4.0427}),
    # G2: the iteration right after eval takes 35 s
    (_g("G2", "iter 3000:"), Kind.STEP, 3000, _local(2023, 3, 22, 9, 32, 41),
     {"loss": 4.249, "step_time": 35.39233, "mfu": 13.85}),
    # G2: fp16 loss went NaN: kept as NaN
    (_g("G2", "iter 3010:"), Kind.STEP, 3010, _local(2023, 3, 22, 9, 32, 52),
     {"loss": NAN, "step_time": 1.01995, "mfu": 14.12}),
    # G2: cut by the corpus after the loss
    (_g("G2", "iter 3070:"), Kind.STEP, 3070, _local(2023, 3, 22, 9, 33, 53), {"loss": NAN}),
    # G3 (nanoGPT#110): pre-MFU format
    (_g("G3", "iter 1631:"), Kind.STEP, 1631, 0.0, {"loss": 4.0863, "step_time": 0.56194}),
    # G4 (nanoGPT#94): the user's paste ends mid-number (`time 302.1`): the cut time is dropped
    (_g("G4", "iter 35:"), Kind.STEP, 35, 0.0, {"loss": 10.7413}),
    # G5 (nanoGPT#466): 33 s iterations, 0.96 % MFU
    (_g("G5", "iter 340:"), Kind.STEP, 340, 0.0, {"loss": 5.4983, "step_time": 33.78552, "mfu": 0.96}),
    # G6 (simonw/public-notes#11): CPU run, pre-MFU
    (_g("G6", "iter 142862:"), Kind.STEP, 142862, 0.0, {"loss": 2.1802, "step_time": 0.4276}),
    # G7 (nanoGPT#167): tiny MFU between tensor dumps
    (_g("G7", "iter 36299:"), Kind.STEP, 36299, 0.0, {"loss": 6.288, "step_time": 0.17097, "mfu": 0.01}),
    # llama2.c#461 (related derivative): `iter | loss | lr | ms | mfu` and the nanoGPT eval line
    (line_with(md_block(MD, "Related derivative"), "490 |"), Kind.STEP, 490, 0.0,
     {"loss": 5.7543, "lr": 4.9e-05, "step_time": 8.06078, "mfu": 0.21}),
    (line_with(md_block(MD, "Related derivative"), "500 | loss"), Kind.STEP, 500, 0.0,
     {"loss": 6.0091, "lr": 5e-05, "step_time": 870.06753, "mfu": 0.19}),
    (line_with(md_block(MD, "Related derivative"), "step 500:"), Kind.EVAL, 500, 0.0,
     {"train_loss": 5.7373, "val_loss": 5.9544}),
]


@pytest.mark.parametrize(("line", "kind", "step", "t", "metrics"), CASES)
def test_variants_parse_to_canonical_metrics(
    line: str, kind: Kind, step: int, t: float, metrics: dict[str, float]
) -> None:
    rec = NanoGPTParser().parse(line)
    assert rec is not None
    assert (rec.kind, rec.step, rec.total_steps, rec.rank) == (kind, step, None, None)
    assert rec.t == pytest.approx(t)
    assert_metrics(rec, metrics)
    assert list(rec.metrics) == list(metrics)  # in the line's order (`train loss X, val loss Y`)


@pytest.mark.parametrize("line", [c[0] for c in CASES])
def test_only_nanogpt_claims_its_lines(line: str) -> None:
    assert signature_scorers(line) == {"nanogpt"}


@pytest.mark.parametrize(
    "line",
    [
        line_with(md_block(MD, "Excerpt G1"), "saving checkpoint"),
        line_with(md_block(MD, "Excerpt G6"), "^CTraceback"),
        line_with(md_block(MD, "Excerpt G7"), "X:  tensor"),
        line_with(md_block(MD, "Related derivative"), "wrote out/model.bin"),
        line_with(md_block(MD, "Excerpt L1"), "step 0: train loss"),  # llm.c CPU, not nanoGPT's eval
        "> ",
    ],
)
def test_other_lines_are_not_records(line: str) -> None:
    assert NanoGPTParser().parse(line) is None


@pytest.mark.parametrize("junk", ["  ", "\t", "^[", " ^["])
def test_tolerates_stray_leading_blanks_and_escape_residue(junk: str) -> None:
    line = CASES[1][0]
    assert NanoGPTParser().parse(junk + line) == NanoGPTParser().parse(line) is not None


def test_other_stacks_lines_are_not_claimed() -> None:
    """HF Trainer, Lightning, failures, launchers, Composer, axolotl, Accelerate excerpts."""
    parser = NanoGPTParser()
    assert [line for line in foreign_lines() if parser.score(line) >= 2] == []


PREFIXES = ["", "iter ", "iter 1: loss ", "step 1: train loss 1, val loss ", "2023-03-22 09:30:39 ", "1 | loss "]


@given(prefix=st.sampled_from(PREFIXES), tail=st.text())
def test_never_raises(prefix: str, tail: str) -> None:
    rec = NanoGPTParser().parse(prefix + tail)
    assert rec is None or isinstance(rec, Record)


@given(case=st.sampled_from(CASES), cut=st.integers(0, 120))
def test_cut_lines_never_raise(case: tuple[str, Kind, int, float, dict[str, float]], cut: int) -> None:
    rec = NanoGPTParser().parse(case[0][:cut])
    assert rec is None or isinstance(rec, Record)


def _lab_done_line() -> str:
    """The last line of the run lab's torchrun `--tee` loop, its launcher prefix (`[default0]:`) removed as
    the source does before any format parser sees a line."""
    from runwatch.parsers.prefix import split_rank
    from tests.support.realruns import REALRUNS

    last = (REALRUNS / "torchrun-tee-healthy/run/train.log").read_text().splitlines()[-1]
    return split_rank(last)[1]


def test_the_run_labs_done_line_is_its_finish_line() -> None:
    """A review: a torchrun `--tee` run that printed `done: 300 iterations on 2 ranks` read RUNNING, and
    30 s later STALLED; `check` called it ended. It is the run's finish line."""
    rec = NanoGPTParser().parse(_lab_done_line())
    assert rec is not None and rec.kind == Kind.EVENT and rec.event == "finished"
    assert rec.message == "done: 300 iterations on 2 ranks"


@pytest.mark.parametrize("line", [
    "Loading checkpoint shards: done",  # no real log here prints it; the review named it as the trap
    _lab_done_line().replace("done: 300", "done: almost 300"),
    _lab_done_line().replace("iterations", "files"),
])
def test_a_done_that_is_no_finish_line_is_nothing(line: str) -> None:
    assert NanoGPTParser().parse(line) is None


def test_build_nanogpts_metric_file() -> None:
    """A new user's review: build-nanogpt's `log/log.txt` (`0 val 10.9499`, `0 hella 0.2476`, `0 train
    10.955003`) was UNREAD, exit 3. A `train` line is a step's loss, `val` and `hella` an evaluation's."""
    from pathlib import Path

    from runwatch.parsers.detect import detect
    from runwatch.parsers.source import SourceParser

    text = (Path(__file__).parents[1] / "fixtures" / "found" / "build_nanogpt_log.txt").read_text().splitlines()
    assert detect(text) == "nanogpt"
    sp = SourceParser("log.txt")
    recs = sp.feed(text, 1, 0.0) + sp.flush()
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps] == list(range(len(steps))) and len(steps) == 594
    assert steps[0].metrics == {"loss": 10.955003}
    evals = [(r.step, r.metrics) for r in recs if r.kind is Kind.EVAL]
    assert evals[:2] == [(0, {"val_loss": 10.9499}), (0, {"hellaswag_acc": 0.2476})] and len(evals) == 6


def test_a_loss_in_bits_per_character_keeps_the_rest_of_its_line() -> None:
    """A character-level fork's `loss 10.0507 BPC, time 263.86ms, mfu 9.31%`: the unit ended the reading, and a real
    run showed its loss with no step time, MFU or evaluation (a review). Both readers, the whole run."""
    from runwatch.parsers.source import SourceParser
    from tests.support.found import found_lines

    lines = found_lines("nanogpt_bpc_wandb_output.log")
    p = NanoGPTParser()
    assert p.parse("iter 10: loss 10.0507 BPC, time 263.86ms, mfu 9.31%") == Record(
        kind=Kind.STEP, step=10, metrics={"loss": 10.0507, "step_time": 263.86 / 1000, "mfu": 9.31})
    assert p.parse("step 5000: train loss 1.5169 BPC, val loss 1.5617 BPC") == Record(
        kind=Kind.EVAL, step=5000, metrics={"train_loss": 1.5169, "val_loss": 1.5617})
    for fast in (True, False):
        sp = SourceParser("bpc.log", fmt="nanogpt", fast_path=fast)
        recs = sp.feed(lines, 1, 0.0) + sp.flush()
        steps = [r for r in recs if r.kind is Kind.STEP]
        assert len(steps) == 501 and all({"loss", "step_time"} <= r.metrics.keys() for r in steps)
        assert sum("mfu" in r.metrics for r in steps) == 500  # `mfu -100.00%` at iter 0: not measured yet
        assert [r.step for r in recs if r.kind is Kind.EVAL] == list(range(0, 5001, 250))
