"""SourceParser.feed_bytes: chunks of raw lines give exactly the records `feed` gives for the same lines.

The reference is `feed(split_block(data), …)` over the same chunks (the
per-line way, fast path off), compared record by record as JSON (so metric
order counts, not only values), line numbers included, then `flush()`. The
chunks hold every step-line variant, noise, nan lines, escapes, `\\r`
frames, CRLF, tracebacks and torch elastic reports with step lines inside,
`Total training time`, mfu barriers and a format switch.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runwatch.model import Event, Kind
from runwatch.parsers.events import EventDetector
from runwatch.parsers.nanochat import NanochatParser
from runwatch.parsers.source import REDETECT_AFTER, SourceParser
from runwatch.watcher.snapshot import split_block
from tests.support.fast_path_logs import (
    BARRIERS,
    POOL,
    TRACEBACK,
    VARIANTS,
    _step_line,
    cut,
    every_case_log,
    row,
)
from tests.support.readers import T, check, chunked, fast_rows, js, per_line
from tests.support.realruns import REALRUNS
from tests.support.tee import tee_log

# -- the log of every case ---------------------------------------------------------------

@pytest.mark.parametrize("sizes", [(1 << 20,), (4096,), (700, 3000, 50), (1,)])
def test_every_case_matches_feed(sizes: tuple[int, ...]) -> None:
    recs, chunks = check(every_case_log(), sizes)
    assert fast_rows(chunks) > 400  # the fast path did take most step lines
    events = [r.event for r in recs if r.kind is Kind.EVENT]
    assert {Event.OOM, Event.KILLED, Event.FINISHED} <= set(events)
    assert Event.TRACEBACK not in events  # the one after `Exception ignored in` is not reported


def test_every_case_with_the_format_given_and_a_rank() -> None:
    check(every_case_log(), (5000,), fmt="picollm", rank=3)


@pytest.mark.parametrize("size", [1, 7, 100, 2048, 10**6])
def test_a_chunk_cut_into_pieces_of_so_many_records(size: int) -> None:
    """`ChunkRecords.cut_at`, every `size` records: what a judged history is applied in. Every record once, in
    order, no piece over `size` but those of one line, step rows still columns, the line count kept."""
    _, [chunk] = check(every_case_log())
    pieces = chunk.cut_at(range(size, len(chunk), size))
    assert js([r for p in pieces for r in p.merged()]) == js(chunk.merged())
    assert all(0 < len(p) <= size or len({r.line for r in p.merged()}) == 1 for p in pieces)  # a line's together
    assert len(pieces) >= -(-len(chunk) // size) if size > 1 else len(pieces) == len({r.line for r in chunk.merged()})
    assert sum(p.lines for p in pieces) == chunk.lines
    assert fast_rows(pieces) == fast_rows([chunk]) > 400


def test_step_lines_inside_an_open_traceback_stay_columns() -> None:
    lines = [row(i) for i in range(10)] + TRACEBACK + [row(i) for i in range(602, 610)]
    recs, chunks = check(("\n".join(lines) + "\n").encode(), fmt="picollm")
    (oom,) = [r for r in recs if r.event == Event.OOM]
    assert oom.line == 16
    (chunk,) = chunks
    rows = chunk.steps
    assert rows is not None and {10, 13, 15, 17} <= set(rows.line.tolist())  # 13, 15: inside the traceback
    assert [r.kind for r in chunk.records] == [Kind.EVENT]


def test_a_traceback_header_alone_keeps_the_fast_path_and_is_no_crash_when_training_goes_on() -> None:
    """A logged header with no exception line after it: the detector's cap (200 lines) closes it on a
    step line, read per line; the other 299 step lines stay columns. Training went on: no event."""
    lines = [row(0), "Traceback (most recent call last):", *(row(i) for i in range(1, 300))]
    recs, chunks = check(("\n".join(lines) + "\n").encode(), (1 << 20, 5000), fmt="picollm")
    assert not [r for r in recs if r.kind is Kind.EVENT]
    assert fast_rows(chunks) == 299


@pytest.mark.parametrize(("after", "crash"), [(3, True), (12, False)])
def test_a_traceback_cut_off_at_the_end_is_a_crash_unless_training_went_on(after: int, crash: bool) -> None:
    lines = [row(0), "Traceback (most recent call last):", '  File "train.py", line 3, in <module>',
             *(row(i) for i in range(1, after + 1))]
    recs, _ = check(("\n".join(lines) + "\n").encode(), (1 << 20, 300), fmt="picollm")
    assert [r.event for r in recs if r.kind is Kind.EVENT] == ([Event.TRACEBACK] if crash else [])


def test_step_lines_after_a_prefixed_traceback_header_are_read_per_line() -> None:
    """A header behind a prefix strips that prefix's shape from later lines: the detector must see them."""
    lines = [row(0), "2026-01-01 10:00:00 Traceback (most recent call last):", *(row(i) for i in range(1, 20)),
             "2026-01-01 10:00:00 ValueError: bad batch"]
    recs, chunks = check(("\n".join(lines) + "\n").encode(), fmt="picollm")
    assert [r.event for r in recs if r.kind is Kind.EVENT] == [Event.TRACEBACK]
    assert fast_rows(chunks) == 1


def test_total_training_time_gets_the_last_fast_step() -> None:
    data = ("\n".join([row(i) for i in range(20)] + ["Total training time: 12.50m"]) + "\n").encode()
    recs, chunks = check(data, fmt="picollm")
    assert fast_rows(chunks) == 20
    assert recs[-1].event == Event.FINISHED and recs[-1].step == 19 and recs[-1].line == 21


def test_mfu_follows_the_parser_state_across_chunks() -> None:
    data = ("\n".join([BARRIERS[0], *(row(i) for i in range(5)), BARRIERS[1], *(row(i) for i in range(5, 9))])
            + "\n").encode()
    recs, chunks = check(data, (300,), fmt="picollm")
    assert fast_rows(chunks) == 9
    assert [("mfu" in r.metrics) for r in recs] == [False] * 5 + [True] * 4


def test_metric_order_is_the_parsers_for_every_variant() -> None:
    """Both readers come from one template, so a record's metrics are in the same (line) order, no hook."""
    lines = [_step_line(7, *v) for v in VARIANTS]
    for omit in (False, True):
        data = ("\n".join(([BARRIERS[0]] if omit else []) + lines) + "\n").encode()
        recs, chunks = check(data, fmt="picollm")
        assert fast_rows(chunks) == len(lines)
        assert len({tuple(r.metrics) for r in recs}) > 4
        want, _ = per_line(cut(data, (1 << 20,)), fmt="picollm")
        assert [list(r.metrics) for r in recs] == [list(r.metrics) for r in want]


def test_a_format_switch_mid_chunk_reads_the_rest_per_line() -> None:
    """A nanochat log that turns into Megatron output: re-detection switches inside one chunk."""
    mega = (" iteration {}/ 1000 | consumed samples: 64 | elapsed time per iteration (ms): 5361.6 | "
            "learning rate: 1.420000E-05 | global batch size: 128 | lm loss: 1.818812E+00 | loss scale: 1.0 |")
    lines = [row(i) for i in range(300)] + ["noise"] * (REDETECT_AFTER - 10) + [mega.format(i) for i in range(30)]
    lines += [row(i) for i in range(300, 310)]
    data = ("\n".join(lines) + "\n").encode()
    recs, chunks = check(data, fmt=None)
    _, sp, (chunk,) = chunked([data])
    assert sp.format == "megatron" and chunk.steps is not None
    assert 0 < len(chunk.steps) and chunk.steps.line.max() <= 300  # after the switch: per line, the new parser
    assert [r.step for r in recs if r.kind is Kind.STEP][-30:] == list(range(30))  # megatron's, replayed too


def test_detection_happens_line_by_line_then_the_rest_is_fast() -> None:
    lines = [f"setup line {i}" for i in range(300)] + [row(i) for i in range(3000)]
    recs, chunks = check(("\n".join(lines) + "\n").encode())
    assert fast_rows(chunks) > 2500


def test_nanogpt_chunks() -> None:
    lines = [
        "iter 0: loss 10.9945, time 39016.72ms, mfu -100.00%",
        *(f"iter {i}: loss {4 + i / 1000:.4f}, time 280.{i % 100:02d}ms, mfu 48.97%" for i in range(1, 200)),
        "step 2000: train loss 1.0987, val loss 1.4669",
        "saving checkpoint to out",
        "iter 200: loss nan, time 280.49ms, mfu 48.97%",
        *(f"iter {i}: loss 4.2, time 280ms" for i in range(201, 220)),
    ]
    recs, chunks = check(("\n".join(lines) + "\n").encode(), (2000,))
    assert fast_rows(chunks) > 150
    assert [list(r.metrics) for r in recs if r.kind is Kind.STEP][1:3] == [["loss", "step_time", "mfu"]] * 2


@pytest.mark.parametrize("run", ["torchrun-tee-healthy", "torchrun-tee-nan", "torchrun-tee-raise"])
@pytest.mark.parametrize(("old", "new"), [("", ""), ("[default", "[rank"), ("]:", "]: "), ("[default", "[trainer_")])
@pytest.mark.parametrize("sizes", [(1 << 20,), (700, 3000, 50)])
def test_every_ranks_lines_of_a_tee_log_are_columns(run: str, old: str, new: str, sizes: tuple[int, ...]) -> None:
    """torchrun `--tee` puts `[default3]:` (or `[rank3]:`, with a blank in the TORCHELASTIC template form)
    before each rank's lines: a template reads them after it, each row with its rank, as line by line.
    The run lab's recordings, twenty times with the iterations carried on."""
    got, chunks = check(tee_log(run, 20, old, new), sizes, fmt="nanogpt")
    steps = [r for r in got if r.kind == Kind.STEP]
    assert {r.rank for r in steps} == {0, 1}
    logged_nan = sum(r.metrics["loss"] != r.metrics["loss"] for r in steps)  # a template leaves those per line
    assert fast_rows(chunks) > 0.9 * (len(steps) - logged_nan)


def test_fast_path_off_gives_no_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWATCH_NO_FAST_PATH", "1")
    sp = SourceParser("log")
    assert not sp.fast_path
    chunk = sp.feed_bytes(("\n".join(row(i) for i in range(50)) + "\n").encode(), 1, T, split_block)
    assert chunk.steps is None and len(chunk.records) == 50
    monkeypatch.setenv("RUNWATCH_NO_FAST_PATH", "0")
    assert SourceParser("log").fast_path


def test_renumbering_after_lines_of_several_frames() -> None:
    frames = "a\rb\rc"  # three lines of text from one physical line
    data = ("\n".join([row(1), frames, row(2), frames, row(3)]) + "\n").encode()
    recs, chunks = check(data, fmt="picollm")
    assert [r.line for r in recs if r.kind is Kind.STEP] == [1, 5, 9]
    assert chunks[0].lines == 9


# -- random mixes ----------------------------------------------------------------------------

@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(POOL), st.integers(0, 99).map(row)), min_size=1, max_size=120),
       st.lists(st.integers(1, 3000), min_size=1, max_size=4), st.booleans(), st.booleans())
def test_random_mixes_match_feed(lines: list[str], sizes: list[int], fixed: bool, end_nl: bool) -> None:
    data = "\n".join(lines).encode("utf-8", "surrogateescape") + (b"\n" if end_nl else b"")
    check(data, sizes, **({"fmt": "picollm"} if fixed else {}))


# -- the public pieces -------------------------------------------------------------------------

def test_event_detector_skip_is_feeding_plain_lines() -> None:
    lines = ["Killed", *(row(i) for i in range(3)), "Killed"]
    fed, skipped = EventDetector(), EventDetector()
    a = [fed.feed(x) for x in lines]
    b = [skipped.feed(lines[0])]
    assert skipped.idle
    skipped.skip(3)
    b.append(skipped.feed(lines[-1]))
    assert [r.event if r else None for r in a if r] == [r.event if r else None for r in b if r]
    assert fed._n == skipped._n  # the count is the state that matters


def test_nanochat_state_hooks() -> None:
    p = NanochatParser()
    assert p.fast_omit() == frozenset()
    p.parse(BARRIERS[0])
    assert p.fast_omit() == {"mfu"}
    p.after_fast(41)
    rec = p.parse("Total training time: 1.00m")
    assert rec is not None and rec.step == 41


def test_step_records_and_merged_keep_line_order() -> None:
    data = ("\n".join([row(1), "Step 00001 | Validation bpb: 0.8", row(2), "Killed", row(3)]) + "\n").encode()
    sp = SourceParser("log", fmt="picollm")
    chunk = sp.feed_bytes(data, 10, T, split_block)
    assert [r.line for r in chunk.merged()] == [10, 11, 12, 13, 14]
    assert len(chunk) == 5 and chunk.steps is not None
    assert chunk.steps.line.tolist() == [10, 12, 14] and not chunk.steps.line.flags.writeable
    rows = chunk.step_records()
    assert [r.t for r in rows] == [T] * 3 and all(r.source == "log" for r in rows)


def test_big_random_log_matches_feed() -> None:
    rng = random.Random(7)
    lines = [rng.choice(POOL) if rng.random() < 0.15 else row(i) for i in range(20000)]
    recs, chunks = check(("\n".join(lines) + "\n").encode(), (64 << 10, 300 << 10))
    assert fast_rows(chunks) > 10000  # inside open tracebacks too (7,303 when they went per line); a
    # failure report's table (POOL has `ChildFailedError:`) still holds up to 300 lines open
    assert np.all(np.diff(np.concatenate([c.steps.line for c in chunks if c.steps is not None])) > 0)


def test_row_is_the_record_step_records_gives() -> None:
    """One row at a time, for RunTracker.apply_chunk's rows that bring a metric new to a run."""
    _, chunks = check(every_case_log(), (4096,), rank=2)
    compared = 0
    for chunk in chunks:
        if chunk.steps is not None:
            rows = chunk.step_records()
            assert js([chunk.row(i) for i in range(len(rows))]) == js(rows)
            assert [list(chunk.row(i).metrics) for i in range(len(rows))] == [list(r.metrics) for r in rows]
            compared += len(rows)
    assert compared > 100


@pytest.mark.parametrize("log", ["nanogpt-tb-healthy", "kvlog-healthy", "tutorial-healthy", "torchrun-tee-healthy",
                                 "keras-v2-healthy"])
@pytest.mark.parametrize("how", ["chunk", "lines"])
def test_a_step_line_after_bytes_that_are_no_utf8_is_read(log: str, how: str) -> None:
    """A new user's review: bytes ff fe 80 before a real `iter 100:` line (a torn write) lost step 100 with no
    word; the NUL bytes of a crashed writer did not. The run lab's logs, such bytes put before the step line
    in their middle, give the steps they give without them, read in one chunk or a line at a time."""
    from runwatch.watcher.lines import LineSplitter

    data = (REALRUNS / log / "run" / "train.log").read_bytes()
    lines = data.split(b"\n")
    at = next(i for i in range(len(lines) // 2, len(lines)) if b"loss" in lines[i].lower())
    torn = b"\n".join([*lines[:at], b"\xff\xfe\x80" + lines[at], *lines[at + 1 :]])

    def steps(raw: bytes) -> list[int]:
        sp = SourceParser("train.log")
        if how == "chunk":
            recs = sp.feed_bytes(raw, 1, T, split_block).merged()
        else:
            splitter, recs, n = LineSplitter(), [], 1
            for line in splitter.feed(raw) + splitter.flush():
                recs += sp.feed([line], n, T)
                n += 1
        recs += sp.flush()
        return [r.step for r in recs if r.kind == Kind.STEP and r.step is not None]

    clean = steps(data)
    assert len(clean) >= 5 and steps(torn) == clean
