"""`runwatch report`: a finished run's report (Markdown or one HTML file) with PNG plots.

The run is read exactly as `runwatch check` reads it (`check_run`: the same
planner, readers, grouping and rules), keeping its whole history for the plots;
its alerts are the ones `check` prints. One run writes `DIR/report.md` and its
plots into DIR; several write `DIR/<run>/report.md` each. The report's path
is printed (with `--json`, one JSON object per run with the numbers). Exit
codes are `check`'s: 0 nothing fired, 1 warnings, 2 critical, 3 a path held
nothing readable.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from runwatch.commands.check import (
    Fired,
    check_run,
    exit_code,
    incomplete,
    notes,
    signalled,
    summarize,
    warnings,
)
from runwatch.commands.parse import SourceProblems
from runwatch.config import Config
from runwatch.errors import UsageError
from runwatch.model import RunState
from runwatch.plan import WANDB_FORMAT, RunPlan, plan_runs
from runwatch.replay import Replay
from runwatch.report.document import Image, html_page, markdown, read_image
from runwatch.report.numbers import run_numbers
from runwatch.report.sections import report_blocks
from runwatch.report.values import DRAWN, AlertRow, RunFacts, RunNumbers
from runwatch.text import one_line

READ_AS = "`runwatch parse --format NAME` shows whether a format reads it"
"""The hint for a path nothing was understood of: these commands detect formats, as `check` does."""
DEFAULT_DIR = "runwatch-report"


def run_report(paths: list[str], *, config: Config, fmt: str | None, total_steps: int | None, out_dir: Path,
               doc_format: str, as_json: bool, out: TextIO, err: TextIO | None = None) -> int:
    runs = plan_runs(paths, fmt=fmt)
    problems = SourceProblems(err if err is not None else sys.stderr)
    dirs = run_dirs(out_dir, runs)
    worst = 0
    for run, where in zip(runs, dirs, strict=True):
        result = check_run(run, config, None if fmt == WANDB_FORMAT else fmt, total_steps, on_notice=problems,
                           history=DRAWN)
        if result.tracker.records == 0:
            problems.nothing_understood(run.label, fmt, run.logs, hint=READ_AS)
            continue
        fired = summarize(result)
        worst = max(worst, exit_code(fired))
        numbers = run_numbers(facts(run, result, fired))
        path, plots = write_report(numbers, result, where, doc_format)
        if as_json:
            out.write(json.dumps({"type": "report", "run": run.name, "report": str(path), "plots": plots,
                                  **numbers.as_json()}, allow_nan=False) + "\n")
        else:
            out.write(one_line(str(path)) + "\n")
    return problems.exit_code(worst)


def run_dirs(out_dir: Path, runs: Sequence[RunPlan]) -> list[Path]:
    """DIR for one run; DIR/<run> for each of several (a name made safe for a path, and unique)."""
    if len(runs) == 1:
        return [out_dir]
    seen: dict[str, int] = {}
    out = []
    for run in runs:
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", run.name).strip("._") or "run"
        seen[name] = seen.get(name, 0) + 1
        out.append(out_dir / (name if seen[name] == 1 else f"{name}-{seen[name]}"))
    return out


def facts(run: RunPlan, result: Replay, fired: list[Fired]) -> RunFacts:
    state = result.tracker.state(result.end)
    words = {RunState.FINISHED: "finished", RunState.CRASHED: "crashed"}.get(state, "ended")
    if incomplete(result, signalled(result)) and state != RunState.CRASHED:
        words = "incomplete"
    alerts = [AlertRow(f.rule, str(f.severity), dict(f.labels), f.summary, f.first_step, f.last_step, f.times,
                       "still firing at the end" if f.firing_at_end else
                       "cleared before the end" if f.cleared else "resolved") for f in fired]
    said = [w for w in warnings(result) if not w.startswith("incomplete")] + notes(result)
    return RunFacts(run.name, run.label, result.tracker, result.end, words, result.meta, result.samples, alerts,
                    said, synthetic_time=bool(result.timing), own_times=result.own_times,
                    times_by=result.times_by,
                    preambles=result.preambles)


def write_report(numbers: RunNumbers, result: Replay, where: Path, doc_format: str) -> tuple[Path, list[str]]:
    """The plots and the document into `where`; (the document's path, the plots' file names)."""
    plots = draw_plots(result, where)
    return write_document(numbers, plots, where, doc_format), [p.file for p in plots]


def draw_plots(result: Replay, where: Path) -> list[Image]:
    """Every plot the run has data for, as PNGs in `where` (made if missing). matplotlib is imported here,
    once the run is read: `check`'s path never loads it."""
    from runwatch.report.plots import draw_all
    from runwatch.report.system import system_plot

    try:
        where.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot write the report into {where}: {e.strerror or e}") from None
    # a clock rebuilt from a progress bar's elapsed time is the run's time too (`Replay.timing` empty): drawn
    # on it, not on the sum of the bar's smoothed rate (2.2 min for a run of 1m17s after a 75 s hang)
    plots = draw_all(result.tracker, where, own_times=result.own_times or not result.timing)
    machine = system_plot(result.samples, where)
    return plots + ([machine] if machine is not None else [])


def write_document(numbers: RunNumbers, plots: Sequence[Image], where: Path, doc_format: str) -> Path:
    """`report.md`, or `report.html` with the plots inlined, into `where`; its path."""
    blocks = report_blocks(numbers, plots)
    if doc_format == "html":
        path = where / "report.html"
        path.write_text(html_page(f"Run report: {numbers.overview.name}", blocks, read_image(where)), "utf-8")
    else:
        path = where / "report.md"
        path.write_text(markdown(blocks), "utf-8")
    return path
