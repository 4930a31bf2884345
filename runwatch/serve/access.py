"""Who may ask the listener what (README: Beyond one machine, security).

Decided from the TCP peer's address, never from a header it could forge: loopback peers may read
without a token; anything else needs `RUNWATCH_TOKEN` as a bearer token, and once a token is set every
write needs it too, from any peer. A web browser on this machine is a loopback peer too, driven by
whatever page it shows: without the token, a request with an `Origin` header or naming a host other
than `localhost` or an address is refused. Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable
from enum import Enum


class Access(Enum):
    """What the listener answers a request before looking at its path."""

    ALLOWED = 200
    NEEDS_TOKEN = 401
    """A token is set and this request needs it but does not carry it (or carries another)."""
    FORBIDDEN = 403
    """Not from loopback and no token is set: nothing the peer could send would let it in."""


def is_loopback(peer: str) -> bool:
    """Whether a peer address (as `socket.getpeername()` gives it) is this machine's loopback; IPv4 mapped
    into IPv6 (`::ffff:127.0.0.1`) counts as its IPv4 address; anything unparsable is not loopback."""
    try:
        ip = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def bearer_ok(authorization: str | None, token: str | None) -> bool:
    """Whether an `Authorization` header carries `Bearer <token>` (constant-time compare); never with no token."""
    if not token or not authorization:
        return False
    scheme, _, given = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def named_locally(host_header: str | None) -> bool:
    """Whether the `Host` a request names is `localhost` or an address: what a client on this machine sends.
    A web page that rebinds its own domain name to 127.0.0.1 sends that name instead."""
    if host_header is None:
        return True  # HTTP/1.0
    host = host_header.strip()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def decide(peer: str, *, write: bool, token: str | None, authorization: str | None,
           local: Callable[[str], bool] = is_loopback, origin: str | None = None,
           host: str | None = None) -> Access:
    """The access rule: a valid token opens everything; without one, loopback may read (and write while no
    token is set), but not a web page: a browser's request (it carries `Origin`) or one to a name that is not
    this machine's (DNS rebinding) could come from any site the user visits; everything else is refused."""
    if bearer_ok(authorization, token):
        return Access.ALLOWED
    if local(peer) and not (write and token) and origin is None and named_locally(host):
        return Access.ALLOWED
    return Access.NEEDS_TOKEN if token else Access.FORBIDDEN
