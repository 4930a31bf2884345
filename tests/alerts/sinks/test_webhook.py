"""The webhook sink against a real HTTP server on 127.0.0.1: one attempt, errors sorted for retry."""

from __future__ import annotations

import pytest

from runwatch import __version__
from runwatch.alerts.sinks import PermanentError, RetryableError, SinkConfigError, WebhookSink
from tests.support.alerts import make_notification
from tests.support.receiver import HANG, SECRET_PATH, Receiver


def sink_for(url: str, **kw: object) -> WebhookSink:
    return WebhookSink("hook", url_env="RW_TEST_URL", environ={"RW_TEST_URL": url}, **kw)  # type: ignore[arg-type]


def send(sink: WebhookSink) -> None:
    n = make_notification()
    sink.send(n.payload(), n)


def test_posts_the_design_payload_as_json(receiver: Receiver) -> None:
    send(sink_for(receiver.url))
    (request,) = receiver.requests
    assert request.path == SECRET_PATH
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.headers["User-Agent"] == f"runwatch/{__version__}"
    body = request.json()
    assert body == make_notification().payload()
    assert body["value"] == "nan"  # strict JSON: no bare NaN


def test_url_given_directly_is_used_and_not_shown_in_repr(receiver: Receiver) -> None:
    sink = WebhookSink("cli", url=receiver.url)
    send(sink)
    assert receiver.count() == 1
    assert SECRET_PATH not in repr(sink) and "127.0.0.1" not in repr(sink)


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
def test_server_errors_and_rate_limits_are_retryable(receiver: Receiver, status: int) -> None:
    receiver.default = status
    with pytest.raises(RetryableError) as err:
        send(sink_for(receiver.url))
    assert str(err.value).startswith(f"webhook sink 'hook': HTTP {status}")
    if status == 429:
        assert err.value.retry_after == 0.0


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_client_errors_are_permanent_and_say_why(receiver: Receiver, status: int) -> None:
    receiver.default = status
    with pytest.raises(PermanentError, match=rf"^webhook sink 'hook': HTTP {status} \(invalid_payload\)$"):
        send(sink_for(receiver.url))


def test_redirect_is_not_followed(receiver: Receiver) -> None:
    receiver.default = 302
    with pytest.raises(PermanentError, match="redirects are not followed"):
        send(sink_for(receiver.url))
    assert receiver.count() == 1


def test_connection_refused_is_retryable(free_port: int) -> None:
    with pytest.raises(RetryableError, match=r"^webhook sink 'hook': connection refused$"):
        send(sink_for(f"http://127.0.0.1:{free_port}{SECRET_PATH}"))


def test_a_server_that_never_answers_times_out(receiver: Receiver) -> None:
    receiver.default = HANG
    with pytest.raises(RetryableError, match=r"^webhook sink 'hook': timed out after 0.2s$"):
        send(sink_for(receiver.url, timeout=0.2))


def test_missing_variable_is_a_config_error_naming_the_variable() -> None:
    with pytest.raises(SinkConfigError, match="environment variable RW_TEST_URL is not set"):
        WebhookSink("hook", url_env="RW_TEST_URL", environ={})
    with pytest.raises(SinkConfigError, match="webhook_url_env is required"):
        WebhookSink("hook", environ={})


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "127.0.0.1:9/x", "http:///nohost"])
def test_only_http_urls_are_accepted_and_the_error_does_not_quote_them(url: str) -> None:
    with pytest.raises(SinkConfigError) as err:
        sink_for(url)
    assert url not in str(err.value) and "$RW_TEST_URL" in str(err.value)
