"""Redaction: secrets registered by sinks, and URLs quoted inside urllib/http.client exceptions."""

from __future__ import annotations

import http.client
import logging
import urllib.request

import pytest

from runwatch.alerts.sinks import PermanentError, RedactingFilter, register_secret
from runwatch.alerts.sinks.httppost import make_opener, post_json
from runwatch.alerts.sinks.redact import REDACTED, describe, redact

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


def test_a_wandb_run_name_is_kept_but_not_one_carrying_more() -> None:
    """`runwatch watch wandb://team/proj/abc123` logs which run it watches (no secret goes in that name)."""
    assert redact("watching wandb://team/proj/abc123") == "watching wandb://team/proj/abc123"
    assert redact("watching wandb://key:x@team/proj/abc") == f"watching {REDACTED}"
    assert redact("watching wandb://team/proj/abc?api_key=s3cr3t") == f"watching {REDACTED}"


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


# ── short secrets: replaced where they sit in a URL, not everywhere ────────

def test_a_two_character_password_is_redacted_where_a_url_holds_it() -> None:
    register_secret("https://alertmanager:pw@am.example.com/api/v2/alerts")
    for leak in ("nonnumeric port: 'alertmanager:pw@am.example.com'", "netloc alertmanager:pw@am.example.com",
                 "user 'x:pw@am.example.com'", "got ':pw@'"):
        out = redact(leak)
        assert ":pw@" not in out and REDACTED in out, out


def test_a_short_secret_does_not_blank_the_same_letters_elsewhere() -> None:
    register_secret("https://alertmanager:pw@am.example.com/hook?token=ab")
    register_secret("https://hooks.slack.com/services/T0/B0/xy", path_tokens=True)
    text = "upward: pwd pw=1 (ab, tab) T0 B0 xy /tmp/x?y=ab"
    assert redact(text) == text


def test_a_short_query_token_is_redacted_in_any_quoted_query() -> None:
    register_secret("https://am.example.com/hook?sig=cd&team=ml%20ops")
    assert redact("POST /x?sig=cd HTTP/1.1") == f"POST /x?sig={REDACTED} HTTP/1.1"
    assert redact("'/other?x=1&sig=cd'") == f"'/other?x=1&sig={REDACTED}'"
    assert redact("?team=ml ops") == f"?team={REDACTED}"  # as decoded
    assert redact("?team=ml%20ops") == f"?team={REDACTED}"


def test_short_slack_path_tokens_are_redacted_but_not_a_generic_webhook_path() -> None:
    register_secret("https://hooks.slack.com/services/T1/B1/zz", path_tokens=True)
    assert redact("selector '/services/T1/B1/zz'") == f"selector '{REDACTED}'"
    assert redact("'/api/T1/B1/zz?x'") == f"'/api/{REDACTED}/{REDACTED}/{REDACTED}?x'"
    register_secret("https://example.com/q1")
    assert redact("path /q1 or /a/q1/") == "path /q1 or /a/q1/"


def test_the_logging_filter_redacts_a_short_password(caplog: pytest.LogCaptureFixture) -> None:
    register_secret("https://ops:pw@am.example.com/hook")
    caplog.handler.addFilter(RedactingFilter())
    try:
        logging.getLogger("runwatch.test.redact").warning("bad netloc %r", "ops:pw@am.example.com:x")
    finally:
        caplog.handler.removeFilter(caplog.handler.filters[-1])
    assert ":pw@" not in caplog.text and f"'{REDACTED}@am.example.com:x'" in caplog.text


def test_a_logged_url_with_user_info_is_redacted_whole(caplog: pytest.LogCaptureFixture) -> None:
    url = "https://ops:pw@am.example.com:9093/api/v2/alerts"
    register_secret(url)
    caplog.handler.addFilter(RedactingFilter())
    try:
        logging.getLogger("runwatch.test.redact").warning("posting to %s failed", url)
    finally:
        caplog.handler.removeFilter(caplog.handler.filters[-1])
    assert caplog.records[-1].getMessage() == f"posting to {REDACTED} failed"
