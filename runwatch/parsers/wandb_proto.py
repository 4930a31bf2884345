"""The protobuf `Record` class of W&B's transaction log, loaded without importing `wandb`.

Importing `wandb` takes about a second, so the class is built on first use
from the serialized descriptors inside the wandb package's generated
`*_pb2.py` modules, in a private descriptor pool. When that fails, or `wandb`
is already imported, `wandb.proto.wandb_internal_pb2` is used.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import sys
import threading
from pathlib import Path
from typing import Any

_record_cls: Any = None
_load_lock = threading.Lock()
_SERIALIZED = re.compile(rb"AddSerializedFile\((b'(?:[^'\\\n]|\\.)*')\)")


def record_class() -> Any:
    """`wandb_internal.Record`; ImportError (saying what to install) where wandb is missing."""
    global _record_cls
    with _load_lock:
        if _record_cls is None:
            _record_cls = _load_record_class()
        return _record_cls


def _load_record_class() -> Any:
    loaded = sys.modules.get("wandb.proto.wandb_internal_pb2")
    if loaded is None:
        try:
            return _isolated_record_class()
        except Exception:  # an unexpected layout of the wandb package: take the slow, sure way
            pass
    try:
        from wandb.proto import wandb_internal_pb2
    except ImportError as exc:
        raise ImportError("reading W&B runs needs the wandb package: pip install 'runwatch[wandb]'") from exc
    return wandb_internal_pb2.Record  # type: ignore[attr-defined]  # generated at import time


def _isolated_record_class() -> Any:
    """Build the Record class in a private descriptor pool from wandb's generated `*_pb2.py` files."""
    import google.protobuf
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    spec = importlib.util.find_spec("wandb")  # locates the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("wandb is not installed")
    major = google.protobuf.__version__.split(".")[0]
    gen = Path(next(iter(spec.submodule_search_locations))) / "proto" / f"v{major}"
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()

    def add(name: str) -> None:
        if name in added:
            return
        added.add(name)
        if name.startswith("google/protobuf/"):
            module = importlib.import_module("google.protobuf." + Path(name).stem + "_pb2")
            serialized = module.DESCRIPTOR.serialized_pb
        else:
            match = _SERIALIZED.search((gen / (Path(name).stem + "_pb2.py")).read_bytes())
            if match is None:
                raise ImportError(f"no serialized descriptor in {gen} for {name}")
            serialized = ast.literal_eval(match.group(1).decode("ascii"))
        for dep in descriptor_pb2.FileDescriptorProto.FromString(serialized).dependency:
            add(dep)
        pool.AddSerializedFile(serialized)

    add("wandb/proto/wandb_internal.proto")
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("wandb_internal.Record"))
