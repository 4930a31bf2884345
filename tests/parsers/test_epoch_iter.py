"""The `[epoch, i]` lines of PyTorch's CIFAR-10 tutorial (the run lab's `--style cifar`) and of an I-JEPA fork's logs."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.cli import main
from runwatch.model import Kind
from runwatch.parsers.detect import detect
from runwatch.parsers.epoch_iter import EpochIterParser
from tests.support.found import FOUND, found_lines, source_records
from tests.support.readers import check
from tests.support.realruns import REALRUNS

CIFAR = REALRUNS / "tutorial-cifar-nan" / "run" / "train.log"


def test_the_tutorials_running_loss_lines_are_steps_within_their_epoch() -> None:
    lines = CIFAR.read_text().splitlines()
    parser = EpochIterParser()
    first = parser.parse(lines[0])
    assert lines[0] == "[1,    10] loss: 2.208"
    assert first is not None and (first.kind, first.step, first.metrics) == (Kind.STEP, 10, {"loss": 2.208, "epoch": 1.0})
    assert parser.parse("Finished Training") is None
    assert detect(lines) == "epoch-iter"


def test_both_readers_place_the_tutorials_epochs_on_one_axis_and_read_its_nan() -> None:
    recs, _ = check(CIFAR.read_bytes(), (300, 700))
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps] == list(range(10, 601, 10))  # 120 mini-batches an epoch, every 10th
    assert [r.step for r in steps if math.isnan(r.metrics["loss"])][0] == 330  # the fault's step


def test_an_ijepa_forks_lines_and_its_grad_stats() -> None:
    """Its autoencoder phase (`[30,   100/ 2562] - [Autoencoder Training] [Autoencoder Loss: …] …(325.0 ms)`), then
    the joint training's many-word names, ` - ` between them, and its `grad_stats` lines, no step of their own."""
    fmt, recs = source_records("fgdcc_jepa_relaunch_nan_excerpt.out")
    assert fmt == "epoch-iter"
    lines = found_lines("fgdcc_jepa_relaunch_nan_excerpt.out")
    parser = EpochIterParser()
    phase = parser.parse(next(x for x in lines if x.startswith("INFO:root:[30,   100/")))
    assert phase is not None and phase.step == 100 and phase.total_steps == 2562
    assert phase.metrics == {"step_time": 0.3035, "autoencoder_loss": 1.5265, "autoencoder_lr": 4.18e-04,
                             "mem": 7980.0, "epoch": 30.0}
    joint = parser.parse(next(x for x in lines if x.startswith("INFO:root:[1,     1/ 2562] - train_losses")))
    assert joint is not None and joint.step == 1
    assert math.isnan(joint.metrics["parent_class"]) and math.isnan(joint.metrics["autoencoder_loss_total"])
    assert (joint.metrics["lr"], joint.metrics["autoencoder_lr"], joint.metrics["step_time"]) == (8.5e-05, 4.1e-04, 1.9417)
    assert all(parser.parse(x) is None for x in lines if "grad_stats" in x)
    assert len([r for r in recs if r.kind is Kind.STEP]) == len([x for x in lines if "/ 2562]" in x])


def test_an_ijepa_forks_nan_is_found_at_the_second_step_of_a_new_attempt(capsys) -> None:  # type: ignore[no-untyped-def]
    """A review: its losses have names of their own (no `loss`) and went `nan` at `[1,     1/ 2562]` of its joint
    training, after 30 epochs of its autoencoder's: `no known log format`, the NaN unseen."""
    assert main(["check", str(FOUND / "fgdcc_jepa_relaunch_nan_excerpt.out"), "--json"]) == 2
    obj = json.loads(capsys.readouterr().out)
    [nan] = [a for a in obj["alerts"] if a["rule"] == "nonfinite"]
    assert (nan["labels"]["metric"], nan["severity"]) == ("autoencoder_loss_total", "critical")
    assert any(n.startswith("the run started again once") for n in obj["notes"])
    # its step: the new launch's own count from `[1,     0/ 2562]` (runwatch.parsers.epochs counts anew when the
    # epoch goes back, 30 to 1), the second of the new attempt's steps
    restarted = next(n for n in obj["notes"] if n.startswith("the run started again once"))
    assert "line 123 (step 0, after step 5,062)" in restarted and nan["first_step"] == 1 and obj["step"] == 5


def test_its_evaluations_test_loss_nan_is_found(capsys) -> None:  # type: ignore[no-untyped-def]
    """`INFO:root:avg. test_loss nan avg. Accuracy@1 0.003 - …`: an evaluation of the other lines, read as kv reads
    it; a NaN test loss is a finding (a review saw `parse` list it and `check` say nothing)."""
    fmt, recs = source_records("fgdcc_jepa_test_loss_nan_excerpt.out")
    evals = [r for r in recs if r.kind is Kind.EVAL]
    assert fmt == "epoch-iter" and evals and all(set(r.metrics) >= {"test_loss"} for r in evals)
    assert main(["check", str(FOUND / "fgdcc_jepa_test_loss_nan_excerpt.out"), "--json"]) == 2
    [nan] = json.loads(capsys.readouterr().out)["alerts"]
    assert (nan["rule"], nan["labels"]["metric"]) == ("nonfinite", "test_loss")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="[], 0123456789/:.-abclosnmI()|", max_size=200))
def test_never_raises(text: str) -> None:
    parser = EpochIterParser()
    parser.parse(text)
    parser.score(text)
