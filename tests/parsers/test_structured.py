"""Structured metric decoders: Lightning CSV rows, HF log_history, metric arrays, TensorBoard events.

Real inputs from the corpus where one exists (lightning.md CSV1/CSV2,
raw/excerpts_hf_trainer_state.json S1/S2); TensorBoard payloads are built
with TensorBoard's own protobuf classes and read back by the hand decoder.
"""

from __future__ import annotations

import csv
import json
import math
import struct
from typing import Any

import pytest

from runwatch.model import Event, Kind, Record
from runwatch.parsers.structured import (
    DECODERS,
    CheckpointRecordsDecoder,
    CsvRowsDecoder,
    HFLogHistoryDecoder,
    HparamsDecoder,
    MetricArraysDecoder,
    NanochatMetaDecoder,
    TfEventsDecoder,
    decode_event,
    hparams,
    metric_key,
)
from runwatch.parsers.wandb_meta import RUN_META, run_meta
from tests.support.corpus import md_block, trainer_state
from tests.support.paths import FIXTURES

try:
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2
except ImportError:  # the optional `tensorboard` extra: the decoder needs none of it, some tests do
    event_pb2 = None
needs_tensorboard = pytest.mark.skipif(event_pb2 is None, reason="the tensorboard extra is not installed")

T = 1_700_000_000.0


def f32(x: float) -> float:
    """`x` as float32 rounds it (TensorBoard's simple_value is a float)."""
    return float(struct.unpack("<f", struct.pack("<f", x))[0])


def brief(recs: list[Record]) -> list[tuple[str, int | None, dict[str, float]]]:
    return [(str(r.kind), r.step, dict(r.metrics)) for r in recs]


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("train/loss", "loss"), ("train_loss", "loss"), ("Loss/train", "loss"), ("train_loss_step", "loss"),
        ("val/loss", "val_loss"), ("eval/loss", "val_loss"), ("Loss/val", "val_loss"), ("eval_loss", "val_loss"),
        ("val_loss_epoch", "val_loss"), ("learning_rate", "lr"), ("lr-AdamW", "lr"), ("lr-Adam/pg1", "lr"),
        ("lr-Adam/pg2", "lr_pg2"), ("lr-SGD-momentum", "momentum"), ("train/grad_norm", "grad_norm"),
        ("val/accuracy", "val_accuracy"), ("train_perplexity_step", "train_perplexity_step"),
        ("eval_runtime", "eval_runtime"), ("epoch", "epoch"), ("charts/SPS", "charts_sps"),
    ],
)
def test_metric_names_are_canonical(key: str, name: str) -> None:
    assert metric_key(key) == name


# ── Lightning metrics.csv ────────────────────────────────────────────────────


def csv_rows(lines: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows as the follower hands them over: non-empty cells only."""
    return [{k: v for k, v in row.items() if v != ""} for row in csv.DictReader(lines)]


def test_lightning_csv_rows_become_steps_evals_and_epoch_rows() -> None:
    recs = CsvRowsDecoder().feed(list(csv_rows(md_block("lightning.md", "CSV1"))), T)
    assert brief(recs[:1]) == [("step", 49, {"loss": 8.620475769042969, "train_perplexity_step": 5544.0234375,
                                             "epoch": 0.0})]
    at_286 = [r for r in recs if r.step == 286]
    assert brief(at_286) == [
        ("eval", 286, {"val_epoch_perplexity": 928.60546875, "val_loss": 6.833683967590332,
                       "val_perplexity": 935.6399536132812, "epoch": 0.0}),
        ("step", 286, {"epoch_time": 155.4527130126953, "train_epoch_perplexity": 2080.531982421875,
                       "train_loss_epoch": 7.640378952026367, "train_perplexity_epoch": 3753.686279296875,
                       "epoch": 0.0}),
    ]
    assert [r.step for r in recs if r.kind == Kind.STEP and "loss" in r.metrics] == [
        49, 99, 149, 199, 249, 299, 349, 399, 449, 499, 549, 599]
    assert all(r.t == T for r in recs)


def test_a_test_only_csv_with_an_unsorted_header_is_one_eval() -> None:
    recs = CsvRowsDecoder().feed(list(csv_rows(md_block("lightning.md", "CSV2"))), T)
    assert brief(recs) == [("eval", 0, {"test_loss": 0.15669432282447815, "test_acc": 0.954224169254303,
                                        "epoch": 0.0})]


def test_a_row_mixing_train_and_eval_metrics_is_split_and_nan_is_kept() -> None:
    recs = CsvRowsDecoder().feed([{"step": "9", "train_loss": "nan", "val_loss": "2.5", "note": "x"}], T)
    assert [(str(r.kind), r.step) for r in recs] == [("step", 9), ("eval", 9)]
    assert math.isnan(recs[0].metrics["loss"]) and recs[1].metrics == {"val_loss": 2.5}


# ── HF trainer_state.json ────────────────────────────────────────────────────


def test_trainer_state_log_history_gives_exact_steps_evals_and_total() -> None:
    meta, *recs = HFLogHistoryDecoder().feed([trainer_state(0)], T)
    assert meta.event == RUN_META
    assert [(str(r.kind), r.step) for r in recs] == [
        ("step", 15), ("step", 30), ("step", 45), ("eval", 200), ("step", 2790), ("eval", 2800)]
    assert {r.total_steps for r in recs} == {2808}
    assert recs[0].metrics == {"epoch": 0.010690423162583519, "grad_norm": 1.0048305988311768,
                               "lr": 2.456140350877193e-06, "loss": 2.0762,
                               "mean_token_accuracy": 0.5809640631079673, "num_tokens": 61440.0}
    assert recs[3].metrics["val_loss"] == 1.622266411781311
    assert recs[3].metrics["eval_runtime"] == 311.107


def test_the_trainers_settings_are_the_runs_metadata_said_when_they_change() -> None:
    """An HF run logged without W&B has no other config: trainer_state.json's own settings are its overview's."""
    doc = trainer_state(0)
    decoder = HFLogHistoryDecoder()
    (meta,) = [r for r in decoder.feed([doc], T) if r.event == RUN_META]
    settings = (run_meta(meta) or {})["trainer_state"]
    assert settings["max_steps"] == 2808 and "log_history" not in settings and "is_world_process_zero" not in settings
    assert not [r for r in decoder.feed([doc], T + 1) if r.event == RUN_META]  # the same settings: not said again
    later = {**doc, "global_step": doc["global_step"] + 100}
    (again,) = [r for r in decoder.feed([later], T + 2) if r.event == RUN_META]
    assert (run_meta(again) or {})["trainer_state"]["global_step"] == doc["global_step"] + 100


def test_a_train_and_an_eval_entry_at_one_step_are_both_kept() -> None:
    _, *recs = HFLogHistoryDecoder().feed([trainer_state(1)], T)
    assert [(str(r.kind), r.step) for r in recs] == [("step", 25), ("step", 50), ("step", 1000), ("eval", 1000)]
    assert recs[-1].metrics["eval_wer"] == 0.78878255063432 and recs[-1].metrics["val_loss"] == 0.320997953414917


def test_rewrites_and_later_checkpoints_yield_only_new_entries() -> None:
    doc = trainer_state(0)
    decoder = HFLogHistoryDecoder()
    first = decoder.feed([doc], T)
    assert decoder.feed([doc], T + 1) == []  # rewritten unchanged
    grown = {**doc, "log_history": [*doc["log_history"], {"epoch": 2.0, "loss": 1.01, "step": 2805}]}
    assert brief(decoder.feed([grown], T + 2)) == [("step", 2805, {"epoch": 2.0, "loss": 1.01})]
    assert len(first) == 1 + 6  # the trainer's settings, then the entries


def test_the_summary_entry_is_a_finished_event_and_bare_entries_work() -> None:
    summary = {"epoch": 2.0, "step": 2808, "total_flos": 7.1e16, "train_loss": 1.3, "train_runtime": 9000.5}
    recs = HFLogHistoryDecoder().feed([{"loss": 2.0, "step": 1}, summary], T)
    assert [(str(r.kind), r.event) for r in recs] == [("step", None), ("event", Event.FINISHED)]
    assert recs[1].metrics == {"epoch": 2.0, "total_flos": 7.1e16, "train_loss": 1.3, "train_runtime": 9000.5}


# ── training_metrics.json arrays ─────────────────────────────────────────────


def test_metric_arrays_align_on_steps_and_deliver_only_new_entries() -> None:
    decoder = MetricArraysDecoder()
    doc = {"train_loss": [2.0, 1.5], "val_loss": [2.1, 1.7], "learning_rate": [1e-3, 9e-4],
           "epochs": [1, 2], "steps": [100, 200]}
    assert brief(decoder.feed([doc], T)) == [
        ("step", 100, {"loss": 2.0, "lr": 1e-3, "epoch": 1.0}), ("eval", 100, {"val_loss": 2.1, "epoch": 1.0}),
        ("step", 200, {"loss": 1.5, "lr": 9e-4, "epoch": 2.0}), ("eval", 200, {"val_loss": 1.7, "epoch": 2.0}),
    ]
    grown = {k: [*v, v[-1]] for k, v in doc.items()}
    grown["steps"][-1] = 300
    assert [(str(r.kind), r.step) for r in decoder.feed([grown], T)] == [("step", 300), ("eval", 300)]
    assert decoder.feed([grown], T) == []
    restarted = {"train_loss": [3.0], "steps": [1]}
    assert brief(decoder.feed([restarted], T)) == [("step", 1, {"loss": 3.0})]


def test_per_epoch_arrays_shorter_than_steps_align_on_epochs() -> None:
    doc = {"train_loss": [2.0, 1.8, 1.6, 1.5], "steps": [1, 2, 3, 4], "val_loss": [1.9, 1.7], "epochs": [1, 2]}
    evals = [r for r in MetricArraysDecoder().feed([doc], T) if r.kind == Kind.EVAL]
    assert brief(evals) == [("eval", None, {"val_loss": 1.9, "epoch": 1.0}),
                            ("eval", None, {"val_loss": 1.7, "epoch": 2.0})]


def test_a_list_of_row_dicts_is_read_too() -> None:
    decoder = MetricArraysDecoder()
    rows = [{"step": 1, "loss": 2.0}, {"step": 2, "loss": float("nan")}]
    assert [r.step for r in decoder.feed([rows], T)] == [1, 2]
    assert [r.step for r in decoder.feed([[*rows, {"step": 3, "loss": 1.0}]], T)] == [3]


# ── TensorBoard events ───────────────────────────────────────────────────────

def pb_field(number: int, wire: int, value: bytes | int) -> bytes:
    """One protobuf field, by hand (keys and lengths under 128)."""
    if wire == 0:
        assert isinstance(value, int)
        out = bytearray()
        while value >= 0x80:
            out.append(value & 0x7F | 0x80)
            value >>= 7
        return bytes([number << 3]) + bytes(out) + bytes([value])
    assert isinstance(value, bytes)
    return bytes([number << 3 | wire]) + (bytes([len(value)]) if wire == 2 else b"") + value


def test_a_hand_encoded_event_decodes_without_tensorboard() -> None:
    value = pb_field(1, 2, b"train/loss") + pb_field(2, 5, struct.pack("<f", 0.5))
    event = pb_field(1, 1, struct.pack("<d", T)) + pb_field(2, 0, 300) + pb_field(5, 2, pb_field(1, 2, value))
    assert decode_event(event) == (T, 300, [("train/loss", 0.5)])
    assert brief(TfEventsDecoder().feed([event], 0.0)) == [("step", 300, {"loss": 0.5})]


def scalar_event(step: int, wall: float, **values: float) -> bytes:
    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=k.replace("__", "/"), simple_value=v)
                                         for k, v in values.items()])
    return event_pb2.Event(wall_time=wall, step=step, summary=summary).SerializeToString()


def tensor_event(step: int, tag: str, tensor: Any, plugin: str = "scalars") -> bytes:
    meta = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin))
    value = summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=meta)
    return event_pb2.Event(wall_time=T + step, step=step, summary=summary_pb2.Summary(value=[value])).SerializeToString()


def scalar_tensor(**kw: Any) -> Any:
    return tensor_pb2.TensorProto(tensor_shape=tensor_shape_pb2.TensorShapeProto(), **kw)


@needs_tensorboard
def test_hand_decoder_agrees_with_the_protobuf_classes() -> None:
    data = scalar_event(7, T + 0.25, train__loss=2.5, **{"lr": 3e-4})
    parsed = event_pb2.Event.FromString(data)
    assert decode_event(data) == (parsed.wall_time, parsed.step, [(v.tag, v.simple_value) for v in parsed.summary.value])
    assert decode_event(event_pb2.Event(wall_time=T, file_version="brain.Event:2").SerializeToString()) == (T, 0, [])


@needs_tensorboard
@pytest.mark.parametrize(
    ("tensor", "value"),
    [
        (dict(dtype=1, float_val=[0.5]), 0.5),
        (dict(dtype=2, double_val=[0.123456789]), 0.123456789),
        (dict(dtype=2, tensor_content=struct.pack("<d", -1.25)), -1.25),
        (dict(dtype=1, tensor_content=struct.pack("<f", float("nan"))), math.nan),
        (dict(dtype=9, int64_val=[-3]), -3.0),
        (dict(dtype=3, int_val=[12]), 12.0),
        (dict(dtype=19, half_val=[struct.unpack("<H", struct.pack("<e", 1.5))[0]]), 1.5),
        (dict(dtype=14, half_val=[0x3FC0]), 1.5),  # bfloat16 1.5
    ],
)
def test_scalar_tensors_of_every_numeric_type(tensor: dict[str, Any], value: float) -> None:
    [rec] = TfEventsDecoder().feed([tensor_event(3, "val/loss", scalar_tensor(**tensor))], T)
    got = rec.metrics["val_loss"]
    assert (math.isnan(got) and math.isnan(value)) or got == value
    assert (rec.kind, rec.step, rec.t) == (Kind.EVAL, 3, T + 3)


@needs_tensorboard
def test_non_scalars_text_and_damaged_payloads_are_skipped() -> None:
    vector = tensor_pb2.TensorProto(dtype=1, float_val=[1, 2, 3], tensor_shape=tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=3)]))
    text = scalar_tensor(dtype=7, string_val=[b"hello"])
    histo = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="w", histo=summary_pb2.HistogramProto(num=3))])
    decoder = TfEventsDecoder()
    items = [tensor_event(1, "v", vector), tensor_event(1, "t", text, plugin="text"),
             event_pb2.Event(step=1, summary=histo).SerializeToString(), b"\xff\xff\xff", scalar_event(1, T, loss=1.0)]
    assert brief(decoder.feed(items, T)) == [("step", 1, {"loss": 1.0})]
    assert decoder.bad_events == 1


@needs_tensorboard
def test_events_at_one_step_merge_and_keras_validation_files_are_evals() -> None:
    items = [scalar_event(0, T, train__loss=2.0), scalar_event(0, T + 0.1, **{"lr-AdamW": 1e-3}),
             scalar_event(1, T + 1, train__loss=1.5)]
    assert brief(TfEventsDecoder().feed(items, 0.0)) == [
        ("step", 0, {"loss": 2.0, "lr": f32(1e-3)}), ("step", 1, {"loss": 1.5})]
    keras = TfEventsDecoder(eval_source=True).feed([scalar_event(4, T, epoch_loss=0.75, epoch_accuracy=0.5)], 0.0)
    assert brief(keras) == [("eval", 4, {"val_loss": 0.75, "val_accuracy": 0.5})]


def test_checkpoint_records_pass_through_and_every_kind_has_a_decoder() -> None:
    rec = Record(Kind.CHECKPOINT, step=5, event="complete", source="ckpt/checkpoint-5")
    assert CheckpointRecordsDecoder().feed([rec, Record(Kind.STEP, step=1), "junk"], T) == [rec]
    assert set(DECODERS) == {"csv_rows", "hf_log_history", "hparams_yaml", "nanochat_meta", "metrics_arrays",
                             "tfevents", "checkpoint"}


NANOCHAT_META = FIXTURES / "nanochat_meta/meta_000020.json"


def test_a_nanochat_meta_file_is_the_runs_config_without_its_resume_state() -> None:
    """nanochat's `meta_000020.json`: the model's shape and the script's arguments are settings; the step,
    val_bpb, the loader's position and the loop state are the checkpoint's, not the run's config."""
    doc = json.loads(NANOCHAT_META.read_text())
    decoder = NanochatMetaDecoder()
    (meta,) = decoder.feed([doc], 5.0)
    found = (run_meta(meta) or {})["nanochat_meta"]
    assert found["file"] == "meta_000020.json"
    assert found["settings"]["model_config"]["n_layer"] == 4 and found["settings"]["user_config"]["depth"] == 4
    assert found["settings"]["total_batch_size"] == 512
    assert not {"step", "val_bpb", "dataloader_state_dict", "loop_state"} & set(found["settings"])
    assert decoder.feed([dict(doc, step=40, val_bpb=3.0)], 6.0) == []  # the next checkpoint, same settings


HPARAMS = FIXTURES / "realruns/lightning-default-healthy/run/logs/lightning_logs/version_0/hparams.yaml"


def test_lightning_hparams_are_the_runs_metadata_said_when_they_change() -> None:
    """The run lab's LightningModule calls save_hyperparameters(); its CSVLogger wrote hparams.yaml."""
    text = HPARAMS.read_text()
    decoder = HparamsDecoder()
    (meta,) = decoder.feed([text], 5.0)
    assert meta.event == RUN_META and meta.t == 5.0
    assert run_meta(meta) == {"hparams": {"dim": 64, "lr": 0.001}}
    assert decoder.feed([text], 6.0) == []  # the same file again says nothing
    (changed,) = decoder.feed([text.replace("dim: 64", "dim: 128")], 7.0)
    assert (run_meta(changed) or {})["hparams"]["dim"] == 128


def test_hparams_tags_are_read_as_plain_values_and_bad_yaml_is_nothing() -> None:
    """yaml.dump (Lightning's writer) tags what it has no plain form for, as `save_hyperparameters` on a
    module built from an argparse Namespace gives; no tag may build an object."""
    import argparse

    import yaml

    dumped = yaml.dump({"args": argparse.Namespace(lr=0.1, layers=[2, 4]), "name": "run-a"})
    assert "!!python/object:argparse.Namespace" in dumped
    assert hparams(dumped) == {"args": {"lr": 0.1, "layers": [2, 4]}, "name": "run-a"}
    assert hparams("!!python/object/apply:os.system ['true']") is None  # a tagged list is no mapping
    for bad in ("", "- a\n- b\n", "a: [1, 2\n", "just text"):
        assert hparams(bad) is None
    assert HparamsDecoder().feed([b"dim: 1", 3], 1.0) == []  # not text: nothing
