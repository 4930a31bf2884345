"""Config: a good file, every kind of error naming file and key, `--rule` overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from runwatch.alerts.sinks import CommandSink, FileSink, SlackSink, TerminalSink
from runwatch.alerts.types import RuleTiming
from runwatch.config import Config, ConfigError, SinkConfig, WatchConfig, load_config
from runwatch.model import Severity
from runwatch.serve.address import ListenAddress


def duration(default: float) -> Any:
    return field(default=default, metadata={"duration": True})


@dataclass(frozen=True)
class BaseParams:
    enabled: bool = True
    severity: Severity | None = None
    for_s: float = duration(0.0)
    resolve_after_s: float = duration(300.0)
    repeat_interval_s: float = duration(14400.0)


@dataclass(frozen=True)
class StallParams(BaseParams):
    after: float = duration(600.0)
    factor: float = 10.0
    window: int = 512
    eval_metrics: tuple[str, ...] = ("val_loss",)


@dataclass(frozen=True)
class SpikeParams(BaseParams):
    metric: str = "loss"
    z: float = 6.0

    def __post_init__(self) -> None:
        if self.z == 0:
            raise ValueError("z must be > 0")


class FakeStall:
    id = "stall"
    default_severity = Severity.CRITICAL
    Params = StallParams


class FakeSpike:
    id = "loss_spike"
    default_severity = Severity.WARNING
    Params = SpikeParams


FAKE = {"stall": FakeStall, "loss_spike": FakeSpike}


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "runwatch.toml"
    p.write_text(text)
    return p


def load(tmp_path: Path, text: str, **kw: Any) -> Config:
    return load_config(write(tmp_path, text), registry=FAKE, **kw)


def error(tmp_path: Path, text: str, **kw: Any) -> str:
    with pytest.raises(ConfigError) as e:
        load(tmp_path, text, **kw)
    return str(e.value)


GOOD = """
[rules.stall]
after = "10m"
for = "30s"
resolve_after = "2m"
repeat_interval = "1h30m"
eval_metrics = ["val_loss", "val_bpb"]
window = 100
factor = 4

[rules.loss_spike]
enabled = false
severity = "critical"
metric = "val_loss"

[[sinks]]
type = "slack"
webhook_url_env = "SLACK_WEBHOOK_URL"
min_severity = "critical"
rules = ["stall"]
timeout = "5s"

[[sinks]]
type = "command"
run = ["notify-send", "runwatch"]
send_resolved = false

[[sinks]]
type = "file"
path = "alerts.jsonl"

[[sinks]]
type = "webhook"
name = "pager"
webhook_url_env = "PAGER_URL"

[[sinks]]
type = "terminal"

[state]
dir = "~/rw-state"

[watch]
interval = "30s"
poll = true
poll_interval = "2s"
"""


def test_a_good_file(tmp_path: Path) -> None:
    cfg = load(tmp_path, GOOD)
    assert cfg.path == tmp_path / "runwatch.toml"
    stall = cfg.rule_params["stall"]
    assert stall == StallParams(after=600.0, for_s=30.0, resolve_after_s=120.0, repeat_interval_s=5400.0,
                                eval_metrics=("val_loss", "val_bpb"), window=100, factor=4.0)
    assert isinstance(stall.factor, float) and isinstance(stall.window, int)
    spike = cfg.rule_params["loss_spike"]
    assert spike == SpikeParams(enabled=False, severity=Severity.CRITICAL, metric="val_loss")
    assert cfg.enabled() == ["stall"]
    assert cfg.timings() == {"stall": RuleTiming(30.0, 120.0, 5400.0), "loss_spike": RuleTiming(0.0, 300.0, 14400.0)}
    slack, command, file, webhook, terminal = cfg.sinks
    assert slack == SinkConfig("slack", min_severity=Severity.CRITICAL, rules=("stall",),
                               settings=SlackSink.Settings(webhook_url_env="SLACK_WEBHOOK_URL", timeout=5.0))
    assert command == SinkConfig("command", send_resolved=False,
                                 settings=CommandSink.Settings(run=("notify-send", "runwatch")))
    assert file.settings.path == tmp_path / "alerts.jsonl", "relative to the config file"
    assert webhook.name == "pager" and webhook.settings.webhook_url_env == "PAGER_URL"
    assert terminal == SinkConfig("terminal", settings=TerminalSink.Settings())
    assert cfg.state_dir == Path.home() / "rw-state"
    assert cfg.watch == WatchConfig(interval=30.0, poll=True, poll_interval=2.0)


def test_sinks_know_where_they_were_set_for_later_errors(tmp_path: Path) -> None:
    slack, command, *_ = load(tmp_path, GOOD).sinks
    assert slack.where("webhook_url_env") == f"{tmp_path / 'runwatch.toml'}: sinks[0].webhook_url_env"
    assert command.where() == f"{tmp_path / 'runwatch.toml'}: sinks[1]"
    assert "origin" not in repr(slack.settings)


@pytest.mark.parametrize(("listen", "want"), [('":9464"', ListenAddress("127.0.0.1", 9464)), ("9464", ListenAddress("127.0.0.1", 9464)),
                                            ('"0.0.0.0:9100"', ListenAddress("0.0.0.0", 9100))])
def test_watch_listen_and_textfile(tmp_path: Path, listen: str, want: ListenAddress) -> None:
    """`[watch] listen` (a bare port means loopback) and `textfile` (relative to the config's directory)."""
    cfg = load(tmp_path, f'[watch]\nlisten = {listen}\ntextfile = "metrics/runwatch.prom"\n')
    assert cfg.watch.listen == want and cfg.watch.textfile == tmp_path / "metrics/runwatch.prom"


def test_an_unset_watch_table_leaves_the_command_defaults() -> None:
    """`[watch]` was parsed and ignored (review finding 1); unset keys must not impose 10s on the daemon."""
    assert WatchConfig() == WatchConfig(interval=None, poll=None, poll_interval=None)


@pytest.mark.parametrize("value", ["-5", "-2.5", "nan", "-inf"])
def test_a_bad_bare_number_duration_gets_no_invalid_suggestion(tmp_path: Path, value: str) -> None:
    """`after = -5` suggested "-5s", itself refused as negative (review finding 9)."""
    msg = error(tmp_path, f"[rules.stall]\nafter = {value}")
    assert f'"{value}s"' not in msg and f"{value}s" not in msg
    assert 'like "30s"' in msg
    if value.startswith("-"):
        assert f"rules.stall.after: a duration cannot be negative: {value}" in msg


def test_a_suggested_duration_is_itself_accepted(tmp_path: Path) -> None:
    msg = error(tmp_path, "[rules.stall]\nafter = 2.5")
    suggested = msg.split('write "')[1].split('"')[0]
    assert suggested == "2.5s"
    assert load(tmp_path, f'[rules.stall]\nafter = "{suggested}"').rule_params["stall"].after == 2.5


def test_sink_settings_are_the_sink_types_own_declarations(tmp_path: Path) -> None:
    """One description per sink type: the config reader fills the class's own `Settings`."""
    slack, command, file, *_ = load(tmp_path, GOOD).sinks
    assert type(slack.settings) is SlackSink.Settings and slack.settings.timeout == 5.0
    assert command.settings.timeout == 30.0 and command.settings.attempts == 3, "the class's defaults"
    assert type(file.settings) is FileSink.Settings and file.settings.fsync is False


def test_an_alertmanager_sink_takes_its_urls_and_resend_interval(tmp_path: Path) -> None:
    (am,) = load(tmp_path, '[[sinks]]\ntype = "alertmanager"\nurls = ["http://am1:9093", "http://am2:9093"]\n'
                           'resend_interval = "30s"\ngenerator_url = "http://node1:9464/"').sinks
    assert am.type == "alertmanager"
    assert am.settings.urls == ("http://am1:9093", "http://am2:9093") and am.settings.resend_interval == 30.0
    assert am.settings.generator_url == "http://node1:9464/" and am.settings.timeout == 10.0


def test_a_required_sink_setting_is_named_with_its_doc(tmp_path: Path) -> None:
    msg = error(tmp_path, '[[sinks]]\ntype = "file"')
    assert "sinks[0].path: required for a file sink: JSON lines are appended here" in msg


def test_a_flag_only_setting_is_no_config_key(tmp_path: Path) -> None:
    """`webhook_url` is the --webhook flag's: in a file it is refused as a secret."""
    msg = error(tmp_path, '[[sinks]]\ntype = "webhook"\nwebhook_url_env = "X"\nwebhook_url = "http://x"')
    assert "secrets never go in the config file" in msg


def test_no_file_means_defaults() -> None:
    cfg = load_config(None, registry=FAKE)
    assert cfg == Config.default(registry=FAKE)
    assert cfg.rule_params == {"stall": StallParams(), "loss_spike": SpikeParams()}
    assert cfg.sinks == () and cfg.state_dir is None and cfg.watch == WatchConfig() and cfg.path is None


def test_an_empty_file_means_defaults(tmp_path: Path) -> None:
    assert load(tmp_path, "").rule_params == Config.default(registry=FAKE).rule_params


# ── errors name the file and the key ───────────────────────────────────────

@pytest.mark.parametrize(("text", "message"), [
    # rules
    ('[rules.stal]\nafter = "1m"', "rules.stal: unknown rule (did you mean 'stall'?) (known: stall, loss_spike)"),
    ('[rules.stall]\naftr = "1m"', "rules.stall.aftr: unknown key (did you mean 'after'?) (known: enabled, "),
    ('[rules.stall]\nfor_s = "1m"', "rules.stall.for_s: unknown key (write it as `for`)"),
    ('[rules.stall]\nafter = "10 minutes"', "rules.stall.after: not a duration: '10 minutes' (use 90s, 10m, 2h)"),
    ("[rules.stall]\nafter = 600", 'rules.stall.after: a duration needs a unit: 600 (write "600s" or "600m")'),
    ('[rules.stall]\nafter = "-5m"', "rules.stall.after: negative duration: '-5m'"),
    ('[rules.stall]\nfor = "30m1h"', "rules.stall.for: not a duration: '30m1h': unit 'h' comes after"),
    ("[rules.stall]\nafter = true", "rules.stall.after: not a duration: True"),
    ('[rules.stall]\nfactor = "ten"', "rules.stall.factor: expected a number, got 'ten'"),
    ("[rules.stall]\nfactor = -1.5", "rules.stall.factor: must not be negative, got -1.5"),
    ("[rules.stall]\nfactor = nan", "rules.stall.factor: expected a finite number, got nan"),
    ("[rules.stall]\nfactor = true", "rules.stall.factor: expected a number, got True"),
    ("[rules.stall]\nwindow = 2.5", "rules.stall.window: expected a whole number, got 2.5"),
    ("[rules.stall]\nwindow = -3", "rules.stall.window: must not be negative, got -3"),
    ('[rules.stall]\nenabled = "no"', "rules.stall.enabled: expected true or false, got 'no'"),
    ('[rules.stall]\nseverity = "high"', "rules.stall.severity: expected info | warning | critical, got 'high'"),
    ('[rules.stall]\neval_metrics = "val_loss"', "rules.stall.eval_metrics: expected a list of strings"),
    ("[rules.loss_spike]\nmetric = 3", "rules.loss_spike.metric: expected a string, got 3"),
    ("[rules.loss_spike]\nz = 0", "rules.loss_spike: z must be > 0"),
    ("rules = 3", "rules: expected a table ([rules]), got 3"),
    ("[rules]\nstall = 3", "rules.stall: expected a table ([rules.stall]), got 3"),
    # sections
    ("[rule.stall]\nafter = '1m'", "rule: unknown section (did you mean 'rules'?)"),
    ("[state]\ndri = 'x'", "state.dri: unknown key for state (did you mean 'dir'?)"),
    ("[state]\ndir = 5", "state.dir: expected a path (a string), got 5"),
    ("[watch]\ninterval = 10", 'watch.interval: a duration needs a unit: 10'),
    ("[watch]\ninterval = '0s'", "watch.interval: must be longer than 0s, got '0s'"),
    ("[watch]\npoll = 1", "watch.poll: expected true or false, got 1"),
    ("[watch]\nlisten = 'node1:http'", "watch.listen: port must be a number from 0 to 65535, got 'http'"),
    ("[watch]\nlisten = true", "watch.listen: expected HOST:PORT (e.g. 127.0.0.1:9464), got True"),
    ("[watch]\nlisten = '::1:9464'", "watch.listen: an IPv6 address goes in brackets: [::1:9464]:PORT"),
    ("[watch]\ntextfile = 3", "watch.textfile: expected a path (a string), got 3"),
    # sinks
    ("[sinks]\ntype = 'slack'", "sinks: expected [[sinks]] tables"),
    ("[[sinks]]\nwebhook_url_env = 'X'", "sinks[0].type: expected slack | webhook | command | file | terminal | alertmanager, missing"),
    ("[[sinks]]\ntype = 'email'", "sinks[0].type: expected slack | webhook | command | file | terminal | alertmanager, got 'email'"),
    ("[[sinks]]\ntype = 'slack'", "sinks[0].webhook_url_env: required"),
    ("[[sinks]]\ntype = 'slack'\nwebhook_url_env = 'X'\nchannel = '#ml'",
     "sinks[0].channel: unknown key for sinks[0] (slack)"),
    ("[[sinks]]\ntype = 'terminal'\n[[sinks]]\ntype = 'command'", "sinks[1].run: required for a command sink"),
    ("[[sinks]]\ntype = 'command'\nrun = 'notify-send hi'", "sinks[0].run: must be a list (argv), not a string"),
    ("[[sinks]]\ntype = 'command'\nrun = []", "sinks[0].run: expected a non-empty list of non-empty strings"),
    ("[[sinks]]\ntype = 'command'\nrun = ['x']\ntimeout = 5", "sinks[0].timeout: a duration needs a unit: 5"),
    ("[[sinks]]\ntype = 'command'\nrun = ['x']\nattempts = -1", "sinks[0].attempts: must not be negative"),
    ("[[sinks]]\ntype = 'command'\nrun = ['x']\nwebhook_url_env = 'X'", "sinks[0].webhook_url_env: unknown key"),
    ("[[sinks]]\ntype = 'file'", "sinks[0].path: required for a file sink"),
    ("[[sinks]]\ntype = 'terminal'\npath = 'x'", "sinks[0].path: unknown key for sinks[0] (terminal) "
                                                  "(known: type, name, min_severity, rules, send_resolved)"),
    ("[[sinks]]\ntype = 'terminal'\nmin_severity = 'loud'", "sinks[0].min_severity: expected info | warning | "),
    ("[[sinks]]\ntype = 'terminal'\nrules = ['stal']", "sinks[0].rules: unknown rule 'stal' (did you mean 'stall'?)"),
    ("[[sinks]]\ntype = 'terminal'\nsend_resolved = 'yes'", "sinks[0].send_resolved: expected true or false"),
    ("[[sinks]]\ntype = 'alertmanager'", "sinks[0].urls: required for a alertmanager sink: one Alertmanager"),
    ("[[sinks]]\ntype = 'alertmanager'\nurls = 'http://am:9093'", "sinks[0].urls: must be a list of URLs, not a string"),
    ("[[sinks]]\ntype = 'alertmanager'\nurls = [9093]", "sinks[0].urls: expected a non-empty list of URLs"),
    ("[[sinks]]\ntype = 'alertmanager'\nurls = ['http://am:9093']\nresend = '1m'",
     "sinks[0].resend: unknown key for sinks[0] (alertmanager) (known: type, name, min_severity, rules, "
     "send_resolved, urls, resend_interval, generator_url, host, timeout)"),
    ("[[sinks]]\ntype = 'alertmanager'\nurls = ['http://am:9093']\nresend_interval = 60",
     "sinks[0].resend_interval: a duration needs a unit: 60"),
    # syntax
    ("[rules.stall\nafter = 1", "not valid TOML: "),
])
def test_every_error_names_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    msg = error(tmp_path, text)
    assert msg.startswith(f"{tmp_path / 'runwatch.toml'}: "), msg
    assert message in msg, msg


@pytest.mark.parametrize("key", ["url", "webhook_url", "token"])
def test_a_url_in_the_file_is_refused_without_echoing_it(tmp_path: Path, key: str) -> None:
    secret = "https://hooks.slack.com/services/T000/B000/SECRETSECRET"
    msg = error(tmp_path, f"[[sinks]]\ntype = 'slack'\n{key} = '{secret}'")
    assert f"sinks[0].{key}: secrets never go in the config file" in msg
    assert "webhook_url_env" in msg and "SECRET" not in msg


def test_a_url_pasted_into_webhook_url_env_is_not_echoed(tmp_path: Path) -> None:
    secret = "https://hooks.slack.com/services/T000/B000/SECRETSECRET"
    msg = error(tmp_path, f"[[sinks]]\ntype = 'webhook'\nwebhook_url_env = '{secret}'")
    assert "sinks[0].webhook_url_env: must be the NAME of an environment variable" in msg
    assert "SECRET" not in msg and "hooks.slack" not in msg


def test_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: cannot read the config file: No such file"):
        load_config(tmp_path / "nope.toml", registry=FAKE)
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match=r"bin\.toml: not UTF-8 text"):
        load_config(tmp_path / "bin.toml", registry=FAKE)


def test_a_toml_error_says_where(tmp_path: Path) -> None:
    msg = error(tmp_path, '[rules.stall]\nafter = "1m"\nafter = "2m"\n')
    assert "not valid TOML" in msg and "line 3" in msg


# ── --rule overrides ───────────────────────────────────────────────────────

def test_overrides_apply_over_the_file(tmp_path: Path) -> None:
    cfg = load(tmp_path, GOOD, overrides=["stall.after=30s", "stall.for=1m", "loss_spike.enabled=yes",
                                          "stall.window=7", "stall.factor=2.5", "stall.eval_metrics=a, b",
                                          "loss_spike.severity=info", "loss_spike.metric=val_bpb"])
    s, sp = cfg.rule_params["stall"], cfg.rule_params["loss_spike"]
    assert (s.after, s.for_s, s.window, s.factor, s.eval_metrics) == (30.0, 60.0, 7, 2.5, ("a", "b"))
    assert s.resolve_after_s == 120.0, "untouched keys keep the file's value"
    assert (sp.enabled, sp.severity, sp.metric) == (True, Severity.INFO, "val_bpb")


def test_overrides_without_a_file() -> None:
    cfg = load_config(None, overrides=["stall.repeat_interval=0s"], registry=FAKE)
    assert cfg.timings()["stall"].repeat_interval_s == 0.0
    assert cfg.rule_params["loss_spike"] == SpikeParams()


@pytest.mark.parametrize(("flag", "message"), [
    ("stall.after=10 minutes", "--rule stall.after: not a duration: '10 minutes' (use 90s, 10m, 2h)"),
    ("stall.after=600", "--rule stall.after: duration without a unit: '600' (write 600s or 600m)"),
    ("stal.after=1m", "--rule stal.after: unknown rule 'stal' (did you mean 'stall'?)"),
    ("stall.aftr=1m", "--rule stall.aftr: unknown key 'aftr' (did you mean 'after'?)"),
    ("stall.factor=-2", "--rule stall.factor: must not be negative, got -2"),
    ("stall.factor=fast", "--rule stall.factor: expected a number, got 'fast'"),
    ("stall.factor=inf", "--rule stall.factor: expected a finite number, got inf"),
    ("stall.window=1.5", "--rule stall.window: expected a whole number, got 1.5"),
    ("stall.enabled=maybe", "--rule stall.enabled: expected true or false, got 'maybe'"),
    ("stall.severity=urgent", "--rule stall.severity: expected info | warning | critical, got 'urgent'"),
    ("stall.after", "--rule stall.after: expected RULE.PARAM=VALUE (e.g. --rule stall.after=30m)"),
    ("after=1m", "--rule after=1m: expected RULE.PARAM=VALUE"),
])
def test_override_errors_name_the_flag(flag: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_config(None, overrides=[flag], registry=FAKE)
    assert message in str(e.value)
    assert str(e.value).startswith("--rule ")


def test_the_file_is_checked_before_the_overrides(tmp_path: Path) -> None:
    msg = error(tmp_path, "[rules.stall]\nfactor = -1", overrides=["stall.after=1m"])
    assert "rules.stall.factor" in msg


# ── against the real rule registry ─────────────────────────────────────────

def test_defaults_of_the_real_registry_match_each_rule() -> None:
    from runwatch.alerts.rules import all_rules

    reg = all_rules()
    cfg = Config.default()
    assert list(cfg.rule_params) == list(reg)
    for rid, cls in reg.items():
        assert cfg.rule_params[rid] == cls.Params()
        assert cfg.timings()[rid] == cls().timing
    assert set(cfg.enabled()) == set(reg)


def test_a_real_file_against_the_real_registry(tmp_path: Path) -> None:
    from runwatch.alerts.rules import all_rules

    p = write(tmp_path, '[rules.stall]\nafter = "10m"\nfor = "1m"\n[rules.crash]\nhold = "2m"\n'
                        '[rules.nonfinite]\nmetrics = ["loss"]\nseverity = "warning"\n')
    cfg = load_config(p, overrides=["loss_spike.z=4", "straggler.enabled=false"])
    assert cfg.rule_params["stall"].after == 600.0 and cfg.timings()["stall"].for_s == 60.0
    assert cfg.rule_params["crash"].hold == 120.0
    nf = all_rules()["nonfinite"](cfg.rule_params["nonfinite"])
    assert nf.severity == Severity.WARNING and cfg.rule_params["nonfinite"].metrics == ("loss",)
    assert cfg.rule_params["loss_spike"].z == 4.0
    assert "straggler" not in cfg.enabled()


def test_real_registry_errors(tmp_path: Path) -> None:
    p = write(tmp_path, '[rules.stall]\nafter = "10 minutes"\n')
    with pytest.raises(ConfigError, match=r"runwatch\.toml: rules\.stall\.after: not a duration: '10 minutes' "
                                          r"\(use 90s, 10m, 2h\)"):
        load_config(p)
    with pytest.raises(ConfigError, match="--rule gpu_melt.x: unknown rule"):
        load_config(None, overrides=["gpu_melt.x=1"])
