"""Status line and status object (DESIGN §3) from hand-built snapshots."""

from __future__ import annotations

import json
import math

from runwatch.headless import fmt_duration, fmt_value, status_line, status_object
from runwatch.model import Progress, RankProgress, RunSnapshot, RunState


def snap(**kw) -> RunSnapshot:  # type: ignore[no-untyped-def]
    base = dict(
        run="train", source="logs/train.log", time=1_795_000_000.0, state=RunState.RUNNING,
        progress=Progress(step=5567, total_steps=16704, percent=33.33, steps_per_sec=1.53, eta_s=7280.0),
        metrics={"loss": 2.3369, "step_time": 0.9974, "tokens_per_sec": 1051311.0, "grad_norm": math.nan},
        ranks={0: RankProgress(0, 5567, 1_794_999_999.6), 1: RankProgress(1, 5566, 1_794_999_999.0)},
        last_record_t=1_794_999_999.6, records=100,
    )
    base.update(kw)
    return RunSnapshot(**base)  # type: ignore[arg-type]


def test_status_object_is_strict_json_with_design_fields() -> None:
    obj = status_object(snap())
    text = json.dumps(obj, allow_nan=False)  # raises on NaN: the NaN must be a string
    back = json.loads(text)
    for key in ("type", "time", "run", "step", "total_steps", "eta_s", "metrics", "ranks",
                "last_record_age_s", "process", "gpus", "gpu_status", "alerts"):
        assert key in back
    assert back["type"] == "status"
    assert back["time"].endswith("Z")
    assert back["metrics"]["grad_norm"] == "nan"
    assert back["metrics"]["tokens_per_sec"] == 1051311.0
    assert back["ranks"] == {"0": 5567, "1": 5566}
    assert back["last_record_age_s"] == 0.4
    assert back["process"] is None and back["gpus"] == []


def test_status_line_shows_progress_eta_metrics_ranks_and_age() -> None:
    line = status_line(snap())
    assert "step 5567/16704 (33.3%)" in line
    assert "ETA 2h01m" in line
    assert "loss 2.337" in line
    assert "gnorm NaN" in line
    assert "dt 997ms" in line
    assert "tok/s 1.05M" in line
    assert "ranks 0:5567 1:5566" in line
    assert "last 0.4s ago" in line


def test_finished_run_shows_no_eta_and_waiting_run_says_so() -> None:
    done = status_line(snap(state=RunState.FINISHED))
    assert "ETA" not in done and "[finished]" in done
    waiting = status_line(snap(state=RunState.WAITING, progress=Progress(), metrics={}, ranks={},
                               last_record_t=None, records=0))
    assert "no step yet" in waiting


def test_durations_and_values_are_short() -> None:
    assert [fmt_duration(x) for x in (0.4, 42, 185, 7280, 3 * 86400 + 4 * 3600, None)] == \
        ["0.4s", "42s", "3m05s", "2h01m", "3d04h", "?"]
    assert fmt_value("lr", 3e-4) == "3.00e-04"
    assert fmt_value("loss", math.inf) == "Inf"
    assert fmt_value("mfu", 52.1) == "52.1%"
