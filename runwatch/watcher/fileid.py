"""What makes a file "the same file" across rotations, truncations and restarts.

(st_dev, st_ino) alone is not enough: a log deleted and re-created can get the
same inode back, and copytruncate keeps it. A hash of the first line tells
such a new incarnation from the one we read (DESIGN §7).
"""

from __future__ import annotations

import hashlib
import os

from runwatch.watcher.compressed import Compression, DecompressedLog, compression

HEAD_BYTES = 4096
"""At most this much of the first line is hashed (a 1 MB first line needs no more)."""


def head_hash(fd: int) -> str | None:
    """Hash of the file's first line, or None while the first line is incomplete."""
    head = os.pread(fd, HEAD_BYTES, 0)
    end = head.find(b"\n")
    if end >= 0:
        head = head[: end + 1]
    elif len(head) < HEAD_BYTES:
        return None
    return hashlib.blake2b(head, digest_size=8).hexdigest()


def last_line_end(fd: int, size: int, window: int = 1 << 16) -> int:
    """Offset just past the last line end before `size` (0 if none in the last `window` bytes)."""
    start = max(0, size - window)
    tail = os.pread(fd, size - start, start)
    end = max(tail.rfind(b"\n"), tail.rfind(b"\r"))
    return start + end + 1 if end >= 0 else (size if start > 0 else 0)


HOLE_BYTES = 1 << 20
"""How far a run of NUL bytes at a file's start is skipped before its text is looked at."""


def looks_binary(path: str | os.PathLike[str]) -> bool | None:
    """Whether the file has NUL bytes in the first HEAD_BYTES of its text (no text log has them: a
    checkpoint, a core dump, a compressed log); None when it cannot be read.

    A run of NULs at the very start is skipped first: a log rotated with logrotate's `copytruncate`
    while the trainer kept writing at its old offset begins with a hole of NULs, then its lines (a new
    user's review: `check DIR` skipped such a log as no log at all, and `tail` called it binary while
    reading its steps)."""
    try:
        with open(path, "rb") as f:
            head = f.read(HEAD_BYTES)
            if not head:
                return False  # empty: a log with nothing in it yet
            skipped = 0
            while head and not head.strip(b"\0") and skipped < HOLE_BYTES:
                skipped += len(head)
                head = f.read(HEAD_BYTES)
            text = head.lstrip(b"\0")
            if len(text) < len(head):  # the text starts inside this read: look at a whole HEAD_BYTES of it
                text += f.read(HEAD_BYTES - len(text))
    except OSError:
        return None
    return not text or b"\0" in text  # nothing but NULs, or NULs inside the text


def binary_file(path: str | os.PathLike[str]) -> str | None:
    """Why a file given as a log can give nothing (`looks_binary`); None otherwise, or when it cannot be
    read. Said alike by `check`, `parse` and the live views; a compressed log's text is what counts, as
    both decompress it (`_compressed`)."""
    name = os.path.basename(os.fspath(path))
    kind = compression(path)
    if kind is not None:
        return _compressed(path, name, kind)
    if not looks_binary(path):
        return None
    if utf16(path):
        return (f"{name} is UTF-16 text (as Windows PowerShell's `>` writes it), not UTF-8: convert it with "
                f"`iconv -f UTF-16 -t UTF-8 {name} > {name}.utf8`")
    return f"{name} is a binary file (NUL bytes in its first {HEAD_BYTES:,} bytes), not a text log"


def _compressed(path: str | os.PathLike[str], name: str, kind: Compression) -> str | None:
    if not kind.readable:
        return f"{name} is {kind.value}-compressed: read it through a pipe, `{kind.tool} {name} | runwatch check -`"
    try:
        with DecompressedLog(path, kind) as d:
            head = d.read(HEAD_BYTES)
    except OSError:
        return None  # the read that follows says why
    if b"\0" in head:
        return f"{name} is {kind.value}-compressed binary data (an archive?), not a text log"
    return None


def utf16(path: str | os.PathLike[str]) -> bool:
    """Whether the file starts with a UTF-16 byte order mark: a log redirected by Windows PowerShell (5's `>`
    writes UTF-16LE) is text with a NUL after every ASCII character, which runwatch reads as UTF-8 only, so
    it is told how to convert it rather than that a text log is binary (a new user's review, Ultralytics's
    console kept that way)."""
    try:
        with open(path, "rb") as f:
            return f.read(2) in (b"\xff\xfe", b"\xfe\xff")
    except OSError:
        return False


def last_written(path: str | os.PathLike[str], depth: int = 2) -> float | None:
    """When what `path` holds was last written: a file's modification time; for a directory (a W&B run, a
    checkpoint directory) the newest of its files' and folders' down to `depth` levels. None when it
    cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    newest = st.st_mtime
    if depth > 0 and os.path.isdir(path):
        try:
            with os.scandir(path) as entries:
                for entry in entries:
                    t = last_written(entry.path, depth - 1)
                    if t is not None and t > newest:
                        newest = t
        except OSError:
            pass
    return newest


STEP_COLUMNS = ("step", "epoch", "global_step", "total_timesteps", "timesteps_total", "steps_done")
"""A metrics table's step columns (runwatch.parsers.structured.STEP_KEYS, and the epoch)."""


def delimiter(header: str) -> str:
    """The cell delimiter of a metrics table by its header line: a tab where it holds tabs and no comma (a
    `step\tloss` file), else a comma."""
    return "\t" if "\t" in header and "," not in header else ","


def is_table(path: str | os.PathLike[str]) -> bool:
    """Whether a file of another name (`logs/train.log`) is a metrics table: a header of two or more names
    with a step column, tab- or comma-separated, and a first row of numbers only. A review found a `step\tloss`
    table read as a text log, `nothing understood`."""
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            head, row = f.readline(4096), f.readline(4096)
    except OSError:
        return False
    sep = delimiter(head)
    names = [h.strip() for h in head.rstrip("\r\n").split(sep)]
    cells = row.rstrip("\r\n").split(sep)
    if len(names) < 2 or len(cells) != len(names) or not any(n.lower() in STEP_COLUMNS for n in names):
        return False
    if not all(n and n.replace("_", "").replace("/", "").replace("-", "").replace(" ", "").isalnum() for n in names):
        return False
    try:
        [float(c) for c in cells if c.strip()]
    except ValueError:
        return False
    return any(c.strip() for c in cells)
