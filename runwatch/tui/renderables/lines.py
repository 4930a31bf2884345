"""Joining lines of `Text` into one block that never wraps (a panel crops, a table row stays a row)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text


def join_lines(lines: Iterable[Text]) -> Text:
    """One `Text` of the given lines; too-long lines are cut with an ellipsis, never wrapped."""
    return Text("\n", no_wrap=True, overflow="ellipsis", end="").join(lines)
