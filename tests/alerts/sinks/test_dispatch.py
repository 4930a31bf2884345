"""The dispatcher end to end with a real receiver: retries, hangs, outages, restarts, dedupe."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runwatch.alerts.sinks import Dispatcher, SinkFilter, WebhookSink
from runwatch.alerts.types import Notification
from runwatch.model import AlertState, Severity
from tests.support.alerts import make_notification
from tests.support.receiver import FAST, HANG, SECRET_PATH, Receiver
from tests.support.waiting import wait_for


class Errors:
    """Collects on_error calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, sink: str, message: str) -> None:
        self.calls.append((sink, message))


@pytest.fixture
def errors() -> Errors:
    return Errors()


@pytest.fixture
def dispatchers() -> Iterator[list[Dispatcher]]:
    """Dispatchers a test made; any still running are stopped at the end."""
    made: list[Dispatcher] = []
    yield made
    for d in made:
        d.stop(drain_timeout=0)


def webhook(url: str, *, timeout: float = 2.0, **kw: Any) -> WebhookSink:
    return WebhookSink("hook", url=url, timeout=timeout, **kw)


def start(made: list[Dispatcher], sinks: list[Any], errors: Errors, outbox: Path | None = None) -> Dispatcher:
    d = Dispatcher(sinks, outbox=outbox, backoff=FAST, on_error=errors)
    made.append(d)
    d.start()
    return d


def test_500_then_recovery_delivers_exactly_once(receiver: Receiver, dispatchers: list[Dispatcher],
                                                 errors: Errors) -> None:
    receiver.script = [500, 500]
    d = start(dispatchers, [webhook(receiver.url)], errors)
    d.submit(make_notification("a"))
    wait_for(lambda: d.stats()["hook"].delivered == 1)
    d.stop()
    assert receiver.count() == 3
    assert [b["id"] for b in receiver.delivered] == ["a"]
    stats = d.stats()["hook"]
    assert (stats.delivered, stats.retries, stats.failed, stats.pending) == (1, 2, 0, 0)
    assert errors.calls == [("hook", "webhook sink 'hook': HTTP 500 (oops); will retry")]  # once per outage


def test_a_hanging_server_does_not_block_submit_and_is_retried(receiver: Receiver,
                                                               dispatchers: list[Dispatcher],
                                                               errors: Errors) -> None:
    receiver.script = [HANG, HANG]
    d = start(dispatchers, [webhook(receiver.url, timeout=0.2)], errors)
    d.submit(make_notification("a"))  # returns while the first try is still waiting on the server
    d.submit(make_notification("b"))
    assert d.stats()["hook"].pending == 2
    wait_for(lambda: receiver.count() >= 2)  # the head was tried again after its timeout
    wait_for(lambda: d.stats()["hook"].delivered == 2)
    assert [b["id"] for b in receiver.delivered] == ["a", "b"]
    assert "timed out after 0.2s" in errors.calls[0][1]


def test_connection_refused_then_up_delivers_after(free_port: int, dispatchers: list[Dispatcher],
                                                   errors: Errors) -> None:
    url = f"http://127.0.0.1:{free_port}{SECRET_PATH}"
    d = start(dispatchers, [webhook(url)], errors)
    d.submit(make_notification("a"))
    wait_for(lambda: d.stats()["hook"].retries >= 3)
    assert d.stats()["hook"].pending == 1
    receiver = Receiver(port=free_port)
    try:
        wait_for(lambda: d.stats()["hook"].delivered == 1)
        assert [b["id"] for b in receiver.delivered] == ["a"]
    finally:
        d.stop()
        receiver.stop()
    assert errors.calls == [("hook", "webhook sink 'hook': connection refused; will retry")]


def test_400_is_not_retried_and_reported_once(receiver: Receiver, dispatchers: list[Dispatcher],
                                             errors: Errors) -> None:
    receiver.script = [400]
    d = start(dispatchers, [webhook(receiver.url)], errors)
    d.submit(make_notification("bad"))
    d.submit(make_notification("good"))
    wait_for(lambda: d.stats()["hook"].delivered == 1)
    d.stop()
    assert receiver.count() == 2
    assert [b["id"] for b in receiver.delivered] == ["good"]
    assert errors.calls == [("hook", "webhook sink 'hook': HTTP 400 (invalid_payload); notification dropped")]
    assert d.stats()["hook"].failed == 1


def test_restart_redelivers_from_the_outbox_once(free_port: int, tmp_path: Path,
                                                 dispatchers: list[Dispatcher], errors: Errors) -> None:
    outbox = tmp_path / "outbox"
    url = f"http://127.0.0.1:{free_port}{SECRET_PATH}"
    first = start(dispatchers, [webhook(url)], errors, outbox)
    first.submit(make_notification("kept"))
    wait_for(lambda: first.stats()["hook"].retries >= 1)
    first.stop(drain_timeout=0.05)
    saved = json.loads((outbox / "hook.json").read_text())
    assert [n["id"] for n in saved["pending"]] == ["kept"]

    receiver = Receiver(port=free_port)
    try:
        second = start(dispatchers, [webhook(url)], errors, outbox)
        wait_for(lambda: second.stats()["hook"].delivered == 1)
        second.submit(make_notification("kept"))  # the engine resubmits after its own restart
        second.stop()
        third = start(dispatchers, [webhook(url)], errors, outbox)
        third.submit(make_notification("kept"))
        third.stop()
        assert [b["id"] for b in receiver.delivered] == ["kept"]
        assert receiver.count() == 1
    finally:
        receiver.stop()
    saved = json.loads((outbox / "hook.json").read_text())
    assert saved["pending"] == [] and saved["delivered"] == ["kept"]


def test_outbox_keeps_the_whole_notification(free_port: int, tmp_path: Path, dispatchers: list[Dispatcher],
                                             errors: Errors) -> None:
    """The Slack message needs context and history after a restart, which the §5 payload lacks."""
    d = Dispatcher([webhook(f"http://127.0.0.1:{free_port}/x")], outbox=tmp_path, backoff=FAST, on_error=errors)
    n = make_notification("n1")
    d.submit(n)
    d.stop()  # never started: still persisted
    again = Dispatcher([webhook(f"http://127.0.0.1:{free_port}/x")], outbox=tmp_path, on_error=errors)
    ((loaded,),) = [again._workers["hook"].outbox_state()[0]]
    assert loaded.alert.context == n.alert.context and loaded.payload() == n.payload()
    assert loaded.alert.history[:4] == n.alert.history[:4] and str(loaded.alert.history[4]) == "nan"
    again.stop()


def test_submitting_twice_delivers_once(receiver: Receiver, dispatchers: list[Dispatcher], errors: Errors) -> None:
    d = Dispatcher([webhook(receiver.url)], backoff=FAST, on_error=errors)
    dispatchers.append(d)
    d.submit(make_notification("same"))
    d.submit(make_notification("same"))
    d.start()
    wait_for(lambda: d.stats()["hook"].delivered == 1)
    d.submit(make_notification("same"))
    d.stop()
    assert receiver.count() == 1


def test_notifications_without_id_get_a_stable_one(receiver: Receiver, dispatchers: list[Dispatcher],
                                                   errors: Errors) -> None:
    d = start(dispatchers, [webhook(receiver.url)], errors)
    d.submit(make_notification(""))
    d.submit(make_notification(""))
    d.stop()
    (body,) = receiver.delivered
    assert body["id"].startswith("nonfinite{") and body["id"].endswith("|firing|1800000000.0")


def test_filters_choose_sinks(receiver: Receiver, dispatchers: list[Dispatcher], errors: Errors) -> None:
    loud = WebhookSink("critical-only", url=receiver.url, filter=SinkFilter.of("critical", send_resolved=False))
    spike = WebhookSink("spikes", url=receiver.url, filter=SinkFilter.of(rules=["loss_spike"]))
    d = start(dispatchers, [loud, spike], errors)
    d.submit(make_notification("nan-fire"))
    d.submit(make_notification("nan-ok", state=AlertState.RESOLVED))
    d.submit(make_notification("spike", rule="loss_spike", severity=Severity.WARNING))
    d.stop()
    assert {k: v.delivered for k, v in d.stats().items()} == {"critical-only": 1, "spikes": 1}
    assert sorted(b["id"] for b in receiver.delivered) == ["nan-fire", "spike"]


def test_a_slow_sink_does_not_delay_another(receiver: Receiver, dispatchers: list[Dispatcher],
                                            errors: Errors) -> None:
    slow = Receiver(script=[HANG])
    try:
        d = start(dispatchers, [WebhookSink("slow", url=slow.url, timeout=5), webhook(receiver.url)], errors)
        d.submit(make_notification("a"))
        wait_for(lambda: d.stats()["hook"].delivered == 1)
        assert d.stats()["slow"].pending == 1
        slow.release.set()  # the slow server gives up on its connection; the sink retries and delivers
        wait_for(lambda: d.stats()["slow"].delivered == 1)
        d.stop()
    finally:
        slow.stop()


def test_threads_are_named_and_joined(receiver: Receiver, tmp_path: Path, errors: Errors) -> None:
    d = Dispatcher([webhook(receiver.url)], outbox=tmp_path, backoff=FAST, on_error=errors)
    with d:
        names = {t.name for t in threading.enumerate()}
        assert {"runwatch-sink-hook", "runwatch-outbox"} <= names
    assert not any(t.name.startswith("runwatch-") for t in threading.enumerate())


def test_stop_persists_what_could_not_be_sent_in_time(free_port: int, tmp_path: Path, errors: Errors) -> None:
    d = Dispatcher([webhook(f"http://127.0.0.1:{free_port}/x")], outbox=tmp_path, backoff=FAST, on_error=errors)
    d.start()
    for i in range(3):
        d.submit(make_notification(f"n{i}"))
    d.stop(drain_timeout=0.05)
    saved = json.loads((tmp_path / "hook.json").read_text())
    assert [n["id"] for n in saved["pending"]] == ["n0", "n1", "n2"]  # submission order kept
    with pytest.raises(RuntimeError):
        d.submit(make_notification("late"))


def test_a_sink_bug_is_reported_and_the_thread_goes_on(dispatchers: list[Dispatcher], errors: Errors) -> None:
    class Buggy:
        name, filter = "buggy", SinkFilter()

        def __init__(self) -> None:
            self.sent: list[str] = []

        def send(self, payload: dict[str, Any], notification: Notification) -> None:
            if notification.id == "boom":
                raise KeyError("http://10.0.0.1/hook/s3cretvalue")
            self.sent.append(notification.id)

    sink = Buggy()
    d = start(dispatchers, [sink], errors)
    d.submit(make_notification("boom"))
    d.submit(make_notification("fine"))
    wait_for(lambda: sink.sent == ["fine"])
    d.stop()
    ((name, message),) = errors.calls
    assert name == "buggy" and "KeyError" in message and "s3cretvalue" not in message


def test_duplicate_sink_names_are_refused() -> None:
    with pytest.raises(ValueError, match="two sinks are named 'hook'"):
        Dispatcher([webhook("http://127.0.0.1:9/a"), webhook("http://127.0.0.1:9/b")])


def test_queue_is_bounded_oldest_dropped_first(monkeypatch: pytest.MonkeyPatch, errors: Errors) -> None:
    monkeypatch.setattr("runwatch.alerts.sinks.worker.MAX_PENDING", 3)
    d = Dispatcher([webhook("http://127.0.0.1:9/x")], on_error=errors)
    for i in range(5):
        d.submit(make_notification(f"n{i}"))
    assert (d.stats()["hook"].pending, d.stats()["hook"].failed) == (3, 2)
    assert [n.id for n in d._workers["hook"].outbox_state()[0]] == ["n2", "n3", "n4"]
    d.stop()


@pytest.mark.parametrize("kept", [False, True], ids=["no-outbox", "outbox"])
def test_what_was_not_delivered_at_shutdown_is_counted_and_said_where_it_went(
        free_port: int, tmp_path: Path, dispatchers: list[Dispatcher], errors: Errors, kept: bool) -> None:
    """`tail` (no outbox) said "what it holds stays in the outbox": the alert was lost (review finding 3)."""
    d = start(dispatchers, [webhook(f"http://127.0.0.1:{free_port}/x")], errors,
              outbox=tmp_path / "outbox" if kept else None)
    d.submit(make_notification("a"))
    d.submit(make_notification("b"))
    wait_for(lambda: d.stats()["hook"].retries >= 1)
    d.stop(drain_timeout=0.05)
    last = errors.calls[-1]
    where = "kept in the outbox, sent at the next start" if kept else "dropped (only `runwatch watch` keeps"
    assert last[0] == "hook" and last[1].startswith(f"2 notifications not delivered by shutdown: {where}")


def test_a_send_still_hanging_at_shutdown_is_reported_as_dropped_without_an_outbox(
        receiver: Receiver, dispatchers: list[Dispatcher], errors: Errors) -> None:
    receiver.script = [HANG]
    d = start(dispatchers, [webhook(receiver.url, timeout=10.0)], errors)
    d.submit(make_notification("a"))
    wait_for(lambda: receiver.count() == 1)
    d.stop(drain_timeout=0.05)
    assert errors.calls == [("hook", "still sending at shutdown; 1 notification not delivered by shutdown: "
                                     "dropped (only `runwatch watch` keeps undelivered alerts, in its state dir)")]
    receiver.release.set()  # the abandoned send returns; its thread ends


def test_nothing_is_said_when_everything_was_delivered(receiver: Receiver, dispatchers: list[Dispatcher],
                                                       errors: Errors) -> None:
    d = start(dispatchers, [webhook(receiver.url)], errors)
    d.submit(make_notification("a"))
    d.stop()
    assert receiver.count() == 1 and errors.calls == []


def test_an_alert_raised_after_an_outage_is_not_held_behind_the_backoff(free_port: int, dispatchers: list[Dispatcher],
                                                                        errors: Errors) -> None:
    """Issue 11: after a minute of 500s the backoff had grown to ~64 s, and NaNs raised once the
    receiver was back waited up to 37 s in the queue. A new notification probes at once: the queue
    drains in order (the old one first) as soon as the receiver answers."""
    from runwatch.alerts.sinks import Backoff

    url = f"http://127.0.0.1:{free_port}{SECRET_PATH}"
    d = Dispatcher([webhook(url, timeout=0.5)], backoff=Backoff(initial=0.05, factor=2.0, cap=30.0, jitter=0.0),
                   on_error=errors)
    dispatchers.append(d)
    d.start()
    d.submit(make_notification("old"))
    wait_for(lambda: d.stats()["hook"].retries >= 6, timeout=10)  # backed off to seconds by now
    receiver = Receiver(port=free_port)
    try:
        d.submit(make_notification("new"))
        wait_for(lambda: d.stats()["hook"].delivered == 2, timeout=1.0)
        assert [b["id"] for b in receiver.delivered] == ["old", "new"]
    finally:
        d.stop()
        receiver.stop()


def test_a_probe_that_fails_does_not_lengthen_the_backoff(free_port: int, dispatchers: list[Dispatcher],
                                                          errors: Errors) -> None:
    from runwatch.alerts.sinks import Backoff

    url = f"http://127.0.0.1:{free_port}{SECRET_PATH}"
    d = Dispatcher([webhook(url, timeout=0.5)], backoff=Backoff(initial=0.05, factor=2.0, cap=30.0, jitter=0.0),
                   on_error=errors)
    dispatchers.append(d)
    d.start()
    d.submit(make_notification("a"))
    wait_for(lambda: d.stats()["hook"].retries >= 3)
    worker = d._workers["hook"]
    before = worker._failures
    d.submit(make_notification("b"))  # the receiver is still down: one probe, refused
    wait_for(lambda: d.stats()["hook"].retries >= 4)
    assert worker._failures == before and worker._scheduled is None
