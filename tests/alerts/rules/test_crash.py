"""crash: one finding per failure kind, labelled with the rank to look at; tracebacks only at the end."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from runwatch.alerts.rules.crash import Crash, CrashParams
from runwatch.alerts.types import Alert
from runwatch.cli import main
from runwatch.model import AlertState, Event, Record
from runwatch.state.ending import BARE_SETTLE_S
from tests.support.paths import FIXTURES
from tests.support.rule_replay import event, feed, step

RULE = Crash()
STEPS = [step(i, loss=2.0) for i in range(10)]


def findings(records: list[Record], after: float = 0.0, rule: Crash = RULE) -> list[tuple[dict[str, object], str]]:
    tracker, now = feed(records)
    return [(dict(f.labels), f.summary) for f in rule.evaluate(tracker, now + after)]


@pytest.mark.parametrize(
    ("ev", "labels", "summary"),
    [
        (event(Event.OOM, rank=3, message="torch.OutOfMemoryError: CUDA out of memory."),
         {"event": "oom", "rank": 3}, "GPU out of memory on rank 3: torch.OutOfMemoryError: CUDA out of memory."),
        (event(Event.NCCL_ERROR), {"event": "nccl_error"}, "NCCL error: nccl_error"),
        (event(Event.CHILD_FAILED, message="train.py FAILED", root_cause_rank=5.0, local_rank=1.0),
         {"event": "child_failed", "rank": 5}, "a worker process failed on rank 5: train.py FAILED"),
        (event(Event.CHILD_FAILED, message="failed (exitcode: 1)", local_rank=2.0),
         {"event": "child_failed", "local_rank": 2}, "a worker process failed on local rank 2: failed (exitcode: 1)"),
        (event(Event.KILLED, message="Killed"), {"event": "killed"}, "process killed: Killed"),
        (event(Event.SEGFAULT), {"event": "segfault"}, "segmentation fault: segfault"),
        (event(Event.SEGFAULT, message="line 3:  3904 Aborted  (core dumped) python train.py"), {"event": "segfault"},
         "process aborted (SIGABRT): line 3:  3904 Aborted  (core dumped) python train.py"),
        (event(Event.TIME_LIMIT), {"event": "time_limit"}, "job cancelled at its time limit: time_limit"),
        (event(Event.DATALOADER_ERROR), {"event": "dataloader_error"}, "DataLoader worker died: dataloader_error"),
        (event(Event.TRACEBACK, message="ValueError: bad"), {"event": "traceback"},
         "uncaught exception: ValueError: bad"),
    ],
)
def test_each_crash_event_fires_with_its_labels(ev: Record, labels: dict[str, object], summary: str) -> None:
    assert findings([*STEPS, ev], after=BARE_SETTLE_S) == [({"run": "train", **labels}, summary)]


def test_nccl_timeouts_from_every_rank_are_one_finding_named_after_the_first() -> None:
    timeouts = [event(Event.NCCL_TIMEOUT, rank=r, message=f"[Rank {r}] Watchdog caught") for r in (3, 1, 2)]
    (labels, summary), = findings([*STEPS, *timeouts])
    assert labels == {"run": "train", "event": "nccl_timeout", "rank": 3}
    assert summary == "NCCL collective timed out on rank 3 (ranks 1, 2, 3): [Rank 3] Watchdog caught"


def test_a_dead_run_keeps_its_crash_alert() -> None:
    assert findings([*STEPS, event(Event.OOM)], after=86_400.0)


def test_a_crash_followed_by_a_stray_line_still_counts_for_a_while() -> None:
    records = [*STEPS, event(Event.NCCL_TIMEOUT, rank=5), step(10, loss=2.0)]
    assert findings(records, after=60.0)
    assert findings(records, after=400.0) == []  # the run went on: recovered, by now


def test_a_crash_the_run_stepped_two_strides_past_is_over_before_its_hold() -> None:
    """A stray step after a crash (a rank's on the heels of another's death, a buffered line) keeps it for its
    `hold`; a run that goes more than two logging strides past the step it crashed at went on after it (a history
    read at once, where every record has one time and `hold` could not tell: a review's HiFi-TSE log)."""
    crash = event(Event.SEGFAULT)
    assert findings([*STEPS, crash, step(10, loss=2.0), step(11, loss=2.0)], after=1.0)
    assert findings([*STEPS, crash, step(10, loss=2.0), step(11, loss=2.0), step(12, loss=2.0)], after=1.0) == []


def test_a_traceback_counts_only_when_it_ends_the_output() -> None:
    assert findings([*STEPS, event(Event.TRACEBACK), step(10, loss=2.0)], after=BARE_SETTLE_S) == []


def test_a_traceback_ends_the_output_only_after_a_settle_with_nothing_received() -> None:
    """A caught exception printed mid-run is followed by the run's next step: a bare traceback that is the
    newest record is not yet a crash (a live burst judged in pieces paged one and resolved it at once)."""
    records = [*STEPS, event(Event.TRACEBACK, message="KeyError: 'k'")]
    settle = BARE_SETTLE_S
    assert findings(records, after=settle - 0.5) == []
    assert findings(records, after=settle) == [({"run": "train", "event": "traceback"},
                                                 "uncaught exception: KeyError: 'k'")]


def test_a_traceback_at_the_input_s_end_is_a_crash_at_once() -> None:
    tracker, now = feed([*STEPS, event(Event.TRACEBACK, message="KeyError: 'k'")])
    assert RULE.evaluate(tracker, now) == []
    tracker.input_ended()
    assert [dict(f.labels)["event"] for f in RULE.evaluate(tracker, now)] == ["traceback"]


def test_a_slow_run_s_traceback_waits_two_of_its_step_intervals() -> None:
    """A run stepping every 30 s that survives an exception prints its next step within 30 s, not 10."""
    tracker, now = feed([*STEPS, event(Event.TRACEBACK)], dt=30.0)
    assert RULE.evaluate(tracker, now + 45.0) == []
    assert RULE.evaluate(tracker, now + 61.0)


def test_specific_events_do_not_wait_for_the_settle() -> None:
    assert findings([*STEPS, event(Event.OOM)], after=0.0)


def test_a_specific_event_explains_the_traceback_that_carries_it() -> None:
    (labels, _), = findings([*STEPS, event(Event.TRACEBACK), event(Event.OOM)])
    assert labels["event"] == "oom"


def test_an_old_crash_before_a_restart_is_not_the_current_one() -> None:
    records = [*STEPS, event(Event.OOM)] + [step(10 + i, loss=2.0) for i in range(600)]
    assert findings(records) == []


def test_non_crash_events_and_chosen_events_only() -> None:
    assert findings([*STEPS, event(Event.CHECKPOINT_SAVED), event(Event.XID), event(Event.SIGNAL)]) == []
    only_oom = Crash(CrashParams(events=("oom",)))
    assert findings([*STEPS, event(Event.KILLED)], rule=only_oom) == []


def test_context_carries_the_messages() -> None:
    tracker, now = feed([*STEPS, event(Event.OOM, message="CUDA out of memory. Tried to allocate 2 GiB")])
    (found,) = RULE.evaluate(tracker, now)
    assert found.context == ("CUDA out of memory. Tried to allocate 2 GiB",)
    assert found.value == "oom" and found.step == 9


def _firing(found: list) -> Alert:  # type: ignore[type-arg]
    [f] = found
    return Alert(rule=f.rule, labels=f.labels, state=AlertState.FIRING, severity=f.severity, summary=f.summary,
                 active_since=0.0)


def test_a_crash_alert_ended_by_another_report_of_the_crash_says_which() -> None:
    """torchrun `--log-dir`: rank 0's file (its peer closed the connection) was read before the launcher's
    report naming rank 1 as the root cause; the rank-0 alert read `cleared; was: …` when it resolved."""
    tracker, now = feed([*STEPS, event(Event.TRACEBACK, rank=0, message="RuntimeError: Connection closed by peer")])
    alert = _firing(RULE.evaluate(tracker, now + BARE_SETTLE_S))
    feed([event(Event.CHILD_FAILED, message="train.py FAILED", root_cause_rank=1.0)], tracker=tracker, start=now + 1)
    assert RULE.resolution(tracker, alert, now + 2) == (
        "told by a later report (event=child_failed rank=1): a worker process failed on rank 1: train.py FAILED")


def test_a_crash_alert_the_run_went_on_after_says_so() -> None:
    tracker, now = feed([*STEPS, event(Event.NCCL_TIMEOUT, rank=5)])
    alert = _firing(RULE.evaluate(tracker, now))
    feed([step(10 + i, loss=2.0) for i in range(3)], tracker=tracker, start=now + 1)
    assert RULE.resolution(tracker, alert, now + 400.0) == "the run went on after it (step 12 now)"


def test_a_crash_before_a_restart_is_over_and_says_so() -> None:
    tracker, now = feed([*STEPS, event(Event.OOM)])
    alert = _firing(RULE.evaluate(tracker, now))
    alert = Alert(**{**{f: getattr(alert, f) for f in alert.__slots__}, "fired_at": now})  # type: ignore[attr-defined]
    tracker, now = feed([step(i, loss=2.0) for i in range(3)], tracker=tracker, start=now + 1)  # from the start
    assert RULE.evaluate(tracker, now) == []  # within its hold, but the attempt it ended is over
    assert RULE.resolution(tracker, alert, now) == "the run started again at step 0: a new attempt"


def test_a_bare_traceback_crash_names_the_exception_that_ended_the_output() -> None:
    """A new user's review: a run that caught a KeyError at step 5 and died of a CUDA error at step 12 was
    reported as `uncaught exception: KeyError`: the first traceback within `hold` named it."""
    records = [*STEPS[:5], event(Event.TRACEBACK, message="KeyError: 'missing_key'"), *STEPS[5:],
               step(10, loss=2.0), event(Event.TRACEBACK, message="RuntimeError: CUDA error: an illegal memory access")]
    [(labels, summary)] = findings(records, after=BARE_SETTLE_S)
    assert summary == "uncaught exception: RuntimeError: CUDA error: an illegal memory access"


def test_a_launchers_signal_exception_says_what_the_signal_means() -> None:
    """A new user's review: `SignalException: Process 1871231 got signal: 1` left the user to look up signal 1:
    SIGHUP, the terminal or SSH session that started torchrun closed. The line is the recorded launch's."""
    from runwatch.parsers.events import EventDetector
    from tests.support.found import found_lines

    det = EventDetector()
    [rec] = [r for x in found_lines("graphnovo_torchrun_sighup.log") if (r := det.feed(x)) is not None]
    assert rec.event == Event.KILLED  # the launcher stopped: a kill, no exception a run might survive
    [(_, summary)] = findings([*STEPS, event(Event.KILLED, message=rec.message)], after=0.0)
    assert summary == ("process killed: torch.distributed.elastic.multiprocessing.api.SignalException: Process "
                       "1871231 got signal: 1 (SIGHUP: the terminal or SSH session that started it closed; run it in "
                       "tmux or screen: torchrun catches SIGHUP itself, so nohup does not shield it)")


def ibot_paddle_log(root: Path) -> Path:
    """The four worker logs of an IBOT-Paddle run (tests/fixtures/found/README.md), as its launcher left them."""
    log = root / "log"
    log.mkdir()
    for gz in sorted((FIXTURES / "found" / "ibot_paddle_log").glob("workerlog.*.gz")):
        (log / gz.name.removesuffix(".gz")).write_bytes(gzip.decompress(gz.read_bytes()))
    return log


def test_the_rank_that_raised_and_was_not_stopped_names_a_multi_rank_crash(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Four Paddle ranks raised `ValueError: (InvalidArgument) The 'shape' in ReshapeOp is invalid`; the launcher
    then stopped ranks 0, 1 and 3 (`FatalError: \\`Termination signal\\` is detected by the operating system`).
    `check` named the stop on rank 3, and `tail` rank 1, 2 or 3 from one start to the next (a review)."""
    assert main(["check", str(ibot_paddle_log(tmp_path)), "--json"]) == 2
    [crash] = json.loads(capsys.readouterr().out)["alerts"]
    assert crash["labels"] == {"event": "traceback", "rank": 2}
    assert crash["summary"].startswith("uncaught exception on rank 2 (ranks 0, 1, 2, 3): ValueError: (InvalidArgument) "
                                       "The 'shape' in ReshapeOp is invalid.")
    assert "Termination signal" not in crash["summary"]


@pytest.mark.parametrize("order", [(7, 0, 3), (3, 7, 0), (0, 3, 7)])
def test_ranks_all_stopped_from_outside_name_the_lowest_rank(order: tuple[int, ...]) -> None:
    """A review's PaddleDetection job stopped by its launcher: each of its eight ranks ends with Paddle's FatalError
    that a termination signal was detected, and `check` named rank 7, the file that came first. With no rank that
    failed on its own, the lowest rank is named, whatever order the ranks' files are read in."""
    from tests.support.found import found_lines

    [stop] = {x for x in found_lines("ibot_paddle_log/workerlog.0.gz") if x.startswith("FatalError: `Termination")}
    (labels, summary), = findings([*STEPS, *(event(Event.TRACEBACK, rank=r, message=stop) for r in order)],
                                  after=BARE_SETTLE_S)
    assert labels == {"run": "train", "event": "traceback", "rank": 0}
    assert summary == f"uncaught exception on rank 0 (ranks 0, 3, 7): {stop}"


def test_the_launchers_root_cause_is_told_by_the_unprefixed_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    """A Megatron-DeepSpeed launch whose 16 ranks wrote to one console, unprefixed, each `ModuleNotFoundError: No
    module named 'amp_C'`: the alert said only torch elastic's `pretrain_gpt.py FAILED; root cause rank 0 …;
    exitcode 1`, the error it had read 16 times left out (a review)."""
    assert main(["check", str(FIXTURES / "found" / "megads_dual32_nostep_node0.log"), "--json"]) == 2
    [crash] = json.loads(capsys.readouterr().out)["alerts"]
    assert crash["labels"] == {"event": "child_failed", "rank": 0}
    assert crash["summary"].startswith("a worker process failed on rank 0: ModuleNotFoundError: No module named "
                                       "'amp_C'; pretrain_gpt.py FAILED; root cause rank 0 (local_rank 0); exitcode 1")


def test_a_rocm_gpu_memory_fault_is_named_and_the_abort_after_it_is_the_same_crash() -> None:
    """ROCm's runtime prints `Memory access fault by GPU node-1 (Agent handle: …) on address …. Reason: …`, glued to
    the bar's frame, then the process aborts (`Aborted (core dumped)`): a new user's review read only `process aborted
    (SIGABRT)`. The fault is the crash, in its own words, and the abort is no second one."""
    from tests.support.realruns import check_json

    code, [run], _ = check_json(FIXTURES / "found" / "rocm_keras_gpu_memory_fault_nan.log")
    assert code == 2 and run["state"] == "crashed"
    [crash] = [a for a in run["alerts"] if a["rule"] == "crash"]
    assert crash["summary"] == ("GPU memory access fault: Memory access fault by GPU node-1 (Agent handle: 0x5f6d730) on "
                                "address 0x7fb5d8712000. Reason: Page not present or supervisor privilege.")
    assert {a["labels"].get("metric") for a in run["alerts"] if a["rule"] == "nonfinite"} == {"loss", "val_loss"}
