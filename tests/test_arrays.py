"""Array helpers: what `np.unique` gave, without importing `numpy.ma`."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from runwatch.arrays import distinct, groups


@given(st.lists(st.one_of(st.integers(-5, 5).map(float), st.just(float("nan")), st.just(float("inf"))), max_size=40))
def test_distinct_of_floats_is_unique(values: list[float]) -> None:
    a = np.array(values, np.float64)
    assert np.array_equal(distinct(a), np.unique(a), equal_nan=True)


@given(st.lists(st.integers(-(2**40), 2**40), max_size=40))
def test_distinct_of_ints_is_unique(values: list[int]) -> None:
    a = np.array(values, np.int64)
    got = distinct(a)
    assert got.dtype == np.int64 and np.array_equal(got, np.unique(a))


def test_groups_are_positions_of_equal_keys() -> None:
    keys = np.array([3, 1, 3, 2, 1, 3])
    assert [g.tolist() for g in groups(keys)] == [[1, 4], [3], [0, 2, 5]]


def test_no_numpy_ma() -> None:
    code = ("import sys, numpy as np\nfrom runwatch.arrays import distinct, groups\n"
            "distinct(np.array([2, 1, 2])); distinct(np.array([1.0, np.nan])); groups(np.array([1, 1]))\n"
            "print('numpy.ma' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
