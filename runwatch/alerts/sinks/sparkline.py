"""A metric's recent history as one line of block characters, for messages.

Pure and tiny so the Slack and terminal sinks can show the shape of a loss
curve on a phone. Non-finite values are what runwatch alerts on, so they
get their own marks instead of being dropped or scaled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"
NAN_MARK = "×"
POS_INF_MARK = "↑"
NEG_INF_MARK = "↓"


def sparkline(values: Sequence[float], width: int | None = None) -> str:
    """One character per value (or per bucket, when more values than `width`).

    Bars scale between the finite minimum and maximum; a flat series draws
    middle bars. A bucket that holds a NaN or an infinity shows that mark,
    otherwise its largest value, so a spike survives the downsampling.
    """
    points = _buckets(list(values), width) if width and len(values) > width else list(values)
    finite = [v for v in points if math.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    return "".join(_char(v, low, high) for v in points)


def _char(v: float, low: float, high: float) -> str:
    if math.isnan(v):
        return NAN_MARK
    if math.isinf(v):
        return POS_INF_MARK if v > 0 else NEG_INF_MARK
    if high <= low:
        return BARS[len(BARS) // 2 - 1]
    index = int((v - low) / (high - low) * (len(BARS) - 1) + 0.5)
    return BARS[min(max(index, 0), len(BARS) - 1)]


def _buckets(values: list[float], width: int) -> list[float]:
    """`width` buckets of consecutive values, each reduced to its most alarming value."""
    out = []
    for i in range(width):
        chunk = values[i * len(values) // width : (i + 1) * len(values) // width]
        out.append(_worst(chunk))
    return out


def _worst(chunk: list[float]) -> float:
    for v in chunk:
        if math.isnan(v):
            return v
    infinite = [v for v in chunk if math.isinf(v)]
    return infinite[0] if infinite else max(chunk)
