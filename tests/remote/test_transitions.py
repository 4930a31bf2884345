"""Alert transitions between two polls of a node, as notifications (pure)."""

from __future__ import annotations

from dataclasses import replace

from runwatch.model import AlertState, RunSnapshot
from runwatch.remote.transitions import alert_news
from tests.support.fake_controller import FakeController, canned_alerts

SPIKE, NAN, STRAGGLER = canned_alerts("nanochat-d24")  # resolved, firing, pending


def snap(*alerts) -> list[RunSnapshot]:  # type: ignore[no-untyped-def]
    [s] = FakeController().snapshots()[:1]
    return [replace(s, alerts=alerts)]


def test_firing_once_then_resolved_once() -> None:
    news, seen = alert_news({}, snap(NAN, SPIKE, STRAGGLER), now=5.0)
    assert [(n.alert.rule, n.state) for n in news] == [("nonfinite", AlertState.FIRING)]  # not the old resolved
    assert news[0].alert.run == "nanochat-d24" and news[0].payload()["labels"] == {"metric": "grad_norm", "rank": 0}
    again, seen = alert_news(seen, snap(NAN, SPIKE, STRAGGLER), now=6.0)
    assert again == []
    resolved, _ = alert_news(seen, snap(replace(NAN, state=AlertState.RESOLVED), SPIKE, STRAGGLER), now=7.0)
    assert [(n.alert.rule, n.state) for n in resolved] == [("nonfinite", AlertState.RESOLVED)]


def test_silenced_is_not_news() -> None:
    news, seen = alert_news({}, snap(replace(NAN, silenced=True)), now=5.0)
    assert news == [] and seen == {NAN.key: AlertState.FIRING}
