"""The Textual app: polls the controller for snapshots and hands them to the screen on top.

`run_tui` is the entry point the CLI imports lazily (Textual stays off the
headless path). The app owns only what spans screens: the refresh timer,
pause, the bell and quitting; each screen draws and acts on its own.
"""

from __future__ import annotations

import socket
import time

from rich.console import Console
from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen

from runwatch.alerts.types import Notification
from runwatch.model import AlertState, Controller, RunSnapshot, Severity
from runwatch.text import clip
from runwatch.tui.screens.dashboard import DashboardScreen
from runwatch.tui.screens.help import HelpScreen

MIN_REFRESH_S = 0.25
"""Never poll (and so never redraw) faster than 4 Hz."""
RUNS_FIRST_WITHIN_S = 10.0
"""How long after start a second run may still turn up and open the runs table (`runs_first`): a
directory's runs are found as it is walked; later than this, a run that appears while the person
reads one must not pull the view away from it."""


class RunwatchApp(App[int]):
    """Follows the runs a `Controller` reports; `refresh_s` is the snapshot poll period."""

    CSS_PATH = "runwatch.tcss"
    TITLE = "runwatch"
    BINDINGS = [
        Binding("q", "quit_app", "Quit"),
        Binding("p", "pause", "Pause"),
        Binding("question_mark", "help", "Help"),
        Binding("b", "bell_toggle", "Bell", show=False),
    ]
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, controller: Controller, *, refresh_s: float = 1.0, bell: bool = True,
                 host: str | None = None, runs_first: bool = False) -> None:
        # On a 16-colour terminal, pass named colours through to the terminal's own palette:
        # Textual would map them via its truecolor theme and back, and red came out magenta.
        super().__init__(ansi_color=True if few_colours() else None)
        self.controller = controller
        self.refresh_s = max(MIN_REFRESH_S, refresh_s)
        self.bell_on = bell
        self.host = socket.gethostname() if host is None else host
        self.paused = False
        self.snaps: list[RunSnapshot] = []
        self.rang: set[str] = set()
        """Keys of critical alerts the bell already rang for (once per firing)."""
        self.dashboard = DashboardScreen(controller, host=self.host)
        self.news = controller.subscribe()
        """Alert transitions, shown as toasts as they come (notices already show as the run's notes)."""
        self.runs_first = runs_first
        """Open on the runs table once more than one run is followed (a directory of runs: the CLI sets
        it), provided that happens within RUNS_FIRST_WITHIN_S and the run view is still on top."""
        self._started: float | None = None
        self._history_fired: list[Notification] = []
        """Alerts that fired in a history being read, for the one toast that sums them up."""

    def on_mount(self) -> None:
        self.push_screen(self.dashboard)
        self.call_after_refresh(self.poll)
        self.set_interval(self.refresh_s, self.poll)

    def poll(self) -> None:
        """Pull the newest snapshots (unless paused) and show them on the screens in view."""
        if not self.paused:
            self.snaps = self.controller.snapshots()
            self._ring(self.snaps)
        self._toast(self.news.take().items)
        self._show()
        if self.runs_first:
            self._maybe_runs_first()

    def _maybe_runs_first(self) -> None:
        now = time.monotonic()
        if self._started is None:
            self._started = now
        if now - self._started > RUNS_FIRST_WITHIN_S or self.screen is not self.dashboard:
            self.runs_first = False  # too late, or the person went elsewhere already
        elif len(self.snaps) > 1:
            self.runs_first = False
            self.dashboard.action_runs()

    def _toast(self, news: tuple[object, ...]) -> None:
        """What fired or resolved since the last poll, even while paused: a toast per alert transition, or
        one that lists them when more came at once than `TOASTS_AT_ONCE` (a run that goes NaN fires
        several rules together, and their toasts covered half of an 80×24 screen). Transitions found in a
        history read at start-up are summed up in one toast once it is read (`_history_toast`)."""
        notes = [item for item in news if isinstance(item, Notification)]
        self._history_toast([n for n in notes if n.in_history])
        notes = [n for n in notes if not n.in_history]
        if len(notes) > TOASTS_AT_ONCE:
            worst = max(notes, key=lambda n: (n.state != AlertState.RESOLVED, n.alert.severity == Severity.CRITICAL))
            lines = [clip(f"{n.alert.rule} {_what(n)}: {n.alert.run}", TOAST_TEXT_W) for n in notes[:LISTED]]
            if len(notes) > LISTED:
                lines.append(f"… and {len(notes) - LISTED} more (the Alerts panel lists them)")
            self.notify("\n".join(lines), title=f"{len(notes)} alerts", severity=_level(worst), timeout=8,
                        markup=False)
            return
        several = len(self.snaps) > 1
        for n in notes:
            a = n.alert
            said = f"{a.run}: {a.summary}" if several else a.summary  # one run: the header names it
            self.notify(clip(said, TOAST_TEXT_W), title=f"{a.rule} {_what(n)}", severity=_level(n), timeout=8,
                        markup=False)

    def _history_toast(self, found: list[Notification]) -> None:
        """One toast for the alerts a history fired, once no run reads one any more and a poll brought no more
        of them: a long log's history fired them over many polls, a toast (or a list) each, nine at once
        on a new user's screen. Those it resolved say nothing on their own: the Alerts panel lists both."""
        fired = [n for n in found if n.state != AlertState.RESOLVED]
        self._history_fired += fired
        if found or not self._history_fired or any(s.reading_history for s in self.snaps):
            return
        fired, self._history_fired = self._history_fired, []
        worst = max(fired, key=lambda n: n.alert.severity == Severity.CRITICAL)
        what = "alert" if len(fired) == 1 else "alerts"
        self.notify(f"{len(fired)} {what} fired in the history; see Alerts", title="while reading the history",
                    severity=_level(worst), timeout=8, markup=False)

    def _show(self) -> None:
        for screen in reversed(self.screen_stack):
            follow = getattr(screen, "follow", None)
            if follow is not None:
                try:
                    follow(self.snaps, paused=self.paused)
                except NoMatches:
                    # A timer tick can land while a screen is still composing or is being
                    # torn down at exit: it has no widgets to update; the next tick shows it.
                    pass
            if not isinstance(screen, ModalScreen):
                break

    def _ring(self, snaps: list[RunSnapshot]) -> None:
        """The bell, once per critical alert that starts firing (not silenced or acknowledged)."""
        firing = {a.key or a.rule for s in snaps for a in s.alerts
                  if a.state == AlertState.FIRING and a.severity == Severity.CRITICAL
                  and not a.silenced and not a.acknowledged}
        new = firing - self.rang
        self.rang = (self.rang & firing) | new
        if new and self.bell_on:
            self.bell()

    def action_pause(self) -> None:
        self.paused = not self.paused
        self.controller.set_paused(self.paused)
        self._show()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_bell_toggle(self) -> None:
        self.bell_on = not self.bell_on
        self.notify(f"bell {'on' if self.bell_on else 'off'}", timeout=2)

    def action_quit_app(self) -> None:
        self.exit(0)


def few_colours() -> bool:
    """Whether the terminal on stdout shows only the 16 (or 8) ANSI colours."""
    return Console().color_system in ("standard", "windows")


def run_tui(controller: Controller, *, refresh_s: float = 1.0, bell: bool = True, runs_first: bool = False) -> int:
    """Run the TUI until the person quits; returns the exit code (0). `runs_first`: see RunwatchApp."""
    app = RunwatchApp(controller, refresh_s=refresh_s, bell=bell, runs_first=runs_first)
    result = app.run()
    return app.return_code or (result if isinstance(result, int) else 0)


TOASTS_AT_ONCE = 2
"""Alert transitions of one poll shown as toasts of their own; more come as one toast that lists them."""
LISTED = 4
"""Transitions that one toast lists by name."""
TOAST_TEXT_W = 40 - 4
"""Characters on a toast's line (runwatch.tcss: 40 columns, less its padding, its coloured edge and the scrollbar gutter): an alert's
toast is its title and one line, cut to this (the Alerts pane and the note under it give the whole summary)."""


def _what(n: Notification) -> str:
    return "resolved" if n.state == AlertState.RESOLVED else ("still firing" if n.repeat else "firing")


def _level(n: Notification) -> SeverityLevel:
    if n.state == AlertState.RESOLVED:
        return "information"
    return "error" if n.alert.severity == Severity.CRITICAL else "warning"
