"""PaddlePaddle's `Model.fit` log → Records, on a whole real log (tests/fixtures/found/README.md)."""

from __future__ import annotations

import re

from runwatch import patterns
from runwatch.model import Event, Kind
from runwatch.parsers.paddle import PaddleParser
from tests.support.found import found_lines as lines_of
from tests.support.found import source_records

LOG = "paddle_hapi_fit_chexnet_earlystop.log.gz"
_STEP = patterns.compile(r"^\s*step\s+(\d+)/(\d+) - loss: ([\d.]+) - ")


def test_steps_count_across_epochs_and_evaluations_are_evals() -> None:
    """A new user's review: read as `kv`, each epoch's count started again (11 "restarts"), the evaluation's `88/88`
    was the run's progress (`finished` after any epoch) and its losses the training's. The step is `(e − 1)·N + n`
    of `E·N`; the evaluation's last line (`step 88/88`) is an eval at the step training reached."""
    fmt, recs = source_records(LOG)
    assert fmt == "paddle"
    epoch, evaluating, want_steps, want_evals = 0, False, [], []
    for line in lines_of(LOG):
        text = line.strip()
        if (e := re.fullmatch(r"Epoch (\d+)/10", text)) is not None:
            epoch, evaluating = int(e[1]), False
        evaluating = evaluating or text == "Eval begin..."
        if (m := _STEP.match(line)) is not None:
            n, per, loss = int(m[1]), int(m[2]), float(m[3])
            if not evaluating:
                want_steps.append(((epoch - 1) * per + n, 10 * per, loss))
            elif n == per:
                want_evals.append((want_steps[-1][0], loss))
    steps = [(r.step, r.total_steps, r.metrics["loss"]) for r in recs if r.kind is Kind.STEP]
    evals = [(r.step, r.metrics["val_loss"]) for r in recs if r.kind is Kind.EVAL]
    assert steps == want_steps and len(steps) == 372 and steps[-1][:2] == (6 * 614, 6140)
    assert evals == want_evals and len(evals) == 6
    assert all("val_loss" not in r.metrics for r in recs if r.kind is Kind.STEP)


def test_early_stopping_is_the_finish_and_checkpoints_are_saved() -> None:
    """`Epoch 6: Early stopping.` ends the run at epoch 6 of 10; `save checkpoint at …/save_fine/0` is a save."""
    _, recs = source_records(LOG)
    events = [(r.event, r.message) for r in recs if r.kind is Kind.EVENT]
    assert events[-2:] == [(Event.FINISHED, "Epoch 6: Early stopping."),
                           (Event.CHECKPOINT_SAVED, "save checkpoint at /home/aistudio/CheXNet/save_fine/final")]
    assert [e for e, _ in events].count(Event.CHECKPOINT_SAVED) == 7


def test_only_hapis_step_lines_sign_it() -> None:
    """A step line with its loss signs the format; Keras's `Epoch 1/10` is no signature of it."""
    line = next(x for x in lines_of(LOG) if _STEP.match(x))
    assert PaddleParser().score(line) == 2
    assert PaddleParser().score("    Epoch 1/10") == 0
    assert PaddleParser().score("390/390 [==============================] - 26s 68ms/step - loss: 0.2") == 0
