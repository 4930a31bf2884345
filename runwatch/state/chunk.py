"""Step records as columns, and the rows of them a replay holds back until the rules look.

A long history comes in chunks whose step lines a columnar parser read as arrays
(runwatch.parsers.columnar); the run state takes them in by slices. These
Protocols say what it needs of a chunk without importing the parsers (state
does not reach up the flow).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Protocol

import numpy as np

from runwatch.model import Event, Kind, Record
from runwatch.state.ending import ENDS


class StepColumns(Protocol):
    """Step records as columns, one element per record, in line order (runwatch.parsers.columnar.ColumnBatch)."""

    @property
    def line(self) -> np.ndarray: ...
    @property
    def step(self) -> np.ndarray: ...
    @property
    def total(self) -> np.ndarray:
        """-1 where the record states no total."""
    @property
    def metrics(self) -> Mapping[str, np.ndarray]: ...
    @property
    def present(self) -> Mapping[str, np.ndarray]: ...
    @property
    def kind(self) -> Kind: ...
    @property
    def t(self) -> np.ndarray | None:
        """The time each line states (0.0: none), or None when no line of them states one."""
    @property
    def rank(self) -> np.ndarray | None:
        """The rank each line's launcher prefix states (-1: none), or None when no line has one."""
    def __len__(self) -> int: ...
    def take(self, keep: np.ndarray) -> StepColumns:
        """The rows where `keep` holds, every column of them."""


class RecordChunk(Protocol):
    """The records of one chunk of lines (runwatch.parsers.source.ChunkRecords): per-line `records`
    and `steps` rows of one rank read at `t`; `merged()` is all of them as Records, in order."""

    @property
    def records(self) -> list[Record]: ...
    @property
    def steps(self) -> StepColumns | None: ...
    @property
    def t(self) -> float: ...
    @property
    def rank(self) -> int | None: ...
    @property
    def source(self) -> str: ...
    def row(self, i: int) -> Record: ...
    def merged(self) -> list[Record]: ...
    def one_rank(self) -> RecordChunk:
        """The chunk with its rows' rank as its own when all of them state one rank (else itself)."""


@dataclasses.dataclass
class HeldRows:
    """Rows lo..hi-1 of a chunk that `apply_rows` holds back until `settle`."""

    chunk: RecordChunk
    lo: int
    hi: int
    times: list[np.ndarray]
    names: frozenset[str]
    """The metrics the rows carry: a record with one of them settles them first."""
    passed_t: float = -math.inf
    """When the newest eval applied past them came (the run's newest record, once they are in)."""
    last_main: tuple[float, float] | None = None
    """The step and epoch (NaN: none stated) of the newest row of the main rank (rank 0 or none) among them, None
    if none is: rows joined to them are asked whether they start a new attempt after it, not all the held rows
    again (a log's rows between thousands of warnings and evaluations were asked again at each one)."""


def passes_held_rows(rec: Record) -> bool:
    """Whether a record may be applied before step rows that came ahead of it (see `apply_rows`): an eval
    at a stated step and no total, or an event at a stated step that neither ends the run nor starts it
    again and is no checkpoint. Either leaves what the rows leave as it is; a step record, an eval placed at
    the newest step, a crash, a finish, an exit or a launch does not, nor an event placed at the step the run
    has reached (one that states none, a checkpoint: `RunTracker._apply_event`): nanoGPT's `saving checkpoint
    to out` passed rows held since its evaluation and was placed at the step before them."""
    if rec.kind == Kind.EVAL:
        return rec.step is not None and rec.total_steps is None
    return (rec.kind != Kind.STEP and rec.step is not None and rec.event not in ENDS
            and rec.event not in (Event.LAUNCHED, Event.CHECKPOINT_SAVED))


def last_value(cols: StepColumns, name: str, lo: int, hi: int) -> float | None:
    """The last value of metric `name` among rows lo..hi-1 (None if none has it)."""
    values = cols.metrics.get(name)
    if values is None:
        return None
    present = cols.present[name]
    if present[hi - 1]:
        return float(values[hi - 1])
    index = np.flatnonzero(present[lo:hi])
    return float(values[lo + index[-1]]) if index.size else None
