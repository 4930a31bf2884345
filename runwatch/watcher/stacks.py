"""Where a stalled run is stuck: the Python stack of each training process, through `py-spy dump`.

A stall alert that says "no new step for 4 minutes" leaves the person it wakes to find out why; one
that shows rank 1 sleeping in `all_reduce` and rank 0 in the data loader's `__next__` has done that
already. `py-spy` reads another process's stack from outside (it needs ptrace rights: the same
user with `kernel.yama.ptrace_scope` 0 or 1 for a non-child, or CAP_SYS_PTRACE), so it is an
optional extra (`pip install 'runwatch[stacks]'`), looked up on PATH. A dump takes 50–500 ms, so it
never runs on the engine's thread: the engine asks for one per stall, on a thread of its own, when
the run's badge turns STALLED (before the stall alert fires), and hands the result to the alerts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from runwatch.model import StackDump
from runwatch.watcher.lines import strip_escapes

NO_PY_SPY = "py-spy not installed: no Python stacks (pip install 'runwatch[stacks]'; it needs ptrace rights)"
PERMISSION_HINT = ("py-spy was denied: no ptrace rights: run runwatch as the training's user with "
                   "kernel.yama.ptrace_scope ≤ 1, or give it CAP_SYS_PTRACE")
MAX_FRAMES = 15
"""Innermost frames kept per thread: where it waits, and enough of what called it."""
MAX_THREADS = 8
MAX_LINE = 200
TIMEOUT_S = 5.0
"""Longest wait for one process's dump (py-spy takes well under a second when it can read it)."""
QUIET = {"RUST_BACKTRACE": "0", "RUST_LIB_BACKTRACE": "0"}
"""py-spy is written in Rust: a set RUST_BACKTRACE turns its one-line errors into pages."""


class StackDumper(Protocol):
    """What takes a process's Python stacks (py-spy; a fake in tests)."""

    def dump(self, pid: int, now: float) -> StackDump: ...


class PySpy:
    """`py-spy dump --pid PID`, its output cleaned (no control sequence reaches a terminal or Slack)."""

    def __init__(self, exe: str, timeout_s: float = TIMEOUT_S) -> None:
        self.exe, self.timeout_s = exe, timeout_s

    @classmethod
    def find(cls) -> PySpy | None:
        """py-spy on PATH, else beside this Python (the `stacks` extra, in a venv not activated)."""
        exe = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
        return cls(exe) if exe else None

    def dump(self, pid: int, now: float) -> StackDump:
        try:
            done = subprocess.run([self.exe, "dump", "--pid", str(pid)], capture_output=True, timeout=self.timeout_s,
                                  check=False, stdin=subprocess.DEVNULL, env={**os.environ, **QUIET})
        except subprocess.TimeoutExpired:
            return StackDump(pid, now, error=f"py-spy dump timed out after {self.timeout_s:g} s")
        except OSError as e:
            return StackDump(pid, now, error=f"py-spy could not run: {e.strerror or e}")
        out = trim_dump(clean(done.stdout.decode("utf-8", "replace").splitlines()))
        if done.returncode != 0 or not out:
            return StackDump(pid, now, error=dump_error(clean(done.stderr.decode("utf-8", "replace").splitlines()),
                                                        done.returncode))
        return StackDump(pid, now, lines=out)


def clean(lines: Sequence[str]) -> list[str]:
    """Lines without escapes and control characters, each cut to `MAX_LINE`."""
    return [strip_escapes(raw).replace("\t", "    ").rstrip()[:MAX_LINE] for raw in lines]


def trim_dump(lines: Sequence[str], max_frames: int = MAX_FRAMES, max_threads: int = MAX_THREADS) -> tuple[str, ...]:
    """py-spy's dump without its header (process, Python version), bounded: MainThread first, each
    thread's innermost `max_frames` frames (py-spy prints the innermost first), `max_threads` threads."""
    threads: list[list[str]] = []
    for line in lines:
        if line.startswith("Thread "):
            threads.append([line])
        elif threads and line.strip():
            threads[-1].append(line)
    threads.sort(key=lambda t: '"MainThread"' not in t[0])  # stable: py-spy's order otherwise
    out: list[str] = []
    for header, *frames in threads[:max_threads]:
        out.append(header)
        out.extend(frames[:max_frames])
        if len(frames) > max_frames:
            out.append(f"    … {len(frames) - max_frames} outer frames")
    if len(threads) > max_threads:
        out.append(f"… {len(threads) - max_threads} more threads")
    return tuple(out)


def dump_error(lines: Sequence[str], code: int) -> str:
    """py-spy's failure as one line: a permission error says what rights are missing."""
    said = [ln.strip() for ln in lines if ln.strip()]
    if any("permission denied" in ln.lower() for ln in said):
        return PERMISSION_HINT
    if not said:
        return f"py-spy dump failed (exit code {code})"
    return f"py-spy dump failed: {said[0].removeprefix('Error: ')}"


class StallStacks:
    """Takes the stacks of a stalled run's processes once per stall, on a thread of its own.

    `ask` is called on every engine tick and is cheap: it starts a dump only when a run is stalled,
    its processes are known, and this stall (named by when its last step arrived) has not been dumped
    yet. The dumps go to `deliver` (the engine's queue), never into shared state from this thread.
    """

    def __init__(self, dumper: StackDumper | None, deliver: Callable[[list[StackDump]], None],
                 clock: Callable[[], float]) -> None:
        self.dumper, self.deliver, self.clock = dumper, deliver, clock
        self._asked: dict[str, float] = {}

    @property
    def note(self) -> str:
        """What a stall alert says once when no stack can be taken at all."""
        return "" if self.dumper is not None else NO_PY_SPY

    def ask(self, run: str, last_step_at: float | None, stalled: bool, pids: Sequence[int]) -> bool:
        """Start dumping `pids` for `run`'s stall if due; whether it started."""
        if not stalled or last_step_at is None or not pids or self.dumper is None:
            return False
        if self._asked.get(run) == last_step_at:
            return False
        self._asked[run] = last_step_at
        threading.Thread(target=self._dump, args=(self.dumper, tuple(pids)), name="runwatch-stacks",
                         daemon=True).start()
        return True

    def _dump(self, dumper: StackDumper, pids: tuple[int, ...]) -> None:
        dumps = []
        for pid in pids:
            try:
                dumps.append(dumper.dump(pid, self.clock()))
            except Exception as e:  # a dumper's bug costs its stacks, never a thread of the engine
                dumps.append(StackDump(pid, self.clock(), error=f"stack dump failed: {type(e).__name__}: {e}"))
        self.deliver(dumps)
