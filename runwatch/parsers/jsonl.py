"""JSON lines: one object per line (`{"step": 10, "loss": 2.3, "lr": 3e-4}`).

Python's json reads `NaN`, `Infinity` and `-Infinity`; the strings "nan",
"inf", "-inf" count too, since that is how runwatch's own `parse --output
jsonl` writes them (an object of that shape, `{"kind": …, "metrics": {…}}`,
is read back as the Record it was), and so do the durations LLaMA-Factory
writes as text (`"elapsed_time": "5:39:46"` → elapsed, `remaining_time` →
eta, in seconds). Other strings, booleans and lists are ignored.

Nested objects are flattened with `/` and the path snake_cased, with the
canonical names of DESIGN §2 (`train/loss` → loss, `eval/loss` → val_loss,
`metrics/lr` → lr; `eval/runtime` → `eval_runtime`). Step from `global_step`,
`step`, `iter`, `iteration`, wandb's `_step` or LLaMA-Factory's `current_steps` (first found, in that order),
`total_steps`/`max_steps` → total_steps; `_timestamp`/`timestamp`/`time`/`ts`
→ t when it looks like Unix seconds (or milliseconds), else it stays a metric (beside `data_time`, detectron2's and
mmengine's `metrics.json`, `time` is the seconds an iteration took: `step_time`; a review's detectron2 run read "no step
line carries … a step time");
wandb's `_runtime` → elapsed. An object with only evaluation metrics
(`val_*`, `eval_*`, `test_*`; the epoch and `_runtime` aside) is an EVAL
record, else STEP; one with no numeric metric is not a record. The HF
Trainer's closing summary in a `log_history` dump (`train_runtime`, no
`loss`) is a `finished` EVENT with its numbers under their own snake_case
names, as the Trainer's console summary is: its `train_loss` is the run's
mean, not a last step's loss.

The format is described once, as what a list of keys makes of its values
(`_keys` and `_metrics`: which key is the step, the total, the time, which
metric each other key is, and the record's kind), decided once per key list: a metrics logger
writes the same keys on every line. Two readers apply it: `parse` to one
object, and `JsonBlock` to a block of lines at once (the columnar fast path,
runwatch.parsers.columnar), which decodes the block as one JSON array and
reads the objects of each key list as columns. The value tests (a step is
finite and below 1e15, a time in Unix seconds or milliseconds) are written
once, with operators that work on a float and on an array alike.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from runwatch import patterns
from runwatch.arrays import distinct
from runwatch.model import Event, Kind, Record, is_eval_metric
from runwatch.parsers.base import DocumentRows, FormatParser
from runwatch.parsers.numbers import clock_seconds
from runwatch.parsers.pydict import CANONICAL, metric_name, snake

if TYPE_CHECKING:
    import numpy as np

MAX_LINE = 1_000_000
MAX_DEPTH = 8
_STEP_KEYS = (
    "global_step", "train/global_step", "trainer/global_step", "step", "iter", "iteration", "_step",
    "current_steps",  # LLaMA-Factory's `trainer_log.jsonl`: `{"current_steps": 10, "total_steps": 6566, "loss": 0.8548, …}`
)
_TOTAL_KEYS = ("total_steps", "max_steps")
_TIME_KEYS = ("_timestamp", "timestamp", "time", "ts")
_CONTAINERS = ("metrics", "train", "training", "scalars", "stats", "optim", "optimizer")
_NONFINITE = {"nan": math.nan, "inf": math.inf, "+inf": math.inf, "-inf": -math.inf,
              "infinity": math.inf, "-infinity": -math.inf}
_KINDS = {str(k) for k in Kind}
_DURATIONS = {"elapsed_time": "elapsed", "remaining_time": "eta"}
"""Keys whose text is a duration (`"elapsed_time": "5:39:46"`, `"remaining_time": "1 day, 2:00:11"`: LLaMA-Factory's
`trainer_log.jsonl`, Python's `str(timedelta)`), read as seconds under the name of the clock they are: the time the
run has taken, and the time it says it has left (a review's LLaMA-Factory run showed neither)."""


# -- the description: what a key list makes of its values ----------------------------------------------

def valid_step(value: Any) -> Any:
    """Whether a step or total key's value is one (a float → bool, an array → bool array): finite, 0 ≤ v < 1e15."""
    return (value >= 0) & (value < 1e15)


def whole_step(value: Any) -> Any:
    """`valid_step`, and a whole number (an epoch that stands for the step: `epoch` 3, not 2.5)."""
    return valid_step(value) & (value % 1 == 0)


def time_divisor(value: Any) -> Any:
    """What a time key's value is divided by to give Unix seconds: 1 (it is seconds), 1000 (milliseconds), or 0
    (neither: the key stays a metric). A float → float, an array → array."""
    return ((value >= 1e9) & (value < 1e10)) * 1.0 + ((value >= 1e12) & (value < 1e13)) * 1000.0


@dataclass(frozen=True, slots=True)
class _Keys:
    """Where the step, total and time keys of a key list are (in the order they are tried)."""

    step: tuple[int, ...]
    total: tuple[int, ...]
    time: tuple[int, ...]
    epoch: tuple[int, ...] = ()
    """The `epoch` key where no step key is there, nor a batch's count: a whole epoch is then the step (DETR's,
    DeiT's and MAE's `log.txt`, `{"train_loss": …, "test_loss": …, "epoch": 0, "n_parameters": …}` an epoch a line,
    read as "no steps", a review); it stays a metric too."""


@dataclass(frozen=True, slots=True)
class _Metrics:
    """What the rest of a key list's values are, with the time key at `timed` (-1: none) taken as the time."""

    positions: tuple[int, ...]
    names: tuple[str, ...]
    """The metric of each position (the first key of a name wins)."""
    kind: Kind | None
    """EVAL when every judged metric is an evaluation's, STEP otherwise; None: no metric, no record."""
    clash: bool
    """Two of the keys name one metric: which one wins may depend on the time (the block reader leaves it)."""


@lru_cache(maxsize=1024)
def _keys(keys: tuple[str, ...]) -> _Keys:
    at = {k: i for i, k in enumerate(keys)}
    step, total, time = (tuple(at[k] for k in group if k in at) for group in (_STEP_KEYS, _TOTAL_KEYS, _TIME_KEYS))
    by_epoch = not step and "epoch" in at and _BATCH_KEYS.isdisjoint(at)
    return _Keys(step, total, time, (at["epoch"],) if by_epoch else ())


_BATCH_KEYS = frozenset({"batch", "batch_idx", "batch_id", "it"})
"""A batch's count beside the epoch: several lines an epoch, the epoch no step."""


@lru_cache(maxsize=1024)
def _metrics(keys: tuple[str, ...], timed: int) -> _Metrics:
    plan = _keys(keys)
    taken = set(plan.step + plan.total) | {timed}
    names: dict[str, int] = {}
    named = 0
    summary = "train_runtime" in keys and "loss" not in keys  # a loop logging `train_loss` each step is no summary
    for i, key in enumerate(keys):
        if i in taken:
            continue
        name = (snake(key) if summary else "elapsed" if key == "_runtime"
                else "step_time" if key == "time" and "data_time" in keys else _name(key))
        if name:
            named += 1
            names.setdefault(name, i)
    judged = [n for n in names if n not in _NOT_JUDGED]
    kind = (None if not names else Kind.EVENT if summary
            else Kind.EVAL if judged and all(is_eval_metric(n) for n in judged) else Kind.STEP)
    return _Metrics(tuple(names.values()), tuple(names), kind, named > len(names))


_NOT_JUDGED = frozenset({"epoch", "elapsed"})
"""Metrics that say nothing of whether an object is a training step's or an evaluation's: the epoch, and
W&B's `_runtime` (`{"_step": 250, "eval/loss": 1.3, "_runtime": 812.4}` is an evaluation's)."""


def _record(keys: tuple[str, ...], values: list[float]) -> Record | None:
    """The record of one object: its key paths and their numbers."""
    plan = _keys(keys)
    step = _first(plan.step, values)
    if step is None and plan.epoch and whole_step(values[plan.epoch[0]]):
        step = int(values[plan.epoch[0]])
    total = _first(plan.total, values)
    t, timed = 0.0, -1
    for i in plan.time:
        divisor = time_divisor(values[i])
        if divisor:
            t, timed = values[i] / divisor, i
            break
    got = _metrics(keys, timed)
    if got.kind is None:
        return None
    metrics = dict(zip(got.names, [values[i] for i in got.positions], strict=True))
    if got.kind is Kind.EVENT:  # the Trainer's closing summary: its numbers under their own names, not a step's
        return Record(Kind.EVENT, step=step, total_steps=total, t=t, metrics=metrics, event=Event.FINISHED,
                      message="training summary: " + ", ".join(f"{k}={v:g}" for k, v in metrics.items())[:480])
    return Record(got.kind, step=step, total_steps=total, t=t, metrics=metrics)


def _first(positions: tuple[int, ...], values: list[float]) -> int | None:
    for i in positions:
        if valid_step(values[i]):
            return int(values[i])
    return None


# -- one object ------------------------------------------------------------------------------------------

def _load(line: str) -> dict[str, Any] | None:
    s = line.strip()
    if not (s.startswith("{") and s.endswith("}")) or len(s) > MAX_LINE:
        return None
    obj = _loads(s)
    return obj if isinstance(obj, dict) else None


def _plain_values(obj: dict[str, Any]) -> list[float] | None:
    """The values of an object whose every value is an int or a float (no bool, none too large for a
    float) as floats; None for any other."""
    values = list(obj.values())
    if not set(map(type, values)) <= _PLAIN:
        return None
    try:
        return list(map(float, values))
    except OverflowError:
        return None


_PLAIN = {int, float}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        return _NONFINITE.get(value.strip().lower())
    return None


def _flatten(obj: dict[str, Any], prefix: str = "", depth: int = 0) -> Iterator[tuple[str, float]]:
    """`{"train": {"loss": 2}}` → ("train/loss", 2.0); nesting beyond MAX_DEPTH is ignored."""
    for key, value in obj.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            if depth < MAX_DEPTH:
                yield from _flatten(value, path + "/", depth + 1)
        elif (number := _number(value)) is not None:
            yield path, number
        elif path in _DURATIONS and isinstance(value, str) and (span := clock_seconds(value)) is not None:
            yield path, span


def _name(path: str) -> str:
    """Canonical when the path or its tail after a container (`metrics/lr`) is; else snake_case."""
    if path in _DURATIONS:
        return _DURATIONS[path]
    full = metric_name(path)
    parts = path.split("/")
    if full not in CANONICAL.values() and len(parts) > 1 and parts[0].lower() in _CONTAINERS:
        tail = metric_name("/".join(parts[1:]))
        if tail in CANONICAL.values():
            return tail
    return full


def _own_record(obj: dict[str, Any]) -> Record | None:
    """A line of `runwatch parse --output jsonl` back into its Record."""
    metrics = {snake(str(k)): v for k, raw in obj["metrics"].items() if (v := _number(raw)) is not None}
    step, total, rank = (_int_or_none(obj.get(k)) for k in ("step", "total_steps", "rank"))
    t = _number(obj.get("t"))
    event, message = obj.get("event"), obj.get("message")
    return Record(
        Kind(obj["kind"]), step=step, total_steps=total, rank=rank,
        t=t if t is not None and math.isfinite(t) else 0.0, metrics=metrics,
        event=event if isinstance(event, str) else None,
        message=message[:500] if isinstance(message, str) else None,
    )


def _int_or_none(value: Any) -> int | None:
    number = _number(value)
    if number is None or not math.isfinite(number) or abs(number) >= 1e15 or isinstance(value, str):
        return None
    return int(number)


# -- a block of lines ------------------------------------------------------------------------------------

_SMALL = 16
"""Texts decoded one by one once a failing part of a block is this small (else halved, each half as one array)."""


class JsonBlock:
    """Reads a block's JSON lines at once (`FormatParser.documents`): the step rows of flat objects of numbers.

    The block's texts are decoded as one JSON array (a part that fails, a line
    that is no JSON, is halved until the failing lines are found and left out),
    the objects grouped by their key list, and each group read as a table: the
    plan of its keys (`_keys`, `_metrics`) and the value tests applied to whole
    columns. Keys that are never numbers (text, bools, lists, nulls in every
    object of the list) are left out, as `parse` leaves them out. A row is left
    to `parse` (absent from what this returns) where it is no STEP record with
    a step, where a value is a nested object or a text that spells a number,
    where a key holds numbers in some objects and not in others, or where two
    of its keys name one metric."""

    def read(self, texts: Sequence[bytes]) -> list[DocumentRows]:
        out: list[DocumentRows] = []
        for lo in range(0, len(texts), _PART):  # a part at a time: a chunk decoded whole held all its objects
            out += _part(texts, lo, min(lo + _PART, len(texts)))
        return out


_PART = 8192


def _part(texts: Sequence[bytes], lo: int, hi: int) -> list[DocumentRows]:
    """`JsonBlock.read` of texts[lo:hi]."""
    import numpy as np

    objs = _decoded(texts, lo, hi)
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, obj in enumerate(objs, lo):
        if type(obj) is dict:
            groups.setdefault(tuple(obj), []).append(i)
    out: list[DocumentRows] = []
    for keys, at in groups.items():
        for rows, read, table in _tables([objs[i - lo] for i in at], keys, at):
            out += _rows(read, np.array(rows, np.int64), table)
    return out


def _decoded(texts: Sequence[bytes], lo: int, hi: int) -> list[Any]:
    """texts[lo:hi] decoded, one value each (None where a text is no JSON value)."""
    if hi - lo <= _SMALL:
        return [_loads(t) for t in texts[lo:hi]]
    try:
        found = json.loads(b"[" + b",".join(texts[lo:hi]) + b"]")
    except (ValueError, RecursionError):
        found = None
    if isinstance(found, list) and len(found) == hi - lo:  # a text of two values (`{…}, {…}`) makes more
        return found
    mid = (lo + hi) // 2
    return _decoded(texts, lo, mid) + _decoded(texts, mid, hi)


def _loads(text: bytes | str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    if not isinstance(text, str):
        text = text.decode("utf-8", "replace")
    if "nan" not in text and "inf" not in text and "NAN" not in text and "INF" not in text:
        return None
    try:  # a bare `nan`: no JSON, where the NaN is the one value that matters
        return json.loads(_BARE_NONFINITE.sub(_as_json, text))
    except (ValueError, RecursionError):
        return None


_BARE_NONFINITE = patterns.compile(r"(?<=[:,\[])(\s{0,8})(-?)(nan|inf(?:inity)?)(?=\s{0,8}[,}\]])", re.IGNORECASE)
"""A non-finite number as C's printf and a hand-made writer print it (`"train_loss": nan`, `-inf`): JSON has none,
Python's `json` writes and reads `NaN` and `Infinity`. A review planted `nan` in a DeiT-style log.txt: the line was no
JSON, its record dropped without a word and the NaN unseen."""


def _as_json(m: re.Match[str]) -> str:
    return f"{m[1]}NaN" if m[3].lower() == "nan" else f"{m[1]}{m[2]}Infinity"


def _tables(
    objs: list[dict[str, Any]], keys: tuple[str, ...], at: list[int]
) -> list[tuple[list[int], tuple[str, ...], np.ndarray]]:
    """The numbers of objects of one key list (at `at`) as float tables: for each table, the objects' places,
    the keys its columns are of, and a row per object.

    Commonly every value is an int or a float: one table. Otherwise the objects are taken apart by the
    types of their values (a `"tokens_seen": null` now and then), and in each part a key whose values are
    text, bools, lists or nulls is no number `parse` reads (`_number`): left out, as flattening leaves it
    out of `parse`'s record (a `"split": "train"` beside the metrics), unless a text spells a non-finite
    number (`"nan"`) or the key is `type` (runwatch's own status lines): then, as for a nested object,
    the part is left to `parse`."""
    import numpy as np

    flat = [v for obj in objs for v in obj.values()]
    if set(map(type, flat)) <= _PLAIN:
        try:
            return [(at, keys, np.array(flat, np.float64).reshape(-1, len(keys)))]
        except OverflowError:  # an integer beyond any float: `parse` reads it
            return []
    parts: dict[tuple[type, ...], list[int]] = {}
    for j, obj in enumerate(objs):
        parts.setdefault(tuple(map(type, obj.values())), []).append(j)
    out = []
    for kinds, members in parts.items():
        columns: list[tuple[Any, ...]] = list(zip(*[objs[j].values() for j in members], strict=True))
        for c, k in enumerate(kinds):
            if k is str and keys[c] in _DURATIONS:
                columns[c] = tuple(map(clock_seconds, columns[c]))
        numeric = [c for c, k in enumerate(kinds) if k in _PLAIN or None not in columns[c] and keys[c] in _DURATIONS]
        if not numeric or not all(c in numeric or _ignored(k, keys[c], columns[c]) for c, k in enumerate(kinds)):
            continue
        try:
            table = np.array([columns[c] for c in numeric], np.float64).T
        except OverflowError:
            continue
        out.append(([at[j] for j in members], tuple(keys[c] for c in numeric), table))
    return out


_IGNORED = {bool, list, type(None)}
"""Values `parse` never reads a number from (texts are read when they spell `nan` or `inf`)."""


def _ignored(kind: type, key: str, values: tuple[Any, ...]) -> bool:
    """Whether a key whose values are all of `kind` is one `parse` never reads a number from: text none of
    which spells a non-finite number (nor a `type`, nor a duration key's: `_DURATIONS`), bools, lists, nulls."""
    if kind is not str:
        return kind in _IGNORED
    return key != "type" and key not in _DURATIONS and not any(v.strip().lower() in _NONFINITE for v in set(values))


def _rows(keys: tuple[str, ...], at: np.ndarray, table: np.ndarray) -> list[DocumentRows]:
    """A key list's rows that are STEP records with a step, as `_record` reads each, by the time key taken."""
    import numpy as np

    plan = _keys(keys)
    step, has_step = _first_column(plan.step, table)
    for i in plan.epoch:
        epoch = table[:, i]
        now = ~has_step & whole_step(epoch)
        step[now] = epoch[now].astype(np.int64)
        has_step |= now
    total, has_total = _first_column(plan.total, table)
    timed = np.full(at.size, -1, np.int64)
    t = np.zeros(at.size)
    for i in plan.time:
        divisor = time_divisor(table[:, i])
        now = (timed < 0) & (divisor > 0)
        t[now] = table[now, i] / divisor[now]
        timed[now] = i
    out = []
    for key in distinct(timed).tolist():
        got = _metrics(keys, key)
        if got.kind is not Kind.STEP or got.clash:
            continue
        keep = has_step & (timed == key)
        if keep.any():
            out.append(DocumentRows(
                at[keep], step[keep], np.where(has_total, total, -1)[keep],
                {name: table[keep, i] for name, i in zip(got.names, got.positions, strict=True)},
                t[keep] if key >= 0 else None,
            ))
    return out


def _first_column(positions: tuple[int, ...], table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, `_first` of these columns: (the integer, whether there is one)."""
    import numpy as np

    found = np.zeros(table.shape[0], np.int64)
    has = np.zeros(table.shape[0], bool)
    for i in positions:
        column = table[:, i]
        now = ~has & valid_step(column)
        found[now] = column[now].astype(np.int64)
        has |= now
    return found, has


class JsonLinesParser(FormatParser):
    """One JSON object per line → STEP/EVAL records (see the module notes)."""

    name = "jsonl"
    documents = JsonBlock()

    def parse(self, line: str) -> Record | None:
        obj = _load(line)
        if obj is None or obj.get("type") in ("status", "alert"):
            return None
        kind = obj.get("kind")
        if isinstance(kind, str) and kind in _KINDS and isinstance(obj.get("metrics"), dict):
            return _own_record(obj)
        values = _plain_values(obj)
        if values is not None:  # the common flat object of numbers: its keys are the paths
            return _record(tuple(obj), values)
        flat = dict(_flatten(obj))
        return _record(tuple(flat), list(flat.values()))

    def score(self, line: str) -> int:
        rec = self.parse(line)
        if rec is None:
            return 0
        known = rec.step is not None or any(n in CANONICAL.values() for n in rec.metrics)
        return 2 if known else 1
