"""Helpers for the TUI tests: an app on a FakeController, and a wait until its charts are drawn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from runwatch.tui.app import RunwatchApp
from tests.support.fake_controller import FakeController
from tests.support.nodes import nodes  # noqa: F401 (a fixture: real nodes for test_remote_nodes)

HOST = "gpu-node-1"


@pytest.fixture
def make_app() -> Callable[..., RunwatchApp]:
    def make(ctrl: FakeController | None = None, **kw: Any) -> RunwatchApp:
        kw.setdefault("host", HOST)
        kw.setdefault("bell", False)
        return RunwatchApp(ctrl if ctrl is not None else FakeController(), **kw)

    return make
