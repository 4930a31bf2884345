"""The engine under its supervisor (issue 11): one bad line must not blind the daemon. Real corpus lines
(the 16,704-step nanochat run) with one number changed, real files and threads, a real webhook receiver."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runwatch.alerting import AlertFlags, Alerting, build_sinks
from runwatch.config import load_config
from runwatch.engine import Engine, EngineOptions
from runwatch.model import AlertState, Record
from runwatch.parsers.source import SourceParser
from runwatch.present import status_line, status_object
from runwatch.state.run import RunTracker
from tests.support.nanochat import step_lines, with_nan_at
from tests.support.receiver import Receiver
from tests.support.snapshots import alerts_of
from tests.support.waiting import wait_for

OPTIONS = EngineOptions(poll_interval=0.1, system=False)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def engine_with_webhook(log: Path, url: str) -> Engine:
    config = load_config(None)
    sinks = build_sinks(AlertFlags(webhook=url).sink_configs())
    return Engine([str(log)], OPTIONS, alerting=Alerting(config, sinks=sinks, persist=False))


def raise_in_apply(monkeypatch: pytest.MonkeyPatch, when: Callable[[Record], bool]) -> None:
    """RunTracker.apply raises the OverflowError a 309-digit step once raised, for each record `when` picks."""
    real = RunTracker.apply

    def apply(self: RunTracker, rec: Record, now: float) -> None:
        if when(rec):
            raise OverflowError("int too large to convert to float")
        real(self, rec, now)

    monkeypatch.setattr(RunTracker, "apply", apply)


def with_step_replaced(lines: list[str], step: int, text: str) -> list[str]:
    out = list(lines)
    i = next(i for i, ln in enumerate(out) if ln.startswith(f"step {step:05d}/"))
    out[i] = out[i].replace(f"step {step:05d}/", f"step {text}/", 1)
    return out


def test_step_over_308_digits_does_not_kill_engine(tmp_path: Path, receiver: Receiver) -> None:
    """Issue 11: `float(step)` raised OverflowError on the worker; the engine thread died and no rule ran
    again. Now the line is no step, and a NaN after it is still reported."""
    lines = step_lines()[:40]
    log = tmp_path / "train.log"
    log.write_text("\n".join(with_step_replaced(lines[:30], 20, "9" * 309)) + "\n")
    with engine_with_webhook(log, receiver.url) as eng:
        wait_for(lambda: eng.snapshots()[0].progress.step == 29)
        with log.open("a") as f:
            f.write("\n".join(with_nan_at(lines, 35)[30:]) + "\n")
        wait_for(lambda: alerts_of(eng.snapshots()).get("nonfinite") == AlertState.FIRING)
        wait_for(lambda: [a for a in receiver.delivered if a["rule"] == "nonfinite"])
        assert eng.snapshots()[0].degraded == ()
    assert not [a for a in receiver.delivered if a["rule"] == "runwatch_internal"]


def test_engine_worker_that_raises_is_restarted_reported_once_and_shown_degraded(
        tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any exception on the worker (here the one the 309-digit step raised in RunTracker) is logged,
    counted, sent once as a `runwatch_internal` critical alert, shown as `degraded`, and the worker
    goes on: the NaN that comes later is still judged."""
    lines = step_lines()[:40]
    log = tmp_path / "train.log"
    log.write_text("\n".join(lines[:30]) + "\n")
    failures = 0

    def twice_on_30_and_31(rec: Record) -> bool:
        nonlocal failures
        if failures < 2 and rec.step in (30, 31):
            failures += 1
            return True
        return False

    raise_in_apply(monkeypatch, twice_on_30_and_31)
    with engine_with_webhook(log, receiver.url) as eng:
        wait_for(lambda: eng.snapshots()[0].progress.step == 29)
        with log.open("a") as f:
            f.write(lines[30] + "\n")
        wait_for(lambda: eng.snapshots()[0].degraded)
        with log.open("a") as f:
            f.write(lines[31] + "\n")
        wait_for(lambda: eng.supervisor.failures == 2)
        with log.open("a") as f:
            f.write("\n".join(with_nan_at(lines, 35)[32:]) + "\n")
        wait_for(lambda: alerts_of(eng.snapshots()).get("nonfinite") == AlertState.FIRING)
        wait_for(lambda: [a for a in receiver.delivered if a["rule"] == "nonfinite"])
        snap = eng.snapshots()[0]
    internal = [a for a in receiver.delivered if a["rule"] == "runwatch_internal"]
    assert len(internal) == 1  # once per thread, however often it failed
    assert internal[0]["severity"] == "critical" and internal[0]["labels"] == {"thread": "runwatch-engine"}
    assert "OverflowError" in internal[0]["summary"]
    assert snap.degraded == ("runwatch-engine: OverflowError: int too large to convert to float (failed 2×, restarted)",)
    assert status_object(snap)["degraded"] == list(snap.degraded)
    assert "DEGRADED: 1 runwatch thread(s) failed" in status_line(snap)
    assert snap.progress.step == 39


def test_a_record_that_raises_costs_only_itself_not_its_batch(
        tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten lines in one write, the first of which trips a bug on the worker: the batch used to be dropped
    whole with it, and the NaN five lines later with it. Now only that record is left out; the failure
    is reported once (runwatch_internal, degraded) and the worker goes on without a restart."""
    lines = step_lines()[:40]
    log = tmp_path / "train.log"
    log.write_text("\n".join(lines[:30]) + "\n")
    raise_in_apply(monkeypatch, lambda rec: rec.step == 30)
    with engine_with_webhook(log, receiver.url) as eng:
        wait_for(lambda: eng.snapshots()[0].progress.step == 29)
        with log.open("a") as f:
            f.write("\n".join(with_nan_at(lines, 35)[30:]) + "\n")  # one write: one batch
        wait_for(lambda: alerts_of(eng.snapshots()).get("nonfinite") == AlertState.FIRING)
        wait_for(lambda: [a for a in receiver.delivered if a["rule"] == "runwatch_internal"])
        snap = eng.snapshots()[0]
        run = eng._ingest.find(snap.run)
        assert run is not None
        loss = run.tracker.store.get("loss")
        assert loss is not None
        steps = [int(x) for x in loss.recent()[0]]
    assert steps[-10:] == [29, 31, 32, 33, 34, 35, 36, 37, 38, 39]  # step 30 alone is left out
    assert snap.progress.step == 39
    assert eng.supervisor.failures == 1
    assert snap.degraded == ("runwatch-engine: OverflowError: int too large to convert to float (failed 1×, restarted)",)


def test_a_history_block_whose_parse_raises_is_read_a_line_at_a_time(
        tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """The history read at start-up goes in blocks of raw bytes; a bug that makes the block's parse raise
    used to drop the whole block (the NaN in it too). Now the block is parsed again line by line."""
    lines = with_nan_at(step_lines()[:40], 35)
    log = tmp_path / "train.log"
    log.write_text("\n".join(lines) + "\n")

    def broken(self: SourceParser, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("bulk reader bug")

    monkeypatch.setattr(SourceParser, "feed_bytes", broken)
    with engine_with_webhook(log, receiver.url) as eng:
        wait_for(lambda: alerts_of(eng.snapshots()).get("nonfinite") == AlertState.FIRING)
        wait_for(lambda: eng.snapshots()[0].degraded)  # reported once the batch is in
        snap = eng.snapshots()[0]
    assert snap.progress.step == 39
    assert eng.supervisor.failures == 1
    assert "RuntimeError: bulk reader bug" in snap.degraded[0]
