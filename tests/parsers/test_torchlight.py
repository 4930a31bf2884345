"""runwatch.parsers.torchlight, on an ST-GCN log of 62 launches found by a review."""

from __future__ import annotations

import gzip
import json
import math

import pytest

from runwatch.cli import main
from runwatch.model import Event, Kind
from runwatch.parsers.detect import detect
from runwatch.parsers.hf_trainer import HFTrainerParser
from runwatch.parsers.torchlight import TorchlightParser
from tests.support.found import FOUND

LOG = FOUND / "stgcn_torchlight_relaunches.log.gz"


def lines() -> list[str]:
    return gzip.decompress(LOG.read_bytes()).decode().split("\n")


def test_detected_as_torchlight_not_as_the_trainer_its_parameters_dict_looks_like() -> None:
    """The processor's `Parameters:` dict (`'eval_interval': 5, …`) made the `hf-trainer` format read every launch's
    settings as an evaluation and nothing else; it signs no Trainer (no loss, no evaluation's runtime)."""
    text = lines()
    settings = next(ln for ln in text if ln.startswith("{'work_dir'"))
    assert HFTrainerParser().score(settings) == 0
    assert detect(text[:200]) == "torchlight"


def test_epochs_count_where_no_iteration_is_printed_and_iterations_where_they_are() -> None:
    parser = TorchlightParser()
    recs = [(i + 1, r) for i, ln in enumerate(lines()) if (r := parser.parse(ln)) is not None]
    steps = [(n, r) for n, r in recs if r.kind is Kind.STEP]
    n, first = steps[0]
    assert n == 5 and first.step == 1 and first.total_steps == 50 and math.isnan(first.metrics["loss"])
    assert first.metrics["epoch"] == 0.0 and first.t > 0  # `[03.24.23|09:56:31]`, its time
    evals = [r for n, r in recs if r.kind is Kind.EVAL and n <= 28]
    assert [(r.step, r.metrics) for r in evals] == [(5, {"val_loss": 5.9914655685424805}), (5, {"val_top1": 0.0}),
                                                    (5, {"val_top5": 0.0})]  # `Eval epoch: 4`
    n, it = next((n, r) for n, r in steps if "lr" in r.metrics)  # `Iter 0 Done. | loss: 1.4824 | lr: 0.010000`
    assert n == 1201 and (it.step, it.total_steps, it.metrics["loss"], it.metrics["lr"]) == (0, None, 1.4824, 0.01)
    launches = [n for n, r in recs if r.event == Event.LAUNCHED]
    assert len(launches) == 61 and launches[0] > 5  # every `Parameters:` but the first


def test_check_finds_the_first_launches_nans_and_no_stall_between_launches(capsys: pytest.CaptureFixture[str]) -> None:
    """`check` read OK (a review): the first launches' `mean_loss: nan` every epoch. The last launch's `Iter 0` came
    two hours after another launch's `Iter 0`, 40 launches that printed no step between them: new attempts, no
    stall."""
    assert main(["check", str(LOG), "--json"]) == 2
    obj = json.loads(capsys.readouterr().out)
    assert [(a["rule"], a["first_step"]) for a in obj["alerts"]] == [("nonfinite", 1)]
    assert obj["alerts"][0]["summary"].startswith("loss is NaN at step 1")  # the epoch's mean: no iteration printed
    assert any(n.startswith("the run started again 22 times") for n in obj["notes"])


def test_ctr_gcns_asctime_stamp_and_sentences_count_its_epochs_from_1(capsys: pytest.CaptureFixture[str]) -> None:
    """CTR-GCN's `print_log` stamps `[ Mon Mar 13 23:37:00 2023 ] ` and prints `epoch + 1` (`Training epoch: 1` at
    `start_epoch` 0), the epoch's means as sentences (`Mean training loss: 1.6603.  Mean training acc: 51.10%.`,
    `Mean test loss of 8 batches: 1.0724.`): unread (a review: UNREAD, exit 3); epoch 65 of 65 is its last step."""
    from datetime import datetime

    lines = (FOUND / "ctrgcn_asctime_ucla_two_launches.log").read_text().split("\n")
    assert detect(lines[:200]) == "torchlight"
    parser = TorchlightParser()
    recs = [r for ln in lines if (r := parser.parse(ln)) is not None]
    first = next(r for r in recs if r.kind is Kind.STEP)
    assert (first.step, first.total_steps, first.metrics) == (1, 65, {"loss": 1.6603, "acc": 51.10, "epoch": 1.0})
    assert first.t == datetime(2023, 3, 13, 23, 38, 46).timestamp()
    evals = [r.metrics for r in recs if r.kind is Kind.EVAL][:3]
    assert evals == [{"val_loss": 1.072461113333702}, {"val_top1": 59.70}, {"val_top5": 98.71}]
    # healthy: its val_loss, 0.25 to 0.6 from one epoch to the next, rose three epochs in a row only by chance
    assert main(["check", str(FOUND / "ctrgcn_asctime_ucla_two_launches.log"), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert (obj["step"], obj["total_steps"], obj["state"]) == (65, 65, "finished")


def test_the_epochs_mean_is_the_loss_only_where_no_iteration_prints_one() -> None:
    """The loss rules (spike, divergence, overfit) judge `loss`: an epoch-counted launch's `mean_loss` is its loss; a
    launch printing `Iter N Done. | loss: …` keeps its epoch mean apart (`mean_loss` at the iteration it ended at)."""
    parser = TorchlightParser()
    recs = [r for ln in lines() if (r := parser.parse(ln)) is not None and r.kind is Kind.STEP]
    counted = [r for r in recs if "lr" not in r.metrics and r.total_steps == 50]
    iterated = [r for r in recs if r.total_steps is None and "lr" not in r.metrics]
    assert counted and all("loss" in r.metrics and "mean_loss" not in r.metrics for r in counted)
    assert iterated and all("mean_loss" in r.metrics and "loss" not in r.metrics for r in iterated)
