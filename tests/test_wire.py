"""The wire format of snapshots and charts (runwatch.wire): what a node serves, a viewer reads back, the same."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from runwatch.model import Kind, Record, RunSnapshot, XAxis
from runwatch.wire import WireError, chart_from_json, chart_json, snapshot_from_json, snapshot_json
from tests.support.fake_controller import WANDB_META, FakeController, with_meta

NAN_EVENT = Record(Kind.EVENT, step=380, rank=0, t=1_790_000_001.5, metrics={"grad_norm": math.nan},
                   event="nonfinite", message="grad norm: nan", source="logs/train.log", line=412)


def over_the_wire(obj: object) -> object:
    return json.loads(json.dumps(obj, allow_nan=False))  # strict JSON, as the listener writes it


def full_snapshots() -> list[RunSnapshot]:
    """The canned runs with every field the wire carries set: alerts (NaN value), ranks, processes, GPUs,
    meta with an escape sequence, an event with a NaN metric, notes and degraded threads."""
    ctrl = with_meta(FakeController(), "nanochat-d24", WANDB_META)
    return [replace(s, events=(NAN_EVENT,), notes=("waiting for file",), degraded=("tail: died",),
                    reading_history=True) for s in ctrl.snapshots()]


@pytest.mark.parametrize("snap", full_snapshots(), ids=lambda s: s.run)
def test_a_snapshot_comes_back_as_it_went(snap: RunSnapshot) -> None:
    back = snapshot_from_json(over_the_wire(snapshot_json(snap)))
    assert snapshot_json(back) == snapshot_json(snap)
    assert back.run == snap.run and back.state == snap.state and back.progress == snap.progress
    assert back.ranks == snap.ranks and back.processes == snap.processes and back.gpus == snap.gpus
    assert [replace(a, value=None) for a in back.alerts] == [replace(a, value=None) for a in snap.alerts]
    assert [type(a.value) for a in back.alerts] == [type(a.value) for a in snap.alerts]
    assert back.meta == snap.meta and back.notes == snap.notes and back.degraded == snap.degraded
    [event] = back.events
    assert (event.kind, event.step, event.event, event.line) == (Kind.EVENT, 380, "nonfinite", 412)
    assert math.isnan(event.metrics["grad_norm"])


def test_nan_stays_nan() -> None:
    snap = full_snapshots()[0]
    back = snapshot_from_json(over_the_wire(snapshot_json(snap)))
    nan_alert = next(a for a in back.alerts if a.rule == "nonfinite")
    assert isinstance(nan_alert.value, float) and math.isnan(nan_alert.value)
    assert all(k in back.metrics for k in snap.metrics)


@pytest.mark.parametrize("bad, says", [
    ([], "JSON object"),
    ({"run": "x"}, "wire version None"),
    ({"wire": 99, "run": "x"}, "wire version 99"),
    ({"wire": 1, "run": "x", "state": "exploded"}, "'x'"),
])
def test_what_is_not_a_snapshot_is_refused_with_a_reason(bad: object, says: str) -> None:
    with pytest.raises(WireError, match=says):
        snapshot_from_json(bad)


def test_a_chart_comes_back_as_it_went() -> None:
    ctrl = FakeController()
    for x in (XAxis.STEP, XAxis.TIME):
        chart = ctrl.chart("nanochat-d24", "grad_norm", 80, x=x)
        assert chart is not None
        back = chart_from_json(over_the_wire(chart_json(chart, x)))
        for field in ("x", "ymin", "ymax", "ylast", "nonfinite", "mean", "count"):
            np.testing.assert_array_equal(getattr(back, field), getattr(chart, field))  # NaN columns too
        assert (back.run, back.metric, back.rank, back.points) == (chart.run, chart.metric, chart.rank, chart.points)
        assert back.nonfinite.sum() >= 1  # the planted NaN, counted in its column


def test_a_chart_with_ragged_columns_is_refused() -> None:
    chart = FakeController().chart("nanochat-d24", "loss", 10)
    assert chart is not None
    obj = chart_json(chart, XAxis.STEP)
    obj["min"] = obj["min"][:-1]
    with pytest.raises(WireError, match="unequal"):
        chart_from_json(obj)
