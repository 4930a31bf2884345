"""TensorBoard scalar events built with TensorBoard's own protobuf classes (the optional extra)."""

from __future__ import annotations

from typing import Any

import pytest

try:
    from tensorboard.compat.proto import event_pb2, summary_pb2
except ImportError:  # the optional `tensorboard` extra: runwatch needs none of it, some tests do
    event_pb2 = None
needs_tensorboard = pytest.mark.skipif(event_pb2 is None, reason="the tensorboard extra is not installed")


def scalar(step: int, **values: float) -> Any:
    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=k.replace("__", "/"), simple_value=v)
                                         for k, v in values.items()])
    return event_pb2.Event(wall_time=1_700_000_000.0 + step, step=step, summary=summary)
