"""The measured pace taken over spans where the clock ticks in whole seconds (runwatch.state.pace.over_spans)."""

from __future__ import annotations

import numpy as np

from runwatch.state.pace import WHOLE_SECOND_SPAN_S, over_spans

START = 1_790_000_000.0


def dated(pace: np.ndarray, clock: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps 1..n that take `pace` seconds each, dated by a clock that ticks every `clock` seconds: their steps,
    the interval each one's date shows since the step before, and the dates."""
    t = np.floor((START + np.cumsum(pace)) / clock) * clock
    return np.arange(1.0, len(pace) + 1), np.concatenate(([pace[0]], np.diff(t))), t


def test_steps_of_one_and_a_half_seconds_read_as_that_over_ten_seconds() -> None:
    x, v, t = dated(np.full(300, 1.45))
    assert set(v[1:].tolist()) == {1.0, 2.0}  # each step's own interval, as the whole seconds give it
    spanned = over_spans(x, v, t)
    assert spanned is not None
    # a span of ten seconds or more, off by less than one: within 12% of the pace past the first span
    assert np.abs(spanned[8:] / 1.45 - 1).max() < 1 / (WHOLE_SECOND_SPAN_S - 1)
    assert spanned[0] == v[0]  # no span ends at the first point


def test_a_slowdown_shows_once_a_span_has_passed() -> None:
    x, v, t = dated(np.concatenate((np.full(200, 1.45), np.full(50, 3.0))))
    spanned = over_spans(x, v, t)
    assert spanned is not None
    assert np.abs(spanned[:200][8:] / 1.45 - 1).max() < 0.12
    assert np.abs(spanned[-40:] / 3.0 - 1).max() < 0.12


def test_a_clock_with_fractions_of_a_second_keeps_each_point() -> None:
    """Arrival times, stamps with milliseconds: each point its own measure (None: nothing to take over)."""
    x, v, t = dated(np.full(300, 1.45), clock=0.001)
    assert over_spans(x, v, t) is None


def test_points_that_do_not_rise_step_by_step_are_left_as_they_are() -> None:
    x, v, t = dated(np.full(50, 1.45))
    x[20:] -= 10  # a step that goes back (a relaunch): no clock to sum
    assert over_spans(x, v, t) is None
    x, v, t = dated(np.full(50, 1.45))
    v[5] = np.nan
    assert over_spans(x, v, t) is None


def test_a_whole_second_clock_moved_a_hundredth_by_an_event_is_still_one() -> None:
    """`check`'s clock moves 0.01 s at an event between two steps (a checkpoint saved): one interval of 1.01 s among
    hundreds of whole seconds is still a whole-second clock."""
    x, v, t = dated(np.full(300, 1.45))
    t[150:] += 0.01
    spanned = over_spans(x, v, t)
    assert spanned is not None and np.abs(spanned[8:] / 1.45 - 1).max() < 0.12


def test_a_pause_is_its_own_measure_and_no_span_reaches_back_across_it() -> None:
    """Steps of 0.45 s, 37 an epoch, and 30 s between epochs (`check`'s pause for the evaluation after each): spread
    over the spans after it, the pause made most of each epoch's points read 2 s a step and more. The pause's
    point keeps its own measure; every other point past the first span reads the pace."""
    pace = np.full(370, 0.45)
    pace[37::37] = 30.0
    x, v, t = dated(pace)
    spanned = over_spans(x, v, t)
    assert spanned is not None
    paused = np.zeros(len(pace), bool)
    paused[37::37] = True
    assert (spanned[paused] >= 30.0).all()
    assert np.median(spanned[~paused][30:]) < 0.6 and np.percentile(spanned[~paused][30:], 90) < 1.0


def test_an_evaluation_between_short_epochs_is_no_slowdown_to_check() -> None:
    """A review's Ultralytics YOLOv8 run (tests/fixtures/found/README.md): 100 epochs of 37 batches, each 16 s at
    about 0.45 s a batch, a validation after each. `check` warned `steps take 2 s, 4× the 0.5 s before`, and cleared
    it as "still slow"; `tail` of the same log said nothing."""
    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    _, [report], _ = check_json(FOUND / "ultralytics_yolov8_evaluation_between_16s_epochs.out.gz")
    assert (report["state"], report["step"], report["total_steps"], report["alerts"]) == ("finished", 3700, 3700, [])
