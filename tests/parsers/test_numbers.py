"""Number text and unit tables shared by every parser (runwatch/parsers/numbers.py)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.parsers.numbers import (
    GIB,
    MEMORY_LETTERS,
    SECONDS,
    SI,
    clock_seconds,
    in_unit,
    log_seconds,
    parse_number,
    spelled_seconds,
)


@pytest.mark.parametrize(("text", "value"), [
    ("1,051,311", 1051311.0),  # nanochat `tok/sec: 1,051,311`
    ("1.500E-04", 1.5e-4),  # Megatron `learning rate: 1.500E-04`
    ("'4.437'", 4.437),  # transformers 5 quotes numbers
    ("3e-4", 3e-4),
    ("infxxx", math.inf), ("-infxx", -math.inf),  # PaddleOCR's `{:x<6f}` fills to six characters
    ("  -2.5 ", -2.5),
])
def test_numbers_as_logs_print_them(text: str, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["nan", "NaN", "-nan", "inf", "Infinity", "-inf", "nanxxx"])
def test_non_finite_values_are_kept(text: str) -> None:
    got = parse_number(text)
    assert got is not None and not math.isfinite(got)


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "12.5k", "805,", "1,2", "1,0513,11", "xxx", "0x", "1.5x"])  # a cut `tok/sec: 805,` is no 805
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


@pytest.mark.parametrize(("text", "seconds"), [
    ("76.5ms", 0.0765), ("3.52s", 3.52), ("1m 54s", 114.0), ("2h 3m 4s", 7384.0), ("0us", 0.0),  # CatBoost
    ("1h 08m 11s", 4091.0), ("2d 03h 10m", 184200.0),  # StyleGAN's `dnnlib.util.format_time`
    ("3h 35m 58s", 12958.0), ("6s", 6.0),  # ms-swift's dicts
    ("1.6s", 1.6),  # YOLO's own bar
    ("", None), ("soon", None), ("5", None), ("1s 2m", None), ("1h 1h", None), ("3 s", None), ("1m-2s", None),
])
def test_durations_spelled_in_units(text: str, seconds: float | None) -> None:
    assert spelled_seconds(text) == (pytest.approx(seconds) if seconds is not None else None)


@pytest.mark.parametrize(("text", "seconds"), [
    ("00:12", 12.0), ("1:05", 65.0), ("2:26:31", 8791.0), ("12", 12.0),  # tqdm, Keras, rich
    ("0:00:30.424134", 30.424134),  # a `timedelta` with microseconds
    ("1 day, 2:37:00", 95820.0), ("30 days, 14:24:49", 2643889.0),  # a `timedelta` of a day and more
    ("?", None), ("-:--:--", None), ("", None), (None, None), ("1:2:3:4", None), ("1.5:30", None), ("١:٠٥", None),
    ("9" * 320, None), ("1:" + "9" * 5000, None),  # more digits than a run's clock (a float overflows: a code review)
])
def test_clocks(text: str | None, seconds: float | None) -> None:
    assert clock_seconds(text) == (pytest.approx(seconds) if seconds is not None else None)


def test_a_log_duration_is_a_clock_or_units() -> None:
    assert (log_seconds("1:05"), log_seconds("4s"), log_seconds("1m 54s"), log_seconds("?"), log_seconds(None)) == (
        65.0, 4.0, 114.0, None, None)


@given(st.integers(0, 99), st.integers(0, 59), st.integers(0, 59))
def test_a_clock_and_its_units_agree(h: int, m: int, s: int) -> None:
    expected = float(h * 3600 + m * 60 + s)
    assert clock_seconds(f"{h}:{m:02d}:{s:02d}") == spelled_seconds(f"{h}h {m:02d}m {s:02d}s") == expected


@given(st.text(max_size=40))
@settings(max_examples=300)
def test_duration_readers_never_raise(text: str) -> None:
    for read in (spelled_seconds, clock_seconds, log_seconds):
        value = read(text)
        assert value is None or (isinstance(value, float) and value >= 0)
