"""Steps a log prints rounded (LeRobot's `step:1K`), placed where the log's own stride puts them.

LeRobot writes its step with `format_big_number`: `step:800`, then `step:1K`
for 1,000, 1,200 and 1,400 and `step:2K` for 1,600 to 2,400, a thousand at a
time up to a million. Read as printed, several records of a run logging every
200 steps shared one step, and the next jumped 1,000 (a review's 50,000-step
run). The printed number is a window, `value ± unit/2`: the step is the one the
stride of the steps before it gives (`step:800` after `step:600`: 200 a
record), kept inside that window (a pause in logging or a stride that changed
moves it to the window's edge, never past it), or the printed value where no
stride is known yet. A parser marks such a step with the metric `ROUNDED` (the
unit it was rounded to), which is taken out here.

One stride per source (ranks that log rounded steps apart are none seen), for
the per-line way (`record`) and a chunk's records and step rows in line order
(`chunk`) alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runwatch.model import Kind, Record
from runwatch.parsers.epochs import set_step

if TYPE_CHECKING:
    from runwatch.parsers.columnar import ColumnBatch

ROUNDED = "step_rounded"
"""The metric a parser sets on a record whose step was printed rounded: the unit (1000.0 for `1K`)."""


class RoundedSteps:
    """The last step placed and the stride before it, for one source (see the module notes)."""

    def __init__(self) -> None:
        self.last = -1
        self.stride = 0
        self.seen = False
        """Whether any rounded step came (until then a chunk only notes its last steps)."""
        self.repeated = False
        """Whether a rounded step was printed again before any stride was known (`_place`)."""
        self.gap_before = 0
        """The last move of the printed rounded steps while no stride is known (`_place`)."""

    def _exact(self, step: int) -> None:
        if 0 <= self.last < step:
            self.stride = step - self.last
        self.last = step

    def _place(self, step: int, unit: float) -> int:
        half = int(unit) // 2
        lo, hi = max(0, step - half), step + half
        if self.last < 0 or self.stride <= 0:
            placed = step
            if 0 <= self.last < step and not self.repeated:
                gap = step - self.last
                if gap == self.gap_before:
                    self.stride = gap  # printed steps that never repeat and move alike give the stride: a log that
                    # begins past 1,000 under `%.3g` (a resumed improved-diffusion run: `1.5e+03`, `1.51e+03`,
                    # `1.52e+03`) has no exact one; one move is no stride (LeRobot's `46K`, `47K`, `47K`: 200 a record)
                self.gap_before = gap
            elif step == self.last:
                self.repeated = True  # the stride is below the unit: the printed steps cannot give it
        else:
            placed = min(max(self.last + self.stride, lo), hi)
        self.last = placed
        return placed

    def record(self, rec: Record) -> None:
        """A STEP or EVAL record with a step, just made: a rounded step placed (its mark taken out)."""
        step = rec.step
        if step is None:
            return
        unit = rec.metrics.get(ROUNDED)
        if unit is None:
            if rec.kind is Kind.STEP:
                self._exact(step)
            return
        self.seen = True
        set_step(rec, self._place(step, unit))
        object.__setattr__(rec, "metrics", {k: v for k, v in rec.metrics.items() if k != ROUNDED})  # the mark out

    def chunk(self, records: list[Record], batch: ColumnBatch | None) -> ColumnBatch | None:
        """`record` over a chunk's records and step rows in line order; the rows' steps are exact (a layout
        is learned only where the parser's own record comes out the same, and a rounded one carries its mark)."""
        marked = self.seen or any(ROUNDED in r.metrics for r in records)
        stepped = [r for r in records if r.step is not None and r.kind in (Kind.STEP, Kind.EVAL)]
        if not marked:  # note the last steps alone, in line order
            tail = sorted([(r.line, r.step) for r in stepped[-2:] if r.kind is Kind.STEP]
                          + ([] if batch is None or not len(batch) else
                             list(zip(batch.line[-2:].tolist(), batch.step[-2:].tolist(), strict=True))))
            for _, step in tail[-2:]:
                self._exact(int(step))
            return batch
        rows = 0 if batch is None else len(batch)
        items: list[tuple[int, int, Record | None]] = [(r.line, 1, r) for r in stepped]
        if batch is not None and rows:
            items += [(int(n), 0, None) for n in batch.line.tolist()]
        items.sort(key=lambda item: (item[0], item[1]))
        at = 0
        for _, _, rec in items:
            if rec is None:
                assert batch is not None
                self._exact(int(batch.step[at]))
                at += 1
            else:
                self.record(rec)
        return batch
