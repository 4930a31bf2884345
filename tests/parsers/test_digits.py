"""The integers of digit columns (runwatch.parsers.digits): exact, whatever the widths and the row count.

Every value of the columnar fast path starts as such an integer, so an
inexact one would be a value unequal to the per-line parser's; the
differential tests (test_columnar, test_learned) compare whole records, this
one the arithmetic underneath, at the widths where float32 pieces meet.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.parsers.digits import MAX_DIGITS, Field, Integers, Plan, values


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(1, MAX_DIGITS), min_size=1, max_size=12),
    st.integers(1, 5000),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)
def test_integers_of_every_width_are_exact(widths: list[int], rows: int, seed: int, nines: bool) -> None:
    """Runs of 1–15 digits side by side (pieces of seven meet at 7, 8, 14, 15), over row counts that fill no
    whole stack of products; all-nines rows are the largest each width holds."""
    rng = np.random.default_rng(seed)
    digits = rng.integers(48, 58, (rows, sum(widths)), dtype=np.uint8)
    if nines:
        digits[::2] = ord("9")
    ints = Integers(sum(widths))
    at = np.cumsum([0, *widths])
    index = [ints.add(int(lo), int(hi)) for lo, hi in zip(at[:-1], at[1:], strict=True)]
    got = ints.build().read(digits)
    assert got.shape == (len(widths), rows)
    for i, lo, hi in zip(index, at[:-1], at[1:], strict=True):
        want = [int(bytes(row)) for row in digits[:, lo:hi]]
        assert got[i].tolist() == [float(w) for w in want]
        assert all(float(w) == w for w in want)  # and the float is the integer itself


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from([b"00.00000000000000", b"0.000000000000000", b"0000000000000000", b"0.0000000000000000e-00",
                     b"-0.00000000000000000e+00", b"000000000000000000", b"0.00000000000000e-000", b"0.0000000e-00"]),
    st.integers(1, 400),
    st.integers(0, 2**32 - 1),
)
def test_numbers_of_up_to_18_digits_read_as_float_reads_their_text(shape: bytes, rows: int, seed: int) -> None:
    """Python's repr of a float (17 significant digits, DeepSpeed's `SamplesPerSec=83.48609168106144`) and
    wider: exact in long double, rounded once more to double, or read from the text where that rounding could
    differ from float()'s (exactly halfway between two doubles: about one value in 2000)."""
    rng = np.random.default_rng(seed)
    width = shape.count(b"0")
    digits = rng.integers(48, 58, (rows, width), dtype=np.uint8)
    digits[: rows // 3, : width // 2] = ord("0")  # small values too
    ints = Integers(width)
    field = Field.of("x", 1.0, shape, 0, width, ints)
    plan = Plan(ints.build(), -1, -1, (field,), ())
    cols = values(plan, digits, frozenset())
    template = np.frombuffer(shape, np.uint8)
    for row, value, inexact in zip(digits, cols.metrics["x"].tolist(), cols.inexact.tolist(), strict=True):
        if inexact:  # an exponent past what one operation takes exactly: the row is left to the parser
            assert field.high < 0
            continue
        text = template.copy()
        text[template == ord("0")] = row
        want = float(text.tobytes())
        assert value == want and math.copysign(1.0, value) == math.copysign(1.0, want), text.tobytes()
