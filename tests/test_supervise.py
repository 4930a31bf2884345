"""The watchdog for the watchdog: a thread body that raises is logged, counted, shown and run again,
within a limit (issue 11). Real threads, a fake clock for the window."""

from __future__ import annotations

import logging
import threading

import pytest

from runwatch.supervise import Stoppable, SupervisedThread, Supervisor, TaskThread, ThreadFailure
from tests.support.waiting import wait_for


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_body_that_raises_is_run_again_and_reported_once(caplog: pytest.LogCaptureFixture) -> None:
    heard: list[ThreadFailure] = []
    sup = Supervisor(on_failure=heard.append, clock=Clock())
    calls: list[int] = []

    def body() -> None:
        calls.append(1)
        if len(calls) <= 2:
            raise OverflowError("int too large to convert to float")

    with caplog.at_level(logging.ERROR, "runwatch.supervise"):
        sup.run("runwatch-engine", body)
    assert len(calls) == 3  # failed twice, then ran to its end
    assert [f.count for f in heard] == [1]  # the owner hears of each thread once
    assert heard[0].error == "OverflowError: int too large to convert to float" and heard[0].restarting
    assert "Traceback" in caplog.text and "OverflowError" in caplog.text
    assert sup.degraded() == ("runwatch-engine: OverflowError: int too large to convert to float (failed 2×, restarted)",)
    assert sup.failures == 2 and not sup.gave_up.is_set()


def test_past_the_limit_within_the_window_it_gives_up() -> None:
    clock = Clock()
    heard: list[ThreadFailure] = []
    sup = Supervisor(limit=5, window_s=600.0, clock=clock, on_failure=heard.append)
    for _ in range(5):
        assert sup.failed("runwatch-tail-a", ValueError("x"))
        clock.t += 100.0  # five failures in 400 s: each one restarted
    clock.t += 200.0  # the first is out of the window now
    assert sup.failed("runwatch-tail-a", ValueError("x"))
    assert not sup.failed("runwatch-tail-a", ValueError("x"))  # six within 600 s
    assert sup.gave_up.is_set()
    assert [f.restarting for f in heard] == [True, False]  # the first failure, and giving up
    assert sup.degraded()[-1].endswith("(failed 7×, gave up)")


def test_a_supervised_thread_runs_its_body_again_after_its_reset() -> None:
    sup = Supervisor()
    done = threading.Event()
    events: list[str] = []

    class Flaky(SupervisedThread):
        def body(self) -> None:
            events.append("body")
            if events.count("body") == 1:
                raise RuntimeError("bug")
            done.set()

        def reset(self) -> None:
            events.append("reset")

    t = Flaky("flaky")
    t.supervisor = sup
    with t:
        wait_for(done.is_set)
    assert events == ["body", "reset", "body"]
    assert isinstance(t, Stoppable) and t.name == "runwatch-flaky"
    assert sup.degraded() == ("runwatch-flaky: RuntimeError: bug (failed 1×, restarted)",)


def test_a_stopping_thread_is_not_restarted() -> None:
    sup = Supervisor()
    started, release = threading.Event(), threading.Event()

    def body() -> None:
        started.set()
        release.wait()
        raise RuntimeError("failed while stopping")

    t = TaskThread("task", body)
    t.supervisor = sup
    t.start()
    wait_for(started.is_set)
    t.stop()
    release.set()
    t.join(5.0)
    assert not t.is_alive() and sup.failures == 1
