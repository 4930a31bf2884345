"""Per-rank progress: which step each rank reached, when, and how fast it goes.

A distributed run is as fast as its slowest rank; the straggler rule compares
ranks by their lag behind the leader and by their median step interval (a
median, so one slow step on one rank is not a straggler).
"""

from __future__ import annotations

import numpy as np

from runwatch.model import RankProgress
from runwatch.state.progress import StepIntervals


class _Rank:
    __slots__ = ("intervals", "step", "t")

    def __init__(self, step: int, t: float, window: int) -> None:
        self.step = step
        self.t = t
        self.intervals = StepIntervals(window)


class RankTracker:
    """Latest step, its time and the median step interval of every rank seen."""

    def __init__(self, window: int = 32) -> None:
        self._window = window
        self._ranks: dict[int, _Rank] = {}
        self._leader: int | None = None

    def update(self, rank: int, step: int, t: float) -> None:
        """Note a step record of `rank`; an older or repeated step keeps the time of the first."""
        r = self._ranks.get(rank)
        if r is None:
            r = self._ranks[rank] = _Rank(step, t, self._window)
        elif step > r.step:
            r.step, r.t = step, t
        r.intervals.add(step, t)
        if self._leader is None or step > self._leader:
            self._leader = step

    def update_rows(self, rank: int, steps: np.ndarray, ts: np.ndarray) -> None:
        """`update` of each of `rank`'s step records in turn (steps and times in order), in one go."""
        if not len(steps):
            return
        r = self._ranks.get(rank)
        if r is None:
            r = self._ranks[rank] = _Rank(int(steps[0]), float(ts[0]), self._window)
        top = int(steps.max())
        if top > r.step:
            r.step, r.t = top, float(ts[int(np.argmax(steps))])  # the first to reach it
        r.intervals.add_rows(steps, ts)
        if self._leader is None or top > self._leader:
            self._leader = top

    @property
    def leader_step(self) -> int | None:
        return self._leader

    def lag(self, rank: int) -> int | None:
        """Steps `rank` is behind the furthest rank (None for a rank never seen)."""
        r = self._ranks.get(rank)
        return None if r is None or self._leader is None else self._leader - r.step

    def __len__(self) -> int:
        return len(self._ranks)

    def snapshot(self) -> dict[int, RankProgress]:
        return {
            rank: RankProgress(rank, r.step, r.t, r.intervals.median())
            for rank, r in sorted(self._ranks.items())
        }
