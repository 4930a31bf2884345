"""tqdm frames of a block read at once (runwatch.parsers.bar_block) and taken in runs (`take_frames`).

The records are held to the per-line way by tests/parsers/test_rows.py (every
recording, noisy logs, any split into blocks); here: which lines are rows and
which may sit inside a run, that runs are really taken in bulk, that a
failure there loses nothing, and the per-frame rules the two ways share.
"""

from __future__ import annotations

import numpy as np
import pytest

from runwatch.parsers import progress_bar
from runwatch.parsers.bar_block import TQDM, read_frames
from runwatch.parsers.progress_bar import ProgressBarParser, same_value, stale
from runwatch.parsers.pydict import metric_name
from runwatch.parsers.source import SourceParser
from runwatch.watcher.snapshot import split_block
from tests.support.readers import check, fast_rows, rows_one_by_one
from tests.support.real_lines import REALRUNS, recording


def lightning_log(copies: int = 1) -> bytes:
    """The recorded console of a Lightning run (`\\r` frames and all), `copies` times over."""
    return (REALRUNS / "lightning-tqdm-healthy/run/train.log").read_bytes() * copies


def test_training_frames_are_rows_and_validation_frames_may_sit_in_a_run() -> None:
    lines = recording("lightning-tqdm-healthy")
    block = read_frames(lines, TQDM)
    kinds = {(bool(r), bool(n)) for r, n in zip(block.row, block.neutral, strict=True)}
    assert (True, True) not in kinds  # a row is never also a neutral line
    for i, line in enumerate(lines):
        if line.startswith("Validation DataLoader 0:"):
            assert block.neutral[i] and not block.row[i], line
        elif line.startswith("Epoch ") and "| 0/60 [" in line:  # the epoch's bar before its first batch
            assert not block.row[i] and not block.neutral[i], line
        elif line.startswith("Epoch ") and "it/s" in line and "`Trainer.fit` stopped" not in line:
            assert block.row[i], line
    rows = np.flatnonzero(block.row)
    assert rows.size > 400
    assert block.n[rows].min() > 0 and (block.epoch[rows] >= 0).all() and (block.total[rows] == 60).all()


def test_a_row_states_its_numbers() -> None:
    line = next(x for x in recording("lightning-tqdm-healthy") if x.startswith("Epoch 2:  25%|"))
    block = read_frames(["Seed set to 0", line], TQDM)
    frame = progress_bar.parse_frame(line)
    assert frame is not None and block.row.tolist() == [False, True]
    assert (block.n[1], block.total[1], block.epoch[1]) == (frame.n, frame.total, 2)
    assert (block.elapsed[1], block.remaining[1], block.step_time[1]) == (frame.elapsed, frame.remaining, frame.step_time)
    postfix = block.postfixes[block.postfix[1]]
    assert dict(zip(postfix.names, postfix.values, strict=True)) == {"loss": 1.16, "val_loss": 1.33} == {
        metric_name(k): v for k, v in frame.postfix}


def test_runs_of_frames_are_taken_in_bulk(monkeypatch: pytest.MonkeyPatch) -> None:
    """A whole Lightning console, three times over: but for the lines around an epoch's start, every step
    row comes from `take_frames`, none from `take_row` one by one; and the records are the per-line ones."""
    taken = rows_one_by_one(monkeypatch, ProgressBarParser)
    _, chunks = check(lightning_log(3), fmt="tqdm")
    assert fast_rows(chunks) > 1400
    assert sum(taken) <= 3, f"{sum(taken)} frames taken one by one"


def test_a_failure_in_a_run_loses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """`take_frames` raising (a bug) is counted once per block and the frames go one by one: same records."""
    def broken(self: ProgressBarParser, block: object, at: object) -> object:
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(ProgressBarParser, "take_frames", broken)
    got, chunks = check(lightning_log(), fmt="tqdm")
    assert fast_rows(chunks) > 400 and len(got) > 400
    sp = SourceParser("log", fmt="tqdm")
    sp.feed_bytes(lightning_log(), 1, 0.0, split_block)
    assert sp.failures.total == 1 and "ZeroDivisionError" in (sp.failures.describe() or "")


def test_an_epoch_bar_too_long_for_int64_steps_is_no_row() -> None:
    """`Epoch 999999999:` of a 10-digit total would overflow E * M + N in int64 (the per-line way reads a
    Python int, then drops the implausible step): such frames go the per-line way."""
    frames = [x for x in recording("lightning-tqdm-healthy") if x.startswith("Epoch 1:") and "| 0/" not in x][:30]
    wide = [x.replace("Epoch 1:", "Epoch 999999999:").replace("/60 [", "/6000000000 [") for x in frames]
    block = read_frames(wide, TQDM)
    assert not block.row.any()
    _, chunks = check(("\n".join(wide) + "\n").encode(), fmt="tqdm")
    assert fast_rows(chunks) == 0
    _, chunks = check(("\n".join(frames + wide) + "\n").encode(), fmt="tqdm")  # after 60-batch epochs, the wide
    assert fast_rows(chunks) == 2 * len(frames)  # ones count on from them (`_resized`): plausible, read per line


def test_the_shared_rules_read_alike_on_a_frame_and_on_columns() -> None:
    nan = float("nan")
    pairs = [(1.0, 1.0), (1.0, 2.0), (nan, nan), (nan, 1.0), (0.0, -0.0)]
    assert [bool(same_value(a, b)) for a, b in pairs] == [True, False, True, False, True]
    last, value = np.array([a for a, _ in pairs]), np.array([b for _, b in pairs])
    assert same_value(last, value).tolist() == [True, False, True, False, True]
    cases = [(m, s, h) for m in (False, True) for s in (False, True) for h in (False, True)]
    scalar = [stale(m, s, h) for m, s, h in cases]
    assert scalar == [False] * 7 + [True]
    columns = stale(*(np.array(c) for c in zip(*cases, strict=True)))
    assert columns.tolist() == scalar


def test_a_stopped_message_alone_among_frames_ends_a_run() -> None:
    """Lightning's "`Trainer.fit` stopped" on a line of its own between frames is read where it stands: the
    finished event at the step before it (a run that took it for noise lost the event)."""
    lines = recording("lightning-tqdm-healthy")
    stopped = next(x[x.index("`Trainer.fit` stopped"):] for x in lines if "`Trainer.fit` stopped" in x)
    frames = [x for x in lines if x.startswith("Epoch 1:") and "| 0/" not in x][:30]
    got, chunks = check(("\n".join([*frames[:15], stopped, *frames[15:]]) + "\n").encode(), fmt="tqdm")
    assert fast_rows(chunks) == len(frames)
    assert [(r.kind.value, r.event.value if r.event else None) for r in got if r.event] == [("event", "finished")]
