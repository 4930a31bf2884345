"""What happened to each log while `runwatch watch` was down, from the read offsets it saved (DESIGN §7).

A restarted daemon still reads every log from the start (its series are
rebuilt from them; the alert store keeps it from sending anything twice), so
a saved offset is not where reading resumes. It answers the question a user
has after downtime: did the run go on writing, or is this another file
(rotated, truncated, re-created)? One line per file, the first time the
daemon follows it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from runwatch.alerts.store import FilePos, OffsetStore, StateDir
from runwatch.watcher.fileid import head_hash
from runwatch.watcher.types import FilePosition

SAVE_EVERY_S = 5.0
"""How often the followers' positions are written (and once more at a clean exit)."""
REPLACED = "the log was replaced (rotated or truncated) since the last run"


def growth(path: str, saved: FilePos) -> int | None:
    """Bytes written to `path` since `saved` was taken, if it is still that file (same inode and first
    line, not shorter); None when it was replaced or cannot be opened now."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        head = head_hash(fd) if st.st_size else None
    finally:
        os.close(fd)
    dev, ino, offset, saved_head = saved
    if (st.st_dev, st.st_ino) != (dev, ino) or st.st_size < offset or saved_head not in (None, head):
        return None
    return st.st_size - offset


def since_last_run(path: str, saved: FilePos) -> str | None:
    """What became of the file at `path` since `saved` was taken; None when it cannot be opened now
    (the follower says it is waiting for it)."""
    if not os.access(path, os.R_OK):
        return None
    grown = growth(path, saved)
    if grown is None:
        return REPLACED
    return f"resumed: {grown:,} bytes written since the last run" if grown else "resumed: nothing written since the last run"


@dataclass
class ReadOffsets:
    """The daemon's read positions in the state dir: compared once per file, saved every `SAVE_EVERY_S`.

    Call `news` before `save` with the same positions: a file's old offset
    is only overwritten once it has been compared.
    """

    state: StateDir
    store: OffsetStore = field(init=False)
    _checked: set[str] = field(default_factory=set, init=False)
    _saved_at: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.store = OffsetStore(self.state)  # a corrupt file: one warning, set aside, a fresh start

    def judged_bytes(self) -> dict[str, int]:
        """Bytes of each log the last daemon had read, and so judged, where it is still the same file:
        the engine reads them again without judging them again (`EngineOptions.seen_bytes`), so an
        alert that fired and resolved in that part is not sent a second time."""
        out = {}
        for path in self.store.paths():
            saved = self.store.get(path)
            if saved is not None and growth(path, saved) is not None:
                out[path] = saved[2]
        return out

    def news(self, positions: Mapping[str, FilePosition]) -> list[tuple[str, str]]:
        """(path, message) for each file in `positions` seen for the first time that has a saved offset."""
        out = []
        for path in positions:
            if path in self._checked:
                continue
            self._checked.add(path)
            saved = self.store.get(path)
            message = since_last_run(path, saved) if saved is not None else None
            if message is not None:
                out.append((path, message))
        return out

    def save(self, positions: Mapping[str, FilePosition], now: float, *, force: bool = False) -> bool:
        """Write the positions if `SAVE_EVERY_S` passed since the last write (or `force`); False on failure."""
        if self._saved_at is None:
            self._saved_at = now  # the first write comes one period in, once the history is read
        if not force and now - self._saved_at < SAVE_EVERY_S:
            return True
        self._saved_at = now
        for path, pos in positions.items():
            if path in self._checked:
                self.store.put(path, pos)
        return self.store.save()
