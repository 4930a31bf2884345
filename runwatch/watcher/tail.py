"""Follow one log file the way `tail -F` and Fluent Bit do, and a little better.

The watcher is usually started before the run, logs get rotated by rename or
copytruncate, deleted and re-created, and the shared filesystems of clusters
(NFS, Lustre, GPFS) send no inotify events at all. So the follower never
trusts events: an event only wakes it early, and a stat every
`poll_interval` finds out what really happened. Lines are read in big
chunks and delivered one batch per chunk; with `raw_history`, the runs of
plain lines in a chunk of the history go as their raw bytes (LineBatch.raw,
the odd lines between them as lines), so that the consumer can hand a long
history to a columnar parser in blocks.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runwatch.watcher.compressed import HEAD_BYTES, compression_of
from runwatch.watcher.fileid import head_hash, last_line_end
from runwatch.watcher.hublink import file_targets
from runwatch.watcher.lines import MAX_LINE_BYTES, LineSplitter
from runwatch.watcher.notify import WatchHub
from runwatch.watcher.polling import PollingThread
from runwatch.watcher.snapshot import (
    BLOCK_BYTES,
    CutLines,
    peek_tail,
    read_all,
    read_stream_blocks,
    split_block,
)
from runwatch.watcher.types import FilePosition, LineBatch, Notice

__all__ = ["FilePosition", "FileFollower", "LineBatch", "Notice", "peek_tail", "read_all"]

_ERRORS = ("denied", "error", "notreg")  # problems whose end is worth a notice
CHUNK_BYTES = 1 << 20
"""What a follower reads (and hands over) at once, by default."""
RAW_READ_BYTES = BLOCK_BYTES
"""What a follower with `raw_history` reads of the history at once (split `chunk_size` at a time, as
ever, its plain lines joined again): fewer, bigger raw blocks, each one call of a parser's fast path; the
blocks `runwatch parse` reads (`read_blocks`), whose fast path pays per block: a learned layout's or a line
length's group costs alike in a block of 1 MiB and one of 8 MiB."""
BURST_BYTES = 64 << 10
"""A live read at least this big (a catch-up after a pause, a job of many ranks writing to one file, a
run much faster than the poll) is a burst: with `raw_history`, its runs of plain lines go raw as the
history's do, each one call of a parser's fast path, not a parse per line."""


def _open_file(path: Path) -> int:
    """Open for reading; O_NONBLOCK so a FIFO at the path cannot hang the thread."""
    return os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)


@dataclass
class _Incarnation:
    """The file open at the path now: one life of it, between rotations or truncations."""

    fd: int
    dev: int
    ino: int
    offset: int = 0  # bytes read
    lines: int = 0  # lines delivered
    head: str | None = None  # first-line hash, once the first line is complete
    history_end: int = 0  # bytes below this existed when following started
    history_done: bool = False  # the consumer was told the history is read


class FileFollower(PollingThread):
    """A thread that follows one path through rotation, truncation, deletion and re-creation.

    Lines go to `on_batch`, one `LineBatch` per chunk read; anything a human
    should know (waiting, rotated, permission denied…) goes to `on_notice`,
    once per change of condition. Both are called on the follower's thread.
    `resume` (a saved `position()`) skips what was read before a restart, if
    the file at the path is still the same file. `raw_history` lets history
    chunks go as raw bytes (see LineBatch.raw); the lines are the same.
    """

    def __init__(
        self,
        path: str | Path,
        on_batch: Callable[[LineBatch], None],
        on_notice: Callable[[Notice], None],
        *,
        poll_interval: float = 1.0,
        use_inotify: bool = True,
        from_start: bool = True,
        rank: int | None = None,
        chunk_size: int = CHUNK_BYTES,
        resume: tuple[int, int, int, str | None] | None = None,
        hub: WatchHub | None = None,
        source: str | None = None,
        max_line: int = MAX_LINE_BYTES,
        raw_history: bool = False,
        on_position: Callable[[FilePosition], None] | None = None,
        boundary: int | None = None,
    ) -> None:
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        self.path = Path(path)
        super().__init__(
            "tail", self.path, doing=f"following {self.path}", source=str(path) if source is None else source,
            on_notice=on_notice, poll_interval=poll_interval,
        )
        self.rank = rank
        self._on_batch = on_batch
        self._chunk, self._from_start = chunk_size, from_start
        self._raw_history = raw_history
        self._on_position = on_position
        """Hears the position after each chunk's batches (on this thread, after `on_batch` got them): a
        consumer that queues both knows how far the file is read once it has handled what came before."""
        self._boundary = boundary
        """A history offset no read crosses (the end of what a previous daemon judged): the chunk before it
        ends exactly there, so a consumer can treat the bytes on either side differently."""
        self._resume = FilePosition(*resume) if resume is not None else None
        self._link_hub(hub, use_inotify, lambda: file_targets(self.path))
        self._splitter = LineSplitter(max_line)
        self._cur: _Incarnation | None = None
        self._position: FilePosition | None = None
        self._first_step = True
        self._seen_file = False
        self._gone_since: float | None = None
        self._cut_reported = False
        self._no_writers = threading.Event()  # see `writers_gone`

    def writers_gone(self, gone: bool = True) -> None:
        """Whether every process known to write the file has exited (the engine's, from its system samples;
        any thread). While they are gone, a poll that finds nothing new hands the last line over as a line
        though it has no `\\n` (a script that exited without one: `tail` then gives the records `check`
        gives). Nothing else ends a line early: a live writer that block-buffers cuts lines anywhere and
        may write the rest minutes later. If the file grows again afterwards (a restarted script appending),
        it is read on as ever, its bytes a new line: the rest of a line the writer went on with would come
        as a line of its own, a `\\n` first as an empty line."""
        if gone:
            self._no_writers.set()
        else:
            self._no_writers.clear()

    def position(self) -> FilePosition | None:
        """Identity and offset of the first line not yet delivered; None before the file was opened."""
        return self._position

    def reset(self) -> None:
        """After a failure (the supervisor runs the follower again): go on from the first line not yet
        delivered, in the same file if it still is, instead of reading it all again."""
        if self._position is not None:
            self._resume, self._seen_file = self._position, False

    @property
    def dropped_bytes(self) -> int:
        return self._splitter.dropped_bytes

    @property
    def truncated_lines(self) -> int:
        return self._splitter.truncated_lines

    def _stopped(self, exc: Exception) -> None:
        self._safe_notice("error", f"following {self.path} failed: {exc!r}; restarting")  # never die silently
        raise exc  # the supervisor logs it, counts it and runs the follower again from where it stood

    def _finish(self) -> None:
        self._close(flush=False)

    # -- one round: open, read, look at the path ---------------------------

    def _step(self) -> None:
        try:
            for _ in range(3):  # the file may be replaced again while we switch; the next round goes on
                if self._cur is None and not self._open():
                    break
                self._drain()
                if not self._check_path():
                    break
        finally:
            self._first_step = False

    def _open(self) -> bool:
        try:
            fd = _open_file(self.path)
        except (FileNotFoundError, NotADirectoryError):
            if not self._seen_file:
                self._report("missing", "info", f"waiting for {self.path} to appear")
            return False
        except PermissionError:
            self._report("denied", "error", f"cannot read {self.path}: permission denied (retrying)")
            return False
        except OSError as exc:
            self._report("error", "error", f"cannot open {self.path}: {exc.strerror or exc} (retrying)")
            return False
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            self._report(
                "notreg", "error", f"{self.path} is not a regular file; pipe it to `runwatch tail -`"
            )
            return False
        if self._problem in _ERRORS:
            self._notice("info", f"{self.path} is readable again")
        self._problem, self._gone_since = None, None
        cur = _Incarnation(fd, st.st_dev, st.st_ino, history_end=st.st_size if self._first_step else 0)
        self._splitter.reset()
        kind = compression_of(os.pread(fd, HEAD_BYTES, 0))
        if kind is not None and kind.readable:
            self._seen_file, self._resume, self._cur = True, None, cur
            if self._from_start or not self._first_step:
                self._read_compressed(cur)
            cur.offset = cur.history_end = st.st_size
            self._update_position(cur)
            return True
        if not self._seen_file:
            self._seen_file = True
            self._place(cur, st.st_size)
        else:
            self._boundary = None  # another file than the one judged before
        self._cur = cur
        self._update_position()
        return True

    def _read_compressed(self, cur: _Incarnation) -> None:
        """A compressed log (an archived run's `train.log.gz`, logrotate's `train.log.1.gz`) does not grow: its
        text is the history, read once as `check` reads it, and the file is then at its end for `_drain` (a
        new file at the path is read anew, as any replaced file is). Followed by its offsets as a log is, its
        compressed bytes were read as text: `tail train.log.gz` said "no known log format". A cut or damaged
        stream gives what decompressed, and a notice of why it ends there. A saved position is not used: its
        offset counts compressed bytes."""
        t, cuts = time.time(), CutLines()
        with os.fdopen(os.dup(cur.fd), "rb") as raw:
            for block in read_stream_blocks(raw, cuts):  # the blocks `check` reads of it
                if self.stopping:
                    return
                lines = split_block(block) if isinstance(block, bytes) and not self._raw_history else block
                self._hand_over(cur, lines, history=True, t=t)
        cur.head = head_hash(cur.fd)
        if cuts.ended_early is not None:
            self._notice("warning", f"{self.path}: {cuts.ended_early}")

    def _place(self, cur: _Incarnation, size: int) -> None:
        """Where reading starts in the first file: a saved position, the end, or the start."""
        saved, self._resume = self._resume, None
        if saved is not None:
            same = (saved.dev, saved.ino) == (cur.dev, cur.ino) and saved.offset <= size
            if same and saved.first_line_hash in (None, head_hash(cur.fd)):
                self._skip_to(cur, saved.offset)
                return
            self._notice("info", f"saved position no longer matches {self.path} (replaced); reading it all")
        elif not self._from_start and self._first_step:
            self._skip_to(cur, last_line_end(cur.fd, size))

    def _skip_to(self, cur: _Incarnation, offset: int) -> None:
        """Start at `offset`, counting the line ends before it so line numbers stay meaningful."""
        pos = 0
        while pos < offset and not self.stopping:
            data = os.pread(cur.fd, min(self._chunk, offset - pos), pos)
            if not data:
                break
            pos += len(data)
            cur.lines += data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
        cur.offset = pos
        cur.head = head_hash(cur.fd)

    def _drain(self) -> None:
        """Read everything the open file holds past our offset, one batch per chunk."""
        cur = self._cur
        assert cur is not None
        while not self.stopping:
            st = os.fstat(cur.fd)
            size = st.st_size
            if size < cur.offset:
                self._restart(cur, f"{self.path} was truncated; reading it from the start")
                continue
            if size == cur.offset:
                if self._splitter.pending_bytes and self._no_writers.is_set():  # the line is as whole as it gets
                    # written when the file last was: a log's last line, unended since its writer died hours
                    # before `tail` came, is no step of now (it read `running`, "last 3 s ago", a review)
                    held = self._splitter.held_at
                    t = min(held, st.st_mtime) if held is not None else st.st_mtime
                    self._hand_over(cur, self._splitter.flush(), history=False, t=t)
                    self._settle(cur)
                self._end_history(cur)
                return
            if cur.head is not None and head_hash(cur.fd) != cur.head:  # before reading garbage
                self._restart(cur, f"{self.path} was rewritten in place; reading it from the start")
                continue
            raw = self._raw_history and cur.offset < cur.history_end
            left = size - cur.offset
            if self._boundary is not None and cur.offset < self._boundary:
                left = min(left, self._boundary - cur.offset)
            data = os.pread(cur.fd, min(max(self._chunk, RAW_READ_BYTES) if raw else self._chunk, left), cur.offset)
            if not data:
                return
            if raw:
                self._split_history(cur, data)
                continue
            if (self._raw_history and len(data) >= BURST_BYTES and cur.offset >= cur.history_end
                    and not self._splitter.pending_bytes):  # no line held: no earlier arrival time to keep
                self._split_history(cur, data, burst=True)
                continue
            cur.offset += len(data)
            history = cur.offset <= cur.history_end
            for lines, t in self._splitter.feed_timed(data, time.time()):
                self._hand_over(cur, lines, history=history, t=t)
            self._settle(cur)

    def _split_history(self, cur: _Incarnation, data: bytes, *, burst: bool = False) -> None:
        """A big read of the history (or, with `burst`, a big live read) through the splitter; the runs of
        plain lines go raw, the rest as lines, each batch flagged history or not. A history's read goes to the
        splitter whole up to the history's end (the line begun before it joined to its first run): one block
        per read, as a parser's fast path pays per block and the consumer cuts what it judges to size
        (`Ingest.apply`). Split at `chunk_size` and joined again, each 8 MiB read was copied three times more:
        a tenth of `tail`'s time reading an 80 MB Megatron history. Cut at the read's size, a read that began
        inside a line was two blocks, one of them the size of a piece: a Megatron history went to the parser
        in 98 blocks for 64 reads. What lies past the history's end, and a burst, go `chunk_size` at a time
        (a burst's runs up to `chunk_size`) as a live read does."""
        out: list[tuple[bytes | list[str], bool]] = []
        run: list[bytes] = []  # raw pieces next to each other in the file
        held = 0
        block = self._chunk if burst else None  # a history's read: one block
        whole = 0 if burst else max(0, min(len(data), cur.history_end - cur.offset))
        parts = [data[:whole]] if whole else []  # the whole read when it is all history: no copy
        parts += [data[pos : pos + self._chunk] for pos in range(whole, len(data), self._chunk)]
        t = time.time()
        for part in parts:
            cur.offset += len(part)
            history = cur.offset <= cur.history_end
            for piece in self._splitter.feed_raw(part) if history or burst else [self._splitter.feed(part)]:
                if isinstance(piece, bytes):
                    if run and block is not None and held + len(piece) > block:
                        out.append((b"".join(run), not burst))
                        run, held = [], 0
                    run.append(piece)
                    held += len(piece)
                    continue
                if run:
                    out.append((b"".join(run), not burst))
                    run, held = [], 0
                out.append((piece, history))
        if run:
            out.append((b"".join(run), not burst))
        self._splitter.arrived(t)
        for piece, history in out:
            self._hand_over(cur, piece, history=history, t=t)
        self._settle(cur)

    def _end_history(self, cur: _Incarnation) -> None:
        """Say once, with an empty non-history batch, that what the file held at start is read."""
        if cur.history_end and not cur.history_done:
            cur.history_done = True
            self._on_batch(LineBatch(self.source, self.rank, cur.lines + 1, [], time.time(), False))

    def _check_path(self) -> bool:
        """Compare the path with the open file; True when we moved on to another file."""
        cur = self._cur
        assert cur is not None
        try:
            st = os.stat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            self._gone(cur)
            return False
        except OSError:  # cannot tell (say, a directory lost its x bit): keep reading what we have
            return False
        if (st.st_dev, st.st_ino) != (cur.dev, cur.ino):
            self._drain()  # what the old file got before the switch
            renamed = os.fstat(cur.fd).st_nlink > 0
            self._close(flush=True)
            what = "rotated" if renamed else "was replaced"
            self._notice("info", f"{self.path} {what}; following the new file")
            return True
        self._gone_since = None
        return False

    def _gone(self, cur: _Incarnation) -> None:
        """The path is missing: deleted (let go of the file) or renamed away (keep reading it)."""
        now = time.monotonic()
        self._gone_since = self._gone_since if self._gone_since is not None else now
        deleted = os.fstat(cur.fd).st_nlink == 0
        if deleted:
            self._close(flush=True)
        if deleted or now - self._gone_since >= self._poll:  # a rename-rotation is over in microseconds
            self._report("missing", "warning", f"{self.path} vanished, waiting for it to appear again")

    def _restart(self, cur: _Incarnation, message: str) -> None:
        """Same file, new content (copytruncate or rewrite): read it again from 0."""
        self._deliver(cur, self._splitter.flush(), history=False)
        self._notice("warning", message)
        cur.offset = cur.lines = cur.history_end = 0
        cur.head = None
        self._boundary = None  # new content: nothing of it was judged
        self._splitter.reset()
        self._update_position()

    def _close(self, *, flush: bool) -> None:
        cur, self._cur = self._cur, None
        if cur is None:
            return
        try:
            if flush:  # the file is finished: its unterminated last line is a line
                self._deliver(cur, self._splitter.flush(), history=False)
        finally:
            os.close(cur.fd)

    # -- delivery ----------------------------------------------------------

    def _deliver(self, cur: _Incarnation, lines: list[str], *, history: bool) -> None:
        self._hand_over(cur, lines, history=history)
        self._settle(cur)

    def _hand_over(self, cur: _Incarnation, lines: list[str] | bytes, *, history: bool,
                   t: float | None = None) -> None:
        """One batch of lines (or of raw plain lines) to the consumer, numbered on from the last; `t`: when
        they arrived (now, unless the splitter held one: `LineSplitter.feed_timed`)."""
        if lines:
            t = time.time() if t is None else t
            if isinstance(lines, bytes):
                batch = LineBatch(self.source, self.rank, cur.lines + 1, [], t, history, lines)
            else:
                batch = LineBatch(self.source, self.rank, cur.lines + 1, lines, t, history)
            cur.lines += batch.count
            self._on_batch(batch)

    def _settle(self, cur: _Incarnation) -> None:
        """After a chunk's batches: the first line's hash, the position, a notice of a cut line."""
        if cur.head is None and cur.offset:
            cur.head = head_hash(cur.fd)
        self._update_position(cur)
        if self._splitter.truncated_lines and not self._cut_reported:
            self._cut_reported = True
            kib = self._splitter.max_line // 1024
            self._notice("warning", f"{self.path}: a line longer than {kib} KiB was cut; its rest is skipped")

    def _update_position(self, cur: _Incarnation | None = None) -> None:
        cur = cur if cur is not None else self._cur
        if cur is not None:
            offset = max(0, cur.offset - self._splitter.pending_bytes)
            self._position = FilePosition(cur.dev, cur.ino, offset, cur.head)
            if self._on_position is not None:
                self._on_position(self._position)
