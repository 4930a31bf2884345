"""`system.png` from system samples (values as the W&B reader and the GPU sampler make them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from runwatch.model import GpuSample, HostSample, SystemSample
from runwatch.report.plots import PALETTE
from runwatch.report.system import panels, system_plot


def samples(n: int) -> list[SystemSample]:
    return [SystemSample(t=1000.0 + 60 * i,
                         gpus=(GpuSample(0, "H100", util=90.0 + i % 3, mem_used=(60 + i) * 2**30),
                               GpuSample(1, "H100", util=40.0 + i, mem_used=30 * 2**30)),
                         host=HostSample(mem_total=512 * 2**30, mem_available=(400 - i) * 2**30)) for i in range(n)]


def rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])


def test_every_gpu_and_the_host_get_a_line(tmp_path: Path) -> None:
    plot = system_plot(samples(30), tmp_path)
    assert plot is not None and (plot.width, plot.height) == (1000, 750)  # three panels
    from matplotlib.image import imread

    image = (imread(tmp_path / "system.png")[..., :3] * 255).round().astype(np.int64)
    assert image.shape[:2] == (750, 1000)
    for colour in PALETTE[:2]:  # GPU 0 and GPU 1
        assert (np.abs(image - rgb(colour)).sum(axis=-1) < 12).sum() > 200


def test_one_sample_draws_nothing(tmp_path: Path) -> None:
    assert panels(samples(1)) == []
    assert system_plot(samples(1), tmp_path) is None and not (tmp_path / "system.png").exists()
