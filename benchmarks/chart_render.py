"""Chart render time at 160×48: 8 charts of 100k points each (issue 5's yardstick).

A 160×48 frame with a 4×2 grid of charts gives each chart about 38×22 cells.
Measured, per full frame (all 8 charts), median of `--repeat` runs:

  engine   Series.columns(): 100k points → min/max per braille column (what
           the engine does to fill ChartData; the TUI never sees 100k points)
  braille  runwatch's LineChart on those columns, rendered to segments
  frame    engine + braille: what one chart refresh costs the TUI process
  plotext  textual-plotext's render path (plotsize, build, Text.from_ansi),
           given all 100k points as its widget would be, and given the same
           downsampled columns, for a fair comparison of the drawing alone

Goal: a full frame under 50 ms.

    python benchmarks/chart_render.py [--points N] [--repeat R]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from rich.console import Console
from rich.text import Text

from runwatch.state.series import Series
from runwatch.tui.renderables.linechart import Line, LineChart

CHARTS = 8
CHART_W, CHART_H = 38, 22  # 160×48 less header/footer, 4 columns × 2 rows, less borders
COLUMNS = 2 * (CHART_W - 6)


def make_series(points: int, seed: int) -> tuple[np.ndarray, np.ndarray, Series]:
    rng = np.random.default_rng(seed)
    x = np.arange(1, points + 1, dtype=np.float64)
    y = 2.3 + 4.5 * np.exp(-x / (points / 8)) + 0.05 * rng.standard_normal(points)
    y[points // 3] = np.nan
    y[points // 2] = 9.0
    series = Series()
    for xi, yi in zip(x.tolist(), y.tolist(), strict=True):
        series.append(xi, yi, 0.0)
    return x, y, series


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median milliseconds of `repeat` calls."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()

    print(f"building {CHARTS} series of {args.points:,} points…", flush=True)
    data = [make_series(args.points, seed) for seed in range(CHARTS)]
    console = Console(width=CHART_W, height=CHART_H, color_system="truecolor", file=open("/dev/null", "w"))
    options = console.options.update_dimensions(CHART_W, CHART_H)

    def engine() -> list[Line]:
        lines = []
        for _, _, s in data:
            c = s.columns(COLUMNS)
            ymin = np.where(c.nan > 0, np.nan, c.ymin)
            ymax = np.where(c.nan > 0, np.nan, c.ymax)
            lines.append(Line(c.x, ymin, ymax, c.ylast))
        return lines

    cols = engine()

    def braille() -> None:
        for line in cols:
            console.render_lines(LineChart([line], CHART_W, CHART_H), options)

    def frame() -> None:
        for line in engine():
            console.render_lines(LineChart([line], CHART_W, CHART_H), options)

    results = {
        "engine (8 × Series.columns)": timed(engine, args.repeat),
        "braille (8 × LineChart render)": timed(braille, args.repeat),
        "frame = engine + braille": timed(frame, args.repeat),
    }
    try:
        from textual_plotext.plot import Plot
    except ImportError:
        print("textual-plotext not installed: pip install textual-plotext to compare")
    else:
        def plotext(raw: bool) -> Callable[[], None]:
            def run() -> None:
                for (x, y, _), line in zip(data, cols, strict=True):
                    plot = Plot()
                    if raw:
                        plot.plot(x.tolist(), y.tolist(), marker="braille")
                    else:
                        plot.plot(line.x.tolist(), line.ylast.tolist(), marker="braille")
                    plot.plotsize(CHART_W, CHART_H)
                    console.render_lines(Text.from_ansi(plot.build()), options)
            return run

        results[f"textual-plotext, {args.points:,} raw points"] = timed(plotext(True), max(1, args.repeat // 10))
        results["textual-plotext, downsampled columns"] = timed(plotext(False), args.repeat)
    width = max(len(k) for k in results)
    print(f"{CHARTS} charts of {args.points:,} points at {CHART_W}×{CHART_H} cells each (160×48 frame), "
          f"median ms per full frame:")
    for name, ms in results.items():
        print(f"  {name:<{width}}  {ms:8.1f} ms")
    ok = results["frame = engine + braille"] < 50
    print(f"goal < 50 ms a full frame: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
