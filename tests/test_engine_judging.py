"""The engine judges a log's history as it reads it in, not only its last records.

A watchdog started after a NaN (or restarted while down) must still say so:
the history is applied in pieces far faster than the rules tick, and the
rules look back only so far, so the engine judges each piece with the rules
that read records in sequence, widened to the records since they last looked.
Real corpus text (the 16,704-step nanochat run) with faults planted in it;
real files, real threads, a real Alerting.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from runwatch.alerting import Alerting
from runwatch.alerts.types import Notification
from runwatch.config import load_config
from runwatch.engine import Engine, EngineOptions
from runwatch.model import AlertBrief, AlertState, Record
from runwatch.state.run import RunTracker
from tests.support.nanochat import step_lines, with_nan_at, with_spike_at
from tests.support.news import notifications
from tests.support.snapshots import alerts_of
from tests.support.waiting import wait_for

OPTIONS = EngineOptions(poll_interval=0.1, system=False)


def run_engine(path: Path, options: EngineOptions = OPTIONS) -> Engine:
    config = load_config(None)
    engine = Engine([str(path)], options, alerting=lambda: Alerting(config, persist=False))
    engine.start()
    return engine


def engine_on(tmp_path: Path, lines: list[str]) -> Engine:
    """An engine with the default rules, started on a log of `lines` already written."""
    log = tmp_path / "train.log"
    log.write_text("\n".join(lines) + "\n")
    return run_engine(log)


def alert_of(engine: Engine, rule: str) -> AlertBrief | None:
    """The first alert of `rule` any run of the engine shows, or None."""
    return next((a for s in engine.snapshots() for a in s.alerts if a.rule == rule), None)


def history_read(engine: Engine, steps: int) -> bool:
    snaps = engine.snapshots()
    return bool(snaps) and snaps[0].progress.step == steps - 1 and not snaps[0].notes


def two_nans_log(tmp_path: Path, upto: int) -> tuple[Path, list[str]]:
    """The real run's log with NaNs at steps 8000 and 12500, written up to line `upto`; and all its lines."""
    lines = with_nan_at(with_nan_at(step_lines(), 8000), 12500)
    log = tmp_path / "train.log"
    log.write_text("\n".join(lines[:upto]) + "\n")
    return log, lines


def test_a_nan_in_the_middle_of_the_history_fires(tmp_path: Path) -> None:
    lines = with_nan_at(step_lines(), 8000)
    log = tmp_path / "train.log"
    log.write_text("\n".join(lines) + "\n")
    engine = run_engine(log)
    try:
        alert = wait_for(lambda: alert_of(engine, "nonfinite"), timeout=30)
        assert alert.step == 8000
        assert alert.state == AlertState.FIRING
        sent = notifications(engine.subscribe())
        assert [n.alert.rule for n in sent if n.state == AlertState.FIRING] == ["nonfinite"]
    finally:
        engine.stop()


def test_a_judged_history_goes_in_as_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The history is judged every `Judge.most_records` records, and a raw block holds more: its pieces keep their
    step rows as columns (`ChunkRecords.pieces`), taken in bulk as `check` takes them, not one record at a
    time (2-4× slower); the NaN in the middle still fires at its step."""
    applied: list[Record] = []
    one = RunTracker.apply
    monkeypatch.setattr(RunTracker, "apply", lambda self, rec, now: (applied.append(rec), one(self, rec, now)))
    lines = with_nan_at(step_lines(), 8000)
    engine = engine_on(tmp_path, lines)
    try:
        wait_for(lambda: history_read(engine, len(lines)), timeout=30)
        assert alert_of(engine, "nonfinite").step == 8000  # type: ignore[union-attr]
        assert len(applied) < len(lines) // 20
    finally:
        engine.stop()


def burst_engine(tmp_path: Path, nan_at: int) -> Engine:
    """An engine on the real run's first ten step lines, once it has read them, with the next 5,000 (a NaN at
    `nan_at`) appended at once: a catch-up after a pause, a trainer that flushes thousands of lines."""
    lines = with_nan_at(step_lines(), nan_at)[:5010]
    log = tmp_path / "train.log"
    log.write_text("\n".join(lines[:10]) + "\n")
    engine = run_engine(log)
    try:
        wait_for(lambda: engine.snapshots()[0].progress.step == 9)
    except BaseException:
        engine.stop()
        raise
    with log.open("a") as f:
        f.write("\n".join(lines[10:]) + "\n")
    return engine


def test_a_live_burst_is_read_whole_and_judged(tmp_path: Path) -> None:
    """5,000 of the real run's step lines appended at once after its first ten go to the parser's fast path
    as a raw block (runwatch.watcher.tail.BURST_BYTES): every record is in, and the NaN among them fires
    at its step."""
    engine = burst_engine(tmp_path, 4000)
    try:
        alert = wait_for(lambda: alert_of(engine, "nonfinite"), timeout=30)
        assert alert.step == 4000 and alert.state == AlertState.FIRING
        snap = wait_for(lambda: next((s for s in engine.snapshots() if s.records == 5010), None))
        assert snap.progress.step == 5009
    finally:
        engine.stop()


def test_a_nan_among_the_first_of_a_live_burst_fires_and_stays_firing(tmp_path: Path) -> None:
    """A new user's review: a NaN among the first of 5,000 lines flushed at once. The tick after the burst
    looked back over the rules' most points only (the newest), so the NaN was never seen live, where
    `check` saw it. A burst larger than that is judged in pieces, as a history is, and its alert is a
    live one: it stays firing (a history's resolves once the history is read)."""
    engine = burst_engine(tmp_path, 210)
    try:
        alert = wait_for(lambda: alert_of(engine, "nonfinite"), timeout=30)
        assert alert.step == 210 and alert.state == AlertState.FIRING
        wait_for(lambda: engine.snapshots()[0].progress.step == 5009)
        time.sleep(1.5)  # live ticks after it
        assert alert_of(engine, "nonfinite").state == AlertState.FIRING  # type: ignore[union-attr]
    finally:
        engine.stop()


def test_a_nan_the_history_shows_cleared_is_resolved_once_read_as_check_says(tmp_path: Path) -> None:
    """A NaN 8,700 steps before the end of a log read at start-up: it fires while the history is read
    and resolves once it is read, one notification each, as `runwatch check` calls it resolved. Before,
    it stayed firing for resolve_after of wall time (10 minutes) after the history was read in seconds."""
    from runwatch.commands.check import check_run, summarize
    from runwatch.plan import plan_runs

    lines = with_nan_at(step_lines(), 8000)
    log = tmp_path / "train.log"
    log.write_text("\n".join(lines) + "\n")
    [run] = plan_runs([str(log)])
    [once] = [f for f in summarize(check_run(run, load_config(None), None, None)) if f.rule == "nonfinite"]
    assert not once.firing_at_end
    engine = run_engine(log)
    try:
        wait_for(lambda: history_read(engine, len(lines)), timeout=30)
        wait_for(lambda: next((a.state for s in engine.snapshots() for a in s.alerts if a.rule == "nonfinite"),
                              None) == AlertState.RESOLVED, timeout=10)
        sent = [(n.alert.rule, n.state) for n in notifications(engine.subscribe())]
        assert sent == [("nonfinite", AlertState.FIRING), ("nonfinite", AlertState.RESOLVED)]
    finally:
        engine.stop()


def test_a_spike_early_in_a_history_fires_and_resolves_as_check_says(tmp_path: Path) -> None:
    """A review: a stepless loop's per-batch losses, four batches at 0.14-0.28 (records 228-231) among 0.01s, then
    7,700 records with blips no higher than the loss often went. `check` (judging every 32 records at first) warned
    `loss_spike … resolved`; `tail` judged the history in pieces of 3,993 records, where the newest such blip hid
    the spike, and said nothing. Judged on `check`'s schedule (`judge_every`), the engine sends what `check` says."""
    import gzip

    from runwatch.commands.check import check_run, summarize
    from runwatch.plan import plan_runs
    from tests.support.paths import FIXTURES

    log = tmp_path / "train.out"
    log.write_bytes(gzip.decompress((FIXTURES / "found" / "clip_lora_stepless_batches.log.gz").read_bytes()))
    [run] = plan_runs([str(log)])
    [once] = [f for f in summarize(check_run(run, load_config(None), None, None)) if f.rule == "loss_spike"]
    assert (once.first_step, once.firing_at_end) == (228, False)
    engine = run_engine(log)
    try:
        wait_for(lambda: next((a.state for s in engine.snapshots() for a in s.alerts if a.rule == "loss_spike"),
                              None) == AlertState.RESOLVED, timeout=30)
        sent = [(n.alert.rule, n.state, n.alert.first_step) for n in notifications(engine.subscribe())]
        assert sent == [("loss_spike", AlertState.FIRING, 228), ("loss_spike", AlertState.RESOLVED, 228)]
    finally:
        engine.stop()


@pytest.mark.parametrize("at", [0, 3, 40])
def test_a_spike_at_the_start_of_a_judged_piece_fires_as_check_says(tmp_path: Path, at: int) -> None:
    """The history is judged every `Judge.most_records` records (3,993 with the default rules): a spike among
    the first records of a piece is judged on the baseline the piece before holds, and `tail` reports it
    at the steps `runwatch check` (judged at its own cadence) does, and nothing else."""
    from runwatch.alerts.judge import Judge

    piece = Judge(load_config(None).rules()).most_records(history=True)
    lines = step_lines()
    first = int(lines[0].split()[1].split("/")[0])  # the log's first step line's step
    lines = with_spike_at(lines, first + 2 * piece + at)  # the third piece, `at` records in (no other lines)
    log = tmp_path / "train.log"
    log.write_text("\n".join(lines) + "\n")
    _spike_fires_as_check_says(log, len(lines), first + 2 * piece + at)


def _spike_fires_as_check_says(log: Path, lines: int, spike: int) -> None:
    """`runwatch check` of `log` fires loss_spike (only) at `spike` or after, and `tail` reports the same."""
    from runwatch.commands.check import check_run
    from runwatch.plan import plan_runs

    [run] = plan_runs([str(log)])
    fired = {n.alert.rule: n.alert.step for n in check_run(run, load_config(None), None, None).notifications
             if n.state == AlertState.FIRING}
    assert fired.keys() == {"loss_spike"} and (fired["loss_spike"] or 0) >= spike
    engine = run_engine(log)
    try:
        wait_for(lambda: history_read(engine, lines), timeout=30)
        assert {a.rule: a.step for snap in engine.snapshots() for a in snap.alerts} == fired
    finally:
        engine.stop()


def _check_pieces(log: Path) -> list[int]:
    """The records `runwatch check` had applied at each evaluation of every rule (where its pieces end)."""
    from runwatch.alerts.judge import Judge
    from runwatch.commands.check import check_run
    from runwatch.plan import plan_runs

    at: list[int] = []
    judge = Judge.judge

    def noted(self: Judge, run: RunTracker, *args: Any, **kw: Any) -> Any:
        if not kw.get("present"):
            at.append(run.records)
        return judge(self, run, *args, **kw)

    [run] = plan_runs([str(log)])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Judge, "judge", noted)
        check_run(run, load_config(None), None, None)
    return at


@pytest.mark.parametrize("at", [-2, -1, 0])
def test_a_spike_across_the_end_of_a_piece_check_judges_fires_as_tail_says(tmp_path: Path, at: int) -> None:
    """`runwatch check` judges a long log every few thousand records, its rows taken in bulk between two
    evaluations: a spike whose first records are the last of one piece (the rules see too few of them to
    speak) and the rest the first of the next is found at the next evaluation, at the steps `tail` (judging
    its history in pieces of its own) reports, and nothing else."""
    lines = step_lines()
    log = tmp_path / "train.log"
    log.write_text("\n".join(lines) + "\n")
    ends = _check_pieces(log)
    end = min(ends, key=lambda n: abs(n - 9000))  # a piece's end in the middle of the run
    assert end - max(n for n in ends if n < end) > 500  # a 16th of the run so far: its rows in bulk
    first = int(lines[0].split()[1].split("/")[0])  # the log's first step line's step
    lines = with_spike_at(lines, first + end + at)  # record i is step line i: its first records in the piece ending at `end`
    log.write_text("\n".join(lines) + "\n")
    assert _check_pieces(log) == ends  # the same pieces: the clock goes by the step times, not the loss
    _spike_fires_as_check_says(log, len(lines), first + end + at)


def test_a_nan_at_the_end_of_the_history_stays_firing(tmp_path: Path) -> None:
    lines = with_nan_at(step_lines(), 16703)
    engine = engine_on(tmp_path, lines)
    try:
        wait_for(lambda: history_read(engine, len(lines)), timeout=30)
        engine.wait(1.5)  # live ticks after the history: the rule still finds it
        assert [a.state for s in engine.snapshots() for a in s.alerts if a.rule == "nonfinite"] == [AlertState.FIRING]
    finally:
        engine.stop()


def test_a_spike_in_the_middle_of_the_history_fires(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.write_text("\n".join(with_spike_at(step_lines(), 9000)) + "\n")
    engine = run_engine(log)
    try:
        wait_for(lambda: "loss_spike" in alerts_of(engine.snapshots()), timeout=30)
        spike = next(a for s in engine.snapshots() for a in s.alerts if a.rule == "loss_spike")
        assert 9000 <= (spike.step or 0) < 9012
    finally:
        engine.stop()


def test_the_healthy_history_raises_nothing(tmp_path: Path) -> None:
    lines = step_lines()
    log = tmp_path / "train.log"
    log.write_text("\n".join(lines) + "\n")
    engine = run_engine(log)
    try:
        wait_for(lambda: history_read(engine, len(lines)), timeout=30)
        engine.wait(0.5)
        assert alerts_of(engine.snapshots()) == {}
        assert notifications(engine.subscribe()) == []
    finally:
        engine.stop()


def test_history_a_previous_daemon_judged_is_not_judged_again(tmp_path: Path) -> None:
    """`seen_bytes` (from the read offsets a `runwatch watch` saved): the NaN before it was sent by the
    daemon that read it; read again, it is not sent again. A NaN the run wrote after it is."""
    log, lines = two_nans_log(tmp_path, 12000)
    seen = {str(log.resolve()): log.stat().st_size}
    with log.open("a") as f:  # the run went on while the daemon was down
        f.write("\n".join(lines[12000:13000]) + "\n")
    engine = run_engine(log, EngineOptions(poll_interval=0.1, system=False, seen_bytes=seen))
    try:
        wait_for(lambda: history_read(engine, 13000), timeout=30)
        engine.wait(0.5)
        sent = [n.alert.step for n in notifications(engine.subscribe())
                if n.alert.rule == "nonfinite" and n.state == AlertState.FIRING]
        assert sent == [12500]
    finally:
        engine.stop()


def test_without_seen_bytes_both_nans_of_that_history_are_judged(tmp_path: Path) -> None:
    """The control for the test above: the same file, judged whole, finds the first NaN."""
    log, lines = two_nans_log(tmp_path, 13000)
    engine = run_engine(log)
    try:
        wait_for(lambda: history_read(engine, 13000), timeout=30)
        engine.wait(0.5)
        sent = [n.alert.step for n in notifications(engine.subscribe())
                if n.alert.rule == "nonfinite" and n.state == AlertState.FIRING]
        assert sent and sent[0] == 8000
    finally:
        engine.stop()


def test_the_last_records_of_a_pipe_are_judged_before_the_run_ends() -> None:
    """`python train.py | runwatch tail -`: a NaN in the last lines before the pipe closes must be
    judged before front ends see the run end (they stop then), not left to a tick that never comes."""
    import os

    lines = with_nan_at(step_lines()[:400], 399)
    config = load_config(None)
    r, w = os.pipe()
    with os.fdopen(r, "rb", buffering=0) as reader, \
            Engine(["-"], OPTIONS, stdin=reader, alerting=lambda: Alerting(config, persist=False)) as engine:
        os.write(w, ("\n".join(lines) + "\n").encode())
        os.close(w)
        wait_for(lambda: engine.all_ended, timeout=10)
        fired = [a.rule for s in engine.snapshots() for a in s.alerts if a.state == AlertState.FIRING]
    assert "nonfinite" in fired


def test_short_lines_many_records_to_a_piece_are_all_judged(tmp_path: Path) -> None:
    """~21-byte `key=value` lines put ~6,000 records in a 128 KiB piece, more than a series keeps raw:
    the piece is judged in slices, so a NaN early in it is not folded away unseen (review finding)."""
    log = tmp_path / "train.log"
    lines = [f"step={i} loss={2.0 + 0.01 * (i % 7):.4f}" for i in range(30_000)]
    lines[11_902] = "step=11902 loss=nan"
    log.write_text("\n".join(lines) + "\n")
    engine = run_engine(log)
    try:
        alert = wait_for(lambda: alert_of(engine, "nonfinite"), timeout=30)
        assert alert.step == 11902
    finally:
        engine.stop()


def test_a_metrics_csv_read_whole_is_judged_in_slices(tmp_path: Path) -> None:
    """A structured source hands its history over in one batch (here 6,000 Lightning CSV rows)."""
    d = tmp_path / "lightning_logs" / "version_0"
    d.mkdir(parents=True)
    rows = ["step,epoch,train_loss"] + [f"{i},0,{'nan' if i == 50 else 2.0 + 0.01 * (i % 5)}" for i in range(6000)]
    (d / "metrics.csv").write_text("\n".join(rows) + "\n")
    engine = run_engine(d / "metrics.csv")
    try:
        alert = wait_for(lambda: alert_of(engine, "nonfinite"), timeout=30)
        assert alert.step == 50
    finally:
        engine.stop()


def test_saved_positions_never_run_ahead_of_what_was_judged(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A follower reads history up to 32 MiB ahead of the worker: the position a daemon saves (and a
    restarted one skips judging up to) is what the worker judged, so a kill -9 mid-history loses nothing."""
    from runwatch.judging import Judging
    from runwatch.watcher.tail import FileFollower

    slow = Judging.history_tick

    def slow_tick(self: Judging, run: object, now: float) -> None:
        time.sleep(0.05)  # the worker behind the follower, as on a loaded machine
        slow(self, run, now)  # type: ignore[arg-type]

    monkeypatch.setattr(Judging, "history_tick", slow_tick)
    log = tmp_path / "train.log"
    log.write_text("\n".join(step_lines() * 2) + "\n")  # ~5 MB
    engine = run_engine(log)
    try:
        [follower] = [t for t in engine._sources.threads if isinstance(t, FileFollower)]
        wait_for(lambda: (p := follower.position()) is not None and p.offset > 2_000_000, timeout=30)
        wait_for(lambda: str(log) in engine.positions(), timeout=30)  # the slowed worker judged a first piece
        saved = engine.positions()[str(log)].offset
        read = follower.position()
        assert read is not None and saved < read.offset  # behind the reader …
        assert saved <= log.stat().st_size // 2  # … and near what the slowed worker got through
    finally:
        engine.stop()


@pytest.mark.parametrize(("nan_step", "fires"), [(100, False), (300, True)], ids=["before", "after"])
def test_restart_judges_only_the_bytes_after_the_saved_offset(tmp_path: Path, nan_step: int, fires: bool) -> None:
    """Issue 11, finding 3: the 128 KiB history piece holding the saved offset was judged again whole, so a
    NaN a previous daemon had judged (and whose alert had resolved) fired again. The follower now ends a
    read at the saved offset: what lies before it is read, not judged; all that follows is judged."""
    from dataclasses import replace

    lines = with_nan_at(step_lines()[:400], nan_step)
    log = tmp_path / "train.log"
    log.write_text("\n".join(lines) + "\n")
    seen = len(("\n".join(lines[:200]) + "\n").encode())  # a previous daemon judged steps 0..199
    engine = run_engine(log, replace(OPTIONS, seen_bytes={str(log.resolve()): seen}))
    try:
        size = log.stat().st_size
        wait_for(lambda: (p := engine.positions().get(str(log))) is not None and p.offset == size)
        snaps = engine.snapshots()
    finally:
        engine.stop()
    assert snaps[0].progress.step == 399
    assert ("nonfinite" in alerts_of(snaps)) is fires


def test_an_attempt_that_ends_in_the_history_is_judged_before_the_run_starts_again(tmp_path: Path) -> None:
    """The run lab's tutorial run written three times into one log, the middle attempt going NaN: the rules
    judge that attempt before the third one resets the run's state (a review: `check` said OK on it)."""
    from tests.support.realruns import recordings

    by_name = {r.name: r for r in recordings()}
    ok, bad = ((by_name[f"tutorial-{fault}"].run_dir / "train.log").read_bytes() for fault in ("healthy", "nan"))
    log = tmp_path / "train.log"
    log.write_bytes(ok + bad + ok)
    engine = run_engine(log)
    try:
        wait_for(lambda: engine.snapshots() and engine.snapshots()[0].progress.step == 600
                 and any(e.event == "restarted" and "attempt 3" in (e.message or "")
                         for e in engine.snapshots()[0].events), timeout=30)
        sent = wait_for(lambda: [n for n in notifications(engine.subscribe()) if n.alert.rule == "nonfinite"]
                        or None, timeout=10)
        assert sent[0].state == AlertState.FIRING
    finally:
        engine.stop()


class TickCounted(Alerting):
    """An Alerting that counts its evaluations of every rule (not a history piece's, not the urgent rules'
    alone): a test waits for the live ticks after a history rather than for a length of time."""

    every_rule = 0

    def tick(self, *args: Any, **kwargs: Any) -> list[Notification]:
        notes = super().tick(*args, **kwargs)
        if not kwargs.get("history") and not kwargs.get("urgent_only"):
            self.every_rule += 1
        return notes


@pytest.mark.parametrize(("late", "fires"), [(0, False), (20, True)])
def test_retry_warnings_of_a_stamped_history_are_judged_at_their_times_as_check_does(
        tmp_path: Path, late: int, fires: bool) -> None:
    """A review: a log whose Hugging Face Hub retry warnings came every 18 minutes or so fired io_stall
    ("6 dataloader retries in the last 5m") in `tail` but not in `check`: read at once, every warning of the
    history took the time it was read. They were written when the step lines around them say, as `check`
    has them; five in the log's last two minutes fire in both."""
    import datetime

    from runwatch.commands.check import check_run, summarize
    from runwatch.plan import plan_runs
    from tests.support.stamped import megatron_with_hub_retries

    log = tmp_path / "train.log"
    end = datetime.datetime.now() - datetime.timedelta(seconds=5)  # a run that logs still
    log.write_text("\n".join(megatron_with_hub_retries(1400, every=200, late=late, end=end)) + "\n")
    [run] = plan_runs([str(log)])
    once = {f.rule for f in summarize(check_run(run, load_config(None), None, None))}
    alerting = TickCounted(load_config(None), persist=False)
    engine = Engine([str(log)], OPTIONS, alerting=alerting)
    engine.start()
    try:
        wait_for(lambda: (snaps := engine.snapshots()) and snaps[0].progress.step == 1400 and not snaps[0].notes,
                 timeout=30)
        read = alerting.every_rule
        wait_for(lambda: alerting.every_rule >= read + 2, timeout=10)  # the rules about the present judge it live
        live = {n.alert.rule for n in notifications(engine.subscribe())}
    finally:
        engine.stop()
    assert live == once
    assert ("io_stall" in live) == fires


def test_what_the_history_fired_and_cleared_is_marked_as_the_historys_and_a_live_nan_is_not(tmp_path: Path) -> None:
    """The TUI sums up the history's alerts in one pop-up (a long log's history gave nine at once): the
    engine marks the transitions a history read found (`Notification.in_history`), the NaN it showed
    cleared resolving once read included; a NaN written after it is news of the moment."""
    log, lines = two_nans_log(tmp_path, 12000)
    engine = run_engine(log)
    try:
        wait_for(lambda: history_read(engine, 12000), timeout=30)
        news = engine.subscribe()
        wait_for(lambda: alert_of(engine, "nonfinite") is not None
                 and alert_of(engine, "nonfinite").state == AlertState.RESOLVED, timeout=10)  # type: ignore[union-attr]
        with log.open("a") as f:
            f.write("\n".join(lines[12000:13000]) + "\n")
        wait_for(lambda: (a := alert_of(engine, "nonfinite")) is not None and a.state == AlertState.FIRING, timeout=10)
        sent = [(n.state, n.alert.step, n.in_history) for n in notifications(news) if n.alert.rule == "nonfinite"]
        assert sent == [(AlertState.FIRING, 8000, True), (AlertState.RESOLVED, 8000, True),
                        (AlertState.FIRING, 12500, False)]
    finally:
        engine.stop()


RAISED = Path(__file__).parent / "fixtures/realruns/nanogpt-tb-raise/run/train.log"
"""The real nanoGPT run that raised an IndexError at step 300: its last line is the exception line."""


def cut_off_before_the_exception_line() -> tuple[list[str], list[str]]:
    """The raised run's step lines, and its traceback without the exception line (its last)."""
    lines = RAISED.read_text().splitlines()
    header = lines.index("Traceback (most recent call last):")
    assert lines[-1].startswith("IndexError")
    return lines[:header], lines[header:-1]


def test_a_traceback_cut_off_at_the_end_of_a_quiet_logs_history_fires_as_check_says(tmp_path: Path) -> None:
    """A new user's review: a log that ends in a traceback cut off before its exception line was `crashed`
    to `check` (its end of input closes the traceback) and `[ended]` with no alert to `tail` minutes after
    it was written: a follower reaches no end of input, so the open traceback was held for ever. A history
    whose file has been quiet for `BLOCK_QUIET_S` closes it when read."""
    import os

    from tests.support.rule_replay import replay_lines

    steps, traceback = cut_off_before_the_exception_line()
    log = tmp_path / "train.log"
    log.write_text("\n".join(steps + traceback) + "\n")
    old = time.time() - 300
    os.utime(log, (old, old))
    said = replay_lines(steps + traceback).first("crash")
    assert said is not None and dict(said.labels)["event"] == "traceback"
    engine = run_engine(log)
    try:
        crash = wait_for(lambda: alert_of(engine, "crash"))
    finally:
        engine.stop()
    assert crash.state == AlertState.FIRING and crash.labels == {"event": "traceback"}
    assert crash.summary == said.summary


CTRL_C = Path(__file__).parent / "fixtures/found/hf_trainer_llava_ctrlc_tail.log"
"""An HF Trainer console that ends on a loss dict after a KeyboardInterrupt (no bar redraw after it)."""


def test_a_dict_waiting_for_its_bar_at_the_end_of_a_quiet_log_is_taken_as_check_takes_it(tmp_path: Path) -> None:
    """A new user's review: `check` read this log to step 2102 with its last dict's loss, `tail` to 2100 for
    ever: the dict waited for a redraw of the bar that never came, and a follower reaches no end of input. A
    log quiet for `BLOCK_QUIET_S` gives it up as a one-shot read's end does."""
    import os

    from tests.support.rule_replay import replay_lines

    log = tmp_path / "train.log"
    log.write_bytes(CTRL_C.read_bytes() + b"\n")  # its last line ended: no system samples here to say its writer is gone
    old = time.time() - 300
    os.utime(log, (old, old))
    lines = CTRL_C.read_text().splitlines()
    said = replay_lines(lines).tracker.progress.step
    assert said == 2102
    engine = run_engine(log)
    try:
        wait_for(lambda: engine.snapshots()[0].progress.step == said)
        snap = engine.snapshots()[0]
    finally:
        engine.stop()
    assert snap.progress.step == 2102 and snap.metrics["loss"] == 9.5625


def test_a_dict_waiting_live_is_held_for_the_runs_stall_budget_not_ten_seconds(tmp_path: Path) -> None:
    """A review: a run stepping every 30 s holds a dict that long in its normal course, so a follower gives it
    up only after the run's stall budget of quiet (the next frame would place it), not `BLOCK_QUIET_S`."""
    from runwatch.ingest import BLOCK_QUIET_S

    lines = CTRL_C.read_bytes().split(b"\n")
    log = tmp_path / "train.log"
    log.write_bytes(b"\n".join(lines[:-1]) + b"\n")
    ahead = [0.0]
    engine = clocked_engine(log, ahead)
    try:
        wait_for(lambda: engine.snapshots()[0].records and not engine.snapshots()[0].reading_history)
        with log.open("ab") as f:
            f.write(lines[-1] + b"\n")  # the dict after the KeyboardInterrupt, as it came
        wait_for(lambda: engine.log_tail(engine.snapshots()[0].run, 1) == [lines[-1].decode()])
        ahead[0] = BLOCK_QUIET_S + 1.0
        time.sleep(0.5)
        assert engine.snapshots()[0].progress.step == 2100  # still waiting for the bar
        budget = engine._ingest.runs[0].tracker.stall_after_s()
        assert budget > BLOCK_QUIET_S + 1.0
        ahead[0] = budget + 1.0
        wait_for(lambda: engine.snapshots()[0].progress.step == 2102)
    finally:
        engine.stop()


STAMPED = Path(__file__).parent / "fixtures/found/cirkd_distill_iters_head.log"
"""A distillation run's `logging` lines, each stamped with its time: 80 `Iters: N/20000` records ~4.5 s apart, then
its first validation's lines."""


def test_a_stamped_logs_history_is_timed_by_its_stamps_as_check_times_it(tmp_path: Path) -> None:
    """A new user's review: `tail` on a stamped log read at once said no step/s, no ETA and no elapsed time
    (a history's read times say no speed), where `check`, replaying the stamps, timed it."""
    import os

    from tests.support.rule_replay import replay_lines

    log = tmp_path / "train.log"
    log.write_bytes(STAMPED.read_bytes())
    old = time.time() - 300
    os.utime(log, (old, old))
    said = replay_lines(STAMPED.read_text().splitlines()).tracker.progress.steps_per_sec
    assert said is not None and 2.0 < said < 2.5  # 10 iterations every ~4.5 s
    engine = run_engine(log)
    try:
        wait_for(lambda: engine.snapshots()[0].progress.step == 800 and not engine.snapshots()[0].reading_history)
        snap = engine.snapshots()[0]
        progress = snap.progress
    finally:
        engine.stop()
    assert progress.steps_per_sec == pytest.approx(said)
    assert progress.elapsed_s is not None and 350 < progress.elapsed_s < 370  # 08:50:43 to 08:56:44


def clocked_engine(log: Path, ahead: list[float]) -> Engine:
    """An engine with the default rules on `log`, started, whose clock runs `ahead[0]` seconds ahead of the
    wall's: a test moves time on without waiting for it."""
    config = load_config(None)
    engine = Engine([str(log)], OPTIONS, clock=lambda: time.time() + ahead[0],
                    alerting=lambda: Alerting(config, persist=False))
    engine.start()
    return engine


def test_a_traceback_cut_off_live_fires_once_the_log_has_been_quiet(tmp_path: Path) -> None:
    """The same cut-off traceback written while `tail` follows (a process killed while it printed): held
    while more of it may come, said once the log has been quiet for `BLOCK_QUIET_S` (the engine's clock
    moved on, no wall time waited)."""
    from runwatch.ingest import BLOCK_QUIET_S

    steps, traceback = cut_off_before_the_exception_line()
    log = tmp_path / "train.log"
    log.write_text("\n".join(steps) + "\n")
    ahead = [0.0]
    engine = clocked_engine(log, ahead)
    try:
        wait_for(lambda: engine.snapshots()[0].records and not engine.snapshots()[0].reading_history)
        with log.open("a") as f:
            f.write("\n".join(traceback) + "\n")
        wait_for(lambda: engine.log_tail(engine.snapshots()[0].run, 1) == [traceback[-1]])
        assert alert_of(engine, "crash") is None  # more of it may come
        ahead[0] = BLOCK_QUIET_S + 1.0
        crash = wait_for(lambda: alert_of(engine, "crash"))
    finally:
        engine.stop()
    assert crash.labels == {"event": "traceback"}


def caught_traceback() -> list[str]:
    """A traceback Python prints for an exception a loop catches and survives (`traceback.print_exc`)."""
    import traceback

    try:
        {}["missing_key"]
    except KeyError:
        return traceback.format_exc().splitlines()
    raise AssertionError("unreachable")


def test_caught_tracebacks_in_a_history_judged_in_pieces_page_no_crash(tmp_path: Path) -> None:
    """A new user's review: `tail` on a 635k-line jsonl log of a run that printed and survived 1,800
    exceptions paged a critical crash and resolved it within the second: the history, judged in pieces, had
    a piece end on a traceback, and a traceback ending the output counted at once. `check` said nothing.
    Here every step is followed by one, so that piece boundaries fall after them."""
    lines = step_lines()[:6000]
    tb = caught_traceback()
    log = tmp_path / "train.log"
    log.write_text("\n".join(ln for step in lines for ln in (step, *tb)) + "\n")
    engine = run_engine(log)
    try:
        wait_for(lambda: history_read(engine, 6000), timeout=60)
        news = notifications(engine.subscribe())
    finally:
        engine.stop()
    assert alert_of(engine, "crash") is None
    assert not [n for n in news if n.alert.rule == "crash"]


@pytest.mark.parametrize("survived", [True, False])
def test_a_caught_traceback_live_is_no_crash_and_one_that_ends_the_output_is(tmp_path: Path, survived: bool) -> None:
    """Followed live: a traceback then the run's next step is survived; the same traceback then nothing for
    `BARE_SETTLE_S` is a crash (the engine's clock moved on, no wall time waited)."""
    from runwatch.state.ending import BARE_SETTLE_S

    lines = step_lines()
    tb = caught_traceback()
    log = tmp_path / "train.log"
    log.write_text("\n".join(lines[:50]) + "\n")
    ahead = [0.0]
    engine = clocked_engine(log, ahead)
    try:
        wait_for(lambda: (s := engine.snapshots()) and s[0].progress.step == 49 and not s[0].reading_history)
        with log.open("a") as f:
            f.write("\n".join(tb) + "\n")
        wait_for(lambda: engine.log_tail(engine.snapshots()[0].run, 1) == [tb[-1]])
        time.sleep(0.3)  # ticks with the traceback the newest record
        assert alert_of(engine, "crash") is None  # not yet: the run's next line may come
        if survived:
            with log.open("a") as f:
                f.write(lines[50] + "\n")
            wait_for(lambda: engine.snapshots()[0].progress.step == 50)
        ahead[0] = BARE_SETTLE_S + 1.0
        if survived:
            time.sleep(0.5)
            assert alert_of(engine, "crash") is None  # the step came within the settle
            return
        crash = wait_for(lambda: alert_of(engine, "crash"))
    finally:
        engine.stop()
    assert crash.labels == {"event": "traceback"} and "KeyError" in crash.summary


def test_a_rule_set_to_a_metric_the_run_does_not_log_says_so_live(tmp_path: Path) -> None:
    """`check` warns of `--rule loss_divergence.metric=task_los` on a run that logs no such metric; a live view said
    nothing of it. Once the history is read the run's notes say it as `check` does, `so far` (it may come later)."""
    steps = step_lines()[:200]
    log = tmp_path / "train.log"
    log.write_text("\n".join(steps) + "\n")
    config = load_config(None, overrides=["loss_divergence.metric=task_los"])
    with Engine([str(log)], OPTIONS, alerting=lambda: Alerting(config, persist=False)) as eng:
        snap = wait_for(lambda: next((s for s in eng.snapshots() if s.records >= len(steps) and s.notes), None))
    assert snap.notes == ("loss_divergence.metric: the run logs no `task_los` so far; loss_divergence judged nothing",)
    default = load_config(None)
    with Engine([str(log)], OPTIONS, alerting=lambda: Alerting(default, persist=False)) as eng:
        plain = wait_for(lambda: next((s for s in eng.snapshots() if s.records >= len(steps)), None))
    assert plain.notes == ()


def test_crashes_a_run_went_on_after_in_its_history_page_nothing_as_check_says(tmp_path: Path) -> None:
    """A review's HiFi-TSE log: an abort, a segfault and a DataLoader worker's death, each followed by a relaunch
    from a checkpoint and 270,000 more steps to `Training complete.`. `check` said OK; `tail` ended with two
    critical crashes firing, at step 1,499,900: read at once, every record of the history had one time, and a
    crash event counted for its `hold` (300 s) after it, whatever came after. The run went on past each."""
    from tests.support.found import found_bytes
    from tests.support.realruns import check_json

    log = tmp_path / "train.log"
    log.write_bytes(found_bytes("hifi_tse_relaunches_abort_segfault.log.gz"))
    engine = run_engine(log)
    try:
        wait_for(lambda: bool(engine.snapshots()) and engine.snapshots()[0].progress.step == 1499900
                 and not engine.snapshots()[0].reading_history, timeout=60)
        time.sleep(1.5)  # a live tick or more after the history
        snap = engine.snapshots()[0]
    finally:
        engine.stop()
    assert [a.rule for a in snap.alerts if a.state == AlertState.FIRING] == []
    assert snap.state.value == "finished"
    code, [run], _ = check_json(log)
    assert code == 0 and run["state"] == "finished" and not run["alerts"]


def _guard() -> str:
    """A real loop's guard, as it printed it (tests/fixtures/found/README.md: the thunder-1 run)."""
    from tests.support.found import found_lines

    return next(ln for ln in found_lines("thunder_prefixlm_tqdm_nan_loss_skipped.log.gz") if "NaN loss detected" in ln)


def test_a_runs_word_of_a_nan_loss_in_a_long_history_is_placed_at_its_step_live_as_in_check(tmp_path: Path) -> None:
    """The real run's log with a loop's NaN guard printed after step 1000 (no logged loss is NaN): followed, the
    alert says step 1000 as `check` does, and the loss series stays in step order (a code review saw the NaN
    appended after the block's later rows, `…1050, 1051, 1000, 1052…`, a step gone back)."""
    from tests.support.realruns import check_json

    lines = step_lines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("step 01000/"))
    lines = [*lines[:at + 1], _guard(), *lines[at + 1:]]
    log = tmp_path / "train.log"
    log.write_text("\n".join(lines) + "\n")
    _, [report], _ = check_json(log)
    [said] = [a for a in report["alerts"] if a["rule"] == "nonfinite"]
    assert said["first_step"] == 1000
    engine = run_engine(log)
    try:
        wait_for(lambda: history_read(engine, len(lines) - 1), timeout=60)
        alert = wait_for(lambda: alert_of(engine, "nonfinite"), timeout=30)
        run = engine.snapshots()[0].run
        chart = engine.chart(run, "loss", 10**6)
        assert alert.step == 1000 and chart is not None and (np.diff(chart.x) >= 0).all()
    finally:
        engine.stop()


def test_a_runs_word_of_a_nan_loss_before_its_first_step_is_not_lost(tmp_path: Path) -> None:
    """timm's engine prints `Loss is nan, stopping training` and exits, maybe before its first logged line; a guard
    may say so at the first batch. The NaN is the loss at step 0 (a code review: `check` said OK, exit 0)."""
    from tests.support.realruns import check_json

    log = tmp_path / "train.log"
    log.write_text("\n".join([_guard(), *step_lines()[:40]]) + "\n")
    rc, [report], _ = check_json(log)
    [said] = [a for a in report["alerts"] if a["rule"] == "nonfinite"]
    assert rc == 2 and said["first_step"] == 0
