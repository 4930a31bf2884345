"""JSON lines → Records.

The corpus has no JSONL log; the real values come from the `log_history` entries of the two
real trainer_state.json files (corpus/hf_trainer.md §3, raw/excerpts_hf_trainer_state.json),
each re-serialised as one JSON line, which is what a JSONL metrics logger writes.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.model import Event, Kind, Record
from runwatch.parsers.jsonl import JsonLinesParser

RAW = Path(__file__).parents[1] / "fixtures" / "corpus" / "raw"


def log_history(tag: str) -> list[str]:
    """The log_history entries of trainer_state.json `tag` (S1, S2), one JSON line each."""
    data = json.loads((RAW / "excerpts_hf_trainer_state.json").read_text(encoding="utf-8"))
    [found] = [e for e in data if e["h"].split(" — ")[0] == f"trainer_state.json {tag}"]
    text = found["t"] + found["mid"] + found["tail"]
    return [json.dumps(json.loads(m)) for m in re.findall(r"\{[^{}]*\}", text) if '"step"' in m]


def parse(line: str) -> Record:
    rec = JsonLinesParser().parse(line)
    assert rec is not None
    return rec


S1, S2 = log_history("S1"), log_history("S2")


@pytest.mark.parametrize(("line", "kind", "step", "metrics"), [
    # S1 first train entry (TRL SFTTrainer): learning_rate → lr, extra keys keep their names
    (S1[0], Kind.STEP, 15, {"epoch": 0.010690423162583519, "grad_norm": 1.0048305988311768,
                            "lr": 2.456140350877193e-06, "loss": 2.0762, "mean_token_accuracy": 0.5809640631079673,
                            "num_tokens": 61440.0}),
    # S1 eval entry: only eval_* (+ epoch) → EVAL, eval_loss → val_loss
    (S1[3], Kind.EVAL, 200, {"epoch": 0.14253897550111358, "val_loss": 1.622266411781311,
                             "eval_mean_token_accuracy": 0.6570661319259475, "eval_num_tokens": 819200.0,
                             "eval_runtime": 311.107, "eval_samples_per_second": 13.442,
                             "eval_steps_per_second": 3.362}),
    # S2 (older Trainer, Whisper): eval_wer
    (S2[3], Kind.EVAL, 1000, {"epoch": 7.63, "val_loss": 0.320997953414917, "eval_runtime": 1728.016,
                              "eval_samples_per_second": 2.595, "eval_steps_per_second": 0.163,
                              "eval_wer": 0.78878255063432}),
    (S2[0], Kind.STEP, 25, {"epoch": 0.19, "lr": 4.6000000000000004e-07, "loss": 0.3048}),
])
def test_trainer_state_entries(line: str, kind: Kind, step: int, metrics: dict[str, float]) -> None:
    rec = parse(line)
    assert (rec.kind, rec.step, rec.total_steps, dict(rec.metrics)) == (kind, step, None, metrics)


def test_non_finite_numbers_are_kept() -> None:
    rec = parse('{"step": 380, "loss": NaN, "grad_norm": Infinity, "val/loss": -Infinity, "lr": "nan"}')
    assert math.isnan(rec.metrics["loss"]) and math.isnan(rec.metrics["lr"])
    assert rec.metrics["grad_norm"] == math.inf and rec.metrics["val_loss"] == -math.inf


def test_wandb_style_keys() -> None:
    rec = parse('{"train/loss": 2.0, "train/learning_rate": 1e-05, "train/global_step": 15, "_step": 3, '
                '"_timestamp": 1700000000.5, "_runtime": 12.5, "train/epoch": 0.1}')
    assert (rec.kind, rec.step, rec.t) == (Kind.STEP, 15, 1700000000.5)
    assert dict(rec.metrics) == {"loss": 2.0, "lr": 1e-05, "elapsed": 12.5, "epoch": 0.1}


@pytest.mark.parametrize(("line", "step", "t", "metrics"), [
    ('{"metrics": {"loss": 1, "val": {"loss": 2}}, "iter": 5}', 5, 0.0, {"loss": 1.0, "val_loss": 2.0}),
    ('{"iteration": 7, "timestamp": 1700000000123, "tokens_per_second": 1051311}', 7, 1700000000.123,
     {"tokens_per_sec": 1051311.0}),
    ('{"step": 1, "time": 0.53, "loss": 1, "note": "warmup", "ok": true, "shape": [1, 2]}', 1, 0.0,
     {"time": 0.53, "loss": 1.0}),
    ('{"global_step": 9, "step": 3, "max_steps": 100, "loss": 1}', 9, 0.0, {"loss": 1.0}),
])
def test_flattening_names_step_and_time(line: str, step: int, t: float, metrics: dict[str, float]) -> None:
    rec = parse(line)
    assert (rec.step, rec.t, dict(rec.metrics)) == (step, pytest.approx(t), metrics)


def test_total_steps() -> None:
    assert parse('{"step": 9, "max_steps": 100, "loss": 1}').total_steps == 100


def test_own_output_reads_back() -> None:
    # `runwatch parse --output jsonl` writes Record.to_json(): strict JSON with "nan" strings
    original = Record(Kind.EVENT, step=380, total_steps=400, rank=2, t=1700000000.0,
                      metrics={"grad_norm": math.nan, "exit_code": 1.0}, event=Event.FINISHED, message="done")
    rec = parse(json.dumps(original.to_json()))
    assert rec.to_json() == original.to_json()


@pytest.mark.parametrize("line", [
    '{"level": "info", "message": "starting"}',
    '{"step": 3}',
    "[1, 2]",
    '{"loss": 1',
    "{'loss': 2.119}",  # an HF dict repr is not JSON
    '{"type": "status", "step": 5567, "metrics": {"loss": 2.3}}',  # runwatch's own status line
    "",
])
def test_not_records(line: str) -> None:
    assert JsonLinesParser().parse(line) is None


@pytest.mark.parametrize(("line", "score"), [
    (S1[0], 2),
    ('{"grad_norm": 1.5}', 2),
    ('{"pid": 4242, "cpu": 98.0}', 1),
    ('{"level": "info"}', 0),
    ("step 10 loss=2.3", 0),
])
def test_score(line: str, score: int) -> None:
    assert JsonLinesParser().score(line) == score


def test_deep_nesting_is_not_an_error() -> None:
    assert JsonLinesParser().parse("{" + '"a": {' * 30 + '"loss": 1' + "}" * 31) is None
    assert JsonLinesParser().parse("[" * 100_000 + "]" * 100_000) is None
    assert JsonLinesParser().parse('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}") is None


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises(line: str) -> None:
    JsonLinesParser().parse(line)
    JsonLinesParser().score(line)


_JSON: Any = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=12), _JSON, max_size=6))
def test_never_raises_on_json_objects(obj: dict[str, Any]) -> None:
    JsonLinesParser().parse(json.dumps(obj))
