"""Keras frames of a block read at once (runwatch.parsers.keras_block) and taken in runs (`take_frames`).

The run lab's Keras epochs are short (200 batches of a few ms: about fifteen
frames each, fewer than a run taken in one go), so the logs here are its own
recorded frames, colours and backspaces as Keras wrote them, under epochs of
thousands of batches: each frame's count renumbered, nothing else changed.
Checked against the per-line way (`check`: same records, same counts), and:
which lines are rows and which may sit inside a run, that runs are really
taken in bulk, that a failure there loses nothing.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from runwatch import patterns
from runwatch.parsers.keras import KerasParser
from runwatch.parsers.keras_block import KerasRowBlock
from runwatch.parsers.source import SourceParser
from runwatch.watcher.snapshot import split_block
from tests.support.readers import check, fast_rows, rows_one_by_one
from tests.support.real_lines import REALRUNS, noise

_COUNT = patterns.compile(rb"(\x1b\[1m *)\d+/200\x1b")


def frames(run: str) -> list[bytes]:
    """The recorded frames of the epochs' batches before their last (`n/200` with n < 200), as written."""
    raw = (REALRUNS / run / "run/train.log").read_bytes()
    return [f for f in re.split(rb"\r|\n", raw) if _COUNT.search(f) and b" 200/200" not in f]


def long_epochs(run: str, epochs: int = 3, batches: int = 3000, every: int = 10, extra: bytes = b"") -> bytes:
    """`Epoch E/N` headers, each over the run's frames renumbered 1, 1 + every, … of `batches`, then the
    epoch's last frame as recorded (renumbered too); `extra` after every 37th frame."""
    pool, last = frames(run), _last_frame(run)
    out, k = [], 0
    for e in range(1, epochs + 1):
        out.append(f"Epoch {e}/{epochs}".encode())
        for n in range(1, batches, every):
            out.append(_COUNT.sub(lambda m, n=n: m[1] + f"{n}/{batches}\x1b".encode(), pool[k % len(pool)], count=1))
            k += 1
            if extra and k % 37 == 0:
                out.append(extra)
        out.append(last.replace(b"200/200", f"{batches}/{batches}".encode(), 1))
    return b"\n".join(out) + b"\n"


def _last_frame(run: str) -> bytes:
    raw = (REALRUNS / run / "run/train.log").read_bytes()
    return next(f for f in re.split(rb"\r|\n", raw) if b"200/200" in f and b"val_loss" in f)


def test_frames_inside_an_epoch_are_rows_and_noise_may_sit_in_a_run() -> None:
    gc = next(x for x in noise() if x.startswith("[GC "))
    lines = split_block(long_epochs("keras-v1-healthy", epochs=2, batches=400, extra=gc.encode()))
    block = KerasRowBlock(KerasParser(), lines)
    for i, line in enumerate(lines):
        if line.startswith("Epoch ") or "400/400" in line:  # a header, an epoch's last frame: state, per line
            assert not block.row[i] and block.ends[i] == i, line
        elif line == gc:
            assert not block.row[i], line
        else:
            assert block.row[i] and block.quiet[i], line
    rows = np.flatnonzero(block.row)
    assert rows.size == 80 and block.ends[rows[0]] == rows[39] + 1  # 40 frames of the first epoch, one run
    assert block.ends[rows[40]] == rows[-1] + 1  # the GC lines inside it do not end it


def test_a_frame_of_a_name_the_parser_adds_or_of_other_digits_is_no_row() -> None:
    """Values the per-line way reads otherwise go that way: a pair named like a metric the parser sets itself
    (`epoch`), one whose value is no plain number, digits that are not ASCII; a launcher prefix ends a run."""
    line = split_block(long_epochs("keras-v1-healthy", epochs=1, batches=400))[3]
    odd = [line.replace(" - accuracy:", " - epoch:"), line.replace("loss: ", "loss: 1,"),
           line.replace(" 21/400", " ٢١/400"), "[rank1]:" + line]
    block = KerasRowBlock(KerasParser(), ["Epoch 1/1", line, *odd, line])
    assert block.row.tolist() == [False, True, False, False, False, False, True]
    assert block.ends[1] == 1 + 1  # the next lines are frames the parser reads: none sits in a run


def test_runs_of_frames_are_taken_in_bulk_with_the_per_line_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three long epochs of the healthy and of the NaN run (`loss: nan` frames), with real noise and a logged
    traceback among the frames: every frame inside an epoch comes from `take_frames`; the records are the
    per-line ones, every value in place (`check`), and the steps the optimizer's global ones."""
    taken = rows_one_by_one(monkeypatch, KerasParser)
    traceback = next(x for x in noise() if x.startswith("Traceback"))
    for run in ("keras-v1-healthy", "keras-v1-nan"):
        taken.clear()
        got, chunks = check(long_epochs(run, extra=traceback.encode()), sizes=(1 << 16, 1 << 20), fmt="keras")
        assert fast_rows(chunks) == 3 * 300 + 3  # the epochs' last frames are step rows too, one by one
        assert sum(taken) <= 3 + 3 * 20, f"{sum(taken)} frames taken one by one"  # last frames; after tracebacks
        steps = [r.step for r in got if r.kind.value == "step"]
        assert steps[:3] == [1, 11, 21] and steps[300:303] == [3000, 3001, 3011] and steps[-1] == 9000
    assert any(np.isnan(r.metrics["loss"]) for r in got if "loss" in r.metrics)


def test_a_failure_in_a_run_loses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """`take_frames` raising (a bug) is counted once per block and the frames go one by one: same records."""
    def broken(self: KerasParser, *columns: object) -> object:
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(KerasParser, "take_frames", broken)
    data = long_epochs("keras-v1-healthy", epochs=1)
    got, chunks = check(data, fmt="keras")
    assert fast_rows(chunks) == 301 and len(got) == 301
    sp = SourceParser("log", fmt="keras")
    sp.feed_bytes(data, 1, 0.0, split_block)
    assert sp.failures.total == 1 and "ZeroDivisionError" in (sp.failures.describe() or "")
