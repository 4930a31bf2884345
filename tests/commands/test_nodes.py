"""Which `runwatch tail` arguments are nodes, and what the command line refuses around them."""

from __future__ import annotations

import pytest

from runwatch.cli import main
from runwatch.commands.nodes import NodeView, split_targets
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


def test_node_view_merges_a_node_with_the_local_engine(nodes, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from runwatch.alerting import Alerting
    from runwatch.config import load_config
    from runwatch.engine import Engine, EngineOptions
    from runwatch.remote.address import parse_node
    from tests.serve.conftest import NAN_LOG
    from tests.support.waiting import wait_for

    [(_, lst)] = nodes(1)
    log = tmp_path / "here" / "train.log"
    log.parent.mkdir()
    shutil.copy(NAN_LOG, log)
    engine = Engine([str(log)], EngineOptions(poll_interval=0.1, system=False),
                    alerting=Alerting(load_config(None), persist=False))
    with engine, NodeView([parse_node(f"127.0.0.1:{lst.address.port}")], engine, interval=0.2, token="") as view:
        wait_for(lambda: len([s for s in view.snapshots() if s.records]) == 2, timeout=60)
        assert sorted(s.run for s in view.snapshots()) == ["127.0.0.1:train", "train"]  # one node: named by its host
        assert view.log_tail("train", 2) == engine.log_tail("train", 2)
