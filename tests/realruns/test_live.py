"""The recorded runs followed live: the log replayed into a growing file at its recorded pace (time
compressed), a real `Engine` with real rules following it. Each planted fault must fire live as it
fires in `check`, and nothing beyond it may fire (on a healthy run: nothing at all); a run `check`
calls finished or crashed ends so live too (the rich bar's last frame, drawn after Lightning's stopped
line, once left it running). Hangs are left
to the scorecard, which keeps their real length (`benchmarks/detection_scorecard.py`): compressing a
hang removes it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from runwatch import judging
from runwatch.alerting import Alerting
from runwatch.alerts.types import Notification
from runwatch.commands.check import check_run
from runwatch.config import load_config
from runwatch.engine import Engine, EngineOptions
from runwatch.model import AlertState, RunState
from runwatch.plan import plan_runs
from runwatch.state.ending import BARE_SETTLE_S
from runwatch.watcher import inotify, polling
from tests.support.known_misses import KNOWN_MISSES
from tests.support.news import notifications
from tests.support.realruns import Recording, recordings, replay
from tests.support.waiting import wait_for

SPEED = 20.0
"""Recorded gaps are divided by this at most."""
MIN_STEP_S = 0.002
"""A replayed step is not made shorter than this: the drift rule measures steps by when their lines
are read, and a step of the lab's fastest runs (2-5 ms) divided by 20 lasts less than the thread switch
interval (5 ms), so a loaded suite read a healthy lightning-tqdm step as 3.6x the one before."""
MAX_GAP_S = 0.25


def speed_for(rec: Recording) -> float:
    """How much this recording's gaps are divided by: SPEED, less for a run whose median step (from the
    loop's own log) would come out shorter than MIN_STEP_S."""
    t = np.array([s["t"] for s in rec.truth_steps() if "t" in s], dtype=float)
    gaps = np.diff(np.sort(t))
    gaps = gaps[gaps > 0]
    step = float(np.median(gaps)) if gaps.size else 1.0
    return float(min(SPEED, max(1.0, step / MIN_STEP_S)))


def compressed(speed: float) -> tuple[str, ...]:
    """Time thresholds shrink with the replay: a planted slowdown that adds 38 ms a step adds 2 ms when
    the gaps are divided by 20, so the drift rule's 10 ms floor is divided by 20 too. And the factor is
    4: the writer shares this process (and its GIL) with the engine, so steps of 1.5 ms are measured
    with a millisecond of jitter, which a healthy lightning-tqdm run once read as 1.7x under a loaded
    suite, and gpu-nanogpt-devassert's 1.8 ms steps as 3.6x in a CI run; the lab's slowdowns are 8x and
    20x and are still caught at 5x. The scorecard judges healthy runs at their real pace with the defaults."""
    return (f"step_time_drift.min_increase={0.01 / speed}s", "step_time_drift.factor=4",
            "step_time_drift.short_factor=4")


def shrink_waits(monkeypatch: pytest.MonkeyPatch, speed: float) -> None:
    """The engine's own waits shrink with the replay too: the follower's and the inotify reader's wait
    for writes to gather (a planted slowdown of 60 steps lasts 5 s in real time, 50 looks at 100 ms,
    but 0.25 s compressed 20 times: too few looks for the drift rule), and the pace of evaluating every
    rule while lines stream (at 0.5 s, a slowdown that lasts a second compressed is judged twice)."""
    monkeypatch.setattr(polling, "GATHER_S", polling.GATHER_S / speed)
    monkeypatch.setattr(inotify, "GATHER_S", inotify.GATHER_S / speed)
    monkeypatch.setattr(judging, "BUSY_TICK_S", judging.BUSY_TICK_S / speed)


NOT_REPLAYED = {"stall", "process_exit"}
"""Findings a compressed replay of the log cannot show: a hang needs its real length, a process exit
a real process (the scorecard and the rule tests cover both)."""


def _cases() -> list[object]:
    out: list[object] = []
    for rec in recordings():
        live = [e for e in rec.expect if e["rule"] not in NOT_REPLAYED]
        if rec.expect and not live:
            continue
        key = "healthy" if rec.healthy else "live"
        reasons = [KNOWN_MISSES.get((rec.name, k)) for k in [key, *(e["rule"] for e in live)]]
        miss = next((r for r in reasons if r), None)
        marks = [pytest.mark.xfail(reason=miss, strict=True)] if miss else []
        out.append(pytest.param(rec, marks=marks, id=rec.name))
    return out


def _fired_by(engine: Engine, wanted: set[str], deadline: float) -> list[Notification]:
    """The firing notifications so far, once every `wanted` rule is among them or at `deadline`: a
    traceback that ends the output counts after `BARE_SETTLE_S` (10 s of nothing more), not at once."""
    while True:
        fired = [n for n in notifications(engine.subscribe()) if n.state == AlertState.FIRING]
        if wanted <= {n.alert.rule for n in fired} or time.monotonic() >= deadline:
            return fired
        time.sleep(0.2)


class Pacing:
    """When the replay wrote each chunk of the log, beside when it meant to: whether the writer kept the
    recorded pace. The drift rule measures steps by when their lines arrive, so a writer starved by a
    loaded machine (CI's two cores, the writer sharing this process's GIL with the engine) is a run that
    really slowed down, as far as the file shows: nanoGPT's healthy run, written every 10 ms, once arrived
    at 34 ms a line for 24 lines, and the rule rightly said so."""

    WINDOW = 10
    """Consecutive gaps between writes whose median is compared (the drift rule's fewest recent points)."""
    LAG = 2.0
    """A window whose median gap came out this many times the planned one is a slowdown of the writer:
    seen on every healthy recording under three threads spinning in this process, never on an idle one."""
    SLACK_S = 0.002
    """Jitter that is no lag: 5 ms made the excuse need 3.9x the planned gap of nanoGPT's OOM run (2.7 ms
    steps), as high as the rule's factor of 4 here, and a CI run under load read its writer's slowdown as a
    drift of 4.2x (0.01126 s against 0.002677 s) that no lag excused."""

    def __init__(self, rec: Recording, speed: float) -> None:
        planned: dict[str, list[float]] = {}
        at, prev = 0.0, 0.0
        for t, rel, _ in rec.timeline():
            at += min(MAX_GAP_S, (t - prev) / speed)
            prev = t
            planned.setdefault(rel, []).append(at)
        self.planned = {rel: np.array(times) for rel, times in planned.items()}
        self.actual: dict[str, list[float]] = {rel: [] for rel in planned}

    def wrote(self, rel: str, size: int) -> None:
        """`replay`'s hook: the time of each write to each file (the log, and a TensorBoard file whose steps the
        rule measures as well: nanoGPT's OOM run, its steps in both, once drifted under load with the log on
        pace)."""
        self.actual.setdefault(rel, []).append(time.monotonic())

    def lagged(self) -> bool:
        """Whether, for any file, the median gap between its writes, over some `WINDOW` consecutive gaps, came
        out `LAG` times the planned median and `SLACK_S` more: the rule's measure (a median of step times), so
        one write held up by a scan or a big chunk excuses nothing."""
        return any(self._lagged(self.planned[rel], actual) for rel, actual in self.actual.items() if rel in self.planned)

    def _lagged(self, planned: np.ndarray, wrote: list[float]) -> bool:
        actual = np.diff(np.array(wrote))
        n = min(len(actual), len(planned) - 1)
        if n < self.WINDOW:
            return False
        window = np.lib.stride_tricks.sliding_window_view
        took = np.median(window(actual[:n], self.WINDOW), axis=1)
        meant = np.median(window(np.diff(planned)[:n], self.WINDOW), axis=1)
        return bool(np.any(took >= self.LAG * meant + self.SLACK_S))


def _checked_state(rec: Recording) -> RunState:
    """How `runwatch check` on the recording's folder says the run ended (one run in it)."""
    [run] = plan_runs([str(rec.run_dir)])
    result = check_run(run, load_config(None), None, None)
    return result.tracker.state(result.end)


@pytest.mark.parametrize("rec", _cases())
def test_followed_live_the_fault_fires_and_nothing_else(
    rec: Recording, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    speed = speed_for(rec)
    shrink_waits(monkeypatch, speed)
    log = tmp_path / rec.log.relative_to(rec.run_dir)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.touch()
    config = load_config(None, overrides=compressed(speed))
    engine = Engine([str(tmp_path)], EngineOptions(poll_interval=0.1, system=False),
                    alerting=lambda: Alerting(config, persist=False))
    stop = threading.Event()
    pacing = Pacing(rec, speed)
    writer = threading.Thread(
        target=replay, args=(rec, tmp_path, lambda gap: stop.wait(min(MAX_GAP_S, gap / speed)), pacing.wrote),
        daemon=True)
    engine.start()
    try:
        writer.start()
        writer.join(timeout=120)
        size = rec.log.stat().st_size
        wait_for(lambda: engine.snapshots() and log.stat().st_size == size, timeout=10)
        time.sleep(1.5)  # rules run on the engine's tick after the last records
        wanted = {e["rule"] for e in rec.expect}
        fired = _fired_by(engine, wanted - NOT_REPLAYED, time.monotonic() + BARE_SETTLE_S + 5.0)
        rules = sorted({n.alert.rule for n in fired})
        excused = {"step_time_drift"} if pacing.lagged() else set()  # the writer slowed: the file did
        extra = [n.alert.summary for n in fired if n.alert.rule not in wanted | excused]
        assert extra == [], f"fired beyond the planted fault: {extra}"
        for exp in rec.expect:
            if exp["rule"] in NOT_REPLAYED:
                continue
            assert exp["rule"] in rules, f"{exp['rule']} did not fire live; fired: {rules}"
        once = _checked_state(rec)
        if once in (RunState.FINISHED, RunState.CRASHED):  # what `check` says of how it ended, live says too
            assert {s.state for s in engine.snapshots()} == {once}
    finally:
        stop.set()
        engine.stop()
