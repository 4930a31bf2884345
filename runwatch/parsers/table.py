"""A table a loop prints into its log: a tab-separated header of column names, then one row per epoch or step.

    epoch	time_stamp	train_loss	train_EPE	EPE	lr
    7	2018-06-26 04:58:27	nan	96.8450173160901	93.0777795659671	0.01

is how FADNet (and many loops that write `'\\t'.join(...)` to a logger) record their epochs. No line on its own names
its numbers: the header does, so the parser keeps the last header it read, and reads each row of as many fields under
it. A row's step is the column named for one (`epoch`, `step`, `iter`, …), a stamp column (`time_stamp`) its time, every
other number a metric by its column's name (`train_loss` → `loss`); `nan` and `inf` are values, never dropped (the run a
review read ended its loss in 14 epochs of `nan`, and nothing was understood of it). A new header (a relaunch writing
into the same file) replaces the old one.

Only tabs separate: columns aligned by spaces cannot be told from prose. Read per line (a row an epoch or a logging step
needs no fast path); the parser keeps the header between lines, so it has no learned layouts.
"""

from __future__ import annotations

import re
from typing import ClassVar

from runwatch.model import Kind, Record
from runwatch.parsers.base import FormatParser
from runwatch.parsers.fields import local_time
from runwatch.parsers.numbers import parse_number
from runwatch.parsers.pydict import metric_name

MAX_COLUMNS = 64
_NAME = re.compile(r"[A-Za-z_][\w./@()-]{0,60}(?: [A-Za-z_(][\w./@()-]{0,59}){0,4}")
"""A column's name: up to five words (`total loss`, pgnet's)."""
_STEP_NAMES = {"epoch": "epoch", "step": "step", "steps": "step", "iter": "step", "iteration": "step",
               "global_step": "step", "update": "step", "num_updates": "step", "batch": "step"}
"""Column names that count (the row's step); an `epoch` column is the epoch too."""
_STAMP_NAMES = frozenset({"time_stamp", "timestamp", "time", "date", "datetime", "wall_time"})
_STAMP = re.compile(r"(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)(?:[.,](\d{1,6}))?")
_INT = re.compile(r"\d{1,15}")


class TableParser(FormatParser):
    """Rows of a tab-separated table under its header line (see the module notes)."""

    name: ClassVar[str] = "table"

    def __init__(self) -> None:
        self._columns: tuple[str, ...] | None = None
        """The last header's names, as printed."""
        self._step_at = -1

    def parse(self, line: str) -> Record | None:
        if "\t" not in line:
            return None
        fields = line.strip().split("\t")
        header = _header(fields)
        if header is not None:
            self._columns, self._step_at = tuple(fields), header
            return None
        columns = self._columns
        if columns is None or len(fields) != len(columns):
            return None
        return _row(columns, self._step_at, fields)

    def score(self, line: str) -> int:
        """2 for a header (names, tab-separated, one of them a step's), 1 for a line shaped as a row (an integer
        first, then numbers or stamps, tab-separated): a fresh parser holds no header to read it under."""
        if "\t" not in line:
            return 0
        fields = line.strip().split("\t")
        if _header(fields) is not None:
            return 2
        if len(fields) >= 3 and _INT.fullmatch(fields[0]) is not None and all(
                parse_number(f) is not None or _STAMP.fullmatch(f) is not None for f in fields[1:]):
            return 1
        return 0


def _header(fields: list[str]) -> int | None:
    """The index of the step column of a header line's fields (-1: none, its rows records told as they come), or
    None when they are no header: three names or more, each a name, one of them a step's or, where none is, a
    loss's (pgnet's `total loss\tscore loss\t…`, its 600 rows unread), one of them neither a step's nor a stamp's."""
    if not 3 <= len(fields) <= MAX_COLUMNS or not all(_NAME.fullmatch(f) for f in fields):
        return None
    lowered = [f.lower() for f in fields]
    at = next((i for i, f in enumerate(lowered) if f in _STEP_NAMES), None)
    if at is None:
        return -1 if any("loss" in f for f in lowered) else None
    if all(f in _STEP_NAMES or f in _STAMP_NAMES for f in lowered):
        return None
    return at


def _row(columns: tuple[str, ...], step_at: int, fields: list[str]) -> Record | None:
    """The record of a row under `columns`, or None when its step is no count (another table's line, prose)."""
    step = None
    if step_at >= 0:
        raw_step = fields[step_at].strip()
        if _INT.fullmatch(raw_step) is None:
            return None
        step = int(raw_step)
    metrics: dict[str, float] = {}
    t = 0.0
    for i, (name, raw) in enumerate(zip(columns, fields, strict=True)):
        text = raw.strip()
        low = name.lower()
        if i == step_at:
            if _STEP_NAMES[low] == "epoch" and step is not None:
                metrics["epoch"] = float(step)
            continue
        if low in _STAMP_NAMES and (m := _STAMP.fullmatch(text)) is not None:
            try:
                t = local_time(m[1], m[2] or "")
            except ValueError:
                pass
            continue
        value = parse_number(text)
        if value is not None:
            metrics.setdefault(metric_name(name), value)
    if not metrics or metrics.keys() == {"epoch"}:
        return None
    return Record(Kind.STEP, step=step, metrics=metrics, t=t)
