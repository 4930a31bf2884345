"""RunTracker: routing of records and the state badge, on a fake clock."""

from __future__ import annotations

import math

import numpy as np
import pytest

from runwatch.model import Event, Kind, Record, RunState
from runwatch.state.ending import BARE_SETTLE_S
from runwatch.state.run import RunTracker

T0 = 1_700_000_000.0


def step(n: int | None, total: int | None = 100, rank: int | None = None, **metrics: float) -> Record:
    return Record(Kind.STEP, step=n, total_steps=total, rank=rank, metrics=metrics or {"loss": 2.0})


def event(name: str, **metrics: float) -> Record:
    return Record(Kind.EVENT, event=name, message=name, metrics=metrics)


def feed(records: list[Record], *, dt: float = 1.0) -> tuple[RunTracker, float]:
    """Apply records one per `dt` seconds (line time = receive time); return the last receive time."""
    tracker = RunTracker("train", "logs/train.log")
    now = T0
    for i, rec in enumerate(records):
        now = T0 + i * dt
        tracker.apply(Record(rec.kind, rec.step, rec.total_steps, rec.rank, now, rec.metrics, rec.event,
                             rec.message), now)
    return tracker, now


STEPS = [step(i) for i in range(10)]


@pytest.mark.parametrize(
    ("records", "want"),
    [
        ([], RunState.WAITING),
        (STEPS, RunState.RUNNING),
        ([*STEPS, event(Event.FINISHED)], RunState.FINISHED),
        ([*STEPS, event(Event.EXIT, exit_code=0)], RunState.FINISHED),
        ([step(i, total=10) for i in range(11)], RunState.FINISHED),
        ([*STEPS, event(Event.OOM)], RunState.CRASHED),
        ([*STEPS, event(Event.NCCL_TIMEOUT), event(Event.EXIT, exit_code=1)], RunState.CRASHED),
        ([*STEPS, event(Event.EXIT, exit_code=137)], RunState.CRASHED),
        ([*STEPS, event(Event.TRACEBACK)], RunState.CRASHED),
        ([*STEPS, event(Event.TRACEBACK), step(10), step(11)], RunState.RUNNING),  # caught and printed
        ([*STEPS, event(Event.OOM), step(10)], RunState.RUNNING),  # recovered (auto-restart, smaller batch)
        ([*STEPS, event(Event.TRACEBACK), event(Event.EXIT, exit_code=0)], RunState.FINISHED),
        # an exit with no code (the end of a pipe) says nothing of how the run ended: ENDED, not CRASHED
        # before the total nor FINISHED without one (issue 10: `cat big.log | runwatch tail -` read finished)
        ([*STEPS, event(Event.EXIT)], RunState.ENDED),
        ([step(i, total=None) for i in range(5)] + [event(Event.EXIT)], RunState.ENDED),
        ([*STEPS, event(Event.FINISHED), step(10)], RunState.RUNNING),  # a second phase goes on
        ([*STEPS, event(Event.NONFINITE), event(Event.CHECKPOINT_SAVED)], RunState.RUNNING),
        ([event(Event.OOM)], RunState.CRASHED),
        ([Record(Kind.EVENT, event="dataloader_error")], RunState.RUNNING),
    ],
)
def test_state_badge(records: list[Record], want: RunState) -> None:
    tracker, now = feed(records)
    assert tracker.snapshot(now + BARE_SETTLE_S).state == want  # a bare traceback is an end once nothing came


def test_a_bare_traceback_is_the_run_s_end_once_nothing_more_came_or_the_input_ended() -> None:
    """A caught exception printed by a loop that goes on read `crashed` until its next step (a review saw
    the status JSON say so for 3 s); a bare traceback ends the run once nothing came for `BARE_SETTLE_S`,
    or at the input's end. A specific fatal event ends it at once."""
    tracker, now = feed([*STEPS, event(Event.TRACEBACK)])
    assert tracker.state(now + BARE_SETTLE_S - 0.5) == RunState.RUNNING
    assert tracker.state(now + BARE_SETTLE_S) == RunState.CRASHED
    tracker.no_more_input()
    assert tracker.state(now) == RunState.CRASHED
    tracker, now = feed([*STEPS, event(Event.TRACEBACK), event(Event.OOM)])
    assert tracker.state(now) == RunState.CRASHED
    tracker, now = feed([*STEPS, event(Event.TRACEBACK)])
    assert tracker.crash_printed and tracker.state(now) == RunState.RUNNING
    tracker.ended_quietly(True)  # its processes are gone (the engine's `_ended_by_writers`): no settle to wait
    assert tracker.state(now) == RunState.CRASHED


@pytest.mark.parametrize(("last", "want"), [(99, RunState.FINISHED), (100, RunState.FINISHED), (95, RunState.ENDED)])
def test_a_run_that_ended_quietly_is_finished_at_its_total_as_at_the_end_of_its_input(last: int, want: RunState) -> None:
    """A 0-based run's last step is its total - 1: at 40999 of 41000 `check` (the input ended) said `finished` and
    `tail` (the log long unwritten, no writer: ended quietly) `ended` (a review). The same knowledge, one answer."""
    for end in ("input", "quiet"):
        tracker, now = feed([step(i) for i in range(last + 1)])
        tracker.input_ended() if end == "input" else tracker.ended_quietly(True)
        assert tracker.state(now + 3600) == want, end


def test_a_step_no_newer_than_the_newest_does_not_take_back_a_quiet_end() -> None:
    """A dead log's unended last line, handed over once its writers are gone and dated when the file was
    last written, is no sign of life; a step received later is (a relaunch appending to the log)."""
    tracker, now = feed(STEPS)
    tracker.ended_quietly(True)
    tracker.apply(step(10), now)
    assert tracker.quiet_end and tracker.state(now + 3600) == RunState.ENDED
    assert tracker.snapshot(now + 3600).progress.step == 10
    tracker.apply(step(11), now + 3600)
    assert not tracker.quiet_end and tracker.state(now + 3601) == RunState.RUNNING


@pytest.mark.parametrize(
    ("dt", "silence", "want"),
    [
        (1.0, 29.0, RunState.RUNNING),
        (1.0, 31.0, RunState.STALLED),  # floor of 30 s
        (30.0, 250.0, RunState.RUNNING),  # 10 × a 30 s step
        (30.0, 301.0, RunState.STALLED),
    ],
)
def test_stalled_after_max_of_floor_and_ten_step_intervals(dt: float, silence: float, want: RunState) -> None:
    tracker, now = feed(STEPS, dt=dt)
    assert tracker.state(now + silence) == want


def test_the_badge_says_no_stall_before_the_run_has_shown_an_interval() -> None:
    """A run whose second step takes 4 minutes (a warm-up, a compile) read `stalled` 30 s after its first:
    the stall rule waits `first_after` (10 min) then, and its alert sets the badge if the run hung."""
    tracker, now = feed([step(1)])
    assert tracker.state(now + 240) == RunState.RUNNING
    tracker, now = feed([step(1), step(2)], dt=240.0)
    assert tracker.state(now + 9 * 240) == RunState.RUNNING  # 10 × its 240 s interval not yet passed
    assert tracker.state(now + 11 * 240) == RunState.STALLED


def test_a_finished_run_never_stalls() -> None:
    tracker, now = feed([step(i, total=10) for i in range(11)])
    assert tracker.state(now + 86_400) == RunState.FINISHED


def test_eta_is_zero_when_finished_and_none_when_crashed() -> None:
    tracker, now = feed([*STEPS, event(Event.FINISHED)])
    assert (tracker.snapshot(now).progress.eta_s, tracker.snapshot(now).progress.eta_basis) == (0.0, "finished")
    tracker, now = feed([*STEPS, event(Event.OOM)])
    assert tracker.snapshot(now).progress.eta_s is None


def test_the_same_end_said_twice_is_one_finished_event() -> None:
    """A review's QLoRA run: the loop's own `✅ Training completed successfully!` and the Trainer's summary dict
    (written later, stdout in blocks) are one end of training; line mode printed `finished` twice. A second
    finish with no step between is not an event again; after a step, a later phase's finish is."""
    tracker, now = feed([*STEPS, event(Event.FINISHED), event(Event.FINISHED, train_loss=1.36)])
    assert [e.event for e in tracker.snapshot(now).events] == [Event.FINISHED]
    tracker, now = feed([*STEPS, event(Event.FINISHED), step(11), event(Event.FINISHED)])
    assert [e.event for e in tracker.snapshot(now).events] == [Event.FINISHED, Event.FINISHED]


def test_a_finished_zero_based_run_is_100_percent_done_in_every_front_end() -> None:
    """A new user's review: a finished run read 100.0% in the TUI header but 99.9% in line mode and the
    overview (nanochat's last step is total - 1): the snapshot itself says 100."""
    tracker, now = feed([*[step(i, total=1200) for i in range(1200)], event(Event.FINISHED)])
    p = tracker.snapshot(now).progress
    assert (p.step, p.total_steps, p.percent) == (1199, 1200, 100.0)
    tracker, now = feed([step(i, total=1200) for i in range(600)])
    assert tracker.snapshot(now).progress.percent == 50.0 - 100 / 1200
    # stopped early by its own choice (an early-stopping callback): finished, and as far as it got (a review)
    tracker, now = feed([*[step(i, total=1200) for i in range(600)], event(Event.FINISHED)])
    snap = tracker.snapshot(now)
    assert (snap.state, snap.progress.percent, snap.progress.eta_s) == (RunState.FINISHED, 50.0 - 100 / 1200, 0.0)
    # a few epochs counted from 0: the last (9 of 10) is the end, not 90% of the way; 8 of 10 stopped early
    tracker, now = feed([*[step(i, total=10) for i in range(10)], event(Event.FINISHED)])
    assert tracker.snapshot(now).progress.percent == 100.0
    tracker, now = feed([*[step(i, total=10) for i in range(9)], event(Event.FINISHED)])
    assert tracker.snapshot(now).progress.percent == 80.0
    tracker, now = feed([*[step(i, total=10) for i in range(1, 10)], event(Event.FINISHED)])  # counted from 1 (Keras):
    assert tracker.snapshot(now).progress.percent == 90.0  # `Epoch 9/10`, then its early stop


@pytest.mark.parametrize("end", [event(Event.FINISHED), event(Event.OOM), event(Event.EXIT)])
def test_elapsed_stops_at_the_last_record_once_the_run_is_over(end: Record) -> None:
    """Issue 13: "elapsed" kept counting after FINISHED, an hour later it read an hour longer."""
    running, now = feed(STEPS)
    assert running.snapshot(now + 60).progress.elapsed_s == pytest.approx(now + 60 - T0)  # it goes on
    over, now = feed([*STEPS, end])
    at_end = over.snapshot(now).progress.elapsed_s
    assert at_end == pytest.approx(now - 1.0 - T0)  # the last step record, a second before the end
    assert over.snapshot(now + 3600).progress.elapsed_s == at_end


def test_elapsed_of_a_stamped_log_runs_on_its_own_clock() -> None:
    """A log that states its times, read long after (or stamped in another time zone): the elapsed time
    is its stamps' span, then the time since its newest record was read, never the wall clock minus its
    first stamp (the header said `elapsed 182d22h` reading last year's Megatron log)."""
    tracker = RunTracker("r", "log")
    year_ago, read = T0 - 365 * 86_400.0, T0
    for i in range(100):  # 100 steps 5 s apart, a year ago, all read now
        tracker.apply(Record(Kind.STEP, i, 1000, None, year_ago + 5.0 * i, {"loss": 2.0}), read + i / 1000)
    last = read + 99 / 1000
    assert tracker.snapshot(last).progress.elapsed_s == pytest.approx(495.0)
    assert tracker.snapshot(last + 30).progress.elapsed_s == pytest.approx(525.0)  # it goes on, as read


@pytest.mark.parametrize("bulk", [True, False])
def test_a_catch_up_burst_sets_no_pace(bulk: bool) -> None:
    """A run stepping every 0.1 s, then 5,000 steps read at once (a catch-up after a pause: as a raw burst,
    `bulk`, or as one read of lines), then steady again: the measured step interval never reads the burst's
    arrival rate (thousands of steps in a read, 2e-5 s a step: a false step_time_drift after every burst)."""
    tracker, t = RunTracker("r", "log"), T0
    for i in range(1, 101):
        t += 0.1
        tracker.apply(Record(Kind.STEP, i, metrics={"loss": 2.0}), t)
    t += 0.1
    tracker.progress.bulk = bulk
    for i in range(101, 5101):
        tracker.apply(Record(Kind.STEP, i, metrics={"loss": 2.0}), t)
    tracker.progress.bulk = False
    for k, i in enumerate(range(5101, 5301)):
        t += 0.001 if k < 3 else 0.1  # the rest of the burst's read, back to back, then the run's pace
        tracker.apply(Record(Kind.STEP, i, metrics={"loss": 2.0}), t)
    pace = tracker.store.get("step_interval", None)
    assert pace is not None
    got = pace.columns(10**9).ymin
    assert len(got) > 150 and float(np.nanmin(got)) > 0.05


def test_snapshot_fields() -> None:
    records = [
        step(1, rank=1, loss=9.0, lr=1e-3),
        step(1, rank=0, loss=2.5),
        step(2, rank=1, loss=9.1),
        Record(Kind.EVAL, step=2, metrics={"val_loss": 2.7}),
        event(Event.CHECKPOINT_SAVED),
    ]
    tracker, now = feed(records)
    snap = tracker.snapshot(now + 4.0)
    assert (snap.run, snap.source, snap.time, snap.format, snap.notes) == ("train", "logs/train.log", now + 4,
                                                                         None, ())
    assert snap.metrics == {"loss": 2.5, "lr": 1e-3, "val_loss": 2.7}  # rank 0 preferred, others fill in
    assert {r: p.step for r, p in snap.ranks.items()} == {0: 1, 1: 2}
    assert snap.last_record_t == T0 + 3 and snap.last_record_age_s == 5.0
    assert snap.records == 5 and [e.event for e in snap.events] == [Event.CHECKPOINT_SAVED]
    assert snap.progress.step == 2 and snap.progress.total_steps == 100
    assert tracker.counts == {Kind.STEP: 3, Kind.EVAL: 1, Kind.EVENT: 1, Kind.CHECKPOINT: 0}


def test_last_step_at_is_the_receive_time_of_the_newest_step_record() -> None:
    assert RunTracker("r", "s").last_step_at is None
    tracker, now = feed([step(1), step(2), Record(Kind.EVAL, step=2, metrics={"val_loss": 2.7}),
                         event(Event.CHECKPOINT_SAVED)])
    assert tracker.last_step_at == T0 + 1 and now == T0 + 3  # evals and events do not move it
    tracker.apply(Record(Kind.STEP, step=3, t=T0 - 7200.0, metrics={"loss": 2.0}), T0 + 10)
    assert tracker.last_step_at == T0 + 10  # received now, whatever time the line carries


def test_series_get_steps_or_a_counter_and_evals_sit_at_the_last_step() -> None:
    tracker, _ = feed([step(None), step(None), Record(Kind.EVAL, metrics={"val_loss": 1.0}), step(None)])
    x, _, _ = tracker.store["loss", None].recent()
    assert x.tolist() == [0.0, 1.0, 2.0]
    assert tracker.store["val_loss", None].latest[0] == 1.0  # type: ignore[index]
    assert tracker.progress.step is None  # no step numbers: no progress, but series still fill
    tracker, _ = feed([step(40, loss=math.nan), Record(Kind.EVAL, metrics={"val_loss": 1.0})])
    assert tracker.store["val_loss", None].latest[0] == 40.0  # type: ignore[index]
    assert math.isnan(tracker.snapshot(T0).metrics["loss"])  # NaN kept, never dropped


def test_a_step_less_line_repeating_the_stated_steps_loss_is_that_steps() -> None:
    """`Epoch: 4, Loss: nan` then its summary `Train. Total Loss: nan, …` (no step of its own, the same loss): the
    summary is at step 4, not the next (a run of ten epochs was at step 11 and NaN for 8 of them, a review). A step-less
    line with another loss, or none, counts on as a loop that states no step does (TensorFlow's `Model diverged with
    loss = NaN.` after step 200 is past it; an HF Trainer's dicts after a step-0 bar count 1, 2, …)."""
    tracker, _ = feed([step(3), step(4, loss=math.nan), step(None, loss=math.nan), step(None, loss=math.nan)])
    x, _, _ = tracker.store["loss", None].recent()
    assert x.tolist() == [3.0, 4.0, 4.0, 5.0]
    tracker, _ = feed([step(200, loss=0.5), step(None, loss=math.nan)])
    assert tracker.store["loss", None].recent()[0].tolist() == [200.0, 201.0]
    tracker, _ = feed([step(0, elapsed=0.0), step(None, loss=5.4), step(None, loss=5.3)])
    assert tracker.store["loss", None].recent()[0].tolist() == [1.0, 2.0]


def test_events_ring_is_bounded_and_keeps_the_newest() -> None:
    tracker = RunTracker("r", "s")
    tracker.apply_many([Record(Kind.EVENT, event="nonfinite", line=i) for i in range(500)], T0)
    events = tracker.snapshot(T0).events
    assert len(events) == 200 and events[0].line == 300 and events[-1].line == 499


def test_history_read_at_once_ages_from_the_receive_time() -> None:
    """Every line of a history has one read time; the age still counts from it, and the ETA uses step_time."""
    tracker = RunTracker("r", "s")
    tracker.apply_many([Record(Kind.STEP, step=i, total_steps=1000, t=T0, metrics={"step_time": 0.5})
                        for i in range(200)], T0)
    snap = tracker.snapshot(T0 + 30)
    assert snap.last_record_age_s == 30.0
    assert snap.progress.eta_basis == "step_time"
    assert snap.progress.eta_s == pytest.approx(801 * 0.5)
    assert snap.state == RunState.RUNNING


def test_per_rank_series_are_kept_apart() -> None:
    tracker, _ = feed([step(i, rank=r, loss=float(r)) for i in range(5) for r in range(4)])
    assert tracker.store.ranks("loss") == [0, 1, 2, 3]
    assert len(tracker.store["loss", 3]) == 5
    assert tracker.ranks.lag(3) == 0


def test_a_metric_files_late_flush_does_not_undo_the_crash_its_log_reported() -> None:
    """nanogpt-tb-raise (run lab): the traceback ends train.log, then TensorBoard's writer, flushed as the
    process exits, delivers steps 296-299 the run took before it. Those are no resumption; a step in
    the log itself (a traceback caught and printed) or any step well after the end is."""
    log, tb = "run/train.log", "run/runs/events.out.tfevents.1.vm.1.0"

    def tracker_after(late: Record, dt: float) -> RunTracker:
        tracker = RunTracker("run", "run")
        for i in range(296):
            tracker.apply(Record(Kind.STEP, i, metrics={"loss": 2.0}, source=log), T0 + i)
        tracker.apply(Record(Kind.EVENT, event=Event.TRACEBACK, message="IndexError", source=log), T0 + 296)
        tracker.apply(late, T0 + 296 + dt)
        return tracker

    late_tb = Record(Kind.STEP, 299, metrics={"loss": 2.0}, source=tb)
    assert tracker_after(late_tb, 0.5).state(T0 + 296.5 + BARE_SETTLE_S) == RunState.CRASHED
    assert tracker_after(late_tb, 60.0).state(T0 + 356) == RunState.RUNNING  # a restart
    same_log = Record(Kind.STEP, 296, metrics={"loss": 2.0}, source=log)
    assert tracker_after(same_log, 0.5).state(T0 + 296.5 + BARE_SETTLE_S) == RunState.RUNNING


def test_a_bars_last_redraw_after_the_traceback_does_not_undo_the_crash() -> None:
    """hf-oom (run lab), found by a new user's review: under the OOM traceback tqdm redraws its bar once
    more (`49/120`), a step record of the same source at the step the run had reached. It is no
    resumption: the run stays crashed (it read `ended`). A step past it, in that log, is one."""
    log = "run/train.log"

    def tracker_after(late: Record) -> RunTracker:
        tracker = RunTracker("run", "run")
        for i in range(1, 50):
            tracker.apply(Record(Kind.STEP, i, 120, metrics={"elapsed": i * 0.06}, source=log), T0 + i)
        tracker.apply(Record(Kind.EVENT, event=Event.OOM, message="OOM", source=log), T0 + 50)
        tracker.apply(late, T0 + 50.1)
        return tracker

    redraw = Record(Kind.STEP, 49, 120, metrics={"elapsed": 3.0}, source=log)
    assert tracker_after(redraw).state(T0 + 51) == RunState.CRASHED
    past = Record(Kind.STEP, 50, 120, metrics={"elapsed": 3.1}, source=log)
    assert tracker_after(past).state(T0 + 51) == RunState.RUNNING


def test_the_pace_is_measured_per_read_from_when_steps_arrive() -> None:
    """Reads at t=0 (steps 0-2), t=3 (3-5), t=9 (6-8): 1 s/step for the second read, given when the third
    begins; then 2 s/step; one point each, as reads seconds apart may be bursts after pauses. A rank's
    line for a step already seen is no progress."""
    tracker = RunTracker("train", "logs/train.log")
    for t, first in ((0.0, 0), (3.0, 3), (9.0, 6), (10.0, 9)):
        for s in range(first, first + 3):
            for rank in (0, 1):
                tracker.apply(Record(Kind.STEP, s, rank=rank, metrics={"loss": 1.0}), T0 + t)
    series = tracker.store.get("step_interval", None)
    assert series is not None
    x, v, _ = series.recent(10)
    assert x.tolist() == [5.0, 8.0] and v.tolist() == [1.0, 2.0]


def test_no_pace_is_measured_into_an_epoch_placed_one_past_the_last_step() -> None:
    """PaddleVideo logs `train step:0` and `train step:100` of each epoch and never the epoch's length, so each
    epoch is placed one step past the last step logged (0, 100, 101, 201, …: runwatch.parsers.epochs). Its lines
    followed as they came, the step into each epoch took the rest of the epoch and its evaluation: steps of
    1.3 s and of 130 s by turns, a healthy run's step_time_drift. That interval is no step's; the others are
    measured as ever, and a step into a new epoch that is not one past the last (the epoch's length stated) is."""
    from tests.support.found import source_records

    _, recs = source_records("paddlevideo_res18_train.log")
    steps = [r for r in recs if r.kind is Kind.STEP]  # and each epoch's `END epoch:2 train loss_avg: …`, stepless
    tracker = RunTracker("train", "train.log")
    for rec in steps:
        tracker.apply(rec, rec.t)  # each as it came: its stamp the time it arrived
    series = tracker.store.get("step_interval", None)
    assert series is not None
    x, v, _ = series.recent(1000)
    assert x.tolist() == [100.0 + 101 * e for e in range(24)]  # 0→100 of each epoch (the last's, one read late: no)
    assert float(v.max()) == 3.33  # epoch 15's 100 steps took 498 s; the steps into an epoch took 130 s
    placed = RunTracker("train", "train.log")  # an epoch of 100 stated: its first step at 100 × (epoch − 1)
    for e, s, t in ((1, 0, 0.0), (1, 50, 50.0), (2, 100, 150.0), (2, 150, 200.0), (3, 200, 300.0)):
        placed.apply(Record(Kind.STEP, s, metrics={"epoch": float(e), "loss": 1.0}), T0 + t)
    placed_series = placed.store.get("step_interval", None)
    assert placed_series is not None and placed_series.recent(10)[1].tolist() == [1.0, 2.0, 1.0]  # 2.0: into epoch 2


def test_a_redraw_of_the_same_step_is_no_progress() -> None:
    """accelerate-hang (run lab): tqdm's monitor thread redrew `299/600` 20 s into a 75 s hang; the
    redraw reset the silence and the stall alert (60 s) never fired. Each rank's own step counts."""
    tracker = RunTracker("train", "logs/train.log")
    for i in range(300):
        tracker.apply(Record(Kind.STEP, i, rank=0, metrics={"loss": 2.0}), T0 + i * 0.05)
    hung_at = T0 + 299 * 0.05
    tracker.apply(Record(Kind.STEP, 299, rank=0, metrics={"loss": 2.0}), hung_at + 20)  # the redraw
    assert tracker.last_step_at == hung_at
    assert tracker.state(hung_at + 40) == RunState.STALLED
    tracker.apply(Record(Kind.STEP, 299, rank=1, metrics={"loss": 2.0}), hung_at + 41)  # another rank's first
    assert tracker.last_step_at == hung_at + 41
    tracker.apply(Record(Kind.STEP, 300, rank=0, metrics={"loss": 2.0}), hung_at + 75)
    assert tracker.last_step_at == hung_at + 75


def test_a_loop_stepping_by_epochs_measures_on_inside_an_epoch() -> None:
    """A loop with no step counter prints `epoch: [1/10], …, loss: 38.9` four times an epoch of 35 minutes: its step
    is the epoch. A line repeating the epoch with another loss is the run going on (read as a redraw, a review's
    healthy run had a critical stall 22 minutes into its first epoch); one repeating the loss too, or a step that is
    no epoch, is a redraw still."""
    tracker = RunTracker("train", "logs/train.log")
    for i, loss in enumerate((38.9, 36.3, 29.8, 22.9)):
        tracker.apply(Record(Kind.STEP, 1, 10, metrics={"epoch": 1.0, "loss": loss}), T0 + i * 440.0)
    assert tracker.last_step_at == T0 + 3 * 440.0
    tracker.apply(Record(Kind.STEP, 1, 10, metrics={"epoch": 1.0, "loss": 22.9}), T0 + 4 * 440.0)
    assert tracker.last_step_at == T0 + 3 * 440.0  # the same loss again: a redraw
    tracker.apply(Record(Kind.STEP, 2, 10, metrics={"epoch": 1.0, "loss": 20.0}), T0 + 5 * 440.0)
    tracker.apply(Record(Kind.STEP, 2, 10, metrics={"epoch": 1.0, "loss": 19.0}), T0 + 6 * 440.0)
    assert tracker.last_step_at == T0 + 5 * 440.0  # a step that is no epoch: its repeat is a redraw


def test_a_repeated_epoch_after_a_crash_does_not_resume_the_run() -> None:
    """A line repeating the epoch with another loss after a fatal traceback (another, unlabelled rank's) keeps the
    silence from growing but is no sign the run went on: it stays crashed (a code review)."""
    tracker = RunTracker("train", "logs/train.log")
    tracker.apply(Record(Kind.STEP, 2, 3, metrics={"epoch": 2.0, "loss": 0.8}), T0)
    tracker.apply(Record(Kind.EVENT, event=Event.OOM, message="CUDA out of memory"), T0 + 1)
    assert tracker.state(T0 + 2) == RunState.CRASHED
    tracker.apply(Record(Kind.STEP, 2, 3, metrics={"epoch": 2.0, "loss": 0.79}), T0 + 3)
    assert tracker.state(T0 + 4) == RunState.CRASHED and tracker.last_step_at == T0 + 3


def test_a_loop_stepping_by_epochs_judged_whole_raises_no_stall() -> None:
    """The review's log itself (a PaddleOCR fine-tune's console as its README keeps it, no `global_step`), read whole
    and in the generic format's rows alike: finished, no alert."""
    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    for fmt in (None, "kv"):
        code, [run], _ = check_json(FOUND / "ppocr_handwriting_finetune.log", extra=("--format", fmt) if fmt else ())
        assert code == 0 and run["state"] == "finished" and run["alerts"] == [], (fmt, run["alerts"])


def test_a_source_read_behind_another_has_its_points_placed_by_step() -> None:
    """hf-wandb-nan (run lab), followed live: the console log reached step 120 before the W&B run's
    history (steps 5..120) was read. Appended behind step 120, the loss stepped back to step 5's value
    and `loss_spike` fired on a loss that never spiked. Placed by step, each series stays in step order,
    and a step it holds already is not added twice; a log that steps back far on its own (a resume from
    an earlier checkpoint) starts a new attempt (runwatch.state.attempts), the other source's going back
    does not."""
    console, wandb = "run/train.log", "run/wandb/run-1/run-1.wandb"
    tracker = RunTracker("run", "run")
    for source in (console, wandb):
        for s in range(5, 125, 5):
            tracker.apply(Record(Kind.STEP, s, metrics={"loss": 10.0 - s / 20}, source=source), T0 + s)
    x, v, _ = tracker.store["loss", None].recent()
    assert x.tolist() == list(range(5, 125, 5))
    assert v.tolist() == sorted(v.tolist(), reverse=True)
    assert tracker.attempts == 1  # the W&B history went back to step 5 behind the console: no new attempt
    tracker.apply(Record(Kind.STEP, 50, metrics={"loss": 7.5}, source=console), T0 + 200)
    assert tracker.attempts == 2 and tracker.store["loss", None].recent()[0].tolist() == [50]


def test_a_read_of_many_steps_is_as_many_pace_points_in_bulk_and_one_by_one() -> None:
    """keras-v1-slow (run lab): 4 ms steps read 25 at a time (the follower gathers writes for 100 ms) made
    one point a read, and its 400 healthy steps were too few points for the drift rule's baseline. A
    read's pace counts once per step record that moved the run on, however the records were applied;
    steps logged every 10th are spread over the read's span."""
    from runwatch.parsers.source import SourceParser
    from runwatch.watcher.snapshot import split_block
    from tests.support.fast_path_logs import row

    data = [("\n".join(row(i, 1000) for i in range(k, k + 25)) + "\n").encode() for k in range(0, 100, 25)]
    bulk, single = RunTracker("r", "log"), RunTracker("r", "log")
    parser = SourceParser("log")
    line = 1
    for k, block in enumerate(data):
        chunk = parser.feed_bytes(block, line, T0 + k * 0.1, split_block)
        line += chunk.lines
        bulk.apply_chunk(chunk, T0 + k * 0.1)
        single.apply_many(chunk.merged(), T0 + k * 0.1)
    for tracker in (bulk, single):
        x, v, _ = tracker.store["step_interval", None].recent()
        assert x.tolist() == list(range(25, 75))  # reads 2 and 3, known when 3 and 4 began
        assert v == pytest.approx([0.1 / 25] * 50, rel=1e-4)
    sparse = RunTracker("r", "log")
    for k, at in enumerate((0.0, 0.5, 1.0, 5.0, 5.5)):  # the fourth read comes after a 4 s pause
        for step in range(10 * 5 * k, 10 * 5 * (k + 1), 10):
            sparse.apply(Record(Kind.STEP, step, metrics={"loss": 1.0}), T0 + at)
    x, v, _ = sparse.store["step_interval", None].recent()
    assert x.tolist() == [50.0, 60.0, 70.0, 80.0, 90.0, 100.0, 110.0, 120.0, 130.0, 140.0, 190.0]
    assert v == pytest.approx([0.01] * 10 + [0.08], rel=1e-4)  # the pause is one point, not five


def test_a_checkpoint_saved_without_a_step_is_placed_at_the_last_step_before_it() -> None:
    """nanoGPT's `saving checkpoint to out` names no step: the overview listed it as `step ?`. It follows the
    eval of `step 200:` / `step 400:` in the run lab's log, read in one block as `check` reads it."""
    from pathlib import Path

    from runwatch.parsers.source import SourceParser

    log = Path(__file__).parents[1] / "fixtures" / "realruns" / "nanogpt-tb-healthy" / "run" / "train.log"
    tracker = RunTracker("r", "train.log")
    tracker.apply_many(SourceParser("train.log").feed(log.read_text().splitlines(), 1, T0), T0)
    saved = [e.step for e in tracker.events if e.event == Event.CHECKPOINT_SAVED]
    assert saved == [200, 400]


@pytest.mark.parametrize("one_by_one", [False, True], ids=["block", "line-by-line"])
def test_an_event_that_names_no_step_is_the_runs_at_the_step_it_had_reached(one_by_one: bool) -> None:
    """The run lab's nanogpt-tb-raise run: its IndexError traceback follows `iter 295`, and the line mode
    said `! traceback: IndexError…` with no step (a review): the run's event is at step 295, read as a
    block (`check`) or a line at a time (`tail`)."""
    from pathlib import Path

    log = Path(__file__).parents[1] / "fixtures" / "realruns" / "nanogpt-tb-raise" / "run" / "train.log"
    tracker = _tracked(log.read_text().splitlines(), one_by_one)
    raised = [e for e in tracker.events if e.event == Event.TRACEBACK]
    assert [e.step for e in raised] == [295] and raised[0].message.startswith("IndexError")


def test_a_stalled_or_ended_run_has_no_eta() -> None:
    """A new user's review: `--json` said `"state": "stalled"` with the same `eta_s` for minutes of a hang,
    where line mode said `ETA ?`: the estimate assumes the run steps again at its pace. It comes back with
    the next step."""
    tracker = RunTracker("train", "logs/train.log")
    for i in range(100):
        tracker.apply(Record(Kind.STEP, i, total_steps=1000, metrics={"loss": 2.0}), T0 + i)
    assert tracker.snapshot(T0 + 100).progress.eta_s is not None
    hung = tracker.snapshot(T0 + 99 + 600)
    assert hung.state == RunState.STALLED and hung.progress.eta_s is None
    tracker.apply(Record(Kind.STEP, 100, total_steps=1000, metrics={"loss": 2.0}), T0 + 700)
    assert tracker.snapshot(T0 + 700).progress.eta_s is not None
    tracker.ended_quietly(True)  # its processes gone short of its total: nothing more comes (a review: `ended`
    ended = tracker.snapshot(T0 + 701)  # beside `"eta_s": 49.6`)
    assert ended.state == RunState.ENDED and ended.progress.eta_s is None


def test_the_bars_closing_redraw_after_a_finish_does_not_start_the_run_again(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: Lightning drew its bar's last frame and `Trainer.fit stopped: max_epochs=1 reached.`
    on one line, then tqdm redrew that frame on closing; the redraw's step (the frame's, read once the stopped
    line was not) cleared the finish: `tail` said `running` for minutes and `check` `ended`. Live (a record at a
    time) and one-shot now both say finished."""
    from runwatch.cli import main
    from runwatch.parsers.source import SourceParser
    from tests.support.paths import FIXTURES

    log = FIXTURES / "found" / "automm_lightning_nan.log"
    assert main(["check", str(log)]) == 2  # its NaN loss
    assert "step 2014  finished" in capsys.readouterr().out
    sp = SourceParser(str(log))
    tracker = RunTracker("automm", str(log))
    lines = log.read_text(encoding="utf-8").replace("\r", "\n").split("\n")
    for i, line in enumerate(lines):
        for rec in sp.feed([line], i + 1, T0 + i):
            tracker.apply(rec, T0 + i)
    assert tracker.state(T0 + len(lines) + 600) == RunState.FINISHED


@pytest.mark.parametrize(("loss_before", "total_after", "attempts"), [
    (False, 500, 1),  # a loop ahead of training (TRL's packing bar), then the training bar: one attempt
    (True, 500, 2),  # the bar before carried a loss: the run itself started again
    (False, 400, 2),  # the same bar drawn again from 0: a restart
])
def test_a_bar_of_another_total_after_one_without_a_loss_is_no_attempt(loss_before: bool, total_after: int,
                                                                       attempts: int) -> None:
    tracker = RunTracker("run", "train.log")
    for s in (0, 1, 71, 153):
        tracker.apply(Record(Kind.STEP, s, 400, metrics={"loss": 2.0} if loss_before else {}), T0 + s / 100)
    for s in (0, 1, 2):
        tracker.apply(Record(Kind.STEP, s, total_after, metrics={"loss": 1.5}), T0 + 10 + s)
    assert tracker.attempts == attempts
    assert tracker.progress.step == 2 and tracker.progress.total == total_after
    said = [e for e in tracker.events if e.event == Event.RESTARTED]
    assert len(said) == attempts - 1


@pytest.mark.parametrize("one_by_one", [False, True], ids=["block", "line-by-line"])
def test_a_checkpoint_whose_name_counts_steps_within_its_epoch_is_at_the_runs_step(one_by_one: bool) -> None:
    """A GPT-2 LoRA loop counts its steps within each epoch (`Epoch 1 | Step 6500/6501`, the run's step 13001) and
    saves `checkpoint_epoch_0_step_0.pt` after epoch 0, `checkpoint_epoch_1_step_6501.pt` after epoch 1: line mode
    said `checkpoint_saved at step 0` after `at step 13001`, then `at step 6501` (a review). They are at the run's
    steps 6500 and 13001, as the best checkpoints saved beside them (no step in their name) are."""
    from tests.support.found import found_lines

    tracker = _tracked(found_lines("gpt2_lora_emoji_logger_2epochs.log.gz"), one_by_one)
    saved = [(e.step, "best" in (e.message or "")) for e in tracker.events if e.event == Event.CHECKPOINT_SAVED]
    assert saved == [(6500, True), (6500, False), (13001, True), (13001, False)]


def _tracked(lines: list[str], one_by_one: bool) -> RunTracker:
    """A run of these lines, read as a block (`check`) or a line at a time (`tail`)."""
    from runwatch.parsers.source import SourceParser

    parser, tracker = SourceParser("train.log"), RunTracker("r", "train.log")
    first = 1
    for batch in [[line] for line in lines] if one_by_one else [lines]:
        tracker.apply_many(parser.feed(batch, first, T0), T0)
        first += len(batch)
    tracker.apply_many(parser.flush(), T0)
    return tracker


def test_a_finish_before_the_run_started_again_is_that_attempts_not_the_runs() -> None:
    """pytorch-tabnet's pretraining ends `Stop training because you reached max_epochs = 6 …`, then the classifier's
    fit counts its own epochs from 0 (tests/fixtures/printed): a new user's review read the run `finished` all through
    the fit, its steps at or below the finish's taken for redraws of its last frame. The fit's first epoch starts
    the run again, running, until the fit's own `Early stopping occurred …`."""
    from runwatch.parsers.source import SourceParser
    from tests.support.paths import FIXTURES

    lines = (FIXTURES / "printed" / "tabnet_pretrain_then_fit.log").read_text(encoding="utf-8").splitlines()
    parser, tracker = SourceParser("train.log"), RunTracker("r", "train.log")
    seen: list[tuple[RunState, int | None]] = []
    for i, line in enumerate(lines):
        tracker.apply_many(parser.feed([line], i + 1, T0 + i), T0 + i)
        if line.startswith(("epoch ", "Stop training", "Early stopping")):
            seen.append((tracker.state(T0 + i + 1), tracker.progress.step))
    finished = [(state, step) for state, step in seen if state is RunState.FINISHED]
    assert finished == [(RunState.FINISHED, 5), (RunState.FINISHED, 7)]  # each fit at its own last words
    fit = seen[seen.index((RunState.FINISHED, 5)) + 1:-1]
    assert [step for _, step in fit] == list(range(8)) and {state for state, _ in fit} == {RunState.RUNNING}
    assert tracker.attempts == 2
