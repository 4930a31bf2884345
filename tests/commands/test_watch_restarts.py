"""`runwatch watch` killed and restarted (issue 11, findings 2 and 3): the real daemon as a subprocess, a
webhook receiver on 127.0.0.1, SIGKILL or SIGTERM, a second daemon on the same state dir. Every alert
arrives, exactly once, under an id that does not change. The log is the real 16,704-step nanochat run's
step lines, renumbered (only the numbers change)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from runwatch.alerting import AlertFlags
from runwatch.alerts.store import OffsetStore
from runwatch.commands.watch import run_watch
from runwatch.config import load_config
from runwatch.engine import EngineOptions
from runwatch.errors import EXIT_GAVE_UP
from runwatch.judging import Judging
from tests.support.nanochat import step_lines
from tests.support.receiver import Receiver
from tests.support.waiting import wait_for

TOTAL = 999_999


def renumbered(a: int, b: int, nan_at: int | None = None) -> str:
    """Steps a..b-1 as the real run printed its steps (cycled), counter renumbered; `loss: nan` at `nan_at`."""
    base = step_lines()
    out = []
    for i in range(a, b):
        line = base[i % len(base)]
        head = line.split(" (", 1)[0]  # `step 00001/16704`
        line = line.replace(head, f"step {i:06d}/{TOTAL}", 1)
        if i == nan_at:
            line = line.replace("loss: " + line.split("loss: ")[1].split(" ")[0], "loss: nan", 1)
        out.append(line + "\n")
    return "".join(out)


class Daemon:
    """One life of `runwatch watch`, its stderr in a file (no pipe that could fill and block it)."""

    def __init__(self, log: Path, state: Path, url: str, *extra: str) -> None:
        self.err_path = state.parent / f"daemon-{len(list(state.parent.glob('daemon-*.err')))}.err"
        self.err_file = self.err_path.open("w")
        self.p = subprocess.Popen(
            [sys.executable, "-m", "runwatch", "watch", str(log), "--webhook", url, "--state-dir", str(state),
             "--interval", "0.2", "--poll-interval", "0.1", "--no-gpu", *extra],
            stdout=subprocess.DEVNULL, stderr=self.err_file, text=True)

    def err(self) -> str:
        return self.err_path.read_text()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.p.send_signal(sig)
        try:
            return self.p.wait(timeout=30)
        finally:
            self.err_file.close()


def saved_offset(state: Path, log: Path) -> int | None:
    saved = OffsetStore(state).get(log) if (state / "offsets.json").exists() else None
    return saved[2] if saved is not None else None


def outbox_delivered(state: Path) -> list[str]:
    try:
        return list(json.loads((state / "outbox" / "webhook.json").read_text())["delivered"])
    except (OSError, ValueError, KeyError):
        return []


def nonfinite(r: Receiver) -> list[dict]:  # type: ignore[type-arg]
    return [a for a in r.delivered if a["rule"] == "nonfinite"]


def test_nan_appended_behind_300k_lines_is_alerted_after_sigkill_when_offsets_reached_the_end(
        tmp_path: Path, receiver: Receiver) -> None:
    """Finding 2: 300k lines, a NaN and 2,000 lines in one write; offsets.json reached the end of the file
    before the NaN was judged, a SIGKILL then, and the next daemon said `resumed: nothing written` and
    never alerted. The saved offset now never passes what the rules judged."""
    log, state = tmp_path / "train.log", tmp_path / "state"
    log.write_text(renumbered(0, 50))
    d = Daemon(log, state, receiver.url)
    try:
        wait_for(lambda: f"step 49/{TOTAL}" in d.err(), timeout=60)
        with log.open("a") as f:
            f.write(renumbered(50, 300_050) + renumbered(300_050, 300_051, nan_at=300_050)
                    + renumbered(300_051, 302_051))
        size = log.stat().st_size
        wait_for(lambda: saved_offset(state, log) == size, timeout=180, interval=0.01)
    finally:
        d.stop(signal.SIGKILL)
    d2 = Daemon(log, state, receiver.url)
    try:
        wait_for(lambda: nonfinite(receiver), timeout=60)
        wait_for(lambda: d2.err().count(f"step 302050/{TOTAL}") >= 3, timeout=60)
    finally:
        assert d2.stop() == 0
    # Delivered, under one id. Exactly once to a receiver that dedupes by id: a SIGKILL between the 2xx and
    # the outbox's note of it sends it again (at least once, README), as the same notification.
    got = nonfinite(receiver)
    assert {(a["state"], a["step"], a["id"]) for a in got} == {
        ("firing", 300_050, "nonfinite{metric=loss,run=train}:firing:step=300050")}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_resolved_alert_is_not_sent_again_after_a_restart(tmp_path: Path, receiver: Receiver, sig: int) -> None:
    """Finding 3: the 128 KiB history piece that held the saved offset was judged again whole, and a NaN
    that had fired and resolved fired again under a new id, after a SIGTERM too. Now only the bytes after
    the saved offset are judged, and the id is the rule, labels and the step where the NaN was."""
    log, state = tmp_path / "train.log", tmp_path / "state"
    log.write_text(renumbered(0, 300, nan_at=10))  # the NaN scrolls out of the rule's window (256 points)
    d = Daemon(log, state, receiver.url, "--rule", "nonfinite.resolve_after=1s")
    try:
        wait_for(lambda: [a for a in nonfinite(receiver) if a["state"] == "resolved"], timeout=60)
        ids = {a["id"] for a in nonfinite(receiver)}
        wait_for(lambda: ids <= set(outbox_delivered(state)), timeout=30)  # the receiver's 2xx is on disk
        wait_for(lambda: saved_offset(state, log) == log.stat().st_size, timeout=30)
    finally:
        assert d.stop(sig) in (0, -signal.SIGKILL)
    assert sorted(a["state"] for a in nonfinite(receiver)) == ["firing", "resolved"]
    d2 = Daemon(log, state, receiver.url, "--rule", "nonfinite.resolve_after=1s")
    try:
        wait_for(lambda: "resumed: nothing written since the last run" in d2.err(), timeout=60)
        with log.open("a") as f:
            f.write(renumbered(300, 310))
        wait_for(lambda: d2.err().count(f"step 309/{TOTAL}") >= 5, timeout=60)  # several ticks after them
    finally:
        assert d2.stop() == 0
    sent = [(a["state"], a["id"]) for a in nonfinite(receiver)]
    assert sent == [("firing", "nonfinite{metric=loss,run=train}:firing:step=10"),
                    ("resolved", "nonfinite{metric=loss,run=train}:resolved:step=10")]


def test_watch_exits_nonzero_when_its_threads_fail_too_often(
        tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the supervisor's limit the daemon exits EXIT_GAVE_UP, for systemd's Restart=on-failure."""
    log = tmp_path / "train.log"
    log.write_text(renumbered(0, 5))

    def broken_tick(self: Judging) -> None:
        raise RuntimeError("a rule tick that always fails")

    monkeypatch.setattr(Judging, "maybe_tick", broken_tick)
    rc = run_watch([str(log)], load=lambda: load_config(None), flags=AlertFlags(webhook=receiver.url),
                   options=EngineOptions(system=False, poll_interval=0.1), state_dir=tmp_path / "state",
                   interval=0.2, stop=threading.Event())
    assert rc == EXIT_GAVE_UP
    internal = [a for a in receiver.delivered if a["rule"] == "runwatch_internal"]
    assert [a["labels"] for a in internal] == [  # the first failure, giving up
        {"thread": "runwatch-engine"}, {"thread": "runwatch-engine", "outcome": "gave_up"}]
    assert "restarted" in internal[0]["summary"] and "gave up" in internal[1]["summary"]
