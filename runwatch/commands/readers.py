"""Reading a source once, to its current end, into the Records `runwatch tail` would make of it.

`parse` and `check` read every source kind `tail` follows, without a thread
and without following: a log file in blocks, and standard input to EOF the
same way (`BlockReader`: one pipeline, so that `check -` says what `check
FILE` says of the same bytes), and a structured
source by its own follower's look taken on this thread (`look_once`),
decoded by the decoders the engine uses, as the engine uses them
(`ItemsReader`). Each reader gives `chunks()` of ChunkRecords and counts
`lines`, so the commands treat them alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, Protocol, cast

from runwatch.decoding import decode, split_side_records
from runwatch.model import Kind, Preamble, Record, SystemSample
from runwatch.parsers.base import ItemDecoder
from runwatch.parsers.failures import ParseFailures
from runwatch.parsers.source import ChunkRecords, SourceParser, with_total
from runwatch.report.values import CHECKPOINT_TIMES
from runwatch.text import visible
from runwatch.watcher.lines import MAX_LINE_BYTES
from runwatch.watcher.snapshot import READ_CHUNK, ByteStream, CutLines, read_stream_blocks, split_block
from runwatch.watcher.types import ItemBatch, Notice


class Reader(Protocol):
    """A source read once: its records a chunk at a time, the lines it held, its format, the lines its
    parser raised on (None for a structured source: its decoders report a damaged item as a notice)."""

    lines: int
    items: int
    """A structured source's items (rows, records, documents); 0 for a log, which holds lines."""

    @property
    def format(self) -> str | None: ...

    @property
    def failures(self) -> ParseFailures | None: ...

    @property
    def printed(self) -> tuple[str, Preamble] | None:
        """A log's name and the settings it printed before its first loss (runwatch.parsers.preamble)."""

    @property
    def pauses(self) -> tuple[int, ...]:
        """Every how many steps the source's header says the run saves or evaluates (SourceParser.pauses)."""

    def chunks(self) -> Iterator[ChunkRecords]: ...


def cut_lines_said(source: str, cut: CutLines) -> str:
    """What a one-shot read says of the over-long lines it cut (a follower says it on its first)."""
    n = cut.lines
    return (f"{visible(source)}: {n:,} line{'s' if n != 1 else ''} longer than {MAX_LINE_BYTES // 1024} KiB "
            f"cut; {cut.dropped_bytes:,} bytes of {'them' if n != 1 else 'it'} skipped")


class BlockReader:
    """A byte source read once to its end in blocks of whole lines (runwatch.watcher.snapshot.read_blocks),
    each through SourceParser.feed_bytes (a format's step rows as columns), the parser flushed at its end.

    One pipeline for a log file and for standard input: `cat FILE | check -` read the pipe line by line
    and ended it with the live engine's synthetic exit record, and said `finished 301 records` where
    `check FILE` said `ended 300 records` (and judged a spike on other pieces). The end of a one-shot
    read is the end of its input for either; the replay says so (`replay`'s finish), not a record.
    """

    def __init__(self, source: str, blocks: Callable[[CutLines], Iterator[bytes | list[str]]], fmt: str | None,
                 total_steps: int | None, *, name: str, rank: int | None = None, read_time: bool = True,
                 on_notice: Callable[[Notice], None] = lambda n: None) -> None:
        self.blocks, self.total_steps, self.read_time, self.name = blocks, total_steps, read_time, name
        self.parser = SourceParser(source, fmt=fmt, rank=rank)
        self.lines = 0
        self.items = 0
        self.cut = CutLines()
        self.on_notice = on_notice

    @property
    def format(self) -> str | None:
        return self.parser.format

    @property
    def failures(self) -> ParseFailures:
        return self.parser.failures

    @property
    def printed(self) -> tuple[str, Preamble] | None:
        found = self.parser.preamble
        return None if found is None else (self.name, found)

    @property
    def pauses(self) -> tuple[int, ...]:
        return self.parser.pauses

    def chunks(self) -> Iterator[ChunkRecords]:
        """The source's records a block at a time (the end-of-input records last), totals not yet fixed.

        A format without a fast path gets its blocks in READ_CHUNK pieces: its
        records are objects, and a block's worth of them would hold several
        times the memory. Whether the fast path is on does not matter here, so
        that both read the same pieces (the order of records released by a
        re-detection depends on the pieces, as on `feed`'s batches).
        """
        parser = self.parser
        for block in self.blocks(self.cut):
            t = time.time() if self.read_time else 0.0
            if isinstance(block, list):  # an over-long line, split already
                chunk = ChunkRecords(len(block), parser.feed(block, self.lines + 1, t), None,
                                     parser.source, parser.rank, t)
                self.lines += chunk.lines
                yield chunk
                continue
            pos = 0
            while pos < len(block):
                end = len(block)
                if not parser.has_fast_path and end - pos > READ_CHUNK:
                    end = block.find(b"\n", pos + READ_CHUNK) + 1 or end
                chunk = parser.feed_bytes(block[pos:end] if pos or end < len(block) else block,
                                          self.lines + 1, t, split_block)
                self.lines += chunk.lines
                pos = end
                yield chunk
        yield ChunkRecords(0, parser.flush(), None, parser.source, parser.rank, 0.0)
        if self.cut.lines:
            self.on_notice(Notice(parser.source, "warning", cut_lines_said(parser.source, self.cut)))
        if self.cut.ended_early is not None:  # the input was not read whole: not judged whole (exit 3)
            self.on_notice(Notice(parser.source, "error", f"{visible(parser.source)}: {self.cut.ended_early}"))

    def __iter__(self) -> Iterator[Record]:
        for chunk in self.chunks():
            yield from with_total(chunk.merged(), self.total_steps)


class StdinReader(BlockReader):
    """Standard input to EOF, read as a file of the same bytes is (`BlockReader`)."""

    def __init__(self, stream: BinaryIO, fmt: str | None, *, read_time: bool = True,
                 on_notice: Callable[[Notice], None] = lambda n: None) -> None:
        # typing.BinaryIO does not declare `readinto`; every binary stream has it (BufferedReader, BytesIO)
        blocks = cast(ByteStream, stream)
        super().__init__("-", lambda cut: read_stream_blocks(blocks, cut), fmt, None, name="stdin",
                         read_time=read_time, on_notice=on_notice)


def look_once(path: str, on_batch: Callable[[ItemBatch], None], on_notice: Callable[[Notice], None]) -> None:
    """Everything the structured source at `path` holds now, as `ItemBatch`es its follower would send.

    A checkpoint is judged at once (no settling time: nothing is being
    watched while written); a W&B run's damaged chunk is skipped at once,
    as the follower does once the writer has moved past it.
    """
    from runwatch.watcher.checkpoints import CheckpointWatcher
    from runwatch.watcher.metric_files import classify_path, read_now
    from runwatch.watcher.wandb_source import WandbSource, is_wandb_path

    if is_wandb_path(path):
        WandbSource(path, on_batch, on_notice, use_inotify=False, resync_after=0.0).read_now()
    elif classify_path(path) == "checkpoint_dir":
        CheckpointWatcher(path, on_batch, on_notice, use_inotify=False, settle_s=0.0).scan()
    else:
        read_now(path, on_batch, on_notice)


class ItemsReader:
    """One structured source read once and decoded as the engine decodes it (`Ingest._decode`).

    `decoders` is shared by the sources of one run: Hugging Face log history
    has one decoder per run (a checkpoint's and the final trainer_state.json
    repeat entries, which it drops), other kinds one per source. W&B metadata
    and W&B system stats are left out, as the engine keeps them out of the
    run's records (run details, GPU view).
    """

    lines = 0
    failures = None

    def __init__(self, path: str, run: str, decoders: dict[tuple[str, str], ItemDecoder], *,
                 read_time: bool = True, on_notice: Callable[[Notice], None] = lambda n: None) -> None:
        self.path, self.run, self.decoders = path, run, decoders
        self.read_time, self.on_notice = read_time, on_notice
        self.kind: str | None = None
        self.items = 0
        """The items its source held: a metric file's rows, a W&B run's records, documents (`parse`'s summary)."""
        self.meta: dict[str, Any] = {}
        """The run's metadata this source carried (W&B's run details and config; trainer_state.json's settings)."""
        self.samples: list[SystemSample] = []
        """The training machine's system stats this source carried (a W&B run's)."""
        self.times: dict[str, tuple[float, float]] = {}
        """What stamped this source's records with their own time (`stamped_by`) → the first and the last
        such time: a log without times may still have TensorBoard's wall times or its checkpoints' file
        times, which the report's overview gives as the run's start and end (`read_time=False` only)."""

    @property
    def format(self) -> str | None:
        return self.kind

    printed = None
    pauses: tuple[int, ...] = ()  # a metric file or a checkpoint directory prints no plan

    def chunks(self) -> Iterator[ChunkRecords]:
        recs: list[Record] = []
        look_once(self.path, lambda b: recs.extend(self._decode(b)), self.on_notice)
        for (source, kind), decoder in self.decoders.items():
            if source == self.path:
                recs += self._own(kind, decoder.flush())
        yield ChunkRecords(0, recs, None, self.path, None, time.time() if self.read_time else 0.0)

    def _decode(self, b: ItemBatch) -> list[Record]:
        self.kind = self.kind or b.kind
        self.items += len(b.items)
        recs = decode(self.decoders, self.run, self.path, b.kind, list(b.items), b.t if self.read_time else 0.0)
        return self._own(b.kind, recs)

    def _own(self, kind: str, recs: list[Record]) -> list[Record]:
        side = split_side_records(kind, recs)
        self.meta.update(side.meta)
        self.samples += side.samples
        if not self.read_time:
            for r in side.own:
                if r.t > 0:
                    by = stamped_by(kind, r)
                    first, last = self.times.get(by, (r.t, r.t))
                    self.times[by] = (min(first, r.t), max(last, r.t))
        return side.own


STAMPS = {"tfevents": "TensorBoard's event times", "wandb": "the W&B run's record times",
          "csv_rows": "the metric file's times", "metrics_arrays": "the metric file's times"}


def stamped_by(kind: str, rec: Record) -> str:
    """What gave a structured source's record its time, in the report's words."""
    return CHECKPOINT_TIMES if rec.kind == Kind.CHECKPOINT else STAMPS.get(kind, f"{kind} times")
