"""Reading a W&B run's `.wandb` transaction log: runwatch next to wandb-core's own Go reader.

Writes (once; cached in the temp dir) a run of N steps (default 100,000) with
the real wandb SDK in offline mode, four metrics a step and an eval loss every
100 steps, then times, each in its own process and on the same file:

- runwatch: `TransactionLogReader` in 1 MiB windows + `WandbDecoder`, the way
  `runwatch tail` reads a run (process start and imports included);
- `wandb-core leet inspect -json` (the Go binary in the wandb wheel), its
  output read and counted, never parsed.

Prints history rows per second for both, and their ratio. No network is used:
the SDK writes offline and LEET runs with `-no-observability`.

    python benchmarks/wandb_read.py [--steps N] [--cache DIR] [--file RUN.wandb] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WRITER = r"""
import math, random, sys, wandb
steps = int(sys.argv[1])
rng = random.Random(0)
run = wandb.init(project="runwatch-bench", config={"lr": 3e-4, "max_steps": steps})
for i in range(steps):
    row = {"train/loss": 2.0 / (1 + i * 1e-4) + rng.random() * 0.01, "train/grad_norm": 1.0 + rng.random(),
           "train/learning_rate": 3e-4, "perf/tokens_per_sec": 1e5 + rng.random()}
    if i % 100 == 99:
        row["eval/loss"] = 2.1 / (1 + i * 1e-4)
    run.log(row)
run.finish()
"""

RUNWATCH = r"""
import json, os, sys, time
t0 = time.perf_counter()
from runwatch.model import Kind
from runwatch.parsers.wandb import WandbDecoder
from runwatch.parsers.wandb_proto import record_class
from runwatch.watcher.wandb_file import TransactionLogReader
record_class()
t1 = time.perf_counter()
fd = os.open(sys.argv[1], os.O_RDONLY)
reader, decoder = TransactionLogReader(fd, window=1 << 20), WandbDecoder()
steps = records = 0
read_s = decode_s = 0.0
while True:
    a = time.perf_counter()
    got = reader.read(0.0)
    b = time.perf_counter()
    out = decoder.feed(got.records, 0.0)
    c = time.perf_counter()
    read_s, decode_s = read_s + b - a, decode_s + c - b
    records += len(got.records)
    steps += sum(1 for r in out if r.kind == Kind.STEP)
    if not got.more:
        break
print(json.dumps({"import_s": t1 - t0, "read_s": read_s, "decode_s": decode_s, "records": records,
                  "steps": steps}))
"""


def wandb_env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update({"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DIR": str(root),
                "WANDB_CACHE_DIR": str(root / "cache"), "WANDB_CONFIG_DIR": str(root / "config"),
                "WANDB_DATA_DIR": str(root / "data"), "WANDB_DISABLE_CODE": "true", "WANDB_DISABLE_GIT": "true"})
    return env


def run_file(steps: int, cache: Path) -> Path:
    """The cached run of `steps` steps, written with the real SDK when missing."""
    root = cache / f"runwatch-bench-wandb-{steps}"
    found = sorted(root.glob("wandb/offline-run-*/run-*.wandb"))
    if found and (root / "complete").exists():
        return found[-1]
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    print(f"writing a {steps:,}-step run with the wandb SDK (offline) into {root} …", flush=True)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", WRITER, str(steps)], cwd=root, env=wandb_env(root), check=True,
                   stdout=subprocess.DEVNULL)
    print(f"  written in {time.perf_counter() - t:.1f} s", flush=True)
    (root / "complete").touch()
    return sorted(root.glob("wandb/offline-run-*/run-*.wandb"))[-1]


def wandb_core() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("wandb")
    if spec is None or not spec.submodule_search_locations:
        return None
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "wandb-core"
    return binary if binary.exists() else None


def time_runwatch(path: Path) -> dict[str, float]:
    repo = Path(__file__).resolve().parents[1]
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", RUNWATCH, str(path)], cwd=repo, check=True,
                         capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out)
    result["wall_s"] = time.perf_counter() - t
    return result


def time_leet(binary: Path, path: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as config:
        env = {**os.environ, "WANDB_CONFIG_DIR": config}
        cmd = [str(binary), "leet", "inspect", "-json", "-no-observability", "-run-file", str(path)]
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        assert proc.stdout is not None
        history = lines = 0
        tail = b""
        while chunk := proc.stdout.read(1 << 20):
            data = tail + chunk
            cut = data.rfind(b"\n") + 1
            history += data[:cut].count(b'"type":"history"')
            lines += data[:cut].count(b"\n")
            tail = data[cut:]
        code = proc.wait()
        wall = time.perf_counter() - t
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {code}")
    return {"wall_s": wall, "steps": history, "records": lines}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    ap.add_argument("--file", type=Path, help="time this .wandb file instead of the generated run")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each reader; the best is shown")
    args = ap.parse_args()

    path = args.file or run_file(args.steps, args.cache)
    size = path.stat().st_size
    print(f"file: {path} ({size / 2**20:.1f} MiB)")

    ours = min((time_runwatch(path) for _ in range(args.repeat)), key=lambda r: r["wall_s"])
    rate = ours["steps"] / ours["wall_s"]
    print(f"runwatch reader+decoder: {ours['records']:,.0f} records, {ours['steps']:,.0f} history rows in "
          f"{ours['wall_s']:.2f} s wall = {rate:,.0f} rows/s, {size / ours['wall_s'] / 2**20:.1f} MiB/s "
          f"(imports {ours['import_s']:.2f} s, read {ours['read_s']:.2f} s, decode {ours['decode_s']:.2f} s)")

    binary = wandb_core()
    if binary is None:
        print("wandb-core leet inspect: not available (no wandb package with bin/wandb-core)")
        return
    go = min((time_leet(binary, path) for _ in range(args.repeat)), key=lambda r: r["wall_s"])
    go_rate = go["steps"] / go["wall_s"]
    print(f"wandb-core leet inspect -json: {go['records']:,.0f} records, {go['steps']:,.0f} history rows in "
          f"{go['wall_s']:.2f} s wall = {go_rate:,.0f} rows/s, {size / go['wall_s'] / 2**20:.1f} MiB/s")
    print(f"runwatch / leet: {rate / go_rate:.2f}x")


if __name__ == "__main__":
    main()
