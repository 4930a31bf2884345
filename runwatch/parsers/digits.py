"""Numbers from digit columns: every number of a layout, for all its rows at once, as float() reads each.

The columnar fast path (runwatch.parsers.columnar) has the rows of one layout
as a uint8 matrix, a column per digit of the layout. Each number of the
layout is an integer over some of those columns (its digits without the dot:
`5361.6` → 53616) divided by a power of ten, times the parser's unit factor.

The integers come from one matrix product, not one small product per number:
the digits (0–9) in float32, times a matrix of powers of ten that sums them in
*pieces* of at most seven digits; a number of more digits (up to 15) joins its
pieces in float64. A piece is below 2**24 and a number below 2**53, so every
product and partial sum is an exact integer in its type, whatever order the
BLAS adds in. A value is then one correctly rounded division by a power of
ten, i.e. exactly `float(text)`, and unit conversions repeat the per-line
parser's own arithmetic: the columns are bit-identical to the per-line
parser's values. The float32 matrix is half the memory of float64 digits, and
one product replaces a product per number (a Megatron line holds a dozen
numbers, a hundred digits). A mantissa of 16 to 18 digits (Python's repr of a
float) is two such integers, joined and scaled in long double (`_wide`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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
_WIDE = 18
"""Digits of the longest mantissa read in extended precision (`_wide`): below 2**63."""
_EXTENDED = np.finfo(np.longdouble).nmant >= 63
"""Whether long double holds a 64-bit mantissa (x86's 80-bit, or quad): else wide numbers are read by float()."""


def _powers(n: int) -> np.ndarray:
    """10**0 … 10**(n-1) in long double, each exact (10**27 = 2**27 × 5**27, and 5**27 < 2**63)."""
    out = np.ones(n, np.longdouble)
    for k in range(1, n):
        out[k] = out[k - 1] * 10
    return out


_POW10_LONG = _powers(28)


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
        pieces: list[tuple[int, int]] = []
        first: list[int] = []
        more: list[tuple[int, int, float]] = []
        for i, (lo, hi) in enumerate(self._runs):
            bounds = [lo, *range(hi - _PIECE, lo, -_PIECE)[::-1], hi]  # pieces of seven from the right
            for a, b in zip(bounds, bounds[1:], strict=False):
                if a == lo:
                    first.append(len(pieces))
                else:
                    more.append((i, len(pieces), 10.0 ** (b - a)))
                pieces.append((a, b))
        weights = np.zeros((self.columns, len(pieces)), np.float32)
        for p, (lo, hi) in enumerate(pieces):
            weights[lo:hi, p] = 10.0 ** np.arange(hi - lo - 1, -1, -1)
        return Reader(weights, np.array(first, np.intp), tuple(more))


@dataclass(frozen=True, slots=True, eq=False)
class Reader:
    """A product that turns rows of digit bytes into a layout's integers (see the module notes)."""

    weights: np.ndarray
    """Digit columns × pieces, float32: each piece's powers of ten."""
    first: np.ndarray
    """Each integer's most significant piece."""
    more: tuple[tuple[int, int, float], ...]
    """(integer, piece, 10**digits of the piece), in order: the integer is itself times that, plus the piece."""

    def read(self, digits: np.ndarray) -> np.ndarray:
        """The integers (integers × rows, float64, exact) of rows of digit bytes (rows × columns, `0`–`9`).

        The product is a stack of products of `m` rows, few enough that
        OpenBLAS computes each in this thread (numpy loops over them in C): it
        hands a larger one to a thread per core, whose spinning on a busy
        machine (a training node; the shared benchmark host) cost more than
        the product (a chunk of Megatron rows took 2× longer in all).
        """
        k, d = digits.shape
        n = self.weights.shape[1]
        m = max(1, _ONE_THREAD // (d * n or 1))
        block = max(m, _SUB_ROWS // m * m)
        pieces = np.empty((-(-k // m) * m, n), np.float32)
        buf = np.empty((min(block, pieces.shape[0]), d), np.float32)
        for lo in range(0, k, block):
            hi = min(k, lo + block)
            sub = buf[: -(-(hi - lo) // m) * m]
            np.subtract(digits[lo:hi], 48, out=sub[: hi - lo], dtype=np.float32)
            sub[hi - lo :] = 0.0
            np.matmul(sub.reshape(-1, m, d), self.weights, out=pieces[lo : lo + sub.shape[0]].reshape(-1, m, n))
        ints = pieces[:k, self.first].T.astype(np.float64)
        for i, p, shift in self.more:
            ints[i] *= shift
            ints[i] += pieces[:k, p]
        return ints


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
    high: int = -1
    """For a mantissa of more digits than float64 holds exactly (Python's repr of a float: `83.48609168106144`),
    up to `_WIDE`: the index of its first digits' integer, `value` that of its last 15 (see `_wide`)."""
    text: bytes | None = None
    """The number's shape, for rows whose value is float() of the text rebuilt from digit columns lo..hi into
    it, as the per-line parser reads it (a few hundred ns a value): all rows of a mantissa of more than
    `_WIDE` digits, or where long double is no wider than double; rows `_wide` cannot round exactly."""
    lo: int = 0
    hi: int = 0

    @classmethod
    def of(cls, metric: str, scale: float, text: bytes, lo: int, hi: int, ints: Integers) -> Field:
        """The field whose shape is `text` (`0` digits, maybe a sign and `e±` exponent) at digit columns
        lo..hi."""
        sign = -1.0 if text[:1] == b"-" else 1.0
        e = max(text.find(b"e"), text.find(b"E"))
        mantissa, exponent = (text, b"") if e < 0 else (text[:e], text[e + 1:])
        split = lo + mantissa.count(b"0")
        dot = mantissa.find(b".")
        decimals = 0 if dot < 0 else len(mantissa) - dot - 1
        wide = split - lo > MAX_DIGITS
        if hi - split > MAX_DIGITS or (wide and (split - lo > _WIDE or not _EXTENDED)):
            return cls(metric, -1, scale=scale, text=text, lo=lo, hi=hi)
        value = ints.add(split - MAX_DIGITS if wide else lo, split)
        return cls(metric, value, 10.0**decimals, scale, sign, ints.add(split, hi) if exponent else -1,
                   -1 if exponent[:1] == b"-" else 1, decimals, ints.add(lo, split - MAX_DIGITS) if wide else -1,
                   text if wide else None, lo, hi)


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
        if f.value < 0:
            v = _by_text(digits[:, f.lo : f.hi], f.text or b"")
        elif f.high >= 0:
            power = (f.exp_sign * ints[f.exponent] if f.exponent >= 0 else 0.0) - f.decimals
            v = _wide(ints[f.high], ints[f.value], power, digits, f)
        elif f.exponent < 0:
            v = ints[f.value] / f.divisor
        else:
            v = _scientific(ints[f.value], f.exp_sign * ints[f.exponent] - f.decimals, inexact)
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


def _scientific(m: np.ndarray, power: np.ndarray, inexact: np.ndarray) -> np.ndarray:
    """m × 10**power, one correctly rounded operation each; rows with |power| beyond `_POW10` marked inexact.
    Most rows of a layout share their exponent (`E+00`): then it is one operation on the column."""
    low, high = int(power.min()), int(power.max())
    if low == high and abs(low) < _POW10.size:
        same: np.ndarray = m * _POW10[low] if low >= 0 else m / _POW10[-low]
        return same
    p = power.astype(np.int64)
    inexact |= np.abs(p) >= _POW10.size
    p = np.clip(p, 1 - _POW10.size, _POW10.size - 1)
    got: np.ndarray = np.where(p >= 0, m * _POW10[np.maximum(p, 0)], m / _POW10[np.maximum(-p, 0)])
    return got


def _wide(high: np.ndarray, low: np.ndarray, power: np.ndarray | float, digits: np.ndarray, f: Field) -> np.ndarray:
    """(high × 10**15 + low) × 10**power as float() reads the text, for mantissas of 16 to 18 digits.

    The mantissa is exact in long double (below 2**63), and so is 10**|power|
    up to 27: their product or quotient is one correctly rounded operation to
    64 bits, and rounding that to double gives the correctly rounded double
    unless it lies exactly halfway between two doubles (the two roundings
    could then differ from one): such rows, and powers beyond 27, are read
    from their text.
    """
    m = high.astype(np.longdouble) * _POW10_LONG[MAX_DIGITS] + low.astype(np.longdouble)
    p = np.broadcast_to(np.asarray(power, np.float64), m.shape).astype(np.int64)
    far = np.abs(p) >= _POW10_LONG.size
    p = np.clip(p, 1 - _POW10_LONG.size, _POW10_LONG.size - 1)
    q = np.where(p >= 0, m * _POW10_LONG[np.maximum(p, 0)], m / _POW10_LONG[np.maximum(-p, 0)])
    got: np.ndarray = q.astype(np.float64)
    off = np.flatnonzero(q != got)
    near = got[off]
    other = np.nextafter(near, np.where(q[off] > near, np.inf, -np.inf))
    far[off] |= q[off] == (near.astype(np.longdouble) + other.astype(np.longdouble)) / 2
    if far.any():  # the text holds the sign, which the caller applies: taken off here
        got[far] = f.sign * _by_text(digits[far, f.lo : f.hi], f.text or b"")
    return got


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
    ordered = np.sort(minute)
    distinct = ordered[np.flatnonzero(np.diff(ordered, prepend=-1.0))]  # a few per block of rows
    starts = np.array([minute_start(int(m)) for m in distinct.tolist()], np.float64)  # None: NaN
    start = starts[np.searchsorted(distinct, minute)] if distinct.size > 1 else np.full(minute.size, starts[0])
    bad = (seconds > 59) | np.isnan(start)
    t = start + seconds
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

