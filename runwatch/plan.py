"""PATH arguments → the runs they hold and each run's sources: one planner for every command.

`tail`, `watch`, `parse` and `check` all call `plan_runs`, so a path is the
same run(s) whichever command reads it: a `.wandb` file, a W&B run or
`wandb/` directory, a metric file, a checkpoint directory, a log file, a run
directory holding any of them, standard input. Each source is read once: a
file named on its own and found again in a directory given too stays in the
run it came first with.

How log files are grouped into runs (`LogGroups`, the same rules one-shot
and live, where a file that appears later is placed by the same rules):

* the ranks of one launch are one run: files whose path names a rank
  (`rank3.log`, `rank_3/…`, torchrun's `attempt_N/<rank>/stdout.log`) group
  by the directory above the ranks, and every attempt of one torchrun launch
  (`<log-dir>/<run id>/attempt_N/`) is the same run;
* one process's streams are one run: `train.out` and `train.err` (the same
  name), `stdout.log` and `stderr.log` in one directory;
* a launcher's console log beside one set of rank files is their run
  (`torchrun --log-dir logs … > train.log`: torchrun's own messages, its
  failure report among them, land in `train.log`);
* any other log is a run of its own: a pre-training log and a fine-tuning
  log in one directory are two runs.

W&B runs are found by content (a file that starts as a `.wandb` transaction log, under any
name, in a run directory under any name) in `wandb/` directories up to three levels down. A `wandb/`
directory given as a PATH is every run it holds when read once (`check wandb/` judges each); followed
live it is the run being written (the newest, and the next one when it starts).

A directory whose logs are one run is that run (named after the directory,
holding its structured sources too); a directory of several runs is one run
per group plus one for its structured sources.

`live=True` (tail, watch) plans what does not exist yet, to be waited for: a
missing file, a glob with no match (its literal path), an empty directory, a
W&B run with no `.wandb` file yet, a `wandb://` URL. One-shot reading
(`live=False`) refuses those with a `PathError` that names the path.
"""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from runwatch.errors import PathError
from runwatch.watcher.discover import LOG_SUFFIXES, find_logs, find_sources, rank_from_path
from runwatch.watcher.fileid import is_table

STDIN = "-"
WANDB_FORMAT = "wandb"
"""The DESIGN §3 format name that is no line format: read every PATH as a W&B run."""
_STREAM_NAMES = frozenset({"stdout", "stderr"})
_ATTEMPT = "attempt_"


@dataclass
class RunPlan:
    """One run to read: log files (its ranks and streams), structured sources (paths as the engine
    follows them), or stdin."""

    name: str
    label: str
    logs: list[Path] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    stdin: bool = False


@dataclass
class WatchedDirectory:
    """A directory given as a PATH: live, the logs and structured sources that appear in it later go
    to the run `LogGroups` places them in (a new run when they start one)."""

    path: Path
    groups: LogGroups
    runs: dict[str, RunPlan]
    """Group key → the run of that group's logs."""
    items_run: RunPlan | None
    """Where the directory's structured sources go (the single run, or a run of its own)."""
    known_logs: list[Path]
    known_items: list[str]

    def place(self, log: Path) -> tuple[RunPlan, bool]:
        """The run a log that appeared later belongs to, and whether that run is new."""
        key = self.groups.add(log)
        if key in self.runs:
            self.runs[key].logs.append(log)
            return self.runs[key], False
        if len(self.runs) == 0 and self.items_run is not None and not self.items_run.logs:
            run = self.items_run  # the directory's own run, which had no log yet
            run.logs.append(log)
            self.runs[key] = run
            return run, False
        run = RunPlan(run_name(key, [log]), str(log), logs=[log])
        self.runs[key] = run
        return run, True

    def items_home(self, path: str) -> tuple[RunPlan, bool]:
        """The run a structured source that appeared later joins (the run whose logs its directory holds, as at
        start: `item_owner`), and whether that run is new."""
        key = item_owner(path, {k: run.logs for k, run in self.runs.items()})
        if key is not None:
            return self.runs[key], False
        if self.items_run is None:
            self.items_run = RunPlan(_dir_name(self.path), str(self.path))
            return self.items_run, True
        return self.items_run, False


@dataclass
class Plan:
    runs: list[RunPlan]
    directories: list[WatchedDirectory] = field(default_factory=list)


def plan_runs(paths: Sequence[str], *, fmt: str | None = None) -> list[RunPlan]:
    """The runs the paths hold, in the order given, for one-shot reading; PathError for a path that
    holds nothing readable."""
    return plan(paths, fmt=fmt).runs


def plan(paths: Sequence[str], *, fmt: str | None = None, live: bool = False) -> Plan:
    """The runs the paths hold and, live, the directories to keep watching."""
    if list(paths).count(STDIN) > 1:
        raise PathError("'-' (standard input) can be given only once")
    planner = _Planner(wandb_only=fmt == WANDB_FORMAT, live=live)
    for p in paths:
        if p == STDIN:
            if planner.wandb_only:
                raise PathError("standard input cannot be read as a W&B run (--format wandb)")
            planner.runs.append(RunPlan("stdin", STDIN, stdin=True))
            continue
        for m in planner.matches(p):
            planner.add(m)
    return planner.done()


class LogGroups:
    """Log files placed into runs by the grouping rules (module docstring), one file at a time, so
    that files read at once and files that appear while following are grouped alike."""

    def __init__(self) -> None:
        self.groups: dict[str, list[Path]] = {}
        self._joined: dict[str, str] = {}
        """A group's own key → the group it joined (rank files joining their console log, or back)."""
        self._ranked: set[str] = set()
        self._paired: set[str] = set()

    def add(self, log: Path) -> str:
        """The key of the run `log` belongs to (a new key starts a new run)."""
        own, ranked = _own_key(log)
        key = self._joined.get(own, own)
        if key not in self.groups:
            key = self._joined[own] = self._launcher_pair(own, ranked)
        self.groups.setdefault(key, []).append(log)
        if ranked:
            self._ranked.add(key)
        return key

    def _launcher_pair(self, key: str, ranked: bool) -> str:
        """A console log and one set of rank files are one run, whichever comes first."""
        if len(self.groups) != 1:
            return key
        [(only, files)] = self.groups.items()
        alone = only not in self._paired and (only in self._ranked or len(files) == 1)
        if not alone or ranked == (only in self._ranked):
            return key
        self._paired.add(only)
        return only


def _own_key(log: Path) -> tuple[str, bool]:
    """The group a log starts on its own, and whether it is a rank file."""
    parent = log.parent
    if parent.name.isdigit() and parent.parent.name.startswith(_ATTEMPT):
        return str(parent.parent.parent), True  # <log-dir>/<run id>/attempt_N/<rank>/: every attempt
    if rank_from_path(log) is not None:
        in_name = rank_from_path(log.name) is not None  # rank3.log; else the rank is its directory's (rank_3/)
        return str(parent if in_name and not parent.name.isdigit() else parent.parent), True
    if log.stem in _STREAM_NAMES:
        return str(parent), False
    return str(log.with_suffix("")), False


def _under_a_file(path: str) -> str | None:
    """The nearest existing ancestor of `path` when it is not a directory (`run.log/x`): such a path can never
    appear, and `tail` waited for it for ever (a new user's review). None when it may still appear."""
    parent = Path(path).parent
    while not os.path.lexists(parent) and parent != parent.parent:
        parent = parent.parent
    return str(parent) if os.path.lexists(parent) and not os.path.isdir(parent) else None


def group_runs(files: Sequence[Path]) -> dict[str, list[Path]]:
    """Log files grouped into runs (`LogGroups`), in the order given."""
    groups = LogGroups()
    for f in files:
        groups.add(f)
    return groups.groups


def run_name(key: str, files: list[Path]) -> str:
    return files[0].stem if len(files) == 1 and files[0].stem not in _STREAM_NAMES else Path(key).name


def _label(key: str, files: list[Path]) -> str:
    """What a run of log files is shown as: its file, or the directory its group is."""
    return str(files[0]) if len(files) == 1 else key


def _dir_name(d: Path) -> str:
    return d.resolve().name or str(d)


class _Planner:
    """The runs planned so far, the plain log files' runs by group, and every source taken."""

    def __init__(self, *, wandb_only: bool, live: bool) -> None:
        self.wandb_only, self.live = wandb_only, live
        self.runs: list[RunPlan] = []
        self.directories: list[WatchedDirectory] = []
        self._loose = LogGroups()
        self._loose_runs: dict[str, RunPlan] = {}
        self._taken: set[str] = set()

    def matches(self, p: str) -> list[str]:
        """The paths `p` names: itself when it exists (a file may be named `run[1].log`: read as a glob, it
        matched nothing and `check` refused it), else its glob's matches."""
        if not any(c in p for c in "*?[") or os.path.lexists(p):
            return [p]
        found = sorted(glob.glob(p))
        if not found and not self.live:
            raise PathError(f"{p}: no file matches")
        return found or [p]  # live: the literal path, followed until it appears

    def add(self, m: str) -> None:
        from runwatch.watcher.wandb_online import is_wandb_url

        if is_wandb_url(m):
            if not self.live:
                raise PathError(f"{m}: an online W&B run can only be followed (`runwatch tail`), not read once")
            self._add(RunPlan(m.rstrip("/").rsplit("/", 1)[-1], m, items=[m]))
            return
        if self.wandb_only:
            self._wandb_run(m, strict=True)
            return
        if not os.path.exists(m):
            if not self.live:
                raise PathError(f"{m}: no such file")
            if (blocked := _under_a_file(m)) is not None:
                raise PathError(f"{m}: cannot appear: {blocked} is a file, not a directory")
            self._log(m)  # followed until it appears
            return
        if not self.live:
            _readable(m)
        if m.endswith(LOG_SUFFIXES) and os.path.isfile(m) and not is_table(m):
            self._log(m)  # the common case: no need to load the structured-source modules
            return
        from runwatch.watcher.metric_files import classify_path
        from runwatch.watcher.wandb_source import is_wandb_path

        if is_wandb_path(m):
            self._wandb_run(m, strict=False)
        elif os.path.isdir(m):
            self._directory(Path(m))
        elif classify_path(m) not in (None, "checkpoint_dir"):
            # a metric file is its folder's run (Lightning's `version_0/metrics.csv`); a table named as a log
            # (Keras's CSVLogger into `train.log`) is its own, named as a log is (a review: `train.log` kept its suffix)
            name = Path(m).stem if m.endswith(LOG_SUFFIXES) else Path(m).parent.name or m
            self._add(RunPlan(name, m, items=self._new([m])))
        else:
            self._log(m)

    def _log(self, m: str) -> None:
        """A log file named on its own: into the run of its group."""
        if not self._new([m]):
            return
        key = self._loose.add(Path(m))
        if key not in self._loose_runs:
            self._loose_runs[key] = self._add(RunPlan(key, m))
        self._loose_runs[key].logs.append(Path(m))

    def done(self) -> Plan:
        for key, run in self._loose_runs.items():
            run.name, run.label = run_name(key, run.logs), _label(key, run.logs)
        keep = [r for r in self.runs if r.stdin or r.logs or r.items or self.live]
        return Plan(_unique_names(keep), self.directories)

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
        from runwatch.watcher.wandb_source import find_run_file, wandb_run_name, wandb_runs

        found = find_run_file(m)
        if self.live:  # the source finds the file itself, and waits for it
            self._add(RunPlan(wandb_run_name(m), m, items=self._new([m])))
            return
        if found is None:
            if strict or not os.path.exists(m):
                raise PathError(f"{m}: no W&B run here (a .wandb file, a run directory or a wandb/ directory)")
            raise PathError(f"{m}: this W&B run has no .wandb file yet")
        every = wandb_runs(m)
        if len(every) > 1:  # a `wandb/` directory of several runs: each is read, each a run of its own
            for run_dir in every:
                if (taken := self._new([str(run_dir)])) and find_run_file(run_dir) is not None:
                    self._add(RunPlan(wandb_run_name(str(run_dir)), str(run_dir), items=taken))
            return
        # `--format wandb` may name a directory that merely holds `wandb/`: read the file it leads to
        self._add(RunPlan(wandb_run_name(m), m, items=self._new([str(found) if strict else m])))

    def _directory(self, d: Path) -> None:
        found_logs, found_items = find_logs(d, compressed=True), find_sources(d)
        if not found_logs and not found_items and not self.live:
            raise PathError(f"{d}: no training logs, metric files, checkpoints or W&B runs found in this directory")
        logs = [Path(p) for p in self._new(found_logs)]
        items = self._new(found_items)
        groups = LogGroups()
        for log in logs:
            groups.add(log)
        label = str(d)
        watched = WatchedDirectory(d, groups, {}, None, found_logs, [str(p) for p in found_items])
        if len(groups.groups) <= 1:
            run = self._add(RunPlan(_dir_name(d), label, logs=logs, items=items))
            watched.runs = dict.fromkeys(groups.groups, run)
            watched.items_run = run
        else:
            unowned = []
            for key, files in groups.groups.items():
                watched.runs[key] = self._add(RunPlan(run_name(key, files), _label(key, files), logs=files))
            for item in items:
                owner = item_owner(item, groups.groups)
                if owner is None:
                    unowned.append(item)
                else:
                    watched.runs[owner].items.append(item)
            if unowned:
                watched.items_run = self._add(RunPlan(_dir_name(d), label, items=unowned))
        if self.live:
            self.directories.append(watched)


def item_owner(item: str, groups: dict[str, list[Path]]) -> str | None:
    """The log group a metric file, checkpoint directory or W&B run belongs to: the one whose logs sit in
    the nearest directory at or above it (`exp1/train.log` owns `exp1/tb/events.out.tfevents.*`), when
    exactly one group's logs are there; None when none or several are (then it is a run of its own).
    A directory of several runs, each with its log and its TensorBoard files, was read as the runs'
    logs plus one made-up run of every run's TensorBoard files merged."""
    where = Path(item).parent if Path(item).is_file() else Path(item)
    best: tuple[int, list[str]] = (-1, [])
    for key, logs in groups.items():
        for log in logs:
            home = log.parent
            if where == home or home in where.parents:
                depth = len(home.parts)
                if depth > best[0]:
                    best = (depth, [key])
                elif depth == best[0] and key not in best[1]:
                    best[1].append(key)
    return best[1][0] if len(best[1]) == 1 else None


def _readable(m: str) -> None:
    """A path a one-shot read can take: PathError for one it cannot read, or one that is no file nor
    directory (a FIFO blocks in `open` until a writer comes, `/dev/zero` never ends); followed live,
    the follower says the same in a notice."""
    try:
        mode = os.stat(m).st_mode
    except OSError as e:
        raise PathError(f"{m}: {e.strerror.lower() if e.strerror else e}") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        what = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        raise PathError(f"{m}: {what}, not a regular file (a stream is read as standard input: `-`)")
    if not os.access(m, os.R_OK):
        raise PathError(f"{m}: permission denied")


NAMING_DEPTH = 4
"""Directory levels looked up for a name that tells runs of the same file name apart (`exp-a/run/train.log`)."""


def _ancestor(label: str, depth: int) -> str:
    """The name of the directory `depth` levels above the one that holds `label` ("" when none)."""
    if label in ("", STDIN):
        return ""
    parents = Path(label).absolute().parents
    return parents[depth].name if depth < len(parents) else ""


def _unique_names(runs: list[RunPlan]) -> list[RunPlan]:
    """Each run a name of its own. Runs that share one (every run directory of a sweep holds a `train.log`)
    are named by their directories when those tell them apart (`a`, `b`: they were `train`, `train-2`, a
    new user's review), else by directory and name; what still collides gets `-2`, `-3`."""
    by_name: dict[str, list[RunPlan]] = {}
    for run in runs:
        by_name.setdefault(run.name, []).append(run)
    for name, same in by_name.items():
        if len(same) < 2:
            continue
        for depth in range(NAMING_DEPTH):  # the nearest directory level at which they differ
            dirs = [_ancestor(r.label, depth) for r in same]
            if all(dirs) and len(set(dirs)) == len(dirs):
                for run, d in zip(same, dirs, strict=True):
                    run.name = d if d not in by_name else f"{d}/{name}"
                break
    taken: set[str] = set()
    for run in runs:
        base, n = run.name, 2
        while run.name in taken:
            run.name, n = f"{base}-{n}", n + 1
        taken.add(run.name)
    return runs
