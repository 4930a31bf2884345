"""Silences: matching, listing, expiry, and sharing through the state dir (CLI ↔ daemon)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runwatch.alerts.silences import SilenceBook
from runwatch.alerts.store import AlertStore
from runwatch.alerts.types import make_labels

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


def test_two_writers_do_not_undo_each_other(tmp_path: Path) -> None:
    a, b = SilenceBook(AlertStore(tmp_path)), SilenceBook(AlertStore(tmp_path))
    s1 = a.add("stall", {}, 60.0, 0.0)
    s2 = b.add("crash", {}, 60.0, 0.0)  # b had not seen s1 before its add
    assert {s.id for s in SilenceBook(AlertStore(tmp_path)).list(1.0)} == {s1.id, s2.id}


def test_an_unwritable_state_dir_fails_the_add_loudly(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(OSError):
        SilenceBook(AlertStore(tmp_path / "f" / "state")).add("stall", {}, 60.0, 0.0)
