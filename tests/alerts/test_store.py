"""State on disk: atomic writes, corrupt files survived, alert/offset round trips."""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

import pytest

from runwatch.alerts.store import AlertStore, OffsetStore, StateDir
from runwatch.alerts.types import Alert, Matcher, Silence, make_labels
from runwatch.model import AlertState, Severity


def test_write_then_read_round_trips_and_creates_a_private_dir(tmp_path: Path) -> None:
    sd = StateDir(tmp_path / "state" / "runwatch")
    assert sd.read_json("x.json", {"a": 0}) == {"a": 0}
    assert not sd.path.exists(), "reading must not create the directory"
    sd.write_json("x.json", {"a": 1, "b": [1, 2]})
    assert sd.read_json("x.json", {}) == {"a": 1, "b": [1, 2]}
    assert stat.S_IMODE(sd.path.stat().st_mode) == 0o700
    assert stat.S_IMODE(sd.file("x.json").stat().st_mode) == 0o600
    assert sd.notes == []


def test_default_dir_is_the_platform_state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import platformdirs

    monkeypatch.setattr(platformdirs, "user_state_dir", lambda name: str(tmp_path / name))
    assert StateDir().path == tmp_path / "runwatch"


def test_crash_between_temp_write_and_replace_keeps_the_old_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sd = StateDir(tmp_path)
    sd.write_json("alerts.json", {"gen": 1})

    def crash(src: object, dst: object) -> None:
        raise OSError("simulated power cut before rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        sd.write_json("alerts.json", {"gen": 2})
    monkeypatch.undo()
    assert sd.read_json("alerts.json", {}) == {"gen": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["alerts.json"], "temp file left behind"


def test_a_temp_file_left_by_a_killed_writer_is_ignored(tmp_path: Path) -> None:
    sd = StateDir(tmp_path)
    sd.write_json("alerts.json", {"gen": 1})
    (tmp_path / ".alerts.json.abc123.tmp").write_text('{"gen": 2')  # killed mid-write
    assert StateDir(tmp_path).read_json("alerts.json", {}) == {"gen": 1}


def test_stale_temp_files_are_swept(tmp_path: Path) -> None:
    old = tmp_path / ".alerts.json.old.tmp"
    old.write_text("{")
    os.utime(old, (0, 0))
    fresh = tmp_path / ".alerts.json.new.tmp"
    fresh.write_text("{")
    StateDir(tmp_path).write_json("y.json", [])
    assert not old.exists() and fresh.exists()


@pytest.mark.parametrize("content", [b'{"alerts": [', b"\x00\x00\x00", b"\xff\xfe garbage", b""])
def test_corrupt_or_partial_file_gives_defaults_and_one_note(tmp_path: Path, content: bytes,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "alerts.json").write_bytes(content)
    sd = StateDir(tmp_path)
    assert sd.read_json("alerts.json", {"d": 1}) == {"d": 1}
    assert len(sd.notes) == 1
    assert "alerts.json" in sd.notes[0] and "not valid JSON" in sd.notes[0]
    assert "kept as alerts.json.corrupt" in sd.notes[0]
    assert (tmp_path / "alerts.json.corrupt").read_bytes() == content
    assert sum("alerts.json" in r.message for r in caplog.records) == 1
    assert sd.read_json("alerts.json", {"d": 1}) == {"d": 1}
    assert len(sd.notes) == 1


def test_valid_json_of_the_wrong_type_gives_defaults(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text("[1, 2]")
    sd = StateDir(tmp_path)
    assert sd.read_json("s.json", {}) == {}
    assert "holds a list, expected a dict" in sd.notes[0]


def test_write_refuses_nan_rather_than_writing_non_json(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        StateDir(tmp_path).write_json("x.json", {"v": math.nan})
    assert not (tmp_path / "x.json").exists()


def _alert(**kw: object) -> Alert:
    base: dict[str, object] = dict(
        rule="nonfinite", labels=make_labels(run="r", metric="loss", rank=0), state=AlertState.FIRING,
        severity=Severity.CRITICAL, summary="loss is NaN at step 3", active_since=100.0, fired_at=100.0,
        last_seen=110.0, last_notified=100.0, value=math.nan, threshold=None, step=3, first_step=1,
        metric="loss", source="train.log", context=("a", "b"), history=(1.0, math.inf, math.nan),
    )
    base.update(kw)
    return Alert(**base)  # type: ignore[arg-type]


def test_alert_store_round_trips_alerts_with_nonfinite_values(tmp_path: Path) -> None:
    store = AlertStore(tmp_path)
    a = _alert()
    assert store.save_alerts([a], ["id1", "id2"])
    raw = (tmp_path / "alerts.json").read_text()

    def refuse(name: str) -> None:
        raise AssertionError(f"non-strict JSON constant {name} on disk")

    json.loads(raw, parse_constant=refuse)
    (b,), sent = AlertStore(tmp_path).load_alerts()
    assert sent == ["id1", "id2"]
    assert b.key == a.key and b.state == a.state and b.severity == a.severity
    assert math.isnan(b.value)  # type: ignore[arg-type]
    assert b.history[0] == 1.0 and b.history[1] == math.inf and math.isnan(b.history[2])
    assert (b.fired_at, b.last_notified, b.step, b.first_step, b.context) == (100.0, 100.0, 3, 1, ("a", "b"))


def test_alert_store_keeps_only_the_newest_sent_ids(tmp_path: Path) -> None:
    store = AlertStore(tmp_path, max_sent=3)
    store.save_alerts([], [f"n{i}" for i in range(10)])
    assert store.load_alerts()[1] == ["n7", "n8", "n9"]


def test_alert_store_skips_a_malformed_alert_and_keeps_the_rest(tmp_path: Path) -> None:
    store = AlertStore(tmp_path)
    store.save_alerts([_alert()], [])
    data = json.loads((tmp_path / "alerts.json").read_text())
    data["alerts"].append({"rule": "x", "state": "bogus"})
    (tmp_path / "alerts.json").write_text(json.dumps(data))
    store = AlertStore(tmp_path)
    alerts, _ = store.load_alerts()
    assert len(alerts) == 1
    assert "malformed alert" in store.state.notes[0]


def test_alert_store_ignores_another_format_version(tmp_path: Path) -> None:
    (tmp_path / "alerts.json").write_text('{"version": 99, "alerts": [], "sent": ["x"]}')
    store = AlertStore(tmp_path)
    assert store.load_alerts() == ([], [])
    assert "version 99" in store.state.notes[0]


def test_a_failed_save_is_a_note_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where the directory should be")
    store = AlertStore(tmp_path / "blocker" / "state")
    assert store.save_alerts([_alert()], ["x"]) is False
    assert "could not write state file" in store.state.notes[0]


def test_silences_round_trip(tmp_path: Path) -> None:
    store = AlertStore(tmp_path)
    s = Silence("abcd1234", "stall", (Matcher("run", "r1"),), 10.0, 20.0, "maintenance", "me")
    store.save_silences([s, Silence("00000000", None, (), 1.0, 2.0)])
    assert AlertStore(tmp_path).load_silences() == [s, Silence("00000000", None, (), 1.0, 2.0)]


def test_offset_store_put_get_save_reload(tmp_path: Path) -> None:
    offs = OffsetStore(tmp_path)
    assert offs.get("train.log") is None
    offs.put("train.log", (1, 2, 300, "abcd"))
    offs.put(tmp_path / "b.log", (1, 3, 0, None))
    assert offs.get(Path("train.log").absolute()) == (1, 2, 300, "abcd")
    assert offs.save()
    again = OffsetStore(tmp_path)
    assert again.get("train.log") == (1, 2, 300, "abcd")
    assert again.get(tmp_path / "b.log") == (1, 3, 0, None)
    again.put("train.log", None)
    again.save()
    assert OffsetStore(tmp_path).get("train.log") is None


def test_offset_stores_sharing_a_dir_merge_instead_of_overwriting(tmp_path: Path) -> None:
    a, b = OffsetStore(tmp_path), OffsetStore(tmp_path)
    a.put("/logs/a.log", (1, 1, 10, "h1"))
    b.put("/logs/b.log", (1, 2, 20, "h2"))
    a.save()
    b.save()
    c = OffsetStore(tmp_path)
    assert c.get("/logs/a.log") == (1, 1, 10, "h1") and c.get("/logs/b.log") == (1, 2, 20, "h2")


def test_offset_store_tolerates_garbage_entries(tmp_path: Path) -> None:
    (tmp_path / "offsets.json").write_text(json.dumps(
        {"version": 1, "files": {"/a": [1, 2, 3, "h"], "/b": [1, "x", 3, None], "/c": "nope"}}))
    offs = OffsetStore(tmp_path)
    assert offs.get("/a") == (1, 2, 3, "h")
    assert offs.get("/b") is None and offs.get("/c") is None
