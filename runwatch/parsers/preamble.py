"""The settings a training script prints at the top of its log, before its first loss.

nanochat prints `num_layers: 24`, `GPU: NVIDIA H100 80GB HBM3 | Peak FLOPS…` and
`Distributed world size: 8`; nanoGPT `number of parameters: 0.17M`; Lightning
`GPU available: False, used: False`. The TUI's overview and the report show those
`key: value` lines as the log's own config (the lines are the log's words, cleaned
to one printable line), and its GPU model and count as hardware when no other
source said them. A source's parser collects them as it reads (`Collector`, in
runwatch.parsers.source): live following and `check`/`report` see the same lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from runwatch.model import Preamble
from runwatch.text import clip, one_line

MOST = 80
MOST_LINES = 2000
"""Lines read for settings at most: a log with no loss line says nothing more after its start."""
SETTING = re.compile(r"^([A-Za-z][A-Za-z0-9 _./()-]{0,40}?)\s*:\s+(\S.{0,160})$")
LOSS = re.compile(r"loss", re.IGNORECASE)
"""A line that names a loss in any spelling (`loss`, `train_loss: 1.639`, `lm loss`) is training: the
settings are above it."""
NOT_SETTINGS = re.compile(r"^(warn|warning|error|note|info|debug|wandb|traceback|exception|hint)\b", re.IGNORECASE)
BAR = re.compile(r"\|\s*\d+/(?:\d+|\?)\s*\[|━")
"""A progress bar's frame (`Sanity Checking: | | 0/? [00:00<?, ?it/s]`, rich's `━`): progress, no setting."""
WORLD = re.compile(r"world size\s*:\s*(\d+)", re.IGNORECASE)


class Collector:
    """The settings of one log, fed its lines in order until its first loss (or step record)."""

    def __init__(self) -> None:
        self.settings: list[tuple[str, str]] = []
        self.at: list[int] = []
        """The line number of each setting."""
        self.gpu: str | None = None
        self.world: int | None = None
        self.open = True
        self.lines = 0

    def feed(self, raw: str, lineno: int = 0) -> None:
        """One line (number `lineno`) that gave no step record; a line naming a loss ends the settings."""
        self.lines += 1
        if self.lines > MOST_LINES:
            self.open = False
            return
        line = one_line(raw)
        if LOSS.search(line):
            self.open = False
            return
        w = WORLD.search(line)
        if w:
            self.world = int(w.group(1))
        m = SETTING.match(line)
        if m is None or NOT_SETTINGS.match(m.group(1)) or BAR.search(m.group(2)):
            return
        key, value = m.group(1).strip(), m.group(2).strip()
        if key == "GPU":
            self.gpu = value.split("|")[0].strip()
        if len(self.settings) < MOST:
            self.settings.append((key, clip(value, 120)))
            self.at.append(lineno)

    def cut(self, line: int) -> None:
        """Line `line` was a step after all (read again once the log's format was known): the settings end
        before it."""
        keep = sum(1 for at in self.at if at < line)
        del self.settings[keep:], self.at[keep:]
        self.open = False

    def result(self) -> Preamble:
        return Preamble(list(self.settings), self.gpu, self.world)


def preamble(lines: Iterable[str]) -> Preamble:
    """The `key: value` lines before the first line that mentions a loss (at most `MOST`)."""
    found = Collector()
    for raw in lines:
        found.feed(raw)
        if not found.open:
            break
    return found.result()
