"""Webhook URLs checked when the sink is built; user info sent as HTTP Basic auth, never shown.

Real receiver on 127.0.0.1; the password is two characters ("pw") on purpose:
too short for substring redaction, so only structural redaction keeps it out.
"""

from __future__ import annotations

import base64
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from runwatch.alerts.sinks import Dispatcher, SinkConfigError, SlackSink, WebhookSink, build_sink
from runwatch.alerts.sinks.endpoint import resolve_url
from tests.support.alerts import make_notification
from tests.support.receiver import FAST, SECRET_PATH, Receiver
from tests.support.waiting import wait_for


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def with_userinfo(receiver: Receiver, userinfo: str, path: str = SECRET_PATH) -> str:
    return f"http://{userinfo}@127.0.0.1:{receiver.port}{path}"


def sink_for(url: str, cls: type[WebhookSink] = WebhookSink) -> WebhookSink:
    return cls("hook", url_env="RW_TEST_URL", environ={"RW_TEST_URL": url})


def send(sink: WebhookSink) -> None:
    n = make_notification()
    sink.send(n.payload(), n)


@pytest.mark.parametrize("cls", [WebhookSink, SlackSink])
def test_user_info_becomes_a_basic_auth_header_and_leaves_the_url(receiver: Receiver,
                                                                  cls: type[WebhookSink]) -> None:
    send(sink_for(with_userinfo(receiver, "alertmanager:pw"), cls))
    (request,) = receiver.requests
    assert request.headers["Authorization"] == basic("alertmanager", "pw")
    assert request.path == SECRET_PATH
    assert request.headers["Host"] == f"127.0.0.1:{receiver.port}"


def test_percent_encoded_user_info_is_decoded(receiver: Receiver) -> None:
    send(sink_for(with_userinfo(receiver, "ops%40team:p%3Aw%2F%20x")))
    assert receiver.requests[0].headers["Authorization"] == basic("ops@team", "p:w/ x")


def test_a_user_without_password_and_no_user_info(receiver: Receiver) -> None:
    send(sink_for(with_userinfo(receiver, "tok")))
    send(sink_for(receiver.url))
    send(sink_for(with_userinfo(receiver, "")))  # a bare "@": nothing to send, and not part of the host
    first, second, third = receiver.requests
    assert first.headers["Authorization"] == basic("tok", "")
    assert "Authorization" not in second.headers and "Authorization" not in third.headers
    assert third.headers["Host"] == f"127.0.0.1:{receiver.port}"


def test_the_sink_and_its_endpoint_do_not_show_the_credentials(receiver: Receiver) -> None:
    sink = sink_for(with_userinfo(receiver, "alertmanager:pw"))
    endpoint = resolve_url("x", url=with_userinfo(receiver, "alertmanager:pw"), url_env=None, environ={})
    for text in (repr(sink), repr(endpoint), str(endpoint)):
        assert "pw" not in text and basic("alertmanager", "pw") not in text and SECRET_PATH not in text


def test_the_password_never_appears_in_any_output(receiver: Receiver, free_port: int,
                                                  caplog: pytest.LogCaptureFixture,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Failures of every kind, through the dispatcher, with everything logged at DEBUG captured."""
    caplog.set_level(logging.DEBUG)
    receiver.script = [503, 200, 404]
    errors: list[str] = []
    ok = WebhookSink("ok", url=with_userinfo(receiver, "alertmanager:pw"))
    refused = WebhookSink("refused", url=f"http://alertmanager:pw@127.0.0.1:{free_port}/hook")
    d = Dispatcher([ok, refused], backoff=FAST, on_error=lambda name, msg: errors.append(msg))
    d.start()
    try:
        d.submit(make_notification("n1"))  # 503 (retried), then 200
        wait_for(lambda: len(receiver.delivered) == 1)
        d.submit(make_notification("n2"))  # 404: dropped
        wait_for(lambda: d.stats()["ok"].failed == 1 and d.stats()["refused"].retries >= 1)
    finally:
        d.stop(0.0)
    assert [r.status for r in receiver.requests] == [503, 200, 404]
    assert all(r.headers["Authorization"] == basic("alertmanager", "pw") for r in receiver.requests)
    out, err = capsys.readouterr()
    everything = "\n".join([*errors, caplog.text, out, err, *(r.getMessage() for r in caplog.records)])
    assert "HTTP 503" in everything and "HTTP 404" in everything and "connection refused" in everything
    assert "pw" not in everything and "alertmanager" not in everything and SECRET_PATH not in everything


BAD_URLS = {
    "port not a number": "http://127.0.0.1:notaport/services/T7bad/B7bad/q7bad",
    "user info, port not a number": "http://user:pw@127.0.0.1:pw/h7bad",
    "port out of range": "http://user:pw@127.0.0.1:99999/h7bad",
    "port 0": "http://127.0.0.1:0/h7bad",
    "no host": "http:///services/T7bad/B7bad/q7bad",
    "no host but user info": "https://user:pw@/h7bad",
    "no scheme": "127.0.0.1:9/h7bad",
    "ftp": "ftp://user:pw@127.0.0.1/h7bad",
    "file": "file:///h7bad/q7bad",
    "bad IPv6 literal": "http://[::1/h7bad",
    "a space": "http://127.0.0.1/h7 bad",
    "a newline": "http://127.0.0.1/h7bad\n/q7bad",
    "colon in the user name": "http://us%3Aer:pw@127.0.0.1/h7bad",
    "control character in the password": "http://user:p%0Aw@127.0.0.1/h7bad",
}


@pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
def test_a_malformed_url_is_a_one_line_build_error_naming_the_setting(url: str) -> None:
    for kw in ({"webhook_url_env": "RW_TEST_URL", "environ": {"RW_TEST_URL": url}}, {"webhook_url": url}):
        for kind in ("webhook", "slack"):
            with pytest.raises(SinkConfigError) as err:
                build_sink(kind, name="hook", **kw)  # type: ignore[arg-type]
            message = str(err.value)
            assert "\n" not in message and message.startswith(f"{kind} sink 'hook': webhook_url")
            assert ("$RW_TEST_URL" in message) == ("webhook_url_env" in kw)
            assert "pw" not in message and "127.0.0.1" not in message and "bad" not in message


def test_the_cli_refuses_a_bad_webhook_before_starting(tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, "-m", "runwatch", "watch", str(tmp_path / "x.log"), "--state-dir",
                        str(tmp_path / "state"), "--webhook", "https://alertmanager:pw@example.com:pw/hook"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 64
    assert p.stderr.count("\n") == 1 and p.stdout == ""
    assert "webhook sink 'webhook': webhook_url is not a valid URL" in p.stderr
    assert "pw" not in p.stderr and "alertmanager" not in p.stderr


def test_the_daemon_sends_basic_auth_and_never_prints_the_password(tmp_path: Path, receiver: Receiver) -> None:
    from tests.support.nanochat import nanochat_line
    from tests.support.subprocesses import start_daemon, stop_daemon

    log, state = tmp_path / "train.log", tmp_path / "state"
    log.write_text("".join(nanochat_line(i) for i in range(20)))
    receiver.script = [503]  # the first try fails: the daemon logs the error
    p, r = start_daemon(log, state, with_userinfo(receiver, "alertmanager:pw"))
    try:
        wait_for(lambda: "step 19/100" in r.err(), timeout=20)
        with log.open("a") as f:
            f.write(nanochat_line(20, loss="nan"))
        wait_for(lambda: receiver.delivered, timeout=20)
    finally:
        assert stop_daemon(p) == 0
    assert [a["rule"] for a in receiver.delivered] == ["nonfinite"]
    assert {req.headers["Authorization"] for req in receiver.requests} == {basic("alertmanager", "pw")}
    output = r.err() + "\n".join(r.out_lines())
    assert "HTTP 503" in output and "FIRING critical nonfinite" in output
    assert "pw" not in output and "alertmanager" not in output and SECRET_PATH not in output
