"""One-shot reads of what a file holds now: no thread, no following.

`read_all` feeds `runwatch parse`/`check`; `peek_tail` lets a front end show
the latest status of a huge log at once, before its history is read.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

from runwatch.watcher.lines import LineSplitter
from runwatch.watcher.types import LineBatch

PEEK_BYTES = 256 * 1024


def read_all(
    path: str | Path, *, rank: int | None = None, source: str | None = None, chunk_size: int = 1 << 20
) -> Iterator[LineBatch]:
    """Yield the file's lines, one batch per chunk read; the last line counts even without a newline.

    Raises OSError when the file cannot be opened (the caller names the path to the user).
    """
    splitter = LineSplitter()
    source = str(path) if source is None else source
    line = 1
    with open(path, "rb", buffering=0) as f:
        while True:
            data = f.read(chunk_size)
            lines = splitter.feed(data) if data else splitter.flush()
            if lines:
                yield LineBatch(source, rank, line, lines, time.time(), history=True)
                line += len(lines)
            if not data:
                return


def peek_tail(path: str | Path, max_bytes: int = PEEK_BYTES) -> list[str]:
    """The complete lines among the last `max_bytes` of the file (a partial first or last line is left out).

    A preview is optional, so a file that cannot be read gives no lines rather than an error.
    """
    try:
        with open(path, "rb", buffering=0) as f:
            size = os.fstat(f.fileno()).st_size
            start = max(0, size - max_bytes)
            data = os.pread(f.fileno(), size - start + (start > 0), start - (start > 0))
    except OSError:
        return []
    if start > 0:
        # We read one byte early: if it ends a line, the window starts on a line.
        cut = min((i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0), default=-1)
        if cut < 0:
            return []
        data = data[cut + 1 + (data[cut : cut + 2] == b"\r\n") :]
    return LineSplitter().feed(data)
