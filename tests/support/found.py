"""The whole real logs reviews found (tests/fixtures/found, sources in its README), read as runwatch reads them."""

from __future__ import annotations

import gzip

from runwatch.model import Record
from runwatch.parsers.source import SourceParser
from runwatch.watcher.lines import LineSplitter
from tests.support.paths import FIXTURES

FOUND = FIXTURES / "found"


def found_bytes(name: str) -> bytes:
    """The log's bytes, a `.gz` decompressed."""
    data = (FOUND / name).read_bytes()
    return gzip.decompress(data) if name.endswith(".gz") else data


def found_lines(name: str) -> list[str]:
    """The log's lines as a followed file delivers them: through `LineSplitter` (a bar's `\\r` frames each a
    line, escapes taken out)."""
    splitter = LineSplitter()
    return splitter.feed(found_bytes(name)) + splitter.feed(b"\n")


def source_records(name: str, batch: int = 500) -> tuple[str | None, list[Record]]:
    """What a source detecting the format itself reads from the log, in batches as `parse` hands them over."""
    text = found_lines(name)
    sp = SourceParser(name)
    recs = [r for i in range(0, len(text), batch) for r in sp.feed(text[i:i + batch], i + 1, 0.0)] + sp.flush()
    return sp.format, recs
