"""ETA scenarios: each builds a synthetic timeline and checks the estimate against the true rate."""

from __future__ import annotations

import numpy as np
import pytest

from runwatch.state.progress import ProgressTracker, StepIntervals

T0 = 1_700_000_000.0


def timeline(
    steps: int, per_step: float, *, start: int = 0, stride: int = 1, slow_first: tuple[float, ...] = (),
    eval_every: int = 0, eval_s: float = 0.0, announce_eval: bool = True,
) -> list[tuple[int, float, bool]]:
    """(step, wall time, is_eval) records: slow first intervals, then steady steps with evals."""
    out: list[tuple[int, float, bool]] = []
    t = T0
    for step in range(start, start + steps, stride):
        if out:
            k = len(out) - 1
            t += slow_first[k] if k < len(slow_first) else per_step * stride
            if eval_every and step % eval_every < stride:
                t += eval_s
                if announce_eval:
                    out.append((step, t - 1e-2, True))
        out.append((step, t, False))
    return out


def feed(events: list[tuple[int, float, bool]], total: int | None, **kw: float) -> ProgressTracker:
    p = ProgressTracker()
    for step, t, is_eval in events:
        p.update(step, total, t, is_eval=is_eval, **kw)
    return p


def last_t(events: list[tuple[int, float, bool]]) -> float:
    return events[-1][1]


@pytest.mark.parametrize("slow", [(392.0,), (18.0, 5.0), (120.0, 60.0, 30.0)])
def test_slow_first_steps_do_not_inflate_the_eta(slow: tuple[float, ...]) -> None:
    ev = timeline(101, 0.5, slow_first=slow)
    p = feed(ev, 1000)
    est = p.estimate(last_t(ev))
    assert est.eta_basis == "wall"
    assert est.eta_s == pytest.approx(900 * 0.5, rel=0.01)
    assert est.steps_per_sec == pytest.approx(2.0, rel=0.01)
    naive = (last_t(ev) - T0) / 100 * 900
    assert naive > 1.2 * est.eta_s  # the naive estimate would be off


def test_slow_first_logged_step_time_is_skipped_in_history() -> None:
    p = ProgressTracker()
    for step, dt in enumerate([18.07, 0.629, 0.660, 0.650, 0.652, 0.656]):
        p.update(step, 16704, T0, step_time=dt)  # one read time for the whole history
    est = p.estimate(T0)
    assert est.eta_basis == "step_time"
    assert est.eta_s == pytest.approx((16704 - 5) * 0.652, rel=0.01)


@pytest.mark.parametrize("announce", [True, False])
def test_periodic_evals_are_amortised_not_extrapolated(announce: bool) -> None:
    per_step, eval_every, eval_s, total = 0.5, 250, 30.0, 5000
    true_rate = per_step + eval_s / eval_every
    ev = timeline(1201, per_step, eval_every=eval_every, eval_s=eval_s, announce_eval=announce)
    p = ProgressTracker()
    etas = {}
    for step, t, is_eval in ev:
        p.update(step, total, t, is_eval=is_eval)
        if not is_eval and step >= 300:
            etas[step] = p.estimate(t).eta_s
    for step, eta in etas.items():
        true = (total - step) * true_rate
        assert 0.8 * true <= eta <= 1.1 * true, step
    for eval_step in (500, 750, 1000):
        # After an eval the ETA moves by the eval's share of the run (it was under-counted
        # before), never by extrapolating the one 30 s interval (that would be ×60).
        assert etas[eval_step + 1] / etas[eval_step - 1] < 1.15


def test_announced_eval_counts_even_when_it_is_not_an_outlier() -> None:
    """Logging every 100 steps: a 30 s eval makes an interval only 1.6× the usual one."""
    ev = timeline(3001, 0.5, stride=100, eval_every=500, eval_s=30.0)
    est = feed(ev, 10_000).estimate(last_t(ev))
    assert est.eta_s == pytest.approx(7000 * (0.5 + 30 / 500), rel=0.02)


def test_a_single_long_hang_does_not_inflate_the_rest_of_the_run() -> None:
    ev = timeline(201, 1.0)
    ev = [(s, t + (7200.0 if s >= 100 else 0.0), e) for s, t, e in ev]
    est = feed(ev, 10_000).estimate(last_t(ev))
    assert est.eta_s == pytest.approx(9800 * 1.0, rel=0.01)


def test_history_read_at_once_falls_back_to_step_time() -> None:
    p = ProgressTracker()
    for step in range(0, 500):
        p.update(step, 1000, T0, step_time=0.65)
    est = p.estimate(T0 + 1.0)
    assert (est.eta_basis, est.eta_s) == ("step_time", pytest.approx(501 * 0.65))
    assert est.percent == pytest.approx(49.9)


def test_history_without_step_time_uses_the_logged_eta_or_none() -> None:
    p = ProgressTracker()
    for step in range(100):
        p.update(step, 1000, T0)
    assert p.estimate(T0).eta_s is None
    p.update(100, 1000, T0, log_eta=600.0)
    est = p.estimate(T0)
    assert (est.eta_s, est.eta_basis) == (600.0, "log")


def test_a_logged_eta_to_a_total_the_steps_went_past_is_none() -> None:
    """A plain loop's bar drawn anew each epoch: its first lap states one epoch's total and its ETA (0 at its end);
    the later laps count on with no total (runwatch.parsers.progress_bar.lapped). That ETA was to the epoch's end,
    and `tail` showed `ETA 0s` for the rest of a 20-epoch run (a review's log)."""
    p = ProgressTracker()
    for step in range(1, 1157):
        p.update(step, 1156, T0, log_eta=float(1156 - step))
    for step in range(1157, 2000):
        p.update(step, None, T0)
    est = p.estimate(T0)
    assert (est.total_steps, est.eta_s, est.percent) == (None, None, None)


def test_history_then_live_switches_to_wall_time() -> None:
    p = ProgressTracker()
    for step in range(500):
        p.update(step, 1000, T0, step_time=0.1)  # the logged step_time underestimates
    for i, step in enumerate(range(500, 520)):
        p.update(step, 1000, T0 + 10 + i * 1.0, step_time=0.1)
    est = p.estimate(T0 + 30)
    assert est.eta_basis == "wall"
    assert est.eta_s == pytest.approx(481 * 1.0, rel=0.01)


def test_unknown_total_gives_no_eta_or_percent_but_a_rate() -> None:
    ev = timeline(50, 0.25)
    est = feed(ev, None).estimate(last_t(ev))
    assert est.eta_s is None and est.percent is None and est.total_steps is None
    assert est.steps_per_sec == pytest.approx(4.0)
    assert est.eta_basis == ""


@pytest.mark.parametrize("stride", [10, 100])
def test_steps_logged_every_n_are_divided_by_the_step_delta(stride: int) -> None:
    ev = timeline(2000, 0.65, stride=stride)
    p = feed(ev, 5000)
    est = p.estimate(last_t(ev))
    assert est.steps_per_sec == pytest.approx(1 / 0.65)
    assert est.eta_s == pytest.approx((5000 - ev[-1][0]) * 0.65)
    assert p.record_interval_s == pytest.approx(0.65 * stride)


def test_records_of_several_ranks_for_one_step_count_once() -> None:
    p = ProgressTracker()
    for step in range(100):
        for rank in (0, 3, 1, 2):
            p.update(step, 1000, T0 + step * 2.0 + rank * 0.05)
    assert p.steps_per_sec == pytest.approx(0.5)
    assert p.step == 99


@pytest.mark.parametrize("per_read", [5, 37])
def test_lines_read_in_batches_count_as_the_steps_they_hold(per_read: int) -> None:
    """Block-buffered stdout: lines arrive per_read at a time, all with the same read time."""
    p = ProgressTracker()
    for step in range(2000):
        p.update(step, 4000, T0 + (step // per_read) * per_read * 0.1)
    assert p.steps_per_sec == pytest.approx(10.0)


def test_timestamps_with_one_second_resolution() -> None:
    p = ProgressTracker()
    for step in range(1000):
        p.update(step, 2000, T0 + float(int(step * 0.3)))  # ~3.3 steps per logged second
    assert p.steps_per_sec == pytest.approx(1 / 0.3, rel=0.15)


def test_finished_run_has_zero_eta_and_full_percent() -> None:
    ev = timeline(11, 1.0)
    est = feed(ev, 10).estimate(last_t(ev) + 100)
    assert (est.eta_s, est.percent) == (0.0, 100.0)


def test_step_records_going_backwards_are_ignored() -> None:
    p = ProgressTracker()
    for step, t in [(10, T0), (11, T0 + 1), (9, T0 + 2), (12, T0 + 3)]:
        p.update(step, 100, t)
    assert p.step == 12


def test_elapsed_prefers_the_logged_value() -> None:
    p = ProgressTracker()
    p.update(1, 10, T0, elapsed=3600.0)
    assert p.estimate(T0 + 5).elapsed_s == 3605.0
    q = feed(timeline(10, 1.0), 100)
    assert q.estimate(T0 + 20).elapsed_s == 20.0
    r = ProgressTracker()
    r.update(1, 10, T0)
    assert r.estimate(T0 + 5).elapsed_s is None  # no interval seen yet: the read time means nothing


def test_step_intervals_skip_warmup_and_extend_batches() -> None:
    iv = StepIntervals(window=8, warmup=1)
    assert iv.median() is None
    assert iv.add(0, 0.0) is False
    assert iv.add(1, 100.0) is True  # warm-up interval
    assert iv.median() == 100.0  # only warm-up known: better than nothing
    assert iv.add(2, 101.0) is True and iv.previous is None  # it closed the warm-up interval
    assert iv.add(3, 101.0) is False  # same read: extends (1 s, 2 steps)
    assert iv.median() == 0.5
    assert iv.add(4, 102.0) is True and iv.previous == (1.0, 2)


# -- update_steps: the step records of one read in one call ---------------------------------

def progress_state(p: ProgressTracker, now: float) -> str:
    """What the tracker shows now and what it keeps for later (intervals, strides, warm-up), as text."""
    kept = {k: list(v) if hasattr(v, "maxlen") else v for k, v in vars(p).items() if k != "_wall"}
    wall = {k: getattr(p._wall, k) for k in p._wall.__slots__}
    wall["_per_step"] = list(wall["_per_step"])
    return repr((p.estimate(now), p.steps_per_sec, p.record_interval_s, p.pause_s_per_step, kept, wall))


@pytest.mark.parametrize("seed", range(6))
def test_update_steps_leaves_what_update_of_each_leaves(seed: int) -> None:
    """Reads of many step records each (some back, some repeated, some without a step time or a total),
    now and then at one time with the read before, between evals and pauses."""
    import numpy as np

    rng = np.random.default_rng(seed)
    bulk, one_by_one = ProgressTracker(), ProgressTracker()
    step, t = int(rng.integers(0, 5)), T0
    for _ in range(120):
        n = int(rng.integers(1, 200))
        steps = step + np.cumsum(rng.choice([-3, 0, 1, 1, 1, 2, 10], n))
        step = int(steps.max())
        step_time = np.where(rng.random(n) < 0.2, np.nan, rng.uniform(0.4, 0.6, n))
        total = int(rng.integers(10_000, 10_003)) if rng.random() < 0.7 else None
        tokens = float(rng.integers(1000)) if rng.random() < 0.5 else None
        elapsed = float(rng.uniform(0, 1e4)) if rng.random() < 0.5 else None
        eta = float(rng.uniform(0, 1e4)) if rng.random() < 0.3 else None
        t += 0.0 if rng.random() < 0.2 else float(rng.exponential(30.0))  # some reads share a time
        if rng.random() < 0.15:
            for p in (bulk, one_by_one):
                p.update(int(steps[0]), total, t, is_eval=True)
        if rng.random() < 0.1:
            for p in (bulk, one_by_one):
                p.mark_pause()
        bulk.update_steps(steps, t, total=total, step_time=step_time, tokens_per_sec=tokens, elapsed=elapsed,
                          log_eta=eta)
        for i, s in enumerate(steps.tolist()):
            last = i == n - 1  # the keyword values stand for the last record that states one
            one_by_one.update(s, total if last else None, t, step_time=None if np.isnan(step_time[i]) else
                              float(step_time[i]), tokens_per_sec=tokens if last else None,
                              elapsed=elapsed if last else None, log_eta=eta if last else None)
        assert progress_state(bulk, t + 1) == progress_state(one_by_one, t + 1)
    assert bulk.step == step and bulk.steps_per_sec is not None


def test_a_history_read_in_bulk_times_no_interval_then_live_records_do() -> None:
    """Read times of a history say nothing of the run's speed: 2M steps read in 3 s are not 0.7M steps/s
    (review finding). The logged step time stands in; live records then give the wall rate."""
    p = ProgressTracker()
    p.bulk = True
    for chunk in range(20):  # 20 pieces of 1000 steps, 10 ms of reading apart, logging 0.65 s a step
        base = chunk * 1000
        p.update_steps(np.arange(base, base + 1000), 1000.0 + chunk * 0.01, total=100_000,
                       step_time=np.full(1000, 0.65))
    est = p.estimate(1000.3)
    assert est.steps_per_sec is not None and abs(est.steps_per_sec - 1 / 0.65) < 1e-9
    assert est.eta_basis == "step_time"
    p.bulk = False
    for i in range(10):  # live: a step every 2 s
        p.update(20_000 + i, 100_000, 2000.0 + 2.0 * i)
    est = p.estimate(2020.0)
    assert est.eta_basis == "wall" and est.steps_per_sec is not None and abs(est.steps_per_sec - 0.5) < 1e-9


def test_a_lasting_slowdown_takes_over_the_rate_within_a_few_records() -> None:
    """The run lab's tutorial-slow: 0.015 s a step, then 0.12 s from step 300 on, a record every 10 steps.
    The window's median held 66.6 step/s for half a window (32 records, 320 steps) after the slowdown (a new
    user's review: `ETA 4.9s` with 17 s to go); eight slow records in a row are the new pace."""
    fast = timeline(301, 0.015, stride=10)  # steps 0..300, 31 records
    slow_t = fast[-1][1]
    slow = [(300 + 10 * k, slow_t + 1.2 * k, False) for k in range(1, 10)]
    p = feed(fast + slow, 600)
    est = p.estimate(slow[-1][1])
    assert est.steps_per_sec == pytest.approx(1 / 0.12, rel=0.01)
    assert est.eta_s == pytest.approx((600 - 390) * 0.12, rel=0.2)  # the slow records seen before it was a pace count as pauses
    few = feed(fast + slow[:5], 600).estimate(slow[4][1])
    assert few.steps_per_sec == pytest.approx(1 / 0.015, rel=0.01)  # five slow records: not yet a new pace
    back = feed(fast + slow + [(390 + 10 * k, slow[-1][1] + 0.15 * k, False) for k in range(1, 10)], 600)
    assert back.estimate(0).steps_per_sec == pytest.approx(1 / 0.015, rel=0.01)  # and back again


def test_one_eval_pause_or_a_few_slow_steps_do_not_move_the_rate() -> None:
    ev = timeline(400, 0.5, eval_every=100, eval_s=60.0, announce_eval=False)
    est = feed(ev, 10_000).estimate(last_t(ev))
    assert est.steps_per_sec == pytest.approx(2.0, rel=0.01)


@pytest.mark.parametrize(("run", "elapsed"), [("lightning-tqdm-healthy", None), ("hf-healthy", 6.0)])
def test_an_elapsed_time_stated_before_steps_read_with_it_is_not_the_runs(run: str, elapsed: float | None) -> None:
    """Lightning's `Training: 0/? [00:00<?]` bar states 0 s before the epoch bars (which state only their
    own epoch's clock); a history read at once showed `elapsed 0s` for the whole run. HF Trainer's bar
    states its elapsed time on every frame, the last one the run's."""
    from runwatch.commands.parse import records_of
    from runwatch.state.run import RunTracker
    from tests.support.realruns import REALRUNS

    tracker = RunTracker("train", "train.log")
    for rec in records_of(REALRUNS / run / "run/train.log", None, None, read_time=False):
        tracker.apply(rec, 1000.0)
    assert tracker.snapshot(1000.0).progress.elapsed_s == elapsed


def test_an_elapsed_time_stated_then_followed_live_is_carried_forward() -> None:
    p = ProgressTracker()
    p.update(0, None, 1000.0, elapsed=0.0)
    p.update(1, None, 1004.0)
    p.update(2, None, 1008.0)
    assert p.estimate(1010.0).elapsed_s == 10.0


def test_a_total_the_step_went_well_past_is_dropped() -> None:
    """One epoch's length stated by its first epoch's lines (`200/ 2983 batches`) is no total of the run once
    its global step passes it: `check` said `step 14732/2983`. A step or two past a total keeps it (0- and
    1-based counts)."""
    p = ProgressTracker()
    p.update(2800, 2983, 1.0)
    p.update(2984, None, 2.0)
    assert p.estimate(2.0).total_steps == 2983
    p.update(2983 + 200, None, 3.0)
    got = p.estimate(3.0)
    assert (got.step, got.total_steps, got.percent) == (3183, None, None)
