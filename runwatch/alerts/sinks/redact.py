"""Keeping webhook URLs, passwords and tokens out of every message runwatch shows or logs.

A Slack incoming-webhook URL is a bearer credential: whoever reads it can
post to the channel. Exceptions from urllib and http.client sometimes embed
the URL or its parts ("unknown url type: ...", "nonnumeric port:
'user:pw@host'"), so sinks never show an exception's text without passing it
through `redact`. Sinks register their secrets here when they are built;
`RedactingFilter` applies the same scrub to log records.

Two kinds of match, because a secret can be short (a password "pw", a Slack
path token "T0"): a fragment of at least `_MIN_SECRET` characters is replaced
wherever it appears; every credential part of a URL (user info, query values,
Slack path tokens) is also replaced where it sits in a URL (`:pw@`,
`?token=pw&`, `/pw/`) whatever its length. Replacing a short one everywhere
would blank "pw" inside "upward"; so a short secret quoted on its own, with
nothing around it, is the one case not caught.
"""

from __future__ import annotations

import logging
import re
import threading
import urllib.parse
from collections.abc import Iterable

from runwatch import patterns
from runwatch.text import clean

REDACTED = "<redacted>"
_MIN_SECRET = 6
"""Shorter fragments are replaced only where they sit in a URL: "abc" everywhere would garble messages."""

_URL = patterns.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
_SLACK_TOKEN = patterns.compile(r"\bxox[a-z]-[A-Za-z0-9-]+")
_END = r"(?=$|[/?#&;\s'\"<>()\[\],])"
"""Where a path segment or query value ends in a quoted URL."""

_lock = threading.Lock()
_secrets: set[str] = set()
_ordered: tuple[str, ...] = ()
_patterns: set[str] = set()
_placed: re.Pattern[str] | None = None


def register_secret(value: str, *, path_tokens: bool = False) -> None:
    """Remember a secret (for a URL, every part of it that identifies or unlocks it) for `redact`.

    `path_tokens`: the URL's path segments are credentials however short (a
    Slack webhook: `/services/T…/B…/token`).
    """
    literal, placed = _url_parts(value, path_tokens)
    literal.add(value)
    global _ordered, _placed
    with _lock:
        _secrets.update(p for p in literal if len(p) >= _MIN_SECRET)
        _ordered = tuple(sorted(_secrets, key=len, reverse=True))
        if not placed <= _patterns:
            _patterns.update(placed)
            _placed = patterns.compile("|".join(sorted(_patterns, key=len, reverse=True)))


def _url_parts(url: str, path_tokens: bool) -> tuple[set[str], set[str]]:
    """(fragments an error may quote, regexes for credentials in their place) of a URL."""
    try:
        parsed = urllib.parse.urlsplit(url)
        password, username = parsed.password, parsed.username
    except ValueError:
        return set(), set()
    parts = {parsed.path, parsed.query, parsed.fragment, parsed.netloc + parsed.path}
    if parsed.path and parsed.query:
        parts.add(f"{parsed.path}?{parsed.query}")
    parts.update(seg for seg in re.split(r"[/?&=#;]", parsed.path + "?" + parsed.query) if _token_like(seg))
    placed: set[str] = set()
    userinfo = parsed.netloc.rpartition("@")[0]
    if userinfo:
        creds = {userinfo, urllib.parse.unquote(userinfo)}
        parts.update(creds)
        placed.update(rf"(?<![\w.~%+-]){re.escape(c)}(?=@)" for c in creds)
        if password is not None:
            pw = {password, urllib.parse.unquote(password)}
            parts.update(pw)
            placed.update(rf"(?<=:){re.escape(p)}(?=@)" for p in pw if p)
        elif username:
            parts.update({username, urllib.parse.unquote(username)})
    for name, value in _query_pairs(parsed.query):
        if value:
            parts.add(value)
            placed.add(rf"(?<=[?&;]{re.escape(name)}=){re.escape(value)}{_END}")
    if path_tokens:
        for seg in _path_tokens(parsed.path):
            parts.add(seg)
            placed.add(rf"(?<=/){re.escape(seg)}{_END}")
    return {p for p in parts if p}, placed


def _query_pairs(query: str) -> Iterable[tuple[str, str]]:
    """Each name=value of a query, as written and decoded (an error may quote either)."""
    for pair in re.split(r"[&;]", query):
        name, eq, value = pair.partition("=")
        if eq:
            yield name, value
            yield urllib.parse.unquote_plus(name), urllib.parse.unquote_plus(value)


def _path_tokens(path: str) -> set[str]:
    """A Slack webhook's path tokens: every segment but the leading "services"."""
    segs = [s for s in path.split("/") if s]
    if segs and segs[0] == "services":
        segs = segs[1:]
    return {v for s in segs for v in (s, urllib.parse.unquote(s))}


def _token_like(segment: str) -> bool:
    """A path segment that looks like a credential rather than a word such as "services"."""
    return (len(segment) >= 8 and not segment.isalpha()) or len(segment) >= 16


def _url_redacted(m: re.Match[str]) -> str:
    """Any URL may carry a credential, but a `wandb://ENTITY/PROJECT/RUN` run name carries none (the
    API key never goes in it): the daemon's log says which run it watches."""
    url = m.group(0)
    return url if url.startswith("wandb://") and "@" not in url and "?" not in url else REDACTED


def redact(text: str) -> str:
    """`text` with every URL, every registered secret and every Slack token replaced.

    Whole URLs go first, so that one is replaced as one and not piece by piece.
    """
    text = _URL.sub(_url_redacted, text)
    for secret in _ordered:
        if secret in text:
            text = text.replace(secret, REDACTED)
    placed = _placed
    if placed is not None:
        text = placed.sub(REDACTED, text)
    return _SLACK_TOKEN.sub(REDACTED, text)


def describe(exc: BaseException) -> str:
    """An exception as one safe line: its type and its redacted message."""
    message = redact(str(exc)).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs secrets and terminal control sequences (a log file is read with
    `tail` in a terminal; a run or file name can hold anything) from the message and any traceback.

    Attach it to the daemon's handlers (`handler.addFilter(RedactingFilter())`)
    as a second line of defence behind the sinks' own care.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = clean(redact(record.getMessage()))
        record.args = None
        if record.exc_info:
            record.exc_text = clean(redact(logging.Formatter().formatException(record.exc_info)))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = clean(redact(record.stack_info))
        return True
