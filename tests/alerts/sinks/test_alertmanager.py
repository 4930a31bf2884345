"""The Alertmanager sink against real HTTP servers on 127.0.0.1: the API path, an HA pair, re-sends while
active, a resolved alert said until taken, retries through the outbox."""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runwatch.alerts.sinks import (
    AlertmanagerSink,
    Dispatcher,
    PermanentError,
    RetryableError,
    SinkConfigError,
)
from runwatch.alerts.sinks.alertmanager import RESOLVED_KEEP_S
from runwatch.alerts.sinks.redact import redact
from runwatch.alerts.types import Notification
from runwatch.model import AlertState
from tests.support.alerts import make_notification
from tests.support.receiver import FAST, Receiver
from tests.support.waiting import wait_for

NOW = time.time()


def firing(nid: str = "f1") -> Notification:
    return make_notification(nid, active_since=NOW - 5, fired_at=NOW - 5)


def resolved(nid: str = "r1") -> Notification:
    n = make_notification(nid, AlertState.RESOLVED, active_since=NOW - 5, fired_at=NOW - 5)
    return dataclasses.replace(n, alert=dataclasses.replace(n.alert, resolved_at=NOW))


def base(r: Receiver) -> str:
    return f"http://127.0.0.1:{r.port}"


def posted(r: Receiver) -> list[tuple[str, bool]]:
    """(alertname, has endsAt) of every alert in every request the receiver answered 2xx, in order."""
    return [(a["labels"]["alertname"], "endsAt" in a) for body in r.delivered for a in body]


def send(sink: AlertmanagerSink, n: Notification) -> None:
    sink.send(n.payload(), n)


@pytest.fixture
def second() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def test_posts_a_list_to_the_v2_api_of_the_base_url(receiver: Receiver) -> None:
    send(AlertmanagerSink("am", urls=[base(receiver) + "/"], host="node1"), firing())
    (request,) = receiver.requests
    assert request.path == "/api/v2/alerts"
    assert request.headers["Content-Type"].startswith("application/json")
    [alert] = request.json()
    assert alert["labels"]["alertname"] == "nonfinite" and alert["annotations"]["host"] == "node1"


def test_a_route_prefix_is_kept_and_a_full_api_url_is_not_doubled(receiver: Receiver) -> None:
    for url in (base(receiver) + "/am", base(receiver) + "/am/api/v2/alerts"):
        send(AlertmanagerSink("am", urls=[url]), firing())
    assert [r.path for r in receiver.requests] == ["/am/api/v2/alerts", "/am/api/v2/alerts"]


def test_user_info_becomes_basic_auth_and_never_shows(receiver: Receiver) -> None:
    receiver.default = 503
    sink = AlertmanagerSink("am", urls=[f"http://ops:s3cr3t-pw@127.0.0.1:{receiver.port}"])
    with pytest.raises(RetryableError) as err:
        send(sink, firing())
    auth = receiver.requests[0].headers["Authorization"]
    assert auth == "Basic " + base64.b64encode(b"ops:s3cr3t-pw").decode()
    message = str(err.value)
    assert message == f"alertmanager sink 'am' (127.0.0.1:{receiver.port}): HTTP 503 (oops)"
    assert "s3cr3t" not in message + repr(sink) and "s3cr3t-pw" not in redact("failed at s3cr3t-pw")


def test_every_member_of_an_ha_pair_gets_every_alert(receiver: Receiver, second: Receiver) -> None:
    send(AlertmanagerSink("am", urls=[base(receiver), base(second)]), firing())
    assert posted(receiver) == posted(second) == [("nonfinite", False)]


def test_one_member_down_does_not_hold_the_queue_and_hears_it_at_the_next_refresh(
        receiver: Receiver, second: Receiver) -> None:
    second.default = 500
    sink = AlertmanagerSink("am", urls=[base(receiver), base(second)])
    send(sink, firing())  # delivered: one member took it
    send(sink, resolved())
    second.default = 200
    sink.refresh()
    assert posted(second) == [("nonfinite", True)]  # the member that missed it hears the end
    sink.refresh()
    assert posted(second) == [("nonfinite", True)] and sink.active() == {}  # taken by both: forgotten


def test_no_member_taking_it_is_retryable_or_permanent_as_their_answers(receiver: Receiver, second: Receiver) -> None:
    receiver.default, second.default = 400, 503
    sink = AlertmanagerSink("am", urls=[base(receiver), base(second)])
    with pytest.raises(RetryableError, match=r"HTTP 400 .*; .*HTTP 503"):
        send(sink, firing())
    second.default = 400
    with pytest.raises(PermanentError):
        send(sink, firing())


def test_a_refresh_says_every_firing_alert_again_in_one_request(receiver: Receiver) -> None:
    sink = AlertmanagerSink("am", urls=[base(receiver)])
    send(sink, firing())
    other = make_notification("g1", rule="stall", active_since=NOW - 5, fired_at=NOW - 5)
    send(sink, other)
    sink.refresh()
    assert [len(b) for b in receiver.delivered] == [1, 1, 2]
    assert sorted(posted(receiver)[2:]) == [("nonfinite", False), ("stall", False)]


def test_a_resolved_alert_is_said_until_a_2xx_takes_it_then_no_more(receiver: Receiver) -> None:
    sink = AlertmanagerSink("am", urls=[base(receiver)])
    send(sink, firing())
    receiver.default = 500
    with pytest.raises(RetryableError):
        send(sink, resolved())
    with pytest.raises(RetryableError):
        sink.refresh()  # the refresh says the end too, not the firing it replaced
    assert [a["endsAt"] is not None for a in receiver.requests[-1].json()] == [True]
    receiver.default = 200
    sink.refresh()
    sink.refresh()
    assert posted(receiver) == [("nonfinite", False), ("nonfinite", True)]


def test_a_resolved_alert_no_member_takes_is_given_up_after_an_hour(receiver: Receiver) -> None:
    clock = [0.0]
    receiver.default = 500
    sink = AlertmanagerSink("am", urls=[base(receiver)], clock=lambda: clock[0])
    with pytest.raises(RetryableError):
        send(sink, resolved())
    clock[0] = RESOLVED_KEEP_S + 1
    sink.refresh()  # nothing left to say: no request
    assert receiver.count() == 1 and sink.active() == {}


def test_alerts_firing_before_a_restart_are_refreshed(receiver: Receiver) -> None:
    sink = AlertmanagerSink("am", urls=[base(receiver)])
    sink.resume([firing().alert, resolved().alert])
    sink.refresh()
    assert posted(receiver) == [("nonfinite", False)]


def test_an_alert_that_no_longer_fires_is_not_re_sent_though_its_end_was_held_back(receiver: Receiver) -> None:
    """A silence holds back the "resolved": the alert must not fire in Alertmanager for ever, it lapses."""
    sink = AlertmanagerSink("am", urls=[base(receiver)])
    send(sink, firing())
    sink.retain({firing().alert.key})
    assert list(sink.active()) == [firing().alert.key]
    sink.retain(set())
    sink.refresh()
    assert sink.active() == {} and receiver.count() == 1


def test_send_resolved_off_is_refused_at_start_up() -> None:
    from runwatch.alerts.sinks import SinkFilter

    with pytest.raises(SinkConfigError, match="send_resolved = false would keep every alert firing") as err:
        AlertmanagerSink("am", urls=["http://127.0.0.1:9"], filter=SinkFilter(send_resolved=False))
    assert err.value.key == "send_resolved"


def dispatcher(sink: AlertmanagerSink, outbox: Path | None = None) -> Dispatcher:
    d = Dispatcher([sink], outbox=outbox, backoff=FAST)
    d.start()
    return d


def test_the_delivery_thread_re_sends_active_alerts_on_the_interval(receiver: Receiver) -> None:
    d = dispatcher(AlertmanagerSink("am", urls=[base(receiver)], resend_interval=0.2))
    try:
        d.submit(firing())
        wait_for(lambda: len(posted(receiver)) >= 4, timeout=30)  # one notification, then refreshes
        d.submit(resolved())
        wait_for(lambda: ("nonfinite", True) in posted(receiver), timeout=30)
        after_end = receiver.count()
        wait_for(lambda: d.stats()["am"].delivered == 2, timeout=30)
        time.sleep(0.6)  # three refresh intervals pass: none may say the ended alert again
    finally:
        d.stop(1.0)
    assert set(posted(receiver)[:-1]) == {("nonfinite", False)} and posted(receiver)[-1] == ("nonfinite", True)
    assert receiver.count() == after_end  # nothing said of it once its end was taken


def test_a_500_is_retried_from_the_outbox_until_taken(receiver: Receiver, tmp_path: Path) -> None:
    receiver.default = 500
    sink = AlertmanagerSink("am", urls=[base(receiver)], resend_interval=3600)
    d = dispatcher(sink, tmp_path)
    try:
        d.submit(firing())
        wait_for(lambda: receiver.count() >= 3, timeout=30)  # tried, backed off, tried again
        kept: dict[str, Any] = json.loads((tmp_path / "am.json").read_text())
        assert [n["id"] for n in kept["pending"]] == ["f1"]
        receiver.default = 200
        wait_for(lambda: d.stats()["am"].delivered == 1, timeout=30)
    finally:
        d.stop(1.0)
    assert posted(receiver) == [("nonfinite", False)]
    assert json.loads((tmp_path / "am.json").read_text())["pending"] == []


def test_refreshes_failing_are_reported_once_not_at_every_try(receiver: Receiver) -> None:
    """Alertmanager down while an alert fires and nothing new is queued: the user hears of it, once."""
    said: list[str] = []
    sink = AlertmanagerSink("am", urls=[base(receiver)], resend_interval=0.05)
    d = Dispatcher([sink], backoff=FAST, on_error=lambda name, message: said.append(message))
    d.start()
    try:
        d.submit(firing())
        wait_for(lambda: d.stats()["am"].delivered == 1, timeout=30)
        receiver.default = 503
        wait_for(lambda: receiver.count() >= 5, timeout=30)  # several refreshes failed
        receiver.default = 200
        wait_for(lambda: receiver.requests[-1].status == 200, timeout=30)
    finally:
        d.stop(1.0)
    assert said == [f"alertmanager sink 'am' (127.0.0.1:{receiver.port}): HTTP 503 (oops); active alerts not "
                    f"re-sent, will try again"]


@pytest.mark.parametrize(("urls", "says"), [
    ([], "urls: give at least one Alertmanager URL"),
    (["ftp://am:9093"], r"urls\[0\] must be an http:// or https:// URL"),
    (["http://am:9093", "http://:9093"], r"urls\[1\] has no host"),
    (["http://am:port"], r"urls\[0\] is not a valid URL: the port must be a number"),
    (["http://am:9093/?token=abcdef123"], r"urls\[0\]: give the Alertmanager's base URL"),
])
def test_a_bad_url_is_a_config_error_naming_the_key_not_the_url(urls: list[str], says: str) -> None:
    with pytest.raises(SinkConfigError, match=says) as err:
        AlertmanagerSink("am", urls=urls)
    assert err.value.key == "urls"
    assert "abcdef123" not in str(err.value)
