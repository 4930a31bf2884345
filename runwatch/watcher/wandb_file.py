"""Read W&B's transaction log (`run-<id>.wandb`) while wandb-core is still writing it.

The format, as wandb-core 0.31 writes it (its Go reader and writer,
`core/pkg/leveldb/record.go` and `crc.go`, checked byte for byte against files
the SDK wrote in offline mode):

- A 7-byte file header: `:W&B`, the magic 0xBEE1 (little-endian), version 0.
- The file is cut into 32 KiB blocks counted from offset 0, so the first block
  holds the header and 32 KiB - 7 bytes of chunks. A chunk never crosses a
  block; when fewer than 7 bytes are left in a block they are zero padding.
- A chunk is a 7-byte header (checksum u32 LE, length u16 LE, type u8: 1 full,
  2 first, 3 middle, 4 last) and `length` payload bytes. The checksum is plain
  CRC-32 (IEEE, what `zlib.crc32` computes, unmasked) over the type byte and
  the payload: wandb opens the log with `CRCAlgoIEEE`, not LevelDB's masked
  CRC-32C.
- A record is one full chunk, or a first, any middle and a last chunk; its
  bytes are a serialized `wandb_internal.Record` protobuf (decoded by
  `runwatch.parsers.wandb`; this module never looks inside).

Only whole records are handed out. The reader stops, without moving past it,
at a record that is not all there yet or a chunk whose checksum does not match
(a write caught half-done), and reads it again next time. Only a bad chunk
that stays bad while the writer has moved on past its block is given up on:
the reader then skips to the next block, as LevelDB's own recovery does, and
says how many bytes it lost.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

BLOCK_SIZE = 32 * 1024
CHUNK_HEADER = 7
HEADER = b":W&B" + (0xBEE1).to_bytes(2, "little") + bytes([0])
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4

_CHUNK = struct.Struct("<IHB")


def is_transaction_log(path: Path) -> bool:
    """Whether `path` starts as a W&B transaction log does (its header), whatever its name."""
    try:
        with path.open("rb") as f:
            return f.read(len(HEADER)) == HEADER
    except OSError:
        return False
_TYPE_CRC = [zlib.crc32(bytes([t])) for t in range(256)]  # CRC state after the type byte


class HeaderError(ValueError):
    """The file is not a W&B transaction log, or one of a version runwatch does not read."""


def check_header(head: bytes) -> bool:
    """True for a complete valid header, False while fewer than 7 bytes exist; HeaderError otherwise."""
    if len(head) < len(HEADER):
        if HEADER.startswith(head):
            return False
        raise HeaderError("not a W&B transaction log (no :W&B header)")
    if head[:4] != HEADER[:4] or head[4:6] != HEADER[4:6]:
        raise HeaderError("not a W&B transaction log (no :W&B header)")
    if head[6] != HEADER[6]:
        raise HeaderError(f"W&B transaction log version {head[6]} is not supported (runwatch reads version 0)")
    return True


class Stop(StrEnum):
    """Why a scan ended."""

    END = "end"
    """Every byte given was consumed."""
    PARTIAL = "partial"
    """A record (or a chunk header) is not all there yet."""
    CORRUPT = "corrupt"
    """A chunk is bad: checksum mismatch, zeroed, too long for its block, or out of sequence."""


@dataclass(frozen=True, slots=True)
class Scan:
    """What one pass over a piece of the file found."""

    records: list[bytes]
    offset: int
    """Where the next scan must start: just past the last whole record (or skipped chunk)."""
    stop: Stop
    resync: bool = False
    """Still skipping middle/last chunks of a record lost to corruption."""
    bad_offset: int | None = None
    reason: str = ""


def scan(data: bytes, base: int, *, resync: bool = False) -> Scan:
    """The whole records in `data`, which holds the file's bytes from offset `base` on.

    `base` is where a chunk (or a block's padding) starts. With `resync`, the
    middle and last chunks of a record whose start was lost are skipped until
    the next full or first chunk.
    """
    end = base + len(data)
    view = memoryview(data)
    records: list[bytes] = []
    parts: list[memoryview] | None = None
    pos = start = base  # pos: next chunk; start: first byte not yet handed out or skipped
    while True:
        room = BLOCK_SIZE - pos % BLOCK_SIZE
        if room < CHUNK_HEADER:  # padding up to the next block
            if pos + room > end:
                break
            pos += room
            if parts is None:
                start = pos
            continue
        if pos + CHUNK_HEADER > end:
            break
        i = pos - base
        crc, length, kind = _CHUNK.unpack_from(data, i)
        if CHUNK_HEADER + length > room:
            return _bad(records, start, resync, pos, _why(crc, length, kind, "longer than its block"))
        if pos + CHUNK_HEADER + length > end:
            break
        payload = view[i + CHUNK_HEADER : i + CHUNK_HEADER + length]
        if kind > LAST or crc != zlib.crc32(payload, _TYPE_CRC[kind]):
            return _bad(records, start, resync, pos, _why(crc, length, kind, "checksum mismatch"))
        chunk_at, pos = pos, pos + CHUNK_HEADER + length
        if kind == FULL or kind == FIRST:
            if parts is not None:
                return _bad(records, start, resync, chunk_at, "a record's first chunk inside another record")
            resync = False
            if kind == FULL:
                records.append(bytes(payload))
                start = pos
            else:
                parts = [payload]
        elif parts is not None:
            parts.append(payload)
            if kind == LAST:
                records.append(b"".join(parts))
                parts, start = None, pos
        elif resync:
            start = pos
        else:
            return _bad(records, start, resync, chunk_at, "a middle or last chunk without a first")
    return Scan(records, start, Stop.END if start == end else Stop.PARTIAL, resync)


def _bad(records: list[bytes], start: int, resync: bool, at: int, reason: str) -> Scan:
    return Scan(records, start, Stop.CORRUPT, resync, at, reason)


def _why(crc: int, length: int, kind: int, reason: str) -> str:
    if crc == 0 and length == 0 and kind == 0:
        return "zeroed bytes"
    if kind == 0 or kind > LAST:
        return f"unknown chunk type {kind}"
    return reason


@dataclass(frozen=True, slots=True)
class Skip:
    """Bytes given up on: a bad chunk that stayed bad while the file grew past its block."""

    offset: int
    bad_offset: int
    resumed_at: int
    reason: str

    @property
    def lost_bytes(self) -> int:
        return self.resumed_at - self.offset


@dataclass(frozen=True, slots=True)
class ReadResult:
    """Whole records read by one `TransactionLogReader.read` call."""

    records: list[bytes] = field(default_factory=list)
    more: bool = False
    """More of the file is waiting: call `read` again at once."""
    stuck: str | None = None
    """Why reading stopped short of the end of the file (a bad chunk not yet given up on)."""
    skip: Skip | None = None


class TransactionLogReader:
    """Whole records from one open `.wandb` file, in order, each handed out once.

    `read()` reads at most about `window` bytes past the current offset (more
    when a single record is larger) and returns the records they complete.
    A bad chunk stops reading there; once it has stayed bad for `resync_after`
    seconds (by the `now` callers pass) while the file already extends past its
    block, the rest of that block is skipped.
    """

    def __init__(self, fd: int, *, offset: int | None = None, window: int = 1 << 20,
                 resync_after: float = 10.0) -> None:
        if window <= 0:
            raise ValueError(f"window must be positive, got {window}")
        self._fd = fd
        self._window = window
        self._resync_after = resync_after
        self._offset = offset if offset is not None else 0
        self._header_ok = offset is not None and offset >= len(HEADER)
        self._resync = False
        self._bad: tuple[int, float] | None = None  # (bad chunk offset, first seen)

    @property
    def offset(self) -> int:
        """File offset of the first record not yet handed out (0 before the header was read)."""
        return self._offset

    def read(self, now: float, size: int | None = None) -> ReadResult:
        """Records completed since the last call (raises HeaderError for a file that is no W&B log)."""
        size = os.fstat(self._fd).st_size if size is None else size
        if not self._header_ok:
            if not check_header(os.pread(self._fd, len(HEADER), 0)):
                return ReadResult()
            self._header_ok, self._offset = True, len(HEADER)
        window = self._window
        while self._offset < size:
            start = self._offset
            want = min(size - start, window)
            got = scan(os.pread(self._fd, want, start), start, resync=self._resync)
            self._offset, self._resync = got.offset, got.resync
            if got.stop == Stop.CORRUPT:
                return self._corrupt(got, now, size)
            self._bad = None
            if got.records:
                return ReadResult(got.records, more=self._offset < size)
            if got.stop == Stop.END:
                continue  # only padding or skipped chunks: read on
            if start + want >= size:
                break  # the tail is not all there yet
            if got.offset == start:
                window = want * 2  # one record larger than the window
        return ReadResult()

    def _corrupt(self, got: Scan, now: float, size: int) -> ReadResult:
        assert got.bad_offset is not None
        if self._bad is None or self._bad[0] != got.bad_offset:
            self._bad = (got.bad_offset, now)
        next_block = (got.bad_offset // BLOCK_SIZE + 1) * BLOCK_SIZE
        waited = now - self._bad[1]
        if size <= next_block or waited < self._resync_after:
            why = f"{got.reason} at offset {got.bad_offset}"
            return ReadResult(got.records, stuck=why)
        skip = Skip(self._offset, got.bad_offset, next_block, got.reason)
        self._offset, self._resync, self._bad = next_block, True, None
        return ReadResult(got.records, more=True, skip=skip)


def read_records(path: str | Path) -> list[bytes]:
    """Every whole record the file holds now (one-shot reads: `runwatch parse`, benchmarks).

    Stops at the first bad chunk (no waiting, no skipping); raises HeaderError
    for a file that is not a W&B transaction log.
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        reader = TransactionLogReader(fd, window=4 << 20, resync_after=float("inf"))
        size = os.fstat(fd).st_size
        out: list[bytes] = []
        while True:
            got = reader.read(0.0, size)
            out.extend(got.records)
            if not got.more:
                return out
    finally:
        os.close(fd)
