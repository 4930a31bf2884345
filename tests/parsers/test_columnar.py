"""The columnar fast path gives exactly the per-line parser's step records, and hands everything else back.

The reference is the per-line pipeline as a source runs it: LineSplitter
(escapes stripped), launcher prefix removed, NanochatParser / NanoGPTParser.
Every record the fast path produces must equal the reference record of the
same line field by field (NaN equal to NaN), and every line must be either
handled or unhandled, exactly once.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.model import Kind, Record
from runwatch.parsers.base import FormatParser, StepLineParser
from runwatch.parsers.columnar import ColumnBatch, extract_steps
from runwatch.parsers.llmc import LlmcParser
from runwatch.parsers.nanochat import NanochatParser
from runwatch.parsers.nanogpt import NanoGPTParser
from runwatch.parsers.prefix import split_rank
from runwatch.watcher.lines import LineSplitter
from tests.support.corpus import CORPUS, md_block
from tests.support.fast_path_logs import BARRIERS, VARIANTS, _step_line, synthetic_log

SPEEDRUN = CORPUS / "raw" / "nanochat_pr492_speedrun_d24_feb01.training_output.log"
SFT = CORPUS / "raw" / "nanochat_pr657_sft_run.log"


# -- reference and comparison ------------------------------------------------------

def reference(data: bytes, parser: FormatParser) -> tuple[dict[int, Record], list[frozenset[str]]]:
    """Per-line records by 0-based line, and the metrics the parser omits before each line."""
    splitter = LineSplitter()
    lines = splitter.feed(data) + splitter.flush()
    assert len(lines) == data.count(b"\n") + (not data.endswith(b"\n") and bool(data))
    records: dict[int, Record] = {}
    omit: list[frozenset[str]] = []
    for i, line in enumerate(lines):
        omit.append(parser.fast_omit() if isinstance(parser, StepLineParser) else frozenset())
        rank, rest = split_rank(line)
        rec = parser.parse(rest)
        if rec is not None:
            records[i] = rec if rank is None else dataclasses.replace(rec, rank=rank)
    return records, omit


def fast(fmt: str, data: bytes, chunk: int, omit: list[frozenset[str]]) -> tuple[list[Record], list[int]]:
    """Records and unhandled line numbers of the fast path over `chunk`-byte pieces cut at newlines."""
    records: list[Record] = []
    unhandled: list[int] = []
    pos = first = 0
    while pos < len(data):
        end = data.rfind(b"\n", pos, pos + chunk) + 1 or min(len(data), data.find(b"\n", pos) + 1 or len(data))
        piece = data[pos:end]
        res = extract_steps(fmt, piece, omit=omit[first] if first < len(omit) else ())
        assert res is not None
        batch, rest = res
        _check_batch(batch)
        pieces = piece.split(b"\n")
        assert rest.texts(piece) == [pieces[i] for i in rest.line.tolist()]
        records += batch.records(first)
        unhandled += (rest.line + first).tolist()
        first += len(batch) + len(rest)
        pos = end
    return records, unhandled


def _check_batch(batch: ColumnBatch) -> None:
    n = len(batch)
    assert batch.line.dtype == np.int64 and batch.step.dtype == np.int64 and batch.total.dtype == np.int64
    assert (np.diff(batch.line) > 0).all()
    for name, values in batch.metrics.items():
        assert values.dtype == np.float64 and values.shape == (n,)
        assert np.isnan(values[~batch.present[name]]).all()
        assert batch.column(name)[0].size == int(batch.present[name].sum())


def same(a: Record, b: Record) -> bool:
    if (a.kind, a.step, a.total_steps, a.rank) != (b.kind, b.step, b.total_steps, b.rank) or a.metrics.keys() != b.metrics.keys():
        return False
    return all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in ((a.metrics[k], b.metrics[k]) for k in a.metrics))


def compare(fmt: str, data: bytes, parser: FormatParser, chunk: int = 1 << 20,
            ref: tuple[dict[int, Record], list[frozenset[str]]] | None = None) -> tuple[list[int], list[int]]:
    """Assert the fast path matches the reference; return (handled, unhandled) line numbers."""
    expected, omit = ref or reference(data, parser)
    records, unhandled = fast(fmt, data, chunk, omit)
    handled = [r.line for r in records]
    assert sorted(handled + unhandled) == list(range(len(omit)))
    for rec in records:
        assert rec.line in expected, f"line {rec.line}: fast path made a record the parser does not"
        assert same(rec, expected[rec.line]), f"line {rec.line}: {rec} != {expected[rec.line]}"
    return handled, unhandled


# -- real logs ------------------------------------------------------------------------

@cache
def speedrun() -> tuple[bytes, tuple[dict[int, Record], list[frozenset[str]]]]:
    data = SPEEDRUN.read_bytes()
    return data, reference(data, NanochatParser())


@pytest.mark.parametrize("chunk", [1 << 20, 64 << 10, 3000])
def test_speedrun_log_matches_per_line_parser(chunk: int) -> None:
    data, ref = speedrun()
    handled, _ = compare("picollm", data, NanochatParser(), chunk, ref)
    expected = ref[0]
    steps = sorted(i for i, r in expected.items() if r.kind is Kind.STEP)
    assert handled == steps  # every step line of the real run takes the fast path
    assert len(handled) == 16704


def test_sft_log_nan_lines_go_per_line_and_mfu_follows_the_peak_flops_line() -> None:
    data = SFT.read_bytes()
    handled, unhandled = compare("picollm", data, NanochatParser())
    lines = data.decode().split("\n")
    assert handled and all("nan" in lines[i] for i in range(len(lines) - 1) if lines[i].startswith("step ")
                           and i not in handled)
    batch, _ = extract_steps("picollm", data)  # type: ignore[misc]
    assert "mfu" not in batch.metrics  # `Peak FLOPS (BF16): inf` and `MFU will show as 0%` came first


# -- every variant, and what must not take the fast path ----------------------------

@pytest.mark.parametrize("chunk", [1 << 20, 4096, 700])
def test_synthetic_log_every_variant_matches_and_nothing_odd_is_taken(chunk: int) -> None:
    data, clean = synthetic_log()
    handled, _ = compare("picollm", data, NanochatParser(), chunk)
    assert handled == clean


def test_many_layouts_of_one_length_are_all_read() -> None:
    """More shapes of one length than the rounds that take them out one by one: the rest is hashed."""
    rows = []
    for a, b, c in itertools.permutations((1, 2, 3)):
        for n in range(5):
            loss, dt = f"{'7' * a}.{n:06d}", f"{'4' * b}.{n:02d}"
            rows.append(_step_line(n, 100, False, "mfu", "plain", True, loss=loss, dt=dt, tok="9" * c))
    assert len({len(r) for r in rows}) == 1
    data = ("\n".join(rows[i::5][j] for i in range(5) for j in range(6)) + "\n").encode()  # interleaved
    handled, _ = compare("picollm", data, NanochatParser())
    assert len(handled) == len(rows)


def test_mfu_is_omitted_after_an_inf_peak_flops_line_and_back_after_a_known_one() -> None:
    row = _step_line(5, 10, False, "mfu", "plain", True)
    data = "\n".join([row, BARRIERS[0], row, BARRIERS[1], row, BARRIERS[2], row, BARRIERS[3], row, ""]).encode()
    batch, rest = extract_steps("picollm", data)  # type: ignore[misc]
    assert batch.line.tolist() == [0, 2, 4, 6, 8]
    assert batch.present["mfu"].tolist() == [True, False, True, False, True]
    assert rest.line.tolist() == [1, 3, 5, 7]


def test_a_barrier_line_it_cannot_read_hands_the_rest_of_the_chunk_over() -> None:
    row = _step_line(5, 10, False, "mfu", "plain", True)
    odd = "\x1b]0;title\x07GPU: NVIDIA GeForce GTX 1660 SUPER | Peak FLOPS (BF16): inf"
    batch, rest = extract_steps("picollm", "\n".join([row, odd, row, row, ""]).encode())  # type: ignore[misc]
    assert batch.line.tolist() == [0]
    assert rest.line.tolist() == [1, 2, 3]


def test_stop_texts_hand_their_line_and_the_rest_over() -> None:
    row = _step_line(5, 10, False, "mfu", "plain", True)
    data = "\n".join([row, row, "Traceback (most recent call last):", row, row, ""]).encode()
    batch, rest = extract_steps("picollm", data, stop=[b"Traceback", b"ChildFailedError"])  # type: ignore[misc]
    assert batch.line.tolist() == [0, 1] and rest.line.tolist() == [2, 3, 4]
    batch, rest = extract_steps("picollm", data, stop=[b"exitcode"])  # type: ignore[misc]
    assert batch.line.tolist() == [0, 1, 3, 4]


def test_step_far_past_its_total_goes_per_line() -> None:
    """`step 999999999999/100` is no step (parsers.boundary): the fast path leaves it to the per-line path."""
    rows = [_step_line(5, 100, False, "mfu", "plain", True), _step_line(999999999999, 100, False, "mfu", "plain", True)]
    batch, rest = extract_steps("picollm", ("\n".join(rows) + "\n").encode())  # type: ignore[misc]
    assert batch.line.tolist() == [0] and rest.line.tolist() == [1]


def test_omit_drops_the_metric_from_the_start() -> None:
    row = _step_line(5, 10, False, "mfu", "plain", True).encode() + b"\n"
    batch, _ = extract_steps("picollm", row * 3, omit={"mfu"})  # type: ignore[misc]
    assert len(batch) == 3 and "mfu" not in batch.metrics


def test_values_are_exactly_what_float_makes_of_the_text() -> None:
    row = _step_line(1234567, 2345678, True, "bf16_mfu", "pqrg", True, loss="12345.6789012345",
                     tok="1,234,567,890", dt="392094.88")
    batch, rest = extract_steps("picollm", row.encode() + b"\n")  # type: ignore[misc]
    assert len(rest) == 0
    (rec,) = batch.records()
    assert rec.step == 1234567 and rec.total_steps == 2345678
    assert rec.metrics == {
        "loss": float("12345.6789012345"), "grad_norm": 0.8123, "lrm": 1.0, "step_time": 392094.88 / 1000.0,
        "tokens_per_sec": 1234567890.0, "mfu": 52.1, "epoch": 2.0, "pq": 117.0, "rg": 64.0,
        "elapsed": 12.34 * 60.0, "eta": 183.2 * 60.0,
    }


def test_absent_fields_are_absent_not_nan() -> None:
    with_eta = _step_line(12, 16704, False, "mfu", "plain", True)
    without = _step_line(3, 16704, False, "mfu", "plain", False)
    batch, _ = extract_steps("picollm", f"{without}\n{with_eta}\n".encode())  # type: ignore[misc]
    assert batch.present["eta"].tolist() == [False, True]
    lines, values = batch.column("eta")
    assert lines.tolist() == [1] and values.tolist() == [183.2 * 60.0]
    assert [set(r.metrics) for r in batch.records()][0] == set(batch.metrics) - {"eta"}


def test_partial_last_line_empty_input_and_unknown_format() -> None:
    row = _step_line(5, 10, False, "mfu", "plain", True).encode()
    batch, rest = extract_steps("picollm", row + b"\n" + row)  # type: ignore[misc]
    assert batch.line.tolist() == [0] and rest.line.tolist() == [1] and rest.texts(row + b"\n" + row) == [row]
    batch, rest = extract_steps("picollm", b"")  # type: ignore[misc]
    assert len(batch) == 0 and len(rest) == 0
    assert extract_steps("hf-trainer", row) is None


# -- random lines ----------------------------------------------------------------------

_decimal = st.builds(lambda a, b: f"{a}.{b}", st.text("0123456789", min_size=1, max_size=6),
                     st.text("0123456789", min_size=1, max_size=9))
_long = st.text("0123456789", min_size=1, max_size=17)
_number = st.one_of(_decimal, _long.map(lambda d: f"{d[:8]}.{d[8:] or 0}"), _long,
                    st.sampled_from(["nan", "inf", "-1.5", "1e-3", "1,0", ""]))


@st.composite
def nanochat_lines(draw: st.DrawFn) -> str:
    """Step lines of any variant with numbers of any width; a third of them odd or mangled."""
    variant = draw(st.sampled_from(VARIANTS))
    commas = st.integers(0, 10**12).map(lambda n: f"{n:,}")
    if draw(st.integers(0, 2)):
        return _step_line(draw(st.integers(0, 10**9)), *variant, loss=draw(_decimal), tok=draw(commas),
                          dt=draw(_decimal))
    tok = draw(st.one_of(commas, st.integers(0, 10**17).map(str), _number))
    line = _step_line(draw(st.integers(0, 10**9)), *variant, loss=draw(_number), tok=tok, dt=draw(_number))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(line)))
        line = line[:at] + draw(st.sampled_from([" ", "0", ".", ",", "|", "x", "-", "\t"])) + line[at:]
    return line


@settings(max_examples=60, deadline=None)
@given(st.lists(nanochat_lines(), min_size=1, max_size=40))
def test_random_lines_match_per_line_parser(lines: list[str]) -> None:
    compare("picollm", ("\n".join(lines) + "\n").encode(), NanochatParser())


# -- nanoGPT -----------------------------------------------------------------------------

def test_nanogpt_iter_lines_match_per_line_parser() -> None:
    lines = [
        "iter 0: loss 10.9945, time 39016.72ms, mfu -100.00%",
        "iter 10: loss 4.2332, time 280.49ms, mfu 48.97%",
        "iter 11: loss 4.2, time 280ms, mfu 48%",
        "iter 12: loss 4.2332, time 280.49ms",
        "step 2000: train loss 1.0987, val loss 1.4669",
        "iter 13: loss nan, time 280.49ms, mfu 48.97%",
        "2023-01-09 10:00:00 iter 14: loss 4.2332, time 280.49ms, mfu 48.97%",
        "iter 15: loss 4.2332, time 302.1",
    ] * 3
    handled, _ = compare("nanogpt", ("\n".join(lines) + "\n").encode(), NanoGPTParser())
    assert handled == [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19]  # `mfu -100.00%` too: no mfu, on both paths


# -- llm.c ---------------------------------------------------------------------------------

def test_llmc_pipe_lines_match_per_line_parser() -> None:
    """The real pipe lines (corpus excerpts L1-L6) and the same lines with other numbers: z-scores of both
    signs or `(+nanz)` (no value), `lr` in scientific notation down to e-11, and `-100.0% … MFU` (no value: it was
    read per line, so a whole log from a GPU llm.c has no peak FLOPs for left the fast path)."""
    real = [x for e in ("L1", "L2", "L3", "L4", "L5", "L6") for x in md_block("nanogpt_llmc.md", f"Excerpt {e}")
            if x.startswith("step ") and " | " in x]
    rng = random.Random(3)
    made = [
        f"step {i:4d}/19560 | loss {rng.uniform(2, 11):.6f} ({rng.uniform(-3, 3):+.2f}z)| norm "
        f"{rng.uniform(0, 50):.4f} ({rng.choice(['+nan', f'{rng.uniform(-9, 9):+.2f}'])}z)| lr "
        f"{rng.uniform(0, 6e-4) * 10 ** -rng.randint(0, 8):.2e} | {rng.uniform(40, 5000):.2f} ms | "
        f"{rng.choice([rng.uniform(0, 60), -100.0]):.1f}% bf16 MFU | {rng.uniform(9e4, 4e5):.0f} tok/s"
        for i in range(1, 400)
    ]
    lines = real + made
    handled, _ = compare("llmc", ("\n".join(lines) + "\n").encode(), LlmcParser(), 4096)
    odd = {i for i, x in enumerate(lines) if not x.endswith(" tok/s")}  # a cut line
    assert sorted(handled) == [i for i in range(len(lines)) if i not in odd]  # `(+nanz)` and `-100.0%` lines too
    assert any("-100.0%" in lines[i] for i in handled) and len(handled) > 200

