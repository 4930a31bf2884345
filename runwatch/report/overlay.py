"""`runwatch compare`'s plots: one metric of several runs overlaid, aligned by step, tokens or time.

The runs are aligned as the TUI's compare view aligns them (runwatch.state.xaxis
through `curves.aligned`); the y axis is the shared warm-up range (runwatch.yrange)
over every run, so a run's first steps do not flatten the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from runwatch.model import XAxis
from runwatch.report.curves import Curve, aligned, series_of
from runwatch.report.document import Image
from runwatch.report.numbers import LOSS, THROUGHPUT, VAL
from runwatch.report.plots import COLUMNS, PALETTE, draw_lines, figure, save
from runwatch.state.run import RunTracker

AXIS_LABEL = {XAxis.STEP: "step", XAxis.TOKENS: "tokens seen", XAxis.TIME: "seconds since the run's first point"}


def draw_overlays(names: Sequence[str], trackers: Sequence[RunTracker], axis: XAxis, out: Path) -> list[Image]:
    """Loss (validation dashed), grad norm and throughput of every run, each metric one PNG in `out`."""
    plots = []
    for file, label, metrics in (("compare_loss.png", "loss", LOSS), ("compare_val.png", "validation", VAL),
                                 ("compare_grad_norm.png", "grad norm", ("grad_norm",)),
                                 ("compare_throughput.png", "throughput", THROUGHPUT)):
        lines = [(c, PALETTE[i % len(PALETTE)], name) for i, (name, t) in enumerate(zip(names, trackers, strict=True))
                 if (c := _first(t, metrics, axis)) is not None]
        if not lines:
            continue
        fig, (ax,) = figure(1, 4.5)
        draw_lines(ax, [(c, colour) for c, colour, _ in lines], label, names=[name for _, _, name in lines])
        ax.set_xlabel(AXIS_LABEL[axis])
        plots.append(save(fig, out, file, f"{label} of each run by {AXIS_LABEL[axis]}"))
    return plots


def _first(tracker: RunTracker, names: tuple[str, ...], axis: XAxis) -> Curve | None:
    for name in names:
        if series_of(tracker, name) is not None:
            return aligned(tracker, name, axis, COLUMNS)
    return None
