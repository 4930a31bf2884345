"""Run every benchmark in this folder in turn, with its default settings, and print what each prints.

A benchmark is skipped (not failed) when a module it imports at its top
level cannot be found (an optional extra not installed, a part of runwatch
not in this checkout), when it exits with status 77 (its own way of saying
"cannot run here"; its last stderr line says why), or when it dies of a
ModuleNotFoundError. One too long for a round of all (it sets `RUN_ALL_SKIP = "why"` at
its top level) is skipped unless `--only` names it. Each runs in its own process group, killed after
`--timeout` seconds. A summary table closes the output; the exit status is 1
when any benchmark failed or timed out.

    python benchmarks/run_all.py [--only NAME ...] [--skip NAME ...] [--timeout S] [--list]
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SKIP_STATUS = 77


def benchmarks() -> list[Path]:
    return sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_"))


def _module(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, SyntaxError, ValueError):
        return None


def opted_out(path: Path) -> str | None:
    """Why a benchmark stays out of a round of all (its top-level `RUN_ALL_SKIP = "..."`), or None."""
    tree = _module(path)
    for node in tree.body if tree is not None else []:
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "RUN_ALL_SKIP"
                                                 for t in node.targets)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            return node.value.value
    return None


def missing_imports(path: Path) -> list[str]:
    """Modules imported at the top level (outside try blocks) that cannot be found here."""
    tree = _module(path)
    if tree is None:
        return []
    names: list[str] = []
    for node in tree.body:  # module level only: imports inside functions or try blocks are optional
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    siblings = {p.stem for p in HERE.glob("*.py")}
    out = []
    sys.path.insert(0, str(ROOT))  # benchmarks may import from the checkout (tests.…) after adding it
    try:
        for name in dict.fromkeys(names):
            if name.split(".")[0] in siblings or name == "__future__":
                continue
            try:
                found = importlib.util.find_spec(name) is not None
            except (ImportError, ValueError):  # a parent package is missing
                found = False
            if not found:
                out.append(name)
    finally:
        sys.path.remove(str(ROOT))
    return out


def run_one(path: Path, timeout: float) -> tuple[str, float, str]:
    """(status, wall s, note) after running one benchmark with its output passed through."""
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, str(path)], cwd=ROOT, stderr=subprocess.PIPE, text=True,
                         errors="replace", start_new_session=True)
    err_tail: list[str] = []

    def relay() -> None:  # stderr through to ours, keeping its end for the verdict
        assert p.stderr is not None
        for line in p.stderr:
            sys.stderr.write(line)
            sys.stderr.flush()
            err_tail.append(line)
            del err_tail[:-20]

    relay_thread = threading.Thread(target=relay, daemon=True)
    relay_thread.start()
    timed_out = False
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    except KeyboardInterrupt:
        _kill_group(p)
        raise
    finally:
        if p.poll() is None:
            _kill_group(p)
        relay_thread.join(5.0)
        if p.stderr is not None:
            p.stderr.close()
    wall = time.perf_counter() - t0
    last = next((line.strip() for line in reversed(err_tail) if line.strip()), "")
    if timed_out:
        return "timeout", wall, f"killed after {timeout:g} s"
    if p.returncode == 0:
        return "ok", wall, ""
    if p.returncode == SKIP_STATUS:
        return "skipped", wall, last
    if any("ModuleNotFoundError" in line for line in err_tail):
        return "skipped", wall, last
    return "failed", wall, f"exit {p.returncode}: {last}"[:100]


def _kill_group(p: subprocess.Popen[str]) -> None:
    """End the benchmark and whatever it started (its own process group), TERM then KILL."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            break
        try:
            p.wait(grace)
            break
        except subprocess.TimeoutExpired:
            continue


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these (file names, .py optional)")
    ap.add_argument("--skip", nargs="+", default=[], metavar="NAME", help="leave these out")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per benchmark (default 600)")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = ap.parse_args(argv)

    def stem(name: str) -> str:
        return Path(name).stem

    chosen = [p for p in benchmarks()
              if (args.only is None or p.stem in map(stem, args.only)) and p.stem not in map(stem, args.skip)]
    if args.list:
        for p in chosen:
            miss = missing_imports(p)
            why = f"needs {', '.join(miss)}" if miss else opted_out(p)
            print(f"{p.name}{f'  (would be skipped: {why})' if why else ''}")
        return 0
    results: list[tuple[str, str, float, str]] = []
    started = time.perf_counter()
    for p in chosen:
        print(f"\n===== {p.name} " + "=" * max(0, 60 - len(p.name)), flush=True)
        miss = missing_imports(p)
        too_long = None if args.only else opted_out(p)
        if miss or too_long:
            note = too_long or f"needs {', '.join(miss)}"
            print(f"skipped: {note}", flush=True)
            results.append((p.name, "skipped", 0.0, note))
            continue
        status, wall, note = run_one(p, args.timeout)
        sys.stdout.flush()
        print(f"----- {p.name}: {status} in {wall:.1f} s{': ' + note if note else ''}", flush=True)
        results.append((p.name, status, wall, note))

    print(f"\n===== summary ({time.perf_counter() - started:.0f} s, {os.cpu_count()} CPUs) " + "=" * 30)
    width = max((len(r[0]) for r in results), default=10) + 2
    for name, status, wall, note in results:
        print(f"{name:{width}}{status:9}{wall:8.1f} s  {note}")
    return 1 if any(r[1] in ("failed", "timeout") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
