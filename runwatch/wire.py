"""The one description of a `RunSnapshot` and of a chart's columns on the wire: what `GET
/api/v1/snapshots` and `GET /api/v1/series` serve and what `runwatch tail http://NODE:PORT` reads back
(runwatch.remote).

The status objects of `/api/v1/runs` (DESIGN §3) are for people and scripts and leave out what a front
end needs to draw and act (alert keys, events, per-rank steps, processes, GPUs, meta). Here every field
of the snapshot's dataclasses goes out under its own name, in strict JSON (non-finite floats as "nan",
"inf", "-inf", as everywhere else), and comes back as the same types: `snapshot_json` and
`snapshot_from_json` are each other's inverse (as are `chart_json` and `chart_from_json`), and
round-trip tests hold them to it. Built from the
dataclasses' own fields, so a field added to the model travels without a change here.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np

from runwatch.model import (
    AlertBrief,
    ChartData,
    GpuProcess,
    GpuSample,
    ProcessSample,
    Progress,
    RankProgress,
    Record,
    RunSnapshot,
    XAxis,
    json_number,
)

WIRE_VERSION = 1
"""Bumped when a field changes meaning; a reader refuses a version it does not know."""

_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_NESTED: dict[str, type] = {"progress": Progress, "ranks": RankProgress, "events": Record, "alerts": AlertBrief,
                            "processes": ProcessSample, "gpus": GpuSample}
"""Fields that hold the model's own dataclasses (one, a tuple of them, or a mapping to them)."""
_GPU_NESTED: dict[str, type] = {"processes": GpuProcess}


class WireError(ValueError):
    """A snapshot object that does not say what the wire format says (a node of another version)."""


def to_json(value: Any) -> Any:
    """Any model value as strict JSON: dataclasses as objects of their fields, enums as their value,
    tuples as lists, mapping keys as strings, non-finite floats as strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def snapshot_json(snap: RunSnapshot) -> dict[str, Any]:
    """One snapshot as the wire carries it."""
    out: dict[str, Any] = to_json(snap)
    out["wire"] = WIRE_VERSION
    return out


def snapshot_from_json(obj: Any) -> RunSnapshot:
    """The snapshot `snapshot_json` made; WireError naming what is wrong."""
    if not isinstance(obj, dict):
        raise WireError(f"a snapshot is a JSON object, not {type(obj).__name__}")
    if obj.get("wire") != WIRE_VERSION:
        raise WireError(f"snapshot wire version {obj.get('wire')!r}; this runwatch reads {WIRE_VERSION}")
    body = {k: v for k, v in obj.items() if k != "wire"}
    try:
        snap: RunSnapshot = _load(RunSnapshot, body, _NESTED)
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        raise WireError(f"snapshot of run {obj.get('run')!r}: {e}") from None
    return snap


def _load(cls: type, obj: Any, nested: Mapping[str, type]) -> Any:
    if not isinstance(obj, dict):
        raise TypeError(f"{cls.__name__} must be an object")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in obj:
            continue  # a field the sender does not have: the model's default
        v = obj[f.name]
        if f.name in nested and v is not None:
            inner, deeper = nested[f.name], (_GPU_NESTED if nested[f.name] is GpuSample else {})
            if isinstance(v, dict) and f.name == "ranks":
                v = {int(k): _load(inner, x, deeper) for k, x in v.items()}
            elif isinstance(v, list):
                v = tuple(_load(inner, x, deeper) for x in v)
            else:
                v = _load(inner, v, deeper)
        else:
            v = _value(hints[f.name], v)
        kwargs[f.name] = v
    return cls(**kwargs)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _value(hint: Any, v: Any) -> Any:
    """A plain JSON value back to the field's type: floats (and their non-finite spellings), enums,
    tuples, and mappings of floats."""
    if v is None:
        return None
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for opt in options:
        if isinstance(opt, type) and issubclass(opt, enum.Enum):
            return opt(v)
    if float in options and isinstance(v, str) and v in _NONFINITE:
        return _NONFINITE[v]
    origin = typing.get_origin(hint)
    if origin is tuple and isinstance(v, list):
        return tuple(v)
    if origin is Mapping and isinstance(v, dict):
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is float:
            return {k: _NONFINITE.get(x, x) if isinstance(x, str) else float(x) for k, x in v.items()}
    return v


def chart_json(c: ChartData, x: XAxis) -> dict[str, Any]:
    """ChartData as strict JSON: one entry per column; a column's non-finite min/max/last as "nan"/"inf";
    the columns' means and point counts where the chart has them (what smoothing weighs)."""

    def floats(values: Any) -> list[float | int | str]:
        return [json_number(float(v)) for v in values]

    out: dict[str, Any] = {"run": c.run, "metric": c.metric, "rank": c.rank, "x_axis": str(x), "points": c.points,
                           "x": floats(c.x), "min": floats(c.ymin), "max": floats(c.ymax), "last": floats(c.ylast),
                           "nonfinite": [int(n) for n in c.nonfinite]}
    if c.mean is not None and c.count is not None:
        out["mean"], out["count"] = floats(c.mean), [int(n) for n in c.count]
    return out


def chart_from_json(obj: Any) -> ChartData:
    """The ChartData `chart_json` made; WireError naming what is wrong."""
    if not isinstance(obj, dict):
        raise WireError(f"a series is a JSON object, not {type(obj).__name__}")
    try:
        cols = [_floats(obj[k]) for k in ("x", "min", "max", "last")]
        nonfinite = np.asarray(obj["nonfinite"], dtype=np.int64)
        if any(len(c) != len(nonfinite) for c in cols):
            raise ValueError("columns of unequal length")
        mean = _floats(obj["mean"]) if "mean" in obj else None
        count = np.asarray(obj["count"], dtype=np.int64) if "count" in obj else None
        rank = obj.get("rank")
        x, ymin, ymax, ylast = cols
        return ChartData(str(obj["run"]), str(obj["metric"]), None if rank is None else int(rank), x, ymin, ymax,
                         ylast, nonfinite, int(obj["points"]), mean, count)
    except (KeyError, TypeError, ValueError) as e:
        raise WireError(f"series: {e}") from None


def _floats(values: Any) -> Any:
    if not isinstance(values, list):
        raise TypeError("a column is a list")
    return np.asarray([_NONFINITE[v] if isinstance(v, str) else float(v) for v in values], dtype=np.float64)
