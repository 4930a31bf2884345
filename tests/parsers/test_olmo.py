"""AI2 OLMo console blocks → Records, on whole real logs (tests/fixtures/found/README.md)."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import pytest

from runwatch.model import Kind, Record
from runwatch.parsers.events import saved_step
from runwatch.parsers.fields import local_time
from runwatch.parsers.olmo import OlmoParser
from runwatch.parsers.source import SourceParser

FOUND = Path(__file__).parents[1] / "fixtures" / "found"


def lines_of(name: str) -> list[str]:
    data = (FOUND / name).read_bytes()
    return (gzip.decompress(data) if name.endswith(".gz") else data).decode("utf-8").splitlines()


def source_records(name: str, batch: int = 500) -> tuple[str | None, list[Record]]:
    """What a source detecting the format itself reads from the log, in batches as a follower's."""
    text = lines_of(name)
    sp = SourceParser(name)
    recs = [r for i in range(0, len(text), batch) for r in sp.feed(text[i:i + batch], i + 1, 0.0)] + sp.flush()
    return sp.format, recs


def test_a_whole_olmo_run_reads_its_step_blocks_with_their_times() -> None:
    """A new user's review: read as key/value lines, the host and the source line of the logging prefix were
    metrics (`hazy_book_rustles_fin_02: 0.0`, `olmo_train: 979`), the loss was never read and `check` said
    OK of a run whose NaN it could not have seen."""
    fmt, recs = source_records("olmo_1b_reproduce.log.gz")
    assert fmt == "olmo"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps] == list(range(1, 2004)) and {r.total_steps for r in steps} == {2500}
    first, second = steps[0], steps[1]
    assert first.metrics["loss"] == 11.33 and first.metrics["grad_norm"] == 11.55
    assert first.metrics["consumed_tokens"] == 8_388_608 and first.metrics["train_perplexity"] == 83_461
    assert first.t == local_time("2025-12-11 00:27:01", "586")
    assert second.metrics["step_time"] == pytest.approx(1 / 0.0456)
    assert second.metrics["tokens_per_sec_per_gpu"] == 47_831
    assert not any("hazy" in k or k.startswith("olmo") for r in steps for k in r.metrics)


def test_the_console_form_reads_the_same(capsys: pytest.CaptureFixture[str]) -> None:
    """The rich console handler's prefix (`[2024-04-17 09:42:26] INFO     [olmo.train:816, rank=0]`), a
    block of items after each, the last one closed by the end of the input."""
    fmt, recs = source_records("olmo_rich_console_excerpt.log", batch=7)
    assert fmt == "olmo"
    assert [(r.step, r.total_steps, r.metrics["loss"]) for r in recs] == [
        (1, 739328, 11.25), (2, 739328, 10.73), (3, 739328, 10.64), (4, 739328, 10.95), (5, 739328, 10.49)]
    assert recs[1].metrics["step_time"] == pytest.approx(1 / 0.0869)
    assert recs[0].t == local_time("2024-04-17 09:42:26")


def test_a_run_stopped_by_sigterm_keeps_its_steps_and_the_crash() -> None:
    fmt, recs = source_records("olmo_150m_sigterm.log")
    assert fmt == "olmo"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps] == list(range(10, 371, 10))
    assert all(math.isfinite(r.metrics["loss"]) for r in steps)
    # the pre-train save's `Checkpoint saved to …/step0-unsharded`, then torchrun's SignalException
    assert [(r.event, r.step) for r in recs if r.kind is Kind.EVENT] == [("checkpoint_saved", 0), ("killed", None)]


def test_a_block_is_closed_by_the_next_prefix_or_the_end() -> None:
    """Items are taken only inside a block: an indented `key=value` line of another logger's (a config dump)
    gives nothing, and a prefix line that is no step opens a block whose items say what it is (an
    evaluator's `eval/…`, or nothing)."""
    text = lines_of("olmo_1b_reproduce.log.gz")
    head = next(i for i, x in enumerate(text) if "[step=1/2500" in x)
    p = OlmoParser()
    assert [p.parse(x) for x in text[:head]] == [None] * head  # the configuration and setup before it
    block = text[head:head + 8]
    assert [p.parse(x) for x in block] == [None] * 8
    rec = p.parse(text[head + 8])  # the next step's prefix closes it
    assert rec is not None and rec.step == 1 and len(rec.metrics) == 8  # its 7 items and the epoch
    assert p.parse("    train/CrossEntropyLoss=nan") is None
    done = p.flush()
    assert done is not None and done.step == 2 and math.isnan(done.metrics["loss"])


def test_olmos_checkpoint_saves_are_checkpoints() -> None:
    """A review: OLMo's `Unsharded checkpoint saved to …/step500-unsharded` (after its `Saving model state...` and
    the rest, 37 s of no step) was no checkpoint: the save's pause went unexplained and no step was saved."""
    fmt, recs = source_records("olmo_1b_continue_sigterm_checkpoints.log.gz")
    assert fmt == "olmo"
    saves = [(r.event, r.step, r.line) for r in recs if r.event == "checkpoint_saved"]
    assert saves == [("checkpoint_saved", 500, 4605), ("checkpoint_saved", 1000, 9161)]
    steps = [r.step for r in recs if r.kind is Kind.STEP]
    assert steps[-1] == 1010 and recs[-1].event == "killed" and "got signal: 15" in (recs[-1].message or "")
    # the save names a step's folder; a line saying none was is none
    assert saved_step("WARNING: no checkpoint saved to disk yet") is None
    assert saved_step("checkpoint saved to /tmp/out") is None
