"""The `.wandb` transaction-log reader on files the real wandb SDK wrote (offline, in a subprocess).

The writer runs in a child process so wandb's service process and threads stay
out of the test process (and out of the thread-leak check). Each kind of run is
written once per session and shared by the W&B tests of both packages.
"""

from __future__ import annotations

import importlib.util
import os
import random
import zlib
from pathlib import Path

import pytest

from runwatch.watcher.wandb_file import (
    BLOCK_SIZE,
    FIRST,
    FULL,
    HEADER,
    LAST,
    MIDDLE,
    HeaderError,
    Stop,
    TransactionLogReader,
    check_header,
    read_records,
    scan,
)
from tests.support.wandb_chunks import chunks, full_chunk, record_ends
from tests.support.wandb_run import main_run_file

needs_wandb = pytest.mark.skipif(importlib.util.find_spec("wandb") is None, reason="needs the wandb package")

# ── the run the SDK writes ───────────────────────────────────────────────────


@pytest.fixture(scope="session")
def wandb_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("wandb") is None:
        pytest.skip("needs the wandb package")
    return main_run_file(tmp_path_factory)


# ── helpers ──────────────────────────────────────────────────────────────────


def grow(path: Path, data: bytes, cuts: list[int], reader_fd: int | None = None) -> list[bytes]:
    """Write `data` into `path` piece by piece (ending at each cut), reading after every piece."""
    got: list[bytes] = []
    with open(path, "wb") as f:
        fd = os.open(path, os.O_RDONLY)
        try:
            reader = TransactionLogReader(fd, window=4096)
            written = 0
            for cut in [*cuts, len(data)]:
                f.write(data[written:cut])
                f.flush()
                written = cut
                while True:
                    result = reader.read(0.0)
                    assert result.stuck is None and result.skip is None
                    got.extend(result.records)
                    if not result.more:
                        break
        finally:
            os.close(fd)
    return got


# ── format facts ─────────────────────────────────────────────────────────────


@needs_wandb
def test_header_and_chunk_layout_are_what_wandb_core_writes(wandb_file: Path) -> None:
    data = wandb_file.read_bytes()
    assert data[:7] == b":W&B\xe1\xbe\x00"  # ident, magic 0xBEE1 little-endian, version 0
    found = chunks(data)
    assert found and found[-1][2] == len(data)
    for pos, kind, end in found:
        assert kind in (FULL, FIRST, MIDDLE, LAST)
        assert pos // BLOCK_SIZE == (end - 1) // BLOCK_SIZE or end == pos + 7  # never across a block
        crc = int.from_bytes(data[pos:pos + 4], "little")
        assert crc == zlib.crc32(data[pos + 6:end])  # plain CRC-32 over the type byte and the payload
    kinds = [kind for _, kind, _ in found]
    assert MIDDLE in kinds and FIRST in kinds and LAST in kinds  # the 70 KB row spans three blocks


@needs_wandb
def test_read_records_returns_every_record_once(wandb_file: Path) -> None:
    data = wandb_file.read_bytes()
    records = read_records(wandb_file)
    assert len(records) == len(record_ends(data))
    assert max(len(r) for r in records) > 2 * BLOCK_SIZE
    assert sum(len(r) for r in records) == sum(end - pos - 7 for pos, _, end in chunks(data))


def test_check_header() -> None:
    assert check_header(HEADER) is True
    assert check_header(HEADER[:3]) is False  # not all there yet
    assert check_header(b"") is False
    with pytest.raises(HeaderError, match="not a W&B"):
        check_header(b"PK\x03\x04abc")
    with pytest.raises(HeaderError, match="version 1"):
        check_header(HEADER[:6] + b"\x01")


def test_a_file_that_is_no_wandb_log_raises(tmp_path: Path) -> None:
    path = tmp_path / "x.wandb"
    path.write_bytes(b"hello world, not a log")
    with pytest.raises(HeaderError):
        read_records(path)


# ── growth, cuts, corruption ─────────────────────────────────────────────────


@needs_wandb
def test_every_prefix_cut_at_a_record_boundary_reads_exactly_the_records_before_it(
    wandb_file: Path, tmp_path: Path
) -> None:
    data = wandb_file.read_bytes()
    full = read_records(wandb_file)
    ends = record_ends(data)
    prefix = tmp_path / "prefix.wandb"
    for n, end in enumerate(ends, start=1):
        for cut in (end - 1, end, end + 1):
            prefix.write_bytes(data[:cut])
            expected = n if cut >= end else n - 1
            assert read_records(prefix) == full[:expected], cut


@needs_wandb
def test_every_chunk_boundary_and_odd_cut_gives_a_clean_stop(wandb_file: Path) -> None:
    data = wandb_file.read_bytes()
    full = read_records(wandb_file)
    cuts = sorted({c for pos, _, end in chunks(data) for c in (pos, pos + 3, pos + 7, end - 1, end)})
    for cut in cuts:
        got = scan(data[7:cut], 7)
        assert got.stop in (Stop.END, Stop.PARTIAL)
        assert got.records == full[: len(got.records)]
        if got.stop == Stop.PARTIAL:  # resuming from the offset reads the rest, nothing twice
            rest = scan(data[got.offset:], got.offset)
            assert got.records + rest.records == full


@needs_wandb
@pytest.mark.parametrize("seed", range(4))
def test_a_file_growing_in_random_pieces_gives_no_miss_and_no_duplicate(
    wandb_file: Path, tmp_path: Path, seed: int
) -> None:
    data = wandb_file.read_bytes()
    rng = random.Random(seed)
    cuts, pos = [], 0
    while pos < len(data):
        pos += rng.choice([1, 2, 5, 7, 13, 100, 999, 4096, 33000])
        cuts.append(min(pos, len(data)))
    assert grow(tmp_path / "grow.wandb", data, cuts) == read_records(wandb_file)


@needs_wandb
def test_a_bad_checksum_stops_reading_until_the_writer_fixes_it(wandb_file: Path, tmp_path: Path) -> None:
    data = bytearray(wandb_file.read_bytes())
    full = read_records(wandb_file)
    pos, before = full_chunk(bytes(data), 10)
    good = bytes([data[pos + 7]])
    data[pos + 7] ^= 0xFF  # a torn write: payload not what the checksum says
    path = tmp_path / "torn.wandb"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        reader = TransactionLogReader(fd, resync_after=30.0)
        first = reader.read(0.0)
        assert first.records == full[:before] and first.stuck and "checksum" in first.stuck
        assert reader.read(1.0).records == []  # still bad: nothing skipped, nothing read past it
        with open(path, "r+b") as f:  # the write completes
            f.seek(pos + 7)
            f.write(good)
        rest: list[bytes] = []
        while (got := reader.read(2.0)).records or got.more:
            rest.extend(got.records)
        assert first.records + rest == full
    finally:
        os.close(fd)


@needs_wandb
def test_a_chunk_that_stays_bad_is_skipped_to_the_next_block_and_said(wandb_file: Path, tmp_path: Path) -> None:
    data = bytearray(wandb_file.read_bytes())
    full = read_records(wandb_file)
    pos, before = full_chunk(bytes(data), 10)
    next_block = (pos // BLOCK_SIZE + 1) * BLOCK_SIZE
    data[pos + 8] ^= 0xFF
    path = tmp_path / "corrupt.wandb"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        reader = TransactionLogReader(fd, resync_after=5.0)
        assert reader.read(0.0).stuck
        assert reader.read(4.9).skip is None
        got = reader.read(5.0)
        assert got.skip is not None and got.skip.resumed_at == next_block and got.skip.lost_bytes > 0
        records = list(got.records)
        while (more := reader.read(6.0)).records or more.more:
            records.extend(more.records)
    finally:
        os.close(fd)
    lost = full[:before] + records
    assert lost == [r for r in full if r in lost]  # in order, no duplicate
    assert full[-1] == records[-1] and len(lost) < len(full)


@needs_wandb
def test_zeroed_bytes_at_the_end_are_waited_on_not_skipped(wandb_file: Path, tmp_path: Path) -> None:
    data = wandb_file.read_bytes()
    full = read_records(wandb_file)
    cut = record_ends(data)[5]
    path = tmp_path / "prealloc.wandb"
    path.write_bytes(data[:cut] + bytes(300))  # size grew before the data landed (NFS, preallocation)
    fd = os.open(path, os.O_RDONLY)
    try:
        reader = TransactionLogReader(fd, resync_after=0.0)
        got = reader.read(100.0)
        assert got.records == full[:6] and got.stuck and "zeroed" in got.stuck and got.skip is None
        path.write_bytes(data)  # same inode: the data arrives
        rest: list[bytes] = []
        while (more := reader.read(200.0)).records or more.more:
            rest.extend(more.records)
        assert got.records + rest == full
    finally:
        os.close(fd)


def test_a_record_larger_than_the_read_window_is_read_whole(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 400  # 100 KiB: first, middle, middle, last
    data = bytearray(HEADER)
    left, first = payload, True
    while left:
        room = BLOCK_SIZE - len(data) % BLOCK_SIZE
        if room < 7:
            data += bytes(room)
            continue
        part, left = left[: room - 7], left[room - 7:]
        kind = (FULL if not left else FIRST) if first else (LAST if not left else MIDDLE)
        first = False
        data += zlib.crc32(part, zlib.crc32(bytes([kind]))).to_bytes(4, "little")
        data += len(part).to_bytes(2, "little") + bytes([kind]) + part
    path = tmp_path / "big.wandb"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert TransactionLogReader(fd, window=1000).read(0.0).records == [payload]
    finally:
        os.close(fd)
