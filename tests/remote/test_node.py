"""One node's listener as a controller (runwatch.remote.node), over real HTTP on 127.0.0.1: what the
node's engine holds comes back whole; a node that stops answering keeps its last state, marked, and
comes back when it answers again."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable

from runwatch.engine import Engine
from runwatch.model import AlertState, Notice
from runwatch.remote.address import parse_node
from runwatch.remote.client import NodeClient
from runwatch.remote.node import RemoteNode
from runwatch.serve.server import Listener
from runwatch.wire import snapshot_json
from tests.support.nodes import listen
from tests.support.waiting import wait_for

Nodes = Callable[[int], list[tuple[Engine, Listener]]]
DEADLINE_S = 30


def remote(lst: Listener) -> RemoteNode:
    """The node behind `lst`, polled every 0.2 s; a first chart waited for as long as a loaded machine needs."""
    return RemoteNode(NodeClient(parse_node(f"127.0.0.1:{lst.address.port}"), timeout=DEADLINE_S / 2), interval=0.2,
                      chart_wait=DEADLINE_S)


def alerts_of(lst: Listener) -> list[dict]:  # type: ignore[type-arg]
    with urllib.request.urlopen(f"{lst.url}/api/v1/alerts", timeout=10) as r:
        return json.loads(r.read())  # type: ignore[no-any-return]


def test_the_node_s_snapshots_charts_and_log_come_back_whole(nodes: Nodes) -> None:
    [(engine, lst)] = nodes(1)
    with remote(lst) as node:
        [snap] = wait_for(node.snapshots, timeout=DEADLINE_S)
        [there] = engine.snapshots()
        assert snapshot_json(snap) | {"time": 0} == snapshot_json(there) | {"time": 0}
        assert not snap.unreachable and node.reachable
        chart = node.chart("train", "loss", 50)  # asked the first time: fetched at once, the caller waits for it
        assert chart is not None
        local = engine.chart("train", "loss", 50)
        assert local is not None and chart.points == local.points and chart.x.tolist() == local.x.tolist()
        assert wait_for(lambda: node.log_tail("train", 5), timeout=DEADLINE_S) == engine.log_tail("train", 5)
        assert node.chart("train", "no_such_metric", 50) is None
        assert node.log_tail("no_such_run", 5) == []
        assert node.wait(DEADLINE_S) and node.wait(DEADLINE_S)  # two polls that asked for it
        assert node.reachable and node.log_tail("no_such_run", 5) == []  # an unknown run is not a dead node


def test_a_node_that_stops_answering_keeps_its_last_state_and_comes_back(nodes: Nodes) -> None:
    [(engine, lst)] = nodes(1)
    port = lst.address.port
    with remote(lst) as node:
        news = node.subscribe()
        [before] = wait_for(node.snapshots, timeout=DEADLINE_S)
        lst.stop()
        [gone] = wait_for(lambda: [s for s in node.snapshots() if s.unreachable], timeout=DEADLINE_S)
        assert node.reachable is False
        assert (gone.run, gone.progress.step, len(gone.alerts)) == (before.run, before.progress.step, len(before.alerts))
        assert gone.notes[0].startswith(f"node 127.0.0.1:{port} not answering since ")
        said: list[str] = []

        def answered_again() -> bool:  # the notice is published just after the state turns (CI saw it late)
            said.extend(n.message for n in news.take().items if isinstance(n, Notice))
            return bool(said) and said[-1] == "answers again"

        with listen(engine, port):
            wait_for(lambda: node.reachable and not node.snapshots()[0].unreachable, timeout=DEADLINE_S)
            wait_for(answered_again, timeout=DEADLINE_S)
        assert said[0].startswith("not answering: GET /api/v1/snapshots")


def test_silence_and_acknowledge_reach_the_node(nodes: Nodes) -> None:
    [(_, lst)] = nodes(1)
    with remote(lst) as node:
        [snap] = wait_for(node.snapshots, timeout=DEADLINE_S)
        key = next(a.key for a in snap.alerts if a.rule == "nonfinite" and a.state == AlertState.FIRING)
        assert node.silence(key, 600.0, "from a test")
        node.acknowledge(key)
        wait_for(lambda: [a for a in alerts_of(lst) if a["key"] == key and a["silenced"] and a["acknowledged"]],
                 timeout=DEADLINE_S)  # the node's engine applies them on its next tick
        wait_for(lambda: any(a.key == key and a.silenced for a in node.snapshots()[0].alerts), timeout=DEADLINE_S)
        try:
            node.silence("no-such-alert", 60.0)
        except KeyError:
            pass
        else:
            raise AssertionError("an alert the node does not know is a KeyError")


def test_a_node_never_reached_is_one_placeholder_row() -> None:
    from tests.support.ports import free_port

    node = RemoteNode(NodeClient(parse_node(f"127.0.0.1:{free_port()}"), timeout=2.0), interval=0.2)
    with node:
        [row] = wait_for(node.snapshots, timeout=DEADLINE_S)
        assert row.run == "" and "Connection refused" in row.unreachable and node.all_ended is False


def test_a_node_that_accepts_but_never_answers_is_unreachable_after_the_timeout() -> None:
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections are accepted by the kernel; nothing ever answers
        node = RemoteNode(NodeClient(parse_node(f"127.0.0.1:{silent.getsockname()[1]}"), timeout=0.5), interval=0.2)
        with node:
            [row] = wait_for(lambda: [s for s in node.snapshots() if s.unreachable], timeout=DEADLINE_S)
            assert "timed out" in row.unreachable


def test_the_token_is_sent_as_bearer_and_never_shown(nodes: Nodes) -> None:
    from runwatch.remote.client import NodeError

    [(engine, lst)] = nodes(1)
    port = lst.address.port
    lst.stop()
    with listen(engine, port, token="s3cret-t0ken") as guarded:
        address = parse_node(f"127.0.0.1:{guarded.address.port}")
        with RemoteNode(NodeClient(address, token="s3cret-t0ken"), interval=0.2) as node:
            [snap] = wait_for(node.snapshots, timeout=DEADLINE_S)
            key = next(a.key for a in snap.alerts if a.state == AlertState.FIRING)
            assert node.silence(key, 60.0)  # a write from loopback needs the token once the node has one
        with RemoteNode(NodeClient(address, token=None), interval=0.2) as node:
            wait_for(node.snapshots, timeout=DEADLINE_S)  # reads from loopback do not
            try:
                node.acknowledge(key)
            except NodeError as e:
                assert e.status == 401 and "s3cret" not in str(e)
            else:
                raise AssertionError("a write without the token is refused")


def test_a_chart_of_a_node_that_does_not_answer_is_not_waited_for(nodes: Nodes) -> None:
    [(_, lst)] = nodes(1)
    with remote(lst) as node:
        wait_for(node.snapshots, timeout=DEADLINE_S)
        lst.stop()
        wait_for(lambda: node.reachable is False, timeout=DEADLINE_S)
        assert node.chart("train", "loss", 50) is None
        assert not node._slow  # it did not wait (a wait that ran out would have marked the cycle slow)
        assert node.log_tail("train", 5) == []


def test_alert_transitions_seen_by_the_polls_are_pushed_once_unless_silenced(nodes: Nodes) -> None:
    from runwatch.alerts.types import Notification

    [(engine, lst)] = nodes(1)
    firing = {a.key for s in engine.snapshots() for a in s.alerts if a.state == AlertState.FIRING}
    muted = sorted(firing)[0]
    engine.silence(muted, 600.0)  # silenced on the node before the view starts: the node sends nothing, nor do we
    wait_for(lambda: any(a.key == muted and a.silenced for s in engine.snapshots() for a in s.alerts), timeout=DEADLINE_S)
    firing.discard(muted)
    with remote(lst) as node:
        news = node.subscribe()
        for _ in range(3):  # three polls: the first sees the alerts firing, the next two nothing new
            assert node.wait(DEADLINE_S)
        pushed = [n for n in news.take().items if isinstance(n, Notification)]
    assert sorted(n.alert.key for n in pushed) == sorted(firing) and firing
    assert all(n.state == AlertState.FIRING and n.alert.run == "train" for n in pushed)
    assert pushed[0].payload()["run"] == "train" and pushed[0].payload()["rule"] == "nonfinite"


def test_a_listener_without_snapshots_or_with_another_wire_version_says_so() -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    answers = {"/api/v1/snapshots": (404, b'{"error": "no such path: /api/v1/snapshots"}')}

    class Old(BaseHTTPRequestHandler):
        """What a listener of another runwatch version answers."""

        def do_GET(self) -> None:
            status, body = answers[self.path]
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Old)
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    serving.start()
    try:
        node = RemoteNode(NodeClient(parse_node(f"127.0.0.1:{server.server_address[1]}"), timeout=10), interval=0.2)
        with node:
            [row] = wait_for(lambda: [s for s in node.snapshots() if s.unreachable], timeout=DEADLINE_S)
            assert "HTTP 404: no such path: /api/v1/snapshots" in row.unreachable
            answers["/api/v1/snapshots"] = (200, b'[{"wire": 2, "run": "train"}]')
            wait_for(lambda: "wire version 2; this runwatch reads 1" in node.snapshots()[0].unreachable,
                     timeout=DEADLINE_S)
    finally:
        server.shutdown()
        serving.join()
        server.server_close()
