"""Step rows a stateful format's parser took one by one (`FormatParser.take_row`), gathered into columns.

HF Trainer, tqdm/Lightning and Keras keep state between lines (which bar
is the training bar, the epoch a frame counts in), so no layout of a line's
digits alone can read them (runwatch.parsers.columnar). Their parsers read
each step line with the same description `parse` uses, but return the
step, total and metrics instead of a Record: SourceParser.feed_bytes
gathers them here and hands them on as one ColumnBatch, which history
reads apply in bulk, as they do the columnar formats' rows. A parser that
reads a block at once (`FormatParser.read_rows`) hands runs of rows in as
columns already (`add_run`), between the rows taken one by one.
"""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING

from runwatch.parsers.base import Row

if TYPE_CHECKING:
    import numpy as np

    from runwatch.parsers.base import RowColumns
    from runwatch.parsers.columnar import ColumnBatch


class Rows:
    """Rows in line order: line numbers, steps, totals and metrics, until `batch()` makes columns of them."""

    __slots__ = ("lines", "steps", "totals", "metrics", "runs")

    def __init__(self) -> None:
        self.lines: list[int] = []
        self.steps: list[int] = []
        self.totals: list[int] = []
        self.metrics: list[dict[str, float]] = []
        self.runs: list[tuple[int, np.ndarray, RowColumns]] = []
        """Runs taken as columns (`RowBlock.take`): (rows added one by one before it, lines, columns)."""

    def __len__(self) -> int:
        return len(self.lines) + sum(lines.size for _, lines, _ in self.runs)

    def add_run(self, lines: np.ndarray, cols: RowColumns) -> None:
        """Rows already in columns, their lines after those of every row added so far."""
        if lines.size:
            self.runs.append((len(self.lines), lines, cols))

    def add(self, line: int, row: Row) -> None:
        step, total, metrics = row
        assert step is not None
        self.lines.append(line)
        self.steps.append(step)
        self.totals.append(-1 if total is None else total)
        self.metrics.append(metrics)

    def batch(self) -> ColumnBatch | None:
        """The rows as columns (their `line` the source's line numbers), None when there are none. A metric
        absent from a row is NaN there and False in `present`, as in the columnar formats' batches."""
        if not self.lines and not self.runs:
            return None
        import numpy as np  # only where a block is read

        from runwatch.parsers.columnar import ColumnBatch

        if self.runs:
            return self._with_runs()

        n = len(self.lines)
        names: dict[tuple[str, ...], list[int]] = {}  # rows by their metric names (a log has a few such sets)
        for i, m in enumerate(self.metrics):
            names.setdefault(tuple(m), []).append(i)
        order: dict[str, None] = {}
        for keys in names:
            order.update(dict.fromkeys(keys))
        values = {m: np.full(n, np.nan) for m in order}
        present = {m: np.zeros(n, bool) for m in order}
        for keys, rows in names.items():
            if not keys:
                continue
            at = np.array(rows, np.int64)
            dicts = self.metrics if len(rows) == n else [self.metrics[i] for i in rows]
            table = np.array(list(map(itemgetter(*keys), dicts)), np.float64).reshape(len(rows), len(keys))
            for j, name in enumerate(keys):
                values[name][at] = table[:, j]
                present[name][at] = True
        arrays = [np.array(self.lines, np.int64), np.array(self.steps, np.int64), np.array(self.totals, np.int64),
                  *values.values(), *present.values()]
        for a in arrays:
            a.flags.writeable = False
        return ColumnBatch(line=arrays[0], step=arrays[1], total=arrays[2], metrics=values, present=present)

    def _with_runs(self) -> ColumnBatch:
        """`batch` when runs came in columns: the one-by-one rows' columns and the runs', in line order (one
        batch of the former, then a stable sort by line: a dict's row between every two runs made a batch
        each, ~0.1 ms apiece)."""
        import numpy as np

        from runwatch.parsers.base import RowColumns
        from runwatch.parsers.columnar import ColumnBatch

        parts: list[tuple[np.ndarray, RowColumns]] = [(lines, cols) for _, lines, cols in self.runs]
        if self.lines:
            one = Rows()
            one.lines, one.steps, one.totals, one.metrics = self.lines, self.steps, self.totals, self.metrics
            got = one.batch()
            assert got is not None
            parts.append((got.line, RowColumns(got.step, got.total, dict(got.metrics), dict(got.present))))
        names = dict.fromkeys(m for _, cols in parts for m in cols.metrics)
        sizes = [lines.size for lines, _ in parts]
        line = np.concatenate([lines for lines, _ in parts]).astype(np.int64)
        order = np.argsort(line, kind="stable") if len(parts) > 1 else np.arange(line.size)
        values = {m: np.concatenate([c.metrics[m] if m in c.metrics else np.full(k, np.nan)
                                     for (_, c), k in zip(parts, sizes, strict=True)])[order] for m in names}
        present = {m: np.concatenate([c.present[m] if m in c.present else np.zeros(k, bool)
                                      for (_, c), k in zip(parts, sizes, strict=True)])[order] for m in names}
        arrays = [line[order], np.concatenate([c.step for _, c in parts]).astype(np.int64)[order],
                  np.concatenate([c.total for _, c in parts]).astype(np.int64)[order], *values.values(),
                  *present.values()]
        for a in arrays:
            a.flags.writeable = False
        return ColumnBatch(line=arrays[0], step=arrays[1], total=arrays[2], metrics=values, present=present)
