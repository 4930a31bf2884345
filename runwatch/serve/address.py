"""`HOST:PORT` as `--listen` and `[watch] listen` take it: a bare `PORT` or `:PORT` means loopback.

Pure, so that the config can refuse a bad address before anything starts.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from runwatch.errors import BadValueError

DEFAULT_HOST = "127.0.0.1"
"""Where a bare port listens: only this machine can ask (a token is needed for anything else)."""


@dataclass(frozen=True, slots=True)
class ListenAddress:
    host: str
    port: int
    """0 asks the system for a free port (tests; the bound one is `Listener.address`)."""

    @property
    def family(self) -> socket.AddressFamily:
        return socket.AF_INET6 if ":" in self.host else socket.AF_INET

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen(text: str) -> ListenAddress:
    """`HOST:PORT`, `[V6]:PORT`, `:PORT` or `PORT`; BadValueError (a ValueError) saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise BadValueError(f"expected HOST:PORT (e.g. 127.0.0.1:9464), got {text!r}")
    s = text.strip()
    if s.startswith("["):
        host, sep, port = s[1:].partition("]:")
        if not sep or not host:
            raise BadValueError(f"expected [IPV6]:PORT, got {text!r}")
    elif s.count(":") > 1:
        raise BadValueError(f"an IPv6 address goes in brackets: [{s}]:PORT")
    else:
        host, _, port = s.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise BadValueError(f"port must be a number from 0 to 65535, got {port!r} in {text!r}")
    return ListenAddress(host or DEFAULT_HOST, int(port))
