"""`runwatch silence` and `runwatch rules` from the command line."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from runwatch.alerts.rules import all_rules
from runwatch.alerts.silences import SilenceBook
from runwatch.alerts.store import AlertStore, StateDir
from runwatch.cli import main


def test_add_list_expire(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sd = ["--state-dir", str(tmp_path)]
    assert main(["silence", "stall", "--run", "train", "--for", "2h", "--comment", "planned pause", *sd]) == 0
    added = capsys.readouterr().out
    sid = added.rsplit("id ", 1)[1].strip()
    # a running daemon reads the same file: the silence is there for it
    book = SilenceBook(AlertStore(StateDir(tmp_path)))
    [s] = book.list(0.0 + __import__("time").time())
    assert s.id == sid and s.rule == "stall" and s.matches("stall", {"run": "train"})
    assert not s.matches("stall", {"run": "other"})
    assert main(["silence", "--list", *sd]) == 0
    listing = capsys.readouterr().out
    assert sid in listing and "run=train" in listing and "planned pause" in listing
    assert main(["silence", "--expire", sid, *sd]) == 0
    capsys.readouterr()
    assert main(["silence", "--list", *sd]) == 0
    assert "no active silences" in capsys.readouterr().out


def test_unknown_rule_and_bad_duration_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["silence", "stal", "--for", "2h", "--state-dir", str(tmp_path)]) == 64
    assert main(["silence", "stall", "--for", "two hours", "--state-dir", str(tmp_path)]) == 64
    err = capsys.readouterr().err.strip().splitlines()
    assert "unknown rule 'stal'" in err[0]
    assert err[1].startswith("runwatch: --for:")


def test_rules_lists_every_rule_with_its_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--rule", "stall.after=30m"]) == 0
    out = capsys.readouterr().out
    for rid in all_rules():
        assert f"\n{rid} " in "\n" + out
    assert "after=30m" in out  # the override shows


def test_config_state_dir_is_where_silences_go(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`silence` had no --config and wrote to the default dir, not the daemon's [state] dir (review finding 2)."""
    cfg = tmp_path / "runwatch.toml"
    cfg.write_text('[state]\ndir = "daemon-state"\n')
    assert main(["silence", "stall", "--for", "2h", "--config", str(cfg)]) == 0
    sid = capsys.readouterr().out.rsplit("id ", 1)[1].strip()
    [s] = SilenceBook(AlertStore(StateDir(tmp_path / "daemon-state"))).list(time.time())
    assert s.id == sid
    other = tmp_path / "flag-state"
    assert main(["silence", "--list", "--config", str(cfg), "--state-dir", str(other)]) == 0  # the flag wins
    assert "no active silences" in capsys.readouterr().out


def test_a_bad_config_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "runwatch.toml"
    cfg.write_text('[state]\ndri = "x"\n')
    assert main(["silence", "--list", "--config", str(cfg)]) == 64
    assert "state.dri: unknown key" in capsys.readouterr().err


def test_list_shows_what_is_left_in_whole_units(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It showed `1h59m59.62s` (review finding 8)."""
    sd = ["--state-dir", str(tmp_path)]
    assert main(["silence", "stall", "--for", "2h", *sd]) == 0
    assert main(["silence", "loss_spike", "--for", "30m", *sd]) == 0
    capsys.readouterr()
    assert main(["silence", "--list", *sd]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    left = {row.split()[1]: row.split()[-1] for row in rows}
    assert re.fullmatch(r"1h5\dm", left["stall"]), left  # never "2h00m" for what is under 2 h
    assert re.fullmatch(r"29m\d\ds", left["loss_spike"]), left
