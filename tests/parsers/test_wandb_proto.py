"""W&B's record protobufs read with runwatch's own schema: no `wandb` import, the same values as the
SDK's generated classes on records the real SDK wrote."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from runwatch.parsers.wandb_proto import MESSAGES, record_class
from tests.support.imports import BLOCK_WANDB

needs_wandb = pytest.mark.skipif(importlib.util.find_spec("wandb") is None, reason="needs the wandb package")
ROOT = Path(__file__).parents[2]



def test_records_decode_without_the_wandb_package() -> None:
    code = BLOCK_WANDB + (
        "from runwatch.parsers.wandb_proto import record_class\n"
        "cls = record_class()\n"
        "r = cls(); r.num = 7; r.history.item.add(key='loss', value_json='NaN')\n"
        "back = cls.FromString(r.SerializeToString())\n"
        "assert back.WhichOneof('record_type') == 'history' and back.history.item[0].value_json == 'NaN'\n"
        "assert 'wandb' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)


@needs_wandb
def test_every_declared_field_has_the_sdks_number_and_name() -> None:
    """Field numbers are the wire contract: each one declared here is the SDK's own."""
    from wandb.proto import wandb_internal_pb2 as pb

    for name, fields in MESSAGES.items():
        theirs = pb.DESCRIPTOR.message_types_by_name[name]
        for fname, number, *_ in fields:
            assert theirs.fields_by_name[fname].number == number, f"{name}.{fname}"


@needs_wandb
def test_a_record_the_sdk_encodes_reads_the_same() -> None:
    from wandb.proto import wandb_internal_pb2 as pb

    theirs = pb.Record(num=3)
    theirs.run.run_id, theirs.run.display_name, theirs.run.project = "abc123", "nan-demo", "p"
    theirs.run.start_time.seconds = 1_700_000_000
    theirs.run.config.update.add(key="lr", value_json="0.001")
    ours = record_class().FromString(theirs.SerializeToString())
    assert ours.WhichOneof("record_type") == "run"
    assert (ours.run.run_id, ours.run.display_name, ours.run.start_time.seconds) == ("abc123", "nan-demo", 1_700_000_000)
    assert ours.run.config.update[0].value_json == "0.001"
    env = pb.Record()
    env.environment.gpu_nvidia.add(name="NVIDIA H100 80GB HBM3", memory_total=85899345920)
    env.environment.memory.total = 2**36
    ours_env = record_class().FromString(env.SerializeToString()).environment
    assert ours_env.gpu_nvidia[0].memory_total == 85899345920 and ours_env.memory.total == 2**36
