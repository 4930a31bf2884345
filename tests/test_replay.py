"""`merge_by_step`: the records of a run's sources interleaved as they would have arrived; `replay`: when
the rules look."""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from runwatch.alerts.judge import JUDGE_BATCH, Judge, judge_every
from runwatch.alerts.lifecycle import AlertManager
from runwatch.alerts.rules import default_rules
from runwatch.alerts.rules.base import Rule, RuleParams
from runwatch.alerts.types import Finding
from runwatch.commands.parse import records_of
from runwatch.model import Event, Kind, Record
from runwatch.parsers.source import ChunkRecords, SourceParser
from runwatch.replay import (
    T0,
    Replay,
    ReplayClock,
    merge_by_step,
    replay,
)
from runwatch.state.run import RunTracker
from runwatch.watcher.snapshot import split_block
from tests.support.nanochat import HEALTHY, step_lines, with_nan_at
from tests.support.paths import FIXTURES
from tests.support.stamped import deepspeed_log, megatron_log, some_unstamped
from tests.support.tee import more_ranks, tee_log, with_evals


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

    def silence_s(self) -> float | None:
        return 5.0  # a silence of 5 s could make it speak: judged as it ends


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


def test_a_keras_log_of_epoch_lines_moves_the_clock_by_each_epochs_time() -> None:
    """A review's Keras log (nine fits of 100 epochs, `10/10 [====] - 13s 1s/step - loss: …` at each epoch's
    end): each line's elapsed time was taken for a new bar's first frame, its zero placed so that the line
    came at once, and `check`'s clock never left its start. The rules then judged every record at one
    instant: a loss spike of the 8th fit read "still firing at the end" of the 9th, and the first fit's
    slowdown (11 s epochs, then 33 s) went unseen. The frames before each epoch's line (`3/10 [===>…] - ETA: 9s`)
    place its steps by the time their ETA implies has passed, an estimate: its line still comes at least its
    epoch's time after the one before, and no more than the frames of its first seconds (an `ETA: 0s`, no
    estimate, a synthetic second each) later."""
    clock = ReplayClock(bar_time=lambda: True)
    elapsed, times = [], []
    for rec in records_of(FIXTURES / "found" / "covidnn_keras_nine_fits.out.gz", None, None, read_time=False):
        now = clock.advance(rec)
        if rec.kind == Kind.STEP and "step_time" in rec.metrics:  # an epoch's line: its frames print no mean
            elapsed.append(rec.metrics["epoch_elapsed"])
            times.append(now)
    assert len(times) == 900
    late = [gap - took for gap, took in zip(itertools.pairwise(times), elapsed[1:], strict=True)
            for gap in [gap[1] - gap[0]]]
    assert min(late) >= 0 and max(late) <= 10  # each epoch's line comes its epoch's time after the one before
    assert sum(late) <= 0.05 * sum(elapsed)


def test_a_step_drawn_again_with_its_bars_time_stays_where_it_was_placed() -> None:
    """A step's record read twice (a bar's last frame redrawn, a percent line and a count line of one notebook bar:
    the lightning corpus's Excerpt P8 heading, whose text quotes both, read `check` a critical stall): the second is
    the step the first placed, drawn again, not the next epoch's only frame, so it comes when the first did. A next
    epoch's line still comes its epoch's time later (Keras verbose 2, the run lab's recording)."""
    recs = [r for r in records_of(FIXTURES / "realruns/keras-v2-healthy/run/train.log", None, None, read_time=False)
            if r.kind == Kind.STEP and "epoch_elapsed" in r.metrics][:3]
    clock = ReplayClock(bar_time=lambda: True)
    first = clock.advance(recs[0])
    second = clock.advance(recs[1])
    assert second - first == recs[1].metrics["epoch_elapsed"] > 0  # the next epoch: its time later
    timeless = dataclasses.replace(recs[2], metrics={k: v for k, v in recs[2].metrics.items() if k != "epoch_elapsed"})
    third = clock.advance(timeless)  # the next epoch's step, its line saying no time (the percent line)
    assert clock.advance(recs[2]) == third  # then the same step with its bar's time: drawn again, no time passed


def test_check_of_a_keras_log_judges_each_fit_on_its_own_clock() -> None:
    """The same log through `check`: the first fit's slowdown (~11 s epochs, then ~33 s) is a step_time_drift
    fired in that fit, cleared by the end, and the 7th fit's val_loss rising three epochs in a row (0.162 → 0.558
    while its loss fell) is an overfit, as a live follower saw it (a review: `tail` fired it at some replay
    speeds, `check` never). Read frame by frame, the epochs the machine went silent in (`10/10 [====] - 4267s
    427s/step`, where the fit's others took ~70 s) are the stalls they were, each once, and the second fit's
    loss jumping from 0.11 to 0.44 and 0.50 in its epochs 28 and 29 a divergence it came back from."""
    from runwatch.commands.check import check_run, summarize
    from runwatch.config import load_config
    from runwatch.plan import plan_runs

    (run,) = plan_runs([str(FIXTURES / "found" / "covidnn_keras_nine_fits.out.gz")])
    result = check_run(run, load_config(None), None, None)
    fired = {f.rule: f for f in summarize(result)}
    assert set(fired) == {"loss_spike", "loss_divergence", "stall", "step_time_drift", "overfit"}
    assert any(f.value == pytest.approx(0.5584, abs=1e-4) for f in result.of("overfit")), result.of("overfit")
    assert not any(f.firing_at_end for f in fired.values())
    stalls = [n.alert.summary for n in result.notifications if n.alert.rule == "stall" and n.state.value == "firing"
              and not n.repeat]
    silent = [re.match(r"no new step for (?:(\d+)h)?(\d+)m", s) for s in stalls]
    assert len(stalls) == 6 and all(m and 60 * int(m[1] or 0) + int(m[2]) >= 15 for m in silent), stalls
    assert fired["loss_divergence"].first_step == 276 and fired["loss_divergence"].attempts == (2, 2)
    restarts = sorted(e.t for e in result.tracker.events if e.event == Event.RESTARTED)
    (drift,) = [n for n in result.notifications if n.alert.rule == "step_time_drift" and n.state.value == "firing"]
    assert drift.at < restarts[0]  # the first fit's


# -- a log a block at a time: step rows in bulk ----------------------------------------------------


def _chunks(lines: list[str], size: int = 1 << 18) -> list[ChunkRecords]:
    """The log's blocks as `runwatch check` reads them (`feed_bytes`, no read time), of `size` bytes and up."""
    parser = SourceParser("train.log")
    data = ("\n".join(lines) + "\n").encode()
    out, line, pos = [], 1, 0
    while pos < len(data):  # blocks of whole lines, as read_blocks cuts them
        end = data.find(b"\n", pos + size) + 1 or len(data)
        out.append(parser.feed_bytes(data[pos:end], line, 0.0, split_block))
        line, pos = line + out[-1].lines, end
    out.append(ChunkRecords(0, parser.flush(), None, "train.log", None, 0.0))
    return out


def _judged(result: Replay) -> list[tuple[float, str, int | None]]:
    return [(t, f.rule, f.step) for t, f in result.findings]


def test_step_rows_in_bulk_are_judged_as_their_records_one_by_one() -> None:
    """The real nanochat run (its evals, warnings and a loss made NaN, then a loss spike) replayed by
    blocks, its step rows taken in bulk a piece between evaluations at a time, finds what the same
    records replayed one by one find, at the same times and steps; the run ends in the same state."""
    lines = HEALTHY.read_text().splitlines()
    lines = with_nan_at(lines, 5000)
    at = next(i for i, ln in enumerate(lines) if ln.startswith("step 12000/"))
    for i in range(at, at + 8):
        loss = lines[i].split("loss: ")[1].split(" ")[0]
        lines[i] = lines[i].replace(f"loss: {loss}", "loss: 9.500000")
    chunks = _chunks(lines)
    assert sum(len(c.steps) for c in chunks if c.steps is not None) > 16_000  # the fast path took the rows
    rules = default_rules()
    by_rows = replay(chunks, rules, manager=AlertManager({}), run="r", source="s")
    by_records = replay([r for c in chunks for r in c.merged()], default_rules(), manager=AlertManager({}),
                        run="r", source="s")
    assert _judged(by_rows) == _judged(by_records)
    assert {f.rule for _, f in by_rows.findings} >= {"nonfinite", "loss_spike"}
    assert [n.alert.key for n in by_rows.notifications] == [n.alert.key for n in by_records.notifications]
    assert by_rows.tracker.snapshot(by_rows.end) == by_records.tracker.snapshot(by_records.end)
    assert by_rows.end == by_records.end


@pytest.mark.parametrize(("log", "found"), [(megatron_log, {"nonfinite", "stall"}), (deepspeed_log, {"stall"}),
                                            (lambda n: some_unstamped(megatron_log(n), 3), {"nonfinite", "stall"})])
def test_stamped_step_rows_in_bulk_are_judged_as_their_records_one_by_one(
    log: Callable[[int], list[str]], found: set[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A log whose step lines state their times (Megatron; DeepSpeed, `[Rank 0]` on each; Megatron with a
    third of its lines unstamped) replayed by blocks, its rows taken in bulk and each timed by its own stamp
    (an unstamped one at the newest time), finds what its records one by one find, at the same times; the same
    run state, pace and progress included (these went record by record, 2.3x check's time on such a log; with
    some lines unstamped, 4× `parse`'s)."""
    chunks = _chunks(log(3000), 1 << 16)
    rows = {int(x) for c in chunks if c.steps is not None for x in c.steps.line}
    assert len(rows) > 2500  # after the lines detection reads
    one = RunTracker.apply
    applied: list[Record] = []
    monkeypatch.setattr(RunTracker, "apply", lambda self, rec, now: (applied.append(rec), one(self, rec, now)))
    by_rows = replay(chunks, default_rules(), manager=AlertManager({}), run="r", source="s")
    assert sum(r.line in rows for r in applied) < len(rows) // 4  # the first block's, before the clock is decided
    monkeypatch.setattr(RunTracker, "apply", one)
    by_records = replay([r for c in chunks for r in c.merged()], default_rules(), manager=AlertManager({}),
                        run="r", source="s")
    assert _judged(by_rows) == _judged(by_records)
    assert {f.rule for _, f in by_rows.findings} >= found
    assert [n.alert.key for n in by_rows.notifications] == [n.alert.key for n in by_records.notifications]
    assert by_rows.tracker.snapshot(by_rows.end) == by_records.tracker.snapshot(by_records.end)
    assert by_rows.end == by_records.end and by_rows.own_times


@pytest.mark.parametrize(("run", "ranks", "found", "evals"), [("torchrun-tee-nan", 2, {"nonfinite"}, 0),
                                                              ("torchrun-tee-nan", 4, {"nonfinite"}, 0),
                                                              ("torchrun-tee-nan", 4, {"nonfinite"}, 25),
                                                              ("torchrun-tee-raise", 2, {"crash"}, 0)])
def test_step_rows_of_several_ranks_in_bulk_are_judged_as_their_records_one_by_one(
    run: str, ranks: int, found: set[str], evals: int, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """torchrun `--tee` lines of every rank in one file (the run lab's recordings sixty times over, four
    ranks in a turning order, rank 0 evaluating every `evals` iterations): rows of several ranks go in bulk,
    a rank's row for a step already seen at the same time, and find what their records one by one find,
    with the same run state. The rows between evaluations are held and taken at once where the rules look
    (`RunTracker._ranked_held`), not an evaluation's stretch at a time."""
    data = more_ranks(tee_log(run, 60), ranks)
    chunks = _chunks((with_evals(data, evals) if evals else data).decode().splitlines())
    assert sum(len(c.steps) for c in chunks if c.steps is not None) > 3000
    by_records = replay([r for c in chunks for r in c.merged()], default_rules(), manager=AlertManager({}),
                        run="r", source="s")
    one, bulk = RunTracker.apply, RunTracker._step_rows
    applied: list[Record] = []
    calls: list[int] = []
    monkeypatch.setattr(RunTracker, "apply", lambda self, rec, now: (applied.append(rec), one(self, rec, now)))
    monkeypatch.setattr(RunTracker, "_step_rows", lambda self, *a, **k: (calls.append(1), bulk(self, *a, **k)))
    by_rows = replay(chunks, default_rules(), manager=AlertManager({}), run="r", source="s")
    assert _judged(by_rows) == _judged(by_records)
    assert {f.rule for _, f in by_rows.findings} >= found
    assert [n.alert.key for n in by_rows.notifications] == [n.alert.key for n in by_records.notifications]
    assert by_rows.tracker.snapshot(by_rows.end) == by_records.tracker.snapshot(by_records.end)
    assert by_rows.end == by_records.end
    rows = {int(x) for c in chunks if c.steps is not None for x in c.steps.line}
    alone = sum(r.line in rows for r in applied)  # a rank's first rows, runs shorter than FEW_RANKED_ROWS
    assert alone < len(rows) // 4, (alone, len(rows))
    evaluated = sum(r.kind == Kind.EVAL for c in chunks for r in c.records)
    assert evaluated == (60 * 300 // evals - 1 if evals else 0)  # 300 iterations a copy, none at iteration 0
    assert len(calls) < max(evaluated // 4, 100), (len(calls), evaluated)


def test_a_long_log_is_judged_tens_of_times_not_every_32_records() -> None:
    """Every 32 records while the run is short, a 16th of the run so far once longer, never more than
    what a rule can look back over apart: the 16,702 step lines are judged ~70 times, not 520."""
    rule, lines = _Counting(), step_lines()
    result = replay(_chunks(lines), [rule])
    assert result.tracker.records == len(lines) > 16_000
    assert 50 <= len(rule.at) <= 100, len(rule.at)
    most = Judge(default_rules()).most_records()
    assert judge_every(500, most) == JUDGE_BATCH and judge_every(16_000, most) == 1000
    assert judge_every(10**7, most) == most


def test_a_step_time_longer_than_the_gap_cap_moves_the_clock_by_itself_in_blocks_and_per_record() -> None:
    """The run lab's nanogpt-tb-hang prints `iter 350: … time 75040.01ms` every 5 iterations: one record moves
    the synthetic clock by its own 75 s (not 5 × 75 s, not the 60 s cap), the same in a block as one by one."""
    import numpy as np

    from runwatch.replay import STEP_ITEM

    hang = FIXTURES / "realruns" / "nanogpt-tb-hang" / "run" / "train.log"
    recs = [r for r in SourceParser("train.log").feed(hang.read_text().splitlines(), 1, 0.0)
            if r.kind == Kind.STEP and "step_time" in r.metrics]
    one = ReplayClock()
    each = np.array([one.advance(r) for r in recs])
    block = ReplayClock().advance_block(np.full(len(recs), STEP_ITEM), np.array([float(r.step) for r in recs]),
                                       np.array([r.metrics["step_time"] for r in recs]))
    assert np.allclose(each, block)
    at = [r.step for r in recs].index(350)
    assert np.diff(each)[at - 1] == pytest.approx(75.04001) and np.diff(block)[at - 1] == pytest.approx(75.04001)
    assert max(np.delete(np.diff(each), at - 1)) < 1.0


def test_the_records_of_one_evaluation_are_one_pause_in_blocks_and_per_record() -> None:
    """A new user's review: read as key/value lines, every `Test: [10/242]  Loss 7.5117 (5.1709)` line of the
    ImageNet example's meters (WS-DAN's run) was an eval record and moved the synthetic clock by a whole eval
    pause: 25 of them a 12-minute silence and a critical stall in a log with no clock at all. One evaluation's
    records, none with a step between them, are one pause; the block reading and the per-record one agree."""
    import gzip

    import numpy as np

    from runwatch.replay import EVAL_ITEM, STEP_ITEM

    text = gzip.decompress((FIXTURES / "found" / "wsdan_sac_imagenet_meters.log.gz").read_bytes()).decode()
    sp = SourceParser("wsdan.log", fmt="kv")
    recs = [r for r in sp.feed(text.splitlines()[:4000], 1, 0.0) + sp.flush() if r.kind in (Kind.STEP, Kind.EVAL)]
    kinds = np.array([STEP_ITEM if r.kind is Kind.STEP else EVAL_ITEM for r in recs])
    assert (kinds == EVAL_ITEM).sum() > 100 and (kinds == STEP_ITEM).sum() > 100
    one = ReplayClock()
    each = np.array([one.advance(r) for r in recs])
    block = ReplayClock().advance_block(kinds, np.full(len(recs), np.nan),
                                       np.array([r.metrics.get("step_time", np.nan) for r in recs]))
    assert np.allclose(each, block)
    first_of_eval = (kinds[1:] == EVAL_ITEM) & (kinds[:-1] == STEP_ITEM)
    rest_of_eval = (kinds[1:] == EVAL_ITEM) & (kinds[:-1] == EVAL_ITEM)
    assert np.allclose(np.diff(each)[first_of_eval], 30.0) and np.allclose(np.diff(each)[rest_of_eval], 0.01)
    found = replay(recs, default_rules()).findings
    assert not [f for _, f in found if f.rule == "stall"]


# -- a log whose steps are each farther apart than a stall's least silence ----------------------------


def _sparse_schedule(steps: int) -> list[float]:
    """Seconds from the log's start at which each step line (1..steps) is stamped: 90 s apart (1.5× the
    stall rule's `after`: every record ends a silence it may speak on), 200 s apart from step 1200 to 1399
    (a slowdown), and 2,400 s before step 1800 (a hang longer than the budget the run's pace allows)."""
    gaps = [2400.0 if i == 1800 else 200.0 if 1200 <= i < 1400 else 90.0 for i in range(1, steps + 1)]
    return list(itertools.accumulate(gaps))


def _sparse_megatron(steps: int) -> list[str]:
    """tests.support.stamped's Megatron run (three real stamped lines in turn, `lm loss: NAN` at steps
    2000–2004), each line's stamp moved to `_sparse_schedule`."""
    import datetime
    import re

    start = datetime.datetime(2024, 4, 6)
    return [re.sub(r"\[[\d-]+ [\d:]+\]", f"[{start + datetime.timedelta(seconds=s):%Y-%m-%d %H:%M:%S}]", line)
            for line, s in zip(megatron_log(steps, nan_at=2000), _sparse_schedule(steps), strict=True)]


SPARSE_NOTIFIED = [
    ("firing", "step_time_drift", "step_interval", 1226, 1224, 1224, False),
    ("firing", "step_time_drift", "step_interval", 1298, 1224, 1296, True),
    ("firing", "step_time_drift", "step_interval", 1370, 1224, 1368, True),
    ("resolved", "step_time_drift", "step_interval", 1433, 1224, 1424, False),
    ("firing", "stall", None, 1800, 1799, 1799, False),
    ("resolved", "stall", None, 1801, 1799, 1799, False),
    ("firing", "nonfinite", "loss", 2095, 2000, 2000, False),
    ("resolved", "nonfinite", "loss", 2234, 2000, 2000, False),
]
"""What `runwatch check` notified on `_sparse_megatron(2400)` before its replay judged sparse steps in
linear time (recorded from main at c3e56bf): (state, rule, metric, the step whose arrival it came at,
first step, step, a repeat). Less the stall that fired at step 2's arrival (the 90 s first interval, judged
against the 1-min floor before the run had shown its pace) and resolved at step 3's: the false page that
the stall rule's start-up grace (`first_after`) removed. And the NaN resolved sooner, with no repeat: it
stops counting once `nonfinite.recover` step records came after it (the 256-point window held it 150
records longer)."""
SPARSE_FIRED = [
    ("stall", {}, 1799, 1799, 1, False, "no new step for 40m (last step 1799; expected one within 33m20s)"),
    ("nonfinite", {"metric": "loss"}, 2000, 2004, 1, False,
     "loss is NaN at step 2000 (5 of the 95 steps logged from there on are not finite)"),
    ("step_time_drift", {"metric": "step_interval"}, 1224, 1425, 1, False,
     "steps take 145 s, 1.6× the 90 s before (step 1424)"),
]
"""…and what it reported: (rule, labels, first step, last step, times, firing at the end, summary)."""


def test_a_sparse_step_log_raises_the_alerts_it_did_when_judged_record_by_record(tmp_path: Path) -> None:
    """Megatron steps 90 s apart, each a silence the stall rule may speak on, so the rules about the present
    are judged before every record (`quiet`): a slowdown, a hang and a NaN are notified at the same steps'
    arrival, with the same step ranges and summaries, as before those evaluations were made cheap (a 100k-line
    such log took `check` 60 s of CPU, `parse` 0.7 s)."""
    from runwatch.commands.check import check_run, summarize
    from runwatch.config import load_config
    from runwatch.plan import plan_runs

    log = tmp_path / "train.log"
    log.write_text("\n".join(_sparse_megatron(2400)) + "\n", encoding="utf-8")
    (run,) = plan_runs([str(log)])
    result = check_run(run, load_config(None), None, None)
    schedule = _sparse_schedule(2400)
    arrival = {round(s - schedule[-1], 3): step for step, s in enumerate(schedule, 1)}  # seconds before the end
    notified = [(n.state.value, n.alert.rule, n.alert.metric, arrival.get(round(n.at - result.end, 3)),
                 n.alert.first_step, n.alert.step, n.repeat) for n in result.notifications]
    assert notified == SPARSE_NOTIFIED
    fired = [(f.rule, f.labels, f.first_step, f.last_step, f.times, f.firing_at_end, f.summary)
             for f in summarize(result)]
    assert fired == SPARSE_FIRED


def test_xid_lines_in_a_sparse_step_log_are_judged_as_when_no_evaluation_is_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """gpu_health reads a log's Xid lines with no system samples (as in every replay): the corpus's Xid 45
    cascade amid Megatron steps 90 s apart is found at the same times, and notified alike, as when every
    quiet-spell evaluation is made (the replay once took every system rule but io_stall for speechless)."""
    from runwatch import replay as replaying
    from tests.support.corpus import json_excerpt

    xids = [line for line in json_excerpt("excerpts_failures.json", "F29 —") if "Xid" in line]
    lines = _sparse_megatron(600)
    lines[300:300] = xids
    skipping = replay(_chunks(lines), default_rules(), manager=AlertManager({}), run="r", source="s")
    monkeypatch.setattr(replaying._Replayer, "_speechless", lambda self, coming: False)
    each = replay(_chunks(lines), default_rules(), manager=AlertManager({}), run="r", source="s")
    assert len(each.of("gpu_health")) > 1
    assert _judged(skipping) == _judged(each)
    assert [(n.at, n.alert.key, n.state) for n in skipping.notifications] == [
        (n.at, n.alert.key, n.state) for n in each.notifications]


class _Widening(_Counting):
    """A rule about the present that a silence may make speak, noting how far back each evaluation looks."""

    id = "widening"

    def __init__(self, looked: list[int], width: int = 0) -> None:
        super().__init__()
        self.looked, self.width = looked, width

    def widened(self, points: int) -> _Widening:
        return _Widening(self.looked, points)

    def check(self, run: RunTracker, now: float) -> list[Finding]:
        self.looked.append(self.width)
        return []

    def speechless(self, run: RunTracker, coming: object) -> bool:
        return False  # never sure: every quiet spell's end is evaluated


def test_a_quiet_spell_evaluation_looks_back_only_over_the_records_since_any_evaluation() -> None:
    """Steps 10 s apart end a quiet spell at every record, and the rules about the present are judged there;
    each such evaluation widened them to every record since the last full one, so a check of a sparse log
    looked back over a number of records that grew with the square of the batch (a 100k-line Megatron log
    with interleaved noise: 21.9 s of `check` against 1.1 s of `parse`)."""
    looked: list[int] = []
    recs = _stepping(3000, 10.0)
    replay(recs, [_Widening(looked)])
    assert len(looked) > len(recs) // 2  # judged at quiet spells, not only every batch
    assert sum(looked) <= len(recs) + JUDGE_BATCH


def test_on_a_clock_that_follows_the_logs_times_an_evaluation_is_no_made_up_pause() -> None:
    """RTMDet evaluates after each of its last 20 epochs (12 s each, evaluation included, by its stamps). Each
    evaluation moved the clock 30 s, ahead of the stamps, so each epoch's 43 steps arrived at one instant
    30 s apart: a step interval of 0.7 s where its steps take 0.15 s, and `check` warned step_time_drift on
    a healthy end (a review). An evaluation's own stamp is its time; one without any is no pause."""
    clock = ReplayClock()
    assert clock.advance(Record(Kind.STEP, 1, t=T0 + 100.0)) == T0 + 100.0
    assert clock.advance(Record(Kind.EVAL, None, metrics={"val_map": 0.8}, t=T0 + 103.0)) == T0 + 103.0
    unstamped = clock.advance(Record(Kind.EVAL, None, metrics={"val_map": 0.8}))
    assert T0 + 103.0 < unstamped < T0 + 104.0
    assert clock.advance(Record(Kind.STEP, 2, t=T0 + 105.0)) == T0 + 105.0
    unclocked = ReplayClock()  # a log with no times of its own: an evaluation is still a pause
    before = unclocked.advance(Record(Kind.STEP, 1))
    assert unclocked.advance(Record(Kind.EVAL, None, metrics={"val_map": 0.8})) == before + 30.0


def test_rtmdet_evaluated_every_epoch_to_its_end_is_healthy(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from runwatch.cli import main

    assert main(["check", str(FIXTURES / "found" / "mmdet_rtmdet_triangle.log.gz"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["step"] == 8600 and report["alerts"] == []
