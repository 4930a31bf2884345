"""The plug point every log format implements.

A format parser answers "mine or not" for one line and never raises on input
(STYLE habit 3). It may keep context between lines (the last progress frame
for Hugging Face dicts, an open multi-line block for Composer), but it does no
I/O and reads no clock, so it tests as a plain function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol

from runwatch.model import Kind, Record
from runwatch.parsers.reads import Reads
from runwatch.parsers.stepline import StepLine

if TYPE_CHECKING:
    import numpy as np

    from runwatch.parsers.learned import Counters


Row = tuple["int | None", "int | None", dict[str, float]]
"""A step record's step, total and metrics, as `FormatParser.take_row` gives one (no rank, time or event)."""


class RowColumns(NamedTuple):
    """Rows a `RowBlock` took, one element each: what `take_row` gives for each, as columns."""

    step: np.ndarray
    total: np.ndarray
    """-1 where the row states none."""
    metrics: dict[str, np.ndarray]
    """Each metric any row has; NaN where absent."""
    present: dict[str, np.ndarray]


class RowBlock(Protocol):
    """A block of lines read at once by a `rows_in_bulk` parser (`FormatParser.read_rows`): the rows it may
    take as a run, without `take_row` per line."""

    row: np.ndarray
    """Per line: a row `take` takes whenever `ready()` (else the line goes the usual way)."""
    quiet: np.ndarray
    """Per line: a row no idle crash detector acts on (`events.WAKES` does not admit it)."""
    ends: list[int]
    """Per line: for a row, the end of the run it is in (rows, and between them only lines whose `parse`
    leaves the parser as it is while `ready()`); for any other line, its own index."""

    def ready(self) -> bool:
        """Whether the parser's state lets `take` take the next rows (else they go `take_row` by `take_row`)."""
        ...

    def take(self, lo: int, hi: int) -> RowColumns:
        """The rows of lines lo..hi-1 (a run's end, or less), taken as `take_row` takes each in turn: their
        columns, the parser's state left as after the last."""
        ...


class DocumentRows(NamedTuple):
    """Step rows of the lines of one key list that a `DocumentReader` read at once: each row's index among the
    texts it was given, and its step record's columns."""

    at: np.ndarray
    step: np.ndarray
    total: np.ndarray
    """-1 where the row states none."""
    metrics: dict[str, np.ndarray]
    """Every row has each."""
    t: np.ndarray | None
    """The Unix seconds each row states; None: none of them states a time."""


class DocumentReader(Protocol):
    """Reads a block of a format's lines that are documents (JSON objects) at once, for the columnar fast path
    (`FormatParser.documents`)."""

    def read(self, texts: Sequence[bytes]) -> list[DocumentRows]:
        """The step rows among `texts` (whole lines of printable ASCII, launcher prefix taken off): for each,
        what `parse` of its line gives, which must be a STEP record with a step and no rank, event or message.
        A text not in any is left to `parse`."""
        ...


class FormatParser:
    """Base class: one instance per source, fed lines in order.

    Lines arrive with terminal escapes and the rank prefix (`[rank3]:`) already
    removed and without the line end.
    """

    name: ClassVar[str] = ""
    learn_anchors: ClassVar[tuple[bytes, ...] | None] = None
    """Set by a format whose parser keeps no state between lines (or names the lines that use it:
    `state_texts`) and has no `StepLine` template: its step
    lines take the columnar fast path with a layout per line shape learned from this parser
    (runwatch.parsers.learned); a line holding one of these texts is a candidate (`()`: every line)."""
    state_texts: ClassVar[tuple[str, ...]] = ()
    """For a parser with `learn_anchors` that keeps something between lines after all: texts held by each
    line that changes it or reads by it (the generic `kv`'s epoch heading and episodes, the meters' evaluation
    loss). The parser reads every such line; the lines of a shape it reads no record from are otherwise left
    unread (runwatch.parsers.learned.QuietShapes), and what they would have set would be lost."""
    learn_counters: ClassVar[Counters | None] = None
    """How such a format computes its step and total from several integers of the line, if it does (the
    description its parser reads with, and the fast path too)."""
    reads: ClassVar[Reads | None] = None
    """Texts every line this parser reads, or that changes its state, holds (runwatch.parsers.reads): a
    GuardedParser is held to it, and the fast path counts the lines that no reader of the source admits
    without reading them (runwatch.parsers.screen). None: any line may be read."""

    documents: ClassVar[DocumentReader | None] = None
    """Set by a format whose lines are documents a decoder reads a block at a time (JSON lines): the columnar
    fast path hands it a block's candidate lines (runwatch.parsers.columnar) and takes the rows it returns."""

    rounds_steps: ClassVar[bool] = False
    """Set by a format that may mark a step printed rounded (`step:1K`) with runwatch.parsers.rounded.ROUNDED: the
    source then places such steps by the stride of the ones before (the others pay nothing for it)."""
    rows_in_bulk: ClassVar[bool] = False
    """Set by a format whose parser keeps state between lines and offers `take_row`: a block of a one-shot
    read (SourceParser.feed_bytes) gives the step lines it takes as columns, without a Record each."""

    def parse(self, line: str) -> Record | None:
        """The record this line completes, or None (not mine, or not yet).

        The record is handed over, as are those of `flush` and `settle`: a new one, which the
        parser neither keeps nor returns again. The source completes it in place (its line and
        source, the read time and rank where the line stated none: runwatch.model.completed)
        rather than building a stamped copy of every record."""
        raise NotImplementedError

    more: Sequence[Record] = ()
    """Records the last `parse` or `flush` gave beyond the one it returned, in line order (most formats never
    give any): the source takes them right after that one and empties the list. A format that learns only
    at a later line where the records of several earlier ones belong (HF Trainer's dicts of block-buffered
    stdout) hands them over so."""

    def take_row(self, line: str) -> Row | None:
        """For `rows_in_bulk`: if `parse(line)` would give a STEP record with a step and no rank, time, event
        or message, that record's (step, total, metrics), the parser's state left as `parse` leaves it;
        else None, the state untouched (the line is then `parse`d). The line comes as split, with no launcher
        prefix: None for one with a digit that is not ASCII (`boundary.ascii_digits` would change it before
        `parse`). The same code as `parse` reads the line: a format keeps one description of its step lines."""
        return None

    def read_rows(self, lines: Sequence[str]) -> RowBlock | None:
        """For `rows_in_bulk`: the block's rows read at once, to be taken in runs (`RowBlock`); None (the
        default): each line goes `take_row` by `take_row`. Reading keeps no state: `take` changes it."""
        return None

    def flush(self) -> Record | None:
        """The record of a block still open at the end of the input."""
        return None

    @property
    def holding(self) -> bool:
        """Whether `flush` would give a record held for a line that comes soon after while the run goes on
        (an HF Trainer dict waiting for its bar's redraw): a log quiet for seconds since has ended or stalled,
        and a follower then takes it as `check` does at the end of its input (`SourceParser.close_held`)."""
        return False

    def settle(self) -> Record | None:
        """The input has no more lines for now (a live follower caught up): a record held only until a
        line that may never come, said now so live following ends where `check` does (None: nothing).
        Unlike `flush`, the parser goes on afterwards as if nothing happened."""
        return None

    def score(self, line: str) -> int:
        """How sure this format is that the line is its own: 0 no, 1 maybe, 2 signature.

        Detection sums scores over the first lines of a source. The default
        parses the line on a throwaway copy of the context; formats whose lines
        are ambiguous (generic key=value) override this to cap at 1.
        """
        rec = type(self)().parse(line)
        return 2 if rec is not None and rec.kind in (Kind.STEP, Kind.EVAL) else 0

    def plan_epochs(self, epochs: int | None) -> None:
        """The run's epochs as the header plans them (`max_epochs: 20`, runwatch.parsers.preamble), for a format
        whose steps it counts across epochs itself (Lightning's `Epoch E:` bars): with an epoch's length, the run's
        total where its lines state none. Most formats count no epochs, or leave it to the source
        (runwatch.parsers.epochs), and ignore it."""

    def fast_omit(self) -> frozenset[str]:
        """Metrics the next step lines read by the fast path must leave out, as this parser's state stands."""
        return frozenset()

    def after_fast(self, last_step: int) -> None:
        """Step lines were read without this parser (the fast path); the last of them was step `last_step`."""

    def epoch_end_step(self) -> int | None:
        """The step the epoch under way ends at, drawn or still to come, where the format knows it (None: most do
        not): a finish a trainer prints inside that epoch, before its last step line, is at that step."""
        return None

    def launched(self) -> None:
        """A new launch began in the source (its opening line again after a fatal error: runwatch.parsers.launches):
        what this parser held of the launch before (a progress bar it elected) is no longer so. Most keep nothing."""


class GuardedParser(FormatParser):
    """A format parser whose `_parse` may assume well-formed fields.

    Malformed numbers and short lines raise ValueError/IndexError/OverflowError
    deep in a parser's field handling; catching them here, once, makes such a
    line "not mine" instead of an exception (STYLE habit 3).
    """

    def parse(self, line: str) -> Record | None:
        reads = self.reads
        if reads is not None and not reads.admits(line):
            return None  # no line this parser reads: `reads` says so, and holds it to that
        try:
            return self._parse(line)
        except (ValueError, IndexError, OverflowError):
            return None

    def _parse(self, line: str) -> Record | None:
        raise NotImplementedError


class StepLineParser(GuardedParser):
    """A format whose plain step line is a `StepLine` template: its step lines are read in columns.

    runwatch.parsers.columnar derives the fast path's layout from `step_line`,
    and the parser reads the same template per line (`step_line.read`), so
    the format is described once. State the parser keeps across lines is
    offered to the fast path through the three hooks below.
    """

    step_line: ClassVar[StepLine]
    barriers: ClassVar[tuple[bytes, ...]] = ()
    """Texts of lines that may change which metrics a step line gives (`barrier` says how)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if cls.reads is not None:  # the template's head and the barriers are read: said once, here
            own = Reads(heads=(cls.step_line.prefix.decode(),), holds=tuple(b.decode() for b in cls.barriers))
            cls.reads = cls.reads | own
        super().__init_subclass__(**kwargs)

    @staticmethod
    def barrier(line: str, omit: frozenset[str]) -> frozenset[str] | None:
        """The metrics omitted after a line holding one of `barriers`, given those omitted before it
        (None: not sure, then that line and the rest of its chunk are read per line)."""
        return omit


class ItemDecoder:
    """Base class for sources that are not lines of text (W&B records, TensorBoard
    events, JSON documents, CSV rows): one instance per source, fed the raw items a
    watcher read (bytes payloads or dicts), returning the Records they complete.

    Pure like FormatParser: no I/O, no clock. Watchers hand items over in an
    `ItemBatch` (runwatch.watcher.types); the engine picks the decoder by the
    batch's `kind` from `runwatch.parsers.items.DECODERS`.
    """

    kind: ClassVar[str] = ""

    def feed(self, items: list[object], t: float) -> list[Record]:
        raise NotImplementedError

    def flush(self) -> list[Record]:
        return []
