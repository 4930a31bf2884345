"""`runwatch parse`: the records of what the paths hold now (DESIGN §3).

The paths are planned as `tail` plans them (runwatch.plan): log
files, standard input (`-`, read to EOF), metric files, checkpoint
directories and W&B runs, each read once to its current end
(runwatch.commands.readers); structured sources give the records the
engine's decoders give. Records are written source by source.

Files are read in 8 MiB blocks of raw lines (`read_blocks`) and handed to
SourceParser.feed_bytes, so that a format with a columnar fast path
(picollm, nanogpt) turns its step lines into numpy columns; `--output
summary` then stays columnar too (`Summary.add_chunk`), the other outputs
turn the columns into Records. RUNWATCH_NO_FAST_PATH=1 reads every line the
per-line way (same output, for checking).
"""

from __future__ import annotations

import csv
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from runwatch.arrays import distinct
from runwatch.commands.readers import BlockReader, ItemsReader, Reader, StdinReader
from runwatch.model import Kind, Record, json_number
from runwatch.parsers.base import ItemDecoder
from runwatch.parsers.failures import ParseFailures
from runwatch.parsers.source import ChunkRecords, with_total
from runwatch.plan import WANDB_FORMAT, RunPlan, plan_runs
from runwatch.state.progress import past_total
from runwatch.text import clean, clip, one_line, visible
from runwatch.watcher.discover import rank_from_path
from runwatch.watcher.fileid import binary_file, utf16
from runwatch.watcher.snapshot import BLOCK_BYTES, READ_CHUNK, read_blocks
from runwatch.watcher.types import Notice


def readers_of(run: RunPlan, fmt: str | None, *, read_time: bool = True, stdin: BinaryIO | None = None,
               on_notice: Callable[[Notice], None] = lambda n: None) -> Iterator[Reader]:
    """A reader for each source of `run`: its logs, standard input, its structured sources."""
    for f in run.logs:
        yield _Counted(f, fmt, None, read_time=read_time, on_notice=on_notice)
    if run.stdin:
        yield StdinReader(stdin if stdin is not None else sys.stdin.buffer, fmt, read_time=read_time,
                          on_notice=on_notice)
    decoders: dict[tuple[str, str], ItemDecoder] = {}
    for path in run.items:
        yield ItemsReader(path, run.name, decoders, read_time=read_time, on_notice=on_notice)


EXIT_UNREAD = 3
"""DESIGN §3: a path held nothing runwatch understood, or a source could not be read."""


class SourceProblems:
    """What a one-shot read could not use, said on `err` one line each as it happens and counted for the
    exit status: a source's warnings and errors (info notices are for live views), and runs of which
    nothing was understood. `parse` and `check` exit 3 when there is any (a gate must not pass input
    it could not judge); for `check` a critical alert (2) still comes first."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.unread: list[str] = []

    def __call__(self, n: Notice) -> None:
        if n.level == "info":
            return
        self.err.write(one_line(f"runwatch: {n.message}") + "\n")
        if n.level == "error":
            self.unread.append(n.message)

    def nothing_understood(self, label: str, fmt: str | None, logs: Sequence[Path] = (), *,
                           hint: str = "--format NAME forces one") -> None:
        why = _unreadable(logs) or (f"nothing read as {fmt}" if fmt else
                                    f"no known log format, metric file or W&B run ({hint})")
        self.unread.append(f"{label}: {why}")
        self.err.write(one_line(f"runwatch: {visible(label)}: nothing understood: {why}") + "\n")

    def read_in_part(self, logs: Sequence[Path]) -> None:
        """Logs of a run that gave records but are UTF-16 (`fileid.utf16`): read through the NUL bytes, what
        was not plain ASCII is lost (an Ultralytics console's bars: its evaluations read, no step), so the
        conversion is asked for as when nothing was understood, and the exit says the input was not judged."""
        for path in logs:
            if utf16(path) and (why := binary_file(path)) is not None:
                self.unread.append(f"{path}: {why}")
                self.err.write(one_line(f"runwatch: {visible(str(path))}: read in part: {why}") + "\n")

    def rule_failed(self, run: str, rule: str, why: str) -> None:
        """A rule raised (a runwatch bug): the run was judged without it from then on."""
        self.unread.append(f"{run}: rule {rule} failed")
        self.err.write(one_line(f"runwatch: {visible(run)}: rule {rule} failed ({why}); judged without it from then on") + "\n")

    def not_judged(self, run: str, said: str) -> None:
        """A rule set to judge a metric the run does not log (`alerts.judge.unjudged_metrics`): what was asked was not
        judged (exit 3, as for a rule that failed)."""
        self.unread.append(f"{run}: {said}")
        self.err.write(one_line(f"runwatch: {visible(run)}: {said}") + "\n")

    def parse_failed(self, failures: ParseFailures | None) -> None:
        """A parser raised on some of a source's lines (a runwatch bug): they gave no record, so what they
        said was not read (exit 3, as for a rule that failed)."""
        said = failures.describe() if failures is not None else None
        if failures is None or said is None:
            return
        self.unread.append(f"{failures.source}: {said}")
        self.err.write(one_line(f"runwatch: {visible(failures.source)}: {said}") + "\n")

    def exit_code(self, worst: int) -> int:
        """The status: a critical alert (2) first, then what could not be read (3), then warnings (1)."""
        if worst >= 2 or not self.unread:
            return worst
        return EXIT_UNREAD




def _unreadable(logs: Sequence[Path]) -> str | None:
    """Why logs of which nothing was understood are no logs at all, when that is why: every one is empty,
    or one is binary (NUL bytes near its start: no text log has them). None otherwise."""
    sizes = {p: _size(p) for p in logs}
    if logs and all(size == 0 for size in sizes.values()):
        return "an empty file" if len(logs) == 1 else "empty files"
    return next((why for path in logs if (why := binary_file(path)) is not None), None)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


class _Counted(BlockReader):
    """Records of one log file, counting its lines and remembering its format."""

    def __init__(self, path: Path, fmt: str | None, total_steps: int | None, *, read_time: bool = True,
                 on_notice: Callable[[Notice], None] = lambda n: None) -> None:
        super().__init__(str(path), lambda cut: read_blocks(path, block_size=BLOCK_BYTES, chunk_size=READ_CHUNK, cuts=cut),
                         fmt, total_steps, name=path.name, rank=rank_from_path(str(path)), read_time=read_time,
                         on_notice=on_notice)
        self.path = path


def records_of(path: Path, fmt: str | None, total_steps: int | None, *, read_time: bool = True) -> Iterator[Record]:
    """Every record a file holds now, in order. `read_time=False` leaves `t` 0 on records whose
    line carries no time (a replay rebuilds their times; the read time is one instant for all)."""
    return iter(_Counted(path, fmt, total_steps, read_time=read_time))


_KIND_NAMES: dict[Kind | str, str] = {k: str(k) for k in Kind}
_MEASURED = frozenset({Kind.STEP, Kind.EVAL})
"""Records whose `metrics` are the run's metrics in the summary; an event's are its details."""


@dataclass
class Summary:
    """Counts and last values: a quick look at a log, and the benchmark's output."""

    files: int = 0
    lines: int = 0
    items: int = 0
    """Items of structured sources (a metric file's rows, a W&B run's records): no lines, and `lines 0` beside
    a CSV of 2,835 rows read as nothing read (two reviews)."""
    formats: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    metric_count: Counter[str] = field(default_factory=Counter)
    nonfinite: Counter[str] = field(default_factory=Counter)
    last: dict[str, float] = field(default_factory=dict)
    first_step: int | None = None
    last_step: int | None = None
    total_steps: int | None = None
    given_total: bool = False
    """`total_steps` is the user's (`--total-steps`): shown as given, even where the steps went past it."""
    ranks: set[int] = field(default_factory=set)
    failed: int = 0
    """Lines a parser raised on (each gave no record)."""

    def add(self, rec: Record) -> None:
        self.add_records((rec,))

    def add_records(self, recs: Iterable[Record]) -> None:
        """`add` of each record, in order, in one loop.

        Metric counts and last values are kept per set of metric names (a
        log has a handful) and folded in at the end: `Counter.update` and
        `dict.update` for every record cost more than the parsing of a line.
        """
        kinds: dict[Kind | str, int] = {}
        events, ranks = self.events, self.ranks
        shapes: dict[tuple[str, ...], list[Any]] = {}  # names → [records, position of the last, its metrics]
        first, last, total = self.first_step, self.last_step, self.total_steps
        for i, rec in enumerate(recs):
            kinds[rec.kind] = kinds.get(rec.kind, 0) + 1
            if rec.event:
                events[rec.event] += 1
            if rec.step is not None and rec.kind in _MEASURED:  # an event's step may be a file name's (a
                if first is None:  # per-epoch `checkpoint_epoch_1_step_6501.pt` after step 13001: a review)
                    first = rec.step
                last = rec.step
            if rec.total_steps is not None:
                total = rec.total_steps
            if rec.rank is not None:
                ranks.add(rec.rank)
            m = rec.metrics if rec.kind in _MEASURED else None  # an event's fields (exitcode, pid) are no metrics
            if m:
                names = tuple(m)
                shape = shapes.get(names)
                if shape is None:
                    shapes[names] = [1, i, m]
                else:
                    shape[0] += 1
                    shape[1] = i
                    shape[2] = m
                s = sum(m.values())
                if s - s != 0.0:  # a NaN or an inf among them (or a sum that overflowed)
                    for k, v in m.items():
                        if not math.isfinite(v):
                            self.nonfinite[k] += 1
        self.first_step, self.last_step, self.total_steps = first, last, total
        for kind, n in kinds.items():
            self.kinds[_KIND_NAMES.get(kind) or str(kind)] += n
        count, values = self.metric_count, self.last
        for names, (n, _, _) in shapes.items():
            for k in names:
                count[k] += n
        for _, _, m in sorted(shapes.values(), key=lambda shape: shape[1]):
            values.update(m)

    def add_chunk(self, chunk: ChunkRecords, total_steps: int | None = None) -> None:
        """The records of one chunk, step columns included, as `add` of each in order would count them.

        `total_steps` overrides every total (`--total-steps`). The columns are
        counted in numpy; what depends on order (first and last step, last
        values, total) goes to whichever of a column's rows and the chunk's
        other records comes first or last by line: both are in line order and
        never share a line.
        """
        recs = with_total(chunk.records, total_steps)
        batch = chunk.steps
        if batch is None or not len(batch):
            self.add_records(recs)
            return
        import numpy as np

        had_first = self.first_step is not None
        self.add_records(recs)
        first_at = last_at = total_at = None  # lines of the records that set these
        last_line: dict[str, int] = {}
        for rec in recs:
            if rec.step is not None and rec.kind in _MEASURED:
                first_at = rec.line if first_at is None else first_at
                last_at = rec.line
            if rec.total_steps is not None:
                total_at = rec.line
            if rec.metrics and rec.kind in _MEASURED:
                last_line.update(dict.fromkeys(rec.metrics, rec.line))
        lines, steps = batch.line, batch.step
        self.kinds[_KIND_NAMES.get(batch.kind) or str(batch.kind)] += len(batch)
        stated = batch.rank  # launcher prefixes (`[rank3]:`) per row, -1 where a row has none
        if stated is not None:
            self.ranks.update(distinct(stated[stated >= 0]).tolist())
        if chunk.rank is not None and (stated is None or (stated < 0).any()):
            self.ranks.add(chunk.rank)
        if not had_first and (first_at is None or lines[0] < first_at):
            self.first_step = int(steps[0])
        if last_at is None or lines[-1] > last_at:
            self.last_step = int(steps[-1])
        totals = np.flatnonzero(batch.total >= 0) if total_steps is None else None
        if totals is None:
            if total_at is None or lines[-1] > total_at:
                self.total_steps = total_steps
        elif totals.size and (total_at is None or lines[totals[-1]] > total_at):
            self.total_steps = int(batch.total[totals[-1]])
        for name in batch.metrics:
            at, values = batch.column(name)
            if not at.size:
                continue
            self.metric_count[name] += int(at.size)
            bad = int(at.size - np.count_nonzero(np.isfinite(values)))
            if bad:
                self.nonfinite[name] += bad
            if name not in last_line or at[-1] > last_line[name]:
                self.last[name] = float(values[-1])

    def render(self, seconds: float) -> str:
        rate = self.lines / seconds if seconds > 0 else 0.0
        out = [
            f"files      {self.files}",
            f"format     {', '.join(f'{k} ({v} files)' for k, v in self.formats.items()) or 'none detected'}",
            f"lines      {self.lines}  ({seconds:.2f} s, {rate:,.0f} lines/s)" if self.lines or not self.items else
            f"items      {self.items}  ({seconds:.2f} s: a metric file's rows, a W&B run's records)",
            f"records    {sum(self.kinds.values())}  " + "  ".join(f"{k}={v}" for k, v in sorted(self.kinds.items())),
            "steps      " + self._steps(),
        ]
        if self.ranks:
            out.append(f"ranks      {len(self.ranks)} ({min(self.ranks)}–{max(self.ranks)})")
        if self.failed:
            out.append(f"failed     {self.failed} lines a parser raised on (a runwatch bug: see the warning)")
        if self.events:
            out.append("events     " + "  ".join(f"{k}={v}" for k, v in sorted(self.events.items())))
        if self.metric_count:
            out.append("metric                      count        last   non-finite")
            for k, n in sorted(self.metric_count.items(), key=lambda kv: (-kv[1], kv[0])):
                out.append(f"  {k:<24} {n:>8}  {_num(self.last[k]):>12}   {self.nonfinite.get(k, 0) or ''}")
        return "\n".join(out)

    def _steps(self) -> str:
        if self.first_step is None or self.last_step is None:
            return "no steps" + (f" (of {self.total_steps} planned)" if self.total_steps else "")
        total = self.total_steps if self.given_total else past_total(self.last_step, self.total_steps)  # else: one
        # epoch's length a log stated, as the run's state reads it
        return f"{self.first_step} → {self.last_step}" + (f" of {total}" if total else "")


def _num(v: float) -> str:
    if not math.isfinite(v):
        return str(json_number(v))
    return f"{v:.6g}"


CSV_SAMPLE = 5000
TABLE_SAMPLE = 200
"""Records `--output table` reads before it picks its columns (the step metrics most of them carry)."""
TABLE_COLUMNS = 7
CSV_FIXED = ["kind", "step", "total_steps", "rank", "t", "event", "message", "source", "line"]


def run_parse(paths: list[str], *, fmt: str | None, output: str, total_steps: int | None, out: TextIO,
              stdin: BinaryIO | None = None, err: TextIO | None = None) -> int:

    runs = plan_runs(paths, fmt=fmt)  # PathError: exit 3, one line (cli)
    writer = _Writer(output, out)
    problems = SourceProblems(err if err is not None else sys.stderr)
    line_fmt = None if fmt == WANDB_FORMAT else fmt
    summaries: list[tuple[RunPlan, Summary, float]] = []
    for run in runs:
        started = time.perf_counter()
        summary = Summary(given_total=total_steps is not None)  # one per run: the runs of a directory are not one run's steps and last values
        records = 0
        for reader in readers_of(run, line_fmt, stdin=stdin, on_notice=problems):
            for chunk in reader.chunks():
                records += len(chunk)
                if output == "summary":
                    summary.add_chunk(chunk, total_steps)
                else:
                    for rec in with_total(chunk.merged(), total_steps):
                        writer.write(rec)
            summary.files += 1
            summary.lines += reader.lines
            summary.items += reader.items
            summary.formats[reader.format or "none"] += 1
            summary.failed += reader.failures.total if reader.failures is not None else 0
            problems.parse_failed(reader.failures)
        if records == 0:
            problems.nothing_understood(run.label, fmt, run.logs)
        else:
            problems.read_in_part(run.logs)
        summaries.append((run, summary, time.perf_counter() - started))
    writer.close()
    if output == "summary":
        if len(summaries) == 1:
            out.write(clean(summaries[0][1].render(summaries[0][2])) + "\n")
        else:
            out.write(clean("\n\n".join(f"run        {visible(run.name)}  ({visible(run.label)})\n{summary.render(took)}"
                                         for run, summary, took in summaries)) + "\n")
    return problems.exit_code(0)


class _Writer:
    """Streams records in the chosen output; `summary` writes nothing per record."""

    def __init__(self, output: str, out: TextIO) -> None:
        self.output, self.out = output, out
        self._csv: csv.writer | None = None  # type: ignore[valid-type]
        self._metric_cols: list[str] = []
        self._table_cols: list[str] = []
        self._rows = 0
        self._pending: list[Record] = []

    def write(self, rec: Record) -> None:
        if self.output == "jsonl":
            self.out.write(clean(json.dumps(rec.to_json(), allow_nan=False, ensure_ascii=False)) + "\n")
        elif self.output == "csv":
            self._write_csv(rec)
        elif self.output == "table":
            self._write_table(rec)

    def _held(self, rec: Record, started: bool, sample: int, start: Callable[[], None]) -> bool:
        """Whether `rec` is held for the sample the columns are picked from (`start` picks them and writes
        what was held, once `sample` records are in); False once the columns are known."""
        if started:
            return False
        self._pending.append(rec)
        if len(self._pending) >= sample:
            start()
        return True

    def _write_csv(self, rec: Record) -> None:
        """Columns are the metrics of the first CSV_SAMPLE records; later strangers go to `other_metrics`."""
        if not self._held(rec, self._csv is not None, CSV_SAMPLE, self._start_csv):
            self._csv_row(rec)

    def _start_csv(self) -> None:
        self._csv = csv.writer(self.out)
        names: dict[str, None] = {}
        for r in self._pending:
            names.update(dict.fromkeys(r.metrics))
        self._metric_cols = list(names)
        self._csv.writerow([one_line(c) for c in CSV_FIXED + self._metric_cols + ["other_metrics"]])
        pending, self._pending = self._pending, []
        for r in pending:
            self._csv_row(r)

    def _csv_row(self, rec: Record) -> None:
        assert self._csv is not None
        d = rec.to_json()
        row = [d.get(c, "") if d.get(c) is not None else "" for c in CSV_FIXED]
        row += [_csv_num(rec.metrics[c]) if c in rec.metrics else "" for c in self._metric_cols]
        extra = {k: json_number(v) for k, v in rec.metrics.items() if k not in self._metric_cols}
        row.append(json.dumps(extra, allow_nan=False) if extra else "")
        self._csv.writerow([one_line(c) if isinstance(c, str) else c for c in row])

    def _write_table(self, rec: Record) -> None:
        """Columns are the step metrics of the first TABLE_SAMPLE records (an eval or a banner first must
        not pick them); the line is put together from cleaned cells, so the columns stay aligned."""
        if not self._held(rec, bool(self._table_cols) or self._rows > 0, TABLE_SAMPLE, self._start_table):
            self._table_row(rec)

    def _start_table(self) -> None:
        steps = [r for r in self._pending if r.kind == Kind.STEP and r.metrics] or self._pending
        names: Counter[str] = Counter()
        for r in steps:
            names.update(r.metrics.keys())
        order = {n: i for i, n in enumerate(dict.fromkeys(n for r in steps for n in r.metrics))}
        self._table_cols = sorted(names, key=lambda n: (-names[n], order[n]))[:TABLE_COLUMNS]
        self._table_cols.sort(key=order.__getitem__)
        pending, self._pending = self._pending, []
        self._rows = 0
        for r in pending:
            self._table_row(r)
        if not pending:
            self._table_row(None)

    def _table_row(self, rec: Record | None) -> None:
        if self._rows % 40 == 0:
            head = f"{'kind':<10} {'step':>8} {'rank':>4}  " + " ".join(f"{one_line(c)[:12]:>12}" for c in self._table_cols)
            self.out.write(head + "  detail\n")
        if rec is None:
            return
        self._rows += 1
        cells = " ".join(f"{_num(rec.metrics[c]) if c in rec.metrics else '':>12}" for c in self._table_cols)
        others = [f"{k}={_num(v)}" for k, v in rec.metrics.items() if k not in self._table_cols]
        detail = rec.event + ": " + (rec.message or "") if rec.event else " ".join(others)
        step = "" if rec.step is None else str(rec.step)
        rank = "" if rec.rank is None else str(rec.rank)
        self.out.write(f"{rec.kind!s:<10} {step:>8} {rank:>4}  {cells}  {clip(one_line(detail), 160)}\n")

    def close(self) -> None:
        if self.output == "csv" and self._csv is None:
            self._start_csv()
        if self.output == "table" and self._pending:
            self._start_table()
        self.out.flush()


def _csv_num(v: float) -> str:
    return str(json_number(v)) if not math.isfinite(v) else repr(v)

