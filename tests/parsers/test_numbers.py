"""Number text and unit tables shared by every parser (runwatch/parsers/numbers.py)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.parsers.numbers import GIB, MEMORY_LETTERS, SECONDS, SI, in_unit, parse_number


@pytest.mark.parametrize(("text", "value"), [
    ("1,051,311", 1051311.0),  # nanochat `tok/sec: 1,051,311`
    ("1.500E-04", 1.5e-4),  # Megatron `learning rate: 1.500E-04`
    ("'4.437'", 4.437),  # transformers 5 quotes numbers
    ("3e-4", 3e-4),
    ("  -2.5 ", -2.5),
])
def test_numbers_as_logs_print_them(text: str, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["nan", "NaN", "-nan", "inf", "Infinity", "-inf"])
def test_non_finite_values_are_kept(text: str) -> None:
    got = parse_number(text)
    assert got is not None and not math.isfinite(got)


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "12.5k", "805,", "1,2", "1,0513,11"])  # a cut `tok/sec: 805,` is no 805
def test_not_a_number(text: str) -> None:
    assert parse_number(text) is None


@pytest.mark.parametrize(("value", "unit", "table", "expected"), [
    (997.40, "ms", SECONDS, 0.9974),  # DESIGN §2: `dt: 997.40ms` → 0.9974
    (350.0, "ms", SECONDS, 0.35),
    (1.2, "s", SECONDS, 1.2),
    (181.5, "m", SECONDS, 181.5 * 60),  # nanochat `eta: 181.5m`
    (2.0, "h", SECONDS, 7200.0),
    (12.3, "GiB", GIB, 12.3),
    (12.3, "GB", GIB, 12.3),  # DeepSpeed's `GB` is a size divided by 1024**3
    (2048.0, "MiB", GIB, 2.0),
    (2.0, "TiB", GIB, 2048.0),
    (2.0 * 1024**3, "B", GIB, 2.0),
])
def test_units_convert_to_the_design_units(value: float, unit: str, table: dict[str, tuple[float, float]],
                                           expected: float) -> None:
    assert in_unit(value, unit, table) == pytest.approx(expected, rel=1e-12)


def test_milliseconds_are_divided_as_the_framework_parsers_do() -> None:
    # 997.40 / 1000 and 997.40 * 0.001 differ in the last bit: the kv and nanochat parsers must agree exactly
    assert in_unit(997.40, "ms", SECONDS) == 997.40 / 1000


def test_unknown_units_are_none() -> None:
    assert in_unit(1.0, "GiB", SECONDS) is None
    assert in_unit(1.0, "ms", GIB) is None
    assert in_unit(1.0, "parsecs", SECONDS) is None


def test_count_suffixes_and_memory_letters() -> None:
    assert 12.5 * SI["k"] == 12500.0 and 1.2 * SI["M"] == pytest.approx(1.2e6) and SI["G"] == SI["B"] == 1e9
    assert all(MEMORY_LETTERS[letter] in GIB for letter in MEMORY_LETTERS)
    assert in_unit(512.0, MEMORY_LETTERS["M"], GIB) == 0.5


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_parse_number_never_raises(text: str) -> None:
    parse_number(text)
