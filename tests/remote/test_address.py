"""Which `tail` arguments are nodes, and how a node is named (never with its credentials)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runwatch.remote.address import is_node, node_labels, parse_node


@pytest.mark.parametrize("arg, node", [
    ("http://node1:9464", True), ("https://node1.cluster:443", True), ("node1:9464", True),
    ("10.0.0.7:9464", True), ("[::1]:9464", True), ("train.log", False), ("logs/*.log", False),
    ("runs/", False), ("-", False), ("node1:", False), ("node1:port", False), ("C:/logs", False),
])
def test_what_names_a_node(arg: str, node: bool) -> None:
    assert is_node(arg, exists=False) == node


def test_host_port_that_exists_as_a_file_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert is_node("run:1")
    (tmp_path / "run:1").write_text("step 1\n")
    assert not is_node("run:1")
    assert is_node("http://run:1")  # a URL is always a node


@pytest.mark.parametrize("arg, base, where", [
    ("node1:9464", "http://node1:9464", "node1:9464"),
    ("http://node1:9464/", "http://node1:9464", "node1:9464"),
    ("https://gw.example/runwatch/n1", "https://gw.example:443/runwatch/n1", "gw.example:443"),
    ("[::1]:9464", "http://[::1]:9464", "::1:9464"),
])
def test_parse_node(arg: str, base: str, where: str) -> None:
    node = parse_node(arg)
    assert (node.base, node.where) == (base, where)


def test_credentials_are_kept_apart_and_never_shown() -> None:
    node = parse_node("http://ops:s3cr3t%21@node1:9464")
    assert node.basic == ("ops", "s3cr3t!")
    assert "s3cr3t" not in node.base + node.where + repr(node)
    with pytest.raises(ValueError) as e:
        parse_node("http://ops:s3cr3t@node1:notaport")
    assert "s3cr3t" not in str(e.value) and "node1" in str(e.value)


def test_labels_are_hosts_unless_two_nodes_share_one() -> None:
    nodes = [parse_node(a) for a in ("node1:9464", "node2:9464", "127.0.0.1:1", "127.0.0.1:2")]
    assert node_labels(nodes) == ["node1", "node2", "127.0.0.1:1", "127.0.0.1:2"]
