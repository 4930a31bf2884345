"""`--listen`/`--textfile` set up over an engine: what `watch` and `tail` open before they start."""

from __future__ import annotations

from pathlib import Path

import pytest

from runwatch.alerts.sinks.redact import redact
from runwatch.commands.serving import TOKEN_ENV, Exports, linked_sinks, listening_line, open_exports
from runwatch.engine import Engine, EngineOptions
from runwatch.serve.address import ListenAddress

TOKEN = "serving-test-token-4711"


def test_nothing_asked_nothing_opened(tmp_path: Path) -> None:
    assert open_exports(Engine([str(tmp_path / "x.log")], EngineOptions(system=False)), Exports()) == (None, None)


def test_the_token_is_kept_out_of_every_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    engine = Engine([str(tmp_path / "x.log")], EngineOptions(system=False))
    listener, textfile = open_exports(engine, Exports(ListenAddress("127.0.0.1", 0), tmp_path / "m.prom"))
    assert listener is not None and textfile is not None and textfile.path == tmp_path / "m.prom"
    try:
        line = listening_line(listener)
        assert f"127.0.0.1:{listener.address.port}" in line and "need the bearer token" in line
        assert TOKEN not in line
        assert TOKEN not in redact(f"sent Authorization: Bearer {TOKEN}")  # registered: redacted wherever quoted
    finally:
        listener.stop()


def test_without_a_token_it_says_who_is_answered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    listener, _ = open_exports(Engine([str(tmp_path / "x.log")], EngineOptions(system=False)),
                               Exports(ListenAddress("127.0.0.1", 0)))
    assert listener is not None and listener.token is None
    try:
        assert "only this machine is answered (no RUNWATCH_TOKEN)" in listening_line(listener)
    finally:
        listener.stop()


def test_alertmanager_sinks_link_back_to_the_listener_unless_told_otherwise() -> None:
    from dataclasses import replace

    from runwatch.alerting import AlertFlags

    configs = AlertFlags(webhook="http://127.0.0.1:1/hook", alertmanager=("http://am:9093",)).sink_configs()
    own = replace(configs[-1], settings=replace(configs[-1].settings, generator_url="https://grafana/x"))
    linked = linked_sinks([*configs, own], Exports(listen=ListenAddress("10.1.2.3", 9464)))
    assert [getattr(sc.settings, "generator_url", None) for sc in linked] == [
        None, "http://10.1.2.3:9464/api/v1/alerts", "https://grafana/x"]
    import socket

    anywhere = linked_sinks(configs, Exports(listen=ListenAddress("0.0.0.0", 9464)))
    assert anywhere[-1].settings.generator_url == f"http://{socket.gethostname()}:9464/api/v1/alerts"
    assert linked_sinks(configs, Exports()) == configs  # no listener: nothing to link to
    assert linked_sinks(configs, Exports(listen=ListenAddress("127.0.0.1", 0))) == configs
