"""Lightning's CSVLogger as it writes metrics.csv, and the real corpus rows to feed it."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.support.corpus import md_block


class LightningCsv:
    """lightning_fabric's CSVLogger `save()` as quoted in corpus/lightning.md §1b: sorted union of keys,
    the whole file rewritten in place with the wider header when a new key appears, rows appended
    otherwise. `saving()` is one save, yielding after each change to the file (the truncation, each
    write) whether the file is now whole; with `piece` the bytes go out `piece()` at a time, else in
    one write."""

    def __init__(self, path: Path, piece: Callable[[], int] | None = None) -> None:
        self.path = path
        self.piece = piece
        self.metrics: list[dict[str, str]] = []
        self.metrics_keys: list[str] = []

    def log_metrics(self, row: dict[str, str]) -> None:
        self.metrics.append(dict(row))

    def save(self) -> None:
        for _ in self.saving():
            pass

    def saving(self) -> Iterator[bool]:
        new_keys = set().union(*self.metrics) - set(self.metrics_keys)
        self.metrics_keys = sorted([*self.metrics_keys, *new_keys])
        exists = self.path.is_file()
        if new_keys and exists:
            with open(self.path, newline="") as f:
                old = list(csv.DictReader(f))
            yield from self._write("wb", old, header=True)
        yield from self._write("ab" if exists else "wb", self.metrics, header=not exists)
        self.metrics = []

    def _write(self, mode: str, rows: list[dict[str, str]], header: bool) -> Iterator[bool]:
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fieldnames=self.metrics_keys)
        if header:
            writer.writeheader()
        writer.writerows(rows)
        data = text.getvalue().encode()
        with open(self.path, mode, buffering=0) as f:
            if mode == "wb":
                yield not data  # truncated, nothing written yet
            pos = 0
            while pos < len(data):
                end = pos + (self.piece() if self.piece is not None else len(data))
                f.write(data[pos:end])
                pos = end
                yield pos >= len(data)


def corpus_rows() -> list[dict[str, str]]:
    return [{k: v for k, v in row.items() if v != ""} for row in csv.DictReader(md_block("lightning.md", "CSV1"))]
