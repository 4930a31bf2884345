"""`runwatch compare RUN_A RUN_B…`: what differs between runs, and their curves overlaid.

Each PATH is read as `runwatch report` reads it (`check_run`, the whole history
kept); a path that holds several runs gives each. Printed: a table of the
settings that differ and the runs' outcomes side by side; written into DIR:
overlaid PNGs aligned by step, tokens seen or wall time (`--x`, as the TUI's
compare view aligns them) and `compare.md` with the same table. Exit codes:
3 as `check` when a path holds nothing readable; 64 when fewer than two runs
were found; else 0 (a comparison is no health check: `check` judges).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from runwatch.commands.check import check_run, summarize
from runwatch.commands.parse import SourceProblems
from runwatch.commands.report import READ_AS, facts
from runwatch.config import Config
from runwatch.errors import UsageError
from runwatch.model import XAxis
from runwatch.plan import RunPlan, plan_runs
from runwatch.report.differ import Comparison, compare
from runwatch.report.document import Block, Heading, Image, Para, Table, markdown
from runwatch.report.numbers import run_numbers
from runwatch.report.values import DRAWN, RunNumbers
from runwatch.state.run import RunTracker
from runwatch.text import clip, one_line

CELL = 40
"""A value longer than this is cut in the terminal table (the Markdown keeps it whole)."""


def run_compare(paths: list[str], *, config: Config, out_dir: Path, axis: XAxis, as_json: bool, out: TextIO,
                err: TextIO | None = None) -> int:
    problems = SourceProblems(err if err is not None else sys.stderr)
    plans: list[RunPlan] = []
    numbers: list[RunNumbers] = []
    trackers: list[RunTracker] = []
    own_times: list[bool] = []
    for path in paths:
        for run in plan_runs([path]):
            result = check_run(run, config, None, None, on_notice=problems, history=DRAWN)
            if result.tracker.records == 0:
                problems.nothing_understood(run.label, None, run.logs, hint=READ_AS)
                continue
            plans.append(run)
            numbers.append(run_numbers(facts(run, result, summarize(result))))
            trackers.append(result.tracker)
            own_times.append(result.own_times)
    names = run_names(plans)
    if problems.exit_code(0):
        return problems.exit_code(0)
    if len(names) < 2:
        raise UsageError(f"compare needs two runs or more; the paths hold {len(names)}")
    comparison = compare(names, numbers)
    plots = _plots(names, trackers, own_times, axis, out_dir)
    summary = out_dir / "compare.md"
    summary.write_text(markdown(blocks(comparison, axis, plots)), "utf-8")
    if as_json:
        out.write(json.dumps({"type": "compare", "runs": names, "x": str(axis), "summary": str(summary),
                              "plots": [p.file for p in plots],
                              "settings_differ": {k: v for k, v in comparison.settings},
                              "numbers": {k: v for k, v in comparison.numbers},
                              "reports": [n.as_json() for n in numbers]}, allow_nan=False) + "\n")
    else:
        out.write(table(comparison) + "\n" + one_line(str(summary)) + "\n")
    return 0


def run_names(runs: Sequence[RunPlan]) -> list[str]:
    """Each run's name; where two share one (every run lab directory holds a `run/`), the shortest ends of
    their paths that tell them apart (`nanogpt-tb-spike/run`), else a number."""
    names = [r.name for r in runs]
    for depth in range(2, 5):
        if len(set(names)) == len(names):
            return names
        names = [r.name if [q.name for q in runs].count(r.name) == 1 else
                 "/".join(Path(r.label).parts[-depth:]) for r in runs]
    return names if len(set(names)) == len(names) else [f"{n}#{i + 1}" for i, n in enumerate(names)]


def _plots(names: list[str], trackers: list[RunTracker], own_times: list[bool], axis: XAxis,
           out_dir: Path) -> list[Image]:
    from runwatch.report.overlay import draw_overlays

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot write the comparison into {out_dir}: {e.strerror or e}") from None
    return draw_overlays(names, trackers, axis, out_dir, own_times=own_times)


def table(c: Comparison) -> str:
    """The terminal table: settings that differ, then the outcomes, one column per run."""
    rows: list[list[str]] = [["", *c.runs]]
    rows += [[f"setting {k}", *v] for k, v in c.settings] or [["settings", *(["no difference found"] * len(c.runs))]]
    rows += [[k, *v] for k, v in c.numbers]
    cells = [[_listed(one_line(cell), CELL) if row[0] == "alerts" else clip(one_line(cell), CELL) for cell in row]
             for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in cells)


def _listed(cell: str, limit: int) -> str:
    """A list cell (`a, b, c`) of at most `limit` characters: the items that fit, in their order, and
    `+N more` for the rest (a cut mid-item hid the third alert, and that there was one)."""
    items = cell.split(", ")
    for keep in range(len(items), 0, -1):
        more = len(items) - keep
        text = ", ".join(items[:keep]) + (f" +{more} more" if more else "")
        if len(text) <= limit:
            return text
    rest = f" +{len(items) - 1} more" if len(items) > 1 else ""
    return clip(items[0], limit - len(rest)) + rest


def blocks(c: Comparison, axis: XAxis, plots: Sequence[Image]) -> list[Block]:
    out: list[Block] = [Heading(f"Comparison: {' vs '.join(c.runs)}", 1), Heading("Settings that differ")]
    if c.settings:
        out.append(Table(("setting", *c.runs), [(k, *v) for k, v in c.settings]))
    else:
        out.append(Para("No setting differs (or no run carried its config)."))
    out += [Heading("Outcomes"), Table(("", *c.runs), [(k, *v) for k, v in c.numbers]),
            Heading(f"Curves by {axis}")]
    for p in plots:
        out += [Para(f"{p.alt} ({p.file}, {p.width}×{p.height}):"), p]
    if not plots:
        out.append(Para(f"Nothing to overlay by {axis}: no run logged a loss or throughput along it."))
    return out
