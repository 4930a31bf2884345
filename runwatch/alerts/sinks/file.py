"""The file sink: one JSON payload per line, appended.

The file is opened for each notification (alerts are rare), so a log
rotator that renames it is followed without a reload. Each line goes out in
one `write` on an O_APPEND descriptor, so two runwatch processes sharing a
file do not interleave half-lines.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runwatch.alerts.sinks.base import PermanentError, RetryableError, SinkConfigError, SinkFilter
from runwatch.alerts.sinks.settings import SettingKind, setting
from runwatch.alerts.types import Notification

_PERMANENT_ERRNOS = {errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR, errno.EROFS}


class FileSink:
    """Appends payloads to `path` as JSON lines; `fsync=True` makes each line durable first."""

    kind = "file"

    @dataclass(frozen=True)
    class Settings:
        path: Path | None = setting(SettingKind.PATH, required=True, doc="JSON lines are appended here")
        fsync: bool = setting(SettingKind.BOOL, False, doc="fsync after every line")

    @classmethod
    def from_settings(cls, name: str, settings: Settings, filter: SinkFilter,
                      environ: Mapping[str, str]) -> FileSink:
        if settings.path is None:
            raise SinkConfigError(f"file sink '{name}': 'path' is required", key="path")
        return cls(name, path=settings.path, fsync=settings.fsync, filter=filter)

    def __init__(
        self, name: str = "file", *, path: str | os.PathLike[str], fsync: bool = False,
        filter: SinkFilter | None = None,
    ) -> None:
        self.name = name
        self.label = f"file sink '{name}'"
        self.filter = filter or SinkFilter()
        self.path = Path(path).expanduser()
        if self.path.is_dir():
            raise SinkConfigError(f"{self.label}: path {str(self.path)!r} is a directory")
        self.fsync = fsync

    def send(self, payload: dict[str, Any], notification: Notification) -> None:
        line = (json.dumps(payload, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8", "replace")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            what = f"{self.label}: cannot append to {str(self.path)!r}: {exc.strerror or type(exc).__name__}"
            raise (PermanentError if exc.errno in _PERMANENT_ERRNOS else RetryableError)(what) from None
