"""The report's panels drawn from a real run (the recorded HF Trainer run that goes NaN): what a reader sees.

Checked on the drawn figure, not the PNG's bytes: the y label lies inside the figure, and the legend
leaves the NaN crosses along the top edge visible.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from runwatch.commands.check import check_run
from runwatch.config import Config
from runwatch.plan import plan_runs
from runwatch.report.curves import curve, first_of
from runwatch.report.plots import COLOURS, draw_lines, figure, grad_norm
from runwatch.report.values import DRAWN, LR
from runwatch.state.run import RunTracker

HF_NAN = Path(__file__).resolve().parents[1] / "fixtures/realruns/hf-nan/run"


@pytest.fixture(scope="module")
def tracker() -> RunTracker:
    (run,) = plan_runs([str(HF_NAN)])
    return check_run(run, Config.default(), None, None, history=DRAWN).tracker


def test_the_learning_rates_label_is_inside_the_figure(tracker: RunTracker) -> None:
    """Its ticks were `0.00075`, wide enough to push the `lr` label past the left edge (half cut off); now
    they are `0.75` under a `1e-3` above the axis."""
    lr = first_of(tracker, LR)
    assert lr is not None and float(np.nanmax(lr.y)) < 0.01
    fig, (top, bottom) = figure(2, 6.0, ratios=(2, 1))
    draw_lines(bottom, [(lr, COLOURS["lr"])], lr.name, robust=False)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    assert bottom.yaxis.label.get_window_extent(renderer).x0 >= 0


def test_the_legend_leaves_the_nan_crosses_visible(tracker: RunTracker) -> None:
    """grad_norm is NaN from step 35 on: a cross at every step along the top edge, which the legend in the
    upper right corner covered."""
    grad = curve(tracker, "grad_norm")
    assert grad is not None and (grad.nonfinite > 0).sum() > 10
    fig, (ax,) = figure(1, 3.5)
    draw_lines(ax, [(grad, COLOURS["grad_norm"])], "grad norm")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    box = ax.get_legend().get_window_extent(renderer)
    crosses = next(line for line in ax.get_lines() if line.get_label().endswith("NaN/Inf"))
    points = crosses.get_transform().transform(crosses.get_xydata())
    inside = (points[:, 0] >= box.x0 - 5) & (points[:, 0] <= box.x1 + 5) & (points[:, 1] >= box.y0 - 5) \
        & (points[:, 1] <= box.y1 + 5)
    assert not inside.any()


def test_the_min_max_band_breaks_at_a_hang_as_the_line_does(tmp_path: Path) -> None:
    """A new user's review: over time, the throughput line broke at a 47-minute hang but its min–max band
    was drawn straight across it. A stamped Megatron run (tests.support.stamped: 300 s hang at step 1500),
    drawn as `throughput.png`'s time panel draws it."""
    from runwatch.report.plots import COLUMNS
    from tests.support.stamped import megatron_log

    log = tmp_path / "train.log"
    log.write_text("\n".join(megatron_log(1600)) + "\n")
    (run,) = plan_runs([str(log)])
    step_time = curve(check_run(run, Config.default(), None, None, history=DRAWN).tracker, "step_time", COLUMNS)
    assert step_time is not None and (step_time.lo != step_time.hi).any()
    t = step_time.t - float(np.nanmin(step_time.t))
    hang = int(np.argmax(np.diff(t)))
    assert t[hang + 1] - t[hang] > 290
    fig, (ax,) = figure(1, 3.5)
    draw_lines(ax, [(step_time, COLOURS["rate"])], "step_time", x_of=lambda c: t, breaks=True)
    (band,) = ax.collections
    middle = (t[hang] + t[hang + 1]) / 2
    assert not any(p.vertices[:, 0].min() < middle < p.vertices[:, 0].max() for p in band.get_paths())


def test_the_pngs_are_deflated_at_zlibs_fastest_level(tracker: RunTracker, tmp_path: Path) -> None:
    """Encoding at zlib's default level was a quarter of the time the report's three plots took to draw; its
    fastest level takes half that, for files 10–16% larger and the same pixels (PNG is lossless at
    every level). The zlib header of the image data says the level: FLEVEL 0 is the fastest."""
    from matplotlib.image import imread

    plot = grad_norm(tracker, tmp_path)
    assert plot is not None
    data = (tmp_path / plot.file).read_bytes()
    start = data.index(b"IDAT") + 4
    cmf, flg = data[start], data[start + 1]
    assert cmf & 0x0F == 8 and (cmf << 8 | flg) % 31 == 0  # a zlib stream of deflate
    assert flg >> 6 == 0
    assert imread(tmp_path / plot.file).shape == (plot.height, plot.width, 4)


@pytest.mark.parametrize(("span", "unit"), [(90.0, "seconds"), (600.0, "minutes"), (3 * 3600.0, "hours"),
                                            (3 * 86_400.0, "days")])
def test_a_wall_time_axis_is_read_in_a_unit_its_span_suits(span: float, unit: str) -> None:
    """`compare --x time` of runs that lasted a week was drawn in seconds, `1e6` beside the ticks."""
    from runwatch.report.plots import time_unit

    scale, found = time_unit(span)
    assert found == unit
    assert 1.0 <= span / scale < 100


def test_compare_by_time_of_runs_that_lasted_hours_reads_hours(tmp_path: Path) -> None:
    """Two Megatron runs whose step lines state their times (real lines, about 5 s a step) overlaid by
    time: the axis is in hours (it was in seconds)."""
    from runwatch.cli import main
    from tests.support.stamped import megatron_log

    paths = []
    for name, steps in (("a", 3000), ("b", 2000)):
        path = tmp_path / name / "train.log"
        path.parent.mkdir()
        path.write_text("\n".join(megatron_log(steps, nan_at=10**9)) + "\n", encoding="utf-8")
        paths.append(str(path))
    out = tmp_path / "out"
    assert main(["compare", *paths, "-o", str(out), "--x", "time"]) == 0
    md = (out / "compare.md").read_text()
    assert "![loss of each run by hours since the run's first point](compare_loss.png)" in md


def test_a_line_over_time_breaks_across_a_gap_that_is_half_the_run() -> None:
    """A new user's review: a Lightning log timed by its bar's whole seconds has its steps at 0 s and, after
    a 75 s hang, at 75 s; the hang was the median gap, and the line went straight across it."""
    from runwatch.report.plots import _broken

    x = np.array([0.0, 0.0, 0.0, 0.0, 75.0, 75.0, 75.0])
    bx, by = _broken(x, np.arange(7.0))
    assert np.isnan(bx).sum() == 1 and np.isnan(bx[4]) and bx[5] == 75.0 and np.isnan(by[4])
    steady = np.arange(10.0)
    assert not np.isnan(_broken(steady, steady)[0]).any()
