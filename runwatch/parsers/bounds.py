"""What a parsed record may hold: the boundary between log text and run state.

Log text is untrusted. A step line can carry a 400-digit step (Python reads it as an int that no
float can hold: `float(step)` raised OverflowError in run state and killed the engine thread), a
step far beyond the line's own total (`999999999999/100` made `check` call the run finished: `reached_total` in run
state), or
digits that are not ASCII (`loss: ٣.١` — Python's `int` and `float` read Arabic-Indic digits as
3.1). Formats are described many times over; this check is made once, where every record a
parser returns passes (`SourceParser`), so no format can let such a value through.
"""

from __future__ import annotations

import re

from runwatch.model import Record

MAX_STEP = 2**53
"""The largest step a float still holds exactly (series keep steps as float64)."""

_NON_ASCII_DIGIT = re.compile(r"(?![0-9])\d")
"""A decimal digit of another script (`\\d` in a str pattern is every Unicode Nd character)."""


def ascii_digits(text: str) -> str:
    """`text` with every non-ASCII decimal digit replaced by `?`, so no parser reads it as a number."""
    return text if text.isascii() else _NON_ASCII_DIGIT.sub("?", text)


def bounded(rec: Record) -> Record | None:
    """`rec` if its step can be a run's; None when it cannot (negative, or past `MAX_STEP`); a total no
    run can have is dropped, the line's metrics kept. (A step beyond its own total is kept as logged:
    run state does not take such a step for the end of the run, `reached_total`.)"""
    step, total = rec.step, rec.total_steps
    if step is not None and not 0 <= step <= MAX_STEP:
        return None
    if total is not None and not 0 < total <= MAX_STEP:
        return Record(rec.kind, step, None, rec.rank, rec.t, rec.metrics, rec.event, rec.message, rec.source,
                      rec.line)
    return rec
