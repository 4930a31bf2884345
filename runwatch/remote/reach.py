"""Whether a node answers, and how its runs look while it does not: their last known snapshots, marked.
Pure, so that the marking is the same in every front end (the note first, `unreachable` set)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from runwatch.model import Progress, RunSnapshot, RunState


@dataclass(frozen=True, slots=True)
class Reach:
    """Whether the node answered its last poll, and since when it has (not) been answering."""

    ok: bool
    since: float
    error: str = ""


def as_seen(snaps: list[RunSnapshot], reach: Reach | None, where: str, base: str) -> list[RunSnapshot]:
    """The node's last snapshots as the view shows them: as they are while it answers (or before it was
    asked); else each with `unreachable` and the same line first in its notes, or, for a node that never
    answered, one `waiting` placeholder row (run "") so that the view shows the node at all."""
    if reach is None or reach.ok:
        return snaps
    since = time.strftime("%H:%M:%S", time.localtime(reach.since))
    why = f"node {where} not answering since {since}: {reach.error}"
    if not snaps:
        return [RunSnapshot(run="", source=base, time=reach.since, state=RunState.WAITING, progress=Progress(),
                            metrics={}, ranks={}, last_record_t=None, notes=(why,),
                            gpu_status="unknown: node not answering", unreachable=why)]
    return [replace(s, notes=(why, *s.notes), unreachable=why) for s in snaps]
