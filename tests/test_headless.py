"""Status line and status object (DESIGN §3) from hand-built snapshots."""

from __future__ import annotations

import io
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from runwatch.alerts.types import Notification, make_labels
from runwatch.feed import Feed, Subscription
from runwatch.headless import HeadlessPrinter, StatusSchedule
from runwatch.model import (
    AlertState,
    GpuSample,
    Kind,
    Notice,
    ProcessRole,
    ProcessState,
    Progress,
    RankProgress,
    Record,
    RunSnapshot,
    RunState,
    SystemSample,
)
from runwatch.present import fmt_duration, fmt_value, status_line, status_object
from runwatch.state.system import SystemState
from tests.support.alerts import make_notification
from tests.support.paths import FIXTURES
from tests.support.realruns import kv_run_that_raised
from tests.support.system import gpu, proc


def snap(**kw) -> RunSnapshot:  # type: ignore[no-untyped-def]
    base = dict(
        run="train", source="logs/train.log", time=1_795_000_000.0, state=RunState.RUNNING,
        progress=Progress(step=5567, total_steps=16704, percent=33.33, steps_per_sec=1.53, eta_s=7280.0),
        metrics={"loss": 2.3369, "step_time": 0.9974, "tokens_per_sec": 1051311.0, "grad_norm": math.nan},
        ranks={0: RankProgress(0, 5567, 1_794_999_999.6), 1: RankProgress(1, 5566, 1_794_999_999.0)},
        last_record_t=1_794_999_999.6, records=100,
    )
    base.update(kw)
    return RunSnapshot(**base)  # type: ignore[arg-type]


def test_status_object_is_strict_json_with_design_fields() -> None:
    obj = status_object(snap())
    text = json.dumps(obj, allow_nan=False)  # raises on NaN: the NaN must be a string
    back = json.loads(text)
    for key in ("type", "time", "run", "step", "total_steps", "eta_s", "metrics", "ranks",
                "last_record_age_s", "process", "gpus", "gpu_status", "alerts"):
        assert key in back
    assert back["type"] == "status"
    assert back["time"].endswith("Z")
    assert back["metrics"]["grad_norm"] == "nan"
    assert back["metrics"]["tokens_per_sec"] == 1051311.0
    assert back["ranks"] == {"0": 5567, "1": 5566}
    assert back["last_record_age_s"] == 0.4
    assert back["process"] is None and back["gpus"] == []


def test_status_line_shows_progress_eta_metrics_ranks_and_age() -> None:
    line = status_line(snap())
    assert "step 5567/16704 (33.3%)" in line
    assert "ETA 2h01m" in line
    assert "loss 2.337" in line
    assert "gnorm NaN" in line
    assert "dt 997ms" in line
    assert "tok/s 1.05M" in line
    assert "ranks 0:5567 1:5566" in line
    assert "last 0.4s ago" in line


def test_a_run_with_no_loss_named_so_shows_its_losses() -> None:
    """A review: a distillation loop's `Task Loss` and `KD Loss` left a status line of `lr 3.00e-06` alone."""
    line = status_line(snap(metrics={"lr": 3e-06, "task_loss": 0.9863, "kd_loss": 0.9244, "cost_time": 10134.0}))
    assert "task_loss 0.9863  kd_loss 0.9244  lr 3.00e-06" in line and "cost_time" not in line
    both = status_line(snap(metrics={"loss": 2.5, "aux_loss": 0.1, "loss_scale": 65536.0}))
    assert "loss 2.5" in both and "aux_loss" not in both and "loss_scale" not in both


def test_a_long_note_keeps_its_end_the_way_out() -> None:
    """A review: an unread log's note, its path long, ended `(--format NAME forces …)`: the hint cut off."""
    note = ("/data/runs/colbert_custom_steps_done.out: no known log format in its first 14,357 lines "
            "(--format NAME forces one)")
    line = status_line(snap(notes=(note,)))
    shown = line[line.index("(/data") + 1 : -1]
    assert len(shown) <= 100 and shown.startswith("/data/runs/colbert") and shown.endswith("(--format NAME forces one)")
    head, tail = shown.split("…")  # cut between words (a review read `no …n its first 1,151 lines`)
    assert head.endswith(" ") and tail.startswith(" ") and len(shown) >= 90


def test_a_status_line_says_which_alerts_fire() -> None:
    """A new user's review: status lines never said that anything fired (the TUI's header does)."""
    from runwatch.model import AlertBrief, AlertState, Severity

    alerts = (AlertBrief("nonfinite", AlertState.FIRING, Severity.CRITICAL, labels={"metric": "loss"}),
              AlertBrief("nonfinite", AlertState.FIRING, Severity.CRITICAL, labels={"metric": "val_loss"}),
              AlertBrief("stall", AlertState.PENDING, Severity.CRITICAL),
              AlertBrief("loss_spike", AlertState.RESOLVED, Severity.WARNING))
    line = status_line(snap(alerts=alerts))
    assert "[running]  2 firing (nonfinite)  step 5567" in line
    assert "firing" not in status_line(snap(alerts=alerts[2:]))


def test_finished_run_shows_no_eta_and_waiting_run_says_so() -> None:
    done = status_line(snap(state=RunState.FINISHED))
    assert "ETA" not in done and "[finished]" in done
    waiting = status_line(snap(state=RunState.WAITING, progress=Progress(), metrics={}, ranks={},
                               last_record_t=None, records=0))
    assert "no step yet" in waiting


@pytest.mark.parametrize(("state", "rate", "eta"), [
    (RunState.RUNNING, "1.53 step/s", "ETA 2h01m"),
    (RunState.STALLED, "was 1.53 step/s", "ETA ?"),  # no frozen estimate while nothing moves
    (RunState.CRASHED, "was 1.53 step/s", None),  # a review: a crashed run's header read `28.6 step/s`
    (RunState.ENDED, "was 1.53 step/s", None),
    (RunState.FINISHED, "was 1.53 step/s", None),
])
def test_a_rate_and_an_eta_read_as_the_runs_state(state: RunState, rate: str, eta: str | None) -> None:
    line = status_line(snap(state=state))
    assert f" {rate}" in line and ("was " in line) == rate.startswith("was ")
    assert (eta in line) if eta else ("ETA" not in line)


def test_durations_and_values_are_short() -> None:
    assert [fmt_duration(x) for x in (0.4, 42, 185, 7280, 3 * 86400 + 4 * 3600, None)] == \
        ["0.4s", "42s", "3m05s", "2h01m", "3d04h", "?"]
    assert fmt_value("lr", 3e-4) == "3.00e-04"
    assert fmt_value("loss", math.inf) == "Inf"
    assert fmt_value("mfu", 52.1) == "52.1%"


def test_small_throughputs_keep_three_significant_figures() -> None:
    """A new user's review: a Megatron-DeepSpeed run's 7.62 samples/s (its `samples per second: 7.623`) read
    `8` in the report, compare, and the TUI's chart title, and its p10 `7`: all through `fmt_value`."""
    assert [fmt_value("samples_per_sec", v) for v in (7.623, 7.261, 45.67, 99.96, 123.4, 812_305.0)] == \
        ["7.62", "7.26", "45.7", "100", "123", "812.30k"]
    assert fmt_value("tokens_per_sec", 0.5) == "0.5"


# ── when statuses are printed ──────────────────────────────────────────────

class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def empty() -> list[RunSnapshot]:
    return [snap(state=RunState.WAITING, progress=Progress(), metrics={}, ranks={}, last_record_t=None, records=0)]


def test_the_first_status_waits_for_the_log_to_be_read_then_comes_every_interval() -> None:
    """`watch` on a complete log first said "[waiting] no step yet", then nothing for 60 s (review finding 10)."""
    clock = Clock()
    schedule = StatusSchedule(60.0, clock=clock, grace=2.0)
    assert schedule.is_time() and not schedule.take(empty())  # the history is still being read
    clock.t += 0.5
    assert not schedule.take(empty())
    assert schedule.take([snap()])  # read: printed at once, not 60 s later
    clock.t += 59.0
    assert not schedule.is_time() and not schedule.take([snap()])
    clock.t += 1.0
    assert schedule.take([snap()])


def test_the_first_status_waits_for_a_small_logs_whole_history_not_its_first_piece() -> None:
    """A history is applied a piece at a time: the first status of a finished 2,000-line log showed step
    1041 "running", the next one 10 s later the truth. A big log's note (its tail first) is enough."""
    clock = Clock()
    schedule = StatusSchedule(60.0, clock=clock, grace=2.0)
    assert not schedule.take([replace(snap(), reading_history=True)])
    clock.t += 0.3
    assert not schedule.take([snap(), replace(snap(), reading_history=True)])  # every run, not any
    assert schedule.take([snap(), replace(snap(), reading_history=True, notes=("reading history: 4%",))])


def test_the_first_status_comes_after_the_grace_even_with_nothing_read() -> None:
    clock = Clock()
    schedule = StatusSchedule(60.0, clock=clock, grace=2.0)
    clock.t += 2.0
    assert schedule.take(empty())


def test_a_note_is_enough_for_the_first_status() -> None:
    """A path that does not exist yet says so at once ("waiting for train.log")."""
    schedule = StatusSchedule(60.0, clock=Clock())
    assert schedule.take([replace(empty()[0], notes=("waiting for train.log",))])


def test_a_note_while_the_history_is_read_with_nothing_shown_waits_for_the_history() -> None:
    """A review: a Lightning log whose first bar is 4,278 lines in printed `[waiting] no step yet (… no known log
    format in its first 2,984 lines …)` first, its history half read; a big log's tail shown while its history is
    read (records, and the note that says so) is its first status at once."""
    note = ("train.log: no known log format in its first 2,984 lines (--format NAME forces one)",)
    schedule = StatusSchedule(60.0, clock=Clock())
    assert not schedule.take([replace(empty()[0], notes=note, reading_history=True)])
    assert schedule.take([replace(empty()[0], notes=note, reading_history=False)])
    preview = replace(empty()[0], notes=("reading history: 40%; showing the latest lines first",),
                      reading_history=True, records=12)
    assert StatusSchedule(60.0, clock=Clock()).take([preview])


def test_a_status_is_news_only_when_the_run_moved() -> None:
    clock = Clock()
    schedule = StatusSchedule(10.0, clock=clock)
    assert schedule.is_news([snap()])  # nothing printed yet
    schedule.printed([snap()])
    clock.t += 5.0
    assert not schedule.is_news([snap(time=1_795_000_005.0)])  # only the clock moved
    assert schedule.is_news([snap(records=101, progress=Progress(step=5568))])
    assert schedule.is_news([snap(state=RunState.FINISHED)])


class FakeSource:
    """A SnapshotSource over a list of snapshot lists, one per wait; ends after the last."""

    def __init__(self, frames: list[list[RunSnapshot]], clock: Clock, feed_size: int = 64) -> None:
        self.frames, self.clock, self.i = frames, clock, 0
        self.feed = Feed[Notification | Notice](feed_size)

    def snapshots(self) -> list[RunSnapshot]:
        return self.frames[min(self.i, len(self.frames) - 1)]

    def wait(self, timeout: float) -> bool:
        self.clock.t += timeout
        self.i += 1
        return True

    def subscribe(self) -> Subscription[Notification | Notice]:
        return self.feed.subscribe()

    @property
    def all_ended(self) -> bool:
        return self.i >= len(self.frames) - 1


@pytest.mark.parametrize("as_json", [False, True])
def test_the_last_status_is_printed_once_at_exit(as_json: bool) -> None:
    """At stdin EOF the final status line (or JSON object) came twice (review finding 6)."""
    clock = Clock()
    done = snap(state=RunState.FINISHED)
    source = FakeSource([[snap()], [done]], clock)
    out = io.StringIO()
    printer = HeadlessPrinter(out, io.StringIO(), interval=0.5, as_json=as_json, clock=clock)
    printer.run(source, lambda: False, lambda snaps: source.all_ended)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and len(set(lines)) == 2
    assert ("finished" in lines[-1]) and ("running" in lines[0])


def test_news_since_the_last_status_is_printed_at_exit() -> None:
    clock = Clock()
    later = snap(progress=Progress(step=5570, total_steps=16704), records=103)
    source = FakeSource([[snap()], [later]], clock)
    out = io.StringIO()
    printer = HeadlessPrinter(out, io.StringIO(), interval=3600.0, clock=clock)
    printer.run(source, lambda: source.i >= 1)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "step 5570/" in lines[1]


@pytest.mark.parametrize("as_json", [False, True])
def test_notices_go_to_stderr_and_alerts_to_stdout_through_the_printers_subscription(as_json: bool) -> None:
    clock = Clock()
    source = FakeSource([[snap()], [snap()]], clock)
    source.feed.publish(Notice("logs/train.log", "warning", "rotated"), make_notification("n1"),
                        make_notification("n2", state=AlertState.RESOLVED))
    other = source.subscribe()  # the daemon's or the TUI's: the printer takes nothing from it
    out, err = io.StringIO(), io.StringIO()
    HeadlessPrinter(out, err, interval=3600.0, as_json=as_json, clock=clock).run(source, lambda: source.i >= 1)
    assert err.getvalue() == "runwatch: logs/train.log: rotated\n"
    alerts = [line for line in out.getvalue().splitlines() if "nonfinite" in line]
    if as_json:
        assert [json.loads(line)["state"] for line in alerts] == ["firing", "resolved"]
    else:
        assert ["FIRING" in alerts[0], "RESOLVED" in alerts[1]] == [True, True]
    assert len(other.take().items) == 3


def test_a_notice_that_names_its_file_is_printed_with_it_once() -> None:
    """A new user's review: `runwatch: /tmp/hugelive.log: /tmp/hugelive.log: a line longer than 64 KiB was
    cut…`: the follower's message names its file (as `check` prints it), and the printer named it again."""
    clock = Clock()
    source = FakeSource([[snap()], [snap()]], clock)
    cut = "logs/train.log: a line longer than 64 KiB was cut; its rest is skipped"  # runwatch.watcher.tail's
    source.feed.publish(Notice("logs/train.log", "warning", cut), Notice("logs/train.log", "info", "waiting"))
    err = io.StringIO()
    HeadlessPrinter(io.StringIO(), err, interval=3600.0, clock=clock).run(source, lambda: source.i >= 1)
    assert err.getvalue().splitlines() == [f"runwatch: {cut}", "runwatch: logs/train.log: waiting"]


def test_the_printer_says_how_many_notices_and_alerts_it_missed() -> None:
    """More news than the feed holds came between two looks: the printer says so rather than go silent."""
    clock = Clock()

    class Burst(FakeSource):
        def wait(self, timeout: float) -> bool:
            self.feed.publish(*(Notice(f"logs/{i}.log", "info", "waiting") for i in range(5)))
            return super().wait(timeout)

    source = Burst([[snap()], [snap()]], clock, feed_size=2)
    err = io.StringIO()
    HeadlessPrinter(io.StringIO(), err, interval=3600.0, clock=clock).run(source, lambda: source.i >= 1)
    assert err.getvalue().splitlines() == ["runwatch: 3 notices and alerts not shown (printing fell behind)",
                                           "runwatch: logs/3.log: waiting", "runwatch: logs/4.log: waiting"]


def test_status_objects_from_typed_system_samples_are_byte_identical_to_before() -> None:
    """Snapshots carried `process` and `gpus` as dicts; now the samples themselves, turned into the
    DESIGN §3 fields only in the status object, which must not change by a byte: main process with
    ranks, another main process and children; GPUs with ranks, unknown readings and lost ones; no sample
    yet; no sampling at all."""
    state = SystemState()
    state.apply(SystemSample(t=10.0, gpu_status="ok", processes=(
        proc(4242, cpu_percent=98.04, rss_bytes=123456789, threads=12, open_fds=40, found_by="torchrun",
             read_bps=1234.56, write_bps=7.04, local_rank=0),
        proc(4241, state=ProcessState.GONE, exit_code=-9),
        proc(4243, ProcessRole.RANK, rank=0, local_rank=0, cpu_percent=99.0, rss_bytes=10),
        proc(4244, ProcessRole.RANK, rank=1, local_rank=1, cpu_percent=97.0, rss_bytes=11, state=ProcessState.GONE,
             exit_code=1),
        proc(4250, ProcessRole.CHILD, rank=0, cpu_percent=5.0, rss_bytes=100),
        proc(4252, ProcessRole.CHILD, state=ProcessState.GONE),
        proc(4251, ProcessRole.CHILD, rank=0, cpu_percent=6.0, rss_bytes=200)),
        gpus=(gpu(0, pids=(4243,), throttle=("power", "thermal")), gpu(1, pids=(4244, 999)),
              replace(gpu(3, util=None), power_w=None, temp_c=None), GpuSample(2, name="H100", error="GPU is lost"),
              GpuSample(4, error="Unknown Error"))))
    base = snap(metrics={"loss": 2.3369}, ranks={0: RankProgress(0, 5567, 1_794_999_999.6)},
                progress=Progress(step=5567, total_steps=16704, percent=33.33, steps_per_sec=1.53, eta_s=7280.0))
    snaps = [replace(base, processes=s.processes, gpus=s.gpus, gpu_status=s.gpu_status)  # as the engine does
             for s in (state, SystemState())] + [base]
    printed = [json.dumps(status_object(s), allow_nan=False) for s in snaps]
    assert printed == (FIXTURES / "status" / "system_parts.jsonl").read_text().splitlines()



@pytest.mark.parametrize(("as_json", "interval", "said"), [(False, 0.0, [1100, 1200]), (True, 0.0, [1100, 1200]),
                                                           (False, 3600.0, [1200]), (True, 3600.0, [1200])])
def test_a_second_nan_while_the_alert_fires_prints_an_updated_line_at_most_once_per_interval(
    as_json: bool, interval: float, said: list[int],
) -> None:
    """A new user's review: a second NaN while the first one's alert fired added no line (the lifecycle
    rightly sends no second notification). The printer says each newer step the alert was seen at, no
    more often than its interval; what the interval held back, it says at exit."""
    from runwatch.model import AlertBrief, Severity

    clock = Clock()

    def at(step: int) -> list[RunSnapshot]:
        brief = AlertBrief("nonfinite", AlertState.FIRING, Severity.CRITICAL, "loss is NaN at step 1000",
                           {"metric": "loss"}, key="nonfinite{metric=loss,run=nanochat-d24}", step=1000, last_step=step)
        return [snap(alerts=(brief,))]

    source = FakeSource([at(1000), at(1000), at(1100), at(1100), at(1200), at(1200)], clock)
    source.feed.publish(make_notification("n1", labels=make_labels(run="nanochat-d24", metric="loss"), last_step=1000))
    out = io.StringIO()
    HeadlessPrinter(out, io.StringIO(), interval=interval, as_json=as_json, clock=clock).run(
        source, lambda: False, lambda snaps: source.all_ended)
    updated = [line for line in out.getvalue().splitlines() if "updated" in line]
    if as_json:
        assert [json.loads(line)["last_step"] for line in updated] == said
    else:
        assert [int(line.rpartition(" ")[2]) for line in updated] == said
        assert updated[-1].endswith("nonfinite metric=loss: loss is NaN at step 1000; newest at step 1200")


def test_a_status_object_says_while_the_runs_history_is_read() -> None:
    """`reading_history` only while it is read: the objects of every other run stay as they were."""
    assert status_object(snap(reading_history=True))["reading_history"] is True
    assert "reading_history" not in status_object(snap())


@pytest.mark.parametrize("as_json", [False, True])
def test_the_events_of_a_big_logs_tail_print_once_not_from_the_preview_and_again_from_the_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_json: bool,
) -> None:
    """A new user's review: `tail` of a big log printed its last events (checkpoint_saved, finished; three
    nccl_timeouts) while it showed the preview of the tail, and again once the history brought them, line
    numbers in the whole file. The engine's own two pictures of the real nanochat run's log (its preview, a
    smaller PREVIEW_MIN_BYTES making it big, then its history read) go to the printer: each event once."""
    from runwatch import sources
    from runwatch.engine import Engine, EngineOptions
    from tests.support.runs import HEALTHY
    from tests.support.waiting import wait_for

    log = tmp_path / "train.log"
    log.write_bytes(HEALTHY.read_bytes())
    monkeypatch.setattr(sources, "PREVIEW_MIN_BYTES", log.stat().st_size // 2)
    with Engine([str(log)], EngineOptions(poll_interval=0.1)) as eng:
        preview = eng.snapshots()
        read = wait_for(lambda: (s := eng.snapshots()) and not s[0].reading_history and s[0].events and s)
    assert preview[0].previewing and preview[0].events and not read[0].previewing
    clock = Clock()
    source = FakeSource([preview, read], clock)
    out = io.StringIO()
    HeadlessPrinter(out, io.StringIO(), interval=3600.0, as_json=as_json, clock=clock).run(
        source, lambda: False, lambda snaps: source.all_ended)
    if as_json:
        said = [json.loads(line)["event"] for line in out.getvalue().splitlines() if '"event"' in line]
    else:
        said = [line.split(" ! ")[1].split(" ")[0] for line in out.getvalue().splitlines() if " ! " in line]
    assert said == ["checkpoint_saved", "finished"]


def _event(event: str, line: int, step: int) -> Record:
    return Record(Kind.EVENT, step=step, event=event, source="logs/train.log", line=line, message=f"{event} at step {step}")


def test_events_that_left_the_snapshot_before_the_printer_looked_are_counted_on_stderr() -> None:
    """The snapshot holds the newest events only: those that came and went between two looks were passed over
    in silence. Now the run's count says how many; the printer prints what it holds, in order, and says the rest."""
    ckpt = [_event("checkpoint_saved", 10 * i, i) for i in range(1, 9)]
    clock = Clock()
    first, later = snap(events=tuple(ckpt[:3]), events_seen=3), snap(events=tuple(ckpt[5:]), events_seen=8)
    source = FakeSource([[first], [later], [later]], clock)
    out, err = io.StringIO(), io.StringIO()
    HeadlessPrinter(out, err, interval=3600.0, as_json=True, clock=clock).run(
        source, lambda: False, lambda snaps: source.all_ended)
    lines = [json.loads(x)["line"] for x in out.getvalue().splitlines() if '"type": "event"' in x]
    assert lines == [10, 20, 30, 60, 70, 80]
    assert err.getvalue() == ("runwatch: train: 2 earlier events not printed (more came in one read than line mode "
                              "keeps; `runwatch parse --output jsonl` lists every one)\n")


def test_a_previews_fatal_events_print_at_once_its_others_in_the_order_of_the_history() -> None:
    """A new user's review: `tail` of a big log printed the events of its tail (the preview) first and then
    those of its history, the oldest checkpoint after the newest. Now a preview prints only what is fatal
    (a crash at the end of a big log is news now, and prints once); the rest wait for the history."""
    clock = Clock()
    preview = snap(previewing=True, events=(_event("checkpoint_saved", 3, 900), _event("traceback", 7, 950)),
                   events_seen=2)
    history = snap(events=(_event("checkpoint_saved", 100, 100), _event("checkpoint_saved", 1003, 900),
                           _event("traceback", 1007, 950)), events_seen=3)
    source = FakeSource([[preview], [history], [history]], clock)
    out = io.StringIO()
    HeadlessPrinter(out, io.StringIO(), interval=3600.0, as_json=True, clock=clock).run(
        source, lambda: False, lambda snaps: source.all_ended)
    said = [(e["event"], e["line"]) for e in map(json.loads, out.getvalue().splitlines()) if e["type"] == "event"]
    assert said == [("traceback", 7), ("checkpoint_saved", 100), ("checkpoint_saved", 1003)]


def test_tail_of_a_log_with_hundreds_of_events_prints_them_in_order_and_counts_those_it_could_not(
    tmp_path: Path,
) -> None:
    """The review's case on a real recording: 150 nanoGPT runs one after another in one log (each saves two
    checkpoints; each after the first is a restart), read by the engine and printed as `tail --json` does.
    Every event is printed or counted, and those printed come in the order of the log."""
    from runwatch.engine import Engine, EngineOptions

    one = (FIXTURES / "realruns/nanogpt-tb-healthy/run/train.log").read_bytes()
    log = tmp_path / "train.log"
    log.write_bytes(one * 150)
    out, err = io.StringIO(), io.StringIO()
    with Engine([str(log)], EngineOptions(poll_interval=0.1)) as eng:
        snaps = HeadlessPrinter(out, err, interval=3600.0, as_json=True).run(
            eng, lambda: False, lambda s: bool(s) and s[0].records > 0 and not s[0].reading_history)
    events = [e for e in map(json.loads, out.getvalue().splitlines()) if e["type"] == "event"]
    missed = sum(int(x.split(" earlier events")[0].rpartition(" ")[2]) for x in err.getvalue().splitlines())
    checkpoints = one.count(b"saving checkpoint") * 150
    assert checkpoints == 300 and snaps[0].events_seen == checkpoints + 149
    assert len(events) + missed == snaps[0].events_seen
    lines = [e["line"] for e in events]
    assert lines == sorted(lines) and len(set(lines)) == len(lines)


def test_tail_of_a_key_value_log_that_crashed_reads_crashed_with_the_crash_firing(tmp_path: Path) -> None:
    """A new user's review: `tail` of a key=value log that ended in a traceback read `[running]`, its crash
    alert fired and resolved in the same second (the held steps came after the crash, a new attempt)."""
    from runwatch.alerting import Alerting
    from runwatch.config import load_config
    from runwatch.engine import Engine, EngineOptions

    log = kv_run_that_raised(tmp_path / "train.log")
    out, err = io.StringIO(), io.StringIO()
    alerting = lambda: Alerting(load_config(None), persist=False)  # noqa: E731
    with Engine([str(log)], EngineOptions(poll_interval=0.1), alerting=alerting) as eng:
        [snap] = HeadlessPrinter(out, err, interval=3600.0).run(
            eng, lambda: False, lambda s: bool(s) and s[0].records > 0 and not s[0].reading_history
            and any(a.rule == "crash" for a in s[0].alerts))
    assert snap.state == RunState.CRASHED and snap.progress.step == 60
    assert [(a.rule, a.state) for a in snap.alerts] == [("crash", AlertState.FIRING)]
    assert "RESOLVED" not in out.getvalue()


def test_a_ctrl_c_is_printed_as_an_event() -> None:
    """A new user's review: an HF Trainer run stopped with Ctrl-C (`KeyboardInterrupt`, a `signal` event, no
    crash) printed nothing in line mode or `--json`; the run just went quiet."""
    stop = Record(Kind.EVENT, step=244, event="signal", source="logs/train.log", line=3702, message="KeyboardInterrupt")
    clock = Clock()
    source = FakeSource([[snap(events=(stop,), events_seen=1)]], clock)
    for as_json in (False, True):
        out = io.StringIO()
        HeadlessPrinter(out, io.StringIO(), interval=3600.0, as_json=as_json, clock=clock).run(
            source, lambda: False, lambda snaps: True)
        said = [x for x in out.getvalue().splitlines() if "signal" in x]
        assert len(said) == 1 and "KeyboardInterrupt" in said[0], out.getvalue()


def test_a_small_mfu_keeps_two_significant_figures() -> None:
    """nanoGPT on a small GPU prints `mfu 0.01%`; the status line and the MFU chart title read `0.0%` (a review)."""
    assert [fmt_value("mfu", v) for v in (0.01, 0.0134, 0.5, 1.0, 37.42, 0.0)] == \
        ["0.01%", "0.013%", "0.5%", "1.0%", "37.4%", "0.0%"]


def test_the_events_of_a_run_with_no_steps_are_placed_at_records() -> None:
    """A review: `check` said a log of loss lines with no step counter had `no steps` (its alerts `first record 779`),
    and `tail -` printed `checkpoint_saved at step 247`, a record's number called a step. (The log is read as the
    generic `kv` here, as it was then: its own format, `quickstart`, now finds its steps in its sample counts.)"""
    import gzip
    import subprocess
    import sys

    data = gzip.decompress((FIXTURES / "found" / "asl_tab_stamped_launches.log.gz").read_bytes())
    p = subprocess.run([sys.executable, "-m", "runwatch", "tail", "-", "--headless", "--format", "kv", "--interval", "60"], input=data,
                       capture_output=True, timeout=120)
    events = [line for line in p.stdout.decode().splitlines() if " ! " in line]
    assert any(" ! checkpoint_saved at record 247: " in line for line in events), events[:3]
    assert not any(" at step " in line for line in events), events
