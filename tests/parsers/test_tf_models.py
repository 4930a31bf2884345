"""TensorFlow Model Garden's trainers: Orbit's controller and the TF2 Object Detection API (runwatch/parsers/tf_models.py).

Their metrics are a dict `pprint` spreads over several lines. Logs: tests/fixtures/printed (`print_orbit.py`, Orbit
itself; `print_tf_od_api.py`, the Object Detection API's logging calls) and tests/fixtures/found (a user's Object
Detection API run, the YT8M README's Orbit output)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from runwatch.model import Kind, Record
from runwatch.parsers.source import SourceParser
from runwatch.parsers.tf_models import TFModelsParser
from tests.support.paths import FIXTURES
from tests.support.realruns import check_json

ORBIT = ("orbit_nan.log", "orbit_healthy.log", "orbit_nan_unbuffered.log", "orbit_oneline_nan.log")
OD_API = ("tf_od_api_nan.log", "tf_od_api_healthy.log")


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _read(lines: list[str], batch: int = 100_000) -> tuple[str | None, list[Record]]:
    sp = SourceParser("log")
    recs = [r for i in range(0, len(lines), batch) for r in sp.feed(lines[i:i + batch], i + 1, 0.0)] + sp.flush()
    return sp.format, recs


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _logged(lines: list[str], key: str, evaluated: bool = False) -> list[float]:
    """The values the log shows for `key`, a block's first copy only (the other logger's may come right after it or,
    from a buffered stdout, at the end), in the order the blocks came."""
    seen: dict[tuple[str, int], float] = {}
    block = ("", -1)
    for x in lines:
        if m := re.search(r"(train|eval) \| step: +(\d+) \| (?:steps/sec|eval time)|(Step) (\d+) per-step|(Eval) metrics at step (\d+)", x):
            block = (m[1] or m[3] or m[5], int(m[2] or m[4] or m[6]))
        v = re.search(rf"'{re.escape(key)}': (?:np\.float32\()?([-\d.e+]+|nan)|\+ {re.escape(key)}: (\S+)$", x)
        if v is not None:
            seen.setdefault(block, float(v[1] or v[2]))
    return [v for (kind, _), v in seen.items() if (kind in ("eval", "Eval")) == evaluated]


@pytest.mark.parametrize("name", ORBIT)
def test_orbits_train_and_eval_blocks_are_read_once_each_with_the_loss_they_show(name: str) -> None:
    """Orbit logs through absl and prints each block too: one record a block, its `training_loss` the loss, its
    `steps/sec` the step time, its evaluation's `validation_loss` the `val_loss`, its time absl's prefix's."""
    lines = _lines(FIXTURES / "printed" / name)
    fmt, recs = _read(lines)
    assert fmt == "tf-models"
    steps = [r for r in recs if r.kind is Kind.STEP]
    evals = [r for r in recs if r.kind is Kind.EVAL]
    headers = [m for x in lines if (m := re.match(r"I\d{4} .*\] train \| step: +(\d+) \| steps/sec: +(\S+)", x))]
    assert [r.step for r in steps] == [int(m[1]) for m in headers] == [50, 100, 150, 200, 250, 300]
    assert [r.metrics["step_time"] for r in steps] == pytest.approx([1 / float(m[2]) for m in headers], rel=1e-9)
    assert all(_same(r.metrics["loss"], v) for r, v in zip(steps, _logged(lines, "training_loss"), strict=True))
    assert [r.step for r in evals] == [100, 200, 300]
    assert all(_same(r.metrics["val_loss"], v) for r, v in zip(evals, _logged(lines, "validation_loss", evaluated=True), strict=True))
    assert all(r.t > 1.7e9 for r in recs) and "steps_per_second" not in str(evals[0].metrics)


@pytest.mark.parametrize("name", OD_API)
def test_the_object_detection_apis_loss_dicts_are_read_once_each_at_their_step(name: str) -> None:
    """`Step N per-step time Ss`, then the loss dict over five lines, each from TensorFlow's logger and absl's: one
    record a step with `Loss/total_loss` as the loss and each term by its name; the evaluation's `+ name: value`
    lines an eval record."""
    lines = _lines(FIXTURES / "printed" / name)
    fmt, recs = _read(lines)
    assert fmt == "tf-models"
    steps = [r for r in recs if r.kind is Kind.STEP]
    headers = [m for x in lines if (m := re.match(r"INFO:tensorflow:Step (\d+) per-step time ([\d.]+)s", x))]
    assert [r.step for r in steps] == [int(m[1]) for m in headers] == [100, 200, 300]
    assert [r.metrics["step_time"] for r in steps] == [float(m[2]) for m in headers]
    for key, metric in (("Loss/total_loss", "loss"), ("Loss/localization_loss", "localization_loss"),
                        ("learning_rate", "lr")):
        assert all(_same(r.metrics[metric], v) for r, v in zip(steps, _logged(lines, key), strict=True)), key
    (ev,) = [r for r in recs if r.kind is Kind.EVAL]
    said = {m[1]: float(m[2]) for x in lines if (m := re.match(r"INFO:tensorflow:\t\+ (\S+): (\S+)$", x))}
    assert ev.step == 300 and _same(ev.metrics["val_loss"], said["Loss/total_loss"])
    assert ev.metrics["val_detection_boxes_precision_map"] == said["DetectionBoxes_Precision/mAP"]


@pytest.mark.parametrize(("name", "first"), [("orbit_nan.log", 150), ("tf_od_api_nan.log", 200)])
def test_a_nan_loss_in_a_pprinted_dict_is_critical(name: str, first: int) -> None:
    """Both read as `kv` before: the headers' steps, no loss, `OK`, exit 0, of runs whose loss was NaN."""
    lines = _lines(FIXTURES / "printed" / name)
    first_nan = next(int(m[1] or m[2]) for i, x in enumerate(lines)
                     if (m := re.search(r"\| step: +(\d+) \| steps/sec|Step (\d+) per-step", x))
                     and "nan" in lines[i + 2] + lines[i + 3])
    assert first_nan == first
    rc, runs, _ = check_json(FIXTURES / "printed" / name)
    nonfinite = {a["labels"].get("metric"): a for a in runs[0]["alerts"] if a["rule"] == "nonfinite"}
    assert rc == 2 and nonfinite["loss"]["first_step"] == first and nonfinite["loss"]["severity"] == "critical"
    rc, runs, _ = check_json(FIXTURES / "printed" / name.replace("_nan", "_healthy"))
    assert rc == 0 and runs[0]["alerts"] == [] and runs[0]["step"] == 300


def test_a_users_object_detection_run_reads_each_step_once() -> None:
    """A user's RTX 3060 run (tests/fixtures/found): its three steps, each header and dict twice in the log."""
    lines = _lines(FIXTURES / "found" / "tf2_od_api_rtx3060_three_steps.log")
    fmt, recs = _read(lines)
    assert fmt == "tf-models"
    assert [(r.step, r.metrics["step_time"]) for r in recs] == [(100, 0.382), (200, 0.096), (300, 0.095)]
    assert [r.metrics["loss"] for r in recs] == _logged(lines, "Loss/total_loss") == [1.2537961, 0.52436864, 0.50415134]
    assert recs[0].metrics["classification_loss"] == 0.62606287 and recs[0].t > 0


def test_orbits_output_as_a_readme_shows_it_is_read() -> None:
    """Model Garden's YT8M README: Orbit's output of an older version (`eval time: 48.1`, no unit), trailing blanks."""
    fmt, recs = _read(_lines(FIXTURES / "found" / "tfm_yt8m_orbit_readme.log"))
    assert fmt == "tf-models"
    assert [(r.kind, r.step) for r in recs] == [(Kind.STEP, 188), (Kind.EVAL, 188)]
    assert recs[0].metrics["loss"] == 0.009622246 and recs[0].metrics["step_time"] == pytest.approx(10.0)
    assert recs[1].metrics["val_loss"] == 0.01632894 and recs[1].metrics["val_gap"] == 0.02865141526257211


@pytest.mark.parametrize("name", ORBIT + OD_API)
@pytest.mark.parametrize("batch", [1, 3, 7])
def test_any_batching_of_the_lines_gives_the_same_records(name: str, batch: int) -> None:
    """A follower hands lines over as they come: a block cut across batches reads as one read whole."""
    lines = _lines(FIXTURES / "printed" / name)
    _, whole = _read(lines)
    _, batched = _read(lines, batch)
    assert [(r.kind, r.step, r.line, sorted(r.metrics)) for r in batched] == [
        (r.kind, r.step, r.line, sorted(r.metrics)) for r in whole]


def test_a_dict_cut_short_by_another_line_gives_what_it_read() -> None:
    """Interleaved output (another thread's line inside the dict): the pairs read so far are the record's, and the
    line that cut it is read too."""
    lines = _lines(FIXTURES / "printed" / "orbit_nan.log")
    at = next(i for i, x in enumerate(lines) if "| step:    150 | steps/sec" in x)
    cut = [*lines[:at + 3], lines[at - 1], *lines[at + 3:]]  # the loop's `training until` line after two keys
    p = TFModelsParser()
    recs = [r for x in cut if (r := p.parse(x)) is not None] + [r for r in [p.flush()] if r is not None]
    cut_short, whole = [r for r in recs if r.kind is Kind.STEP and r.step == 150]
    assert set(cut_short.metrics) == {"lr", "model_loss", "step_time"} and math.isnan(cut_short.metrics["model_loss"])
    assert math.isnan(whole.metrics["loss"]) and whole.t == 0.0  # the printed copy, whole: no copy of the one given


def test_only_the_trainers_headers_sign_the_format() -> None:
    """A pprinted dict's lines are any loop's; the headers are these trainers' own."""
    p = TFModelsParser()
    lines = _lines(FIXTURES / "printed" / "tf_od_api_nan.log") + _lines(FIXTURES / "printed" / "orbit_nan.log")
    signed = {x for x in lines if p.score(x) == 2}
    assert signed and all(re.search(r"Step \d+ per-step time|(?:train|eval) \| step: +\d+ \| .*output:|Eval metrics at", x)
                          for x in signed)


@pytest.mark.parametrize(("name", "header"), [("orbit_nan.log", " eval | step:"),
                                              ("tf_od_api_nan.log", "metrics at step")])
def test_a_continuous_evaluations_log_alone_is_read(name: str, header: str) -> None:
    """A job that only evaluates (Model Garden's `continuous_eval`, the Object Detection API's `eval_continuously`)
    logs only evaluation blocks: they sign the format, and their NaN `val_loss` is seen."""
    lines = _lines(FIXTURES / "printed" / name)
    at = [i for i, x in enumerate(lines) if header in x]
    evaluation = [x for i in at for x in lines[i:i + 12] if x == lines[i] or x[:1] in " I" and "| step:" not in x[40:]]
    fmt, recs = _read(evaluation)
    assert fmt == "tf-models" and recs and all(r.kind is Kind.EVAL for r in recs)
    assert any(math.isnan(r.metrics["val_loss"]) for r in recs)
