"""Several controllers as one: the runs of every node (and of the local engine) in one view.

Each member has a prefix: a node's runs are shown as `PREFIX:RUN` (so `train` on two nodes stays two
runs: `node1:train`, `node2:train`) and its alerts' keys as `PREFIX:KEY`; the local engine's prefix is ""
and its runs keep their names. Every action goes to the member that owns the run or the alert, named by
the longest prefix that matches, with the name it has there. The members' pushed news (alert
notifications, notices) is gathered into one feed, the runs renamed the same way, whenever `snapshots()`
or `wait()` is called (the TUI's poll, the line printer's loop; a paused TUI gets it when it resumes).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from runwatch.alerts.types import Notification
from runwatch.feed import Feed, Subscription
from runwatch.model import ChartData, Controller, Notice, RunSnapshot, XAxis

News = Notification | Notice


class Member(Controller, Protocol):
    """A controller the merged view can also wait on (the local `Engine`, a `RemoteNode`)."""

    def wait(self, timeout: float) -> bool: ...

    @property
    def all_ended(self) -> bool: ...


@dataclass(frozen=True)
class _Part:
    prefix: str
    controller: Member
    news: Subscription[object]


class MergedController:
    """`members`: (prefix, controller) pairs, prefixes distinct; "" for the local engine (at most one)."""

    def __init__(self, members: Sequence[tuple[str, Member]]) -> None:
        prefixes = [p for p, _ in members]
        if len(set(prefixes)) != len(prefixes):
            raise ValueError(f"member prefixes must be distinct: {prefixes}")
        self._parts = [_Part(p, c, c.subscribe()) for p, c in members]
        self.feed: Feed[News] = Feed()
        self._gather_lock = threading.Lock()

    # -- naming and routing -----------------------------------------------------------

    @staticmethod
    def shown(prefix: str, name: str) -> str:
        """A member's run (or alert key) as the merged view names it."""
        if not prefix:
            return name
        return f"{prefix}:{name}" if name else prefix

    def route(self, name: str) -> tuple[Member, str]:
        """The member that owns a merged run name or alert key, and the name it has there; KeyError if none."""
        best: _Part | None = None
        for part in self._parts:
            if part.prefix and (name == part.prefix or name.startswith(part.prefix + ":")):
                if best is None or len(part.prefix) > len(best.prefix):
                    best = part
        if best is not None:
            return best.controller, name[len(best.prefix) + 1:]
        local = next((part for part in self._parts if not part.prefix), None)
        if local is None:
            raise KeyError(name)
        return local.controller, name

    # -- Controller ---------------------------------------------------------------------

    def snapshots(self) -> list[RunSnapshot]:
        self._gather()
        out: list[RunSnapshot] = []
        for part in self._parts:
            out.extend(self._renamed(part.prefix, s) for s in part.controller.snapshots())
        return out

    def _renamed(self, prefix: str, s: RunSnapshot) -> RunSnapshot:
        if not prefix:
            return s
        return replace(s, run=self.shown(prefix, s.run),
                       alerts=tuple(replace(a, key=self.shown(prefix, a.key)) for a in s.alerts))

    def chart(self, run: str, metric: str, width: int, *, rank: int | None = None,
              last_steps: float | None = None, x: XAxis = XAxis.STEP) -> ChartData | None:
        member, inner = self.route(run)
        c = member.chart(inner, metric, width, rank=rank, last_steps=last_steps, x=x)
        return None if c is None else replace(c, run=run)

    def log_tail(self, run: str, lines: int) -> list[str]:
        member, inner = self.route(run)
        return member.log_tail(inner, lines)

    def silence(self, alert_key: str, duration_s: float, comment: str = "") -> str:
        member, inner = self.route(alert_key)
        return member.silence(inner, duration_s, comment)

    def acknowledge(self, alert_key: str) -> None:
        member, inner = self.route(alert_key)
        member.acknowledge(inner)

    def set_paused(self, paused: bool) -> None:
        for part in self._parts:
            part.controller.set_paused(paused)

    def subscribe(self) -> Subscription[News]:
        return self.feed.subscribe()

    def wait(self, timeout: float) -> bool:
        """Wait (at most `timeout` in all) for any member to change; then gather their news."""
        share = timeout / max(1, len(self._parts))
        changed = any([part.controller.wait(share) for part in self._parts])
        self._gather()
        return changed

    @property
    def all_ended(self) -> bool:
        return bool(self._parts) and all(part.controller.all_ended for part in self._parts)

    def _gather(self) -> None:
        """Move what the members pushed into the merged feed, their runs renamed."""
        with self._gather_lock:
            for part in self._parts:
                taken = part.news.take()
                items = [_renamed_news(part.prefix, item) for item in taken.items]
                self.feed.publish(*[i for i in items if i is not None])


def _renamed_news(prefix: str, item: object) -> News | None:
    match item:
        case Notification() if prefix:
            labels = tuple((k, MergedController.shown(prefix, str(v)) if k == "run" else v) for k, v in item.alert.labels)
            return replace(item, alert=replace(item.alert, labels=labels))
        case Notification() | Notice():  # a node's notices name the node already
            return item
    return None
