"""LineSplitter: pure, table-driven where it can be."""

from __future__ import annotations

import time

import pytest

from runwatch.watcher.lines import LineSplitter, strip_escapes


def split(*chunks: bytes, flush: bool = True) -> list[str]:
    splitter = LineSplitter()
    out = [line for chunk in chunks for line in splitter.feed(chunk)]
    return out + (splitter.flush() if flush else [])


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ((b"a\nb\n",), ["a", "b"]),
        ((b"a\r\nb\r\n",), ["a", "b"]),
        ((b"a\r", b"\nb\n"), ["a", "b"]),  # CRLF split across chunks is one line end
        ((b"a\rb\n",), ["a", "b"]),
        ((b"\n\n",), ["", ""]),  # blank lines are lines
        ((b"par", b"tial", b" line\n"), ["partial line"]),
        ((b"no newline at the end",), ["no newline at the end"]),
        ((b"tab\tkept\n",), ["tab\tkept"]),
    ],
)
def test_line_ends(chunks: tuple[bytes, ...], expected: list[str]) -> None:
    assert split(*chunks) == expected


def test_partial_line_waits_for_its_end() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"step 1 loss 2.0\nstep 2 lo") == ["step 1 loss 2.0"]
    assert splitter.pending_bytes == len(b"step 2 lo")
    assert splitter.feed(b"ss 1.9\n") == ["step 2 loss 1.9"]
    assert splitter.pending_bytes == 0


def test_trailing_cr_is_held_until_the_next_byte() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"frame 1\r") == []
    assert splitter.feed(b"frame 2\r") == ["frame 1"]


def test_progress_redraws_identical_frames_dropped() -> None:
    # tqdm starts every frame with \r and ends the bar with \n after a last redraw.
    stream = b"\r 10%|#  | 1/10\r 10%|#  | 1/10\r 20%|## | 2/10\r 20%|## | 2/10\n"
    assert split(stream) == [" 10%|#  | 1/10", " 20%|## | 2/10"]


def test_identical_frames_dropped_across_chunks() -> None:
    assert split(b"\rEpoch 1: 5/9", b"\rEpoch 1: 5/9", b"\rEpoch 1: 6/9\r") == [
        "Epoch 1: 5/9",
        "Epoch 1: 6/9",
    ]


def test_identical_newline_lines_are_kept() -> None:
    assert split(b"same\nsame\n") == ["same", "same"]


def test_frame_dedup_ends_at_a_newline_line() -> None:
    assert split(b"\rA\rA\nB\n\rA\r") == ["A", "B", "A"]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x1b[32mINFO\x1b[0m ok", "INFO ok"),
        ("\x1b[38;2;255;100;0mtruecolor\x1b[39m", "truecolor"),
        ("\x1b[1;31;48;5;236mbold\x1b[m", "bold"),
        ("\x1b]0;window title\x07text", "text"),
        ("\x1b]8;;https://x.org\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("\x1b[2K\x1b[1Aup", "up"),
        ("\x1b(Bcharset \x1b7saved\x1b8", "charset saved"),
        ("bell\x07 nul\x00 del\x7f", "bell nul del"),
        ("^[[32m pasted residue stays", "^[[32m pasted residue stays"),
        ("tab\tstays", "tab\tstays"),
    ],
)
def test_strip_escapes(raw: str, clean: str) -> None:
    assert strip_escapes(raw) == clean
    assert split(raw.encode() + b"\n") == [clean]


def test_invalid_utf8_is_replaced() -> None:
    assert split(b"loss \xff\xfe 1.0\n", "é ✓".encode() + b"\n") == ["loss \ufffd\ufffd 1.0", "é ✓"]


def test_utf8_split_across_chunks() -> None:
    data = "loss ✓\n".encode()
    assert split(data[:6], data[6:]) == ["loss ✓"]


def test_binary_junk_does_not_crash() -> None:
    junk = bytes(range(256)) * 64
    lines = split(junk)
    assert all("\x1b" not in line and "\x00" not in line for line in lines)


def test_long_complete_line_is_capped() -> None:
    splitter = LineSplitter(max_line=10)
    assert splitter.feed(b"0123456789abc\nok\n") == ["0123456789", "ok"]
    assert (splitter.dropped_bytes, splitter.truncated_lines) == (3, 1)


def test_long_partial_line_is_never_buffered_beyond_the_cap() -> None:
    splitter = LineSplitter(max_line=10)
    for _ in range(100):
        assert splitter.feed(b"x" * 1000) == []
        assert len(splitter._buf) <= 11
    assert splitter.feed(b"yy\nnext\n") == ["x" * 10, "next"]
    assert splitter.dropped_bytes == 100 * 1000 + 2 - 10
    assert splitter.truncated_lines == 1
    assert splitter.pending_bytes == 0


def test_pending_bytes_count_dropped_bytes_of_the_open_line() -> None:
    splitter = LineSplitter(max_line=4)
    splitter.feed(b"ab\n0123456789")
    assert splitter.pending_bytes == 10  # where a resume must start: the open line's first byte


def test_flush_returns_the_unterminated_line_once() -> None:
    splitter = LineSplitter()
    splitter.feed(b"done\nlast")
    assert splitter.flush() == ["last"]
    assert splitter.flush() == []


def test_max_line_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_line"):
        LineSplitter(max_line=0)


def test_throughput_of_plain_log_text() -> None:
    """The splitter must not be the bottleneck: well over 20 MB/s of ordinary log text.

    Measured in this thread's CPU time, so a loaded test machine does not fail it.
    """
    line = b"step 00042/20000 (0.21%) | loss: 7.123456 | lrm: 1.00 | dt: 997.40ms | tok/sec: 1,051,311\n"
    data = line * (8 * 1024 * 1024 // len(line))
    splitter = LineSplitter()
    start = time.thread_time()
    count = sum(len(splitter.feed(data[i : i + (1 << 20)])) for i in range(0, len(data), 1 << 20))
    rate = len(data) / (time.thread_time() - start) / 1e6
    assert count == len(data) // len(line)
    assert rate > 20, f"{rate:.0f} MB/s"
