"""W&B records → Records: a run the real SDK wrote, hand-built protobuf records, and API rows."""

from __future__ import annotations

import importlib.util
import json
import math
from typing import Any

import pytest

from runwatch.model import Event, Kind, Record
from runwatch.parsers.wandb import STATE_KEY, WANDB_ALERT, WandbDecoder, WandbRowsDecoder
from runwatch.parsers.wandb_meta import RUN_META, run_meta
from runwatch.parsers.wandb_proto import record_class
from runwatch.parsers.wandb_stats import SYSTEM_STATS, system_sample
from runwatch.watcher.wandb_file import read_records
from tests.support.wandb_run import (
    BLOB_STEP,
    NAN_STEP,
    SPIKE_STEP,
    STEPS,
    eval_loss,
    grad_norm,
    learning_rate,
    main_run_file,
    train_loss,
)

pytestmark = pytest.mark.skipif(importlib.util.find_spec("wandb") is None, reason="needs the wandb package")


@pytest.fixture(scope="session")
def decoded(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Record], WandbDecoder]:
    decoder = WandbDecoder()
    records = decoder.feed(list(read_records(main_run_file(tmp_path_factory))), 1000.0)
    return records + decoder.flush(), decoder


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


# ── a run the SDK wrote ──────────────────────────────────────────────────────


def test_every_logged_step_is_parsed_exactly(decoded: tuple[list[Record], WandbDecoder]) -> None:
    records, decoder = decoded
    steps = [r for r in records if r.kind == Kind.STEP]
    assert [r.step for r in steps] == list(range(STEPS))
    for i, rec in enumerate(steps):
        m = rec.metrics
        assert same(m["loss"], train_loss(i)), i
        assert same(m["grad_norm"], grad_norm(i)), i
        assert m["lr"] == pytest.approx(learning_rate(i), rel=1e-12)
        assert m["perf_tokens_per_sec"] == 1000.0 + i
        assert m.get("val_loss") == eval_loss(i)
        assert m["elapsed"] >= 0 and rec.t > 1.6e9 and rec.total_steps == STEPS
        assert "note" not in m and "blob" not in m and "_step" not in m
    assert math.isnan(steps[NAN_STEP].metrics["loss"])
    assert steps[SPIKE_STEP].metrics["loss"] == 80.0 and math.isinf(steps[SPIKE_STEP].metrics["grad_norm"])
    assert steps[0].metrics["opt_beta1"] == 0.9  # a logged nested dict, keys joined
    assert steps[BLOB_STEP].step == BLOB_STEP  # the row spanning three blocks
    assert [r.t for r in steps] == sorted(r.t for r in steps)
    assert decoder.errors == 0


def test_config_summary_and_exit_become_metadata_and_finished(decoded: tuple[list[Record], WandbDecoder]) -> None:
    records, _ = decoded
    metas = [run_meta(r) for r in records if r.event == RUN_META]
    assert metas and all(m is not None for m in metas)
    last = metas[-1]
    assert last is not None
    assert last["config"] == {"lr": 3e-4, "max_steps": STEPS, "model": {"d_model": 64, "n_layers": 2},
                              "name": "tiny"}
    assert last["summary"]["best_val_loss"] == 1.234
    assert last["summary"]["train/loss"] == train_loss(STEPS - 1)
    assert last["run"]["project"] == "runwatch-test" and last["run"]["id"]
    assert last["environment"]["python"].startswith("CPython")
    finished = [r for r in records if r.event == Event.FINISHED]
    assert len(finished) == 1 and finished[0].metrics["exit_code"] == 0
    last_step_t = max(r.t for r in records if r.kind == Kind.STEP)
    assert last_step_t <= finished[0].t < last_step_t + 60  # the log's own time, not when it was read
    assert records.index(finished[0]) > max(i for i, r in enumerate(records) if r.kind == Kind.STEP)


def test_console_output_goes_through_the_crash_detector(decoded: tuple[list[Record], WandbDecoder]) -> None:
    records, decoder = decoded
    ooms = [r for r in records if r.event == Event.OOM]
    assert len(ooms) == 1 and "CUDA out of memory" in (ooms[0].message or "") and ooms[0].t > 1.6e9
    assert any("CUDA out of memory" in line for line in decoder.console)


def test_system_metrics_become_system_stats_events(decoded: tuple[list[Record], WandbDecoder]) -> None:
    records, _ = decoded
    stats = [r for r in records if r.event == SYSTEM_STATS]
    assert stats and all(r.kind == Kind.EVENT and r.t > 1.6e9 for r in stats)
    assert "host_mem_percent" in stats[0].metrics


def test_metadata_is_said_a_few_times_not_per_step(decoded: tuple[list[Record], WandbDecoder]) -> None:
    records, _ = decoded
    assert 1 <= sum(1 for r in records if r.event == RUN_META) <= 2


def test_records_split_over_batches_decode_the_same(tmp_path_factory: pytest.TempPathFactory) -> None:
    payloads = read_records(main_run_file(tmp_path_factory))
    whole = WandbDecoder()
    expected = [r for r in whole.feed(list(payloads), 1.0) + whole.flush() if r.event != RUN_META]
    split = WandbDecoder()
    got: list[Record] = []
    for i in range(0, len(payloads), 7):
        got.extend(split.feed(list(payloads[i:i + 7]), 1.0))
    got = [r for r in got + split.flush() if r.event != RUN_META]
    assert [r.to_json() for r in got] == [r.to_json() for r in expected]


# ── hand-built records ───────────────────────────────────────────────────────


def record(**fields: Any) -> bytes:
    """A serialized `wandb_internal.Record`, built with the same protobuf class the decoder uses."""
    rec = record_class()()
    for name, build in fields.items():
        build(getattr(rec, name))
    return rec.SerializeToString()  # type: ignore[no-any-return]


def history(**values: str) -> bytes:
    def build(h: Any) -> None:
        for key, value in values.items():
            item = h.item.add()
            item.nested_key.append(key.replace("__", "/"))
            item.value_json = value
    return record(history=build)


def decode(*payloads: bytes, t: float = 5.0) -> list[Record]:
    decoder = WandbDecoder()
    return decoder.feed(list(payloads), t) + decoder.flush()


def test_value_spellings_and_non_metrics() -> None:
    (rec,) = decode(history(_step="3", train__loss="NaN", train__grad_norm="Infinity", x="-Infinity",
                            s='"text"', b="true", n="null", media='{"_type": "image-file"}', big="1e+20"))
    assert rec.step == 3 and math.isnan(rec.metrics["loss"]) and rec.metrics["grad_norm"] == math.inf
    assert rec.metrics["x"] == -math.inf and rec.metrics["big"] == 1e20
    assert set(rec.metrics) == {"loss", "grad_norm", "x", "big"} and rec.t == 5.0


def test_canonical_names() -> None:
    (rec,) = decode(history(_step="1", _runtime="12.5", _timestamp="1700000000.5", val__loss="2",
                            train__learning_rate="0.1", train__epoch="0.5", eval__runtime="3"))
    assert rec.metrics == {"elapsed": 12.5, "val_loss": 2.0, "lr": 0.1, "epoch": 0.5, "eval_runtime": 3.0}
    assert rec.t == 1700000000.5


def test_an_eval_only_row_is_an_eval_record() -> None:
    (rec,) = decode(history(_step="9", _runtime="1", eval__loss="1.5", eval__accuracy="0.7"))
    assert rec.kind == Kind.EVAL and rec.step == 9


def test_a_row_with_nothing_numeric_is_no_record() -> None:
    assert decode(history(_step="2", _runtime="1", caption='"hi"')) == []


def test_a_defined_step_metric_beats_wandb_step() -> None:
    def define(m: Any) -> None:
        m.glob_name, m.step_metric = "*", "trainer/global_step"

    recs = decode(history(_step="0", train__global_step="500", train__loss="1"),  # HF: without define
                  record(metric=define),
                  history(_step="1", trainer__global_step="1000", train__global_step="7", train__loss="1"))
    assert [r.step for r in recs] == [500, 1000]
    assert "train_global_step" not in recs[1].metrics and "trainer_global_step" not in recs[1].metrics


def test_typed_history_values_count_too() -> None:
    def build(h: Any) -> None:
        a, b, c = h.item.add(), h.item.add(), h.item.add()
        a.key, a.integer = "_step", 4
        b.key, b.number = "train/loss", math.nan
        c.key, c.text = "note", "hello"

    (rec,) = decode(record(history=build))
    assert rec.step == 4 and set(rec.metrics) == {"loss"} and math.isnan(rec.metrics["loss"])


def test_a_nonzero_exit_is_an_exit_event_with_its_code() -> None:
    def exit3(e: Any) -> None:
        e.exit_code, e.runtime = 3, 42

    recs = decode(record(exit=exit3))
    (exit_rec,) = [r for r in recs if r.event == Event.EXIT]
    assert exit_rec.metrics == {"exit_code": 3.0, "runtime": 42.0} and "code 3" in (exit_rec.message or "")
    assert not any(r.event == Event.FINISHED for r in recs)


def test_gpu_stats_map_to_the_gpu_view() -> None:
    def stats(s: Any) -> None:
        s.timestamp.seconds = 1_700_000_000
        for key, value in {"gpu.0.gpu": "97", "gpu.0.memoryAllocatedBytes": "60129542144",
                           "gpu.0.temp": "66", "gpu.0.powerWatts": "512.3", "gpu.1.gpu": "12",
                           "gpu.process.0.memory": "40", "cpu.0.cpu_percent": "50", "cpu.1.cpu_percent": "70",
                           "proc.memory.availableMB": "1024", "gpu.0.smClock": "1980"}.items():
            item = s.item.add()
            item.key, item.value_json = key, value

    (rec,) = decode(record(stats=stats))
    assert rec.event == SYSTEM_STATS and rec.t == 1_700_000_000
    assert rec.metrics["gpu0_util"] == 97 and rec.metrics["gpu0_mem_used"] == 60129542144
    assert rec.metrics["gpu0_process_mem_util"] == 40 and rec.metrics["cpu1_percent"] == 70
    sample = system_sample(rec)
    assert sample is not None and [g.index for g in sample.gpus] == [0, 1]
    g0 = sample.gpus[0]
    assert (g0.util, g0.mem_used, g0.temp_c, g0.power_w, g0.sm_clock_mhz) == (97, 60129542144, 66, 512.3, 1980)
    assert sample.host is not None and sample.host.cpu_percent == 60 and sample.host.mem_available == 2**30
    assert sample.gpu_status.startswith("remote")
    assert system_sample(Record(Kind.STEP)) is None


def test_an_own_summary_key_is_said_at_once_a_mirror_is_not() -> None:
    def summary(key: str, value: str) -> bytes:
        def build(s: Any) -> None:
            item = s.update.add()
            item.nested_key.append(key)
            item.value_json = value
        return record(summary=build)

    decoder = WandbDecoder()
    # wandb-core writes a step's summary before its history row: a mirror, not news
    assert [r.kind for r in decoder.feed([summary("train/loss", "2"), history(_step="0", train__loss="2")], 1.0)] \
        == [Kind.STEP]
    (meta,) = decoder.feed([summary("best_val_loss", "1.5")], 2.0)
    assert (run_meta(meta) or {})["summary"] == {"train/loss": 2, "best_val_loss": 1.5}
    assert decoder.feed([summary("train/loss", "1")], 3.0) == []
    assert [r.event for r in decoder.flush()] == [RUN_META]  # the summary changed since: said at the end
    assert decoder.flush() == []


def test_config_gives_total_steps_and_metadata() -> None:
    def run(r: Any) -> None:
        r.run_id, r.project, r.display_name = "abc123", "proj", "tiny-run"
        item = r.config.update.add()
        item.key, item.value_json = "max_steps", "1000"
        wide = r.config.update.add()
        wide.key, wide.value_json = "notes", json.dumps("y" * 5000)

    decoder = WandbDecoder()
    recs = decoder.feed([record(run=run), history(_step="1", train__loss="2")], 1.0)
    assert recs[0].kind == Kind.STEP and recs[0].total_steps == 1000
    meta = run_meta(recs[-1])
    assert meta is not None and meta["run"]["name"] == "tiny-run" and meta["config"]["max_steps"] == 1000
    assert len(meta["config"]["notes"]) <= 1001  # long text values are cut


def test_alerts_and_a_new_run_in_the_same_source() -> None:
    def alert(a: Any) -> None:
        a.title, a.text, a.level = "loss high", "loss is 9", "WARN"

    def header(h: Any) -> None:
        h.version_info.producer = "0.31.0"

    def run(r: Any) -> None:
        r.run_id = "first"

    decoder = WandbDecoder()
    recs = decoder.feed([record(header=header), record(run=run), record(alert=alert)], 1.0)
    assert [r.event for r in recs] == [WANDB_ALERT, RUN_META] and recs[0].message == "[WARN] loss high: loss is 9"
    decoder.feed([record(header=header)], 2.0)  # the next run's log begins
    assert decoder.flush() == []


def test_damaged_payloads_are_counted_not_raised() -> None:
    decoder = WandbDecoder()
    assert decoder.feed([b"\xff\xff\xff\xff", "not bytes", 42, history(_step="1", loss="1")], 1.0)[0].step == 1
    assert decoder.errors == 1


# ── rows of the online API ───────────────────────────────────────────────────


def test_api_rows() -> None:
    decoder = WandbRowsDecoder()
    recs = decoder.feed([
        {"_step": 0, "_runtime": 1.0, "_timestamp": 1.7e9, "train/loss": 2.0, "eval/loss": "NaN",
         "train/grad_norm": float("inf"), "img": {"_type": "image-file", "path": "x.png"},
         "nested": {"a": 1}, "flag": True, "caption": "hi"},
        {"_step": 1, "train/loss": "Infinity"},
    ], 5.0)
    assert [r.step for r in recs] == [0, 1]
    m = recs[0].metrics
    assert m["loss"] == 2.0 and math.isnan(m["val_loss"]) and m["grad_norm"] == math.inf
    assert m["nested_a"] == 1 and "flag" not in m and "img" not in m and recs[0].t == 1.7e9
    assert recs[1].metrics["loss"] == math.inf and recs[1].t == 5.0


def test_api_state_items() -> None:
    decoder = WandbRowsDecoder()
    state = {STATE_KEY: "running", "config": {"max_steps": {"value": 500}, "lr": 0.1},
             "summary": {"best": 1.0, "_wandb": {"runtime": 3}}, "run": {"id": "abc", "name": "r"}}
    (meta,) = decoder.feed([state], 1.0)
    body = run_meta(meta)
    assert body is not None and body["config"] == {"max_steps": 500, "lr": 0.1} and body["run"]["id"] == "abc"
    assert decoder.feed([{"_step": 3, "train/loss": 1.0}], 2.0)[0].total_steps == 500
    assert decoder.feed([state], 3.0) == []  # nothing new: nothing said
    done = decoder.feed([{**state, STATE_KEY: "finished"}], 4.0)
    assert [r.event for r in done] == [RUN_META, Event.FINISHED]
    assert decoder.feed([{**state, STATE_KEY: "finished"}], 5.0) == []


@pytest.mark.parametrize(("state", "event"), [("failed", Event.EXIT), ("crashed", Event.EXIT),
                                              ("killed", Event.KILLED)])
def test_api_terminal_states(state: str, event: Event) -> None:
    (_, end) = WandbRowsDecoder().feed([{STATE_KEY: state}], 1.0)
    assert end.event == event
    if event == Event.EXIT:
        assert end.metrics["exit_code"] != 0
