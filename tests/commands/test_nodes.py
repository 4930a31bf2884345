"""Which `runwatch tail` arguments are nodes, and what the command line refuses around them."""

from __future__ import annotations

import pytest

from runwatch.cli import main
from runwatch.commands.nodes import split_targets
from runwatch.errors import EXIT_USAGE


def test_nodes_are_told_from_paths_and_named_once() -> None:
    local, nodes = split_targets(["train.log", "http://a:1", "a:1", "b:2", "runs/", "-"])
    assert local == ["train.log", "runs/", "-"]
    assert [n.base for n in nodes] == ["http://a:1", "http://b:2"]


def test_a_bad_node_address_is_a_usage_error_without_its_secret(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tail", "http://ops:hunter22@node1:99999", "--headless"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "node1" in err and "hunter22" not in err and len(err.strip().splitlines()) == 1


def test_listen_with_nodes_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tail", "127.0.0.1:1", "--listen", "127.0.0.1:0", "--headless"]) == EXIT_USAGE
    assert "--listen" in capsys.readouterr().err
