"""Follow structured metric files as they grow or are rewritten, and tell which source a path is.

Three ways a training program keeps its metrics in a file, three followers:

* appended rows: Lightning CSVLogger's `metrics.csv` (`CsvRowsFollower`,
  batches of kind "csv_rows", each item a {column: cell} dict of the row's
  non-empty cells). Lightning rewrites the whole file in place with a wider
  header when a new metric appears; a row is only ever parsed under the header
  it was written under, and after a rewrite the rows already delivered are
  recognised by value and skipped, not delivered twice.
* appended records: TensorBoard `events.out.tfevents.*` (`TfRecordFollower`,
  kind "tfevents", each item one record's raw `Event` payload). TFRecord
  framing (uint64 length, masked CRC-32C of it, data, masked CRC-32C of the
  data); only whole records with good checksums are delivered (the data
  checksum of payloads over `VERIFY_MAX` is not computed) and the follower
  resumes at the last good offset. A damaged record that stays
  damaged is skipped over (with a warning) after `RESYNC_POLLS` looks.
* documents rewritten whole: Hugging Face `trainer_state.json` (kind
  "hf_log_history") and `training_metrics.json` arrays (kind
  "metrics_arrays") (`JsonDocFollower`, each item the parsed document); a
  half-written document is retried at the next look.

Like `FileFollower`, every follower stats its file every `poll_interval` and
is woken early by the shared `WatchHub`; a file that is missing is waited
for. What was in the file when following began is delivered with
`history=True`, followed by one empty batch with `history=False`.

`classify_path` names the source a path is; `find_metric_files` lists the
metric files below a directory; `follow` builds the right thread for a path.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import os
import stat
import struct
import time
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from runwatch.watcher.checkpoint_layout import SKIP_DIRS, UNIT_DIR, has_checkpoints
from runwatch.watcher.checkpoints import CheckpointWatcher
from runwatch.watcher.fileid import STEP_COLUMNS, delimiter, is_table
from runwatch.watcher.hublink import file_targets
from runwatch.watcher.notify import WatchHub
from runwatch.watcher.polling import PollingThread
from runwatch.watcher.threads import ServiceThread
from runwatch.watcher.types import ItemBatch, Notice

BATCH_KINDS = {
    "metrics_csv": "csv_rows",
    "hparams": "hparams_yaml",
    "trainer_state": "hf_log_history",
    "metrics_arrays": "metrics_arrays",
    "tfevents": "tfevents",
    "checkpoint_dir": "checkpoint",
}
"""`classify_path` answer → the `ItemBatch.kind` its follower sends (a checkpoint dir also sends
"hf_log_history" and "nanochat_meta")."""

EVAL_DIRS = frozenset({"validation", "val", "valid", "eval", "evaluation", "test"})
CHUNK = 4 << 20
MAX_RECORD = 256 << 20
"""A TFRecord longer than this is taken for damage, not data."""
VERIFY_MAX = 1 << 20
"""Payloads up to this size have their data checksum verified. Larger ones (graphs, images: never
scalars) rely on the length checksum alone: CRC-32C in pure Python reads only a few MB/s."""
MAX_DOCUMENT = 256 << 20
RESYNC_POLLS = 3
TAIL = 256
"""Bytes before its offset a CSV follower checks again at each look (with the header line)."""
REREAD_TRIES = 3
"""Reads of a CSV file from its start in one look, while it keeps changing under us."""
_ERRORS = ("denied", "error", "notreg")


# ── which source is this path ────────────────────────────────────────────────


def classify_path(path: str | Path) -> str | None:
    """"checkpoint_dir", "metrics_csv", "hparams", "trainer_state", "metrics_arrays", "tfevents", or None.

    By name first (a path that does not exist yet is classified by name alone),
    then, for other `.csv` and `*metric*.json` files, by a look at the content.
    A directory is a "checkpoint_dir" when it is one or holds checkpoints
    within three levels; other directories are None (find logs and
    `find_metric_files` in them).
    """
    p = Path(path)
    name = p.name
    if p.is_dir():
        return "checkpoint_dir" if has_checkpoints(p, depth=3) else None
    known = _by_name(name)
    if known is not None:
        return known
    if not p.exists():
        return "checkpoint_dir" if UNIT_DIR.match(name) else None
    if name.endswith((".csv", ".tsv")) and _csv_has_step(p):
        return "metrics_csv"
    if name.endswith(".json"):
        return _json_kind(p, arrays="metric" in name.lower())
    if p.is_file() and is_table(p):
        return "metrics_csv"
    return None


def is_eval_events(path: str | Path) -> bool:
    """Whether a TensorBoard file comes from an evaluation writer (Keras writes `logs/validation/events…`
    with the training tags): decode it with `TfEventsDecoder(eval_source=True)`."""
    return Path(path).parent.name.lower() in EVAL_DIRS


def _by_name(name: str) -> str | None:
    if name.startswith("events.out.tfevents."):
        return "tfevents"
    return {"trainer_state.json": "trainer_state", "metrics.csv": "metrics_csv", "hparams.yaml": "hparams",
            "training_metrics.json": "metrics_arrays"}.get(name)


def find_metric_files(directory: str | Path, depth: int = 6) -> list[tuple[Path, str]]:
    """Metric files below `directory` by name, with their `classify_path` kind, `depth` levels down (six:
    `EXPS/run/logs/lightning_logs/version_0/metrics.csv` from a directory of runs).

    Checkpoint directories are not entered: their `trainer_state.json` is the
    `CheckpointWatcher`'s to read.
    """
    return sorted(_metric_files(Path(directory), depth))


def _metric_files(root: Path, depth: int) -> Iterator[tuple[Path, str]]:
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                if depth > 0 and entry.name not in SKIP_DIRS and not UNIT_DIR.match(entry.name):
                    yield from _metric_files(Path(entry.path), depth - 1)
            elif entry.is_file() and (kind := _by_name(entry.name)) is not None:
                yield Path(entry.path), kind
        except OSError:
            continue


def _csv_has_step(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            line = f.readline(65_536)
    except OSError:
        return False
    header = next(csv.reader([line], delimiter=delimiter(line)), [])
    return any(h.strip().lower() in STEP_COLUMNS for h in header)


def _json_kind(path: Path, *, arrays: bool) -> str | None:
    """A JSON file by its content: Hugging Face's trainer state under any name (it has `log_history`),
    or, for a `*metric*.json`, per-metric arrays."""
    try:
        if path.stat().st_size > MAX_DOCUMENT:
            return None
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if isinstance(doc, dict) and isinstance(doc.get("log_history"), list):
        return "trainer_state"
    if not arrays:
        return None
    if isinstance(doc, dict):
        found = any(isinstance(v, list) and v and isinstance(v[0], int | float) for v in doc.values())
    else:
        found = isinstance(doc, list) and bool(doc) and isinstance(doc[0], dict)
    return "metrics_arrays" if found else None


def follow(
    path: str | Path, on_batch: Callable[[ItemBatch], None], on_notice: Callable[[Notice], None], **kw: Any
) -> ServiceThread | None:
    """The thread that follows `path` as `classify_path` sees it (not started), or None."""
    kind = classify_path(path)
    if kind == "checkpoint_dir":
        return CheckpointWatcher(path, on_batch, on_notice, **kw)
    if kind == "metrics_csv":
        return CsvRowsFollower(path, on_batch, on_notice, **kw)
    if kind == "tfevents":
        return TfRecordFollower(path, on_batch, on_notice, **kw)
    if kind in ("trainer_state", "metrics_arrays"):
        return JsonDocFollower(path, on_batch, on_notice, kind=BATCH_KINDS[kind], **kw)
    if kind == "hparams":
        return TextDocFollower(path, on_batch, on_notice, kind=BATCH_KINDS[kind], **kw)
    return None


def read_now(path: str | Path, on_batch: Callable[[ItemBatch], None], on_notice: Callable[[Notice], None]) -> bool:
    """What the metric file at `path` holds now, delivered by its follower's looks taken on the caller's
    thread (`runwatch parse`/`check`: no thread, no following); False when `path` is no metric file.

    Looks are taken until `RESYNC_POLLS` in a row deliver nothing, so what one look holds back a
    follower would deliver later (a damaged TensorBoard record skipped, a broken JSON document
    reported) is delivered or said here too. Checkpoint directories are `CheckpointWatcher.scan`'s."""
    looks = [0]

    def counted(batch: ItemBatch) -> None:
        looks[0] = 0 if batch.items else looks[0]
        on_batch(batch)

    follower = follow(path, counted, on_notice, use_inotify=False)
    if not isinstance(follower, _Follower):
        return False
    while looks[0] < RESYNC_POLLS:
        looks[0] += 1
        follower.poll()
    return True


# ── the shared follower loop ─────────────────────────────────────────────────


class _Follower(PollingThread):
    """Stat, read what is new, sleep until an event or the next poll; subclasses implement `_read`."""

    kind: str = ""
    """The `ItemBatch.kind` sent; a subclass sets it, JsonDocFollower per instance."""
    crash_key = "error"  # one of `_ERRORS`: the next good stat says the file is readable again

    def __init__(
        self,
        path: str | Path,
        on_batch: Callable[[ItemBatch], None],
        on_notice: Callable[[Notice], None],
        *,
        poll_interval: float = 1.0,
        use_inotify: bool = True,
        hub: WatchHub | None = None,
        source: str | None = None,
        rank: int | None = None,
    ) -> None:
        self.path = Path(path)
        super().__init__(
            self.kind, self.path, doing=f"reading {self.path}", source=str(path) if source is None else source,
            on_notice=on_notice, poll_interval=poll_interval,
        )
        self.rank = rank
        self._on_batch = on_batch
        self._link_hub(hub, use_inotify, lambda: file_targets(self.path))
        self._seen = False
        self._history = True
        self._history_items = False

    def poll(self) -> None:
        """One look at the file, as the thread takes every `poll_interval` (public for tests)."""
        self._round()

    def _step(self) -> None:
        try:
            st = os.stat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            self._history = False  # what appears from now on is live
            if self._seen:
                self._report("missing", "warning", f"{self.path} vanished, waiting for it to appear again")
            else:
                self._report("missing", "info", f"waiting for {self.path} to appear")
            return
        except PermissionError:
            self._report("denied", "error", f"cannot read {self.path}: permission denied (retrying)")
            return
        if not stat.S_ISREG(st.st_mode):
            self._report("notreg", "error", f"{self.path} is not a regular file")
            return
        if self._problem in _ERRORS:
            self._notice("info", f"{self.path} is readable again")
        if self._problem in (*_ERRORS, "missing"):  # a problem with the content is `_read`'s to clear
            self._problem = None
        self._seen = True
        self._read(st)
        if self._history:
            self._history = False
            if self._history_items:
                self._on_batch(ItemBatch(self.source, self.kind, [], time.time(), False, self.rank))

    def _read(self, st: os.stat_result) -> None:
        raise NotImplementedError

    def _emit(self, items: list[object]) -> None:
        if items:
            self._history_items |= self._history
            self._on_batch(ItemBatch(self.source, self.kind, items, time.time(), self._history, self.rank))


# ── metrics.csv ──────────────────────────────────────────────────────────────


class CsvRowsFollower(_Follower):
    """Rows appended to a CSV file with a header line; survives Lightning's header rewrites.

    Lightning's CSVLogger rewrites the whole file in place when a new metric
    appears (truncate, wider header, every row again), and a look may fall
    anywhere in that: an empty file, half a header, some of the old rows. So a
    look never trusts the bytes past its offset on their own: before and after
    reading them it checks that the file still starts with the header line
    they are parsed under and still holds, just before the offset, the bytes
    last read there (a rewrite that begins while we read changes the first
    line: Lightning's headers only grow). When the check fails the file is
    read again from its start. Rows are compared by value with those already
    delivered (a hash of each, restricted to the columns it was delivered
    with), in order, and skipped while they agree; a half-written rewrite is
    simply read on at the next look. The first row that disagrees means other
    data: a warning, and the file is delivered from its start as a new one.
    A file replaced by another (new inode) is read the same way. Only whole
    lines are parsed.
    """

    kind = "csv_rows"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._file_id: tuple[int, int] | None = None
        self._sent = array("q")
        """A hash of each row delivered, in order."""
        self._era_starts: list[int] = []
        self._era_cols: list[frozenset[str]] = []
        """The columns rows were delivered with: those of `_era_cols[k]` from row `_era_starts[k]` on."""
        self._huge_header = False
        self._reread()

    def _reread(self) -> None:
        """Read the file from its start at the next look (what was delivered is kept, to compare)."""
        self._header_raw = b""
        """The header line of the file as it is being read, its line ending included."""
        self._header: list[str] = []
        self._delimiter = ","
        self._cols: frozenset[str] = frozenset()
        self._offset = 0
        """Bytes of whole lines read."""
        self._tail = b""
        """The last (up to `TAIL`) bytes before `_offset`, as they were read."""
        self._cursor = 0
        """Rows of the file read (compared or delivered)."""
        self._long = False
        """Inside a line too long to be a row, being skipped."""

    def _forget(self) -> None:
        self._sent = array("q")
        self._era_starts, self._era_cols = [], []

    def _read(self, st: os.stat_result) -> None:
        try:
            f = open(self.path, "rb", buffering=0)
        except FileNotFoundError:
            return  # gone since the stat: the next look says so
        with f:
            fst = os.fstat(f.fileno())
            if (fst.st_dev, fst.st_ino) != self._file_id:
                if self._file_id is not None:
                    self._notice("info", f"{self.path} was replaced; reading the new file")
                self._file_id = (fst.st_dev, fst.st_ino)
                self._reread()
            for _ in range(REREAD_TRIES):
                if self._read_on(f) or self.stopping:
                    return
                self._reread()
            # still changing under us: the next look goes on from the start

    def _read_on(self, f: io.RawIOBase) -> bool:
        """Deliver the whole lines past the offset; False when the file was rewritten (read it again)."""
        while not self.stopping:
            if not self._intact(f, self._header_raw):
                return False
            size = os.fstat(f.fileno()).st_size
            if size <= self._offset:
                return True
            data = _pread(f, min(CHUNK, size - self._offset), self._offset)
            end = data.rfind(b"\n") + 1
            if end == 0 and len(data) < CHUNK:
                return True  # an unfinished line: wait for its end
            if end == 0 and not self._header_raw:
                if not self._huge_header:
                    self._huge_header = True
                    self._notice("warning", f"{self.path}: no header line in its first {CHUNK >> 20} MiB")
                return True
            data = data[:end] if end else data
            header_raw = self._header_raw or data[: data.find(b"\n") + 1]
            if not self._intact(f, header_raw):  # a rewrite began while we read
                return False
            self._offset += len(data)
            self._tail = (self._tail + data)[-TAIL:]
            if not end:  # 4 MiB without a line end is no CSV row: skip to the next line
                self._long = True
                continue
            if self._long:
                data, self._long = data[data.find(b"\n") + 1:], False
            if not self._header_raw:
                self._header_raw, data = header_raw, data[len(header_raw):]
                text = header_raw.decode("utf-8", "replace")
                self._delimiter = delimiter(text)
                self._header = next(csv.reader([text], delimiter=self._delimiter), [])
                self._cols = frozenset(self._header)
            if not self._take(data):
                self._notice("warning", f"{self.path} was truncated or rewritten; reading it from the start")
                self._forget()
                return False
        return True

    def _intact(self, f: io.RawIOBase, header_raw: bytes) -> bool:
        """Whether the file still starts with `header_raw` and holds the bytes last read before the offset."""
        if header_raw and _pread(f, len(header_raw), 0) != header_raw:
            return False
        return not self._tail or _pread(f, len(self._tail), self._offset - len(self._tail)) == self._tail

    def _take(self, data: bytes) -> bool:
        """Compare the rows in `data` that were delivered already, deliver the rest; False on a mismatch."""
        items: list[object] = []
        header, cols = self._header, self._cols
        for row in csv.reader(io.StringIO(data.decode("utf-8", "replace"), newline=""), delimiter=self._delimiter):
            if not row:
                continue
            cells = {h: v for h, v in zip(header, row, strict=False) if v != ""}
            i, self._cursor = self._cursor, self._cursor + 1
            if i < len(self._sent):
                was = self._era_cols[bisect.bisect_right(self._era_starts, i) - 1]
                if _row_hash({h: v for h, v in cells.items() if h in was}) != self._sent[i]:
                    return False
                continue
            if not self._era_cols or self._era_cols[-1] != cols:
                self._era_starts.append(i)
                self._era_cols.append(cols)
            self._sent.append(_row_hash(cells))
            items.append(cells)
        self._emit(items)
        return True


def _row_hash(cells: dict[str, str]) -> int:
    return hash(frozenset(cells.items()))


def _pread(f: io.RawIOBase, n: int, offset: int) -> bytes:
    """Up to `n` bytes of `f` at `offset` (every read of `CsvRowsFollower` comes through here)."""
    f.seek(offset)
    return f.read(n) or b""


# ── TensorBoard event files ──────────────────────────────────────────────────


class TfRecordFollower(_Follower):
    """Whole TFRecord records appended to a TensorBoard event file, payloads delivered raw."""

    kind = "tfevents"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._file_id: tuple[int, int] | None = None
        self._offset = 0
        self._bad: tuple[int, int] | None = None
        """(offset, looks) of a damaged record we are stuck at."""

    @property
    def offset(self) -> int:
        """Bytes of whole, good records read so far."""
        return self._offset

    def _read(self, st: os.stat_result) -> None:
        ident = (st.st_dev, st.st_ino)
        if ident != self._file_id:
            if self._file_id is not None:
                self._notice("info", f"{self.path} was replaced; reading the new file")
            self._file_id, self._offset, self._bad = ident, 0, None
        if st.st_size < self._offset:
            self._notice("warning", f"{self.path} was truncated; reading it from the start")
            self._offset, self._bad = 0, None
        with open(self.path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            need = 0
            while self._offset < size and not self.stopping:
                want = min(size - self._offset, max(CHUNK, need))
                f.seek(self._offset)
                payloads, used, damaged, need = read_records(f.read(want))
                if payloads:
                    self._offset += used
                    self._bad = None
                    self._emit(list(payloads))
                if damaged:
                    self._damaged(f, size)
                    return
                if not payloads and not (want < need <= size - self._offset):
                    return  # an incomplete record at the end: the writer is still at it

    def _damaged(self, f: io.BufferedReader, size: int) -> None:
        offset = self._offset
        looks = self._bad[1] + 1 if self._bad is not None and self._bad[0] == offset else 1
        self._bad = (offset, looks)
        if looks == 1:
            self._notice("warning",
                         f"{self.path}: damaged record at offset {offset}; waiting for it to be rewritten")
        if looks < RESYNC_POLLS:
            return
        f.seek(offset + 1)
        skip = find_record(f.read(min(CHUNK, size - offset - 1)))
        if skip is not None:
            self._offset, self._bad = offset + 1 + skip, None
            self._notice("warning", f"{self.path}: skipped {1 + skip} damaged bytes at offset {offset}")


def read_records(buf: bytes) -> tuple[list[bytes], int, bool, int]:
    """The whole records at the start of `buf`: (payloads, bytes used, damaged, bytes the next one needs)."""
    out: list[bytes] = []
    pos, end = 0, len(buf)
    while end - pos >= 12:
        header = buf[pos:pos + 8]
        length = struct.unpack("<Q", header)[0]
        if struct.unpack("<I", buf[pos + 8:pos + 12])[0] != masked_crc32c(header) or length > MAX_RECORD:
            return out, pos, True, 0
        if end - pos < length + 16:
            return out, pos, False, length + 16
        data = buf[pos + 12:pos + 12 + length]
        good = length > VERIFY_MAX or struct.unpack("<I", buf[pos + 12 + length:pos + 16 + length])[0] == \
            masked_crc32c(data)
        if not good:
            return out, pos, True, 0
        out.append(data)
        pos += length + 16
    return out, pos, False, 12 if pos < end else 0


def find_record(buf: bytes) -> int | None:
    """Offset in `buf` of the first plausible record header (a length < 4 GiB with a good checksum)."""
    pos = buf.find(b"\0\0\0\0", 4)
    while 0 <= pos and pos + 8 <= len(buf):
        start = pos - 4
        if start + 12 <= len(buf):
            crc = struct.unpack("<I", buf[start + 8:start + 12])[0]
            if crc == masked_crc32c(buf[start:start + 8]):
                return start
        pos = buf.find(b"\0\0\0\0", pos + 1)
    return None


def _crc_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), as TFRecord framing uses it (pure Python: a few MB/s)."""
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# ── JSON documents rewritten whole ───────────────────────────────────────────


class JsonDocFollower(_Follower):
    """A JSON file rewritten whole (trainer_state.json, training_metrics.json): each new version, parsed."""

    kind = "metrics_arrays"

    def __init__(self, *args: Any, kind: str = "metrics_arrays", **kw: Any) -> None:
        self.kind = kind  # set before the thread is named after it
        super().__init__(*args, **kw)
        self._sig: tuple[int, int, int, int] | None = None
        self._bad_sig: tuple[int, int, int, int] | None = None

    def _read(self, st: os.stat_result) -> None:
        sig = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if sig == self._sig:
            return
        if st.st_size > MAX_DOCUMENT:
            self._report("big", "warning", f"{self.path} is larger than {MAX_DOCUMENT >> 20} MiB; not read")
            return
        data = self.path.read_bytes()
        try:
            doc = self._load(data)
        except ValueError as exc:
            if self._bad_sig == sig:  # unchanged since the last look: not a write in progress
                self._report("json", "warning",
                             f"{self.path} is not valid JSON ({exc}); waiting for a rewrite")
            self._bad_sig = sig
            return
        self._sig = sig
        if self._problem in ("json", "big"):
            self._problem = None
        self._emit([doc])

    def _load(self, data: bytes) -> object:
        return json.loads(data)


class TextDocFollower(JsonDocFollower):
    """A text file rewritten whole (Lightning's `hparams.yaml`): each new version, as text. Reading YAML
    is parsing, the decoder's job (`runwatch.parsers.structured.HparamsDecoder`); a source only reads."""

    def _load(self, data: bytes) -> object:
        return data.decode("utf-8", "replace")
