"""Gradient boosting's round lines (runwatch.parsers.boosting), on the libraries' own output (tests/fixtures/printed)
and on logs found in public (tests/fixtures/found). A review's LightGBM, XGBoost and CatBoost logs were all `nothing
understood: no known log format`, exit 3, and live `tail` waited for a step for ever."""

from __future__ import annotations

from pathlib import Path

from runwatch.model import Event, Kind, Record
from runwatch.parsers.boosting import BoostingParser
from runwatch.parsers.source import SourceParser
from tests.support.found import FOUND, source_records
from tests.support.realruns import check_json

PRINTED = Path(__file__).parents[1] / "fixtures" / "printed"


def _records(path: Path) -> tuple[str | None, list[Record]]:
    sp = SourceParser(str(path))
    recs = sp.feed(path.read_text().splitlines(), 1, 0.0) + sp.flush()
    return sp.format, recs


def test_xgboosts_rounds_are_steps_of_its_sets_metrics() -> None:
    fmt, recs = _records(PRINTED / "xgboost_early_stop.log")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "boosting" and [r.step for r in steps] == [0, 10, 20, 27]
    assert steps[1].metrics == {"train_rmse": 0.42459, "valid_rmse": 0.6819}
    _, [run], _ = check_json(PRINTED / "xgboost_early_stop.log")
    assert (run["state"], run["step"]) == ("ended", 27)  # XGBoost 3 says nothing when it stops early


def test_lightgbms_early_stop_is_the_finish_and_its_best_round_no_step() -> None:
    """`Early stopping, best iteration is:` then `[54]	training's l2: 0.20351	valid_1's l2: 0.408122`, the best round
    printed again: read as a step, the run went back from round 70 to 54."""
    fmt, recs = _records(PRINTED / "lightgbm_early_stop.log")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "boosting" and [r.step for r in steps] == list(range(10, 71, 10))
    assert steps[0].metrics == {"training_l2": 1.24071, "valid_1_l2": 1.53627}
    [finish] = [r for r in recs if r.kind is Kind.EVENT]
    assert (finish.event, finish.step) == (Event.FINISHED, 70)
    _, [run], _ = check_json(PRINTED / "lightgbm_early_stop.log")
    assert (run["state"], run["step"], run["exit_code"]) == ("finished", 70, 0) and not run["alerts"]


def test_three_lightgbm_fits_in_one_log_each_finish() -> None:
    """A KKBox script's three `lgb.train` fits (found in public): three finishes, each fit's rounds from `[10]` again."""
    fmt, recs = source_records("lightgbm_kkbox_3runs_earlystop.log")
    finishes = [r for r in recs if r.kind is Kind.EVENT and r.event == Event.FINISHED]
    steps = [r.step for r in recs if r.kind is Kind.STEP]
    assert fmt == "boosting" and len(finishes) == 3 and steps.count(10) == 3
    assert all("valid_0_auc" in r.metrics for r in recs if r.kind is Kind.STEP)


def test_catboosts_rounds_carry_its_clocks_and_its_detector_finishes() -> None:
    fmt, recs = _records(PRINTED / "catboost_overfitting_detector.log")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "boosting" and [r.step for r in steps] == list(range(0, 176, 25))
    assert steps[1].metrics == {"learn": 0.7428429, "test": 0.8268156, "best_test": 0.8268156, "elapsed": 0.16,
                                "eta": 2.92}
    assert [(r.event, r.step) for r in recs if r.kind is Kind.EVENT] == [(Event.FINISHED, 175)]
    _, [run], _ = check_json(PRINTED / "catboost_overfitting_detector.log")
    assert (run["state"], run["step"]) == ("finished", 175)


def test_catboosts_last_planned_round_states_the_total() -> None:
    """No evaluation set, all 500 iterations: `499:	learn: 0.3417550	total: 3.28s	remaining: 0us`."""
    _, recs = source_records("catboost_regressor_500it_colab.log")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert steps[-1].step == 499 and steps[-1].total_steps == 500 and steps[-1].metrics["eta"] == 0.0
    _, [run], _ = check_json(FOUND / "catboost_regressor_500it_colab.log")
    assert (run["state"], run["step"], run["total_steps"]) == ("finished", 499, 500)
    _, [stopped], _ = check_json(FOUND / "catboost_crashcost_odstop.log")
    assert (stopped["state"], stopped["step"]) == ("finished", 200)


def test_no_other_line_is_a_round() -> None:
    p = BoostingParser()
    for line in ("[LightGBM] [Info] Total Bins 2550", "[10] loss: 0.5", "Training until validation scores don't "
                 "improve for 20 rounds", "bestIteration = 155", "0: learn: 2.3"):
        assert p.parse(line) is None and p.score(line) == 0


def test_cross_validations_read_their_means_and_spreads() -> None:
    """`xgb.cv`'s `[0]	train-rmse:1.72070+0.03439	…` and `lgb.cv`'s `[5]	valid's l2: 2.52685 + 0.212782` (the
    libraries' own output, printed by a code review's script): rounds whose values were read as nothing."""
    _, recs = _records(PRINTED / "xgboost_cv_and_metrics.log")
    first = next(r for r in recs if r.kind is Kind.STEP)
    assert (first.step, first.metrics["train_rmse"], first.metrics["train_rmse_std"]) == (0, 1.7207, 0.03439)
    nan_metric = [r for r in recs if r.kind is Kind.STEP and "train_mymetric" in r.metrics]
    assert len(nan_metric) == 3 and all(r.metrics["train_mymetric"] != r.metrics["train_mymetric"] for r in nan_metric)
    assert [r.metrics for r in recs][-1] == {"validation_0_auc": 0.975, "validation_0_error_0_6": 0.10667,
                                              "validation_0_logloss": 0.35351}  # `error@0.6`, snake-cased
    _, recs = _records(PRINTED / "lightgbm_cv_and_ranking.log")
    steps = [(r.step, sorted(r.metrics)) for r in recs if r.kind is Kind.STEP]
    assert steps[0] == (5, ["valid_l2", "valid_l2_std"])
    # `lgb.cv`'s best round after `Did not meet early stopping. Best iteration is:` is no step, and the next fit's
    # first round (`[2]	valid_0's ndcg@1: 0.904762 …`) is (the flag, left set by the mean ± std it did not read, ate it)
    assert [s for s, _ in steps] == [5, 10, 15, 20, 2, 4, 6, 2, 4, 6, 8]
    assert len([r for r in recs if r.kind is Kind.EVENT and r.event == Event.FINISHED]) == 2


def test_catboosts_second_evaluation_set() -> None:
    _, recs = _records(PRINTED / "catboost_two_sets_and_cv.log")
    first = next(r for r in recs if r.kind is Kind.STEP)
    assert sorted(first.metrics) == ["best_test", "elapsed", "eta", "learn", "test", "test1"]
