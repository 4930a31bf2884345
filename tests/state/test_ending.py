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


def test_a_crash_raised_again_holds_against_its_teardowns_step_not_the_runs_next() -> None:
    """A crash the trainer said ended its training (`ENDED_TRAINING`, at step 4979) holds against a step line of the
    same source up to one logging stride past it (detectron2's teardown writes `iter: 4999`); a step further on, or
    a new attempt's, is the run going on; another source's late flush is judged as before."""
    from runwatch.model import ENDED_TRAINING

    def crashed_at(step: int) -> Ending:
        end = Ending()
        end.event(dataclasses.replace(_event(Event.TRACEBACK, **{ENDED_TRAINING: 1.0}), step=step), 10.0)
        return end

    end = crashed_at(4979)
    assert end.crashed and not end.bare
    end.resume(10.1, "train.log", top=4999, stride=20)
    assert end.crashed
    end.resume(10.2, "train.log", top=5019, stride=20)
    assert not end.crashed
    end = crashed_at(4979)
    end.started_again()
    end.resume(10.1, "train.log", top=19, stride=20)
    assert not end.crashed
    end = crashed_at(4979)
    end.resume(10.0 + RESUME_AFTER_S, "events.out.tfevents.1", top=4999, stride=20)
    assert not end.crashed
    plain = Ending()
    plain.event(dataclasses.replace(_event(Event.TRACEBACK), step=4979), 10.0)
    assert plain.bare
    plain.resume(10.1, "train.log", top=4999, stride=20)
    assert not plain.crashed


def test_detectron2s_run_killed_by_its_evaluation_hook_is_crashed_live_and_in_check(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A real mask2former run: at iteration 4999 of 8000 its evaluation hook raised `AssertionError: Dataset
    'coco_instance_rgbd_val' is empty!`, detectron2 logged `Exception during training:` and the traceback, its hooks
    `Total training time: 0:35:55`, and its teardown the events at `iter: 4999` once more. `check` read `ended` (the
    last line a step after the crash), and so did a tracker fed line by line; both read it crashed, at 4999/8000."""
    from runwatch.model import RunState
    from runwatch.state.run import RunTracker
    from tests.support.found import found_bytes, source_records
    from tests.support.realruns import check_json

    _, recs = source_records("mask2former_d2_eval_hook_reraised.log.gz")
    tracker = RunTracker("mgm", "mask2former_d2_eval_hook_reraised.log.gz")
    for i, rec in enumerate(recs):
        tracker.apply(rec, 1000.0 + i)
    assert tracker.state(1000.0 + len(recs) + 1) == RunState.CRASHED
    assert tracker.progress.step == 4999 and tracker.progress.total == 8000
    log = tmp_path / "log.txt"
    log.write_bytes(found_bytes("mask2former_d2_eval_hook_reraised.log.gz"))
    rc, [report], _ = check_json(log)
    assert rc == 2 and report["state"] == "crashed" and (report["step"], report["total_steps"]) == (4999, 8000)
    [crash] = [a for a in report["alerts"] if a["rule"] == "crash"]
    assert crash["firing_at_end"] and crash["summary"].endswith("AssertionError: Dataset 'coco_instance_rgbd_val' is empty!")


def test_a_torchrun_agent_stopped_by_a_signal_is_crashed_at_once_live_and_in_check() -> None:
    """A review's TRL GRPO run under `nohup torchrun` (tests/fixtures/found/README.md): at 935 of 936 steps (169 s
    each) the agent got SIGHUP, sent it to its four workers and died in its own `SignalException: Process 12152 got
    signal: 1`. Read as a bare traceback, whose badge waits for two step intervals in case the run survives it, `tail`
    showed `running` with an ETA for 6 min while `check` said crashed. The launcher stopped is a kill: crashed the
    moment it is read, and the advice is not nohup (under which it ran), since torchrun catches SIGHUP itself."""
    from runwatch.model import RunState
    from runwatch.state.run import RunTracker
    from tests.support.found import FOUND, source_records
    from tests.support.realruns import check_json

    name = "torchrun_grpo_sighup_under_nohup.log.gz"
    _, recs = source_records(name)
    assert recs[-1].event == Event.KILLED and recs[-1].message is not None and "got signal: 1" in recs[-1].message
    tracker = RunTracker("grpo", name)
    for i, rec in enumerate(recs):
        tracker.apply(rec, 1000.0 + i)
    assert tracker.state(1000.0 + len(recs)) == RunState.CRASHED
    code, [report], _ = check_json(FOUND / name)
    assert (code, report["state"], report["step"], report["total_steps"]) == (2, "crashed", 935, 936)
    [crash] = report["alerts"]
    assert crash["labels"]["event"] == "killed" and "nohup does not shield it" in crash["summary"]
