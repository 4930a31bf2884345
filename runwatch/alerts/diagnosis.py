"""What a stalled run's processes are doing, as lines a stall alert carries (`diagnosis`).

Pure: built from the system state the engine keeps (process samples, and the stack dumps it took
with py-spy when the run's badge turned STALLED), at the tick the stall is found. Each training
process (main and ranks) gets one line with its state and CPU use (a process in disk sleep is
waiting on storage, one at 0% CPU in sleep is waiting on something, one at 100% is spinning), then
its stack when one was taken during this stall; DataLoader workers and other children get one line
for all of them. Without py-spy, one line says so.
"""

from __future__ import annotations

from collections import Counter

from runwatch.model import ProcessRole, ProcessSample
from runwatch.state.system import SystemState

MAX_STACK_LINES = 25
"""Lines of each process's stack kept in the alert (Slack sections hold 3000 characters)."""


def stall_diagnosis(system: SystemState | None, since: float | None, run: str | None = None) -> tuple[str, ...]:
    """Lines for a stall of `run` that began at `since` (the last step's arrival), from its own processes
    (`SystemState.processes_of`; all of them when `run` is None); () when none is known."""
    if system is None or system.latest is None:
        return ()
    procs = [p for p in system.processes_of(run) if p.alive]
    main = [p for p in procs if p.role != ProcessRole.CHILD]
    if not main:
        return ()
    out: list[str] = []
    for p in sorted(main, key=lambda q: (q.rank is None, q.rank or 0, q.pid)):
        out.append(f"{_who(p)}: {p.state}{_cpu(p)}")
        dump = system.stacks.get(p.pid)
        if dump is None or (since is not None and dump.taken_at < since):
            continue
        if dump.error:
            out.append(f"  ({dump.error})")
        out.extend("  " + line for line in dump.lines[:MAX_STACK_LINES])
    children = Counter(str(p.state) for p in procs if p.role == ProcessRole.CHILD)
    if children:
        states = ", ".join(f"{n} {s}" for s, n in sorted(children.items()))
        out.append(f"{sum(children.values())} worker processes (DataLoader, compilers): {states}")
    if system.stack_note:
        out.append(system.stack_note)
    return tuple(out)


def _who(p: ProcessSample) -> str:
    return f"rank {p.rank} (pid {p.pid})" if p.rank is not None else f"{p.name or 'process'} (pid {p.pid})"


def _cpu(p: ProcessSample) -> str:
    return "" if p.cpu_percent is None else f", {p.cpu_percent:.0f}% CPU"
