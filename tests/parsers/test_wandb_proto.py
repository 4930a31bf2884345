"""The W&B Record protobuf class, built from the wandb package's files without importing wandb."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("wandb") is None, reason="needs the wandb package")


def test_loading_the_protobuf_classes_does_not_import_wandb() -> None:
    code = (
        "import sys\n"
        "from runwatch.parsers.wandb_proto import record_class\n"
        "cls = record_class()\n"
        "assert 'wandb' not in sys.modules, 'imported wandb'\n"
        "r = cls(); r.num = 7; data = r.SerializeToString()\n"
        "import wandb\n"  # wandb imported afterwards still works
        "from wandb.proto import wandb_internal_pb2 as pb\n"
        "assert pb.Record.FromString(data).num == 7\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2], timeout=60)

