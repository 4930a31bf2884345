"""The settings a training script prints at the top of its log, before its first loss.

nanochat prints `num_layers: 24`, `GPU: NVIDIA H100 80GB HBM3 | Peak FLOPS…` and
`Distributed world size: 8`; nanoGPT `number of parameters: 0.17M`; Lightning
`GPU available: False, used: False`. A report shows those `key: value` lines as
the log's own config (the lines are the log's words, cleaned to one printable
line), and its GPU model and count as hardware when no other source said them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from runwatch.text import clip, one_line

HEAD_BYTES = 64 * 1024
"""How much of a log's start is read for its settings."""
MOST = 80
SETTING = re.compile(r"^([A-Za-z][A-Za-z0-9 _./()-]{0,40}?)\s*:\s+(\S.{0,160})$")
LOSS = re.compile(r"loss", re.IGNORECASE)
"""A line that names a loss in any spelling (`loss`, `train_loss: 1.639`, `lm loss`) is training: the
settings are above it."""
NOT_SETTINGS = re.compile(r"^(warn|warning|error|note|info|debug|wandb|traceback|exception|hint)\b", re.IGNORECASE)
WORLD = re.compile(r"world size\s*:\s*(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Preamble:
    settings: list[tuple[str, str]]
    gpu: str | None
    world_size: int | None

    def hardware(self) -> str | None:
        if self.gpu is None:
            return None
        return f"{self.world_size} × {self.gpu}" if self.world_size else self.gpu


def preamble(lines: Iterable[str]) -> Preamble:
    """The `key: value` lines before the first line that mentions a loss (at most `MOST`)."""
    settings: list[tuple[str, str]] = []
    gpu: str | None = None
    world: int | None = None
    for raw in lines:
        line = one_line(raw)
        if LOSS.search(line):
            break
        w = WORLD.search(line)
        if w:
            world = int(w.group(1))
        m = SETTING.match(line)
        if m is None or NOT_SETTINGS.match(m.group(1)):
            continue
        key, value = m.group(1).strip(), m.group(2).strip()
        if key == "GPU":
            gpu = value.split("|")[0].strip()
        if len(settings) < MOST:
            settings.append((key, clip(value, 120)))
    return Preamble(settings, gpu, world)


def head_lines(data: bytes) -> list[str]:
    """The complete lines of a log's first bytes, decoded as the readers decode (bad bytes replaced)."""
    text = data.decode("utf-8", "replace")
    return text.splitlines()[:-1] if len(data) >= HEAD_BYTES else text.splitlines()
