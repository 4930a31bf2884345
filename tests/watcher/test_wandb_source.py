"""WandbSource on real run directories: finding the run, catching up, growth, new runs, a live writer."""

from __future__ import annotations

import importlib.util
import os
import random
import shutil
import threading
import time
from pathlib import Path

import pytest
from watchdog.observers.polling import PollingObserver

from runwatch.model import Event, Kind, Record
from runwatch.parsers.wandb import WandbDecoder
from runwatch.watcher.notify import WatchHub
from runwatch.watcher.types import ItemBatch, Notice
from runwatch.watcher.wandb_file import read_records
from runwatch.watcher.wandb_source import FLUSH_NOTE, WandbSource, find_run_file, is_wandb_path
from runwatch.watcher.watchdog_notify import WatchdogNotifier
from tests.support.waiting import wait_for
from tests.support.wandb_run import finish_writer, main_run_file, start_writer

needs_wandb = pytest.mark.skipif(importlib.util.find_spec("wandb") is None, reason="needs the wandb package")
FAST = 0.02


class Collector:
    """What a source delivered, safe to read from the test thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.batches: list[ItemBatch] = []
        self.notices: list[Notice] = []

    def on_batch(self, batch: ItemBatch) -> None:
        with self._lock:
            self.batches.append(batch)

    def on_notice(self, notice: Notice) -> None:
        with self._lock:
            self.notices.append(notice)

    def items(self) -> list[object]:
        with self._lock:
            return [item for b in self.batches for item in b.items]

    def said(self, word: str) -> list[str]:
        with self._lock:
            return [n.message for n in self.notices if word in n.message]


@pytest.fixture
def got() -> Collector:
    return Collector()


@pytest.fixture(scope="session")
def run_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("wandb") is None:
        pytest.skip("needs the wandb package")
    return main_run_file(tmp_path_factory)


def follow(path: Path, got: Collector, **kwargs: object) -> WandbSource:
    kwargs.setdefault("poll_interval", FAST)
    kwargs.setdefault("use_inotify", False)
    return WandbSource(path, got.on_batch, got.on_notice, **kwargs)  # type: ignore[arg-type]


def make_run(root: Path, name: str, data: bytes = b"") -> Path:
    """`root/wandb/<name>/run-<id>.wandb` holding `data`, and `latest-run` pointing at it."""
    run_dir = root / "wandb" / name
    run_dir.mkdir(parents=True)
    path = run_dir / f"run-{name.rsplit('-', 1)[-1]}.wandb"
    path.write_bytes(data)
    latest = root / "wandb" / "latest-run"
    if latest.is_symlink():
        latest.unlink()
    latest.symlink_to(name)
    return path


# ── finding the run ──────────────────────────────────────────────────────────


def test_find_run_file_understands_every_form(tmp_path: Path) -> None:
    tmp_path = tmp_path.resolve()
    old = make_run(tmp_path, "offline-run-20260101_100000-aaaa")
    new = make_run(tmp_path, "run-20260102_100000-bbbb")
    wandb_dir = tmp_path / "wandb"
    assert find_run_file(new) == new
    assert find_run_file(old.parent) == old
    assert find_run_file(wandb_dir / "latest-run") == new
    assert find_run_file(wandb_dir) == new
    assert find_run_file(tmp_path) == new  # a project directory holding wandb/
    (wandb_dir / "latest-run").unlink()
    assert find_run_file(wandb_dir) == new  # the latest start time in the name
    assert find_run_file(tmp_path / "nope") is None
    assert find_run_file(tmp_path / "nope.wandb") is None
    assert all(is_wandb_path(p) for p in (new, old.parent, wandb_dir, tmp_path / "later.wandb"))
    assert not is_wandb_path(tmp_path / "train.log")


# ── following ────────────────────────────────────────────────────────────────


@needs_wandb
def test_an_existing_run_is_read_as_history_then_marked_caught_up(run_file: Path, tmp_path: Path,
                                                                  got: Collector) -> None:
    path = make_run(tmp_path, "offline-run-20260101_100000-aaaa", run_file.read_bytes())
    expected = read_records(path)
    with follow(tmp_path / "wandb", got, window=16384):
        wait_for(lambda: any(not b.history and not b.items for b in got.batches))
    assert got.items() == expected
    assert all(b.kind == "wandb" and b.source == str(tmp_path / "wandb") for b in got.batches)
    assert all(b.history for b in got.batches if b.items) and len(got.batches) > 2
    first = got.notices[0].message
    assert "WANDB_X_TRANSACTION_LOG_FLUSH_INTERVAL=1" in first and FLUSH_NOTE in first


@needs_wandb
def test_a_run_that_appears_later_and_grows_in_pieces_is_read_once_in_order(
    run_file: Path, tmp_path: Path, got: Collector
) -> None:
    data = run_file.read_bytes()
    hub = WatchHub(lambda deliver: WatchdogNotifier(PollingObserver(timeout=0.05), deliver))  # no kernel limits
    with follow(tmp_path / "wandb", got, hub=hub, poll_interval=0.5):
        wait_for(lambda: got.said("waiting for a W&B run"))
        assert "WANDB_X_TRANSACTION_LOG_FLUSH_INTERVAL" in got.notices[0].message
        path = make_run(tmp_path, "offline-run-20260101_100000-aaaa")
        rng, pos = random.Random(7), 0
        with open(path, "ab") as f:
            while pos < len(data):
                step = rng.choice([3, 50, 700, 9000, 40000])
                f.write(data[pos:pos + step])
                f.flush()
                pos += step
                time.sleep(0.002)
        expected = read_records(path)
        wait_for(lambda: len(got.items()) >= len(expected), timeout=10)
        time.sleep(0.1)
    assert got.items() == expected
    assert not hub.running


@needs_wandb
def test_a_new_run_in_the_wandb_directory_is_followed_next(run_file: Path, tmp_path: Path, got: Collector) -> None:
    data = run_file.read_bytes()
    first = make_run(tmp_path, "offline-run-20260101_100000-aaaa", data)
    with follow(tmp_path / "wandb", got):
        wait_for(lambda: len(got.items()) == len(read_records(first)))
        second = make_run(tmp_path, "offline-run-20260101_110000-bbbb", data)
        wait_for(lambda: len(got.items()) == 2 * len(read_records(second)))
        assert got.said("a new W&B run started")


@needs_wandb
def test_a_replaced_file_is_read_from_its_start(run_file: Path, tmp_path: Path, got: Collector) -> None:
    data = run_file.read_bytes()
    path = tmp_path / "run-x.wandb"
    path.write_bytes(data)
    n = len(read_records(path))
    with follow(path, got):
        wait_for(lambda: len(got.items()) == n)
        tmp = tmp_path / "new.tmp"
        shutil.copyfile(run_file, tmp)
        os.replace(tmp, path)
        wait_for(lambda: len(got.items()) == 2 * n)
        assert got.said("replaced")


def test_a_file_that_is_no_wandb_log_is_reported_once(tmp_path: Path, got: Collector) -> None:
    path = tmp_path / "run-x.wandb"
    path.write_bytes(b"definitely not a transaction log")
    with follow(path, got):
        wait_for(lambda: got.said("not a W&B transaction log"))
        time.sleep(0.1)
    assert len(got.said("not a W&B transaction log")) == 1 and got.items() == []


def test_stop_is_prompt_while_waiting(tmp_path: Path, got: Collector) -> None:
    source = follow(tmp_path / "wandb", got, poll_interval=30.0)
    source.start()
    wait_for(lambda: got.notices)
    started = time.monotonic()
    source.stop()
    source.join(5)
    assert not source.is_alive() and time.monotonic() - started < 2


@needs_wandb
def test_a_run_followed_while_the_sdk_writes_it(tmp_path: Path, got: Collector) -> None:
    steps = 30
    rows = [{"train/loss": 1.0 / (i + 1), "train/grad_norm": float(i)} for i in range(steps)]
    decoder, records = WandbDecoder(), []
    seen_live = threading.Event()

    def on_batch(batch: ItemBatch) -> None:
        got.on_batch(batch)
        records.extend(decoder.feed(batch.items, batch.t))

    proc = start_writer(tmp_path, rows, delay=0.1)
    try:
        source = WandbSource(tmp_path / "wandb", on_batch, got.on_notice, poll_interval=0.05, use_inotify=False)
        with source:
            def live_step() -> bool:
                if any(r.kind == Kind.STEP for r in list(records)) and proc.poll() is None:
                    seen_live.set()
                return seen_live.is_set() or proc.poll() is not None

            wait_for(live_step, timeout=60)
            finish_writer(proc)
            wait_for(lambda: any(r.event == Event.FINISHED for r in list(records)), timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert seen_live.is_set(), "no step arrived while the writer was still logging"
    step_recs: list[Record] = [r for r in records if r.kind == Kind.STEP]
    assert [r.step for r in step_recs] == list(range(steps))
    assert [r.metrics["loss"] for r in step_recs] == [1.0 / (i + 1) for i in range(steps)]
    assert len([b for b in got.batches if b.items]) >= 2  # arrived over time, not in one read at the end


@needs_wandb
def test_a_bad_chunk_is_waited_on_said_then_skipped(run_file: Path, tmp_path: Path, got: Collector,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from runwatch.watcher import wandb_source
    from tests.support.wandb_chunks import full_chunk

    monkeypatch.setattr(wandb_source, "STUCK_NOTICE_S", 0.1)
    data = bytearray(run_file.read_bytes())
    full = read_records(run_file)
    pos, before = full_chunk(bytes(data), 10)
    data[pos + 9] ^= 0x55
    path = tmp_path / "run-x.wandb"
    path.write_bytes(data)
    with follow(path, got, resync_after=0.6):
        wait_for(lambda: got.said("waiting for the writer"))
        assert got.items() == full[:before]
        wait_for(lambda: got.said("skipped"))
        wait_for(lambda: got.items()[-1:] == full[-1:])
    items = got.items()
    assert items[:before] == full[:before] and len(items) == len(set(items)) < len(full)
    assert "records in them are lost" in got.said("skipped")[0]
