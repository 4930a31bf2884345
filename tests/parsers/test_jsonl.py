"""JSON lines → Records.

The corpus has no JSONL log; the real values come from the `log_history` entries of the two
real trainer_state.json files (corpus/hf_trainer.md §3, raw/excerpts_hf_trainer_state.json),
each re-serialised as one JSON line, which is what a JSONL metrics logger writes.
"""

from __future__ import annotations

import ast
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


def test_the_trainers_closing_summary_is_a_finished_event_not_a_step() -> None:
    """A new user's review: a `log_history` dumped as JSON lines ends with the Trainer's summary (here the
    real one of corpus hf_trainer.md, re-serialised), and its `train_loss` (the run's mean) became the
    last step's loss. It is the `finished` event the console summary is, numbers under their own names."""
    found = json.loads((RAW / "excerpts_hf_trainer.json").read_text(encoding="utf-8"))
    text = json.dumps(found)
    [summary] = {m for m in re.findall(r"\{'train_runtime'[^{}]*'step': \d+\}", text)}
    rec = parse(json.dumps(ast.literal_eval(summary)))
    assert (rec.kind, rec.event, rec.step) == (Kind.EVENT, Event.FINISHED, 10000)
    assert rec.metrics["train_loss"] == 2.159679998397827 and "loss" not in rec.metrics
    assert parse('{"step": 5, "train_loss": 2.3, "lr": 0.001}').kind is Kind.STEP  # a loop's per-step `train_loss`


def test_wandb_runtime_does_not_make_an_evaluation_a_step_and_optimizer_groups_name_lr() -> None:
    """A new user's review: W&B's `_runtime` beside `eval/*` keys made an evaluation a STEP record; an
    `{"optim": {"lr": …}}` group gave `optim_lr`, which no chart or status field shows."""
    rec = parse('{"_step": 250, "eval/loss": 1.3, "eval/runtime": 4.0, "_runtime": 812.4, "_timestamp": 1700000000.5}')
    assert (rec.kind, rec.step, dict(rec.metrics)) == (Kind.EVAL, 250, {"val_loss": 1.3, "eval_runtime": 4.0,
                                                                        "elapsed": 812.4})
    assert dict(parse('{"step": 3, "optim": {"lr": 0.001}, "loss": 2}').metrics) == {"lr": 0.001, "loss": 2.0}


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


# -- the block reader (JsonBlock, the columnar fast path) gives what `parse` gives --------------------------

TRUTH = Path(__file__).parents[1] / "fixtures" / "realruns"


def _metrics_lines() -> list[str]:
    """JSON lines a program wrote: the trainer_state entries, and the run lab's own per-step truth files."""
    truth = [x for run in ("nanogpt-tb-healthy", "kvlog-nan", "keras-v2-healthy")
             for x in (TRUTH / run / "truth" / "rank0.jsonl").read_text(encoding="utf-8").splitlines()]
    return [*S1, *S2, *truth]


def _noisy_log(seed: int, n: int = 6000) -> bytes:
    import random

    from tests.support.real_lines import noise

    rng = random.Random(seed)
    real, pool = _metrics_lines(), noise()
    return ("\n".join(rng.choice(pool) if rng.random() < 0.1 else rng.choice(real) for _ in range(n)) + "\n").encode()


@pytest.mark.parametrize("sizes", [(1 << 20,), (4096,), (700, 3000, 50)])
def test_block_reader_gives_the_per_line_records_of_real_lines_with_noise(sizes: tuple[int, ...]) -> None:
    from tests.support.readers import check, fast_rows

    recs, chunks = check(_noisy_log(1), sizes, fmt="jsonl")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fast_rows(chunks) >= 0.95 * len(steps) > 4000  # nearly every step line read as a column
    assert any(r.kind is Kind.EVAL for r in recs)  # trainer_state's eval entries: left to `parse`


def test_a_time_key_in_seconds_or_milliseconds_is_the_records_time_in_both_readers() -> None:
    """The run lab's truth lines with their `t` (a metric to this format) logged as `time`, every third in
    milliseconds, and one in ten as a duration (`time: 0.53`, a metric): each row as `parse` reads it."""
    from tests.support.readers import check, fast_rows

    lines = []
    for i, x in enumerate(_metrics_lines()[-400:]):
        obj = json.loads(x)
        if "t" in obj:
            t = obj.pop("t")
            obj = {"time": t * 1000 if i % 3 == 0 else 0.53 if i % 10 == 1 else t, **obj}
        lines.append(json.dumps(obj))
    recs, chunks = check(("\n".join(lines) + "\n").encode(), (3000,), fmt="jsonl")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fast_rows(chunks) >= 0.95 * len(steps) > 300
    assert sum(r.t > 1.7e9 for r in steps) > 250 and sum("time" in r.metrics for r in steps) > 20


def test_a_line_no_json_reads_among_json_lines_leaves_the_rest_in_columns() -> None:
    """A block is decoded as one array: a line that breaks it (an HF dict repr, a cut-off object, two
    objects on one line) is found by halving, and only it goes to `parse`."""
    from tests.support.readers import check, fast_rows

    lines = _metrics_lines()[:40] * 25
    train = sum('"loss"' in x for x in lines)
    for i, odd in ((7, "{'loss': 2.119, 'epoch': 0.25}"), (400, lines[5][:-9]), (900, "{\"loss\": 1}, {\"loss\": 2}")):
        lines.insert(i, odd)
    recs, chunks = check(("\n".join(lines) + "\n").encode(), fmt="jsonl")
    assert fast_rows(chunks) == train
    assert sum(r.kind is Kind.STEP for r in recs) == train


def test_text_bool_list_and_null_fields_beside_the_numbers_leave_the_rows_in_columns() -> None:
    """A logger's `"split": "train"`, `"is_best": false`, `"tags": [...]`, `"note": null` beside the metrics
    are no numbers to `parse`: the block reader leaves those keys out and reads the rows as columns, a count
    that is sometimes null too (a new user's review: 4.0 s → 1.1 s for 200k lines of such a log). A text
    that spells a number (`"loss": "nan"`) and runwatch's own `"type"` lines go to `parse`."""
    from tests.support.readers import check, fast_rows

    lines = []
    for i, x in enumerate(_metrics_lines()[-300:]):
        obj = json.loads(x)
        extra = {"split": "train", "is_best": i % 7 == 0, "tags": ["a", i], "note": None if i % 2 else "warm",
                 "tokens_seen": None if i % 5 == 0 else i * 4096}  # a count that is null now and then
        lines.append(json.dumps({**extra, **obj} if i % 3 else {**obj, **extra}))
    lines += ['{"type": "status", "step": 5, "loss": 1.0}', '{"split": "nan", "step": 6, "loss": 1.0}'] * 20
    recs, chunks = check(("\n".join(lines) + "\n").encode(), fmt="jsonl")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert len(steps) > 250 and fast_rows(chunks) >= len(steps) - 20 - 10  # the 20 `"split": "nan"` go per line
    assert not any("is_best" in r.metrics or "tags" in r.metrics for r in steps)
    assert 0.7 * len(steps) < sum("tokens_seen" in r.metrics for r in steps) < 0.9 * len(steps)
    assert {r.step for r in steps if "split" in r.metrics} == {6}  # `"nan"` is a number: a NaN metric
    assert not any(r.step == 5 for r in recs)  # a status line is no record


def test_block_reader_reads_this_files_cases_as_parse_does() -> None:
    """The step keys tried in order (`global_step` before `step`), a total, wandb's keys, a time in
    milliseconds, a duration called `time`, non-finite values: each case above, many times over, in a block."""
    from tests.support.readers import check, fast_rows

    cases = ['{"global_step": 9, "step": 3, "max_steps": 100, "loss": 1}', '{"step": 9, "max_steps": 100, "loss": 1}',
             '{"iteration": 7, "timestamp": 1700000000123, "tokens_per_second": 1051311}',
             '{"step": 1, "time": 0.53, "loss": 1}', '{"step": 380, "loss": NaN, "grad_norm": Infinity}',
             '{"train/loss": 2.0, "train/learning_rate": 1e-05, "train/global_step": 15, "_step": 3, '
             '"_timestamp": 1700000000.5, "_runtime": 12.5, "train/epoch": 0.1}']
    recs, chunks = check(("\n".join(cases * 50) + "\n").encode(), fmt="jsonl")
    assert fast_rows(chunks) == len(recs) == 300
    assert {(r.step, r.total_steps) for r in recs} == {(9, 100), (7, None), (1, None), (380, None), (15, None)}


_KEYS = st.sampled_from(["step", "global_step", "_step", "iter", "max_steps", "total_steps", "time", "ts",
                         "_timestamp", "timestamp", "loss", "Loss", "eval_loss", "val/loss", "lr", "epoch",
                         "_runtime", "metrics/lr", "train/global_step", "type", "kind", "x"])
_VALUES = (st.integers(-5, 10**13) | st.floats(allow_nan=True) | st.sampled_from([10**400, 1.7e9, 1.7e12, 1e15])
           | st.booleans() | st.sampled_from(["nan", "inf", "warmup", "status"]) | st.none()
           | st.dictionaries(_KEYS, st.integers(0, 9), max_size=2))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.dictionaries(_KEYS, _VALUES, max_size=6) | st.sampled_from(["[1, 2]", "{}", "{\"loss\": 1"]),
                min_size=1, max_size=60),
       st.lists(st.integers(1, 400), min_size=1, max_size=4), st.integers(1, 40))
def test_block_reader_matches_parse_on_any_objects_and_any_split(
        objs: list[Any], sizes: list[int], repeat: int) -> None:
    """Keys that are steps, totals and times (seconds, milliseconds, neither), names two keys share, values
    that are no plain number: whatever the block reader takes, it takes as `parse` reads it, in any pieces."""
    from tests.support.readers import check

    lines = [o if isinstance(o, str) else json.dumps(o) for o in objs] * repeat
    check(("\n".join(lines) + "\n").encode(), sizes, fmt="jsonl")


def test_llamafactorys_current_steps_is_the_step() -> None:
    """A review: LLaMA-Factory's `trainer_log.jsonl` (`{"current_steps": 10, "total_steps": 6566, "loss": …}`) read
    `no steps (of 6566 planned)`, `current_steps` an ordinary metric."""
    import json

    from tests.support.found import found_lines, source_records

    logged = [json.loads(x) for x in found_lines("llamafactory_trainer_log_head.jsonl") if x.strip()]
    fmt, recs = source_records("llamafactory_trainer_log_head.jsonl")
    assert fmt == "jsonl"
    assert [(r.step, r.total_steps, r.metrics["loss"]) for r in recs] == [
        (o["current_steps"], o["total_steps"], o["loss"]) for o in logged]
    assert not any("current_steps" in r.metrics for r in recs)


def test_llamafactorys_elapsed_and_remaining_time_are_the_runs_clocks_in_both_readers() -> None:
    """A review: LLaMA-Factory's `"elapsed_time": "5:39:46"` and `"remaining_time": "1 day, 0:08:23"` (text, so
    left out) gave no time the run had taken nor the ETA it states. They are `elapsed` and `eta` in seconds, where
    the key is one of these two (a text elsewhere stays no number), and the block reader reads them as `parse` does."""
    import json

    from runwatch.parsers.numbers import clock_seconds
    from tests.support.found import found_bytes, found_lines, source_records
    from tests.support.readers import check, fast_rows

    name = "llamafactory_trainer_log_head.jsonl"
    logged = [json.loads(x) for x in found_lines(name) if x.strip()]
    _, recs = source_records(name)
    assert [(r.metrics["elapsed"], r.metrics["eta"]) for r in recs] == [
        (clock_seconds(o["elapsed_time"]), clock_seconds(o["remaining_time"])) for o in logged]
    assert recs[0].metrics["eta"] == 86400 + 8 * 60 + 23 and recs[0].metrics["elapsed"] == 132
    for size in (1 << 20, 97):
        got, chunks = check(found_bytes(name), sizes=(size,), fmt="jsonl")
        assert [r.metrics for r in got] == [r.metrics for r in recs]
        assert fast_rows(chunks) == len(recs)  # on the block reader's path, not left to `parse`
    other = JsonLinesParser().parse('{"step": 3, "loss": 1.5, "time": "0:02:13", "note": "1:00"}')
    assert other is not None and other.metrics == {"loss": 1.5}


def test_an_epoch_a_line_is_the_step_where_no_step_key_is_there_in_both_readers() -> None:
    """A review: DETR's `log.txt` (`{"train_lr": …, "train_loss": …, "test_loss": …, "epoch": 0, "n_parameters": …}`,
    one object an epoch) read as "no steps". A whole epoch is the step where no step key is there; the epoch stays a
    metric; a fractional one, or one beside a batch's count (several lines an epoch), is no step."""
    import gzip

    from tests.support.readers import check, fast_rows

    data = gzip.decompress((Path(__file__).parents[1] / "fixtures" / "found" / "conditional_swin_detr_log.txt.gz")
                           .read_bytes())
    recs, chunks = check(data, fmt="jsonl")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps] == list(range(50)) and [r.metrics["epoch"] for r in steps] == list(range(50))
    assert round(steps[-1].metrics["loss"], 4) == 7.9413  # its key lists name a metric twice: read per line
    objects = [json.loads(x) for x in data.splitlines()]
    few = "".join(json.dumps({k: o[k] for k in ("train_loss", "test_loss", "epoch")}) + "\n" for o in objects)
    recs, chunks = check(few.encode(), (3000,), fmt="jsonl")
    assert [r.step for r in recs] == list(range(50)) and fast_rows(chunks) == 50  # as columns, the same
    first = json.loads(data.splitlines()[0])
    for other in ({"epoch": 0.5}, {"epoch": 3, "batch": 20}):
        rec = JsonLinesParser().parse(json.dumps({**first, **other}))
        assert rec is not None and rec.step is None


def test_detectron2s_time_beside_data_time_is_the_step_time_in_both_readers(capsys: pytest.CaptureFixture[str]) -> None:
    """detectron2's `metrics.json`, `{"data_time": 0.027, …, "iteration": 19, …, "time": 2.2359, …}`: `time` beside
    `data_time` is the seconds its iteration took, not a time of day (a review: `check` noted "no step line carries a
    time of day or a step time", and no slowdown could be judged)."""
    import json

    from runwatch.cli import main
    from tests.support.found import FOUND, found_bytes, found_lines, source_records
    from tests.support.readers import check

    logged = [json.loads(x) for x in found_lines("detectron2_metrics_waste.json.gz") if x.strip()]
    fmt, recs = source_records("detectron2_metrics_waste.json.gz")
    assert fmt == "jsonl" and len(recs) == len(logged) == 200
    assert [(r.step, r.metrics["step_time"]) for r in recs] == [(o["iteration"], o["time"]) for o in logged]
    assert not any("time" in r.metrics for r in recs)
    got, _ = check(found_bytes("detectron2_metrics_waste.json.gz"), fmt="jsonl")
    assert [(r.step, dict(r.metrics)) for r in got] == [(r.step, dict(r.metrics)) for r in recs]
    assert main(["check", str(FOUND / "detectron2_metrics_waste.json.gz"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["notes"][0].startswith("no step line carries a time of day: a hang")


@pytest.mark.parametrize(("bare", "value"), [("nan", math.nan), ("-inf", -math.inf), ("Infinity", math.inf)])
def test_a_bare_non_finite_number_is_read_not_dropped(bare: str, value: float) -> None:
    """A DeiT-style log.txt (tests/fixtures/found/README.md) with one `train_loss` printed as C prints a NaN
    (`"train_loss": nan`): no JSON, so the line was dropped without a word and the NaN unseen (a review). It is
    read, as `NaN` is, by the live reader and the bulk one alike; the other lines as they were."""
    import gzip

    from tests.support import readers
    from tests.support.found import FOUND

    text = gzip.decompress((FOUND / "cfvit_deit_log_jsonl.txt.gz").read_bytes()).decode()
    lines = text.splitlines()
    at = re.search(r'"train_loss": ([\d.]+),', lines[295])
    assert at is not None
    lines[295] = lines[295][:at.start(1)] + bare + lines[295][at.end(1):]
    clean, _ = readers.check(text.encode(), (1 << 20, 4096))
    recs, _ = readers.check(("\n".join(lines) + "\n").encode(), (1 << 20, 4096, 333))
    assert len(recs) == len(clean) == 300
    bad = [r for r in recs if not math.isfinite(r.metrics.get("loss", 0.0))]
    assert [(r.step, repr(r.metrics["loss"])) for r in bad] == [(295, repr(value))]
    assert JsonLinesParser().parse('{"loss": nanx, "step": 3}') is None  # a word that merely starts so: no JSON
