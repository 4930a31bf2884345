"""Decoders for sources that are not lines of text, by the kind of batch they read.

Structured metric files and checkpoint events decode with the standard
library; the W&B decoders import wandb's protobuf classes, so they load only
when a W&B source is followed.
"""

from __future__ import annotations

import importlib
from typing import Any

from runwatch.parsers.base import ItemDecoder
from runwatch.parsers.structured import DECODERS as STRUCTURED

_LAZY: dict[str, tuple[str, str]] = {
    "wandb": ("runwatch.parsers.wandb", "WandbDecoder"),
    "wandb_rows": ("runwatch.parsers.wandb", "WandbRowsDecoder"),
}


def make_decoder(kind: str, **options: Any) -> ItemDecoder:
    """A fresh decoder for batches of `kind`; KeyError for a kind nobody decodes."""
    if kind in STRUCTURED:
        return STRUCTURED[kind](**options)
    module, cls = _LAZY[kind]
    return getattr(importlib.import_module(module), cls)(**options)  # type: ignore[no-any-return]


def known_kinds() -> list[str]:
    return [*STRUCTURED, *_LAZY]
