"""What an `Engine` is asked to do: the options `runwatch watch`, `tail` and the TUI pass it.

Its own module so that the engine's pieces (`runwatch.sources` reads the
polling, format and sampling options) take them without importing the engine,
which imports them: data flows one way. `runwatch.engine` re-exports it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from runwatch.watcher.stacks import PySpy, StackDumper


@dataclass(frozen=True)
class EngineOptions:
    fmt: str | None = None
    poll_only: bool = False
    poll_interval: float = 1.0
    total_steps: int | None = None
    preview: bool = True
    system: bool = True
    """Sample the training processes and the host (psutil) and the GPUs (NVML)."""
    gpu: bool = True
    pids: tuple[int, ...] = ()
    sample_interval: float = 2.0
    stall_floor_s: float = 30.0
    """The least silence that turns a run's badge STALLED (see RunTracker)."""
    stack_dumper: Callable[[], StackDumper | None] = PySpy.find
    """What takes a stalled run's Python stacks (py-spy from PATH, when installed)."""
    nvml: object | None = None
    """An NVML implementation to use instead of the real one (tests, demos)."""
    seen_bytes: Mapping[str, int] = field(default_factory=dict)
    """Bytes of each log (absolute path) a previous `runwatch watch` already judged: its history up to
    there is read again to rebuild the series but not judged again (that daemon sent what it found); the
    follower ends a read exactly there, so the bytes after it are judged, all of them and only them."""
