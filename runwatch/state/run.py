"""Everything runwatch knows about one run, fed record by record.

`RunTracker.apply` is called for every parsed record, so it only routes: metrics
to the series store, steps to progress and ranks, events to a bounded ring, and
a few flags for the state badge. Anything costly (medians, ETA, downsampling)
happens in `snapshot`, once per tick. A long history comes in chunks whose step
lines a columnar parser read as arrays (`apply_chunk`): those go in by slices,
to the same state, since a history of millions of lines would take seconds
one record at a time.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from runwatch.model import (
    FATAL_EVENTS,
    Event,
    Kind,
    Record,
    RunSnapshot,
    RunState,
    is_eval_metric,
    loss_names,
)
from runwatch.state.attempts import Attempts
from runwatch.state.chunk import HeldRows, RecordChunk, StepColumns, last_value, passes_held_rows
from runwatch.state.ending import BARE_SETTLE_MAX_S, BARE_SETTLE_S, Ending, reached_total
from runwatch.state.pace import STEP_INTERVAL, PaceMeter
from runwatch.state.progress import ProgressTracker
from runwatch.state.ranks import RankTracker
from runwatch.state.series import KEEP, History, SeriesStore
from runwatch.state.whole import Whole, moving, whole

FEW_RANKED_ROWS = 32
"""Fewer rows of several ranks than this, between two per-line records, go one by one: taking them in bulk
costs some twenty numpy calls, more than a few records do (DeepSpeed's `[Rank 0]` rows between timer rows
and per-line records: `tail` read its history 3.7x slower in bulk)."""
FEW_ROWS = 4
"""Held rows this few are settled as their records one by one (`settle`): the same state, where a slice per
metric cost 0.37 ms for one row (a replay of a log whose rules look before every step: a Megatron run's
steps 90 s apart, judged as each silence ends, spent a third of `check` there)."""


ARRIVAL_GAPS = 32
"""Recent gaps between step records' arrivals kept (`longest_arrival_gap_s`)."""
PAUSE_INTERVALS = 5.0
"""The run's usual intervals between step records after which it is waiting, not stepping (`pause_after_s`)."""
PAUSE_MIN_S = 10.0
"""The least silence that is a wait however fast the run logs (a few sampler intervals)."""
NEAR_END = 0.95
"""A finished run whose step reached this fraction of its total is 100% done (`RunTracker.snapshot`)."""


SURVIVED_KEPT = 8
"""Crashes the run went on after, kept each with its first fatal event (`RunTracker.survived`)."""


_BAR_METRICS = frozenset({"elapsed", "eta", "step_time", "step_interval", "epoch", "epoch_elapsed", "epoch_eta",
                          "samples_per_sec", "tokens_per_sec"})
"""What a progress bar's frames give of themselves: its clock and pace, no measurement (`_bar_replaced`)."""


PLANNED_PAUSE_FACTOR = 3.0
"""How much longer a silence after a step where the run saves or evaluates by plan may last before the badge says
STALLED (the stall rule's `phase_factor`, its default)."""


PLANNED_PAUSE_SPACING = 4
"""The fewest records between two planned pauses for a plan to count (`RunTracker.planned_pause`)."""


class RunTracker:
    """Series, progress, ranks, recent events and the state badge of one run.

    State badge, checked in this order:
    WAITING before any record; CRASHED after a fatal event, a traceback or a
    nonzero exit with no step record since (a bare traceback once nothing more
    came for `BARE_SETTLE_S`, or at the input's end); FINISHED after a `finished` event or
    exit code 0 (likewise cleared by a later step), or once step >= total; an exit
    with unknown code is FINISHED when the step reached the total (or no total is
    known) and CRASHED otherwise; STALLED when no step record arrived for
    max(`stall_floor_s`, `stall_factor` × the typical interval between step
    records, and `pause_factor` × the longest pause (eval, checkpoint save) the run has shown), once
    that interval is known; RUNNING otherwise. A fault after the finish line still shows CRASHED. The
    floor is 30 s: a torchrun job hung in a collective for 75 s, stepping every 50 ms, kept a green
    RUNNING badge under the old 120 s floor. Before the run has shown any interval (its first step
    came, the second not yet: a warm-up, a compile, a run stepping every few minutes) the badge says
    nothing of a stall by itself: the stall rule, which waits its start-up grace (`first_after`) then,
    says it by its alert's badge, so that badge and rule never disagree (a new user saw `stalled` 30 s
    into a slow run's first interval that the rule rightly did not page).
    """

    def __init__(
        self, run: str, source: str, *, keep: int = KEEP, budget: int = 2048, max_events: int = 200,
        stall_floor_s: float = 30.0, stall_factor: float = 10.0, pause_factor: float = 1.5, history: History = True,
        slack: int = 0,
    ) -> None:
        self.run = run
        self.source = source
        self.store = SeriesStore(keep, budget, history=history, slack=slack)  # history=False: the newest points only
        self._store_args = (keep, budget, history, slack)
        self.progress = ProgressTracker()
        self.ranks = RankTracker()
        self.stall_floor_s = stall_floor_s
        self.stall_factor = stall_factor
        self.pause_factor = pause_factor
        self.pause_plan: Callable[[], Iterable[int]] = tuple
        """Every how many steps the run saves a checkpoint or evaluates, as its logs' headers plan it (`--save_steps
        2000`: runwatch.parsers.preamble.PAUSE_EVERY, SourceParser.pauses), none where they say not: asked only
        when a silence needs it (`planned_pause`), of the sources by whoever feeds the tracker (the engine's
        ingest, `check`'s replay), as their headers are read."""
        self._events: deque[Record] = deque(maxlen=max_events)
        self._events_seen = 0
        """Events appended in all (RunSnapshot.events_seen)."""
        self._counts: dict[Kind, int] = dict.fromkeys(Kind, 0)
        self._records = 0
        self._latest_main: dict[str, float] = {}
        self._latest_other: dict[str, float] = {}
        self._last_x = -1.0
        self._stated_loss: dict[str, float | None] = {}
        """The loss of each source's last step record, where it stated its step: a step-less one right after it that
        says that loss again is the same step's (its summary line), not the next."""
        self._eval_x = -1.0
        """The step of the newest eval: nanoGPT evaluates at `step 200:` after its train step 195."""
        self._last_record_t: float | None = None
        self._last_event_t: float | None = None
        self._last_step_at: float | None = None
        self._arrival_gaps: deque[float] = deque(maxlen=ARRIVAL_GAPS)
        self._pause_ended_at: float | None = None
        self.arrived_together = False
        """The records now applied arrived in one read of many (a history, a catch-up burst): when runwatch
        received them says nothing of the run's pace (`step_interval`), whatever times their lines state."""
        self._no_more = False  # see `no_more_input`
        self._end = Ending()
        self._crash: Record | None = None
        """The first fatal event since the run last went on (`_resume`)."""
        self.survived: list[Record] = []
        """Crashes the run went on after, their first fatal event each (at most `SURVIVED_KEPT`): a launch that
        failed before the one that trained, appended to the same log (`check` notes them; before, it said `OK`
        of a log with five tracebacks, a review)."""
        self.survived_count = 0
        """The fatal events of those crashes (five failed launches before the one that trained: 5)."""
        self.stepless_launch: Record | None = None
        """A launch (`Event.LAUNCHED`) after the run's steps that logged no step of its own yet: what came after
        it (a crash) is that launch's, before its first step, while the step the run shows is the launch before's
        (`check` says so; a review's third experiment in one log crashed at its start, read `step 20/20 crashed`)."""
        self._fatal = 0
        self._pace = PaceMeter()
        self._quiet = False  # see `ended_quietly`
        self._lead: dict[int | None, tuple[str, float]] = {}
        """Each rank's source holding its highest step, and that step: another source's points below it
        are history that source lags behind in reading, placed by step rather than appended (see
        `SeriesStore.place`)."""
        self._attempts = Attempts()
        """Where the run started again from its beginning in the same output (see `_new_attempt`)."""
        self.before_new_attempt: Callable[[float], None] | None = None
        """Called with the time of the step that starts a new attempt, before the state is reset: whoever
        judges the run judges the attempt that ends (its last records since the rules looked), while this
        tracker still holds it. A NaN attempt followed by a restart in one log read at once went unreported."""
        self._held: HeldRows | None = None
        """Step rows whose metric values `apply_rows` holds back until `settle`."""
        self._step_of: dict[int | None, float] = {}
        """Each rank's newest step: a record repeating it is a redraw, not progress. tqdm's monitor thread
        redraws a bar every 10 s with its step unchanged, and a rank hung 75 s in a collective (the run
        lab's accelerate-hang) then never looked silent for the stall alert's 60 s."""

    def apply(self, rec: Record, now: float) -> None:
        """Route one record; `now` is the wall time runwatch received it."""
        if rec.event == Event.NONFINITE and rec.metrics:
            rec = self._as_its_loss(rec)  # before held rows are passed by: of the same name, they settle first
        held = self._held
        if held is not None:
            if held.names.isdisjoint(rec.metrics) and passes_held_rows(rec):
                if rec.kind == Kind.EVAL:
                    held.passed_t = max(held.passed_t, now)
            else:
                self.settle()
        self._records += 1
        kind = rec.kind
        self._counts[kind] += 1
        if kind == Kind.STEP:
            self._apply_step(rec, now)
        elif kind == Kind.EVAL:
            self._apply_eval(rec, now)
        else:
            self._apply_event(rec, now)

    def apply_many(self, records: Iterable[Record], now: float, *,
                   on_error: Callable[[Exception], None] | None = None) -> None:
        """Each record in turn. With `on_error`, a record whose apply raises (a bug, never bad input: the
        parsers turn that into NaN or no record) goes to it and the rest are still applied, each once."""
        if on_error is None:
            for rec in records:
                self.apply(rec, now)
            return
        recs = records if isinstance(records, list) else list(records)
        i = 0
        while i < len(recs):
            try:
                while i < len(recs):
                    self.apply(recs[i], now)
                    i += 1
            except Exception as exc:
                on_error(exc)
                i += 1

    def apply_chunk(self, chunk: RecordChunk, now: float) -> None:
        """`apply_many(chunk.merged(), now)`, with the step rows in bulk: the same state.

        The chunk goes in whole where it can (`_takes_whole`): its step rows and step records at once, its
        other records right after, each given what it shares with the rows before it (`_apply_whole`).
        Else a run of rows between two per-line records at a time: one progress update, their metrics as
        slices, a row that brings a metric new to the run alone, as a Record (so dicts keep their order).
        """
        chunk = chunk.one_rank()
        cols = chunk.steps
        if cols is None or not len(cols.line) or cols.kind != Kind.STEP:
            self.apply_many(chunk.merged(), now)
            return
        taken = whole(chunk, now)
        if taken is not None and self._takes_whole(taken, chunk.rank, chunk.source):
            self._apply_whole(taken, chunk, now)
            return
        records = chunk.records
        t: float | np.ndarray = chunk.t or now
        if cols.t is not None:  # rows that state their time keep it (a record's `t or now`); all arrived `now`
            t = np.where(cols.t > 0, cols.t, t)
        lo = 0
        ends = np.searchsorted(cols.line, [r.line for r in records]).tolist() if records else []

        def rows(a: int, b: int) -> None:
            times = t[a:b] if isinstance(t, np.ndarray) else t
            if cols.rank is not None:  # rows of several ranks (torchrun `--tee` lines of every rank in one file)
                self._ranked_rows(chunk, a, b, times, arrival=now)
            else:
                self._apply_rows(chunk, a, b, times, now, metrics=True, arrival=now)

        for rec, end in zip(records, ends, strict=True):
            if end > lo:
                rows(lo, end)
                lo = end
            self.apply(rec, now)
        if lo < len(cols.line):
            rows(lo, len(cols.line))

    def _takes_whole(self, taken: Whole, rank: int | None, source: str) -> bool:
        """Whether a chunk's rows can go in at once (`_apply_whole`): each rank's metrics known to the run
        (a row that brings one goes alone), none a new attempt, none lagging another source's (placed by
        step), and no record among them (an eval, a step record without a step) sharing what they set: a
        total, a metric."""
        rows = taken.rows
        for rec in taken.others:
            if rec.kind != Kind.EVENT and (rec.total_steps is not None or not rows.metrics.keys().isdisjoint(rec.metrics)):
                return False
        count = len(rows.line)
        for r, index in _rank_groups(rows, rank, 0, count):
            latest = self._latest_main if r is None or r == 0 else self._latest_other
            for name, present in rows.present.items():
                if (name not in latest or self.store.get(name, r) is None) and present[index].any():
                    return False
            lead = self._lead.get(r)
            if lead is not None and lead[0] != source and float(rows.step[index][0]) <= lead[1]:
                return False
        main = _main_rows(rows, rank, 0, count)
        epochs = _epochs(rows, 0, count)
        return main is None or self._attempts.restart_row(
            source, rows.step[main], None if epochs is None else epochs[main]) is None

    def _apply_whole(self, taken: Whole, chunk: RecordChunk, now: float) -> None:
        """A chunk at once: the records before its first row, then every row (a step record is one), then
        the other records in turn, each as it would have found the run: at the step of the row before it
        (an eval without a step of its own is placed there), and the run going on after it (a traceback
        caught and printed) when a row after it moves a rank on (RunTracker.`_progress`, an end resumed)."""
        rows, others, at = taken.rows, taken.others, taken.at
        count = len(rows.line)
        t: float | np.ndarray = chunk.t or now
        if rows.t is not None:
            t = np.where(rows.t > 0, rows.t, t)
        moves = moving(rows, chunk.rank, self._step_of)
        first = next((i for i, p in enumerate(at) if p > 0), len(others))
        for rec in others[:first]:
            self.apply(rec, now)
        steps = rows.step
        self._step_rows(rows, chunk.rank, chunk.source, 0, count, t, now, metrics=True, arrived=False)
        since = 0
        for i in range(first, len(others)):
            p = at[i]
            if p > since:  # rows came since the record before it: the run stands at the last of them
                self._last_x = float(steps[p - 1])
                self._stated_loss[chunk.source] = _loss_of(rows, p - 1)
            since = p
            self.apply(others[i], now)
            q = at[i + 1] if i + 1 < len(others) else count
            if moves[p:q].any():
                self._resume(now, chunk.source, float(steps[p:q][moves[p:q]].max()))
        if since < count:
            self._last_x = float(steps[-1])
            self._stated_loss[chunk.source] = _loss_of(rows, count - 1)

    def _ranked_rows(self, chunk: RecordChunk, lo: int, hi: int, t: float | np.ndarray, *,
                     arrival: float | None) -> None:
        """Rows lo..hi-1 of several ranks: those `_alone_until` names one by one, the rest in bulk, never held
        back. `t`: their time, or each row's (from row lo on); `arrival`: when all of them arrived (a live
        read), None when each arrived at its own time in `t` (a replay), as `_apply_rows` takes them."""
        cols = chunk.steps
        assert cols is not None
        alone = self._alone_until(chunk, lo, hi)
        for i in range(lo, alone):  # a row that brings a metric new to its rank, or starts a new attempt
            if arrival is None:
                assert isinstance(t, np.ndarray)
                at = float(t[i - lo])
                self.apply(dataclasses.replace(chunk.row(i), t=at), at)
            else:
                self.apply(chunk.row(i), arrival)
        if alone < hi:
            times = t[alone - lo :] if isinstance(t, np.ndarray) else t
            last = arrival if arrival is not None else float(np.asarray(t)[-1])
            self._step_rows(cols, chunk.rank, chunk.source, alone, hi, times, last, metrics=True,
                            arrived=arrival is None)

    def _alone_until(self, chunk: RecordChunk, lo: int, hi: int, *, few: int = FEW_RANKED_ROWS,
                     after: tuple[float, float] | None = None) -> int:
        """Of rows lo..hi-1 of several ranks, where those that must go one by one end (lo: none must): a row
        that brings its rank a metric goes alone (so that dicts keep the order records give them), and the
        rows before it with it; a row that starts a new attempt sends them all (seldom seen), and so do
        fewer than `few` (FEW_RANKED_ROWS: in bulk they cost more). `after`: as `Attempts.restart_row`'s."""
        cols = chunk.steps
        assert cols is not None
        if hi - lo < few:
            return hi
        until, epochs = lo, _epochs(cols, lo, hi)
        for rank, index in _rank_groups(cols, chunk.rank, lo, hi):
            rows = np.arange(lo, hi)[index]
            if rank is None or rank == 0:
                if self._attempts.restart_row(chunk.source, cols.step[rows],
                                              None if epochs is None else epochs[index], after) is not None:
                    return hi
            latest = self._latest_main if rank is None or rank == 0 else self._latest_other
            for name, present in cols.present.items():
                if name not in latest or self.store.get(name, rank) is None:
                    hit = np.flatnonzero(present[rows])
                    if hit.size:
                        until = max(until, int(rows[hit[0]]) + 1)
        return until

    def _known(self, cols: StepColumns, rank: int | None) -> bool:
        """Whether the run has a series and a latest value of every metric of the rows."""
        latest = self._latest_main if rank is None or rank == 0 else self._latest_other
        return all(n in latest and self.store.get(n, rank) is not None for n in cols.metrics)

    def apply_rows(self, chunk: RecordChunk, lo: int, hi: int, times: np.ndarray) -> None:
        """Step rows lo..hi-1 of `chunk`, row lo + i received at `times[i]` (a replay: `runwatch check`
        gives each row the time the run reached it). The per-line records of the chunk are the caller's
        to apply, between the rows, each at its own time.

        Rows whose metrics the run knows are held back, in one piece with the rows of the chunk held just
        before them, until `settle()` puts them in at once: whoever reads the run (the rules) settles
        first. A record applied meanwhile settles them before it unless it passes them harmlessly
        (`passes_held_rows`, and no metric of theirs: an evaluation between steps), so the state is the
        one their records applied one by one in line order leave. A replay of a long log reads an eval
        every hundred steps or so; taking the rows between two of them in turn cost more than all else.

        Rows that state several ranks (torchrun `--tee` lines of every rank) are held the same way where
        every rank of them knows their metrics and none starts a new attempt (`_ranked_held`); else they go
        in at once, those that must one by one (`_ranked_rows`)."""
        if hi <= lo:
            return
        cols = chunk.steps
        assert cols is not None
        held = self._held
        if held is not None and (held.chunk is not chunk or held.hi != lo):
            self.settle()
            held = None
        start, after = self._asked_from(chunk, lo)
        if cols.rank is not None and not self._ranked_held(chunk, start, hi, after):
            self.settle()
            self._ranked_rows(chunk, lo, hi, times, arrival=None)
            return
        if cols.rank is None and self._restart_in(chunk, start, hi, after):
            self.settle()
            self._apply_rows(chunk, lo, hi, times, float(times[-1]), metrics=True)
            return
        if held is not None:
            held.hi = hi
            held.times.append(times)
        elif cols.rank is not None or self._known(cols, chunk.rank):
            held = self._held = HeldRows(chunk, lo, hi, [times], frozenset(cols.metrics))
        else:
            self._apply_rows(chunk, lo, hi, times, float(times[-1]), metrics=True)
            return
        held.last_main = _last_main(cols, chunk.rank, lo, hi) or held.last_main

    def _asked_from(self, chunk: RecordChunk, lo: int) -> tuple[int, tuple[float, float] | None]:
        """Where rows from `lo` on are asked whether one starts a new attempt, and after what (`Attempts.restart_row`):
        from `lo` after the newest main row held, where they join rows held back and the source's attempt has
        begun; else from the first held row (or `lo`), after what the run took."""
        held = self._held
        if held is None or held.chunk is not chunk or held.hi != lo:
            return lo, None
        if held.last_main is not None and self._attempts.begun(chunk.source):
            return lo, held.last_main
        return held.lo, None

    def passed_by(self, chunk: RecordChunk, lo: int, hi: int, records: Sequence[Record]) -> bool:
        """Whether `apply_rows(chunk, lo, hi, …)` would hold the rows back and each of `records` pass them
        (`apply` leaves held rows held for it): then the rows taken at once and the records after them
        leave the state that the rows and records interleaved in line order leave, the rows held all the
        same. A replay takes the rows between two evaluations so, and its evals (one every hundred steps
        or so) after them: a call for the rows between two evals cost more than the rows did."""
        cols = chunk.steps
        assert cols is not None
        if hi <= lo:
            return False
        names = cols.metrics.keys()
        if not all(names.isdisjoint(rec.metrics) and passes_held_rows(rec) for rec in records):
            return False
        held = self._held
        joins = held is not None and held.chunk is chunk and held.hi == lo
        start, after = self._asked_from(chunk, lo)
        if cols.rank is not None:
            return self._ranked_held(chunk, start, hi, after)
        if self._restart_in(chunk, start, hi, after):
            return False
        return joins or self._known(cols, chunk.rank)

    def _ranked_held(self, chunk: RecordChunk, lo: int, hi: int, after: tuple[float, float] | None = None) -> bool:
        """Whether rows lo..hi-1 of several ranks may be held back and put in at once (`settle`): no row
        brings its rank a metric it has no series of, none starts a new attempt (`_alone_until`: none
        goes alone, whatever their number; `after` as there). Taken a stretch between two per-line records
        at a time (some twenty numpy calls a rank each), `check` of a 1M-line two-rank torchrun `--tee` log
        with an evaluation every 50 iterations took 15.8 s, 7.2 s held."""
        return self._alone_until(chunk, lo, hi, few=0, after=after) == lo

    def settle(self) -> None:
        """Put the rows `apply_rows` held back into the run's state (one slice per metric)."""
        held = self._held
        if held is None:
            return
        self._held = None
        cols = held.chunk.steps
        assert cols is not None
        times = held.times[0] if len(held.times) == 1 else np.concatenate(held.times)
        if held.hi - held.lo <= FEW_ROWS:  # as their records, one by one: the same state, at a tenth of the cost
            for i, at in enumerate(times.tolist(), held.lo):
                self.apply(dataclasses.replace(held.chunk.row(i), t=at), at)
        else:
            self._step_rows(cols, held.chunk.rank, held.chunk.source, held.lo, held.hi, times, float(times[-1]),
                            metrics=True)
        if self._last_record_t is not None and held.passed_t > self._last_record_t:
            self._last_record_t = held.passed_t  # an eval that passed them came after them

    def _apply_rows(self, chunk: RecordChunk, lo: int, hi: int, t: float | np.ndarray, now: float, *,
                    metrics: bool, arrival: float | None = None) -> None:
        """Rows lo..hi-1, each row that brings a new metric alone; `t`: their time, or each row's (from
        row lo on), the one given to a row that goes alone as a Record too. Each row's time is when it
        arrived too (a replay's clock), unless `arrival` says when all of them did (a live read)."""
        cols = chunk.steps
        assert cols is not None
        if chunk.rank is None or chunk.rank == 0:
            r = self._attempts.restart_row(chunk.source, cols.step[lo:hi], _epochs(cols, lo, hi))
            if r is not None:  # the rows before it, a new attempt, then the rest (which may bring new metrics)
                cut = lo + r
                if r:
                    self._apply_rows(chunk, lo, cut, t[: r] if isinstance(t, np.ndarray) else t,
                                     float(t[r - 1]) if isinstance(t, np.ndarray) and arrival is None else now,
                                     metrics=metrics, arrival=arrival)
                rest = t[r:] if isinstance(t, np.ndarray) else t
                at = float(rest[0]) if isinstance(rest, np.ndarray) and arrival is None else now
                self._new_attempt(chunk.source, float(cols.step[cut]), at, _epoch_at(cols, cut), line=int(cols.line[cut]))
                self._apply_rows(chunk, cut, hi, rest, now, metrics=True, arrival=arrival)
                return
        base = lo
        while lo < hi:
            cut = self._first_new(cols, chunk.rank, lo, hi) if metrics else hi
            if cut > lo:
                times = t[lo - base : cut - base] if isinstance(t, np.ndarray) else t
                at = float(times[-1]) if isinstance(times, np.ndarray) and arrival is None else now
                self._step_rows(cols, chunk.rank, chunk.source, lo, cut, times, at, metrics=metrics,
                                arrived=arrival is None)
            if cut == hi:
                return
            if isinstance(t, np.ndarray):  # the row at the time given for it, as its neighbours
                at = float(t[cut - base])
                self.apply(dataclasses.replace(chunk.row(cut), t=at), at if arrival is None else arrival)
            else:
                self.apply(chunk.row(cut), now)
            lo = cut + 1

    def _first_new(self, cols: StepColumns, rank: int | None, lo: int, hi: int) -> int:
        """The first row in lo..hi-1 with a metric the run has no series or latest value of (hi if none)."""
        latest = self._latest_main if rank is None or rank == 0 else self._latest_other
        first = hi
        for name, present in cols.present.items():
            if name not in latest or self.store.get(name, rank) is None:
                hit = np.flatnonzero(present[lo:first])
                if hit.size:
                    first = lo + int(hit[0])
        return first

    def _step_rows(
        self, cols: StepColumns, rank: int | None, source: str, lo: int, hi: int, t: float | np.ndarray,
        now: float, *, metrics: bool, arrived: bool = True,
    ) -> None:
        """What `_apply_step` does for rows lo..hi-1 (metric values only with `metrics`); `t`: their time,
        or each row's, `now` the time the last arrived; `arrived`: each row's time is when it arrived (a
        replay), not only the time its line states (then all arrived `now`)."""
        self._records += hi - lo
        self._counts[Kind.STEP] += hi - lo
        steps = cols.step[lo:hi]
        groups = _rank_groups(cols, rank, lo, hi)
        main = _main_rows(cols, rank, lo, hi)
        if main is not None:
            epochs = _epochs(cols, lo, hi)
            loss = cols.present.get("loss")
            self._attempts.advance_rows(source, steps[main], None if epochs is None else epochs[main],
                                        None if loss is None else loss[lo:hi][main])
        self._last_x = float(steps[-1])
        self._stated_loss[source] = _loss_of(cols, hi - 1)
        timed = isinstance(t, np.ndarray) and arrived and not self.progress.bulk
        if timed:  # each row came at its own time (a replay of a stamped log): the pace of each, as one by one
            assert isinstance(t, np.ndarray)
            epochs_of = _epochs(cols, lo, hi)
            marks = epochs_of.tolist() if epochs_of is not None else [math.nan] * (hi - lo)
            for step, at, epoch in zip(steps.tolist(), t.tolist(), marks, strict=True):
                self._measure(step, at, 1, epoch)
        else:
            prior = np.maximum.accumulate(np.concatenate(([self._pace.top], steps[:-1])))
        moved, top = 0 if timed else int((steps > prior).sum()), float(steps.max())
        epoch = math.nan if timed else _epoch_at(cols, lo + int(np.argmax(steps)))  # the top step's, for the pace
        for i, (r, index) in enumerate(groups):  # the run's pace once, each rank's newest step its own
            mine = steps[index]
            last = float(mine[-1])
            uniform = bool((mine == last).all())
            fresh = uniform and self._measures_anew(r, last, epoch, (
                (name, v) for name, values in cols.metrics.items() if "loss" in name
                for v in values[lo:hi][index][cols.present[name][lo:hi][index]].tolist()))
            self._progress(r, source, now, last, top, uniform=uniform, moved=moved, measured=timed or i > 0,
                           epoch=epoch, fresh=fresh)
        total = cols.total[lo:hi]
        stated = total if total[-1] >= 0 else total[total >= 0]
        step_time = cols.metrics.get("step_time")
        self.progress.update_steps(
            steps, t, total=int(stated[-1]) if stated.size else None,
            step_time=None if step_time is None else np.where(cols.present["step_time"][lo:hi], step_time[lo:hi], np.nan),
            tokens_per_sec=last_value(cols, "tokens_per_sec", lo, hi), elapsed=last_value(cols, "elapsed", lo, hi),
            elapsed_last="elapsed" in cols.present and bool(cols.present["elapsed"][hi - 1]),
            log_eta=last_value(cols, "eta", lo, hi),
        )
        for r, index in groups:
            mine, times = steps[index], t[index] if isinstance(t, np.ndarray) else t
            if r is None:
                pass
            elif isinstance(times, np.ndarray):  # each row at its own time: its own interval
                self.ranks.update_rows(r, mine, times)
            else:  # all at one time: one record at the first step and one at the highest do it
                self.ranks.update(r, int(mine[0]), times)
                self.ranks.update(r, int(mine[int(np.argmax(mine))]), times)
            if not metrics:
                continue
            if isinstance(index, slice):
                self._add_columns(cols, r, source, lo, hi, t)
            else:
                self._add_columns(cols.take(lo + index), r, source, 0, len(index), times)  # these rows only
        if metrics and len(groups) > 1:
            self._latest_in_line_order(cols, rank, lo, hi)

    def _latest_in_line_order(self, cols: StepColumns, rank: int | None, lo: int, hi: int) -> None:
        """The latest values rows lo..hi-1 of several ranks leave, one by one in line order: a metric's last
        row of rank 0 (or none) is the main value, of any other rank the others' (taken in rank by rank,
        the last rank's would be)."""
        main = _main_rows(cols, rank, lo, hi)
        is_main = np.zeros(hi - lo, bool)
        if main is not None:
            is_main[main] = True
        for latest, mine in ((self._latest_main, is_main), (self._latest_other, ~is_main)):
            for name, values in cols.metrics.items():
                hit = np.flatnonzero(cols.present[name][lo:hi] & mine)
                if hit.size:
                    latest[name] = float(values[lo + int(hit[-1])])

    def _add_columns(self, cols: StepColumns, rank: int | None, source: str, lo: int, hi: int,
                     t: float | np.ndarray) -> None:
        """Metric values of rows lo..hi-1 into series and latest values (all known to the run); `t`: their
        time, or each row's."""
        x = cols.step[lo:hi].astype(np.float64)
        self.store.took(hi - lo)
        lags = self._lags(rank, source, float(x[0]), float(x.max())) if len(x) else False
        latest = self._latest_main if rank is None or rank == 0 else self._latest_other
        for name, values in cols.metrics.items():
            present = cols.present[name][lo:hi]
            v = values[lo:hi]
            t_ = t
            if not present.all():
                index = np.flatnonzero(present)
                if not index.size:
                    continue
                x_, v = x[index], v[index]
                if isinstance(t, np.ndarray):
                    t_ = t[index]
            else:
                x_ = x
            series = self.store.get(name, rank)
            assert series is not None
            if lags:
                series.place(x_, v, t_)
            else:
                series.extend(x_, v, t_)
            latest[name] = float(v[-1])

    def _lags(self, rank: int | None, source: str, first: float, top: float) -> bool:
        """Whether points of `rank` from `source`, from step `first` up to `top`, lag another source's
        (its history read after that source had passed it); the source reaching the rank's highest
        step leads it from then on. A source behind itself (a run resumed into its log) does not lag."""
        lead = self._lead.get(rank)
        lags = lead is not None and source != lead[0] and first <= lead[1]
        if lead is None or top > lead[1]:
            self._lead[rank] = (source, top)
        return lags

    def _apply_step(self, rec: Record, now: float) -> None:
        step, rank, metrics = rec.step, rec.rank, rec.metrics
        t = rec.t or now
        if step is not None and (rank is None or rank == 0):
            epoch = metrics.get("epoch", math.nan)
            loss = "loss" in metrics
            if self._attempts.restarts(rec.source, step, epoch, loss):
                self._new_attempt(rec.source, float(step), now, epoch, line=rec.line,
                                  counted=not self._bar_replaced(rec))
            else:
                self._attempts.advance(rec.source, step, epoch, loss)
        elif step is None and (rank is None or rank == 0) and "epoch" in metrics:
            if self._attempts.epoch_restarts(rec.source, metrics["epoch"]):
                self._new_attempt(rec.source, None, now, metrics["epoch"], line=rec.line)
        said = self._stated_loss.pop(rec.source, None)
        if step is not None:
            x = float(step)
            self._stated_loss[rec.source] = metrics.get("loss")
        elif said is not None and _same(metrics.get("loss"), said):
            x = max(self._last_x, 0.0)  # the stated step's own summary, its loss again (`Epoch: 4, Loss: nan`, then
            # `Train. Total Loss: nan, Rec.: …`): read as the next step, ten epochs were at step 11, 8 of them NaN (a review)
        else:
            x = self._last_x + 1.0  # a loop that states no step: its lines count them
        self._last_x = x
        fresh = step is not None and self._measures_anew(rank, x, metrics.get("epoch", math.nan), metrics.items())
        self._progress(rank, rec.source, now, None if step is None else x, x, uniform=True,
                       epoch=metrics.get("epoch", math.nan), fresh=fresh)
        if step is not None:
            get = metrics.get
            self.progress.update(
                step, rec.total_steps, t, step_time=get("step_time"), tokens_per_sec=get("tokens_per_sec"),
                elapsed=get("elapsed"), log_eta=get("eta"),
            )
            if rank is not None:
                self.ranks.update(rank, step, t)
        self._add_metrics(metrics, x, t, rank, rec.source)

    def _restart_in(self, chunk: RecordChunk, lo: int, hi: int, after: tuple[float, float] | None = None) -> bool:
        """Whether one of step rows lo..hi-1 starts a new attempt: rows up to such a row are taken in as
        they come, never held back or put in at a chunk's end. `after`: as `Attempts.restart_row`'s."""
        cols = chunk.steps
        assert cols is not None
        if (chunk.rank is not None and chunk.rank != 0) or hi <= lo:
            return False
        return self._attempts.restart_row(chunk.source, cols.step[lo:hi], _epochs(cols, lo, hi), after) is not None

    def starts_anew(self, rec: Record) -> bool:
        """Whether step record `rec` would start a new attempt (`_new_attempt`), asked before it is applied (this
        changes nothing): a replay leaves the silence such a record ends to the attempt it ends (runwatch.replay)."""
        if rec.kind is not Kind.STEP or rec.step is None or (rec.rank is not None and rec.rank != 0):
            return False
        return self._attempts.restarts(rec.source, rec.step, rec.metrics.get("epoch", math.nan), "loss" in rec.metrics)

    def row_starts_anew(self, chunk: RecordChunk, row: int) -> bool:
        """`starts_anew` of step row `row` of `chunk`."""
        return chunk.steps is not None and self._restart_in(chunk, row, row + 1)

    def _bar_replaced(self, rec: Record) -> bool:
        """Whether a step that went back starts a new bar after one that measured nothing, and is not that bar
        again (the same total): the bar before was a loop ahead of training (TRL's dataset packing `0/400 …
        153/400` then the training bar `0/500`; a tokenising bar `87/87 examples/s`, then `0/30`), not an
        attempt of the run. A run that restarts measured something before it (any metric but a bar's own
        clock and pace, `_BAR_METRICS`), or keeps its total. A bar's `0/N` frame states no total
        (runwatch.parsers.progress_bar): a bar that measured nothing, drawn anew, is then a new bar too
        (uncounted, its progress starts afresh all the same; nothing measured, nothing to misjudge).
        Reviews read "the run started again once" at a PEFT SFT job's and a LoRA job's training bar."""
        total = self.progress.total
        same_bar = rec.total_steps is not None and total is not None and rec.total_steps == total
        return not same_bar and set(self.store.metrics()) <= _BAR_METRICS

    def _new_attempt(self, source: str, step: float | None, now: float, epoch: float = math.nan, *,
                     line: int = 0, counted: bool = True) -> None:
        """The run started again from its beginning at `step` in `source` (see runwatch.state.attempts; None:
        its records state no step, and its `epoch` went back): its series, progress, ranks and pace start
        afresh, so the rules judge the new attempt on its own; its events, counts and end state stay, and
        the restart is an event of its own. Records with no step fed no progress, ranks or pace: those of
        another source's steps (a job's bar on stderr beside its step-less dicts on stdout) stay. Not
        `counted` (`_bar_replaced`): the same fresh start, but no attempt and no event."""
        if self.before_new_attempt is not None:
            self.before_new_attempt(now)
        keep, budget, history, slack = self._store_args
        was, of = self._last_x, self.progress.total
        self.store = SeriesStore(keep, budget, history=history, slack=slack)
        self._latest_main.clear()
        self._latest_other.clear()
        self._last_x = self._eval_x = -1.0
        if step is not None:  # records with no step fed none of these: another source's steps stay the run's
            old, self.progress = self.progress, ProgressTracker()
            self.progress.bulk, self.progress.own_times = old.bulk, old.own_times
            self.ranks = RankTracker()
            self._pace = PaceMeter()
            self._lead.clear()
            self._step_of.clear()
        self._attempts.restart(source, step, epoch, counted=counted)
        self._end.started_again()
        if not counted:
            return
        where = (f"at step {int(step)} (it was at step {int(was)})" if step is not None else
                 f"at epoch {epoch:g} (its records state no step)")
        self._event(Record(
            Kind.EVENT, step=None if step is None else int(step), t=now, event=Event.RESTARTED, source=source,
            line=line, metrics=({"from_step": float(was)} | ({} if of is None else {"from_total": float(of)})
                                if step is not None and was >= 0 else {}),
            message=f"the run started again {where}: attempt {self._attempts.count}, charted and judged on its own"))

    @property
    def attempts(self) -> int:
        """How many times the run started from its beginning in the same output (1: it never started again)."""
        return self._attempts.count

    def _apply_eval(self, rec: Record, now: float) -> None:
        """Eval metrics go to the store at the eval's step (or the last step seen); progress notes a pause. After a
        bare traceback (`Ending.bare`) an evaluation the run prints is the run going on, as a step is: Marian's
        `[valid] … translation : 0` after its validation script's traceback, then 15 minutes to its next step,
        read as a crash."""
        self._last_record_t = now
        if self._end.crashed and self._end.bare:
            self._resume(now, rec.source, None)
        self.progress.update(rec.step or 0, rec.total_steps, rec.t or now, is_eval=True)
        x = max(self._last_x, 0.0) if rec.step is None else float(rec.step)
        self._eval_x = x
        self._add_metrics(rec.metrics, x, rec.t or now, rec.rank, rec.source)

    def _add_metrics(self, metrics: Mapping[str, float], x: float, t: float, rank: int | None, source: str) -> None:
        if not metrics:
            return
        if self._lags(rank, source, x, x):
            self.store.place(metrics, x=x, t=t, rank=rank)
        else:
            self.store.add(metrics, x=x, t=t, rank=rank)
        if rank is None or rank == 0:
            self._latest_main.update(metrics)
        else:
            self._latest_other.update(metrics)

    def _measures_anew(self, rank: int | None, step: float, epoch: float, values: Iterable[tuple[str, float]]) -> bool:
        """Whether the main rank's records repeating its step `step`, the run's epoch, state a loss (among `values`)
        other than the newest one of its name (`_progress`'s `fresh`)."""
        if (rank is not None and rank != 0) or step != epoch or self._step_of.get(rank) != step:
            return False
        latest = self._latest_main
        return any("loss" in name and name in latest and not (v == latest[name] or (v != v and latest[name] != latest[name]))
                   for name, v in values)

    def _progress(self, rank: int | None, source: str, now: float, last: float | None, top: float, *,
                  uniform: bool, moved: int = 1, measured: bool = False, epoch: float = math.nan,
                  fresh: bool = False) -> None:
        """Step records of `rank` received at `now`, the newest at step `last` (None: unnumbered), the
        highest `top`, `moved` of them above the run's top so far; `uniform`: all at `last`. They end a
        crash or finish unless another source sent them on its heels, and they are progress unless
        they only repeat the rank's newest step: a progress bar's last redraw after the traceback (the HF
        Trainer's `49/120` under its OOM) neither resumes a crashed run nor moves it on. `measured`: their
        pace is measured already (rows each at its own time); `epoch`: the top step's epoch, if stated. `fresh`:
        they repeat the step, the run's epoch (a loop with no step counter, `epoch: [1/10], …, loss: 38.9` every few
        minutes), with a loss other than the newest: the run is measuring on inside its epoch, no redraw (a review's
        healthy run of epochs of 35 minutes, four lines each, read a critical stall 22 minutes into its first). Only
        the main rank's, and it only keeps the silence from growing: it resumes no crashed or finished run (a line
        of another, unlabelled rank after a traceback is no sign the run went on, a code review)."""
        moved_on = last is None or not uniform or self._step_of.get(rank) != last
        if moved_on or fresh:
            if moved_on:
                self._resume(now, source, top if last is not None else None)
            if self._last_step_at is None or now > self._last_step_at:  # else no sign of life: a dead log's
                self._quiet = False  # unended last line, dated when the file was last written (`FileFollower`)
                if self._last_step_at is not None:
                    gap, pause = now - self._last_step_at, self.pause_after_s()
                    if pause is not None and gap > pause:
                        self._pause_ended_at = now
                    self._arrival_gaps.append(gap)
            self._last_step_at = now  # a redraw of a step is no progress (see `_step_of`)
        if last is not None:
            self.stepless_launch = None
            self._step_of[rank] = last
            if not measured:
                self._measure(top, now, moved, epoch)
        self._last_record_t = now

    def _resume(self, now: float, source: str, top: float | None) -> None:
        """`Ending.resume`; a crash it clears is one the run went on after (`survived`)."""
        crashed = self._end.crashed
        self._end.resume(now, source, top, self.progress.stride)
        if crashed and not self._end.crashed and self._crash is not None:
            self.survived_count += self._fatal
            if len(self.survived) < SURVIVED_KEPT:
                self.survived.append(self._crash)
        if not self._end.crashed:
            self._crash, self._fatal = None, 0

    def _measure(self, step: float, now: float, moved: int, epoch: float = math.nan) -> None:
        """The run's pace as runwatch sees it arrive: `step_interval` points per read (see PaceMeter); `epoch`
        the epoch `step` states, if any."""
        if self.progress.bulk or self.arrived_together:  # a history read at start-up, a catch-up: its read times
            self._pace.restart(step, now, epoch)  # say nothing of the run's pace (a stamped log's history times
            return  # its progress by its stamps, not its arrivals)
        points = self._pace.step(step, now, moved, epoch)
        if points is None:
            return
        base, top, count, value = points
        series = self.store.series(STEP_INTERVAL)
        if count == 1:
            series.append(top, value, now)
        else:
            xs = base + (top - base) / count * np.arange(1, count + 1)  # np.linspace costs 10x more per call
            xs[-1] = top
            series.extend(xs, np.full(count, value), now)
        self._latest_main[STEP_INTERVAL] = value

    def _event(self, rec: Record) -> None:
        self._events.append(rec)
        self._events_seen += 1

    def _apply_event(self, rec: Record, now: float) -> None:
        """An event whose line names no step is the run's at the step it had reached (a traceback, an OOM: the
        line mode, the TUI's log and the status JSON say where the run was; a review found them stepless);
        a checkpoint saved after an eval, at the eval's step (nanoGPT's `saving checkpoint to out`). So is a
        checkpoint whose file name's step is far from the run's (`_counted_apart`)."""
        if rec.step is None:
            at = max(self._last_x, self._eval_x) if rec.event == Event.CHECKPOINT_SAVED else self._last_x
            if at >= 0:
                rec = dataclasses.replace(rec, step=int(at))
        elif rec.event == Event.CHECKPOINT_SAVED and _counted_apart(rec.step, self._last_x, self.progress.stride):
            rec = dataclasses.replace(rec, step=int(max(self._last_x, self._eval_x)))
        if rec.event == Event.NONFINITE:
            # a run's word that its loss was not finite (`events._LOSS_NOT_FINITE`): a point of its loss's series
            # there, for the `nonfinite` rule, live and in `check` alike; at step 0 before any step (timm's engine
            # exits on a NaN before its first logged line); placed by step, as a chunk's rows may be ahead of it
            x = float(rec.step) if rec.step is not None else 0.0
            self.store.place(rec.metrics, x=x, t=rec.t or now, rank=rec.rank)
        if not (rec.event == Event.FINISHED and self._end.finished and not self._end.crashed):
            self._event(rec)  # else the same end said again: the Trainer's summary dict after a loop's own "Training
            # completed" line (line mode printed `finished` twice, a review); no step came between them
        self._last_event_t = now
        if rec.event == Event.LAUNCHED:
            if self._last_x >= 0:
                self.stepless_launch = rec
            self._resume(now, rec.source, None)  # a new launch: the crash before it was an earlier one's
            self._attempts.launched(rec.source)
            return
        self._end.event(rec, now)
        if self._end.crashed and rec.event in FATAL_EVENTS:
            self._fatal += 1
            if self._crash is None:
                self._crash = rec
        if rec.kind == Kind.CHECKPOINT or rec.event == Event.CHECKPOINT_SAVED:
            self.progress.mark_pause()

    def _as_its_loss(self, rec: Record) -> Record:
        """A `nonfinite` event's loss under the name this run logs its training loss by, where that is not `loss`
        (`lm_loss`, `train_loss`; no evaluation's): a series of its own named `loss` held one
        NaN and never cleared, stood first among the charts with one point, and took `loss`'s place in the status
        line for good (a code review)."""
        names = self.store.metrics()
        if "loss" in names:
            return rec
        own = [m for m in loss_names(names) if not is_eval_metric(m)]
        if not own:
            return rec
        name = next((m for m in own if m.startswith(("train", "total"))), own[0])  # `train_loss` before `aux_loss`
        return dataclasses.replace(rec, metrics={name if k == "loss" else k: v for k, v in rec.metrics.items()})

    def stall_after_s(self) -> float:
        """Seconds without a step record after which the badge says STALLED (once an interval is known:
        `state`); three times as long after a step at which the run pauses by plan (`planned_pause`), as the
        stall rule allows there."""
        interval = self.progress.record_interval_s or 0.0
        after = max(self.stall_floor_s, self.stall_factor * interval, self.pause_factor * self.progress.longest_pause_s)
        return after * PLANNED_PAUSE_FACTOR if self.planned_pause(self.progress.step, 1) else after

    def planned_pause(self, step: int | None, stride: int) -> int | None:
        """The planned interval (`pause_plan`) one of whose steps is `step` or comes by the next record, `stride`
        steps on: the run saves or evaluates after `step`, or after the next step before it prints it (a loop may
        save before or after it logs; a log that prints every 10th step and saves every 25th pauses after step 20
        for step 25). None where no plan has a step there."""
        if step is None:
            return None
        for every in sorted(set(self.pause_plan())):
            if every < PLANNED_PAUSE_SPACING * max(stride, 1):
                continue  # a plan that falls on most records is no pause of the run's (or no plan in steps)
            due = -(-step // every) * every  # the plan's first step at or after `step`
            if 0 < due <= step + max(stride, 1):
                return every
        return None

    def state(self, now: float) -> RunState:
        if self._records == 0:
            return RunState.ENDED if self._quiet else RunState.WAITING
        end = self._end
        if end.crashed and not (end.bare and self._may_go_on(now)):
            return RunState.CRASHED
        if end.finished:
            return RunState.FINISHED
        step, total = self.progress.step, self.progress.total
        done = reached_total(step, total)
        if end.exited or self._quiet:
            # An exit with no code (the end of a pipe), or a run that ended quietly (`ended_quietly`: the same
            # knowledge, live; a 0-based run at 40999 of 41000 read `ended` to `tail`, `finished` to `check`, a
            # review): finished only at the known total as its logging shows it (`logged_to_end`: 0-based logs,
            # nanochat and nanoGPT, print total-1 as their last step); else the run ended, how is unknown.
            return RunState.FINISHED if self.progress.logged_to_end else RunState.ENDED
        if done:
            return RunState.FINISHED
        if (self._last_step_at is not None and now - self._last_step_at > self.stall_floor_s
                and self.progress.record_interval_s is not None and now - self._last_step_at > self.stall_after_s()):
            return RunState.STALLED
        return RunState.RUNNING

    @property
    def crash_printed(self) -> bool:
        """Whether a fatal record (a bare traceback too) came after the newest step: the run's end to one who
        knows its process is gone (`process_exit`), which the badge waits for (`_may_go_on`)."""
        return self._end.crashed

    def _may_go_on(self, now: float) -> bool:
        """Whether the run may still go on after the bare traceback it printed last (`BARE_SETTLE_S`): more
        input may come, and something was received within the settle."""
        if self.input_over or self._quiet or (heard := self.last_heard_t) is None:
            return False  # nothing more will come: the input ended, or the run did (its processes are gone)
        settle = max(BARE_SETTLE_S, 2.0 * (self.progress.record_interval_s or 0.0))
        return now - heard < min(BARE_SETTLE_MAX_S, settle)

    @property
    def eval_x(self) -> float:
        """The step (x) of the newest evaluation record, -1.0 before one: one that begins an evaluation and
        says no metric yet (an HF Trainer's evaluation bar drawing its first frame) counts too."""
        return self._eval_x

    @property
    def longest_arrival_gap_s(self) -> float:
        """The longest of the recent gaps between two arrivals of a step record (0 before two): the rhythm in
        which the log reaches runwatch (a block-buffered stdout delivers 20 steps every 20 s)."""
        return max(self._arrival_gaps, default=0.0)

    def pause_after_s(self) -> float | None:
        """The silence after which the steps stopped coming, not just lag: `PAUSE_INTERVALS` of the run's usual
        intervals (`PAUSE_MIN_S` at least), and longer than any recent gap between two step records' arrivals
        (a block-buffered `python train.py > log` delivers its lines every 20 s: its rhythm, no wait). None
        before the run has a pace."""
        usual = self.progress.record_interval_s
        if usual is None:
            return None
        return max(PAUSE_MIN_S, PAUSE_INTERVALS * usual, self.longest_arrival_gap_s)

    def paused(self, now: float) -> bool:
        """Whether the steps stopped coming (`pause_after_s`): the run waits (a hang, a stalled filesystem;
        `stall` and `io_stall` say so), and its GPUs idle because of it, not because the steps use them badly.
        Seen on an H200 beside a real nanoGPT run hung for 75 s: the badge still read running (its budget is
        rougher) and a 15-s `gpu_util_low` fired "while the run is stepping" at 0%."""
        pause = self.pause_after_s()
        return pause is not None and self._last_step_at is not None and now - self._last_step_at > pause

    @property
    def pause_ended_at(self) -> float | None:
        """Wall time the newest pause ended (a step arrived after `pause_after_s` of silence); None if none did.
        What was sampled before it belongs to the wait: seen on an H200, the 15-s window of GPU utilisation
        just after a 75-s hang still held its zeros and `gpu_util_low` went pending on a run back at 56%."""
        return self._pause_ended_at

    @property
    def last_step_at(self) -> float | None:
        """Wall time runwatch received the newest step record (the `now` given to `apply`); None before one.

        Not the time the log line carries: a history read at once shares one receive time, and a log
        stamped in another time zone must not look silent.
        """
        return self._last_step_at

    @property
    def last_record_t(self) -> float | None:
        """Wall time runwatch received the newest step or eval record; None before one (what a rule asks
        of a run's silence, without building a whole `snapshot`)."""
        return self._last_record_t

    @property
    def last_heard_t(self) -> float | None:
        """Wall time runwatch received the newest record of any kind, events included; None before one
        (whether anything followed a traceback: `crash`)."""
        times = [t for t in (self._last_record_t, self._last_event_t) if t is not None]
        return max(times) if times else None

    def input_ended(self) -> None:
        """Everything the run's sources hold was read and nothing more will come (a one-shot read's end, as
        `runwatch.replay` finishes): the state an exit with no code gives (`Ending.input_ended`), FINISHED
        at the known total (a 0-based log's total - 1 too), else ENDED."""
        self._end.input_ended()

    def no_more_input(self) -> None:
        """Say that nothing more will come, the badge unchanged: `check`'s last evaluation is made as by a
        watcher that has read everything and waits, to whom a bare traceback at the end is the output's end,
        while the rules about the present still see the run as it was (`input_ended` follows it)."""
        self._no_more = True

    @property
    def input_over(self) -> bool:
        """Whether nothing more will come: `no_more_input`, or the input ended (`input_ended`, an exit with no
        code) and no step came since."""
        return self._no_more or self._end.exited

    def ended_quietly(self, yes: bool) -> None:
        """Say the run has ended, though nothing in its output says so: its log was last written long
        before runwatch read it and no training process is known (`runwatch tail` on last week's log).
        Its badge then reads ENDED, not STALLED (nor WAITING, for a log with no record: a launch that died
        before its first step), and the stall rule leaves it alone; the engine takes it back when a training
        process turns up, and a new step takes it back by itself."""
        self._quiet = yes

    @property
    def quiet_end(self) -> bool:
        """Whether `ended_quietly` holds."""
        return self._quiet

    def written_by(self, t: float) -> None:
        """The source holding the records was last written at `t` (a file's modification time, once its
        history is read): nothing in it can have arrived later, so a log dead for hours looks it."""
        if self._last_step_at is not None and t < self._last_step_at:
            self._last_step_at = t
        if self._last_record_t is not None and t < self._last_record_t:
            self._last_record_t = t
        if self._last_event_t is not None and t < self._last_event_t:
            self._last_event_t = t

    @property
    def records(self) -> int:
        return self._records

    @property
    def counts(self) -> dict[Kind, int]:
        """Records received, by kind."""
        return dict(self._counts)

    @property
    def events(self) -> tuple[Record, ...]:
        return tuple(self._events)

    def latest(self) -> dict[str, float]:
        """Latest value of every metric, from rank 0 (or no rank) where it logs the metric."""
        return {**self._latest_other, **self._latest_main}

    def snapshot(self, now: float) -> RunSnapshot:
        """An immutable picture for the front ends; a finished run has ETA 0, a crashed one none. The
        elapsed time of a run that is over (finished, crashed, ended) stops at its last record: it does not
        go on counting the time since while the terminal stays open. Where the records' own clock is behind
        the reads' (a log that states its times, Megatron's `[2024-04-06 03:02:12]`, read long after or
        stamped in a time zone behind), it is counted on theirs: from the first stamp to the newest, and on
        from there only by the time since that record was read. Counted from the first stamp to the wall
        clock, last year's log read today said `elapsed 182d22h`."""
        state = self.state(now)
        last = self._last_record_t
        over = state in (RunState.FINISHED, RunState.CRASHED, RunState.ENDED) and last is not None
        at = min(now, last) if over and last is not None else now
        t_last = self.progress.t_last
        if t_last is not None and last is not None and t_last < last:  # records on a clock behind the reads'
            at = t_last + max(0.0, at - last)
        progress = self.progress.estimate(at)
        if state == RunState.FINISHED and (progress.eta_s != 0.0 or (progress.total_steps and progress.percent != 100.0)):
            # a 0-based log's last step is total - 1, a sparse one's a few before: a run that finished near its
            # total is 100% done, in every front end; one stopped early (an early-stopping callback: 2,099 of
            # 17,000) shows how far it got, not a `100.0%` beside `2,099/17,000`. The last step of a log that
            # counts from 0, total - 1, is near however few the steps: a 10-epoch run counted from 0 drew its finished
            # bar at 90% (a tmux try); Keras's `Epoch 9/10` then its early stop is no last step (a code review)
            total = progress.total_steps
            near = (progress.step is not None and total
                    and progress.step >= min(NEAR_END * total, self.progress.last_step(total)))
            progress = dataclasses.replace(progress, eta_s=0.0, eta_basis="finished",
                                           percent=100.0 if near else progress.percent)
        elif state in (RunState.CRASHED, RunState.STALLED, RunState.ENDED) and progress.eta_s is not None:
            # stalled: the estimate assumes it steps again at its pace, which a hang says nothing of (line
            # mode's `ETA ?`); `--json` held a frozen `eta_s` for minutes of a hang (a new user's review); ended,
            # nothing more comes (a review's `"state": "ended"` beside `"eta_s": 49.6`)
            progress = dataclasses.replace(progress, eta_s=None, eta_basis="")
        return RunSnapshot(
            run=self.run, source=self.source, time=now, state=state, progress=progress,
            metrics=self.latest(), ranks=self.ranks.snapshot(), last_record_t=self._last_record_t,
            records=self._records, events=tuple(self._events), events_seen=self._events_seen, format=None, notes=(),
        )


def _row_ranks(cols: StepColumns, rank: int | None, lo: int, hi: int) -> np.ndarray | None:
    """The rank of each of rows lo..hi-1 (-1: none), or None when all are the chunk's `rank`."""
    if cols.rank is None:
        return None
    stated = cols.rank[lo:hi]
    return np.where(stated < 0, -1 if rank is None else rank, stated)


def _rank_groups(cols: StepColumns, rank: int | None, lo: int, hi: int) -> list[tuple[int | None, np.ndarray | slice]]:
    """Rows lo..hi-1 by rank, each rank's rows (indices from lo, in line order) in the order the ranks first
    appear; one group of all of them (a slice) when they are of one rank."""
    ranks = _row_ranks(cols, rank, lo, hi)
    if ranks is None:
        return [(rank, slice(None))]
    values, first = np.unique(ranks, return_index=True)
    if len(values) == 1:
        return [(None if values[0] < 0 else int(values[0]), slice(None))]
    return [(None if r < 0 else int(r), np.flatnonzero(ranks == r)) for r in values[np.argsort(first)].tolist()]


def _last_main(cols: StepColumns, rank: int | None, lo: int, hi: int) -> tuple[float, float] | None:
    """The step and epoch (NaN: none stated) of the last of rows lo..hi-1 of the main rank, None if none is."""
    main = _main_rows(cols, rank, lo, hi)
    if main is None:
        return None
    i = lo + (hi - lo - 1 if isinstance(main, slice) else int(main[-1]))
    return float(cols.step[i]), _epoch_at(cols, i)


def _main_rows(cols: StepColumns, rank: int | None, lo: int, hi: int) -> np.ndarray | slice | None:
    """Which of rows lo..hi-1 are of rank 0 or of none (they count the run's steps and attempts), None if
    none is."""
    ranks = _row_ranks(cols, rank, lo, hi)
    if ranks is None:
        return slice(None) if rank is None or rank == 0 else None
    main = np.flatnonzero(ranks <= 0)
    return main if main.size else None


def _epochs(cols: StepColumns, lo: int, hi: int) -> np.ndarray | None:
    """The epoch of rows lo..hi-1 (NaN where a row says none), or None when no row can say one."""
    values = cols.metrics.get("epoch")
    if values is None:
        return None
    return np.where(cols.present["epoch"][lo:hi], values[lo:hi], np.nan)


def _epoch_at(cols: StepColumns, i: int) -> float:
    values = cols.metrics.get("epoch")
    return float(values[i]) if values is not None and cols.present["epoch"][i] else math.nan


def _counted_apart(named: int, at: float, stride: float) -> bool:
    """Whether a checkpoint's file name counts steps otherwise than the run, which stands at step `at` (-1: none
    yet): a name further from it than two strides or a tenth of the run, whichever is more. A loop that counts its steps within
    each epoch names `checkpoint_epoch_1_step_6501.pt` at the run's step 13001, and `checkpoint_epoch_0_step_0.pt`
    after step 6500; line mode said `checkpoint_saved at step 0` after `at step 13001` (a review). A save
    printed a few steps after its step (`checkpoint-500` read after step 510) is the name's."""
    return at >= 0 and abs(named - at) > max(2.0 * stride, 0.1 * at)


def _loss_of(cols: StepColumns, i: int) -> float | None:
    """Row i's loss, None where it has none."""
    present = cols.present.get("loss")
    return float(cols.metrics["loss"][i]) if present is not None and present[i] else None


def _same(a: float | None, b: float) -> bool:
    """Whether loss `a` is `b` (NaN is NaN)."""
    return a is not None and (a == b or (a != a and b != b))
