"""`merge_by_step`: the records of a run's sources interleaved as they would have arrived; `replay`: when
the rules look."""

from __future__ import annotations

import itertools

from runwatch.alerts.rules.base import Rule, RuleParams
from runwatch.alerts.types import Finding
from runwatch.commands.parse import records_of
from runwatch.model import Event, Kind, Record
from runwatch.replay import JUDGE_BATCH, T0, ReplayClock, merge_by_step, replay
from runwatch.state.run import RunTracker
from tests.support.paths import FIXTURES


def steps(*xs: int, source: str) -> list[Record]:
    return [Record(Kind.STEP, x, metrics={"loss": 1.0}, source=source) for x in xs]


def test_an_event_stays_right_after_the_step_line_before_it() -> None:
    log = [*steps(0, 5, source="log"), Record(Kind.EVENT, event=Event.OOM, source="log"), *steps(10, source="log")]
    tb = steps(1, 2, 3, 4, 6, 7, 8, 9, 11, source="tb")
    merged = list(merge_by_step([log, tb]))
    oom = next(i for i, r in enumerate(merged) if r.kind is Kind.EVENT)
    assert [r.step for r in merged[:oom]] == [0, 1, 2, 3, 4, 5]
    assert merged[oom + 1].step == 6


def test_a_source_without_steps_comes_after_the_others() -> None:
    """A rank's stderr.log (torchrun --log-dir) holds its traceback and no step: its last word."""
    stdout = steps(0, 5, 10, source="0/stdout.log")
    stderr = [Record(Kind.EVENT, event=Event.TRACEBACK, message="IndexError", source="1/stderr.log")]
    merged = list(merge_by_step([stderr, stdout]))
    assert [r.kind for r in merged] == [Kind.STEP, Kind.STEP, Kind.STEP, Kind.EVENT]


def test_a_sources_words_before_its_first_step_stay_before_it() -> None:
    banner = Record(Kind.EVENT, event=Event.NCCL_ERROR, message="early", source="log")
    merged = list(merge_by_step([[banner, *steps(3, source="log")], steps(1, 2, source="tb")]))
    assert merged[0] is banner


class _Counting(Rule[RuleParams]):
    """A rule that finds nothing and notes the time of each evaluation."""

    id = "counting"
    explanation = "counts evaluations"

    def __init__(self) -> None:
        super().__init__(RuleParams())
        self.at: list[float] = []

    def check(self, run: RunTracker, now: float) -> list[Finding]:
        self.at.append(now)
        return []


def _stepping(n: int, step_time: float) -> list[Record]:
    return [Record(Kind.STEP, i, metrics={"loss": 1.0, "step_time": step_time}) for i in range(n)]


def test_a_steady_run_is_judged_every_batch_of_records_not_every_few_seconds() -> None:
    """Quiet is a silence between two records, not the time since the rules last looked: a run stepping
    every 0.65 s was judged every 8th record (5 s), 4 times the work for nothing, 17 s of a 170k-line check."""
    rule = _Counting()
    replay(_stepping(320, 0.65), [rule])
    assert len(rule.at) == 320 // JUDGE_BATCH + 1  # the first record, every 32nd after it and the end


def test_a_silence_is_judged_before_the_record_that_ends_it() -> None:
    rule = _Counting()
    recs = _stepping(10, 0.5)
    recs[6] = Record(Kind.STEP, 6, metrics={"loss": 1.0, "step_time": 40.0})  # 40 s from step 5 to step 6
    replay(recs, [rule])
    assert T0 + 3.0 + 40.0 in rule.at  # steps 0–5 at 0.5 s each, then the silence, judged as step 6 arrives


def _bar_times(name: str) -> dict[int, float]:
    """Each step's time (its first record's: tqdm redraws a bar that waits) on the replay clock, for a recorded tqdm run's log."""
    clock = ReplayClock(bar_time=lambda: True)
    out: dict[int, float] = {}
    for rec in records_of(FIXTURES / "realruns" / name / "run" / "train.log", None, None, read_time=False):
        now = clock.advance(rec)
        if rec.kind == Kind.STEP and rec.step is not None:
            out.setdefault(rec.step, now)
    return out


def test_a_progress_bar_run_is_timed_by_the_bars_elapsed_time_not_its_smoothed_rate() -> None:
    """accelerate-hang: rank 1 sleeps 75 s at step 300 of 600 steps of ~6 ms. The hang moves the clock by
    its length; after it, tqdm's rate reads ~1.5 s/it for hundreds of steps, which stepped the clock ~4
    minutes ahead (a step_time_drift that never was); the bar's elapsed says the last 300 took ~2 s."""
    t = _bar_times("accelerate-hang")
    assert 70 <= t[300] - t[299] <= 80
    assert t[600] - t[300] <= 4.0


def test_a_bar_per_epoch_starts_its_elapsed_time_again_and_the_clock_goes_on() -> None:
    """lightning-tqdm-dlhang: Lightning draws a bar per epoch (elapsed from 0 each time); the data loader
    hangs 75 s at step 130."""
    t = _bar_times("lightning-tqdm-dlhang")
    steps = sorted(t)
    assert all(t[a] <= t[b] for a, b in itertools.pairwise(steps))
    assert 70 <= t[130] - t[129] <= 80
    assert t[max(steps)] - t[130] <= 10.0
