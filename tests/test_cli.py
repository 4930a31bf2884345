"""The command line end to end: `parse`, `tail` (file and pipe) and `demo`, as a user runs them."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from runwatch.cli import main
from runwatch.errors import EXIT_GAVE_UP, EXIT_INTERNAL, EXIT_USAGE, BadValueError
from tests.support.http import request
from tests.support.paths import FIXTURES
from tests.support.subprocesses import _Reader
from tests.support.waiting import wait_for

NANOCHAT = FIXTURES / "corpus/raw/nanochat_pr492_speedrun_d24_feb01.training_output.log"
SFT = FIXTURES / "corpus/raw/nanochat_pr657_sft_run.log"


def runwatch(*args: str, **kw) -> subprocess.Popen:  # type: ignore[no-untyped-def, type-arg]
    return subprocess.Popen([sys.executable, "-m", "runwatch", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def test_parse_missing_path_is_one_line_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["parse", str(tmp_path / "nope.log")]) == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "no such file" in err


@pytest.mark.parametrize("command", ["check", "parse"])
def test_a_missing_path_named_with_escape_sequences_reaches_the_terminal_as_text(
    command: str, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    """A user's review: `check "nope\x1b[31mX\x1b]0;T\x07.log"` printed the colour code and the
    window-title sequence on stderr (tail cleaned it already)."""
    name = str(tmp_path / "nope\x1b[31mX\x1b]0;T\x07.log")
    assert main([command, name]) == 3
    err = capsys.readouterr().err
    assert err.startswith("runwatch: ") and err.count("\n") == 1
    assert "\x1b" not in err and "\x07" not in err and "nope" in err


def test_parse_summary_of_real_nanochat_run(capsys: pytest.CaptureFixture[str]) -> None:
    step_lines = sum(1 for line in NANOCHAT.read_text().splitlines() if line.startswith("step "))
    assert main(["parse", str(NANOCHAT), "--output", "summary"]) == 0
    out = capsys.readouterr().out
    assert "picollm" in out
    assert f"step={step_lines}" in out
    assert "16704" in out  # total steps of that run


def test_parse_jsonl_keeps_nan_as_strict_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(SFT), "--output", "jsonl"]) == 0
    recs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    losses = [r["metrics"]["loss"] for r in recs if r["kind"] == "step" and "loss" in r["metrics"]]
    assert "nan" in losses  # the run that goes NaN: kept, as the string DESIGN §2 asks for
    assert any(isinstance(v, float) for v in losses)


def test_parse_csv_has_a_column_per_metric(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(NANOCHAT), "--output", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["kind", "step", "total_steps"]
    assert "loss" in header and "step_time" in header


def test_tail_stdin_pipe_exits_at_eof_with_final_status() -> None:
    text = "".join(
        f"step {i:05d}/00050 ({i * 2:.2f}%) | loss: {5 - i / 20:.6f} | lrm: 1.00 | dt: 100.00ms | "
        f"tok/sec: 1,000 | mfu: 40.00 | total time: 0.00m\n" for i in range(50)
    )
    p = runwatch("tail", "-", "--json", "--interval", "0.2", stdin=subprocess.PIPE)
    out, err = p.communicate(text, timeout=30)
    assert p.returncode == 0, err
    statuses = [json.loads(line) for line in out.splitlines() if '"status"' in line]
    assert statuses[-1]["step"] == 49
    assert statuses[-1]["total_steps"] == 50
    assert statuses[-1]["state"] == "finished"  # the known total reached


def test_a_pipe_that_ends_early_reads_ended_at_the_logs_own_pace() -> None:
    """Issue 10: `cat big.log | runwatch tail -` ended `[finished] … 2.43e+05 step/s`: the end of a pipe
    is no finish line, and a history read in bulk has no speed of its own. The real nanochat run cut at
    line 3000: `ended`, at the rate its own step times give (dt ≈ 645 ms: about 1.55 step/s)."""
    text = "".join((FIXTURES / "corpus/raw/nanochat_pr492_speedrun_d24_feb01.training_output.log")
                   .read_text().splitlines(keepends=True)[:3000])
    p = runwatch("tail", "-", "--json", "--interval", "0.2", stdin=subprocess.PIPE)
    out, err = p.communicate(text, timeout=60)
    assert p.returncode == 0, err
    last = [json.loads(line) for line in out.splitlines() if '"status"' in line][-1]
    assert last["state"] == "ended" and last["step"] < last["total_steps"] - 1
    assert 1.0 < last["steps_per_sec"] < 2.5


def test_tail_follows_a_growing_file_and_stops_on_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    p = runwatch("tail", str(log), "--json", "--interval", "0.2")
    r = _Reader(p)

    def status_with_step(n: int) -> bool:
        return any(json.loads(ln).get("step") == n for ln in r.out_lines() if ln.endswith("}"))

    try:
        wait_for(lambda: "waiting for" in r.err(), timeout=15)  # started before the run
        with log.open("w") as f:
            for i in range(3):
                f.write(f"iter {i}: loss {4 - i * 0.1:.4f}, time 35.20ms, mfu 45.00%\n")
                f.flush()
        wait_for(lambda: status_with_step(2), timeout=15)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)
    assert p.returncode == 0
    assert r.err().count("waiting for") == 1  # said once, not at every poll
    last = json.loads(r.out_lines()[-1])
    assert last["metrics"]["loss"] == 3.8 and last["format"] == "nanogpt"
    assert last["notes"] == []  # the stale "waiting" note is gone once data flows


def test_tail_of_a_binary_file_says_so_rather_than_wait_for_a_step(tmp_path: Path) -> None:
    """A new user's review: `check` said a binary file is one and exited 3, `tail` printed "[waiting] no
    step yet" for ever."""
    log = tmp_path / "model.log"
    log.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 40)
    p = runwatch("tail", str(log), "--json", "--interval", "0.2", "--no-gpu")
    r = _Reader(p)

    def noted() -> list[str]:
        return [n for ln in r.out_lines() if ln.endswith("}") for n in json.loads(ln).get("notes", [])]

    try:
        wait_for(lambda: any("binary file" in n for n in noted()), timeout=15)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)
    assert "model.log is a binary file (NUL bytes in its first 4,096 bytes), not a text log" in noted()


def test_demo_headless_runs_to_the_end_and_shows_the_planted_faults() -> None:
    p = runwatch("demo", "--headless", "--json", "--speed", "40", "--interval", "0.1")
    out, err = p.communicate(timeout=90)
    assert p.returncode == 0, err
    objs = [json.loads(line) for line in out.splitlines()]
    statuses = [o for o in objs if o["type"] == "status"]
    assert statuses[-1]["state"] == "finished"
    assert statuses[-1]["step"] == statuses[-1]["total_steps"] - 1 or statuses[-1]["step"] == statuses[-1]["total_steps"]
    events = {o.get("event") for o in objs if o["type"] == "event"}
    assert "checkpoint_saved" in events
    steps = [s["step"] for s in statuses if s["step"] is not None]
    assert steps == sorted(steps) and len(set(steps)) > 3  # it progressed while we watched


def test_demo_accepts_the_common_sink_flags() -> None:
    """DESIGN §3 lists --webhook, --slack-webhook-env and --on-alert as common; `demo` refused them (finding 4)."""
    from runwatch.cli import _flags, build_parser

    args = build_parser().parse_args(["demo", "--webhook", "http://127.0.0.1:9/x", "--slack-webhook-env", "HOOK",
                                      "--on-alert", "notify-send runwatch"])
    assert [s.type for s in _flags(args).sink_configs()] == ["webhook", "slack", "command"]


@pytest.mark.parametrize("command", ["tail", "watch"])
def test_alertmanager_flags_make_one_sink_for_every_member(command: str) -> None:
    from runwatch.cli import _flags, build_parser

    args = build_parser().parse_args([command, "train.log", "--alertmanager", "http://am1:9093",
                                      "--alertmanager", "http://am2:9093"])
    [sink] = _flags(args).sink_configs()
    assert sink.type == "alertmanager" and sink.settings.urls == ("http://am1:9093", "http://am2:9093")


def test_tail_says_at_exit_that_an_undelivered_alert_is_dropped(tmp_path: Path) -> None:
    """`tail` keeps no outbox, yet said "what it holds stays in the outbox" (review finding 3)."""
    from tests.support.nanochat import nanochat_line
    from tests.support.receiver import HANG, Receiver

    log = tmp_path / "train.log"
    log.write_text("".join(nanochat_line(i) for i in range(20)))
    receiver = Receiver(script=[HANG])
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    p = runwatch("tail", str(log), "--headless", "--no-gpu", "--webhook", receiver.url, env=env)
    r = _Reader(p)
    try:
        wait_for(lambda: any("step 19/100" in line for line in r.out_lines()), timeout=20)
        with log.open("a") as f:
            f.write(nanochat_line(20, loss="nan"))
        wait_for(lambda: receiver.count() == 1, timeout=20)  # the send is under way, and hangs
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=20)
        receiver.stop()
    err = r.err()
    assert "1 notification not delivered by shutdown: dropped" in err, err
    assert "outbox" not in err


def test_tail_stops_with_70_when_its_own_threads_fail_too_often(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 11: `tail` kept printing stale status lines after the supervisor gave up on its worker."""
    from runwatch.errors import EXIT_GAVE_UP
    from runwatch.judging import Judging

    log = tmp_path / "train.log"
    log.write_bytes((FIXTURES / "corpus/raw/nanochat_pr657_sft_run.log").read_bytes())

    def broken_tick(self: Judging) -> None:
        raise RuntimeError("a rule tick that always fails")

    monkeypatch.setattr(Judging, "maybe_tick", broken_tick)
    assert main(["tail", str(log), "--headless", "--interval", "0.2", "--no-gpu"]) == EXIT_GAVE_UP
    err = capsys.readouterr().err
    assert "failed too often; stopping (exit 70)" in err


def test_tail_listen_serves_the_runs_it_prints(tmp_path: Path) -> None:
    """`tail --listen` (DESIGN §3): what `--json` prints and what `/api/v1/runs` answers are the same object."""
    log = tmp_path / "train.log"
    log.write_text("".join(f"iter {i}: loss {4 - i * 0.1:.4f}, time 35.20ms, mfu 45.00%\n" for i in range(3)))
    p = runwatch("tail", str(log), "--json", "--interval", "0.2", "--listen", "127.0.0.1:0")
    r = _Reader(p)
    try:
        port = int(wait_for(lambda: re.search(r"listening on 127\.0\.0\.1:(\d+)", r.err()), timeout=30)[1])
        printed = wait_for(lambda: [json.loads(ln) for ln in r.out_lines() if '"step": 2' in ln], timeout=30)[-1]
        [served] = request("127.0.0.1", port, "GET", "/api/v1/runs").json()
        assert served.keys() == printed.keys() and served["step"] == 2 and served["metrics"] == printed["metrics"]
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)
    assert p.returncode == 0


@pytest.mark.parametrize("command", [["tail", "--headless"], ["watch", "--state-dir", "STATE"]])
def test_listen_on_a_port_in_use_stops_with_one_line(tmp_path: Path, command: list[str]) -> None:
    """Before anything starts: nothing else on stderr (the daemon logs nothing first), exit 64."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        args = [a.replace("STATE", str(tmp_path / "state")) for a in command]
        p = subprocess.run([sys.executable, "-m", "runwatch", args[0], str(tmp_path / "x.log"), *args[1:],
                            "--listen", f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 64
    assert p.stderr == f"runwatch: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_intervals_take_seconds_or_a_duration(capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: `watch --interval 5s` was "not a number", though the config writes "60s"."""
    from runwatch.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["watch", "x.log", "--interval", "5s", "--poll-interval", "500ms"])
    assert (args.interval, args.poll_interval) == (5.0, 0.5)
    assert parser.parse_args(["tail", "x.log", "--interval", "2"]).interval == 2.0
    assert parser.parse_args(["tail", "x.log", "--interval", "1m30s"]).interval == 90.0
    for bad in ("5x", "0s", "-1"):
        with pytest.raises(SystemExit) as e:
            parser.parse_args(["tail", "x.log", "--interval", bad])
        assert e.value.code == 64
    assert "--interval" in capsys.readouterr().err


def test_a_bug_inside_a_command_is_an_internal_error_with_its_traceback_not_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A `zip(strict=True)` length mismatch inside runwatch printed `runwatch: zip() argument 2 is shorter
    than argument 1` and exited 64, as if the user had mistyped a flag, with no traceback to report."""
    import runwatch.commands.parse

    def broken(*args: object, **kw: object) -> int:
        return len(list(zip([1, 2], [1], strict=True)))

    monkeypatch.setattr(runwatch.commands.parse, "run_parse", broken)
    assert main(["parse", str(NANOCHAT)]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "in broken" in err
    assert err.splitlines()[-1] == ("runwatch: internal error: ValueError: zip() argument 2 is shorter than "
                                    "argument 1 (a bug; please report it with the traceback above)")
    assert EXIT_INTERNAL not in (0, 1, 2, 3, EXIT_USAGE, EXIT_GAVE_UP)


@pytest.mark.parametrize("argv", [
    ["silence", "stall", "--for", "0s", "--state-dir", "STATE"],  # SilenceBook refuses a zero duration
    ["tail", "LOG", "--headless", "--on-alert", "notify-send 'unclosed"],  # shlex: no closing quotation
    ["check", "LOG", "--rule", "stall.after=-5"],  # RuleParams' own check, through the config
    ["check", "LOG", "--rule", "stall.after=5x"],  # parse_duration
])
def test_bad_values_from_the_user_still_exit_64_in_one_line(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Only errors runwatch raises for bad input (BadValueError and the other RunwatchErrors) are usage
    errors now: each of these was a bare ValueError that the old catch-all happened to turn into 64."""
    log = tmp_path / "train.log"
    log.write_text("step 1/10 | loss: 2.0\n")
    args = [a.replace("STATE", str(tmp_path / "state")).replace("LOG", str(log)) for a in argv]
    assert main(args) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("runwatch: ") and err.count("\n") == 1 and "internal error" not in err


def test_the_user_facing_value_errors_are_bad_value_errors() -> None:
    """Library callers still catch them as ValueError; `cli.main` catches them as usage errors."""
    from runwatch.alerts.sinks.base import SinkConfigError
    from runwatch.config import ConfigError
    from runwatch.parsers.registry import UnknownFormatError

    for cls in (ConfigError, SinkConfigError, UnknownFormatError):
        assert issubclass(cls, BadValueError) and issubclass(cls, ValueError)


@pytest.mark.parametrize("argv", [["check", "--bogus", "LOG"], ["check", "LOG", "--bogus"], ["parse", "LOG", "-z"]])
def test_an_unknown_flag_is_the_command_s_error_with_its_usage(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A new user's review: `runwatch check --bogus s1.log` printed the top level's usage
    (`runwatch [-h] [--version] COMMAND ...`), which says nothing of check's flags."""
    log = tmp_path / "train.log"
    log.write_text("step 1/10 | loss: 2.0\n")
    with pytest.raises(SystemExit) as exit_:
        main([a.replace("LOG", str(log)) for a in argv])
    assert exit_.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith(f"usage: runwatch {argv[0]} ")
    assert f"runwatch {argv[0]}: error: unrecognized arguments: {argv[-1] if argv[-1] != 'LOG' else argv[1]}" in err


@pytest.mark.parametrize(("argv", "meant"), [
    (["tail", "LOG", "--lines"], "(did you mean --headless, the line mode?)"),
    (["check", "LOG", "--jsn"], "(did you mean --json?)"),
    (["check", "LOG", "--totl-steps", "5"], "(did you mean --total-steps?)"),
])
def test_a_mistyped_flag_is_told_the_one_it_meant(argv: list[str], meant: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: the README calls `tail`'s headless output "line mode"; `tail FILE --lines` said
    only `unrecognized arguments: --lines`."""
    log = tmp_path / "train.log"
    log.write_text("step 1/10 | loss: 2.0\n")
    with pytest.raises(SystemExit) as exit_:
        main([a.replace("LOG", str(log)) for a in argv])
    assert exit_.value.code == EXIT_USAGE
    assert capsys.readouterr().err.splitlines()[-1].endswith(meant)
