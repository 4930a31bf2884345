"""nnU-Net v2's trainer log (runwatch/parsers/nnunet.py), on logs its users published (tests/fixtures/found)."""

from __future__ import annotations

import math
import re

import pytest

from runwatch.model import Event, Kind, Record
from runwatch.parsers.fields import local_time
from runwatch.parsers.nnunet import NnUNetParser
from runwatch.parsers.source import SourceParser
from tests.support.paths import FIXTURES
from tests.support.realruns import check_json

WHOLE = FIXTURES / "found" / "nnunet_soilct_early_stopping_finished.log"
NAN_LOGS = ("nnunet_issue2357_first_epoch_nan.log", "nnunet_issue1612_nan_first_epoch.log")


def _lines(name: str) -> list[str]:
    return (FIXTURES / "found" / name).read_text().splitlines()


def _read(lines: list[str], batch: int = 100_000) -> tuple[str | None, list[Record]]:
    sp = SourceParser("log")
    recs = [r for i in range(0, len(lines), batch) for r in sp.feed(lines[i:i + batch], i + 1, 0.0)] + sp.flush()
    return sp.format, recs


def _said(lines: list[str], message: str) -> list[tuple[float, str]]:
    """(time, rest) of each line whose message starts with `message`, as the log prints them."""
    out = []
    for x in lines:
        if m := re.match(rf"(\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d+): {re.escape(message)}(.*)$", x):
            out.append((local_time(m[1], m[2]), m[3].strip()))
    return out


def test_a_whole_run_reads_an_epoch_a_step_with_its_loss_lr_validation_and_time() -> None:
    """69 epochs (0 to 68): step E + 1 each, the `train_loss` and the learning rate its epoch's heading line gave, the
    `val_loss` and the Pseudo dice's mean over the classes that have one (two are NaN: absent, no fault), the epoch's
    time, each at its line's time; `Training done.` the finish. The run's own early-stopping lines are no metric."""
    lines = _lines(WHOLE.name)
    fmt, recs = _read(lines)
    assert fmt == "nnunet"
    losses = [r for r in recs if r.kind is Kind.STEP and "loss" in r.metrics]
    epochs = [int(rest) for _, rest in _said(lines, "Epoch ") if rest.isdigit()]
    assert epochs == list(range(69)) and [r.step for r in losses] == [e + 1 for e in epochs]
    assert [(r.t, r.metrics["loss"]) for r in losses] == [(t, float(v)) for t, v in _said(lines, "train_loss ")]
    assert [r.metrics["lr"] for r in losses] == [float(v) for _, v in _said(lines, "Current learning rate: ")]
    assert [r.metrics["epoch"] for r in losses] == [float(e) for e in epochs]
    vals = [r for r in recs if r.kind is Kind.EVAL and "val_loss" in r.metrics]
    assert [r.metrics["val_loss"] for r in vals] == [float(v) for _, v in _said(lines, "val_loss ")]
    dice = [r.metrics["val_dice"] for r in recs if "val_dice" in r.metrics]
    classes = [[float(v) for v in re.findall(r"np\.float32\(([^)]+)\)", rest)] for _, rest in _said(lines, "Pseudo dice ")]
    assert all(math.isnan(c[2]) and math.isnan(c[3]) for c in classes)
    assert dice == pytest.approx([sum(v for v in c if not math.isnan(v)) / 3 for c in classes])
    times = [r.metrics["step_time"] for r in recs if "step_time" in r.metrics]
    assert times == [float(v[:-2]) for _, v in _said(lines, "Epoch time: ")]
    metrics = {m for r in recs for m in r.metrics}
    assert metrics == {"loss", "lr", "epoch", "val_loss", "val_dice", "step_time"}  # no `best_val_loss`, `wait`
    done = [r for r in recs if r.event is Event.FINISHED and r.message == "Training done."]
    assert len(done) == 1 and done[0].step == 69


def test_the_whole_run_is_finished_at_its_last_epoch() -> None:
    """Read as `kv`, this log gave no step at all, only `val_loss` (each twice: nnU-Net's and the early stopping's)."""
    rc, runs, _ = check_json(WHOLE)
    assert runs[0]["state"] == "finished" and runs[0]["step"] == 69
    assert not [a for a in runs[0]["alerts"] if a["rule"] in ("nonfinite", "crash")] and rc in (0, 1)


@pytest.mark.parametrize("name", NAN_LOGS)
def test_a_nan_first_epoch_is_critical(name: str) -> None:
    """nnU-Net issues 2357 and 1612: `train_loss nan` in the first epoch. Read before as `kv`: `UNREAD`, exit 3."""
    rc, runs, _ = check_json(FIXTURES / "found" / name)
    nonfinite = {a["labels"].get("metric"): a for a in runs[0]["alerts"] if a["rule"] == "nonfinite"}
    assert rc == 2 and nonfinite["loss"]["first_step"] == 1 and nonfinite["loss"]["severity"] == "critical"
    assert "val_loss" in nonfinite


def test_a_pseudo_dice_of_absent_classes_is_no_nan() -> None:
    """Issue 2357's `Pseudo dice [nan, 0.0, 0.0]`: a class no validation batch held has no Dice; the others' mean
    is the value, and a list of nothing but NaN gives none."""
    p = NnUNetParser()
    recs = [r for x in _lines("nnunet_issue2357_first_epoch_nan.log") if (r := p.parse(x)) is not None]
    (dice,) = [r.metrics["val_dice"] for r in recs if "val_dice" in r.metrics]
    assert dice == 0.0


@pytest.mark.parametrize("batch", [1, 4, 50])
def test_any_batching_gives_the_same_records(batch: int) -> None:
    """A follower hands the lines over as they come."""
    lines = _lines(WHOLE.name)
    _, whole = _read(lines)
    _, batched = _read(lines, batch)
    assert [(r.kind, r.step, r.line, r.metrics) for r in batched] == [(r.kind, r.step, r.line, r.metrics) for r in whole]


def test_only_nnunets_epoch_lines_sign_the_format() -> None:
    """`train_loss` and `Pseudo dice [` after the trainer's stamp sign it; its `Epoch N` is a maybe; the set-up's
    lines nothing."""
    p = NnUNetParser()
    scores = {x: p.score(x) for x in _lines(WHOLE.name)}
    assert {x for x, s in scores.items() if s == 2} == {x for x in scores if re.search(r": (train_loss |Pseudo dice \[)", x)}
    assert all(re.search(r": Epoch \d+ *$", x) for x, s in scores.items() if s == 1)


def test_an_excerpt_cut_mid_epoch_reads_what_it_holds() -> None:
    """Issue 2290's paste ends at epoch 2's `val_loss`: three steps, three validation losses (0.3339 to 3.6355),
    the epoch times of the two whole epochs."""
    fmt, recs = _read(_lines("nnunet_issue2290_val_loss_rising.log"))
    assert fmt == "nnunet"
    assert [(r.step, r.metrics["loss"]) for r in recs if "loss" in r.metrics] == [(1, 0.3602), (2, 0.1213), (3, 0.5986)]
    assert [r.metrics["val_loss"] for r in recs if "val_loss" in r.metrics] == [0.3339, 0.4789, 3.6355]
    assert [r.metrics["step_time"] for r in recs if "step_time" in r.metrics] == [354.87, 318.47]


def test_only_one_number_after_train_loss_signs_nnunet() -> None:
    """nnU-Net prints one number after `train_loss`; a stamped line with more after it is a loop of its own's (a code
    review: `… train_loss 0.5000, val_loss 0.6000` signed nnU-Net, and the log's NaN went unread)."""
    line = next(x for x in _lines("nnunet_issue2290_val_loss_rising.log") if ": train_loss " in x)
    assert NnUNetParser().score(line) == 2 and NnUNetParser().score(line.rstrip() + ", val_loss 0.3339") == 0
