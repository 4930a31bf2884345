"""`system.png`: the training machine over the run, from the system samples its sources carried.

A W&B run records its machine's GPUs and memory (`SystemSample`s, the same
values the live GPU view shows); a report draws each GPU's utilisation and
memory, and the host's memory, over the time since the first sample, when two
samples or more hold them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from runwatch.model import SystemSample
from runwatch.report.document import Image
from runwatch.report.plots import PALETTE, figure, save, time_unit

GIB = float(2**30)
Series = dict[str, list[tuple[float, float]]]
"""A panel's lines: name → (time, value) points."""


def panels(samples: Sequence[SystemSample]) -> list[tuple[str, Series]]:
    """(y label, lines) of every panel with two points or more in some line."""
    got: list[tuple[str, Series]] = [
        ("GPU utilisation %", _gpus(samples, lambda g: g.util)),
        ("GPU memory used, GiB", _gpus(samples, lambda g: g.mem_used / GIB if g.mem_used is not None else None)),
        ("host memory used, GiB", _host(samples)),
    ]
    return [(label, lines) for label, lines in got if any(len(p) >= 2 for p in lines.values())]


def _gpus(samples: Sequence[SystemSample], value: Callable[..., float | None]) -> Series:
    out: Series = {}
    for s in samples:
        for g in s.gpus:
            v = value(g)
            if v is not None:
                out.setdefault(f"GPU {g.index}", []).append((s.t, float(v)))
    return out


def _host(samples: Sequence[SystemSample]) -> Series:
    points = [(s.t, (s.host.mem_total - s.host.mem_available) / GIB) for s in samples
              if s.host is not None and s.host.mem_total and s.host.mem_available is not None]
    return {"used": points} if points else {}


def system_plot(samples: Sequence[SystemSample], out: Path) -> Image | None:
    found = panels(samples)
    if not found:
        return None
    t0 = min(s.t for s in samples)
    scale, unit = time_unit(max(s.t for s in samples) - t0)
    fig, axes = figure(len(found), 2.5 * len(found))
    for ax, (label, lines) in zip(axes, found, strict=True):
        for i, (name, points) in enumerate(sorted(lines.items())):
            t, v = np.array(points).T
            ax.plot((t - t0) / scale, v, color=PALETTE[i % len(PALETTE)], linewidth=1.2, label=name)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        if len(lines) > 1:
            ax.legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel(f"{unit} since the first sample")
    return save(fig, out, "system.png", "the training machine: " + ", ".join(label for label, _ in found))
