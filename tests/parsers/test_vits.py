"""runwatch.parsers.vits, on a VITS log and a so-vits-svc log found by a review."""

from __future__ import annotations

import json

import pytest

from runwatch.cli import main
from runwatch.model import Event, Kind
from runwatch.parsers.detect import detect
from runwatch.parsers.events import EventDetector
from runwatch.parsers.vits import VitsParser
from tests.support.found import FOUND

NAN_FIRST = FOUND / "vits_ljs_base_first_losses_nan.log"
SOVITS = FOUND / "sovits_svc_32k_relaunched.log"


def test_a_vits_loss_list_is_a_step_and_its_nan_a_nan_loss(capsys: pytest.CaptureFixture[str]) -> None:
    """`[nan, nan, nan, nan, 1.350276231765747, 134.32485961914062, 0, 0.0002]`: VITS's six losses, the step,
    the learning rate. Unread, the run read `UNREAD … nothing understood` and its NaN went unseen (a review)."""
    lines = NAN_FIRST.read_text().splitlines()
    assert detect(lines) == "vits"
    parser = VitsParser()
    (rec,) = [r for ln in lines if (r := parser.parse(ln)) is not None]
    assert (rec.kind, rec.step, rec.metrics["epoch"], rec.metrics["lr"]) == (Kind.STEP, 0, 1.0, 0.0002)
    assert rec.metrics["loss_dur"] == 1.350276231765747 and rec.metrics["loss_kl"] == 134.32485961914062
    assert rec.metrics["loss"] != rec.metrics["loss"]  # the generator's total: NaN with its terms
    assert main(["check", str(NAN_FIRST), "--json"]) == 2
    obj = json.loads(capsys.readouterr().out)
    assert [(a["rule"], a["severity"], a["labels"].get("metric")) for a in obj["alerts"]] == [
        ("nonfinite", "critical", "loss")]


def test_so_vits_svc_s_five_losses_and_its_epochs() -> None:
    """so-vits-svc has no duration predictor: five losses before the step. Each list's epoch is the `Train
    Epoch: N [P%]` line's before it; `loss` the sum of the generator's four."""
    parser = VitsParser()
    recs = [r for ln in SOVITS.read_text().splitlines() if (r := parser.parse(ln)) is not None]
    assert len(recs) == 107 and [r.step for r in recs[:3]] == [0, 200, 400]
    first = recs[0]
    assert sorted(first.metrics) == ["epoch", "loss", "loss_disc", "loss_fm", "loss_gen", "loss_kl", "loss_mel", "lr"]
    assert first.metrics["epoch"] == 1.0 and recs[1].metrics["epoch"] == 5.0
    assert first.metrics["loss"] == pytest.approx(sum(first.metrics[k] for k in ("loss_gen", "loss_fm", "loss_mel",
                                                                                   "loss_kl")))
    assert recs[-1].step == 20000


def test_a_save_is_a_checkpoint_at_the_step_its_file_names() -> None:
    """`Saving model and optimizer state at iteration 381 to ./logs\\32k\\G_19000.pth`: VITS passes the epoch as
    `iteration`; the file is named for the step."""
    detector = EventDetector()
    saved = [r.step for ln in SOVITS.read_text().splitlines()
             if (r := detector.feed(ln)) is not None and r.event == Event.CHECKPOINT_SAVED]
    assert saved[:3] == [0, 1000, 2000] and 19000 in saved and saved[-1] == 20000


def test_a_list_of_other_lengths_or_words_is_none() -> None:
    parser = VitsParser()
    assert parser.parse("2023-03-26 21:08:35,153\t32k\tINFO\t[2.2, 2.6, 13.9, 0, 0.0001]") is None  # three losses
    assert parser.parse("[0.5, 0.25, 0.125, 0.0625, 0.03125, 7, 0.001]") is not None
    assert parser.parse("[0.5, 0.25, 0.125, 0.0625, 0.03125, 7.5, 0.001]") is None  # a step is whole
    assert parser.parse("shapes: [1, 2, 3, 4, 5, 6, 7]") is None  # not the message's whole


def test_a_bare_list_without_vits_s_logger_signs_nothing() -> None:
    """A script's own list printed at the top of a log (`print(gpu_ids)`) decided the format `vits` for a whole
    nanoGPT log, which then read 2 records for 48 (a code review). Here VITS's list without its logger prefix
    before a real nanoGPT log: still nanoGPT's."""
    vits_list = NAN_FIRST.read_text().splitlines()[2].split("\t")[-1]
    nanogpt = (FOUND / "nanogpt_shakespeare_char_v100.log").read_text().splitlines()
    assert VitsParser().score(vits_list) == 0 and VitsParser().parse(vits_list) is not None  # read, once chosen
    assert detect([vits_list, *nanogpt]) == "nanogpt"
