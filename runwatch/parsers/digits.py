"""Numbers from digit columns: every number of a layout, for all its rows at once, as float() reads each.

The columnar fast path (runwatch.parsers.columnar) has the rows of one layout
as a uint8 matrix, a column per digit of the layout. Each number of the
layout is an integer over some of those columns (its digits without the dot:
`5361.6` → 53616) divided by a power of ten, times the parser's unit factor.

The integers come from two matrix products, not one small product per number:
the digits (0–9) in float32, times a matrix of powers of ten that sums them in
*pieces* of at most seven digits, and those pieces in float64, times a matrix
that joins the pieces of a number of up to 15 digits. A piece is below 2**24
and a number below 2**53, so every product and partial sum is an exact
integer in its type, whatever order the BLAS adds in. A value is then one
correctly rounded division by a power of ten, i.e. exactly `float(text)`, and
unit conversions repeat the per-line parser's own arithmetic: the columns are
bit-identical to the per-line parser's values. The float32 matrix is half the
memory of float64 digits and the one product per block replaces a product per
number (a Megatron line holds a dozen numbers, a hundred digits).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from runwatch.parsers.fields import local_seconds
from runwatch.parsers.learned import Counters

MAX_DIGITS = 15
"""Digits per integer: 10**15 < 2**53, so the integer is exact in float64."""
_PIECE = 7
"""Digits per float32 piece: 10**7 - 1 < 2**24."""
_SUB_ROWS = 4096
"""Rows converted at a time, so that their float32 copy stays in the CPU cache."""
_ONE_THREAD = 2**18
"""The largest m·n·k OpenBLAS multiplies in the calling thread (interface/gemm.c: SMP_THRESHOLD_MIN ×
GEMM_MULTITHREAD_THRESHOLD)."""
_POW10 = np.array([float(10**k) for k in range(23)])
"""10**0 … 10**22: exact in float64, so m × 10**k and m / 10**k are one correctly rounded operation."""


class Integers:
    """The integers a layout reads, each named by its digit columns lo..hi: `add` them, then `build`."""

    def __init__(self, columns: int) -> None:
        self.columns = columns
        self._runs: list[tuple[int, int]] = []

    def add(self, lo: int, hi: int) -> int:
        """The index (in `Reader.read`'s result) of the integer digit columns lo..hi spell (≤ MAX_DIGITS)."""
        if not 0 < hi - lo <= MAX_DIGITS:
            raise ValueError(f"an integer of {hi - lo} digits")
        self._runs.append((lo, hi))
        return len(self._runs) - 1

    def build(self) -> Reader:
        pieces: list[tuple[int, int, int]] = []  # (lo, hi, integer) of each piece
        shifts: list[float] = []  # the power of ten each piece is worth in its integer
        for i, (lo, hi) in enumerate(self._runs):
            for end in range(hi, lo, -_PIECE):
                start = max(lo, end - _PIECE)
                pieces.append((start, end, i))
                shifts.append(10.0 ** (hi - end))
        weights = np.zeros((self.columns, len(pieces)), np.float32)
        join = np.zeros((len(pieces), len(self._runs)))
        for p, ((lo, hi, i), shift) in enumerate(zip(pieces, shifts, strict=True)):
            weights[lo:hi, p] = 10.0 ** np.arange(hi - lo - 1, -1, -1)
            join[p, i] = shift
        return Reader(weights, join)


@dataclass(frozen=True, slots=True, eq=False)
class Reader:
    """Two products that turn rows of digit bytes into a layout's integers (see the module notes)."""

    weights: np.ndarray
    """Digit columns × pieces, float32: each piece's powers of ten."""
    join: np.ndarray
    """Pieces × integers, float64: the power of ten each piece is worth in its integer."""

    def read(self, digits: np.ndarray) -> np.ndarray:
        """The integers (integers × rows, float64, exact) of rows of digit bytes (rows × columns, `0`–`9`)."""
        k = digits.shape[0]
        out = np.empty((k, self.join.shape[1]))
        for lo in range(0, k, _SUB_ROWS):
            hi = min(k, lo + _SUB_ROWS)
            pieces = _product(digits[lo:hi], self.weights, np.float32, 48)
            out[lo:hi] = _product(pieces, self.join, np.float64)
        return np.ascontiguousarray(out.T)


def _product(a: np.ndarray, b: np.ndarray, dtype: type[np.floating[Any]], less: int = 0) -> np.ndarray:
    """(a - less) @ b in `dtype`, as a stack of products of few enough rows that the BLAS computes each in
    this thread (numpy loops over them in C).

    OpenBLAS hands a product of m·n·k above `_ONE_THREAD` to a thread per
    core, whose spinning on a busy machine (a training node; the shared
    benchmark host) cost more than the product: a chunk of Megatron rows
    took 2× longer in all, and a single product up to 15× longer.
    """
    k, inner = a.shape
    m = max(1, _ONE_THREAD // (inner * b.shape[1] or 1))
    stacked = np.zeros((-(-k // m) * m, inner), dtype)
    np.subtract(a, less, out=stacked[:k], dtype=dtype)
    got: np.ndarray = (stacked.reshape(-1, m, inner) @ b).reshape(-1, b.shape[1])[:k]
    return got


@dataclass(frozen=True, slots=True, eq=False)
class Field:
    """One number of a layout, and its conversion."""

    metric: str
    value: int
    """Index of its integer (the mantissa's for scientific notation); -1: read by float() from `text`."""
    divisor: float = 1.0
    """10**decimals: exact, like the integer, so their quotient is float(text)."""
    scale: float = 1.0
    """Multiplied by (> 0) or divided by (< 0: by its absolute value), as the parser converts units."""
    sign: float = 1.0
    """-1.0 for a number printed with `-` (a shape holds its sign, so one layout has one)."""
    exponent: int = -1
    """Index of the integer after `e±`, for scientific notation (`divisor` then counts the mantissa's decimals)."""
    exp_sign: int = 1
    decimals: int = 0
    """log10 of `divisor`: the power of ten the exponent is offset by."""
    text: bytes | None = None
    """For a number of more digits than float64 holds exactly (Python's repr of a float: `83.48609168106144`):
    its shape; the value is then float() of the text rebuilt from digit columns lo..hi into it, as the
    per-line parser reads it (a few hundred ns a value instead of a line's parse)."""
    lo: int = 0
    hi: int = 0

    @classmethod
    def of(cls, metric: str, scale: float, text: bytes, lo: int, hi: int, ints: Integers) -> Field:
        """The field whose shape is `text` (`0` digits, maybe a sign and `e±` exponent) at digit columns
        lo..hi; one of more digits than float64 holds exactly is read by float() (see `text`)."""
        if hi - lo > MAX_DIGITS:
            return cls(metric, -1, scale=scale, text=text, lo=lo, hi=hi)
        sign = -1.0 if text[:1] == b"-" else 1.0
        e = max(text.find(b"e"), text.find(b"E"))
        mantissa, exponent = (text, b"") if e < 0 else (text[:e], text[e + 1:])
        split = lo + mantissa.count(b"0")
        dot = mantissa.find(b".")
        decimals = 0 if dot < 0 else len(mantissa) - dot - 1
        return cls(metric, ints.add(lo, split), 10.0**decimals, scale, sign, ints.add(split, hi) if exponent else -1,
                   -1 if exponent[:1] == b"-" else 1, decimals)


@dataclass(frozen=True, slots=True, eq=False)
class Stamp:
    """A local `YYYY-MM-DD HH:MM:SS[.f…]`: the integers of its minute (YYYYMMDDhhmm), seconds and fraction."""

    minute: int
    seconds: int
    fraction: int = -1
    """-1: none."""
    digits: int = 0
    """The fraction's digits."""

    @classmethod
    def at(cls, lo: int, fraction: int, ints: Integers) -> Stamp:
        """The stamp whose 14 digits (and `fraction` more) start at digit column `lo`."""
        frac = ints.add(lo + 14, lo + 14 + fraction) if fraction else -1
        return cls(ints.add(lo, lo + 12), ints.add(lo + 12, lo + 14), frac, fraction)


@dataclass(frozen=True, slots=True, eq=False)
class Plan:
    """How to read one layout: its integers, fields, stamp and rank, and the label digits to check."""

    reader: Reader
    step: int
    """Index of the step's integer; -1 when `counters` computes it."""
    total: int
    """-1: none."""
    fields: tuple[Field, ...]
    literal: tuple[tuple[np.ndarray, np.ndarray], ...]
    """Label digits (byte columns of the line, their bytes) that must be those of the layout's example."""
    time: Stamp | None = None
    rank: int = -1
    constants: tuple[tuple[str, float], ...] = ()
    """Metrics every row of the layout prints as the same word (`grad norm: nan`), with their value."""
    counted: tuple[tuple[str, int], ...] = ()
    """The integers `counters` reads, by its names for them."""
    counters: Counters | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Columns:
    """What one layout's rows hold: step, total (-1: none), metrics, times and ranks (None: not stated)."""

    step: np.ndarray
    total: np.ndarray
    metrics: dict[str, np.ndarray]
    inexact: np.ndarray
    """Rows with a number this path cannot give exactly (an exponent beyond ±22 decimals, a date that is no
    real local time, counters past int32): left to the per-line parser."""
    times: np.ndarray | None
    ranks: np.ndarray | None


def values(plan: Plan, digits: np.ndarray, omit: frozenset[str]) -> Columns:
    """The columns of rows of one layout, from their digit bytes (rows × digit columns, `0`–`9`)."""
    k = digits.shape[0]
    ints = plan.reader.read(digits)
    step = ints[plan.step].astype(np.int64) if plan.step >= 0 else np.empty(k, np.int64)
    total = ints[plan.total].astype(np.int64) if plan.total >= 0 else np.full(k, -1, np.int64)
    inexact = np.zeros(k, bool)
    out: dict[str, np.ndarray] = {}
    for f in plan.fields:
        if f.metric in omit:
            continue
        if f.text is not None:
            v = _by_text(digits[:, f.lo : f.hi], f.text)
        elif f.exponent < 0:
            v = ints[f.value] / f.divisor
        else:
            power = f.exp_sign * ints[f.exponent].astype(np.int64) - f.decimals
            inexact |= np.abs(power) >= _POW10.size
            power = np.clip(power, 1 - _POW10.size, _POW10.size - 1)
            m = ints[f.value]
            v = np.where(power >= 0, m * _POW10[np.maximum(power, 0)], m / _POW10[np.maximum(-power, 0)])
        out[f.metric] = _scaled(v if f.sign > 0 else -v, f.scale)
    for metric, value in plan.constants:
        if metric not in omit:
            out[metric] = np.full(k, value)
    if plan.counters is not None:  # the format's own computation, over columns (runwatch.parsers.learned.Counters)
        counted = {name: ints[i].astype(np.int64) for name, i in plan.counted}
        for c in counted.values():
            inexact |= c >= 2**31  # products of such would overflow int64, not Python's ints
        got_step, got_total, derived, ok = plan.counters.read(counted)
        step[:] = got_step
        if got_total is not None:
            total[:] = got_total
        out.update((m, np.asarray(v, np.float64)) for m, v in derived.items() if m not in omit)
        inexact |= ~np.asarray(ok, bool)  # no step for the per-line parser either: it reads them
    times = None
    if plan.time is not None:
        times, bad = _times(ints, plan.time)
        inexact |= bad
    ranks = ints[plan.rank].astype(np.int64) if plan.rank >= 0 else None
    return Columns(step, total, out, inexact, times, ranks)


def _times(ints: np.ndarray, stamp: Stamp) -> tuple[np.ndarray, np.ndarray]:
    """Unix seconds of local stamps, and which rows are no real time (left to the per-line parser, which
    reads no record from them).

    As runwatch.parsers.fields.local_time reads one: the local start of the
    stamp's minute (one datetime per distinct minute, checked to have one UTC
    offset throughout), its seconds added, then the fraction's digits over
    their power of ten; each an exact or one correctly rounded operation, so
    the same float.
    """
    minute, seconds = ints[stamp.minute], ints[stamp.seconds]
    t = np.empty(seconds.size)
    bad = seconds > 59
    for group in groups(minute):
        start = minute_start(int(minute[group[0]]))
        if start is None:
            bad[group] = True
        else:
            t[group] = start + seconds[group]
    if stamp.fraction >= 0:
        t = t + ints[stamp.fraction] / 10.0**stamp.digits
    return t, bad


@lru_cache(maxsize=4096)
def minute_start(minute: int) -> float | None:
    """Unix seconds of the local minute YYYYMMDDhhmm, None if it is no real time or its UTC offset changes
    within it (then each second of it is left to the per-line parser)."""
    text = str(minute).zfill(12)
    stamp = f"{text[0:4]}-{text[4:6]}-{text[6:8]} {text[8:10]}:{text[10:12]}:"
    try:
        start = local_seconds(stamp + "00")
        if local_seconds(stamp + "59") != start + 59:
            return None
    except ValueError:
        return None
    return start


def groups(keys: np.ndarray) -> list[np.ndarray]:
    """Positions of equal keys, each group ascending (np.unique would import numpy.ma: 70 ms)."""
    order = np.argsort(keys, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(keys[order])) + 1)


def _by_text(digits: np.ndarray, shape: bytes) -> np.ndarray:
    """float() of each row's number: its digit bytes (rows × digits) put back into the number's shape."""
    template = np.frombuffer(shape, np.uint8)
    rows = np.tile(template, (digits.shape[0], 1))
    rows[:, template == 48] = digits
    texts = rows.view(f"S{len(shape)}").ravel().tolist()
    if b"," in shape:  # thousands separators, as the parsers read them
        texts = [t.replace(b",", b"") for t in texts]
    return np.array([float(t) for t in texts], np.float64)


def _scaled(v: np.ndarray, scale: float) -> np.ndarray:
    if scale > 0:
        return v if scale == 1.0 else v * scale
    return v / -scale

