"""Keeping webhook URLs and tokens out of every message runwatch shows or logs.

A Slack incoming-webhook URL is a bearer credential: whoever reads it can
post to the channel. Exceptions from urllib and http.client sometimes embed
the URL or its path ("unknown url type: ...", "URL can't contain control
characters. '/services/...'"), so sinks never show an exception's text
without passing it through `redact`. Sinks register their secrets here when
they are built; `RedactingFilter` applies the same scrub to log records.
"""

from __future__ import annotations

import logging
import re
import threading
import urllib.parse

REDACTED = "<redacted>"
_MIN_SECRET = 6
"""Shorter fragments are not registered: redacting "abc" everywhere would garble messages."""

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
_SLACK_TOKEN = re.compile(r"\bxox[a-z]-[A-Za-z0-9-]+")

_lock = threading.Lock()
_secrets: set[str] = set()
_ordered: tuple[str, ...] = ()


def register_secret(value: str) -> None:
    """Remember a secret (and, for a URL, the parts of it that identify it) for `redact`."""
    parts = {value, *_url_parts(value)}
    global _ordered
    with _lock:
        _secrets.update(p for p in parts if len(p) >= _MIN_SECRET)
        _ordered = tuple(sorted(_secrets, key=len, reverse=True))


def _url_parts(url: str) -> set[str]:
    """The fragments of a URL an error message may quote: path, query, token-like segments, password."""
    try:
        parsed = urllib.parse.urlsplit(url)
    except ValueError:
        return set()
    parts = {parsed.path, parsed.query, parsed.fragment, parsed.netloc + parsed.path}
    if parsed.path and parsed.query:
        parts.add(f"{parsed.path}?{parsed.query}")
    parts.update(seg for seg in re.split(r"[/?&=#;]", parsed.path + "?" + parsed.query) if _token_like(seg))
    if parsed.password:
        parts.add(parsed.password)
    return parts


def _token_like(segment: str) -> bool:
    """A path segment that looks like a credential rather than a word such as "services"."""
    return (len(segment) >= 8 and not segment.isalpha()) or len(segment) >= 16


def redact(text: str) -> str:
    """`text` with every registered secret, every URL and every Slack token replaced."""
    for secret in _ordered:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _URL.sub(REDACTED, text)
    return _SLACK_TOKEN.sub(REDACTED, text)


def describe(exc: BaseException) -> str:
    """An exception as one safe line: its type and its redacted message."""
    message = redact(str(exc)).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs secrets from the message and any traceback.

    Attach it to the daemon's handlers (`handler.addFilter(RedactingFilter())`)
    as a second line of defence behind the sinks' own care.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
