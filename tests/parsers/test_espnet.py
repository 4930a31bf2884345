"""runwatch.parsers.espnet, on ESPnet2 train.log lines quoted in public files (found by a review)."""

from __future__ import annotations

import json

import pytest

from runwatch.cli import main
from runwatch.model import Event, Kind
from runwatch.parsers.detect import detect
from runwatch.parsers.espnet import EspnetParser
from runwatch.parsers.events import EventDetector
from tests.support.found import FOUND

REPORTS = FOUND / "espnet2_asr_reports_excerpt.log"
RESULTS = FOUND / "espnet2_epoch_results_finished_excerpt.log"
ICEFALL = FOUND / "icefall_yesno_done_excerpt.log"


def test_a_report_s_step_is_the_last_batch_it_covers() -> None:
    """`1epoch:train:8051-12075batch: …`: step 12075 of epoch 1; `optim0_lr0` the learning rate, `train_time` the
    step time. Read as key=value pairs, the logger's `(trainer:753)` was a metric and no report had a step."""
    lines = REPORTS.read_text().splitlines()
    assert detect(lines) == "espnet"
    parser = EspnetParser()
    recs = [r for ln in lines if (r := parser.parse(ln)) is not None]
    assert [(r.kind, r.step, r.metrics["epoch"]) for r in recs] == [(Kind.STEP, s, 1.0) for s in (4025, 8050, 12075)]
    last = recs[-1].metrics
    assert (last["loss"], last["loss_ctc"], last["loss_att"], last["lr"], last["step_time"]) == (
        113.007, 141.743, 100.691, 5.032e-05, 0.118)
    assert "trainer" not in last and "optim0_lr0" not in last and recs[-1].t > 0


def test_the_epochs_after_the_first_count_on_and_give_the_total() -> None:
    """The first epoch's batches (its last report's) times the epochs planned (`1/30epoch started`) is the total;
    epoch 2's batches count on from them. Epoch 2's report is epoch 1's first, renumbered (the excerpt holds epoch 1 alone)."""
    lines = REPORTS.read_text().splitlines()
    parser = EspnetParser()
    for ln in lines:
        parser.parse(ln)
    second = parser.parse(lines[1].replace(" INFO: 1epoch:", " INFO: 2epoch:"))
    assert second is not None and (second.step, second.total_steps, second.metrics["epoch"]) == (
        12075 + 4025, 30 * 12075, 2.0)


def test_an_epoch_s_results_are_its_validation() -> None:
    """`1epoch results: [train] … [valid] loss=479.955, …, cer=1.010, wer=1.000, …, total_count=49, [att_plot] …`:
    the `[valid]` values at the step of the last report (here another run's, before it)."""
    parser = EspnetParser()
    parser.parse(REPORTS.read_text().splitlines()[1])
    rec = parser.parse(RESULTS.read_text().splitlines()[0])
    assert rec is not None and (rec.kind, rec.step) == (Kind.EVAL, 4025)
    assert rec.metrics["val_loss"] == 479.955 and rec.metrics["val_cer"] == 1.010 and rec.metrics["val_wer"] == 1.0
    assert not {"val_total_count", "val_time", "loss", "val_iter_time"} & set(rec.metrics) and len(rec.metrics) == 7


def test_the_trainer_s_last_word_is_the_finish(capsys: pytest.CaptureFixture[str]) -> None:
    """`The training was finished at 1 epochs` (ESPnet2), `INFO [train.py:555] Done!` (icefall): a run that
    ended so read `ended`, as if cut short."""
    detector = EventDetector()
    finished = [r for ln in RESULTS.read_text().splitlines() if (r := detector.feed(ln)) is not None]
    assert [r.event for r in finished] == [Event.FINISHED]
    assert main(["check", str(ICEFALL), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert (obj["state"], obj["step"]) == ("finished", 104)


def test_a_resumed_run_counts_from_its_first_epoch_shown() -> None:
    """A log that starts at `6/10epoch started` (a resumed run): its steps count from epoch 6's start, and its total
    is the 5 epochs left at epoch 6's length (it was all 10, 50% done at the finish: a code review). The excerpt's
    epoch 1 lines, renumbered as epochs 6 and 7 (it holds one epoch)."""
    lines = REPORTS.read_text().splitlines()
    resumed = [lines[0].replace("1/30epoch", "6/10epoch")] + [x.replace(" 1epoch:", " 6epoch:") for x in lines[1:]]
    parser = EspnetParser()
    recs = [r for ln in resumed if (r := parser.parse(ln)) is not None]
    later = parser.parse(lines[1].replace(" 1epoch:", " 7epoch:"))
    assert [r.step for r in recs] == [4025, 8050, 12075] and recs[0].total_steps is None
    assert later is not None and (later.step, later.total_steps) == (12075 + 4025, 5 * 12075)
    relaunched = parser.parse(lines[1].replace(" 1epoch:", " 9epoch:"))  # launched again into the log, at epoch 9
    assert relaunched is not None and relaunched.step == 3 * 12075 + 4025


def test_funasr_s_updates_are_the_step() -> None:
    """FunASR's fork of the trainer: `2epoch:train:51-100batch:100num_updates: …`, the updates the step."""
    lines = (FOUND / "funasr_paraformer_num_updates_excerpt.log").read_text().splitlines()
    assert detect(lines) == "espnet"
    parser = EspnetParser()
    recs = [r for ln in lines if (r := parser.parse(ln)) is not None]
    assert [(r.step, r.metrics["epoch"], r.metrics["loss"]) for r in recs] == [(50, 2.0, 0.192), (100, 2.0, 0.189),
                                                                               (150, 2.0, 0.21)]
