"""HTTP to one node's listener (stdlib `urllib`): JSON in, JSON out, a timeout on every request, and one
error type whose message is one line without a secret.

`RUNWATCH_TOKEN`, when set here, is sent as a bearer token (the listener needs it from any other machine,
and for writes once the node has one); credentials in the node's URL go as HTTP Basic instead (for a
proxy in front of the listener).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from runwatch.remote.address import NodeAddress
from runwatch.text import one_line

TIMEOUT_S = 3.0
"""How long one request may take: a node that accepts connections but does not answer (a hung machine,
a stopped process) is called unreachable after this, never waited on for longer."""
MAX_REPLY = 64 * 1024 * 1024
"""The largest reply read: a node's snapshots of many runs with events are a few MB at most."""


class NodeError(OSError):
    """A request to a node failed: not reachable, timed out, or answered with an error (`status`)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(one_line(message))
        self.status = status


class NodeClient:
    """Requests to one node; safe to use from several threads (each request its own connection)."""

    def __init__(self, node: NodeAddress, *, token: str | None = None, timeout: float = TIMEOUT_S) -> None:
        self.node, self.timeout = node, timeout
        self._headers = {"Accept": "application/json", "User-Agent": "runwatch-tail"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        elif node.basic is not None:
            pair = f"{node.basic[0]}:{node.basic[1]}".encode()
            self._headers["Authorization"] = f"Basic {base64.b64encode(pair).decode()}"

    def get(self, path: str, **query: str | int | float) -> Any:
        q = urlencode({k: v for k, v in query.items()})
        return self._request("GET", f"{path}?{q}" if q else path, None)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._request("POST", path, json.dumps(body, allow_nan=False).encode())

    def _request(self, method: str, path: str, body: bytes | None) -> Any:
        headers = dict(self._headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.node.base + path, data=body, headers=headers, method=method)
        route = path.split("?", 1)[0]
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                data = resp.read(MAX_REPLY + 1)
        except urllib.error.HTTPError as e:
            raise NodeError(f"{method} {route}: HTTP {e.code}: {_said(e)}", e.code) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", None) or e
            raise NodeError(f"{method} {route}: {getattr(reason, 'strerror', None) or reason}") from None
        if len(data) > MAX_REPLY:
            raise NodeError(f"{method} {route}: reply over {MAX_REPLY} bytes")
        try:
            return json.loads(data)
        except ValueError as e:
            raise NodeError(f"{method} {route}: the reply is not JSON ({e})") from None


def _said(e: urllib.error.HTTPError) -> str:
    """What an error reply says: the API's `{"error": …}`, else the HTTP reason."""
    try:
        said = json.loads(e.read(4096)).get("error")
    except (ValueError, AttributeError, OSError):
        said = None
    return str(said or e.reason)
