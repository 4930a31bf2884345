"""The two ways a source reads the same bytes, side by side: `feed` line by line and `feed_bytes` in chunks.

Tests of the columnar fast path (templates and learned layouts) assert that
both give the same records, compared as values, and the same counts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from runwatch.model import Record
from runwatch.parsers.source import ChunkRecords, SourceParser
from runwatch.watcher.snapshot import split_block
from tests.support.fast_path_logs import cut

T = 1000.0


def js(recs: Sequence[Record]) -> list[str]:
    """Records as values: metric order is no part of a record (the two readers may differ in it)."""
    return [json.dumps(r.to_json(), allow_nan=False, sort_keys=True) for r in recs]


def per_line(pieces: Sequence[bytes], **kw: object) -> tuple[list[Record], SourceParser]:
    sp = SourceParser("log", fast_path=False, **kw)  # type: ignore[arg-type]
    out: list[Record] = []
    line = 1
    for k, piece in enumerate(pieces):
        lines = split_block(piece)
        out += sp.feed(lines, line, T + k)
        line += len(lines)
    return out + sp.flush(), sp


def chunked(pieces: Sequence[bytes], **kw: object) -> tuple[list[Record], SourceParser, list[ChunkRecords]]:
    sp = SourceParser("log", fast_path=True, **kw)  # type: ignore[arg-type]
    chunks: list[ChunkRecords] = []
    line = 1
    for k, piece in enumerate(pieces):
        chunks.append(sp.feed_bytes(piece, line, T + k, split_block))
        line += chunks[-1].lines
    out = [r for c in chunks for r in c.merged()]
    return out + sp.flush(), sp, chunks


def check(data: bytes, sizes: Sequence[int] = (1 << 20,), **kw: object) -> tuple[list[Record], list[ChunkRecords]]:
    """Assert feed_bytes == feed over the same pieces; return the records and the chunks."""
    pieces = cut(data, sizes)
    want, ref = per_line(pieces, **kw)
    got, sp, chunks = chunked(pieces, **kw)
    assert js(got) == js(want)
    assert (sp.lines, sp.records, sp.format) == (ref.lines, ref.records, ref.format)
    return got, chunks


def fast_rows(chunks: Sequence[ChunkRecords]) -> int:
    return sum(len(c.steps) for c in chunks if c.steps is not None)


def rows_one_by_one(monkeypatch: pytest.MonkeyPatch, parser: type[Any]) -> list[bool]:
    """Each call of `parser.take_row` from now on, True where it took the line: what a block read left to be
    taken one by one (a test that runs are taken in bulk asserts few)."""
    taken: list[bool] = []
    one_by_one = parser.take_row

    def counted(self: object, line: str) -> object:
        row = one_by_one(self, line)
        taken.append(row is not None)
        return row

    monkeypatch.setattr(parser, "take_row", counted)
    return taken
