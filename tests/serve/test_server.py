"""The listener over real HTTP on 127.0.0.1 (an ephemeral port), in front of a real engine following the
nanoGPT log with a NaN at step 300."""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from prometheus_client.parser import text_string_to_metric_families

from runwatch.engine import Engine
from runwatch.model import RunSnapshot
from runwatch.present import status_object
from runwatch.serve.address import ListenAddress
from runwatch.serve.api import Api
from runwatch.serve.metrics import registry_for
from runwatch.serve.server import MAX_BODY, MAX_CONNECTIONS, Listener
from tests.support.http import Answer, request
from tests.support.waiting import wait_for

LOOPBACK = ListenAddress("127.0.0.1", 0)
TOKEN = "t0ken-for-the-tests"


def serve(engine: object, token: str | None = None, **kw: object) -> Listener:
    return Listener(LOOPBACK, Api(engine), registry_for(engine, "node7"), token=token, **kw)  # type: ignore[arg-type]


@pytest.fixture
def listener(nan_engine: Engine) -> Iterator[Listener]:
    with serve(nan_engine) as lst:
        yield lst


def ask(lst: Listener, method: str, path: str, body: bytes | None = None, **headers: str) -> Answer:
    return request(lst.address.host, lst.address.port, method, path, body, headers)


def nonfinite_key(lst: Listener, metric: str = "loss") -> str:
    [key] = [a["key"] for a in ask(lst, "GET", "/api/v1/alerts").json()
             if a["rule"] == "nonfinite" and a["labels"] == {"metric": metric}]
    return str(key)


def test_healthz_runs_and_alerts(listener: Listener, nan_engine: Engine) -> None:
    assert ask(listener, "GET", "/healthz").json() == {"status": "ok", "runs": 1, "degraded": []}
    runs = ask(listener, "GET", "/api/v1/runs")
    assert runs.status == 200 and runs.headers["content-type"] == "application/json"
    [run] = runs.json()
    [expected] = [status_object(s) for s in nan_engine.snapshots()]  # the same object `tail --json` prints
    assert run.keys() == expected.keys()
    assert (run["type"], run["run"], run["step"], run["metrics"]["loss"]) == ("status", "train", 595, "nan")
    alerts = ask(listener, "GET", "/api/v1/alerts").json()
    loss = next(a for a in alerts if a["labels"] == {"metric": "loss"})
    assert loss["rule"] == "nonfinite" and loss["state"] == "firing" and loss["severity"] == "critical"
    assert loss["run"] == "train" and loss["step"] == 300 and loss["value"] == "nan"
    assert loss["since"].endswith("Z") and loss["silenced"] is False and loss["acknowledged"] is False


def test_metrics_in_both_exposition_formats(listener: Listener) -> None:
    plain = ask(listener, "GET", "/metrics")
    assert plain.status == 200 and plain.headers["content-type"].startswith("text/plain; version=0.0.4")
    values = {(s.name, s.labels.get("metric")): s.value
              for f in text_string_to_metric_families(plain.body.decode()) for s in f.samples}
    assert values[("runwatch_step", None)] == 595.0 and math.isnan(values[("runwatch_metric", "loss")])
    om = ask(listener, "GET", "/metrics", Accept="application/openmetrics-text; version=1.0.0")
    assert om.headers["content-type"].startswith("application/openmetrics-text")
    assert om.body.rstrip().endswith(b"# EOF") and b'runwatch_alert_firing{' in om.body


def test_acknowledge_and_silence_round_trip(listener: Listener) -> None:
    key = nonfinite_key(listener)
    path = f"/api/v1/alerts/{quote(key, safe='')}"
    acked = ask(listener, "POST", f"{path}/ack")
    assert acked.status == 200 and acked.json() == {"key": key, "acknowledged": True}
    silenced = ask(listener, "POST", f"{path}/silence", json.dumps({"duration": "2h", "comment": "on it"}).encode())
    assert silenced.status == 200 and silenced.json()["duration_s"] == 7200.0 and silenced.json()["silence_id"]

    def alert() -> dict:  # type: ignore[type-arg]
        return next(a for a in ask(listener, "GET", "/api/v1/alerts").json() if a["key"] == key)

    wait_for(lambda: alert()["silenced"], timeout=30)  # the engine's next tick applies the silence
    assert alert()["acknowledged"] is True
    other = next(a for a in ask(listener, "GET", "/api/v1/alerts").json() if a["key"] != key)
    assert other["acknowledged"] is False  # only the one asked for


def test_unknown_paths_and_alerts_are_404_and_no_file_is_served(listener: Listener) -> None:
    for path in ("/", "/etc/passwd", "/../../etc/passwd", "/api/v1/runs/x", "/metrics/../etc/passwd"):
        got = ask(listener, "GET", path)
        assert got.status == 404 and got.json()["error"].startswith("no such path")
    assert ask(listener, "POST", "/api/v1/alerts/nope%7B%7D/ack").status == 404
    assert ask(listener, "POST", "/api/v1/runs").status == 404
    assert ask(listener, "PUT", "/api/v1/runs").status == 405


def test_body_over_the_limit_is_refused_unread(listener: Listener) -> None:
    key = quote(nonfinite_key(listener), safe="")
    got = ask(listener, "POST", f"/api/v1/alerts/{key}/silence", b"x" * (MAX_BODY + 1))
    assert got.status == 413 and got.headers["connection"] == "close"


@pytest.mark.parametrize(("body", "says"), [
    (b"{not json", "body is not JSON"), (b"[1]", "must be a JSON object"), (b"{}", "duration is required"),
    (b'{"duration": "5"}', "duration without a unit"), (b'{"duration": -3}', "above 0s"),
    (b'{"duration": "1h", "why": 1}', "unknown field"), (b"\xff\xfe", "body is not JSON"),
])
def test_bad_silence_requests_are_400_with_one_line(listener: Listener, body: bytes, says: str) -> None:
    key = quote(nonfinite_key(listener), safe="")
    got = ask(listener, "POST", f"/api/v1/alerts/{key}/silence", body)
    assert got.status == 400 and says in got.json()["error"] and "\n" not in got.json()["error"]


def test_with_a_token_writes_need_it_even_from_loopback(nan_engine: Engine) -> None:
    with serve(nan_engine, token=TOKEN) as lst:
        key = quote(nonfinite_key(lst), safe="")
        assert ask(lst, "GET", "/api/v1/runs").status == 200  # loopback reads need none
        refused = ask(lst, "POST", f"/api/v1/alerts/{key}/ack")
        assert refused.status == 401 and refused.headers["www-authenticate"].startswith("Bearer")
        assert ask(lst, "POST", f"/api/v1/alerts/{key}/ack", Authorization="Bearer wrong").status == 401
        assert ask(lst, "POST", f"/api/v1/alerts/{key}/ack", Authorization=f"Bearer {TOKEN}").status == 200
        assert TOKEN.encode() not in refused.body


def test_web_pages_are_refused_without_the_token(listener: Listener) -> None:
    """A browser on this machine is a loopback peer driven by any site: its requests carry `Origin`, and a
    DNS-rebound one names the site's host."""
    key = quote(nonfinite_key(listener), safe="")
    assert ask(listener, "POST", f"/api/v1/alerts/{key}/ack", Origin="https://evil.example").status == 403
    assert ask(listener, "GET", "/api/v1/runs", Host="rebound.evil.example:9464").status == 403
    assert ask(listener, "GET", "/api/v1/runs", Host=f"localhost:{listener.address.port}").status == 200
    assert ask(listener, "GET", "/api/v1/alerts").json()[0]["acknowledged"] is False


class Snaps:
    """An engine with no run, or one whose snapshots fail `fail` times first (a bug in the engine)."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail

    def snapshots(self) -> list[RunSnapshot]:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("planted")
        return []

    def silence(self, alert_key: str, duration_s: float, comment: str = "") -> str:
        raise KeyError(alert_key)

    def acknowledge(self, alert_key: str) -> None:
        raise KeyError(alert_key)


def test_the_peer_address_decides_not_the_host_asked_for() -> None:
    """The listener asks its peer's real address: a client connecting from 127.0.0.2 to a listener that
    counts only 127.0.0.1 as this machine is a remote peer (here every 127/8 address is loopback, so
    `local` draws the line; the network-namespace test below uses a truly non-loopback address)."""
    with serve(Snaps(), local=lambda peer: peer == "127.0.0.1") as lst:
        host, port = lst.address.host, lst.address.port
        assert request(host, port, "GET", "/healthz", source="127.0.0.1").status == 200
        assert request(host, port, "GET", "/healthz", source="127.0.0.2").status == 403
        assert request(host, port, "GET", "/metrics", source="127.0.0.2").status == 403
    with serve(Snaps(), token=TOKEN, local=lambda peer: peer == "127.0.0.1") as lst:
        host, port = lst.address.host, lst.address.port
        assert request(host, port, "GET", "/healthz", source="127.0.0.2").status == 401
        ok = request(host, port, "GET", "/healthz", headers={"Authorization": f"Bearer {TOKEN}"}, source="127.0.0.2")
        assert ok.status == 200


NETNS_SCRIPT = """
import json, subprocess, sys
from runwatch.serve.address import ListenAddress
from runwatch.serve.api import Api
from runwatch.serve.metrics import registry_for
from runwatch.serve.server import Listener
from tests.serve.test_server import Snaps
from tests.support.http import request
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
subprocess.run(["ip", "addr", "add", "192.0.2.77/32", "dev", "lo"], check=True)
out = {}
for token in (None, "t0k"):
    lst = Listener(ListenAddress("127.0.0.1", 0), Api(Snaps()), registry_for(Snaps(), "h"), token=token)
    with lst:
        port = lst.address.port
        out[str(token)] = [request("127.0.0.1", port, m, p, headers=h, source=src).status for m, p, h, src in [
            ("GET", "/healthz", {}, "192.0.2.77"), ("GET", "/metrics", {}, "192.0.2.77"),
            ("POST", "/api/v1/alerts/x/ack", {}, "192.0.2.77"),
            ("POST", "/api/v1/alerts/x/ack", {"Authorization": "Bearer t0k"}, "192.0.2.77"),
            ("GET", "/healthz", {"Authorization": "Bearer t0k"}, "192.0.2.77"),
            ("GET", "/healthz", {}, "127.0.0.1")]]
print(json.dumps(out))
"""


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None,
                    reason="needs root, unshare and ip to make a network namespace with a non-loopback address")
def test_a_non_loopback_peer_is_refused_without_the_token() -> None:
    """In a network namespace of its own (nothing leaves it), the listener on 127.0.0.1 and a client
    connecting from 192.0.2.77, an address on that namespace's lo that is not loopback."""
    p = subprocess.run(["unshare", "-n", sys.executable, "-c", NETNS_SCRIPT], capture_output=True, text=True,
                       timeout=60, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    if p.returncode != 0 and "Operation not permitted" in p.stderr:
        pytest.skip(f"no network namespace here: {p.stderr.strip()[-200:]}")
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    assert got["None"] == [403, 403, 403, 403, 403, 200]  # no token: nothing lets a remote peer in
    assert got["t0k"] == [401, 401, 401, 404, 200, 200]  # the token opens reads and writes (x: no such alert)


def test_a_failing_request_is_500_and_the_listener_serves_on() -> None:
    with serve(Snaps(fail=1)) as lst:
        failed = ask(lst, "GET", "/api/v1/runs")
        assert failed.status == 500 and "planted" not in failed.body.decode()
        assert ask(lst, "GET", "/api/v1/runs").json() == []
        assert ask(lst, "GET", "/metrics").status == 200


def test_a_port_in_use_is_a_clear_error() -> None:
    with serve(Snaps()) as lst, pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{lst.address.port}"):
        Listener(lst.address, Api(Snaps()), registry_for(Snaps(), "h"), token=None)


def test_idle_connections_beyond_the_cap_are_closed_and_the_listener_serves_on(
        caplog: pytest.LogCaptureFixture) -> None:
    with serve(Snaps()) as lst:
        idle = [socket.create_connection((lst.address.host, lst.address.port), timeout=30)
                for _ in range(MAX_CONNECTIONS)]
        try:
            with socket.create_connection((lst.address.host, lst.address.port), timeout=30) as extra:
                assert extra.recv(1) == b""  # closed unanswered
            for s in idle:  # while those it serves are still open (not closed by their request timeout)
                s.setblocking(False)
                with pytest.raises(BlockingIOError):
                    s.recv(1)
            assert f"{MAX_CONNECTIONS} connections open" in caplog.text
        finally:
            for s in idle:
                s.close()

        def healthy() -> bool:
            try:
                return ask(lst, "GET", "/healthz").status == 200
            except ConnectionError:  # closed unanswered while the listener has yet to see the idle ones go
                return False

        assert wait_for(healthy, timeout=30)


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6 here")
def test_an_ipv6_loopback_listener() -> None:
    try:
        lst = Listener(ListenAddress("::1", 0), Api(Snaps()), registry_for(Snaps(), "h"), token=None)
    except OSError as e:
        pytest.skip(f"::1 cannot be bound here: {e}")
    with lst:
        assert lst.url.startswith("http://[::1]:")
        assert request("::1", lst.address.port, "GET", "/healthz").json()["status"] == "ok"


def test_a_runs_series_downsampled_as_the_charts_get_it(listener: Listener, nan_engine: Engine) -> None:
    got = ask(listener, "GET", "/api/v1/series?run=train&metric=loss&width=40")
    assert got.status == 200
    body = got.json()
    chart = nan_engine.chart("train", "loss", 40)
    assert chart is not None and body["points"] == chart.points and len(body["x"]) == len(chart.x) <= 40
    assert body["x"][-1] == 595 and body["last"][-1] == "nan" and sum(body["nonfinite"]) > 0
    assert body["min"][0] == float(chart.ymin[0])  # the healthy start, a number
    timed = ask(listener, "GET", "/api/v1/series?run=train&metric=loss&width=10&x=time").json()
    assert timed["x_axis"] == "time" and len(timed["x"]) <= 10
    assert ask(listener, "GET", "/api/v1/series?run=train&metric=nope").status == 404
    assert ask(listener, "GET", "/api/v1/series?run=other&metric=loss").status == 404
    for bad in ("run=train", "run=train&metric=loss&width=0", "run=train&metric=loss&x=epochs",
                "run=train&metric=loss&colour=red", "run=train&metric=loss&rank=first"):
        answer = ask(listener, "GET", f"/api/v1/series?{bad}")
        assert answer.status == 400 and "\n" not in answer.json()["error"], bad


def test_snapshots_are_served_whole_for_the_remote_view(listener: Listener, nan_engine: Engine) -> None:
    from runwatch.wire import snapshot_from_json, snapshot_json

    [obj] = ask(listener, "GET", "/api/v1/snapshots").json()
    [there] = nan_engine.snapshots()
    back = snapshot_from_json(obj)
    assert snapshot_json(back) | {"time": 0} == snapshot_json(there) | {"time": 0}
    assert any(a.key and a.rule == "nonfinite" for a in back.alerts)


def test_log_serves_a_run_s_last_lines_and_refuses_bad_asks(listener: Listener, nan_engine: Engine) -> None:
    got = ask(listener, "GET", "/api/v1/log?run=train&lines=3")
    assert got.status == 200 and got.json() == {"run": "train", "lines": nan_engine.log_tail("train", 3)}
    assert len(got.json()["lines"]) == 3
    assert ask(listener, "GET", "/api/v1/log?run=nope").status == 404
    for bad in ("/api/v1/log", "/api/v1/log?run=train&lines=0", "/api/v1/log?run=train&lines=x",
                "/api/v1/log?run=train&color=1"):
        assert ask(listener, "GET", bad).status == 400, bad
