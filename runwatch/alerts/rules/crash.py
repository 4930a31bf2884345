"""`crash`: the run died (or a rank of it did), as its own output says.

Reads the event records the parsers emit (DESIGN §2): CUDA OOM, NCCL
timeouts and errors, torch elastic's child failure report (whose root-cause
rank is the one to look at), killed processes (SIGKILL, the host OOM
killer), segfaults and SLURM time limits. One finding per kind of failure,
labelled with the rank of its first report: an NCCL hang is reported by
every rank, and a person wants one alert naming where it started, with the
other ranks in the summary.

A crash event counts while the run shows no progress after it (the state
badge says CRASHED), and in any case for `hold` seconds after it was read:
a crash followed by a stray line from another rank is still a crash, and a
rule ticked once a second never misses one. A bare traceback counts only
when it ends the output and no more specific event explains it: one
printed and survived mid-run is not a crash: the badge says CRASHED for
one only once nothing more came for `BARE_SETTLE_S` (10 s, or two step
intervals) or the input ended (runwatch.state.ending), and this rule asks
the badge. A replay (`check`) judges records at its usual evaluations, not
at every silence as it ends (a `silence_s` here made every record of a run
stepping every 20 s end one, and `check` 6× slower on such a log): a
traceback, a long silence, then more steps is a crash live while silent
and a stall to both. A DataLoader worker error is the final line of an
exception the main process raises, so it is a crash.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from runwatch import patterns
from runwatch.alerts.rules.base import Rule, RuleParams, duration
from runwatch.alerts.types import Alert, Finding
from runwatch.model import (
    COMMAND_LINE_REFUSED,
    ELASTIC_SIGNAL,
    NEW_ATTEMPT,
    Event,
    Record,
    RunState,
    Severity,
)
from runwatch.state.run import RunTracker
from runwatch.text import clip

DETAIL_CHARS = 240
"""Of the exception line in an alert's summary, cut with an ellipsis: an OOM's `Error code 12 (Cannot
allocate memory)` sits near its 190th character, and cut at 160 it read `Error code 1`."""

WHAT: dict[str, str] = {
    Event.OOM: "GPU out of memory",
    Event.NCCL_TIMEOUT: "NCCL collective timed out",
    Event.NCCL_ERROR: "NCCL error",
    Event.CHILD_FAILED: "a worker process failed",
    Event.KILLED: "process killed",
    Event.SEGFAULT: "segmentation fault",
    Event.TIME_LIMIT: "job cancelled at its time limit",
    Event.TRACEBACK: "uncaught exception",
    Event.DATALOADER_ERROR: "DataLoader worker died",
}
HOST_OOM = "host out of memory"
"""What an `oom` event with `host_oom` is: RAM, not the GPU (the CPU allocator, MemoryError, the OOM killer)."""
GPU_FAULT = "GPU memory access fault"
"""What a `segfault` event of ROCm's `Memory access fault by GPU node-1 …` is: a kernel's bad access, then the abort."""
REFUSED = "command line refused"
"""What a `traceback` event of argparse's refusal is (`COMMAND_LINE_REFUSED`): the script never trained; "uncaught
exception" named an exception no one raised (a review's six launches, each `train_bash.py: error: argument --fp16: …`)."""
ABORTED = "process aborted (SIGABRT)"
"""What a `segfault` event of an abort is (`Aborted (core dumped)`): a native crash too, but no segmentation fault."""
AT_END_ONLY = frozenset({Event.TRACEBACK})
"""Events that are a crash only when no step follows them and nothing more specific was said."""
CONTEXT_LINES = 5
CASCADE = patterns.compile(
    r"closed by peer|reset by peer|Broken pipe|remote process exited|remote peer crash|Connection was likely closed|"
    r"communicator was aborted|"
    r"ProcessGroup\w* .{0,40}(?:abort|watchdog)|connectFullMesh|Socket Timeout|killed by signal: Terminated|"
    r"`Termination signal` is detected",
    re.IGNORECASE,
)
"""What a rank says when another one died first: its peer closed the connection, the collective was
aborted (NCCL's `DistBackendError: NCCL error in: …, remote process exited or there was a network error`; its
`invalid usage`, `unhandled system error` or `unhandled cuda error` are the rank's own failure: two NCCL ranks
on one GPU, "Duplicate GPU detected", read on a real H100). When one rank raises, the others fail in their next collective with these, sometimes sooner
in the output (torchrun's `--log-dir` puts each rank in its own file); the rank that raised something
else is the root cause the alert names (the run lab's torchrun-logdir-raise). A DataLoader worker `killed by
signal: Terminated` was stopped with its job: the job's own report of the signal (Lightning's `Received SIGTERM`)
is the cause, and a kind of crash only such lines report is left out beside another kind (a review named the
workers' deaths as the cause of a run stopped from outside). Paddle's FatalError that a "`Termination signal` is
detected by the operating system" is a rank its launcher stopped once another failed: four ranks raised a ValueError,
three were then stopped so, and the alert named the stop (a review)."""


@lru_cache(maxsize=1024)
def _cascade(message: str) -> bool:
    """Whether a line says another rank died first (`CASCADE`). Remembered: the rule looks at the same
    recent events at every evaluation, and a history read is judged thousands of times."""
    return CASCADE.search(message) is not None


@dataclass(frozen=True)
class CrashParams(RuleParams):
    events: tuple[str, ...] = tuple(str(e) for e in WHAT)
    hold: float = duration(300.0)
    """Seconds a crash event counts after it was read, even if lines follow it."""
    resolve_after_s: float = duration(60.0)


class Crash(Rule[CrashParams]):
    id = "crash"
    default_severity = Severity.CRITICAL
    explanation = ("OOM, NCCL timeout/error, child failure (root-cause rank), killed, segfault, time limit, "
                   "or a traceback that ends the output")
    Params = CrashParams
    judges_records = True
    urgent = True

    def check(self, run: RunTracker, now: float) -> list[Finding]:
        """The crash events of this attempt read within `hold` before `now`. One stamped after `now` is no
        crash of now: a replay whose clock began at its own zero, then went back to the log's first stamp (a
        2021 YOLOX log), timed the OOMs of launches that failed before any step after every later step, and
        `check` reported a critical OOM at the end of the run that then trained to its end. Nor one the run went
        on past (`_went_on`): those OOMs came before the launch of 463 steps that then died of its own error."""
        recs = [r for r in _this_attempt(run.events) if r.event in self.params.events]
        if not recs:
            return []
        crashed = run.state(now) == RunState.CRASHED
        newest = max(r.t for r in recs)
        live = [r for r in recs if (0.0 <= now - r.t <= self.params.hold or (crashed and newest - r.t <= self.params.hold))
                and not _went_on(run, r, crashed)]
        specific = [r for r in live if r.event not in AT_END_ONLY]
        tracebacks = [r for r in live if r.event in AT_END_ONLY and not _cascade(r.message or "")]
        if specific:
            causes = {r.event for r in specific if not _cascade(r.message or "")}
            if len(causes) > 1:
                causes.discard(Event.CHILD_FAILED)  # the launcher's report of a death another event explains
            live = [r for r in specific if r.event in causes] if causes else specific
        elif not crashed:
            return []
        return [self._finding(run, kind, group, tracebacks) for kind, group in _by_event(live).items()]

    def resolution(self, run: RunTracker, alert: Alert, now: float) -> str | None:
        """A crash alert is not "cleared": the report that ended it is another one of the same crash (a rank's
        traceback, then torch elastic's report naming the root cause: read from three files of a torchrun
        `--log-dir`, the tracebacks fired first and read `cleared; was: uncaught exception on rank 0`), or
        the run went on after it."""
        others = [f for f in self.check(run, now) if f.key != alert.key]
        if others:
            said = others[0]
            labels = " ".join(f"{k}={v}" for k, v in said.labels if k != "run")  # sorted: event before rank
            return f"told by a later report ({labels}): {said.summary}"
        restart = next((r for r in reversed(run.events) if r.event in NEW_ATTEMPT), None)
        if restart is not None and alert.fired_at is not None and restart.t >= alert.fired_at:
            at = f" at step {restart.step}" if restart.step is not None else ""
            return f"the run started again{at}: a new attempt"
        if run.state(now) != RunState.CRASHED and run.progress.step is not None:
            return f"the run went on after it (step {run.progress.step} now)"
        return None

    def _finding(self, run: RunTracker, kind: str, group: list[Record], tracebacks: list[Record]) -> Finding:
        # the first report names a crash (an NCCL timeout every rank reports: where it started); a bare
        # traceback is named by the newest, the one that ended the output: those before it were caught and
        # survived (a review: `KeyError` named, caught at step 100, of a run a CUDA error killed at 333)
        if kind == Event.TRACEBACK:
            first = _root_traceback(group)
        else:
            first = next((r for r in group if not _cascade(r.message or "")), group[0])
        rank = _rank(first)
        local = _local_rank(first) if rank is None else None
        detail = clip((first.message or "").strip(), DETAIL_CHARS)
        cause = _cause(tracebacks, rank) if kind == Event.CHILD_FAILED else None
        if cause is not None and cause.message:  # the launcher's report names the rank; its own traceback says why
            detail = clip(f"{clip(cause.message.strip(), 120)}; {detail}", DETAIL_CHARS)
        what = HOST_OOM if kind == Event.OOM and first.metrics.get("host_oom") else WHAT.get(kind, kind)
        said = first.message or ""
        if kind == Event.SEGFAULT and ("Aborted" in said or "Assertion `" in said) and "Segmentation" not in said:
            what = ABORTED  # an abort, or C's failed `assert`, which aborts
        elif kind == Event.SEGFAULT and said.startswith("Memory access fault by GPU"):
            what = GPU_FAULT
        elif kind == Event.TRACEBACK and first.metrics.get(COMMAND_LINE_REFUSED):
            what = REFUSED
        summary = what + _where(group, rank, local) + (f": {detail}" if detail else "") + _signalled(detail)
        context = tuple(r.message[:300] for r in group[-CONTEXT_LINES:] if r.message)
        return self.finding(run, summary, rank=rank, labels={"event": kind, "local_rank": local}, value=kind,
                            step=run.progress.step, context=context)


_SIGNAL_MEANS = {
    signal.SIGHUP: "the terminal or SSH session that started it closed; run it in tmux or screen: torchrun catches "
                   "SIGHUP itself, so nohup does not shield it",
    signal.SIGTERM: "a scheduler (preemption, a time limit, a cancelled job) or a `kill` stopped it",
}


def _cause(tracebacks: list[Record], rank: int | None) -> Record | None:
    """The traceback that says why the launcher's root-cause `rank` failed: that rank's newest, else the newest
    that names no rank (ranks that wrote to one console unprefixed: a Megatron-DeepSpeed launch's 16 ranks each
    raised `ModuleNotFoundError: No module named 'amp_C'`, and the alert named only torch elastic's `exitcode 1`,
    a review), never the launcher's own `ChildFailedError`."""
    own = next((r for r in reversed(tracebacks) if r.rank == rank), None)
    if own is not None or rank is None:
        return own
    return next((r for r in reversed(tracebacks) if r.rank is None and "ChildFailedError" not in (r.message or "")),
                None)


def _root_traceback(group: list[Record]) -> Record:
    """The traceback that names a crash: the newest (those before it were caught and survived, or ended an
    earlier launch appended to the same log). Where several ranks raised, each rank's newest is its own
    failure, and the rank to look at is one that was not stopped after it (a cascade line: its launcher
    stopped it because another had died), the lowest of those: as the ranks' files are read in any order,
    the newest of all was whichever file came last, and `tail` named rank 1, 2 or 3 of one Paddle run from
    one start to the next, each a new alert (a review: rank 2 raised and died, ranks 0, 1 and 3 raised
    the same and were then stopped with SIGTERM). Where every rank was stopped so (a job its launcher stopped, eight
    ranks each `FatalError: `Termination signal` is detected`), the lowest rank's newest: `check` of a review's eight
    rank files named rank 7, whichever came first."""
    newest: dict[int | None, int] = {}
    for i, r in enumerate(group):
        if not _cascade(r.message or ""):
            newest[_rank(r)] = i
    if not newest:  # every rank was stopped (a job stopped from outside): the lowest rank's, in any reading order
        ranked = [i for i, r in enumerate(group) if _rank(r) is not None]
        return group[min(ranked, key=lambda i: (_rank(group[i]), -i))] if ranked else group[0]
    if len(newest.keys() - {None}) < 2:
        return group[max(newest.values())]
    stopped = {k for i, r in enumerate(group) if (k := _rank(r)) in newest and i > newest[k] and _cascade(r.message or "")}
    ranks = sorted((k for k in newest if k is not None), key=lambda k: (k in stopped, k))
    return group[newest[ranks[0]]]


def _signalled(detail: str) -> str:
    """What torch elastic's `SignalException: Process 1871231 got signal: 1` means: ` (SIGHUP: the terminal …
    closed; …)`. The number alone left a user to look it up (a review of a run whose SSH session ended)."""
    m = ELASTIC_SIGNAL.search(detail) if "SignalException" in detail else None
    if m is None:
        return ""
    try:
        sig = signal.Signals(int(m[1]))
    except ValueError:
        return ""
    means = _SIGNAL_MEANS.get(sig)
    return f" ({sig.name}: {means})" if means else f" ({sig.name})"


WENT_ON_STRIDES = 2
"""Logging strides past a crash event's step that say the run went on after it: a history read at once gives
every record one time, so `hold` kept a segfault that 270,000 steps followed firing after `tail` read the log
(a review's HiFi-TSE log, relaunched from a checkpoint after each crash: `check` said OK, `tail` two critical
crashes). Two, as a signal's (`runwatch check`): the last gasp after a crash (a buffered dict, a rank's step
on the heels of another's death) goes no further."""


def _went_on(run: RunTracker, rec: Record, crashed: bool) -> bool:
    """Whether the run stepped at all after `rec`, read before any step (a launch that died before its first, then
    one that trained: a YOLOX log's OOMs before a launch of 463 steps, judged as that launch ended, counted then for
    their `hold`); or, not crashed, went more than `WENT_ON_STRIDES` logging strides past the step `rec` was read
    at. Crashed, the steps past it are another source's (nanoGPT's TensorBoard scalars of steps 296-299, its
    console's last line step 295, then the traceback that ended it)."""
    step = run.progress.step
    if step is None:
        return False
    if rec.step is None:
        return True
    return not crashed and step > rec.step + WENT_ON_STRIDES * run.progress.stride


def _this_attempt(events: Iterable[Record]) -> list[Record]:
    """The events since the run last started again (`restarted`): a crash of the attempt before is over. In a
    log run twice the first attempt's OOM at step 290 counted for its `hold` while the second ran, and
    `check` said it lasted to step 320 of the second."""
    out: list[Record] = []
    for r in events:
        if r.event in NEW_ATTEMPT:
            out.clear()
        else:
            out.append(r)
    return out


def _where(group: list[Record], rank: int | None, local: int | None) -> str:
    """" on rank 1 (ranks 0, 1, 2)", " on local rank 3" or ""."""
    if rank is None:
        return f" on local rank {local}" if local is not None else ""
    ranks = sorted({r for r in map(_rank, group) if r is not None})
    return f" on rank {rank}" + (f" (ranks {', '.join(map(str, ranks))})" if len(ranks) > 1 else "")


def _rank(rec: Record) -> int | None:
    """The rank to look at: torch elastic's root cause for a child failure, else the line's rank."""
    root = rec.metrics.get("root_cause_rank")
    if root is not None and root == root:
        return int(root)
    return rec.rank


def _local_rank(rec: Record) -> int | None:
    """The failed worker's local rank, when an agent line names no global rank."""
    local = rec.metrics.get("local_rank")
    return int(local) if local is not None and local == local else None


def _by_event(recs: Iterable[Record]) -> dict[str, list[Record]]:
    out: dict[str, list[Record]] = {}
    for rec in recs:
        out.setdefault(str(rec.event), []).append(rec)
    return out

