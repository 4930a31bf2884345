"""Per-rank progress: step, lag behind the leader, step interval; stragglers stand out, listed first."""

from __future__ import annotations

import statistics
from collections.abc import Mapping

from rich.text import Text

from runwatch.model import AlertState, RankProgress, RunSnapshot
from runwatch.tui.renderables.lines import join_lines
from runwatch.tui.widgets.text_panel import TextPanel

LAG_STEPS = 2
"""A rank this many steps behind the leader is a straggler..."""
SLOW_FACTOR = 1.25
"""...and so is one whose step interval is this much above the median."""


def stragglers(ranks: Mapping[int, RankProgress], flagged: set[int] = frozenset()) -> set[int]:  # type: ignore[assignment]
    """Ranks behind or slower than the rest, plus those a `straggler` alert names."""
    if len(ranks) < 2:
        return set(flagged)
    lead = max(rp.step for rp in ranks.values())
    intervals = [rp.step_interval_s for rp in ranks.values() if rp.step_interval_s]
    median = statistics.median(intervals) if len(intervals) >= 2 else None
    out = set(flagged)
    for r, rp in ranks.items():
        slow = median is not None and rp.step_interval_s is not None and rp.step_interval_s > SLOW_FACTOR * median
        if lead - rp.step >= LAG_STEPS or slow:
            out.add(r)
    return out


def ranks_text(snap: RunSnapshot) -> Text:
    if not snap.ranks:
        return Text("no per-rank records (single process, or the log has no rank prefixes)", "dim", end="")
    flagged = {int(a.labels["rank"]) for a in snap.alerts
               if a.lagging_rank and a.state != AlertState.RESOLVED and "rank" in a.labels}
    slow = stragglers(snap.ranks, flagged)
    lead = max(rp.step for rp in snap.ranks.values())
    lines = [Text(f"{'rank':>4} {'step':>8} {'lag':>4} {'interval':>8}", "bold", end="")]
    # stragglers first: the panel shows four rows at 120×40, and rank 5 of 8 lagging was out of view below them
    for r, rp in sorted(snap.ranks.items(), key=lambda kv: (kv[0] not in slow, kv[0])):
        interval = f"{rp.step_interval_s:.3g}s" if rp.step_interval_s else "-"
        row = f"{r:>4} {rp.step:>8,} {rp.step - lead:>4} {interval:>8}"
        lines.append(Text(row + (" slow" if r in slow else ""), "bold yellow" if r in slow else "", end=""))
    return join_lines(lines)


class RanksPanel(TextPanel):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Ranks", id=id)

    def show(self, snap: RunSnapshot) -> None:
        self.border_title = f"Ranks ({len(snap.ranks)})" if snap.ranks else "Ranks"
        self.show_text(ranks_text(snap))
