"""What a test reads from run snapshots."""

from __future__ import annotations

from runwatch.model import AlertState, RunSnapshot


def alerts_of(snaps: list[RunSnapshot]) -> dict[str, AlertState]:
    return {a.rule: a.state for s in snaps for a in s.alerts}
