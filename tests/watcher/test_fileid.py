"""runwatch.watcher.fileid: which files are text logs, and one that logrotate's copytruncate left a hole in."""

from __future__ import annotations

import os
from pathlib import Path

from runwatch.cli import main
from runwatch.watcher.fileid import HEAD_BYTES, binary_file, looks_binary
from tests.support.paths import FIXTURES

KVLOG_NAN = FIXTURES / "realruns" / "kvlog-nan" / "run" / "train.log"


def copytruncated(path: Path) -> Path:
    """The run lab's kvlog-nan written by a process that keeps its offset while logrotate's copytruncate
    empties the file under it: the next write lands at the old offset, and the bytes before it read as
    NULs (a hole), as a trainer writing with a plain `open(..., "w")` leaves it."""
    lines = KVLOG_NAN.read_bytes().splitlines(keepends=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        head = b"".join(lines[:60])
        os.write(fd, head)
        os.truncate(path, 0)  # copytruncate: the copy is elsewhere, this file emptied
        os.write(fd, b"".join(lines[60:]))  # at offset len(head): a hole before it
    finally:
        os.close(fd)
    return path


def test_a_log_with_a_copytruncate_hole_is_text(tmp_path: Path, capsys: object) -> None:
    """A new user's review: `check DIR` said the directory held no log, and `tail` called the file binary
    while it read its steps and fired the NaN."""
    log = copytruncated(tmp_path / "train.log")
    assert log.read_bytes().startswith(b"\0" * 100) and b"step=61" in log.read_bytes()
    assert looks_binary(log) is False and binary_file(log) is None
    assert main(["check", str(tmp_path)]) == 2  # found in its directory, its NaN reported


def test_binary_files_empty_files_and_holes_with_nothing_after(tmp_path: Path) -> None:
    (tmp_path / "empty.log").write_bytes(b"")
    (tmp_path / "zeros.log").write_bytes(b"\0" * (3 * HEAD_BYTES))
    (tmp_path / "gz.log").write_bytes(b"\x1f\x8b\x08\x00" + b"\0\x03" * 100)
    (tmp_path / "text-then-nul.log").write_bytes(b"step 1 loss 2.0\n" + b"\0" * 10)
    assert looks_binary(tmp_path / "empty.log") is False  # nothing written yet is no binary
    assert looks_binary(tmp_path / "zeros.log") is True
    assert looks_binary(tmp_path / "gz.log") is True
    assert looks_binary(tmp_path / "text-then-nul.log") is True
    assert looks_binary(tmp_path / "missing.log") is None
    (tmp_path / "a.out").write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 64)
    assert binary_file(tmp_path / "a.out") == "a.out is a binary file (NUL bytes in its first 4,096 bytes), not a text log"
    assert binary_file(tmp_path / "gz.log") is None  # compressed: a one-shot read says what its data holds


def test_a_utf16_log_is_told_to_be_converted_not_called_binary(capsys: object) -> None:
    """A new user's review: Ultralytics's console kept by Windows PowerShell's `>` (UTF-16LE with its byte
    order mark) read `… is a binary file`; it is text runwatch reads once converted, and the error says how."""
    log = FIXTURES / "found" / "yolo_ultralytics_train_output.txt"
    assert log.read_bytes()[:2] == b"\xff\xfe"
    why = binary_file(log)
    assert why is not None and "UTF-16" in why and "binary" not in why
    assert f"iconv -f UTF-16 -t UTF-8 {log.name} > {log.name}.utf8" in why
    assert main(["check", str(log)]) == 3
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "is UTF-16 text" in err and err.count("\n") == 1
