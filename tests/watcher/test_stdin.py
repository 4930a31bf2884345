"""StreamReader on real pipes: batches, EOF, and a stop that never hangs."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from runwatch.watcher.stdin import StreamReader
from runwatch.watcher.types import LineBatch, Notice
from tests.support.waiting import wait_for


class Sink:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.batches: list[LineBatch] = []
        self.eof = threading.Event()
        self.notices: list[Notice] = []

    def on_batch(self, batch: LineBatch) -> None:
        with self._lock:
            self.batches.append(batch)

    def on_eof(self) -> None:
        self.eof.set()

    def lines(self) -> list[str]:
        with self._lock:
            return [line for b in self.batches for line in b.lines]


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass


def test_lines_then_eof(pipe: tuple[int, int]) -> None:
    r, w = pipe
    sink = Sink()
    with StreamReader(sink.on_batch, sink.on_eof, stream=r) as reader:
        os.write(w, b"step 1\nstep 2\nstep 3 part")
        wait_for(lambda: sink.lines() == ["step 1", "step 2"])
        os.write(w, b"ial\r\x1b[32mok\x1b[0m\n")
        wait_for(lambda: len(sink.lines()) == 4)
        os.write(w, b"unterminated")
        os.close(w)
        wait_for(sink.eof.is_set)
        reader.join(5)
        assert not reader.is_alive()
    assert sink.lines() == ["step 1", "step 2", "step 3 partial", "ok", "unterminated"]
    # "step 3 partial" was held from the first write: it comes in a batch of its own, dated then
    assert [b.first_line for b in sink.batches] == [1, 3, 4, 5]
    assert {(b.source, b.history) for b in sink.batches} == {("-", False)}


def test_stop_does_not_hang_when_the_writer_never_closes(pipe: tuple[int, int]) -> None:
    r, _w = pipe
    sink = Sink()
    reader = StreamReader(sink.on_batch, sink.on_eof, stream=r, source="train")
    reader.start()
    time.sleep(0.05)
    started = time.monotonic()
    reader.stop()
    reader.join(5)
    assert not reader.is_alive()
    assert time.monotonic() - started < 1.0
    assert not sink.eof.is_set()
    assert reader.name == "runwatch-stdin-train"


def test_subprocess_stdout_batches_and_exit() -> None:
    code = "import sys\nfor i in range(2000): print(f'step {i} loss 1.0')\nsys.stdout.flush()"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    sink = Sink()
    try:
        with StreamReader(sink.on_batch, sink.on_eof, stream=proc.stdout, source="train.py"):
            wait_for(sink.eof.is_set)
    finally:
        proc.stdout.close()
        proc.wait()
    assert sink.lines() == [f"step {i} loss 1.0" for i in range(2000)]
    assert len(sink.batches) < 2000  # what the pipe holds is one batch, not one line each


def test_failing_callback_is_reported(pipe: tuple[int, int]) -> None:
    r, w = pipe
    notices: list[Notice] = []

    def broken(batch: LineBatch) -> None:
        raise RuntimeError("consumer bug")

    with StreamReader(broken, lambda: None, stream=r, on_notice=notices.append) as reader:
        os.write(w, b"x\n")
        wait_for(lambda: notices)
        reader.join(5)
        assert not reader.is_alive()
    assert "consumer bug" in notices[0].message


def test_a_backlog_is_history_and_a_caught_up_read_is_live(pipe: tuple[int, int]) -> None:
    """Issue 10: `cat big.log | runwatch tail -` ended `… 2.43e+05 step/s`: every read was taken for a
    live one, so the rate came from read times. A read after which more is waiting at once is a backlog
    (history); a read that caught up with the writer is live."""
    from tests.support.paths import FIXTURES

    r, w = pipe
    lines = (FIXTURES / "corpus/raw/nanochat_pr492_speedrun_d24_feb01.training_output.log").read_bytes()
    sink = Sink()
    writer = threading.Thread(target=lambda: os.write(w, lines[:2_000_000]))
    with StreamReader(sink.on_batch, sink.on_eof, stream=r, chunk_size=64 * 1024):
        writer.start()
        writer.join()
        wait_for(lambda: sum(len(b.lines) for b in sink.batches) > 1000 and not sink.batches[-1].history, timeout=10)
        backlog = list(sink.batches)
        os.write(w, b"step 16704/16704 (100.00%) | loss: 2.4 | dt: 645.00ms\n")
        wait_for(lambda: len(sink.batches) > len(backlog), timeout=5)
        os.close(w)
        wait_for(sink.eof.is_set)
    assert sum(b.history for b in backlog) >= len(backlog) - 2 and len(backlog) > 5  # all but the tail end
    assert not sink.batches[-1].history  # one line written after a pause: live
