"""Number text as training logs print it → float.

Handles thousands separators (`1,051,311`), scientific notation (`1.500E-04`),
quotes (`'4.437'`, transformers 5), units glued on (`997.40ms`, `9.46GiB`,
`45.2%`) when the caller strips them, and `nan`/`inf`/`NaN`/`Infinity`; and the
unit tables (durations, memory sizes, count suffixes) every parser reads a unit
with, so `dt: 350ms`, `memory: 9.46GiB` and `tok/s=12.5k` mean the same number
in every format.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from runwatch import patterns

_SPECIAL = {
    "nan": math.nan, "-nan": math.nan, "+nan": math.nan,
    "inf": math.inf, "+inf": math.inf, "infinity": math.inf, "+infinity": math.inf,
    "-inf": -math.inf, "-infinity": -math.inf,
}


_THOUSANDS = patterns.compile(r"[-+]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")

NUMBER_TEXT = r"[-+]?(?:\d{1,30}(?:\.\d{0,30})?|\.\d{1,30})(?:[eE][-+]?\d{1,4})?|[-+]?(?i:nan|inf)"
"""A plain number as a log prints it, as regex text for a parser's own patterns: digits, a fraction, an
exponent, `nan`/`inf` in any case; no thousands separator, quote or unit. `float()` reads every match."""

_HELD = patterns.compile(
    r"(?<![\w.])(?:np\.(?:float|int|uint)(?:8|16|32|64|128)?\((?P<np>[^()]{1,40})\)"
    r"|(?:tensor|array|Array|DeviceArray)\((?:\[{1,3}(?P<one>[-+.\w]{1,40})\]{1,3}|(?P<arr>[-+.\w]{1,40}))"
    r"(?:, [^()]{0,200})?\)"
    r"|tf\.Tensor\((?P<tf>[-+.\w]{1,40}), shape=\(\), dtype=\w{1,12}\)"
    r"|<tf\.(?:Tensor:|Variable '[^'<>]{0,100}') shape=\(\),? dtype=\w{1,12}, numpy=(?P<tfr>[-+.\w]{1,40})>)"
)
"""A number as `print` shows it when the loop hands over the object that holds it rather than the number: a NumPy
scalar since NumPy 2 (`np.float64(0.0023)`, in a dict or a list, as verl's console prints its metrics), a 0-d NumPy
array (`array(0.42, dtype=float32)`), a PyTorch tensor (`tensor(0.6513, grad_fn=<MseLossBackward0>)`, `tensor(0.08,
device='cuda:0')`), a JAX array (`Array(nan, dtype=float32)`), an eager TensorFlow tensor (`tf.Tensor(nan, shape=(),
dtype=float32)`, `<tf.Tensor: shape=(), dtype=float32, numpy=nan>` in a dict, a variable's `<tf.Variable 'loss:0'
shape=() dtype=float32, numpy=nan>`), JAX's before 0.4 (`DeviceArray(nan, dtype=float32)`). Only a single number, bare
or as the one element of a tensor (`tensor([0.5000], device='cuda:0')`): a tensor of several (`tensor([0.25, 0.75])`)
is no metric. Unread, a loop that printed `{'epoch': 5, 'loss': tensor(nan,
grad_fn=<MseLossBackward0>)}` read nothing, and its NaN went unseen."""
_HOLDERS = ("np.", "tensor(", "rray(", "Tensor", "Variable")


def held_numbers(text: str) -> str:
    """`text` with each number a holder's repr shows (`_HELD`) in place of that repr; `text` itself when it has none."""
    if "(" not in text or not any(h in text for h in _HOLDERS):
        return text
    return _HELD.sub(_held, text)


def _held(m: re.Match[str]) -> str:
    return m["np"] or m["one"] or m["arr"] or m["tf"] or m["tfr"]


MAX_STEP = 2**53
"""The largest step a record may carry: every step up to it is exact as a float (series x values)."""


def ascii_float(text: str) -> float:
    """`float(text)` as a log spells a number: ASCII digits only, no `_` separators.

    Python's float() also reads `3_1` as 31.0 and Arabic-Indic `٣.١` as 3.1;
    no training log prints either, so a field holding one is not a number
    (ValueError, as float() raises for any other text).
    """
    if "_" in text or not text.isascii():
        raise ValueError(f"not a number as logs print one: {text!r}")
    return float(text)


def parse_int(text: str) -> int | None:
    """The non-negative integer that ASCII digits spell (`00042`), or None: a step counter, never `1_0`."""
    s = text.strip()
    if not (s.isdigit() and s.isascii()):
        return None
    try:
        return int(s)
    except ValueError:  # longer than Python's int() limit (4,300 digits): no step
        return None


def parse_number(text: str) -> float | None:
    """The float a log field spells, or None when it is not a number at all (see `ascii_float`)."""
    s = text.strip().strip("'\"")
    if not s.isascii() or "_" in s:
        return None  # float() reads `٣.١` as 3.1 and `3_1` as 31.0: no log means either
    try:
        return float(s)
    except ValueError:
        pass
    if "," in s:  # thousands separators: `1,051,311`, never a cut `805,` or a list `1,2`
        return float(s.replace(",", "")) if _THOUSANDS.fullmatch(s) else None
    low = s.lower()
    if low.endswith("x"):  # PaddleOCR's and PaddleDetection's `'{}: {:x<6f}'` fill `nan` to six: `nanxxx`, `-infxx`
        return _SPECIAL.get(low.rstrip("x"))
    return _SPECIAL.get(low[:-2] if low.endswith(".0") else low)  # `nan.0`, `inf.0`: tqdm's postfix format


# ── units glued to (or printed after) a number ──────────────────────────────────────────────────────────
# Each table maps a unit as logged to (multiply, divide). Dividing by 1e3/1024 instead of multiplying by
# the reciprocal keeps `997.40ms` → 0.9974 exactly what the framework parsers give.

SECONDS: dict[str, tuple[float, float]] = {
    "us": (1.0, 1e6), "ms": (1.0, 1e3), "s": (1.0, 1.0), "sec": (1.0, 1.0), "secs": (1.0, 1.0),
    "m": (60.0, 1.0), "min": (60.0, 1.0), "mins": (60.0, 1.0), "h": (3600.0, 1.0), "hr": (3600.0, 1.0),
    "hrs": (3600.0, 1.0),
}
"""Durations → seconds (DESIGN §2: step_time, elapsed and eta are seconds). `m` is minutes (nanochat's `eta:
181.5m`), so callers accept it only where the key names a time."""

GIB: dict[str, tuple[float, float]] = {
    "B": (1.0, 1024.0**3), "KB": (1.0, 1024.0**2), "kB": (1.0, 1024.0**2), "KiB": (1.0, 1024.0**2),
    "MB": (1.0, 1024.0), "MiB": (1.0, 1024.0), "GB": (1.0, 1.0), "GiB": (1.0, 1.0), "TB": (1024.0, 1.0),
    "TiB": (1024.0, 1.0),
}
"""Memory sizes → GiB, the unit of the framework parsers' `*_gib` metrics. `GB` counts as GiB: DeepSpeed and
most training loops print `GB` for a size divided by 1024**3."""

MEMORY_LETTERS: dict[str, str] = {"K": "KiB", "k": "KiB", "M": "MiB", "G": "GiB", "T": "TiB", "B": "B"}
"""A single letter after a memory value (`mem=512M`, `rss 12G`) is a size, as `ls -h` and `free -h` print it."""

STEP_UNITS = frozenset({"it", "batch", "batches", "step", "steps", "iter", "iters", "ba"})
"""Units of a bar (tqdm's, tqdm-loggable's) whose count is optimizer steps (tqdm's default `it`, `unit="batch"`):
its rate is a step time. A rate of epochs, samples or bytes is not."""

SI: dict[str, float] = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "B": 1e9}
"""Count suffixes (`tok/s=12.5k`, `1.2M`, `tokens 300B`): thousand, million, billion, trillion."""


def scaled(text: str) -> float | None:
    """A count with an SI suffix as a number (`113.4k` → 113400.0), or without one (`5871.81`); None if neither."""
    text = text.strip()
    scale = SI.get(text[-1:]) if text else None
    value = parse_number(text[:-1] if scale is not None else text)
    return None if value is None else value * (scale or 1.0)


def in_unit(value: float, unit: str, table: dict[str, tuple[float, float]]) -> float | None:
    """`value` `unit` expressed in the table's unit, or None when the table does not know `unit`."""
    scale = table.get(unit)
    return None if scale is None else value * scale[0] / scale[1]


# ── durations as logs print them ─────────────────────────────────────────────────────────────────────────
# One reader for every log's elapsed, remaining and step times that are no plain number: a clock (tqdm, rich,
# Keras, Python's `timedelta`) or units spelled out (StyleGAN, CatBoost, ms-swift, Keras, YOLO). Config
# files' durations are another language with a stricter grammar (runwatch.durations).

_SPELLED_PART = patterns.compile(r"(\d{1,12}(?:\.\d{1,12})?)(ms|us|[dhms]) ?")
_SPELLED_RANK = {unit: rank for rank, unit in enumerate(("d", "h", "m", "s", "ms", "us"))}
"""Each unit's rank: parts come largest first, each once. A day is 86,400 s; the others are `SECONDS`' units."""
_DAYS = patterns.compile(r"(\d{1,6}) days?, ")


def spelled_seconds(text: str) -> float | None:
    """Seconds of a duration spelled in units, largest first, each at most once, a space or none between:
    StyleGAN's `1h 08m 11s` and `2d 03h 10m`, CatBoost's `76.5ms`, `1m 54s` and `0us`, ms-swift's `3h 35m 58s`,
    Keras's and YOLO's `4s`. None for anything else (empty text, a bare number, units out of order)."""
    text = text.strip()
    total, pos, last = 0.0, 0, -1
    while pos < len(text):
        m = _SPELLED_PART.match(text, pos)
        if m is None:
            return None
        rank = _SPELLED_RANK[m[2]]
        if rank <= last:
            return None
        total += float(m[1]) * 86400.0 if m[2] == "d" else float(m[1]) * SECONDS[m[2]][0] / SECONDS[m[2]][1]
        pos, last = m.end(), rank
    return total if last >= 0 else None


@lru_cache(maxsize=4096)  # `00:12`: a few thousand clock texts cover a run's frames
def clock_seconds(text: str | None) -> float | None:
    """Seconds of a clock: `SS`, `MM:SS` or `H:MM:SS` (tqdm, rich, Keras; the seconds may have a fraction, as in
    `0:00:30.424134`), after the days Python's `timedelta` prints (`1 day, 2:37:00`: BasicSR's and PySlowFast's
    ETA). None for anything else, such as tqdm's `?` or rich's `-:--:--` while the remaining time is unknown."""
    if not text:
        return None
    days = _DAYS.match(text)
    parts = (text[days.end():] if days else text).strip().split(":")
    if len(parts) > 3:
        return None
    secs = 0.0
    for i, part in enumerate(parts):
        whole, dot, fraction = part.partition(".") if i == len(parts) - 1 else (part, "", "")
        if not (whole.isascii() and whole.isdigit() and len(whole) <= 12 and (
                not dot or (fraction.isascii() and fraction.isdigit() and len(fraction) <= 12))):
            return None  # no clock, nor one of more digits than any run's (a float of 320 digits overflows)
        secs = secs * 60 + (float(part) if dot else int(whole))
    return secs + (int(days[1]) * 86400 if days else 0)


def log_seconds(text: str | None) -> float | None:
    """Seconds of a duration a log prints, as a clock (`1:05`) or in units (`4s`, `1m 54s`); None for other text."""
    if not text:
        return None
    return clock_seconds(text) if ":" in text else spelled_seconds(text)
