"""From findings over time to alerts and notifications (Prometheus + Alertmanager semantics, DESIGN §5).

Per alert key (rule + labels):

    (nothing) ─finding─▶ PENDING ─held for `for_s`─▶ FIRING ─absent for `resolve_after_s`─▶ RESOLVED
                            └─absent─▶ (dropped, never notified)        ▲ finding again: stays FIRING

A finding for a RESOLVED key starts a new episode (PENDING again). Only the
(rule, run) pairs named in `evaluated` count as "absent" when they bring no
finding: a run that was not ticked keeps its alerts as they are.

A RESOLVED alert's summary says so: what the rule says ended it (the
`resolution` callback of `update`, e.g. "stall over: step 1234 arrived after
12.3s"), else "cleared; was: <the firing summary>", so a RESOLVED
notification never reads like the FIRING one.

Notifications go out on FIRING and on RESOLVED (the latter only when the
firing was notified), and again every `repeat_interval_s` while firing unless
acknowledged. An alert is muted while an active silence matches it or while
an inhibiting alert fires for the same run (a crash mutes the stall): it still
changes state, and what it could not say is said once it is unmuted and still
true (a first FIRING, a RESOLVED). An inhibition holds back FIRING only: the
RESOLVED of a firing that was told goes out under it, or a stall told firing
and then over while the run's crash or exit fires (which need not ever resolve:
the run is over) read as firing forever in the receiver. A silence, which a
person set, holds back both until it ends. Every notification has an id built from the
key (rule + labels), the state and the start of the condition (for the rules
that judge records in sequence, `step_rules`, the step where it began; for the
others, which judge the present, the time it was first seen holding, kept in
the state dir), not the time runwatch noticed it:
a restarted daemon that judges the same lines again makes the same id, which
it remembers as sent (ids sent are stored with the alert states in one atomic
write, before the notifications are returned) and a receiver can recognise.

Pure apart from the optional store: time comes only through `now`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import replace

from runwatch.alerts.silences import SilenceBook
from runwatch.alerts.store import AlertStore
from runwatch.alerts.types import DEFAULT_INHIBITIONS, Alert, Finding, InhibitRule, Notification, RuleTiming
from runwatch.model import AlertState, Severity

RESOLVED_RETENTION_S = 3600.0
"""Resolved alerts stay listed (and may still send a withheld RESOLVED) this long."""
MAX_RESOLVED = 500
MAX_SENT = 10_000
SAVE_INTERVAL_S = 30.0
"""Changes that are only `last_seen`/values are written at most this often; transitions at once."""

_STATE_ORDER = {AlertState.FIRING: 0, AlertState.PENDING: 1, AlertState.RESOLVED: 2, AlertState.INACTIVE: 3}
_SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}

Resolution = Callable[[Alert], "str | None"]
"""What ended a firing alert, in words (None: nothing specific to say)."""


class AlertManager:
    """Tracks every alert's lifecycle and decides which notifications go out."""

    def __init__(self, timings: Mapping[str, RuleTiming], *,
                 inhibitions: Iterable[InhibitRule] = DEFAULT_INHIBITIONS,
                 silences: SilenceBook | None = None, store: AlertStore | None = None,
                 resolved_retention_s: float = RESOLVED_RETENTION_S, max_resolved: int = MAX_RESOLVED,
                 save_interval_s: float = SAVE_INTERVAL_S, step_rules: Iterable[str] = ()) -> None:
        self.timings = dict(timings)
        self.step_rules = frozenset(step_rules)
        """Rules whose condition starts at a step (they judge records: a history read again finds it again)."""
        self.inhibitions = tuple(inhibitions)
        self.store = store
        self.silences = silences if silences is not None else SilenceBook(store)
        self.resolved_retention_s = resolved_retention_s
        self.max_resolved = max_resolved
        self.save_interval_s = save_interval_s
        self._alerts: dict[str, Alert] = {}
        self._sent: dict[str, None] = {}  # insertion-ordered set, oldest first
        self._lock = threading.Lock()
        self._changed = False  # anything not yet written
        self._last_save: float | None = None
        if store is not None:
            alerts, sent = store.load_alerts()
            self._alerts = {a.key: a for a in alerts}
            self._sent = dict.fromkeys(sent)

    # ── reading ────────────────────────────────────────────────────────────

    def alerts(self) -> list[Alert]:
        """Active and recently resolved alerts: firing first, then by severity and age."""
        with self._lock:
            items = list(self._alerts.values())
        return sorted(items, key=lambda a: (_STATE_ORDER[a.state], _SEVERITY_ORDER.get(a.severity, 9),
                                            a.active_since, a.key))

    def firing(self) -> list[Alert]:
        return [a for a in self.alerts() if a.state == AlertState.FIRING]

    def get(self, key: str) -> Alert | None:
        with self._lock:
            return self._alerts.get(key)

    def timing(self, rule: str) -> RuleTiming:
        return self.timings.get(rule) or RuleTiming()

    # ── acting ─────────────────────────────────────────────────────────────

    def set_timings(self, timings: Mapping[str, RuleTiming]) -> None:
        """New timings (config reload); they apply from the next `update`."""
        with self._lock:
            self.timings = dict(timings)

    def ack(self, key: str) -> bool:
        """Acknowledge an active alert: no more repeats this episode; it still resolves. False if none."""
        with self._lock:
            a = self._alerts.get(key)
            if a is None or a.state not in (AlertState.PENDING, AlertState.FIRING):
                return False
            if not a.acknowledged:
                self._alerts[key] = replace(a, acknowledged=True)
                self._changed = True
                self._save()
            return True

    def save(self) -> bool:
        """Write the state now (on shutdown); True when written or nothing to write."""
        with self._lock:
            return self._save() if self._changed else True

    def update(self, findings: Iterable[Finding], now: float, *,
               evaluated: Iterable[tuple[str, str]] | None = None,
               resolution: Resolution | None = None,
               hand_over: Callable[[list[Notification]], None] | None = None,
               history: bool = False, reading: Collection[str] = (),
               found_in_history: Collection[str] = (), ended: Collection[str] = ()) -> list[Notification]:
        """Advance every alert to `now` given this tick's findings; the notifications to send.

        `evaluated`: the (rule, run) pairs evaluated this tick; None means all.
        `resolution(alert)`: the summary of an alert that resolves now (see the module docstring).
        `hand_over(notes)` gets the notifications before the state (with their
        ids, as sent) is saved, and the state is saved before returning: with a
        hand-over that keeps them (the dispatcher's outbox), a crash at any
        point repeats a notification (same id) rather than loses it.
        `history`: this is a judgement of a history being read in; `found_in_history`: the keys of the
        findings that judged its records (see `Alert.seen_reading_history`; runwatch's own findings, such
        as a failing thread, are of the present); `reading`: runs whose history is still being read, whose
        alerts a judgement may not yet resolve at once (a live tick between two pieces of the history
        judges only what was read so far); `ended`: runs whose input has ended (a pipe at its end), all of
        which is read: a firing alert of one that a judgement no longer finds resolves at once, as `check`
        of the same input says it resolved. Its `resolve_after` counts wall time that a pipe read faster
        than the run wrote it never gives: `cat train.log | runwatch tail -` left an OOM the run went on
        from for 37,000 steps firing at its end, where `check` said the run went on (a review).
        """
        self.silences.refresh(now)
        with self._lock:
            seen = self._latest(findings)
            pairs = None if evaluated is None else set(evaluated) | {(f.rule, f.run) for f in seen.values()}
            self._changed |= bool(seen)  # last_seen and values moved on
            structural = self._advance(seen, pairs, now, resolution, history, reading, found_in_history, ended)
            structural |= self._mute(now)
            notes = [replace(n, in_history=True) if _of_history(n, history, reading) else n for n in self._notify(now)]
            structural |= self._expire(now)
            if notes and hand_over is not None:
                hand_over(notes)  # before they are saved as sent: a crash between repeats, never loses
            if notes or structural:
                self._changed = True
                self._save(now)
            elif self._changed and (self._last_save is None or now - self._last_save >= self.save_interval_s):
                self._save(now)
            return notes

    # ── the steps of one update ───────────────────────────────────────────

    @staticmethod
    def _latest(findings: Iterable[Finding]) -> dict[str, Finding]:
        out: dict[str, Finding] = {}
        for f in findings:
            out[f.key] = f
        return out

    def _advance(self, seen: dict[str, Finding], pairs: set[tuple[str, str]] | None, now: float,
                 resolution: Resolution | None = None, history: bool = False, reading: Collection[str] = (),
                 found_in_history: Collection[str] = (), ended: Collection[str] = ()) -> bool:
        """State transitions; True when any alert appeared, changed state or went away."""
        structural = False
        for key, f in seen.items():
            before = self._alerts.get(key)
            after = self._observe(before, f, now)
            if after.seen_reading_history != (key in found_in_history):
                after = replace(after, seen_reading_history=key in found_in_history)
            self._alerts[key] = after
            structural |= before is None or before.state != after.state
        for key, a in list(self._alerts.items()):
            if key in seen or (pairs is not None and (a.rule, a.run) not in pairs):
                continue
            if a.state == AlertState.PENDING:
                del self._alerts[key]
                structural = True
            elif a.state == AlertState.FIRING and (now - a.last_seen >= self.timing(a.rule).resolve_after_s
                                                   or (a.seen_reading_history and not history
                                                       and a.run not in reading) or a.run in ended):
                said = resolution(a) if resolution is not None else None
                self._alerts[key] = replace(a, state=AlertState.RESOLVED, resolved_at=now,
                                            summary=said or f"cleared; was: {a.summary}")
                structural = True
        return structural

    def _observe(self, a: Alert | None, f: Finding, now: float) -> Alert:
        if a is None or a.state in (AlertState.RESOLVED, AlertState.INACTIVE):
            a = Alert(rule=f.rule, labels=f.labels, state=AlertState.PENDING, severity=f.severity,
                      summary=f.summary, active_since=now, first_step=_began(f))
        a = replace(a, severity=f.severity, summary=f.summary, value=f.value, threshold=f.threshold,
                    step=f.step, last_step=f.last_step, metric=f.metric, source=f.source, context=f.context, history=f.history,
                    diagnosis=f.diagnosis, last_seen=now, first_step=_began(f) if a.first_step is None else a.first_step)
        if a.state == AlertState.PENDING and now - a.active_since >= self.timing(a.rule).for_s:
            a = replace(a, state=AlertState.FIRING, fired_at=now)
        return a

    def _mute(self, now: float) -> bool:
        """Recompute who is silenced or inhibited; True when that changed for any alert."""
        sources = self._inhibiting()
        changed = False
        for key, a in list(self._alerts.items()):
            silence = self.silences.active_for(a.rule, a.labels, now)
            sid = silence.id if silence is not None else None
            inh = self._inhibitor(a, sources)
            if (sid, inh) != (a.silenced_by, a.inhibited_by):
                self._alerts[key] = replace(a, silenced_by=sid, inhibited_by=inh)
                changed = True
        return changed

    def _inhibiting(self) -> list[tuple[InhibitRule, dict[tuple[object, ...], str]]]:
        """Per inhibit rule: equal-label values of its firing source alerts → the source's key."""
        out = []
        for rule in self.inhibitions:
            index: dict[tuple[object, ...], str] = {}
            for a in self._alerts.values():
                if a.rule == rule.source_rule and a.state == AlertState.FIRING:
                    index.setdefault(_values(a, rule.equal), a.key)
            if index:
                out.append((rule, index))
        return out

    @staticmethod
    def _inhibitor(a: Alert, sources: list[tuple[InhibitRule, dict[tuple[object, ...], str]]]) -> str | None:
        for rule, index in sources:
            if a.rule in rule.target_rules and a.rule != rule.source_rule:
                hit = index.get(_values(a, rule.equal))
                if hit is not None:
                    return hit
        return None

    def _notify(self, now: float) -> list[Notification]:
        out: list[Notification] = []
        for key, a in list(self._alerts.items()):
            n = self._due(a, now)
            if n is None:
                continue
            if a.silenced_by is not None:  # held back; the daemon's log says so once (silences.py)
                self.silences.held_back(a, n.state, now)
                continue
            if a.inhibited_by is not None and n.state != AlertState.RESOLVED:
                continue
            self._remember(n.id)
            a = replace(a, last_notified=now)
            self._alerts[key] = a
            out.append(replace(n, alert=a))
        out.sort(key=lambda n: (_SEVERITY_ORDER.get(n.alert.severity, 9), n.alert.key))
        return out

    def _due(self, a: Alert, now: float) -> Notification | None:
        """The notification `a` owes now, muted or not (never one whose id was sent)."""
        if a.state == AlertState.FIRING and a.fired_at is not None:
            first = notification_id(a.key, AlertState.FIRING, self._start(a))
            if a.last_notified is None:
                return None if first in self._sent else Notification(a, AlertState.FIRING, now, id=first)
            repeat = self.timing(a.rule).repeat_interval_s
            if a.acknowledged or repeat <= 0 or now - a.last_notified < repeat:
                return None
            nid = f"{first}:repeat:{_t(now)}"
            return None if nid in self._sent else Notification(a, AlertState.FIRING, now, repeat=True, id=nid)
        if a.state == AlertState.RESOLVED and a.resolved_at is not None:
            told_firing = a.last_notified is not None and a.last_notified < a.resolved_at
            nid = notification_id(a.key, AlertState.RESOLVED, self._start(a))
            if told_firing and nid not in self._sent:
                return Notification(a, AlertState.RESOLVED, now, id=nid)
        return None

    def _start(self, a: Alert) -> str:
        return condition_start(a, by_step=a.rule in self.step_rules)

    def _expire(self, now: float) -> bool:
        """Drop resolved alerts past retention (and the oldest beyond `max_resolved`)."""
        resolved = sorted((a for a in self._alerts.values() if a.state == AlertState.RESOLVED),
                          key=lambda a: a.resolved_at or 0.0)
        keep = [a for a in resolved if now - (a.resolved_at or 0.0) <= self.resolved_retention_s]
        drop = [a.key for a in resolved[: len(resolved) - len(keep)]]  # sorted: the expired come first
        drop += [a.key for a in keep[: max(0, len(keep) - self.max_resolved)]]
        for key in drop:
            del self._alerts[key]
        return bool(drop)

    def _remember(self, nid: str) -> None:
        self._sent[nid] = None
        while len(self._sent) > MAX_SENT:
            del self._sent[next(iter(self._sent))]

    def _save(self, now: float | None = None) -> bool:
        if self.store is None:
            self._changed = False
            return True
        ok = self.store.save_alerts(self._alerts.values(), self._sent)
        if ok:
            self._changed = False
            if now is not None:
                self._last_save = now
        return ok


def notification_id(key: str, state: AlertState, start: str) -> str:
    """Stable id of the notification for `key` entering `state` in the episode that began at `start`."""
    return f"{key}:{state}:{start}"


def condition_start(a: Alert, *, by_step: bool) -> str:
    """Where the alert's condition began, the same however often (and by whichever daemon) it is judged:
    `step=380` for a rule that judges records (`by_step`) whose finding named a step, else `t=<Unix
    seconds>` when it was first seen holding (a rule about the present: a paused run may stall twice at
    one step, two conditions)."""
    return f"step={a.first_step}" if by_step and a.first_step is not None else f"t={_t(a.active_since)}"


def _t(t: float) -> str:
    return f"{t:.3f}"


def _began(f: Finding) -> int | None:
    """The step where a finding's condition began: its own `first_step` where the rule says, else its step."""
    return f.step if f.first_step is None else f.first_step


def _values(a: Alert, names: tuple[str, ...]) -> tuple[object, ...]:
    labels = dict(a.labels)
    return tuple(str(labels.get(n, "")) for n in names)


def _of_history(n: Notification, history: bool, reading: Collection[str]) -> bool:
    """Whether a transition is the history's (`Notification.in_history`): found by a judgement of a history
    being read, or of a run still reading one, or (not a reminder) of an alert a history judgement saw last."""
    return not n.repeat and (history or n.alert.run in reading or n.alert.seen_reading_history)
