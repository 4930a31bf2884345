"""File and terminal sinks, the outbox format, and building sinks from settings."""

from __future__ import annotations

import io
import json
import math
import os
from pathlib import Path

import pytest

from runwatch.alerts.sinks import (
    CommandSink,
    FileSink,
    PermanentError,
    SinkConfigError,
    SlackSink,
    TerminalSink,
    WebhookSink,
    build_sink,
)
from runwatch.alerts.sinks.codec import notification_from_json, notification_to_json
from runwatch.alerts.sinks.outbox import Outbox
from runwatch.model import AlertState
from tests.support.alerts import make_notification


def test_file_sink_appends_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "alerts" / "runwatch.jsonl"
    sink = FileSink("f", path=path, fsync=True)
    for n in (make_notification("a", summary="line\nbreak"), make_notification("b", state=AlertState.RESOLVED)):
        sink.send(n.payload(), n)
    lines = path.read_text().splitlines()
    assert [json.loads(x)["id"] for x in lines] == ["a", "b"] and json.loads(lines[0])["summary"] == "line\nbreak"


def test_file_sink_errors(tmp_path: Path) -> None:
    with pytest.raises(SinkConfigError, match="is a directory"):
        FileSink("f", path=tmp_path)
    blocked = tmp_path / "ro"
    blocked.mkdir()
    blocked.chmod(0o500)
    n = make_notification()
    try:
        if os.geteuid() != 0:
            with pytest.raises(PermanentError, match="cannot append"):
                FileSink("f", path=blocked / "a.jsonl").send(n.payload(), n)
    finally:
        blocked.chmod(0o700)


def test_terminal_sink_writes_one_line() -> None:
    stream = io.StringIO()
    n = make_notification()
    TerminalSink(stream=stream).send(n.payload(), n)
    assert stream.getvalue().count("\n") == 1 and stream.getvalue().startswith("runwatch: FIRING critical")


def test_codec_round_trip_keeps_nan_and_enums() -> None:
    n = make_notification(threshold=float("inf"))
    back = notification_from_json(json.loads(json.dumps(notification_to_json(n), allow_nan=False)))
    assert back.alert.labels == n.alert.labels and back.state is AlertState.FIRING
    assert math.isnan(back.alert.value) and back.alert.threshold == float("inf")  # type: ignore[arg-type]
    assert back.payload() == n.payload()


def test_outbox_file_names_and_corrupt_files(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    assert box.path("slack").name == "slack.json"
    odd = box.path("../team/slack")
    assert odd.parent == tmp_path and "team_slack-" in odd.name
    box.save("slack", [make_notification("a")], ["z"])
    assert oct(box.path("slack").stat().st_mode & 0o777) == "0o600"
    loaded = box.load("slack")
    assert [n.id for n in loaded.pending] == ["a"] and loaded.delivered == ["z"] and not loaded.problems
    box.path("slack").write_text("{not json")
    loaded = box.load("slack")
    assert loaded.pending == [] and "set aside" in loaded.problems[0]
    assert (tmp_path / "slack.json.corrupt").exists() and not box.path("slack").exists()
    assert not list(tmp_path.glob(".*.tmp"))


def test_build_sink_from_plain_settings(tmp_path: Path) -> None:
    env = {"SLACK_URL": "https://hooks.slack.com/services/T/B/buildSecret0"}
    slack = build_sink("slack", name="team", webhook_url_env="SLACK_URL", environ=env, min_severity="warning",
                       rules=["nonfinite"], send_resolved=False, host="n1")
    assert isinstance(slack, SlackSink) and slack.timeout == 10 and slack.filter.rules == {"nonfinite"}
    assert isinstance(build_sink("webhook", webhook_url="http://127.0.0.1:9/x", timeout=2), WebhookSink)
    command = build_sink("command", run=["true"], timeout=5)
    assert isinstance(command, CommandSink) and command.timeout == 5 and command.name == "command"
    assert isinstance(build_sink("file", path=tmp_path / "a.jsonl"), FileSink)
    assert isinstance(build_sink("terminal"), TerminalSink)
    with pytest.raises(SinkConfigError, match="unknown sink type 'pager'"):
        build_sink("pager")
    with pytest.raises(SinkConfigError, match="'run' is not a setting of this sink type"):
        build_sink("slack", webhook_url_env="SLACK_URL", environ=env, run=["x"])
    with pytest.raises(SinkConfigError, match="'path' is required"):
        build_sink("file")
