"""Durations: "90s" / "1h30m" ↔ float seconds, with errors that say what is wrong."""

from __future__ import annotations

import pytest

from runwatch.durations import format_duration, human_duration, parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90.0), ("10m", 600.0), ("2h", 7200.0), ("1d", 86400.0), ("1w", 604800.0),
    ("1h30m", 5400.0), ("1d2h3m4s", 93784.0), ("500ms", 0.5), ("1m500ms", 60.5),
    ("1.5h", 5400.0), (".5m", 30.0), ("0s", 0.0), (" 10m ", 600.0),
])
def test_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty duration"),
    ("   ", "empty duration"),
    ("10", "duration without a unit: '10' (write 10s or 10m)"),
    ("1.5", "without a unit"),
    ("-5m", "negative duration: '-5m'"),
    ("10 minutes", "not a duration: '10 minutes' (use 90s, 10m, 2h)"),
    ("10x", "not a duration: '10x'"),
    ("m", "not a duration: 'm'"),
    ("30m1h", "unit 'h' comes after a smaller unit in it (write largest first: 1h30m)"),
    ("1m1m", "unit 'm' repeats it"),
    ("1h 30m", "not a duration"),
    ("nan", "not a duration"),
])
def test_parse_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=None) as e:
        parse_duration(text)
    assert message in str(e.value)


def test_parse_refuses_non_strings() -> None:
    with pytest.raises(ValueError, match="not a duration: 10"):
        parse_duration(10)  # type: ignore[arg-type]


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (0.25, "250ms"), (1.5, "1.5s"), (45, "45s"), (90, "1m30s"), (600, "10m"),
    (5400, "1h30m"), (7200, "2h"), (86400, "1d"), (93784, "1d2h3m4s"), (60.5, "1m0.5s"),
    (1209600, "2w"), (-90, "-1m30s"),
])
def test_format(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [0.001, 0.5, 1, 59.999, 61, 3599, 3600.5, 86399, 100000.25, 10**7])
def test_round_trip(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, abs=1e-9)


def test_format_refuses_non_finite() -> None:
    with pytest.raises(ValueError, match="not a finite duration"):
        format_duration(float("inf"))


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (1.5, "1.5s"), (1.96, "1.9s"), (2, "2s"), (9.99, "9.9s"), (42.7, "42s"), (59.99, "59s"),
    (60, "1m"), (61.5, "1m01s"), (3599.9, "59m59s"), (3600, "1h"), (7199.62, "1h59m"), (7200, "2h"),
    (3 * 86400 + 4 * 3600 + 5, "3d04h"), (-3, "0s"), (float("nan"), "?"),
])
def test_human_duration_is_short_and_never_rounds_up(seconds: float, text: str) -> None:
    """`silence --list` showed `1h59m59.62s` (review finding 8); a stall summary read 1.5 s as "2s" (7)."""
    assert human_duration(seconds) == text


@pytest.mark.parametrize(("seconds", "text"), [(1.5, "1.5s"), (2, "2.0s"), (600.46, "10m00.4s"), (3600, "1h")])
def test_human_duration_with_decimals_below_an_hour(seconds: float, text: str) -> None:
    assert human_duration(seconds, decimals=1) == text
