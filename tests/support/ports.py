"""A free TCP port on 127.0.0.1, for the servers tests start (Prometheus, Alertmanager, receivers)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound, then closed: another process may take it first,
    which no test here races for)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
