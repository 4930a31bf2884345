"""Alertmanager's postable alert, built from the alerts the real rules raise on a real log with a NaN."""

from __future__ import annotations

import dataclasses
import json

import pytest

from runwatch import replay as replaying
from runwatch.alerting import INTERNAL_RULE
from runwatch.alerts.lifecycle import AlertManager
from runwatch.alerts.rules import all_rules
from runwatch.alerts.rules.nonfinite import NonFinite, NonFiniteParams
from runwatch.alerts.sinks.postable import MACHINE_RULES, alert_labels, label_name, postable_alert, rfc3339
from runwatch.alerts.types import Notification, make_labels
from runwatch.model import AlertState
from runwatch.parsers.source import SourceParser
from runwatch.replay import ReplayClock
from tests.support.alerts import make_notification
from tests.support.nanochat import step_lines, with_nan_at


def nan_run_notifications() -> list[Notification]:
    """The nanochat d24 run's first 300 steps with a NaN loss at step 200, through the real `nonfinite` rule
    and lifecycle: a firing, then (the NaN out of a 5-record window for a second) a resolved."""
    rule = NonFinite(NonFiniteParams(window=5, resolve_after_s=1.0))
    parser = SourceParser("logs/train.log")
    records = parser.feed(with_nan_at(step_lines()[:300], 200), 1, 0.0) + parser.flush()
    manager = AlertManager({rule.id: rule.timing})
    out = replaying.replay(records, [rule], manager=manager, clock=ReplayClock(default_dt=1.0), run="train")
    return out.notifications


@pytest.fixture(scope="module")
def notes() -> list[Notification]:
    return nan_run_notifications()


def test_a_nan_in_a_real_log_becomes_a_firing_alert_with_its_identity_in_labels(notes: list[Notification]) -> None:
    firing = postable_alert(notes[0], host="node1", generator_url="http://node1:9464/")
    assert notes[0].state == AlertState.FIRING
    assert firing["labels"] == {"alertname": "nonfinite", "run": "train", "severity": "critical", "metric": "loss"}
    assert "endsAt" not in firing  # Alertmanager keeps it active while it is re-sent
    assert firing["startsAt"] == rfc3339(notes[0].alert.fired_at or 0.0)
    assert firing["generatorURL"] == "http://node1:9464/"
    notes_ = firing["annotations"]
    assert notes_["summary"] == notes[0].alert.summary and "NaN" in notes_["summary"]
    assert notes_["host"] == "node1" and notes_["step"] == "200" and notes_["value"] == "nan"
    assert "step 200" in notes_["description"] and "value nan" in notes_["description"]
    json.dumps(firing, allow_nan=False)  # strict JSON: Alertmanager refuses a bare NaN


def test_the_resolved_form_carries_ends_at_and_the_same_labels(notes: list[Notification]) -> None:
    states = [n.state for n in notes]
    assert states == [AlertState.FIRING, AlertState.RESOLVED]
    firing, resolved = (postable_alert(n, host="node1") for n in notes)
    assert resolved["labels"] == firing["labels"]  # the same alert in Alertmanager: this ends it
    assert resolved["endsAt"] == rfc3339(notes[1].alert.resolved_at or 0.0)
    assert resolved["startsAt"] == firing["startsAt"] < resolved["endsAt"]
    assert "generatorURL" not in resolved  # none configured: left out rather than sent empty


def test_two_nodes_following_one_run_give_alertmanager_one_identity(notes: list[Notification]) -> None:
    """host says who noticed (an annotation); it is no label, or each node's daemon would make its own alert."""
    on_node1, on_node2 = (postable_alert(notes[0], host=h) for h in ("node1", "node2"))
    assert on_node1["labels"] == on_node2["labels"]
    assert "host" not in on_node1["labels"]
    assert (on_node1["annotations"]["host"], on_node2["annotations"]["host"]) == ("node1", "node2")


def test_alerts_about_a_machine_keep_their_host_as_a_label() -> None:
    """GPU 0 of node 1 is not GPU 0 of node 2: two alerts."""
    gpu = make_notification(rule="gpu_util_low", labels=make_labels(run="train", gpu=0), severity="warning")
    one, two = (alert_labels(gpu.alert, host=h) for h in ("node1", "node2"))
    assert one == {"alertname": "gpu_util_low", "run": "train", "severity": "warning", "gpu": "0", "host": "node1"}
    assert two["host"] == "node2"


def test_the_machine_rules_are_the_rules_that_read_the_system() -> None:
    """The sink cannot import the rules (layering), so it names them; this keeps the list true."""
    reading_system = {rid for rid, r in all_rules().items() if getattr(r, "needs_system", False)}
    assert reading_system | {INTERNAL_RULE} == MACHINE_RULES


def test_the_log_lines_around_the_event_are_in_the_description_without_escapes() -> None:
    n = make_notification(context=("step 379 | loss 2.31", "\x1b[31mstep 380 | loss nan\x1b[0m"))
    description = postable_alert(n, host="h")["annotations"]["description"]
    assert description.endswith("log lines:\nstep 379 | loss 2.31\nstep 380 | loss nan")
    assert "\x1b" not in description


def test_threshold_and_labels_that_are_no_prometheus_names() -> None:
    n = make_notification(threshold=3.5, labels=make_labels(run="r", **{"rank": 2}))
    alert = dataclasses.replace(n.alert, labels=(*n.alert.labels, ("odd-name", "x"), ("empty", "")))
    body = postable_alert(dataclasses.replace(n, alert=alert), host="h")
    assert body["annotations"]["threshold"] == "3.5"
    assert body["labels"]["odd_name"] == "x" and "empty" not in body["labels"] and body["labels"]["rank"] == "2"
    assert label_name("9lives") == "_9lives"


def test_times_are_rfc3339_in_utc_with_milliseconds() -> None:
    assert rfc3339(1_800_000_000.25) == "2027-01-15T08:00:00.250Z"
    assert rfc3339(1_800_000_000.9996) == "2027-01-15T08:00:00.999Z"
