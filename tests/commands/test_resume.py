"""Saved read offsets (DESIGN §7): what a restarted `runwatch watch` says each log did while it was down."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from runwatch.alerts.store import OffsetStore, StateDir
from runwatch.commands.resume import REPLACED, SAVE_EVERY_S, ReadOffsets
from runwatch.engine import Engine, EngineOptions
from tests.support.nanochat import nanochat_line
from tests.support.subprocesses import _Reader
from tests.support.waiting import wait_for

OPTIONS = EngineOptions(poll_interval=0.1, system=False)


def watch_once(log: Path, state: Path) -> list[tuple[str, str]]:
    """One daemon life in miniature: follow `log` to its end, compare, save at exit."""
    offsets = ReadOffsets(StateDir(state))
    with Engine([str(log)], OPTIONS) as eng:
        size = log.stat().st_size
        positions = wait_for(lambda: (p := eng.positions()) and p[str(log)].offset == size and p)
        news = offsets.news(positions)
        assert offsets.save(eng.positions(), 0.0, force=True)
    return news


def lines(a: int, b: int) -> str:
    return "".join(nanochat_line(i) for i in range(a, b))


def test_the_first_run_says_nothing_and_saves_where_it_stopped(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.write_text(lines(0, 10))
    assert watch_once(log, tmp_path / "state") == []
    st = log.stat()
    saved = OffsetStore(tmp_path / "state").get(log)
    assert saved is not None and saved[:3] == (st.st_dev, st.st_ino, st.st_size)
    assert saved[3] is not None  # the first line's hash


def test_growth_while_down_is_counted_in_bytes(tmp_path: Path) -> None:
    log, state = tmp_path / "train.log", tmp_path / "state"
    log.write_text(lines(0, 10))
    watch_once(log, state)
    more = lines(10, 13)
    with log.open("a") as f:
        f.write(more)
    assert watch_once(log, state) == [(str(log), f"resumed: {len(more):,} bytes written since the last run")]
    assert watch_once(log, state) == [(str(log), "resumed: nothing written since the last run")]


def test_a_log_rotated_while_down_is_called_replaced(tmp_path: Path) -> None:
    log, state = tmp_path / "train.log", tmp_path / "state"
    log.write_text(lines(0, 10))
    watch_once(log, state)
    log.rename(tmp_path / "train.log.1")
    log.write_text(lines(0, 20))  # longer than before: only the inode tells
    assert watch_once(log, state) == [(str(log), REPLACED)]


@pytest.mark.parametrize("new_content", ["", lines(0, 3), lines(50, 70)], ids=["empty", "shorter", "longer"])
def test_a_log_truncated_in_place_while_down_is_called_replaced(tmp_path: Path, new_content: str) -> None:
    log, state = tmp_path / "train.log", tmp_path / "state"
    log.write_text(lines(0, 10))
    watch_once(log, state)
    ino = log.stat().st_ino
    with log.open("r+") as f:  # copytruncate: same inode, new content
        f.truncate(0)
        f.write(new_content)
    assert log.stat().st_ino == ino
    assert watch_once(log, state) == [(str(log), REPLACED)]


def test_positions_are_written_every_period_and_each_file_compared_once(tmp_path: Path) -> None:
    log, state = tmp_path / "train.log", tmp_path / "state"
    log.write_text(lines(0, 10))
    watch_once(log, state)
    offsets = ReadOffsets(StateDir(state))
    st = log.stat()
    pos = {str(log): (st.st_dev, st.st_ino, 100, "x")}
    assert offsets.news(pos) == [(str(log), "resumed: nothing written since the last run")]
    assert offsets.news(pos) == []
    before = (state / "offsets.json").read_text()
    offsets.save(pos, 1000.0)  # type: ignore[arg-type]
    offsets.save(pos, 1000.0 + SAVE_EVERY_S / 2)  # type: ignore[arg-type]
    assert (state / "offsets.json").read_text() == before
    offsets.save(pos, 1000.0 + SAVE_EVERY_S)  # type: ignore[arg-type]
    assert json.loads((state / "offsets.json").read_text())["files"] == {str(log): [st.st_dev, st.st_ino, 100, "x"]}


def test_the_state_file_is_replaced_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log, state = tmp_path / "train.log", tmp_path / "state"
    log.write_text(lines(0, 10))
    watch_once(log, state)
    old = (state / "offsets.json").read_bytes()
    renames: list[tuple[str, str, bytes]] = []
    real_replace = os.replace

    def replace(src: str, dst: str) -> None:
        renames.append((str(src), str(dst), Path(src).read_bytes()))
        raise OSError("simulated crash before the rename")

    with log.open("a") as f:
        f.write(lines(10, 12))
    monkeypatch.setattr(os, "replace", replace)
    watch_once_failing = ReadOffsets(StateDir(state))
    st = log.stat()
    watch_once_failing.news({str(log): (st.st_dev, st.st_ino, st.st_size, None)})  # type: ignore[dict-item]
    assert not watch_once_failing.save({str(log): (st.st_dev, st.st_ino, st.st_size, None)}, 0.0,  # type: ignore[dict-item]
                                       force=True)
    monkeypatch.setattr(os, "replace", real_replace)
    [(src, dst, body)] = renames
    assert Path(src).parent == state and Path(src).name.endswith(".tmp") and dst == str(state / "offsets.json")
    assert json.loads(body)["files"][str(log)][2] == st.st_size  # the new content, whole, under a temp name
    assert (state / "offsets.json").read_bytes() == old  # the old file untouched
    assert sorted(p.name for p in state.iterdir() if p.name.startswith("offsets")) == [
        "offsets.json", "offsets.json.lock"]  # no temp file left
    assert "could not write" in watch_once_failing.state.notes[0]


def test_a_corrupt_state_file_is_one_warning_and_a_fresh_start(tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    log, state = tmp_path / "train.log", tmp_path / "state"
    log.write_text(lines(0, 10))
    state.mkdir()
    (state / "offsets.json").write_bytes(b'{"version": 1, "files": {"/x": [1, 2')
    with caplog.at_level(logging.WARNING):
        assert watch_once(log, state) == []  # nothing to compare with
    [warning] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "offsets.json" in warning and "not valid JSON" in warning and "\n" not in warning
    assert (state / "offsets.json.corrupt").exists()
    with log.open("a") as f:
        f.write(lines(10, 11))
    assert watch_once(log, state) == [(str(log), f"resumed: {len(lines(10, 11)):,} bytes written since the last run")]


# ── the daemon itself ────────────────────────────────────────────────────────


def daemon(log: Path, state: Path) -> tuple[subprocess.Popen, _Reader]:  # type: ignore[type-arg]
    p = subprocess.Popen(
        [sys.executable, "-m", "runwatch", "watch", str(log), "--state-dir", str(state), "--interval", "0.2",
         "--poll-interval", "0.1", "--no-gpu"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p, _Reader(p)


def run_daemon_until(log: Path, state: Path, *texts: str) -> str:
    p, r = daemon(log, state)
    try:
        wait_for(lambda: all(t in r.err() for t in texts), timeout=30)
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=15) == 0, r.err()
    return r.err()


def test_the_daemon_says_what_each_log_did_while_it_was_down(tmp_path: Path) -> None:
    log, state = tmp_path / "train.log", tmp_path / "state"
    log.write_text(lines(0, 20))
    state.mkdir()
    (state / "offsets.json").write_text("garbage")
    first = run_daemon_until(log, state, "step 19/100")
    assert sum("offsets.json" in line for line in first.splitlines()) == 1  # one warning, then it runs
    assert "resumed" not in first and "replaced" not in first

    more = lines(20, 25)
    with log.open("a") as f:
        f.write(more)
    second = run_daemon_until(log, state, "step 24/100", "resumed:")
    assert f"{log}: resumed: {len(more):,} bytes written since the last run" in second
    assert second.count("resumed:") == 1

    log.rename(tmp_path / "train.log.1")
    log.write_text(lines(0, 30))
    third = run_daemon_until(log, state, "step 29/100", "replaced")
    assert f"{log}: {REPLACED}" in third and "resumed:" not in third


def test_judged_bytes_cover_a_log_that_only_grew_and_not_a_replaced_one(tmp_path: Path) -> None:
    """What the next daemon need not judge again (`EngineOptions.seen_bytes`): the bytes the last one
    read of a file that is still the same file; nothing of a file replaced meanwhile."""
    state = tmp_path / "state"
    grew, rotated = tmp_path / "grew.log", tmp_path / "rotated.log"
    grew.write_text(lines(0, 10))
    rotated.write_text(lines(0, 10))
    watch_once(grew, state)
    watch_once(rotated, state)
    read = grew.stat().st_size
    with grew.open("a") as f:
        f.write(lines(10, 13))
    rotated.rename(tmp_path / "rotated.log.1")
    rotated.write_text(lines(0, 20))
    assert ReadOffsets(StateDir(state)).judged_bytes() == {str(grew.resolve()): read}
