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
