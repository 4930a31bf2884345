"""The protobuf schema of the W&B transaction-log records runwatch reads, built here in code.

A `.wandb` file is a sequence of `wandb_internal.Record` protobufs. runwatch reads local runs with
the `protobuf` package alone: this module declares the subset of the schema it reads (history,
summary, config, run, environment, stats, console output, metric definitions, alerts, exit,
header) with W&B's published field numbers and types, and builds the message classes in a private
descriptor pool. Fields not declared here are skipped by protobuf's decoder as unknown fields, so
newer SDKs that add fields still read. The names are the SDK's own, so a decoded record reads as
one decoded with `wandb.proto.wandb_internal_pb2`; tests check both agree on files written by the
real SDK. Only following a run online (`wandb://…`) needs the `wandb` package.

Enum fields (`output_type`, `stats_type`, `HistoryItem.none`) are declared as `int32`: the wire
format is the same varint and runwatch uses their numbers only.
"""

from __future__ import annotations

import threading
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2

PACKAGE = "runwatch_wandb"
_T = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    "string": _T.TYPE_STRING, "int64": _T.TYPE_INT64, "sint64": _T.TYPE_SINT64, "int32": _T.TYPE_INT32,
    "uint32": _T.TYPE_UINT32, "uint64": _T.TYPE_UINT64, "double": _T.TYPE_DOUBLE, "bool": _T.TYPE_BOOL,
}
TIMESTAMP = ".google.protobuf.Timestamp"

Field = tuple[str, int, str] | tuple[str, int, str, str]
"""(name, number, type[, "repeated" or "oneof:NAME"]); a type not in `_SCALARS` is a message name."""

_ITEM: list[Field] = [("key", 1, "string"), ("nested_key", 2, "string", "repeated"), ("value_json", 16, "string")]


def _updates(item: str) -> list[Field]:
    """A summary or config record: items set and items removed."""
    return [("update", 1, item, "repeated"), ("remove", 2, item, "repeated")]


_CONSOLE: list[Field] = [("output_type", 1, "int32"), ("timestamp", 2, TIMESTAMP), ("line", 3, "string")]

MESSAGES: dict[str, list[Field]] = {
    "Record": [
        ("num", 1, "int64"),
        ("history", 2, "HistoryRecord", "oneof:record_type"),
        ("summary", 3, "SummaryRecord", "oneof:record_type"),
        ("output", 4, "OutputRecord", "oneof:record_type"),
        ("config", 5, "ConfigRecord", "oneof:record_type"),
        ("stats", 7, "StatsRecord", "oneof:record_type"),
        ("alert", 10, "AlertRecord", "oneof:record_type"),
        ("metric", 12, "MetricRecord", "oneof:record_type"),
        ("output_raw", 13, "OutputRawRecord", "oneof:record_type"),
        ("run", 17, "RunRecord", "oneof:record_type"),
        ("exit", 18, "RunExitRecord", "oneof:record_type"),
        ("header", 21, "HeaderRecord", "oneof:record_type"),
        ("environment", 26, "EnvironmentRecord", "oneof:record_type"),
    ],
    "HistoryRecord": [("item", 1, "HistoryItem", "repeated"), ("step", 2, "HistoryStep")],
    "HistoryStep": [("num", 1, "int64")],
    "HistoryItem": [
        ("key", 1, "string"), ("nested_key", 2, "string", "repeated"),
        ("none", 3, "int32", "oneof:value"), ("boolean", 4, "bool", "oneof:value"),
        ("integer", 5, "sint64", "oneof:value"), ("number", 6, "double", "oneof:value"),
        ("text", 7, "string", "oneof:value"), ("json", 8, "string", "oneof:value"),
        ("value_json", 16, "string"),
    ],
    "SummaryRecord": _updates("SummaryItem"),
    "SummaryItem": _ITEM,
    "ConfigRecord": _updates("ConfigItem"),
    "ConfigItem": _ITEM,
    "RunRecord": [
        ("run_id", 1, "string"), ("entity", 2, "string"), ("project", 3, "string"),
        ("config", 4, "ConfigRecord"), ("summary", 5, "SummaryRecord"), ("run_group", 6, "string"),
        ("job_type", 7, "string"), ("display_name", 8, "string"), ("notes", 9, "string"),
        ("tags", 10, "string", "repeated"), ("sweep_id", 12, "string"), ("host", 13, "string"),
        ("starting_step", 14, "int64"), ("start_time", 17, TIMESTAMP), ("resumed", 18, "bool"),
    ],
    "RunExitRecord": [("exit_code", 1, "int32"), ("runtime", 2, "int32"), ("not_complete", 3, "bool")],
    "StatsRecord": [("stats_type", 1, "int32"), ("timestamp", 2, TIMESTAMP), ("item", 3, "StatsItem", "repeated")],
    "StatsItem": [("key", 1, "string"), ("value_json", 16, "string")],
    "OutputRecord": _CONSOLE,
    "OutputRawRecord": _CONSOLE,
    "MetricRecord": [("name", 1, "string"), ("glob_name", 2, "string"), ("step_metric", 4, "string")],
    "AlertRecord": [("title", 1, "string"), ("text", 2, "string"), ("level", 3, "string")],
    "HeaderRecord": [("version_info", 1, "VersionInfo")],
    "VersionInfo": [("producer", 1, "string"), ("min_consumer", 2, "string")],
    "EnvironmentRecord": [
        ("os", 1, "string"), ("python", 2, "string"), ("started_at", 3, TIMESTAMP),
        ("args", 5, "string", "repeated"), ("program", 6, "string"), ("host", 12, "string"),
        ("cpu_count", 16, "uint32"), ("cpu_count_logical", 17, "uint32"), ("gpu_type", 18, "string"),
        ("gpu_count", 19, "uint32"), ("memory", 21, "MemoryInfo"),
        ("gpu_nvidia", 24, "GpuNvidiaInfo", "repeated"), ("cuda_version", 25, "string"),
    ],
    "MemoryInfo": [("total", 1, "uint64")],
    "GpuNvidiaInfo": [("name", 1, "string"), ("memory_total", 2, "uint64")],
}

_record_cls: Any = None
_load_lock = threading.Lock()


def _file_proto() -> descriptor_pb2.FileDescriptorProto:
    fp = descriptor_pb2.FileDescriptorProto(name="runwatch/wandb_records.proto", package=PACKAGE, syntax="proto3")
    fp.dependency.append("google/protobuf/timestamp.proto")
    for name, fields in MESSAGES.items():
        msg = fp.message_type.add(name=name)
        oneofs: dict[str, int] = {}
        for fname, number, ftype, *mode in fields:
            f = msg.field.add(name=fname, number=number, json_name=fname)
            f.label = _T.LABEL_REPEATED if mode == ["repeated"] else _T.LABEL_OPTIONAL
            if ftype in _SCALARS:
                f.type = _SCALARS[ftype]
            else:
                f.type = _T.TYPE_MESSAGE
                f.type_name = ftype if ftype.startswith(".") else f".{PACKAGE}.{ftype}"
            if mode and mode[0].startswith("oneof:"):
                group = mode[0].split(":", 1)[1]
                if group not in oneofs:
                    oneofs[group] = len(msg.oneof_decl)
                    msg.oneof_decl.add(name=group)
                f.oneof_index = oneofs[group]
    return fp


def record_class() -> Any:
    """The `Record` message class (built once, in a private pool: no clash with wandb's own)."""
    global _record_cls
    with _load_lock:
        if _record_cls is None:
            pool = descriptor_pool.DescriptorPool()
            pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
            pool.Add(_file_proto())
            _record_cls = message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.Record"))
        return _record_cls
