"""FileFollower on real files in tmp_path: growth, rotation, truncation, deletion, permissions."""

from __future__ import annotations

import gzip
import os
import shutil
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runwatch.watcher import polling, tail
from runwatch.watcher.hublink import HubLink
from runwatch.watcher.notify import Notifier, WatchHub
from runwatch.watcher.snapshot import split_block
from runwatch.watcher.tail import FileFollower, LineBatch, Notice, peek_tail, read_all
from tests.support.waiting import wait_for

FAST = 0.05  # poll interval for tests that do not measure inotify


class Collector:
    """Gathers what a follower delivers, safe to read from the test thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.batches: list[LineBatch] = []
        self.notices: list[Notice] = []

    def on_batch(self, batch: LineBatch) -> None:
        with self._lock:
            self.batches.append(batch)

    def on_notice(self, notice: Notice) -> None:
        with self._lock:
            self.notices.append(notice)

    def lines(self) -> list[str]:
        with self._lock:
            return [line for b in self.batches for line in texts(b)]

    def numbered(self) -> list[tuple[int, str]]:
        with self._lock:
            return [(b.first_line + i, line) for b in self.batches for i, line in enumerate(texts(b))]

    def said(self, word: str) -> list[Notice]:
        with self._lock:
            return [n for n in self.notices if word in n.message]


def texts(batch: LineBatch) -> list[str]:
    """A batch's lines, split as the engine splits a raw block."""
    return split_block(batch.raw) if batch.raw else batch.lines


@pytest.fixture
def got() -> Collector:
    return Collector()


@pytest.fixture(params=[False, True], ids=["lines", "raw"])
def raw_history(request: pytest.FixtureRequest) -> Iterator[bool]:
    """Both ways a follower hands over its history: as lines, or as raw blocks of plain lines."""
    yield request.param


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "train.log"


def follow(path: Path, got: Collector, **kwargs: object) -> FileFollower:
    kwargs.setdefault("poll_interval", FAST)
    return FileFollower(path, got.on_batch, got.on_notice, **kwargs)  # type: ignore[arg-type]


def append(path: Path, data: str | bytes) -> None:
    with open(path, "ab") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def numbers(start: int, stop: int) -> str:
    return "".join(f"line {i}\n" for i in range(start, stop))


def expect(start: int, stop: int) -> list[str]:
    return [f"line {i}" for i in range(start, stop)]


@pytest.fixture(params=[True, False], ids=["inotify", "poll"])
def use_inotify(request: pytest.FixtureRequest) -> Iterator[bool]:
    yield request.param


def test_history_then_growth(log: Path, got: Collector, use_inotify: bool, raw_history: bool) -> None:
    append(log, numbers(0, 100))
    with follow(log, got, use_inotify=use_inotify, chunk_size=256, raw_history=raw_history):
        wait_for(lambda: len(got.lines()) == 100)
        append(log, numbers(100, 110))
        wait_for(lambda: len(got.lines()) == 110)
    assert got.lines() == expect(0, 110)
    assert got.numbered()[-1] == (110, "line 109")
    assert len(got.batches) > 2  # one batch per chunk, not one per file
    assert all(b.history for b in got.batches if b.first_line <= 90)
    assert not got.batches[-1].history
    assert {b.source for b in got.batches} == {str(log)}
    assert all(bool(b.raw) == (raw_history and b.history) for b in got.batches if b.count)


def noisy_history(lines: int = 3000) -> bytes:
    """Plain lines among colours, CRLF, progress frames, invalid UTF-8, blank and over-long lines."""
    out = []
    for i in range(lines):
        out.append(f"step {i:05d} | loss: {i / 7:.6f}\n".encode())
        if i % 97 == 0:
            out.append(b"\x1b[1m\x1b[32mINFO\x1b[0m colours\n" + b"crlf line\r\n" + b"\xff\xfe bad \xc3\n" + b"\n")
        if i % 211 == 0:
            out.append(b"\r 1/3\r 2/3\r 2/3" * 30 + b"\n")  # frames, some across a read
        if i % 1009 == 0:
            out.append(b"y" * 300 + b"\n")  # over the cap of the test's followers
    return b"".join(out) + b"unterminated"


def history_read(batches: list[LineBatch]) -> bool:
    return any(not b.history and not b.count for b in batches)  # the end-of-history marker


@pytest.mark.parametrize("chunk_size", [777, 4096, 1 << 20])
@pytest.mark.parametrize("plain_stretch", [False, True])
def test_raw_history_holds_the_lines_the_splitter_gives(log: Path, chunk_size: int, plain_stretch: bool) -> None:
    """One read of the whole file, odd lines (over-long, frames) among plain ones: only a stretch of plain
    lines worth a parser's block call (RAW_MIN_BYTES) goes raw, whatever the follower's chunk size (a history's
    read goes to the splitter whole); the lines are the splitter's either way."""
    from runwatch.watcher.lines import RAW_MIN_BYTES

    stretch = numbers(0, 9000).encode() if plain_stretch else b""
    assert len(stretch) >= RAW_MIN_BYTES or not plain_stretch
    history = noisy_history()
    append(log, history[: len(history) // 2] + stretch + history[len(history) // 2 :])
    runs = []
    for raw_history in (False, True):
        got = Collector()
        with follow(log, got, chunk_size=chunk_size, max_line=200, raw_history=raw_history) as follower:
            wait_for(lambda got=got: history_read(got.batches))
        runs.append((got, follower))
    (lines, per_line), (raw, fast) = runs
    assert raw.numbered() == lines.numbered()
    assert raw.lines()[-1] == "step 02999 | loss: 428.428571"  # the unterminated line waits for its end
    assert (fast.dropped_bytes, fast.truncated_lines) == (per_line.dropped_bytes, per_line.truncated_lines) != (0, 0)
    assert len(raw.said("was cut")) == len(lines.said("was cut")) == 1
    assert any(b.raw for b in raw.batches) == plain_stretch and not any(b.raw for b in lines.batches)
    if plain_stretch:  # the stretch and the plain lines up to the frames around it (every 211 steps) went raw
        assert 9000 < sum(b.count for b in raw.batches if b.raw) < 9000 + 2 * 250


def test_a_live_burst_goes_raw_and_a_trickle_as_lines(log: Path, got: Collector) -> None:
    """After the history, a read of at least BURST_BYTES (a catch-up, many ranks writing to one file) hands
    its plain lines over raw, flagged live, holding the very lines the splitter gives; a small read goes
    as lines. The unterminated line the burst leaves open waits for its end either way."""
    from runwatch.watcher.tail import BURST_BYTES

    append(log, numbers(0, 10))
    burst = numbers(10, 12_000).encode() + noisy_history(600)  # plain lines, then odd ones among them
    assert len(burst) > BURST_BYTES
    with follow(log, got, chunk_size=1 << 20, max_line=200, raw_history=True):
        wait_for(lambda: history_read(got.batches))
        append(log, burst)
        wait_for(lambda: got.lines()[-1:] == [f"step 00599 | loss: {599 / 7:.6f}"])
        append(log, "\nline 10\n")
        wait_for(lambda: got.lines()[-1:] == ["line 10"])
    live = [b for b in got.batches if not b.history and b.count]
    assert any(b.raw for b in live) and not live[-1].raw  # the burst raw, the last small read as lines
    lines = Collector()
    with follow(log, lines, chunk_size=1 << 20, max_line=200, raw_history=False):
        wait_for(lambda: history_read(lines.batches))
    assert got.numbered() == lines.numbered()


def test_lines_written_during_the_history_are_read_once(
    log: Path, got: Collector, raw_history: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tail, "RAW_READ_BYTES", 2048)  # several reads of history, one across its end
    append(log, numbers(0, 2000))
    extra = iter(range(2000, 2300, 10))

    def on_batch(batch: LineBatch) -> None:  # the file grows while its history is read
        got.on_batch(batch)
        first = next(extra, None)
        if first is not None:
            append(log, numbers(first, first + 10))

    follower = FileFollower(log, on_batch, got.on_notice, poll_interval=FAST, chunk_size=1024,
                            raw_history=raw_history)
    with follower:
        wait_for(lambda: len(got.lines()) == 2300)
    assert got.lines() == expect(0, 2300)
    assert [n for n, _ in got.numbered()] == list(range(1, 2301))
    assert any(b.history for b in got.batches) and any(not b.history and b.count for b in got.batches)


def test_partial_last_line_completed_later(log: Path, got: Collector) -> None:
    append(log, "step 1 loss 2.0\nstep 2 lo")
    with follow(log, got) as follower:
        wait_for(lambda: got.lines() == ["step 1 loss 2.0"])
        assert follower.position() is not None
        assert follower.position().offset == len("step 1 loss 2.0\n")  # type: ignore[union-attr]
        append(log, "ss 1.9\n")
        wait_for(lambda: len(got.lines()) == 2)
    assert got.lines() == ["step 1 loss 2.0", "step 2 loss 1.9"]


def test_progress_frames_crlf_ansi_and_junk(log: Path, got: Collector, raw_history: bool) -> None:
    append(log, b"\r 1/3\r 1/3\r 2/3\r 3/3\n" + b"win\r\n" + b"\x1b[32mgreen\x1b[0m\n" + b"\xff\x00\x1b]x\n")
    with follow(log, got, raw_history=raw_history):
        wait_for(lambda: len(got.lines()) == 6)
        append(log, "still alive\n")
        wait_for(lambda: got.lines()[-1:] == ["still alive"])
    assert got.lines() == [" 1/3", " 2/3", " 3/3", "win", "green", "\ufffd", "still alive"]


def test_hundred_megabyte_line_keeps_memory_bounded(log: Path, got: Collector) -> None:
    log.touch()
    block = b"x" * (1 << 20)
    with follow(log, got) as follower:
        tracemalloc.start()
        try:
            with open(log, "ab") as f:
                for _ in range(100):
                    f.write(block)
            append(log, "\nafter\n")
            wait_for(lambda: got.lines()[-1:] == ["after"], timeout=20)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        append(log, "and more\n")
        wait_for(lambda: got.lines()[-1:] == ["and more"])
    assert got.lines() == ["x" * 65536, "after", "and more"]
    assert follower.dropped_bytes == 100 * (1 << 20) - 65536
    assert follower.truncated_lines == 1
    assert peak < 10 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert len(got.said("was cut")) == 1


def test_rotation_by_rename_loses_and_repeats_nothing(
    log: Path, got: Collector, use_inotify: bool, raw_history: bool
) -> None:
    append(log, numbers(0, 50))
    with follow(log, got, use_inotify=use_inotify, raw_history=raw_history):
        wait_for(lambda: len(got.lines()) == 50)
        for rotation in range(1, 4):
            first = rotation * 50
            append(log, numbers(first, first + 25))  # written just before the rename: not yet read
            log.rename(log.with_suffix(f".log.{rotation}"))
            append(log, numbers(first + 25, first + 50))
            wait_for(lambda first=first: len(got.lines()) == first + 50)
    assert got.lines() == expect(0, 200)
    assert len(got.said("rotated")) == 3
    assert got.numbered()[-1] == (25, "line 199")  # numbering restarts with each new file


def test_copytruncate(log: Path, got: Collector, raw_history: bool) -> None:
    append(log, numbers(0, 20))
    with follow(log, got, raw_history=raw_history):
        wait_for(lambda: len(got.lines()) == 20)
        shutil.copy(log, log.with_suffix(".log.1"))
        with open(log, "r+b") as f:
            f.truncate(0)
        wait_for(lambda: got.said("truncated"))
        append(log, numbers(20, 25))
        wait_for(lambda: len(got.lines()) == 25)
    assert got.lines() == expect(0, 25)
    assert got.numbered()[20] == (1, "line 20")


def test_a_compressed_log_is_read_once_as_its_text_and_a_new_one_at_its_path_again(
    tmp_path: Path, got: Collector, raw_history: bool
) -> None:
    """Its compressed bytes were read as lines of text; now its text is the history, and the file is at its
    end until another takes its place (a rotation that compresses)."""
    packed = tmp_path / "train.log.gz"
    packed.write_bytes(gzip.compress((numbers(0, 3000) + "line 3000").encode()))  # the last line unended
    with follow(packed, got, chunk_size=4096, raw_history=raw_history):
        wait_for(lambda: any(not b.history and not b.count for b in got.batches))  # the history's end
        assert got.lines() == expect(0, 3001)
        assert all(b.history for b in got.batches if b.count)
        assert any(b.raw for b in got.batches) == raw_history  # runs of plain lines raw, as a history's go
        renamed = tmp_path / "next.gz"
        renamed.write_bytes(gzip.compress(numbers(5000, 5010).encode()))
        os.replace(renamed, packed)
        wait_for(lambda: len(got.lines()) == 3011)
    assert got.lines()[3001:] == expect(5000, 5010)
    assert got.numbered()[3000] == (3001, "line 3000") and got.numbered()[3001] == (1, "line 5000")
    assert got.said("was replaced") and not got.said("ends early")


def test_a_compressed_log_cut_short_gives_what_decompressed_and_says_why(tmp_path: Path, got: Collector) -> None:
    whole = gzip.compress(numbers(0, 20000).encode())
    packed = tmp_path / "train.log.gz"
    packed.write_bytes(whole[: len(whole) // 2])  # gzipped while still written, or a copy cut off
    with follow(packed, got):
        wait_for(lambda: got.said("ends early"))
        lines = got.lines()
    assert 1000 < len(lines) < 20000 and lines[:-1] == expect(0, len(lines) - 1)
    [notice] = got.said("ends early")
    assert notice.message == f"{packed}: its gzip data ends early (cut short, or still being written): read up to the cut"


def test_truncate_and_rewrite_past_the_offset_between_polls(log: Path, got: Collector, raw_history: bool) -> None:
    append(log, numbers(0, 5))
    with follow(log, got, use_inotify=False, poll_interval=0.3, raw_history=raw_history):
        wait_for(lambda: len(got.lines()) == 5)
        with open(log, "r+b") as f:  # same inode, new content longer than what we read
            f.truncate(0)
            f.write(numbers(100, 120).encode())
        wait_for(lambda: len(got.lines()) == 25)
    assert got.lines() == expect(0, 5) + expect(100, 120)
    assert got.said("rewritten") or got.said("truncated")


def test_delete_and_recreate(log: Path, got: Collector, raw_history: bool) -> None:
    append(log, numbers(0, 10))
    with follow(log, got, raw_history=raw_history):
        wait_for(lambda: len(got.lines()) == 10)
        log.unlink()
        wait_for(lambda: got.said("vanished"))
        append(log, numbers(10, 15))
        wait_for(lambda: len(got.lines()) == 15)
    assert got.lines() == expect(0, 15)
    assert got.numbered()[10] == (1, "line 10")
    assert len(got.said("vanished")) == 1
    assert len(got.notices) == 1


def test_path_that_does_not_exist_yet(tmp_path: Path, got: Collector, use_inotify: bool) -> None:
    log = tmp_path / "later" / "train.log"  # its directory does not exist either
    with follow(log, got, use_inotify=use_inotify):
        wait_for(lambda: got.notices)
        time.sleep(3 * FAST)  # a few more polls: still one notice
        log.parent.mkdir()
        append(log, numbers(0, 3))
        wait_for(lambda: len(got.lines()) == 3)
    assert [n.message for n in got.notices] == [f"waiting for {log} to appear"]
    assert got.notices[0].level == "info"
    assert not any(b.history for b in got.batches)  # written after we started


def test_permission_denied_is_reported_once_and_recovers(
    log: Path, got: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    append(log, numbers(0, 3))
    denied = threading.Event()
    denied.set()
    real_open = tail._open_file

    def fake_open(path: Path) -> int:
        if denied.is_set():
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path)

    monkeypatch.setattr(tail, "_open_file", fake_open)
    with follow(log, got):
        wait_for(lambda: got.said("permission denied"))
        time.sleep(3 * FAST)
        denied.clear()
        wait_for(lambda: len(got.lines()) == 3)
    assert [n.level for n in got.notices] == ["error", "info"]
    assert "readable again" in got.notices[1].message


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads a chmod 000 file anyway")
def test_permission_denied_with_chmod(log: Path, got: Collector) -> None:
    append(log, numbers(0, 3))
    log.chmod(0)
    try:
        with follow(log, got):
            wait_for(lambda: got.said("permission denied"))
            log.chmod(0o644)
            wait_for(lambda: len(got.lines()) == 3)
    finally:
        log.chmod(0o644)
    assert got.said("readable again")


def test_inotify_wakes_long_before_the_poll(log: Path, got: Collector) -> None:
    log.touch()
    with follow(log, got, poll_interval=30.0) as f:
        f.ready.wait(5)  # the first round opened the file and went to sleep
        started = time.time()
        append(log, "step 1\n")
        wait_for(lambda: got.lines() == ["step 1"], timeout=2.0)
    assert got.batches[0].t - started < 0.5


def test_a_burst_of_writes_is_read_in_a_few_looks_not_one_per_write(log: Path, got: Collector) -> None:
    """A log written a line at a time: each write is a file event; the follower lets a burst gather
    (GATHER_S) and reads it in one look, the daemon's CPU at 150 lines/s halved."""
    log.touch()
    with follow(log, got, poll_interval=30.0) as f:
        f.ready.wait(5)
        started = time.monotonic()
        with open(log, "ab", buffering=0) as out:
            for i in range(60):
                out.write(f"line {i}\n".encode())
                time.sleep(0.002)
        took = time.monotonic() - started
        wait_for(lambda: len(got.lines()) == 60, timeout=5.0)
    assert got.lines() == expect(0, 60)
    assert len(got.batches) <= took / polling.GATHER_S + 3  # a look per gathering, not one per write


def test_a_write_after_a_quiet_spell_is_read_at_once_and_the_next_waits_its_turn(
    log: Path, got: Collector, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Gathering is a rate limit, not a delay: the first write after a quiet spell is read at once (a
    lone NaN line is not held back), one that follows a look closely waits until GATHER_S has passed."""
    monkeypatch.setattr(polling, "GATHER_S", 1.5)
    log.touch()
    with follow(log, got, poll_interval=30.0) as f:
        f.ready.wait(5)
        time.sleep(1.6)  # quiet for longer than GATHER_S
        append(log, "step 1\n")
        wait_for(lambda: got.lines() == ["step 1"], timeout=1.0)  # at once, not after 1.5 s
        append(log, "step 2\n")
        time.sleep(0.5)
        assert got.lines() == ["step 1"]  # too soon after the last look
        wait_for(lambda: got.lines() == ["step 1", "step 2"], timeout=3.0)


def test_polling_only_starts_no_observer(log: Path, got: Collector) -> None:
    log.touch()
    with follow(log, got, use_inotify=False, poll_interval=0.1) as f:
        f.ready.wait(5)
        started = time.time()
        append(log, "step 1\n")
        wait_for(lambda: got.lines() == ["step 1"])
        assert not [t for t in threading.enumerate() if t.name == "runwatch-notify"]
    assert got.batches[0].t - started < 0.1 + 0.5


def test_no_inotify_falls_back_to_polling_with_a_warning(log: Path, got: Collector) -> None:
    def broken(deliver: Callable[[str], None]) -> Notifier:
        raise OSError(24, "Too many open files")

    append(log, "a\n")
    with follow(log, got, hub=WatchHub(broken)):
        wait_for(lambda: got.lines() == ["a"])
        append(log, "b\n")
        wait_for(lambda: got.lines() == ["a", "b"])
    assert [n.level for n in got.notices] == ["warning"]
    assert "polling every" in got.notices[0].message


def test_followers_share_one_observer(tmp_path: Path, got: Collector) -> None:
    hub = WatchHub()
    logs = [tmp_path / f"rank{i}.log" for i in range(4)]
    followers = [follow(p, got, hub=hub, rank=i, poll_interval=30.0) for i, p in enumerate(logs)]
    for p in logs:
        p.touch()
    for f in followers:
        f.start()
    try:
        wait_for(lambda: hub.running)
        for f in followers:
            f.ready.wait(5)
        for i, p in enumerate(logs):
            append(p, f"rank {i} step 1\n")
        wait_for(lambda: len(got.lines()) == 4, timeout=2.0)
        assert len([t for t in threading.enumerate() if t.name == "runwatch-notify"]) == 1
    finally:
        for f in followers:
            f.stop()
        for f in followers:
            f.join(5)
    assert not hub.running
    assert sorted((b.rank, b.lines[0]) for b in got.batches) == [(i, f"rank {i} step 1") for i in range(4)]


def test_from_end_delivers_only_new_lines(log: Path, got: Collector) -> None:
    append(log, numbers(0, 10))
    with follow(log, got, from_start=False):
        time.sleep(2 * FAST)
        append(log, numbers(10, 12))
        wait_for(lambda: len(got.lines()) == 2)
    assert got.numbered() == [(11, "line 10"), (12, "line 11")]


def test_resume_from_saved_position(log: Path, got: Collector, raw_history: bool) -> None:
    append(log, numbers(0, 10) + "partial")
    with follow(log, got, raw_history=raw_history) as first:
        wait_for(lambda: len(got.lines()) == 10)
    saved = first.position()
    assert saved is not None and saved.offset == len(numbers(0, 10))
    append(log, " line\n" + numbers(11, 13))
    again = Collector()
    with follow(log, again, resume=tuple(saved), raw_history=raw_history):
        wait_for(lambda: len(again.lines()) == 3)
    assert again.numbered() == [(11, "partial line"), (12, "line 11"), (13, "line 12")]
    assert not again.notices


def test_resume_with_a_replaced_file_reads_it_all(log: Path, got: Collector) -> None:
    append(log, numbers(0, 10))
    with follow(log, got) as first:
        wait_for(lambda: len(got.lines()) == 10)
    saved = first.position()
    assert saved is not None
    log.unlink()
    append(log, numbers(100, 103))
    again = Collector()
    with follow(log, again, resume=(saved.dev, saved.ino, saved.offset, saved.first_line_hash)):
        wait_for(lambda: len(again.lines()) == 3)
    assert again.lines() == expect(100, 103)
    assert again.said("no longer matches")


def test_stop_is_prompt_during_a_long_history(log: Path, got: Collector, raw_history: bool) -> None:
    append(log, numbers(0, 200_000))
    follower = follow(log, got, chunk_size=4096, raw_history=raw_history)
    follower.start()
    wait_for(lambda: got.batches)
    started = time.monotonic()
    follower.stop()
    follower.join(5)
    assert not follower.is_alive()
    assert time.monotonic() - started < 1.0


def test_a_failing_callback_is_reported_and_following_goes_on(log: Path) -> None:
    notices: list[Notice] = []
    seen: list[str] = []

    def on_batch(batch: LineBatch) -> None:
        if batch.lines[0] == "boom":
            raise RuntimeError("consumer bug")
        seen.extend(batch.lines)

    append(log, "boom\n")
    with FileFollower(log, on_batch, notices.append, poll_interval=FAST):
        wait_for(lambda: notices)
        append(log, "fine\n")
        wait_for(lambda: seen == ["fine"])
    assert "consumer bug" in notices[0].message and notices[0].level == "error"


def test_thread_name_and_bad_arguments(log: Path, got: Collector) -> None:
    assert follow(log, got).name.startswith("runwatch-")
    with pytest.raises(ValueError, match="poll_interval"):
        follow(log, got, poll_interval=0)


def test_read_all(log: Path) -> None:
    append(log, numbers(0, 1000) + "unterminated")
    batches = list(read_all(log, chunk_size=1024, rank=2))
    lines = [line for b in batches for line in b.lines]
    assert lines == expect(0, 1000) + ["unterminated"]
    assert [b.first_line for b in batches] == [
        1 + sum(len(b.lines) for b in batches[:i]) for i in range(len(batches))
    ]
    assert all(b.history and b.rank == 2 for b in batches)


def test_peek_tail(log: Path) -> None:
    append(log, numbers(0, 100_000) + "partial")
    lines = peek_tail(log, max_bytes=1000)
    assert lines[-1] == "line 99999"
    assert lines == expect(100_000 - len(lines), 100_000)  # no cut-off first line
    assert peek_tail(log, max_bytes=10**9)[0] == "line 0"


def test_peek_tail_window_starting_on_a_line(log: Path) -> None:
    append(log, "aaaa\nbbbb\ncccc\n")
    assert peek_tail(log, max_bytes=10) == ["bbbb", "cccc"]


def test_renamed_file_is_read_until_a_new_one_appears(log: Path, got: Collector) -> None:
    """A writer may keep its handle after the rename (delayed-create rotation): keep reading it."""
    append(log, numbers(0, 2))
    with follow(log, got):
        wait_for(lambda: len(got.lines()) == 2)
        old = log.with_suffix(".log.1")
        log.rename(old)
        append(old, numbers(2, 4))
        wait_for(lambda: len(got.lines()) == 4)
        wait_for(lambda: got.said("vanished"))
        append(log, numbers(4, 6))
        wait_for(lambda: len(got.lines()) == 6)
    assert got.lines() == expect(0, 6)
    assert [n.level for n in got.notices] == ["warning", "info"]
    assert "rotated" in got.notices[1].message


def test_parent_directory_deleted_and_recreated(tmp_path: Path, got: Collector) -> None:
    log = tmp_path / "run" / "train.log"
    log.parent.mkdir()
    append(log, numbers(0, 3))
    with follow(log, got, poll_interval=0.1):
        wait_for(lambda: len(got.lines()) == 3)
        shutil.rmtree(log.parent)
        wait_for(lambda: got.said("vanished"))
        log.parent.mkdir()
        append(log, numbers(3, 5))
        wait_for(lambda: len(got.lines()) == 5)
    assert got.lines() == expect(0, 5)
    assert got.numbered()[3] == (1, "line 3")


def test_hub_replaces_the_watch_of_a_deleted_directory(tmp_path: Path) -> None:
    directory = tmp_path / "run"
    directory.mkdir()
    woken = [threading.Event(), threading.Event()]
    with WatchHub() as hub:
        links = [HubLink(hub, e.set, lambda: [str(directory / "train.log")], print) for e in woken]
        for link in links:
            link.open()
            link.ensure()
        shutil.rmtree(directory)
        wait_for(lambda: not any(hub.alive(s) for link in links for s in link._subs))
        directory.mkdir()
        for link in links:
            link.ensure()
        for event in woken:
            event.clear()
        append(directory / "train.log", "x\n")
        wait_for(lambda: all(e.is_set() for e in woken), timeout=2.0)
        for link in links:
            link.close()
        assert hub.running  # still held by the `with`
    assert not hub.running


def test_hub_release_without_acquire_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="acquire"):
        WatchHub().release()
    with pytest.raises(RuntimeError, match="not running"):
        WatchHub().subscribe("/tmp/x.log", lambda: None)


def test_symlinked_log_wakes_on_appends_to_its_target(tmp_path: Path, got: Collector) -> None:
    target = tmp_path / "runs" / "42" / "train.log"
    target.parent.mkdir(parents=True)
    target.touch()
    link = tmp_path / "latest.log"
    link.symlink_to(target)
    with follow(link, got, poll_interval=30.0) as f:
        f.ready.wait(5)
        append(target, "step 1\n")
        wait_for(lambda: got.lines() == ["step 1"], timeout=2.0)


def test_peek_tail_of_a_missing_file_is_empty(tmp_path: Path) -> None:
    assert peek_tail(tmp_path / "nope.log") == []


def test_raw_history_blocks_are_as_big_as_a_read(log: Path, got: Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    """The history goes to the parser a read at a time (RAW_READ_BYTES), its plain lines joined across the
    `chunk_size` pieces the splitter takes: the engine cuts a block into pieces a rule can see before it
    judges it (`Ingest.apply`), and a parser's fast path pays per block (tail's history of a Megatron log in
    1 MiB blocks cost a third more to parse than `runwatch parse` reading 8 MiB ones; cut at the read's size,
    a read that began inside a line went as two blocks)."""
    monkeypatch.setattr(tail, "RAW_READ_BYTES", 64 << 10)
    append(log, numbers(0, 20_000))  # ~218 KB of plain lines: four reads
    with follow(log, got, chunk_size=16 << 10, raw_history=True):
        wait_for(lambda: history_read(got.batches))
    raw = [b.raw for b in got.batches if b.raw]
    assert len(raw) == -(-log.stat().st_size // (64 << 10))  # one block a read, the line begun before it too
    assert max(map(len, raw)) > 32 << 10 and max(map(len, raw)) < (64 << 10) + 100  # a read, plus a line begun before
    assert got.lines() == expect(0, 20_000)



KV_LOG = Path(__file__).parents[1] / "fixtures" / "realruns" / "kvlog-healthy" / "run" / "train.log"


def _unterminated() -> bytes:
    """The kv recording's first 50 lines, the last without its `\\n` (a script that exits without one)."""
    return b"".join(KV_LOG.read_bytes().splitlines(keepends=True)[:50])[:-1]


def test_an_unterminated_last_line_is_read_once_its_writers_are_gone(
    log: Path, got: Collector, raw_history: bool,
) -> None:
    """A new user's review: `tail` stopped one step short of `check` on a log whose last line had no `\\n`.
    However long unchanged (an hour here), it may be a block-buffered writer's cut line; once the file's
    writers are gone it is whole: the lines a one-shot read gives, numbered alike. Bytes that come after
    are read on as a new line."""
    log.write_bytes(_unterminated())
    old = time.time() - 3600
    os.utime(log, (old, old))
    with follow(log, got, raw_history=raw_history) as f:
        wait_for(lambda: len(got.lines()) == 49)
        time.sleep(10 * FAST)
        assert len(got.lines()) == 49  # held: no quiet time says a line is whole
        f.writers_gone()
        wait_for(lambda: len(got.lines()) == 50)
        assert got.lines() == [line for b in read_all(log) for line in texts(b)]
        assert got.batches[-1].t == pytest.approx(old, abs=0.01)  # written an hour ago, when the file last was: not read just now
        more = KV_LOG.read_bytes().splitlines(keepends=True)[50]  # a restarted script appends
        append(log, more)
        wait_for(lambda: len(got.lines()) == 51)
    assert got.numbered()[-2:] == [(50, _unterminated().decode().splitlines()[-1]), (51, more.decode().rstrip())]


def test_a_writer_back_holds_the_unterminated_line_again(log: Path, got: Collector) -> None:
    """`writers_gone(False)`: a writer writes the file again (found by the next sample); its cut lines wait."""
    log.write_bytes(_unterminated())
    with follow(log, got) as f:
        f.writers_gone()
        f.writers_gone(False)
        wait_for(lambda: len(got.lines()) == 49)
        time.sleep(10 * FAST)
    assert len(got.lines()) == 49
