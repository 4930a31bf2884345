"""One JSON POST with the standard library, and its failures sorted for retry.

Shared by the webhook, Slack and Alertmanager sinks, which check their URL when built
(endpoint.py: only http(s), since urllib would also open `file://`).
Redirects are not followed (a POST turned into a GET would lose the alert
silently). Every error message is built from our own words plus the status
code; exception text is shown only after `redact`, and exceptions are
re-raised `from None` so a traceback cannot carry the URL either.
"""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from email.message import Message
from typing import Any

from runwatch import __version__
from runwatch.alerts.sinks.base import PermanentError, RetryableError
from runwatch.alerts.sinks.redact import describe, redact
from runwatch.text import clip, one_line

USER_AGENT = f"runwatch/{__version__}"
_BODY_PREVIEW = 512


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


def make_opener() -> urllib.request.OpenerDirector:
    """An opener that honours proxy variables but follows no redirect."""
    return urllib.request.build_opener(_NoRedirect)


def post_json(
    opener: urllib.request.OpenerDirector, url: str, body: Mapping[str, Any] | Sequence[Any], *, timeout: float,
    label: str, headers: Mapping[str, str] | None = None,
) -> None:
    """POST `body` as JSON, with extra `headers` (Authorization); 2xx returns, anything else raises.

    The error is a `RetryableError` or a `PermanentError`, its message safe to show.
    """
    data = json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8", "replace")
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT, **(headers or {})})
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read(_BODY_PREVIEW)
    except urllib.error.HTTPError as exc:
        raise status_error(label, exc.code, exc.headers, _preview(exc)) from None
    except (ValueError, http.client.InvalidURL) as exc:  # a URL http.client refuses (control chars, bad port)
        raise PermanentError(f"{label}: invalid URL ({describe(exc)})") from None
    except urllib.error.URLError as exc:
        raise _transport_error(label, exc.reason, timeout) from None
    except (OSError, http.client.HTTPException) as exc:
        raise _transport_error(label, exc, timeout) from None


def status_error(label: str, status: int, headers: Message | None, body: str = "") -> Exception:
    """The error for a non-2xx status: 5xx, 408 and 429 can be retried, the rest cannot."""
    detail = f" ({body})" if body else ""
    if status == 429 or status == 408 or status >= 500:
        retry_after = _retry_after(headers)
        return RetryableError(f"{label}: HTTP {status}{detail}", retry_after=retry_after)
    if 300 <= status < 400:
        return PermanentError(f"{label}: HTTP {status}: redirects are not followed; check the URL")
    return PermanentError(f"{label}: HTTP {status}{detail}")


def _transport_error(label: str, reason: object, timeout: float) -> Exception:
    if isinstance(reason, TimeoutError):
        return RetryableError(f"{label}: timed out after {timeout:g}s")
    if isinstance(reason, ConnectionRefusedError):
        return RetryableError(f"{label}: connection refused")
    if isinstance(reason, ssl.SSLCertVerificationError):
        return PermanentError(f"{label}: TLS certificate verification failed")
    if isinstance(reason, (ConnectionError, http.client.HTTPException)):
        return RetryableError(f"{label}: connection lost ({type(reason).__name__})")
    if isinstance(reason, OSError):
        return RetryableError(f"{label}: {describe(reason)}")
    return PermanentError(f"{label}: {redact(str(reason))}")


def _preview(exc: urllib.error.HTTPError) -> str:
    """The start of an error body (Slack says why: "invalid_blocks"), cleaned and redacted."""
    try:
        raw = exc.read(_BODY_PREVIEW)
    except (OSError, http.client.HTTPException):
        return ""
    finally:
        exc.close()
    return clip(redact(one_line(raw.decode("utf-8", "replace"))), 120)


def _retry_after(headers: Message | None) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date; our own backoff will do
