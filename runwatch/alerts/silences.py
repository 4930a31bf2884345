"""Silences: "don't tell me about RULE for run R for the next 2h" (Alertmanager's word).

A silence mutes notifications of the alerts it matches while it is active; the
alerts still change state, and one that fires during the silence is notified
when the silence ends if it still fires (lifecycle.py does that part).

With a store, the book is shared through `silences.json`: `runwatch silence`
adds or expires a silence while a daemon runs, so every change is a
read-modify-write under the store's lock, and the daemon calls `refresh()`
once per tick to pick up what others wrote (one `stat`).
"""

from __future__ import annotations

import builtins
import contextlib
import math
import secrets
from collections.abc import Iterator, Mapping

from runwatch.alerts.store import AlertStore
from runwatch.alerts.types import Labels, Matcher, Silence

KEEP_EXPIRED_S = 7 * 86400.0
"""Expired silences stay listable (`--list --all`) this long, then are dropped."""
_NEVER = object()


class SilenceBook:
    def __init__(self, store: AlertStore | None = None, *, keep_expired_s: float = KEEP_EXPIRED_S) -> None:
        self.store = store
        self.keep_expired_s = keep_expired_s
        self._silences: dict[str, Silence] = {}
        self._stamp: object = _NEVER
        self.refresh()

    def add(self, rule: str | None, matchers: Mapping[str, str | int], duration_s: float, now: float,
            comment: str = "", created_by: str = "") -> Silence:
        """Mute `rule` (None or "*": every rule) for alerts whose labels equal `matchers`, from `now`."""
        if not (math.isfinite(duration_s) and duration_s > 0):
            raise ValueError(f"silence duration must be a positive number of seconds, got {duration_s!r}")
        ms = tuple(Matcher(str(k), str(v)) for k, v in sorted(matchers.items()))
        with self._editing(now):
            s = Silence(id=self._new_id(), rule=None if rule in (None, "*") else rule, matchers=ms,
                        starts_at=now, ends_at=now + duration_s, comment=comment, created_by=created_by)
            self._silences[s.id] = s
        return s

    def expire(self, id: str, now: float) -> Silence | None:
        """End silence `id` (or a unique prefix of it) now; None when no such silence.

        Raises ValueError when the prefix names more than one silence.
        """
        with self._editing(now):
            s = self._find(id)
            if s is None:
                return None
            if s.ends_at > now:
                s = Silence(s.id, s.rule, s.matchers, min(s.starts_at, now), now, s.comment, s.created_by)
                self._silences[s.id] = s
        return s

    def active_for(self, rule: str, labels: Labels | Mapping[str, str | int], now: float) -> Silence | None:
        """The active silence that mutes this alert (the one lasting longest), or None."""
        lab = labels if isinstance(labels, Mapping) else dict(labels)
        hits = [s for s in self._silences.values() if s.active(now) and s.matches(rule, lab)]
        return max(hits, key=lambda s: s.ends_at) if hits else None

    def refresh(self) -> bool:
        """Reload from the store when another process changed it; True when reloaded."""
        if self.store is None:
            return False
        stamp = self.store.silences_stamp()
        if stamp == self._stamp:
            return False
        self._silences = {s.id: s for s in self.store.load_silences()}
        self._stamp = stamp
        return True

    def list(self, now: float, include_expired: bool = False) -> builtins.list[Silence]:
        """Silences active now or still to come (and expired ones with `include_expired`), by end time."""
        out = [s for s in self._silences.values() if include_expired or s.ends_at > now]
        return sorted(out, key=lambda s: (s.ends_at, s.id))

    def _find(self, id: str) -> Silence | None:
        if id in self._silences:
            return self._silences[id]
        hits = [s for k, s in self._silences.items() if id and k.startswith(id)]
        if len(hits) > 1:
            raise ValueError(f"silence id {id!r} is ambiguous: {', '.join(sorted(s.id for s in hits))}")
        return hits[0] if hits else None

    def _new_id(self) -> str:
        while True:
            sid = secrets.token_hex(4)
            if sid not in self._silences:
                return sid

    @contextlib.contextmanager
    def _editing(self, now: float) -> Iterator[None]:
        """Read-modify-write under the store's lock, so a daemon and the CLI do not undo each other."""
        store = self.store
        with store.silences_lock() if store is not None else contextlib.nullcontext():
            self._stamp = _NEVER
            self.refresh()
            yield
            cutoff = now - self.keep_expired_s
            self._silences = {k: s for k, s in self._silences.items() if s.ends_at >= cutoff}
            if store is not None:
                if not store.save_silences(self._silences.values()):
                    raise OSError(f"could not save silences in {store.state.path}")
                self._stamp = store.silences_stamp()
