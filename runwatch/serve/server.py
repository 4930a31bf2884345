"""The listener: a stdlib `ThreadingHTTPServer` on a daemon thread of its own.

It serves no file: `/metrics` (through `prometheus_client`'s encoder, OpenMetrics when Prometheus asks
for it), the JSON API and `/healthz` (`runwatch.serve.api`). Every request is first
checked by `access.decide` from the peer address; a body over `MAX_BODY` is refused unread. Nothing a
request does can stop the daemon: a handler that raises answers 500 and is logged, and the serving
thread logs and serves on. The token is never logged (nor are request headers).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry

from runwatch.serve.access import Access, decide, is_loopback
from runwatch.serve.address import ListenAddress
from runwatch.serve.api import Api, Reply, error

log = logging.getLogger("runwatch.serve")

MAX_BODY = 64 * 1024
"""The largest request body read (413 above): a silence's JSON is a few dozen bytes."""
REQUEST_TIMEOUT_S = 10.0
"""How long a connection may take to send its request: a slow or idle client does not hold a thread."""


MAX_CONNECTIONS = 32
"""Connections served at once (a thread each); more are closed at once: a flood of idle clients cannot
make the daemon start threads without end. Prometheus keeps one per scrape target."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: ListenAddress, handler: type[BaseHTTPRequestHandler]) -> None:
        self.address_family = address.family
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__((address.host, address.port), handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            log.warning("listener: %d connections open; one from %s closed unanswered", MAX_CONNECTIONS,
                        client_address[0] if client_address else "?")
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection's failure goes to the log (not a traceback on stderr), and the server goes on."""
        log.warning("listener: a request from %s failed", client_address[0] if client_address else "?",
                    exc_info=True)


class Listener:
    """Serves `/metrics`, the JSON API and `/healthz` on `address` until `stop()`.

    `token`: `RUNWATCH_TOKEN`, or None; `local`: which peers count as this machine (loopback).
    Binding happens in the constructor, so a port in use is an error before anything else starts.
    """

    def __init__(self, address: ListenAddress, api: Api, registry: CollectorRegistry, *, token: str | None,
                 local: Callable[[str], bool] = is_loopback) -> None:
        self.api, self.registry, self.token, self.local = api, registry, token or None, local
        try:
            self._server = _Server(address, _handler(self))
        except OSError as e:
            raise OSError(f"cannot listen on {address}: {e.strerror or e}") from None
        host, port = self._server.server_address[:2]
        self.address = ListenAddress(str(host), int(port))
        """Where it listens (the port the system chose when asked for 0)."""
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="runwatch-listen", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                self._server.serve_forever(poll_interval=0.2)
            except Exception:  # never seen; but the daemon must outlive its listener's bugs
                log.exception("listener: serving failed; serving on")
                self._stopping.wait(1.0)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(10.0)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Listener:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what a request gets (called on the request's thread) ----------------

    def answer(self, method: str, path: str, headers: Any, peer: str, body: Callable[[], bytes]) -> _Answer:
        access = decide(peer, write=method == "POST", token=self.token, authorization=headers.get("Authorization"),
                        local=self.local, origin=headers.get("Origin"), host=headers.get("Host"))
        if access == Access.NEEDS_TOKEN:
            return _json(error(401, "a bearer token is required (Authorization: Bearer $RUNWATCH_TOKEN)"),
                         ("WWW-Authenticate", 'Bearer realm="runwatch"'))
        if access == Access.FORBIDDEN:
            return _json(error(403, "only programs on this machine may ask, not web pages (set RUNWATCH_TOKEN "
                                    "on the daemon to allow others)"))
        route = path.split("?", 1)[0]
        if method == "GET" and route == "/metrics":
            encoder, content_type = choose_encoder(headers.get("Accept", ""))
            return _Answer(200, content_type, encoder(self.registry))
        if method == "GET":
            reply = self.api.get(route, path.partition("?")[2])
        else:
            length = _length(headers.get("Content-Length"))
            if length is None:
                return _json(error(400, "Content-Length must be a number"))
            if length > MAX_BODY:
                return _json(error(413, f"request body over {MAX_BODY} bytes"), close=True)
            reply = self.api.post(route, body() if length else b"")
        return _json(reply if reply is not None else error(404, f"no such path: {route[:200]}"))


class _Answer:
    def __init__(self, status: int, content_type: str, body: bytes, *headers: tuple[str, str],
                 close: bool = False) -> None:
        self.status, self.content_type, self.body, self.headers, self.close = status, content_type, body, headers, close


def _json(reply: Reply, *headers: tuple[str, str], close: bool = False) -> _Answer:
    return _Answer(reply.status, "application/json", reply.encoded(), *headers, close=close)


def _length(value: str | None) -> int | None:
    if value is None:
        return 0
    return int(value) if value.strip().isdigit() else None


def _handler(listener: Listener) -> type[BaseHTTPRequestHandler]:
    """The request handler class bound to `listener` (http.server makes one instance per request)."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "runwatch"
        sys_version = ""
        timeout = REQUEST_TIMEOUT_S
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def do_PUT(self) -> None:
            self._refuse()

        do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_PUT

        def _refuse(self) -> None:
            self._send(_json(error(405, f"method {self.command} is not served"), ("Allow", "GET, POST"), close=True))

        def _answer(self, method: str) -> None:
            self.body_read = False
            try:
                ans = listener.answer(method, self.path, self.headers, self.client_address[0], self._body)
            except Exception:
                log.exception("listener: %s %s failed", method, self.path.split("?", 1)[0][:200])
                ans = _json(error(500, "internal error (logged by the daemon)"), close=True)
            if method == "POST" and not self.body_read and self.headers.get("Content-Length", "0") != "0":
                ans.close = True  # its body is still in the stream: this connection cannot serve another request
            self._send(ans)

        def _body(self) -> bytes:
            self.body_read = True
            return self.rfile.read(int(self.headers.get("Content-Length", "0")))

        def _send(self, ans: _Answer) -> None:
            self.send_response(ans.status)
            self.send_header("Content-Type", ans.content_type)
            self.send_header("Content-Length", str(len(ans.body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in ans.headers:
                self.send_header(name, value)
            if ans.close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(ans.body)

        def log_message(self, format: str, *args: Any) -> None:
            """Request lines at debug level only (a scrape every 15 s is not news); never headers."""
            log.debug("listener: %s %s", self.client_address[0], format % args)

    return Handler

