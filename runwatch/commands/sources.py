"""What `runwatch parse` and `runwatch check` read for their PATH arguments: the sources `tail` follows.

The engine plans its sources as it starts (runwatch.engine `_plan`); the
one-shot commands plan the same ones here, with the same look-ups
(`is_wandb_path`, `classify_path`, `find_logs`, `find_sources`), so that a
`.wandb` file, a W&B run or `wandb/` directory, a metric file, a checkpoint
directory or a run directory holding all of them is read as `tail` reads it,
not as a pile of text files (wandb's own `debug-internal.log` is no training
log). Unlike `tail`, a path that does not exist is an error: nothing waits.

Plain log files keep `check`'s grouping: rank files of one run (same tree,
ranks in their paths) are one run. A directory is one run holding its logs
and its structured sources, as in the engine, unless its logs are several
unrelated runs; then each is its own run and the structured sources one more.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from runwatch.errors import PathError
from runwatch.watcher.discover import LOG_SUFFIXES, find_logs, find_sources, rank_from_path

STDIN = "-"
WANDB_FORMAT = "wandb"
"""The DESIGN §3 format name that is no line format: read every PATH as a W&B run."""


@dataclass
class RunPlan:
    """One run to read: log files (its ranks), structured sources (paths as the engine follows them), or stdin."""

    name: str
    label: str
    logs: list[Path] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    stdin: bool = False


def plan_runs(paths: Sequence[str], *, fmt: str | None = None) -> list[RunPlan]:
    """The runs the paths hold, in the order given; PathError for a path that holds nothing.

    Each source is read once, as the engine follows each path once: a file
    named on its own and found again in a directory given too stays in the
    run it came first with.
    """
    if list(paths).count(STDIN) > 1:
        raise PathError("'-' (standard input) can be given only once")
    planner = _Planner(wandb_only=fmt == WANDB_FORMAT)
    for p in paths:
        if p == STDIN:
            if planner.wandb_only:
                raise PathError("standard input cannot be read as a W&B run (--format wandb)")
            planner.runs.append(RunPlan("stdin", STDIN, stdin=True))
            continue
        for m in _matches(p):
            planner.add(m)
    return planner.done()


def _matches(p: str) -> list[str]:
    if any(c in p for c in "*?["):
        found = sorted(glob.glob(p))
        if not found:
            raise PathError(f"{p}: no file matches")
        return found
    return [p]


class _Planner:
    """The runs planned so far, the plain log files' runs by `group_key`, and every source taken."""

    def __init__(self, *, wandb_only: bool) -> None:
        self.wandb_only = wandb_only
        self.runs: list[RunPlan] = []
        self._loose: dict[str, RunPlan] = {}
        self._taken: set[str] = set()

    def add(self, m: str) -> None:
        if self.wandb_only:
            self._wandb_run(m, strict=True)
            return
        if not os.path.exists(m):
            raise PathError(f"{m}: no such file")
        if not os.access(m, os.R_OK):
            raise PathError(f"{m}: permission denied")
        if m.endswith(LOG_SUFFIXES) and os.path.isfile(m):
            self._log(m)  # the common case: no need to load the structured-source modules (as the engine)
            return
        from runwatch.watcher.metric_files import classify_path
        from runwatch.watcher.wandb_source import is_wandb_path

        if is_wandb_path(m):
            self._wandb_run(m, strict=False)
        elif os.path.isdir(m):
            self._directory(Path(m))
        elif classify_path(m) is not None:
            self._add(RunPlan(Path(m).parent.name or m, m, items=self._new([m])))
        else:
            self._log(m)

    def _log(self, m: str) -> None:
        """A plain log file: into the run of its ranks (`group_key`)."""
        if self._new([m]):
            key = group_key(Path(m))
            if key not in self._loose:
                self._loose[key] = self._add(RunPlan(key, key))
            self._loose[key].logs.append(Path(m))

    def done(self) -> list[RunPlan]:
        for key, run in self._loose.items():
            run.name = run_name(key, run.logs)
        return _unique_names([r for r in self.runs if r.stdin or r.logs or r.items])

    def _new(self, paths: Sequence[str | Path]) -> list[str]:
        """The paths not taken yet, now taken."""
        out = []
        for p in paths:
            real = os.path.realpath(p)
            if real not in self._taken:
                self._taken.add(real)
                out.append(str(p))
        return out

    def _add(self, run: RunPlan) -> RunPlan:
        self.runs.append(run)
        return run

    def _wandb_run(self, m: str, *, strict: bool) -> None:
        from runwatch.watcher.wandb_source import find_run_file, wandb_run_name

        found = find_run_file(m)
        if found is None:
            if strict or not os.path.exists(m):
                raise PathError(f"{m}: no W&B run here (a .wandb file, a run directory or a wandb/ directory)")
            raise PathError(f"{m}: this W&B run has no .wandb file yet")
        # `--format wandb` may name a directory that merely holds `wandb/`: read the file it leads to
        self._add(RunPlan(wandb_run_name(m), m, items=self._new([str(found) if strict else m])))

    def _directory(self, d: Path) -> None:
        found_logs, found_items = find_logs(d), find_sources(d)
        if not found_logs and not found_items:
            raise PathError(f"{d}: no training logs, metric files, checkpoints or W&B runs found in this directory")
        logs = [Path(p) for p in self._new(found_logs)]
        items = self._new(found_items)
        groups = group_runs(logs)
        name = d.resolve().name or str(d)
        if len(groups) <= 1:
            self._add(RunPlan(name, str(d), logs=logs, items=items))
            return
        for key, files in groups.items():
            self._add(RunPlan(run_name(key, files), key, logs=files))
        self._add(RunPlan(name, str(d), items=items))


def group_runs(files: Sequence[Path]) -> dict[str, list[Path]]:
    """Rank files of one run (same directory tree, ranks in their paths) go together."""
    runs: dict[str, list[Path]] = {}
    for f in files:
        runs.setdefault(group_key(f), []).append(f)
    return runs


def group_key(f: Path) -> str:
    """The run a log file belongs to: its rank directory's parent for rank files, else itself."""
    if rank_from_path(str(f)) is not None:
        return str(f.parent.parent if f.parent.name.isdigit() else f.parent)
    return str(f)


def run_name(key: str, files: list[Path]) -> str:
    return files[0].stem if len(files) == 1 else Path(key).name


def _unique_names(runs: list[RunPlan]) -> list[RunPlan]:
    taken: set[str] = set()
    for run in runs:
        base, n = run.name, 2
        while run.name in taken:
            run.name, n = f"{base}-{n}", n + 1
        taken.add(run.name)
    return runs
