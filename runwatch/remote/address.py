"""Which `runwatch tail` arguments name a node's listener rather than a local path, and how a node is shown.

`http://HOST:PORT` and `https://HOST:PORT` always name a node. `HOST:PORT` does too, but only when no
file or directory of that name exists (a log named `run:1` stays a log) and it looks like an address:
a host name or IPv4 address, or `[IPv6]`, then `:` and a port. Credentials in a URL
(`http://user:secret@host:port`) are sent as HTTP Basic authorization and never shown: a node is named
by its host and port only. Pure, apart from the one existence check.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from runwatch import patterns
from runwatch.errors import BadValueError

_HOST_PORT = patterns.compile(r"^(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):(?P<port>\d{1,5})$")


@dataclass(frozen=True)
class NodeAddress:
    """A listener to read: its base URL (no credentials), and how to name it to a person."""

    base: str
    """`scheme://host:port` plus any path prefix (a reverse proxy's), without credentials or a trailing /."""
    host: str
    port: int
    basic: tuple[str, str] | None = field(default=None, repr=False)
    """User and password from the URL, sent as HTTP Basic authorization; never printed."""

    @property
    def where(self) -> str:
        """`host:port`: how messages name the node."""
        return f"{self.host}:{self.port}"


def is_node(arg: str, *, exists: bool | None = None) -> bool:
    """Whether a `tail` argument names a node (`exists`: whether a path of that name exists; asked when None)."""
    if arg.startswith(("http://", "https://")):
        return True
    if _HOST_PORT.match(arg) is None:
        return False
    return not (os.path.exists(arg) if exists is None else exists)


def parse_node(arg: str) -> NodeAddress:
    """A node argument as an address; BadValueError (a ValueError) saying what is wrong (never quoting credentials)."""
    url = arg if arg.startswith(("http://", "https://")) else f"http://{arg}"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise BadValueError(f"not a node address ({e}): {_shown(url)}") from None
    if not parts.hostname:
        raise BadValueError(f"a node address needs a host: {_shown(url)}")
    if parts.query or parts.fragment:
        raise BadValueError(f"a node address has no query or fragment: {_shown(url)}")
    scheme = parts.scheme
    port = port if port is not None else (443 if scheme == "https" else 80)
    host = parts.hostname
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    basic = (unquote(parts.username or ""), unquote(parts.password or "")) if parts.username is not None else None
    return NodeAddress(f"{scheme}://{netloc}{parts.path.rstrip('/')}", host, port, basic)


def _shown(url: str) -> str:
    """A URL as an error message may quote it: without its credentials."""
    scheme, _, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    return f"{scheme}://{netloc.rpartition('@')[2]}{slash}{path}"


def node_labels(nodes: list[NodeAddress]) -> list[str]:
    """The prefix each node's runs are shown under: its host, or `host:port` where two nodes share a host."""
    hosts = [n.host for n in nodes]
    return [n.host if hosts.count(n.host) == 1 else n.where for n in nodes]
