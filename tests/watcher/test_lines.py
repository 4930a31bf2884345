"""LineSplitter: pure, table-driven where it can be."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runwatch.watcher.lines import _ESCAPES_BYTES, LineSplitter, strip_controls, strip_escapes
from runwatch.watcher.snapshot import split_block


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


# -- feed_raw: runs of plain whole lines as bytes, for a consumer that splits them ---------------

def expand(pieces: list[bytes | list[str]]) -> list[str]:
    return [line for p in pieces for line in (split_block(p) if isinstance(p, bytes) else p)]


def test_feed_raw_hands_plain_whole_lines_over_as_bytes() -> None:
    splitter = LineSplitter()
    assert splitter.feed_raw(b"a\r\n\x1b[32mb\x1b[0m\nc") == [b"a\r\n\x1b[32mb\x1b[0m\n"]
    assert splitter.pending_bytes == 1
    assert splitter.feed_raw(b"d\ne") == [b"cd\n"]  # the open line's start goes with it
    assert splitter.feed_raw(b"no line end yet") == []
    assert splitter.flush() == ["eno line end yet"]


@pytest.mark.parametrize(
    ("chunks", "pieces"),
    [
        ((b"\r 1/3\r 2/3\n",), [[" 1/3", " 2/3"]]),  # progress frames
        ((b"a\r\x1b[K\nb\n",), [["a", "b"]]),  # a CRLF only once escapes are gone: the splitter's call
        ((b"ok\nbar\r 1/2\r",), [b"ok\n", ["bar"]]),  # a frame completes after the last line
        ((b"0123456789abc\nok\n",), [["0123456789", "ok"]]),  # over the cap
        ((b"x\r 1/2", b"\nok\n"), [["x"], [" 1/2"], b"ok\n"]),  # an open line begun with a frame
        ((b"01234567", b"89abc\n" + b"ok\n" * 6), [["0123456789"], b"ok\n" * 6]),  # an open line grown over the cap
        ((b"p\n" * 8 + b"\r 1/3\n" + b"q\n" * 2 + b"\r 1/3\n",), [b"p\n" * 8, [" 1/3", "q", "q", " 1/3"]]),
    ],
)
def test_feed_raw_leaves_odd_lines_to_the_splitter(chunks: tuple[bytes, ...], pieces: list[object]) -> None:
    """Odd lines come as lines; a plain run between them as bytes from `min_raw` (here 16) bytes on."""
    splitter, reference = LineSplitter(max_line=10), LineSplitter(max_line=10)
    got = [p for chunk in chunks for p in splitter.feed_raw(chunk, min_raw=16)]
    assert got == pieces
    assert expand(got) == [line for chunk in chunks for line in reference.feed(chunk)]
    assert (splitter.pending_bytes, splitter.truncated_lines) == (reference.pending_bytes, reference.truncated_lines)


_PIECES = [
    b"step 1 loss 2.0\n", b"\x1b[32mgreen\x1b[0m\n", b"win\r\n", b"\r 1/3\r 2/3\r 2/3\n", b" 2/3\n",
    b"\xff\xfe bad\n", b"\n", b"x" * 40 + b"\n", b"open", b"\r", b"\x1b", b"\r\x1b[K\n", b"caf\xc3", b"\xa9\n",
]


@given(
    pieces=st.lists(st.sampled_from(_PIECES), max_size=60),
    reads=st.lists(st.integers(1, 200), min_size=1, max_size=8),
    max_line=st.sampled_from([8, 30, 1 << 16]),
    min_raw=st.sampled_from([0, 20, 1 << 16]),
)
def test_feed_raw_and_split_block_give_the_lines_of_feed(
    pieces: list[bytes], reads: list[int], max_line: int, min_raw: int
) -> None:
    data = b"".join(pieces)
    raw, reference = LineSplitter(max_line), LineSplitter(max_line)
    got: list[str] = []
    want: list[str] = []
    pos = i = 0
    while pos < len(data):
        chunk = data[pos : pos + reads[i % len(reads)]]
        pos, i = pos + len(chunk), i + 1
        out = raw.feed_raw(chunk, min_raw)
        assert all(p.endswith(b"\n") and b"\r" not in p.replace(b"\r\n", b"") for p in out if isinstance(p, bytes))
        got += expand(out)
        want += reference.feed(chunk)
        assert got == want
        assert (raw.pending_bytes, raw.dropped_bytes, raw.truncated_lines) == (
            reference.pending_bytes, reference.dropped_bytes, reference.truncated_lines)
    assert raw.flush() == reference.flush()


def test_a_held_tqdm_frame_is_dated_when_it_arrived_not_when_the_next_one_ended_it() -> None:
    """tqdm starts each frame with `\\r`, so a frame ends only when the next is drawn. In the run lab's
    accelerate-hang, the last real frame before a 75 s hang was ended by tqdm's monitor redraw 10 s
    later; dated then, it started the stall clock 10 s late and the live alert came after the window."""
    sp = LineSplitter()
    assert sp.feed_timed(b"\r 49%|####9     | 294/600 [00:05<00:05, 57.2it/s, loss=1.2]", 100.0) == []
    redraw = sp.feed_timed(b"\r 49%|####9     | 294/600 [00:15<00:05, 19.6it/s, loss=1.2]", 110.0)
    assert [(len(lines), t) for lines, t in redraw] == [(1, 100.0)]
    two = sp.feed_timed(b"\r 49%|####9     | 295/600 [01:25<00:05, 3.5it/s, loss=1.2]\nvalid\n", 175.0)
    assert [t for _, t in two] == [110.0, 175.0]
    assert sp.feed_timed(b"plain line\n", 180.0) == [(["plain line"], 180.0)]


_CONTROL_PARTS = [b"a", b"7", b" ", b"\n", b"\r", b"\x08", b"\x08" * 5, b"\x1b", b"\x1b[", b"[31m", b"m", b"\x1b[1m",
                  b"\x1b]0;", b"\x07", b"\x1b\\", b"\x1bP", b"\x1b(B", b"\x00", b"\x7f", b"\x1f", b"\t", b"\xe2\x94\x81"]


@given(st.lists(st.sampled_from(_CONTROL_PARTS), max_size=60))
def test_strip_controls_removes_what_the_one_pattern_removes(parts: list[bytes]) -> None:
    """Escapes first, then the control bytes left: the same bytes as the one pattern's sub, where controls sit
    inside and between sequences (a Keras frame's backspaces after its colours)."""
    data = b"".join(parts)
    assert strip_controls(data) == _ESCAPES_BYTES.sub(b"", data)


def test_strip_controls_on_a_keras_frame() -> None:
    frame = b"\x1b[1m 12/200\x1b[0m \x1b[32m\xe2\x94\x81\x1b[0m 5ms/step - loss: 2.6638 " + b"\x08" * 75 + b"\r\n"
    assert strip_controls(frame) == " 12/200 \u2501 5ms/step - loss: 2.6638 \r\n".encode()
    assert strip_controls(b"\x1b]0;a\x08b\x07c\x08") == b"c"  # a title's control goes with it
    assert strip_controls(b"\x1b\x08[31mx") == b"[31mx"  # a control after ESC ends it: no sequence follows


_FRAME_PARTS = [b"a", b" ", b"\n", b"\r", b"\r\n", b"\xe2\x94\x81", b"\xe2\x82", b"\xac", b"\xff", b"\xf0\x9f", b"x" * 20]


@given(st.lists(st.sampled_from(_FRAME_PARTS), max_size=40), st.sampled_from([8, 16, 1 << 16]))
def test_frames_read_at_once_are_the_frames_read_byte_by_byte(parts: list[bytes], cap: int) -> None:
    """Many `\\r` frames in one read are decoded at once (no UTF-8 sequence spans a `\\r` or `\\n`); one byte a
    read, each frame is decoded alone: the same lines, an invalid or cut sequence next to a `\\r` included."""
    data = b"".join(parts)
    whole, bytewise = LineSplitter(cap), LineSplitter(cap)
    got = whole.feed(data) + whole.flush()
    want = [line for i in range(len(data)) for line in bytewise.feed(data[i : i + 1])] + bytewise.flush()
    assert got == want
    assert (whole.dropped_bytes, whole.truncated_lines) == (bytewise.dropped_bytes, bytewise.truncated_lines)
