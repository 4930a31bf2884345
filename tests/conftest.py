"""Shared fixtures. The thread-leak check follows watchdog's: a test that leaves
a thread running fails, so every thread runwatch starts has an owner that stops it."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import FIXTURES
from tests.support.subprocesses import kill_groups


@pytest.fixture(autouse=True)
def no_thread_leaks() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    while True:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert not leaked, f"test leaked threads: {[t.name for t in leaked]}"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES




@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[Any]]]:
    """Every process a test starts (each with `start_new_session=True`), killed (its whole group) and
    reaped at teardown."""
    procs: list[subprocess.Popen[Any]] = []
    yield procs
    kill_groups(procs)
