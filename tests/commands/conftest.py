"""Fixtures for the command tests: a webhook receiver on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.support.nodes import nodes  # noqa: F401 (a fixture: real nodes for test_nodes)
from tests.support.receiver import Receiver


@pytest.fixture
def receiver():  # type: ignore[no-untyped-def]
    r = Receiver()
    yield r
    r.stop()
