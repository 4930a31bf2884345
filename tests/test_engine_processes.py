"""Each run's processes are its own, end to end: `runwatch tail DIR --headless --json` over a directory
three real scripts write into (real processes, real files, lines from the run lab's recordings).

A new user's report: under one `runwatch tail d`, the exit of the script writing `d/a.log` was every
run's `process_exit`, a live script's presence hid another's exit, and a script that stopped after its
last line got a critical stall page and stayed `[stalled]`. Here A stops cleanly after its last line
(its run ends, no stall), C prints a traceback and exits 1 (its run crashes), B steps on meanwhile and
hears of neither; each run's `process` is its own writer.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from runwatch.alerting import Alerting
from runwatch.config import load_config
from runwatch.engine import Engine, EngineOptions
from runwatch.model import RunState
from tests.support.subprocesses import _Reader
from tests.support.waiting import wait_for

REALRUNS = Path(__file__).parent / "fixtures" / "realruns"
KV_LOG = REALRUNS / "kvlog-healthy" / "run" / "train.log"
"""`step=1 epoch=1 loss=2.3569 lr=0.001` lines, no total: only its process can say the run ended."""
RAISE_LOG = REALRUNS / "nanogpt-tb-raise" / "run" / "train.log"
"""nanoGPT steps, then an IndexError's traceback."""

WRITER = """import sys, time
lines = open(sys.argv[2]).read().splitlines()[int(sys.argv[3]):int(sys.argv[4])]
with open(sys.argv[1], "a", buffering=1) as log:
    for line in lines:
        log.write(line + "\\n")
        time.sleep(float(sys.argv[5]))
sys.exit(int(sys.argv[6]))
"""
"""Appends lines [start:stop] of a recording to a log, one every `gap` seconds, holding it open, then
exits with `code` at once (a script that ends after its last line)."""

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds writers through /proc")


def write(started: list[subprocess.Popen[Any]], log: Path, recording: Path, lines: slice, gap: float,
          code: int) -> subprocess.Popen[Any]:
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(log), str(recording), str(lines.start), str(lines.stop),
                          str(gap), str(code)], start_new_session=True)
    started.append(p)
    return p


def objects(reader: _Reader) -> list[dict[str, Any]]:
    return [json.loads(line) for line in reader.out_lines() if line.startswith("{")]


def latest_status(reader: _Reader) -> dict[str, dict[str, Any]]:
    """Run name → its newest status object."""
    return {o["run"]: o for o in objects(reader) if o["type"] == "status"}


def run_of(reader: _Reader, pid: int) -> str | None:
    """The run whose status names `pid` as its process."""
    return next((run for run, o in latest_status(reader).items() if (o.get("process") or {}).get("pid") == pid),
                None)


def test_each_run_hears_only_of_its_own_processes(tmp_path: Path, started: list[subprocess.Popen[Any]]) -> None:
    d = tmp_path / "d"
    d.mkdir()
    tail = subprocess.Popen([sys.executable, "-m", "runwatch", "tail", str(d), "--headless", "--json",
                             "--interval", "1", "--no-gpu", "--rule", "stall.after=10s"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    started.append(tail)
    reader = _Reader(tail)
    wait_for(lambda: reader.out_lines(), timeout=30)  # its first status: following the directory
    a = write(started, d / "a.log", KV_LOG, slice(0, 20), 0.4, 0)  # 8 s of steps, then a clean exit
    c = write(started, d / "c.log", RAISE_LOG, slice(47, 72), 0.3, 1)  # 15 steps and a traceback, exit 1
    b = write(started, d / "b.log", KV_LOG, slice(0, 70), 0.4, 0)  # 28 s of steps

    runs = wait_for(lambda: all(run_of(reader, p.pid) for p in (a, b, c)) and
                    {p.pid: run_of(reader, p.pid) for p in (a, b, c)}, timeout=20)
    assert len(set(runs.values())) == 3, runs  # each writer is the process of one run: its own
    run_a, run_b, run_c = runs[a.pid], runs[b.pid], runs[c.pid]
    a.wait(timeout=30)
    c.wait(timeout=30)

    def settled() -> dict[str, dict[str, Any]] | None:
        s = latest_status(reader)
        return s if s[run_a]["state"] == "ended" and s[run_c]["state"] == "crashed" else None

    status = wait_for(settled, timeout=15)
    assert b.poll() is None, "B ended before A's and C's exits were seen: the test proves nothing"
    assert status[run_b]["state"] == "running"
    for pid, run in runs.items():
        process = status[run]["process"]
        assert process["pid"] == pid and "others" not in process, (run, process)  # no other run's process

    time.sleep(12)  # past A's stall budget (10 s after its last step): an ended run is not stalled
    assert latest_status(reader)[run_a]["state"] == "ended"
    assert b.poll() is None, "B ended too soon to show it hears of no other exit"
    alerts = [o for o in objects(reader) if o["type"] == "alert"]
    assert [o for o in alerts if o["run"] == run_b] == []  # A's and C's exits are not B's news
    assert not [o for o in alerts if o["run"] == run_a and o["rule"] == "stall"]
    assert any(o["run"] == run_c and o["rule"] == "crash" and o["severity"] == "critical" for o in alerts)

    b.wait(timeout=30)
    wait_for(lambda: latest_status(reader)[run_b]["state"] == "ended", timeout=15)
    mentioned = {o["summary"] for o in objects(reader) if o["type"] == "alert" and o["run"] == run_b}
    assert all(str(a.pid) not in m and str(c.pid) not in m for m in mentioned), mentioned
    tail.send_signal(signal.SIGINT)
    assert tail.wait(timeout=20) == 2, reader.err()  # C crashed (a critical alert): tail exits as check would, 2


def test_a_script_that_stops_after_its_last_line_has_ended_without_any_alert(
        tmp_path: Path, started: list[subprocess.Popen[Any]]) -> None:
    """The run's end is the run's own state, not an alert's badge: with `process_exit` turned off, a
    script that exits after its last line still leaves its run `ended`, and the stall rule quiet."""
    log = tmp_path / "train.log"
    config = load_config(None, overrides=["stall.after=4s", "process_exit.enabled=false"])
    options = EngineOptions(poll_interval=0.1, gpu=False, sample_interval=0.5, stall_floor_s=2.0)
    writer = write(started, log, KV_LOG, slice(0, 20), 0.3, 0)  # 6 s of steps, then a clean exit
    wait_for(lambda: log.exists() and log.stat().st_size > 0, timeout=30)  # it holds the log at the first look
    engine = Engine([str(log)], options, alerting=lambda: Alerting(config, sinks=[], persist=False))
    with engine:
        wait_for(lambda: [p.pid for s in engine.snapshots() for p in s.processes] == [writer.pid], timeout=30)
        writer.wait(timeout=30)
        wait_for(lambda: engine.snapshots()[0].state == RunState.ENDED, timeout=10)
        time.sleep(6)  # past the stall budget (4 s after its last step)
        (snap,) = engine.snapshots()
        assert snap.state == RunState.ENDED and snap.alerts == (), snap.alerts
