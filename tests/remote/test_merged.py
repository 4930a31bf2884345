"""The merged controller: runs named by their node, every action routed to the member that owns it."""

from __future__ import annotations

import pytest

from runwatch.alerts.types import Alert, Notification
from runwatch.model import AlertState, Notice, Severity
from runwatch.remote.merged import MergedController
from tests.support.fake_controller import FakeController, canned_runs

NAN_KEY = "nonfinite|run=nanochat-d24|metric=grad_norm"


class Waiting(FakeController):
    """A FakeController that also answers the merged view's wait() and all_ended."""

    ended = False

    def wait(self, timeout: float) -> bool:
        return False

    @property
    def all_ended(self) -> bool:
        return self.ended


def three() -> tuple[MergedController, Waiting, Waiting, Waiting]:
    local, n1, n2 = Waiting(canned_runs()), Waiting(canned_runs()), Waiting(canned_runs())
    return MergedController([("", local), ("node1", n1), ("node1:9465", n2)]), local, n1, n2


def test_runs_of_the_same_name_on_two_nodes_stay_apart() -> None:
    merged, *_ = three()
    runs = [s.run for s in merged.snapshots()]
    assert runs == ["nanochat-d24", "baseline-d20", "node1:nanochat-d24", "node1:baseline-d20",
                    "node1:9465:nanochat-d24", "node1:9465:baseline-d20"]
    keys = {a.key for s in merged.snapshots() if s.run.startswith("node1:9465:") for a in s.alerts}
    assert f"node1:9465:{NAN_KEY}" in keys


def test_each_action_goes_to_the_owner_under_its_own_name() -> None:
    merged, local, n1, n2 = three()
    assert merged.silence(f"node1:9465:{NAN_KEY}", 3600.0, "c") == "sil-1"  # longest prefix wins
    merged.acknowledge(f"node1:{NAN_KEY}")
    merged.silence(NAN_KEY, 60.0)
    assert n2.calls == [("silence", NAN_KEY, 3600.0, "c")]
    assert n1.calls == [("acknowledge", NAN_KEY)]
    assert local.calls == [("silence", NAN_KEY, 60.0, "")]


def test_charts_and_logs_come_from_the_owner_named_as_merged() -> None:
    merged, local, n1, n2 = three()
    n2.log = ["only on node n2"]
    chart = merged.chart("node1:9465:nanochat-d24", "loss", 40)
    assert chart is not None and chart.run == "node1:9465:nanochat-d24"
    assert (local.chart_calls, n1.chart_calls, n2.chart_calls) == (0, 0, 1)
    assert merged.log_tail("node1:9465:nanochat-d24", 5) == ["only on node n2"]
    assert merged.chart("node1:nope", "loss", 40) is None


def test_without_a_local_engine_an_unknown_name_is_a_key_error() -> None:
    merged = MergedController([("node1", Waiting(canned_runs()))])
    with pytest.raises(KeyError):
        merged.silence(NAN_KEY, 60.0)


def test_pause_reaches_every_member_and_the_view_ends_only_when_all_do() -> None:
    merged, local, n1, n2 = three()
    merged.set_paused(True)
    assert all(m.calls == [("set_paused", True)] for m in (local, n1, n2))
    local.ended = n1.ended = True
    assert not merged.all_ended
    n2.ended = True
    assert merged.all_ended


def test_pushed_news_is_gathered_with_the_runs_renamed() -> None:
    merged, local, n1, _ = three()
    news = merged.subscribe()
    alert = Alert("nonfinite", (("metric", "loss"), ("run", "train")), AlertState.FIRING, Severity.CRITICAL,
                  "loss is NaN", active_since=1.0)
    n1.feed.publish(Notification(alert, AlertState.FIRING, 1.0), Notice("node1:9464", "error", "not answering"))
    local.feed.publish(Notification(alert, AlertState.FIRING, 1.0))
    merged.snapshots()
    got = news.take().items
    assert [n.alert.run for n in got if isinstance(n, Notification)] == ["train", "node1:train"]
    assert [n.source for n in got if isinstance(n, Notice)] == ["node1:9464"]
