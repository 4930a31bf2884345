"""Axis ticks a person can read: round numbers, short labels.

Pure functions so the chart's axes test without a terminal.
"""

from __future__ import annotations

import math

_NICE = (1.0, 2.0, 2.5, 5.0, 10.0)


def nice_step(span: float, max_ticks: int) -> float:
    """The smallest 1/2/2.5/5 × 10^k step that puts at most `max_ticks` ticks on `span`."""
    if not math.isfinite(span) or span <= 0:
        return 1.0
    raw = span / max(1, max_ticks - 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in _NICE:
        if m * mag >= raw * (1 - 1e-9):
            return m * mag
    return 10.0 * mag


def nice_ticks(lo: float, hi: float, max_ticks: int) -> list[float]:
    """Round values inside [lo, hi], at most `max_ticks` of them (at least one)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        return []
    if hi == lo:
        return [lo]
    ticks: list[float] = []
    for most in range(max_ticks, max_ticks + 4):  # a coarse step can leave one tick: refine
        step = nice_step(hi - lo, most)
        first = math.ceil(lo / step - 1e-9)
        last = math.floor(hi / step + 1e-9)
        ticks = [0.0 if abs(k * step) < step * 1e-9 else k * step for k in range(first, last + 1)]
        if len(ticks) >= 2:
            break
    return ticks or [lo]


def step_ticks(lo: float, hi: float, max_ticks: int) -> list[float]:
    """Ticks of a step (or token count) axis: whole numbers inside [lo, hi], at most one per whole number
    it holds. A chart of one point spans a step around it: its ticks fell a fraction of a step apart, and
    labelled as briefly as steps are, read `5 5 5 5 5` (`1.1k` five times). One step gives one tick."""
    first, last = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
    if last < first:
        return []
    whole = [t for t in nice_ticks(first, last, min(max_ticks, last - first + 1)) if t == round(t)]
    return whole or [float(first)]


def log_ticks(lo_exp: float, hi_exp: float, max_ticks: int) -> list[float]:
    """Powers of ten (as exponents) inside [lo_exp, hi_exp]; thinned to `max_ticks`. A range of about
    one decade gets 2× and 5× ticks too (3 … 40 showed a lone `10`)."""
    first, last = math.ceil(lo_exp - 1e-9), math.floor(hi_exp + 1e-9)
    exps: list[float] = [float(e) for e in range(first, last + 1)]
    if len(exps) < 3:
        marks = [e + math.log10(m) for e in range(first - 1, last + 1) for m in (1, 2, 5)]
        exps = [e for e in marks if lo_exp - 1e-9 <= e <= hi_exp + 1e-9]
    if len(exps) > max_ticks:
        stride = math.ceil(len(exps) / max_ticks)
        exps = exps[::stride]
    return exps


_SUFFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def tick_label(v: float, step: float) -> str:
    """`v` as briefly as `step` (the distance between ticks) allows: 2.5k, 0.35, 1e-4."""
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e15:
        return _short_exp(v)  # past T: a diverged loss (`1.7e297`), its label in scientific form, never 300 digits
        # and a `T` (a chart of such values read `no data yet`, its labels wider than the panel)
    if a >= 1e4:
        for div, suffix in _SUFFIXES:
            if a >= div:
                return _trim(f"{v / div:.{_decimals(step / div)}f}") + suffix
    if a < 1e-3:
        return _short_exp(v)
    return _trim(f"{v:.{_decimals(step)}f}")


def step_label(v: float, step: float = 0.0) -> str:
    """A step count on the x axis: 0, 950, 2k, 12.5k, 1.2M; with `step` (the distance between ticks)
    as many decimals as tell neighbours apart (1.12k, 1.14k when zoomed, not 1.1k three times)."""
    a = abs(v)
    for div, suffix in _SUFFIXES:
        if a >= div:
            places = max(1, _decimals(step / div)) if step > 0 else 1
            return _trim(f"{v / div:.{places}f}") + suffix
    return f"{v:.0f}"


def _decimals(step: float) -> int:
    if step <= 0 or not math.isfinite(step):
        return 2
    return max(0, min(6, -math.floor(math.log10(step) + 1e-9) + (1 if _leading(step) == 2.5 else 0)))


def _leading(step: float) -> float:
    return round(step / 10.0 ** math.floor(math.log10(step)), 6)


def _trim(s: str) -> str:
    return s.rstrip("0").rstrip(".") if "." in s else s


def _short_exp(v: float) -> str:
    mant, exp = f"{v:.1e}".split("e")
    return f"{_trim(mant)}e{int(exp)}"


_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
               172800, 604800)
"""Seconds between two ticks of a wall-time axis: round clock intervals."""


def time_ticks(lo: float, hi: float, max_ticks: int) -> list[tuple[float, str]]:
    """Ticks of a wall-time axis that ends at `hi` (the newest point): (position, label) with labels
    counting back from it (`now`, `-30s`, `-15m`, `-2h`, `-3d`), at most `max_ticks`. Relative to the
    newest point rather than the clock: the same on every machine and in every time zone, and what a
    person asks of a run (how long ago did it slow down, how long did it hang)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [(hi, "now")] if math.isfinite(hi) else []
    span = hi - lo
    step = next((s for s in _TIME_STEPS if span / s <= max(1, max_ticks - 1)), _TIME_STEPS[-1])
    ticks = []
    k = 0
    while hi - k * step >= lo - 1e-9:
        ticks.append((hi - k * step, ago_label(k * step)))
        k += 1
    return ticks[::-1]


def ago_label(seconds: float) -> str:
    """`now`, `-45s`, `-25m`, `-5h`, `-3d`: the unit that keeps the number under about two digits."""
    if seconds < 0.5:
        return "now"
    for unit, size, limit in (("s", 1, 120), ("m", 60, 120 * 60), ("h", 3600, 48 * 3600)):
        if seconds < limit:
            return f"-{_trim(f'{seconds / size:.1f}')}{unit}"
    return f"-{_trim(f'{seconds / 86400:.1f}')}d"
