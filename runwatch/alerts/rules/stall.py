"""`stall`: no new step for longer than this run's own rhythm allows.

A fixed timeout is wrong both ways: 10 minutes is an eternity for a run that
steps every 0.5 s and nothing for one that logs every 20 minutes. So the
budget is the largest of

* `after`, a floor for every run, and `first_after` until the run has
  shown its pace (`PACE_INTERVALS` intervals between step records, or that
  many records with a logged `step_time`): a one-minute floor paged every
  healthy run stepping every 2 minutes at its first interval, and every
  run whose first step waits on a compile or a warm-up;
* `factor` × the 95th percentile of recent intervals between step records
  (wall time between records), or × the median logged `step_time` × the
  step stride, whichever is larger (a history read at once has every record
  at one time; a run written faster than it stepped, its lines replayed);
* `pause_factor` × the longest recent interval: evaluations, checkpoint
  saves and data reshuffles recur, and a run that survived a 6-minute eval
  will pause that long again;

and, while the run is visibly inside an eval or checkpoint phase (the newest
eval or checkpoint record is at or past the newest training step), at an
epoch's end, or after a step at which its header plans a save or an eval
(`--save_steps 2000`: RunTracker.planned_pause), `phase_factor` times that.
A run that finished (final summary, step = total, exit record) is not
stalled, and a crashed one is `crash`'s business.

Silence is measured from when runwatch received the last step record
(`RunTracker.last_step_at`), so a log stamped in another time zone cannot
fake a stall; intervals come from differences of the records' own times,
which need no common clock. An eval or checkpoint record after that step
does not restart the count: it stretches the budget by `phase_factor`. In a
replay, `now` advances with the records, so a stall shows when the engine
evaluates at a record's time before applying it (the gap just ended) or at
the end of the input.

Durations in the summary are written so that the silence and the budget
never read alike (a 1.5 s budget is not "2s"), and the payload's `value`
and `threshold` are seconds to the millisecond. `resolution` says what
ended a stall, for the RESOLVED notification.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from runwatch.alerts.rules.base import Coming, Rule, RuleParams, duration
from runwatch.alerts.rules.tail import (
    PULSE,
    Tail,
    history,
    main_rank,
    rank_tail,
    step_at,
    step_pulse,
    step_word,
    tail,
)
from runwatch.alerts.types import Alert, Finding
from runwatch.durations import format_duration, human_duration
from runwatch.model import Event, Kind, RunState, Severity
from runwatch.state.pace import SAME_READ_S
from runwatch.state.run import RunTracker
from runwatch.state.stats import percentile

PACE_INTERVALS = 3
"""Intervals between step records after which the run's pace is known. The first interval is often a
compile or a warm-up, the second may hold the first data-loader refill or eval; three is also the least the
budget takes a p95 of. Before that, `first_after` is the floor."""

RESOLVED_LOOKBACK = 1 << 16
"""Points looked back over for the step that ended a stall: every raw point a series holds. A stall
resolves `resolve_after` after the steps came again (at once by default, but a config may set a minute),
and a run stepping 20 times a second has moved 1,200 steps on in a minute (the step named was the newest
of the last 513: a new user's review)."""

@dataclass(frozen=True)
class StallParams(RuleParams):
    after: float = duration(60.0)
    """The least silence that counts as a stall, however fast the run steps. The budget learns the
    rest from the run (its step intervals and its longest pauses): 10 minutes for every run, as before,
    let a run stepping every 50 ms hang unreported for 10 minutes."""
    first_after: float = duration(600.0)
    """The floor until the run has shown its pace (`PACE_INTERVALS`): 10 minutes, so that a
    torch.compile or a warm-up before the first step (minutes on a large model) and a run stepping every
    few minutes do not page before their second or third step, while a run hung before it has shown
    any pace is still reported within the time a user waits for a first step."""
    factor: float = 10.0
    """× the recent p95 interval between step records."""
    pause_factor: float = 2.0
    """× the longest recent interval (recurring evals and checkpoint saves)."""
    phase_factor: float = 3.0
    """Budget multiplier while an eval or checkpoint is under way."""
    window: int = 512
    """Recent step records whose intervals are considered."""
    eval_metrics: tuple[str, ...] = ("val_loss", "val_bpb")
    resolve_after_s: float = duration(0.0)
    """A step that came is the stall's end, not a sign it may be ending: the alert resolves at the next
    evaluation (a review watched it read FIRING for a minute over a run stepping again). It cannot flap:
    a new stall needs another `after` of silence at least."""


class Stall(Rule[StallParams]):
    id = "stall"
    default_severity = Severity.CRITICAL
    explanation = ("no new step for longer than max(after, factor × recent p95 step interval, "
                   "pause_factor × longest recent pause), longer during evals/checkpoints; first_after "
                   "instead of after until the run has shown its pace (3 intervals), or pause_factor × an "
                   "epoch's own stated time; not after the end")
    Params = StallParams

    def badge(self, severity: Severity) -> RunState | None:
        """Firing, the run is stalled: the alert's budget (the run's own pace) overrules the badge's rougher one."""
        return RunState.STALLED

    def silence_s(self) -> float | None:
        return self.params.after if self.params.enabled else None

    def speechless(self, run: RunTracker, coming: Coming) -> bool:
        """Sure of silence when no coming silence passes the least budget any state on the way allows:
        `after`, and `pause_factor` × the longest interval among the pulse's points that are still in its
        window after `coming.items` more points (new intervals only lengthen the longest), with a phase's
        factor when it shrinks the budget. A run whose steps all come farther apart than `after` (a
        Megatron log stepping every 90 s) ends a silence at every record, and each is far within the
        budget its own pace sets."""
        if super().speechless(run, coming):
            return True
        p = self.params
        longest = 0.0
        keep = p.window + 1 - coming.items  # the pulse's points that stay in the window it reads
        if keep >= 2:
            spans = [_longest(found) if (found := tail(run, name, keep)) is not None else 0.0
                     for name in PULSE if name in coming.values or run.store.get(name, main_rank(run, name))]
            longest = min(spans, default=0.0)  # whichever metric the pulse is (a new one: no gap), at least this
        points = max((len(s) for name in PULSE if (s := run.store.get(name, main_rank(run, name))) is not None),
                     default=0)
        unknown = points + coming.items <= PACE_INTERVALS  # so few points cannot show the pace on the way
        least = self.floor(pace_known=not unknown, longest=longest)
        return bool(coming.silence.max(initial=0.0) <= least)

    def floor(self, *, pace_known: bool, longest: float) -> float:
        """The least budget any state allows: `after` (`first_after` before the run has shown its pace),
        or `pause_factor` × the longest interval, with a phase's factor where it shrinks the budget.
        `check` and `speechless` both ask this, so that a replay skips no evaluation `check` would fire at."""
        p = self.params
        return max(self.start(pace_known), p.pause_factor * longest) * min(1.0, p.phase_factor)

    def start(self, pace_known: bool) -> float:
        """The floor of every budget: `after`, or the start-up grace `first_after` (never below `after`)
        while the run has not shown its pace."""
        return self.params.after if pace_known else max(self.params.after, self.params.first_after)

    def check(self, run: RunTracker, now: float) -> list[Finding]:
        last = run.last_step_at
        if last is None or now - last <= self.params.after:
            return []  # the budget is never below `after`: the usual tick ends here
        pulse = step_pulse(run, self.params.window + 1)
        if pulse is None:
            return []
        silence = now - last
        known = _pace_known(run, pulse)
        if silence <= self.floor(pace_known=known, longest=_longest(pulse)):
            return []  # within the least budget: the start-up grace, or the run's longest pause (no percentile)
        if run.state(now) in (RunState.WAITING, RunState.FINISHED, RunState.CRASHED, RunState.ENDED):
            return []
        budget, phase = self.budget(run, pulse)
        if not known:  # an epoch that said how long it took: the next one is as long coming (this only lifts the
            budget = max(budget, self.params.pause_factor * _epoch_took(run, pulse))  # budget: `floor` stays least)
        if silence <= budget:
            return []
        step = run.progress.step if run.progress.step is not None else step_at(pulse.x)
        word = step_word(run)
        quiet, allowed = distinct_durations(silence, budget)
        return [self.finding(
            run, f"no new {word} for {quiet}{phase} (last {word} {step}; expected one within {allowed})",
            value=round(silence, 3), threshold=round(budget, 3), step=step, history=history(pulse.v))]

    def resolution(self, run: RunTracker, alert: Alert, now: float) -> str | None:
        """What ended the stall `alert`: the step that came and the gap before it, or the run's end."""
        pulse = step_pulse(run, RESOLVED_LOOKBACK)
        if pulse is not None and alert.step is not None:
            later = np.flatnonzero(pulse.x > alert.step)
            if len(later):
                i = int(later[0])
                if i == 0:  # the step that ended it is older than the raw points (a fast run, a long hold)
                    return f"stall over: steps came again (step {int(pulse.x[-1])} now)"
                came = i - 1  # the step before, as it first came (not a redraw of it: `arrivals`)
                while came > 0 and pulse.x[came - 1] == pulse.x[i - 1]:
                    came -= 1
                gap = float(pulse.t[i] - pulse.t[came])
                lagging = _lagging(pulse.t)
                if lagging is not None and lagging[i] != lagging[came]:
                    gap = 0.0  # the two steps were timed by two clocks (`intervals`): their difference is none of the run's
                after = f" after {human_duration(gap)}" if gap > SAME_READ_S else ""
                return f"stall over: step {int(pulse.x[i])} arrived{after}"
        state = run.state(now)
        if state in (RunState.FINISHED, RunState.CRASHED):
            return f"stall over: the run {state}"
        return None

    def budget(self, run: RunTracker, pulse: Tail) -> tuple[float, str]:
        """Seconds of silence allowed now, and the phase that stretched it, as the summary names it ("" for none)."""
        p = self.params
        gaps = intervals(pulse)
        typical = float(percentile(gaps, 95)) if len(gaps) >= 3 else 0.0
        longest = float(gaps.max()) if len(gaps) else 0.0
        if len(pulse.x) > p.window:  # pauses recur past the window: a loop that evaluates every 2 epochs of 388
            far = step_pulse(run, PAUSE_MEMORY + 1)  # records read as stalled at each (a new user's review: 9×)
            if far is not None:
                longest = max(longest, _longest(far))
        logged = _logged_interval(run, pulse)
        budget = max(self.start(_pace_known(run, pulse)), p.factor * max(typical, logged), p.pause_factor * longest)
        if not _in_phase(run, pulse, p.eval_metrics):
            if _epoch_over(run, pulse):
                return budget * p.phase_factor, " at an epoch's end"
            if (every := run.planned_pause(int(pulse.x[-1]), int(_median_stride(pulse.x)) or 1)) is not None:
                return budget * p.phase_factor, f" at a checkpoint or eval planned every {every} steps"
            return budget, ""
        expected = tail(run, "eval_expected", 1)  # how long the evaluation under way said it takes
        if expected is not None and expected.x[-1] >= pulse.x[-1] and np.isfinite(expected.v[-1]):
            return max(budget * p.phase_factor, budget + EVAL_SLACK * float(expected.v[-1])), " during an eval/checkpoint"
        return budget * p.phase_factor, " during an eval/checkpoint"


PAUSE_MEMORY = 4096
"""Step records back over which the longest pause is remembered (the p95 interval stays the window's): an
evaluation every few epochs recurs, and one a run survived a few thousand records ago it will take again."""
EVAL_SLACK = 1.5
"""× the length an evaluation under way said it takes (its bar's elapsed + remaining: `eval_expected`), added to
the budget while it runs: a bar's estimate at its start is rough, and an evaluation that hangs still shows."""


def distinct_durations(a: float, b: float) -> tuple[str, str]:
    """`a` and `b` as human durations, with more decimals (up to milliseconds) where the short forms read
    alike: one form either way (a stall of 60.046 s within 60 s read `1m0.046s (… within 1m)` when it fell
    to the parseable form, `1m00.2s (… within 1m00.0s)` otherwise)."""
    short = human_duration(a), human_duration(b)
    if short[0] != short[1]:
        return short
    for decimals in (1, 2, 3):
        finer = human_duration(a, decimals=decimals), human_duration(b, decimals=decimals)
        if finer[0] != finer[1]:
            return finer
    return format_duration(a), format_duration(b)  # alike to the millisecond, or an hour and more


def arrivals(pulse: Tail) -> np.ndarray:
    """When each of the pulse's steps first came. A record that repeats the step before is a redraw, not an
    arrival: tqdm redraws a bar that has not moved for 10 s (`55/120 [00:17<…` during a 75 s hang), and as a
    gap of the run's pace that redraw stretched the budget to 2m34s by the hang itself (the run lab's
    tutorial-tqdm-dlhang went unreported by `check`)."""
    first = np.ones(len(pulse.x), bool)
    first[1:] = pulse.x[1:] != pulse.x[:-1]
    return pulse.t[first]


def intervals(pulse: Tail) -> np.ndarray:
    """The intervals between the pulse's steps' arrivals that one clock timed, those received apart
    (`SAME_READ_S`), in the pulse's order.

    Where two sources feed one series their clocks meet: a log's lines timed when runwatch read them, a
    TensorBoard file's events by the wall time written in them, which lags the log by the writer's flush
    (up to 2 minutes) or, for a run recorded earlier, by hours. The series then steps back and forth
    between the clocks, and each jump forward to the late one read as a pause of the run: a nanoGPT run
    logging every 20th step to its log and every step to TensorBoard, replayed 2.9 hours after it was
    recorded, was given 5.8 hours before a stall and its 75-s hang went unreported by `watch`.

    A pulse that never steps back keeps all its intervals. Else, with half the median step back as the
    tolerance, a point that far behind a time before it is the lagging clock's and one that far ahead of a
    time after it the leading one's; a point that is neither (before the first step back or after the last)
    goes with the clock whose points' median time is nearer. Intervals are taken within each clock (a jitter
    below the tolerance stays, as a run's own would)."""
    t = arrivals(pulse)
    lagging = _lagging(t)
    if lagging is None:
        gaps = np.diff(t)
    else:
        gaps = np.concatenate([np.diff(t[lagging]), np.diff(t[~lagging])])
    return gaps[gaps > SAME_READ_S]


def _lagging(t: np.ndarray) -> np.ndarray | None:
    """Which of times `t` are on the lagging of two clocks (see `intervals`); None where `t` never steps back."""
    gaps = np.diff(t)
    back = gaps < -SAME_READ_S
    if not back.any():
        return None
    tolerance = 0.5 * float(np.median(-gaps[back]))
    lagging = t < np.maximum.accumulate(t) - tolerance
    leading = t > np.minimum.accumulate(t[::-1])[::-1] + tolerance
    unsure = ~(lagging | leading)
    if unsure.any() and lagging.any() and leading.any():
        behind, ahead = float(np.median(t[lagging])), float(np.median(t[leading]))
        lagging |= unsure & (np.abs(t - behind) < np.abs(t - ahead))
    return lagging


def _longest(pulse: Tail) -> float:
    """The longest of the pulse's `intervals`; 0 if none."""
    return float(intervals(pulse).max(initial=0.0))


def _epoch_took(run: RunTracker, pulse: Tail) -> float:
    """Seconds the newest step record says its whole epoch took, when it ends one (a whole `epoch` and its
    `epoch_elapsed`: Keras's `3083s - loss: …` a line an epoch), else 0.0. Before the run has shown its pace,
    a run of 51-minute epochs read a critical stall 30 minutes into each fit's second epoch (a review's Keras
    log, once `check`'s clock moved by each epoch's time)."""
    took, epoch = tail(run, "epoch_elapsed", 1), tail(run, "epoch", 1)
    if took is None or epoch is None or took.x[-1] != pulse.x[-1] or epoch.x[-1] != pulse.x[-1]:
        return 0.0
    e, seconds = float(epoch.v[-1]), float(took.v[-1])
    return seconds if e > 0 and e == round(e) and np.isfinite(seconds) else 0.0


def _pace_known(run: RunTracker, pulse: Tail) -> bool:
    """Whether the run has shown its pace: `PACE_INTERVALS` intervals between step records received apart,
    or, for a history read at once, that many records after the first with a logged `step_time`."""
    if len(pulse.x) <= PACE_INTERVALS:
        return False
    return len(intervals(pulse)) >= PACE_INTERVALS or _logged_interval(run, pulse) > 0


def _logged_interval(run: RunTracker, pulse: Tail) -> float:
    """The median of the logged seconds per step × the median steps between records (0 when not logged).

    The median, not the p95 the intervals between records take: a step time is one step's, and the few
    that hold more (the first, compiling: 35 s of a nanoGPT run's 1.4 s steps; the one with an eval and a
    checkpoint in it: 6 s) are no pace. With 31 records the p95 fell between those two, and a hang five
    records after an eval went unreported for 6 minutes instead of 2m20s (a new user's review); the
    pauses they are recur as long intervals between records, which `pause_factor` judges."""
    logged = rank_tail(run, "step_time", pulse.rank, len(pulse.x))
    if logged is None:
        return 0.0
    stride = _median_stride(pulse.x) or _first_stride(pulse.x)
    value = float(percentile(logged.v, 50))
    return value * stride if np.isfinite(value) else 0.0


def _median_stride(x: np.ndarray) -> float:
    """The median of the steps between the pulse's records that move on (0.0 where none moves on)."""
    strides = np.diff(x)
    strides = strides[strides > 0]
    return float(np.median(strides)) if len(strides) else 0.0


EPOCH_RECORDS_MIN = 10
"""Step records an epoch must have had for its length to tell when the next one is over (`_epoch_over`)."""


def _epoch_over(run: RunTracker, pulse: Tail) -> bool:
    """Whether the newest step ended its epoch: the epoch under way has had as many step records as the one
    before it (the whole epochs their `epoch` metric says). A loop evaluates, or saves, at an epoch's end
    more often than anywhere, and says nothing before it is done: T5 fine-tuning logged a loss every 1.3 s
    and then scored BLEU for 84 s after its second epoch, its first evaluation, read as a critical stall (a
    new user's review). There the budget is a phase's, as while an evaluation is seen under way."""
    epochs = tail(run, "epoch", PAUSE_MEMORY + 1)
    if epochs is None or epochs.x[-1] < pulse.x[-1] or not np.isfinite(epochs.v[-1]):
        return False
    whole = np.floor(epochs.v[np.isfinite(epochs.v)])
    now = whole[-1]
    before = int(np.count_nonzero(whole == now - 1))
    return before >= EPOCH_RECORDS_MIN and int(np.count_nonzero(whole == now)) >= before


FIRST_STRIDE_MAX = 1000
"""The largest first logged step taken as the run's logging interval (`_first_stride`)."""


def _first_stride(x: np.ndarray) -> float:
    """The steps between records while only one came: its step, when that is small enough to be the first
    logging interval of a run counted from 0 (`if it % 50 == 0`: mmcv logs step 50 first), else 1. With 1,
    an mmcv run of 21.7 s iterations logged every 50 was given 10 minutes to its second line, which came
    after 18m40s, a critical stall on a healthy run (a new user's review); a resumed run's first step
    (47,700) is no interval."""
    first = float(x[-1]) if len(x) else 0.0
    return first if 1.0 <= first <= FIRST_STRIDE_MAX else 1.0


def _in_phase(run: RunTracker, pulse: Tail, eval_metrics: tuple[str, ...]) -> bool:
    """Whether the newest eval or checkpoint record is at or past the newest training step: an evaluation's
    metrics, or an evaluation that began and has none yet (the HF Trainer's evaluation bar: its dict comes
    when it ends, and a first 11-minute evaluation read as a critical stall)."""
    x = pulse.x[-1]
    if run.eval_x >= x:
        return True
    for name in eval_metrics:
        found = tail(run, name, 1)
        if found is not None and found.x[-1] >= x:
            return True
    for rec in reversed(run.events[-8:]):
        if rec.kind == Kind.CHECKPOINT or rec.event == Event.CHECKPOINT_SAVED:
            return rec.step is not None and rec.step >= x
    return False
