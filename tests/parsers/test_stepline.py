"""StepLine: one template gives the per-line reader and the columnar layout, and the two agree to the bit."""

from __future__ import annotations

import math
import struct
from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.parsers.base import StepLineParser
from runwatch.parsers.columnar import FastFormat, _Chunk
from runwatch.parsers.stepline import StepLine


class _Demo(StepLineParser):
    name: ClassVar[str] = "demo"
    step_line: ClassVar[StepLine] = StepLine(
        "it {step:pad}/{total:int} | v {v} | z ({z:signed}) | n {n:commas} | t {t/1000}ms[ | m {m*60}m]"
    )


def columns(line: StepLine, text: str) -> tuple[list[int], dict[str, list[float]], list[int]]:
    """Steps, metric columns and unhandled line indices of the fast path over `text`."""
    spec = FastFormat.of(type("P", (_Demo,), {"step_line": line}))
    batch, rest = _Chunk(spec, text.encode(), frozenset(), ()).run()
    return batch.step.tolist(), {m: v.tolist() for m, v in batch.metrics.items()}, rest.line.tolist()


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def test_read_gives_step_total_and_metrics_in_line_order() -> None:
    got = _Demo.step_line.read("it   12/400 | v 2.5e-05 | z (-0.31) | n 1,051,311 | t 651.20ms | m 1.5m")
    assert got == (12, 400, {"v": 2.5e-05, "z": -0.31, "n": 1051311.0, "t": 651.20 / 1000, "m": 90.0})
    assert list(got[2]) == list(_Demo.step_line.metrics) == ["v", "z", "n", "t", "m"]


def test_optional_parts_whole_lines_and_unreadable_numbers() -> None:
    line = _Demo.step_line
    rec = line.read("it 1/4 | v nan | z (+1) | n 7 | t 3ms")
    assert rec is not None and math.isnan(rec[2]["v"]) and "m" not in rec[2]
    assert line.read("it 1/4 | v 1 | z (+1) | n 7 | t 3ms trailing") is None  # whole=True
    assert line.read("it 1/4 | v 1_0 | z (+1) | n 7 | t 3ms") is None  # float() reads it, no log prints it
    loose = StepLine("iter {step:int}: loss {loss}[, time {t/1000}ms]", whole=False)
    assert loose.read("iter 5: loss 2.3, time 302.1") == (5, None, {"loss": 2.3})  # a cut-off paste
    assert loose.read("iter 5: loss 3_1, time 3ms") is None  # not `loss 3`: a number ends where the line may go on
    assert loose.read("iter 5: loss ٣.١") is None


@pytest.mark.parametrize("bad", ["loss {loss}", "{step} {x} {x}", "step {step} [x", "step {step} ]", "{step:hex}"])
def test_templates_that_cannot_be_a_step_line(bad: str) -> None:
    with pytest.raises(ValueError):
        StepLine(bad)


def test_a_label_with_digits_is_checked_byte_for_byte() -> None:
    line = StepLine("s {step:int} | {mfu}% bf16 MFU")
    assert line.literals == {"lit0": b"% bf16 MFU"} and line.prefix == b"s "
    steps, cols, rest = columns(line, "s 1 | 40.1% bf16 MFU\ns 2 | 40.2% bf99 MFU\ns 3 | 40.3% bf16 MFU\n")
    assert steps == [1, 3] and cols == {"mfu": [40.1, 40.3]} and rest == [1]
    assert line.read("s 2 | 40.2% bf99 MFU") is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(
    st.floats(0, 1e6, allow_nan=False), st.integers(0, 8), st.sampled_from("fe"),
    st.floats(-1e3, 1e3, allow_nan=False), st.integers(0, 1_000_000_000), st.floats(0, 1e5, allow_nan=False),
), min_size=1, max_size=40))
def test_columns_are_bit_identical_to_the_per_line_reader(rows: list[tuple[float, int, str, float, int, float]]) -> None:
    """Any spelling printf gives (`%.Nf`, `%.Ne`, signs, separators): the fast path's value is float(text)'s."""
    lines = [
        f"it {i:4d}/{len(rows)} | v {v:.{d}{form}} | z ({z:+.2f}) | n {n:,} | t {t:.2f}ms | m {t / 7:.3f}m"
        for i, (v, d, form, z, n, t) in enumerate(rows)
    ]
    steps, cols, rest = columns(_Demo.step_line, "\n".join(lines) + "\n")
    read = [_Demo.step_line.read(x) for x in lines]
    assert all(r is not None for r in read)
    taken = [i for i in range(len(lines)) if i not in rest]
    assert steps == [read[i][0] for i in taken]  # type: ignore[index]
    for name, values in cols.items():
        want = [read[i][2][name] for i in taken]  # type: ignore[index]
        assert [bits(x) for x in values] == [bits(x) for x in want], name


def test_every_usual_spelling_takes_the_fast_path_and_the_rest_falls_to_the_per_line_reader() -> None:
    usual = ["0.5", "12", "3.00e-04", "1.79e-11", "0.00e+00", "6.5E+02", "123456789.012345"]
    odd = ["nan", "-1.5", "1.5e-30", "1234567890.1234567", "+2", "inf"]  # a sign, no number, beyond exact
    lines = [f"it {i}/9 | v {v} | z (+0.10) | n 1,000 | t 1.00ms" for i, v in enumerate(usual + odd)]
    steps, cols, rest = columns(_Demo.step_line, "\n".join(lines) + "\n")
    assert steps == list(range(len(usual))) and rest == list(range(len(usual), len(lines)))
    assert [bits(x) for x in cols["v"]] == [bits(float(v)) for v in usual]


def test_a_no_value_text_leaves_the_metric_out_on_both_paths() -> None:
    line = StepLine("s {step:int} | loss {loss} ({z:signed|+nan}z)")
    assert line.read("s 1 | loss 2.5 (+nanz)") == (1, None, {"loss": 2.5})
    assert line.read("s 2 | loss 2.5 (-0.50z)") == (2, None, {"loss": 2.5, "z": -0.5})
    steps, cols, rest = columns(line, "s 1 | loss 2.5 (+nanz)\ns 2 | loss 2.5 (-0.50z)\ns 3 | loss 2.5 (+infz)\n")
    assert steps == [1, 2] and rest == [2] and cols["loss"] == [2.5, 2.5]
    spec = FastFormat.of(type("P", (_Demo,), {"step_line": line}))
    batch, _ = _Chunk(spec, b"s 1 | loss 2.5 (+nanz)\ns 2 | loss 2.5 (-0.50z)\n", frozenset(), ()).run()
    assert batch.present["z"].tolist() == [False, True]
    with pytest.raises(ValueError):
        StepLine("s {step:int} | {z|n1}")  # a no-value text with a digit: a shape could not check it


def test_a_negative_number_can_mean_no_value_on_both_paths() -> None:
    """llm.c's `-100.0% bf16 MFU` (a GPU without peak FLOPs in its table): the line stays on the fast path."""
    line = StepLine("s {step:int} | {mfu|-}% MFU | {tok} tok/s")
    assert line.read("s 1 | -100.0% MFU | 9 tok/s") == (1, None, {"tok": 9.0})
    assert line.read("s 2 | 41.5% MFU | 9 tok/s") == (2, None, {"mfu": 41.5, "tok": 9.0})
    text = "s 1 | -100.0% MFU | 9 tok/s\ns 2 | 41.5% MFU | 9 tok/s\ns 3 | -1e-3% MFU | 9 tok/s\n"
    steps, cols, rest = columns(line, text)
    assert steps == [1, 2, 3] and rest == [] and cols["tok"] == [9.0, 9.0, 9.0]
    spec = FastFormat.of(type("P", (_Demo,), {"step_line": line}))
    batch, _ = _Chunk(spec, text.encode(), frozenset(), ()).run()
    assert batch.present["mfu"].tolist() == [False, True, False]
    assert line.read("s 3 | -1e-3% MFU | 9 tok/s") == (3, None, {"tok": 9.0})



def test_quick_reads_a_line_of_plain_numbers_as_read_does_and_leaves_the_rest() -> None:
    """`quick`: the lines whose numbers the fast path can take (and long ones it leaves only for exactness), as
    `read` reads them; a sign, `nan`, `inf` or a line that goes on are the parser's (its own rules for them)."""
    plain = ["0.5", "12", "3.00e-04", "6.5E+02", "1.5e-30", "1234567890.1234567"]
    odd = ["nan", "-1.5", "+2", "inf", "1_0"]
    lines = [f"it {i}/9 | v {v} | z (+0.10) | n 1,000 | t 1.00ms" for i, v in enumerate(plain + odd)]
    _, _, rest = columns(_Demo.step_line, "\n".join(lines) + "\n")
    quick, read = _Demo.step_line.quick, _Demo.step_line.read
    assert all(quick(x) == read(x) is not None for x in lines[:len(plain)])
    assert [quick(x) for x in lines[len(plain):]] == [None] * len(odd)
    assert all(quick(x) is not None for i, x in enumerate(lines) if i not in rest)  # every line the fast path takes
    assert quick(lines[0] + " | m 1m") is not None and quick(lines[0] + " | m 1m x") is None
    line = StepLine("s {step:pad} | {mfu|-}% MFU | loss {loss} ({z:signed|+nan}z)")
    assert line.quick("s   1 | -100.0% MFU | loss 2.5 (+nanz)") == (1, None, {"loss": 2.5})
    assert line.quick("s 2 | 41.5% MFU | loss 2.5 (-0.50z)") == (2, None, {"mfu": 41.5, "loss": 2.5, "z": -0.5})
    assert line.quick("s 3 | 41.5% MFU | loss 2.5 (+infz)") is None


def test_texts_are_the_literal_forms_and_chars_what_a_field_may_print() -> None:
    line = StepLine("s {step:int}[ a {a}[ b {b}]] | z ({z:signed|+nan}z)")
    assert set(line.texts) == {"s \0 | z (\0z)", "s \0 a \0 | z (\0z)", "s \0 a \0 b \0 | z (\0z)"}
    assert set(line.chars) == set("0123456789.eE+-, na")
