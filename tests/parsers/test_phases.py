"""The transfer-learning tutorial's epoch loop (`Epoch e/E`, a rule, `train Loss: … Acc: …`, `val Loss: … Acc: …`)."""

from __future__ import annotations

import math

from runwatch.model import Kind
from runwatch.parsers.detect import detect
from runwatch.parsers.phases import PhasesParser
from tests.support.found import found_lines, source_records
from tests.support.paths import FIXTURES

RECORDED = FIXTURES / "realruns"


def _lines(name: str) -> list[str]:
    return (RECORDED / name / "run" / "train.log").read_text().splitlines()


def test_each_epoch_is_a_step_and_its_validation_an_evaluation_at_it() -> None:
    """The run lab's recording of the tutorial's loop: 6 epochs, `Epoch 0/5` first (counted from 0, the last one's
    number after the slash), a training and a validation line each."""
    lines = _lines("tutorial-phases-healthy")
    parser = PhasesParser()
    recs = [r for line in lines if (r := parser.parse(line)) is not None]
    steps = [r for r in recs if r.kind == Kind.STEP]
    evals = [r for r in recs if r.kind == Kind.EVAL]
    assert [(r.step, r.total_steps) for r in steps] == [(e, 6) for e in range(1, 7)]
    assert [r.step for r in evals] == list(range(1, 7))
    train, val = next(ln for ln in lines if ln.startswith("train ")), next(ln for ln in lines if ln.startswith("val "))
    assert steps[0].metrics == {"loss": float(train.split()[2]), "acc": float(train.split()[4]), "epoch": 0.0}
    assert evals[0].metrics == {"val_loss": float(val.split()[2]), "val_acc": float(val.split()[4])}
    assert detect(lines) == "phases"


def test_a_nan_epoch_mean_is_kept() -> None:
    recs = [r for line in _lines("tutorial-phases-nan") if (r := PhasesParser().parse(line)) is not None]
    assert recs == []  # a fresh parser per line holds no heading: a phase line is no one's
    parser = PhasesParser()
    steps = [r for line in _lines("tutorial-phases-nan") if (r := parser.parse(line)) is not None and r.kind == Kind.STEP]
    assert [math.isnan(r.metrics["loss"]) for r in steps] == [False, False, True, True, True, True]


def test_a_run_built_on_the_tutorial_with_fields_of_its_own() -> None:
    """A person re-identification run's 70 epochs (`train Loss: 0.4552 Reg: 0.0000 Acc: 0.0087 MeanMargin: -0.1545`):
    detected as Keras (its `Epoch 0/69` headings look alike), it read no record at all (a review)."""
    name = "reid_triplet_transfer_tutorial_epochs.log"
    fmt, recs = source_records(name)
    steps = [r for r in recs if r.kind == Kind.STEP]
    assert fmt == "phases" and [r.step for r in steps] == list(range(1, 71)) and steps[-1].total_steps == 70
    assert steps[0].metrics == {"loss": 0.4552, "reg": 0.0, "acc": 0.0087, "mean_margin": -0.1545, "epoch": 0.0}
    assert any(r.event == "finished" for r in recs)
    assert detect(found_lines(name)) == "phases"


def test_keras_logs_stay_keras() -> None:
    """A heading alone scores nothing here: Keras's `Epoch 1/6` before its bar is Keras's."""
    from runwatch.parsers.source import SourceParser
    from runwatch.watcher.lines import LineSplitter

    for name in ("keras-v1-healthy", "keras-v2-healthy", "keras-v1-nan", "keras-v2-nan"):
        path = RECORDED / name / "run" / "train.log"
        splitter, sp = LineSplitter(), SourceParser(str(path))
        sp.feed(splitter.feed(path.read_bytes()) + splitter.feed(b"\n"), 1, 0.0)
        assert sp.format == "keras", (name, sp.format)
