"""Lines a parser raises on are counted, logged once per kind with a traceback, and the source goes on:
on the real nanoGPT excerpt G1, with the parser, the fast path, the event detector and a detection
probe each made to raise on a chosen line (a runwatch bug stands in for one)."""

from __future__ import annotations

import logging

import pytest

from runwatch.parsers.events import EventDetector
from runwatch.parsers.failures import DETECTION, EVENTS, ParseFailures
from runwatch.parsers.nanogpt import NanoGPTParser
from runwatch.parsers.source import SourceParser
from runwatch.watcher.snapshot import split_block
from tests.support.corpus import md_block
from tests.support.faults import raise_on_lines

G1 = md_block("nanogpt_llmc.md", "Excerpt G1")  # nanoGPT A100 run: 25 iter lines, eval, checkpoint
BAD = ("iter 100:", "iter 170:")


def test_counts_per_stage_and_kind_and_logs_the_first_of_each_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    f = ParseFailures("train.log")
    assert f.describe() is None and f.total == 0
    with caplog.at_level(logging.WARNING, logger="runwatch.parsers.failures"):
        for line in (3, 9):
            try:
                raise ValueError("could not convert 'x'")
            except ValueError as exc:
                f.add("nanogpt", exc, line)
        try:
            raise KeyError("k")
        except KeyError as exc:
            f.add(EVENTS, exc, 12)
    assert f.counts == {("nanogpt", "ValueError"): 2, (EVENTS, "KeyError"): 1}
    assert f.total == 3
    logged = [r for r in caplog.records if r.name == "runwatch.parsers.failures"]
    assert len(logged) == 2  # one per kind, not per line
    assert all(r.exc_info is not None for r in logged)
    assert "line 3" in logged[0].getMessage() and "train.log" in logged[0].getMessage()
    said = f.describe()
    assert said is not None and said.startswith("3 lines runwatch failed to parse")
    assert "nanogpt ValueError ×2: could not convert 'x'" in said and "event detection KeyError ×1" in said


def test_a_parser_that_raises_on_a_line_loses_that_line_only(monkeypatch: pytest.MonkeyPatch) -> None:
    ref = SourceParser("g1.log", fmt="nanogpt")
    clean = ref.feed(list(G1), 1, 1.0) + ref.flush()
    raise_on_lines(monkeypatch, NanoGPTParser, "parse", BAD, ValueError("odd line"))
    sp = SourceParser("g1.log", fast_path=False)  # every line to the parser (else a step line is read by its template)
    got = sp.feed(list(G1), 1, 1.0) + sp.flush()
    assert sp.format == "nanogpt"
    steps = [r.step for r in clean if r.step is not None]
    assert {100, 170} <= set(steps)
    assert [r.step for r in got if r.step is not None] == [s for s in steps if s not in (100, 170)]
    assert sp.failures.counts == {("nanogpt", "ValueError"): 2}


def test_the_fast_path_that_raises_reads_the_block_line_by_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in the columnar reader costs speed, not records: the block goes the per-line way, and the
    failure is counted once per block."""
    data = ("\n".join(G1) + "\n").encode()
    want = SourceParser("g1.log", fast_path=False).feed_bytes(data, 1, 1.0, split_block).merged()

    def broken(*args: object, **kwargs: object) -> None:
        raise IndexError("column out of range")

    monkeypatch.setattr("runwatch.parsers.columnar.extract_steps", broken)
    sp = SourceParser("g1.log", fmt="nanogpt")
    assert sp.has_fast_path
    got = sp.feed_bytes(data, 1, 1.0, split_block).merged()
    assert got == want
    assert sp.failures.counts == {("nanogpt fast path", "IndexError"): 1}


def test_an_event_detector_that_raises_leaves_the_step_of_that_line(monkeypatch: pytest.MonkeyPatch) -> None:
    raise_on_lines(monkeypatch, EventDetector, "feed", BAD[0], RuntimeError("detector bug"))
    sp = SourceParser("g1.log", fmt="nanogpt", fast_path=False)  # a step line of plain numbers is not fed to it else
    got = sp.feed(list(G1), 1, 1.0)
    assert 100 in [r.step for r in got]
    assert sp.failures.counts == {(EVENTS, "RuntimeError"): 1}


def test_a_detection_probe_that_raises_does_not_stop_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    def score(self: NanoGPTParser, line: str) -> int:
        raise AttributeError("probe bug")

    monkeypatch.setattr(NanoGPTParser, "score", score)
    sp = SourceParser("g1.log")
    sp.feed(list(G1), 1, 1.0)
    sp.flush()
    assert sp.failures.counts[(f"{DETECTION} (nanogpt)", "AttributeError")] == len([x for x in G1 if x.strip()])


def test_no_failure_on_a_clean_log() -> None:
    sp = SourceParser("g1.log")
    sp.feed(list(G1), 1, 1.0)
    sp.flush()
    assert sp.failures.total == 0 and sp.failures.describe() is None
