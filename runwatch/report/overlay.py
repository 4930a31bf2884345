"""`runwatch compare`'s plots: one metric of several runs overlaid, aligned by step, tokens or time.

The runs are aligned as the TUI's compare view aligns them (runwatch.state.xaxis
through `curves.aligned`); the y axis is the shared warm-up range (runwatch.yrange)
over every run, so a run's first steps do not flatten the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from runwatch.model import XAxis
from runwatch.report.curves import Curve, aligned, series_of
from runwatch.report.document import Image
from runwatch.report.plots import COLUMNS, PALETTE, draw_lines, figure, save, summed_step_times, time_unit
from runwatch.report.values import LOSS, THROUGHPUT, VAL
from runwatch.state.run import RunTracker

AXIS_LABEL = {XAxis.STEP: "step", XAxis.TOKENS: "tokens seen", XAxis.TIME: "{unit} since the run's first point"}


def draw_overlays(names: Sequence[str], trackers: Sequence[RunTracker], axis: XAxis, out: Path, *,
                  own_times: Sequence[bool]) -> list[Image]:
    """Loss, validation, grad norm and throughput of every run, each metric one PNG in `out`. By time, a run
    whose log has no times of its own is placed by the sum of its logged step times (as the report's
    throughput plot), not by the replay's guesses."""
    plots = []
    for file, label, metrics in (("compare_loss.png", "loss", LOSS), ("compare_val.png", "validation", VAL),
                                 ("compare_grad_norm.png", "grad norm", ("grad_norm",)),
                                 ("compare_throughput.png", "throughput", THROUGHPUT)):
        lines = [(c, PALETTE[i % len(PALETTE)], name)
                 for i, (name, t, own) in enumerate(zip(names, trackers, own_times, strict=True))
                 if (c := run_curve(t, metrics, axis, own)) is not None]
        if not lines:
            continue
        scale, unit = time_unit(max((float(np.nanmax(c.x)) for c, _, _ in lines if np.isfinite(c.x).any()),
                                    default=0.0)) if axis is XAxis.TIME else (1.0, "")
        fig, (ax,) = figure(1, 4.5)
        draw_lines(ax, [(c, colour) for c, colour, _ in lines], label, names=[name for _, _, name in lines],
                   x_of=lambda c, scale=scale: c.x / scale)
        along = AXIS_LABEL[axis].format(unit=unit)
        ax.set_xlabel(along + ("" if axis is not XAxis.TIME or all(own_times) else
                               " (a log without times: the sum of its logged step times)"))
        plots.append(save(fig, out, file, f"{label} of each run by {along}"))
    return plots


def run_curve(tracker: RunTracker, names: tuple[str, ...], axis: XAxis, own_times: bool) -> Curve | None:
    """The first of `names` the run logged, along `axis` (see `draw_overlays` for a log without times)."""
    for name in names:
        if series_of(tracker, name) is None:
            continue
        if axis is XAxis.TIME and not own_times:
            c = aligned(tracker, name, XAxis.STEP, COLUMNS)
            summed = summed_step_times(tracker, c) if c is not None else None
            return replace(c, x=summed) if c is not None and summed is not None else None
        return aligned(tracker, name, axis, COLUMNS)
    return None
