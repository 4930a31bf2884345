"""Checkpoints as the filesystem shows them: which exist, how big, how long they took, whether whole.

`CheckpointWatcher` scans a directory (a run's output dir, a checkpoint dir
itself, nanochat's `base_checkpoints/d24`, Lightning's `…/checkpoints`) for
the layouts `runwatch.watcher.checkpoint_layout` recognises. Each checkpoint
becomes a `Record(kind=CHECKPOINT)` (DESIGN §2), emitted when its state
changes, in an `ItemBatch(kind="checkpoint")`:

* `event` holds the state: "writing" (a file grew, appeared or changed
  within the last `settle_s`), then "complete", or "partial" when it stopped
  changing incomplete (what incomplete means: `checkpoint_layout.assess` and
  `truncated`). A partial checkpoint that later completes gets a "complete"
  record.
* `message` says it in words ("checkpoint-500 partial: 2.0 GiB in 9 files;
  missing optim_{step}_rank*.pt rank 3 (7 of 8)").
* `source` is the checkpoint's path (a directory, a file, or a glob for a
  group such as `dir/*_000500*`): its identity. `step` from the name.
* `t`: the newest file's mtime for complete/partial (what a history read can
  know too), the wall time for "writing".
* `metrics`: `size_bytes`, `files`, `write_s` (from when runwatch first saw it
  change to the scan that saw it stop: known only for checkpoints watched
  while written), `shards_found`/`shards_expected` for sharded ones,
  `epoch` (Lightning), `generation` (from 2 on, for a file rewritten in place
  after it was complete: nanoGPT's `ckpt.pt`, Lightning's `last.ckpt`).

A Hugging Face checkpoint's `trainer_state.json` is handed over whole as
`ItemBatch(kind="hf_log_history")` once the checkpoint is stable, so a run can
be followed from its checkpoints alone (the decoder drops entries it has seen);
a nanochat checkpoint's `meta_XXXXXX.json` likewise as
`ItemBatch(kind="nanochat_meta")`: the run's config (`model_config`,
`user_config`), which its log prints only in part. Of the checkpoints found
stable in one scan only the newest one's is read: it holds the history of the
older ones, and the settings the run has now.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from runwatch.model import Kind, Record
from runwatch.watcher.checkpoint_layout import (
    CHECKED_SUFFIXES,
    UNIT_DIR,
    Expectation,
    Found,
    assess,
    dir_unit,
    truncated,
    walk,
)
from runwatch.watcher.notify import WatchHub
from runwatch.watcher.polling import PollingThread
from runwatch.watcher.types import ItemBatch, Notice

MAX_DEPTH = 4
"""How deep below the watched directory checkpoints are looked for (and files inside one)."""


class CheckpointState(StrEnum):
    WRITING = "writing"
    PARTIAL = "partial"
    COMPLETE = "complete"


@dataclass
class _Unit:
    found: Found
    files: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Relative path → (size, mtime_ns)."""
    dirs: dict[str, int] = field(default_factory=dict)
    last_change: float = 0.0
    """When a scan last saw its files change (or first saw it)."""
    write_start: float | None = None
    state: CheckpointState | None = None
    reason: str = ""
    generation: int = 1
    checked: dict[str, str | None] = field(default_factory=dict)
    """Relative path → why it is cut short (None: whole), for the sizes measured last."""
    shards: tuple[int, int] = (0, 0)
    doc_read: tuple[int, int] | None = None
    """The (size, mtime_ns) of its document (`_document`) when it was last handed over."""


class CheckpointWatcher(PollingThread):
    """A thread that reports checkpoints appearing, growing and completing below `directory`.

    `on_batch` gets `ItemBatch(kind="checkpoint", items=[Record…])` and, for
    Hugging Face checkpoints, `ItemBatch(kind="hf_log_history", items=[doc])`, for nanochat's
    `ItemBatch(kind="nanochat_meta", items=[doc])`, all with `source` (default: the directory). `settle_s` is how long a
    checkpoint must stay unchanged to count as written. Scans run every
    `poll_interval`, earlier on a file event, at most every `min_gap`.
    """

    poll_word = "scanning"

    def __init__(
        self,
        directory: str | Path,
        on_batch: Callable[[ItemBatch], None],
        on_notice: Callable[[Notice], None] | None = None,
        *,
        poll_interval: float = 2.0,
        settle_s: float = 5.0,
        min_gap: float = 0.2,
        use_inotify: bool = True,
        hub: WatchHub | None = None,
        source: str | None = None,
        clock: Callable[[], float] | None = None,
        max_depth: int = MAX_DEPTH,
    ) -> None:
        if poll_interval <= 0 or settle_s < 0:
            raise ValueError(
                f"poll_interval must be positive and settle_s not negative, got {poll_interval}, {settle_s}")
        self.directory = Path(directory)
        super().__init__(
            "checkpoints", self.directory, doing=f"scanning checkpoints in {self.directory}",
            source=str(directory) if source is None else source, on_notice=on_notice, poll_interval=poll_interval,
        )
        self._on_batch = on_batch
        self._settle, self._min_gap = settle_s, min_gap
        self._clock, self._depth = clock or time.time, max_depth  # as `Engine` takes its clock
        self._halt = threading.Event()
        self._link_hub(hub, use_inotify, lambda: [str(self.directory)], recursive=True)
        self._units: dict[str, _Unit] = {}
        self._expect: dict[str, Expectation] = {}
        self._first_scan = True

    def on_stop(self) -> None:
        self._halt.set()
        super().on_stop()

    def _rest(self) -> None:
        super()._rest()
        self._halt.wait(self._min_gap)  # a checkpoint being written sends events by the thousand

    def _step(self) -> None:
        self.scan()
        if self._problem is not None:  # the last scan failed
            self._problem = None
            self._notice("info", f"reading checkpoints in {self.directory} again")

    def scan(self) -> None:
        """One look at the directory: measure every checkpoint, emit the state changes. Public for tests."""
        now = self._clock()
        found = self._find()
        for key in [k for k in self._units if k not in found]:
            del self._units[key]  # deleted (save_total_limit rotation) or renamed away
        records: list[Record] = []
        documented: list[_Unit] = []
        for f in sorted(found.values(), key=lambda f: (f.step is None, f.step or 0, f.key)):
            unit = self._units.get(f.key)
            if unit is None:
                unit = self._units[f.key] = _Unit(f, last_change=now)
                fresh = True
            else:
                unit.found, fresh = f, False
            rec = self._update(unit, now, fresh)
            if rec is not None:
                records.append(rec)
                if rec.event != CheckpointState.WRITING and _document(unit) is not None:
                    documented.append(unit)
        history = self._first_scan
        self._first_scan = False
        self._hand_over_documents(documented, now, history)
        if records:
            self._on_batch(ItemBatch(self.source, "checkpoint", list(records), now, history=history))
        if history and records:
            self._on_batch(ItemBatch(self.source, "checkpoint", [], now, history=False))

    def _find(self) -> dict[str, Found]:
        m = UNIT_DIR.match(self.directory.name)
        if m and self.directory.is_dir():
            return {str(self.directory): dir_unit(self.directory, int(m.group(1)))}
        return {f.key: f for f in walk(self.directory, self._depth)}

    # -- one checkpoint ----------------------------------------------------

    def _update(self, unit: _Unit, now: float, fresh: bool) -> Record | None:
        files, dirs = self._measure(unit)
        changed = files != unit.files
        unit.files, unit.dirs = files, dirs
        if changed:
            unit.checked = {}
            if not fresh:
                unit.last_change = now
        newest = max((m for _, m in files.values()), default=0) / 1e9
        quiet = now - unit.last_change >= self._settle or (fresh and now - newest >= self._settle)
        stable = bool(files) and quiet
        if not stable:
            if unit.state == CheckpointState.WRITING:
                return None
            if unit.state == CheckpointState.COMPLETE and unit.found.directory is None:
                unit.generation += 1  # a file rewritten in place: a new checkpoint under the same name
            if unit.state != CheckpointState.PARTIAL or unit.write_start is None:
                unit.write_start = now
            unit.state = CheckpointState.WRITING
            return self._record(unit, now)
        if not changed and unit.state in (CheckpointState.COMPLETE, CheckpointState.PARTIAL):
            return None  # judged already, and nothing moved since
        state, reason = self._judge(unit)
        if state == unit.state and reason == unit.reason:
            return None
        unit.state, unit.reason = state, reason
        return self._record(unit, newest or now)

    def _measure(self, unit: _Unit) -> tuple[dict[str, tuple[int, int]], dict[str, int]]:
        f = unit.found
        if f.directory is None:
            out = {}
            for path in f.files:
                try:
                    st = path.stat()
                except OSError:
                    continue
                out[path.name] = (st.st_size, st.st_mtime_ns)
            return out, {}
        if unit.state == CheckpointState.COMPLETE and _dirs_unchanged(f.directory, unit.dirs):
            return unit.files, unit.dirs  # a partial one is looked at whole: a cut file may still grow
        files: dict[str, tuple[int, int]] = {}
        dirs: dict[str, int] = {}
        _tree(f.directory, "", files, dirs, self._depth)
        return files, dirs

    def _judge(self, unit: _Unit) -> tuple[CheckpointState, str]:
        f = unit.found
        base = f.directory if f.directory is not None else (f.files[0].parent if f.files else self.directory)
        sizes = {rel: size for rel, (size, _) in unit.files.items()}
        expect = self._expect.get(f.series)
        if expect is not None and f.directory is None and not f.series.endswith("/nanochat"):
            expect = Expectation(grids=expect.grids)  # a lone file's name varies (epoch=3-step=400.ckpt)
        result, learned = assess(sizes, f.step, expect)
        for rel, size in sizes.items():
            if rel not in unit.checked:
                unit.checked[rel] = truncated(base / rel, size) if rel.endswith(CHECKED_SUFFIXES) else None
            if unit.checked[rel]:
                result.missing.append(str(unit.checked[rel]))
        unit.shards = (result.found, result.expected)
        if result.ok:
            self._expect[f.series] = learned
            return CheckpointState.COMPLETE, ""
        return CheckpointState.PARTIAL, "; ".join(result.missing)

    def _record(self, unit: _Unit, t: float) -> Record:
        f, state = unit.found, unit.state
        assert state is not None
        size = sum(s for s, _ in unit.files.values())
        metrics: dict[str, float] = {"size_bytes": float(size), "files": float(len(unit.files))}
        n = len(unit.files)
        parts = [f"{f.name} {state}: {human_bytes(size)} in {n} file{'s' * (n != 1)}"]
        if state != CheckpointState.WRITING:
            found, expected = unit.shards
            if expected:
                metrics["shards_found"], metrics["shards_expected"] = float(found), float(expected)
            if unit.write_start is not None:
                write_s = max(0.0, unit.last_change - unit.write_start)
                metrics["write_s"] = write_s
                parts.append(f"written in {write_s:.1f}s")
        if f.epoch is not None:
            metrics["epoch"] = float(f.epoch)
        if unit.generation > 1:
            metrics["generation"] = float(unit.generation)
        message = ", ".join(parts) + (f"; {unit.reason}" if state == CheckpointState.PARTIAL else "")
        return Record(Kind.CHECKPOINT, step=f.step, t=t, metrics=metrics, event=str(state),
                      message=message[:500], source=f.key)

    # -- trainer_state.json, meta_XXXXXX.json -----------------------------

    def _hand_over_documents(self, units: list[_Unit], now: float, history: bool) -> None:
        """The document of the newest checkpoint of each series whose document changed, parsed."""
        newest: dict[tuple[str, str], tuple[_Unit, Path]] = {}
        for unit in units:
            found = _document(unit)
            assert found is not None
            kind, path, rel = found
            stamp = unit.files[rel]
            if unit.doc_read == stamp:
                continue
            unit.doc_read = stamp
            best = newest.get((unit.found.series, kind))
            if best is None or (unit.found.step or 0) >= (best[0].found.step or 0):
                newest[(unit.found.series, kind)] = (unit, path)
        for (_, kind), (_, path) in newest.items():
            try:
                doc = json.loads(path.read_bytes())
            except (OSError, ValueError) as exc:
                self._notice("warning", f"cannot read {path}: {exc}")
                continue
            if isinstance(doc, dict):
                self._on_batch(ItemBatch(self.source, kind, [doc], now, history=history))


DOCUMENTS = {"trainer_state.json": "hf_log_history"}
"""A file of a checkpoint directory → the kind of batch it is handed over as."""


def _document(unit: _Unit) -> tuple[str, Path, str] | None:
    """(batch kind, path, key in `unit.files`) of the JSON document a checkpoint carries for a decoder:
    a Hugging Face checkpoint directory's `trainer_state.json`, nanochat's `meta_XXXXXX.json` beside its
    model file; None when it has none."""
    f = unit.found
    if f.directory is not None:
        return next(((kind, f.directory / rel, rel) for rel, kind in DOCUMENTS.items() if rel in unit.files), None)
    if not f.series.endswith("/nanochat"):
        return None
    meta = next((p for p in f.files if p.name.startswith("meta_") and p.name.endswith(".json")), None)
    return ("nanochat_meta", meta, meta.name) if meta is not None and meta.name in unit.files else None


def _tree(
    directory: Path, prefix: str, files: dict[str, tuple[int, int]], dirs: dict[str, int], depth: int
) -> None:
    """Every file below `directory` (relative path → size, mtime_ns), and every directory's mtime."""
    try:
        dirs[prefix] = directory.stat().st_mtime_ns
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        rel = prefix + entry.name
        try:
            if entry.is_dir(follow_symlinks=False):
                if depth > 0:
                    _tree(Path(entry.path), rel + "/", files, dirs, depth - 1)
            elif entry.is_file():
                st = entry.stat()
                files[rel] = (st.st_size, st.st_mtime_ns)
        except OSError:
            continue


def _dirs_unchanged(root: Path, dirs: dict[str, int]) -> bool:
    try:
        return bool(dirs) and all((root / rel).stat().st_mtime_ns == m for rel, m in dirs.items())
    except OSError:
        return False


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"
