"""`stall_diagnosis`: what a stalled run's processes are doing, from the system state."""

from __future__ import annotations

from runwatch.alerts.diagnosis import stall_diagnosis
from runwatch.model import ProcessRole, ProcessSample, ProcessState, StackDump, SystemSample
from runwatch.state.system import SystemState
from runwatch.watcher.stacks import NO_PY_SPY


def state(*procs: ProcessSample) -> SystemState:
    system = SystemState()
    system.apply(SystemSample(t=100.0, processes=procs))
    return system


RANK0 = ProcessSample(101, "python", ProcessState.SLEEPING, role=ProcessRole.RANK, rank=0, cpu_percent=0.0)
RANK1 = ProcessSample(102, "python", ProcessState.DISK_SLEEP, role=ProcessRole.RANK, rank=1, cpu_percent=3.0)
WORKER = ProcessSample(103, "pt_data_worker", ProcessState.SLEEPING, role=ProcessRole.CHILD)


def test_each_process_with_its_state_and_the_stack_taken_in_this_stall() -> None:
    system = state(RANK1, RANK0, WORKER)
    system.stacks[101] = StackDump(101, 95.0, lines=('Thread 101 (idle): "MainThread"', "    wait (gloo.py:12)"))
    system.stacks[102] = StackDump(102, 40.0, lines=("an older stall's stack",))
    assert stall_diagnosis(system, since=90.0) == (
        "rank 0 (pid 101): sleeping, 0% CPU",
        '  Thread 101 (idle): "MainThread"',
        "      wait (gloo.py:12)",
        "rank 1 (pid 102): disk-sleep, 3% CPU",
        "1 worker processes (DataLoader, compilers): 1 sleeping",
    )


def test_a_failed_dump_says_why_and_no_py_spy_is_said_once() -> None:
    system = state(RANK0, RANK1)
    system.stacks[101] = StackDump(101, 95.0, error="py-spy dump failed: Permission denied (os error 13)")
    system.stack_note = NO_PY_SPY
    lines = stall_diagnosis(system, since=90.0)
    assert lines[1] == "  (py-spy dump failed: Permission denied (os error 13))"
    assert lines.count(NO_PY_SPY) == 1 and lines[-1] == NO_PY_SPY


def test_nothing_when_no_process_is_known() -> None:
    assert stall_diagnosis(None, since=1.0) == ()
    assert stall_diagnosis(SystemState(), since=1.0) == ()
    assert stall_diagnosis(state(WORKER), since=1.0) == ()
