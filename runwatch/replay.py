"""Replaying a log's records through the rules as if live (`runwatch check`).

A log read at once carries no arrival times, so time is rebuilt: a log whose
step lines carry their own timestamps (Megatron, DeepSpeed, torchtitan) keeps
them, and gaps in it are real; otherwise a synthetic clock advances by each
step's logged `step_time` (1 s when there is none), eval records add an eval
pause, and one record never advances the clock by more than `max_gap` (an
excerpt that skips from step 1 to 19,559 is not a 23-hour silence) unless its
own step time says that one step took longer (a hang inside a printed step). Rules are
evaluated as the engine ticks: at most once per `tick` seconds, before the
record that arrives at that time is applied, and once more at the end.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from runwatch.alerts.judge import Judge, judge_every
from runwatch.alerts.lifecycle import AlertManager
from runwatch.alerts.rules import Rule
from runwatch.alerts.rules.base import Coming
from runwatch.alerts.types import Finding, Notification
from runwatch.arrays import distinct
from runwatch.model import AlertState, Kind, Preamble, Record, SystemSample
from runwatch.parsers.failures import ParseFailures
from runwatch.state.chunk import RecordChunk, StepColumns
from runwatch.state.pace import SAME_READ_S, STEP_INTERVAL
from runwatch.state.run import RunTracker
from runwatch.state.series import KEEP, History

T0 = 1_700_000_000.0
REPLAY_SLACK = 3 * KEEP
"""Raw points a replay's series hold past what they keep before the oldest are folded or dropped at once
(`Series` slack): a long log is judged every few thousand records, and a fold of each piece's points into
the drawn metrics' histories cost `runwatch report` a third of what reading the log did."""
UNPRINTED_STEPS = 10
"""Steps a bar's frame after a silence is past the newest from which its rate may account for the silence
(`_came_unprinted`): tqdm draws a frame at the first step after a hang, one step on."""
SKIP_SPAN = 256
"""The most items whose quiet-spell evaluations are skipped at once (`_Replayer._skippable`): half of the
stall rule's window, so that its bound still reads the newest half of the intervals it judges by."""
MOST_DOUBT = 16
"""The most quiet-spell evaluations made without trying to skip them after tries failed."""


@dataclass
class Replay:
    """What a replay saw: the final run state, every finding, every notification."""

    tracker: RunTracker
    findings: list[tuple[float, Finding]] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    end: float = T0
    final_findings: int = 0
    """Where the findings of the last evaluation, at the input's end, begin in `findings`: those still found there
    (an evaluation just before the last record, at the same time by the log's clock, is not that one: a one-step
    run's 27-minute first step read a stall "still firing at the end" of a run that had finished after it)."""
    last_found_at: dict[str, int | None] = field(default_factory=dict)
    """Alert key → the run's step when the rule last found its condition (a finding's own step is
    where the trouble began: the first NaN), for `runwatch check`'s "last step"."""
    judge: Judge | None = None
    """The rules as evaluated; its `broken` names a rule that raised (and was left out from then on)."""
    parse_failures: list[ParseFailures] = field(default_factory=list)
    """Sources with lines their parser raised on (set by the caller that read them: `runwatch check`)."""
    timing: str = ""
    """How the run's time was known, when it was made up: "step_time" (no line carried a time: steps were
    their logged step time apart, so no silence could show), "none" (not even a step time: every step a
    made-up second apart, so no silence and no slowdown could show); "" otherwise (`runwatch check`)."""

    own_times: bool = False
    """Whether the run's step records carried their own times, which the clock followed (else its times
    are rebuilt: from step times or a progress bar's elapsed time, with a pause per evaluation)."""
    times_by: str = ""
    """What stamped the times the clock followed, where a structured source beside the log did ("TensorBoard's
    event times"; set by `runwatch check`); "" for the log's own times or none."""
    meta: dict[str, Any] = field(default_factory=dict)
    """The run's metadata its structured sources carried (W&B run details and config, trainer_state.json's
    settings), set by the caller that read them (`runwatch check`, for `runwatch report`)."""
    samples: list[SystemSample] = field(default_factory=list)
    """The training machine's system stats its sources carried (a W&B run's), likewise."""
    preambles: list[tuple[str, Preamble]] = field(default_factory=list)
    """(log file name, the settings it printed before its first loss), likewise (runwatch.parsers.preamble)."""

    def rules_fired(self) -> set[str]:
        """Ids of the rules that found something at least once."""
        return {f.rule for _, f in self.findings}

    def of(self, rule: str) -> list[Finding]:
        """Every finding of `rule`, in order."""
        return [f for _, f in self.findings if f.rule == rule]

    def first(self, rule: str) -> Finding:
        """The first finding of `rule`; LookupError (naming what did fire) when it never found anything."""
        found = self.of(rule)
        if not found:
            raise LookupError(f"{rule} never fired; fired: {sorted(self.rules_fired())}")
        return found[0]


STEP_ITEM, EVAL_ITEM, OTHER_ITEM = 0, 1, 2
BAR_ELAPSED = ("elapsed", "epoch_elapsed")
"""The metrics a progress bar's elapsed time comes as (`ReplayClock._on_the_bar`)."""
"""What an item of a block is to the clock (`ReplayClock.advance_block`)."""


@dataclass(frozen=True)
class _Block:
    """A chunk's step rows and records in line order, as arrays the clock reads in one go."""

    kind: np.ndarray
    steps: np.ndarray
    step_time: np.ndarray
    row: np.ndarray
    """Each item's row of the chunk's columns (-1 for a record)."""
    records_at: np.ndarray
    """The item index of each record of the chunk, in order."""

    @classmethod
    def of(cls, chunk: RecordChunk) -> _Block:
        cols = chunk.steps
        assert cols is not None
        records = chunk.records
        n, m = len(cols.line), len(records)
        at = np.searchsorted(cols.line, [r.line for r in records]) + np.arange(m) if m else np.zeros(0, np.int64)
        is_record = np.zeros(n + m, bool)
        is_record[at] = True
        row = np.full(n + m, -1, np.int64)
        row[~is_record] = np.arange(n)
        kind = np.full(n + m, STEP_ITEM, np.int8)
        steps = np.full(n + m, np.nan)
        steps[~is_record] = cols.step
        step_time = np.full(n + m, np.nan)
        if "step_time" in cols.metrics:
            step_time[~is_record] = np.where(cols.present["step_time"], cols.metrics["step_time"], np.nan)
        for i, rec in zip(at.tolist(), records, strict=True):
            if rec.kind == Kind.STEP:
                steps[i] = math.nan if rec.step is None else rec.step
                step_time[i] = rec.metrics.get("step_time", math.nan)
            else:
                kind[i] = EVAL_ITEM if rec.kind == Kind.EVAL else OTHER_ITEM
        return cls(kind, steps, step_time, row, at)

    def record_at(self, k: int) -> int | None:
        """The index in the chunk's records of item `k`, None for a row."""
        if self.row[k] >= 0:
            return None
        return int(np.searchsorted(self.records_at, k))

    def next_record(self, k: int) -> int:
        """The item index of the first record from `k` on (the item count if none)."""
        i = int(np.searchsorted(self.records_at, k))
        return int(self.records_at[i]) if i < len(self.records_at) else len(self.row)


_OTHER_DT = 0.01
"""Seconds an event record, or an eval record after another, moves a synthetic clock: order, not time."""


class ReplayClock:
    """The time a record would have arrived at, rebuilt from the log."""

    def __init__(self, *, default_dt: float = 1.0, eval_pause: float = 30.0, max_gap: float = 60.0,
                 bar_time: Callable[[], bool] = lambda: False, elapsed_time: Callable[[], bool] = lambda: False) -> None:
        self.default_dt, self.eval_pause, self.max_gap = default_dt, eval_pause, max_gap
        self.bar_time = bar_time
        """Whether step records come from a progress bar (asked as they come: a log's format is known once
        its first lines are read): its elapsed time is then the clock (`_on_the_bar`)."""
        self.elapsed_time = elapsed_time
        """Whether the step records' `elapsed` (seconds since the run's start), where the run's first step states it
        (`first_steps`), is the clock as a bar's is, where no line states a time of day: LLaMA-Factory's
        `trainer_log.jsonl` (`"elapsed_time":
        "0:03:29"`) had no clock at all, and `check` said no line of it carried a time (a review)."""
        self._elapsed_seen: bool | None = None
        """Whether the first step record (or row) stated its `elapsed`: decided there, once. A log whose first steps
        state none and later ones do (a resumed run's) keeps its synthetic clock: switched mid-run, the synthetic
        steps before became a baseline the elapsed pace read as a slowdown against (a code review)."""
        self.now = T0
        self._top: int | None = None
        self._stamped: bool | None = None  # do step records carry their own time?
        self.stamped_from: Record | None = None
        """The step record whose own time started the clock, one at a time (`advance`): a structured source's
        beside a log without times (`runwatch check` of a run directory), or the log's own; None otherwise."""
        self._per_step = default_dt  # the newest logged step time
        self._bars: dict[str, tuple[float, float]] = {}  # elapsed metric → (clock time at its 0, its last value)
        self._bar_source: str | None = None
        """The source whose elapsed time is the clock: the first to state one. A W&B run's `elapsed` (its
        `_runtime`, from the process's start, every `logging_steps`) read beside the console bar's (from the
        bar's start, whole seconds) made each of its rows a new bar: every row moved the clock by the run's
        start-up, 39 s of steps in an 8 s HF run and "stalls" in a healthy one; as two clocks of their own,
        the later of the two moved it, a second more than either."""
        self._evaluating = False
        """Whether the newest step or eval record was an eval's: the records of one evaluation (a line for each
        test batch, as the generic format reads `Test: [10/242]  Loss 7.51`) are one pause, not one each (25
        lines an epoch made a 12-minute synthetic silence, a critical stall in a run with no clock at all)."""
        self._epoch_bar: int | None = None
        """The epoch whose bar the newest `epoch_elapsed` was read from (`_lap_of`)."""
        self._drawn: int | None = None
        """The step of the newest step record a bar's clock read (`_on_the_bar`'s `again`)."""
        self.bar_timed = 0
        """Step records a progress bar's elapsed time placed: Lightning's rich bar on a pipe prints one frame,
        at the end, and a clock it set once is no clock (`timed_by_bar`)."""

    @property
    def first_stepped(self) -> bool:
        """Whether the run's first step was seen (`first_steps`): nothing left to decide."""
        return self._elapsed_seen is not None

    def first_steps(self, elapsed: bool) -> None:
        """The first step records (or rows) are here, and whether the first of them states its `elapsed`."""
        if self._elapsed_seen is None:
            self._elapsed_seen = elapsed

    def _timed(self) -> bool:
        """Whether an elapsed time on the step records is the clock: a bar's, or one `elapsed_time` admits where
        no line states its own time (stamps win: a W&B history's `_timestamp` beside its `_runtime`)."""
        return self.bar_time() or (bool(self._elapsed_seen) and not self._stamped and self.elapsed_time())

    def advance(self, rec: Record) -> float:
        if self._elapsed_seen is None and rec.kind == Kind.STEP:
            self._elapsed_seen = "elapsed" in rec.metrics
        if self._stamped is None and rec.kind == Kind.STEP:
            self._stamped = rec.t > 0
            if self._stamped:
                self.now, self.stamped_from = rec.t, rec
        if self._stamped and rec.kind == Kind.STEP and rec.t > 0:
            self.now = max(self.now, rec.t)
            self._evaluating = False
            return self.now
        if self._stamped and rec.kind == Kind.STEP:
            # a step without a time of its own among stamped ones (a log's line beside TensorBoard's events) is
            # placed at the last stamp: stepped by its stride and the step time it prints, the clock ran ahead of
            # the stamps, and a 75-s hang the event file shows read as 60 s of it (`check` of a run directory)
            return self.now
        if self._stamped and rec.kind != Kind.STEP:
            # the log's times are the clock: an evaluation's own stamp is when it came, and one without any
            # is placed just after what came before, the next step's stamp saying how long it took. A
            # synthetic 30 s pause per evaluation ran the clock ahead of the stamps (RTMDet's evaluation
            # after each of its last 20 epochs of 12 s, a review): each epoch's steps then arrived at one
            # instant, 30 s apart, and a healthy end read as a step_time_drift
            self._evaluating = rec.kind == Kind.EVAL
            self.now = max(self.now, rec.t) if rec.kind == Kind.EVAL and rec.t > 0 else self.now + _OTHER_DT
            return self.now
        before = self.now
        self.now = min(self._synthetic(rec), before + self._cap(rec.metrics.get("step_time")))
        if rec.kind == Kind.STEP and self._timed():
            again = rec.step is not None and rec.step == self._drawn  # the step the line before placed, drawn again
            self._drawn = rec.step
            self.now = self._on_the_bar(rec, before, again=again)
            self.bar_timed += rec.step is not None and any(m in rec.metrics for m in BAR_ELAPSED)
        return self.now

    @property
    def stamped(self) -> bool:
        """Whether step records carry their own time, and the clock follows it."""
        return bool(self._stamped)

    @property
    def decided(self) -> bool:
        """Whether the run's first step record said if the clock follows the log's times (`stamped`) or not;
        from then on a step's own time, or its lack of one, changes nothing about that."""
        return self._stamped is not None

    @property
    def timed_by_bar(self) -> bool:
        """Whether a progress bar's elapsed time (or the records' own, `elapsed_time`) set the clock for more than
        one step."""
        return self._timed() and self.bar_timed > 1

    @property
    def synthetic(self) -> bool:
        """Whether the times are rebuilt from the step time the log states (no timestamps of its own, no
        progress bar's elapsed time): intervals between them say nothing the log did not say already."""
        return not self._stamped and not self._timed()

    def advance_block(self, kind: np.ndarray, steps: np.ndarray, step_time: np.ndarray) -> np.ndarray:
        """The times of a block's records, none with a time of its own, on a synthetic clock: `advance` of
        each in turn, in one go. `kind`: STEP_ITEM (`steps` its step, NaN for a step record without one),
        EVAL_ITEM or OTHER_ITEM for each; `step_time`: a step's logged step time (NaN where none)."""
        is_step = kind == STEP_ITEM
        if self._stamped is None and is_step.any():
            self._stamped = False
        n = len(kind)
        numbered = is_step & ~np.isnan(steps)
        top = -math.inf if self._top is None else float(self._top)
        prior = np.empty(n)
        prior[0] = top
        np.maximum.accumulate(np.where(numbered, steps, -math.inf)[:-1], out=prior[1:])
        np.maximum(prior, top, out=prior)
        moved = numbered & (steps > prior)
        advancing = moved | (is_step & ~numbered)  # a step without a number is one step on
        stride = np.where(moved & np.isfinite(prior), steps - prior, 1.0)
        per: float | np.ndarray = self._per_step
        logged = advancing & np.isfinite(step_time) & (step_time > 0)  # a step that moved sets the pace
        if logged.any():
            last = np.where(logged, np.arange(n), -1)
            np.maximum.accumulate(last, out=last)
            per = np.where(last >= 0, step_time[np.maximum(last, 0)], self._per_step)
            self._per_step = float(step_time[last[-1]])
        cap = np.maximum(self.max_gap, np.where(logged, step_time, 0.0))  # `_cap` of each row
        dt = np.where(advancing, np.minimum(per * stride, cap), 0.0)
        is_eval = kind == EVAL_ITEM
        said = np.where(is_step | is_eval, np.arange(n), -1)  # the newest step or eval item up to each
        np.maximum.accumulate(said, out=said)
        before = np.concatenate(([-1], said[:-1]))
        after_eval = np.where(before >= 0, is_eval[np.maximum(before, 0)], self._evaluating)
        dt[is_eval] = min(self.eval_pause, self.max_gap)
        dt[is_eval & after_eval] = min(_OTHER_DT, self.max_gap)  # the same evaluation (`_evaluating`)
        dt[kind == OTHER_ITEM] = min(_OTHER_DT, self.max_gap)
        if said[-1] >= 0:
            self._evaluating = bool(is_eval[said[-1]])
        times = np.cumsum(np.concatenate(([self.now], dt)))[1:]  # added in turn to the time, as `advance` does
        if moved.any():
            self._top = int(steps[moved][-1])
        self.now = float(times[-1])
        return times

    def follows(self, block: _Block, records: Sequence[Record]) -> bool:
        """Whether `advance_stamped` may time `block` (whose rows all state their time): the clock follows
        the log's times, or will from its first step, which is a row or a record stating its time."""
        if self._stamped is not None or self._timed():
            return bool(self._stamped) and not self._timed()
        steps = np.flatnonzero(block.kind == STEP_ITEM)
        if not steps.size:
            return False
        first = block.record_at(int(steps[0]))
        return first is None or records[first].t > 0

    def advance_stamped(self, block: _Block, stamps: np.ndarray, records: Sequence[Record]) -> np.ndarray:
        """The times of a block's items on a clock that follows the log's times (`follows`), each row
        stating its own (`stamps`, per row): `advance` of each item in turn, the rows between two records
        in one go (the running maximum of their times and the clock's)."""
        times = np.empty(len(block.row))
        k, n = 0, len(block.row)
        for r, at in [*enumerate(block.records_at.tolist()), (-1, n)]:
            if at > k:
                rows = stamps[int(block.row[k]) : int(block.row[at - 1]) + 1]
                if self._stamped is None:
                    self._stamped, self.now = True, float(rows[0])
                run = np.maximum.accumulate(rows)
                np.maximum(run, self.now, out=run)
                times[k:at] = run
                self.now = float(run[-1])
                self._evaluating = False
            if r >= 0:
                times[at] = self.advance(records[r])
            k = at + 1
        return times

    def _cap(self, step_time: float | None) -> float:
        """The most one record moves the clock: `max_gap`, or the step time the record itself states when
        that is longer. A line that says its step took 75 s (nanoGPT's `time 75040.01ms` after a hang) is
        the log's word for a silence, not a guess from a stride; capped at `max_gap`, `check` never saw the
        run lab's nanogpt-tb-hang, which `tail` caught as it happened."""
        if step_time is not None and math.isfinite(step_time) and step_time > self.max_gap:
            return step_time
        return self.max_gap

    def _on_the_bar(self, rec: Record, before: float, *, again: bool = False) -> float:
        """The time of a progress bar's step: the bar's own elapsed time, not its rate.

        A bar's rate is smoothed (tqdm: an exponential average over its refreshes): after a 75 s hang
        it reads seconds per step for hundreds of 6 ms steps, and a clock stepped by it ran hours ahead,
        a slowdown that never was. Its elapsed time is what passed: a hang moves the clock by its real
        length (past `max_gap`: it is the log's word, not a guess), and the steps of one of its seconds
        (tqdm prints whole seconds) arrive together, which the run's measured step interval averages
        right. A bar that starts again (Lightning's bar per epoch) or a pause the bar does not count (an
        evaluation between bars) moves the bar's zero, never the clock back. The next epoch's bar began after
        the record before it: its first line's elapsed time passed since. Placed so that it came at once, a
        Keras log of one line an epoch (`10/10 [====] - 13s 1s/step`) kept `check`'s clock at its start for
        a whole run (a review's, 900 epochs); a bar's elapsed time that dips within an epoch (Keras's mean
        step time × its batches, rounded) is no new bar's."""
        name = "elapsed" if "elapsed" in rec.metrics else "epoch_elapsed"
        e = rec.metrics.get(name)
        if e is None or not math.isfinite(e):
            return self.now
        if self._bar_source is None:
            self._bar_source = rec.source
        elif rec.source != self._bar_source:
            return self.now  # another source's clock (see `_bar_source`)
        zero, last = self._bars.get(name, (before - e, e))
        lap = self._lap_of(name, rec.metrics.get("epoch"))
        if lap and not again:  # the next epoch's bar, begun after the record before it: its elapsed time passed since
            zero = before
        elif e < last or lap:  # a bar that started again, an elapsed time worked out anew that dipped (Keras's), or
            # the step a line before placed drawn again with its time (a notebook's `Epoch 9: 100%`, then its count
            # line `3638/3638 [32:33<00:00`): it stays where that line put it, no silence of the epoch's length
            zero = before - e
        now = zero + e
        if now < before:
            now, zero = before, before - e
        self._bars[name] = (zero, e)
        return now

    def _lap_of(self, name: str, epoch: float | None) -> bool:
        """Whether a record of the epoch clock `name` is of another epoch's bar than the one before it, as its
        `epoch` (E + n/N of an epoch bar, E for one of unknown length) says. Each epoch's bar counts from 0, but
        a console that keeps only a bar's last frames (W&B's `output.log`) may show an epoch's last at 247 s and
        the next's at 247 s too: read as one bar, the next epoch took no time, 661 steps in none, and 0.4 s a
        step after it a slowdown (a review's metric-learning run, a `step_time_drift` of 260×)."""
        if name != "epoch_elapsed" or epoch is None or not math.isfinite(epoch):
            return False
        bar = math.ceil(epoch) - 1  # E + n/N for n of 1..N, and E itself: one bar's all
        before, self._epoch_bar = self._epoch_bar, bar
        return before is not None and bar != before

    def _synthetic(self, rec: Record) -> float:
        if rec.kind == Kind.EVAL:
            pause = _OTHER_DT if self._evaluating else self.eval_pause
            self._evaluating = True
            return self.now + pause
        if rec.kind != Kind.STEP:
            return self.now + _OTHER_DT
        self._evaluating = False
        if rec.step is not None and self._top is not None and rec.step <= self._top:
            return self.now  # another rank's line for a step already seen
        stride = 1 if rec.step is None or self._top is None else rec.step - self._top
        self._top = rec.step if rec.step is not None else self._top
        logged = rec.metrics.get("step_time")
        if logged is not None and math.isfinite(logged) and logged > 0:
            self._per_step = logged  # a record that prints none (a metric file's) steps at the log's pace
        return self.now + self._per_step * stride


def replay(items: Iterable[Record | RecordChunk], rules: Sequence[Rule[Any]], *, manager: AlertManager | None = None,
           clock: ReplayClock | None = None, tick: float = 1.0, run: str = "run", source: str = "log",
           batch: int | None = None, quiet: float | None = None, history: History = True,
           pause_plan: Callable[[], Iterable[int]] = tuple) -> Replay:
    """Drive records through a fresh RunTracker, evaluating `rules` as the engine would: at most once per
    `tick` seconds of the run's time, and then once `batch` records came (default `judge_every`: the rules
    that judge records look back over all of them, as the engine's do over a piece of history) or, the
    rules about the present only, when the run was quiet for `quiet` seconds (a pause, a hang: they judge
    it before the next record; by default the least silence a rule can speak on, `Rule.silence_s`; a
    silence counts from the newest step record).

    `items` are records, or chunks of a log read in blocks (`SourceParser.feed_bytes`): their step rows
    go into the run's state in bulk (`RunTracker.apply_rows`), a piece between two evaluations at a time,
    each row at the time the clock gives it. `history=False`: the series keep only their newest points,
    all the rules read (`runwatch check` draws nothing). `pause_plan`: the run's planned pauses as the
    sources' headers say them so far (RunTracker.pause_plan)."""
    if quiet is None:
        quiet = min((s for r in rules if (s := r.silence_s()) is not None), default=math.inf)
    replayer = _Replayer(rules, manager, clock or ReplayClock(), tick, run, source, batch, quiet, history)
    replayer.out.tracker.pause_plan = pause_plan
    for item in items:
        if isinstance(item, Record):
            replayer.record(item)
        else:
            replayer.chunk(item)
    return replayer.finish()


class _Replayer:
    """The state of one replay: the tracker, when the rules last looked, what came since."""

    def __init__(self, rules: Sequence[Rule[Any]], manager: AlertManager | None, clock: ReplayClock,
                 tick: float, run: str, source: str, batch: int | None, quiet: float, history: History) -> None:
        self.out = Replay(RunTracker(run, source, history=history, slack=REPLAY_SLACK))
        self.out.tracker.before_new_attempt = self._attempt_ends
        self.judge = self.out.judge = Judge(rules)
        self.most = self.judge.most_records()
        """The most records the rules may look back over at once: every rule judges at least this often."""
        self.manager, self.clock, self.tick, self.quiet = manager, clock, tick, quiet
        self.batch = batch
        self.last_eval: float | None = None
        self.last_record = clock.now
        self.unjudged = 0
        self._records_judged = 0
        """The tracker's record count when every rule last looked."""
        self._unjudged_looked = 0
        self._records_looked = 0
        """Likewise since the rules about the present last looked (at any evaluation: `_fresh`)."""
        self.applied = 0
        """Records and rows applied (the tracker counts held rows only once they are in)."""
        self.failed = 0
        """Tries in a row to skip quiet-spell evaluations that failed (`_skippable`)."""
        self.doubt = 0
        """Quiet-spell evaluations still to make before the next try: as many as tries failed in a row (up
        to `MOST_DOUBT`), so that a run whose rules cannot be sure (a pace that varies) pays for few tries."""
        self.stepped_at: float | None = None
        """When the newest step came: the tracker's word for a record, the newest row's time for rows
        (held, they are not in the tracker yet; a fast format writes one row per step)."""

    def _batch(self) -> int:
        return self.batch if self.batch is not None else judge_every(self.applied, self.most)

    def record(self, rec: Record) -> None:
        now = self.clock.advance(rec)
        if self.last_eval is not None and now - self.last_eval < self.tick and self.unjudged >= self.most:
            self._evaluate(now)  # more would scroll the oldest unjudged out of the rules' sight (see `_next_evaluation`)
        elif self.last_eval is None or now - self.last_eval >= self.tick:
            if self.last_eval is None or self.unjudged >= self._batch():
                self._evaluate(now, ending=self._starts_anew(rec))
            elif (now - self._last_step() >= self.quiet and not self._came_unprinted(rec, now)
                  and not self._starts_anew(rec)):
                silence = np.array([now - self._last_step()])
                if self._may_try() and self._tried(
                        0 if self._speechless(Coming(np.array([now]), silence, 0, self._fresh())) else None) is not None:
                    self.last_eval = now  # judged: nothing could be found, nothing would change
                else:
                    self._evaluate(now, present=True)
        self.out.tracker.progress.bulk = self.clock.synthetic
        self.out.tracker.progress.own_times = not self.clock.synthetic
        self.out.tracker.progress.bar_clock = not self.clock.stamped and self.clock.bar_time()
        self._apply(rec, now)

    def _starts_anew(self, rec: Record) -> bool:
        """Whether `rec`, about to be applied, starts the run again (RunTracker.starts_anew; see `_evaluate`)."""
        self.out.tracker.settle()
        return self.out.tracker.starts_anew(rec)

    def _item_starts_anew(self, chunk: RecordChunk, block: _Block, k: int) -> bool:
        """`_starts_anew` of a block's item `k`, a step row or a record."""
        r = block.record_at(k)
        if r is not None:
            return self._starts_anew(chunk.records[r])
        self.out.tracker.settle()
        return self.out.tracker.row_starts_anew(chunk, int(block.row[k]))

    def _came_unprinted(self, rec: Record, now: float) -> bool:
        """Whether `rec`, a progress bar's frame after a silence, says that the silence was steps its log did not
        keep: it is `UNPRINTED_STEPS` or more past the newest step, and its bar's rate accounts for the time
        (within twice). W&B's `output.log` keeps a bar's last frame only: `0/1954 [00:00<?` then `829/1954
        [28:49<39:13, 2.09s/it]` was a 28-minute critical stall at step 0 to `check` (a review), which `tail`
        of the same file never said. A hang in a console's bar is never so: the frame after one is a step on."""
        if rec.kind is not Kind.STEP or rec.step is None or self.clock.stamped or not self.clock.bar_time():
            return False
        last, rate = self.out.tracker.progress.step, rec.metrics.get("step_time")
        if last is None or rate is None or not 0.0 < rate < math.inf:
            return False
        moved = rec.step - last
        return moved >= UNPRINTED_STEPS and now - self._last_step() <= 2.0 * rate * moved

    def _apply(self, rec: Record, now: float) -> None:
        tracker = self.out.tracker
        if rec.t == now or (rec.t == 0 and rec.kind in (Kind.STEP, Kind.EVAL)):
            tracker.apply(rec, now)  # a step or eval record without a time takes `now` as its time (RunTracker.apply)
        else:  # a new Record rather than dataclasses.replace (a third of the cost of applying one)
            tracker.apply(Record(rec.kind, rec.step, rec.total_steps, rec.rank, now, rec.metrics, rec.event,
                                 rec.message, rec.source, rec.line), now)
        if rec.kind == Kind.STEP:  # it settled the rows held before it: the tracker says if it was a step
            self.stepped_at = tracker.last_step_at
        self.unjudged += 1
        self.applied += 1
        self.last_record = now

    def _first_steps(self, records: Sequence[Record], cols: StepColumns | None) -> None:
        """Tell the clock whether the run's first step states its `elapsed` (`ReplayClock.first_steps`), before a
        block is timed: the first step record or row of the block, by line (the rows of a block of documents come
        by key list, not line). Once decided, nothing more is looked at."""
        if self.clock.first_stepped:
            return
        first = next((r for r in records if r.kind == Kind.STEP), None)
        at = int(np.argmin(cols.line)) if cols is not None and len(cols.line) else -1
        if at >= 0 and cols is not None and (first is None or int(cols.line[at]) < first.line):
            stated = cols.present.get("elapsed")
            self.clock.first_steps(stated is not None and bool(stated[at]))
        elif first is not None:
            self.clock.first_steps("elapsed" in first.metrics)

    def chunk(self, chunk: RecordChunk) -> None:
        """A block of a log: its records in line order, the step rows in bulk where the clock can time the
        whole block at once (no line of it carries a time and the clock is synthetic, or every row states
        its time and the clock follows them); else each record in turn (some rows with a time of their own, a
        clock that needs each). Rows of several ranks (torchrun `--tee`) go in bulk too: the clock gives
        another rank's row for a step already seen the same time, as it does such a record."""
        chunk = chunk.one_rank()
        cols = chunk.steps
        records = chunk.records
        self._first_steps(records, cols)
        clock = self.clock
        # once the first step decided the clock, a row's own time (or none) is all that is read of it: rows of a
        # clock that follows the log's times without one of their own are at the newest time (`advance`), on a
        # synthetic clock the times are not read. A Megatron log with stamped and unstamped step lines went
        # record by record, 4× the time `parse` took
        stamped = cols is not None and (clock.stamped or (cols.t is not None and bool((cols.t > 0).all())))
        unread = clock.synthetic and (clock.decided or (cols is not None and cols.t is None
                                                        and not any(r.t for r in records)))
        bulk = cols is not None and len(cols.line) > 0 and not chunk.t and (stamped or unread)
        block = _Block.of(chunk) if bulk else None
        if block is None or (stamped and not clock.follows(block, records)):
            for rec in chunk.merged():
                self.record(rec)
            return
        assert cols is not None
        if stamped:  # a log that states when each step line was written (Megatron, DeepSpeed, torchtitan)
            stamps = cols.t if cols.t is not None else np.zeros(len(cols.line))
            times = clock.advance_stamped(block, stamps, records)
        else:
            times = self.clock.advance_block(block.kind, block.steps, block.step_time)
        is_step = block.kind == STEP_ITEM
        stepped = np.where(is_step, np.arange(len(times)), -1)  # the newest step item before each
        np.maximum.accumulate(stepped, out=stepped)
        before = np.concatenate(([-1], stepped[:-1]))
        since = times - np.where(before >= 0, times[np.maximum(before, 0)], self._last_step())
        quiet_at = np.flatnonzero(since >= self.quiet)
        tracker = self.out.tracker
        tracker.progress.bulk = not stamped  # a synthetic clock's intervals only echo the step time the log states
        tracker.progress.own_times = stamped
        pace = _Pace.of(block, times, self.out.tracker.progress.step) if stamped else None
        p, n = 0, len(times)
        while p < n:
            j, full = self._next_evaluation(times, quiet_at, p)
            self._apply_block(chunk, block, times, p, j)
            p = j
            k = self._skippable(chunk, block, times, since, quiet_at, j, pace) if j < n and not full else None
            if k is not None:  # judged: nothing could be found, nothing would change
                self._apply_block(chunk, block, times, j, k)
                self.last_eval, p = float(times[k]), k
            elif j < n:
                self._evaluate(float(times[j]), present=not full, ending=self._item_starts_anew(chunk, block, j))

    def _apply_block(self, chunk: RecordChunk, block: _Block, times: np.ndarray, p: int, j: int) -> None:
        """Items p..j-1 of a block: its records one by one, the step rows between them in bulk; from the
        first row on, all the rows at once and the records after them where those pass the rows held
        (`RunTracker.passed_by`: the same state)."""
        k = p
        while k < j and block.row[k] < 0:  # records before the first row
            self._apply(chunk.records[int(np.searchsorted(block.records_at, k))], float(times[k]))
            k += 1
        if k < j and self._apply_past(chunk, block, times, k, j):
            return
        while k < j:
            r = block.record_at(k)
            if r is not None:
                self._apply(chunk.records[r], float(times[k]))
                k += 1
                continue
            stop = min(j, block.next_record(k))
            lo, hi = int(block.row[k]), int(block.row[stop - 1]) + 1
            self.out.tracker.apply_rows(chunk, lo, hi, times[k:stop])
            self.unjudged += hi - lo
            self.applied += hi - lo
            self.last_record = self.stepped_at = float(times[stop - 1])
            k = stop

    def _apply_past(self, chunk: RecordChunk, block: _Block, times: np.ndarray, k: int, j: int) -> bool:
        """Items k..j-1 (k a row) as the rows at once and the records after them, if they pass the rows."""
        a, b = np.searchsorted(block.records_at, [k, j]).tolist()
        records = chunk.records[a:b]
        at = np.flatnonzero(block.row[k:j] >= 0) + k  # the rows' items
        lo, hi = int(block.row[k]), int(block.row[at[-1]]) + 1
        tracker = self.out.tracker
        if not tracker.passed_by(chunk, lo, hi, records):
            return False
        tracker.apply_rows(chunk, lo, hi, times[at])
        self.unjudged += hi - lo
        self.applied += hi - lo
        self.stepped_at = float(times[at[-1]])
        for rec, item in zip(records, block.records_at[a:b].tolist(), strict=True):
            self._apply(rec, float(times[item]))
        self.last_record = float(times[j - 1])
        return True

    def _last_step(self) -> float:
        """When the newest step record came (the newest record before any): a silence counts from there
        (a progress bar's redraws during a hang are records, not steps)."""
        return self.last_record if self.stepped_at is None else self.stepped_at

    def _next_evaluation(self, times: np.ndarray, quiet_at: np.ndarray, p: int) -> tuple[int, bool]:
        """The first row from `p` on before which the rules look (len(times) if none), and whether all of
        them (else only those about the present: a quiet spell ended there)."""
        n = len(times)
        if self.last_eval is None:
            return p, True
        ticked = p + int(np.searchsorted(times[p:], self.last_eval + self.tick))
        # at a tick once a batch is in, but by `most` records however little time they take: thousands of
        # records stamped alike (one flush's, one second's) were judged only when the time moved on, and a
        # NaN among the first of them was no longer among the points the rules read
        full = min(max(ticked, p + self._rows_to_batch()), p + max(0, self.most - self.unjudged))
        k = int(np.searchsorted(quiet_at, max(p, ticked)))
        quiet = int(quiet_at[k]) if k < len(quiet_at) else n
        if full <= quiet:
            return min(full, n), True
        return quiet, quiet - p >= self._rows_to_batch()

    def _rows_to_batch(self) -> int:
        """Records still to come before the next batch is due (the batch grows with the run)."""
        if self.batch is not None:
            return max(0, self.batch - self.unjudged)
        records, k = self.applied, 0
        while self.unjudged + k < judge_every(records + k, self.most):
            k = judge_every(records + k, self.most) - self.unjudged
        return k

    def _new(self) -> int:
        """Records since every rule last looked (`Judge.judge`'s `new`)."""
        return max(self.unjudged, self.out.tracker.records - self._records_judged)

    def _fresh(self) -> int:
        """Records since the rules about the present last looked (`Judge.judge`'s `fresh`): at a quiet spell's
        end too, so that each such evaluation looks back only over what came since the one before."""
        return max(self.unjudged - self._unjudged_looked, self.out.tracker.records - self._records_looked)

    def _skippable(self, chunk: RecordChunk, block: _Block, times: np.ndarray, since: np.ndarray,
                   quiet_at: np.ndarray, j: int, pace: _Pace | None) -> int | None:
        """The last of the quiet-spell evaluations from item `j` on (the items before it applied) that can
        all be skipped, None if not even the one at `j`: up to `SKIP_SPAN` items on, or that one alone.

        An evaluation of the rules about the present changes nothing when each of them is sure to find
        nothing then (`Rule.speechless`, told what the items before it bring) and the alerts' lifecycle
        holds nothing that time moves before it (`_unmoved_until`): a log whose steps all come farther
        apart than a stall's least silence ends a quiet spell at every record, and was judged at every
        one (60 s of `check` for a 100k-line Megatron log that `parse` read in 0.7 s)."""
        if not self._may_try():
            return None
        self.out.tracker.settle()  # the rows held back: the rules read the run as an evaluation would
        due = j + self._rows_to_batch()  # an evaluation there judges every rule
        stop = min(due, j + SKIP_SPAN, len(times))
        upto, last = [], -math.inf
        for q in quiet_at[(quiet_at >= j) & (quiet_at < stop)].tolist():
            if times[q] >= last + self.tick:  # the evaluations there, at most one a tick
                upto.append(q)
                last = float(times[q])
        for at in ([np.array(upto)] if len(upto) > 1 else []) + [np.array([j])]:
            k = int(at[-1])
            coming = self._coming(chunk, block, times, since, at, j, k, pace)
            if coming is not None and self._speechless(coming):
                return self._tried(k)
        return self._tried(None)

    def _may_try(self) -> bool:
        """Whether to try to skip the next quiet-spell evaluation: not while in doubt (`doubt`)."""
        if self.doubt > 0:  # the last tries failed: the rules' state seldom turns at once
            self.doubt -= 1
            return False
        return True

    def _tried(self, skipped: int | None) -> int | None:
        """A try's outcome (`skipped`: where it skipped to), noted for the next (`doubt`)."""
        self.failed = 0 if skipped is not None else self.failed + 1
        self.doubt = min(self.failed, MOST_DOUBT)
        return skipped

    def _coming(self, chunk: RecordChunk, block: _Block, times: np.ndarray, since: np.ndarray,
                at: np.ndarray, p: int, k: int, pace: _Pace | None) -> Coming | None:
        """What items p..k-1 of a block bring before the evaluations at items `at` (the last `k`); None
        when it cannot be told (a step record without a step, a pace the block does not show)."""
        a, b = np.searchsorted(block.records_at, [p, k]).tolist()
        records = chunk.records[a:b]
        if any(rec.kind == Kind.STEP and rec.step is None for rec in records):
            return None
        rows = block.row[p:k]
        rows = rows[rows >= 0]
        cols = chunk.steps
        ranks: frozenset[int] = frozenset()
        span = (int(rows[0]), int(rows[-1]) + 1) if len(rows) and cols is not None else None
        if span is not None and cols is not None and cols.rank is not None:
            ranks = frozenset(int(r) for r in distinct(cols.rank[span[0]:span[1]]) if r >= 0)
        if chunk.rank is not None and chunk.rank >= 0:
            ranks |= {chunk.rank}
        values = _Values(cols if span is not None else None, span or (0, 0), records)
        if self.out.tracker.progress.bulk is False:  # the pace meter measures these items' arrival
            if pace is None:
                return None
            values.measured = pace.between(p, k)
        return Coming(times[at], since[at], k - p, self._fresh() + k - p, values, ranks, records)

    def _speechless(self, coming: Coming) -> bool:
        """Whether an evaluation of the rules about the present at each of `coming.at` would find nothing
        and change nothing (see `_skippable`): each rule answers for itself (`Rule.speechless`; a system
        rule as with no samples, which a replay never gives it)."""
        if self.manager is not None and _unmoved_until(self.manager, self.judge) <= coming.at.max():
            return False
        run = self.out.tracker
        return all(rule.speechless(run, coming) for rule in self.judge.rules
                   if not rule.judges_records and rule.id not in self.judge.broken)

    def _attempt_ends(self, now: float) -> None:
        """The run starts again (RunTracker.before_new_attempt): every rule that judges records judges the attempt
        that ends (`_evaluate`'s `ending`)."""
        self._evaluate(now, ending=True)

    def _evaluate(self, now: float, *, present: bool = False, ending: bool = False) -> None:
        """The rules at `now` (isolated, as live), each looking back over the records since every rule
        last looked; `present`: only the rules about the present moment (a silence just ended); `ending`: the
        record at `now` starts the run again (`_starts_anew`), and only the rules that judge records look: the
        silence before it is the attempt before ending, no stall. `check` cannot tell a launch that hung and was
        killed from one that died or finished; a review's log of 30 launches over four days read seven critical
        stalls of hours and days, each the gap before a launch's `Epoch: 1`. Live, the process says which."""
        out, judge = self.out, self.judge
        out.tracker.settle()
        judged = judge.judge(out.tracker, None, now, new=self._new(), fresh=self._fresh(), present=present,
                             history=ending)
        out.findings.extend((now, f) for f in judged.findings)
        step = out.tracker.progress.step
        out.last_found_at.update((f.key, step if f.last_step is None else f.last_step) for f in judged.findings)
        if self.manager is not None:
            out.notifications.extend(self.manager.update(judged.findings, now, evaluated=judged.evaluated))
        self.last_eval = now
        self._unjudged_looked, self._records_looked = self.unjudged, out.tracker.records
        if not present:
            self.unjudged = self._unjudged_looked = 0
            self._records_judged = out.tracker.records

    def finish(self) -> Replay:
        self.out.tracker.no_more_input()  # a traceback ending the input ended the output: a crash
        self.out.final_findings = len(self.out.findings)
        self._evaluate(self.clock.now)
        self.out.tracker.input_ended()  # a file's end and a pipe's alike (`check FILE` and `check -`)
        self.out.end = self.clock.now
        self.out.own_times = self.clock.stamped
        tracker = self.out.tracker
        if not self.clock.stamped and not self.clock.timed_by_bar and tracker.progress.step is not None:
            self.out.timing = "step_time" if "step_time" in tracker.store.metrics() else "none"
        return self.out


def _unmoved_until(manager: AlertManager, judge: Judge) -> float:
    """Before when an update of the alerts' lifecycle that the rules about the present find nothing in
    changes nothing (−inf: now it may): no alert waits (pending: for `for`, or dropped), none is owed a
    notification, and a firing one is neither repeated (its `repeat_interval`) nor, being of one of those
    rules, resolved (`resolve_after` since its rule last found it) before then; with no silences."""
    if manager.silences.list(-math.inf, include_expired=True):
        return -math.inf
    present = {r.id for r in judge.rules if not r.judges_records}
    until = math.inf
    for a in manager.alerts():
        if a.state == AlertState.PENDING:
            return -math.inf
        if a.state != AlertState.FIRING:
            continue
        if a.last_notified is None or a.seen_reading_history:
            return -math.inf
        timing = manager.timing(a.rule)
        if not a.acknowledged and timing.repeat_interval_s > 0:
            until = min(until, a.last_notified + timing.repeat_interval_s)
        if a.rule in present:
            until = min(until, a.last_seen + timing.resolve_after_s)
    return until


class _Values(Mapping[str, tuple[float, float]]):
    """`Coming.values` of a span of a block, each metric's found when a rule asks for it: rows `span` of
    `cols` and `records`; `measured`, the range of the pace meter's intervals (`_Pace.between`)."""

    def __init__(self, cols: StepColumns | None, span: tuple[int, int], records: Sequence[Record]) -> None:
        self._cols, self._span, self._records = cols, span, records
        self.measured: tuple[float, float] | None = None
        self._found: dict[str, tuple[float, float] | None] = {}

    def _names(self) -> set[str]:
        lo, hi = self._span
        names = {n for n, present in self._cols.present.items() if present[lo:hi].any()} if self._cols else set()
        names.update(name for rec in self._records for name in rec.metrics)
        return names | ({STEP_INTERVAL} if self.measured is not None else set())

    def _range(self, name: str) -> tuple[float, float] | None:
        if name == STEP_INTERVAL and self.measured is not None:
            return self.measured
        parts = [np.array([rec.metrics[name] for rec in self._records if name in rec.metrics])]
        if self._cols is not None and name in self._cols.metrics:
            lo, hi = self._span
            parts.append(self._cols.metrics[name][lo:hi][self._cols.present[name][lo:hi]])
        v = np.concatenate(parts)
        if not len(v):
            return None
        v = v[np.isfinite(v)]
        return (float(v.min()), float(v.max())) if len(v) else (math.nan, math.nan)

    def __getitem__(self, name: str) -> tuple[float, float]:
        if name not in self._found:
            self._found[name] = self._range(name)
        found = self._found[name]
        if found is None:
            raise KeyError(name)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._names()))

    def __len__(self) -> int:
        return len(self._names())


@dataclass(frozen=True)
class _Pace:
    """The intervals the run's pace meter (`runwatch.state.pace.PaceMeter`) measures as a stamped block's
    step items arrive, each at the item that brings it: a read's interval (the step items within
    `SAME_READ_S` of its first are one read) is measured when the next read arrives. Known only where
    every step rises above the one before and no two step items come closer than `SAME_READ_S` yet apart:
    then each read's interval is its start's distance from the read before ÷ the steps between their tops.
    The meter may leave some out (a catch-up's), never measure others."""

    emitted_at: np.ndarray
    """The item at which each interval is measured."""
    value: np.ndarray
    """Its seconds per step; NaN for the block's first two reads, which began before it (unknown)."""

    @classmethod
    def of(cls, block: _Block, times: np.ndarray, top: int | None) -> _Pace | None:
        """The block's intervals, items timed `times`, the run at step `top` before it; None if unknown."""
        items = np.flatnonzero(block.kind == STEP_ITEM)
        if len(items) < 2:
            return cls(np.zeros(0, np.int64), np.zeros(0))
        s, t = block.steps[items], times[items]
        dt = np.diff(t)
        if (np.isnan(s).any() or (np.diff(s) <= 0).any() or ((dt > 0) & (dt <= SAME_READ_S)).any()
                or (top is not None and s[0] <= top)):
            return None
        starts = np.concatenate(([0], np.flatnonzero(dt > SAME_READ_S) + 1))  # each read's first step item
        ends = np.concatenate((starts[1:], [len(items)])) - 1
        value = np.diff(t[starts]) / np.diff(s[ends])  # the interval of read g (g >= 1), measured at read g + 1
        value[:1] = math.nan  # read 1's interval from read 0, which may have begun in the block before
        # read g's interval is measured as read g + 1 arrives; read 0's (from the block before) as read 1 does
        return cls(items[starts[1:]], np.concatenate(([math.nan], value))[: len(starts) - 1])

    def between(self, p: int, k: int) -> tuple[float, float] | None:
        """The least and the greatest interval measured at items p..k-1 (None: none; NaN: unknown)."""
        v = self.value[(self.emitted_at >= p) & (self.emitted_at < k)]
        if not len(v):
            return None
        if np.isnan(v).any():
            return math.nan, math.nan
        return float(v.min()), float(v.max())


def merge_by_step(streams: Sequence[Iterable[Record]]) -> Iterator[Record]:
    """Interleave the records of several sources (rank files, a run's logs, metric files,
    checkpoints, W&B) by step, as they would have arrived.

    Each record is keyed by the last step its own source had reached (by a step or
    checkpoint record), so an event stays right after the step line before it; at
    one step, earlier streams come first. A source that reaches no step at all (a
    rank's `stderr.log` beside its `stdout.log` under torchrun's `--log-dir`) has
    its records put after every other's: what such a file holds (a traceback, a
    failure report) is its process's last word, not its first.
    """

    def keyed(i: int, recs: Iterable[Record]) -> Iterator[tuple[float, int, int, Record]]:
        top = -1
        held: list[tuple[int, Record]] = []  # records before this source's first step
        for n, rec in enumerate(recs):
            if rec.step is not None and rec.kind in (Kind.STEP, Kind.CHECKPOINT):
                top = max(top, rec.step)
            if top < 0:
                held.append((n, rec))
                continue
            for m, early in held:
                yield -1, i, m, early
            held.clear()
            yield top, i, n, rec
        for m, early in held:
            yield math.inf, i, m, early

    for _, _, _, rec in heapq.merge(*(keyed(i, s) for i, s in enumerate(streams))):
        yield rec
