"""InotifyNotifier against the real kernel: what it delivers, what it gathers, trees, deaths."""

from __future__ import annotations

import os
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.waiting import wait_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")

if sys.platform.startswith("linux"):
    from runwatch.watcher.inotify import _HEADER, IN_Q_OVERFLOW, InotifyNotifier


class Heard:
    """Paths delivered, in order, from the reader thread."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, path: str) -> None:
        with self.lock:
            self.paths.append(path)

    def of(self, path: Path) -> int:
        with self.lock:
            return self.paths.count(str(path))

    def clear(self) -> None:
        with self.lock:
            self.paths.clear()


@pytest.fixture
def heard() -> Heard:
    return Heard()


@pytest.fixture
def notifier(heard: Heard) -> Iterator[InotifyNotifier]:
    n = InotifyNotifier(heard)
    n.start()
    yield n
    n.close()


def test_a_write_is_delivered_with_its_path(tmp_path: Path, notifier: InotifyNotifier, heard: Heard) -> None:
    notifier.watch(str(tmp_path), recursive=False)
    log = tmp_path / "train.log"
    with open(log, "ab") as f:
        f.write(b"step 1\n")
    wait_for(lambda: heard.of(log) > 0, timeout=2.0)


def test_writes_faster_than_the_gather_are_read_as_few_events(tmp_path: Path, heard: Heard) -> None:
    """What the reader is for: 500 writes of one line cost a handful of reads, not 500 deliveries
    (the kernel merges a repeated IN_MODIFY while the reader waits out its gather)."""
    notifier = InotifyNotifier(heard, gather_s=0.2)
    notifier.start()
    try:
        notifier.watch(str(tmp_path), recursive=False)
        log = tmp_path / "train.log"
        log.touch()
        wait_for(lambda: heard.of(log) > 0, timeout=2.0)
        heard.clear()
        with open(log, "ab", buffering=0) as f:
            for i in range(500):
                f.write(f"step {i}\n".encode())
        wait_for(lambda: heard.of(log) > 0, timeout=2.0)
        threading.Event().wait(0.5)  # two more gathers: whatever else was coming has come
        assert 1 <= heard.of(log) <= 10, heard.of(log)
    finally:
        notifier.close()


def test_a_tree_made_at_once_is_watched_and_what_it_held_delivered(
        tmp_path: Path, notifier: InotifyNotifier, heard: Heard) -> None:
    """torchrun's --log-dir makes `<id>/attempt_0/0/` and writes in it at once: the files may be
    there before the new directories are watched, so the walk delivers them; writes after it are
    events of their own."""
    notifier.watch(str(tmp_path), recursive=True)
    deep = tmp_path / "logs" / "attempt_0" / "0"
    deep.mkdir(parents=True)
    log = deep / "stdout.log"
    log.write_text("step 1\n")
    wait_for(lambda: heard.of(log) > 0, timeout=2.0)
    threading.Event().wait(0.2)
    heard.clear()
    with open(log, "a") as f:
        f.write("step 2\n")
    wait_for(lambda: heard.of(log) > 0, timeout=2.0)


def test_a_directory_moved_into_a_tree_is_watched(tmp_path: Path, notifier: InotifyNotifier, heard: Heard) -> None:
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    tree.mkdir()
    (outside / "run").mkdir(parents=True)
    notifier.watch(str(tree), recursive=True)
    os.rename(outside, tree / "moved")
    log = tree / "moved" / "run" / "train.log"
    wait_for(lambda: heard.of(tree / "moved") > 0, timeout=2.0)
    log.write_text("x\n")
    wait_for(lambda: heard.of(log) > 0, timeout=2.0)


def test_a_deleted_root_is_dead_and_unwatch_stops_deliveries(
        tmp_path: Path, notifier: InotifyNotifier, heard: Heard) -> None:
    gone, kept = tmp_path / "gone", tmp_path / "kept"
    gone.mkdir()
    kept.mkdir()
    a = notifier.watch(str(gone), recursive=True)
    b = notifier.watch(str(kept), recursive=False)
    assert notifier.alive(a) and notifier.alive(b)
    shutil.rmtree(gone)
    wait_for(lambda: not notifier.alive(a), timeout=2.0)
    assert notifier.alive(b)
    notifier.unwatch(b)
    assert not notifier.alive(b)
    (kept / "x.log").write_text("x\n")
    threading.Event().wait(0.3)
    assert heard.of(kept / "x.log") == 0


def test_a_receiver_that_raises_does_not_end_the_reader(tmp_path: Path) -> None:
    calls: list[str] = []

    def deliver(path: str) -> None:
        calls.append(path)
        raise RuntimeError("a bug in a receiver")

    notifier = InotifyNotifier(deliver)
    notifier.start()
    try:
        root = notifier.watch(str(tmp_path), recursive=False)
        (tmp_path / "a").write_text("1")
        wait_for(lambda: str(tmp_path / "a") in calls, timeout=2.0)
        (tmp_path / "b").write_text("2")
        wait_for(lambda: str(tmp_path / "b") in calls, timeout=2.0)
        assert notifier.alive(root)
    finally:
        notifier.close()


def test_a_queue_overflow_wakes_everything_watched(tmp_path: Path, heard: Heard) -> None:
    """The kernel drops events when its queue is full and says so once: every watched entry is woken
    (each follower then looks for itself)."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "rank1.log").write_text("")
    (tmp_path / "rank0.log").write_text("")
    notifier = InotifyNotifier(heard)  # not started: the overflow is handed in as the reader would
    try:
        notifier.watch(str(tmp_path), recursive=True)
        notifier._handle(_HEADER.pack(-1, IN_Q_OVERFLOW, 0, 0))
        assert heard.of(tmp_path / "rank0.log") == 1
        assert heard.of(tmp_path / "sub" / "rank1.log") == 1
    finally:
        notifier.close()


def test_a_missing_directory_is_refused(tmp_path: Path, notifier: InotifyNotifier) -> None:
    with pytest.raises(FileNotFoundError):
        notifier.watch(str(tmp_path / "nope"), recursive=False)
