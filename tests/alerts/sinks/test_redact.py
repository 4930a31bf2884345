"""Redaction: secrets registered by sinks, and URLs quoted inside urllib/http.client exceptions."""

from __future__ import annotations

import http.client
import logging
import urllib.request

import pytest

from runwatch.alerts.sinks import PermanentError, RedactingFilter, redact, register_secret
from runwatch.alerts.sinks.httppost import make_opener, post_json
from runwatch.alerts.sinks.redact import REDACTED, describe

URL = "https://hooks.example.com/services/T0REDACT1/B0REDACT2/redactToken0123456789"


@pytest.fixture(autouse=True)
def _registered() -> None:
    register_secret(URL)


def test_whole_url_and_its_parts_are_redacted() -> None:
    for leak in (URL, "/services/T0REDACT1/B0REDACT2/redactToken0123456789", "redactToken0123456789",
                 "hooks.example.com/services/T0REDACT1/B0REDACT2/redactToken0123456789"):
        out = redact(f"failed: {leak}!")
        assert "redactToken0123456789" not in out and REDACTED in out


def test_plain_words_are_left_alone() -> None:
    assert redact("webhook sink 'slack': HTTP 503 (services unavailable)") == \
        "webhook sink 'slack': HTTP 503 (services unavailable)"


def test_any_url_and_slack_tokens_are_redacted_even_unregistered() -> None:
    assert redact("see http://10.1.2.3:8080/x?token=abc and xoxb-1234-abcd") == f"see {REDACTED} and {REDACTED}"


def test_urllib_unknown_scheme_error_is_redacted() -> None:
    with pytest.raises(ValueError) as err:
        urllib.request.Request("hooks.example.com/services/T0REDACT1/B0REDACT2/redactToken0123456789")
    assert "redactToken0123456789" in str(err.value)  # urllib does quote it …
    assert "redactToken0123456789" not in describe(err.value)  # … we do not


def test_http_client_control_character_error_is_redacted() -> None:
    conn = http.client.HTTPConnection("127.0.0.1", 9)
    with pytest.raises(http.client.InvalidURL) as err:
        conn.putrequest("POST", "/services/T0REDACT1/B0REDACT2/redactToken0123456789\n")
    assert "redactToken0123456789" in str(err.value)
    assert "redactToken0123456789" not in describe(err.value)


def test_post_json_with_a_broken_url_raises_a_safe_error() -> None:
    register_secret("http://127.0.0.1:notaport/services/T0/B0/portSecret12345")
    with pytest.raises(PermanentError) as err:
        post_json(make_opener(), "http://127.0.0.1:notaport/services/T0/B0/portSecret12345", {}, timeout=1,
                  label="webhook sink 'w'")
    assert "portSecret12345" not in str(err.value) and "invalid URL" in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_logging_filter_scrubs_messages_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("runwatch.test.redact")
    caplog.handler.addFilter(RedactingFilter())
    try:
        try:
            raise RuntimeError(f"posting to {URL}")
        except RuntimeError:
            logger.error("failed: %s", URL, exc_info=True)
    finally:
        caplog.handler.removeFilter(caplog.handler.filters[-1])
    assert "redactToken0123456789" not in caplog.text and REDACTED in caplog.text
    assert "RuntimeError" in caplog.text
