"""Making log-derived text safe to show: no terminal escapes, bounded length.

Alerts carry text from the training log (summary, context lines, run and
file names). A log can hold anything, so every sink that shows such text to
a person passes it through here first; the alert layer does not import the
watcher, hence this small copy of the escape pattern.
"""

from __future__ import annotations

import re

_ESCAPES = re.compile(
    r"""
      \x1b\[[0-?]*[\x20-/]*[@-~]              # CSI (colours, cursor moves)
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?      # OSC (titles, hyperlinks)
    | \x1b[PX^_][^\x1b]*(?:\x1b\\)?           # DCS, SOS, PM, APC
    | \x1b[\x20-/]*[0-~]?                      # other ESC sequences, or a lone ESC
    | [\x00-\x08\x0b-\x1f\x7f\x80-\x9f]         # C0/C1 controls but tab and newline
    """,
    re.VERBOSE,
)


def strip_escapes(text: str) -> str:
    """Remove terminal escapes and control characters; tab and newline stay."""
    return _ESCAPES.sub("", text)


def one_line(text: str) -> str:
    """Escapes stripped and line breaks folded, for a single-line display."""
    return " ".join(strip_escapes(text).split())


def clip(text: str, limit: int, *, keep: str = "head") -> str:
    """At most `limit` characters; `keep="tail"` keeps the end (newest log lines)."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    return text[: limit - 1] + "…" if keep == "head" else "…" + text[-(limit - 1):]
