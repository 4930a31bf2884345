"""`runwatch.alerting`: sinks built from config name the file and key; rules say what resolved them."""

from __future__ import annotations

from pathlib import Path

import pytest

from runwatch.alerting import AlertFlags, Alerting, build_sinks
from runwatch.alerts.sinks import SinkConfigError
from runwatch.alerts.types import Notification
from runwatch.config import load_config
from runwatch.model import AlertState, RunState
from runwatch.supervise import Supervisor
from tests.support.rule_replay import feed, step


def test_an_unset_webhook_variable_names_the_file_and_key(tmp_path: Path) -> None:
    """It said "slack sink 'slack': environment variable NOPE_UNSET is not set" (review finding 5)."""
    cfg = tmp_path / "cfg.toml"
    cfg.write_text('[[sinks]]\ntype = "command"\nrun = ["true"]\n\n'
                   '[[sinks]]\ntype = "slack"\nwebhook_url_env = "NOPE_UNSET"\n')
    config = load_config(cfg)
    with pytest.raises(SinkConfigError) as e:
        build_sinks(config.sinks, environ={})
    assert str(e.value).startswith(f"{cfg}: sinks[1].webhook_url_env: environment variable NOPE_UNSET is not set")


def test_an_unset_variable_given_by_flag_names_the_flag() -> None:
    with pytest.raises(SinkConfigError) as e:
        build_sinks(AlertFlags(slack_webhook_env="NOPE_UNSET").sink_configs(), environ={"NOPE_UNSET": " "})
    assert str(e.value).startswith("--slack-webhook-env NOPE_UNSET: environment variable NOPE_UNSET is not set")


def test_other_sink_errors_name_the_table_too(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg.toml"
    cfg.write_text('[[sinks]]\ntype = "webhook"\nwebhook_url_env = "HOOK"\n')
    with pytest.raises(SinkConfigError) as e:
        build_sinks(load_config(cfg).sinks, environ={"HOOK": "ftp://example.com/x"})
    assert str(e.value).startswith(f"{cfg}: sinks[0]: ") and "http" in str(e.value)


def test_a_set_variable_builds_the_sink() -> None:
    (sink,) = build_sinks(AlertFlags(slack_webhook_env="HOOK").sink_configs(),
                          environ={"HOOK": "http://127.0.0.1:9/hook"})
    assert sink.name == "slack"


def test_a_bad_alertmanager_url_names_the_file_and_key_not_the_url(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg.toml"
    cfg.write_text('[[sinks]]\ntype = "alertmanager"\nurls = ["http://am1:9093", "http://ops:hunter22@am2:port"]\n')
    with pytest.raises(SinkConfigError) as e:
        build_sinks(load_config(cfg).sinks, environ={})
    assert str(e.value).startswith(f"{cfg}: sinks[0].urls: alertmanager sink 'alertmanager': urls[1] is not a valid URL")
    assert "hunter22" not in str(e.value)


def test_the_alertmanager_flag_makes_one_sink_for_every_member() -> None:
    (sink,) = build_sinks(AlertFlags(alertmanager=("http://127.0.0.1:9", "http://127.0.0.1:10")).sink_configs())
    assert sink.name == "alertmanager" and "members=2" in repr(sink)
    with pytest.raises(SinkConfigError, match=r"^--alertmanager: alertmanager sink 'alertmanager': urls\[0\] has no"):
        build_sinks(AlertFlags(alertmanager=("http://",)).sink_configs())


def test_a_resolved_stall_says_which_step_ended_it() -> None:
    """The RESOLVED line repeated "no new step for …" (review finding 7): the rule now says what ended it."""
    config = load_config(None, overrides=["stall.after=1.5s", "stall.resolve_after=1s"])
    alerting = Alerting(config, persist=False)
    tracker, last = feed([step(i, loss=2.0) for i in range(50)], dt=0.05)
    fired = [n for n in alerting.tick([(tracker, None, [])], last + 2.0) if n.alert.rule == "stall"]
    assert [(n.state, n.alert.summary) for n in fired] == [
        (AlertState.FIRING, "no new step for 2s (last step 49; expected one within 1.5s)")]
    assert fired[0].payload()["value"] == 2.0
    feed([step(50, loss=2.0)], tracker=tracker, start=last + 7.0)
    resolved = [n for n in alerting.tick([(tracker, None, [])], last + 7.1) if n.alert.rule == "stall"]
    assert [(n.state, n.alert.summary) for n in resolved] == [
        (AlertState.RESOLVED, "stall over: step 50 arrived after 7s")]
    alerting.stop()


def test_by_default_a_stall_resolves_at_the_first_tick_after_a_step_came() -> None:
    """A review watched a stall read FIRING for a minute over a run that was stepping again: a step is the
    stall's end, so its default `resolve_after` is nothing (a new stall still needs `after` of silence)."""
    alerting = Alerting(load_config(None, overrides=["stall.after=1.5s"]), persist=False)
    tracker, last = feed([step(i, loss=2.0) for i in range(50)], dt=0.05)
    fired = [n.state for n in alerting.tick([(tracker, None, [])], last + 2.0) if n.alert.rule == "stall"]
    assert fired == [AlertState.FIRING]
    feed([step(50, loss=2.0)], tracker=tracker, start=last + 7.0)
    resolved = [n.state for n in alerting.tick([(tracker, None, [])], last + 7.1) if n.alert.rule == "stall"]
    assert resolved == [AlertState.RESOLVED]
    alerting.stop()


def test_a_slowdown_that_became_the_baseline_resolves_saying_it_is_still_slow() -> None:
    """A lasting slowdown becomes the drift rule's baseline and resolves (speed.py): its RESOLVED says the run
    is still slow, not that it recovered."""
    config = load_config(None, overrides=["step_time_drift.resolve_after=1s", "step_time_drift.baseline=100",
                                          "step_time_drift.recent=20"])
    alerting = Alerting(config, persist=False)
    steps = [step(i, loss=2.0, step_time=0.05 if i < 120 else 0.5) for i in range(400)]
    notes: list[Notification] = []
    tracker, last = feed(steps[:120], dt=0.05)
    tracker, last = feed(steps[120:130], tracker=tracker, start=last + 0.5, dt=0.5)
    notes += alerting.tick([(tracker, None, [])], last)
    for i in range(130, 400, 10):  # they arrive as slowly as they say
        tracker, last = feed(steps[i : i + 10], tracker=tracker, start=last + 0.5, dt=0.5)
        notes += alerting.tick([(tracker, None, [])], last + 0.01)
    drift = [(n.state, n.alert.summary) for n in notes if n.alert.rule == "step_time_drift"]
    assert drift[0][0] == AlertState.FIRING and drift[0][1].startswith("steps take 0.5 s, 10× the 0.05 s before")
    assert drift[-1] == (AlertState.RESOLVED, "still slow: steps take 0.5 s, past the 0.075 s it fired at; the "
                                              "slower pace is now the baseline it compares with")
    alerting.stop()


def test_a_briefs_badge_comes_from_its_rule_not_its_name() -> None:
    """The engine read `"stall" in firing`: a rule now declares what its firing says of the run."""
    config = load_config(None, overrides=["stall.after=1.5s"])
    alerting = Alerting(config, persist=False)
    tracker, last = feed([step(i, loss=2.0) for i in range(50)], dt=0.05)
    alerting.tick([(tracker, None, [])], last + 2.0)
    briefs = {b.rule: b for b in alerting.briefs(tracker.run)}
    assert briefs["stall"].state == AlertState.FIRING
    assert (briefs["stall"].badge, briefs["stall"].lagging_rank) == (RunState.STALLED, False)
    assert "badge" not in briefs["stall"].to_json()  # the status JSON's `alerts` are unchanged
    alerting.stop()


def test_runwatchs_own_failure_fires_at_once_and_resolves_after_five_quiet_minutes() -> None:
    """runwatch_internal goes through the lifecycle: it fired and never resolved, so an Alertmanager kept a
    thread that failed once, at start-up, red for the daemon's whole life."""
    clock = [1000.0]
    supervisor = Supervisor(clock=lambda: clock[0])
    alerting = Alerting(load_config(None), persist=False)
    alerting.start(supervisor)
    supervisor.on_failure = lambda f: sent.extend(alerting.internal_failure(f))
    sent: list[Notification] = []
    supervisor.failed("runwatch-engine", OverflowError("int too large to convert to float"))
    assert [(n.state, n.alert.labels) for n in sent] == [(AlertState.FIRING, (("thread", "runwatch-engine"),))]
    episode = sent[0].id  # the episode's start is in it: a receiver pairs the resolution with it

    def tick(at: float) -> list[Notification]:
        clock[0] = at
        return alerting.tick([], at)

    assert tick(1200.0) == []
    clock[0] = 1250.0
    supervisor.failed("runwatch-engine", OverflowError("again"))  # not reported by the supervisor: the tick sees it
    assert sent[1:] == []
    assert tick(1260.0) == [] and tick(1500.0) == []  # 250 s since the second failure: still firing
    resolved = tick(1561.0)
    assert [(n.state, n.id) for n in resolved] == [(AlertState.RESOLVED, episode.replace(":firing:", ":resolved:"))]


def test_every_tick_tells_the_alertmanager_sink_which_alerts_still_fire() -> None:
    """What the lifecycle no longer has firing (its "resolved" held back by a silence, or gone) is not re-sent."""
    from runwatch.alerts.sinks import AlertmanagerSink
    from tests.support.alerts import make_alert

    sink = AlertmanagerSink("am", urls=["http://127.0.0.1:9"])
    sink.resume([make_alert()])
    alerting = Alerting(load_config(None), sinks=[sink], persist=False)
    assert list(sink.active()) == [make_alert().key]
    alerting.tick([], 1_800_000_000.0)  # the lifecycle has nothing firing
    assert sink.active() == {}


def test_a_restarted_daemon_keeps_re_sending_the_alerts_it_told_alertmanager_of(tmp_path: Path) -> None:
    """Alertmanager resolves an alert nobody says again: the firing alerts in the state dir (notified before
    the restart, so the lifecycle sends them no more) go to the Alertmanager sink's refresh."""
    from runwatch.alerts.sinks import AlertmanagerSink
    from runwatch.alerts.store import AlertStore, StateDir
    from tests.support.alerts import make_alert
    from tests.support.receiver import Receiver
    from tests.support.waiting import wait_for

    told = make_alert(last_notified=1.0)
    AlertStore(StateDir(tmp_path)).save_alerts([told, make_alert(rule="stall")], sent=[])  # the stall: never told
    receiver = Receiver()
    sink = AlertmanagerSink("am", urls=[f"http://127.0.0.1:{receiver.port}"], resend_interval=0.1)
    alerting = Alerting(load_config(None), sinks=[sink], state_dir=tmp_path)
    try:
        alerting.start()
        wait_for(lambda: receiver.delivered, timeout=30)
    finally:
        alerting.stop(1.0)
        receiver.stop()
    assert {a["labels"]["alertname"] for body in receiver.delivered for a in body} == {"nonfinite"}


def test_a_stall_told_firing_is_told_resolved_though_the_runs_crash_inhibits_it_by_then() -> None:
    """A new user's review: a stall fired, steps came back, and the run crashed before the stall's
    `resolve_after` had passed; the crash (firing for good: the run is over) inhibited the stall, and its
    RESOLVED was held back for ever, so the webhook (and line mode) showed the stall firing. The real
    nanoGPT run that raised at step 300, paused 100 s at step 200, to a real webhook receiver on
    127.0.0.1: the stall's RESOLVED goes out, inhibited or not."""
    from runwatch.alerts.sinks import WebhookSink
    from runwatch.parsers.source import SourceParser
    from runwatch.present import alert_line
    from tests.support.paths import FIXTURES
    from tests.support.receiver import Receiver
    from tests.support.waiting import wait_for

    lines = (FIXTURES / "realruns/nanogpt-tb-raise/run/train.log").read_text().splitlines()
    parser = SourceParser("train.log")
    recs = parser.feed(lines, 0, 0.0) + parser.flush()
    pause = next(i for i, r in enumerate(recs) if r.step == 200)
    receiver = Receiver()
    config = load_config(None, overrides=["stall.after=30s", "stall.for=0s", "stall.resolve_after=60s"])
    alerting = Alerting(config, sinks=[WebhookSink("hook", url=receiver.url)], persist=False)
    alerting.start()
    notes: list[Notification] = []
    try:
        tracker, last = feed(recs[:pause], dt=0.05)
        notes += alerting.tick([(tracker, None, [])], last + 100.0)  # the pause: the stall fires
        tracker, last = feed(recs[pause:], dt=0.05, tracker=tracker, start=last + 100.0)  # resumed, then raised
        for at in range(1, 121, 1):
            notes += alerting.tick([(tracker, None, [])], last + at)
        wait_for(lambda: len(receiver.delivered) >= len(notes), timeout=30)
    finally:
        alerting.stop(3.0)
        receiver.stop()
    told = [(n.alert.rule, n.state) for n in notes]
    assert told == [("stall", AlertState.FIRING), ("crash", AlertState.FIRING), ("stall", AlertState.RESOLVED)]
    assert [(b["rule"], b["state"]) for b in receiver.delivered] == [
        ("stall", "firing"), ("crash", "firing"), ("stall", "resolved")]
    assert notes[-1].alert.inhibited_by is not None  # said though the crash mutes it
    assert "RESOLVED critical stall: stall over: step 200 arrived" in alert_line(notes[-1])  # line mode


def test_what_a_run_still_reading_its_histories_showed_goes_once_all_is_read(tmp_path: Path) -> None:
    """`tail` of a Paddle run's four worker logs read them in any order; judged between two of them, the crash
    was named by the ranks read so far (rank 0, say), and once all were read by rank 2: a second alert,
    both firing for a minute. What a run showed while its histories were still read in goes once a
    judgement of all of them no longer finds it, as a history's own findings do."""
    from runwatch.commands.parse import records_of
    from tests.alerts.rules.test_crash import ibot_paddle_log

    logs = sorted(ibot_paddle_log(tmp_path).iterdir())
    alerting = Alerting(load_config(None), persist=False)
    partial, now = feed([r for log in logs[:2] for r in records_of(log, None, None)])
    alerting.tick([(partial, None, [])], now + 30.0, reading={partial.run})  # quiet since: crashed
    assert [(a.labels, a.state) for a in alerting.manager.alerts()] == [
        ((("event", "traceback"), ("rank", 0), ("run", "train")), AlertState.FIRING)]
    whole, now = feed([r for log in logs for r in records_of(log, None, None)], start=now + 31.0, dt=0.01)
    alerting.tick([(whole, None, [])], now + 15.0)  # well within the minute a crash alert takes to resolve
    assert sorted((dict(a.labels)["rank"], a.state) for a in alerting.manager.alerts()) == [
        (0, AlertState.RESOLVED), (2, AlertState.FIRING)]
