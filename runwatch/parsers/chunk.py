"""The records of one chunk of a source (SourceParser.feed_bytes): step rows as columns, the rest as Records.

A one-shot read (`parse`, `check`, `tail`'s history) hands a source's parser
blocks of whole lines; the columnar fast path returns the block's plain step
lines as numpy columns (runwatch.parsers.columnar.ColumnBatch) and the other
lines' records as objects. Consumers that apply rows in bulk take the
columns; `merged()` gives every record as `feed` would, in line order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import pairwise, repeat
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from runwatch.arrays import distinct
from runwatch.model import Record

if TYPE_CHECKING:
    from runwatch.parsers.columnar import ColumnBatch

_line_no = attrgetter("line")


@dataclass(frozen=True, slots=True)
class ChunkRecords:
    """The records of one `feed_bytes` chunk: step records of the fast path as columns, the rest as objects.

    `records` are the per-line records (events, evals, odd step lines, and
    records of earlier lines released by detection), in the order `feed`
    would give them; `steps` are plain step lines, their `line` the source's
    line numbers (not the chunk's line indices) and rank, time and source
    those of this chunk. `merged()` gives all of them as `feed` would.
    """

    lines: int
    """Lines the chunk held, counted as the line splitter counts them."""
    records: list[Record]
    steps: ColumnBatch | None
    source: str
    rank: int | None
    t: float

    def __len__(self) -> int:
        return len(self.records) + (len(self.steps) if self.steps is not None else 0)

    def step_records(self) -> list[Record]:
        """The `steps` rows as Records, equal to those the per-line parser gives (metrics in its order)."""
        batch = self.steps
        if batch is None or not len(batch):
            return []
        import numpy as np  # only where a fast format's columns are read

        n = len(batch)
        names = tuple(batch.metrics)
        code = sum((batch.present[m].astype("int64") << i for i, m in enumerate(names)), np.zeros(n, np.int64))
        found = np.empty(n, object)  # each row's dict holds the metrics of its code's bits, in `names` order
        for c in distinct(code).tolist():
            rows = np.flatnonzero(code == c)
            kept = tuple(m for i, m in enumerate(names) if c >> i & 1)
            found[rows] = _dict_rows(kept)([batch.metrics[m][rows].tolist() for m in kept], rows.size)
        metrics = found.tolist()
        rank, t = self.rank, self.t
        times = repeat(t) if batch.t is None else [s or t for s in batch.t.tolist()]
        ranks = repeat(rank) if batch.rank is None else [rank if r < 0 else r for r in batch.rank.tolist()]
        totals = [None if x < 0 else x for x in batch.total.tolist()]
        return list(map(
            Record, repeat(batch.kind), batch.step.tolist(), totals, ranks, times, metrics, repeat(None),
            repeat(None), repeat(self.source), batch.line.tolist(),
        ))

    def row(self, i: int) -> Record:
        """The `steps` row `i` as the Record `step_records()` gives for it (for one row of many, cheaper)."""
        batch = self.steps
        assert batch is not None
        total = int(batch.total[i])
        rank = -1 if batch.rank is None else int(batch.rank[i])
        return Record(
            batch.kind, int(batch.step[i]), None if total < 0 else total, self.rank if rank < 0 else rank,
            self.t if batch.t is None else float(batch.t[i]) or self.t,
            {n: float(v[i]) for n, v in batch.metrics.items() if batch.present[n][i]}, None, None, self.source,
            int(batch.line[i]),
        )

    def merged(self) -> list[Record]:
        """Every record of the chunk, in the order `feed` gives them for the same lines."""
        rows = self.step_records()
        if not rows or not self.records:
            return rows or list(self.records)
        out = [*self.records, *rows]  # both in line order, never on the same line: two runs that a (stable)
        out.sort(key=_line_no)  # sort merges in one pass, in C
        return out

    def cut_at(self, offsets: Sequence[int]) -> list[ChunkRecords]:
        """This chunk cut by line before each of its records at `offsets` (ascending, counting rows and records
        together in line order; the records of one line stay together), in order. A history is judged on a
        schedule of records (`alerts.judge.judge_every`): cut so, its step rows stay columns and go into the run
        in bulk, as `check` takes them (merged into Records to be cut, they went one at a time, and `tail` read
        a history 2-3× slower)."""
        if not offsets or offsets[0] >= len(self):
            return [self]
        import numpy as np  # only where a fast format's columns are read

        steps = self.steps
        rows = steps.line if steps is not None else np.zeros(0, np.int64)
        own = np.fromiter((r.line for r in self.records), np.int64, len(self.records))
        every = np.sort(np.concatenate((rows, own)), kind="stable")
        wanted = np.asarray(offsets, np.int64)
        cuts = distinct(every[wanted[wanted < len(every)]])  # each piece's first line after the first piece's
        bounds = [None, *cuts.tolist(), None]
        at = [0, *np.searchsorted(own, cuts).tolist(), len(own)]  # records are in line order
        out: list[ChunkRecords] = []
        for i, (lo, hi) in enumerate(pairwise(bounds)):
            part = None
            if steps is not None:  # its rows are in line order: a slice of them, no mask as long as the chunk
                a = 0 if lo is None else int(np.searchsorted(rows, lo))  # (a mask per piece made the pieces of a
                b = len(rows) if hi is None else int(np.searchsorted(rows, hi))  # history cost its square)
                part = steps.take(slice(a, b))
            piece = replace(self, records=self.records[at[i] : at[i + 1]], steps=part, lines=0 if out else self.lines)
            if len(piece):
                out.append(piece)
        return out

    def one_rank(self) -> ChunkRecords:
        """This chunk with its step rows' rank as the chunk's, when every row states the same one (DeepSpeed's
        `[Rank 0]` on every line, one rank's file of torchrun's `[rank3]:` lines): rows of one rank go into a
        run in bulk; rows of several stay as they are (and go as records)."""
        steps = self.steps
        if steps is None or steps.rank is None or not len(steps):
            return self
        first = int(steps.rank[0])
        if first < 0 or not bool((steps.rank == first).all()):
            return self
        return replace(self, steps=replace(steps, rank=None), rank=first)

    def with_total(self, total: int | None) -> ChunkRecords:
        """`--total-steps`: this chunk with every record that has a step, and every step row, planned to
        end at `total` (None: as it is)."""
        if total is None:
            return self
        steps = self.steps
        if steps is not None:
            import numpy as np  # only where a fast format's columns are read
            steps = replace(steps, total=np.full(len(steps), total, np.int64))
        return replace(self, records=with_total(self.records, total), steps=steps)


def with_total(recs: list[Record], total: int | None) -> list[Record]:
    """`--total-steps`: every record with a step gets `total` as its total (None leaves them)."""
    if total is None:
        return recs
    return [replace(r, total_steps=total) if r.step is not None else r for r in recs]


@lru_cache(maxsize=64)
def _dict_rows(names: tuple[str, ...]) -> Callable[[list[list[float]], int], list[dict[str, float]]]:
    """A function from `n` rows' columns (one list per metric, in `names` order) to one dict per row.

    Made for these names and compiled once, as stepline's per-line reader
    is: a dict display with its keys in the code (`{'loss': v0, …}`) costs
    half what `dict(zip(names, row))` does, and a history read makes one
    per step row. Only metric names, written with repr, go into it.
    """
    if not names:
        return lambda columns, n: [{} for _ in range(n)]
    values = ", ".join(f"v{i}" for i in range(len(names)))
    display = ", ".join(f"{name!r}: v{i}" for i, name in enumerate(names))
    scope: dict[str, Any] = {}
    exec(f"def rows(columns, n):\n    return [{{{display}}} for {values}, in zip(*columns)]", scope)  # see above
    made: Callable[[list[list[float]], int], list[dict[str, float]]] = scope["rows"]
    return made
