"""Braille rasterising: min/max columns of a series to braille cells, with numpy.

A braille cell is 2×4 dots, so a chart of C×R cells has 2C×4R "pixels". Each
data column becomes a vertical span (its min..max: spikes survive any
downsampling) plus a stroke joining the columns' last values; NaN/Inf columns
become markers instead of gaps. Pure functions on arrays: no Rich, no Textual.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from runwatch.model import ChartData

DOT_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.int64)
"""Braille dot bits by (row within cell, column within cell), row 0 on top."""
GLYPHS = np.array([" "] + [chr(0x2800 + i) for i in range(1, 256)])
"""Code → glyph; an empty cell is a plain space (copies and pastes cleanly)."""


@dataclass(frozen=True, slots=True)
class Line:
    """One series to draw: per-column min/max/last, as `ChartData` carries them."""

    x: np.ndarray
    ymin: np.ndarray
    ymax: np.ndarray
    ylast: np.ndarray
    style: str = "cyan"
    label: str = ""
    nonfinite: np.ndarray | None = None
    """NaN/Inf points folded into each column; a column with any is marked even when its
    min/max (which ignore NaN) are finite."""

    @classmethod
    def from_chart(cls, data: ChartData, style: str = "cyan", label: str | None = None) -> Line:
        nonfinite = None if data.nonfinite is None else np.asarray(data.nonfinite, np.int64)
        return cls(np.asarray(data.x, np.float64), np.asarray(data.ymin, np.float64),
                   np.asarray(data.ymax, np.float64), np.asarray(data.ylast, np.float64),
                   style, data.metric if label is None else label, nonfinite)

    @classmethod
    def from_points(cls, x: Sequence[float], y: Sequence[float], style: str = "cyan", label: str = "") -> Line:
        ya = np.asarray(y, np.float64)
        return cls(np.asarray(x, np.float64), ya, ya, ya, style, label)


@dataclass(frozen=True, slots=True)
class Frame:
    """Where data lands: value ranges (after the log transform) and the plot's cell size."""

    xlo: float
    xhi: float
    ylo: float
    yhi: float
    cols: int
    rows: int


GAP_SPACINGS = 4.0
"""With `breaks`, the stroke is not drawn across a stretch this many times wider than the line's usual
distance between two points (and 3 pixel columns at least)."""


def line_codes(ln: Line, f: Frame, tf: Callable[[np.ndarray], np.ndarray], *,
               breaks: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """One line's braille codes: (envelope, stroke).

    The envelope is each column's min..max span, so spikes in downsampled data
    stay visible; the stroke joins the columns' last values without gaps, so
    the trend reads as a line even through noise; with `breaks` (a wall-time
    axis) except across a stretch where no point fell, far longer than the
    line's usual spacing: a hang shows as a hole.
    """
    pw, ph = f.cols * 2, f.rows * 4
    env_lo, env_hi = np.full(pw, np.inf), np.full(pw, -np.inf)
    line_lo, line_hi = np.full(pw, np.inf), np.full(pw, -np.inf)
    if len(ln.x):
        px = np.rint((ln.x - f.xlo) / (f.xhi - f.xlo) * (pw - 1))
        scale = (ph - 1) / (f.yhi - f.ylo)
        ymin, ymax, ylast = ((tf(a) - f.ylo) * scale for a in (ln.ymin, ln.ymax, ln.ylast))
        span = np.isfinite(px) & np.isfinite(ymin) & np.isfinite(ymax)
        ix = px[span].astype(np.int64).clip(0, pw - 1)
        np.minimum.at(env_lo, ix, ymin[span])
        np.maximum.at(env_hi, ix, ymax[span])
        good = np.isfinite(px) & np.isfinite(ylast)
        if good.sum() >= 2:
            gx, gy = px[good], ylast[good]
            cols = np.arange(int(max(0, gx[0])), int(min(pw - 1, gx[-1])) + 1)
            yl = np.interp(cols, gx, gy)
            before = np.r_[yl[0], (yl[:-1] + yl[1:]) / 2]
            after = np.r_[(yl[:-1] + yl[1:]) / 2, yl[-1]]
            line_lo[cols] = np.minimum(yl, np.minimum(before, after))
            line_hi[cols] = np.maximum(yl, np.maximum(before, after))
            if breaks:
                _break_gaps(gx, line_lo, line_hi)
        elif good.sum() == 1:
            c = int(np.clip(px[good][0], 0, pw - 1))
            line_lo[c] = line_hi[c] = ylast[good][0]
    return cells(env_lo, env_hi, f), cells(line_lo, line_hi, f)


def _break_gaps(gx: np.ndarray, line_lo: np.ndarray, line_hi: np.ndarray) -> None:
    """Blank the stroke strictly between two neighbouring points much farther apart than usual."""
    step = np.diff(gx)
    if not len(step):
        return
    usual = float(np.median(step[step > 0])) if (step > 0).any() else 1.0
    for i in np.flatnonzero(step > max(3.0, GAP_SPACINGS * usual)).tolist():
        lo, hi = int(gx[i]) + 1, int(gx[i + 1])
        line_lo[lo:hi], line_hi[lo:hi] = np.inf, -np.inf


def cells(lo: np.ndarray, hi: np.ndarray, f: Frame) -> np.ndarray:
    """Braille codes of the pixel spans lo..hi per pixel column (row 0 at the bottom)."""
    ph = f.rows * 4
    drawn = np.isfinite(lo)
    lo_i = np.where(drawn, np.floor(np.clip(lo, -1, ph) + 0.5), ph + 1)
    hi_i = np.where(drawn, np.floor(np.clip(hi, -1, ph) + 0.5), -1)
    rows = np.arange(ph - 1, -1, -1)[:, None]  # top pixel row first
    mask = (rows >= lo_i[None, :]) & (rows <= hi_i[None, :])
    dots = mask.reshape(f.rows, 4, f.cols, 2).transpose(0, 2, 1, 3).reshape(f.rows, f.cols, 8)
    codes: np.ndarray = dots.astype(np.int64) @ DOT_BITS.ravel()
    return codes


def nonfinite_columns(ln: Line) -> np.ndarray:
    bad = ~np.isfinite(ln.ymin) | ~np.isfinite(ln.ymax) | ~np.isfinite(ln.ylast)
    if ln.nonfinite is not None and len(ln.nonfinite) == len(bad):
        bad |= ln.nonfinite > 0
    shown: np.ndarray = bad & np.isfinite(ln.x)
    return shown


def add_marks(ln: Line, f: Frame, marks: dict[int, dict[int, str]]) -> None:
    """A red dotted column where a column held NaN/Inf, with ×, ↑ or ↓ at the top."""
    bad = nonfinite_columns(ln)
    if not bad.any():
        return
    pinf = np.isposinf(ln.ymax) | np.isposinf(ln.ylast)
    ninf = np.isneginf(ln.ymin) | np.isneginf(ln.ylast)
    nan = bad & ~pinf & ~ninf  # whatever else made the column non-finite was a NaN
    where = (np.rint((ln.x[bad] - f.xlo) / (f.xhi - f.xlo) * (f.cols * 2 - 1)).astype(np.int64) // 2)
    where = where.clip(0, f.cols - 1)
    tops = np.where(nan[bad], "×", np.where(pinf[bad], "↑", "↓"))
    top_row = marks.setdefault(0, {})
    for col, top in zip(where.tolist(), tops.tolist(), strict=True):
        if top_row.get(col) != "×":  # a NaN outranks an Inf in the same column
            top_row[col] = top
        for r in range(1, f.rows):
            marks.setdefault(r, {}).setdefault(col, "┆")
