"""Checkpoints as their files show them: which layouts hold one, and whether one is whole.

Recognised below a directory (`walk`):

* directories `checkpoint-N/` (Hugging Face), `global_stepN/` (DeepSpeed),
  `step_N/`, `step-N/` (torchtitan, accelerate), `iter_N/` (Megatron): one
  checkpoint each, with everything below it;
* nanochat's `model_XXXXXX.pt`, `meta_XXXXXX.json`, `optim_XXXXXX_rankN.pt`:
  one checkpoint per step;
* Lightning's `epoch=E-step=S.ckpt` and generic `*.pt`, `*.pth`,
  `*.safetensors`, `*.ckpt`, `*.bin` files: one checkpoint per file, or per
  group of shards (`model-00001-of-00004.safetensors`, `…_rank3.pt`). Data
  sets (`train.bin`, `val.bin`) and `data/` directories are left alone.

A stable checkpoint is whole (`assess`, `truncated`) unless a per-rank shard
family has a gap (`optim_…_rank3.pt` missing of 0–7, or fewer ranks than the
previous checkpoint had), a shard `k-of-n` is missing, a file the previous
checkpoint of the series had (`model_{step}.pt`, `trainer_state.json`) is
missing, or a torch zip / safetensors file is cut short.
`runwatch.watcher.checkpoints` watches them change.
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from runwatch import patterns

UNIT_DIR = patterns.compile(r"^(?:checkpoint-|global_step_?|step[-_]?|iter_)(\d+)$")
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".safetensors", ".ckpt", ".bin")
SKIP_DIRS = frozenset({"wandb", "__pycache__", "node_modules", "site-packages", "venv", ".venv", "data",
                       "dataset", "datasets", ".git"})

_NANOCHAT = patterns.compile(r"^(?:model|meta|optim)_(\d{6,})(?:_rank\d+)?\.(?:pt|json)$")
_NOT_CHECKPOINT = patterns.compile(r"^(?:train|val|valid|validation|test|eval)\.bin$")
_STEP_IN_NAME = patterns.compile(
    r"(?:^|[^a-z])(?:step|global_step|iter|iteration|checkpoint|ckpt)[-_=]?(\d+)", re.I)
_EPOCH_IN_NAME = patterns.compile(r"(?:^|[^a-z])epoch[-_=]?(\d+)", re.I)
_RANKED = patterns.compile(r"(?:(?<![a-z])rank[-_]?|rng_state_)(\d+)(?:_(\d{3})(?![0-9]))?", re.I)
"""`optim_000500_rank3`, `zero_pp_rank_3_mp_rank_00`, `rng_state_3`, Megatron's `mp_rank_00_001` (tp, pp)."""
_DISTCP = patterns.compile(r"__(\d+)_(\d+)(?=\.distcp$)")
_OF = patterns.compile(r"-(\d+)-of-(\d+)")
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
    return any(True for _ in walk(directory, depth))


@dataclass(frozen=True)
class Found:
    """A checkpoint the directory walk found: a directory, or files that belong together."""

    key: str
    name: str
    step: int | None
    epoch: int | None
    series: str
    directory: Path | None = None
    files: tuple[Path, ...] = ()


def walk(root: Path, depth: int) -> Iterator[Found]:
    """Every checkpoint below `root`, looking `depth` directory levels down (not into a checkpoint's own)."""
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
                    yield dir_unit(Path(entry.path), int(m.group(1)))
                elif depth > 0 and name not in SKIP_DIRS:
                    yield from walk(Path(entry.path), depth - 1)
            elif is_checkpoint_file(name):
                loose.append(Path(entry.path))
        except OSError:
            continue
    yield from _group_files(root, loose)


def checkpoint_homes(root: Path, depth: int) -> list[Path]:
    """The directories that hold the checkpoints below `root` (within `depth` levels), none inside another."""
    homes = sorted({f.directory.parent if f.directory is not None else f.files[0].parent
                    for f in walk(root, depth) if f.directory is not None or f.files})
    return [h for h in homes if not any(o != h and o in h.parents for o in homes)]


def dir_unit(path: Path, step: int) -> Found:
    """The checkpoint a `checkpoint-N/`-style directory is (`step` is its N)."""
    prefix = UNIT_DIR.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)], path.name)
    return Found(str(path), path.name, step, None, f"{path.parent}/{prefix}#", directory=path)


def _group_files(directory: Path, files: list[Path]) -> Iterator[Found]:
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
            yield Found(key, f"step {m.group(1)}", step, None, f"{directory}/nanochat", files=tuple(paths))
            continue
        name = Path(key).name
        step_m = re.search(r"(?:^|[-_])step=(\d+)", name) or _STEP_IN_NAME.search(name)
        epoch_m = _EPOCH_IN_NAME.search(name)
        yield Found(key, name, int(step_m.group(1)) if step_m else None,
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
    for template, shard_ids in families.items():
        size = tuple(max(i[d] for i in shard_ids) + 1 for d in range(len(next(iter(shard_ids)))))
        old = expect.grids.get(template) if expect else None
        if old is not None and len(old) == len(size):
            size = tuple(max(a, b) for a, b in zip(size, old, strict=True))
        grids[template] = size
        want = math.prod(size)
        result.found += len(shard_ids)
        result.expected += want
        if len(shard_ids) < want:
            result.missing.append(_missing_ranks(template, shard_ids, size))
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


CHECKED_SUFFIXES = (".safetensors", ".pt", ".pth", ".ckpt", ".bin")
"""Files worth a `truncated` check (torch zip and safetensors formats)."""


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
