"""runwatch.state.ending: how a run ended, and which step after the end means it went on."""

from __future__ import annotations

import dataclasses
import math

import pytest

from runwatch.model import Event, Kind, Record
from runwatch.state.ending import RESUME_AFTER_S, Ending


def _event(event: str, source: str = "train.log", **metrics: float) -> Record:
    return Record(Kind.EVENT, event=event, metrics=metrics, source=source)


@pytest.mark.parametrize(("events", "crashed", "finished", "exited"), [
    ([Event.OOM], True, False, False),
    ([Event.TRACEBACK, Event.EXIT], True, False, True),
    ([Event.FINISHED], False, True, False),
    ([Event.FINISHED, Event.NCCL_TIMEOUT], True, True, False),  # a fault after the finish line
    ([Event.CHECKPOINT_SAVED], False, False, False),
])
def test_events_set_the_end(events: list[str], crashed: bool, finished: bool, exited: bool) -> None:
    end = Ending()
    for i, e in enumerate(events):
        end.event(_event(e), float(i))
    assert (end.crashed, end.finished, end.exited) == (crashed, finished, exited)


@pytest.mark.parametrize(("code", "crashed", "finished", "exited"), [
    (0.0, False, True, False), (1.0, True, False, False), (math.nan, False, False, True),
])
def test_an_exit_code_decides(code: float, crashed: bool, finished: bool, exited: bool) -> None:
    end = Ending()
    end.event(_event(Event.TRACEBACK), 0.0)
    end.event(_event(Event.EXIT, exit_code=code), 1.0)
    assert (end.crashed, end.finished) == (crashed or math.isnan(code), finished)
    assert end.exited == exited


def test_a_step_in_the_source_that_ended_the_run_clears_it_at_once() -> None:
    end = Ending()
    end.event(_event(Event.OOM, source="train.log"), 10.0)
    end.resume(10.1, "train.log")
    assert not end.crashed


def test_another_sources_late_flush_does_not_resume_the_run() -> None:
    end = Ending()
    end.event(_event(Event.TRACEBACK, source="train.log"), 10.0)
    end.resume(10.0 + RESUME_AFTER_S / 2, "events.out.tfevents.1")
    assert end.crashed
    end.resume(10.0 + RESUME_AFTER_S, "events.out.tfevents.1")  # a restart takes longer
    assert not end.crashed


def test_a_lightning_run_stopped_by_ctrl_c_is_ended_not_stalled() -> None:
    """SDXL fine-tuning under Lightning, stopped by Ctrl-C at step 86: Lightning caught it and printed `Detected
    KeyboardInterrupt, attempting graceful shutdown...` (a warning, no traceback). Unread, the run was `running`,
    then `stalled` 34 s later (a review); read, it is a signal, the run's end unless a step follows it."""
    from runwatch.alerts.rules.stall import Stall
    from runwatch.model import RunState
    from runwatch.state.run import RunTracker
    from tests.support.found import source_records

    _, recs = source_records("lightning_sdxl_ctrl_c_graceful.log")
    assert [r.event for r in recs if r.kind == Kind.EVENT] == [Event.SIGNAL]  # the line, not the source line under it
    tracker = RunTracker("sdxl", "lightning_sdxl_ctrl_c_graceful.log")
    for i, rec in enumerate(recs):
        tracker.apply(rec, 1000.0 + i)
    assert tracker.state(1000.0 + len(recs) + 600) == RunState.ENDED
    assert not Stall().evaluate(tracker, 1000.0 + len(recs) + 600)
    step = next(r for r in recs if r.kind == Kind.STEP)
    tracker.apply(dataclasses.replace(step, step=87), 1000.0 + len(recs) + 1)  # a step after it: the run went on
    assert tracker.state(1000.0 + len(recs) + 2) == RunState.RUNNING


def test_a_finish_holds_against_steps_up_to_its_own_until_the_run_starts_again() -> None:
    """A step at or below the finish's (its last frame redrawn) leaves the run finished; after `started_again` (a new
    attempt counting from its beginning) such a step is the new attempt's, and the run goes on."""
    end = Ending()
    end.event(dataclasses.replace(_event(Event.FINISHED), step=5), 10.0)
    end.resume(10.5, "train.log", top=5)
    assert end.finished
    end.started_again()
    end.resume(11.0, "train.log", top=0)
    assert not end.finished and not end.crashed
