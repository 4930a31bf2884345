"""A braille line chart with axes, drawn from min/max columns with numpy.

Why our own and not plotext: the engine already hands us at most a few hundred
min/max columns per chart (`ChartData`), so drawing is a few vectorised array
operations and one string join per row — ~1 ms a chart, where plotext re-lays
out every point in Python (see benchmarks/chart_render.py). Min/max columns are
drawn as vertical spans, so a one-step spike in 100k points stays visible, and
non-finite values are drawn as red markers instead of being skipped: a NaN is
the thing a person most needs to see.

The class is a plain Rich renderable of a fixed size; the widget decides the size.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from runwatch.tui.renderables.braille import GLYPHS, Frame, add_marks, line_codes, nonfinite_columns
from runwatch.tui.renderables.braille import Line as Line  # re-exported: part of LineChart's API
from runwatch.tui.renderables.ticks import (
    log_ticks,
    nice_step,
    nice_ticks,
    step_label,
    step_ticks,
    tick_label,
    time_ticks,
)
from runwatch.yrange import WARMUP_SHARE, robust_range

MARK_STYLE = "bold red"
CLIP_STYLE = "bold yellow"
AXIS_STYLE = "bright_black"
_MARKER = -2
_CLIPPED = -3
_NEWLINE = Segment.line()
Run = tuple[str, str]
"""Text and the name of its style."""


@functools.lru_cache(maxsize=64)
def _parse_style(name: str) -> Style | None:
    return Style.parse(name) if name else None


class LineChart:
    """Lines over a shared x (step) axis, with y tick labels on the left and steps below.

    `log` draws log10 of the values; values <= 0 then have no place and are left out.
    `y_range` pins the y axis (the compare view shares one across runs).

    The y axis is scaled to what the run does after its warm-up (`WARMUP_SHARE` of the x range) when
    the warm-up alone would stretch it (`ROBUST_GAIN`); columns beyond the axis are drawn to its edge
    with a ▲ or ▼ (yellow: off scale, not bad) and `off_scale` holds their extreme values for the
    title. `full_range` scales to every value instead.
    """

    def __init__(self, lines: Sequence[Line], width: int, height: int, *, log: bool = False,
                 y_range: tuple[float, float] | None = None, empty: str = "no data yet",
                 full_range: bool = False, seconds: bool = False, wall_time: bool = False,
                 until: float | None = None) -> None:
        self.lines = list(lines)
        self.width = max(1, width)
        self.height = max(1, height)
        self.log = log
        self.y_range = y_range
        self.empty = empty
        self.full_range = full_range
        self.seconds = seconds
        """Values are seconds: ticks read `200ms` below 10 s and `15s` above, as the title does."""
        self.wall_time = wall_time
        """x is wall time: ticks count back from the newest point, and a line breaks where no point fell
        for a while (a hang is a hole, not a straight line across it)."""
        self.until = until
        """Wall time: the x axis runs at least to this time (now, for a run still going)."""
        self.off_scale: tuple[float | None, float | None] = (None, None)
        """The highest value above and the lowest below the drawn y axis (real units), when any."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        # Segments straight from the runs: building Rich `Text` first costs 3× the drawing itself.
        rows = self.runs()
        for i, row in enumerate(rows):
            for text, style in row:
                yield Segment(text, _parse_style(style))
            if i < len(rows) - 1:
                yield _NEWLINE

    def render_rows(self) -> list[Text]:
        """The chart as `height` lines of `width` cells (as `Text`, for tests and plain output)."""
        return [Text.assemble(*row, no_wrap=True, end="") for row in self.runs()]

    def runs(self) -> list[list[Run]]:
        """The chart as `height` rows of (text, style) runs, `width` cells each."""
        xlabels = self.height >= 4
        plot_rows = self.height - (1 if xlabels else 0)
        yl = self.y_limits()
        ticks, labels = self._yticks(yl, plot_rows)
        if yl is None and any(nonfinite_columns(ln).any() for ln in self.lines):
            yl = (0.0, 1.0)  # nothing finite to scale by, but the NaN markers must show
        lw = max((len(s) for s in labels), default=0)
        cols = self.width - lw - 1
        if cols < 4 or yl is None:
            return self._blank(plot_rows, xlabels)
        frame = Frame(*self._xlim(), *yl, cols, plot_rows)
        codes, owner, marks = self._raster(frame)
        tick_rows = {self._row_of(t, frame): s for t, s in zip(ticks, labels, strict=True)}
        out = self._rows(codes, owner, marks, tick_rows, lw)
        if xlabels:
            out.append([self._xaxis(frame, lw)])
        return out

    # -- ranges and ticks -------------------------------------------------------------

    def _tf(self, v: np.ndarray) -> np.ndarray:
        if not self.log:
            return v
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(v > 0, np.log10(np.where(v > 0, v, 1.0)), np.nan)

    def y_limits(self) -> tuple[float, float] | None:
        """The y axis (in drawn units); sets `off_scale`. None when there is nothing finite to scale by."""
        self.off_scale = (None, None)
        if self.y_range is not None:
            lo, hi = (float(v) for v in self._tf(np.asarray(self.y_range, np.float64)))
        else:
            found = self._value_range(0.0 if self.full_range else WARMUP_SHARE)
            if found is None:
                return None
            lo, hi = found
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return None
        if hi <= lo:
            pad = abs(lo) * 0.05 or 0.5
            return lo - pad, hi + pad
        pad = (hi - lo) * 0.04
        return lo - pad, hi + pad

    def _value_range(self, warmup: float) -> tuple[float, float] | None:
        """(lo, hi) of the drawn values; without the first `warmup` of the x range when that narrows it
        by `ROBUST_GAIN` (and notes what then lies off scale): runwatch.yrange, as `runwatch report` draws."""
        found = robust_range([(ln.x, [self._tf(a) for a in (ln.ymin, ln.ymax)]) for ln in self.lines], warmup)
        if found is None:
            return None
        self.off_scale = (None if found.above is None else self._real(found.above),
                          None if found.below is None else self._real(found.below))
        return found.lo, found.hi

    def _real(self, v: float) -> float:
        return 10.0 ** v if self.log else v

    def _xlim(self) -> tuple[float, float]:
        xs = [ln.x[np.isfinite(ln.x)] for ln in self.lines if len(ln.x)]
        allx = np.concatenate(xs) if xs else np.empty(0)
        if not len(allx):
            return 0.0, 1.0
        lo, hi = float(allx.min()), float(allx.max())
        if self.wall_time and self.until is not None and self.until > hi:
            hi = self.until
        return (lo, hi) if hi > lo else (lo - 0.5, lo + 0.5)

    def _yticks(self, yl: tuple[float, float] | None, rows: int) -> tuple[list[float], list[str]]:
        """Tick positions (in drawn, possibly log, units) and their labels (in real units)."""
        if yl is None:
            return [], []
        most = max(2, rows // 2 + 1)
        if self.log and yl[1] - yl[0] >= 1.0:
            exps = log_ticks(yl[0], yl[1], most)
            return exps, [tick_label(10.0 ** e, 10.0 ** math.floor(e + 1e-9)) for e in exps]
        lo, hi = (10 ** yl[0], 10 ** yl[1]) if self.log else yl
        step = nice_step(hi - lo, most)
        real = [t for t in nice_ticks(lo, hi, most) if t > 0 or not self.log]
        pos = [math.log10(t) for t in real] if self.log else real
        if self.seconds:
            mult, unit = (1000.0, "ms") if hi < 10 else (1.0, "s")
            return pos, [tick_label(t * mult, step * mult) + unit for t in real]
        return pos, [tick_label(t, step) for t in real]

    @staticmethod
    def _row_of(y: float, f: Frame) -> int:
        py = (y - f.ylo) / (f.yhi - f.ylo) * (f.rows * 4 - 1)
        return f.rows - 1 - int(py // 4)

    # -- rasterising --------------------------------------------------------------------

    def _raster(self, f: Frame) -> tuple[np.ndarray, np.ndarray, dict[int, dict[int, str]]]:
        """Braille codes and the owning line per cell, plus non-finite markers per row/column."""
        codes = np.zeros((f.rows, f.cols), np.int64)
        owner = np.full((f.rows, f.cols), -1, np.int64)
        marks: dict[int, dict[int, str]] = {}
        n = len(self.lines)
        for i, ln in enumerate(self.lines):
            env, stroke = line_codes(ln, f, self._tf, breaks=self.wall_time)
            codes |= env | stroke
            owner[env != 0] = i + n  # envelope only: the dim shade of the line's colour
            owner[stroke != 0] = i
            add_marks(ln, f, marks)
            self._clip_marks(ln, f, marks)
        return codes, owner, marks

    def _clip_marks(self, ln: Line, f: Frame, marks: dict[int, dict[int, str]]) -> None:
        """▲ on the top row over columns with values above the axis, ▼ on the bottom row below it."""
        if len(ln.x) != len(ln.ymax):
            return
        with np.errstate(invalid="ignore"):
            above = np.isfinite(ln.ymax) & (self._tf(ln.ymax) > f.yhi)
            below = np.isfinite(ln.ymin) & (self._tf(ln.ymin) < f.ylo)
        for mask, row, glyph in ((above, 0, "▲"), (below, f.rows - 1, "▼")):
            if not mask.any():
                continue
            cols = (np.rint((ln.x[mask] - f.xlo) / (f.xhi - f.xlo) * (f.cols * 2 - 1)).astype(np.int64) // 2)
            for col in cols.clip(0, f.cols - 1).tolist():
                marks.setdefault(row, {}).setdefault(col, glyph)

    def _rows(self, codes: np.ndarray, owner: np.ndarray, marks: dict[int, dict[int, str]],
              tick_rows: dict[int, str], lw: int) -> list[list[Run]]:
        """Glyph rows cut into runs of one style; a blank cell joins the run before it."""
        chars = GLYPHS[codes]
        owner = owner.copy()
        for r, row_marks in marks.items():
            for col, ch in row_marks.items():
                if ch != "┆" or codes[r, col] == 0:  # the dotted NaN column gives way to the line
                    chars[r, col] = ch
                    owner[r, col] = _CLIPPED if ch in "▲▼" else _MARKER
        cols = owner.shape[1]
        last_drawn = np.where(owner != -1, np.arange(cols)[None, :], 0)
        np.maximum.accumulate(last_drawn, axis=1, out=last_drawn)
        filled = np.take_along_axis(owner, last_drawn, axis=1)
        n = len(self.lines)
        styles = {-1: "", _MARKER: MARK_STYLE, _CLIPPED: CLIP_STYLE}
        styles.update({i: ln.style for i, ln in enumerate(self.lines)})
        styles.update({i + n: f"dim {ln.style}" for i, ln in enumerate(self.lines)})
        out: list[list[Run]] = []
        for r in range(owner.shape[0]):
            tick = tick_rows.get(r)
            out.append([((tick or "").rjust(lw) + ("┤" if tick else "│"), AXIS_STYLE)])
        # All runs of the whole plot at once: where the style changes, row by row.
        change = np.ones_like(filled, dtype=bool)
        change[:, 1:] = filled[:, 1:] != filled[:, :-1]
        rr, cc = np.nonzero(change)
        starts = (rr * cols + cc).tolist()
        ends = [*starts[1:], filled.size]
        text = "".join(chars.ravel().tolist())
        for r, a, b, o in zip(rr.tolist(), starts, ends, filled[rr, cc].tolist(), strict=True):
            out[r].append((text[a:b], styles[o]))
        return out

    def _xaxis(self, f: Frame, lw: int) -> Run:
        line = [" "] * f.cols
        if self.wall_time:
            labelled = time_ticks(f.xlo, f.xhi, max(2, f.cols // 8))
        else:
            ticks = step_ticks(f.xlo, f.xhi, max(2, f.cols // 8))
            spacing = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0  # one tick: to the step (1.234567M)
            labelled = [(t, step_label(t, spacing)) for t in ticks]
        last_end = -2
        for t, s in labelled:
            col = int(round((t - f.xlo) / (f.xhi - f.xlo) * (f.cols * 2 - 1))) // 2
            start = min(max(0, col - len(s) // 2), f.cols - len(s))
            if start <= last_end + 1 or start < 0:
                continue
            line[start:start + len(s)] = s
            last_end = start + len(s) - 1
        return " " * (lw + 1) + "".join(line), AXIS_STYLE

    def _blank(self, plot_rows: int, xlabels: bool) -> list[list[Run]]:
        rows: list[list[Run]] = [[(" " * self.width, "")] for _ in range(plot_rows + (1 if xlabels else 0))]
        rows[len(rows) // 2] = [(self.empty[: self.width].center(self.width), "dim")]
        return rows
