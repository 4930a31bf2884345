"""The one text sanitiser (runwatch.text) and the outputs that pass what they show through it.

Issue 11: a log named `run<ESC>]0;TITLE<BEL><ESC>[2J.log` was printed raw by `check`, `tail --headless`
and the daemon's log (in the TUI it retitled the terminal and cleared the screen); C1 controls (an
8-bit CSI, U+009B) and bidi overrides (U+202E) in log text passed through to `check`, line mode,
`parse` (table, csv, jsonl) and the TUI's log pane.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from runwatch.cli import main
from runwatch.text import clean, clip, one_line, visible
from tests.support.paths import FIXTURES

HOSTILE_NAME = "run\x1b]0;TITLE\x07\x1b[2J"
C1_CSI, RLO = "\u009b", "\u202e"
BAD = ("\x1b", "\x07", C1_CSI, RLO)


def test_clean_removes_sequences_controls_and_bidi_and_shows_invisible_characters() -> None:
    assert clean("a\x1b[31mred\x1b[0m b") == "ared b"
    assert clean("t\x1b]0;owned\x07x") == "tx"
    assert clean(f"x{C1_CSI}2Jy") == "xy"  # an 8-bit sequence goes whole, as its 7-bit spelling does
    assert clean("t\u009d0;owned\u009cx") == "tx"  # 8-bit OSC ended by 8-bit ST
    assert clean("t\u009d8;;http://e\x07link\u009d8;;\x1b\\x") == "tlinkx"  # by BEL, by 7-bit ST
    assert clean("t\u0090q\u009cx \u009f\u009e") == "tx "  # DCS; APC, PM cut by the line's end
    assert clean(f"cat{RLO}gnp.exe") == "catgnp.exe"
    assert clean("a\u200bb") == "a\\u200bb"  # made visible, so two names that look alike differ
    assert clean("tab\tand\nnewline\x00") == "tab\tand\nnewline"
    assert one_line("two\nlines\r\x1b[2K  here") == "two lines here"
    assert clean("plain ascii 1.0e-3 [ok]") == "plain ascii 1.0e-3 [ok]"


def test_a_name_is_shown_with_its_controls_written_out() -> None:
    """A name keeps every character, escaped as Python writes it in a string: two files whose names differ
    only in a control are told apart, and the name can be typed back (`clean` would drop them)."""
    assert visible(HOSTILE_NAME) == "run\\x1b]0;TITLE\\x07\\x1b[2J"
    assert visible(f"a{RLO}b\u200bc{C1_CSI}d\te") == "a\\u202eb\\u200bc\\x9bd\\te"
    assert visible("a\\x1b") == "a\\\\x1b"  # a backslash of the name's own is doubled: no ESC was there
    assert visible("train run (café).log") == "train run (café).log"
    assert not any(b in visible(HOSTILE_NAME + C1_CSI + RLO) for b in BAD)
    assert clean(visible(HOSTILE_NAME)) == visible(HOSTILE_NAME)


@pytest.fixture
def hostile_log(tmp_path: Path) -> Path:
    """A real nanochat log (the SFT run that goes NaN) under a hostile name, with C1 and bidi characters
    planted in one of its lines."""
    lines = (FIXTURES / "corpus/raw/nanochat_pr657_sft_run.log").read_text().splitlines()
    lines[20] = lines[20] + f" {C1_CSI}2J {RLO}gnp.exe"
    path = tmp_path / f"{HOSTILE_NAME}.log"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_check_prints_no_control_sequence_from_a_file_name(hostile_log: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(hostile_log)]) == 2
    out = capsys.readouterr().out
    assert "nonfinite" in out and "/run\\x1b]0;TITLE\\x07\\x1b[2J.log)" in out  # the name shown is the file's
    assert not any(b in out for b in BAD), repr(out[:200])


@pytest.mark.parametrize("output", ["table", "csv", "jsonl", "summary"])
def test_parse_outputs_carry_no_control_sequence(hostile_log: Path, output: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(hostile_log), "--output", output]) == 0
    out = capsys.readouterr().out
    assert out and not any(b in out for b in BAD)
    if output == "jsonl":
        assert all(json.loads(line) for line in out.splitlines())


def test_tail_line_mode_prints_no_control_sequence(hostile_log: Path) -> None:
    """The run is named after the file: its status lines and alert lines carry the name."""
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-m", "runwatch", "tail", str(hostile_log), "--headless", "--no-gpu",
                             "--interval", "0.5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(4)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert b"FIRING" in out and b"nonfinite" in out and b"run\\x1b]0;TITLE\\x07\\x1b[2J" in out
    for text in (out, err):
        assert not any(b.encode() in text for b in BAD), text[:300]


def test_the_daemon_log_is_cleaned(caplog: pytest.LogCaptureFixture) -> None:
    from runwatch.alerts.sinks.redact import RedactingFilter

    record = logging.LogRecord("runwatch", logging.INFO, __file__, 1, "following %s", (HOSTILE_NAME,), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "following run"


def test_the_tui_shows_names_and_log_lines_clean() -> None:
    from runwatch.model import Progress, RunSnapshot, RunState
    from runwatch.tui.widgets.header import header_text
    from runwatch.tui.widgets.log_pane import log_text

    snap = RunSnapshot(run=HOSTILE_NAME, source="x", time=0.0, state=RunState.RUNNING, progress=Progress(step=3),
                       metrics={}, ranks={}, last_record_t=None)
    assert not any(b in header_text(snap, 100).plain for b in BAD)
    assert not any(b in log_text([f"step 1 {C1_CSI}2J {RLO}x", "\x1b]0;t\x07ok"]).plain for b in BAD)


def test_a_note_cut_in_its_middle_is_cut_between_words() -> None:
    """A review's status line: `(replay/t5….log: no …n its first 1,151 lines (--format NAME forces one))`, the cut
    inside words. Both ends kept, each up to a word's edge, the limit kept."""
    note = "replay/t5_scalingdown_logging_relaunches.log: no known log format in its first 1,151 lines (--format NAME forces one)"
    cut = clip(note, 100, keep="ends")
    assert len(cut) <= 100 and cut.startswith("replay/t5_scalingdown_logging_relaunches.log: no ")
    assert cut.endswith(" its first 1,151 lines (--format NAME forces one)") and "…" in cut
    head, tail = cut.split("…")
    assert note.startswith(head) and note.endswith(tail) and head.endswith(" ") and tail.startswith(" ")
    unbroken = "x" * 300  # no word's edge near: cut where the limit falls
    assert clip(unbroken, 100, keep="ends") == "x" * 49 + "…" + "x" * 50
    assert clip(note, 200, keep="ends") == note
