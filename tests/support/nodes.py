"""Nodes for the remote view's tests, in-process: real engines following copies of the NaN run's log
(tests/fixtures/realruns/nanogpt-tb-nan), each behind a real listener on 127.0.0.1. Use as a fixture:
`from tests.support.nodes import nodes` in a test module."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from runwatch.alerting import Alerting
from runwatch.config import load_config
from runwatch.engine import Engine, EngineOptions
from runwatch.serve.address import ListenAddress
from runwatch.serve.api import Api
from runwatch.serve.metrics import registry_for
from runwatch.serve.server import Listener
from tests.serve.conftest import NAN_LOG, nan_fired
from tests.support.waiting import wait_for


def listen(engine: Engine, port: int = 0, token: str | None = None) -> Listener:
    return Listener(ListenAddress("127.0.0.1", port), Api(engine), registry_for(engine, "node"), token=token)


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Callable[[int], list[tuple[Engine, Listener]]]]:
    """`nodes(n)`: n engines, each on its own copy of the log (run `train`), judged, each behind a listener."""
    with ExitStack() as stack:

        def make(n: int) -> list[tuple[Engine, Listener]]:
            out = []
            for i in range(n):
                log = tmp_path / f"node{i}" / "train.log"
                log.parent.mkdir()
                shutil.copy(NAN_LOG, log)
                engine = stack.enter_context(Engine([str(log)], EngineOptions(poll_interval=0.1, system=False),
                                                    alerting=Alerting(load_config(None), persist=False)))
                out.append((engine, stack.enter_context(listen(engine))))
            for engine, _ in out:
                wait_for(lambda e=engine: nan_fired(e), timeout=60)  # type: ignore[misc]
            return out

        yield make
