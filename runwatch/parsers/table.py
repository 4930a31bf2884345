"""A table a loop prints into its log: a tab-separated header of column names, then one row per epoch or step.

    epoch	time_stamp	train_loss	train_EPE	EPE	lr
    7	2018-06-26 04:58:27	nan	96.8450173160901	93.0777795659671	0.01

is how FADNet (and many loops that write `'\\t'.join(...)` to a logger) record their epochs. No line on its own names
its numbers: the header does, so the parser keeps the last header it read, and reads each row of as many fields under
it. A row's step is the column named for one (`epoch`, `step`, `iter`, …), a stamp column (`time_stamp`) its time, every
other number a metric by its column's name (`train_loss` → `loss`); `nan` and `inf` are values, never dropped (the run a
review read ended its loss in 14 epochs of `nan`, and nothing was understood of it). A new header (a relaunch writing
into the same file) replaces the old one.

Tabs separate, or blanks under a header that can be nothing but a table's: fastai's epoch table (its recorder's names,
each padded to 8 and joined by two blanks: `epoch     train_loss  valid_loss  accuracy  time    `, then a row an epoch,
`2         nan         nan         0.103125  00:01     `) and the tables of loops built on its learner (PatchTST's, right
aligned to 15). Such a header is `epoch` first, then single-word names, one a loss's (`_spaced_header`); other columns
aligned by blanks cannot be told from prose. fastai's `time` (the epoch's, `mm:ss` or `h:mm:ss`) is the row's
`step_time` (none for `00:00`, an epoch under a second): a row is a step of the epoch count, its step time charted and
judged by the slowdown rules once enough epochs are logged; its `None` (a fit with no validation set) is no value, as
any word that is no number. A row stands where the header's layout puts it, and holds a duration under `time`: a table
printed after it (a classification report) is no epoch. fastprogress's frames (`Epoch 3/8 : |███---| …`, drawn on a
pipe too) give the fit's total; `fine_tune`'s second fit counts on from its first (`launched`). A fit in fastai's
`learn.no_bar()` prints no table: each epoch the recorder's values as a Python list, `[2, nan, nan, 0.103125, '00:00']`
(a real fit whose loss went NaN so read `UNREAD`), read as a row under the names of the last header read where it has
as many columns, else the recorder's default ones (`_listed_row`). skorch's table, printed
by `tabulate`, is laid out by the rule of dashes under its header: its cells may be empty (`cp`), its `dur` the step
time; a real skorch fit whose losses were NaN read `UNREAD` too. A real fastai run whose loss went NaN at its
third epoch read `UNREAD`, nothing understood (the run lab's `fastai-nan`).

Read per line (a row an epoch or a logging step needs no fast path); the parser keeps the header between lines, so it
has no learned layouts.
"""

from __future__ import annotations

import re
from typing import ClassVar, NamedTuple

from runwatch import patterns
from runwatch.model import Kind, Record
from runwatch.parsers.base import FormatParser
from runwatch.parsers.fields import local_time
from runwatch.parsers.numbers import parse_number
from runwatch.parsers.pydict import metric_name

MAX_COLUMNS = 64
_NAME = patterns.compile(r"[A-Za-z_][\w./@()-]{0,60}(?: [A-Za-z_(][\w./@()-]{0,59}){0,4}")
"""A column's name: up to five words (`total loss`, pgnet's)."""
_STEP_NAMES = {"epoch": "epoch", "step": "step", "steps": "step", "iter": "step", "iteration": "step",
               "global_step": "step", "update": "step", "num_updates": "step", "batch": "step"}
"""Column names that count (the row's step); an `epoch` column is the epoch too."""
_STAMP_NAMES = frozenset({"time_stamp", "timestamp", "time", "date", "datetime", "wall_time"})
_STAMP = patterns.compile(r"(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)(?:[.,](\d{1,6}))?")
_INT = patterns.compile(r"\d{1,15}")
_SPACED_FIRST = "epoch"
_WORD = patterns.compile(r"[A-Za-z_][\w@]{0,60}")
_FIELD = patterns.compile(r"\S+")
_DURATION = patterns.compile(r"(?:(\d{1,4}):)?(\d{1,2}):(\d\d)")
"""fastai's `format_time`: `mm:ss`, or `h:mm:ss` from an hour."""


class _Spaced(NamedTuple):
    """How a blank-aligned table lays its columns out, read off its header: fastai's (`width` 0: each name padded to
    8, joined by two blanks, from the line's first column; a row's values each at its name's column, pushed right
    only by a value longer than its name), every column right-aligned to one `width` (PatchTST's 15), or the spans
    of the rule of dashes under it (`spans`: skorch's, printed by `tabulate`, whose cells may be empty)."""

    names: tuple[str, ...]
    width: int
    time_at: int | None
    """The column of the epoch's time (`time`), whose every row holds a duration."""
    spans: tuple[tuple[int, int], ...] = ()


_RULE = patterns.compile(r"-{2,}(?: {1,8}-{2,}){2,63}")
"""The rule of dashes `tabulate` prints under a header, one run a column (`-------  ------------  ----  ------`)."""
_MASTER = patterns.compile(r"Epoch (\d{1,6})/(\d{1,6}) :")
"""fastprogress's frame of a fit's epoch bar (`Epoch 3/8 : |███---| 15.00% [15/100 00:00<00:01... 2.3465]`): the
fit's epochs. The rows' total is the last of them as the table counts them, from 0 (7 of `Epoch 8/8`): a row is an
epoch done, so the run is at its end at that row, live as in `check` (a total of 8 left the live badge `running` after
the last row, until the run was found quiet)."""
_LISTED = patterns.compile(r"\[(\d{1,9})((?:, [\w.+()-]{1,40}){1,62}), '((?:\d{1,4}:)?\d{1,2}:\d\d)'\]")
"""fastai's epoch row where no bar draws the table (`learn.no_bar()`): the recorder's values printed as the Python list
they are, the epoch first and its time last, and no header before them (`[2, nan, nan, 0.103125, '00:00']`)."""
_SECONDS_NAMES = frozenset({"dur"})
"""Columns of a blank-aligned table that hold the epoch's seconds: skorch's `dur`."""


class TableParser(FormatParser):
    """Rows of a tab-separated table under its header line (see the module notes)."""

    name: ClassVar[str] = "table"

    def __init__(self) -> None:
        self._columns: tuple[str, ...] | None = None
        """The last header's names, as printed."""
        self._step_at = -1
        self._spaced: _Spaced | None = None
        """The last header's layout where its columns are aligned by blanks (fastai's), not separated by tabs."""
        self._before = 0
        """Epochs of the fits before this one in the same launch (see `launched`)."""
        self._next = 0
        """The step after the last row read under a blank-aligned header: where another fit would go on."""
        self._named: tuple[str, tuple[str, ...]] | None = None
        """The line before, where it was a header's names in no layout of their own: a rule may follow (skorch's)."""
        self._scored: tuple[str, tuple[str, ...]] | None = None
        """The same, for `score`."""
        self._planned: int | None = None
        """The epochs of the fit under way, as fastprogress's frames state them (`Epoch 3/8 :`)."""
        self._listed = 0
        """The fields of the last row read as fastai's list (`_LISTED`), 0 where the last row was none."""

    def parse(self, line: str) -> Record | None:
        if not line.strip():
            return None  # as detection, which scores no blank line: a rule after a blank line is still its header's
        if "\t" not in line:
            spaced, self._named = _heading(line, self._named)
            if spaced is not None:
                self._take(spaced)
                return None
            if line.lstrip().startswith(_SPACED_FIRST):
                return None  # a header's names awaiting their rule, or prose
            if line.startswith("Epoch ") and (m := _MASTER.match(line)) is not None:
                self._planned = int(m[2])
                return None
            if line.startswith("[") and (m := _LISTED.fullmatch(line.rstrip())) is not None:
                return self._listed_row(m)
            return self._spaced_row(line) if self._spaced else None
        fields = line.strip().split("\t")
        header = _header(fields)
        if header is not None:
            self._columns, self._step_at, self._spaced = tuple(fields), header, None
            return None
        columns = self._columns
        if columns is None or self._spaced or len(fields) != len(columns):
            return None
        return _row(columns, self._step_at, fields)

    def _take(self, spaced: _Spaced) -> None:
        """A blank-aligned header read: its rows go on from the last fit's where it is the same table (`launched`)."""
        same = self._spaced is not None and (self._spaced.names, self._spaced.width) == (spaced.names, spaced.width) or (
            self._listed == len(spaced.names))  # after a fit in `no_bar`, its list of as many values
        self._listed = 0
        self._before = self._next if same else 0  # skorch's rule of a next fit may be wider: the same table
        self._columns, self._step_at, self._spaced, self._planned = spaced.names, 0, spaced, None

    def _spaced_row(self, line: str) -> Record | None:
        """A row under a blank-aligned header: as many words in its layout, an epoch first, a duration under `time`,
        counted on from the fits before it (see `launched`). Another table printed after it (the classification
        report fastai's interpretation prints, `           0       0.95      0.97      0.96       980`) is not one."""
        spaced = self._spaced
        assert spaced is not None
        fields = _cells(line, spaced.spans) if spaced.spans else line.split()
        if fields is None:
            return None
        if len(fields) != len(spaced.names) or not _laid_out(line, spaced) or (
                spaced.time_at is not None and _DURATION.fullmatch(fields[spaced.time_at]) is None):
            return None
        last = self._before + (self._planned or 0) - 1
        total = last if last > 0 else None  # a first fit of one epoch (fine_tune's frozen one): 0 is no total
        rec = _row(spaced.names, 0, fields, self._before, durations=True, total=total)
        if rec is not None and rec.step is not None:
            self._next = rec.step + 1
        return rec

    def _listed_row(self, m: re.Match[str]) -> Record | None:
        """A row of fastai's printed as a list (`_LISTED`), its columns named by the last header read where it has as
        many (a fit drawn with its bar, then one in `no_bar`), else as the recorder names them by default:
        `train_loss`, then `valid_loss`, then the metrics, unnamed in the log (`metric_1`, …). A recorder with
        `train_metrics` prints each metric twice, the training one before `valid_loss` (`[0, 0.79, 0.45, 0.78, 0.48,
        '00:00']`: train loss, train accuracy, valid loss, valid accuracy), so an even number of values from four on
        may be either layout: only the first, the training loss, is named then (read as `valid_loss`, a healthy fit's
        rising train accuracy was an overfit warning, a code review). Each fit counts its epochs from 0: a row of
        epoch 0 after others in the same launch is a next fit's, counted on where its table is as wide (`launched`)."""
        values = m[2][2:].split(", ")
        fields = [m[1], *values, m[3]]
        spaced = self._spaced
        headed = spaced is not None and not spaced.width and not spaced.spans and len(spaced.names) == len(fields)
        if spaced is not None and headed:
            names = spaced.names
        else:
            named = ("train_loss",) if len(values) >= 4 and len(values) % 2 == 0 else ("train_loss", "valid_loss")[:len(values)]
            names = ("epoch", *named, *(f"metric_{i}" for i in range(1, len(values) - len(named) + 1)), "time")
        if m[1] == "0":  # a fit's first row: the same table's as the last fit's goes on from it, another's from 0
            same = self._listed == len(fields) or not self._listed and headed
            self._before = self._next if same else 0
        self._listed = len(fields)
        rec = _row(names, 0, fields, self._before, durations=True)
        if rec is not None and rec.step is not None:
            self._next = rec.step + 1
        return rec

    def launched(self) -> None:
        """fastai prints its table's header at each `fit` (`fine_tune` fits once frozen, then again), each fit's rows
        from epoch 0: in one launch the same header again is the next fit of the same model, whose epochs go on
        from the last (a `fine_tune(3)` reads epochs 0 to 3, not 0 then 0 to 2); a new launch counts from 0."""
        self._before = self._next = 0

    def score(self, line: str) -> int:
        """2 for a header (names, tab-separated, one of them a step's; or a blank-aligned one, `_heading`, as `parse`
        reads it), 1 for a line shaped as a row (an integer first, then numbers or stamps, tab-separated): a fresh
        parser holds no header to read it under."""
        if "\t" not in line:
            spaced, self._scored = _heading(line, self._scored)
            if spaced is not None:
                return 2
            # a fastai row printed as a list: a row's score, as a tab-separated row's (scored 2, a header's, one such
            # line took a whole log of `step=3 loss=nan` lines from `kv`, its NaN missed, a code review)
            return 1 if line.startswith("[") and _LISTED.fullmatch(line.rstrip()) else 0
        fields = line.strip().split("\t")
        if _header(fields) is not None:
            return 2
        if len(fields) >= 3 and _INT.fullmatch(fields[0]) is not None and all(
                parse_number(f) is not None or _STAMP.fullmatch(f) is not None for f in fields[1:]):
            return 1
        return 0


def _heading(line: str, named: tuple[str, tuple[str, ...]] | None
             ) -> tuple[_Spaced | None, tuple[str, tuple[str, ...]] | None]:
    """The layout a line gives a blank-aligned table, if any: a header laid out on its own (fastai's, PatchTST's), or
    the rule under `named`, the header line before it (skorch's); and what the next line is to know of this one (a
    header's names in no layout of their own, awaiting their rule). `parse` and `score` read headers by it alike."""
    if named is not None and (spaced := _ruled(line, *named)) is not None:
        return spaced, None
    if not line.lstrip().startswith(_SPACED_FIRST) or (names := _header_names(line)) is None:
        return None, None
    spaced = _laid_out_header(line, names)
    return spaced, None if spaced is not None else (line, names)


def _header_names(line: str) -> tuple[str, ...] | None:
    """The names of a line that may be a blank-aligned table's header (see the module notes): `epoch` first, then at
    least two more single-word names, no name twice, one of them a loss's in a name of its own (`train_loss`,
    `loss_cls`: `epoch loss was high` is prose)."""
    fields = line.split()
    if not (3 <= len(fields) <= MAX_COLUMNS and fields[0] == _SPACED_FIRST
            and any("loss" in f and f != "loss" for f in fields)):
        return None
    if not all(_WORD.fullmatch(f) for f in fields) or len(set(fields)) != len(fields):
        return None
    return tuple(fields)


def _time_at(names: tuple[str, ...]) -> int | None:
    return names.index("time") if "time" in names else None


def _laid_out_header(line: str, names: tuple[str, ...]) -> _Spaced | None:
    """The layout of a header whose names are laid out as fastai lays them or right-aligned to one width, else None:
    a pandas DataFrame of a history (`   epoch  train_loss  val_loss`, its index column blank) is neither, its rows, an
    index first, no epochs (read as a header it took a Keras log from its own format, a code review); skorch's header
    is laid out by the rule under it (`_ruled`)."""
    text = line.rstrip()
    if text == "  ".join(f.ljust(8) for f in names).rstrip():
        return _Spaced(names, 0, _time_at(names))
    width = len(text) // len(names)
    if width * len(names) == len(text) and text == "".join(f.rjust(width) for f in names):
        return _Spaced(names, width, _time_at(names))
    return None


def _ruled(line: str, header: str, names: tuple[str, ...]) -> _Spaced | None:
    """The layout a rule of dashes under `header` gives its table (`tabulate`'s, skorch's), or None where `line` is no
    such rule: a run of dashes a name, each name within its run."""
    text = line.rstrip()
    if _RULE.fullmatch(text) is None:
        return None
    spans = tuple((m.start(), m.end()) for m in re.finditer("-+", text))
    placed = [(m.start(), m.end()) for m in _FIELD.finditer(header)]
    if len(spans) != len(names) or any(not (a <= start and end <= b) for (a, b), (start, end) in zip(spans, placed, strict=True)):
        return None
    return _Spaced(names, 0, _time_at(names), spans)


def _cells(line: str, spans: tuple[tuple[int, int], ...]) -> list[str] | None:
    """The cells of a row under a rule's `spans` (empty where the row has none: skorch's `cp` where no checkpoint was
    saved), or None where its words do not fall one a column, in order. skorch tabulates each epoch's row on its own,
    its header and rule only once: a value wider than the first row's (`dur` 25.5 after 9.1, a loss of 123456789.5)
    widens its column and moves those after it, so a word belongs to the column it overlaps or, pushed off, the
    nearest (read only where they fit the rule exactly, such rows were dropped: a slowdown and a blow-up unread, a
    code review)."""
    cells = [""] * len(spans)
    last = -1
    for m in _FIELD.finditer(line):
        at = min(range(len(spans)), key=lambda i: max(spans[i][0] - m.end(), m.start() - spans[i][1], 0))
        if at <= last:
            return None  # two words in one column, or out of order
        cells[at], last = m[0], at
    return cells


def _laid_out(line: str, spaced: _Spaced) -> bool:
    """Whether a line's words stand where the header's layout puts a row's: from the first column (fastai's), or
    each ending at its column's right edge."""
    if spaced.spans:
        return True  # `_cells` placed them
    if not spaced.width:
        return not line[:1].isspace()
    return all(m.end() == spaced.width * (i + 1) for i, m in enumerate(_FIELD.finditer(line)))


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


def _row(columns: tuple[str, ...], step_at: int, fields: list[str], before: int = 0, *,
         durations: bool = False, total: int | None = None) -> Record | None:
    """The record of a row under `columns`, or None when its step is no count (another table's line, prose); its step
    counted on from `before`, the run's planned steps `total`. With `durations` (fastai's), a `time` column is the epoch's duration (a tab-separated
    table's `time` may be a clock's: `00:30:00` read as a step time was a slowdown that was none, a code review); 0
    (`00:00`, an epoch under a second) is none."""
    step = None
    if step_at >= 0:
        raw_step = fields[step_at].strip()
        if _INT.fullmatch(raw_step) is None:
            return None
        step = int(raw_step) + before
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
        if durations and low == "time" and (d := _DURATION.fullmatch(text)) is not None:
            if seconds := int(d[1] or 0) * 3600 + int(d[2]) * 60 + int(d[3]):
                metrics["step_time"] = float(seconds)
            continue
        if durations and low in _SECONDS_NAMES and (seconds_f := parse_number(text)) is not None:
            metrics["step_time"] = seconds_f
            continue
        value = parse_number(text)
        if value is not None:
            metrics.setdefault(metric_name(name), value)
    if not metrics or metrics.keys() == {"epoch"}:
        return None
    return Record(Kind.STEP, step=step, total_steps=total, metrics=metrics, t=t)
