"""`runwatch watch --alertmanager` against the real Alertmanager binary, whose webhook receiver (a local HTTP
server) the test runs: a NaN planted in a growing log reaches Alertmanager and its receiver, then the
resolved once the run recovers; two daemons following one run make one notification."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.alertmanager import MISSING, Alertmanager, find_alertmanager, notifications, started
from tests.support.nanochat import nanochat_line
from tests.support.ports import free_port
from tests.support.receiver import Receiver
from tests.support.subprocesses import _Reader, stop_daemon
from tests.support.waiting import wait_for

BINARY = find_alertmanager()
pytestmark = pytest.mark.skipif(BINARY is None, reason=f"{MISSING}; CI installs it")

QUICK = ("--rule", "nonfinite.window=5", "--rule", "nonfinite.resolve_after=1s")
"""The NaN leaves the rule's window after 5 healthy records and the alert resolves a second later."""
LABELS = {"alertname": "nonfinite", "run": "train", "severity": "critical", "metric": "loss"}


@pytest.fixture
def alertmanager(tmp_path: Path, receiver: Receiver) -> Iterator[Alertmanager]:
    assert BINARY is not None
    with started(BINARY, tmp_path / "am", receiver.url) as am:
        yield am


def watch(log: Path, state: Path, *args: str) -> tuple[subprocess.Popen[str], _Reader]:
    p = subprocess.Popen([sys.executable, "-m", "runwatch", "watch", str(log), "--state-dir", str(state),
                          "--interval", "0.2", "--poll-interval", "0.1", *QUICK, *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p, _Reader(p)


def ours(am: Alertmanager) -> list[dict]:  # type: ignore[type-arg]
    return [a for a in am.alerts() if a["labels"].get("alertname") == "nonfinite"]


def sent(receiver: Receiver, status: str) -> list[dict[str, str]]:
    return [labels for s, labels in notifications(receiver.delivered) if s == status]


def test_a_nan_reaches_alertmanager_and_its_receiver_then_the_recovery_resolves_it(
        tmp_path: Path, receiver: Receiver, alertmanager: Alertmanager) -> None:
    log = tmp_path / "train.log"
    log.write_text("".join(nanochat_line(i) for i in range(20)))
    port = free_port()
    p, r = watch(log, tmp_path / "state", "--alertmanager", alertmanager.url, "--listen", f"127.0.0.1:{port}")
    try:
        wait_for(lambda: "step 19/100" in r.err(), timeout=60)
        with log.open("a") as f:
            f.write(nanochat_line(20, loss="nan"))
        [alert] = wait_for(lambda: ours(alertmanager), timeout=60, interval=0.2)
        assert alert["labels"] == LABELS
        assert alert["annotations"]["step"] == "20" and alert["annotations"]["value"] == "nan"
        assert "loss: nan" in alert["annotations"]["description"]  # the log lines around it
        assert alert["status"]["state"] == "active"
        assert alert["generatorURL"] == f"http://127.0.0.1:{port}/api/v1/alerts"  # a link back to this daemon
        wait_for(lambda: sent(receiver, "firing"), timeout=60, interval=0.2)
        assert sent(receiver, "firing") == [LABELS]

        with log.open("a") as f:  # the run recovers
            f.write("".join(nanochat_line(i) for i in range(21, 30)))
        wait_for(lambda: sent(receiver, "resolved"), timeout=60, interval=0.2)
        assert sent(receiver, "resolved") == [LABELS]
        assert ours(alertmanager) == []
    finally:
        assert stop_daemon(p) == 0
    assert "Traceback" not in r.err()


def test_two_daemons_following_one_run_make_one_notification(
        tmp_path: Path, receiver: Receiver, alertmanager: Alertmanager) -> None:
    """Two nodes on a shared filesystem: each daemon tells Alertmanager (its own host in the annotations,
    re-sent every second here), and Alertmanager, seeing one label set, notifies once."""
    log = tmp_path / "train.log"
    log.write_text("".join(nanochat_line(i) for i in range(20)))
    daemons = []
    for node in ("node1", "node2"):
        cfg = tmp_path / f"{node}.toml"
        cfg.write_text(f'[[sinks]]\ntype = "alertmanager"\nurls = ["{alertmanager.url}"]\nhost = "{node}"\n'
                       'resend_interval = "1s"\n')
        daemons.append(watch(log, tmp_path / f"state-{node}", "--config", str(cfg)))
    try:
        for _, r in daemons:
            wait_for(lambda r=r: "step 19/100" in r.err(), timeout=60)  # type: ignore[misc]
        with log.open("a") as f:
            f.write(nanochat_line(20, loss="nan"))
        hosts: set[str] = set()

        def both_heard() -> bool:
            hosts.update(a["annotations"]["host"] for a in ours(alertmanager))
            return hosts == {"node1", "node2"}

        wait_for(both_heard, timeout=60, interval=0.2)
        [alert] = ours(alertmanager)
        assert alert["labels"] == LABELS
        wait_for(lambda: sent(receiver, "firing"), timeout=60, interval=0.2)
        seen = receiver.count()
        hosts.clear()
        wait_for(both_heard, timeout=60, interval=0.2)  # both have re-sent it since
    finally:
        for p, _ in daemons:
            assert stop_daemon(p) == 0
    assert sent(receiver, "firing") == [LABELS]
    assert receiver.count() == seen
