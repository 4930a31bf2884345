"""A format parser's `reads` and its records, against every real line of the fixtures.

`reads` (runwatch.parsers.reads) says which lines a parser may act on: the
parser never sees the others (GuardedParser.parse), and neither do the
live per-line path and the bulk screen. A `reads` that leaves out a line the
parser's own reading acts on (a record, or a change of its state) must fail
here, before anyone's log loses that line. And a parser hands each record
over (FormatParser.parse): its source stamps it in place, so no record may
come out twice.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.model import Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.boundary import ascii_digits
from runwatch.parsers.prefix import split_rank
from runwatch.parsers.reads import Reads
from runwatch.parsers.registry import format_names, make_parser, parser_class
from tests.parsers.test_screen import fixture_lines

GUARDED = [n for n in format_names() if parser_class(n).reads is not None and issubclass(parser_class(n), GuardedParser)]


def state(x: object) -> object:
    """What a parser holds, as values: its attributes, and those of the parsers it holds."""
    return {k: state(v) for k, v in vars(x).items()} if hasattr(x, "__dict__") else x


def texts() -> list[str]:
    """Every fixture line as a format parser gets it: decoded, non-ASCII digits blanked, rank prefix off."""
    return [split_rank(ascii_digits(x.decode("utf-8", "replace").rstrip("\r")))[1] for x in fixture_lines()]


@pytest.mark.parametrize("fmt", GUARDED)
def test_a_line_reads_leaves_is_nothing_to_the_parser(fmt: str) -> None:
    """Ungated, a fresh parser reads no record from a line its `reads` does not admit, and its state
    stays as it was."""
    reads = parser_class(fmt).reads
    assert reads is not None
    fresh = state(make_parser(fmt))
    left = 0
    for line in texts():
        if reads.admits(line):
            continue
        left += 1
        parser = make_parser(fmt)
        assert isinstance(parser, GuardedParser)
        try:
            rec = parser._parse(line)
        except (ValueError, IndexError, OverflowError):
            rec = None
        assert rec is None and state(parser) == fresh, (fmt, line)
    assert left > 1000


@pytest.mark.parametrize("fmt", format_names())
def test_a_record_is_handed_over_once(fmt: str) -> None:
    """Every record `parse`, `settle` and `flush` give over the fixture lines is a new object."""
    parser = make_parser(fmt)
    seen: list[Record] = []
    for line in texts():
        for rec in (parser.parse(line), parser.settle()):
            if rec is not None:
                seen.append(rec)
    last = parser.flush()
    seen += [last] if last is not None else []
    assert seen or fmt in ("jsonl", "blocks")  # the fixtures hold no JSON lines, no block of a step's fields
    assert len({id(r) for r in seen}) == len(seen)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="aeT!é:_ Kx", min_size=1, max_size=5), min_size=1, max_size=12),
       st.lists(st.text(alphabet="aeT!é:_ Kxz", max_size=30), min_size=1, max_size=8))
def test_holds_are_tested_as_their_texts_say_however_they_are_grouped(holds: list[str], lines: list[str]) -> None:
    """`Reads.admits` tests `holds` grouped behind a guard character each (straight-line code): a line is
    admitted exactly when it holds one of them."""
    reads = Reads(holds=tuple(dict.fromkeys(holds)))
    for line in lines:
        assert reads.admits(line) is any(text in line for text in holds), (holds, line)


def test_the_crash_detectors_texts_are_tested_as_a_loop_over_them_would_on_every_fixture_line() -> None:
    from runwatch.parsers.events import WAKES
    from runwatch.parsers.fields import strip_lead

    lines = texts()
    admitted = [line for line in lines if WAKES.admits(line)]
    assert admitted == [line for line in lines
                        if strip_lead(line).startswith(WAKES.heads) or any(t in line for t in WAKES.holds)]
    assert len(admitted) > 100
