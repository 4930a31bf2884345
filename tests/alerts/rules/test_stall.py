"""stall: silence judged against the run's own rhythm, its pauses, and whether it ended."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from runwatch.alerts.rules.stall import Stall, StallParams
from runwatch.alerts.types import Alert
from runwatch.cli import main
from runwatch.model import AlertState, Event, Kind, Record
from runwatch.parsers.source import SourceParser
from runwatch.state.run import RunTracker
from tests.support.paths import FIXTURES
from tests.support.rule_replay import T0, evaluation, event, feed

RULE = Stall()


def steps(n: int, start: int = 0, total: int | None = 10_000, step_time: float | None = None) -> list[Record]:
    timed = {} if step_time is None else {"step_time": step_time}
    return [Record(Kind.STEP, start + i, total, metrics={"loss": 2.0, **timed}) for i in range(n)]


def silent_for(records: list[Record], silence: float, *, dt: float = 1.0, rule: Stall = RULE) -> list[str]:
    tracker, last = feed(records, dt=dt)
    return [f.summary for f in rule.evaluate(tracker, last + silence)]


@pytest.mark.parametrize(
    ("dt", "silence", "fires"),
    [
        (1.0, 59.0, False),
        (1.0, 61.0, True),  # the `after` floor: a minute, not the old fixed ten
        (90.0, 899.0, False),  # 10 × a 90 s step
        (90.0, 901.0, True),
    ],
)
def test_silence_against_the_larger_of_floor_and_step_rhythm(dt: float, silence: float, fires: bool) -> None:
    assert bool(silent_for(steps(50), silence, dt=dt)) == fires


def test_summary_names_the_silence_the_step_and_the_budget() -> None:
    (summary,) = silent_for(steps(50), 1500.0)
    assert summary == "no new step for 25m (last step 49; expected one within 1m)"


@pytest.mark.parametrize(
    "ending",
    [
        [event(Event.FINISHED)],
        [event(Event.EXIT, exit_code=0)],
        [event(Event.OOM)],  # crashed: crash's business, and crash inhibits stall anyway
        [event(Event.EXIT, exit_code=1)],
    ],
    ids=["finished", "exit-0", "oom", "exit-1"],
)
def test_a_run_that_ended_is_not_stalled(ending: list[Record]) -> None:
    assert silent_for(steps(50) + ending, 7200.0) == []


def test_a_run_at_its_total_is_finished() -> None:
    assert silent_for(steps(51, total=50), 7200.0) == []


def test_recurring_long_pauses_stretch_the_budget() -> None:
    """A run that evaluates for 8 minutes every 100 steps may go quiet that long again, and more."""
    tracker = RunTracker("train", "logs/train.log")
    now = T0
    for block in range(3):
        feed(steps(100, start=100 * block), tracker=tracker, start=now)
        now += 100 + 480.0  # 100 one-second steps, then an 8-minute eval
        tracker.apply(Record(Kind.EVAL, step=100 * block + 99, t=now, metrics={"val_loss": 2.0}), now)
    assert RULE.evaluate(tracker, now + 900.0) == []  # under 2 × the 481 s pauses
    assert RULE.evaluate(tracker, now + 2000.0) == []  # the eval record is the newest: × 3
    assert RULE.evaluate(tracker, now + 3000.0)  # but not for ever


def test_an_eval_or_checkpoint_under_way_triples_the_budget() -> None:
    base = steps(50)
    assert silent_for(base + [evaluation(50, val_loss=2.0)], 170.0) == []
    assert silent_for(base + [Record(Kind.EVENT, event=Event.CHECKPOINT_SAVED, step=49)], 170.0) == []
    (summary,) = silent_for(base + [evaluation(50, val_loss=2.0)], 190.0)
    assert "during an eval/checkpoint" in summary


@pytest.mark.parametrize(("last", "stride", "fires"), [
    (2000, 1, False),  # the save after step 2000: 3 × the minute
    (1999, 1, False),  # or after step 2000 before the loop prints it
    (1998, 1, True),  # no plan there
    (1990, 10, False),  # a log of every 10th step: the save at 2000 comes by the next record
    (1985, 10, True),  # the next record, 1995, comes before it
    (0, 1, True),  # step 0 is no planned save
])
def test_a_silence_after_a_step_where_the_header_plans_a_save_gets_the_phases_budget(
        last: int, stride: int, fires: bool) -> None:
    """A review's HF run under DeepSpeed (`--save_steps 2000` on its command line, 1.2 s a step) was silent
    83 s after step 2000 saving its first checkpoint, and read a critical stall; the saves after it recur and
    are pauses the run survived. The plan its header states stretches the budget after a step where it saves,
    as an eval under way does, and nowhere else."""
    tracker, now = feed([Record(Kind.STEP, last - stride * (49 - i), 10_000, metrics={"loss": 2.0})
                         for i in range(50)], dt=1.0)
    tracker.pause_plan = lambda: (2000, 500)
    found = RULE.evaluate(tracker, now + 90.0)
    assert bool(found) == fires
    tracker.pause_plan = tuple
    assert RULE.evaluate(tracker, now + 90.0)  # without the plan, 90 s is a stall at each of them
    tracker.pause_plan = lambda: (2 * stride,)
    assert RULE.evaluate(tracker, now + 90.0)  # nor a plan on every other record: no pause of the run's
    tracker.pause_plan = lambda: (2000,)
    (f,) = RULE.evaluate(tracker, now + 200.0) if not fires else found
    assert f.summary.endswith("expected one within 1m)") if fires else (
        f"at a checkpoint or eval planned every 2000 steps (last step {last}; expected one within 3m)" in f.summary), f.summary


def test_history_read_at_once_uses_the_logged_step_time() -> None:
    """Every record of a history has one read time; the logged step_time stands in for the rhythm."""
    tracker = RunTracker("train", "logs/train.log")
    for rec in steps(50, step_time=120.0):
        tracker.apply(rec, T0)
    assert RULE.evaluate(tracker, T0 + 1199.0) == []  # 10 × 120 s
    assert RULE.evaluate(tracker, T0 + 1201.0)


def test_the_floor_is_configurable() -> None:
    rule = Stall(StallParams(after=60.0))
    assert silent_for(steps(50), 61.0, rule=rule)
    assert silent_for(steps(50), 59.0, rule=rule) == []


def test_nothing_before_the_first_step() -> None:
    assert silent_for([event(Event.CHECKPOINT_SAVED)], 7200.0) == []


@pytest.mark.parametrize(
    ("silence", "quiet", "allowed"),
    [
        (2.04, "2s", "1.5s"),  # was "no new step for 2s … expected one within 2s"
        (1.56, "1.55s", "1.50s"),  # alike at one decimal: two, both (cut down, as always)
    ],
)
def test_a_short_budget_never_reads_like_the_silence(silence: float, quiet: str, allowed: str) -> None:
    tracker, last = feed(steps(50), dt=0.05)
    (f,) = Stall(StallParams(after=1.5)).evaluate(tracker, last + silence)
    assert "expected one within 1.5" in f.summary
    said_quiet = f.summary.split("no new step for ")[1].split(" ")[0]
    said_allowed = f.summary.split("expected one within ")[1].rstrip(")")
    assert said_quiet != said_allowed
    if quiet != allowed:
        assert (said_quiet, said_allowed) == (quiet, allowed)


def test_a_silence_just_past_a_round_budget_is_told_apart() -> None:
    (summary,) = silent_for(steps(50), 60.4)
    assert summary == "no new step for 1m00.4s (last step 49; expected one within 1m00.0s)"


def test_a_silence_a_few_milliseconds_past_a_round_budget_reads_in_the_same_form() -> None:
    """A new user's review: `1m0.046s (… within 1m)` beside `1m00.2s (… within 1m00.0s)` elsewhere."""
    (summary,) = silent_for(steps(50), 60.046)
    assert summary == "no new step for 1m00.04s (last step 49; expected one within 1m00.00s)"


def test_payload_numbers_are_seconds_to_the_millisecond() -> None:
    """The stall payload carried `value: 6.001573801040649` (review finding 7)."""
    tracker, last = feed(steps(50), dt=0.05)
    (f,) = Stall(StallParams(after=1.5)).evaluate(tracker, last + 6.001573801040649)
    assert f.value == 6.002 and f.threshold == 1.5


def test_resolution_names_the_step_that_ended_the_stall_and_the_gap() -> None:
    tracker, last = feed(steps(50), dt=0.05)
    rule = Stall(StallParams(after=1.5))
    (f,) = rule.evaluate(tracker, last + 2.0)
    alert = Alert(rule="stall", labels=f.labels, state=AlertState.FIRING, severity=f.severity, summary=f.summary,
                  active_since=last + 2.0, step=f.step)
    assert rule.resolution(tracker, alert, last + 2.0) is None  # nothing ended it yet
    feed(steps(1, start=50), tracker=tracker, start=last + 12.3)
    assert rule.resolution(tracker, alert, last + 13.5) == "stall over: step 50 arrived after 12s"


def test_resolution_names_the_step_that_ended_it_a_minute_and_1200_steps_later() -> None:
    """A new user's review: a stall at step 5018 of a run stepping 20 times a second resolved with
    "step 5687 arrived" (the step that ended it had left the 513 points the rule read)."""
    tracker, last = feed(steps(5019), dt=0.05)
    rule = Stall(StallParams(after=5.0))
    (f,) = rule.evaluate(tracker, last + 7.4)
    alert = Alert(rule="stall", labels=f.labels, state=AlertState.FIRING, severity=f.severity, summary=f.summary,
                  active_since=last + 7.4, step=f.step)
    feed(steps(1200, start=5019), dt=0.05, tracker=tracker, start=last + 15.0)
    assert rule.resolution(tracker, alert, last + 76.0) == "stall over: step 5019 arrived after 15s"
    feed(steps(6000, start=6219), dt=0.05, tracker=tracker, start=last + 76.0)  # it left every raw point
    assert rule.resolution(tracker, alert, last + 400.0) == "stall over: steps came again (step 12218 now)"


def test_a_redraw_of_the_hung_step_is_no_gap_of_the_runs_pace() -> None:
    """tqdm prints whole seconds and redraws a bar that has not moved for 10 s: steps come in bursts a second
    apart, and during a 75 s hang the last step is drawn again at 17 s (the run lab's tutorial-tqdm-dlhang).
    Counted as a gap of the run's pace, that redraw made the budget 2m20s and the hang went unreported."""
    tracker, last = feed(steps(10), dt=0.0)
    for burst in range(1, 5):
        tracker, last = feed(steps(10, start=10 * burst), dt=0.0, tracker=tracker, start=last + 1.0)
    hung = last
    feed(steps(1, start=49), tracker=tracker, start=hung + 17.0)  # the redraw: step 49 again
    assert [f.summary for f in RULE.evaluate(tracker, hung + 75.0)] == [
        "no new step for 1m15s (last step 49; expected one within 1m)"]
    rule = Stall(StallParams(after=5.0))
    (f,) = rule.evaluate(tracker, hung + 75.0)
    alert = Alert(rule="stall", labels=f.labels, state=AlertState.FIRING, severity=f.severity, summary=f.summary,
                  active_since=hung + 75.0, step=f.step)
    feed(steps(1, start=50), tracker=tracker, start=hung + 75.0)
    assert rule.resolution(tracker, alert, hung + 76.0) == "stall over: step 50 arrived after 1m15s"


def test_resolution_of_a_run_that_ended_instead() -> None:
    tracker, last = feed(steps(50), dt=0.05)
    (f,) = RULE.evaluate(tracker, last + 700.0)
    alert = Alert(rule="stall", labels=f.labels, state=AlertState.FIRING, severity=f.severity, summary=f.summary,
                  active_since=last + 700.0, step=f.step)
    feed([event(Event.FINISHED)], tracker=tracker, start=last + 800.0)
    assert RULE.resolution(tracker, alert, last + 900.0) == "stall over: the run finished"


# The start-up grace (`first_after`), on the kvlog-healthy recording's step lines re-stamped with the spacing
# a slow or compiling run has (the recording steps every 5 ms; only the stamps are changed, never the lines).

KVLOG_STEPS = [x for x in (FIXTURES / "realruns/kvlog-healthy/run/train.log").read_text().splitlines()
               if " step=" in x]


def restamped(gaps: list[float]) -> list[str]:
    """The recording's first step lines, the i-th stamped `gaps[i]` seconds after the one before."""
    at, lines = datetime(2026, 11, 22, 16, 0, 0), []
    for line, gap in zip(KVLOG_STEPS, gaps, strict=False):
        at += timedelta(seconds=gap)
        stamp, rest = line.split(",", 1)  # `2026-11-22 16:43:54,760 INFO train: step=1 …`
        assert len(stamp) == 19
        lines.append(f"{at:%Y-%m-%d %H:%M:%S},{rest}")
    return lines


def stalls_checked(gaps: list[float], tmp_path: Path) -> list[str]:
    """`runwatch check` of the re-stamped log (the replay, `speechless` included): the stall summaries."""
    log = tmp_path / "train.log"
    log.write_text("\n".join(restamped(gaps)) + "\n")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["check", str(log), "--json"])
    return [a["summary"] for a in json.loads(out.getvalue())["alerts"] if a["rule"] == "stall"]


def test_a_silence_the_next_launch_ends_is_no_stall(tmp_path: Path) -> None:
    """A review's log of 30 launches over four days read seven critical stalls of hours and days, each the gap before
    the next launch's first step: `check` cannot tell a launch that hung and was killed from one that died or
    finished (live, the process says which), and the run started again. The same silence within one launch is one."""
    first = restamped([10.0] * 30)
    later = [line.replace("2026-11-22", "2026-11-24", 1) for line in first]  # the same lines two days on
    assert stalls_checked_lines(first + later, tmp_path) == []
    (hung,) = stalls_checked_lines(first[:15] + later[15:], tmp_path)
    assert hung.startswith("no new step for 2d")


def test_a_relaunch_in_a_fast_format_ends_no_stall_either(tmp_path: Path) -> None:
    """The same in a log whose step lines go in by the block (Megatron's, stamped): the relaunch two days on."""
    from tests.support.stamped import megatron_log

    lines = megatron_log(600, nan_at=10**6)[:400]
    later = [re.sub(r"\[(\d{4}-\d\d-)(\d\d)", lambda m: f"[{m[1]}{int(m[2]) + 2:02d}", line, count=1) for line in lines]
    assert later[0] != lines[0]
    assert stalls_checked_lines(lines + later, tmp_path) == []
    (hung,) = stalls_checked_lines(lines[:200] + later[200:], tmp_path)
    assert hung.startswith("no new iteration for 2d") or hung.startswith("no new step for 2d"), hung


def stalls_checked_lines(lines: list[str], tmp_path: Path) -> list[str]:
    log = tmp_path / "train.log"
    log.write_text("\n".join(lines) + "\n")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["check", str(log), "--json"])
    return [a["summary"] for a in json.loads(out.getvalue())["alerts"] if a["rule"] == "stall"]


@pytest.mark.parametrize("every", [120.0, 300.0], ids=["2min", "5min"])
def test_a_slow_healthy_run_is_not_stalled_before_it_has_shown_its_pace(every: float, tmp_path: Path) -> None:
    """A new user's report: steps every 2 (or 5) minutes read `no new step for 1m57s (last step 1; expected
    one within 1m)`, exit 2, for a run with nothing wrong: the 1-minute floor judged its first interval."""
    assert stalls_checked([every] * 30, tmp_path) == []


def test_a_slow_first_step_then_fast_steps_is_not_stalled(tmp_path: Path) -> None:
    """A 5-minute first interval (torch.compile, a warm-up) then steps every 10 s: within the grace."""
    assert stalls_checked([10.0, 300.0] + [10.0] * 30, tmp_path) == []


def test_a_hang_after_the_pace_is_known_is_caught_as_before(tmp_path: Path) -> None:
    assert stalls_checked([10.0] * 20 + [300.0] + [10.0] * 5, tmp_path) == [
        "no new step for 5m (last step 20; expected one within 1m40s)"]


def test_a_run_that_hangs_before_its_second_step_stalls_after_the_grace(tmp_path: Path) -> None:
    assert stalls_checked([10.0, 540.0, 10.0], tmp_path) == []  # 9 minutes: within the 10-minute grace
    assert stalls_checked([10.0, 900.0, 10.0], tmp_path) == [
        "no new step for 15m (last step 1; expected one within 10m)"]


def test_live_a_first_step_hung_pages_after_the_grace_not_the_floor() -> None:
    """Live: a run whose step 1 came and nothing after (a 70 s first interval paged, critical)."""
    parser = SourceParser("log")
    records = (parser.feed(KVLOG_STEPS[:3], 1, 0.0) + parser.flush())[:1]  # lines enough to tell the format
    assert [r.step for r in records] == [1]
    assert silent_for(records, 70.0) == []
    assert silent_for(records, 599.0) == []
    assert silent_for(records, 601.0) == ["no new step for 10m01s (last step 1; expected one within 10m)"]
    assert silent_for(records, 61.0, rule=Stall(StallParams(first_after=0.0))) != []  # the grace is a setting


def test_an_epoch_that_said_how_long_it_took_is_waited_for_as_long() -> None:
    """A review's Keras log (`Epoch 1/10`, then `3083s - loss: 1.7197 - … - val_acc: 0.8959`, 51 minutes an
    epoch): before the run has shown its pace, the grace (10 minutes, 30 during the epoch's evaluation) ran out
    in every fit's second epoch, a critical stall. The epoch's own time is waited for twice over instead."""
    parser = SourceParser("log")
    lines = (FIXTURES / "found" / "keras1_kanji_earlystop.txt").read_text().splitlines(keepends=True)
    records = [r for r in parser.feed(lines[:5], 1, 0.0) + parser.flush() if r.kind == Kind.STEP]
    assert [(r.step, r.metrics["epoch_elapsed"]) for r in records] == [(1, 3083.0), (2, 3086.0)]
    assert silent_for(records[:1], 3200.0) == []  # epoch 2 is as long coming as epoch 1 took
    assert silent_for(records[:1], 2 * 3083.0 - 10) == []
    (late,) = silent_for(records[:1], 2 * 3083.0 + 10)
    assert late.startswith("no new step for 1h42m") and late.endswith("expected one within 1h42m46s)")
    mid_epoch = [dataclasses.replace(records[0], metrics={**records[0].metrics, "epoch": 0.5})]
    assert silent_for(mid_epoch, 1900.0) != []  # a frame within an epoch says nothing of the next one's length


SHAKESPEARE = (FIXTURES / "found" / "nanogpt_shakespeare_char_v100.log").read_text().splitlines()


@pytest.mark.parametrize("hung_after", ["iter 200:", "iter 300:", "iter 400:"])
def test_a_hang_soon_after_an_eval_step_is_judged_by_the_runs_usual_step(hung_after: str) -> None:
    """A new user's review: a real nanoGPT console written a line every 0.2 s, hung after `iter 300` (five
    records after the eval and checkpoint at 250), raised no stall in 300 s, where a hang after `iter 200`
    or `iter 400` fired at 140 s (10 × 1.4 s a step × 10 steps a record). The p95 of 31 logged step times
    was half the compile step's 35 s and the eval step's 6 s; their median is the run's usual step."""
    lines = SHAKESPEARE[: next(i for i, x in enumerate(SHAKESPEARE) if x.startswith(hung_after)) + 1]
    parser, tracker = SourceParser("train.log"), RunTracker("train", "train.log")
    for i, line in enumerate(lines):
        tracker.apply_many(parser.feed([line], i + 1, T0 + 0.2 * i), T0 + 0.2 * i)
    last = T0 + 0.2 * (len(lines) - 1)
    assert RULE.evaluate(tracker, last + 135.0) == []
    (found,) = RULE.evaluate(tracker, last + 145.0)
    assert found.threshold == pytest.approx(139.6, abs=0.5)


def test_a_pause_the_run_took_before_the_window_is_remembered(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: a loop logging its 388 batches an epoch, each 1.3 s apart, evaluates every second
    epoch for 84 s; the window of 512 records had forgotten the last evaluation by the next, and `check` read a
    critical stall at each of the 9 (healthy run). The first, with no pause before it, comes where the second
    epoch has had as many records as the first: an epoch's end, where a phase's budget holds (another review)."""
    import gzip

    log = tmp_path / "train.log"
    log.write_bytes(gzip.decompress((FIXTURES / "found" / "t5_finetune_logging.log.gz").read_bytes()))
    main(["check", str(log)])
    out = capsys.readouterr().out
    assert "stall" not in out
    assert out.startswith(("OK", "WARNING"))


def test_a_hang_at_an_epochs_end_is_reported_with_a_phases_budget() -> None:
    """The same rhythm hung at an epoch's end: the phase's budget (3 × 1 minute), then a stall that says where."""
    lines = [Record(Kind.STEP, None, None, metrics={"loss": 1.0, "epoch": float(1 + i // 30)}) for i in range(60)]
    tracker, last = feed(lines, dt=1.3)
    assert RULE.evaluate(tracker, last + 170.0) == []
    (summary,) = [f.summary for f in RULE.evaluate(tracker, last + 190.0)]
    assert summary.startswith("no new record for 3m10s at an epoch's end") and "expected one within 3m" in summary
    tracker, last = feed(lines[:45], dt=1.3)  # mid-epoch: the run's own budget
    assert len(RULE.evaluate(tracker, last + 65.0)) == 1


def test_one_record_in_the_logging_interval_of_a_slow_run_is_no_stall() -> None:
    """mmcv logs iteration 50 first, each iteration 21.7 s (`time: 21.680`): the second line comes 18m40s
    later, within 10 × the 50 steps between them (a review: a critical stall before)."""
    from tests.support.found import source_records

    fmt, recs = source_records("mmhuman3d_hmr_mmcv1_nohup.out.gz")
    assert fmt == "kv"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert steps[0].step == 50 and steps[0].metrics["step_time"] == 21.68
    tracker, last = feed(steps[:1], dt=1.0)
    assert RULE.evaluate(tracker, last + 18 * 60 + 40) == []
    assert RULE.evaluate(tracker, last + 10 * 50 * 21.68 + 60)  # a hang is still one


def test_a_run_whose_lines_state_no_step_is_told_in_records() -> None:
    """A loop that logs `Epoch 1 - Batch loss: 12.1336` numbers no step: its points are numbered as they came, and
    "last step 775" named a step that is in no line of the log (a review). Such a run's summary says records."""
    lines = [Record(Kind.STEP, None, None, metrics={"loss": 1.0}) for _ in range(50)]
    tracker, last = feed(lines, dt=1.0)
    (summary,) = [f.summary for f in RULE.evaluate(tracker, last + 75.0)]
    assert summary == "no new record for 1m15s (last record 49; expected one within 1m)"
    (stepped,) = silent_for(steps(50), 75.0)
    assert stepped.startswith("no new step for 1m15s (last step 49;")


def parsed(path: Path) -> list[dict[str, Any]]:
    """The step records `runwatch parse` reads from `path`, as JSON objects."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["parse", "-o", "jsonl", str(path)]) == 0
    docs = [json.loads(line) for line in out.getvalue().splitlines()]
    return [d for d in docs if d["kind"] == "step"]


@pytest.mark.parametrize("late_by", [30.0, 10_432.0])
def test_a_log_and_its_tensorboard_file_on_two_clocks_still_stall(late_by: float) -> None:
    """A nanoGPT run on an H200 (the run lab's gpu-nanogpt-hang) logs every 20th step to its log, timed when
    runwatch reads it, and every step to TensorBoard, timed by the wall time in each event. Watched `late_by`
    seconds after the events were written (a flush, or a recording replayed hours later), the `loss` series
    steps back and forth between the two clocks: each jump forward read as a pause of the run, the budget was
    twice the clocks' distance, and the 75-s hang after step 599 went unreported by `watch`."""
    run = FIXTURES / "realruns" / "gpu-nanogpt-hang" / "run"
    events = {int(d["step"]): d for d in parsed(next((run / "runs").glob("events.out.tfevents.*")))}
    logged = {int(d["step"]): d for d in parsed(run / "train.log")}
    tracker = RunTracker("gpu-nanogpt-hang", str(run))
    last = 0.0
    for step in range(600):
        last = float(events[step]["t"]) + late_by
        if step in logged:  # the log's line, read as the event is written: timed by its arrival
            tracker.apply(Record(Kind.STEP, step, metrics=dict(logged[step]["metrics"]), source="train.log"), last)
        tracker.apply(Record(Kind.STEP, step, t=float(events[step]["t"]), metrics=dict(events[step]["metrics"]),
                             source="events.out.tfevents"), last)
    assert float(events[600]["t"]) - float(events[599]["t"]) > 74
    assert not RULE.evaluate(tracker, last + 59.0)
    (f,) = RULE.evaluate(tracker, last + 75.0)
    assert f.summary == "no new step for 1m15s (last step 599; expected one within 1m)"
    alert = Alert(rule="stall", labels=f.labels, state=AlertState.FIRING, severity=f.severity, summary=f.summary,
                  active_since=last + 75.0, step=f.step)
    came = float(events[600]["t"]) + late_by
    tracker.apply(Record(Kind.STEP, 600, metrics=dict(logged[600]["metrics"]), source="train.log"), came)
    tracker.apply(Record(Kind.STEP, 600, t=float(events[600]["t"]), metrics=dict(events[600]["metrics"]),
                         source="events.out.tfevents"), came)
    assert RULE.resolution(tracker, alert, came + 1.0) == "stall over: step 600 arrived"  # no gap across the clocks


def test_check_of_an_hf_run_whose_first_save_took_83_s_is_ok_by_its_plan(tmp_path: Path) -> None:
    """The review's run itself (the first 2,300 lines): `check` said CRITICAL, a stall at step 2000, exit 2; its
    command line's `--save_steps 2000` is the plan that explains the pause. Without that line the same 83 s is a
    stall still."""
    import gzip

    from tests.support.realruns import check_json

    text = gzip.decompress((FIXTURES / "found" / "mobilevlm_hf_deepspeed_save_steps_pause_excerpt.log.gz").read_bytes())
    lines = text.splitlines(keepends=True)
    assert b"--save_steps 2000" in lines[4]
    for name, data, stalls in (("planned.log", text, []), ("unplanned.log", b"".join(lines[:4] + lines[5:]), [2000])):
        (tmp_path / name).write_bytes(data)
        code, [run], _ = check_json(tmp_path / name)
        assert [a["last_step"] for a in run["alerts"] if a["rule"] == "stall"] == stalls, run["alerts"]
        assert code == (2 if stalls else 0) and run["step"] == 2247, (code, run)
