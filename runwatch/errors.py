"""The typed errors every layer raises for the user's attention, and the exit code each one means.

Only `cli.py` turns them into a message and an exit status (DESIGN §3), so no layer imports the
CLI to report a problem: commands, the planner and config raise these, and `cli.main` prints
`runwatch: <message>` on one line and returns `exit_code`.
"""

from __future__ import annotations

EXIT_USAGE = 64
"""The exit status of a command asked for something it cannot do as asked: a bad flag or value, a config
file with an unknown key (sysexits' EX_USAGE). Not 2: `check` exits 2 when a critical alert fired, and
a CI gate must tell a typo from a NaN."""
EXIT_GAVE_UP = 70
"""The exit status of `watch` and `tail` when runwatch's own threads failed too often (sysexits'
EX_SOFTWARE): the supervisor gave up, and a service manager (systemd `Restart=on-failure`) should
start a fresh one."""


class RunwatchError(Exception):
    """A problem to tell the user in one line; `exit_code` is what the process returns."""

    exit_code = EXIT_USAGE


class UsageError(RunwatchError):
    """What the user asked for cannot be done as asked (a bad flag, '-' given twice): exit 64."""

    exit_code = EXIT_USAGE


class SourceError(RunwatchError):
    """A PATH names nothing readable, or holds nothing runwatch understood: exit 3 (DESIGN §3)."""

    exit_code = 3


class PathError(SourceError):
    """A PATH that names nothing readable (missing, unreadable, no match, nothing runwatch reads)."""
