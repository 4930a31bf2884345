"""checkpoint_stale and checkpoint_partial on a fake clock, from checkpoint records as the watcher emits them."""

from __future__ import annotations

from runwatch.alerts.rules.checkpoint import CheckpointPartial, CheckpointPartialParams, CheckpointStale
from runwatch.model import Event, Kind, Record
from runwatch.state.run import RunTracker
from tests.support.rule_replay import T0

HOUR = 3600.0


def ckpt(step: int | None, t: float, state: str = "complete", source: str | None = None,
         generation: int = 1, message: str = "") -> Record:
    metrics = {"size_bytes": 1e9} | ({"generation": float(generation)} if generation > 1 else {})
    return Record(Kind.CHECKPOINT, step=step, t=t, metrics=metrics, event=state,
                  source=source or f"out/checkpoint-{step}", message=message or None)


def run_with(*records: Record, steps_until: float | None = None) -> RunTracker:
    """A tracker fed step records every 60 s from T0 (until `steps_until`) and `records` in time order."""
    tracker = RunTracker("train", "out")
    end = steps_until if steps_until is not None else max(r.t for r in records)
    steps = [Record(Kind.STEP, step=i, t=T0 + 60 * i, metrics={"loss": 1.0}) for i in range(int((end - T0) // 60) + 1)]
    for rec in sorted([*steps, *records], key=lambda r: r.t):
        tracker.apply(rec, rec.t)
    return tracker


def stale(tracker: RunTracker, now: float) -> list[str]:
    return [f.summary for f in CheckpointStale().evaluate(tracker, now)]


def test_stale_fires_after_factor_times_the_usual_interval() -> None:
    saves = [ckpt(100 * i, T0 + i * HOUR) for i in range(1, 4)]  # every hour
    tracker = run_with(*saves, steps_until=T0 + 7 * HOUR)
    assert stale(tracker, T0 + 5.9 * HOUR) == []  # 2.9 intervals since the last
    assert stale(tracker, T0 + 6.5 * HOUR) == ["no new checkpoint for 3.5h (usually one every 60m; 3 saved so far)"]
    [finding] = CheckpointStale().evaluate(tracker, T0 + 6.5 * HOUR)
    assert finding.value == 3.5 * HOUR and finding.threshold == 3 * HOUR


def test_stale_needs_two_saves_and_respects_the_floor() -> None:
    one = run_with(ckpt(100, T0 + HOUR), steps_until=T0 + 30 * HOUR)
    assert stale(one, T0 + 30 * HOUR) == []
    fast = run_with(ckpt(1, T0 + 10), ckpt(2, T0 + 20), steps_until=T0 + 700)
    assert stale(fast, T0 + 500) == []  # 16 intervals, but under the 10-minute floor
    assert stale(fast, T0 + 700) != []


def test_stale_counts_saves_once_and_holds_off_while_one_is_written() -> None:
    saves = [ckpt(100, T0 + HOUR, "writing"), ckpt(100, T0 + HOUR + 5, "partial"),
             ckpt(100, T0 + HOUR + 9), ckpt(200, T0 + 2 * HOUR)]
    tracker = run_with(*saves, steps_until=T0 + 6 * HOUR)
    assert stale(tracker, T0 + 5.5 * HOUR) != []  # interval 1 h from the first complete/partial record
    writing = run_with(*saves, ckpt(300, T0 + 5.4 * HOUR, "writing"), steps_until=T0 + 6 * HOUR)
    assert stale(writing, T0 + 5.5 * HOUR) == []
    assert stale(writing, T0 + 9 * HOUR) != []  # a write that never ended does not hold it off forever


def test_stale_is_quiet_once_the_run_finished_or_crashed() -> None:
    saves = [ckpt(100, T0 + HOUR), ckpt(200, T0 + 2 * HOUR)]
    for end in (Event.FINISHED, Event.OOM):
        tracker = run_with(*saves, Record(Kind.EVENT, event=end, t=T0 + 2.5 * HOUR), steps_until=T0 + 2.4 * HOUR)
        assert stale(tracker, T0 + 10 * HOUR) == []


def test_a_rewritten_file_counts_as_a_new_save_each_generation() -> None:
    saves = [ckpt(None, T0 + i * HOUR, source="out/ckpt.pt", generation=i) for i in range(1, 4)]
    tracker = run_with(*saves, steps_until=T0 + 7 * HOUR)
    assert stale(tracker, T0 + 6.5 * HOUR) != [] and stale(tracker, T0 + 5 * HOUR) == []


def partial(tracker: RunTracker, now: float) -> list[tuple[dict[str, object], str]]:
    return [(dict(f.labels), f.summary) for f in CheckpointPartial().evaluate(tracker, now)]


def test_partial_fires_when_a_checkpoint_stays_incomplete() -> None:
    rec = ckpt(500, T0 + 100, "partial", source="ck/*_000500*",
               message="step 000500 partial: 3 GiB in 7 files; missing optim_{step}_rank*.pt rank 3 (7 of 8)")
    tracker = run_with(ckpt(400, T0 + 50), rec)
    assert partial(tracker, T0 + 200) == []  # not yet `after` (5 minutes)
    assert partial(tracker, T0 + 500) == [(
        {"run": "train", "checkpoint": "ck/*_000500*"},
        "checkpoint incomplete for 7m: step 000500 partial: 3 GiB in 7 files; "
        "missing optim_{step}_rank*.pt rank 3 (7 of 8)")]


def test_partial_resolves_when_it_completes_or_a_newer_one_does() -> None:
    first = ckpt(500, T0 + 100, "partial")
    completed = run_with(first, ckpt(500, T0 + 150))
    assert partial(completed, T0 + HOUR) == []
    superseded = run_with(first, ckpt(600, T0 + 1000))
    assert partial(superseded, T0 + HOUR) == []
    rule = CheckpointPartial(CheckpointPartialParams(after=0.0))
    assert rule.evaluate(run_with(first), T0 + 100)
