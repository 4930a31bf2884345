"""Line mode: status lines (or JSON objects) at a steady interval.

What `runwatch tail` prints when there is no terminal (tmux pipes, nohup,
cron, `| tee`), and with `--headless`. It reads only snapshots.
`StatusSchedule` decides when a status is due, for this printer and for the
`runwatch watch` daemon alike: the first once there is something to show
(not a "[waiting] no step yet" for a log that is being read), then every
interval, and a last one at exit only if it says something new.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TextIO

from runwatch.alerts.types import Notification
from runwatch.feed import Subscription
from runwatch.model import AlertState, Kind, Notice, Record, RunSnapshot, Severity
from runwatch.present import (
    FATAL_EVENTS,
    alert_line,
    alert_update_line,
    alert_update_object,
    event_line,
    iso_utc,
    status_line,
    status_object,
)
from runwatch.text import one_line, visible


class SnapshotSource(Protocol):
    def snapshots(self) -> list[RunSnapshot]: ...
    def wait(self, timeout: float) -> bool: ...
    def subscribe(self) -> Subscription[Notification | Notice]: ...
    @property
    def all_ended(self) -> bool: ...


EXIT_UNREAD = 3
"""`check`'s status for input of which nothing was understood (runwatch.commands.parse.EXIT_UNREAD)."""
FIRST_STATUS_GRACE_S = 2.0
"""How long the first status waits for the first records (or a note) of an existing log."""


def _gist(snaps: list[RunSnapshot]) -> tuple[object, ...]:
    """What a status says apart from the clock: equal gists print the same news."""
    return tuple((s.run, s.state, s.progress.step, s.records, s.notes,
                  tuple((a.key, a.state) for a in s.alerts)) for s in snaps)


def _ready(snap: RunSnapshot) -> bool:
    """Whether a first status of the run would say something settled: a note (waiting, reading a big
    history behind its tail), or records once its history is read (not a small log's first piece). A note
    while the history is read and nothing shows yet is not settled: `[waiting] no step yet (… no known log
    format in its first 2,984 lines …)` was a Lightning log's first status, its first bar 1,300 lines on
    (a review)."""
    if snap.reading_history:
        return bool(snap.notes) and snap.records > 0
    return bool(snap.notes) or snap.records > 0


def _named(n: Notice) -> str:
    """A notice's message with its source named once: a follower's messages name their file already (as
    `check` prints them), and `runwatch: a.log: a.log: a line longer than 64 KiB was cut` named it twice."""
    return n.message if n.source in n.message else f"{n.source}: {n.message}"


class StatusSchedule:
    """When a status is due: the first once every run has a note or its history read (or `grace` seconds after
    start), then every `interval`; at exit, once more only if something changed since the last."""

    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic,
                 grace: float = FIRST_STATUS_GRACE_S) -> None:
        self.interval, self.grace = interval, grace
        self._clock = clock
        self._start = self._next = clock()
        self._last: tuple[object, ...] | None = None

    @property
    def started(self) -> bool:
        """Whether a status has been printed."""
        return self._last is not None

    def wait_s(self) -> float:
        """How long the caller may sleep before asking again."""
        if not self.started:
            return 0.2
        return min(0.5, max(0.05, self._next - self._clock()))

    def is_time(self) -> bool:
        """Whether the interval has passed (cheap: ask before taking snapshots)."""
        return self._clock() >= self._next

    def take(self, snaps: list[RunSnapshot]) -> bool:
        """Whether to print `snaps` now (they are then counted as printed)."""
        if not self.is_time():
            return False
        early = self._clock() - self._start < self.grace
        if not self.started and early and not (snaps and all(_ready(s) for s in snaps)):
            return False
        self.printed(snaps)
        return True

    def printed(self, snaps: list[RunSnapshot]) -> None:
        self._last = _gist(snaps)
        self._next = self._clock() + self.interval

    def is_news(self, snaps: list[RunSnapshot]) -> bool:
        """Whether a status of `snaps` would tell more than the last one printed."""
        return _gist(snaps) != self._last


class HeadlessPrinter:
    """Prints status at a steady interval, and events as they come."""

    def __init__(self, out: TextIO, err: TextIO, *, interval: float = 10.0, as_json: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.out, self.err = out, err
        self.interval = interval
        self.as_json = as_json
        self._clock = clock
        self._seen_events: dict[str, tuple[str, int]] = {}
        """Run → (source, line) of the newest event printed, for runs that do not count their events."""
        self._counted: dict[tuple[str, bool], int] = {}
        """(run, previewing) → its `events_seen` at the last look."""
        self._previewed: dict[str, list[tuple[object, ...]]] = {}
        """Run → what the events printed from its preview say (`_events`), until its history shows them."""
        self._firing: dict[str, tuple[int | None, float]] = {}
        """Alert key → (newest step its lines said it was seen at, when the last of them was printed)."""
        self.worst = 0
        """`check`'s status for the alerts that fired while printing: 2 a critical one, 1 others, 0 none."""

    def run(self, source: SnapshotSource, should_stop: Callable[[], bool],
            until_done: Callable[[list[RunSnapshot]], bool] | None = None) -> list[RunSnapshot]:
        """Print until `should_stop()` or `until_done(snapshots)`; returns the last snapshots.

        The last status is printed at exit unless the one just printed already said it all.
        """
        schedule = StatusSchedule(self.interval, clock=self._clock)
        news = source.subscribe()
        snaps: list[RunSnapshot] = []
        while not should_stop():
            if schedule.started or not any(s.records for s in source.snapshots()):
                source.wait(schedule.wait_s())
            alerts = self._news(news)
            snaps = source.snapshots()
            self._events(snaps)
            self._alerts(alerts)
            self._updates(snaps)
            if schedule.take(snaps):
                self.print_status(snaps)
            if until_done is not None and until_done(snaps):
                break
        snaps = source.snapshots()
        self._events(snaps)
        self._alerts(self._news(news))
        self._updates(snaps, final=True)
        if schedule.is_news(snaps):
            self.print_status(snaps)
        return snaps

    def _news(self, news: Subscription[Notification | Notice]) -> list[Notification]:
        """Source notices to stderr at once; the alert notifications, to print after the events."""
        taken = news.take()
        if taken.missed:
            self.err.write(f"runwatch: {taken.missed} notices and alerts not shown (printing fell behind)\n")
        alerts = []
        for item in taken.items:
            match item:
                case Notice():
                    self.err.write(one_line(f"runwatch: {_named(item)}") + "\n")
                case Notification():
                    alerts.append(item)
        self.err.flush()
        return alerts

    def _alerts(self, notes: list[Notification]) -> None:
        """Every alert transition at once: the DESIGN §5 payload, or one line."""
        for n in notes:
            if n.state == AlertState.FIRING:
                self._firing[n.alert.key] = (n.alert.last_step, self._clock())
                self.worst = max(self.worst, _status(n.alert.severity))
            else:
                self._firing.pop(n.alert.key, None)
            if self.as_json:
                self.out.write(json.dumps(n.payload(), allow_nan=False) + "\n")
            else:
                self.out.write(one_line(alert_line(n)) + "\n")
        if notes:
            self.out.flush()

    def _updates(self, snaps: list[RunSnapshot], *, final: bool = False) -> None:
        """A firing alert whose rule saw its condition again at a newer step (a second NaN, on this rank or
        another): one `updated` line, at most once per `interval` for each alert. The lifecycle sends no
        notification for it (the same alert, deduplicated as Alertmanager does: no second Slack message),
        so without this line the second NaN was invisible until the alert resolved. `final`: the last
        look, at exit, says what the interval held back."""
        now = self._clock()
        for s in snaps:
            for a in s.alerts:
                shown = self._firing.get(a.key)
                if shown is None or a.state != AlertState.FIRING or a.last_step is None:
                    continue
                if (shown[0] is not None and a.last_step <= shown[0]) or (now - shown[1] < self.interval and not final):
                    continue
                self._firing[a.key] = (a.last_step, now)
                if self.as_json:
                    self.out.write(json.dumps(alert_update_object(s.run, a, time.time()), allow_nan=False) + "\n")
                else:
                    self.out.write(one_line(alert_update_line(s.run, a)) + "\n")
                self.out.flush()

    def exit_code(self, snaps: list[RunSnapshot]) -> int:
        """The exit status of `runwatch tail` in line mode, `check`'s contract (README) for what it saw: 2 when
        a critical alert fired (firing or resolved since), else 3 when nothing was understood (an empty pipe,
        prose, a binary file: whether its input ended or the user stopped it, as `check` of the same file
        says 3; a stopped `tail` of a binary file said 0), else 1 when any other alert fired, else 0. An
        alert still firing in `snaps` counts though its notification was missed (printing fell behind)."""
        worst = self.worst
        for s in snaps:
            for a in s.alerts:
                if a.state == AlertState.FIRING:
                    worst = max(worst, _status(a.severity))
        if worst < 2 and not any(s.measured for s in snaps):
            return EXIT_UNREAD
        return worst

    def print_status(self, snaps: list[RunSnapshot]) -> None:
        for s in snaps:
            if self.as_json:
                self.out.write(json.dumps(status_object(s), allow_nan=False) + "\n")
            else:
                self.out.write(one_line(status_line(s)) + "\n")
        self.out.flush()

    def _events(self, snaps: list[RunSnapshot]) -> None:
        """Print each new event record once, at once, in the order of its log.

        A big log's preview (`RunSnapshot.previewing`) shows its tail before its history is read: of its
        events only the fatal ones print then (a crash at the end of a big log is news now), each passed
        over once (by what it says) when the history brings it again, numbered in the whole file. The
        rest print as the history reaches them, in the log's order: the preview printed the last
        checkpoints of a big log before the first ones. Events that came faster than a snapshot holds
        them (`RunSnapshot.events`, the newest 200) are counted on stderr, not passed over in silence."""
        for s in snaps:
            new, missed = self._fresh(s)
            if missed and not s.previewing:  # the history brings the preview's again
                self.err.write(one_line(f"runwatch: {visible(s.run)}: {missed} earlier events not printed (more came in one "
                                        "read than line mode keeps; `runwatch parse --output jsonl` lists every one)")
                               + "\n")
                self.err.flush()
            previewed = self._previewed.pop(s.run, []) if not s.previewing else []
            for rec in new:
                if _gist_of(rec) in previewed:
                    previewed.remove(_gist_of(rec))
                    continue
                if rec.kind != Kind.EVENT or rec.event not in _PRINTED or (s.previewing and rec.event not in FATAL_EVENTS):
                    continue
                if s.previewing:
                    self._previewed.setdefault(s.run, []).append(_gist_of(rec))
                if self.as_json:
                    obj = {"type": "event", "time": iso_utc(rec.t or time.time()), "run": s.run, **_event_fields(rec)}
                    self.out.write(json.dumps(obj, allow_nan=False) + "\n")
                else:
                    counted = "step" if s.progress.step is not None else "record"
                    self.out.write(one_line(event_line(rec, s.run, counted=counted)) + "\n")
            self.out.flush()

    def _fresh(self, s: RunSnapshot) -> tuple[list[Record], int]:
        """The events of `s` this printer has not seen, oldest first, and how many more came that `s` no longer
        holds. Counted by `events_seen`, apart for the preview (its own count); by the newest event's (source,
        line) where the run does not count them (a node of an older runwatch)."""
        if s.events_seen:
            key = (s.run, s.previewing)
            fresh = s.events_seen - self._counted.get(key, 0)
            self._counted[key] = s.events_seen
            if fresh <= 0:
                return [], 0
            return list(s.events[-fresh:]), max(0, fresh - len(s.events))
        if not s.events:
            return [], 0
        mark = self._seen_events.get(s.run)
        self._seen_events[s.run] = (s.events[-1].source, s.events[-1].line)
        new: list[Record] = []
        for rec in reversed(s.events):
            if (rec.source, rec.line) == mark:
                break
            new.append(rec)
        return new[::-1], 0


_PRINTED = FATAL_EVENTS | {"checkpoint_saved", "finished", "exit", "restarted", "launched", "signal"}
"""The events line mode prints (`signal`: a Ctrl-C, which ends a run as surely as a crash but pages no one); the rest
(a W&B run's system notes, eval markers) show in the TUI's log."""


def _status(severity: Severity) -> int:
    """`check`'s exit status for an alert of `severity` that fired (runwatch.commands.check.exit_code)."""
    return 2 if severity == Severity.CRITICAL else 1


def _gist_of(rec: Record) -> tuple[object, ...]:
    """An event as its line says it, whatever line number or read time it was given."""
    return (rec.source, rec.kind, rec.event, rec.rank, rec.step, rec.message)


def _event_fields(rec: Record) -> Mapping[str, Any]:
    d = rec.to_json()
    d.pop("kind", None)
    return d
