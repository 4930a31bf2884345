"""Find the training logs inside a directory, and the ones that appear later.

A run directory holds logs next to much that is not a log: checkpoints,
tokenizer files, virtualenvs, wandb's own files. Logs are found by name
(`*.log`, `*.out`, `*.err`, `*.txt`, torchrun's `attempt_N/<rank>/stdout.log`,
`slurm-*.out`) and a look at their first bytes; new ranks and new attempts
show up while the run goes on, so `DirectoryWatcher` keeps looking.

A run's structured sources (`find_sources`: metric files, checkpoints, a
`wandb/` directory) are often created after the watcher started (Lightning
writes `metrics.csv` at its first log step, the first checkpoint comes after
hours), so `DirectoryWatcher` can keep looking for those too.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Container, Iterable, Iterator
from pathlib import Path

from runwatch import patterns
from runwatch.watcher.compressed import compression
from runwatch.watcher.fileid import is_table, looks_binary
from runwatch.watcher.notify import WatchHub
from runwatch.watcher.polling import PollingThread
from runwatch.watcher.types import Notice

LOG_SUFFIXES = (".log", ".out", ".err", ".txt")
"""What a log file is named (a tuple: `str.endswith` takes it too)."""
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst")
"""What a compressed log's name ends with after its log name (`train.log.gz`, logrotate's `train.log.1.gz`)."""
SKIP_DIRS = frozenset({"wandb", "__pycache__", "node_modules", "site-packages", "venv"})
MAX_TXT_BYTES = 256 * 1024 * 1024
"""A `.txt` larger than this is taken for a data set (nanoGPT's `input.txt`), not a log."""
SOURCE_SCAN_S = 1.0
"""At most this often (or every `poll_interval`, if shorter) the directory is walked for new structured sources."""

_NOT_LOGS = patterns.compile(
    r"^(requirements.*|vocab.*|merges|license.*|readme.*|cmakelists|.*tokenizer.*|notice|copying)\.txt$",
    re.IGNORECASE,
)
_PADDLE_WORKER = patterns.compile(r"^workerlog\.(\d{1,6})$")
"""PaddlePaddle's launcher (`python -m paddle.distributed.launch`) writes each worker's output to
`log/workerlog.N`: no log suffix, the rank in its place (a review: `check log/` said no logs found)."""
_NOT_RUN_LOGS = frozenset({"endpoints.log"})
"""Files named like logs that hold no run's output: Paddle's launcher lists its workers' addresses in
`log/endpoints.log` beside their logs (read alone, `nothing understood`)."""
_CHECKPOINT_DIR = patterns.compile(r"^(checkpoint-\d+|global_step\d+)$")
_ATTEMPT_DIR = patterns.compile(r"^attempt_\d+$")
_RANK_WORD = patterns.compile(r"(?<![a-z])(?<!local_)(?<!local)rank[-_.]?(\d+)(?!\d)", re.IGNORECASE)
_DIGITS = patterns.compile(r"(\d+)")


def find_logs(directory: str | Path, *, compressed: bool = False) -> list[Path]:
    """Training logs below `directory`, in natural order (rank 10 after rank 9).

    With `compressed`, a directory that holds no log in plain text gives its compressed logs instead (a
    job archive of `train.log.gz`s: `check DIR` said it held no logs, where `check DIR/train.log.gz` read
    it; a review). Only then: beside a plain `train.log`, logrotate's `train.log.1.gz` is history its
    reader would see twice or out of order, and a live follower reads neither kind of file by offsets
    (a compressed file does not grow), so `DirectoryWatcher` never reports one."""
    root = Path(directory)
    plain = sorted((p for p in _candidates(root) if _is_text_log(p)), key=_natural_key)
    if plain or not compressed:
        return plain
    return sorted((p for p in _candidates(root, _is_compressed_log_name) if compression(p) is not None),
                  key=_natural_key)


def find_sources(directory: str | Path, *, checkpoints: bool = True, logs: Container[Path] = ()) -> list[Path]:
    """The structured sources of a run directory, each a path the engine follows as one source:
    metric files (`find_metric_files`), the directory itself when it holds checkpoints, its
    `wandb/` directory. `checkpoints=False` skips the checkpoint walk (already found); `logs` are
    candidates known to be text logs, not opened again to ask whether each is a table."""
    from runwatch.watcher.checkpoint_layout import UNIT_DIR, checkpoint_homes
    from runwatch.watcher.metric_files import find_metric_files

    root = Path(directory)
    out = [f for f, _kind in find_metric_files(root)]
    out.extend(p for p in _candidates(root) if p not in logs and is_table(p))  # a table named as a log is a metric file
    # named on its own (`classify_path`): `check logs/` read the `step\tloss` table `logs/train.log` as a text log
    # of no format, `nothing understood`, where `check logs/train.log` read its rows (a new user's review)
    if checkpoints:
        # each place that holds checkpoints (`run/out`), so that in a directory of runs each goes to its
        # own run (runwatch.plan.item_owner): the directory given, followed whole, made one run of them all
        out.extend([root] if UNIT_DIR.match(root.name) else checkpoint_homes(root, 3))
    out.extend(find_wandb_dirs(root))
    return out


def find_wandb_dirs(root: Path, depth: int = 3, *, top: bool = True) -> list[Path]:
    """The `wandb/` directories at or below `root` (`exp/wandb`, `exp/outputs/wandb`), not inside one
    another, nor inside checkpoints or virtualenvs. `root/wandb` counts before its first run exists
    (followed, it is waited on); one further down only once it holds a run."""
    out: list[Path] = []
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return out
    for entry in entries:
        try:
            if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                continue
        except OSError:
            continue
        if entry.name == "wandb":
            if top or _holds_wandb_runs(Path(entry.path)):  # below the top, W&B's cache dir holds none
                out.append(Path(entry.path))
        elif depth > 1 and entry.name not in SKIP_DIRS and not _CHECKPOINT_DIR.match(entry.name):
            out.extend(find_wandb_dirs(Path(entry.path), depth - 1, top=False))
    return out


def _holds_wandb_runs(d: Path) -> bool:
    """A run directory by its name, or any directory holding a W&B transaction log (by its header)."""
    from runwatch.watcher.wandb_file import is_transaction_log

    try:
        children = [c for c in d.iterdir() if c.is_dir()]
        if any(c.name == "latest-run" or c.name.startswith(("run-", "offline-run-")) for c in children):
            return True
        for c in children:
            for f in c.iterdir():
                if f.is_file() and (f.suffix == ".wandb" or (not f.suffix and is_transaction_log(f))):
                    return True
    except OSError:
        return False
    return False


def rank_from_path(path: str | Path) -> int | None:
    """The rank a per-rank log belongs to: `attempt_0/3/stdout.log`, `rank3.log`, `train_rank-3.out`, `rank_3/…`,
    Paddle's `workerlog.3`."""
    path = Path(path)
    parent = path.parent
    if parent.name.isdigit() and _ATTEMPT_DIR.match(parent.parent.name):
        return int(parent.name)
    worker = _PADDLE_WORKER.match(path.name)
    if worker is not None:
        return int(worker.group(1))
    for name in (path.stem, parent.name):
        match = _RANK_WORD.search(name)
        if match:
            return int(match.group(1))
    return None


def _candidates(root: Path, named: Callable[[os.DirEntry[str]], bool] | None = None) -> Iterator[Path]:
    """Files whose name says "log" (or passes `named`), skipping directories that never hold a run's logs."""
    named = named or _is_log_name
    try:
        entries = list(os.scandir(root))
    except OSError:  # vanished or unreadable while we looked: nothing there for now
        return
    if any(e.name == "pyvenv.cfg" for e in entries):
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in SKIP_DIRS and not _CHECKPOINT_DIR.match(entry.name):
                    yield from _candidates(Path(entry.path), named)
            elif entry.is_file() and named(entry):
                yield Path(entry.path)
        except OSError:
            continue


def _is_log_name(entry: os.DirEntry[str]) -> bool:
    if _PADDLE_WORKER.match(entry.name):
        return True
    suffix = os.path.splitext(entry.name)[1].lower()
    if suffix not in LOG_SUFFIXES or _NOT_LOGS.match(entry.name) or entry.name in _NOT_RUN_LOGS:
        return False
    return suffix != ".txt" or entry.stat().st_size <= MAX_TXT_BYTES


def _is_compressed_log_name(entry: os.DirEntry[str]) -> bool:
    """A log's name with a compression suffix, after a rotation number or not: `train.log.gz`,
    `train.log.1.gz`, `slurm-42.out.xz`."""
    stem, suffix = os.path.splitext(entry.name)
    if suffix.lower() not in COMPRESSED_SUFFIXES:
        return False
    base, number = os.path.splitext(stem)
    if number[1:].isdigit():
        stem = base
    name = os.path.basename(stem)
    return stem.lower().endswith(LOG_SUFFIXES) and not _NOT_LOGS.match(name) and name not in _NOT_RUN_LOGS


def _looks_like_text(path: Path) -> bool:
    """No NUL byte at the start of its text (`fileid.looks_binary`): `a.out` binaries and the like are not logs."""
    return looks_binary(path) is False


def _is_text_log(path: Path) -> bool:
    """A candidate that is read as a text log: text, and no metrics table (one is a source: `find_sources`), the
    one test `find_logs` and `DirectoryWatcher` both make."""
    return _looks_like_text(path) and not is_table(path)


def _natural_key(path: Path) -> list[tuple[int, int | str]]:
    return [(0, int(t)) if t.isdigit() else (1, t) for t in _DIGITS.split(str(path)) if t]


class DirectoryWatcher(PollingThread):
    """Reports each log that appears below `directory` after it was created, once.

    Files present at construction (or given as `known`) are not reported:
    the owner found them with `find_logs`, and passing that list as `known`
    leaves no gap between the two. inotify events wake the scan early; a
    scan every `poll_interval` finds what events miss.

    With `on_new_source`, each new `find_sources` path is reported the same
    way (`known_sources` as `known`). That walk is taken at most once per
    `min(poll_interval, SOURCE_SCAN_S)`: a log being written wakes the
    scan at every write.
    """

    poll_word = "scanning"

    def __init__(
        self,
        directory: str | Path,
        on_new_file: Callable[[Path], None],
        *,
        poll_interval: float = 1.0,
        use_inotify: bool = True,
        known: Iterable[Path] | None = None,
        hub: WatchHub | None = None,
        on_notice: Callable[[Notice], None] | None = None,
        on_new_source: Callable[[Path], None] | None = None,
        known_sources: Iterable[Path] | None = None,
    ) -> None:
        self.directory = Path(directory)
        super().__init__(
            "discover", self.directory, doing=f"looking for new logs in {self.directory}",
            source=str(self.directory), on_notice=on_notice, poll_interval=poll_interval,
        )
        self._on_new_file = on_new_file
        self._seen: set[Path] = set(known) if known is not None else set(_candidates(self.directory))
        self._logs: set[Path] = set(known) if known is not None else {p for p in self._seen if _is_text_log(p)}
        """The text logs among them, and those reported since: each look for sources opened every log to ask
        whether it was a table (78 ms of a 122 ms look over 2,000 logs); a log stays one."""
        self._on_new_source = on_new_source
        self._sources: set[Path] = set()
        if on_new_source is not None:
            self._sources = set(known_sources) if known_sources is not None else set(find_sources(self.directory))
        self._source_gap = min(poll_interval, SOURCE_SCAN_S)
        self._sources_at = -float("inf")
        self._owed = False
        """A walk for sources was skipped (too soon after the last): the next look comes at the gap's end."""
        self._abs = os.path.abspath(self.directory)
        self._link_hub(hub, use_inotify, lambda: [str(self.directory)], recursive=True, wants=self._news)

    def _news(self, event_path: str) -> bool:
        """Whether a file event below the directory may be news: not a write to a log it already reported or
        knew, nor to anything inside a source already found (a checkpoint being saved). A followed log
        written a line at a time used to wake the walk at every write. (The observer's thread calls this.)"""
        rel = os.path.relpath(event_path, self._abs)
        if rel == "." or rel.startswith(".."):
            return True
        path = self.directory / rel
        if path in self._seen or path in self._sources:
            return False
        return not any(parent in self._sources for parent in path.parents)

    def _step(self) -> None:
        for path in sorted(_candidates(self.directory), key=_natural_key):
            if path not in self._seen and not self.stopping:
                self._seen.add(path)
                if _is_text_log(path):
                    self._logs.add(path)
                    self._on_new_file(path)
        self._scan_sources()
        self._problem = None  # a scan that went through: the next failure is news again

    def _next_look_in(self) -> float:
        if self._owed:
            return max(0.0, min(self._poll, self._sources_at + self._source_gap - time.monotonic()))
        return self._poll

    def _scan_sources(self) -> None:
        if self._on_new_source is None:
            return
        if time.monotonic() - self._sources_at < self._source_gap:
            self._owed = True
            return
        self._owed = False
        self._sources_at = time.monotonic()
        for path in find_sources(self.directory, checkpoints=self.directory not in self._sources, logs=self._logs):
            if path not in self._sources and not self.stopping:
                self._sources.add(path)
                self._on_new_source(path)
