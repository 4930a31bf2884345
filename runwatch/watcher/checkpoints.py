"""Checkpoints as the filesystem shows them: which exist, how big, how long they took, whether whole.

`CheckpointWatcher` scans a directory (a run's output dir, a checkpoint dir
itself, nanochat's `base_checkpoints/d24`, Lightning's `…/checkpoints`) and
recognises:

* directories `checkpoint-N/` (Hugging Face), `global_stepN/` (DeepSpeed),
  `step_N/`, `step-N/` (torchtitan, accelerate), `iter_N/` (Megatron): one
  checkpoint each, with everything below it;
* nanochat's `model_XXXXXX.pt`, `meta_XXXXXX.json`, `optim_XXXXXX_rankN.pt`:
  one checkpoint per step;
* Lightning's `epoch=E-step=S.ckpt` and generic `*.pt`, `*.pth`,
  `*.safetensors`, `*.ckpt`, `*.bin` files: one checkpoint per file, or per
  group of shards (`model-00001-of-00004.safetensors`, `…_rank3.pt`). Data
  sets (`train.bin`, `val.bin`) and `data/` directories are left alone.

Each checkpoint becomes a `Record(kind=CHECKPOINT)` (DESIGN §2), emitted
when its state changes, in an `ItemBatch(kind="checkpoint")`:

* `event` holds the state: "writing" (a file grew, appeared or changed
  within the last `settle_s`), then "complete", or "partial" when it stopped
  changing incomplete: a per-rank shard family with a gap (`optim_…_rank3.pt`
  missing of 0–7, or fewer ranks than the previous checkpoint had), a shard
  `k-of-n` missing, a file the previous checkpoint of the series had
  (`model_{step}.pt`, `trainer_state.json`), or a torch zip / safetensors file
  cut short. A partial checkpoint that later completes gets a "complete"
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
be followed from its checkpoints alone (the decoder drops entries it has seen).
Of the checkpoints found stable in one scan only the newest one's is read: it
holds the history of the older ones.
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from runwatch.model import Kind, Record
from runwatch.watcher.notify import WatchHub
from runwatch.watcher.polling import PollingThread
from runwatch.watcher.types import ItemBatch, Notice


class CheckpointState(StrEnum):
    WRITING = "writing"
    PARTIAL = "partial"
    COMPLETE = "complete"


UNIT_DIR = re.compile(r"^(?:checkpoint-|global_step_?|step[-_]?|iter_)(\d+)$")
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".safetensors", ".ckpt", ".bin")
SKIP_DIRS = frozenset({"wandb", "__pycache__", "node_modules", "site-packages", "venv", ".venv", "data",
                       "dataset", "datasets", ".git"})
MAX_DEPTH = 4
"""How deep below the watched directory checkpoints are looked for (and files inside one)."""

_NANOCHAT = re.compile(r"^(?:model|meta|optim)_(\d{6,})(?:_rank\d+)?\.(?:pt|json)$")
_NOT_CHECKPOINT = re.compile(r"^(?:train|val|valid|validation|test|eval)\.bin$")
_STEP_IN_NAME = re.compile(
    r"(?:^|[^a-z])(?:step|global_step|iter|iteration|checkpoint|ckpt)[-_=]?(\d+)", re.I)
_EPOCH_IN_NAME = re.compile(r"(?:^|[^a-z])epoch[-_=]?(\d+)", re.I)
_RANKED = re.compile(r"(?:(?<![a-z])rank[-_]?|rng_state_)(\d+)(?:_(\d{3})(?![0-9]))?", re.I)
"""`optim_000500_rank3`, `zero_pp_rank_3_mp_rank_00`, `rng_state_3`, Megatron's `mp_rank_00_001` (tp, pp)."""
_DISTCP = re.compile(r"__(\d+)_(\d+)(?=\.distcp$)")
_OF = re.compile(r"-(\d+)-of-(\d+)")
_ZIP_MAGIC = b"PK\x03\x04"
_ZIP_END = b"PK\x05\x06"


def is_checkpoint_file(name: str) -> bool:
    if _NANOCHAT.match(name):
        return True
    return name.endswith(CHECKPOINT_SUFFIXES) and not _NOT_CHECKPOINT.match(name)


def has_checkpoints(directory: str | Path, depth: int = 2) -> bool:
    """Whether `directory` is a checkpoint dir or holds checkpoints within `depth` levels."""
    directory = Path(directory)
    if UNIT_DIR.match(directory.name):
        return True
    return any(True for _ in _walk(directory, depth))


# ── what a checkpoint is made of ─────────────────────────────────────────────


@dataclass(frozen=True)
class _Found:
    """A checkpoint the directory walk found: a directory, or files that belong together."""

    key: str
    name: str
    step: int | None
    epoch: int | None
    series: str
    directory: Path | None = None
    files: tuple[Path, ...] = ()


def _walk(root: Path, depth: int) -> Iterator[_Found]:
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    loose: list[Path] = []
    for entry in entries:
        name = entry.name
        if name.startswith((".", "tmp")):
            continue
        try:
            if entry.is_symlink():
                continue
            if entry.is_dir():
                m = UNIT_DIR.match(name)
                if m:
                    yield _dir_unit(Path(entry.path), int(m.group(1)))
                elif depth > 0 and name not in SKIP_DIRS:
                    yield from _walk(Path(entry.path), depth - 1)
            elif is_checkpoint_file(name):
                loose.append(Path(entry.path))
        except OSError:
            continue
    yield from _group_files(root, loose)


def _dir_unit(path: Path, step: int) -> _Found:
    prefix = UNIT_DIR.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)], path.name)
    return _Found(str(path), path.name, step, None, f"{path.parent}/{prefix}#", directory=path)


def _group_files(directory: Path, files: list[Path]) -> Iterator[_Found]:
    groups: dict[str, list[Path]] = {}
    for path in files:
        m = _NANOCHAT.match(path.name)
        key = f"{directory}/*_{m.group(1)}*" if m else str(directory / _shard_template(path.name))
        groups.setdefault(key, []).append(path)
    for key, paths in groups.items():
        paths.sort()
        m = _NANOCHAT.match(paths[0].name)
        if m:
            step = int(m.group(1))
            yield _Found(key, f"step {m.group(1)}", step, None, f"{directory}/nanochat", files=tuple(paths))
            continue
        name = Path(key).name
        step_m = re.search(r"(?:^|[-_])step=(\d+)", name) or _STEP_IN_NAME.search(name)
        epoch_m = _EPOCH_IN_NAME.search(name)
        yield _Found(key, name, int(step_m.group(1)) if step_m else None,
                     int(epoch_m.group(1)) if epoch_m else None,
                     f"{directory}/{re.sub(r'[0-9]+', '#', name)}", files=tuple(paths))


def _shard_template(rel: str) -> str:
    """The name with its shard numbers (ranks, `k` of `k-of-n`, DCP file ids) replaced by `*`."""
    rel = _OF.sub(lambda m: f"-*-of-{m.group(2)}", rel)
    rel = _DISTCP.sub("__*_*", rel)
    return _RANKED.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)] + ("*_*" if m.group(2) else "*"), rel)


def _shard_id(rel: str) -> tuple[int, ...]:
    return tuple(int(n) for m in (*_RANKED.finditer(rel), *_DISTCP.finditer(rel)) for n in m.groups() if n)


@dataclass
class Completeness:
    """How whole a stable checkpoint is, against what its own names and the previous one promise."""

    missing: list[str] = field(default_factory=list)
    found: int = 0
    expected: int = 0

    @property
    def ok(self) -> bool:
        return not self.missing


@dataclass
class Expectation:
    """What the last complete checkpoint of a series held: file templates, and shard grid sizes."""

    components: frozenset[str] = frozenset()
    grids: dict[str, tuple[int, ...]] = field(default_factory=dict)


def assess(
    files: dict[str, int], step: int | None, expect: Expectation | None
) -> tuple[Completeness, Expectation]:
    """Check a stable checkpoint's files (relative path → size); also what it teaches about the next.

    A family of per-rank shards (same template, rank numbers → `*`) must fill
    its grid: every rank 0..max (max the largest seen here or in the previous
    complete checkpoint of the series); `k-of-n` shards all n.
    """
    result = Completeness()
    components: set[str] = set()
    families: dict[str, set[tuple[int, ...]]] = {}
    of_n: dict[str, tuple[set[int], int]] = {}
    for rel in files:
        template = _step_template(_shard_template(rel), step)
        components.add(template)
        if (m := _OF.search(rel)) is not None:
            seen, _ = of_n.setdefault(template, (set(), int(m.group(2))))
            seen.add(int(m.group(1)))
        elif ids := _shard_id(rel):
            families.setdefault(template, set()).add(ids)
    grids: dict[str, tuple[int, ...]] = {}
    for template, ids in families.items():
        size = tuple(max(i[d] for i in ids) + 1 for d in range(len(next(iter(ids)))))
        old = expect.grids.get(template) if expect else None
        if old is not None and len(old) == len(size):
            size = tuple(max(a, b) for a, b in zip(size, old, strict=True))
        grids[template] = size
        want = math.prod(size)
        result.found += len(ids)
        result.expected += want
        if len(ids) < want:
            result.missing.append(_missing_ranks(template, ids, size))
    for template, (seen, n) in of_n.items():
        result.found += len(seen)
        result.expected += n
        if len(seen) < n:
            result.missing.append(f"missing {template} shards ({len(seen)} of {n})")
    if expect is not None:
        for gone in sorted(expect.components - components):
            result.missing.append(f"missing {gone}")
    return result, Expectation(frozenset(components), grids)


def _missing_ranks(template: str, ids: set[tuple[int, ...]], size: tuple[int, ...]) -> str:
    if len(size) == 1:
        gone = sorted(set(range(size[0])) - {i[0] for i in ids})
        shown = ", ".join(map(str, gone[:8])) + (" …" if len(gone) > 8 else "")
        return f"missing {template} rank {shown} ({len(ids)} of {size[0]})"
    return f"missing {template} shards ({len(ids)} of {math.prod(size)})"


def _step_template(rel: str, step: int | None) -> str:
    """`model_000500.pt` → `model_{step}.pt` (not the `n` of a `k-of-n` shard name)."""
    if not step:
        return rel
    return re.sub(rf"(?<![0-9*])(?<!of-)0*{step:d}(?![0-9])", "{step}", rel)


def truncated(path: Path, size: int) -> str | None:
    """Why a torch zip or safetensors file is cut short, or None (whole, or a format we cannot check)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            if path.suffix == ".safetensors" and len(head) == 8:
                n = struct.unpack("<Q", head)[0]
                if n > 100 << 20 or 8 + n > size:
                    return f"{path.name} is cut short (header)"
                header = json.loads(f.read(n))
                ends = [v["data_offsets"][1] for k, v in header.items()
                        if k != "__metadata__" and isinstance(v, dict) and "data_offsets" in v]
                need = 8 + n + max(ends, default=0)
                return f"{path.name} is cut short ({size} of {need} bytes)" if size < need else None
            if head[:4] == _ZIP_MAGIC:
                f.seek(max(0, size - 65_557))
                return None if _ZIP_END in f.read() else f"{path.name} is cut short (no zip directory)"
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    return None


# ── the watcher ──────────────────────────────────────────────────────────────


@dataclass
class _Unit:
    found: _Found
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
    hf_read: tuple[int, int] | None = None


class CheckpointWatcher(PollingThread):
    """A thread that reports checkpoints appearing, growing and completing below `directory`.

    `on_batch` gets `ItemBatch(kind="checkpoint", items=[Record…])` and, for
    Hugging Face checkpoints, `ItemBatch(kind="hf_log_history", items=[doc])`,
    all with `source` (default: the directory). `settle_s` is how long a
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
        clock: Callable[[], float] = time.time,
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
        self._clock, self._depth = clock, max_depth
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
        hf: list[_Unit] = []
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
                if rec.event != CheckpointState.WRITING and "trainer_state.json" in unit.files:
                    hf.append(unit)
        history = self._first_scan
        self._first_scan = False
        self._hand_over_state(hf, now, history)
        if records:
            self._on_batch(ItemBatch(self.source, "checkpoint", list(records), now, history=history))
        if history and records:
            self._on_batch(ItemBatch(self.source, "checkpoint", [], now, history=False))

    def _find(self) -> dict[str, _Found]:
        m = UNIT_DIR.match(self.directory.name)
        if m and self.directory.is_dir():
            return {str(self.directory): _dir_unit(self.directory, int(m.group(1)))}
        return {f.key: f for f in _walk(self.directory, self._depth)}

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
                unit.checked[rel] = truncated(base / rel, size) if rel.endswith(_CHECKED) else None
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

    # -- trainer_state.json ------------------------------------------------

    def _hand_over_state(self, units: list[_Unit], now: float, history: bool) -> None:
        newest: dict[str, _Unit] = {}
        for unit in units:
            stamp = unit.files["trainer_state.json"]
            if unit.hf_read == stamp:
                continue
            unit.hf_read = stamp
            best = newest.get(unit.found.series)
            if best is None or (unit.found.step or 0) >= (best.found.step or 0):
                newest[unit.found.series] = unit
        for unit in newest.values():
            assert unit.found.directory is not None
            path = unit.found.directory / "trainer_state.json"
            try:
                doc = json.loads(path.read_bytes())
            except (OSError, ValueError) as exc:
                self._notice("warning", f"cannot read {path}: {exc}")
                continue
            if isinstance(doc, dict):
                self._on_batch(ItemBatch(self.source, "hf_log_history", [doc], now, history=history))


_CHECKED = (".safetensors", ".pt", ".pth", ".ckpt", ".bin")


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
