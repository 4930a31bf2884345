"""The alert lifecycle on a fake clock: pending → firing → resolved, repeats, silences,
inhibition, acknowledgement, and never the same notification twice (restarts included)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from runwatch.alerts.lifecycle import AlertManager, notification_id
from runwatch.alerts.silences import SilenceBook
from runwatch.alerts.store import AlertStore
from runwatch.alerts.types import Finding, Notification, RuleTiming, alert_key, make_labels
from runwatch.model import AlertState, Severity

FIRING, PENDING, RESOLVED = AlertState.FIRING, AlertState.PENDING, AlertState.RESOLVED

TIMINGS = {
    "nonfinite": RuleTiming(for_s=0.0, resolve_after_s=60.0, repeat_interval_s=3600.0),
    "stall": RuleTiming(for_s=120.0, resolve_after_s=60.0, repeat_interval_s=600.0),
    "crash": RuleTiming(for_s=0.0, resolve_after_s=300.0, repeat_interval_s=3600.0),
}


def nan_(run: str = "r1", step: int = 380, value: float = math.nan) -> Finding:
    return Finding("nonfinite", make_labels(run=run, metric="loss"), Severity.CRITICAL,
                   f"loss is NaN at step {step}", value=value, step=step, metric="loss",
                   source="train.log", context=(f"line {step}",), history=(1.0, value))


def stall(run: str = "r1", step: int = 10) -> Finding:
    return Finding("stall", make_labels(run=run), Severity.WARNING, f"no step since {step}", step=step)


def crash(run: str = "r1") -> Finding:
    return Finding("crash", make_labels(run=run), Severity.CRITICAL, "CUDA out of memory")


def key(f: Finding) -> str:
    return alert_key(f.rule, f.labels)


def states(notes: list[Notification]) -> list[tuple[str, AlertState, bool]]:
    return [(n.alert.rule, n.state, n.repeat) for n in notes]


def manager(**kw: object) -> AlertManager:
    return AlertManager(TIMINGS, **kw)  # type: ignore[arg-type]


# ── transitions ────────────────────────────────────────────────────────────

def test_for_zero_fires_at_once_and_notifies_once() -> None:
    m = manager()
    notes = m.update([nan_()], now=1000.0)
    assert states(notes) == [("nonfinite", FIRING, False)]
    n = notes[0]
    assert n.id == notification_id(key(nan_()), FIRING, "t=1000.000") == "nonfinite{metric=loss,run=r1}:firing:t=1000.000"
    assert n.alert.state == FIRING and n.alert.fired_at == 1000.0 and n.alert.last_notified == 1000.0
    assert n.payload()["state"] == "firing" and n.payload()["id"] == n.id
    assert m.update([nan_()], now=1000.0) == [], "same update twice: nothing new"
    assert m.update([nan_()], now=1010.0) == []
    assert [a.key for a in m.firing()] == [key(nan_())]


def test_pending_until_for_then_firing() -> None:
    m = manager()
    assert m.update([stall()], now=0.0) == []
    a = m.get(key(stall()))
    assert a is not None and a.state == PENDING and a.active_since == 0.0
    assert m.update([stall()], now=119.0) == []
    assert m.get(key(stall())).state == PENDING  # type: ignore[union-attr]
    notes = m.update([stall()], now=120.0)
    assert states(notes) == [("stall", FIRING, False)]
    assert notes[0].alert.active_since == 0.0 and notes[0].alert.fired_at == 120.0


def test_a_pending_alert_whose_condition_goes_away_just_disappears() -> None:
    m = manager()
    m.update([stall()], now=0.0)
    assert m.update([], now=60.0) == []
    assert m.get(key(stall())) is None and m.alerts() == []
    m.update([stall()], now=100.0)
    assert m.update([stall()], now=200.0) == [], "pending restarted at 100, for=120 not yet held"
    assert states(m.update([stall()], now=220.0)) == [("stall", FIRING, False)]


def test_resolves_after_resolve_after_and_notifies_once() -> None:
    m = manager()
    m.update([nan_()], now=0.0)
    assert m.update([], now=30.0) == []
    assert m.get(key(nan_())).state == FIRING  # type: ignore[union-attr]
    notes = m.update([], now=60.0)
    assert states(notes) == [("nonfinite", RESOLVED, False)]
    n = notes[0]
    assert n.alert.resolved_at == 60.0 and n.id == f"{key(nan_())}:resolved:t=0.000"
    assert n.payload()["ends_at"] == "1970-01-01T00:01:00Z"
    assert m.update([], now=60.0) == [] and m.update([], now=100.0) == []
    assert [a.state for a in m.alerts()] == [RESOLVED]


def test_a_fault_a_history_read_shows_cleared_resolves_once_the_history_is_read() -> None:
    """Seen while a log's history was read in (a NaN 200k steps back): the history is read in seconds of
    wall time, so resolve_after (wall time) would keep it firing for minutes after the log showed it
    cleared, where `runwatch check` says resolved. A judgement after the history that no longer finds it
    resolves it at once; one between two pieces of the history (the run still `reading`) does not."""
    m = manager()
    m.update([nan_()], now=0.0, history=True, found_in_history={key(nan_())})
    assert m.update([], now=1.0, history=True) == []  # a later piece of the same history: not yet
    assert m.update([], now=2.0, reading={"r1"}) == []  # a live tick while the history is still read
    assert m.get(key(nan_())).state == FIRING  # type: ignore[union-attr]
    assert states(m.update([], now=3.0)) == [("nonfinite", RESOLVED, False)]
    plain = manager()  # seen live: resolve_after as ever
    plain.update([nan_()], now=0.0)
    assert plain.update([], now=3.0) == [] and plain.get(key(nan_())).state == FIRING  # type: ignore[union-attr]


def test_a_fault_no_longer_found_once_a_runs_input_ended_resolves_at_once() -> None:
    """A pipe read faster than the run wrote it (`cat train.log | runwatch tail -`): an OOM fired live, the run went
    on for 37,000 steps, and at the pipe's end the crash still fired, its resolve_after (wall time) never given;
    `check` of the same log said the run went on (a review). Once the run's input ended, a judgement that no
    longer finds it resolves it at once; one that still finds it (the crash the input ended on) keeps it firing;
    another run's alert keeps its resolve_after."""
    m = manager()
    m.update([crash(), crash("r2")], now=0.0)
    assert m.update([], now=1.0) == []  # live, the input going on: resolve_after as ever
    assert states(m.update([], now=2.0, ended={"r1"})) == [("crash", RESOLVED, False)]
    assert m.get(key(crash("r2"))).state == FIRING  # type: ignore[union-attr]
    kept = manager()
    kept.update([crash()], now=0.0)
    assert kept.update([crash()], now=1.0, ended={"r1"}) == [] and kept.get(key(crash())).state == FIRING  # type: ignore[union-attr]


def test_a_fault_still_found_after_the_history_stays_firing() -> None:
    m = manager()
    m.update([nan_()], now=0.0, history=True, found_in_history={key(nan_())})
    assert m.update([nan_()], now=1.0) == []  # the live judgement finds it too (a NaN at the log's end)
    assert m.update([], now=2.0) == []  # seen live since: resolve_after again
    assert m.get(key(nan_())).state == FIRING  # type: ignore[union-attr]


def test_runwatchs_own_finding_made_during_a_history_judgement_is_of_the_present() -> None:
    """A failing thread reported in a tick that judged history (not found by judging its records) resolves
    after resolve_after as ever: resolved at once, it fired again on the next failure, twice per episode."""
    m = manager()
    m.update([crash()], now=0.0, history=True, found_in_history=set())
    assert m.update([], now=1.0) == [] and m.get(key(crash())).state == FIRING  # type: ignore[union-attr]


def test_a_resolved_summary_says_it_resolved_not_what_fired() -> None:
    """The RESOLVED line repeated the firing summary word for word (review finding 7)."""
    m = manager()
    m.update([nan_()], now=0.0)
    (n,) = m.update([], now=60.0)
    assert n.alert.summary == "cleared; was: loss is NaN at step 380"
    assert n.payload()["summary"] == n.alert.summary


def test_a_resolved_summary_comes_from_the_resolution_callback_when_it_has_words() -> None:
    m = manager()
    m.update([nan_()], now=0.0)
    asked: list[str] = []

    def resolution(a):  # type: ignore[no-untyped-def]
        asked.append(a.summary)
        return "loss is finite again at step 400"

    (n,) = m.update([], now=60.0, resolution=resolution)
    assert asked == ["loss is NaN at step 380"]  # asked once, with the alert as it fired
    assert n.alert.summary == "loss is finite again at step 400"
    assert m.get(key(nan_())).summary == n.alert.summary  # type: ignore[union-attr]  # the TUI lists the same


def test_a_flapping_condition_inside_resolve_after_stays_firing() -> None:
    m = manager()
    notes = m.update([nan_()], now=0.0)
    for t in range(10, 600, 10):
        present = (t // 10) % 3 == 0  # seen every 30 s, resolve_after is 60 s
        notes += m.update([nan_()] if present else [], now=float(t))
    assert states(notes) == [("nonfinite", FIRING, False)]
    assert m.get(key(nan_())).state == FIRING  # type: ignore[union-attr]


def test_a_finding_after_resolution_starts_a_new_episode() -> None:
    m = manager()
    m.update([nan_(step=1)], now=0.0)
    m.update([], now=60.0)
    notes = m.update([nan_(step=9)], now=100.0)
    assert states(notes) == [("nonfinite", FIRING, False)]
    assert notes[0].alert.first_step == 9 and notes[0].alert.active_since == 100.0
    assert notes[0].id.endswith(":firing:t=100.000")


def test_values_follow_the_latest_finding_and_first_step_is_kept() -> None:
    m = manager()
    m.update([nan_(step=380)], now=0.0)
    m.update([nan_(step=390, value=math.inf)], now=5.0)
    a = m.get(key(nan_()))
    assert a is not None
    assert (a.first_step, a.step, a.value, a.summary, a.context, a.last_seen) == (
        380, 390, math.inf, "loss is NaN at step 390", ("line 390",), 5.0)
    assert a.history == (1.0, math.inf) and a.active_since == 0.0


def test_a_run_that_was_not_evaluated_keeps_its_alerts() -> None:
    m = manager()
    m.update([nan_("r1"), nan_("r2")], now=0.0)
    notes = m.update([], now=100.0, evaluated=[("nonfinite", "r2")])
    assert [(n.alert.run, n.state) for n in notes] == [("r2", RESOLVED)]
    assert m.get(key(nan_("r1"))).state == FIRING  # type: ignore[union-attr]
    assert m.get(key(nan_("r2"))).state == RESOLVED  # type: ignore[union-attr]
    m.update([stall("r3")], now=100.0, evaluated=[])
    assert m.update([], now=130.0, evaluated=[("nonfinite", "r3")]) == []
    assert m.get(key(stall("r3"))).state == PENDING, "stall of r3 not evaluated: still pending"  # type: ignore[union-attr]


# ── repeats and acknowledgement ────────────────────────────────────────────

def test_repeats_every_repeat_interval_while_firing() -> None:
    m = manager()
    m.update([stall()], now=0.0)
    m.update([stall()], now=120.0)
    assert m.update([stall()], now=719.0) == []
    notes = m.update([stall()], now=720.0)
    assert states(notes) == [("stall", FIRING, True)]
    assert notes[0].id == f"{key(stall())}:firing:t=0.000:repeat:720.000"
    assert notes[0].payload()["repeat"] is True
    assert m.update([stall()], now=720.0) == []
    assert m.update([stall()], now=1300.0) == []
    assert states(m.update([stall()], now=1320.0)) == [("stall", FIRING, True)]


def test_ack_stops_repeats_but_not_the_resolution() -> None:
    m = manager()
    m.update([stall()], now=0.0)
    m.update([stall()], now=120.0)
    assert m.ack(key(stall())) is True
    assert m.get(key(stall())).acknowledged  # type: ignore[union-attr]
    assert m.update([stall()], now=5000.0) == []
    notes = m.update([], now=5060.0)
    assert states(notes) == [("stall", RESOLVED, False)]
    assert m.ack(key(stall())) is False, "resolved alerts cannot be acknowledged"
    assert m.ack("nothing{run=x}") is False
    m.update([stall()], now=6000.0)
    assert not m.get(key(stall())).acknowledged, "a new episode starts unacknowledged"  # type: ignore[union-attr]


# ── never twice, across restarts ───────────────────────────────────────────

def test_a_restarted_manager_sends_nothing_already_sent(tmp_path: Path) -> None:
    m1 = manager(store=AlertStore(tmp_path))
    m1.update([stall()], now=0.0)
    assert states(m1.update([stall()], now=120.0)) == [("stall", FIRING, False)]

    m2 = manager(store=AlertStore(tmp_path))  # the daemon restarted
    assert m2.get(key(stall())).state == FIRING  # type: ignore[union-attr]
    assert m2.update([stall()], now=120.0) == [], "same tick replayed"
    assert m2.update([stall()], now=300.0) == []
    notes = m2.update([stall()], now=720.0)
    assert states(notes) == [("stall", FIRING, True)], "repeat timing continued from the first daemon"

    m3 = manager(store=AlertStore(tmp_path))
    assert m3.update([stall()], now=720.0) == []
    assert states(m3.update([], now=780.0)) == [("stall", RESOLVED, False)]
    m4 = manager(store=AlertStore(tmp_path))
    assert m4.update([], now=790.0) == []


def test_a_restart_mid_pending_keeps_the_pending_clock(tmp_path: Path) -> None:
    m1 = manager(store=AlertStore(tmp_path))
    m1.update([stall()], now=0.0)
    m2 = manager(store=AlertStore(tmp_path))
    assert states(m2.update([stall()], now=120.0)) == [("stall", FIRING, False)]


def test_sent_ids_alone_prevent_a_resend(tmp_path: Path) -> None:
    """Even if an alert's own record were lost, the remembered id stops the duplicate."""
    store = AlertStore(tmp_path)
    store.save_alerts([], [notification_id(key(nan_()), FIRING, "t=50.000")])
    m = manager(store=store)
    assert m.update([nan_()], now=50.0) == []


def test_alert_judged_again_at_another_time_keeps_its_id() -> None:
    """Issue 11: a restarted daemon that judged the same NaN again fired it under a new id (the time it
    noticed it). The id is the rule, labels and the step where the condition began: a receiver can dedupe."""
    first = manager(step_rules={"nonfinite"}).update([nan_()], now=1000.0)
    again = manager(step_rules={"nonfinite"}).update([nan_()], now=5000.0)
    assert [n.id for n in first] == [n.id for n in again] == ["nonfinite{metric=loss,run=r1}:firing:step=380"]
    m = manager(step_rules={"nonfinite"})
    m.update([nan_()], now=1000.0)
    (resolved,) = m.update([], now=2000.0)
    assert resolved.id == "nonfinite{metric=loss,run=r1}:resolved:step=380"


def test_alert_of_a_rule_about_the_present_takes_the_time_its_condition_was_first_seen() -> None:
    m = manager(step_rules={"nonfinite"})
    m.update([crash()], now=100.0)
    assert [n.id for n in m.update([crash()], now=101.0)] == []
    assert m.update([crash()], now=100.0) == []
    assert manager().update([crash()], now=100.0)[0].id == "crash{run=r1}:firing:t=100.000"


def test_last_seen_only_changes_are_saved_at_most_every_save_interval(tmp_path: Path) -> None:
    store = AlertStore(tmp_path)
    m = manager(store=store, save_interval_s=30.0)
    m.update([nan_()], now=0.0)
    m.update([nan_()], now=10.0)
    assert store.load_alerts()[0][0].last_seen == 0.0
    m.update([nan_()], now=40.0)
    assert store.load_alerts()[0][0].last_seen == 40.0
    m.update([nan_()], now=45.0)
    assert m.save()
    assert store.load_alerts()[0][0].last_seen == 45.0


# ── silences ───────────────────────────────────────────────────────────────

def test_silenced_before_it_fires_then_notified_when_the_silence_ends() -> None:
    book = SilenceBook()
    s = book.add("nonfinite", {"run": "r1"}, 600.0, now=0.0)
    m = manager(silences=book)
    assert m.update([nan_()], now=10.0) == []
    a = m.get(key(nan_()))
    assert a is not None and a.state == FIRING and a.silenced_by == s.id and a.muted
    assert m.update([nan_()], now=599.0) == []
    notes = m.update([nan_()], now=600.0)
    assert states(notes) == [("nonfinite", FIRING, False)], "still firing when the silence ended"
    assert notes[0].alert.silenced_by is None and notes[0].id.endswith(":firing:t=10.000")


def test_silenced_the_whole_episode_sends_nothing_at_all() -> None:
    book = SilenceBook()
    book.add(None, {"run": "r1"}, 600.0, now=0.0)
    m = manager(silences=book)
    m.update([nan_()], now=10.0)
    assert m.update([], now=100.0) == []
    assert m.get(key(nan_())).state == RESOLVED  # type: ignore[union-attr]
    assert m.update([], now=700.0) == [], "never told it fired, so no resolved either"


def test_silence_during_firing_mutes_repeats_and_withholds_resolved_until_it_ends() -> None:
    book = SilenceBook()
    m = manager(silences=book)
    m.update([stall()], now=0.0)
    assert states(m.update([stall()], now=120.0)) == [("stall", FIRING, False)]
    s = book.add("stall", {"run": "r1"}, 1000.0, now=200.0)
    assert m.update([stall()], now=720.0) == [], "repeat muted"
    assert m.update([], now=800.0) == [], "resolved while silenced: withheld"
    assert m.get(key(stall())).state == RESOLVED  # type: ignore[union-attr]
    book.expire(s.id, now=900.0)
    assert states(m.update([], now=900.0)) == [("stall", RESOLVED, False)]
    assert m.update([], now=901.0) == []


def test_a_silence_still_firing_at_its_end_resumes_repeats() -> None:
    book = SilenceBook()
    m = manager(silences=book)
    m.update([stall()], now=0.0)
    m.update([stall()], now=120.0)
    book.add("stall", {}, 1000.0, now=200.0)
    assert m.update([stall()], now=1100.0) == []
    assert states(m.update([stall()], now=1200.0)) == [("stall", FIRING, True)]


def test_an_expired_or_unrelated_silence_does_not_mute() -> None:
    book = SilenceBook()
    book.add("nonfinite", {"run": "r1"}, 10.0, now=0.0)
    book.add("nonfinite", {"run": "r2"}, 1000.0, now=0.0)
    book.add("stall", {"run": "r1"}, 1000.0, now=0.0)
    m = manager(silences=book)
    assert states(m.update([nan_("r1")], now=50.0)) == [("nonfinite", FIRING, False)]


def test_the_manager_picks_up_a_silence_the_cli_wrote(tmp_path: Path) -> None:
    m = manager(store=AlertStore(tmp_path))
    SilenceBook(AlertStore(tmp_path)).add("nonfinite", {}, 100.0, now=0.0)
    assert m.update([nan_()], now=10.0) == []
    assert m.get(key(nan_())).silenced_by is not None  # type: ignore[union-attr]


# ── inhibition ─────────────────────────────────────────────────────────────

def test_a_crash_inhibits_the_stall_of_the_same_run() -> None:
    m = manager()
    m.update([stall("r1"), stall("r2")], now=0.0)
    assert len(m.update([stall("r1"), stall("r2")], now=120.0)) == 2
    notes = m.update([stall("r1"), stall("r2"), crash("r1")], now=130.0)
    assert states(notes) == [("crash", FIRING, False)]
    a = m.get(key(stall("r1")))
    assert a is not None and a.state == FIRING and a.inhibited_by == key(crash("r1"))
    assert m.get(key(stall("r2"))).inhibited_by is None  # type: ignore[union-attr]
    notes = m.update([stall("r1"), stall("r2"), crash("r1")], now=720.0)
    assert [(n.alert.run, n.alert.rule) for n in notes] == [("r2", "stall")], "r1's repeat inhibited"


def test_a_stall_that_fires_under_a_crash_is_told_only_if_it_outlives_it() -> None:
    m = manager()
    assert states(m.update([crash(), stall()], now=0.0)) == [("crash", FIRING, False)]
    assert m.update([crash(), stall()], now=120.0) == [], "stall fired, but inhibited"
    assert m.get(key(stall())).state == FIRING  # type: ignore[union-attr]
    assert m.update([stall()], now=200.0) == [], "crash not seen, but not resolved yet (300 s)"
    notes = m.update([stall()], now=420.0)
    assert states(notes) == [("crash", RESOLVED, False), ("stall", FIRING, False)]


def test_a_stall_told_firing_is_told_resolved_while_a_crash_inhibits_it() -> None:
    """A new user's review: the RESOLVED of a stall told firing was held back while the run's crash (or
    exit) fired, which for a run that is over is for ever: the receiver showed the stall firing. An
    inhibition holds back FIRING and its repeats only."""
    m = manager()
    m.update([stall()], now=0.0)
    assert states(m.update([stall()], now=120.0)) == [("stall", FIRING, False)]
    assert states(m.update([stall(), crash()], now=130.0)) == [("crash", FIRING, False)]
    assert m.update([crash()], now=189.0) == [], "the stall not seen for 60 s yet"
    notes = m.update([crash()], now=190.0)
    assert states(notes) == [("stall", RESOLVED, False)]
    assert notes[0].alert.inhibited_by == key(crash())
    assert m.update([crash()], now=191.0) == []


def test_a_pending_crash_does_not_inhibit() -> None:
    slow_crash = dict(TIMINGS, crash=RuleTiming(for_s=60.0))
    m = AlertManager(slow_crash)
    m.update([stall()], now=0.0)
    m.update([crash(), stall()], now=100.0)
    assert states(m.update([crash(), stall()], now=120.0)) == [("stall", FIRING, False)]


def test_no_inhibitions_when_none_configured() -> None:
    m = manager(inhibitions=())
    assert len(m.update([crash(), stall(), nan_()], now=0.0)) == 2
    assert len(m.update([crash(), stall(), nan_()], now=120.0)) == 1


# ── the list ───────────────────────────────────────────────────────────────

def test_alerts_lists_firing_first_and_forgets_resolved_after_an_hour() -> None:
    m = manager()
    m.update([nan_("r1"), stall("r1")], now=0.0)
    m.update([nan_("r2"), stall("r1")], now=10.0)
    assert [(a.run, a.state) for a in m.alerts()] == [("r1", FIRING), ("r2", FIRING), ("r1", PENDING)]
    m.update([stall("r1")], now=100.0)
    assert [(a.rule, a.state) for a in m.alerts()] == [("stall", PENDING), ("nonfinite", RESOLVED),
                                                      ("nonfinite", RESOLVED)]
    m.update([stall("r1")], now=100.0 + 3600.0)
    assert len(m.alerts()) == 3, "kept for an hour"
    m.update([stall("r1")], now=101.0 + 3600.0)
    assert [(a.rule, a.state) for a in m.alerts()] == [("stall", FIRING)]


def test_resolved_alerts_are_bounded() -> None:
    m = manager(max_resolved=3)
    m.update([nan_(f"r{i}") for i in range(10)], now=0.0)
    m.update([], now=100.0)
    assert len(m.alerts()) == 3


def test_an_unknown_rule_uses_default_timing() -> None:
    m = manager()
    f = Finding("disk_low", make_labels(run="r1"), Severity.WARNING, "disk 97% full")
    assert states(m.update([f], now=0.0)) == [("disk_low", FIRING, False)]
    m.set_timings({"disk_low": RuleTiming(for_s=10.0, resolve_after_s=5.0)})
    assert states(m.update([], now=5.0)) == [("disk_low", RESOLVED, False)]


def _at(f: Callable[..., Finding], run: str, step: int) -> Finding:
    """Finding `f` of `run` whose condition began at `step` (crash findings carry none)."""
    return f(run, step=step) if f is not crash else f(run)


@pytest.mark.parametrize("save_every", [0.0, 30.0])
def test_a_long_random_walk_never_sends_an_id_twice(tmp_path: Path, save_every: float,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import random

    monkeypatch.setattr(os, "fsync", lambda fd: None)  # durability is not what this test is about
    rng = random.Random(7)
    sent: list[str] = []
    m = manager(store=AlertStore(tmp_path), save_interval_s=save_every)
    book = m.silences
    on = {(f, run): False for f in (nan_, stall, crash) for run in ("r1", "r2")}
    episode = dict.fromkeys(on, 0)  # a new episode starts at a later step, as in a real run
    for t in range(0, 10000, 7):
        if rng.random() < 0.01:
            m = manager(store=AlertStore(tmp_path), save_interval_s=save_every)  # restart
            book = m.silences
        if rng.random() < 0.005:
            book.add(rng.choice(["stall", None]), {"run": rng.choice(["r1", "r2"])}, 500.0, float(t))
        for pair in on:
            if rng.random() < 0.03:
                on[pair] = not on[pair]  # episodes; within them the condition flickers
                episode[pair] += 1
        fs = [_at(f, run, episode[(f, run)] * 1000 + t // 7000) for (f, run), live in on.items()
              if rng.random() < (0.85 if live else 0.03)]
        sent += [n.id for n in m.update(fs, now=float(t))]
    assert len(sent) == len(set(sent)) > 50
    assert any(":repeat:" in s for s in sent) and sum(":resolved:" in s for s in sent) > 20
