"""Memory and speed of the state layer on a very long run.

Feeds N synthetic step records (6 metrics each, numpy-generated, with a few
NaNs and one loss spike) through `RunTracker.apply`, then prints records/s,
peak RSS, the series' bytes, and whether the spike and the NaNs are still
visible in `downsample(200)`. Target: under 150 MB peak RSS for 10M steps.

    python benchmarks/series_memory.py [--steps N]
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time

import numpy as np

from runwatch.model import Kind, Record
from runwatch.state.run import RunTracker

CHUNK = 20_000
METRICS = ("loss", "grad_norm", "lr", "step_time", "tokens_per_sec", "mfu")


def peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


def columns(rng: np.random.Generator, start: int, n: int, total: int) -> list[list[float]]:
    """One chunk of the six metrics as Python floats (what a parser hands over)."""
    steps = np.arange(start, start + n, dtype=np.float64)
    loss = 2.0 + 8.0 * np.exp(-steps / (total / 20)) + rng.normal(0, 0.02, n)
    grad = np.abs(rng.normal(1.0, 0.1, n))
    lr = 3e-4 * np.minimum(1.0, (total - steps) / (total / 5))
    step_time = 0.65 + rng.normal(0, 0.005, n)
    tps = 8e5 + rng.normal(0, 5e3, n)
    mfu = 50 + rng.normal(0, 0.3, n)
    return [a.tolist() for a in (loss, grad, lr, step_time, tps, mfu)]


def plant(cols: list[list[float]], start: int, total: int) -> None:
    """A loss spike at 37% and NaNs at 61% (loss) and 83% (grad_norm), if in this chunk."""
    n = len(cols[0])
    for frac, metric, value in ((0.37, 0, 1e3), (0.61, 0, math.nan), (0.83, 1, math.nan)):
        i = int(total * frac) - start
        if 0 <= i < n:
            cols[metric][i] = value


def run(steps: int) -> int:
    baseline = peak_rss_mb()
    rng = np.random.default_rng(0)
    tracker = RunTracker("bench", "synthetic")
    t0 = 1.7e9
    started = time.perf_counter()
    for start in range(0, steps, CHUNK):
        n = min(CHUNK, steps - start)
        cols = columns(rng, start, n, steps)
        plant(cols, start, steps)
        apply = tracker.apply
        for i, values in enumerate(zip(*cols, strict=True)):
            step = start + i
            rec = Record(Kind.STEP, step=step, total_steps=steps, t=t0 + 0.65 * step,
                         metrics=dict(zip(METRICS, values, strict=True)))
            apply(rec, t0 + 0.65 * step)
    elapsed = time.perf_counter() - started
    snap = tracker.snapshot(t0 + 0.65 * steps)

    _, _, loss_max, _ = tracker.store["loss", None].downsample(200)
    _, _, grad_max, _ = tracker.store["grad_norm", None].downsample(200)
    spike = bool(np.nanmax(loss_max) >= 1e3)
    loss_nan = bool(np.isnan(loss_max).any())
    grad_nan = bool(np.isnan(grad_max).any())
    print(f"steps            {steps:,} × {len(METRICS)} metrics")
    print(f"records/s        {steps / elapsed:,.0f}  ({elapsed:.1f} s)")
    print(f"peak RSS         {peak_rss_mb():.1f} MB (interpreter + numpy before feeding: {baseline:.1f} MB)")
    print(f"series nbytes    {tracker.store.nbytes / 2**20:.2f} MB in {len(tracker.store)} series")
    print(f"progress         step {snap.progress.step}/{snap.progress.total_steps} "
          f"eta {snap.progress.eta_s} ({snap.progress.eta_basis}) state {snap.state}")
    print(f"visible in downsample(200): spike={spike} loss NaN={loss_nan} grad_norm NaN={grad_nan}")
    return 0 if spike and loss_nan and grad_nan else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000_000)
    return run(parser.parse_args(argv).steps)


if __name__ == "__main__":
    raise SystemExit(main())
