"""The TUI in a real terminal: tmux runs it, `capture-pane` reads the screen, `q` ends it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

TMUX = shutil.which("tmux")
ROOT = Path(__file__).resolve().parents[2]
BRAILLE = {chr(c) for c in range(0x2801, 0x2900)}

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (.ci/run installs it)")


def wait_screen(capture: Callable[[], str], ok: Callable[[str], bool], timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = capture()
        if ok(screen):
            return screen
        time.sleep(0.2)
    raise AssertionError(f"screen never matched; last capture:\n{screen}")


def test_tui_in_tmux_shows_step_loss_chart_and_nan_alert_then_q_exits() -> None:
    assert TMUX is not None
    server = ["-L", f"runwatch-test-{os.getpid()}"]  # a private server: never touches the user's sessions
    cmd = f"{sys.executable} -m tests.tui.tmux_app; echo RUNWATCH-EXITED $?; sleep 60"
    env = {**os.environ, "TERM": "xterm-256color"}

    def tmux(*args: str) -> str:
        return subprocess.run([TMUX, *server, *args], capture_output=True, text=True, env=env, check=True,
                              timeout=10).stdout

    tmux("new-session", "-d", "-x", "120", "-y", "40", "-s", "rw", "-c", str(ROOT), cmd)
    try:
        def capture() -> str:
            return tmux("capture-pane", "-p", "-t", "rw")

        screen = wait_screen(capture, lambda s: "nonfinite" in s and any(ch in BRAILLE for ch in s))
        assert "step 3," in screen  # step/total in the header
        assert "loss" in screen
        assert "NaN" in screen  # the nonfinite alert's value
        tmux("send-keys", "-t", "rw", "q")
        done = wait_screen(capture, lambda s: "RUNWATCH-EXITED" in s, timeout=10)
        assert "RUNWATCH-EXITED 0" in done
    finally:
        subprocess.run([TMUX, *server, "kill-server"], capture_output=True, timeout=10)
