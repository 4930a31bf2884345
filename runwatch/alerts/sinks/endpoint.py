"""A webhook URL checked when the sink is built, its user info turned into HTTP Basic auth.

A URL that cannot be sent to (no host, a port that is not a number, an
ftp:// scheme) is a start-up error naming the setting, not an alert dropped
hours later. `https://user:pw@host/x` is what a receiver behind basic auth
(an Alertmanager-style one, say) is given; urllib would read "pw@host" as a
port, so the user info is taken out of the URL and sent as an
`Authorization: Basic` header instead. Errors name the setting and the
variable, never the URL or any part of it.
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from runwatch.alerts.sinks.base import SinkConfigError
from runwatch.alerts.sinks.redact import register_secret


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where to POST: the URL without user info, and the headers that carry it instead."""

    url: str = field(repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


def resolve_url(
    label: str, *, url: str | None, url_env: str | None, environ: Mapping[str, str], path_tokens: bool = False,
) -> Endpoint:
    """The endpoint from `url` (a CLI flag, held in memory) or the variable named `url_env`.

    Registers the URL (and the Basic credentials) as secrets; `path_tokens`
    marks its path segments as credentials too (Slack). Raises
    `SinkConfigError` for a missing or unusable URL.
    """
    if url and url_env:
        raise SinkConfigError(f"{label}: give webhook_url or webhook_url_env, not both")
    if not url:
        if not url_env:
            raise SinkConfigError(f"{label}: webhook_url_env is required (the name of a variable holding the URL)")
        url = environ.get(url_env, "").strip()
        if not url:
            raise SinkConfigError(f"{label}: webhook_url_env: environment variable {url_env} is not set or empty")
    register_secret(url, path_tokens=path_tokens)
    where = f"{label}: webhook_url_env (${url_env})" if url_env else f"{label}: webhook_url"
    return endpoint(url, where)


def endpoint(url: str, where: str) -> Endpoint:
    """`url` checked (a `SinkConfigError` starting with `where` if it cannot be sent to) and its user info
    turned into an `Authorization` header (registered as a secret; the URL itself is the caller's to register)."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise SinkConfigError(f"{where} contains spaces or control characters")
    try:
        parsed = urllib.parse.urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 literal
        raise SinkConfigError(f"{where} is not a valid URL") from None
    if parsed.scheme not in ("http", "https"):
        raise SinkConfigError(f"{where} must be an http:// or https:// URL")
    if not parsed.hostname:
        raise SinkConfigError(f"{where} has no host")
    try:
        port = parsed.port
    except ValueError:
        port = 0
    if port == 0:
        raise SinkConfigError(f"{where} is not a valid URL: the port must be a number from 1 to 65535")
    userinfo, at, hostport = parsed.netloc.rpartition("@")
    if not at:
        return Endpoint(url)
    bare = urllib.parse.urlunsplit(parsed._replace(netloc=hostport))
    return Endpoint(bare, _basic_auth(userinfo, where) if userinfo else {})


def _basic_auth(userinfo: str, where: str) -> dict[str, str]:
    """`user:password` from a URL as an `Authorization` header (RFC 7617; both percent-decoded)."""
    user, _, password = userinfo.partition(":")
    user, password = urllib.parse.unquote(user), urllib.parse.unquote(password)
    if ":" in user:
        raise SinkConfigError(f"{where}: the user name in the URL contains ':' (not allowed in basic auth)")
    if any(ord(c) < 32 or ord(c) == 127 for c in user + password):
        raise SinkConfigError(f"{where}: the user info in the URL contains control characters")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    register_secret(token)
    register_secret(f"Basic {token}")
    return {"Authorization": f"Basic {token}"}
