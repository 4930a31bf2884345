"""The integers of digit columns (runwatch.parsers.digits): exact, whatever the widths and the row count.

Every value of the columnar fast path starts as such an integer, so an
inexact one would be a value unequal to the per-line parser's; the
differential tests (test_columnar, test_learned) compare whole records, this
one the arithmetic underneath, at the widths where float32 pieces meet.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.parsers.digits import MAX_DIGITS, Integers


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
