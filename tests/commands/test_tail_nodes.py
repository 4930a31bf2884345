"""`runwatch tail http://NODE1 NODE2 --headless --json` over two real `runwatch watch --listen` daemons
(child processes, each following its own log that the test grows with the real lines of a nanoGPT run,
tests/fixtures/realruns/nanogpt-tb-healthy): both nodes' runs update; a daemon killed leaves its run shown
with its last step and marked unreachable while the other keeps updating; restarted, it is live again."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.paths import FIXTURES
from tests.support.ports import free_port
from tests.support.subprocesses import _Reader, stop_daemon
from tests.support.waiting import wait_for

LINES = (FIXTURES / "realruns/nanogpt-tb-healthy/run/train.log").read_text().splitlines(keepends=True)
DEADLINE_S = 60


def step_of(line: str) -> int:
    return int(re.match(r"iter (\d+):", line)[1])  # type: ignore[index]


STEP_LINES = [i for i, line in enumerate(LINES) if re.match(r"iter \d+:", line)]


class Node:
    """One "node": a log the test grows and the `runwatch watch --listen` daemon that follows it."""

    def __init__(self, root: Path, port: int) -> None:
        self.log, self.state, self.port = root / "train.log", root / "state", port
        root.mkdir()
        self.grown = 0
        self.daemon: subprocess.Popen[str] | None = None

    def grow_to(self, step_line: int) -> int:
        """Append the log's lines up to its `step_line`-th step line; the step it then shows."""
        upto = STEP_LINES[step_line] + 1
        with self.log.open("a") as f:
            f.write("".join(LINES[self.grown:upto]))
        self.grown = upto
        return step_of(LINES[STEP_LINES[step_line]])

    def start(self) -> None:
        self.daemon = subprocess.Popen(
            [sys.executable, "-m", "runwatch", "watch", str(self.log), "--listen", f"127.0.0.1:{self.port}",
             "--state-dir", str(self.state), "--interval", "5", "--poll-interval", "0.1", "--no-gpu"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        said = _Reader(self.daemon)
        wait_for(lambda: f"listening on 127.0.0.1:{self.port}" in said.err(), timeout=DEADLINE_S, interval=0.05)

    def kill(self) -> None:
        assert self.daemon is not None
        self.daemon.send_signal(signal.SIGKILL)
        self.daemon.wait(timeout=DEADLINE_S)
        self.daemon = None


class Tail:
    def __init__(self, *targets: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "runwatch", "tail", *targets, "--headless", "--json",
                                      "--interval", "0.3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.said = _Reader(self.proc)
        self.seen = 0

    def status(self, run: str, cond: Any) -> dict[str, Any]:
        """The first status of `run` printed from now on that `cond` accepts (waiting for it)."""

        def found() -> dict[str, Any] | None:
            lines = self.said.out_lines()
            for i in range(self.seen, len(lines)):
                obj = json.loads(lines[i])
                if obj["type"] == "status" and obj["run"] == run and cond(obj):
                    self.seen = i + 1
                    return obj  # type: ignore[no-any-return]
            return None

        return wait_for(found, timeout=DEADLINE_S, interval=0.1)  # type: ignore[no-any-return]


def test_tail_on_two_nodes_shows_both_marks_a_dead_one_and_recovers(tmp_path: Path) -> None:
    one, two = Node(tmp_path / "one", free_port()), Node(tmp_path / "two", free_port())
    run1, run2 = f"127.0.0.1:{one.port}:train", f"127.0.0.1:{two.port}:train"
    tail = None
    try:
        s1, s2 = one.grow_to(10), two.grow_to(20)
        one.start()
        two.start()
        tail = Tail(f"http://127.0.0.1:{one.port}", f"127.0.0.1:{two.port}")  # a URL, and HOST:PORT
        tail.status(run1, lambda o: o["step"] == s1)
        tail.status(run2, lambda o: o["step"] == s2)
        s1, s2 = one.grow_to(30), two.grow_to(40)
        tail.status(run1, lambda o: o["step"] == s1 and "unreachable" not in o)
        tail.status(run2, lambda o: o["step"] == s2)

        one.kill()
        gone = tail.status(run1, lambda o: "unreachable" in o)
        assert gone["step"] == s1 and gone["state"] in ("running", "stalled")  # its last known state
        assert gone["notes"][0].startswith(f"node 127.0.0.1:{one.port} not answering since ")
        s2 = two.grow_to(60)
        tail.status(run2, lambda o: o["step"] == s2 and "unreachable" not in o)  # the other lives on
        assert "not answering" in tail.said.err()

        s1 = one.grow_to(50)
        one.start()  # the same port, its state dir kept: it answers again
        back = tail.status(run1, lambda o: o["step"] == s1)
        assert "unreachable" not in back and not any("not answering" in n for n in back["notes"])
        assert "answers again" in tail.said.err()
    finally:
        if tail is not None:
            tail.proc.send_signal(signal.SIGINT)
            assert tail.proc.wait(timeout=DEADLINE_S) == 0
        for node in (one, two):
            if node.daemon is not None:
                assert stop_daemon(node.daemon) == 0
