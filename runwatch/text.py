"""The one text sanitiser: what runwatch shows a person or a terminal carries no control sequence.

A training log, a file name, a W&B run name or a config value can hold anything: an OSC sequence
that retitles the terminal, `ESC[2J` that clears it, an 8-bit CSI (U+009B) that some terminals obey,
a right-to-left override (U+202E) that makes `gnp.exe` read as `exe.png`. Every output that reaches
a terminal or a person (line mode, `check`, `parse`'s table and csv, the daemon's log, the TUI, the
alert sinks) passes such text through `clean` (or `one_line`) at its boundary.

Escape sequences and C0/C1 controls are removed (tab and newline stay in `clean`); bidirectional
overrides, isolates and marks are removed too; other invisible format characters (zero-width
space, word joiner, BOM) are shown as `\\u200b` so a name that looks like another stays
distinguishable. Pure and dependency-free: every layer may import it.
"""

from __future__ import annotations

import re

from runwatch import patterns

ESCAPE_PATTERN = r"""
      \x1b\[[0-?]*[\x20-/]*[@-~]               # CSI: colours (incl. 38;2;r;g;b), cursor moves, erase
    | \x1b\][^\x07\x1b\n\r]*(?:\x07|\x1b\\)?   # OSC: titles, hyperlinks; ended by BEL, ST or the line
    | \x1b[PX^_][^\x1b\n\r]*(?:\x1b\\)?        # DCS, SOS, PM, APC strings
    | \x1b[\x20-/]*[0-~]                        # other ESC sequences (charsets, ESC 7); a lone ESC is a control
"""
"""Terminal escape sequences (ASCII only, so the same pattern runs on bytes: runwatch.watcher.lines;
runwatch.watcher.snapshot spells the same alternatives for speed, and a test holds them equal)."""

_ESCAPES = patterns.compile(ESCAPE_PATTERN, re.VERBOSE)
_C1_ESCAPES = patterns.compile(
    "\u009b[0-?]*[\x20-/]*[@-~]"  # 8-bit CSI
    "|[\u0090\u0098\u009d-\u009f][^\x07\x1b\u009c\n\r]*(?:\x07|\u009c|\x1b\\\\)?"  # 8-bit DCS, SOS, OSC, PM, APC
)
"""The 8-bit spellings of the sequences (C1 introducers, ended by ST U+009C, BEL or 7-bit ST): str only, as
their introducers are not bytes of UTF-8 text. Removed whole, so a title an 8-bit OSC carried is not shown as
text either."""
_CONTROLS = patterns.compile(r"[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]")
"""C0 controls but tab and newline, DEL, and the C1 range (U+0080–U+009F: 8-bit CSI, OSC, NEL)."""
_BIDI = patterns.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""Bidirectional marks, embeddings, overrides and isolates: they reorder what follows them."""
_INVISIBLE = patterns.compile(r"[\u00ad\u180e\u200b-\u200d\u2060-\u2064\ufeff]")
"""Zero-width and other format characters that show nothing: made visible, not dropped."""


def clean(text: str) -> str:
    """`text` without escape sequences, control characters or bidi overrides; tab and newline stay."""
    if text.isascii() and text.isprintable():
        return text  # the common case: nothing to do
    text = _CONTROLS.sub("", _ESCAPES.sub("", _C1_ESCAPES.sub("", text)))
    text = _BIDI.sub("", text)
    return _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_UNSHOWN = patterns.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u00ad\u180e"
                      r"\u200b-\u200d\u2060-\u2064\ufeff\\]")


def visible(name: str) -> str:
    """A file or run name as a terminal may show it, every character kept: controls, escapes' ESC, bidi and
    invisible characters written as Python writes them in a string (`\\x1b`, `\\u202e`), and a backslash
    doubled, so that the name shown names one file (`clean` drops what it cannot show: a log's colours,
    which are no part of its text; a name's are, and `run\\x1b[31m.log` is not `run[31m.log`)."""
    if name.isascii() and name.isprintable() and "\\" not in name:
        return name
    return _UNSHOWN.sub(lambda m: ascii(m.group())[1:-1] if m.group() != "\\" else "\\\\", name)


def one_line(text: str) -> str:
    """`clean`, with line breaks and runs of blanks folded to single spaces, for one-line display."""
    return " ".join(clean(text).split())


def clip(text: str, limit: int, *, keep: str = "head") -> str:
    """At most `limit` characters; `keep="tail"` keeps the end (newest log lines), `keep="ends"` both ends, cut
    between words where a word boundary is near (a note's end is often the way out, `--format NAME forces one`,
    and `no …n its first 1,151 lines` cut in a word read as nothing: a review)."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    if keep == "ends":
        half = (limit - 1) // 2
        head, tail = text[:half], text[len(text) - (limit - 1 - half):]
        space = head.rfind(" ")
        head = head[:space + 1] if space >= half // 2 else head
        space = tail.find(" ")
        tail = tail[space:] if 0 <= space <= len(tail) // 2 else tail
        return head + "…" + tail
    return text[: limit - 1] + "…" if keep == "head" else "…" + text[-(limit - 1):]
