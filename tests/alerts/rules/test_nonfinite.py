"""nonfinite: every shape a NaN takes in a log, caught at the first bad value."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from runwatch.alerts.rules.nonfinite import NonFinite, NonFiniteParams
from runwatch.model import Kind, Record
from tests.support.rule_replay import evaluation, feed, losses, step, step_with

NAN, INF = math.nan, math.inf
RULE = NonFinite()


def fired(records: list[Record], rule: NonFinite = RULE) -> list[tuple[str, dict[str, object]]]:
    tracker, now = feed(records)
    return [(f.summary, dict(f.labels)) for f in rule.evaluate(tracker, now)]


def megatron(n: int, loss: float | None = 2.0, skipped: float = 0.0, **extra: float) -> Record:
    metrics = {"step_time": 1.0, "lr": 1e-4, "loss_scale": 1.0, "skipped_iterations": skipped,
               "nan_iterations": 0.0, **extra}
    if loss is not None:
        metrics["loss"] = loss
    return step_with(n, metrics)


@pytest.mark.parametrize(
    ("records", "summary", "labels"),
    [
        (losses([2.0, 1.9, NAN]), "loss is NaN at step 2", {"metric": "loss"}),
        (losses([2.0, INF, 1.9]), "loss is Inf at step 1", {"metric": "loss"}),
        ([step(i, loss=2.0, grad_norm=g) for i, g in enumerate([1.0, 1.0, INF, INF])],
         "grad_norm is Inf at step 2 (2 of the 2 steps logged from there on are not finite)", {"metric": "grad_norm"}),
        ([*losses([2.0] * 5), evaluation(5, val_loss=NAN)], "val_loss is NaN at step 5", {"metric": "val_loss"}),
        ([step(i, rank=r, loss=NAN if (i, r) == (3, 2) else 2.0) for i in range(5) for r in range(4)],
         "loss is NaN at step 3", {"metric": "loss", "rank": 2}),
        # every rank logs the NaN: one finding, on the rank that went bad first
        ([step(i, rank=r, loss=NAN if i >= 3 + (r != 1) else 2.0) for i in range(6) for r in range(4)],
         "loss is NaN at step 3 on rank 1 (ranks 0, 1, 2, 3) (3 of the 3 steps logged from there on are not finite)",
         {"metric": "loss", "rank": 1}),
    ],
)
def test_a_bad_value_fires_at_its_step(records: list[Record], summary: str, labels: dict[str, object]) -> None:
    assert fired(records) == [(summary, {"run": "train", **labels})]


def test_a_healthy_run_is_quiet() -> None:
    assert fired([step(i, loss=3 - i / 100, grad_norm=1.0, loss_scale=1.0) for i in range(300)]) == []


def test_one_nan_keeps_firing_while_it_is_in_the_window_then_clears() -> None:
    rule = NonFinite(NonFiniteParams(window=20))
    tracker, now = feed(losses([2.0] * 10 + [NAN] + [2.0] * 19))
    (found,) = rule.evaluate(tracker, now)
    assert found.step == 10 and math.isnan(found.value)  # type: ignore[arg-type]
    feed(losses([2.0], start=30), tracker=tracker, start=now + 1)
    assert rule.evaluate(tracker, now + 1) == []


def test_hf_trainer_loss_zero_with_nan_grad_norm_is_named() -> None:
    records = [step(None, loss=0.0, grad_norm=NAN, lr=1e-4) for _ in range(3)]
    (summary, labels), = fired(records)
    assert "grad_norm is NaN" in summary and "loss reads 0.0" in summary
    assert labels["metric"] == "grad_norm"


def test_a_preference_trainers_nan_outputs_beside_a_finite_loss_fire() -> None:
    """A review's TRL DPO run: `'loss': 2451616399.36`, then `'loss': 0.0` twice, every `rewards/*`, `logps/*` and
    `logits/*` NaN in all three dicts: judged OK (exit 0), since no series named a loss went bad. The model's own
    outputs are judged as losses are; the first to go bad is named, at the step of the first dict; a finite
    `rewards/accuracies` is no fault."""
    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    code, [run], _ = check_json(FOUND / "trl_dpo_nan_logps_loss_zero.log")
    [alert] = [a for a in run["alerts"] if a["rule"] == "nonfinite"]
    assert code == 2 and alert["labels"]["metric"].startswith(("logps_", "logits_", "rewards_")), alert
    assert alert["labels"]["metric"] != "rewards_accuracies" and alert["first_step"] == 58, alert
    records = [step(None, loss=0.0, logps_chosen=NAN, rewards_accuracies=0.0, lr=5e-4) for _ in range(3)]
    (summary, labels), = fired(records)
    assert labels["metric"] == "logps_chosen" and "loss reads 0.0" in summary


def test_a_running_best_that_starts_at_inf_is_no_bad_loss() -> None:
    """A review's simple-nmt console, ten launches: each first validation prints `best_loss=inf best_ppl=inf`, the
    running best before any was kept; read as a loss, a critical alert and exit 2 on a healthy run. A best is
    judged by the loss it keeps; the same launches with a NaN loss still fire."""
    from tests.support.found import FOUND, found_lines
    from tests.support.realruns import check_json

    assert any("best_loss=inf" in ln for ln in found_lines("simple_nmt_best_loss_inf.log.gz"))
    code, [run], _ = check_json(FOUND / "simple_nmt_best_loss_inf.log.gz")
    assert code < 2 and [a for a in run["alerts"] if a["rule"] == "nonfinite"] == [], run["alerts"]
    records = [evaluation(i, val_best_loss=math.inf, min_val_loss=math.inf) for i in range(3)]
    assert fired([step(i, loss=2.0) for i in range(3)] + records) == []
    (summary, labels), = fired([step(i, loss=2.0) for i in range(3)] + records + [step(4, train_loss=NAN)])
    assert labels["metric"] == "train_loss", summary


def test_megatron_nan_iterations_counted() -> None:
    records = [megatron(i) for i in range(5)] + [megatron(5, nan_iterations=2.0)]
    (summary, labels), = fired(records)
    assert summary == "2 NaN iteration(s) counted since step 5"
    assert labels["metric"] == "nan_iterations"


@pytest.mark.parametrize(
    ("scales", "overflowed", "fires"),
    [
        ([1.0] * 20, "skipped_steps", False),  # bf16: Megatron prints 1.0 throughout
        ([65536.0, 32768.0, 16384.0, 2048.0, 1024.0], "skipped_steps", False),  # fp16 warm-up finds its level
        ([8.0, 4.0, 2.0, 1.0], "skipped_steps", True),  # fell to the floor, and steps there still overflow
        ([8.0, 4.0, 2.0, 1.0], "skipped_iterations", True),
        ([8.0, 4.0, 2.0, 1.0, 1.0, 1.0], None, False),  # fell there and trains on: a low scale
        ([1024.0, 0.5], None, False),
        ([1024.0, 0.5], "skipped_steps", True),
        ([1024.0, NAN], None, True),  # no scale at all
        ([1024.0, 0.0], None, True),
    ],
)
def test_loss_scale_collapse(scales: list[float], overflowed: str | None, fires: bool) -> None:
    """A scale at its floor is a collapse when the steps there still overflow (DeepSpeed's count of skipped steps
    grows, Megatron counts skipped iterations), not when it fell there and the run trains on at it."""
    def skipped(i: int, s: float) -> dict[str, float]:
        if overflowed == "skipped_steps":
            return {"skipped_steps": float(i)}  # every step skipped
        return {overflowed: float(s <= 1.0)} if overflowed else {}

    found = fired([step(i, loss=2.0, loss_scale=s, **skipped(i, s)) for i, s in enumerate(scales)])
    assert bool(found) == fires
    if fires:
        assert "loss scale collapsed" in found[0][0] and found[0][1]["metric"] == "loss_scale"


def test_megatron_dropping_the_loss_counts_as_nan() -> None:
    records = [megatron(i) for i in range(5)] + [megatron(5, loss=None), megatron(6, loss=None)]
    (summary, _), = fired(records)
    assert summary.startswith("loss missing from the last 2 step records since step 5")


@pytest.mark.parametrize(
    "records",
    [
        [megatron(i) for i in range(5)] + [megatron(5, loss=None)],  # one record: a truncated line, maybe
        [megatron(i) for i in range(5)] + [megatron(5, loss=None, skipped=10), megatron(6, loss=None, skipped=10)],
        # HF Trainer: the tqdm bar gives step_time every step, the loss dict every 10th
        [step_with(i, {"step_time": 0.2, **({"loss": 2.0} if i % 10 == 0 else {})}) for i in range(41)],
        # HF Trainer whose bar frames come at its logging steps only, then at the last two steps before the end,
        # short of the next logging step (a review's AutoTrain run, 25 steps a log, ending at 23260)
        [step_with(i, {"step_time": 0.2, "loss": 2.0}) for i in range(0, 101, 25)]
        + [step_with(110, {"step_time": 0.2}), step_with(111, {"step_time": 0.2})],
        # a run resumed from a checkpoint into the same log: its step counter goes back (review finding)
        [megatron(i) for i in range(1000)] + [megatron(500)],
        [megatron(i) for i in range(1000)] + [megatron(500), megatron(501)],
    ],
    ids=["one-record", "skipped-iterations", "hf-cadence", "hf-end-before-the-next-log", "resumed", "resumed-two"],
)
def test_a_loss_that_is_merely_absent_is_not_nan(records: list[Record]) -> None:
    assert fired(records) == []


def test_the_summary_names_where_a_long_nan_stretch_began_not_the_window() -> None:
    """A new user's review: `check` on nanogpt-tb-nan's folder said "loss is NaN at step 386" (the first step
    of the rule's 256-point window while the NaN ran on) for the run lab's NaN at iter 300; the points of the
    log and of the TensorBoard file are counted once per step."""
    import contextlib
    import io
    import json

    from runwatch.cli import main
    from tests.support.paths import FIXTURES

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["check", str(FIXTURES / "realruns/nanogpt-tb-nan/run"), "--json"]) == 2
    [alert] = [a for a in json.loads(out.getvalue())["alerts"] if a["labels"].get("metric") == "loss"]
    assert alert["summary"].startswith("loss is NaN at step 300 (300 of the 300 steps logged from there on")


def test_a_run_nan_for_longer_than_the_rules_window_says_where_it_went_bad(tmp_path: Path) -> None:
    """20,000 step lines, NaN from step 1,000 on: the rule's window and the series' raw points hold only the
    newest; the summary still names step 1,000."""
    import contextlib
    import io
    import json

    from runwatch.cli import main
    from tests.support.nanochat import nanochat_line

    log = tmp_path / "train.log"
    log.write_text("".join(nanochat_line(i, total=20_000, loss="nan" if i >= 1000 else None) for i in range(20_000)))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["check", str(log), "--json"]) == 2
    [alert] = json.loads(out.getvalue())["alerts"]
    assert alert["summary"] == "loss is NaN at step 1000 (and at every step logged since)"


def _deepspeed(excerpt: str, fragment: str) -> Record:
    """The record DeepSpeed's parser reads from a real `[Rank 0] step=…, skipped=…` line of the corpus
    (deepspeed.md: D1 DeepSpeed#1825, D4 transformers#14531)."""
    from runwatch.parsers.deepspeed import DeepSpeedParser
    from tests.support.corpus import json_excerpt, line_with

    line = line_with(json_excerpt("excerpts_deepspeed.json", f"Excerpt {excerpt} "), fragment)
    rec = DeepSpeedParser().parse(line)
    assert rec is not None
    return rec


def test_deepspeed_skipping_nearly_every_step_for_fp16_overflow_is_caught() -> None:
    """transformers#14531 (T5-11B under DeepSpeed fp16): `step=2000, skipped=1995` — 1995 of 2000 steps
    overflowed and were skipped, yet `runwatch check` raised nothing: DeepSpeed's count fed no rule."""
    (found,) = RULE.evaluate(*feed([_deepspeed("D4", "step=2000,")]))
    assert found.summary == "1995 of the first 2000 steps skipped for fp16 overflow: the run is not training"
    assert dict(found.labels) == {"run": "train", "rank": 0, "metric": "skipped_steps"}
    assert found.step == 2000 and found.value == pytest.approx(0.9975)


def test_deepspeed_skipping_a_few_steps_while_the_loss_scale_settles_is_healthy() -> None:
    """DeepSpeed#1825's healthy run: `skipped=2` at steps 40, 50 and 60 (the loss scale settling at the start)."""
    assert fired([_deepspeed("D1", f"step={n},") for n in (40, 50, 60)]) == []


def test_deepspeed_overflow_judged_over_the_newest_steps_once_the_run_is_longer() -> None:
    """A long healthy stretch does not hide a collapse: the share is of the newest 50 steps or more, and
    it resolves once the steps train again. The count is DeepSpeed's, as its parser reads it from D1's line."""
    real = _deepspeed("D1", "step=40,")
    counts = [(n, 2.0 if n <= 1000 else 2.0 + (n - 1000)) for n in range(10, 1101, 10)]
    records = [dataclasses.replace(real, step=n, metrics={**real.metrics, "skipped_steps": c}) for n, c in counts]
    (found,) = RULE.evaluate(*feed(records))
    assert found.summary == "50 of the 50 steps up to step 1100 skipped for fp16 overflow: the run is not training"
    recovered = [dataclasses.replace(real, step=n, metrics={**real.metrics, "skipped_steps": 102.0})
                 for n in range(1110, 1200, 10)]
    assert fired(records + recovered) == []
    assert fired(records, NonFinite(NonFiniteParams(skipped_share=0))) == []


def test_the_last_step_of_a_bad_value_is_the_newest_one_seen_not_the_runs_step() -> None:
    """A one-off NaN found again while it stays in the window was seen at its own step only (`check` read
    `first step 100071, last step 101076` for one NaN); a second one moves the last step to it."""
    rule = NonFinite(NonFiniteParams(window=20))
    (one,) = rule.evaluate(*feed(losses([2.0] * 10 + [NAN] + [2.0] * 9)))
    (two,) = rule.evaluate(*feed(losses([2.0] * 10 + [NAN] + [2.0] * 4 + [NAN] + [2.0] * 4)))
    assert (one.step, one.last_step) == (10, 10) and (two.step, two.last_step) == (10, 15)


def test_a_megatron_nan_iteration_is_one_fault_live_as_in_check_not_a_third_alert_for_the_dropped_loss() -> None:
    """A new user's review: Megatron's NaN iteration (the loss left out of its line, `grad norm: nan`, counted
    in `number of nan iterations`) raised grad_norm and nan_iterations in `check`, and live a third critical
    alert besides, `loss missing from the last 2 step records`: it holds only while those records are the
    newest, which a tail judging each record sees and `check` does not. Another finding saying the same NaN
    makes it none. Real Megatron step lines (Megatron-LM issue 756) with such a NaN at steps 300-304."""
    from runwatch.parsers.source import SourceParser
    from tests.support.rule_replay import replay_lines
    from tests.support.stamped import megatron_log

    lines = megatron_log(400, nan_at=300, dropped=True)
    parser = SourceParser("train.log")
    records = parser.feed(lines, 0, 0.0) + parser.flush()
    tracker, now = feed(records[:1])
    live: set[object] = set()
    for rec in records[1:]:  # judged after every record, as a tail following the log sees it
        tracker, now = feed([rec], tracker=tracker, start=now + 1.0)
        live |= {dict(f.labels)["metric"] for f in RULE.evaluate(tracker, now)}
    once = {dict(f.labels)["metric"] for f in replay_lines(lines).of("nonfinite")}
    assert live == once == {"grad_norm", "nan_iterations"}


def _with_evals(steps: int, every: int, nan_at: int) -> list[Record]:
    out: list[Record] = []
    for i in range(steps):
        out.append(step(i, loss=2.0, lr=1e-4))
        if i and i % every == 0:
            out.append(evaluation(i, val_loss=NAN if i == nan_at else 2.1))
    return out


def test_a_nan_of_a_sparse_series_clears_once_the_run_stepped_on_and_it_was_finite_again() -> None:
    """A new user's review: one NaN val_loss among 600 evals (every 1,000 steps) held the alert firing for
    the 199 finite evals after it, to the end of the run: it was still among val_loss's newest 256 points.
    It counts while within the run's newest `recover` step records, or while it is the newest val_loss."""
    recover = RULE.params.recover
    assert recover > 20 and fired(_with_evals(1000, 10, nan_at=980))  # 19 steps on, a finite eval after it
    assert fired(_with_evals(3000, 100, nan_at=500)) == []  # 2,500 steps and 25 finite evals on
    late = _with_evals(2900, 100, nan_at=2800) + [step(2900 + i, loss=2.0, lr=1e-4) for i in range(3 * recover)]
    assert fired(late), "nothing finite came after it: still the newest val_loss"


def test_a_one_off_nan_loss_clears_after_recover_records_of_a_run_logging_every_tenth_step() -> None:
    """The review's other case: `loss: nan` once at step 250 of a loop printing every 10th step stayed
    firing to step 2,400 (215 records on, within the 256-point window)."""
    recover = RULE.params.recover
    records = [step(10 * i, loss=NAN if i == 25 else 2.0 - i / 1000) for i in range(25 + recover)]
    assert fired(records)
    assert fired([*records, step(10 * (25 + recover), loss=1.9)]) == []
    burst = NonFinite(RULE.params).widened(2 * recover)  # a burst judged at once: all of it is looked at
    tracker, now = feed([*records, step(10 * (25 + recover), loss=1.9)])
    assert burst.evaluate(tracker, now)


def test_a_run_whose_lines_state_no_step_counts_records() -> None:
    """A loop's `Epoch 1 - Batch loss: nan` lines number no step: the summary's count is of records, as its
    position is (it said "3 of the 3 steps logged" of a run with no step in any line)."""
    lines = [Record(Kind.STEP, None, None, metrics={"loss": v}) for v in [2.0, 1.9, NAN, NAN, NAN]]
    assert fired(lines) == [("loss is NaN at record 2 (3 of the 3 records logged from there on are not finite)",
                             {"run": "train", "metric": "loss"})]


def test_a_value_named_by_its_split_alone_is_judged_as_a_loss() -> None:
    """A loop's epoch summary `Epoch [1/30] Train: 0.0962 | Val: 0.0991 | …` (`model.SPLIT_METRICS`): a `Train: nan`
    there is as bad as `loss: nan`; a score of another name (`accuracy`) is not judged."""
    split = [step_with(i, {"train": 0.1 if i < 6 else NAN, "val": 0.1, "accuracy": NAN}) for i in range(10)]
    [(summary, labels)] = fired(split)
    assert summary.startswith("train is NaN at step 6") and labels["metric"] == "train"
    assert fired([step_with(i, {"train": 0.1, "accuracy": NAN}) for i in range(10)]) == []


def test_a_loss_of_the_loops_own_name_is_judged_when_no_watched_metric_is_bad() -> None:
    """A review: an I-JEPA fork's losses (`Parent Class`, `Autoencoder Loss (total)`, …) went NaN and nothing fired:
    none is named `loss`. Any metric named for a loss is judged, one finding, the one that went bad first; a watched
    metric that is bad tells alone; a loss scale is judged as a scale, not here."""
    own = [step_with(i, {"box_loss": 1.0 if i < 8 else NAN, "cls_loss": 1.0 if i < 5 else NAN, "parent_class": NAN})
           for i in range(12)]
    [(summary, labels)] = fired(own)
    assert summary.startswith("cls_loss is NaN at step 5") and labels["metric"] == "cls_loss"
    both = [step_with(i, {"loss": 1.0 if i < 9 else NAN, "cls_loss": 1.0 if i < 5 else NAN}) for i in range(12)]
    assert [labels["metric"] for _, labels in fired(both)] == ["loss"]
    [(_, scale)] = fired([step_with(i, {"loss_scale": NAN, "loss": 2.0}) for i in range(3)])
    assert scale["metric"] == "loss_scale"  # the scale's own check, once
    quiet = NonFinite(NonFiniteParams(any_loss=False))
    assert fired(own, quiet) == []


def test_a_progress_bars_frames_without_the_loss_dict_are_no_dropped_nan() -> None:
    """A review's HF Trainer run under DeepSpeed, its console as W&B captured it (`output.log`), logging every step:
    the capture lost a few of the dicts between the bar's redraws (`| 44/968921 …`, six dicts, `| 52/968921`), and a
    tail judging each record fired `loss missing from the last 2 step records … (Megatron drops a NaN loss)`,
    critical, where `check` said nothing; the log holds no NaN. The bar's frames carry a step time and never the loss,
    the dicts carry it with the learning rate: only a line that carries the loss beside `lr` can be seen to drop it."""
    from runwatch.parsers.source import SourceParser
    from tests.support.found import found_lines
    from tests.support.rule_replay import replay_lines

    lines = found_lines("vividbot_hf_deepspeed_wandb_capture.log.gz")
    parser = SourceParser("output.log")
    records = parser.feed(lines, 1, 0.0) + parser.flush()
    assert parser.format == "hf-trainer" and not any("nan" in x.lower() for x in lines if "'loss'" in x)
    tracker, now = feed(records[:1])
    live: list[str] = []
    for rec in records[1:]:  # judged after every record, as a tail following the log sees it
        tracker, now = feed([rec], tracker=tracker, start=now + 1.0)
        live += [f.summary for f in RULE.evaluate(tracker, now)]
    assert live == [] and list(replay_lines(lines).of("nonfinite")) == []


def test_gradient_boostings_error_measures_are_judged_as_losses() -> None:
    """XGBoost, LightGBM and CatBoost fitted with a learning rate of 1e30 (tests/fixtures/printed, the libraries' own
    output): XGBoost printed `train-rmse:inf  valid-rmse:inf`, then `nan` for every round, judged OK (exit 0): no
    series of a boosting log is named for a loss. A metric naming a measure of error (`model.ERROR_MEASURES`:
    `train_rmse`, `valid_0_l2`) and CatBoost's `learn` (a split's value, `model.SPLIT_METRICS`) are judged as losses
    are; a finite score of another name (`accuracy`, `auc`) is not, nor a running best (CatBoost's `best_test`)."""
    from tests.support.realruns import check_json

    printed = Path(__file__).parents[2] / "fixtures" / "printed"
    code, [xgb], _ = check_json(printed / "xgboost_diverges.log")
    [alert] = [a for a in xgb["alerts"] if a["rule"] == "nonfinite"]
    assert code == 2 and alert["labels"]["metric"] == "train_rmse" and alert["first_step"] == 0, alert
    _, [cat], _ = check_json(printed / "catboost_diverges.log")
    [alert] = [a for a in cat["alerts"] if a["rule"] == "nonfinite"]
    assert alert["labels"]["metric"] == "learn" and alert["first_step"] == 1, alert  # 2.4e60 at 1, inf at 5
    for name in ("valid_0_l2", "validation_1_logloss", "train_poisson_nloglik", "val_mse", "train_merror"):
        [(summary, labels)] = fired([step_with(i, {name: 1.0 if i < 3 else NAN, "auc": NAN}) for i in range(6)])
        assert labels["metric"] == name and summary.startswith(f"{name} is NaN at step 3")
    assert fired([step_with(i, {"valid_auc": NAN, "accuracy": NAN, "best_rmse": math.inf}) for i in range(6)]) == []
    # MAPE is infinite wherever a label is 0 (the data, not the model); a bare `error` as often counts failures
    assert fired([step_with(i, {"train_mape": INF, "decode_error": NAN, "train_rmse": 1.0}) for i in range(6)]) == []


def test_a_loss_past_float32s_largest_is_an_overflow() -> None:
    """LightGBM fitted with a learning rate of 1e30 (tests/fixtures/printed, its own output) computes in doubles and
    printed `valid_0's l2: 9.24749e+120` every round, never a NaN: judged OK (exit 0) where XGBoost's fit of the same
    data read `inf`. A loss or error measure past float32's largest (3.4e38: float32 and bf16 training would hold Inf
    there) is the same garbage; one just under it is a number, and a one-off overflow the run recovered from clears
    as a NaN does."""
    from tests.support.realruns import check_json

    printed = Path(__file__).parents[2] / "fixtures" / "printed"
    code, [lgb], _ = check_json(printed / "lightgbm_diverges.log")
    [alert] = [a for a in lgb["alerts"] if a["rule"] == "nonfinite"]
    assert code == 2 and alert["labels"]["metric"] == "valid_0_l2" and alert["first_step"] == 1, alert
    assert "beyond float32's range" in alert["summary"] and "12 of the 12 steps logged from there on are beyond float32's range" in alert[
        "summary"], alert
    [(summary, labels)] = fired([step_with(i, {"loss": 2.0 if i < 3 else -4e38}) for i in range(6)])
    assert labels["metric"] == "loss" and summary.startswith("loss is -4e+38 at step 3, beyond float32's range"), summary
    # an overflow held longer than the rule looks back says where it began, as a NaN does; NaN then overflow is both
    [(summary, _)] = fired([step_with(i, {"loss": 2.0 if i < 2 else 9e120}) for i in range(6000)])  # > series.KEEP
    assert summary.startswith("loss is 9e+120 at step 2, beyond") and "(and at every step logged since)" in summary
    [(summary, _)] = fired([step_with(i, {"loss": 2.0 if i < 2 else NAN if i < 4 else 9e120}) for i in range(8)])
    assert summary == "loss is NaN at step 2 (6 of the 6 steps logged from there on are not finite or beyond float32's range)"
    assert fired([step_with(i, {"loss": 2.0, "grad_norm": 3.0e38}) for i in range(6)]) == []
    recovered = [step_with(i, {"loss": 1e39 if i == 1 else 2.0}) for i in range(40)]
    assert fired(recovered[:10]) != [] and fired(recovered) == []


def test_a_runs_own_word_that_its_loss_was_nan_fires_where_no_logged_loss_is(tmp_path: Path) -> None:
    """A loop's guard printing `[WARNING] NaN loss detected! Skipping batch.` twelve times while every loss it logged
    was finite (a real diffusion-LM run, tests/fixtures/found/README.md): `check` said OK, exit 0 (a new user's
    review). Now the first of them fires at the bar's step, in `check` and followed live alike; and Keras's
    `TerminateOnNaN` (`Batch 49: Invalid loss, terminating training`, glued to its bar's frame: a run lab recording)
    fires at the step the bar had shown, before the epoch's last frame shows the NaN."""
    import gzip

    from runwatch.alerting import Alerting
    from runwatch.config import load_config
    from runwatch.engine import Engine, EngineOptions
    from tests.support.found import FOUND
    from tests.support.news import notifications
    from tests.support.realruns import REALRUNS, check_json
    from tests.support.waiting import wait_for

    found = FOUND / "thunder_prefixlm_tqdm_nan_loss_skipped.log.gz"
    rc, [report], _ = check_json(found)
    [alert] = [a for a in report["alerts"] if a["rule"] == "nonfinite"]
    assert rc == 2 and (alert["labels"], alert["first_step"], alert["last_step"]) == ({"metric": "loss"}, 24, 763)

    log = tmp_path / "training.log"
    log.write_bytes(gzip.decompress(found.read_bytes()))
    engine = Engine([str(log)], EngineOptions(poll_interval=0.1, system=False),
                    alerting=lambda: Alerting(load_config(None), persist=False))
    news = engine.subscribe()
    with engine:
        wait_for(lambda: (s := engine.snapshots()[0]).progress.step == 806 and not s.reading_history, timeout=60)
        fired = [n for n in notifications(news) if n.alert.rule == "nonfinite"]
    assert fired and fired[0].state.value == "firing" and fired[0].alert.summary == "loss is NaN at step 24"

    _, [keras], _ = check_json(REALRUNS / "keras-v1-nan-terminate" / "run")
    [loss] = [a for a in keras["alerts"] if a["rule"] == "nonfinite" and a["labels"] == {"metric": "loss"}]
    assert loss["first_step"] == 240  # the frame before `49/200` of epoch 2; the epoch's last frame says 400


def _said_nan(step: int | None = None) -> Record:
    """What the event detector makes of a loop's `NaN loss detected` (its `nonfinite` event)."""
    from runwatch.model import Event

    return Record(Kind.EVENT, step=step, event=Event.NONFINITE, metrics={"loss": NAN},
                  message="[WARNING] NaN loss detected! Skipping batch.")


def test_a_said_nan_goes_to_the_loss_the_run_logs_and_clears_as_a_logged_one_does() -> None:
    """A run logging `lm_loss` (Megatron) and never `loss`: the said NaN is a point of `lm_loss`, at the step the run had
    reached; it fires, and goes on as a NaN logged there does. As a series `loss` of its own it charted one point and
    took the status line's `loss` for good (a code review)."""
    recs = [step_with(i, {"lm_loss": 2.0, "val_loss": 2.5}) for i in range(6)] + [_said_nan()]
    tracker, _ = feed(recs)
    assert "loss" not in tracker.store.metrics()
    assert fired(recs) == [("lm_loss is NaN at step 5", {"metric": "lm_loss", "run": "train"})]
    after = [step_with(i, {"lm_loss": 2.0}) for i in range(6, 60)]
    logged = [step_with(i, {"lm_loss": NAN if i == 5 else 2.0, "val_loss": 2.5}) for i in range(6)]
    assert fired(recs + after) == fired(logged + after) == []
    assert fired(recs + after[:RULE.params.recover - 1]) == fired(recs)  # not yet `recover` step records past it


def test_a_nan_of_a_run_whose_steps_carry_only_its_own_losses_clears_after_recover_finite_steps() -> None:
    """A GAN logging `d_loss` and `g_loss` and nothing else at each step (no step time, lr or `loss` to count its
    step records by): one NaN among them resolves once `recover` finite ones follow, as it does for `loss`."""
    n = RULE.params.recover
    recs = [step_with(i, {"d_loss": NAN if i == 10 else 0.7, "g_loss": 1.1}) for i in range(11 + n)]
    assert fired(recs[:10 + n]) == [("d_loss is NaN at step 10", {"metric": "d_loss", "run": "train"})]
    assert fired(recs) == []
    as_loss = [step_with(i, {"loss": NAN if i == 10 else 0.7}) for i in range(11 + n)]
    assert fired(as_loss[:10 + n]) != [] and fired(as_loss) == []



def test_a_fairseq_loss_scale_that_fell_to_1_and_trained_on_is_no_collapse() -> None:
    """fairseq's FSDP example run (tests/fixtures/found/README.md): two overflows at its start take its scale from 4
    to 1, then 7 updates at 1 with no overflow while the loss falls from 25.2 to 17.6, and `Stopping training due to
    num_updates: 10 >= max_update: 10`. `check` paged "loss scale collapsed to 1 (every step overflows)", and live
    at step 3. A Megatron-DeepSpeed run whose steps at 1 still overflow (`skipped=1585`, then 1586) still reads so."""
    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    _, [report], _ = check_json(FOUND / "fairseq_fsdp_fp16_scale_settles_at_1.log")
    assert (report["state"], report["step"], report["alerts"]) == ("finished", 10, [])
    _, [collapsed], _ = check_json(FOUND / "megatron_ds_llama_fp16_overflow_note.log")
    [said] = [a for a in collapsed["alerts"] if a["rule"] == "nonfinite"]
    assert said["labels"]["metric"] == "loss_scale" and said["firing_at_end"]


def test_a_nan_that_comes_after_the_run_passed_its_step_counts_as_it_comes() -> None:
    """The HF Trainer's bar runs ahead of its buffered loss dicts (tests/fixtures/found/README.md,
    `hf_trl_qlora_dicts_behind_bar.log.gz`): frames to step 200, then the dicts of steps 10 to 200 at once, a NaN at
    step 100 among them. By step, the run had logged 100 step records past it before it came: it never counted.
    It counts while among the run's newest `recover` records (`Series.bad_mark`), and clears once they have passed."""
    recover = RULE.params.recover
    frames = [step(i, total=1755, step_time=21.0) for i in range(1, 201)]
    dicts = [step(10 * i, loss=NAN if i == 10 else 1.5) for i in range(1, 21)]
    assert [s for s, _ in fired(frames + dicts)] == ["loss is NaN at step 100"]
    later = [step(200 + i, total=1755, step_time=21.0) for i in range(1, recover)]
    assert fired(frames + dicts + later) == []  # 10 dicts and 31 frames after it came: recovered
