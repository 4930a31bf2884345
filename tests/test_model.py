"""Record: the frozen dataclass made by its own fast __new__ keeps a dataclass's behaviour."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from runwatch.model import Kind, Record


def test_a_record_is_immutable_and_replace_eq_pickle_work() -> None:
    rec = Record(Kind.STEP, 3, 10, 1, 5.0, {"loss": 2.5}, None, None, "train.log", 7)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.step = 4  # type: ignore[misc]
    moved = dataclasses.replace(rec, step=4)
    assert (moved.step, moved.metrics, moved.line) == (4, {"loss": 2.5}, 7)
    assert rec == Record(kind=Kind.STEP, step=3, total_steps=10, rank=1, t=5.0, metrics={"loss": 2.5},
                         source="train.log", line=7)
    assert pickle.loads(pickle.dumps(rec)) == rec
    assert copy.deepcopy(rec) == rec == copy.copy(rec) and type(copy.copy(rec)) is Record is type(rec)
    assert [f.name for f in dataclasses.fields(Record)] == [s for c in Record.__mro__ for s in getattr(c, "__slots__", ())]
    assert not hasattr(rec, "__dict__")


def test_defaults_and_a_fresh_metrics_dict_each() -> None:
    a, b = Record(Kind.EVENT), Record(Kind.EVENT)
    assert (a.step, a.total_steps, a.rank, a.t, a.event, a.message, a.source, a.line) == (
        None, None, None, 0.0, None, None, "", 0)
    assert a.metrics == {} and a.metrics is not b.metrics


def test_a_metric_named_for_a_measure_of_error() -> None:
    from runwatch.model import names_error_measure

    assert all(map(names_error_measure, ("train_rmse", "valid_0_l2", "training_binary_logloss", "val_mse", "train_merror")))
    assert not any(map(names_error_measure, ("valid_auc", "accuracy", "terror_rate", "l2norm", "lr", "train_mape", "decode_error")))
