"""Rules → alert lifecycle → sinks, for the runs one engine follows.

The engine calls `tick()` on its worker thread about once a second; this
evaluates every enabled rule on every run, advances the lifecycle and hands
the notifications to the dispatcher, which delivers them on its own threads
(the engine never waits on a network). A rule that raises marks itself
broken (said once) and the others go on.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import shlex
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runwatch.alerts.diagnosis import stall_diagnosis
from runwatch.alerts.judge import Judge, Judged
from runwatch.alerts.lifecycle import AlertManager
from runwatch.alerts.rules import Rule
from runwatch.alerts.rules.base import resolution_of
from runwatch.alerts.rules.stall import Stall
from runwatch.alerts.silences import SilenceBook
from runwatch.alerts.sinks.base import Sink, SinkConfigError, SinkFilter
from runwatch.alerts.store import AlertStore, StateDir
from runwatch.alerts.types import Alert, Finding, Notification, RuleTiming, make_labels
from runwatch.config import Config, SinkConfig
from runwatch.model import AlertBrief, Severity
from runwatch.state.run import RunTracker
from runwatch.state.system import SystemState
from runwatch.supervise import Supervisor, ThreadFailure

if TYPE_CHECKING:
    from runwatch.alerts.sinks.dispatch import Dispatcher

log = logging.getLogger("runwatch.alerting")

INTERNAL_RULE = "runwatch_internal"
"""The rule id of runwatch's own failures (DESIGN §6): not a rule that judges runs, the supervisor raises it."""
INTERNAL_TIMING = RuleTiming(for_s=0.0, resolve_after_s=300.0)
"""A thread that failed fires at once and resolves once it has run 5 minutes without failing again."""
CONTEXT_LINES = 12
"""Log lines attached to an alert (shown in Slack messages)."""


@dataclass(frozen=True)
class AlertFlags:
    """The CLI's shortcuts for common sinks, without a config file."""

    webhook: str | None = None
    slack_webhook_env: str | None = None
    on_alert: str | None = None
    alertmanager: tuple[str, ...] = ()
    """`--alertmanager URL` (repeatable): one sink, every URL a member of the same HA cluster."""

    def sink_configs(self) -> list[SinkConfig]:
        from runwatch.alerts.sinks.alertmanager import AlertmanagerSink
        from runwatch.alerts.sinks.command import CommandSink
        from runwatch.alerts.sinks.slack import SlackSink
        from runwatch.alerts.sinks.webhook import WebhookSink

        out: list[SinkConfig] = []
        if self.webhook:
            out.append(SinkConfig(type="webhook", name="webhook", settings=WebhookSink.Settings(
                webhook_url_env=None, webhook_url=self.webhook), origin="--webhook"))
        if self.slack_webhook_env:
            out.append(SinkConfig(type="slack", name="slack", settings=SlackSink.Settings(
                webhook_url_env=self.slack_webhook_env), origin=f"--slack-webhook-env {self.slack_webhook_env}"))
        if self.on_alert:
            out.append(SinkConfig(type="command", name="on-alert", settings=CommandSink.Settings(
                run=_argv(self.on_alert)), origin="--on-alert"))
        if self.alertmanager:
            out.append(SinkConfig(type="alertmanager", name="alertmanager", settings=AlertmanagerSink.Settings(
                urls=tuple(self.alertmanager)), origin="--alertmanager"))
        return out


def _argv(command: str) -> tuple[str, ...]:
    """`--on-alert CMD` split as a shell would split it; an unclosed quote is the user's to fix (exit 64),
    where shlex's bare ValueError would now read as a bug of runwatch's."""
    try:
        return tuple(shlex.split(command))
    except ValueError as e:
        raise SinkConfigError(f"--on-alert: {e} in {command!r}") from None


def build_sinks(configs: Iterable[SinkConfig], environ: Mapping[str, str] | None = None) -> list[Sink]:
    """Sinks from config; a bad one raises `SinkConfigError` naming the file (or flag) and the key,
    before anything starts: `cfg.toml: sinks[0].webhook_url_env: environment variable X is not set`."""
    from runwatch.alerts.sinks.factory import make_sink  # the sink classes load only when a sink is asked for

    env = os.environ if environ is None else environ
    sinks: list[Sink] = []
    names: set[str] = set()
    for sc in configs:
        base = sc.name or sc.type
        name, n = base, 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        names.add(name)
        flt = SinkFilter(sc.min_severity, frozenset(sc.rules), sc.send_resolved)
        try:
            sinks.append(make_sink(sc.type, name, sc.resolved_settings(), flt, env))
        except SinkConfigError as e:
            where = sc.where(e.key) if e.key else sc.where()
            raise SinkConfigError(f"{where}: {e}" if sc.origin else str(e), key=e.key) from None
    return sinks


class Alerting:
    """Owns the rules, the AlertManager and the Dispatcher of one engine."""

    def __init__(self, config: Config, *, sinks: Sequence[Sink] = (), state_dir: Path | None = None,
                 persist: bool = True, on_sink_error: Callable[[str, str], None] | None = None) -> None:
        self.rules = config.rules()
        self.judge = Judge(self.rules)
        """The rules, each evaluated with isolation (runwatch.alerts.judge; `check` uses the same)."""
        self._on_sink_error = on_sink_error
        state = StateDir(state_dir or config.state_dir) if persist else None
        self._state = state
        store = AlertStore(state) if state is not None else None
        self.manager = AlertManager(_timings(config), silences=SilenceBook(store), store=store,
                                    step_rules=_step_rules(self.rules))
        outbox = state.ensure() / "outbox" if state is not None and sinks else None
        self.dispatcher = _dispatcher(list(sinks), outbox=outbox, on_error=on_sink_error) if sinks else None
        self._lock = threading.Lock()
        self._supervisor: Supervisor | None = None
        self._failures_judged: dict[str, float] = {}
        """Each failed thread's latest failure (its time) that the lifecycle has seen."""

    def start(self, supervisor: Supervisor | None = None) -> None:
        """Start the sinks' threads, under `supervisor` (the engine's) when given, also after a reload."""
        self._supervisor = supervisor
        if self.dispatcher is not None:
            self.dispatcher.resume(self.manager.firing())
            self.dispatcher.start(supervisor)

    def internal_failure(self, failure: ThreadFailure) -> list[Notification]:
        """A `runwatch_internal` critical alert for a thread of runwatch's own that failed (DESIGN §6), through
        the lifecycle like any other and at once, not at the next rule tick (the daemon may be half blind):
        sent to every sink, one id for the episode (its key and start), silenced and resolved like the rest.
        The supervisor reports a thread's first failure and giving up (an alert of its own, with
        `outcome="gave_up"`); the ticks see the failures between (`_internal_findings`), so the alert resolves
        once the thread has run `INTERNAL_TIMING.resolve_after_s` without failing."""
        with self._lock:
            self._failures_judged[failure.thread] = failure.at
            return self.manager.update([_internal_finding(failure)], failure.at, evaluated=[(INTERNAL_RULE, "")],
                                       hand_over=self._submit)

    def _internal_findings(self) -> list[Finding]:
        """A finding per thread that failed again since the lifecycle last saw it (lock held)."""
        latest = self._supervisor.latest() if self._supervisor is not None else {}
        out = []
        for name, failure in latest.items():
            if failure.at > self._failures_judged.get(name, -math.inf):
                self._failures_judged[name] = failure.at
                out.append(_internal_finding(failure))
        return out

    def reload(self, config: Config, sinks: Sequence[Sink]) -> None:
        """New rules, timings and sinks (SIGHUP); alert states and silences carry over."""
        rules = config.rules()
        old = self.dispatcher
        outbox = self._state.ensure() / "outbox" if self._state is not None and sinks else None
        new = _dispatcher(list(sinks), outbox=outbox, on_error=self._on_sink_error) if sinks else None
        if old is not None:
            old.stop(3.0)
        if new is not None:
            new.resume(self.manager.firing())
            new.start(self._supervisor)
        with self._lock:
            self.rules, self.judge = rules, Judge(rules)
            self.manager.set_timings(_timings(config))
            self.manager.step_rules = _step_rules(rules)
            self.dispatcher = new

    def stop(self, drain_timeout: float = 3.0) -> None:
        self.manager.save()
        if self.dispatcher is not None:
            self.dispatcher.stop(drain_timeout)

    def tick(self, runs: Iterable[tuple[RunTracker, SystemState | None, Sequence[str]]],
             now: float, *, points: Mapping[str, int] | None = None, history: bool = False,
             urgent_only: bool = False, reading: Collection[str] = (),
             ended: Collection[str] = ()) -> list[Notification]:
        """Evaluate every rule on every run at `now`; the notifications due (already submitted).

        `points`: records each run (by name) received since its last evaluation; rules that count
        records among their newest ones look back at least that far (`Rule.widened`).
        `history`: only the rules that judge records in sequence (a history being read in).
        `urgent_only`: only the rules that cannot wait (`Rule.urgent`).
        `reading`: runs whose history is still being read, `ended`: runs whose input has ended (see
        `AlertManager.update`).
        """
        judged = Judged()
        trackers: dict[str, RunTracker] = {}
        for tracker, system, context in runs:
            trackers[tracker.run] = tracker
            start = len(judged.findings)
            self.judge.judge(tracker, system, now, new=points.get(tracker.run, 0) if points else 0, history=history,
                             urgent_only=urgent_only, into=judged)
            for i in range(start, len(judged.findings)):
                found = judged.findings[i]
                if found.rule == Stall.id:
                    found = dataclasses.replace(found, diagnosis=stall_diagnosis(system, tracker.last_step_at, tracker.run))
                judged.findings[i] = _with_context(found, context)
        findings, evaluated = judged.findings, judged.evaluated
        # not runwatch's own, added below. A run still reading a source's history is judged on part of it: what
        # is found then may not be found once all is read (a crash named by rank 1's traceback, then rank 0's
        # file read: another alert), and goes then at once, as one found reading a history does
        in_history = {f.key for f in findings if history or f.run in reading}
        with self._lock:
            findings += self._internal_findings()
            evaluated.add((INTERNAL_RULE, ""))
            rules = {r.id: r for r in self.rules}
            notes = self.manager.update(findings, now, evaluated=evaluated,
                                        resolution=lambda a: self._resolution(rules, trackers, a, now),
                                        hand_over=self._submit, history=history, reading=reading,
                                        found_in_history=in_history, ended=ended)
            if self.dispatcher is not None:
                self.dispatcher.retain(lambda: {a.key for a in self.manager.firing()})
            held = self.manager.silences.take_held()
        for h in held:  # once per transition a silence held back
            log.info("%s", h.line())
        return notes

    def _submit(self, notes: list[Notification]) -> None:
        """To the sinks (queued and in the outbox) before the lifecycle records them as sent."""
        if self.dispatcher is not None:
            for n in notes:
                self.dispatcher.submit(n)

    def _resolution(self, rules: Mapping[str, Rule[Any]], trackers: Mapping[str, RunTracker], alert: Alert,
                    now: float) -> str | None:
        """What ended `alert`, from its rule's `resolution(run, alert, now)`."""
        return resolution_of(rules.get(alert.rule), trackers.get(alert.run), alert, now)

    def briefs(self, run: str) -> tuple[AlertBrief, ...]:
        """The run's alerts as the snapshot carries them."""
        with self._lock:
            rules = {r.id: r for r in self.rules}
            return tuple(_brief(a, rules.get(a.rule)) for a in self.manager.alerts() if a.run == run)

    def silence(self, key: str, duration_s: float, now: float, comment: str = "") -> str:
        """Silence one alert (its rule and labels) for a while; the silence id."""
        with self._lock:
            a = self.manager.get(key)
            if a is None:
                raise KeyError(key)
            s = self.manager.silences.add(a.rule, {k: str(v) for k, v in a.labels}, duration_s, now,
                                          comment=comment, created_by="runwatch")
            return s.id

    def acknowledge(self, key: str) -> bool:
        with self._lock:
            return self.manager.ack(key)


def _dispatcher(sinks: list[Sink], *, outbox: Path | None,
                on_error: Callable[[str, str], None] | None) -> Dispatcher:
    """The sinks' dispatcher (its threads, outbox and HTTP machinery load only when a sink is configured)."""
    from runwatch.alerts.sinks.dispatch import Dispatcher

    return Dispatcher(sinks, outbox=outbox, on_error=on_error)


def _timings(config: Config) -> dict[str, RuleTiming]:
    """Every rule's timing, and runwatch_internal's."""
    return {**config.timings(), INTERNAL_RULE: INTERNAL_TIMING}


def _internal_finding(failure: ThreadFailure) -> Finding:
    """What a failed thread says: which one, its error, and whether runwatch goes on."""
    gave_up = not failure.restarting
    what = "gave up: runwatch exits so its service manager restarts it" if gave_up else "restarted"
    return Finding(rule=INTERNAL_RULE, labels=make_labels(thread=failure.thread, outcome="gave_up" if gave_up else None),
                   severity=Severity.CRITICAL, value=failure.error,
                   summary=f"runwatch thread {failure.thread} failed: {failure.error} ({what}; {failure.count}× so far)")


def _step_rules(rules: Iterable[Rule[Any]]) -> frozenset[str]:
    """The rules whose alerts' ids start at a step (`AlertManager.step_rules`): those that judge records."""
    return frozenset(r.id for r in rules if r.judges_records)


def _with_context(f: Finding, context: Sequence[str]) -> Finding:
    if f.context or not context:
        return f
    return dataclasses.replace(f, context=tuple(context[-CONTEXT_LINES:]))


def _brief(a: Alert, rule: Rule[Any] | None) -> AlertBrief:
    """`rule`: the alert's rule, which says what its firing means for the run (None: a rule no longer
    configured, or runwatch's own `runwatch_internal`)."""
    since = a.resolved_at if a.resolved_at is not None else (a.fired_at or a.active_since)
    return AlertBrief(
        rule=a.rule, state=a.state, severity=a.severity, summary=a.summary,
        labels={k: v for k, v in a.labels if k != "run"}, key=a.key, since=since, step=a.step, last_step=a.last_step,
        value=a.value, acknowledged=a.acknowledged, silenced=bool(getattr(a, "muted", False)),
        badge=rule.badge(a.severity) if rule is not None else None,
        lagging_rank=rule is not None and rule.names_lagging_rank,
    )
