"""A real stalled process: the stall alert a real webhook receives says what the process is doing.

The "training" process is real: it writes the first 300 iterations of a recorded nanoGPT run
(run lab, nanogpt-tb-hang) into its log, then blocks in a function named for where a real hang sits.
The engine finds it (it holds the log open for writing), samples it, takes its stack with py-spy
(the real one when installed, else a recorder standing in) and the stall alert carries both.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runwatch.alerting import AlertFlags, Alerting, build_sinks
from runwatch.config import load_config
from runwatch.engine import Engine, EngineOptions
from runwatch.model import AlertState, StackDump
from runwatch.watcher.stacks import NO_PY_SPY, PySpy
from tests.support.receiver import Receiver
from tests.support.waiting import wait_for

RECORDED = Path(__file__).parent / "fixtures" / "realruns" / "nanogpt-tb-hang" / "run" / "train.log"


class Recorder:
    def dump(self, pid: int, now: float) -> StackDump:
        return StackDump(pid, now, lines=(f'Thread {pid} (idle): "MainThread"', "    wait_for_peer (train.py:9)"))


def trainer(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / "train.log"
    lines = [ln for ln in RECORDED.read_text().splitlines() if ln.startswith("iter ")][:60]
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        lines = {lines!r}
        def all_reduce_waiting_for_rank_1():
            time.sleep(120)
        with open({str(log)!r}, "a", buffering=1) as log:
            for line in lines:
                log.write(line + "\\n")
                time.sleep(0.02)
            all_reduce_waiting_for_rank_1()
    """))
    log.touch()
    return subprocess.Popen([sys.executable, str(script)]), log


def stalled_alert(tmp_path: Path, dumper: object) -> dict[str, object]:
    proc, log = trainer(tmp_path)
    wait_for(lambda: log.stat().st_size > 0, timeout=30)  # it holds the log open when the engine first looks
    receiver = Receiver()
    config = load_config(None, overrides=["stall.after=8s"])
    sinks = build_sinks(AlertFlags(webhook=receiver.url).sink_configs())
    options = EngineOptions(poll_interval=0.1, gpu=False, sample_interval=0.5, stall_floor_s=4.0,
                            stack_dumper=lambda: dumper)  # type: ignore[arg-type,return-value]
    engine = Engine([str(log)], options, alerting=lambda: Alerting(config, sinks=sinks, persist=False))
    try:
        with engine:
            wait_for(lambda: any(b["rule"] == "stall" and b["state"] == str(AlertState.FIRING)
                                 for b in receiver.delivered), timeout=60)
    finally:
        proc.kill()
        proc.wait()
        receiver.stop()
    return next(b for b in receiver.delivered if b["rule"] == "stall")


def test_the_stall_alert_shows_each_process_and_its_stack(tmp_path: Path) -> None:
    real = PySpy.find()
    body = stalled_alert(tmp_path, real or Recorder())
    diagnosis = body["diagnosis"]
    assert isinstance(diagnosis, list)
    assert any(line.endswith("sleeping, 0% CPU") and "(pid " in line for line in diagnosis), diagnosis
    if real and any("ermission" in line or "ptrace" in line.lower() for line in diagnosis):
        pytest.skip(f"py-spy has no ptrace rights here: {diagnosis}")
    want = "all_reduce_waiting_for_rank_1" if real else "wait_for_peer"
    assert any(want in line for line in diagnosis), diagnosis


def test_without_py_spy_the_alert_says_so_once(tmp_path: Path) -> None:
    body = stalled_alert(tmp_path, None)
    diagnosis = body["diagnosis"]
    assert isinstance(diagnosis, list) and diagnosis.count(NO_PY_SPY) == 1
    assert any("sleeping" in line for line in diagnosis)
