"""The run's badge in the snapshot agrees with what is known: a log untouched for hours is not a run
that logged a moment ago, and a firing stall alert means a stalled run whatever the badge's own budget."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runwatch.alerting import Alerting
from runwatch.alerts.rules import all_rules
from runwatch.config import load_config
from runwatch.engine import Engine, EngineOptions
from runwatch.model import AlertBrief, AlertState, RunState, Severity
from runwatch.readmodel import state_with_alerts
from tests.support.faults import raise_on_lines
from tests.support.nanochat import step_lines
from tests.support.waiting import wait_for

OPTIONS = EngineOptions(poll_interval=0.1, system=False)


def brief(rule: str, state: AlertState = AlertState.FIRING, since: float = 100.0,
          severity: Severity = Severity.CRITICAL) -> AlertBrief:
    """An alert of the real rule `rule`, with the badge that rule declares (as `Alerting.briefs` gives it)."""
    badge = all_rules()[rule]().badge(severity)
    return AlertBrief(rule=rule, state=state, severity=severity, summary="", since=since, badge=badge)


def dead_log(tmp_path: Path) -> Path:
    log = tmp_path / "train.log"
    log.write_text("\n".join(step_lines()[:3000]) + "\n")  # a real run that stopped at step 2999 of 16704
    two_hours_ago = time.time() - 7200
    os.utime(log, (two_hours_ago, two_hours_ago))
    return log


def test_a_log_dead_for_two_hours_with_no_process_has_ended(tmp_path: Path) -> None:
    """`runwatch tail` on an old log: it said STALLED with a critical stall 2 hours after the last step;
    nothing holds the log and nothing in it says how the run ended, so the badge says ENDED."""
    log = dead_log(tmp_path)
    config = load_config(None)
    engine = Engine([str(log)], OPTIONS, alerting=lambda: Alerting(config, persist=False))
    engine.start()
    try:
        # the age is set when the end of the history is read, just after its last records
        wait_for(lambda: any(s.progress.step == 2999 and (s.last_record_age_s or 0) > 7000
                             for s in engine.snapshots()), timeout=30)
        wait_for(lambda: engine.snapshots()[0].state == RunState.ENDED, timeout=10)
        time.sleep(1.5)  # rules tick about once a second
        assert not any(a.rule == "stall" for s in engine.snapshots() for a in s.alerts)
    finally:
        engine.stop()


def test_an_old_key_value_log_is_as_old_as_its_file(tmp_path: Path) -> None:
    """A new user's review: a `key=value` log (the run lab's kvlog-nan) last written 2 hours ago read
    `[running] … last 0.3s ago`. Such a format has no signature line, so its records come only when the
    follower has caught up, after the end of the history was noted; they are now aged by the file's
    modification time as a signed format's are (`check` said ended all along)."""
    from tests.support.realruns import recordings

    rec = next(r for r in recordings() if r.name == "kvlog-nan")
    log = tmp_path / "kv.log"
    log.write_bytes(rec.log.read_bytes())
    os.utime(log, (time.time() - 7200, time.time() - 7200))
    with Engine([str(log)], OPTIONS) as engine:
        wait_for(lambda: any(s.progress.step == 120 for s in engine.snapshots()), timeout=20)
        snap = engine.snapshots()[0]
        assert (snap.last_record_age_s or 0) > 7000
        wait_for(lambda: engine.snapshots()[0].state == RunState.ENDED, timeout=10)


def test_a_log_dead_for_two_hours_whose_process_lives_is_stalled(tmp_path: Path) -> None:
    """The same log held open for writing by a live process (a run hung before runwatch started)."""
    log = dead_log(tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", f"f = open({str(log)!r}, 'a'); import time; time.sleep(60)"])
    try:
        wait_for(lambda: any(str(log) in p for p in _open_files(holder.pid)), timeout=10)
        os.utime(log, (time.time() - 7200, time.time() - 7200))
        config = load_config(None)
        options = EngineOptions(poll_interval=0.1, gpu=False, sample_interval=0.5)
        with Engine([str(log)], options, alerting=lambda: Alerting(config, persist=False)) as engine:
            wait_for(lambda: any(a.rule == "stall" and a.state == AlertState.FIRING
                                 for s in engine.snapshots() for a in s.alerts), timeout=30)
            assert engine.snapshots()[0].state == RunState.STALLED
    finally:
        holder.kill()
        holder.wait()


def _open_files(pid: int) -> list[str]:
    try:
        return [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:
        return []


def test_a_copied_old_stamped_log_is_as_old_as_its_stamps(tmp_path: Path) -> None:
    """A Megatron log from 2024 (its lines stamped, tests.support.stamped) copied here today, so its file is
    new: the run ended when its last line says, not a moment ago (it showed RUNNING with an ETA)."""
    from tests.support.stamped import megatron_log

    log = tmp_path / "train.log"
    log.write_text("\n".join(megatron_log(3000)[:2500]) + "\n")  # it stopped at 2500 of 3000
    with Engine([str(log)], OPTIONS) as engine:
        snap = wait_for(lambda: next((s for s in engine.snapshots() if s.progress.step == 2500 and not s.notes
                                      and s.state == RunState.ENDED), None), timeout=30)
    assert (snap.last_record_age_s or 0) > 365 * 86_400


def test_a_fresh_log_is_running_and_young(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.write_text("\n".join(step_lines()[:3000]) + "\n")
    with Engine([str(log)], OPTIONS) as engine:
        snap = wait_for(lambda: next((s for s in engine.snapshots() if s.progress.step == 2999 and not s.notes),
                                     None), timeout=30)
        assert snap.state == RunState.RUNNING
        assert snap.last_record_age_s is not None and snap.last_record_age_s < 60


def test_the_badge_follows_firing_stall_and_process_exit_alerts() -> None:
    last = 90.0  # the last step came before the alerts fired (at 100)
    assert state_with_alerts(RunState.RUNNING, [brief("stall")], last) == RunState.STALLED
    assert state_with_alerts(RunState.RUNNING, [brief("stall", AlertState.PENDING)], last) == RunState.RUNNING
    assert state_with_alerts(RunState.RUNNING, [brief("process_exit")], last) == RunState.CRASHED
    assert state_with_alerts(RunState.STALLED, [brief("process_exit")], last) == RunState.CRASHED
    # gone with no finish line and no sign of failure: a warning, and the badge says ended, not crashed
    gone = brief("process_exit", severity=Severity.WARNING)
    assert state_with_alerts(RunState.RUNNING, [gone], last) == RunState.ENDED
    assert state_with_alerts(RunState.STALLED, [gone], last) == RunState.ENDED
    assert state_with_alerts(RunState.FINISHED, [brief("stall"), brief("process_exit")], last) == RunState.FINISHED
    assert state_with_alerts(RunState.RUNNING, [brief("loss_spike")], last) == RunState.RUNNING


def test_steps_flowing_again_clear_the_badge_before_the_stall_alert_resolves() -> None:
    """A stall alert stays firing for its `resolve_after` (a config's minute, say); the badge says running at
    the first step."""
    assert state_with_alerts(RunState.RUNNING, [brief("stall", since=100.0)], 101.0) == RunState.RUNNING
    assert state_with_alerts(RunState.RUNNING, [brief("process_exit", since=100.0)], 101.0) == RunState.RUNNING


def test_a_file_in_no_known_format_says_so_instead_of_waiting_silently(tmp_path: Path) -> None:
    prose = tmp_path / "notes.log"
    prose.write_text("".join(f"meeting notes, item {i}: nothing that looks like a training step\n"
                             for i in range(1000)))
    junk = tmp_path / "junk.log"
    junk.write_bytes(bytes(range(256)) * 800)
    with Engine([str(prose), str(junk)], OPTIONS) as engine:
        def notes() -> list[str]:
            return [n for s in engine.snapshots() for n in s.notes if "no known log format" in n]

        # the count in the note grows as the file is read: wait for the whole file, and for the junk's note
        wait_for(lambda: len(notes()) == 2 and any(n.startswith(f"{prose}: no known log format in its first 1,000 lines")
                                                   for n in notes()), timeout=20)
        assert all(s.state == RunState.WAITING for s in engine.snapshots())


def test_a_short_log_in_no_known_format_that_has_ended_says_so(tmp_path: Path) -> None:
    """A review: a log of 339 INFO lines, none of them a step, read `ended` with no word of why nothing was shown (the
    note waited for 400 undecided lines). Once the log has ended, no more will come: any undecided line says so."""
    from tests.support.paths import FIXTURES

    log = tmp_path / "training.log"
    log.write_bytes((FIXTURES / "found" / "gpt2ko_info_lines_only_head.log").read_bytes())
    old = time.time() - 2 * 86400
    os.utime(log, (old, old))
    with Engine([str(log)], OPTIONS) as engine:
        wait_for(lambda: any(f"{log}: no known log format in its first 60 lines" in n
                             for s in engine.snapshots() for n in s.notes), timeout=20)
        assert engine.snapshots()[0].state == RunState.ENDED


def test_a_known_format_found_late_clears_the_note(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.write_text("".join(f"building the dataset index, shard {i}\n" for i in range(600)))
    with Engine([str(log)], OPTIONS) as engine:
        wait_for(lambda: any("no known log format" in n for s in engine.snapshots() for n in s.notes))
        with log.open("a") as f:
            f.write("\n".join(step_lines()[:300]) + "\n")
        wait_for(lambda: engine.snapshots()[0].progress.step == 299)
        assert not any("no known log format" in n for s in engine.snapshots() for n in s.notes)


def test_lines_a_parser_raised_on_are_a_note_on_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Followed live, the count of lines a parser raised on is one of the run's notes (TUI header and
    overview, status JSON), and the steps of the other lines still come."""
    from runwatch.parsers.nanochat import NanochatParser

    raise_on_lines(monkeypatch, NanochatParser, "parse", "step 00007/", ValueError("parser bug"))
    monkeypatch.setenv("RUNWATCH_NO_FAST_PATH", "1")  # every line to the parser: a plain step line is read by its template
    log = tmp_path / "train.log"
    log.write_text("\n".join(step_lines()[:20]) + "\n")
    with Engine([str(log)], OPTIONS) as engine:
        wait_for(lambda: engine.snapshots() and engine.snapshots()[0].progress.step == 19)
        notes = engine.snapshots()[0].notes
        assert f"{log}: 1 line runwatch failed to parse (picollm ValueError ×1: parser bug); " \
               "a runwatch bug, logged with its traceback" in notes


def _written_at(tree: Path, then: float) -> None:
    for path in [tree, *tree.rglob("*")]:
        if not path.is_symlink():
            os.utime(path, (then, then))


def _newest_record_time(run: Path) -> float:
    """The time the run's own W&B history gives its last record (when the recording wrote it)."""
    import contextlib
    import io
    import json

    from runwatch.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        main(["parse", "--output", "jsonl", str(run / "wandb")])
    return max(json.loads(line)["t"] for line in out.getvalue().splitlines())


def test_an_old_wandb_run_beside_its_log_is_as_old_as_its_files(tmp_path: Path) -> None:
    """A new user's review: the run lab's hf-wandb-nan (an 8 s run written a day before) read `last
    record 6.6s ago · elapsed 25h01m`: its W&B history and checkpoints were read after the log had aged
    the run, and came stamped with the time runwatch read them."""
    import shutil

    from tests.support.realruns import recordings

    rec = next(r for r in recordings() if r.name == "hf-wandb-nan")
    run = tmp_path / "run"
    shutil.copytree(rec.run_dir, run, symlinks=True)
    ended = _newest_record_time(run)
    assert time.time() - ended > 3600  # the recording is older than an hour
    _written_at(run, ended + 1.0)  # the files as the run left them (a fresh checkout dates them now)
    with Engine([str(run)], OPTIONS) as engine:
        wait_for(lambda: any(s.progress.step == 120 for s in engine.snapshots()), timeout=30)
        time.sleep(1.0)  # every source's history in
        wait_for(lambda: engine.snapshots()[0].state in (RunState.ENDED, RunState.CRASHED, RunState.FINISHED),
                 timeout=10)
        snap = engine.snapshots()[0]
        assert (snap.last_record_age_s or 0) > 3600, snap.last_record_age_s
        assert snap.progress.elapsed_s is not None and snap.progress.elapsed_s < 600, snap.progress.elapsed_s


def test_a_side_file_flushed_minutes_ago_beside_a_live_log_does_not_age_the_run(tmp_path: Path) -> None:
    """A metric file is flushed now and then (Lightning's CSVLogger every 100 steps, TensorBoard every 2
    minutes): read beside a log written a moment ago, its old modification time must not make the live
    run look silent, stalled or ended."""
    import shutil

    from tests.support.realruns import recordings

    rec = next(r for r in recordings() if r.name == "lightning-tqdm-healthy")
    run = tmp_path / "run"
    shutil.copytree(rec.run_dir, run, symlinks=True)
    log = run / "train.log"
    data = log.read_bytes()
    log.write_bytes(data[: data.index(b"\n", len(data) // 2) + 1])  # the run is half way, and writing
    csv = next(run.rglob("metrics.csv"))
    old = time.time() - 300
    os.utime(csv, (old, old))
    with Engine([str(run)], OPTIONS) as engine:
        wait_for(lambda: any(s.progress.step is not None for s in engine.snapshots()), timeout=30)
        time.sleep(1.5)  # the metric file's history in too
        snap = engine.snapshots()[0]
        assert snap.state == RunState.RUNNING, snap.state
        assert (snap.last_record_age_s or 0) < 60, snap.last_record_age_s


def _time_chart(log: Path, *, going: bool) -> tuple[float | None, float, float | None]:
    """(until, the last column's time, a step chart's until) of the log's loss, once its state is known."""
    from runwatch.model import XAxis

    engine = Engine([str(log)], OPTIONS)
    engine.start()
    try:
        wait_for(lambda: any(s.progress.step is not None for s in engine.snapshots()), timeout=30)
        run = engine.snapshots()[0].run
        wait_for(lambda: (engine.snapshots()[0].state == RunState.ENDED) != going, timeout=15)
        data, steps = engine.chart(run, "loss", 40, x=XAxis.TIME), engine.chart(run, "loss", 40)
        assert data is not None and steps is not None
        return data.until, float(data.x[-1]), steps.until
    finally:
        engine.stop()


def test_a_wall_time_chart_of_a_run_still_going_runs_to_now_and_of_an_ended_one_does_not(tmp_path: Path) -> None:
    """The TUI's wall-time axis runs to `ChartData.until` (now) while the run goes on, so a silence shows
    as it lasts; an old log that ended has no `until` (its axis ends at its last point, not hours later)."""
    live = tmp_path / "live" / "train.log"
    live.parent.mkdir()
    live.write_text("\n".join(step_lines()[:50]) + "\n")
    until, last, steps_until = _time_chart(live, going=True)
    assert until is not None and until >= last and steps_until is None  # a step axis has no now
    until, _, steps_until = _time_chart(dead_log(tmp_path), going=False)
    assert until is None and steps_until is None


def test_a_torchrun_tee_run_that_printed_its_done_line_has_finished(tmp_path: Path) -> None:
    """A review: `runwatch tail` on the run lab's torchrun `--tee` log read RUNNING after its last line,
    `done: 300 iterations on 2 ranks`, and STALLED within its first minute; a finish line ends the run."""
    from tests.support.realruns import REALRUNS

    log = tmp_path / "train.log"
    log.write_bytes((REALRUNS / "torchrun-tee-healthy/run/train.log").read_bytes())
    with Engine([str(log)], OPTIONS) as engine:
        snap = wait_for(lambda: next((s for s in engine.snapshots() if s.progress.step == 295 and not s.notes),
                                     None), timeout=30)
        assert snap.state == RunState.FINISHED


@pytest.mark.parametrize("preview", [True, False], ids=["big-log-preview", "history-part-read"])
def test_statuses_while_the_history_is_read_say_the_logs_age(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              preview: bool) -> None:
    """A new user's review: `tail --headless` on an 11-minute-old log said `last 0.0s ago`, then `1.2s ago`,
    `3.3s ago` while its history was read, and only then `last 11m11s ago`; an unfinished one said
    `[running]`, then `[ended]`. The README promises a last record never younger than the file: the preview
    of a big log's tail, and the part of the history read so far, are aged by the file's modification time
    too. The worker is held on a history block (the first with a preview, the second without), so the
    snapshot is one taken while the history is read."""
    import threading

    from runwatch import sources as sources_module
    from runwatch.ingest import Ingest
    from runwatch.messages import LinesRead
    from runwatch.watcher import tail as tail_module

    monkeypatch.setattr(sources_module, "PREVIEW_MIN_BYTES", 1 << 20 if preview else 1 << 40)
    monkeypatch.setattr(tail_module, "RAW_READ_BYTES", 1 << 20)  # the 1.7 MB history in two blocks, not one read
    held, blocks = threading.Event(), []
    parse = Ingest.parse

    def held_parse(self: Ingest, item: object) -> object:
        if isinstance(item, LinesRead) and item.batch.history:
            blocks.append(item)
            if len(blocks) == (1 if preview else 2):
                held.wait(timeout=30)
        return parse(self, item)  # type: ignore[arg-type]

    monkeypatch.setattr(Ingest, "parse", held_parse)
    log = tmp_path / "train.log"
    log.write_text("\n".join(step_lines()[:12000]) + "\n")  # 1.7 MB of a real run that stopped at step 11999
    os.utime(log, (time.time() - 7200, time.time() - 7200))
    with Engine([str(log)], OPTIONS) as engine:
        try:
            snap = wait_for(lambda: (s := engine.snapshots()[0]).records > 0 and s, timeout=30)
            assert snap.reading_history
            assert (snap.last_record_age_s or 0) > 7000 and snap.state == RunState.ENDED
        finally:
            held.set()


@pytest.mark.parametrize("hours", [2.0, 0.5])
def test_a_run_whose_only_record_is_a_checkpoint_long_ago_has_ended(tmp_path: Path, hours: float) -> None:
    """A review: a DreamBooth log whose only record is its `Saving model checkpoint to ./weights/` line, last written
    three days before, read `running` for ever (`check`: `ended`). With no step record either, a log untouched for
    longer than `LAUNCH_GONE_S` with no training process has ended."""
    log = tmp_path / "train.txt"
    log.write_bytes((Path(__file__).parent / "fixtures/found/colossalai_dreambooth_train_tail.txt").read_bytes())
    os.utime(log, (time.time() - hours * 3600, time.time() - hours * 3600))
    with Engine([str(log)], OPTIONS) as engine:
        wait_for(lambda: bool(engine.snapshots()) and engine.snapshots()[0].records > 0
                 and not engine.snapshots()[0].reading_history, timeout=20)
        time.sleep(0.5)
        snap = engine.snapshots()[0]
        assert snap.progress.step is None and (snap.state == RunState.ENDED) == (hours > 1)


@pytest.mark.parametrize(("hours", "state"), [(2.0, RunState.ENDED), (0.5, RunState.WAITING)])
def test_a_launch_that_logged_no_record_long_ago_has_ended(tmp_path: Path, hours: float, state: RunState) -> None:
    """A directory of a project's launches, most of them dead before their first step (mmcv's environment and
    config dump, then nothing): each showed `[waiting] no step yet` for ever (a review). One untouched for
    longer than `LAUNCH_GONE_S` with no training process has ended; a younger one may be loading its data."""
    import gzip

    from runwatch.present import status_line

    real = gzip.decompress((Path(__file__).parent / "fixtures/found/mmhuman3d_hmr_mmcv1_nohup.out.gz").read_bytes())
    log = tmp_path / "20230130_125415.log"
    log.write_bytes(b"".join(real.splitlines(keepends=True)[:558]))  # the real run's lines before its first step
    os.utime(log, (time.time() - hours * 3600, time.time() - hours * 3600))
    with Engine([str(log)], OPTIONS) as engine:
        wait_for(lambda: bool(engine.snapshots()) and engine.snapshots()[0].notes != () and not engine.snapshots()[0].reading_history, timeout=20)
        time.sleep(0.5)
        snap = engine.snapshots()[0]
        assert snap.records == 0 and snap.state == state
        assert ("[ended]  no record" in status_line(snap)) == (state == RunState.ENDED)
