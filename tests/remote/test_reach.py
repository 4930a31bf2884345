"""How a node's runs look while it does not answer (pure)."""

from __future__ import annotations

from runwatch.model import RunState
from runwatch.remote.reach import Reach, as_seen
from tests.support.fake_controller import FakeController


def test_answering_nodes_runs_are_as_they_are() -> None:
    snaps = FakeController().snapshots()
    assert as_seen(snaps, None, "n1:9464", "http://n1:9464") == snaps
    assert as_seen(snaps, Reach(True, 1.0), "n1:9464", "http://n1:9464") == snaps


def test_a_silent_node_keeps_its_last_state_marked() -> None:
    snaps = FakeController().snapshots()
    seen = as_seen(snaps, Reach(False, 1.0, "GET /api/v1/snapshots: timed out"), "n1:9464", "http://n1:9464")
    assert [s.progress for s in seen] == [s.progress for s in snaps]
    assert all(s.unreachable.startswith("node n1:9464 not answering since ") for s in seen)
    assert all(s.unreachable.endswith("timed out") and s.notes[0] == s.unreachable for s in seen)


def test_a_node_never_answered_is_one_waiting_row() -> None:
    [row] = as_seen([], Reach(False, 1.0, "refused"), "n1:9464", "http://n1:9464")
    assert (row.run, row.state, row.source) == ("", RunState.WAITING, "http://n1:9464") and row.unreachable
