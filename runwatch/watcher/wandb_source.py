"""Follow a local W&B run: the `.wandb` transaction log its wandb-core writes.

`runwatch tail` accepts a `.wandb` file, a run directory (`run-*`,
`offline-run-*`), the `latest-run` link, a `wandb/` directory (its newest run)
or a directory holding `wandb/`. `find_run_file` turns any of them into the
file to read; for the directory forms it is asked again on every round, so a
run started later (or the next run, when one ends) is picked up.

The source hands the raw payloads of whole records to the engine in
`ItemBatch(kind="wandb")` (runwatch.parsers.wandb decodes them). Like the log
follower it never trusts file events: the shared `WatchHub` only wakes it
early, a stat every `poll_interval` finds out what happened.

What runwatch can see is what wandb-core has written: it flushes the log when
a 32 KiB block is full or every 15 s (`x_transaction_log_flush_interval`), so
a slow run shows its steps up to 15 s late. The first notice says so.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from runwatch import patterns
from runwatch.watcher.hublink import HubLink
from runwatch.watcher.notify import WatchHub, shared_hub
from runwatch.watcher.polling import PollingThread
from runwatch.watcher.types import FilePosition, ItemBatch, Notice, NoticeLevel
from runwatch.watcher.wandb_file import (
    HeaderError,
    ReadResult,
    TransactionLogReader,
    is_transaction_log,
)

KIND = "wandb"
FLUSH_NOTE = (
    "wandb-core writes its log when a 32 KiB block is full or every 15 s, so steps can show up to 15 s "
    "late; set WANDB_X_TRANSACTION_LOG_FLUSH_INTERVAL=1 in the training job's environment for about 1 s"
)
STUCK_NOTICE_S = 2.0
"""How long reading may stay stopped at a bad chunk before a notice says so."""
_RUN_DIR = patterns.compile(r"^(?:offline-)?run-(\d{8}_\d{6})-[^/]+$")


def is_run_dir(path: Path) -> bool:
    return _RUN_DIR.match(path.name) is not None


def find_run_file(path: str | Path) -> Path | None:
    """The `.wandb` file `path` names, or None while there is none (yet).

    A `.wandb` file (or any file that starts as one: `--format wandb` on a
    renamed copy) is itself; a directory with `.wandb` files in it is a run directory (its
    newest file); otherwise the newest run of the `wandb/` directory `path`
    is or holds (`latest-run` first, then the run directory whose name has
    the latest start time).
    """
    path = Path(path)
    if path.suffix == ".wandb" and not path.is_dir():
        return path if path.exists() else None
    if path.is_file() and is_transaction_log(path):
        return path
    if not path.is_dir():
        return None
    path = path.resolve()  # `latest-run` is a link: name the run it points at now
    if (own := _newest_log(path)) is not None:
        return own
    wandb_dir = path if (path / "latest-run").exists() or _run_dirs(path) else path / "wandb"
    latest = (wandb_dir / "latest-run").resolve()
    if latest.is_dir() and (found := _newest_log(latest)) is not None:
        return found
    for run_dir in sorted(_run_dirs(wandb_dir), key=_started, reverse=True):
        if (found := _newest_log(run_dir)) is not None:
            return found
    return None


def wandb_run_name(path: str) -> str:
    """`wandb/run-20261121_173800-abc123/…` → `abc123`; a plain dir → its name (the run name `tail`, `parse` and `check` give it)."""
    p = Path(path)
    for part in (p.name if p.suffix != ".wandb" else p.parent.name, p.name):
        if part.startswith(("run-", "offline-run-")) and "-" in part:
            return part.rsplit("-", 1)[-1].removesuffix(".wandb")
    return p.stem if p.suffix == ".wandb" else (p.name or path)


def is_wandb_path(path: str | Path) -> bool:
    """Whether `runwatch tail PATH` should follow PATH as a W&B run (for the engine's detection)."""
    path = Path(path)
    if path.suffix == ".wandb":
        return True
    if not path.is_dir():
        return False
    return path.name in ("wandb", "latest-run") or is_run_dir(path) or _newest_log(path) is not None


def _run_dirs(directory: Path) -> list[Path]:
    """The run directories of a `wandb/` directory: named `run-*`/`offline-run-*`, or holding a
    `.wandb` file under any name (a run copied or renamed)."""
    try:
        subdirs = [p for p in directory.iterdir() if p.is_dir() and not p.is_symlink()]
    except OSError:
        return []
    return [p for p in subdirs if is_run_dir(p) or _newest_log(p) is not None]


def wandb_runs(path: str | Path) -> list[Path]:
    """Every run directory of the `wandb/` directory `path` is (or holds), oldest first; [] when `path`
    is itself one run (a `.wandb` file, a run directory, `latest-run`)."""
    path = Path(path)
    if not path.is_dir() or path.name == "latest-run" or _newest_log(path) is not None:
        return []
    wandb_dir = path if (path / "latest-run").exists() or _run_dirs(path) else path / "wandb"
    return sorted(_run_dirs(wandb_dir), key=_started)


def _started(run_dir: Path) -> tuple[str, float]:
    m = _RUN_DIR.match(run_dir.name)
    try:
        mtime = run_dir.stat().st_mtime
    except OSError:
        mtime = 0.0
    return (m[1] if m else "", mtime)


def _newest_log(directory: Path) -> Path | None:
    """The newest W&B transaction log in `directory`: a `.wandb` file, or a file that starts as one."""
    try:
        logs = [p for p in directory.iterdir()
                if p.is_file() and (p.suffix == ".wandb" or (not p.suffix and is_transaction_log(p)))]
    except OSError:
        return None
    if not logs:
        return None
    return max(logs, key=lambda p: (p.stat().st_mtime, p.name))


class _Open:
    """The `.wandb` file being read: its descriptor, identity and reader."""

    def __init__(self, path: Path, fd: int, reader: TransactionLogReader, history_end: int) -> None:
        st = os.fstat(fd)
        self.path, self.fd, self.reader = path, fd, reader
        self.dev, self.ino = st.st_dev, st.st_ino
        self.history_end = history_end
        self.history_done = history_end == 0


class WandbSource(PollingThread):
    """A thread that follows a W&B run's transaction log and delivers whole records.

    Records go to `on_batch` as `ItemBatch(kind="wandb", items=[payload bytes…])`,
    one batch per read (about `window` bytes of the file); anything a person
    should know goes to `on_notice`. While the records the file held at start
    are read, batches have `history=True`; an empty batch with `history=False`
    says the catch-up is over. `resume` (a saved `position()`) skips what was
    read before a restart when the file is still the same one.
    """

    def __init__(
        self,
        path: str | Path,
        on_batch: Callable[[ItemBatch], None],
        on_notice: Callable[[Notice], None],
        *,
        poll_interval: float = 1.0,
        use_inotify: bool = True,
        hub: WatchHub | None = None,
        source: str | None = None,
        window: int = 1 << 20,
        resync_after: float = 10.0,
        resume: tuple[int, int, int, str | None] | None = None,
    ) -> None:
        if window <= 0:
            raise ValueError(f"window must be positive, got {window}")
        self.path = Path(path)
        super().__init__(
            "wandb", self.path, doing=f"following {self.path}", source=str(path) if source is None else source,
            on_notice=on_notice, poll_interval=poll_interval,
        )
        self._on_batch = on_batch
        self._window, self._resync_after = window, resync_after
        self._resume = FilePosition(*resume) if resume is not None else None
        self._hub = hub if hub is not None else shared_hub() if use_inotify else None
        self._run_link: HubLink | None = None
        """Not the base's `_link`: its targets follow the run file, so `_relink` replaces it."""
        self._link_targets: list[str] = []
        self._cur: _Open | None = None
        self._stuck: str | None = None
        self._stuck_since = 0.0
        self._stuck_said = False
        self._round0 = True  # the first round: what the file holds then is history
        self._flush_said = False
        self._position: FilePosition | None = None

    def position(self) -> FilePosition | None:
        """Identity of the file and offset of the first record not yet delivered."""
        return self._position

    def read_now(self) -> None:
        """One round on the caller's thread, reading the run's file to its current end, then let go of it
        (`runwatch parse`/`check`: no thread, no following; build with `use_inotify=False`)."""
        try:
            self._round()
        finally:
            self._finish()

    def _stopped(self, exc: Exception) -> None:
        self._safe_notice("error", f"following {self.path} failed: {exc!r}; restarting")  # never die silently
        raise exc  # the supervisor logs it, counts it and runs the follower again from where it stood

    def _finish(self) -> None:
        self._close()
        if self._run_link is not None:
            self._run_link.close()

    # -- one round -----------------------------------------------------------

    def _round(self) -> None:
        try:
            super()._round()
        finally:
            self._round0 = False

    def _step(self) -> None:
        target = find_run_file(self.path)
        self._relink(target)
        if target is None:
            self._report("missing", "info", f"waiting for a W&B run at {self.path}")
            return
        cur = self._cur
        if cur is not None and cur.path != target:
            self._drain(cur)  # what the old run wrote last
            self._close()
            self._notice("info", f"a new W&B run started: following {target}")
            cur = None
        if cur is None:
            cur = self._open(target)
            if cur is None:
                return
        if self._replaced(cur):
            self._close()
            return  # the next round opens the new file
        self._drain(cur)

    def _open(self, target: Path) -> _Open | None:
        try:
            fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._report("denied", "error", f"cannot read {target}: {exc.strerror or exc} (retrying)")
            return None
        st = os.fstat(fd)
        offset = self._resumed_offset(st)
        reader = TransactionLogReader(fd, offset=offset, window=self._window, resync_after=self._resync_after)
        cur = _Open(target, fd, reader, history_end=st.st_size if self._round0 else 0)
        self._cur, self._problem = cur, None
        if not self._flush_said:
            self._flush_said = True
            self._notice("info", f"following W&B run file {target}; {FLUSH_NOTE}")
        self._update_position()
        return cur

    def _resumed_offset(self, st: os.stat_result) -> int | None:
        saved, self._resume = self._resume, None
        if saved is None:
            return None
        if (saved.dev, saved.ino) == (st.st_dev, st.st_ino) and saved.offset <= st.st_size:
            return saved.offset
        self._notice("info", f"saved position no longer matches {self.path}; reading the run from the start")
        return None

    def _replaced(self, cur: _Open) -> bool:
        """The path now names another file, or ours shrank: start over (say so)."""
        try:
            st = os.stat(cur.path)
        except OSError:
            st = None
        if st is not None and (st.st_dev, st.st_ino) != (cur.dev, cur.ino):
            self._drain(cur)
            self._notice("warning", f"{cur.path} was replaced; reading the new file from the start")
            return True
        if os.fstat(cur.fd).st_size < cur.reader.offset:
            self._notice("warning", f"{cur.path} was truncated; reading it from the start")
            return True
        return False

    def _drain(self, cur: _Open) -> None:
        while not self.stopping:
            size = os.fstat(cur.fd).st_size
            try:
                got = cur.reader.read(time.monotonic(), size)
            except HeaderError as exc:
                self._report("header", "error", f"{cur.path}: {exc}")
                return
            self._deliver(cur, got)
            if not got.more:
                break
        if not cur.history_done and not self.stopping:  # the first drain read what was there at start
            cur.history_done = True
            self._on_batch(ItemBatch(self.source, KIND, [], time.time(), history=False))

    def _deliver(self, cur: _Open, got: ReadResult) -> None:
        if got.records:
            history = not cur.history_done
            self._on_batch(ItemBatch(self.source, KIND, list(got.records), time.time(), history=history))
        self._update_position()
        if got.skip is not None:
            s = got.skip
            self._notice("warning", f"{cur.path}: {s.reason} at offset {s.bad_offset}; skipped {s.lost_bytes} "
                         f"bytes to offset {s.resumed_at}, the records in them are lost")
        self._note_stuck(cur, got.stuck)
        if got.records and self._problem is not None:
            self._problem = None

    def _note_stuck(self, cur: _Open, stuck: str | None) -> None:
        """Say so when reading has stopped at a bad chunk for a while (a torn write mends in milliseconds)."""
        now = time.monotonic()
        if stuck is None or stuck != self._stuck:
            self._stuck, self._stuck_since, self._stuck_said = stuck, now, False
        elif not self._stuck_said and now - self._stuck_since >= STUCK_NOTICE_S:
            self._stuck_said = True
            self._notice("warning", f"{cur.path}: {stuck}; waiting for the writer to finish it")

    def _close(self) -> None:
        cur, self._cur = self._cur, None
        if cur is not None:
            os.close(cur.fd)

    # -- wake-ups ------------------------------------------------------------

    def _relink(self, target: Path | None) -> None:
        """Watch the run file and, for directory paths, the `latest-run` link a next run re-points."""
        if self._hub is None:
            return
        paths = [self.path] if self.path.suffix == ".wandb" else [self.path / "latest-run",
                                                                  self.path / "wandb" / "latest-run"]
        if target is not None:
            paths.insert(0, target)
        targets = list(dict.fromkeys(os.path.abspath(p) for p in paths))
        if targets != self._link_targets or self._run_link is None:
            old, self._link_targets = self._run_link, targets
            self._run_link = HubLink(self._hub, self._wake.set, lambda: list(targets), self._no_notify)
            self._run_link.open()  # before the old one lets go, so the hub's observer keeps running
            if old is not None:
                old.close()
        self._run_link.ensure()

    # -- notices -------------------------------------------------------------

    def _update_position(self) -> None:
        cur = self._cur
        if cur is not None:
            self._position = FilePosition(cur.dev, cur.ino, cur.reader.offset, None)

    def _report(self, key: str, level: NoticeLevel, message: str) -> None:
        if self._problem != key and not self._flush_said and key == "missing":
            self._flush_said = True  # the first thing said about the run also says how late it shows
            message = f"{message}; {FLUSH_NOTE}"
        super()._report(key, level, message)
