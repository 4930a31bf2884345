"""Lines a parser raised on, counted rather than lost in silence.

A parser that raises on an odd line is a bug in runwatch, not in the log: the
source goes on (one line must never stop a follower or a `check`), but the
line gave no record, and a NaN on it would go unseen. So each failure is
counted per (what raised, exception type), the first of each kind is logged
with its traceback (the bug report), and the count reaches the user: a note
on the run (TUI, status JSON), a line in `runwatch parse --output summary`,
and a warning with exit status 3 from `parse` and `check`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

DETECTION = "format detection"
"""The `stage` of a failure in a format's probe while the format is not decided."""
EVENTS = "event detection"
"""The `stage` of a failure in the crash and event detector."""
MESSAGE_CHARS = 80
"""Of the first exception's message, kept for the user's line (the log has it whole)."""


@dataclass
class ParseFailures:
    """Failures of one source's parsing: (stage, exception type) → lines; `first` keeps the first message
    of each kind. A stage is a format name (its parser), `DETECTION` or `EVENTS`."""

    source: str
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    first: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, stage: str, exc: BaseException, line: int | None = None) -> None:
        """Count one failure; the first of its kind is logged with its traceback."""
        key = (stage, type(exc).__name__)
        n = self.counts.get(key, 0)
        self.counts[key] = n + 1
        if n == 0:
            where = f" at line {line}" if line is not None else ""
            self.first[key] = str(exc)[:MESSAGE_CHARS]
            log.warning("%s: %s raised %s%s; that line gave no record (counted from now on)",
                        self.source, stage, key[1], where, exc_info=exc)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def describe(self) -> str | None:
        """One line for a user, or None when nothing failed: "3 lines the hf_trainer parser raised on
        (ValueError ×3: could not convert …)"."""
        if not self.counts:
            return None
        kinds = "; ".join(f"{stage} {kind} ×{n}" + (f": {self.first[(stage, kind)]}" if self.first[(stage, kind)] else "")
                          for (stage, kind), n in sorted(self.counts.items()))
        total = self.total
        return (f"{total:,} line{'s' if total != 1 else ''} runwatch failed to parse ({kinds}); "
                "a runwatch bug, logged with its traceback")
