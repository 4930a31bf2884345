"""Silences: matching, listing, expiry, sharing through the state dir (CLI ↔ daemon), and the
one log line a silence that holds back a notification is worth."""

from __future__ import annotations

import dataclasses
import math
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runwatch.alerts.lifecycle import AlertManager
from runwatch.alerts.silences import RECHECK_S, SilenceBook
from runwatch.alerts.store import AlertStore
from runwatch.alerts.types import Finding, RuleTiming, make_labels
from runwatch.model import AlertState, Severity

R1 = make_labels(run="r1", rank=0)
R2 = make_labels(run="r2")


def test_add_makes_a_short_unique_id_and_mutes_what_it_matches() -> None:
    book = SilenceBook()
    s = book.add("stall", {"run": "r1"}, 3600.0, now=1000.0, comment="restarting node")
    assert re.fullmatch(r"[0-9a-f]{8}", s.id)
    assert (s.starts_at, s.ends_at, s.comment) == (1000.0, 4600.0, "restarting node")
    assert book.active_for("stall", R1, 1000.0) == s
    assert book.active_for("stall", dict(R1), 4599.0) == s
    assert book.active_for("stall", R1, 4600.0) is None, "ends_at is exclusive"
    assert book.active_for("stall", R1, 999.0) is None
    assert book.active_for("stall", R2, 2000.0) is None, "other run"
    assert book.active_for("nonfinite", R1, 2000.0) is None, "other rule"
    ids = {book.add(None, {}, 10.0, 0.0).id for _ in range(200)}
    assert len(ids) == 200


@pytest.mark.parametrize("rule", [None, "*"])
def test_a_silence_without_rule_mutes_every_rule(rule: str | None) -> None:
    book = SilenceBook()
    s = book.add(rule, {"run": "r2"}, 60.0, 0.0)
    assert s.rule is None
    assert book.active_for("crash", R2, 1.0) == s
    assert book.active_for("crash", R1, 1.0) is None


def test_matchers_compare_as_strings() -> None:
    book = SilenceBook()
    book.add("straggler", {"run": "r1", "rank": 0}, 60.0, 0.0)
    assert book.active_for("straggler", R1, 1.0) is not None
    assert book.active_for("straggler", make_labels(run="r1", rank=1), 1.0) is None


@pytest.mark.parametrize("duration", [0.0, -5.0, float("nan"), float("inf")])
def test_a_silence_needs_a_positive_finite_duration(duration: float) -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        SilenceBook().add("stall", {}, duration, 0.0)


def test_list_and_expire() -> None:
    book = SilenceBook()
    long = book.add("stall", {"run": "r1"}, 7200.0, 0.0)
    short = book.add(None, {"run": "r2"}, 60.0, 0.0)
    assert book.list(10.0) == [short, long]
    assert book.list(100.0) == [long]
    assert book.list(100.0, include_expired=True) == [short, long]
    ended = book.expire(long.id[:4], now=200.0)
    assert ended is not None and ended.id == long.id and ended.ends_at == 200.0
    assert book.active_for("stall", R1, 201.0) is None
    assert book.list(201.0) == []
    assert book.expire("ffffffff0", 300.0) is None


def test_an_ambiguous_prefix_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = iter(["abcd0001", "abcd0001", "abcd0002"])  # the repeat exercises the uniqueness retry
    monkeypatch.setattr("runwatch.alerts.silences.secrets.token_hex", lambda n: next(ids))
    book = SilenceBook()
    assert book.add("stall", {}, 60.0, 0.0).id == "abcd0001"
    assert book.add("stall", {}, 60.0, 0.0).id == "abcd0002"
    with pytest.raises(ValueError, match="ambiguous: abcd0001, abcd0002"):
        book.expire("abcd", 1.0)
    assert book.expire("", 1.0) is None


def test_expired_silences_are_dropped_after_a_week() -> None:
    book = SilenceBook(keep_expired_s=100.0)
    old = book.add("stall", {}, 10.0, 0.0)
    book.add("stall", {}, 10.0, now=500.0)
    assert old not in book.list(500.0, include_expired=True)


def test_silences_persist_and_a_daemon_sees_what_the_cli_adds(tmp_path: Path) -> None:
    daemon = SilenceBook(AlertStore(tmp_path))
    assert daemon.active_for("stall", R1, 10.0) is None
    cli = SilenceBook(AlertStore(tmp_path))
    s = cli.add("stall", {"run": "r1"}, 3600.0, now=10.0)
    assert daemon.refresh() is True
    assert daemon.active_for("stall", R1, 11.0) == s
    assert daemon.refresh() is False, "nothing changed since"
    SilenceBook(AlertStore(tmp_path)).expire(s.id, now=20.0)
    daemon.refresh()
    assert daemon.active_for("stall", R1, 21.0) is None


def test_the_daemons_refresh_looks_at_most_once_a_second(tmp_path: Path) -> None:
    """`refresh(now)` (the lifecycle's, every tick) stats silences.json at most once per RECHECK_S: a
    silence added by another process counts at the first look a second after the last one."""
    daemon = SilenceBook(AlertStore(tmp_path))
    assert daemon.refresh(100.0) is False  # looked: nothing there
    s = SilenceBook(AlertStore(tmp_path)).add("stall", {"run": "a"}, 60.0, now=100.0)
    assert daemon.refresh(100.5) is False and daemon.list(100.5) == []  # not looked again yet
    assert daemon.refresh(100.0 + RECHECK_S) is True
    assert [x.id for x in daemon.list(101.0)] == [s.id]
    assert daemon.refresh() is False  # without a time: looks at once (nothing changed)


def test_two_writers_do_not_undo_each_other(tmp_path: Path) -> None:
    a, b = SilenceBook(AlertStore(tmp_path)), SilenceBook(AlertStore(tmp_path))
    s1 = a.add("stall", {}, 60.0, 0.0)
    s2 = b.add("crash", {}, 60.0, 0.0)  # b had not seen s1 before its add
    assert {s.id for s in SilenceBook(AlertStore(tmp_path)).list(1.0)} == {s1.id, s2.id}


def test_an_unwritable_state_dir_fails_the_add_loudly(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(OSError):
        SilenceBook(AlertStore(tmp_path / "f" / "state")).add("stall", {}, 60.0, 0.0)


# ── what a silence held back, said once per transition ─────────────────────

def nan_finding(run: str = "r1") -> Finding:
    return Finding("nonfinite", make_labels(run=run, metric="loss"), Severity.CRITICAL, "loss is NaN",
                   value=math.nan)


def test_a_held_back_notification_is_reported_once_per_transition() -> None:
    timings = {"nonfinite": RuleTiming(for_s=0.0, resolve_after_s=60.0, repeat_interval_s=100.0)}
    m = AlertManager(timings)
    s1 = m.silences.add("nonfinite", {"run": "r1"}, 1000.0, now=0.0)
    assert m.update([nan_finding()], now=10.0) == []
    [held] = m.silences.take_held()
    assert (held.state, held.silence, held.alert.rule, held.at) == (AlertState.FIRING, s1, "nonfinite", 10.0)
    for t in range(11, 400):  # every tick, and past the repeat interval: nothing new to say
        assert m.update([nan_finding()], now=float(t)) == []
    assert m.silences.take_held() == []
    notes = m.update([nan_finding()], now=1000.0)  # the silence ended, the alert still fires: told now
    assert [(n.state, n.repeat) for n in notes] == [(AlertState.FIRING, False)]
    assert m.silences.take_held() == []
    s2 = m.silences.add(None, {"run": "r1"}, 500.0, now=1001.0)
    m.update([nan_finding()], now=1101.0)  # a repeat is due: held back by the new silence
    m.update([nan_finding()], now=1102.0)
    assert [(h.state, h.silence.id) for h in m.silences.take_held()] == [(AlertState.FIRING, s2.id)]
    m.update([], now=1200.0)  # resolves under the silence: the RESOLVED is held back too, once
    m.update([], now=1201.0)
    assert [(h.state, h.silence.id) for h in m.silences.take_held()] == [(AlertState.RESOLVED, s2.id)]


def test_other_runs_and_inhibited_alerts_are_not_reported_as_silenced() -> None:
    m = AlertManager({})
    m.silences.add("nonfinite", {"run": "r1"}, 1000.0, now=0.0)
    crash = Finding("crash", make_labels(run="r2"), Severity.CRITICAL, "CUDA out of memory")
    stall = Finding("stall", make_labels(run="r2"), Severity.WARNING, "no step")
    notes = m.update([nan_finding("r2"), crash, stall], now=1.0)
    assert sorted(n.alert.rule for n in notes) == ["crash", "nonfinite"]  # stall: inhibited by the crash
    assert m.silences.take_held() == []


def test_the_line_names_rule_labels_end_and_silence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        m = AlertManager({})
        s = m.silences.add("nonfinite", {"run": "r1"}, 7200.0, now=1_800_000_000.0)  # 2027-01-15 08:00 UTC
        m.update([nan_finding()], now=1_800_000_060.0)
        m.update([nan_finding()], now=1_800_007_199.0)
        [held] = m.silences.take_held()
        assert held.line() == f"SILENCED nonfinite metric=loss run=r1 until 10:00 (silence {s.id}; firing not sent)"
        later = dataclasses.replace(held, at=1_799_913_600.0)  # the day before: the date is given
        assert "until 2027-01-15 10:00 (silence" in later.line()
    finally:
        monkeypatch.undo()
        time.tzset()


def test_the_daemon_logs_one_silenced_line_and_sends_nothing(tmp_path: Path) -> None:
    from tests.support.nanochat import nanochat_line
    from tests.support.receiver import Receiver
    from tests.support.subprocesses import start_daemon, stop_daemon
    from tests.support.waiting import wait_for

    log, state = tmp_path / "train.log", tmp_path / "state"
    log.write_text("".join(nanochat_line(i) for i in range(20)))
    cli = subprocess.run([sys.executable, "-m", "runwatch", "silence", "nonfinite", "--run", "train", "--for", "2h",
                          "--state-dir", str(state)], capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    [sid] = re.findall(r"\b[0-9a-f]{8}\b", cli.stdout)
    receiver = Receiver()
    try:
        p, r = start_daemon(log, state, receiver.url)
        try:
            wait_for(lambda: "step 19/100" in r.err(), timeout=20)
            with log.open("a") as f:
                f.write(nanochat_line(20, loss="nan"))
            wait_for(lambda: "SILENCED" in r.err(), timeout=20)
            seen = r.err().count("step 20/100")
            wait_for(lambda: r.err().count("step 20/100") >= seen + 5, timeout=20)  # several ticks later
        finally:
            assert stop_daemon(p) == 0
    finally:
        receiver.stop()
    lines = [line for line in r.err().splitlines() if "SILENCED" in line]
    assert len(lines) == 1, lines
    assert re.search(rf"INFO SILENCED nonfinite metric=loss run=train until [0-9: -]+ \(silence {sid}; "
                     r"firing not sent\)$", lines[0]), lines[0]
    assert receiver.count() == 0 and "FIRING" not in r.err()
