"""Bytes → text lines, the way a terminal would show a training log.

Training output is not tidy text: progress bars redraw with a bare `\\r`,
rich and tqdm paint with ANSI escapes, a crashed writer can leave invalid
UTF-8 or megabytes without a newline. `LineSplitter` turns such a byte
stream into clean lines with bounded memory, and is pure (no I/O, no clock)
so every source (files, stdin) shares it and tests need no threads.
"""

from __future__ import annotations

import re
from typing import AnyStr

from runwatch import patterns
from runwatch.text import ESCAPE_PATTERN, clean

MAX_LINE_BYTES = 64 * 1024
"""Longest line kept; bytes beyond it are counted and dropped, never buffered."""
RAW_MIN_BYTES = 64 * 1024
"""Least run of plain lines between odd ones that `feed_raw` hands over as bytes (worth a parser's block call)."""

_CONTROLS_BYTES = rb"""
    | [\x00-\x08\x0b\x0c\x0e-\x1f\x7f]           # remaining C0 controls but tab and line ends
"""
# The splitter strips raw chunks before decoding: one regex pass per chunk, not per line (every
# pattern is ASCII, so UTF-8 continuation bytes never match). C1 controls and bidi overrides are
# multi-byte in UTF-8: `strip_escapes` takes them off the decoded line (runwatch.text.clean).
_ESCAPES_BYTES = patterns.compile(ESCAPE_PATTERN.encode() + _CONTROLS_BYTES, re.VERBOSE)
"""What the splitter removes, as one pattern: the reference `strip_controls` is held to (a test)."""

_CONTROL = bytes(1 if (c < 32 and c not in (9, 10, 13)) or c == 127 else 0 for c in range(256))
"""The control bytes stripped (tab, `\n` and `\r` stay), as a translate table: 1 marks one."""
_CONTROL_BYTES = bytes(c for c in range(256) if _CONTROL[c])
# ESCAPE_PATTERN's alternatives in the same order, so `sub` removes the same bytes, but after one literal
# `\x1b`, which `re` scans for (~0.4 ms a MiB) instead of trying the whole alternation at every byte (~9).
_ESC_SEQ = (
    rb"(?:\[[0-?]*[\x20-/]*[@-~]"                # CSI
    rb"|\][^\x07\x1b\n\r]*(?:\x07|\x1b\\)?"      # OSC
    rb"|[PX^_][^\x1b\n\r]*(?:\x1b\\)?"            # DCS, SOS, PM, APC
    rb"|[\x20-/]*[0-~])"                         # other ESC sequences
)
_ESC_ONLY = patterns.compile(rb"\x1b" + _ESC_SEQ + rb"?")


def strip_controls(data: bytes) -> bytes:
    """`data` without the escape sequences and control bytes the splitter strips: what `_ESCAPES_BYTES.sub`
    removes, in two passes. Each escape sequence with its ESC first (left to right, as the one pattern
    meets them: a control byte never starts a match that swallows what follows it, so the sequences are
    the same), then every control byte left, in one `bytes.translate`. One `sub` removed the controls a
    match at a time: a Keras frame's 75 backspaces cost more than reading the frame (3 s of a 13 s parse)."""
    marks = data.translate(_CONTROL)
    if b"\x01" not in marks:
        return data
    escapes = data.count(b"\x1b")
    if escapes:
        data = _ESC_ONLY.sub(b"", data)
    return data if marks.count(b"\x01") == escapes else data.translate(None, _CONTROL_BYTES)


def strip_escapes(text: str) -> str:
    """Remove terminal escape sequences, control characters and bidi overrides (tab and newline stay;
    a bare carriage return goes too)."""
    return clean(text).replace("\r", "")


class LineSplitter:
    """Split a byte stream into lines: `\\n`, `\\r\\n` and bare `\\r` all end one.

    A `\\r`-ended frame identical to the `\\r` frame just before it is dropped
    (a progress bar redrawn without change), and so is the line that repeats
    the last frame (tqdm's closing redraw); empty `\\r` frames are dropped too
    (tqdm starts every frame with `\\r`). Escapes are stripped, bytes are
    decoded as UTF-8 with replacement. A line longer than `max_line` bytes is
    cut: the rest is dropped as it arrives, so memory stays bounded however
    long the line; `dropped_bytes` and `truncated_lines` count what was lost.

    A last line without `\\n` stays open until its end comes, however long it
    waits: a writer that block-buffers (`python train.py > train.log`) cuts a
    line anywhere at each flush and may write its rest minutes later, so no
    quiet time proves a line whole (read early, `Loss: 1.2` of `1.2345`, or
    `Step [1` of `Step [1234`). The reader says when the stream is over and
    takes it with `flush`: a one-shot read and a pipe at EOF at the end of
    their input, a file's follower once the file's writers are gone
    (`FileFollower.writers_gone`).
    """

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        if max_line < 1:
            raise ValueError(f"max_line must be positive, got {max_line}")
        self.max_line = max_line
        self.dropped_bytes = 0
        self.truncated_lines = 0
        self._buf = b""
        self._overflow = False  # the pending line hit the cap; drop until its end
        self._pending_dropped = 0
        self._last_frame: str | None = None  # text of the last emitted line, if it was a `\r` frame
        self._held_at: float | None = None  # when the bytes of the pending line last arrived (feed_timed)

    @property
    def pending_bytes(self) -> int:
        """Bytes of the incomplete last line consumed so far (kept or dropped).

        The stream offset minus this is where the next line starts: the offset
        worth saving, since resuming there re-reads the incomplete line whole.
        """
        return len(self._buf) + self._pending_dropped

    @property
    def held_at(self) -> float | None:
        """When the bytes of the incomplete last line arrived (`feed_timed`, `arrived`); None without one."""
        return self._held_at if self.pending_bytes else None

    def reset(self) -> None:
        """Forget the pending line and the redraw state (a new file starts); counters stay."""
        self._buf = b""
        self._overflow = False
        self._pending_dropped = 0
        self._last_frame = None

    def feed(self, data: bytes) -> list[str]:
        """Consume `data`; return the lines it completed."""
        if not data:
            return []
        if self._overflow:
            data = self._skip_overflow(data)
            if not data:
                return []
        if self._buf:
            data = self._buf + data
        end = _last_terminator(data)
        lines: list[str] = []
        if end >= 0:
            self._pending_dropped = 0  # the pending line ends in this chunk
            lines = self._lines(data[: end + 1])
        self._hold(data[end + 1 :])
        return lines

    def feed_timed(self, data: bytes, t: float) -> list[tuple[list[str], float]]:
        """`feed` of bytes read at `t`, each line with the time its bytes arrived: the line that was pending
        arrived when it was held, not when the bytes that end it came. tqdm starts each frame with `\r`,
        so a frame ends only when the next one is drawn: during a hang, the last real frame would be dated
        by tqdm's 10-s monitor redraw, and the stall clock would start 10 s late (the run lab's
        accelerate-hang)."""
        held_at = self.held_at
        lines = self.feed(data)
        self._held_at = t if self.pending_bytes else None
        if held_at is None or not lines:
            return [(lines, t)] if lines else []
        return [(lines[:1], held_at), (lines[1:], t)] if len(lines) > 1 else [(lines, held_at)]

    def arrived(self, t: float) -> None:
        """Bytes fed by `feed_raw` arrived at `t`: the line they leave open was held from then
        (`feed_timed`'s clock for it)."""
        self._held_at = t if self.pending_bytes else None

    def feed_raw(self, data: bytes, min_raw: int = RAW_MIN_BYTES) -> list[bytes | list[str]]:
        """`feed`, but runs of plain whole lines come back as their bytes, for a consumer that splits them itself.

        The result is what `data` completes, in pieces, in order: a `bytes`
        piece is a run of whole plain lines (no `\\r` but in a CRLF end, none
        longer than the cap) that split_block (runwatch.watcher.snapshot)
        turns into exactly the lines `feed` gives for them; a `list[str]`
        holds the lines of the rest (`\\r` frames, over-long lines, a line
        begun in a frame). A plain run between such lines goes as bytes from
        `min_raw` bytes on; a chunk with none, whatever its size. The
        splitter is left as `feed` leaves it: after a `\\n` it holds no state
        but the open line, so a line is split alike wherever a piece ends.
        """
        cut = data.rfind(b"\n") + 1
        if not cut:
            return _pieces([self.feed(data)])
        lines: list[str] = []
        start, held = 0, b""
        if self._buf or self._overflow or self._last_frame is not None:
            if self._overflow or self._pending_dropped or self._last_frame is not None or b"\r" in self._buf:
                start = data.find(b"\n") + 1  # the open line the splitter's way
                lines = self.feed(data[:start])
            else:  # the open line's start is plain bytes: it goes with the rest of the line
                held, self._buf = self._buf, b""
        block = b"".join((held, memoryview(data)[start:cut])) if held or start else data[:cut]  # one copy, not two
        pieces: list[bytes | list[str]] = []
        pos = 0
        odd = _odd_lines(block, min(self.max_line, MAX_LINE_BYTES))
        for first, end in odd:
            if first - pos >= min_raw:
                pieces += _pieces([lines, block[pos:first]])
                lines = []
            elif first > pos:
                lines += self.feed(block[pos:first])
            lines += self.feed(block[first:end])
            pos = end
        if pos < len(block) and (len(block) - pos >= min_raw or not odd):
            pieces += _pieces([lines, block[pos:] if pos else block])
            lines = []
        elif pos < len(block):
            lines += self.feed(block[pos:])
        lines += self.feed(data[cut:])  # frames after the last line end; the open line is held
        return pieces + _pieces([lines])

    def flush(self) -> list[str]:
        """End of stream: return the incomplete last line, if any, as a line."""
        buf = self._buf
        self._buf, self._overflow, self._pending_dropped = b"", False, 0
        if not buf:
            return []
        return self._lines(buf if buf.endswith(b"\r") else buf + b"\n")

    # -- internals ---------------------------------------------------------

    def _skip_overflow(self, data: bytes) -> bytes:
        """Drop the rest of an over-long line; return what follows its end (terminator first)."""
        cut = _first_terminator(data)
        if cut < 0:
            self._drop(len(data))
            return b""
        self._drop(cut)
        self._overflow = False
        return data[cut:]

    def _hold(self, rest: bytes) -> None:
        """Keep the incomplete tail, cut to `max_line` bytes (plus a held-back `\\r`)."""
        held_cr = rest.endswith(b"\r")
        excess = len(rest) - held_cr - self.max_line
        if excess > 0:
            if self._pending_dropped == 0:
                self.truncated_lines += 1
            self._drop(excess)
            rest = rest[: self.max_line] + (b"\r" if held_cr else b"")
            self._overflow = not held_cr
        self._buf = rest

    def _drop(self, n: int) -> None:
        self.dropped_bytes += n
        self._pending_dropped += n

    def _frames(self, texts: list[str], frames: list[bool]) -> list[str]:
        """The lines of decoded pieces (each a `\r` frame or not): empty frames and redraws dropped."""
        out: list[str] = []
        last = self._last_frame
        for text, is_frame in zip(texts, frames, strict=True):
            if is_frame and not text:
                continue
            if last is not None and text == last:
                last = last if is_frame else None  # a line repeating the last frame ends the redraws
                continue
            last = text if is_frame else None
            out.append(text)
        self._last_frame = last
        return out

    def _lines(self, complete: bytes) -> list[str]:
        """Turn bytes that end in a line terminator into output lines."""
        complete = strip_controls(complete)
        if b"\r" not in complete:
            parts = complete[:-1].split(b"\n")
            if self._last_frame is None and max(map(len, parts)) <= self.max_line:
                return complete[:-1].decode("utf-8", "replace").split("\n")  # the common case
            frames = [False] * len(parts)
        elif max(map(len, complete.replace(b"\r", b"\n").split(b"\n"))) <= self.max_line:
            # decoded at once, then split: `\r` and `\n` end no UTF-8 sequence
            return self._frames(*_split_frames(complete.decode("utf-8", "replace")))
        else:
            parts, frames = _split_frames(complete)
        return self._frames([self._cut(raw).decode("utf-8", "replace") for raw in parts], frames)

    def _cut(self, raw: bytes) -> bytes:
        """A piece cut to `max_line` bytes, what is cut counted."""
        if len(raw) > self.max_line:
            self.dropped_bytes += len(raw) - self.max_line
            self.truncated_lines += 1
            return raw[: self.max_line]
        return raw


def _last_terminator(data: bytes) -> int:
    """Index of the last line end, holding back a final `\\r` that may be half of `\\r\\n`."""
    stop = len(data) - 1 if data.endswith(b"\r") else len(data)
    return max(data.rfind(b"\n", 0, stop), data.rfind(b"\r", 0, stop))


def _pieces(pieces: list[bytes | list[str]]) -> list[bytes | list[str]]:
    return [p for p in pieces if p]


def _odd_lines(block: bytes, cap: int) -> list[tuple[int, int]]:
    """(start, end past the `\\n`) of the lines of `block` (whole lines) that are not plain, ascending:
    with a `\\r` that is not a CRLF's, or longer than `cap` bytes (one `rfind` per window, not one per line)."""
    odd: list[tuple[int, int]] = []
    if b"\r" in block and block.count(b"\r") != block.count(b"\r\n"):
        cr = block.find(b"\r")
        while cr >= 0:
            if block[cr + 1 : cr + 2] == b"\n":
                cr = block.find(b"\r", cr + 2)
                continue
            end = block.find(b"\n", cr) + 1
            odd.append((block.rfind(b"\n", 0, cr) + 1, end))
            cr = block.find(b"\r", end)
    pos, size, long = 0, len(block), False
    while size - pos > cap + 1:
        nl = block.rfind(b"\n", pos, pos + cap + 1)
        if nl < 0:  # the line at pos is too long
            nl = block.find(b"\n", pos)
            odd.append((pos, nl + 1))
            long = True
        pos = nl + 1
    return sorted(set(odd)) if long else odd


def _first_terminator(data: bytes) -> int:
    nl, cr = data.find(b"\n"), data.find(b"\r")
    if nl < 0 or cr < 0:
        return max(nl, cr)
    return min(nl, cr)


def _split_frames(complete: AnyStr) -> tuple[list[AnyStr], list[bool]]:
    """Split text containing `\r` (bytes, or the same decoded): the pieces and whether each was a `\r` frame."""
    nl, cr, crlf = ("\n", "\r", "\r\n") if isinstance(complete, str) else (b"\n", b"\r", b"\r\n")
    parts: list[AnyStr] = []
    frames: list[bool] = []
    segments = complete.replace(crlf, nl).split(nl)
    for i, segment in enumerate(segments):
        pieces = segment.split(cr)
        parts.extend(pieces[:-1])
        frames.extend([True] * (len(pieces) - 1))
        if i < len(segments) - 1:
            parts.append(pieces[-1])
            frames.append(False)
    return parts, frames
