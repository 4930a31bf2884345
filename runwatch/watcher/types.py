"""Values that sources hand to the engine: small, frozen, safe across threads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from runwatch.model import Notice, NoticeLevel

__all__ = ["FilePosition", "ItemBatch", "LineBatch", "Notice", "NoticeLevel"]
"""`Notice` lives in the model (front ends read it too); sources keep importing it from here."""


@dataclass(frozen=True, slots=True)
class LineBatch:
    """Lines read in one go from one source (a read chunk, or a run of its lines; not one line).

    `first_line` is the 1-based number of `lines[0]` in the current incarnation
    of the file (it restarts at 1 after rotation or truncation); lines count as
    the splitter delivers them, so a kept progress-bar frame counts as a line.
    `history` is True while the source is catching up on what it held at start;
    a batch with no lines (and no `raw`) and `history` False says the catch-up is over.

    `raw`, when not empty, holds the batch's lines instead of `lines` (then
    empty): the bytes as read, whole lines each ending in `\\n`, none with a
    `\\r` but in a CRLF end and none longer than the line cap, so that
    runwatch.watcher.snapshot.split_block gives exactly the splitter's lines.
    A follower hands a long history over this way (`raw_history`; a chunk
    then gives a batch per run of such lines, and one per run of others),
    so that a parser with a columnar fast path reads it in blocks
    (SourceParser.feed_bytes).
    """

    source: str
    rank: int | None
    first_line: int
    lines: list[str]
    t: float
    history: bool
    raw: bytes = b""

    @property
    def count(self) -> int:
        """Lines the batch holds (one per `\\n` of `raw`)."""
        return self.raw.count(b"\n") if self.raw else len(self.lines)


class FilePosition(NamedTuple):
    """Where a follower stands in a file, worth saving to resume after a restart (DESIGN §7).

    `offset` is the start of the first line not yet delivered; `first_line_hash`
    tells a re-created file that reuses the inode from the one we read (None
    while the file has no complete first line).
    """

    dev: int
    ino: int
    offset: int
    first_line_hash: str | None


@dataclass(frozen=True, slots=True)
class ItemBatch:
    """Items a non-text source read in one go (W&B records, TensorBoard events,
    rows of a metrics file, checkpoint events), for the decoder named by `kind`."""

    source: str
    kind: str
    items: list[object]
    t: float
    history: bool = False
    rank: int | None = None
