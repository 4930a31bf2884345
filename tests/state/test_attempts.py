"""runwatch.state.attempts: which step starts a run again from its beginning, one record or a column of rows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from runwatch.state.attempts import Attempts


def fed(steps: list[float], epochs: list[float] | None = None, source: str = "train.log") -> list[int]:
    """The indexes of `steps` that start a new attempt, taken one record at a time."""
    a, out = Attempts(), []
    for i, step in enumerate(steps):
        epoch = math.nan if epochs is None else epochs[i]
        if a.restarts(source, step, epoch):
            a.restart(source, step, epoch)
            out.append(i)
        else:
            a.advance(source, step, epoch)
    assert a.count == 1 + len(out)
    return out


@pytest.mark.parametrize(("steps", "epochs", "restarts"), [
    ([0, 5, 10, 15, 0, 5, 10], None, [4]),                 # written twice from iter 0
    ([10, 20, 30, 10, 20], None, [3]),                      # HF logging_steps=10: its first logged step again
    ([0, 100, 200, 0, 100, 0], None, [3, 5]),               # three attempts
    ([0, 100, 5000, 5123, 5110, 5120], None, []),           # back a little: ranks printing out of order
    ([0, 100, 200, 495, 125, 130], None, [4]),              # a resume from an earlier checkpoint
    ([0, 1000, 16703, 1, 2], None, [3]),                    # the next phase of a pipeline (SFT after pre-training)
    ([10, 20, 30, 10, 20, 30], [0, 0, 0, 1, 1, 1], []),     # steps counted per epoch: a new epoch, not a restart
    ([10, 20, 30, 10, 20], [0, 0, 1, 0, 0], [3]),           # the epoch went back too
    ([0, 0, 0], None, []),                                  # a step repeated (a bar redrawn) is no restart
])
def test_which_step_starts_again(steps: list[float], epochs: list[float] | None, restarts: list[int]) -> None:
    assert fed(steps, epochs) == restarts


@pytest.mark.parametrize(("steps", "losses", "restarts"), [
    # bar frames (no loss) to 200, then the dicts of a block-buffered stdout placed back at 10…200: no restart
    ([0, 100, 200, 10, 20, 200, 244, 211, 244], [0, 0, 0, 1, 1, 1, 0, 1, 1], []),
    # a restarted bar goes back itself, and a loss below the last one placed starts again too
    ([0, 100, 200, 10, 200, 0, 10], [0, 0, 0, 1, 1, 0, 1], [5]),
    ([0, 100, 200, 150, 200, 300, 120], [1, 1, 1, 1, 1, 1, 1], [3, 6]),  # records with a loss: as before
])
def test_a_loss_placed_behind_the_bar_is_no_restart(steps: list[float], losses: list[int],
                                                     restarts: list[int]) -> None:
    a, out = Attempts(), []
    for i, (step, loss) in enumerate(zip(steps, losses, strict=True)):
        if a.restarts("train.log", step, math.nan, bool(loss)):
            a.restart("train.log", step)
            out.append(i)
        else:
            a.advance("train.log", step, math.nan, bool(loss))
    assert out == restarts


@pytest.mark.parametrize(("epochs", "restarts"), [
    ([0.08, 0.96, 1.0, 2.0, 0.08, 0.16, 2.0], [4]),        # trainer.train() twice: the epoch back to where it began
    ([0.5, 1.0, 1.5, 2.0, 1.0, 1.5], [4]),                 # resumed from epoch 1: back by half the epochs so far
    ([0.5, 1.0, 10.0, 9.5, 10.5], []),                     # back a little: no new attempt
    ([1.0, 1.0, 1.0], []),                                 # an epoch repeated
    ([math.nan, 0.5, math.nan, 0.1], [3]),                 # a record without an epoch says nothing
])
def test_records_with_no_step_start_again_when_their_epoch_goes_back(epochs: list[float], restarts: list[int]) -> None:
    a, out = Attempts(), []
    for i, epoch in enumerate(epochs):
        if a.epoch_restarts("train.out", epoch):
            a.restart("train.out", None, epoch)
            out.append(i)
    assert out == restarts and a.count == 1 + len(restarts)


def test_each_source_has_its_own_attempt() -> None:
    a = Attempts()
    for step in (0, 100, 200):
        a.advance("train.log", step)
    assert not a.restarts("events.out.tfevents", 0)  # a metric file replayed from its start: not the log's restart
    assert a.restarts("train.log", 0)


@pytest.mark.parametrize(("steps", "epochs"), [
    ([0, 5, 10, 15, 0, 5, 10], None), ([10, 20, 30, 10, 20, 30], [0, 0, 0, 1, 1, 1]),
    ([0, 100, 200, 495, 125, 130], None), ([0, 100, 5000, 5123, 5110, 5120], None),
    ([0, 100, 200, 0, 100, 0], None), ([3, 2, 1], None), ([7], None),
])
def test_rows_find_the_restart_the_records_find(steps: list[float], epochs: list[float] | None) -> None:
    expected = fed(steps, epochs)
    a, lo, found = Attempts(), 0, []
    cols = np.array(steps, dtype=np.float64)
    eps = None if epochs is None else np.array(epochs, dtype=np.float64)
    while lo < len(steps):
        r = a.restart_row("train.log", cols[lo:], None if eps is None else eps[lo:])
        if r is None:
            a.advance_rows("train.log", cols[lo:], None if eps is None else eps[lo:])
            break
        a.advance_rows("train.log", cols[lo:lo + r], None if eps is None else eps[lo:lo + r])
        found.append(lo + r)
        a.restart("train.log", steps[lo + r], math.nan if epochs is None else epochs[lo + r])
        lo += r + 1
    assert found == expected


def test_a_launch_makes_its_next_step_a_new_attempt_even_where_it_does_not_go_back() -> None:
    """ST-GCN relaunched from `Iter 0` after a launch killed at its `Iter 0`: no step went back, and the two hours
    between them read as one attempt's stall. A launch said (`launched`) makes the next step a new attempt, a row
    too; a launch resumed from a later checkpoint, its loss past the last one's, is the same attempt going on."""
    a = Attempts()
    a.advance("log", 0.0, loss=True)
    assert not a.restarts("log", 0.0, loss=True)
    a.launched("log")
    assert a.restarts("log", 0.0, loss=True)
    assert a.restart_row("log", np.array([0.0, 100.0]), None) == 0
    b = Attempts()
    b.advance("log", 400.0, loss=True)
    b.launched("log")
    assert not b.restarts("log", 500.0, loss=True)
    b.launched("other.log")  # a source with no step yet: nothing to start again
    assert not b.restarts("other.log", 0.0)


@pytest.mark.parametrize(("steps", "epochs"), [
    ([0, 5, 10, 15, 0, 5, 10], None), ([10, 20, 30, 10, 20, 30], [0, 0, 0, 1, 1, 1]),
    ([10, 20, 30, 10, 20], [0, 0, 1, 0, 0]), ([0, 100, 200, 495, 125, 130], None),
    ([0, 100, 5000, 5123, 5110, 5120], None), ([0, 100, 200, 0, 100, 0], None),
    ([10, 20, 30, 10, 20, 30], [0, math.nan, 0, 1, math.nan, 1]),
])
@pytest.mark.parametrize("cut", [1, 2, 3, 4, 5])
def test_rows_asked_in_two_parts_after_the_first_find_what_they_find_asked_at_once(
    steps: list[float], epochs: list[float] | None, cut: int,
) -> None:
    """Rows held back (not advanced) are asked about as they come: the rows after them, asked with `after` the
    newest held row's step and epoch, give the answer all of them give asked at once (RunTracker holds rows
    between evaluations so, and asked all the held rows again at each)."""
    a = Attempts()
    a.advance("train.log", 0.0)  # the attempt begun: `after` is asked only then
    cols = np.array(steps, dtype=np.float64)
    eps = None if epochs is None else np.array(epochs, dtype=np.float64)
    whole = a.restart_row("train.log", cols, eps)
    first = a.restart_row("train.log", cols[:cut], None if eps is None else eps[:cut])
    after = (float(cols[cut - 1]), math.nan if eps is None else float(eps[cut - 1]))
    rest = a.restart_row("train.log", cols[cut:], None if eps is None else eps[cut:], after)
    assert (first if first is not None else None if rest is None else cut + rest) == whole
