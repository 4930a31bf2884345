"""What several benchmarks share: the webhook receiver they send alerts to, and how to start runwatch.

Not a benchmark itself (run_all.py skips files whose name starts with `_`).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@functools.cache
def run_as_installed() -> dict[str, str]:
    """Make runwatch's child processes start as an installed runwatch does, from cached bytecode (a pip
    install compiles it), and return that environment. Where PYTHONDONTWRITEBYTECODE is set (this machine
    sets it) every start would compile runwatch's sources again: 0.09 s more for `parse` of a 1,000-line log
    (0.19 s against 0.28 s), counted against runwatch in every command a benchmark times. The bytecode goes
    to a cache of the benchmarks' own (PYTHONPYCACHEPREFIX), not beside the sources; this process's
    environment is changed, so every child started after this call, however, inherits it. runwatch is found,
    not imported: this process stays as small as it was (its RSS is a child's floor in wait4's peak)."""
    spec = importlib.util.find_spec("runwatch")
    assert spec is not None and spec.submodule_search_locations, "runwatch is not installed here"
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "runwatch-bench-pycache")
    subprocess.run([sys.executable, "-m", "compileall", "-q", spec.submodule_search_locations[0]],
                   check=True, env=os.environ)
    return dict(os.environ)


def runwatch_cmd() -> list[str]:
    """The `runwatch` console script next to this interpreter, else `python -m runwatch`."""
    script = Path(sys.executable).with_name("runwatch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "runwatch"]


@dataclass(frozen=True)
class Received:
    """One POST: when its body had been read (time.monotonic), the path, the JSON body, what we answered."""

    t: float
    path: str
    body: dict[str, Any]
    status: int = 200

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


class Receiver:
    """A webhook receiver on 127.0.0.1 that records every POST (time, path, JSON body, our answer).

    It can misbehave on purpose, as a real one does during an outage:
    `refuse()` closes the listening socket (connections are refused) until
    `accept()` listens again on the same port; `answer(500)` answers every
    POST with that status (recorded, not accepted) until `answer(200)`.
    """

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self._posts: list[Received] = []
        self._status = 200
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.accept()

    # -- the server ----------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                t = time.monotonic()
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                with receiver.cond:
                    status = receiver._status
                    receiver._posts.append(Received(t, self.path, body if isinstance(body, dict) else {}, status))
                    receiver.cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"no")

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def accept(self) -> None:
        """Listen (again, on the same port once one was chosen)."""
        if self._server is not None:
            return
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="bench-receiver", daemon=True)
        self._thread.start()

    def refuse(self) -> None:
        """Close the listening socket: connections to the port are refused until `accept()`."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5.0)

    def answer(self, status: int) -> None:
        """Answer every POST from now on with `status` (200: accept)."""
        with self.cond:
            self._status = status

    def close(self) -> None:
        self.refuse()

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what arrived --------------------------------------------------------------------------------

    def posts(self, path: str | None = None, *, accepted_only: bool = True) -> list[Received]:
        """POSTs so far (to `path`, when given), oldest first; by default only those answered 2xx."""
        with self.cond:
            return [p for p in self._posts
                    if (path is None or p.path == path) and (p.accepted or not accepted_only)]

    def wait_for(self, match: Callable[[Received], bool], timeout: float) -> Received | None:
        """The first accepted POST that `match`es, waiting up to `timeout` seconds for it; None if none came."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while (hit := next((p for p in self._posts if p.accepted and match(p)), None)) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return hit

    def forget(self, match: Callable[[Received], bool]) -> None:
        """Drop the POSTs that `match`, so that the next `wait_for` sees only newer ones."""
        with self.cond:
            self._posts = [p for p in self._posts if not match(p)]


def stop_process(proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if it has not ended within `grace` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def pct(xs: list[float], p: float) -> float:
    """The `p`th percentile (0-100) of `xs` by nearest rank: always one of the values measured."""
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


def naive_parse(pattern: re.Pattern[str], path: str, *, anchored: bool = False) -> int:
    """What a user writes to read a log: one regex per line, float() per field, a list per field.

    The yardstick of the parse benchmarks (`anchored`: `match` rather than `search`). Returns lines read.
    """
    find = pattern.match if anchored else pattern.search
    cols: list[list[float]] = [[] for _ in range(pattern.groups + 1)]
    n = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            n += 1
            m = find(line)
            if m is None:
                continue
            for i, v in enumerate(m.groups(), 1):
                if v is not None:
                    try:
                        cols[i].append(float(v.replace(",", "")))
                    except ValueError:  # `nan`-free by design in the naive patterns, but a user's loop goes on
                        pass
    return n


def rss_mb(ru: resource.struct_rusage) -> float:
    """Peak RSS in MB from getrusage/wait4 (bytes on macOS, KiB elsewhere)."""
    return ru.ru_maxrss / 2**20 if sys.platform == "darwin" else ru.ru_maxrss / 1024

