"""The typed errors every layer raises for the user's attention, and the exit code each one means.

Only `cli.py` turns them into a message and an exit status (DESIGN §3), so no layer imports the
CLI to report a problem: commands, the planner and config raise these, and `cli.main` prints
`runwatch: <message>` on one line and returns `exit_code`. Any other exception that reaches `cli.main`
is a bug of runwatch's, never the user's input: it is shown with its traceback and exits
`EXIT_INTERNAL`, so a broken invariant (say a `zip(strict=True)` of unequal lengths) no longer reads
as a typo on the command line.
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
EXIT_INTERNAL = 71
"""The exit status of any command that an unexpected exception ended: a bug in runwatch, reported with its
traceback. Not 64, so neither a user nor a CI gate goes looking for a typo; not 70, which `watch` and
`tail` already give when their supervisor gave up (sysexits' EX_SOFTWARE, since before this code
existed) and which asks a service manager for a fresh start; not 1–3, which are `check`'s verdicts.
71 is the first free code after them in the sysexits range (where it is named EX_OSERR; here it means
only "runwatch failed")."""


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


class BadValueError(RunwatchError, ValueError):
    """A value the user gave (a flag, a config key, an environment variable, an address or duration as
    text) is malformed: exit 64, the message saying what is wrong with it.

    Still a `ValueError`, so callers that validate a value (config naming its key, the HTTP API
    answering 400) keep catching it as one; but a bare `ValueError` is no longer taken for bad input:
    one that escapes a command is a bug, reported as `EXIT_INTERNAL` with its traceback."""

    exit_code = EXIT_USAGE
