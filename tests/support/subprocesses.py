"""runwatch in a child process: its output read without blocking, and the `watch` daemon started and stopped."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path


class _Reader:
    """Collects a child's stdout and stderr without blocking (select + os.read)."""

    def __init__(self, p: subprocess.Popen) -> None:  # type: ignore[type-arg]
        assert p.stdout is not None and p.stderr is not None
        self.bufs = {p.stdout.fileno(): bytearray(), p.stderr.fileno(): bytearray()}
        self.out_fd, self.err_fd = p.stdout.fileno(), p.stderr.fileno()

    def pump(self) -> None:
        for fd in select.select(list(self.bufs), [], [], 0)[0]:
            self.bufs[fd].extend(os.read(fd, 1 << 16))

    def out_lines(self) -> list[str]:
        self.pump()
        return self.bufs[self.out_fd].decode().splitlines()

    def err(self) -> str:
        self.pump()
        return self.bufs[self.err_fd].decode()


def start_daemon(log: Path, state: Path | None, url: str, *extra: str,
                 env: dict[str, str] | None = None) -> tuple[subprocess.Popen, _Reader]:  # type: ignore[type-arg]
    """`runwatch watch LOG` into `url`, keeping its state in `state` (None: no `--state-dir`, the default)."""
    where = [] if state is None else ["--state-dir", str(state)]
    p = subprocess.Popen(
        [sys.executable, "-m", "runwatch", "watch", str(log), "--webhook", url, *where,
         "--interval", "0.2", "--poll-interval", "0.1", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    return p, _Reader(p)


def kill_groups(procs: list[subprocess.Popen]) -> None:  # type: ignore[type-arg]
    """Kill each child's whole process group (each started with `start_new_session=True`), reap it and
    close its pipes: a test's teardown, whatever the test left running."""
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        p.wait()
        for f in (p.stdin, p.stdout, p.stderr):
            if f is not None:
                f.close()


def stop_daemon(p: subprocess.Popen) -> int:  # type: ignore[type-arg]
    p.send_signal(signal.SIGTERM)
    return p.wait(timeout=15)
