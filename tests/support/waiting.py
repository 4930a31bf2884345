"""Waiting on something another thread or process does, with a deadline."""

from __future__ import annotations

import time


def wait_for(cond, timeout: float = 5.0, interval: float = 0.005):  # type: ignore[no-untyped-def]
    """Poll `cond` until it returns a truthy value; fail the test at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {cond}")
        time.sleep(interval)
