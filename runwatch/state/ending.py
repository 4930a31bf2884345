"""How a run ended, as its records say: a fatal event, a finish line, an exit, and a step after them.

Kept apart from the rest of the run's state because it is the one part the badge
cannot infer from series and progress: whether a traceback was the run's end or
a caught, printed one (a step follows), and whether a step that follows an end
is the run going on or a side file's late flush.
"""

from __future__ import annotations

from runwatch.model import ENDED_TRAINING, FATAL_EVENTS, Event, Kind, Record

ENDS = FATAL_EVENTS | {Event.FINISHED, Event.EXIT, Event.SIGNAL}
"""Events after which a step record says whether the run went on (`RunTracker._resume`)."""



def reached_total(step: int | None, total: int | None) -> bool:
    """The run is at its planned end: step at its total, but not absurdly past it (a bogus
    `999999999999/100` line is no end of a run)."""
    return step is not None and total is not None and total <= step <= 2 * total


BARE_SETTLE_S = 10.0
"""Seconds with nothing received after a bare traceback (no OOM, NCCL or other specific fatal event with
it) before it is the run's end, live: twice the run's step interval when that is longer, `BARE_SETTLE_MAX_S`
at most; at the input's end (`check`, a pipe's end) at once. A caught exception printed by a loop that goes
on is followed by its next step within that: the badge read `crashed` between the two, and the crash rule,
which asks the badge, paged and resolved a critical crash in the same second of a history judged in pieces
(a new user's 635k-line jsonl log of a run that survived 1,800 exceptions)."""
BARE_SETTLE_MAX_S = 300.0


TEARDOWN_STRIDES = 1
"""Logging strides past the step of a crash its trainer said ended the training (`ENDED_TRAINING`) within which a
step line of the same source is the trainer's teardown, not the run going on: detectron2's `after_train` writes its
events once more, `iter: 4999` where the last line said 4979 (a mask2former run its evaluation hook killed read
`ended`). A run relaunched from a checkpoint logs further, or starts again below it (`started_again`)."""


RESUME_AFTER_S = 5.0
"""A step record from another source read this soon after a fatal, finish or exit record does not
clear it: a metric file flushed as the process ends (TensorBoard's `SummaryWriter`, a CSV logger)
delivers steps the run took before its traceback, after it (the run lab's nanogpt-tb-raise). A
restart takes longer than this. Every record names its source (a log's path, a metric file's)."""


class Ending:
    """The run's end so far: crashed, finished, or exited with no code (or stopped by Ctrl-C); cleared by a step
    that follows.

    A crash beats a finish (a fault after the finish line still shows CRASHED); an exit with code 0
    finishes and clears a crash, a nonzero one crashes; an exit with no code (the end of a pipe) says
    only that the run ended, and the badge decides by its step (`RunTracker.state`).
    """

    def __init__(self) -> None:
        self.crashed = self.finished = self.exited = False
        self.bare = False
        """`crashed` by tracebacks alone, no specific fatal event or failing exit code (`BARE_SETTLE_S`)."""
        self._at: float | None = None  # when the fatal, finish or exit record that set them was received
        self._by = ""  # and the source it came from
        self._step: int | None = None  # and the step it stated
        self._ended_at: int | None = None  # the step of a crash the trainer said ended training (`TEARDOWN_STRIDES`)

    def event(self, rec: Record, now: float) -> None:
        """An event record received at `now`."""
        event = rec.event
        if event in ENDS:
            self._at, self._by, self._step = now, rec.source, rec.step
        if rec.kind == Kind.CHECKPOINT or event == Event.CHECKPOINT_SAVED:
            return
        if event in FATAL_EVENTS:
            ended = rec.metrics.get(ENDED_TRAINING) == 1.0
            self.bare = event == Event.TRACEBACK and not ended and (self.bare or not self.crashed)
            self.crashed = True
            if ended and rec.step is not None:
                self._ended_at = rec.step
        elif event == Event.FINISHED:
            self.finished = True
        elif event == Event.SIGNAL:
            self.input_ended()  # Ctrl-C (`KeyboardInterrupt`, Lightning's graceful shutdown): stopped, not stalled
        elif event == Event.EXIT:
            code = rec.metrics.get("exit_code")
            if code is None or code != code:
                self.input_ended()
            elif code == 0:
                self.finished, self.crashed, self.bare = True, False, False
            else:
                self.crashed, self.bare = True, False

    def input_ended(self) -> None:
        """The input ended, saying nothing of how: an exit with no code (the end of a pipe, or of what a
        one-shot read of the run's sources found)."""
        self.exited = True

    def started_again(self) -> None:
        """The run started again from its beginning in the same output (a new attempt): a finish before it was the
        attempt's end, not the run's, and a step of the new attempt at or below the finish's step no redraw of its
        last frame (`resume`). pytorch-tabnet's pretraining ended `Early stopping occurred at epoch 33` (a public log
        a new user's review read; the printed fixture's ends at its `max_epochs`), then its fit counted from epoch 0:
        the run read `finished` all through the fit."""
        self.finished = False
        self._ended_at = None

    def resume(self, now: float, source: str, top: float | None = None, stride: float = 1) -> None:
        """A step record: the run goes on, unless another source delivered it on the heels of the run's
        end (see `RESUME_AFTER_S`). A step in the source that reported the end clears it at once: a
        traceback caught and printed, an OOM survived with a smaller batch, a second phase. Not one that
        goes no further than the step a finish stated (`top`: the records' highest step, when known): the
        last frame redrawn after it (Lightning draws `2015/2015` and `Trainer.fit stopped: max_epochs=1
        reached.` on one line, then tqdm's closing redraw of that frame), which read the run `running` to
        `tail` and `ended` to `check` (a new user's review). Nor one within `TEARDOWN_STRIDES` logging strides
        (`stride`) of a crash the trainer said ended its training."""
        if (self.crashed and self._ended_at is not None and top is not None and source == self._by
                and top <= self._ended_at + TEARDOWN_STRIDES * max(stride, 1)):
            return
        if (self.finished and not self.crashed and top is not None and self._step is not None
                and source == self._by and top <= self._step):
            return  # a crash stays resumable so: a relaunch after it goes back to a checkpoint's step
        if self._at is None or source == self._by or now - self._at >= RESUME_AFTER_S:
            self.crashed = self.finished = self.exited = self.bare = False
            self._at = self._ended_at = None
