"""`runwatch.watcher.stacks`: py-spy's dump of a real process, its failures as one line, and one dump
per stall taken off the caller's thread."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from runwatch.model import StackDump
from runwatch.watcher.stacks import NO_PY_SPY, PERMISSION_HINT, PySpy, StallStacks, trim_dump

needs_py_spy = pytest.mark.skipif(PySpy.find() is None,
                                  reason="py-spy not installed (the optional `stacks` extra)")


@pytest.fixture
def stuck(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real Python process stuck in a function named like a hang in a collective."""
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""
        import sys, time
        def all_reduce_that_never_returns():
            print("ready", flush=True)
            time.sleep(60)
        all_reduce_that_never_returns()
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    yield proc
    proc.kill()
    proc.wait()


@needs_py_spy
def test_a_real_dump_shows_where_the_process_is_stuck(stuck: subprocess.Popen[bytes]) -> None:
    dump = PySpy.find().dump(stuck.pid, 100.0)  # type: ignore[union-attr]
    if "ermission" in dump.error or "ptrace" in dump.error.lower():
        pytest.skip(f"no ptrace rights here: {dump.error}")
    assert dump.error == "" and dump.taken_at == 100.0
    assert any("all_reduce_that_never_returns" in line for line in dump.lines), dump.lines
    assert all(ch >= " " for line in dump.lines for ch in line)


@needs_py_spy
def test_py_spys_own_failure_is_one_line() -> None:
    """`sleep` is no Python process: py-spy fails and says why; that line is the dump's error."""
    proc = subprocess.Popen(["sleep", "30"])
    try:
        dump = PySpy.find().dump(proc.pid, 1.0)  # type: ignore[union-attr]
    finally:
        proc.kill()
        proc.wait()
    assert dump.lines == () and dump.error.startswith("py-spy dump failed: ") and "\n" not in dump.error


def test_a_missing_executable_is_an_error_not_an_exception(tmp_path: Path) -> None:
    dump = PySpy(str(tmp_path / "no-such-py-spy")).dump(1, 5.0)
    assert dump.lines == () and dump.error.startswith("py-spy could not run: ")


class Recorder:
    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[int] = []
        self.fail_on = fail_on

    def dump(self, pid: int, now: float) -> StackDump:
        self.calls.append(pid)
        if pid == self.fail_on:
            raise RuntimeError("boom")
        return StackDump(pid, now, lines=(f"Thread {pid} (idle): \"MainThread\"",))


def collect(stacks: StallStacks, got: list[list[StackDump]], done: threading.Event) -> None:
    stacks.deliver = lambda dumps: (got.append(dumps), done.set())  # type: ignore[func-returns-value]


def test_one_dump_per_stall_off_the_callers_thread() -> None:
    got: list[list[StackDump]] = []
    done = threading.Event()
    dumper = Recorder(fail_on=12)
    stacks = StallStacks(dumper, lambda d: None, clock=lambda: 50.0)
    collect(stacks, got, done)
    assert not stacks.ask("train", 10.0, stalled=False, pids=[11, 12])  # not stalled: nothing
    assert stacks.ask("train", 10.0, stalled=True, pids=[11, 12])
    assert done.wait(5)
    assert not stacks.ask("train", 10.0, stalled=True, pids=[11, 12])  # the same stall: once
    (dumps,) = got
    assert [(d.pid, bool(d.lines), d.error) for d in dumps] == [
        (11, True, ""), (12, False, "stack dump failed: RuntimeError: boom")]
    done.clear()
    assert stacks.ask("train", 20.0, stalled=True, pids=[11])  # a later stall: again
    assert done.wait(5) and dumper.calls == [11, 12, 11]


def test_without_py_spy_nothing_runs_and_the_alert_says_so() -> None:
    stacks = StallStacks(None, lambda d: None, clock=lambda: 0.0)
    assert not stacks.ask("train", 1.0, stalled=True, pids=[1])
    assert stacks.note == NO_PY_SPY


PERMISSION_TEXT = "Permission Denied: Try running again with elevated permissions by going 'sudo env \"PATH=$PATH\" !!'"
"""What py-spy 0.4.3 printed on stderr (exit 1) when run as an unprivileged user against root's process."""


def fake_py_spy(tmp_path: Path, body: str) -> str:
    exe = tmp_path / "py-spy"
    exe.write_text("#!/bin/sh\n" + body + "\n")
    exe.chmod(0o755)
    return str(exe)


def test_a_permission_error_says_what_rights_are_missing(tmp_path: Path) -> None:
    exe = fake_py_spy(tmp_path, f"cat >&2 <<'EOF'\n{PERMISSION_TEXT}\nEOF\nexit 1")
    dump = PySpy(exe).dump(7, 1.0)
    assert dump.error == PERMISSION_HINT


def test_a_hung_dump_is_given_up_at_the_timeout(tmp_path: Path) -> None:
    dump = PySpy(fake_py_spy(tmp_path, "exec sleep 30"), timeout_s=0.5).dump(7, 1.0)
    assert dump.error == "py-spy dump timed out after 0.5 s"


def test_what_the_dump_prints_reaches_no_terminal_as_a_control_sequence(tmp_path: Path) -> None:
    exe = fake_py_spy(tmp_path, r"""printf 'Thread 7 (idle): "MainThread"\n    evil\033]0;pwned\007 (x.py:1)\n'""")
    dump = PySpy(exe).dump(7, 1.0)
    assert dump.lines == ('Thread 7 (idle): "MainThread"', "    evil (x.py:1)")


def test_main_thread_first_and_the_dump_is_bounded() -> None:
    lines = ["Process 1: python train.py", "Python v3.12.3 (/usr/bin/python3)", "",
             'Thread 2 (idle): "pin_memory"', "    wait (threading.py:1)",
             'Thread 1 (idle): "MainThread"', *[f"    f{i} (train.py:{i})" for i in range(20)]]
    out = trim_dump(lines, max_frames=3, max_threads=1)
    assert out == ('Thread 1 (idle): "MainThread"', "    f0 (train.py:0)", "    f1 (train.py:1)",
                   "    f2 (train.py:2)", "    … 17 outer frames", "… 1 more threads")
