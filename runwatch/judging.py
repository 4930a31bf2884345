"""When the rules judge the runs, and how far each log has been judged.

The rules (`runwatch.alerting`) are pure functions of run state; something
has to decide when to call them: soon after records arrive, about once a
second otherwise (time-based rules such as stall), after each piece of a
history read at start-up (or a NaN in its middle would never be seen), and
not at all for history a previous daemon judged. The same bookkeeping says
how far each log has been judged (what `runwatch watch` saves across
restarts) and when a silent run's stacks are worth taking. Kept apart from
the worker loop that calls it (`runwatch.engine`) and from the ingest that
applies records (`runwatch.ingest`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from runwatch.feed import Feed
from runwatch.ingest import Ingest, RunIngest, alive_trainers
from runwatch.messages import Batch, ItemsRead
from runwatch.model import ProcessSample, ProcessState, RunState
from runwatch.state.system import trainers, writers_left
from runwatch.watcher.stacks import StallStacks
from runwatch.watcher.types import FilePosition

if TYPE_CHECKING:
    from runwatch.alerting import Alerting
    from runwatch.alerts.types import Notification
    from runwatch.model import Notice
    from runwatch.state.system import SystemState

TICK_S = 1.0
"""How often rules are evaluated when nothing arrives (time-based rules such as stall)."""
RECORD_TICK_S = 0.1
"""After new records, the urgent rules (`Rule.urgent`: a NaN, a crash) are evaluated this soon (at most
this often), so those alerts are not held back."""
BUSY_TICK_S = 0.5
"""While records stream, every rule is evaluated at most this often. All of them after every read (10
times a second) were half of what following a log written at 150 lines/s cost (benchmarks/follow_cpu.py);
a spike or a slowdown alert loses at most this much, a NaN nothing."""
STACKS_AT = 0.5
"""Stacks are taken once a run has been silent for this share of the silence that turns its badge
STALLED: the stall alert waits longer still (a 60 s floor to the badge's 30 s), so they are there
when it fires. A long eval costs one dump (py-spy pauses the process for a moment)."""


class Judging:
    """The rules' schedule over an engine's runs (worker thread, the engine's lock held)."""

    def __init__(self, ingest: Ingest, feed: Feed[Notification | Notice], system: SystemState | None,
                 stacks: StallStacks, clock: Callable[[], float], seen_bytes: Mapping[str, int]) -> None:
        self._ingest = ingest
        self._feed = feed
        self._system = system
        self._stacks = stacks
        self._clock = clock
        self._seen_bytes = seen_bytes
        self.alerting: Alerting | None = None
        self._last_tick = 0.0  # of every rule
        self._last_urgent = 0.0  # of the urgent ones (or every rule)
        self.dirty = False  # records arrived since every rule was last evaluated
        self._fresh = False  # records arrived since the urgent rules were last evaluated
        self._applied: dict[str, FilePosition] = {}
        """Per log: the follower's position after the last batch the worker applied."""
        self.judged: dict[str, FilePosition] = {}
        """Per log: the position up to which the rules have judged every line (what `positions()` gives)."""
        self._past_seen: set[str] = set()
        """Logs whose reading has passed `seen_bytes` (what comes now is judged)."""

    def soon(self) -> None:
        """Judge at the next chance (the last records of an ended input; after the worker failed)."""
        self.dirty = self._fresh = True
        self._last_tick = self._last_urgent = -math.inf

    def arrived(self) -> None:
        """Records were applied: the urgent rules are due within `RECORD_TICK_S`, every rule within
        `BUSY_TICK_S`."""
        self.dirty = self._fresh = True

    def read_to(self, source: str, pos: FilePosition) -> None:
        """Every batch of `source` before `pos` is applied (the follower queued `pos` after them); judged
        too when the run owes the rules nothing, else at the run's next tick (`maybe_tick`)."""
        self._applied[source] = pos
        if pos.offset >= self._seen_bytes.get(os.path.abspath(source), 0):
            self._past_seen.add(source)
        run = self._ingest.run_of_source.get(source)
        if self.alerting is None or run is None or run.unjudged == 0:
            self.judged[source] = pos

    def judge_history(self, item: Batch) -> bool | None:
        """Whether a batch about to be applied is history to judge as it is (see `history_tick`); None
        for history a previous daemon judged (`EngineOptions.seen_bytes`)."""
        if self.alerting is None:
            return False
        if not item.batch.history:
            return False
        if isinstance(item, ItemsRead):
            return True
        return True if item.batch.source in self._past_seen or not self._seen_bytes else None

    def piece_records(self) -> int:
        """The most records of a history judged at once (`history_tick` after each piece of this many)."""
        return self.alerting.judge.most_records(history=True) if self.alerting is not None else 0

    def history_tick(self, run: RunIngest, now: float) -> None:
        """Judge a run after each piece of its history, with the rules that read records in sequence.

        A history is applied in pieces far faster than the rules tick, and the
        rules look back only so far: without this, a NaN or a spike in the
        middle of a log read at start-up would never be seen (`runwatch check`
        replays for the same reason). Rules about time (stall, drift, system)
        judge the present: they wait for the live ticks.
        """
        if self.alerting is None:  # nothing to judge with (a run attempt that ends asks all the same)
            return
        ready = [(run.tracker, None, list(run.lines)[-40:])]
        self._feed.publish(*self.alerting.tick(ready, now, points={run.tracker.run: run.unjudged}, history=True))
        run.unjudged = 0
        self._judged_as_applied(run)

    def _judged_as_applied(self, run: RunIngest) -> None:
        """The rules have seen all `run` holds: its logs are judged as far as they are applied (a history's last
        records, judged once its reader caught up, are so at once, not at the next tick: a daemon stopped
        between the two judged its log again when it restarted)."""
        self.judged.update((s, self._applied[s]) for s in run.parsers if s in self._applied)

    def burst_tick(self, run: RunIngest, now: float) -> None:
        """Judge a run after each piece of a live batch that holds more records than the rules can look back
        over at once (`Ingest.apply`): every rule, as a live tick judges, its alerts live ones (not found
        reading a history, which the next tick would resolve). A trainer that flushed 5,000 lines at once
        hid a NaN among the first of them: the tick after saw only the newest."""
        if self.alerting is None:
            return
        ready = [(run.tracker, self._system, list(run.lines)[-40:])]
        self._feed.publish(*self.alerting.tick(ready, now, points={run.tracker.run: run.unjudged},
                                               reading={r.tracker.run for r in self._ingest.runs if r.history_pending}))
        run.unjudged = 0

    def next_tick_in(self) -> float:
        if self.alerting is None:
            return TICK_S
        due = self._last_tick + (BUSY_TICK_S if self.dirty else TICK_S)
        if self._fresh:
            due = min(due, self._last_urgent + RECORD_TICK_S)
        return min(TICK_S, max(0.0, due - self._clock()))

    def maybe_tick(self) -> None:
        """Evaluate the urgent rules soon after records arrive, every rule at most every `BUSY_TICK_S`
        while they stream, and about once a second otherwise."""
        now = self._clock()
        if self.alerting is None:
            return
        if now - self._last_tick >= (BUSY_TICK_S if self.dirty else TICK_S):
            self._tick(now)
        elif self._fresh and now - self._last_urgent >= RECORD_TICK_S:
            self._tick(now, urgent_only=True)

    def _tick(self, now: float, *, urgent_only: bool = False) -> None:
        """One evaluation. Only one of every rule counts the run's records as judged (`unjudged`, the
        saved positions): the urgent rules alone have not seen them with the others' eyes."""
        assert self.alerting is not None
        self._last_urgent, self._fresh = now, False
        if not urgent_only:
            self._last_tick, self.dirty = now, False
        runs = self._ingest.runs
        # a run amid its history is judged by `history_tick` as each piece is due, and by every rule once it is
        # read: judged here, the rules took where a read ended for the run's present (a pipe's OOM, the last
        # line of one 64 KiB read, fired though the run went on after it)
        judged = [r for r in runs if r.tracker.records and not r.reading_history()
                  and not (r.history_pending and r.preview is not None)]
        if judged:
            if not urgent_only:
                for r in judged:
                    self._ended_by_writers(r, now)
            ready = [(r.tracker, self._system, list(r.lines)[-40:]) for r in judged]
            self._feed.publish(*self.alerting.tick(ready, now, points={r.tracker.run: r.unjudged for r in judged},
                                                   urgent_only=urgent_only,
                                                   reading={r.tracker.run for r in runs if r.history_pending},
                                                   ended={r.tracker.run for r in runs if r.ended}))
            if urgent_only:
                return
            for r in judged:
                r.unjudged = 0
                self._ask_stacks(r, now, alive_trainers(self._system, r.name))
        for r in runs:
            if r.unjudged == 0:
                self._judged_as_applied(r)

    def _ended_by_writers(self, run: RunIngest, now: float) -> None:
        """What the run's own processes say of its end, before the rules look: one alive holds its log
        after all (silent, not ended); all gone after its last step, none failing, it ended (a script
        that stopped after its last line is not stalled: its badge reads ENDED, FINISHED at its total,
        and the stall rule leaves it alone). Another run's processes say nothing of this one."""
        if self._system is None:
            return
        tracker = run.tracker
        mine = self._system.processes_of(run.name)
        if tracker.quiet_end:
            if trainers(mine):
                tracker.ended_quietly(False)
        elif tracker.state(now) in (RunState.RUNNING, RunState.STALLED) and writers_left(mine, tracker.last_step_at):
            tracker.ended_quietly(True)

    def _ask_stacks(self, run: RunIngest, now: float, trainers: list[ProcessSample]) -> None:
        """The processes of a run silent for half the time that turns its badge STALLED get their stacks
        taken (once per silence), so that the stall alert, which comes later still, can show them."""
        tracker = run.tracker
        if tracker.last_step_at is None:
            return
        silent = (now - tracker.last_step_at >= STACKS_AT * tracker.stall_after_s()
                  and tracker.state(now) in (RunState.RUNNING, RunState.STALLED))
        pids = [p.pid for p in trainers if p.state != ProcessState.STOPPED]  # py-spy cannot suspend those
        self._stacks.ask(run.name, tracker.last_step_at, silent, pids)
