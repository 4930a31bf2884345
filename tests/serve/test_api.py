"""The JSON API's answers on snapshots of a real run (the nanoGPT log with a NaN at step 300), and on
alerts in each state."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from runwatch.model import AlertBrief, AlertState, RunSnapshot, Severity
from runwatch.present import status_object
from runwatch.serve.api import SILENCE_MAX_S, Api, BadRequest, silence_request


class Recorder:
    """Snapshots to answer from, and what the API asked the engine to do."""

    def __init__(self, snaps: list[RunSnapshot]) -> None:
        self.snaps = snaps
        self.asked: list[tuple[str, ...]] = []

    def snapshots(self) -> list[RunSnapshot]:
        return self.snaps

    def silence(self, alert_key: str, duration_s: float, comment: str = "") -> str:
        self.asked.append(("silence", alert_key, str(duration_s), comment))
        return "s1"

    def acknowledge(self, alert_key: str) -> None:
        self.asked.append(("ack", alert_key))


def test_runs_are_the_tail_json_status_objects(nan_snapshots: list[RunSnapshot]) -> None:
    reply = Api(Recorder(nan_snapshots)).get("/api/v1/runs")
    assert reply is not None and reply.status == 200
    assert reply.body == [status_object(s) for s in nan_snapshots]
    strict = json.loads(reply.encoded(), parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert strict[0]["metrics"]["loss"] == "nan"


def test_a_resolved_alert_is_not_acknowledged(nan_snapshots: list[RunSnapshot]) -> None:
    resolved = AlertBrief("stall", AlertState.RESOLVED, Severity.WARNING, key="stall{run=train}", since=1.0)
    engine = Recorder([replace(nan_snapshots[0], alerts=(resolved,))])
    reply = Api(engine).post("/api/v1/alerts/stall%7Brun%3Dtrain%7D/ack", b"")
    assert reply is not None and reply.status == 409 and "resolved" in reply.body["error"]
    assert engine.asked == []
    reply = Api(engine).post("/api/v1/alerts/stall%7Brun%3Dtrain%7D/silence", b'{"duration": 60}')
    assert reply is not None and reply.status == 200 and reply.body["silence_id"] == "s1"  # a silence still may
    assert engine.asked == [("silence", "stall{run=train}", "60.0", "")]


def test_paths_that_are_not_the_apis() -> None:
    api = Api(Recorder([]))
    assert api.get("/api/v1/runs/") is None and api.get("/metrics") is None
    assert api.post("/api/v1/alerts/x/mute", b"") is None and api.post("/api/v1/alerts//ack", b"") is None
    assert api.get("/healthz") is not None


@pytest.mark.parametrize(("body", "want"), [
    (b'{"duration": "1h30m"}', (5400.0, "")), (b'{"duration": 90, "comment": "known"}', (90.0, "known")),
    (b'{"duration": 0.5}', (0.5, "")),
])
def test_silence_bodies(body: bytes, want: tuple[float, str]) -> None:
    assert silence_request(body) == want


@pytest.mark.parametrize("body", [b'{"duration": 0}', b'{"duration": true}', b'{"duration": "400d"}',
                                  f'{{"duration": {SILENCE_MAX_S + 1}}}'.encode(), b'{"duration": 1e999}',
                                  b'{"duration": "1h", "comment": 5}', b"null"])
def test_bad_silence_bodies(body: bytes) -> None:
    with pytest.raises(BadRequest):
        silence_request(body)
