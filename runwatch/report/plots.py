"""The report's PNG plots, drawn with matplotlib's Agg canvas (no display, no pyplot state).

Only this module imports matplotlib (an import-linter contract says so), and
only `runwatch report` and `runwatch compare` import it, lazily: the live tool
never pays for it. The y axis of every panel is the TUI's (runwatch.yrange: the
run after its warm-up); a value left off it is said in the panel's title, and
every step that logged NaN or Inf is marked with a red cross at the top edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from runwatch.present import fmt_value
from runwatch.report.curves import Curve, curve, first_of
from runwatch.report.document import Image as Plot
from runwatch.report.timing import step_times
from runwatch.report.values import LOSS, LR, THROUGHPUT, VAL
from runwatch.state.run import RunTracker
from runwatch.yrange import YRange, robust_range

DPI = 100
WIDTH_IN = 10.0
LEFT_PX, RIGHT_PX, BOTTOM_PX, TOP_PX, GAP_PX = 85, 20, 48, 24, 64
"""Margins of a figure in pixels: tick labels and the y label left, the x label below, a note above."""
COLUMNS = 1000
"""Entries a curve is drawn from (one per pixel column of a 1000-pixel plot): min/max buckets keep a one-step
spike visible."""
COLOURS = {"loss": "#1f77b4", "val": "#ff7f0e", "lr": "#2ca02c", "grad_norm": "#9467bd", "rate": "#1f77b4",
           "mfu": "#8c564b"}
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
"""Colours of runs or GPUs drawn together (matplotlib's tab10)."""
NONFINITE = "#d62728"
REBUILT = "the sum of the logged step times: the log has no times of its own"
FEW = 60
"""A curve of this many points or fewer (evaluations) is drawn with a dot on each."""
GAP = 10.0
LOG_RATIO = 100.0
"""Runs overlaid whose values (all positive) span this factor or more are drawn on a log y axis."""
SCI_LIMITS = (-2, 5)
"""Tick values below 10⁻² or from 10⁵ up are written as a multiple of a power of ten shown above the axis
(`1e-3`, `1e6`): the learning rate's `0.00075` and a token rate's `1,200,000` pushed the y label off the
figure's left edge."""


def draw_all(tracker: RunTracker, out: Path, *, own_times: bool) -> list[Plot]:
    """Every plot the run has data for, written into `out`."""
    plots = [training_curve(tracker, out), grad_norm(tracker, out), throughput(tracker, out, own_times=own_times)]
    return [p for p in plots if p is not None]


def training_curve(tracker: RunTracker, out: Path) -> Plot | None:
    """`training_curve.png`: loss with the validation loss on top, the learning rate below."""
    loss, val, lr = first_of(tracker, LOSS, COLUMNS), first_of(tracker, VAL, COLUMNS), first_of(tracker, LR, COLUMNS)
    if loss is None and val is None:
        return None
    fig, (top, bottom) = figure(2, 6.0, ratios=(2, 1))
    draw_lines(top, [(c, COLOURS[k]) for c, k in ((loss, "loss"), (val, "val")) if c is not None], "loss")
    if lr is not None:
        draw_lines(bottom, [(lr, COLOURS["lr"])], lr.name, robust=False)
    else:
        bottom.text(0.5, 0.5, "no learning rate logged", ha="center", va="center", transform=bottom.transAxes)
    bottom.set_xlabel("step")
    return save(fig, out, "training_curve.png", "loss and validation loss; learning rate below")


def grad_norm(tracker: RunTracker, out: Path) -> Plot | None:
    c = curve(tracker, "grad_norm", COLUMNS)
    if c is None:
        return None
    fig, (ax,) = figure(1, 3.5)
    draw_lines(ax, [(c, COLOURS["grad_norm"])], "grad norm")
    ax.set_xlabel("step")
    return save(fig, out, "grad_norm.png", "gradient norm")


def throughput(tracker: RunTracker, out: Path, *, own_times: bool) -> Plot | None:
    """Throughput over steps, and over the run's time (where a stall is a gap or a dip); MFU below when
    logged."""
    rate = first_of(tracker, THROUGHPUT, COLUMNS) or curve(tracker, "step_time", COLUMNS)
    if rate is None:
        return None
    mfu = curve(tracker, "mfu", COLUMNS)
    fig, axes = figure(3 if mfu is not None else 2, 8.0 if mfu is not None else 6.0)
    elapsed = None if own_times else summed_step_times(tracker, rate)
    if elapsed is not None:
        times = elapsed
    else:
        times = rate.t - float(np.nanmin(rate.t)) if np.isfinite(rate.t).any() else np.zeros(len(rate))
    scale, unit = time_unit(float(np.nanmax(times)) if np.isfinite(times).any() else 0.0)

    def since(c: Curve) -> np.ndarray:
        return times / scale

    # a bar's printed rate is smoothed (Lightning's: the epoch's mean): after a hang it decays for the rest
    # of the epoch, which read as 50 slow steps where the report counts one stall
    label = rate.name + (" (bar, smoothed)" if rate.name == "step_time" and tracker.progress.bar_clock else "")
    draw_lines(axes[0], [(rate, COLOURS["rate"])], label)
    axes[0].set_xlabel("step")
    draw_lines(axes[1], [(rate, COLOURS["rate"])], label, x_of=since, breaks=True)
    axes[1].set_xlabel(f"{unit} since the first step" + ("" if elapsed is None else f" ({REBUILT})"))
    if mfu is not None:
        draw_lines(axes[2], [(mfu, COLOURS["mfu"])], "MFU %")
        axes[2].set_xlabel("step")
    return save(fig, out, "throughput.png", f"{rate.name} over steps and over time"
                 + ("" if elapsed is None else f" ({REBUILT})") + (", MFU over steps" if mfu is not None else ""))


TIME_UNITS = ((2 * 86_400.0, 86_400.0, "days"), (7_200.0, 3_600.0, "hours"), (120.0, 60.0, "minutes"))
"""(longer than, seconds per unit, unit) of a wall-time axis, the longest first."""


def time_unit(span_s: float) -> tuple[float, str]:
    """The unit an axis of wall time spanning `span_s` seconds is read in, and its length in seconds: a
    few ticks of small numbers (a 7-day run drawn in seconds read `1e6` beside ticks up to 0.6; in days it
    reads 0 to 7)."""
    return next(((scale, unit) for longer, scale, unit in TIME_UNITS if span_s > longer), (1.0, "seconds"))


def figure(rows: int, height_in: float, ratios: Sequence[float] | None = None) -> tuple[Figure, list[Axes]]:
    """A figure of `rows` panels with fixed margins in pixels (room for tick labels, an axis label below
    each panel and a note above it): matplotlib's layout engines cost half the drawing time."""
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 1, squeeze=False, gridspec_kw={"height_ratios": ratios} if ratios else None)
    px = height_in * DPI
    avail = px - BOTTOM_PX - TOP_PX
    panel = (avail - (rows - 1) * GAP_PX) / rows
    fig.subplots_adjust(left=LEFT_PX / (WIDTH_IN * DPI), right=1 - RIGHT_PX / (WIDTH_IN * DPI),
                        bottom=BOTTOM_PX / px, top=1 - TOP_PX / px, hspace=GAP_PX / panel)
    return fig, [a for row in axes for a in row]


def _steps(c: Curve) -> np.ndarray:
    return c.x


def summed_step_times(tracker: RunTracker, c: Curve) -> np.ndarray | None:
    """Seconds since the first step at each entry of `c`, as the logged step times add up (each standing for
    the steps since the one before); None when the run logs no step time."""
    found = step_times(tracker)
    if found is None or len(found[0]) < 2:
        return None
    x, per = found
    span = np.diff(x, prepend=x[0])
    total = np.cumsum(per * np.where(span > 0, span, 0.0))
    at: np.ndarray = np.interp(c.x, x, total)
    return at


def draw_lines(ax: Axes, lines: list[tuple[Curve, str]], ylabel: str, *, robust: bool = True,
               x_of: object = _steps, marks: bool = True, names: Sequence[str] | None = None,
               breaks: bool = False) -> None:
    """Each curve as its line (labelled with its metric, or its entry in `names`), its min–max band where
    an entry folds several points, its non-finite steps as red crosses at the top; the y axis from
    runwatch.yrange. `breaks`: x is time, and the line breaks where no point fell for 10× the median
    interval (a stall is a gap, not a straight line across it, as in the TUI's wall-time charts)."""
    assert callable(x_of)
    spans = []
    for i, (c, colour) in enumerate(lines):
        label = names[i] if names is not None else c.name
        x = x_of(c)
        order = np.argsort(x, kind="stable")
        x, y, lo, hi = x[order], c.y[order], c.lo[order], c.hi[order]
        px, py, plo, phi = _broken(x, y, lo, hi) if breaks else (x, y, lo, hi)
        ax.plot(px, py, color=colour, linewidth=1.4, label=label, marker="o" if len(x) <= FEW else None,
                markersize=3)
        if (lo != hi).any():  # the band breaks where the line does (it was drawn straight across a hang)
            ax.fill_between(px, np.where(np.isfinite(plo), plo, np.nan), np.where(np.isfinite(phi), phi, np.nan),
                            color=colour, alpha=0.2, linewidth=0)
        spans.append((x, [lo, hi]))
        bad = c.nonfinite[order] > 0
        if marks and bad.any():
            ax.plot(x[bad], np.full(int(bad.sum()), 0.97), "x", color=NONFINITE, markersize=7,
                    transform=ax.get_xaxis_transform(), label=f"{label} NaN/Inf")
    found, note = (_runs_range(spans, names, ylabel, robust) if names is not None and len(spans) > 1 else
                   _range(spans, ylabel, robust))
    if found is not None and names is not None and 0 < found.lo and found.hi > LOG_RATIO * found.lo:
        ax.set_yscale("log")  # runs on scales apart: each readable (on a linear axis the lower was a flat line)
        ax.set_ylim(found.lo / 1.1, found.hi * 1.1)
    elif found is not None:
        pad = (found.hi - found.lo) * 0.04 or abs(found.hi) * 0.05 or 0.5
        ax.set_ylim(found.lo - pad, found.hi + pad)
    if found is not None:
        if note:
            ax.set_title(note, fontsize=9, loc="right")
    ax.set_ylabel(ylabel)
    if ax.get_yscale() == "linear":
        ax.ticklabel_format(axis="y", style="sci", scilimits=SCI_LIMITS, useOffset=False)
    ax.grid(True, alpha=0.3)
    if len(lines) > 1 or names is not None or (marks and any((c.nonfinite > 0).any() for c, _ in lines)):
        ax.legend(loc="best", fontsize=8)  # not "upper right": the NaN crosses run along the top edge


def _range(spans: list[tuple[np.ndarray, list[np.ndarray]]], ylabel: str,
           robust: bool) -> tuple[YRange | None, str]:
    """The y range of curves of one run (its warm-up shared) and the note of what it leaves off."""
    found = robust_range(spans, 0.05 if robust else 0.0)
    off = _off(found, ylabel)
    return found, "warm-up off scale (" + off + ")" if off else ""


def _runs_range(spans: list[tuple[np.ndarray, list[np.ndarray]]], names: Sequence[str], ylabel: str,
                robust: bool) -> tuple[YRange | None, str]:
    """The y range of several runs overlaid: each run's range after its own warm-up, all of them together,
    so that every run is drawn (with the warm-up taken over the runs' shared x, a short run, or one on a
    time axis that ends where another's warm-up does, fell wholly in the warm-up and off the axis); the
    note names each run whose warm-up is left off, with how far."""
    ranges = [(name, robust_range([span], 0.05 if robust else 0.0)) for name, span in zip(names, spans, strict=True)]
    found = [(name, r) for name, r in ranges if r is not None]
    if not found:
        return None, ""
    lo, hi = min(r.lo for _, r in found), max(r.hi for _, r in found)
    offs = []
    for name, r in found:
        beyond = YRange(lo, hi, r.above if r.above is not None and r.above > hi else None,
                        r.below if r.below is not None and r.below < lo else None)
        if off := _off(beyond, ylabel):
            offs.append(f"{name}: {off}")
    return YRange(lo, hi), "warm-up off scale (" + "; ".join(offs) + ")" if offs else ""


def _off(found: YRange | None, ylabel: str) -> str:
    """What `found` leaves off, in words ("" when nothing)."""
    if found is None:
        return ""
    off = [f"above: up to {fmt_value(ylabel, found.above)}" if found.above is not None else "",
           f"below: down to {fmt_value(ylabel, found.below)}" if found.below is not None else ""]
    return ", ".join(o for o in off if o)


def _broken(x: np.ndarray, *ys: np.ndarray) -> tuple[np.ndarray, ...]:
    """x and each of `ys` with a NaN point in every gap of x longer than `GAP` × the median gap, or than half
    the whole span: a log whose clock is a progress bar's whole seconds puts its steps at a few times, and
    the hang between two of them was the median gap itself (the line went straight across 75 s)."""
    if len(x) < 3:
        return (x, *ys)
    dx = np.diff(x)
    median = float(np.median(dx[dx > 0])) if (dx > 0).any() else 0.0
    span = float(np.nansum(dx[dx > 0]))
    gaps = np.flatnonzero((dx > GAP * median) | (dx > span / 2)) + 1 if median > 0 else np.empty(0, np.int64)
    if not gaps.size:
        return (x, *ys)
    return tuple(np.insert(a.astype(np.float64), gaps, np.nan) for a in (x, *ys))


PNG_COMPRESSION = 1
"""zlib level of the PNGs: lossless at every level; level 1 takes half the encoding time of the default (6)
for files 10–16% larger (0.05 s of the 0.45 s a report takes to draw its three plots, as measured)."""


def save(fig: Figure, out: Path, name: str, title: str) -> Plot:
    path = out / name
    fig.savefig(path, dpi=DPI, pil_kwargs={"compress_level": PNG_COMPRESSION})
    w, h = (int(round(v * DPI)) for v in fig.get_size_inches())
    return Plot(name, title, w, h)
