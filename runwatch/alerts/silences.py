"""Silences: "don't tell me about RULE for run R for the next 2h" (Alertmanager's word).

A silence mutes notifications of the alerts it matches while it is active; the
alerts still change state, and one that fires during the silence is notified
when the silence ends if it still fires (lifecycle.py does that part).

With a store, the book is shared through `silences.json`: `runwatch silence`
adds or expires a silence while a daemon runs, so every change is a
read-modify-write under the store's lock, and the daemon calls `refresh()`
at most once a second to pick up what others wrote (one `stat`).

The book also remembers which notifications a silence held back, so the
daemon can say so in its log once per transition (`held_back`, `take_held`)
rather than staying quiet or repeating itself every tick.
"""

from __future__ import annotations

import builtins
import contextlib
import math
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from runwatch.alerts.store import AlertStore
from runwatch.alerts.types import Alert, Labels, Matcher, Silence
from runwatch.errors import BadValueError
from runwatch.model import AlertState

KEEP_EXPIRED_S = 7 * 86400.0
"""Expired silences stay listable (`--list --all`) this long, then are dropped."""
_NEVER = object()
RECHECK_S = 1.0
"""Least time between two looks at `silences.json` from `refresh(now)`: a silence another process
wrote counts within a second, for one `stat` a second rather than one a tick (ten while a run streams)."""
_TOLD_MEMORY = 1000
"""Held-back transitions remembered (so each is said once); the oldest are forgotten first."""


@dataclass(frozen=True, slots=True)
class Silenced:
    """A notification a silence held back: the alert, what it would have said, and the silence."""

    alert: Alert
    state: AlertState
    silence: Silence
    at: float

    def line(self) -> str:
        """One log line, e.g. `SILENCED nonfinite run=x until 14:02 (silence 3f2a9b1c; firing not sent)`."""
        labels = " ".join(f"{k}={v}" for k, v in self.alert.labels)
        fmt = "%H:%M" if time.localtime(self.silence.ends_at)[:3] == time.localtime(self.at)[:3] else "%Y-%m-%d %H:%M"
        until = time.strftime(fmt, time.localtime(self.silence.ends_at))
        return (f"SILENCED {self.alert.rule}{' ' + labels if labels else ''} until {until} "
                f"(silence {self.silence.id}; {self.state} not sent)")


class SilenceBook:
    def __init__(self, store: AlertStore | None = None, *, keep_expired_s: float = KEEP_EXPIRED_S) -> None:
        self.store = store
        self.keep_expired_s = keep_expired_s
        self._silences: dict[str, Silence] = {}
        self._stamp: object = _NEVER
        self._looked: float | None = None
        self._told: dict[tuple[str, str, float | None, str], None] = {}  # insertion-ordered set
        self._held: builtins.list[Silenced] = []
        self.refresh()

    def add(self, rule: str | None, matchers: Mapping[str, str | int], duration_s: float, now: float,
            comment: str = "", created_by: str = "") -> Silence:
        """Mute `rule` (None or "*": every rule) for alerts whose labels equal `matchers`, from `now`."""
        if not (math.isfinite(duration_s) and duration_s > 0):
            raise BadValueError(f"silence duration must be a positive number of seconds, got {duration_s!r}")
        ms = tuple(Matcher(str(k), str(v)) for k, v in sorted(matchers.items()))
        with self._editing(now):
            s = Silence(id=self._new_id(), rule=None if rule in (None, "*") else rule, matchers=ms,
                        starts_at=now, ends_at=now + duration_s, comment=comment, created_by=created_by)
            self._silences[s.id] = s
        return s

    def expire(self, id: str, now: float) -> Silence | None:
        """End silence `id` (or a unique prefix of it) now; None when no such silence.

        Raises BadValueError when the prefix names more than one silence.
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

    def held_back(self, alert: Alert, state: AlertState, now: float) -> Silenced | None:
        """Note that the silence on `alert` (`alert.silenced_by`) held back its `state` notification.

        Returns (and queues for `take_held`) a `Silenced` the first time for
        this episode and silence; None after that, or when no silence holds it.
        """
        s = self._silences.get(alert.silenced_by or "")
        if s is None:
            return None
        mark = (alert.key, str(state), alert.resolved_at if state == AlertState.RESOLVED else alert.fired_at, s.id)
        if mark in self._told:
            return None
        self._told[mark] = None
        while len(self._told) > _TOLD_MEMORY:
            del self._told[next(iter(self._told))]
        held = Silenced(alert, state, s, now)
        self._held.append(held)
        del self._held[:-_TOLD_MEMORY]  # nobody is taking them: keep the newest
        return held

    def take_held(self) -> builtins.list[Silenced]:
        """What `held_back` noted since the last call, oldest first (for the daemon's log)."""
        out, self._held = self._held, []
        return out

    def refresh(self, now: float | None = None) -> bool:
        """Reload from the store when another process changed it; True when reloaded. With `now`, at most
        once per RECHECK_S (the daemon's ticks); without, at once."""
        if self.store is None:
            return False
        if now is not None:
            if self._looked is not None and 0 <= now - self._looked < RECHECK_S:
                return False
            self._looked = now
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
            raise BadValueError(f"silence id {id!r} is ambiguous: {', '.join(sorted(s.id for s in hits))}")
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
