"""Notifications not delivered yet, kept on disk so a restart does not lose them.

One JSON file per sink in the outbox directory (`<state-dir>/outbox/`):

    {"version": 1, "sink": "slack", "pending": [<notification>, ...],
     "delivered": ["<id>", ...]}

`pending` is in submission order (a firing before its resolved); `delivered`
keeps the ids of the last `DELIVERED_MEMORY` deliveries, so a notification
submitted again after a restart is not sent twice. Files are replaced
atomically (temp file, fsync, `os.replace`), so a crash leaves the old or
the new version, never half of one. They are created 0600: they hold log
lines.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from runwatch.alerts.sinks.codec import notification_from_json, notification_to_json
from runwatch.alerts.types import Notification

OUTBOX_VERSION = 1
DELIVERED_MEMORY = 1000


@dataclass(slots=True)
class Loaded:
    pending: list[Notification] = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Messages for the user: a corrupt file set aside, entries that could not be read."""


class Outbox:
    """The outbox directory; `load` and `save` one sink's file."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.lock = threading.Lock()
        """Held from taking a sink's state to its file's rename: the file ends with the newest state, when the
        engine (a new notification) and the outbox writer (a delivery) save at once."""

    def path(self, sink: str) -> Path:
        """The sink's file; names that are not plain file names get a hash suffix."""
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", sink).lstrip(".") or "sink"
        if safe != sink:
            safe += "-" + hashlib.sha256(sink.encode()).hexdigest()[:8]
        return self.directory / f"{safe}.json"

    def load(self, sink: str) -> Loaded:
        path = self.path(sink)
        out = Loaded()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("version") != OUTBOX_VERSION:
                raise ValueError(f"unsupported outbox version {data.get('version') if isinstance(data, dict) else '?'}")
        except FileNotFoundError:
            return out
        except (OSError, ValueError) as exc:
            out.problems.append(f"outbox file {path.name} unreadable ({type(exc).__name__}); set aside")
            with contextlib.suppress(OSError):
                os.replace(path, path.with_name(path.name + ".corrupt"))
            return out
        for raw in data.get("pending", []):
            try:
                out.pending.append(notification_from_json(raw))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                out.problems.append(f"outbox {path.name}: dropped an unreadable notification ({type(exc).__name__})")
        out.delivered = [str(i) for i in data.get("delivered", [])][-DELIVERED_MEMORY:]
        return out

    def save(self, sink: str, pending: Sequence[Notification], delivered: Sequence[str]) -> None:
        """Replace the sink's file atomically; raises OSError (the caller reports it)."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        document = {
            "version": OUTBOX_VERSION, "sink": sink,
            "pending": [notification_to_json(n) for n in pending],
            "delivered": list(delivered)[-DELIVERED_MEMORY:],
        }
        atomic_write(self.path(sink), json.dumps(document, ensure_ascii=False, allow_nan=False, indent=1))


def atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
