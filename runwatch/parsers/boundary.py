"""What every parsed line and Record must satisfy before it leaves the parsers.

A parser answers "mine or not" and never crashes on input (STYLE habit 3),
but its regexes and Python's int()/float() accept more than any log prints:
`\\d` matches Arabic-Indic and fullwidth digits, and a 309-digit step is a
valid int that no float (series x value, rate, ETA) can hold. These checks
sit at the one place all format parsers' output passes (`SourceParser`) and
where structured sources are decoded, so no format has to remember them and
nothing downstream (run state, rules, the engine's thread) sees such a value.
"""

from __future__ import annotations

from dataclasses import replace

from runwatch import patterns
from runwatch.model import Kind, Record
from runwatch.parsers.numbers import MAX_STEP

_OTHER_DIGIT = patterns.compile(r"[^\D0-9]")
"""A decimal digit that is not ASCII (`٣`, `３`, `৩`): what `\\d` and int()/float() read as a digit too. One class
test a character (a digit, not `0-9`), not a lookahead and `\\d` at each: every tqdm or Keras frame's `█`, `━`
makes its line non-ASCII, and the lookahead's scan cost 2.1 µs of such a line, this one 0.9 µs."""
_NO_DIGIT = "\ufffd"
OVERRUN = 2
"""A step line may count past the total it states (a progress bar whose length was guessed low), but not
beyond this many times it: `step 999999999999/100` is garbage, not a run that finished."""


def ascii_digits(text: str) -> str:
    """`text` with each non-ASCII decimal digit replaced by U+FFFD, so no parser reads it as a number
    (`loss: ٣.١` is not a loss of 3.1). ASCII text, nearly every line, is returned as it is."""
    if text.isascii():
        return text
    return _OTHER_DIGIT.sub(_NO_DIGIT, text)


def printable(text: str) -> bool:
    """Whether a line is printable text, tabs allowed: what a learned layout may read as the parser does (a
    control character may read otherwise per line). The ImageNet example's meters are tab-separated."""
    return text.isprintable() or ("\t" in text and text.replace("\t", " ").isprintable())


def readable(line: str) -> str:
    """The text the parsers read of a line as split: `ascii_digits` of it, without the U+FFFD that start it.

    Bytes that are no UTF-8 before a line (a torn write, a crashed writer's last bytes, then the next line)
    are decoded each as U+FFFD, and a step line after them matched no format's start: the step was lost
    with no word (a new user's review: bytes ff fe 80, then `iter 100: …`). Only where they start the line: inside one,
    where a number may be torn, they stay and no number is read through them."""
    if line.isascii():
        return line
    return ascii_digits(line.lstrip("\ufffd") if line[:1] == "\ufffd" else line)


def plausible_step(step: int | None) -> bool:
    """Whether `step` can be a step: absent, or an integer float64 holds exactly (|step| <= 2**53)."""
    return step is None or -MAX_STEP <= step <= MAX_STEP


def overruns(step: int, total: int) -> bool:
    """Whether a line's step is too far past the total the same line states to be a step (`OVERRUN`)."""
    return step > OVERRUN * total


def checked(rec: Record) -> Record | None:
    """`rec` as it may leave the parsers, or None when it is no record at all.

    A step or eval line whose step cannot be a step (beyond 2**53, or far
    past the total the same line states: `step 999999999999/100`) is not a step
    line: it would make a run finished, or overflow float(step). An event or
    checkpoint keeps its event and loses the bogus step. A total beyond
    2**53 is dropped.
    """
    step, total = rec.step, rec.total_steps
    if step is None and total is None:
        return rec
    bad_total = total is not None and not 0 <= total <= MAX_STEP
    if bad_total:
        total = None
    if plausible_step(step) and (step is None or total is None or not overruns(step, total)):
        return replace(rec, total_steps=total) if bad_total else rec
    if rec.kind in (Kind.STEP, Kind.EVAL):
        return None
    return replace(rec, step=None, total_steps=None)


def checked_all(recs: list[Record]) -> list[Record]:
    """`checked` over a list: the records that may leave the parsers, in order."""
    out = []
    for rec in recs:
        ok = checked(rec)
        if ok is not None:
            out.append(ok)
    return out
