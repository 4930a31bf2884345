"""`runwatch compare` on real recorded runs: the setting that differs, the outcomes, overlaid PNGs."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from runwatch.cli import main
from runwatch.errors import EXIT_USAGE

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures/realruns"
WANDB = FIXTURES / "hf-wandb-healthy/run"
HEALTHY = FIXTURES / "nanogpt-tb-healthy/run"
SPIKE = FIXTURES / "nanogpt-tb-spike/run"
BLUE, ORANGE = (0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E)


def copy_run(src: Path, dst: Path, **trainer_state: object) -> Path:
    """A copy of a recorded run, with keys of every checkpoint's trainer_state.json set to new values."""
    shutil.copytree(src, dst, symlinks=True)
    for state in dst.glob("out/checkpoint-*/trainer_state.json"):
        doc = json.loads(state.read_text())
        assert set(trainer_state) <= set(doc)
        doc.update(trainer_state)
        state.write_text(json.dumps(doc, indent=2))
    return dst


def holds(path: Path, colour: tuple[int, int, int]) -> int:
    from matplotlib.image import imread

    rgb = (imread(path)[..., :3] * 255).round().astype(np.int64)
    return int((np.abs(rgb - np.array(colour)).sum(axis=-1) < 12).sum())


def test_two_runs_that_differ_in_one_setting_name_exactly_that_setting(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = copy_run(WANDB, tmp_path / "bs8")
    b = copy_run(WANDB, tmp_path / "bs16", train_batch_size=16)
    assert main(["compare", str(a), str(b), "-o", str(tmp_path / "cmp"), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["settings_differ"] == {"train_batch_size": ["8", "16"]}
    assert got["runs"] == ["bs8", "bs16"]
    assert main(["compare", str(a), str(b), "-o", str(tmp_path / "cmp")]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [ln.split() for ln in printed if ln.startswith("setting")] == [["setting", "train_batch_size", "8", "16"]]
    md = (tmp_path / "cmp/compare.md").read_text()
    assert "| train_batch_size | 8 | 16 |" in md


def test_outcomes_side_by_side_and_curves_overlaid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cmp"
    assert main(["compare", str(HEALTHY), str(SPIKE), "-o", str(out)]) == 0
    rows = {ln.split("  ")[0]: ln for ln in capsys.readouterr().out.splitlines()}
    assert "loss_spike (warning)" in rows["alerts"] and "none" in rows["alerts"]
    assert rows[""].split() == ["nanogpt-tb-healthy/run", "nanogpt-tb-spike/run"]  # told apart by their paths
    png = out / "compare_loss.png"
    assert holds(png, BLUE) > 300 and holds(png, ORANGE) > 300  # both runs drawn
    assert "![loss of each run by step](compare_loss.png)" in (out / "compare.md").read_text()


def test_by_time_and_by_tokens(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(HEALTHY), str(SPIKE), "-o", str(tmp_path / "t"), "--x", "time"]) == 0
    assert (tmp_path / "t/compare_loss.png").exists()
    assert main(["compare", str(HEALTHY), str(SPIKE), "-o", str(tmp_path / "k"), "--x", "tokens"]) == 0
    md = (tmp_path / "k/compare.md").read_text()  # nanoGPT logs neither a token count nor tokens/s
    assert "Nothing to overlay by tokens" in md and not list((tmp_path / "k").glob("*.png"))


def test_one_run_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(HEALTHY), "-o", str(tmp_path / "c")]) == EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["runwatch: compare needs two runs or more; the paths hold 1"]


def test_by_time_a_log_without_times_is_placed_by_its_summed_step_times() -> None:
    """nanoGPT prints `time 38.56ms` every 5th iter: by time, its curve ends where those step times add
    up to, not where the replay's guessed pauses (30 s an evaluation) would put it."""
    from runwatch.commands.check import check_run
    from runwatch.config import load_config
    from runwatch.model import XAxis
    from runwatch.plan import plan_runs
    from runwatch.report.overlay import run_curve
    from runwatch.report.values import LOSS

    slow = FIXTURES / "nanogpt-tb-slowfor/run"
    (plan,) = plan_runs([str(slow / "train.log")])
    result = check_run(plan, load_config(None), None, None, history=True)
    assert not result.own_times and not result.times_by
    c = run_curve(result.tracker, LOSS, XAxis.TIME, result.own_times)
    ms = [float(m.group(1)) for ln in (slow / "train.log").read_text().splitlines()
          if (m := re.search(r"^iter \d+: .*time ([\d.]+)ms", ln))]
    assert c is not None and float(np.nanmax(c.x)) == pytest.approx(sum(ms[1:]) * 5 / 1000, rel=0.01)


def test_by_time_a_run_directory_follows_its_tensorboard_wall_times() -> None:
    """Beside its log, the run's TensorBoard events stamp every step: the replay's clock follows them, and the
    curve by time spans the first to the last event's wall time, not the summed step times the log prints."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    from runwatch.commands.check import check_run
    from runwatch.config import load_config
    from runwatch.model import XAxis
    from runwatch.plan import plan_runs
    from runwatch.report.overlay import run_curve
    from runwatch.report.values import LOSS

    slow = FIXTURES / "nanogpt-tb-slowfor/run"
    walls = [e.wall_time for e in EventFileLoader(str(next((slow / "runs").iterdir()))).Load()
             if any(v.tag == "train/loss" for v in e.summary.value)]
    (plan,) = plan_runs([str(slow)])
    result = check_run(plan, load_config(None), None, None, history=True)
    assert result.own_times and result.times_by == "TensorBoard's event times"
    c = run_curve(result.tracker, LOSS, XAxis.TIME, result.own_times)
    assert c is not None and float(np.nanmax(c.x)) == pytest.approx(walls[-1] - walls[0], abs=0.5)


def test_the_alerts_cell_puts_critical_first_and_says_what_it_left_out() -> None:
    """A new user's review: a Megatron-DeepSpeed run's alerts cell read `crash (critical), loss_spike
    (warning), n…`: alphabetical, cut at 40 characters, and `nonfinite (critical)` gone without a word."""
    from types import SimpleNamespace
    from typing import Any

    from runwatch.commands.compare import CELL, table
    from runwatch.report.differ import ROWS, Comparison
    from runwatch.report.values import AlertRow

    def fired(rule: str, severity: str) -> AlertRow:
        return AlertRow(rule, severity, {}, "", 1, 2, 1, "resolved")

    run: Any = SimpleNamespace(alerts=[fired("stall", "critical"), fired("loss_spike", "warning"),
                                       fired("crash", "critical"), fired("nonfinite", "critical")])
    cell = dict(ROWS)["alerts"](run)
    assert cell == "crash (critical), nonfinite (critical), stall (critical), loss_spike (warning)"
    printed = re.split(r"\s{2,}", table(Comparison(["a", "b"], [], [("alerts", [cell, "none"])])).splitlines()[-1])
    assert printed == ["alerts", "crash (critical) +3 more", "none"]  # 40 characters hold one of these
    two = dict(ROWS)["alerts"](SimpleNamespace(alerts=[fired("loss_spike", "warning"), fired("stall", "critical")]))
    printed = re.split(r"\s{2,}", table(Comparison(["a", "b"], [], [("alerts", [two, cell])])).splitlines()[-1])
    assert printed[1:] == ["stall (critical), loss_spike (warning)", "crash (critical) +3 more"]
    assert max(map(len, printed)) <= CELL


def rows_of(path: Path, colour: tuple[int, int, int]) -> int:
    """How many pixel rows of the PNG hold the colour: the height a run's line takes."""
    from matplotlib.image import imread

    rgb = (imread(path)[..., :3] * 255).round().astype(np.int64)
    return int(((np.abs(rgb - np.array(colour)).sum(axis=-1) < 12).any(axis=1)).sum())


@pytest.mark.parametrize(("a", "b", "axis"), [("keras-v1-healthy", "hf-oom", "step"),
                                              ("tutorial-healthy", "nanogpt-tb-healthy", "time")])
def test_a_run_on_another_scale_is_drawn_not_left_off_the_axis(a: str, b: str, axis: str, tmp_path: Path) -> None:
    """A new user's review: the y range was the warm-up-free range over the runs' shared x, so a run that
    ended inside another's first 5% (hf-oom's 45 steps beside Keras's 1,000; nanoGPT's 20 s beside the
    tutorial's 10 minutes of step times) was all warm-up, off the axis (loss 5.3 over a 1.3–2.6 axis)."""
    out = tmp_path / "cmp"
    assert main(["compare", str(FIXTURES / a / "run"), str(FIXTURES / b / "run"), "-o", str(out), "--x", axis]) == 0
    png = out / "compare_loss.png"
    assert holds(png, BLUE) > 200 and holds(png, ORANGE) > 100  # both runs drawn


def test_runs_on_scales_apart_are_drawn_on_a_log_axis(tmp_path: Path) -> None:
    """The tutorial's loss (0.1–2) beside nanoGPT's divergence (up to 13,000) was a flat line along the bottom."""
    out = tmp_path / "cmp"
    assert main(["compare", str(FIXTURES / "tutorial-healthy/run"), str(FIXTURES / "nanogpt-tb-diverge/run"),
                 "-o", str(out)]) == 0
    assert rows_of(out / "compare_loss.png", BLUE) > 60  # the tutorial's curve takes a sixth of the plot's height


def test_a_runs_warm_up_off_the_axis_is_named_with_its_range() -> None:
    from runwatch.commands.check import check_run
    from runwatch.config import Config
    from runwatch.model import XAxis
    from runwatch.plan import plan_runs
    from runwatch.report.overlay import run_curve
    from runwatch.report.plots import draw_lines, figure
    from runwatch.report.values import DRAWN, LOSS

    names = ["tutorial-healthy", "torchrun-tee-healthy"]
    curves = []
    for name in names:
        (run,) = plan_runs([str(FIXTURES / name / "run")])
        result = check_run(run, Config.default(), None, None, history=DRAWN)
        c = run_curve(result.tracker, LOSS, XAxis.STEP, result.own_times)
        assert c is not None
        curves.append((c, "#000000"))
    _, (ax,) = figure(1, 4.5)
    draw_lines(ax, curves, "loss", names=names)
    assert ax.get_title(loc="right") == "warm-up off scale (torchrun-tee-healthy: above: up to 2.305)"
    lo, hi = ax.get_ylim()
    for c, _ in curves:  # every run on the axis after its warm-up
        assert ((c.y[len(c.y) // 10:] >= lo) & (c.y[len(c.y) // 10:] <= hi)).all()
