"""Pure pieces: sparkline, backoff, filters, text cleaning, the terminal line."""

from __future__ import annotations

import math

import pytest

from runwatch.alerts.sinks import Backoff, SinkConfigError, SinkFilter
from runwatch.alerts.sinks.sparkline import BARS, NAN_MARK, sparkline
from runwatch.alerts.sinks.terminal import terminal_line
from runwatch.model import AlertState, Severity
from runwatch.text import clean as strip_escapes
from runwatch.text import clip, one_line
from tests.support.alerts import make_notification

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(("values", "expected"), [
    ([], ""),
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], BARS),
    ([2.0, 2.0, 2.0], "▄▄▄"),
    ([0.0, 1.0, NAN, 1.0], "▁█×█"),
    ([1.0, INF, -INF], "▄↑↓"),
    ([NAN, NAN], "××"),
])
def test_sparkline(values: list[float], expected: str) -> None:
    assert sparkline(values) == expected


def test_sparkline_downsampling_keeps_nan_and_spikes() -> None:
    values = [1.0] * 100
    values[37], values[80] = NAN, 50.0
    line = sparkline(values, width=10)
    assert len(line) == 10 and line.count(NAN_MARK) == 1 and line.count("█") == 1


def test_backoff_doubles_caps_and_jitters() -> None:
    plain = Backoff(initial=1, factor=2, cap=300, jitter=0)
    assert [plain.delay(n) for n in (1, 2, 3, 4, 9, 10, 5000)] == [1, 2, 4, 8, 256, 300, 300]
    low, high = Backoff(jitter=0.2, rng=lambda: 0.0), Backoff(jitter=0.2, rng=lambda: 1.0)
    assert low.delay(3) == pytest.approx(3.2) and high.delay(3) == pytest.approx(4.8)
    assert high.delay(20) == 60  # jitter never passes the cap (60 s by default)
    assert plain.delay(1, retry_after=30) == 30 and plain.delay(1, retry_after=10_000) == 300
    with pytest.raises(ValueError):
        Backoff(initial=0)


def test_filter() -> None:
    firing, resolved = make_notification(), make_notification(state=AlertState.RESOLVED)
    warning = make_notification(severity=Severity.WARNING, rule="loss_spike")
    assert SinkFilter().accepts(firing) and SinkFilter().accepts(resolved)
    assert not SinkFilter.of(send_resolved=False).accepts(resolved)
    assert not SinkFilter.of("critical").accepts(warning) and SinkFilter.of("warning").accepts(warning)
    assert not SinkFilter.of(rules=["nonfinite"]).accepts(warning)
    with pytest.raises(SinkConfigError, match="min_severity must be one of info, warning, critical"):
        SinkFilter.of("loud")


def test_text_cleaning() -> None:
    assert strip_escapes("\x1b[1;31mred\x1b[0m\x1b]8;;http://x\x07link\x1b]8;;\x07 \x07bell\r\tok\n") == \
        "redlink bell\tok\n"
    assert one_line("a\n b\x1b[2K\r\n c") == "a b c"
    assert clip("abcdef", 4) == "abc…" and clip("abcdef", 4, keep="tail") == "…def" and clip("ab", 4) == "ab"


def test_terminal_line_is_one_clean_line() -> None:
    n = make_notification(summary="grad_norm is NaN\n\x1b[2J\x1b[Hcleared?")
    line = terminal_line(n)
    assert line == ("runwatch: FIRING critical nonfinite metric=grad_norm rank=0 run=nanochat-d24 step=380: "
                    "grad_norm is NaN cleared?")
    assert "RESOLVED" in terminal_line(make_notification(state=AlertState.RESOLVED))
    assert math.isnan(n.alert.history[-1])
