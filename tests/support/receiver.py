"""A real HTTP receiver on 127.0.0.1 whose answers a test scripts, for the webhook and Slack sinks."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from runwatch.alerts.sinks import Backoff

SECRET_PATH = "/services/T0SECRET1/B0SECRET2/xyzSecretToken123"
"""A Slack-like path: the part of a webhook URL that must never be printed."""
HANG = "hang"
FAST = Backoff(initial=0.01, factor=2.0, cap=0.05, jitter=0.0)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int | str

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A ThreadingHTTPServer whose answers a test scripts: a list of statuses (or HANG), then `default`."""

    def __init__(self, port: int = 0, script: list[int | str] | None = None, default: int | str = 200) -> None:
        self.script = list(script or [])
        self.default = default
        self.requests: list[Request] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.server = _Server(("127.0.0.1", port), self._handler())
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="test-receiver", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{SECRET_PATH}"

    @property
    def delivered(self) -> list[Any]:
        """Bodies of the requests answered 2xx."""
        with self._lock:
            return [r.json() for r in self.requests if isinstance(r.status, int) and 200 <= r.status < 300]

    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()

    def _next(self, method: str, path: str, headers: dict[str, str], body: bytes) -> int | str:
        with self._lock:
            status = self.script.pop(0) if self.script else self.default
            self.requests.append(Request(method, path, headers, body, status))
            return status

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver._next("POST", self.path, dict(self.headers), body)
                if status == HANG:
                    receiver.release.wait(10)
                    return
                assert isinstance(status, int)
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                if 300 <= status < 400:
                    self.send_header("Location", f"http://127.0.0.1:{receiver.port}/elsewhere")
                text = b"ok" if status < 300 else (b"invalid_payload" if status < 500 else b"oops")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() joins the handler threads
    block_on_close = True
