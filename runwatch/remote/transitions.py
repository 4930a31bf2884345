"""The alert transitions between two polls of a node, as the notifications a local engine would have
pushed (for the line printer's alert lines and the TUI's toasts). Pure: states in, news out."""

from __future__ import annotations

from collections.abc import Mapping

from runwatch.alerts.types import Alert, Notification
from runwatch.model import AlertBrief, AlertState, RunSnapshot


def alert_news(before: Mapping[str, AlertState], snaps: list[RunSnapshot],
               now: float) -> tuple[list[Notification], dict[str, AlertState]]:
    """The alerts of `snaps` that turned firing or resolved since the poll that saw `before` (each alert's
    state by key), and the states now. Not news: an alert resolved before the view first saw it, and a
    silenced one (its node sends nothing for it either)."""
    news: list[Notification] = []
    states: dict[str, AlertState] = {}
    for s in snaps:
        for a in s.alerts:
            states[a.key] = a.state
            if a.state not in (AlertState.FIRING, AlertState.RESOLVED) or before.get(a.key) == a.state:
                continue
            if (a.state == AlertState.RESOLVED and a.key not in before) or a.silenced:
                continue
            news.append(notification(s, a, now))
    return news, states


def notification(snap: RunSnapshot, a: AlertBrief, now: float) -> Notification:
    """One alert of a node's snapshot at its current transition; `now` stands in for a time it lacks."""
    since = a.since if a.since is not None else now
    labels = tuple(sorted({**a.labels, "run": snap.run}.items()))
    alert = Alert(a.rule, labels, a.state, a.severity, a.summary, active_since=since,
                  fired_at=since if a.state == AlertState.FIRING else None,
                  resolved_at=since if a.state == AlertState.RESOLVED else None,
                  value=a.value, step=a.step, source=snap.source, acknowledged=a.acknowledged)
    return Notification(alert, a.state, since, id=f"{a.key}|{a.state}|{since:.3f}", in_history=snap.reading_history)
