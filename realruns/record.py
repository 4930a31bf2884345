"""Record real training runs byte for byte, with the arrival time of every chunk.

    realruns/.venv/bin/python realruns/record.py [NAME_OR_GLOB ...] [--out tests/fixtures/realruns]

For each scenario the command runs in a fresh run directory with its stdout and stderr on one
pipe, exactly as `python train.py 2>&1 | tee train.log` would see them (stdout is a pipe, not a
terminal; `\\r`, `\\b` and escape sequences are kept). The recorder plays `tee`: every chunk it
reads is appended to the log at once and its arrival time noted, so a test can replay the run into
a growing file at its real pace. Afterwards the run directory is copied into the fixtures with
model weights emptied (names and sizes kept in the manifest) and `manifest.json` written with the
ground truth read back from what was recorded (`truth.py`).

Layout of one recording:
    NAME/manifest.json      framework, versions, command, fault, rc, ground truth, expected findings
    NAME/chunks.tsv         "seconds_since_start<TAB>end_offset" per chunk read from the pipe
    NAME/side.tsv           "seconds_since_start<TAB>path<TAB>size" each time a side file (any file of the
                            run directory but the log: per-rank logs, metrics.csv, tfevents) was seen to
                            change size, polled every `SIDE_POLL_S`, so a test can grow them at their pace too
    NAME/truth/*.jsonl      what the training loop itself knew (per rank), outside the run dir
    NAME/run/               what the user's directory holds: the log and the framework's side files
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import json
import os
import platform
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from lab.scenario import Scenario  # noqa: E402
from scenarios import all_scenarios  # noqa: E402
from truth import ground_truth  # noqa: E402

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".keras", ".h5", ".npz", ".pkl")
"""Files that hold weights or optimizer state: emptied in the fixture (their size is kept)."""
SIDE_POLL_S = 0.05
"""How often the recorder looks at the run directory's other files while it tees the log."""
FRAMEWORKS = ("torch", "transformers", "lightning", "keras", "accelerate", "tensorboard", "wandb",
              "tqdm", "rich", "numpy", "fastai", "fastprogress")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in FRAMEWORKS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def expand(argv: tuple[str, ...]) -> list[str]:
    bin_dir = str(Path(sys.executable).parent)
    subs = {"{py}": sys.executable, "{scripts}": str(HERE / "scripts"), "{bin}": bin_dir}
    out = []
    for a in argv:
        for k, v in subs.items():
            a = a.replace(k, v)
        out.append(a)
    return out


Side = list[tuple[float, str, int]]
"""(seconds since start, path relative to the run directory, size) of each change seen."""


class SideFiles:
    """The sizes of the run directory's files other than the log, as they change."""

    def __init__(self, run_dir: Path, log_path: Path) -> None:
        self.run_dir, self.log_path = run_dir, log_path
        self.sizes: dict[str, int] = {}
        self.seen: Side = []

    def look(self, t: float) -> None:
        for p in sorted(self.run_dir.rglob("*")):
            if p == self.log_path or not p.is_file() or p.is_symlink():
                continue
            rel = str(p.relative_to(self.run_dir))
            with contextlib.suppress(OSError):
                size = p.stat().st_size
                if self.sizes.get(rel) != size:
                    self.sizes[rel] = size
                    self.seen.append((t, rel, size))


def run_and_tee(sc: Scenario, run_dir: Path, truth_dir: Path) -> tuple[int, float, list[tuple[float, int]], Side]:
    """Run the scenario's command on a pipe; append each chunk to the log as it arrives, and note the
    side files' sizes every `SIDE_POLL_S`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COLUMNS", "LINES"))}
    env.update({
        "RUNWATCH_LAB_FAULT": sc.fault,
        "RUNWATCH_LAB_TRUTH": str(truth_dir / "rank{rank}.jsonl"),
        "PYTHONPATH": os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "TERM": env.get("TERM", "xterm-256color"),
        "WANDB_MODE": "offline", "WANDB_SILENT": "false", "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false", "KERAS_BACKEND": "torch",
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    })
    env.update(dict(sc.env))
    log_path = run_dir / sc.log
    log_path.parent.mkdir(parents=True, exist_ok=True)
    chunks: list[tuple[float, int]] = []
    t0 = time.monotonic()
    proc = subprocess.Popen(expand(sc.argv), cwd=run_dir, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    size = 0
    deadline = t0 + sc.timeout_s
    side = SideFiles(run_dir, log_path)
    next_look = t0
    with open(log_path, "wb", buffering=0) as log:
        while True:
            now = time.monotonic()
            if now > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                print(f"  {sc.name}: timed out after {sc.timeout_s:.0f}s", file=sys.stderr)
            if now >= next_look:
                side.look(now - t0)
                next_look = now + SIDE_POLL_S
            if not select.select([fd], [], [], SIDE_POLL_S)[0]:
                continue
            data = os.read(fd, 1 << 16)
            if not data:
                break
            log.write(data)
            size += len(data)
            chunks.append((time.monotonic() - t0, size))
    rc = proc.wait()
    side.look(time.monotonic() - t0)  # what the run wrote as it ended
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # a launcher's orphans (a hung rank) go with it
    return rc, time.monotonic() - t0, chunks, side.seen


def strip_weights(run_dir: Path) -> dict[str, int]:
    """Empty weight files (the fixture keeps names and directory layout, not tensors)."""
    emptied = {}
    for p in sorted(run_dir.rglob("*")):
        if p.is_file() and p.suffix in WEIGHT_SUFFIXES:
            emptied[str(p.relative_to(run_dir))] = p.stat().st_size
            p.write_bytes(b"")
    for p in sorted(run_dir.rglob("*"), reverse=True):  # caches and sockets the run left behind
        if p.is_dir() and p.name in ("__pycache__", ".cache"):
            shutil.rmtree(p)
        elif p.is_socket() or p.is_fifo():
            p.unlink()
    return emptied


def record(sc: Scenario, out_root: Path) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix=f"lab-{sc.name}-"))
    run_dir, truth_dir = work / "run", work / "truth"
    run_dir.mkdir()
    truth_dir.mkdir()
    started = time.time()
    rc, duration, chunks, side = run_and_tee(sc, run_dir, truth_dir)
    emptied = strip_weights(run_dir)
    dest = out_root / sc.name
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(work, dest, symlinks=True)  # `wandb/latest-run` stays a link, not a second copy
    shutil.rmtree(work)
    (dest / "chunks.tsv").write_text("".join(f"{t:.4f}\t{off}\n" for t, off in chunks))
    (dest / "side.tsv").write_text("".join(f"{t:.4f}\t{rel}\t{n}\n" for t, rel, n in side))
    truth = ground_truth(dest, sc, chunks, started)
    manifest = {
        "name": sc.name,
        "framework": sc.framework,
        "versions": versions(),
        "command": expand(sc.argv),
        "log": f"run/{sc.log}",
        "fault": sc.fault,
        "healthy": sc.healthy,
        "notes": sc.notes,
        "counts": sc.counts,
        "started_unix": round(started, 3),
        "duration_s": round(duration, 3),
        "exit_code": rc,
        "log_bytes": chunks[-1][1] if chunks else 0,
        "weights_emptied": emptied,
        "truth": truth,
        "expect": [{k: v for k, v in vars(e).items() if v not in (None, False)} for e in sc.expect],
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def dir_size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="scenario names or globs (default: all)")
    ap.add_argument("--out", type=Path, default=HERE.parent / "tests" / "fixtures" / "realruns")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args(argv)
    scenarios = all_scenarios()
    chosen = [s for n, s in scenarios.items() if not args.names or any(fnmatch.fnmatch(n, g) for g in args.names)]
    if args.list or not chosen:
        for s in scenarios.values():
            print(f"{s.name:40s} {s.fault:16s} {' '.join(s.argv)}")
        return 0 if chosen or args.list else 2
    args.out.mkdir(parents=True, exist_ok=True)
    for sc in chosen:
        if sc.device == "cuda" and shutil.which("nvidia-smi") is None:
            print(f"skipping {sc.name}: it needs a GPU (no nvidia-smi here)", flush=True)
            continue
        print(f"recording {sc.name} (fault {sc.fault}) ...", flush=True)
        m = record(sc, args.out)
        size = dir_size(args.out / sc.name)
        flag = "  OVER 300 KB" if size > 300_000 else ""
        print(f"  rc={m['exit_code']} {m['duration_s']:.1f}s log={m['log_bytes']}B dir={size}B{flag}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
