"""A log's last line without `\\n` is read once its writer is gone, never on a timer: real processes
writing real files, lines from the run lab's tutorial recording.

`python train.py > train.log` is block-buffered: each flush cuts a line anywhere and the next flush may
come minutes later. A follower that read the cut line after 2 s unchanged (the rule this replaced) gave
`Epoch [1/5], Step [100/120], Loss: 1.2` a loss of 1.2 where the writer then wrote `834`. A script that
exits without a final `\\n` still gives its last step to `tail` as it does to `check`, once its process
is seen gone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from runwatch.cli import main
from runwatch.engine import Engine, EngineOptions
from runwatch.model import RunSnapshot, RunState
from tests.support.waiting import wait_for

RECORDING = Path(__file__).parent / "fixtures" / "realruns" / "tutorial-healthy" / "run" / "train.log"
CUT = RECORDING.read_bytes().index(b"Step [100/120], Loss: 1.2834") + len(b"Step [100/120], Loss: 1.2")
"""The first flush ends here: `Epoch [1/5], Step [100/120], Loss: 1.2`, its `834` in the next one."""

WRITER = """import os, sys, time
block, ending = int(sys.argv[2]), sys.argv[3]
data = open(sys.argv[1], "rb").read()
data = data if ending == "newline" else data.rstrip(b"\\n")
held, flushes = b"", 0
for line in data.splitlines(keepends=True):
    held += line
    time.sleep(0.005)
    while len(held) >= block:  # a full buffer goes out as it is, cut wherever it ends (C stdio's way)
        os.write(1, held[:block])
        held, flushes = held[block:], flushes + 1
        if flushes == 1:
            sys.stdin.readline()  # the next flush comes when the test says (minutes later in a real run)
os.write(1, held)  # what is left, at exit
"""
"""Prints a recording to its stdout (the log), block-buffered by hand: a block of `block` bytes at a time,
waiting after the first; the rest at exit, ending as the recording does (`newline`) or without it."""

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds writers through /proc")


def parsed(log: Path, capsys: pytest.CaptureFixture[str]) -> list[tuple[int, float]]:
    """(step, loss) of each step record `runwatch parse` reads in the file."""
    capsys.readouterr()
    assert main(["parse", str(log), "--output", "jsonl"]) == 0
    recs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return [(r["step"], r["metrics"]["loss"]) for r in recs if r["kind"] == "step"]


def latest(snap: RunSnapshot) -> tuple[int | None, float | None]:
    return snap.progress.step, snap.metrics.get("loss")


@pytest.mark.parametrize("ending", ["newline", "none"])
def test_a_cut_line_is_never_read_while_its_writer_lives_and_the_last_is_read_when_it_exits(
        ending: str, tmp_path: Path, started: list[subprocess.Popen[Any]],
        capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "train.log"
    whole = parsed(RECORDING, capsys)
    with open(log, "wb") as out:
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(RECORDING), str(CUT), ending],
                                  stdin=subprocess.PIPE, stdout=out, start_new_session=True)
    started.append(writer)
    wait_for(lambda: log.stat().st_size == CUT, timeout=30)
    assert log.read_bytes().endswith(b"Epoch [1/5], Step [100/120], Loss: 1.2")  # a flush cut the line
    options = EngineOptions(poll_interval=0.1, gpu=False, sample_interval=0.3)
    with Engine([str(log)], options) as engine:
        wait_for(lambda: [p.pid for s in engine.snapshots() for p in s.processes] == [writer.pid], timeout=30)
        wait_for(lambda: engine.snapshots()[0].records >= 9, timeout=10)  # read up to the cut
        seen = set()
        until = time.monotonic() + 3.0  # longer than any quiet time a timer would have read the line after
        while time.monotonic() < until:
            seen.add(latest(engine.snapshots()[0]))
            time.sleep(0.02)
        assert seen == {whole[8]}, seen  # one line behind (Step [90/120]): never step 100 at a loss of 1.2
        assert writer.poll() is None, "the writer ended early: the test proves nothing"

        assert writer.stdin is not None
        writer.stdin.write(b"go on\n")
        writer.stdin.close()
        assert writer.wait(timeout=30) == 0
        assert log.read_bytes().endswith(b"\n") == (ending == "newline")
        check = parsed(log, capsys)
        assert check == whole
        wait_for(lambda: latest(engine.snapshots()[0]) == check[-1], timeout=15)
        assert engine.snapshots()[0].records == len(check)  # each line once, the cut one whole


def test_a_finished_runs_log_ending_in_a_bars_redraw_reads_as_check_reads_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A review: a TRL run's log, last written days ago, ended in the bar's redraw with no `\\r` or `\\n` after it
    (tqdm starts a frame with `\\r`, ends it with nothing); the Trainer's dict before it waits for that frame's
    step. `tail` showed the loss before, `check` the last. Its run ended quietly (no writer, long unwritten):
    nothing more comes, the last line is whole, as its writers' exit makes it."""
    import os

    data = (Path(__file__).parent / "fixtures" / "realruns" / "hf-healthy" / "run" / "train.log").read_bytes()
    frame = data.index(b"\r", data.index(b"\n", data.index(b"{'loss'", 2000)) + 2)  # the frame after a dict
    log = tmp_path / "train.log"
    log.write_bytes(data[:frame])
    assert not log.read_bytes().endswith((b"\r", b"\n"))
    old = time.time() - 2 * 86400
    os.utime(log, (old, old))
    capsys.readouterr()
    assert main(["parse", str(log), "--output", "jsonl"]) == 0
    steps = [r for line in capsys.readouterr().out.splitlines() if (r := json.loads(line))["kind"] == "step"]
    want = (steps[-1]["step"], [r["metrics"]["loss"] for r in steps if "loss" in r["metrics"]][-1])
    assert want == (30, 5.39)  # the dict's loss, placed at the frame's step
    options = EngineOptions(poll_interval=0.1, gpu=False, sample_interval=0.3)
    with Engine([str(log)], options) as engine:
        wait_for(lambda: latest(engine.snapshots()[0]) == want, timeout=15)
        states = set()
        until = time.monotonic() + 1.5  # the badge a few status intervals later
        while time.monotonic() < until:
            states.add(engine.snapshots()[0].state)
            time.sleep(0.02)
        snap = engine.snapshots()[0]
    # the last line is as old as the file: a step of two days ago, no sign of life (a review saw `tail` of
    # such a log go from `ended` to `running`, "last 3 s ago", once it read the line)
    assert states == {RunState.ENDED} and (snap.last_record_age_s or 0) > 86400
