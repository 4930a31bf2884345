"""State on disk (DESIGN §7): what a restarted daemon needs so it sends nothing twice.

`StateDir` is a directory of small JSON files, each written atomically (temp
file in the same directory, fsync, `os.replace`, fsync of the directory), so a
crash or power cut leaves either the old file or the new one, never half of
each. Reading never crashes: a missing file gives the default; a corrupt or
foreign one is moved aside to `NAME.corrupt`, reported once (logging and
`StateDir.notes`), and the default is used.

Files:
- `alerts.json`: alert states and the ids of notifications already sent (`AlertStore`).
- `silences.json`: silences; also written by `runwatch silence` while a daemon runs,
  hence read-modify-write under a lock file (`AlertStore.silences_lock`).
- `offsets.json`: read positions per log file (`OffsetStore`).

One daemon per state directory is assumed for `alerts.json`; offsets and
silences are merged under a lock, so other processes may share those.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from runwatch.alerts.types import Alert, Matcher, Silence
from runwatch.model import AlertState, Severity, json_number

try:  # POSIX only; elsewhere the locks are no-ops
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
STALE_TEMP_S = 3600.0
"""Temp files older than this are leftovers of a crash and are removed."""


def default_state_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_dir("runwatch"))


class StateDir:
    """A directory of atomically written JSON files; created (mode 0o700) on first write."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_state_dir()
        self.notes: list[str] = []
        """One line per problem met (corrupt file, failed write), for the user."""
        self._warned: set[str] = set()
        self._ready = False

    def __repr__(self) -> str:
        return f"StateDir({str(self.path)!r})"

    def file(self, name: str) -> Path:
        return self.path / name

    def ensure(self) -> Path:
        """Create the directory (0o700, private: it holds what your runs did) and sweep old temp files."""
        if not self._ready:
            self.path.mkdir(parents=True, mode=0o700, exist_ok=True)
            self._sweep_temps()
            self._ready = True
        return self.path

    def read_json(self, name: str, default: Any) -> Any:
        """The data in `name`, or `default` when missing, unreadable, corrupt or of another type."""
        p = self.file(name)
        try:
            raw = p.read_bytes()
        except FileNotFoundError:
            return default
        except OSError as e:
            self.warn(name, f"state file {p} is unreadable ({e.strerror}); using defaults")
            return default
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            self._set_aside(name, f"not valid JSON ({_short(e)})")
            return default
        if default is not None and not isinstance(data, type(default)):
            self._set_aside(name, f"holds a {type(data).__name__}, expected a {type(default).__name__}")
            return default
        return data

    def write_json(self, name: str, data: Any) -> None:
        """Replace `name` with `data` atomically. Strict JSON: NaN must be encoded by the caller."""
        body = (json.dumps(data, allow_nan=False, separators=(",", ":")) + "\n").encode()
        d = self.ensure()
        fd, tmp = tempfile.mkstemp(dir=d, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.file(name))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(d)

    def stamp(self, name: str) -> tuple[int, int, int] | None:
        """(inode, mtime_ns, size) of `name`, None when missing: changes whenever the file is replaced."""
        try:
            st = self.file(name).stat()
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """An exclusive advisory lock (`NAME.lock`) for read-modify-write across processes."""
        self.ensure()
        fd = os.open(self.file(name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def warn(self, name: str, message: str) -> None:
        """Report a problem with `name` once per StateDir (logging and `notes`)."""
        if name in self._warned:
            return
        self._warned.add(name)
        self.notes.append(message)
        log.warning("%s", message)

    def _set_aside(self, name: str, why: str) -> None:
        p = self.file(name)
        kept = p.with_name(name + ".corrupt")
        try:
            os.replace(p, kept)
            where = f"kept as {kept.name}"
        except OSError:
            where = "left in place"
        self.warn(name, f"state file {p} {why}; {where}, starting from defaults")

    def _sweep_temps(self) -> None:
        cutoff = time.time() - STALE_TEMP_S
        for p in self.path.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                if p.stat().st_mtime < cutoff:
                    p.unlink()


def _fsync_dir(d: Path) -> None:
    """Make the rename itself durable (best effort: some filesystems refuse)."""
    with contextlib.suppress(OSError):
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _short(e: Exception) -> str:
    if isinstance(e, json.JSONDecodeError):
        return f"{e.msg} at line {e.lineno} column {e.colno}"
    return str(e)[:80]


class AlertStore:
    """Alert states, sent notification ids and silences in a `StateDir`."""

    ALERTS = "alerts.json"
    SILENCES = "silences.json"

    def __init__(self, state: StateDir | Path | str | None = None, *, max_sent: int = 10_000) -> None:
        self.state = state if isinstance(state, StateDir) else StateDir(state)
        self.max_sent = max_sent

    def load_alerts(self) -> tuple[list[Alert], list[str]]:
        """Saved alerts and sent notification ids (oldest first); empty when none or unreadable."""
        data = self._versioned(self.ALERTS)
        alerts: list[Alert] = []
        for item in _list(data.get("alerts")):
            try:
                alerts.append(alert_from_json(item))
            except (KeyError, TypeError, ValueError) as e:
                self.state.warn(self.ALERTS + ":alert", f"skipped a malformed alert in {self.ALERTS}: {e!r}")
        sent = [s for s in _list(data.get("sent")) if isinstance(s, str)]
        return alerts, sent[-self.max_sent:]

    def save_alerts(self, alerts: Iterable[Alert], sent: Iterable[str]) -> bool:
        """Write alerts and the newest `max_sent` sent ids in one atomic step; False (and a note) on failure."""
        ids = list(sent)[-self.max_sent:]
        data = {"version": FORMAT_VERSION, "alerts": [alert_to_json(a) for a in alerts], "sent": ids}
        return self._write(self.ALERTS, data)

    def load_silences(self) -> list[Silence]:
        data = self._versioned(self.SILENCES)
        out: list[Silence] = []
        for item in _list(data.get("silences")):
            try:
                out.append(silence_from_json(item))
            except (KeyError, TypeError, ValueError) as e:
                self.state.warn(self.SILENCES + ":item", f"skipped a malformed silence in {self.SILENCES}: {e!r}")
        return out

    def save_silences(self, silences: Iterable[Silence]) -> bool:
        data = {"version": FORMAT_VERSION, "silences": [silence_to_json(s) for s in silences]}
        return self._write(self.SILENCES, data)

    def silences_stamp(self) -> tuple[int, int, int] | None:
        return self.state.stamp(self.SILENCES)

    def silences_lock(self) -> contextlib.AbstractContextManager[None]:
        return self.state.lock(self.SILENCES)

    def _versioned(self, name: str) -> dict[str, Any]:
        data: dict[str, Any] = self.state.read_json(name, {})
        if data and data.get("version") != FORMAT_VERSION:
            self.state.warn(name, f"state file {self.state.file(name)} has version {data.get('version')!r}, "
                            f"this runwatch reads {FORMAT_VERSION}; ignoring it")
            return {}
        return data

    def _write(self, name: str, data: Any) -> bool:
        try:
            self.state.write_json(name, data)
        except (OSError, ValueError) as e:
            self.state.warn(name + ":write", f"could not write state file {self.state.file(name)}: {e}")
            return False
        return True


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _enc(v: float | str | None) -> float | int | str | None:
    return json_number(v) if isinstance(v, float) else v


_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _dec(v: Any) -> Any:
    return _NONFINITE[v] if isinstance(v, str) and v in _NONFINITE else v


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(_dec(v))


def _opt_int(v: Any) -> int | None:
    return None if v is None else int(v)


def alert_to_json(a: Alert) -> dict[str, Any]:
    return {
        "rule": a.rule, "labels": [[k, v] for k, v in a.labels], "state": str(a.state),
        "severity": str(a.severity), "summary": a.summary, "active_since": a.active_since,
        "fired_at": a.fired_at, "resolved_at": a.resolved_at, "last_seen": a.last_seen,
        "last_notified": a.last_notified, "value": _enc(a.value), "threshold": _enc(a.threshold),
        "step": a.step, "first_step": a.first_step, "metric": a.metric, "source": a.source,
        "acknowledged": a.acknowledged, "context": list(a.context), "diagnosis": list(a.diagnosis),
        "history": [json_number(float(x)) for x in a.history], "seen_reading_history": a.seen_reading_history,
    }


def alert_from_json(d: dict[str, Any]) -> Alert:
    labels = tuple(sorted((str(k), v) for k, v in d["labels"] if isinstance(v, str | int)))
    return Alert(
        rule=str(d["rule"]), labels=labels, state=AlertState(d["state"]), severity=Severity(d["severity"]),
        summary=str(d.get("summary", "")), active_since=float(d["active_since"]),
        fired_at=_opt_float(d.get("fired_at")), resolved_at=_opt_float(d.get("resolved_at")),
        last_seen=float(d.get("last_seen") or 0.0), last_notified=_opt_float(d.get("last_notified")),
        value=_dec(d.get("value")), threshold=_opt_float(d.get("threshold")),
        step=_opt_int(d.get("step")), first_step=_opt_int(d.get("first_step")),
        metric=d.get("metric"), source=d.get("source"), acknowledged=bool(d.get("acknowledged", False)),
        context=tuple(str(x) for x in d.get("context", ())),
        diagnosis=tuple(str(x) for x in d.get("diagnosis", ())),
        history=tuple(float(_dec(x)) for x in d.get("history", ())),
        seen_reading_history=bool(d.get("seen_reading_history", False)),
    )


def silence_to_json(s: Silence) -> dict[str, Any]:
    return {
        "id": s.id, "rule": s.rule, "matchers": [[m.name, m.value] for m in s.matchers],
        "starts_at": s.starts_at, "ends_at": s.ends_at, "comment": s.comment, "created_by": s.created_by,
    }


def silence_from_json(d: dict[str, Any]) -> Silence:
    rule = d.get("rule")
    return Silence(
        id=str(d["id"]), rule=None if rule is None else str(rule),
        matchers=tuple(Matcher(str(n), str(v)) for n, v in d.get("matchers", ())),
        starts_at=float(d["starts_at"]), ends_at=float(d["ends_at"]),
        comment=str(d.get("comment", "")), created_by=str(d.get("created_by", "")),
    )


FilePos = tuple[int, int, int, str | None]
"""(device, inode, offset, first-line hash): `watcher.types.FilePosition` as a plain tuple."""


class OffsetStore:
    """Read positions per log file (DESIGN §7), so a restarted daemon resumes where it stopped.

    `save()` merges under a lock: only the paths this process `put` are
    written over what is on disk, so two daemons watching different files may
    share a state directory.
    """

    NAME = "offsets.json"

    def __init__(self, state: StateDir | Path | str | None = None, *, max_files: int = 10_000) -> None:
        self.state = state if isinstance(state, StateDir) else StateDir(state)
        self.max_files = max_files
        self._pos: dict[str, FilePos] = self._load()
        self._dirty: dict[str, FilePos | None] = {}

    def get(self, path: str | Path) -> FilePos | None:
        return self._pos.get(_path_key(path))

    def paths(self) -> list[str]:
        """Every path with a saved position (absolute)."""
        return list(self._pos)

    def put(self, path: str | Path, pos: tuple[int, int, int, str | None] | None) -> None:
        """Remember `pos` for `path` (None forgets it); written on `save()`."""
        key = _path_key(path)
        if pos is None:
            self._pos.pop(key, None)
            self._dirty[key] = None
            return
        value: FilePos = (int(pos[0]), int(pos[1]), int(pos[2]), None if pos[3] is None else str(pos[3]))
        if self._pos.get(key) != value:
            self._pos[key] = value
            self._dirty[key] = value

    def save(self) -> bool:
        """Write changed positions (merged with the file's current content); False on failure."""
        if not self._dirty:
            return True
        try:
            with self.state.lock(self.NAME):
                merged = self._load()
                for key, value in self._dirty.items():
                    merged.pop(key, None)
                    if value is not None:
                        merged[key] = value
                while len(merged) > self.max_files:
                    merged.pop(next(iter(merged)))
                self.state.write_json(self.NAME, {"version": FORMAT_VERSION,
                                                  "files": {k: list(v) for k, v in merged.items()}})
        except OSError as e:
            self.state.warn(self.NAME + ":write", f"could not write state file {self.state.file(self.NAME)}: {e}")
            return False
        self._pos, self._dirty = merged, {}
        return True

    def _load(self) -> dict[str, FilePos]:
        data = self.state.read_json(self.NAME, {})
        files = data.get("files") if data.get("version") == FORMAT_VERSION else None
        out: dict[str, FilePos] = {}
        for key, v in (files or {}).items():
            if (isinstance(v, list) and len(v) == 4 and all(type(x) is int for x in v[:3])
                    and (v[3] is None or isinstance(v[3], str))):
                out[key] = (v[0], v[1], v[2], v[3])
        return out


def _path_key(path: str | Path) -> str:
    return os.path.abspath(os.fspath(path))
