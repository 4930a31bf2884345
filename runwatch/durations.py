"""Durations as people write them ("90s", "10m", "1h30m") and as code keeps them (float seconds).

Config files and flags speak the first language, everything else the second
(STYLE habit 10). The grammar is Prometheus's: one or more `NUMBER UNIT`
parts, largest unit first, each unit at most once, no spaces. Units: `ms`,
`s`, `m`, `h`, `d`, `w`. Numbers may have a fraction (`1.5h`). A bare number
is refused: "5" could mean seconds or minutes, and a wrong guess silences an
alert for an hour.
"""

from __future__ import annotations

import math

from runwatch import patterns
from runwatch.errors import BadValueError

UNITS: dict[str, float] = {"w": 7 * 86400.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
"""Seconds per unit, largest first (the order parts must come in)."""

HINT = "use 90s, 10m, 2h"
_NUMBER = patterns.compile(r"\d+(?:\.\d*)?|\.\d+")
_PART = patterns.compile(r"(\d+(?:\.\d+)?|\.\d+)(ms|[wdhms])")


def parse_duration(text: str) -> float:
    """Seconds in `text` ("90s", "10m", "2h", "1d", "1h30m", "500ms").

    Raises BadValueError (a ValueError) naming what is wrong: empty, no unit, unknown unit,
    negative, units out of order or repeated.
    """
    if not isinstance(text, str):
        raise BadValueError(f"not a duration: {text!r} ({HINT})")
    s = text.strip()
    if not s:
        raise BadValueError(f"empty duration ({HINT})")
    if s.startswith("-"):
        raise BadValueError(f"negative duration: {text!r}")
    if _is_number(s):
        raise BadValueError(f"duration without a unit: {text!r} (write {s}s or {s}m)")
    total, pos, last_rank = 0.0, 0, -1
    order = list(UNITS)
    while pos < len(s):
        m = _PART.match(s, pos)
        if m is None:
            raise BadValueError(f"not a duration: {text!r} ({HINT})")
        number, unit = m.groups()
        rank = order.index(unit)
        if rank <= last_rank:
            problem = "repeats" if rank == last_rank else "comes after a smaller unit in"
            raise BadValueError(f"not a duration: {text!r}: unit {unit!r} {problem} it (write largest first: 1h30m)")
        total += float(number) * UNITS[unit]
        pos, last_rank = m.end(), rank
    return total


def format_duration(seconds: float) -> str:
    """The shortest exact-enough text for `seconds`: 5400 → "1h30m", 90 → "1m30s", 0.25 → "250ms".

    `parse_duration(format_duration(x)) == x` for whole milliseconds.
    """
    if not math.isfinite(seconds):
        raise ValueError(f"not a finite duration: {seconds!r}")
    if seconds < 0:
        return "-" + format_duration(-seconds)
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    parts: list[str] = []
    rest = ms
    for unit in ("w", "d", "h", "m"):
        size = round(UNITS[unit] * 1000)
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    if rest:
        if rest % 1000 == 0:
            parts.append(f"{rest // 1000}s")
        elif rest < 1000 and not parts:
            parts.append(f"{rest}ms")
        else:
            parts.append(f"{rest / 1000:g}s")
    return "".join(parts)


def human_duration(seconds: float, *, decimals: int | None = None) -> str:
    """`seconds` as a person reads it: "1.5s", "42s", "59m59s", "10m", "1h59m", "3d04h".

    Made to be read, not parsed back: below 10 s one decimal (so 1.5 s does
    not read as "2s"), then whole seconds, then the two largest units, each
    cut down rather than rounded up (a silence with 1h59m59.6s left reads
    "1h59m", never "2h00m"). `decimals` forces that many decimals on the
    seconds below one hour, for two values that would otherwise read alike.
    """
    if not math.isfinite(seconds):
        return "?"
    s = max(0.0, seconds)
    if s < 3600 and decimals is not None:
        m, sec = divmod(s, 60.0)
        sec = math.floor(sec * 10**decimals + 1e-6) / 10**decimals
        text = f"{sec:.{decimals}f}s"
        return f"{int(m)}m{'0' if sec < 10 else ''}{text}" if m else text
    if s < 10:
        text = f"{math.floor(s * 10 + 1e-6) / 10:.1f}"
        return (text[:-2] if text.endswith(".0") else text) + "s"
    whole = int(s)
    if whole < 60:
        return f"{whole}s"
    m, sec = divmod(whole, 60)
    if m < 60:
        return f"{m}m{sec:02d}s" if sec else f"{m}m"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h}h{m:02d}m" if m else f"{h}h"
    d, h = divmod(h, 24)
    return f"{d}d{h:02d}h" if h else f"{d}d"


def _is_number(s: str) -> bool:
    return _NUMBER.fullmatch(s) is not None
