"""The chunks of a `.wandb` transaction log, walked independently of the module under test."""

from __future__ import annotations

from runwatch.watcher.wandb_file import (
    BLOCK_SIZE,
    FULL,
    HEADER,
    LAST,
)


def chunks(data: bytes) -> list[tuple[int, int, int]]:
    """(offset, type, end) of every chunk, walked independently of the module under test."""
    out, pos = [], len(HEADER)
    while pos + 7 <= len(data):
        room = BLOCK_SIZE - pos % BLOCK_SIZE
        if room < 7:
            pos += room
            continue
        length, kind = int.from_bytes(data[pos + 4:pos + 6], "little"), data[pos + 6]
        out.append((pos, kind, pos + 7 + length))
        pos += 7 + length
    return out


def record_ends(data: bytes) -> list[int]:
    return [end for _, kind, end in chunks(data) if kind in (FULL, LAST)]


def full_chunk(data: bytes, index: int) -> tuple[int, int]:
    """(offset, records before it) of the `index`-th chunk that holds a whole record."""
    pos = [p for p, kind, _ in chunks(data) if kind == FULL][index]
    return pos, sum(1 for end in record_ends(data) if end <= pos)
