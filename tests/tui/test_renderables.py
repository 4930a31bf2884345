"""Pure pieces of the TUI: ticks, the braille chart, sparklines, panel text, the chart plan, the key table."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from runwatch.durations import human_duration
from runwatch.model import (
    AlertBrief,
    AlertState,
    ChartData,
    GpuSample,
    ProcessSample,
    ProcessState,
    Progress,
    RankProgress,
    RunSnapshot,
    RunState,
    Severity,
)
from runwatch.tui.app import RunwatchApp
from runwatch.tui.keys import KEYS
from runwatch.tui.plan import ChartSpec, plan_charts, zoom_label
from runwatch.tui.renderables.linechart import Line, LineChart
from runwatch.tui.renderables.sparkline import spark_text
from runwatch.tui.renderables.ticks import nice_ticks, step_label, step_ticks, tick_label
from runwatch.tui.screens.compare import CompareScreen, shared_range
from runwatch.tui.screens.dashboard import DashboardScreen
from runwatch.tui.screens.help import HelpScreen
from runwatch.tui.screens.overview import OverviewScreen
from runwatch.tui.screens.runs import RunsScreen
from runwatch.tui.widgets.alerts import COLUMNS, alert_cells, sort_alerts
from runwatch.tui.widgets.header import header_text
from runwatch.tui.widgets.log_pane import log_text
from runwatch.tui.widgets.ranks import ranks_text, stragglers
from runwatch.tui.widgets.sparklines import SparkEntry, sparks_text
from runwatch.tui.widgets.system import gpu_line, process_line

BRAILLE = {chr(c) for c in range(0x2801, 0x2900)}


def rows(chart: LineChart) -> list[str]:
    return [r.plain for r in chart.render_rows()]


@pytest.mark.parametrize(("lo", "hi", "most", "want"), [
    (0.0, 5568.0, 6, [0.0, 2000.0, 4000.0]),
    (2.31, 2.52, 4, [2.4, 2.5]),
    (36.0, 3200.0, 4, [1000.0, 2000.0, 3000.0]),  # a step too coarse for two ticks is refined
    (1.0, 1.0, 4, [1.0]),
])
def test_nice_ticks(lo: float, hi: float, most: int, want: list[float]) -> None:
    assert nice_ticks(lo, hi, most) == pytest.approx(want)


def test_tick_and_step_labels_are_short() -> None:
    assert [tick_label(v, s) for v, s in [(2500, 500), (0.35, 0.05), (1e-4, 1e-4), (12500, 2500), (2.25, 0.25)]] \
        == ["2500", "0.35", "1e-4", "12.5k", "2.25"]
    assert [step_label(v) for v in (950, 12500, 1.2e6)] == ["950", "12.5k", "1.2M"]


def test_zoomed_x_ticks_are_told_apart() -> None:
    """Issue 13: zoomed to ~100 steps around 1.1k, the ticks read `1.1k 1.1k 1.1k 1.2k`."""
    ticks = nice_ticks(1100, 1200, 6)
    labels = [step_label(t, ticks[1] - ticks[0]) for t in ticks]
    assert len(set(labels)) == len(labels) and labels[:2] == ["1.1k", "1.12k"]
    x = np.arange(1100, 1201, dtype=float)
    axis = rows(LineChart([Line.from_points(x, np.sin(x))], 80, 8))[-1].split()
    assert len(axis) >= 3 and len(set(axis)) == len(axis)


@pytest.mark.parametrize("xs", [[5.0], [0.0], [1100.0], [1234567.0], [1100.0, 1101.0], [1100.0, 1103.0]])
def test_a_one_point_or_few_step_chart_labels_each_x_tick_once(xs: list[float]) -> None:
    """Issue 13: a chart of one point read `5 5 5 5 5` (`-0 -0 0 0 0`, `1.234567M` five times) under its x
    axis, ticks a fraction of a step apart. Steps are whole: one step is one tick, a few steps one each."""
    axis = rows(LineChart([Line.from_points(np.array(xs), np.ones(len(xs)))], 60, 6))[-1].split()
    assert len(set(axis)) == len(axis) and 1 <= len(axis) <= int(xs[-1] - xs[0]) + 1
    assert axis[0] == step_label(xs[0], 1.0)
    assert step_ticks(1099.5, 1100.5, 7) == [1100.0] and step_ticks(1100.2, 1100.8, 7) == []


def test_chart_draws_braille_axes_and_fills_its_size() -> None:
    x = np.arange(1, 1001, dtype=float)
    chart = LineChart([Line.from_points(x, 3 * np.exp(-x / 300) + 2)], 40, 10)
    out = rows(chart)
    assert len(out) == 10 and all(len(r) == 40 for r in out)
    assert sum(ch in BRAILLE for r in out for ch in r) > 30
    assert any("┤" in r for r in out) and "1k" in out[-1]


def test_a_one_point_spike_survives_downsampling_to_min_max_columns() -> None:
    # 100k points folded into 60 columns: only the column's max carries the spike.
    y = np.ones(100_000)
    y[54_321] = 50.0
    edges = np.linspace(0, len(y), 61).astype(int)[:-1]
    data = ChartData("r", "loss", None, np.arange(60.0), np.minimum.reduceat(y, edges),
                     np.maximum.reduceat(y, edges), np.ones(60), np.zeros(60), len(y))
    out = rows(LineChart([Line.from_chart(data)], 40, 10))
    assert any(ch in BRAILLE for ch in out[0][3:])  # the top row is reached
    assert "40┤" in out[2]  # and the axis reaches up to the spike


def test_nan_and_inf_are_marked_not_skipped() -> None:
    y = np.array([1.0, 2.0, math.nan, 3.0, math.inf, 2.0])
    out = rows(LineChart([Line.from_points(np.arange(6.0), y)], 30, 8))
    top = out[0]
    assert "×" in top and "↑" in top
    assert any("┆" in r for r in out[1:-1])


def test_nan_counted_in_a_column_with_finite_min_max_is_marked() -> None:
    # The engine's columns ignore NaN in min/max and count it in `nonfinite` instead.
    data = ChartData("r", "grad_norm", None, np.arange(10.0), np.ones(10), np.ones(10), np.ones(10),
                     np.array([0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), 1000)
    out = rows(LineChart([Line.from_chart(data)], 30, 8))
    assert "×" in out[0] and any("┆" in r for r in out[1:-1])


def test_all_nan_still_shows_markers_and_empty_shows_a_note() -> None:
    out = rows(LineChart([Line.from_points([1.0, 2.0], [math.nan, math.nan])], 30, 6))
    assert "×" in "".join(out)
    assert "no data yet" in "".join(rows(LineChart([], 30, 6)))


def test_log_scale_labels_decades_and_hides_nonpositive_values() -> None:
    x = np.arange(100.0)
    out = rows(LineChart([Line.from_points(x, np.geomspace(1e-6, 1e-3, 100))], 40, 10, log=True))
    labels = " ".join(out)
    assert "1e-6" in labels and "1e-4" in labels
    out = rows(LineChart([Line.from_points([0.0, 1.0, 2.0], [-1.0, 0.0, 10.0])], 30, 6, log=True))
    assert sum(ch in BRAILLE for r in out for ch in r) >= 1


def test_log_scale_over_about_one_decade_has_more_than_one_tick() -> None:
    """Issue 13: a loss from 40 down to 3 on a log axis had the lone tick `10`."""
    x = np.arange(200.0)
    out = rows(LineChart([Line.from_points(x, np.geomspace(40, 3, 200))], 40, 12, log=True, full_range=True))
    labels = [r.split("┤")[0].strip() for r in out if "┤" in r]
    assert len(labels) >= 3 and "10" in labels and "20" in labels


def test_a_step_time_axis_reads_in_the_units_of_its_title() -> None:
    """Issue 13: the step_time chart's title said `214ms` while its axis was in seconds."""
    x = np.arange(100.0)
    out = rows(LineChart([Line.from_points(x, 0.2 + 0.02 * np.sin(x))], 40, 10, seconds=True))
    labels = [r.split("┤")[0].strip() for r in out if "┤" in r]
    assert labels and all(lab.endswith("ms") for lab in labels) and "200ms" in labels


def test_overlaid_lines_keep_their_own_colours() -> None:
    a = Line.from_points([0, 10], [0.0, 1.0], "cyan")
    b = Line.from_points([0, 10], [1.0, 0.0], "yellow")
    styles = {str(span.style) for r in LineChart([a, b], 30, 8).render_rows() for span in r.spans}
    assert "cyan" in styles and "yellow" in styles


def test_sparkline_levels_and_nan_marker() -> None:
    t = spark_text(np.array([0.0, 1.0, 2.0, math.nan, 3.0]), 10)
    assert t.plain == "▁▃▆×█"
    assert spark_text(np.sin(np.arange(500) / 9), 20).cell_len == 20


def test_plan_charts_key_metrics_overlay_and_sparklines() -> None:
    charts, sparks = plan_charts(["loss", "val_loss", "lr", "grad_norm", "step_time", "tokens_per_sec", "mfu",
                                  "lrm", "elapsed"])
    assert charts == [ChartSpec(("loss", "val_loss")), ChartSpec(("lr",)), ChartSpec(("grad_norm",)),
                      ChartSpec(("tokens_per_sec",)), ChartSpec(("mfu",))]
    assert sparks == ["lrm", "step_time"]  # elapsed is bookkeeping, not a curve
    charts, sparks = plan_charts(["acc", "reward", "kl", "entropy", "foo"])  # no canonical names: promote
    assert [c.key for c in charts] == ["reward", "acc", "entropy", "foo"] and sparks == ["kl"]
    charts, sparks = plan_charts(["loss", "val_loss", "lr", "lrm"], "lr")
    assert [c.key for c in charts] == ["lr"] and sparks == ["lrm"]
    assert zoom_label(None) == "all steps" and zoom_label(1000) == "last 1k steps"


def test_values_named_by_their_split_alone_share_the_loss_charts_place() -> None:
    """A review's loop logs `Epoch [1/30] Train: 0.0962 | Val: 0.0991 | 457.0s | LR: 0.001000` beside its bars: the
    chart showed `lr` and `step_time`, its losses two sparklines. `train` with `val` over it take the loss chart's
    place where no `loss` is logged."""
    from tests.support.found import source_records

    _, recs = source_records("verf_tgm_bars_epoch_summaries_30ep.log")
    charts, sparks = plan_charts(sorted({n for r in recs for n in r.metrics}))
    assert charts[0] == ChartSpec(("train", "val")) and "train" not in sparks
    assert plan_charts(["loss", "train", "lr"])[0][0] == ChartSpec(("loss",))  # a loss is the loss


def test_a_run_without_loss_promotes_its_loss_named_metric_first() -> None:
    """A review's JAX ncflow run logs `loss_trajs`, `contexts_norm` and `val_ind_crit` (no `loss`): its first chart was
    `contexts_norm`, by name, and its NaN loss second. The loss-named metrics come first; `loss_scale` is no loss."""
    from tests.support.found import source_records

    _, recs = source_records("jax_ncflow_outer_step_nan_nohup.log")
    names = sorted({n for r in recs for n in r.metrics})
    charts, _ = plan_charts(names)
    assert [c.key for c in charts][:1] == ["loss_trajs"]
    assert [c.key for c in plan_charts(["acc", "loss_scale", "z_loss"])[0]] == ["z_loss", "acc", "loss_scale"]


def test_a_reinforcement_learning_runs_reward_is_charted_beside_its_loss() -> None:
    """A review's Stable-Baselines3 PPO run (its `rollout/ep_rew_mean` tables): the reward, the curve an RL user
    watches, was a sparkline under the PPO losses. It is the chart after the loss, its evaluation's over it."""
    from tests.support.found import source_records

    _, recs = source_records("sb3_ppo_cartpole_tables.log")
    names = sorted({n for r in recs for n in r.metrics})
    charts, sparks = plan_charts(names)
    assert [c.metrics for c in charts][:2] == [("loss",), ("ep_rew_mean",)] and "ep_rew_mean" not in sparks
    charts, _ = plan_charts([*names, "eval_mean_reward", "episodic_return"])
    assert charts[1] == ChartSpec(("ep_rew_mean", "eval_mean_reward"))
    assert plan_charts(["eval_mean_reward", "rewards"])[0][0] == ChartSpec(("rewards", "eval_mean_reward"))
    assert plan_charts(["loss", "lr", "crew_size", "returned"]) == ([ChartSpec(("loss",)), ChartSpec(("lr",))],
                                                                    ["crew_size", "returned"])


def test_losses_of_other_names_take_the_loss_charts_place_before_the_schedule() -> None:
    """A knowledge-distillation run (CIRKD) logs `Task Loss`, `KD Loss` and `lr`, no `loss`: `lr` was the first
    chart, as if the schedule were the run's news. Its two losses come first, as on the status line."""
    from tests.support.found import source_records

    _, recs = source_records("cirkd_distill_iters_head.log")
    charts, _ = plan_charts(sorted({n for r in recs for n in r.metrics}))
    assert [c.key for c in charts][:3] == ["kd_loss", "task_loss", "lr"]
    assert [c.key for c in plan_charts(["lr", "d_loss", "g_loss", "aux_loss"])[0]][:3] == ["d_loss", "g_loss", "lr"]


def test_a_training_loss_of_another_name_is_charted_before_the_validation_loss() -> None:
    """A review's HiFi-TSE run logs `loss_G` (and `sep`, `phase_l`, …) every 100 steps and a `val_loss`: the TUI drew
    `val_loss` and `lr`, and the training loss was a sparkline. It is the first chart, the validation loss the next."""
    from tests.support.found import source_records

    _, recs = source_records("hifi_tse_relaunches_abort_segfault.log.gz")
    names = sorted({n for r in recs for n in r.metrics})
    assert "loss" not in names and {"loss_g", "val_loss"} <= set(names)
    charts, sparks = plan_charts(names)
    assert [c.metrics for c in charts][:3] == [("loss_g",), ("val_loss",), ("lr",)] and "loss_g" not in sparks


def test_the_runs_epoch_count_and_its_plan_are_no_promoted_charts() -> None:
    """A CIFAR-10 loop logs `Epoch 1/35, Train Loss: 1.6279, Test Acc: 59.86%`: its `epoch` (a ramp) and `epochs`
    (35 on every line, flat) took two of its three charts and the test accuracy came last. Charts go to what the
    run measures; the counters stay sparklines, and the `g` grid still draws every metric."""
    from tests.support.found import source_records

    _, recs = source_records("cifar10_network_epoch_of_epochs.log")
    names = sorted({n for r in recs for n in r.metrics})
    assert {"loss", "test_acc", "epoch", "epochs"} <= set(names)
    charts, sparks = plan_charts(names)
    assert [c.key for c in charts] == ["loss", "test_acc"] and sparks == ["epoch", "epochs"]
    charts, sparks = plan_charts(names, every=True)
    assert {c.key for c in charts} == set(names) and sparks == []
    assert [c.key for c in plan_charts(["epoch", "acc", "epochs", "lr"])[0]] == ["lr", "acc"]
    assert plan_charts(["epochs", "epoch"]) == ([ChartSpec(("epoch",)), ChartSpec(("epochs",))], [])  # all it logs


def test_a_progress_bars_clock_is_no_chart_nor_sparkline() -> None:
    """A Lightning run's tqdm bars (run lab recording): `epoch_elapsed` and `epoch_eta`, the epoch bar's own
    clock, were sparklines of a saw-tooth among the run's metrics."""
    from runwatch.commands.parse import records_of
    from tests.support.realruns import REALRUNS

    names = {n for r in records_of(REALRUNS / "lightning-tqdm-healthy/run/train.log", None, None) for n in r.metrics}
    assert {"epoch_elapsed", "epoch_eta", "loss"} <= names
    for every in (False, True):
        charts, sparks = plan_charts(sorted(names), every=every)
        shown = {m for c in charts for m in c.metrics} | set(sparks)
        assert "loss" in shown and not shown & {"epoch_elapsed", "epoch_eta", "elapsed", "eta"}


def snap(**kw: object) -> RunSnapshot:
    base: dict[str, object] = dict(
        run="train", source="x.log", time=1000.0, state=RunState.RUNNING,
        progress=Progress(step=50, total_steps=100, percent=50.0, steps_per_sec=2.0, eta_s=25.0, elapsed_s=25.0),
        metrics={"loss": 2.0}, ranks={}, last_record_t=999.0)
    base.update(kw)
    return RunSnapshot(**base)  # type: ignore[arg-type]


def test_header_has_badge_progress_eta_age_and_adapts_to_width() -> None:
    wide = header_text(snap(), 120, host="node1").plain
    assert "train @ node1" in wide and "RUNNING" in wide and "step 50/100" in wide
    assert "━" in wide and "50.0%" in wide and "ETA 25s" in wide and "last record 1s ago" in wide
    done = header_text(snap(state=RunState.FINISHED), 120).plain
    assert "FINISHED" in done and "ETA" not in done
    assert "PAUSED" in header_text(snap(), 80, paused=True).plain
    assert "waiting" in header_text(None, 80).plain


def test_a_long_run_name_is_shortened_in_the_middle_never_the_step_count() -> None:
    """Issue 13: at 80x24 a long run name pushed the step count out (`step 16,7…`)."""
    name = "nanochat_pr492_speedrun_d24_feb01.training_output"
    long = snap(run=name, progress=Progress(step=16_703, total_steps=16_704, percent=99.99))
    top = header_text(long, 78, host="gpu-node-1").plain.splitlines()[0]
    assert "step 16,703/16,704" in top and len(top) <= 78
    assert "…" in top and top.startswith("nanochat") and "output" in top
    assert "gpu-node-1" not in top  # the host goes first


def test_the_second_line_shortens_its_parts_before_anything_is_cut() -> None:
    """Issue 13: at 80×24 the second line ended `last record 0.4s ago · e…`, the elapsed time cut off."""
    busy = snap(progress=Progress(step=3200, total_steps=5568, percent=57.5, steps_per_sec=1.02, eta_s=2361.0,
                                  elapsed_s=3191.0, tokens_per_sec=530_380.0),
                last_record_t=999.6, alerts=(AlertBrief("nonfinite", AlertState.FIRING, Severity.CRITICAL,
                                                        "grad_norm is NaN"),))
    wide = header_text(busy, 160).plain.splitlines()[1]
    assert "1.02 step/s" in wide and "last record 0.4s ago" in wide and "elapsed 53m11s" in wide
    narrow = header_text(busy, 78).plain.splitlines()[1]
    assert len(narrow) <= 78 and "…" not in narrow
    assert narrow == "▲ 1 firing · 530.38k tok/s · ETA 39m21s · last 0.4s ago · elapsed 53m11s"


def test_a_wandb_run_shows_its_own_name() -> None:
    """Issue 13: a W&B run followed as `wandb/` was titled "wandb", its name nowhere."""
    top = header_text(snap(run="wandb", meta={"run": {"name": "nan-demo", "id": "mgc70s0x"}}), 100).plain
    assert top.startswith("wandb (nan-demo)")


def test_a_finished_run_reads_the_percent_its_snapshot_says() -> None:
    """Issue 13: a finished 0-based run (last step 1,199 of 1,200) read `99.9%`; the snapshot says 100 for it
    (tests/state/test_run.py), and the header shows what the snapshot says: an early-stopped run read `100.0%` beside
    `2,099/17,000` (a review)."""
    done = snap(state=RunState.FINISHED, progress=Progress(step=1199, total_steps=1200, percent=100.0))
    assert "100.0%" in header_text(done, 120).plain
    early = snap(state=RunState.FINISHED, progress=Progress(step=2099, total_steps=17000, percent=12.35))
    assert " 12.3%" in header_text(early, 120).plain


def test_stragglers_by_lag_interval_or_alert() -> None:
    ranks = {i: RankProgress(i, 100, 0.0, 1.0) for i in range(4)}
    ranks[2] = RankProgress(2, 97, 0.0, 1.0)
    ranks[3] = RankProgress(3, 100, 0.0, 1.6)
    assert stragglers(ranks) == {2, 3}
    assert stragglers(ranks, {0}) == {0, 2, 3}
    assert stragglers({0: ranks[0]}) == set()


def test_a_rank_is_marked_slow_by_an_alert_whose_rule_names_lagging_ranks() -> None:
    """The panel asked `a.rule == "straggler"`; it now asks the alert what its rank label means."""
    ranks = {i: RankProgress(i, 100, 0.0, 1.0) for i in range(3)}
    lagging = AlertBrief("straggler", AlertState.FIRING, Severity.WARNING, labels={"rank": 1}, lagging_rank=True)
    nan = AlertBrief("nonfinite", AlertState.FIRING, Severity.CRITICAL, labels={"rank": 2})
    rows = ranks_text(snap(ranks=ranks, alerts=(lagging, nan))).plain.splitlines()[1:]
    assert [row.endswith("slow") for row in rows] == [True, False, False]  # listed first
    assert [int(row.split()[0]) for row in rows] == [1, 0, 2]


def test_stragglers_come_first_where_the_panel_shows_few_rows(make_app) -> None:  # type: ignore[no-untyped-def]
    """A review at 120×40: the Ranks panel showed ranks 0–3 of 8; rank 5, the one behind, was out of view."""
    import asyncio

    from runwatch.tui.widgets.ranks import RanksPanel
    from tests.support.tui_pilot import settle

    async def main() -> None:
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            panel = app.screen.query_one(RanksPanel)
            assert 2 <= panel.content_region.height < 9  # fewer rows than the header and 8 ranks
            body = panel._last
            assert body is not None and panel.scroll_y == 0
            in_view = body.plain.splitlines()[: panel.content_region.height]
            assert in_view[0].split() == ["rank", "step", "lag", "interval"]
            assert [row.split()[0] for row in in_view[1:]][0] == "5"  # 4 steps behind: the straggler

    asyncio.run(main())


def test_log_text_highlights_errors_and_keeps_brackets() -> None:
    t = log_text(["ok line", "RuntimeError: CUDA error", "[bold]x[/] warning", "loss nan"])
    assert t.plain.splitlines() == ["ok line", "RuntimeError: CUDA error", "[bold]x[/] warning", "loss nan"]
    styles = [str(s.style) for s in t.spans]
    assert styles.count("bold red") == 2 and "yellow" in styles


def test_alert_rows_sorted_and_formatted() -> None:
    a = AlertBrief("nonfinite", AlertState.FIRING, Severity.CRITICAL, "grad_norm is NaN", {"metric": "grad_norm"},
                   key="k1", since=700.0, step=380, value=math.nan, acknowledged=True)
    b = AlertBrief("stall", AlertState.PENDING, Severity.WARNING, key="k2", since=990.0)
    c = AlertBrief("loss_spike", AlertState.RESOLVED, Severity.WARNING, key="k3", since=995.0, silenced=True)
    assert [x.key for x in sort_alerts((c, b, a))] == ["k1", "k2", "k3"]
    cells = [t.plain.strip() for t in alert_cells(a, 1000.0)]
    assert cells == ["firing ack", "CRIT", "nonfinite", "380", "NaN", "5m", "grad_norm is NaN"]
    assert alert_cells(c, 1000.0)[0].plain.strip() == "resolved muted"


@pytest.mark.parametrize(("ago", "shown"), [(1500.0, "25m"), (3900.0, "1h05m"), (42.0, "42s"), (185.0, "3m05s")])
def test_an_alerts_age_reads_as_every_other_duration(ago: float, shown: str) -> None:
    """The `ago` column reads as the header's elapsed time and a silence's time left (runwatch.durations):
    `25m`, never `25m00s`."""
    a = AlertBrief("nonfinite", AlertState.FIRING, Severity.CRITICAL, key="k", since=10_000.0 - ago)
    assert alert_cells(a, 10_000.0)[COLUMNS.index("ago")].plain.strip() == shown == human_duration(ago)


def test_system_lines_say_what_is_unknown() -> None:
    g = GpuSample(0, util=97, mem_used=60 * 2**30, mem_total=80 * 2**30, temp_c=90, power_w=500.0)
    line = gpu_line(g, [90.0, 97.0])
    assert "GPU0" in line.plain and "60/80G" in line.plain and "90°C" in line.plain
    assert gpu_line(GpuSample(1, error="GPU is lost"), []).plain.startswith("GPU1 ? ")
    assert "not known" in process_line(None).plain
    assert "rss 1.0G" in process_line(ProcessSample(1, "python", ProcessState.RUNNING, rss_bytes=2**30)).plain
    gone = process_line(ProcessSample(1, "python", ProcessState.GONE, exit_code=1))
    assert "gone" in gone.plain and "bold red" in [str(s.style) for s in gone.spans]


def test_sparks_text_counts_what_does_not_fit() -> None:
    entries = [SparkEntry(f"m{i}", np.arange(10.0), 1.0) for i in range(9)]
    text = sparks_text(entries, 80, 2)
    assert "+6 more" in text.plain


def test_a_sparklines_name_is_whole_and_its_value_beside_it() -> None:
    """A review at 120 and 160 columns: `samples_per…`, and lrm's `1` right-aligned against the next name
    (`1 samples_per…`)."""
    from tests.support.fake_controller import canned_runs

    run = canned_runs()[0]
    entries = [SparkEntry(name, np.linspace(0.0, 1.0, 40), latest[1])
               for name in ("lrm", "samples_per_sec", "tokens_per_sec") if (latest := run.series[name].latest)]
    assert len(entries) == 3 and entries[0].last == 1.0
    for width in (78, 118, 158):
        line = sparks_text(entries, width, 2).plain
        assert "samples_per_sec " in line and "tokens_per_sec " in line
        assert re.search(r"lrm +[▁-█]+ 1 {3,}samples_per_sec", line.replace("\n", " ")), line


def test_shared_range_spans_all_runs() -> None:
    def cd(lo: float, hi: float) -> ChartData:
        return ChartData("r", "m", None, np.arange(2.0), np.array([lo, lo]), np.array([hi, math.nan]),
                         np.array([lo, hi]), np.zeros(2), 2)
    assert shared_range([cd(1, 2), None, cd(0.5, 1.5)]) == (0.5, 2.0)


def test_help_lists_every_bound_key() -> None:
    listed = " ".join(k for _, keys in KEYS for k, _ in keys)
    names = {"question_mark": "?", "slash": "/", "left_square_bracket": "[", "right_square_bracket": "]"}
    for cls in (RunwatchApp, DashboardScreen, CompareScreen, HelpScreen, OverviewScreen, RunsScreen):
        for binding in cls.BINDINGS:
            for key in binding.key.split(","):  # type: ignore[union-attr]
                shown = names.get(key, key)
                assert shown in listed or (shown.isdigit() and "1-9" in listed), (cls.__name__, key)


def test_importing_the_tui_package_does_not_import_textual() -> None:
    # The CLI imports runwatch.tui.app lazily; the package itself must stay light for the headless path.
    import subprocess
    import sys

    code = "import sys, runwatch.tui, runwatch.headless; assert 'textual' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def _nanochat_series(metric: str) -> tuple[np.ndarray, np.ndarray]:
    """A metric of the real 16,704-step nanochat run, as parsed."""
    from runwatch.model import Kind
    from runwatch.parsers.source import SourceParser
    from tests.support.paths import FIXTURES

    lines = (FIXTURES / "corpus/raw/nanochat_pr492_speedrun_d24_feb01.training_output.log").read_text().splitlines()
    sp = SourceParser("speedrun")
    recs = [r for r in sp.feed(lines, 1, 0.0) + sp.flush() if r.kind == Kind.STEP and metric in r.metrics]
    return np.array([r.step for r in recs], float), np.array([r.metrics[metric] for r in recs])


def _y_labels(out: list[str]) -> list[float]:
    return [float(r.split("┤")[0]) for r in out if "┤" in r and r.split("┤")[0].strip()]


def test_the_y_axis_shows_the_run_not_its_warm_up() -> None:
    """Issue 13: on the real nanochat run the loss axis ran 3-11 because of step 0, so the whole
    3.0 → 2.4 descent sat in two rows. The axis now spans the run after its first 5% of steps; what is
    above it is marked ▲ at the top edge and reported in `off_scale`; `full_range` shows everything."""
    x, loss = _nanochat_series("loss")
    robust = LineChart([Line.from_points(x, loss)], 60, 16)
    out = rows(robust)
    assert max(_y_labels(out)) < 4.5 and min(_y_labels(out)) > 2.0
    assert "▲" in out[0] and robust.off_scale[0] == pytest.approx(loss.max())
    full = rows(LineChart([Line.from_points(x, loss)], 60, 16, full_range=True))
    assert max(_y_labels(full)) >= 10 and "▲" not in "".join(full)


def test_a_late_spike_still_sets_the_axis() -> None:
    """Only warm-up is left out: a spike in the run's body is what the chart is for."""
    x, loss = _nanochat_series("loss")
    spiked = loss.copy()
    spiked[len(loss) // 2] = 9.0
    out = rows(LineChart([Line.from_points(x, spiked)], 60, 16))
    assert max(_y_labels(out)) >= 8 and "▲" not in "".join(out)


def test_time_ticks_count_back_from_the_newest_point() -> None:
    from runwatch.tui.renderables.ticks import ago_label, time_ticks

    ticks = time_ticks(1000.0, 1000.0 + 3600.0, 5)
    assert [label for _, label in ticks] == ["-60m", "-45m", "-30m", "-15m", "now"]
    assert ticks[-1][0] == 4600.0 and ticks[0][0] == 1000.0
    assert [ago_label(s) for s in (0.1, 45, 90 * 60, 5 * 3600, 3 * 86400)] == ["now", "-45s", "-90m", "-5h", "-3d"]


def test_a_wall_time_axis_runs_to_now_so_a_silence_shows_while_it_lasts() -> None:
    """A new user's review: during a 69 s hang the wall-time axis ended at the newest point and showed no
    hole until steps came again. With `until` (now, for a run still going) the axis runs to it: the line
    fills only the left part, and the right end is labelled `now`."""
    x = np.arange(0.0, 60.0, 1.0)
    line = Line.from_points(x, np.ones(len(x)))
    silent = LineChart([line], 60, 8, wall_time=True, until=120.0)
    assert silent._xlim() == (0.0, 120.0)
    text = "\n".join("".join(t for t, _ in row) for row in silent.runs())
    plot = [row for row in text.splitlines()[:-1]]  # the rows above the x axis labels
    drawn = [max((i for i, c in enumerate(r) if "\u2800" < c <= "\u28ff"), default=-1) for r in plot]
    assert 0 < max(drawn) < 40  # a minute of points, then a minute of nothing, in 60 columns
    assert text.splitlines()[-1].rstrip().endswith("now")
    assert LineChart([line], 60, 8, wall_time=True)._xlim() == (0.0, 59.0)  # over: the axis ends at its last point
    assert LineChart([line], 60, 8, until=120.0)._xlim() == (0.0, 59.0)  # a step axis has no "now"


def test_a_wall_time_line_breaks_across_a_hang_but_not_across_its_usual_spacing() -> None:
    """Points every 10 s with a 15-minute hole: the stroke is not drawn across the hole; the same
    points on a step axis (no breaks) are one line."""
    from runwatch.tui.renderables.braille import Frame, line_codes

    x = np.concatenate([np.arange(0.0, 600.0, 10.0), np.arange(1500.0, 2100.0, 10.0)])
    y = np.ones(len(x))
    ln = Line.from_points(x, y)
    frame = Frame(0.0, 2100.0, 0.0, 2.0, 100, 4)
    _, stroke = line_codes(ln, frame, lambda v: v, breaks=True)
    drawn = (stroke != 0).any(axis=0)
    assert drawn[:28].all() and not drawn[32:70].any() and drawn[72:].all()
    _, joined = line_codes(ln, frame, lambda v: v)
    assert (joined != 0).any(axis=0).all()


def test_a_diverged_loss_is_charted_with_scientific_labels() -> None:
    """A loss gone past float32 on its way to inf (CLU's printed `train_loss=1.42789e+98`, then `inf`,
    tests/fixtures/printed/clu_absl_diverged.log): its tick label was 300 digits and a `T`, wider than the panel, and the
    chart read `no data yet` in a tmux try. Past 1e15 a label is scientific; the chart draws the rise and marks the Infs."""
    assert [tick_label(v, s) for v, s in [(1e297, 1e297), (2.5e16, 5e15), (-3e20, 1e20)]] == ["1e297", "2.5e16", "-3e20"]
    assert tick_label(5e14, 1e14) == "500T"
    chart = LineChart([Line.from_points([50, 100, 150, 200, 250, 300], [1.4e98, 4.9e197, 1.7e297, *[math.inf] * 3])],
                      40, 8)
    text = "\n".join(row.plain for row in chart.render_rows())
    assert "no data yet" not in text and "1e297" in text and text.count("↑") == 3
