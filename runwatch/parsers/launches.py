"""A log's opening line printed again after a fatal error: the same script launched anew into the same output.

`python train.py >> train.log`, or a shell script that runs an evaluation several times, appends each
launch to one file. Where the launches log steps, a step after a traceback says the run went on
(runwatch.state.ending); where they log none (a Hydra template's `train.log` of logger lines, an mmengine
test run whose batch lines are no records), nothing did, and one launch's traceback at the start of a
log read as the end of every later launch that ran to its end (two reviews: `crashed`, a critical crash
alert, of logs whose last four launches completed). Each launch prints its first lines again: the line
that opened the log, its time stamp aside, printed again after a fatal event is a new launch.

A launch after steps is told the same way, a format read or not: its steps may start again (the run's attempts
see that too), but a launch whose bar the format took for another's was not seen at all (an HF Trainer run
interrupted at `560/240003`, relaunched to a bar of `0/40001`: read as an evaluation at step 560, and the run
`crashed` for the five hours the new launch trained, a review). The source tells the format parser
(`FormatParser.launched`), which forgets what it held of the launch before. An opening line the format reads as a
step is no launch's (the fast path takes such lines as rows, never as lines).

Only the opening line counts, and only once a fatal event came after it (or after the launch before):
a line a run prints again in its normal course (a warning each epoch) is rarely its log's first, and a
repeat with no failure before it changes nothing. The opening line must say something (`MIN_LETTERS`):
a blank, a rule of dashes or nohup's own notice is no launch's; a log that opens with a traceback (a worker's log,
its launch's failure the first it wrote) has none (its lines read as launches, each later failure was one).
"""

from __future__ import annotations

import re

from runwatch.model import Event, Kind, Record
from runwatch.parsers.fields import logging_time

TRACEBACK = "Traceback (most recent call last)"
"""Python's traceback header: a fatal error's first line, before the detector's event for it (runwatch.parsers.events
gives a traceback's at the end of its block, which may be the end of the input)."""
MIN_LETTERS = 10
"""Letters the opening line's text must hold, its stamp aside, to tell a launch by."""

_LEAD_STAMP = re.compile(r"^[\[(]?\d[\d/:\-.,T ]{6,30}\d[\])]?\s*")
"""A time stamp before a logger's message (`[2022-10-15 19:11:46,424]`, `2022-05-08 17:31:42,446 `, mmengine's
`03/25 19:53:52 `): each launch prints its own."""
_NOT_OPENINGS = ("nohup: ignoring input",)
"""Lines that open a log but not a launch: nohup's notice, printed once where one script runs every launch."""


def _text(line: str) -> str:
    """The line as a launch prints it again: its stamp and surrounding blanks aside."""
    return _LEAD_STAMP.sub("", line.strip(), count=1)


class LaunchWatch:
    """Tells when a source's opening line comes again after a fatal event (see the module notes)."""

    __slots__ = ("_armed", "_opening", "_seen")

    def __init__(self) -> None:
        self._seen = False
        """Whether the opening line was read."""
        self._opening: str | None = None
        """Its text (`_text`); None where it says too little to tell a launch by."""
        self._armed = False

    def line(self, line: str) -> Record | None:
        """A `launched` event when `line` opens a new launch, else None. Call it with every line, in order."""
        if not self._seen:
            bare = line.strip()
            if bare and bare not in _NOT_OPENINGS:
                self._seen = True
                text = _text(line)
                told = sum(c.isalpha() for c in text) >= MIN_LETTERS and not bare.startswith(TRACEBACK)
                self._opening = text if told else None
            return None
        if not self._armed:
            if line.startswith(TRACEBACK):
                self._armed = self._opening is not None  # its event may come lines later, when its block ends
            return None
        if self._opening is None or not line.rstrip().endswith(self._opening) or _text(line) != self._opening:
            return None
        self._armed = False
        return Record(Kind.EVENT, event=Event.LAUNCHED, t=logging_time(line.lstrip()),
                      message=f"the log's first line again, a new launch: {self._opening[:200]}")

    def after_format(self, line: str) -> Record | None:
        """`line` for a source whose format is read: a launch as `line` tells one, where the opening line came before
        the format did (a format given from the start reads its first line as the fast path may not: none)."""
        if not self._seen:
            self._seen = True
            return None
        return self.line(line)

    def forget(self) -> None:
        """The opening line tells no launch after all (a step line: runwatch.parsers.source)."""
        self._opening = None
        self._armed = False

    @property
    def opening(self) -> str | None:
        """The opening line's text a launch prints again (`_text`), once read; None where it tells none."""
        return self._opening

    def fatal(self) -> None:
        """A fatal event was read: the next opening line is a new launch."""
        self._armed = self._opening is not None
