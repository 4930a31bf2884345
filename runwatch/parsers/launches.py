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

from runwatch import patterns
from runwatch.model import FATAL_EVENTS, Event, Kind, Record
from runwatch.parsers.fields import logging_time

TRACEBACK = "Traceback (most recent call last)"
"""Python's traceback header: a fatal error's first line, before the detector's event for it (runwatch.parsers.events
gives a traceback's at the end of its block, which may be the end of the input)."""
MIN_LETTERS = 10
"""Letters the opening line's text must hold, its stamp aside, to tell a launch by."""

_LEAD_STAMP = patterns.compile(r"^[\[(]?\d[\d/:\-.,T ]{6,30}\d[\])]?\s*")
"""A time stamp before a logger's message (`[2022-10-15 19:11:46,424]`, `2022-05-08 17:31:42,446 `, mmengine's
`03/25 19:53:52 `): each launch prints its own."""
_NOT_OPENINGS = ("nohup: ignoring input",)
"""Lines that open a log but not a launch: nohup's notice, printed once where one script runs every launch."""


def _text(line: str) -> str:
    """The line as a launch prints it again: its stamp and surrounding blanks aside."""
    return _LEAD_STAMP.sub("", line.strip(), count=1)


LAUNCH_WINDOW = 8
"""Lines after the fatal event within which, once the run has stepped, the log's opening line again is a launch: a
process that died is relaunched at once (its traceback's last line, a last bar frame, `Saved partial model …`, then
the opening line); a warning a run prints again later in its course (its loader's workers at an evaluation) after a
caught traceback is none (a code review: an HF run's evaluation bar elected as its training bar so)."""
_ENDS = frozenset({Event.SIGNAL, Event.DATALOADER_ERROR})
"""Events besides the fatal ones that end a launch which stepped: Ctrl-C (`KeyboardInterrupt`), a DataLoader worker's
death (the exception the main process then raises: HiFi-TSE's third launch after one), then a relaunch."""


class LaunchWatch:
    """Tells when a source's opening line comes again after a fatal event (see the module notes)."""

    __slots__ = ("_armed", "_at", "_at_step", "_opened", "_opening", "_seen", "_step", "_stepped")

    def __init__(self) -> None:
        self._seen = False
        """Whether the opening line was read."""
        self._opening: str | None = None
        """Its text (`_text`); None where it says too little to tell a launch by."""
        self._opened = 0
        """The opening line's own line number: no launch of its own (the fast path may read it before a fatal event
        of the same line arms the watch: runwatch.parsers.source)."""
        self._armed = False
        self._at = 0
        """The line of the fatal event (or traceback header) that armed the watch."""
        self._stepped = False
        """Whether the source read a step: then a launch must follow its fatal event closely (`LAUNCH_WINDOW`)."""
        self._step: int | None = None
        self._at_step: int | None = None
        """The newest step, and the newest when the watch was armed: a step past it says the run went on."""

    @property
    def seen(self) -> bool:
        """Whether the opening line was read."""
        return self._seen

    @property
    def armed(self) -> bool:
        """Whether the opening line again would now be a launch (or may, at the end of a traceback under way)."""
        return self._armed

    def line(self, line: str, lineno: int = 0) -> Record | None:
        """A `launched` event when `line` (at `lineno`) opens a new launch, else None. Call it with every line, in
        order, that may be the opening line or arm the watch."""
        if not self._seen:
            bare = line.strip()
            if bare and bare not in _NOT_OPENINGS:
                self._seen, self._opened = True, lineno
                text = _text(line)
                told = sum(c.isalpha() for c in text) >= MIN_LETTERS and not bare.startswith(TRACEBACK)
                self._opening = text if told else None
            return None
        if not self._armed:
            if line.startswith(TRACEBACK):
                self._arm(lineno)  # its event may come lines later, when its block ends
            return None
        if self._opening is None or not line.rstrip().endswith(self._opening) or _text(line) != self._opening or (
                lineno and lineno == self._opened):
            return None
        if self._stepped and lineno - self._at > LAUNCH_WINDOW:
            return None  # long after the failure, the run went on meanwhile: a line it prints again
        self._armed = False
        return Record(Kind.EVENT, event=Event.LAUNCHED, t=logging_time(line.lstrip()),
                      message=f"the log's first line again, a new launch: {self._opening[:200]}")

    def forget(self) -> None:
        """The opening line tells no launch after all (a step line: runwatch.parsers.source)."""
        self._opening = None
        self._armed = False

    @property
    def opening(self) -> str | None:
        """The opening line's text a launch prints again (`_text`), once read; None where it tells none."""
        return self._opening

    def event(self, event: str | None, lineno: int) -> None:
        """An event was read at `lineno`: a fatal one (or, once the run stepped, a Ctrl-C) arms the watch."""
        if event in FATAL_EVENTS or (self._stepped and event in _ENDS):
            self._arm(lineno)

    def stepped(self, step: int) -> None:
        """A step was read: past the one the watch was armed at, the run went on after the failure, no launch."""
        if self._armed and self._stepped and step != self._at_step:
            self._armed = False
        self._stepped, self._step = True, step

    def _arm(self, lineno: int) -> None:
        self._armed = self._opening is not None
        self._at, self._at_step = lineno, self._step
