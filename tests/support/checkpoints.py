"""Checkpoint files built on disk."""

from __future__ import annotations

import zipfile
from pathlib import Path


def torch_file(path: Path, payload: bytes = b"\0" * 64) -> Path:
    """A file shaped like torch.save's output: a zip archive."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", payload)
    return path
