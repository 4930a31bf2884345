"""Decoders for structured metric sources: CSV rows, HF `log_history`, metric arrays, TensorBoard events.

Each is an `ItemDecoder` (pure: no I/O, no clock) fed what a follower in
`runwatch.watcher.metric_files` (or `checkpoints`) read, by `ItemBatch.kind`:

* `csv_rows` (`CsvRowsDecoder`): Lightning CSVLogger rows as {column: cell}
  dicts, empty cells left out or kept empty. `step` (or `global_step`) is the
  step, `epoch` a metric. A row with only eval metrics (`val_*`, `eval_*`,
  `test_*`) is EVAL; a row mixing both is split into a STEP and an EVAL record.
* `hf_log_history` (`HFLogHistoryDecoder`): items are whole `trainer_state.json`
  documents (their `max_steps` becomes `total_steps`) or bare `log_history`
  entries. The file is rewritten whole at every save and each checkpoint holds
  the history up to it, so entries are deduplicated by (step, keys): a
  rewrite, or the next checkpoint's copy, yields only what is new. Train
  entries are STEP, `eval_*` entries EVAL (`eval_loss` → `val_loss`), the final
  summary (`train_runtime`, `train_loss`) an EVENT `finished`.
* `hparams_yaml` (`HparamsDecoder`): Lightning's `hparams.yaml` texts → the
  run's hyperparameters, as run metadata.
* `nanochat_meta` (`NanochatMetaDecoder`): the `meta_XXXXXX.json` nanochat
  writes beside each checkpoint → its config (`model_config`, `user_config`,
  batch sizes), as run metadata.
* `metrics_arrays` (`MetricArraysDecoder`): `training_metrics.json`-style
  documents, `{"train_loss": [...], "val_loss": [...], "learning_rate": [...],
  "epochs": [...], "steps": [...]}` (rewritten whole), or a list of row dicts.
  An array as long as `steps` is aligned with it; one as long as `epochs` (but
  not `steps`) with the epochs, without a step; others by position. Only
  entries past those already delivered are decoded; a document whose arrays
  shrank is a new run and is read again from the start.
* `tfevents` (`TfEventsDecoder`): TensorBoard `Event` protobuf payloads, read
  by a small hand decoder of the few fields needed (wall_time, step,
  summary.value: tag + simple_value or a scalar tensor), so TensorBoard is not
  needed at run time. Non-scalar summaries (histograms, images, text) are
  skipped; consecutive events at one step become one record; t = wall_time.
* `checkpoint` (`CheckpointRecordsDecoder`): Records the checkpoint watcher
  built itself (filesystem facts), passed through.

Metric names follow DESIGN §2 (`metric_key`): `train/loss`, `train_loss`,
`loss/train` → `loss`; `val/loss`, `eval_loss`, `loss/val` → `val_loss`;
`learning_rate`, Lightning's `lr-AdamW` → `lr` (a second param group
`lr-AdamW/pg2` → `lr_pg2`); anything else keeps its own snake_case name.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from runwatch import patterns
from runwatch.model import EVAL_WORDS, Event, Kind, Record, is_eval_metric
from runwatch.parsers.base import ItemDecoder
from runwatch.parsers.numbers import parse_number
from runwatch.parsers.pydict import CANONICAL, metric_name, snake
from runwatch.parsers.wandb_meta import meta_record

STEP_KEYS = ("step", "global_step", "trainer/global_step", "steps", "iteration", "iter",
             "total_timesteps", "timesteps_total", "steps_done")
"""A row's step, the first of these it has: a training loop's, or an RL loop's environment steps taken (SB3's
`total_timesteps`, RLlib's `timesteps_total`, a DQN script's `episode,…,steps_done`: a review's Atari DQN progress
file read as no metric file at all). Not a bare `timesteps`: a diffusion model's setting of that name (1000 on every
row) took every row's step (a code review)."""
_TRAIN_WORDS = frozenset({"train", "training"})
_EVAL_WORDS = frozenset(EVAL_WORDS)
_LR_MONITOR = patterns.compile(r"^lr-[^/]+?(?P<momentum>-momentum)?(?:/(?P<group>.+))?$")
_MAX_STEP = 1e15


# ── names ────────────────────────────────────────────────────────────────────


@lru_cache(maxsize=4096)
def metric_key(key: str) -> str:
    """The DESIGN §2 name of a column, tag or JSON key (see the module notes)."""
    m = _LR_MONITOR.match(key)
    if m is not None:
        base = "momentum" if m.group("momentum") else "lr"
        group = m.group("group")
        return base if group in (None, "pg1") else f"{base}_{snake(group)}"
    if "/" in key:
        parts = [p for p in key.split("/") if p]
        if len(parts) == 2:
            named = _split_tag(parts[0], parts[1]) or _split_tag(parts[1], parts[0])
            if named is not None:
                return named
    return metric_name(key)


def _split_tag(where: str, what: str) -> str | None:
    """`train/loss`, `loss/val` → canonical when `where` names the phase and `what` is canonical."""
    w, name = where.lower(), metric_name(what)
    if name not in CANONICAL.values():
        return None
    if w in _TRAIN_WORDS:
        return name
    if w in _EVAL_WORDS:
        return "val_loss" if name in ("loss", "val_loss") else f"val_{name}"
    return None


def as_number(value: Any) -> float | None:
    """A JSON/CSV value as a float: numbers, numeric strings, "NaN"/"inf"; None for anything else."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        return parse_number(value) if value.strip() else None
    return None


def as_step(value: Any) -> int | None:
    number = as_number(value)
    if number is None or not math.isfinite(number) or number < 0 or number >= _MAX_STEP:
        return None
    return int(number)


def row_records(row: Mapping[str, Any], t: float, *, step: int | None = None,
                total: int | None = None, epoch_steps: bool = False) -> list[Record]:
    """A flat row of values → a STEP record, an EVAL record, or both (split by metric name).

    `epoch_steps`: a table with no step column, only an `epoch` one (Keras's CSVLogger: `epoch,loss,…`, one row
    an epoch from 0), steps by its epoch, as `runwatch.parsers.keras` counts Keras's epochs (a review: a
    CSVLogger file read as `no steps`); where a step column is (Lightning's CSVLogger), its `step` is the step."""
    if step is None:
        step = next((s for k in STEP_KEYS if (s := as_step(row.get(k))) is not None), None)
        if step is None and epoch_steps and not any(k in row for k in STEP_KEYS):
            epoch_step = as_number(row.get("epoch"))
            if epoch_step is not None and epoch_step.is_integer() and 0 <= epoch_step < _MAX_STEP:
                step = int(epoch_step)
    train: dict[str, float] = {}
    evals: dict[str, float] = {}
    epoch: float | None = None
    for key, raw in row.items():
        if key in STEP_KEYS:
            continue
        value = as_number(raw)
        if value is None:
            continue
        name = metric_key(str(key))
        if name == "epoch":
            epoch = value
        else:
            (evals if is_eval_metric(name) else train).setdefault(name, value)
    out = []
    for kind, metrics in ((Kind.STEP, train), (Kind.EVAL, evals)):
        if metrics:
            if epoch is not None:
                metrics["epoch"] = epoch
            out.append(Record(kind, step=step, total_steps=total, t=t, metrics=metrics))
    if not out and epoch is not None:
        out.append(Record(Kind.STEP, step=step, total_steps=total, t=t, metrics={"epoch": epoch}))
    return out


# ── CSV rows ─────────────────────────────────────────────────────────────────


class CsvRowsDecoder(ItemDecoder):
    """Lightning CSVLogger rows ({column: cell}) → records (see the module notes)."""

    kind = "csv_rows"

    def feed(self, items: list[object], t: float) -> list[Record]:
        out: list[Record] = []
        for item in items:
            if isinstance(item, Mapping):
                out += row_records(item, t, epoch_steps=True)
        return out


# ── Hugging Face trainer_state.json log_history ──────────────────────────────


class HFLogHistoryDecoder(ItemDecoder):
    """`trainer_state.json` documents or `log_history` entries → new records only."""

    kind = "hf_log_history"

    def __init__(self) -> None:
        self._seen: set[tuple[int | None, tuple[str, ...]]] = set()
        self._total: int | None = None
        self._settings: dict[str, Any] = {}

    def feed(self, items: list[object], t: float) -> list[Record]:
        out: list[Record] = []
        for item in items:
            if not isinstance(item, Mapping):
                continue
            history = item.get("log_history")
            if isinstance(history, list):
                total = as_step(item.get("max_steps"))
                self._total = total if total else self._total
                settings = _trainer_settings(item)
                if settings and settings != self._settings:
                    self._settings = settings
                    out.append(meta_record({"trainer_state": settings}, t))
                entries: Iterable[object] = history
            else:
                entries = (item,)
            for entry in entries:
                if isinstance(entry, Mapping):
                    out += self._entry(entry, t)
        return out

    def _entry(self, entry: Mapping[str, Any], t: float) -> list[Record]:
        step = as_step(entry.get("step"))
        key = (step, tuple(sorted(map(str, entry))))
        if key in self._seen:
            return []
        self._seen.add(key)
        if "loss" not in entry and ("train_runtime" in entry or "train_loss" in entry):
            metrics = {snake(str(k)): v for k, raw in entry.items()
                       if k != "step" and (v := as_number(raw)) is not None}
            return [Record(Kind.EVENT, step=step, total_steps=self._total, t=t, metrics=metrics,
                           event=Event.FINISHED, message="training finished (trainer_state.json summary)")]
        return row_records(entry, t, step=step, total=self._total)


_NOT_SETTINGS = frozenset({"log_history", "stateful_callbacks", "is_local_process_zero", "is_world_process_zero",
                           "trial_params"})


def _trainer_settings(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What a trainer_state.json says of its run besides its log: steps, epochs, batch size, best metric and
    checkpoint, FLOPs (the run's overview shows them: an HF run logged without W&B has no other config)."""
    return {str(k): v for k, v in doc.items()
            if k not in _NOT_SETTINGS and (v is None or isinstance(v, str | int | float | bool))}


# ── Lightning hparams.yaml ──────────────────────────────────────────────────


class SettingsDecoder(ItemDecoder):
    """A source of the run's settings, read whole each time (a file rewritten, the next checkpoint's copy) →
    a `run_meta` record each time the settings it gives (`settings`) change, none when they are the same."""

    def __init__(self) -> None:
        self._last: object = None

    def settings(self, item: object) -> dict[str, Any] | None:
        """The run metadata `item` gives (`{"hparams": …}`), or None when it is none of this source's."""
        raise NotImplementedError

    def said(self, item: object, settings: dict[str, Any]) -> dict[str, Any]:
        """What the record says of changed `settings`: they, and what names their origin."""
        return settings

    def feed(self, items: list[object], t: float) -> list[Record]:
        out: list[Record] = []
        for item in items:
            found = self.settings(item)
            if found is not None and found != self._last:
                self._last = found
                out.append(meta_record(self.said(item, found), t))
        return out


class HparamsDecoder(SettingsDecoder):
    """Lightning's `hparams.yaml` texts (its CSV and TensorBoard loggers write the module's
    `save_hyperparameters()` there) → a `run_meta` record `{"hparams": …}` when they change.

    It is YAML as `yaml.dump` writes it, which tags objects it has no plain form for (`!!python/object`,
    an `argparse.Namespace`): those are read as the plain mapping, list or text they hold rather than
    refused, and no tag ever builds a Python object (safe loading)."""

    kind = "hparams_yaml"

    def settings(self, item: object) -> dict[str, Any] | None:
        found = hparams(item) if isinstance(item, str) else None
        return None if found is None else {"hparams": found}


def hparams(text: str) -> dict[str, Any] | None:
    """The mapping a hparams.yaml holds, or None (empty, not a mapping, not YAML)."""
    import yaml

    try:
        doc = yaml.load(text, Loader=_tolerant_loader())  # a SafeLoader: a tag gives a plain value, never an object
    except yaml.YAMLError:
        return None
    return {str(k): v for k, v in doc.items()} if isinstance(doc, dict) and doc else None


@lru_cache(maxsize=1)
def _tolerant_loader() -> type:
    """yaml's SafeLoader, reading any tag it does not know as the plain value under it. Made on first use:
    only runs with an hparams.yaml import yaml."""
    import yaml

    class Tolerant(yaml.SafeLoader):
        pass

    def plain(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> object:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)  # type: ignore[arg-type]

    Tolerant.add_multi_constructor("", plain)
    return Tolerant


# ── nanochat meta_XXXXXX.json ───────────────────────────────────────────────

NANOCHAT_STATE = frozenset({"step", "val_bpb", "dataloader_state_dict", "loop_state"})
"""What a nanochat meta file holds besides the run's settings: where the checkpoint is (its step, its
validation bpb, which the log prints too) and what resuming needs (the loader's position, the loop's
state)."""


class NanochatMetaDecoder(SettingsDecoder):
    """nanochat's checkpoint metadata (`save_checkpoint(…, meta_data)`: `model_config`, `user_config` — the
    script's arguments —, `device_batch_size`, `max_seq_len`, `total_batch_size`…) → a `run_meta` record
    `{"nanochat_meta": {"file": "meta_000500.json", "settings": …}}` when the settings change (the file's
    name changes at every checkpoint; it is said, not compared). A nanochat log prints the model's shape
    but not the script's arguments; the meta file has both."""

    kind = "nanochat_meta"

    def settings(self, item: object) -> dict[str, Any] | None:
        if not isinstance(item, Mapping):
            return None
        found = {str(k): v for k, v in item.items() if k not in NANOCHAT_STATE}
        return found or None

    def said(self, item: object, settings: dict[str, Any]) -> dict[str, Any]:
        step = as_step(item.get("step")) if isinstance(item, Mapping) else None
        name = "meta_*.json" if step is None else f"meta_{step:06d}.json"
        return {"nanochat_meta": {"file": name, "settings": settings}}


# ── training_metrics.json arrays ─────────────────────────────────────────────

_ARRAY_STEPS = ("steps", "step", "global_steps", "global_step", "iterations", "iters")
_ARRAY_EPOCHS = ("epochs", "epoch")


class MetricArraysDecoder(ItemDecoder):
    """Documents of parallel metric arrays (or lists of row dicts) → records for entries not yet seen."""

    kind = "metrics_arrays"

    def __init__(self) -> None:
        self._done: dict[str, int] = {}
        self._rows_done = 0

    def feed(self, items: list[object], t: float) -> list[Record]:
        out: list[Record] = []
        for doc in items:
            if isinstance(doc, Mapping):
                out += self._arrays(doc, t)
            elif isinstance(doc, list):
                out += self._rows(doc, t)
        return out

    def _rows(self, rows: list[Any], t: float) -> list[Record]:
        if len(rows) < self._rows_done:
            self._rows_done = 0
        new, self._rows_done = rows[self._rows_done:], len(rows)
        return [rec for row in new if isinstance(row, Mapping) for rec in row_records(row, t)]

    def _arrays(self, doc: Mapping[str, Any], t: float) -> list[Record]:
        arrays = {str(k): v for k, v in doc.items() if isinstance(v, list)}
        steps = _first(arrays, _ARRAY_STEPS)
        epochs = _first(arrays, _ARRAY_EPOCHS)
        values = {k: v for k, v in arrays.items() if k not in _ARRAY_STEPS and k not in _ARRAY_EPOCHS}
        if any(len(v) < self._done.get(k, 0) for k, v in values.items()):
            self._done = {}  # an array shrank: the file holds a new run
        rows: dict[tuple[int, int], dict[str, Any]] = {}
        for name, array in values.items():
            anchor = 0 if steps is not None and len(array) == len(steps) else (
                1 if epochs is not None and len(array) == len(epochs) else 2)
            for i in range(self._done.get(name, 0), len(array)):
                rows.setdefault((anchor, i), {})[name] = array[i]
            self._done[name] = len(array)
        out: list[Record] = []
        for (anchor, i), row in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            step = as_step(steps[i]) if anchor == 0 and steps is not None else None
            if epochs is not None and (anchor == 1 or (anchor == 0 and len(epochs) == len(steps or ()))):
                row["epoch"] = epochs[i]
            out += row_records(row, t, step=step)
        return out


def _first(arrays: Mapping[str, list[Any]], names: tuple[str, ...]) -> list[Any] | None:
    return next((arrays[n] for n in names if n in arrays), None)


# ── TensorBoard event payloads ───────────────────────────────────────────────

_DT_FLOAT, _DT_DOUBLE, _DT_INT32, _DT_INT64, _DT_BFLOAT16, _DT_HALF = 1, 2, 3, 9, 14, 19
_VALUE_FIELDS = {_DT_FLOAT: 5, _DT_DOUBLE: 6, _DT_INT32: 7, _DT_INT64: 10, _DT_HALF: 13, _DT_BFLOAT16: 13}
"""dtype → the TensorProto field holding its values when `tensor_content` is empty."""
_CONTENT_FORMATS = {_DT_FLOAT: "<f", _DT_DOUBLE: "<d", _DT_INT32: "<i", _DT_INT64: "<q", _DT_HALF: "<e"}


class TfEventsDecoder(ItemDecoder):
    """TensorBoard `Event` payloads (bytes) → one record per run of events sharing a step.

    `eval_source` marks a file from an evaluation writer (Keras writes
    `logs/validation/events…` with the same tags as training): its metrics
    become EVAL records named as eval metrics (`epoch_loss` → `val_loss`).
    """

    kind = "tfevents"

    def __init__(self, *, eval_source: bool = False) -> None:
        self._eval_source = eval_source
        self.bad_events = 0
        """Payloads that were not a readable Event (counted, never raised)."""

    def feed(self, items: list[object], t: float) -> list[Record]:
        out: list[Record] = []
        group: dict[str, float] = {}
        group_step = 0
        group_t = 0.0
        for item in items:
            if not isinstance(item, bytes | bytearray | memoryview):
                continue
            try:
                event = decode_event(bytes(item))
            except (ValueError, IndexError, struct.error):
                self.bad_events += 1
                continue
            if not event[2]:
                continue
            wall, step, scalars = event
            if group and step != group_step:
                out += self._records(group, group_step, group_t)
                group = {}
            group_step, group_t = step, wall or t
            for tag, value in scalars:
                group[self._name(tag)] = value
        if group:
            out += self._records(group, group_step, group_t)
        return out

    def _name(self, tag: str) -> str:
        name = metric_key(tag)
        if name.startswith("epoch_") and name != "epoch_time":
            name = metric_key(name[len("epoch_"):])  # Keras: epoch_loss, epoch_learning_rate
        if self._eval_source and not is_eval_metric(name):
            name = "val_loss" if name == "loss" else f"val_{name}"
        return name

    def _records(self, metrics: dict[str, float], step: int, t: float) -> list[Record]:
        return row_records(metrics, t, step=step if 0 <= step < _MAX_STEP else None)


def decode_event(data: bytes) -> tuple[float, int, list[tuple[str, float]]]:
    """(wall_time, step, [(tag, value)]) of an `Event` payload; scalars only. ValueError on bad bytes."""
    wall, step, summary = 0.0, 0, None  # proto3 leaves a zero step out
    for field, wire, value in _fields(data):
        if field == 1 and wire == 1:
            wall = struct.unpack("<d", value)[0]
        elif field == 2 and wire == 0:
            step = value - (1 << 64) if value >= 1 << 63 else value
        elif field == 5 and wire == 2:
            summary = value
    if summary is None:
        return wall, step, []
    scalars = [s for v in _repeated(summary, 1) if (s := _scalar_value(v)) is not None]
    return wall, step, scalars


def _scalar_value(data: bytes) -> tuple[str, float] | None:
    tag, simple, tensor, plugin = "", None, None, ""
    for field, wire, value in _fields(data):
        if field == 1 and wire == 2:
            tag = value.decode("utf-8", "replace")
        elif field == 2 and wire == 5:
            simple = struct.unpack("<f", value)[0]
        elif field == 8 and wire == 2:
            tensor = value
        elif field == 9 and wire == 2:
            plugin = _plugin_name(value)
    if not tag:
        return None
    if simple is not None:
        return tag, simple
    if tensor is not None and plugin in ("", "scalars"):
        number = _tensor_scalar(tensor)
        if number is not None:
            return tag, number
    return None


def _plugin_name(metadata: bytes) -> str:
    for plugin_data in _repeated(metadata, 1):
        for name in _repeated(plugin_data, 1):
            return name.decode("utf-8", "replace")
    return ""


def _tensor_scalar(data: bytes) -> float | None:
    """The value of a one-element numeric `TensorProto`, else None."""
    dtype, size, content = 0, 1, b""
    lists: dict[int, list[int | bytes]] = {}
    for field, wire, value in _fields(data):
        if field == 1 and wire == 0:
            dtype = value
        elif field == 2 and wire == 2:
            for dim in _repeated(value, 2):
                size *= next((v for f, w, v in _fields(dim) if f == 1 and w == 0), 1)
        elif field == 4 and wire == 2:
            content = value
        elif field in (5, 6, 7, 10, 13):
            lists.setdefault(field, []).append(value)
    if size != 1:
        return None
    if content:
        if dtype == _DT_BFLOAT16 and len(content) == 2:
            return float(struct.unpack("<f", b"\0\0" + content)[0])
        fmt = _CONTENT_FORMATS.get(dtype)
        if fmt is None or struct.calcsize(fmt) != len(content):
            return None
        return float(struct.unpack(fmt, content)[0])
    return _typed_value(dtype, lists)


def _typed_value(dtype: int, lists: dict[int, list[int | bytes]]) -> float | None:
    """The first element of `float_val`/`double_val`/`int_val`/`int64_val`/`half_val`."""
    field = _VALUE_FIELDS.get(dtype)
    if field is None or field not in lists:
        return None
    raw = lists[field][0]
    if field in (5, 6):  # fixed-width, packed or not: bytes either way
        fmt = "<f" if field == 5 else "<d"
        return float(struct.unpack_from(fmt, raw)[0]) if isinstance(raw, bytes) else None
    if isinstance(raw, bytes):  # packed varints
        raw = _varint(raw, 0)[0]
    if field in (7, 10):  # negative int32 and int64 are both sign-extended to 64 bits
        return float(raw - (1 << 64) if raw >= 1 << 63 else raw)
    if dtype == _DT_HALF:
        return float(struct.unpack("<e", struct.pack("<H", raw & 0xFFFF))[0])
    return float(struct.unpack("<f", struct.pack("<I", (raw & 0xFFFF) << 16))[0])


# ── protobuf wire format ─────────────────────────────────────────────────────


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(data: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of each field: int for varints, bytes otherwise."""
    pos, end = 0, len(data)
    value: Any
    while pos < end:
        key = data[pos]  # one-byte keys and lengths (nearly all of them) skip the varint call
        if key < 0x80:
            pos += 1
        else:
            key, pos = _varint(data, pos)
        wire = key & 7
        if wire == 2:
            length = data[pos]
            if length < 0x80:
                pos += 1
            else:
                length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > end:
            raise ValueError("truncated field")
        yield key >> 3, wire, value


def _repeated(data: bytes, number: int) -> Iterator[bytes]:
    for field, wire, value in _fields(data):
        if field == number and wire == 2:
            yield value


# ── checkpoint records ───────────────────────────────────────────────────────


class CheckpointRecordsDecoder(ItemDecoder):
    """Checkpoint Records the watcher built from the filesystem, passed through unchanged."""

    kind = "checkpoint"

    def feed(self, items: list[object], t: float) -> list[Record]:
        return [item for item in items if isinstance(item, Record) and item.kind == Kind.CHECKPOINT]


DECODERS: dict[str, type[ItemDecoder]] = {
    cls.kind: cls
    for cls in (
        CsvRowsDecoder, HFLogHistoryDecoder, HparamsDecoder, NanochatMetaDecoder, MetricArraysDecoder,
        TfEventsDecoder, CheckpointRecordsDecoder,
    )
}
"""ItemBatch kind → decoder class, for `runwatch.parsers.items.DECODERS` to merge."""
