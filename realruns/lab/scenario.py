"""What one recorded run is: the command a user would type, its planted fault, what must be found.

Each framework's scenarios live in `realruns/scenarios/<framework>.py` as a module-level
`SCENARIOS` list; `realruns/record.py` collects them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Expect:
    """A finding runwatch must report for this run (none at all for a healthy run).

    `rule` is a runwatch rule id; `cause` narrows it where one rule covers several causes (the
    crash rule's `oom`, `traceback`, `killed`, ...); `resolves` says the alert must resolve before
    the run ends (a spike that recovers, a transient slowdown); `severity` is checked when given.
    """

    rule: str
    cause: str | None = None
    severity: str | None = None
    resolves: bool = False
    metric: str | None = None
    live_only: bool = False
    """Only a live follower can see it: a hang or a slowdown in a log that prints no time, a process
    that dies (one-shot `check` reads a file, not a process)."""


@dataclass(frozen=True)
class Scenario:
    name: str
    """Directory name of the recording: `<framework>-<variant>-<fault>`."""
    framework: str
    argv: tuple[str, ...]
    """The command, run from the run directory. `{py}` is the lab's python, `{scripts}` the scripts
    directory, `{bin}` the lab venv's bin directory (torchrun, accelerate)."""
    fault: str = "none"
    expect: tuple[Expect, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    log: str = "train.log"
    """Where the recorder writes the console output, relative to the run directory."""
    timeout_s: float = 600.0
    device: str = "cpu"
    """`cuda` for a run that needs a GPU (recorded on the device machine; skipped where there is none)."""
    notes: str = ""
    counts: str = "steps"
    """What the log's records count: `steps` (the optimizer's, as the truth log has them), or `epochs` for a loop that
    prints only each epoch's means (the transfer-learning tutorial's `train Loss: … Acc: …`): its record of epoch e
    is at step e, its loss the mean of the truth's losses of that epoch."""
    side_files: tuple[str, ...] = field(default_factory=tuple)
    """Globs of side files the test reads, relative to the run directory (kept whole)."""

    @property
    def healthy(self) -> bool:
        """No fault planted and nothing to find (a launch that fails by itself plants none, yet must be found)."""
        return self.fault == "none" and not self.expect
