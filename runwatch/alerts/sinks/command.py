"""The command sink: run the user's program with the alert as JSON on stdin.

Never a shell: `argv` goes to `subprocess.Popen` as a list, so text from a
log (`$(...)`, backticks, quotes, `; rm -rf`) reaches the program only as
bytes inside the JSON document. The environment gains RUNWATCH_ALERT_STATE,
_RULE and _SEVERITY, filled from runwatch's own enums and rule ids only,
never from log text.

Failure policy: a timeout (the process group is killed) or a nonzero exit
is retried, since a notifier can fail for a moment (no display, a busy
server); after `attempts` failed tries of the same notification it becomes
permanent, so a broken script is reported once instead of retried forever.
A program that cannot be started is a configuration error, found when the
sink is built.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runwatch import patterns
from runwatch.alerts.sinks.base import PermanentError, RetryableError, SinkConfigError, SinkFilter
from runwatch.alerts.sinks.redact import redact, register_secret
from runwatch.alerts.sinks.settings import SettingKind, setting
from runwatch.alerts.types import Notification
from runwatch.text import clip, one_line

_RULE_ID = patterns.compile(r"[A-Za-z0-9_.:-]{1,100}")
_MAX_TRACKED = 256


class CommandSink:
    """Runs `argv` once per notification; see the module docstring for the failure policy."""

    kind = "command"

    @dataclass(frozen=True)
    class Settings:
        run: tuple[str, ...] | None = setting(
            SettingKind.ARGV, required=True, doc="argv, no shell; the alert arrives as JSON on stdin")
        timeout: float = setting(SettingKind.DURATION, 30.0, doc="per run")
        attempts: int = setting(SettingKind.INT, 3, doc="tries on failure")

    @classmethod
    def from_settings(cls, name: str, settings: Settings, filter: SinkFilter,
                      environ: Mapping[str, str]) -> CommandSink:
        if settings.run is None:
            raise SinkConfigError(f"command sink '{name}': 'run' (an argv list) is required", key="run")
        return cls(name, argv=settings.run, timeout=settings.timeout, attempts=settings.attempts, filter=filter)

    def __init__(
        self, name: str = "command", *, argv: Sequence[str], timeout: float = 30.0, attempts: int = 3,
        filter: SinkFilter | None = None, env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.label = f"command sink '{name}'"
        self.filter = filter or SinkFilter()
        if isinstance(argv, str) or not argv or not all(isinstance(a, str) for a in argv):
            raise SinkConfigError(f"{self.label}: run must be a non-empty list of strings (no shell is used)")
        if timeout <= 0 or attempts < 1:
            raise SinkConfigError(f"{self.label}: timeout must be positive and attempts at least 1")
        for arg in argv:
            if "://" in arg:
                register_secret(arg)  # a URL in argv may carry a token
        self.program = _find(self.label, argv[0])
        self.argv = [self.program, *argv[1:]]
        self.timeout = timeout
        self.attempts = attempts
        self._env = dict(os.environ if env is None else env)
        self._failures: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"CommandSink(name={self.name!r}, program={os.path.basename(self.program)!r})"

    def send(self, payload: dict[str, Any], notification: Notification) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8", "replace") + b"\n"
        try:
            proc = subprocess.Popen(
                self.argv, shell=False, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                env=self._child_env(notification), close_fds=True, start_new_session=True,
            )
        except (FileNotFoundError, PermissionError) as exc:
            raise PermanentError(f"{self.label}: cannot run {os.path.basename(self.program)!r}: {exc.strerror}") from None
        except OSError as exc:  # out of processes or memory: may pass
            raise RetryableError(f"{self.label}: cannot start: {exc.strerror or type(exc).__name__}") from None
        try:
            _, err = proc.communicate(data, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            raise self._failed(notification, f"timed out after {self.timeout:g}s; killed") from None
        if proc.returncode != 0:
            raise self._failed(notification, _exit_text(proc.returncode) + _stderr_tail(err))
        self._failures.pop(notification.id, None)

    def _child_env(self, notification: Notification) -> dict[str, str]:
        env = dict(self._env)
        rule = notification.alert.rule
        env["RUNWATCH_ALERT_STATE"] = str(notification.state)
        env["RUNWATCH_ALERT_SEVERITY"] = str(notification.alert.severity)
        env["RUNWATCH_ALERT_RULE"] = rule if _RULE_ID.fullmatch(rule) else "unknown"
        return env

    def _failed(self, notification: Notification, what: str) -> Exception:
        tries = self._failures.pop(notification.id, 0) + 1
        if tries >= self.attempts:
            return PermanentError(f"{self.label}: {what} (gave up after {tries} tries)")
        self._failures[notification.id] = tries
        while len(self._failures) > _MAX_TRACKED:
            del self._failures[next(iter(self._failures))]
        return RetryableError(f"{self.label}: {what}")


def _find(label: str, program: str) -> str:
    """The program's path, checked now so a typo is a config error and not a lost alert."""
    found = shutil.which(program)
    if found is None:
        raise SinkConfigError(f"{label}: program {os.path.basename(program)!r} not found or not executable")
    return found


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the whole process group (the program and anything it started), then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    try:
        proc.communicate(timeout=2.0)
    except subprocess.TimeoutExpired:  # a grandchild left the group and holds our pipe
        if proc.stderr is not None:
            proc.stderr.close()
        proc.wait()


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def _stderr_tail(err: bytes | None) -> str:
    text = clip(redact(one_line((err or b"")[-1000:].decode("utf-8", "replace"))), 200, keep="tail")
    return f": {text}" if text else ""
