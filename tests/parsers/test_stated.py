"""Events of a stamped history at the times its step lines state (runwatch.parsers.stated), on a real
Megatron run with the Hugging Face Hub's real retry warnings between its lines (tests.support.stamped)."""

from __future__ import annotations

import pytest

from runwatch.model import Kind, Record
from runwatch.parsers.source import ChunkRecords, SourceParser
from runwatch.parsers.stated import at_stated_times
from runwatch.watcher.snapshot import split_block
from tests.support.stamped import megatron_with_hub_retries

READ_T = 2_000_000_000.0
"""When the history was read: after every stamp of the run (2024)."""


def parsed(lines: list[str], *, fast: bool, read_t: float = READ_T) -> list[Record] | ChunkRecords:
    parser = SourceParser("train.log", fast_path=fast)
    if fast:
        return parser.feed_bytes(("\n".join(lines) + "\n").encode(), 1, read_t, split_block)
    return parser.feed(lines, 1, read_t)


def events(recs: list[Record] | ChunkRecords) -> list[Record]:
    merged = recs.merged() if isinstance(recs, ChunkRecords) else recs
    return [r for r in merged if r.kind == Kind.EVENT]


def stamp_before(recs: list[Record] | ChunkRecords, event: Record) -> float:
    merged = recs.merged() if isinstance(recs, ChunkRecords) else recs
    return max(r.t for r in merged if r.kind == Kind.STEP and r.line < event.line)


@pytest.mark.parametrize("fast", [True, False])
def test_each_event_takes_the_time_of_the_step_line_before_it(fast: bool) -> None:
    recs = parsed(megatron_with_hub_retries(600, every=200), fast=fast)
    assert [e.t for e in events(recs)] == [READ_T] * 3  # as read: all at once
    timed = at_stated_times(recs, READ_T, None)
    assert [e.t for e in events(timed)] == [stamp_before(recs, e) for e in events(recs)]
    assert len({e.t for e in events(timed)}) == 3


@pytest.mark.parametrize("fast", [True, False])
def test_an_event_before_the_blocks_first_stamp(fast: bool) -> None:
    """Before any stamp of its block: the newest of the blocks before, else the first one after it."""
    lines = megatron_with_hub_retries(400, every=200)
    block = lines[200:]  # starts with the warnings printed after step 200
    recs = parsed(block, fast=fast)
    first_step = min(r.t for r in (recs.merged() if isinstance(recs, ChunkRecords) else recs) if r.kind == Kind.STEP)
    assert events(at_stated_times(recs, READ_T, None))[0].t == first_step
    assert events(at_stated_times(recs, READ_T, first_step - 60))[0].t == first_step - 60


def test_no_event_is_later_than_it_was_read() -> None:
    """Stamps ahead of this machine's clock (a log stamped in a time zone east of it)."""
    early = 1_000_000_000.0  # 2001: before every stamp
    recs = parsed(megatron_with_hub_retries(400, every=200), fast=True, read_t=early)
    assert [e.t for e in events(at_stated_times(recs, early, None))] == [early, early]


@pytest.mark.parametrize("fast", [True, False])
def test_an_eval_of_a_stamped_history_takes_the_time_of_the_step_line_before_it(fast: bool) -> None:
    """A new user's review: a real 2025 Megatron console read at once had its steps at their stamps and its
    `validation loss at iteration N` records at the read time, 590 days later (the TUI's wall-time view drew
    train and val loss at the two ends of its axis)."""
    from tests.support.paths import FIXTURES

    lines = (FIXTURES / "found" / "megatron_gpt2_ws1.log").read_text().splitlines()
    recs = parsed(lines, fast=fast)
    merged = recs.merged() if isinstance(recs, ChunkRecords) else recs
    evals = [r for r in merged if r.kind == Kind.EVAL]
    assert len(evals) >= 4 and all(e.t == READ_T for e in evals)
    timed = at_stated_times(recs, READ_T, None)
    timed_evals = [r for r in (timed.merged() if isinstance(timed, ChunkRecords) else timed) if r.kind == Kind.EVAL]
    assert [e.t for e in timed_evals] == [stamp_before(recs, e) for e in evals]
    assert all(e.t < READ_T - 86400 * 300 for e in timed_evals)


@pytest.mark.parametrize("fast", [True, False])
def test_a_step_line_that_states_no_time_takes_the_stamp_before_it(fast: bool) -> None:
    """A review's Megatron-DeepSpeed console: DeepSpeed's `[2023-08-15 06:31:45,481] … step=3, skipped=0` lines
    are stamped, Megatron's `iteration 3/ 2500 | … lm loss: …` after each is not. Read at once, half its step
    records were in 2023 and half at the read time: `tail` said `was 4.81e-05 step/s` and `elapsed 1200d18h` of a
    51-minute run. Each takes the stamp of the line before it; the stamps themselves are kept."""
    from tests.support.paths import FIXTURES

    lines = (FIXTURES / "found" / "megatron_ds_llama_fp16_overflow_note.log").read_text().splitlines()
    recs = parsed(lines, fast=fast)
    merged = recs.merged() if isinstance(recs, ChunkRecords) else recs
    steps = [r for r in merged if r.kind == Kind.STEP]
    read = [r for r in steps if r.t == READ_T]
    assert len(read) >= 10 and any(r.metrics.get("loss") for r in read) and len(read) < len(steps)
    timed = at_stated_times(recs, READ_T, None)
    after = [r for r in (timed.merged() if isinstance(timed, ChunkRecords) else timed) if r.kind == Kind.STEP]
    assert len(after) == len(steps)
    assert all(a.t == b.t for a, b in zip(after, steps, strict=True) if b.t != READ_T)
    assert all(type(r.t) is float for r in after)
    assert all(r.t < READ_T - 86400 * 365 for r in after)
    assert [r.t for r in after] == sorted(r.t for r in after)  # in line order, the log's own clock never goes back
    last = [r for r in after if r.step == 2500 and "loss" in r.metrics][0]
    assert last.t == max(r.t for r in steps if r.t != READ_T and r.line < last.line) == after[-1].t


def test_step_rows_that_state_no_time_take_the_stamp_before_them_as_records_do() -> None:
    """The same history with its unstamped Megatron step lines as a chunk's step rows (columns with no times, as
    the fast path gives a format's plain lines) between its stamped records: each row is timed as its record is."""
    import numpy as np

    from runwatch.parsers.columnar import ColumnBatch
    from tests.support.paths import FIXTURES

    lines = (FIXTURES / "found" / "megatron_ds_llama_fp16_overflow_note.log").read_text().splitlines()
    recs = parsed(lines, fast=False)
    assert isinstance(recs, list)
    as_rows = [r for r in recs if r.kind == Kind.STEP and r.t == READ_T and "loss" in r.metrics]
    rest = [r for r in recs if not (r.kind == Kind.STEP and r.t == READ_T and "loss" in r.metrics)]
    n = len(as_rows)
    ones = np.ones(n, bool)
    batch = ColumnBatch(line=np.array([r.line for r in as_rows]), step=np.array([r.step for r in as_rows]),
                        total=np.array([r.total_steps or -1 for r in as_rows]),
                        metrics={"loss": np.array([r.metrics["loss"] for r in as_rows])}, present={"loss": ones})
    chunk = ChunkRecords(len(lines), rest, batch, "train.log", None, READ_T)
    timed = at_stated_times(chunk, READ_T, None)
    assert isinstance(timed, ChunkRecords) and timed.steps is not None and timed.steps.t is not None
    want = {r.line: r.t for r in at_stated_times(recs, READ_T, None)}  # type: ignore[union-attr]
    assert timed.steps.t.tolist() == [want[r.line] for r in as_rows]
    assert [r.t for r in timed.records] == [want[r.line] for r in rest]
    assert all(t < READ_T - 86400 * 365 for t in timed.steps.t.tolist())
