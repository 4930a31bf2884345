"""`runwatch watch --listen` scraped by the real Prometheus: the run's step and loss, then a NaN's alert,
queried with PromQL through Prometheus's HTTP API while the test grows the log with the real lines of a
nanoGPT run (tests/fixtures/realruns/nanogpt-tb-nan); `--textfile` written beside it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import FIXTURES
from tests.support.prometheus import PROMETHEUS, SKIP_REASON, Prometheus
from tests.support.subprocesses import _Reader, stop_daemon
from tests.support.waiting import wait_for

LINES = (FIXTURES / "realruns/nanogpt-tb-nan/run/train.log").read_text().splitlines(keepends=True)
FIRST_NAN = next(i for i, line in enumerate(LINES) if "loss nan" in line)
DEADLINE_S = 60


def grow(log: Path, lines: list[str], chunk: int = 10) -> None:
    for i in range(0, len(lines), chunk):
        with log.open("a") as f:
            f.write("".join(lines[i:i + chunk]))


def value(prom: Prometheus, promql: str) -> str | None:
    """The one sample's value as Prometheus writes it ("595", "NaN"), or None while there is none."""
    got = prom.query(promql)
    return str(got[0]["value"][1]) if len(got) == 1 else None


@pytest.mark.skipif(PROMETHEUS is None, reason=SKIP_REASON)
def test_prometheus_scrapes_the_step_the_loss_and_the_nan_alert(tmp_path: Path) -> None:
    log, textfile = tmp_path / "train.log", tmp_path / "textfile" / "runwatch.prom"
    textfile.parent.mkdir()
    grow(log, LINES[:FIRST_NAN // 2])
    config = tmp_path / "runwatch.toml"
    config.write_text('[watch]\nlisten = "127.0.0.1:0"\n')  # the config's listen (the flag: the next test)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "runwatch", "watch", str(log), "--config", str(config), "--state-dir",
         str(tmp_path / "state"), "--interval", "0.5", "--poll-interval", "0.1", "--no-gpu",
         "--textfile", str(textfile)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    prom = None
    try:
        said = _Reader(daemon)
        port = wait_for(lambda: re.search(r"listening on 127\.0\.0\.1:(\d+)", said.err()), timeout=DEADLINE_S)[1]
        prom = Prometheus(tmp_path, [f"127.0.0.1:{port}"])
        wait_for(prom.ready, timeout=DEADLINE_S, interval=0.2)
        grow(log, LINES[FIRST_NAN // 2:FIRST_NAN])
        last_healthy = int(LINES[FIRST_NAN - 1].split()[1].rstrip(":"))
        wait_for(lambda: value(prom, 'runwatch_step{run="train"}') == str(last_healthy), timeout=DEADLINE_S,
                 interval=0.5)
        loss = float(LINES[FIRST_NAN - 1].split("loss ")[1].split(",")[0])
        assert value(prom, 'runwatch_metric{run="train",metric="loss"}') == str(loss)
        assert value(prom, 'runwatch_alert_firing{run="train",rule="nonfinite"}') is None  # nothing fired yet
        [state] = prom.query('runwatch_run_state{run="train"} == 1')
        assert state["metric"]["state"] in ("running", "stalled")  # stalled only on a machine slowed 30 s

        grow(log, LINES[FIRST_NAN:])
        wait_for(lambda: value(prom, 'runwatch_alert_firing{run="train",rule="nonfinite",severity="critical"}')
                 == "1", timeout=DEADLINE_S, interval=0.5)
        assert value(prom, 'runwatch_metric{run="train",metric="loss"}') == "NaN"
        [alert] = prom.query('runwatch_alerts{alertname="nonfinite",metric="loss"}')
        assert alert["metric"]["alertstate"] == "firing" and alert["metric"]["run"] == "train"
        [up] = prom.query("up")
        assert up["value"][1] == "1" and up["metric"]["instance"] == f"127.0.0.1:{port}"
        wait_for(lambda: textfile.exists() and "runwatch_alert_firing{" in textfile.read_text(), timeout=DEADLINE_S)
    finally:
        if prom is not None:
            prom.stop()
        assert stop_daemon(daemon) == 0
    assert 'runwatch_step{host=' in textfile.read_text()  # the last state, written at exit

