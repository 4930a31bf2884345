"""`runwatch watch` end to end: a growing log, the daemon, a real webhook receiver on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.nanochat import nanochat_line
from tests.support.receiver import SECRET_PATH, Receiver
from tests.support.subprocesses import _Reader, start_daemon, stop_daemon
from tests.support.waiting import wait_for


def firing(receiver: Receiver, rule: str) -> list[dict]:  # type: ignore[type-arg]
    return [a for a in receiver.delivered if a["rule"] == rule and a["state"] == "firing"]


def nan_after(log: Path, steps: int, state: Path | None, receiver: Receiver,
              env: dict[str, str] | None = None) -> str:
    """A daemon on `log` (`steps` healthy lines), a NaN line appended once it has read them, stopped with
    SIGTERM (exit 0) once the NaN's alert arrived; what it wrote on stderr."""
    log.write_text("".join(nanochat_line(i) for i in range(steps)))
    p, r = start_daemon(log, state, receiver.url, env=env)
    try:
        wait_for(lambda: f"step {steps - 1}/100" in r.err(), timeout=20)
        with log.open("a") as f:
            f.write(nanochat_line(steps, loss="nan"))
        wait_for(lambda: firing(receiver, "nonfinite"), timeout=20)
    finally:
        assert stop_daemon(p) == 0
    return r.err()


def test_nan_alert_arrives_once_and_not_again_after_a_restart(tmp_path: Path, receiver: Receiver) -> None:
    log, state = tmp_path / "train.log", tmp_path / "state"
    first_log = nan_after(log, 20, state, receiver)
    [alert] = firing(receiver, "nonfinite")
    assert alert["severity"] == "critical" and alert["step"] == 20 and alert["value"] == "nan"
    assert alert["run"] == "train" and alert["labels"] == {"metric": "loss"}
    assert "FIRING critical nonfinite" in first_log
    assert SECRET_PATH not in first_log  # the URL (a secret) is never printed

    p, r = start_daemon(log, state, receiver.url)  # the daemon restarts and re-reads the whole log
    try:
        wait_for(lambda: r.err().count("step 20/100") >= 5, timeout=20)  # several ticks after the NaN
    finally:
        assert stop_daemon(p) == 0
    assert len(firing(receiver, "nonfinite")) == 1  # nothing it had already sent
    assert SECRET_PATH not in r.err()


def test_without_a_state_dir_the_platforms_user_state_dir_is_used(tmp_path: Path, receiver: Receiver) -> None:
    """A new user's review: `runwatch watch LOG` with no `--state-dir` (every daemon recipe in the README)
    died on start with an AttributeError."""
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "xdg")}
    assert "Traceback" not in nan_after(tmp_path / "train.log", 5, None, receiver, env=env)
    kept = tmp_path / "xdg" / "runwatch"
    assert (kept / "offsets.json").is_file() and (kept / "offsets.json").stat().st_size > 0


def refused(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """`runwatch watch ARGS` that must stop before starting: exit 64 (a usage error) and one line on stderr."""
    p = subprocess.run([sys.executable, "-m", "runwatch", "watch", *map(str, args)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 64
    assert p.stderr.count("\n") == 1
    return p


def test_bad_config_is_refused_before_starting(tmp_path: Path) -> None:
    cfg = tmp_path / "runwatch.toml"
    cfg.write_text('[rules.stall]\nafter = "10 minutes"\n')
    p = refused(tmp_path / "x.log", "--config", str(cfg))
    assert str(cfg) in p.stderr and "rules.stall.after" in p.stderr


def status_lines(r: _Reader) -> list[str]:
    return [line for line in r.err().splitlines() if "  train  [" in line]


def test_the_watch_table_sets_the_daemons_defaults(tmp_path: Path) -> None:
    """`[watch] interval` was parsed and ignored: one status per 60 s (review finding 1); and the first
    status of a complete log must show it, not "[waiting] no step yet" (finding 10)."""
    log, cfg = tmp_path / "train.log", tmp_path / "runwatch.toml"
    log.write_text("".join(nanochat_line(i) for i in range(20)))
    cfg.write_text('[state]\ndir = "state"\n[watch]\ninterval = "200ms"\npoll = true\npoll_interval = "100ms"\n')
    p = subprocess.Popen([sys.executable, "-m", "runwatch", "watch", str(log), "--config", str(cfg), "--no-gpu"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    r = _Reader(p)
    try:
        wait_for(lambda: len(status_lines(r)) >= 3, timeout=20)
        with log.open("a") as f:  # polling only, every 100 ms: still followed
            f.write(nanochat_line(20))
        wait_for(lambda: "step 20/100" in r.err(), timeout=20)
    finally:
        assert stop_daemon(p) == 0
    assert "step 19/100" in status_lines(r)[0] and "no step yet" not in r.err()
    assert (tmp_path / "state").is_dir()  # [state] dir, relative to the config file


def test_flags_win_over_the_watch_table_which_wins_over_the_defaults() -> None:
    from runwatch.cli import build_parser, watch_timing
    from runwatch.config import WatchConfig

    table = WatchConfig(interval=2.0, poll=True, poll_interval=0.5)
    flags = build_parser().parse_args(["watch", "x.log", "--interval", "5", "--no-poll", "--poll-interval", "3"])
    bare = build_parser().parse_args(["watch", "x.log"])
    assert watch_timing(flags, table) == (5.0, False, 3.0)
    assert watch_timing(bare, table) == (2.0, True, 0.5)
    assert watch_timing(bare, WatchConfig()) == (60.0, False, 1.0)


def test_pidfile_temp_name_planted_as_a_symlink_is_not_followed(tmp_path: Path) -> None:
    """Issue 11 item 8: `ln -s victim d.pid.tmp` made the daemon overwrite `victim`."""
    from runwatch.commands.watch import PidFile

    victim, pidfile = tmp_path / "victim", tmp_path / "d.pid"
    victim.write_text("precious\n")
    (tmp_path / "d.pid.tmp").symlink_to(victim)
    with PidFile(pidfile):
        assert pidfile.read_text().strip().isdigit() and not pidfile.is_symlink()
    assert victim.read_text() == "precious\n"


def test_log_file_is_created_private(tmp_path: Path) -> None:
    """Issue 11 item 8: the log holds alert text; it is created 0600 like the state dir's files."""
    import logging

    from runwatch.commands.watch import setup_logging

    log_file = tmp_path / "runwatch.log"
    handler = setup_logging(log_file)
    try:
        assert log_file.stat().st_mode & 0o777 == 0o600
    finally:
        logging.getLogger("runwatch").removeHandler(handler)
        handler.close()


def test_state_dir_that_is_a_regular_file_is_a_one_line_error(tmp_path: Path) -> None:
    """Issue 11 item 8: it was a warning, and the daemon ran on without keeping any state."""
    state = tmp_path / "state"
    state.write_text("")
    p = refused(tmp_path / "x.log", "--state-dir", state)
    assert str(state) in p.stderr and "not a directory" in p.stderr
