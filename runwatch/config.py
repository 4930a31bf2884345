"""TOML configuration → frozen, validated settings (DESIGN §4).

Every problem is a `ConfigError` raised before anything starts, naming the
file (or the `--rule` flag) and the key: `runwatch.toml: rules.stall.after:
not a duration: '10 minutes' (use 90s, 10m, 2h)`. Durations are strings with
a unit everywhere ("90s", "10m", "2h", "1h30m"; see `runwatch.durations`); a
bare number for a duration is refused. Numbers may not be negative. Relative
paths are relative to the config file's directory; `~` is expanded.

Every key
---------
``[rules.<rule id>]`` (one table per rule, all optional; ids as `runwatch rules` lists them)
    enabled          bool      run the rule at all (default true)
    severity         string    info | warning | critical (default: the rule's own)
    for              duration  how long the condition must hold before firing
    resolve_after    duration  how long it must be gone before resolving
    repeat_interval  duration  re-notify this often while firing (unless acknowledged; "0s": never)
    <param>          …         the rule's own parameters, as `runwatch rules` prints them

``[[sinks]]`` (any number; none means alerts go only to the terminal/log)
    type             string    slack | webhook | command | file | terminal | alertmanager (required)
    name             string    a label for logs and `runwatch` messages (default: the type)
    min_severity     string    info | warning | critical: send only alerts at least this severe
    rules            [string]  send only alerts of these rules (default: all)
    send_resolved    bool      also send "resolved" (default true)
    <setting>        …         the type's own settings: declared once, by the sink class's `Settings`
                               (`runwatch.alerts.sinks.factory.SINK_CLASSES`), and listed in the README

``[state]``
    dir              string    the state directory (default: the platform's user state dir, `runwatch/`)

``[watch]`` (defaults for `runwatch watch`; its flags win; read at start, not on SIGHUP)
    interval         duration  between status lines in the daemon's log (default 60s; `--interval`)
    poll             bool      rely on polling only, no inotify (default false; `--poll` / `--no-poll`)
    poll_interval    duration  between stat polls (default 1s; `--poll-interval`)
    listen           string    HOST:PORT for /metrics and the HTTP API (default off; `--listen`;
                               a bare PORT or :PORT means 127.0.0.1)
    textfile         string    write /metrics here for node_exporter's textfile collector (`--textfile`)

Flags: `--rule RULE.PARAM=VALUE` (repeatable) overrides `[rules.RULE]` keys
with the same validation; the value is text (`true`, `30s`, `2.5`,
`loss,val_loss` for lists).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runwatch import patterns
from runwatch.alerts.sinks.settings import Declared, SettingKind, declared
from runwatch.alerts.types import RuleTiming
from runwatch.errors import BadValueError

if TYPE_CHECKING:
    from runwatch.alerts.rules import Rule
from runwatch.durations import HINT, parse_duration
from runwatch.model import Severity
from runwatch.serve.address import ListenAddress, parse_listen

CONFIG_ALIASES = {"for": "for_s", "resolve_after": "resolve_after_s", "repeat_interval": "repeat_interval_s"}
"""Config key → rule `Params` field where they differ (as `runwatch.alerts.rules.base.CONFIG_ALIASES`)."""
_FIELD_KEYS = {v: k for k, v in CONFIG_ALIASES.items()}

_SINK_COMMON = ("type", "name", "min_severity", "rules", "send_resolved")
_SECRET_KEYS = ("url", "webhook_url", "token", "webhook")
_ENV_NAME = patterns.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECTIONS = ("rules", "sinks", "state", "watch")
_WATCH_KEYS = ("interval", "poll", "poll_interval", "listen", "textfile")

Registry = Mapping[str, Any]
"""Rule id → rule class (with `id`, `default_severity`, `Params`), as `alerts.rules.all_rules()`."""


class ConfigError(BadValueError):
    """A bad config file or flag; the message names the file or flag and the key."""


@dataclass(frozen=True, slots=True)
class SinkConfig:
    """One `[[sinks]]` table (or sink flag), validated: what every sink has, and its type's `Settings`
    (declared by the sink class, `runwatch.alerts.sinks.factory.SINK_CLASSES`)."""

    type: str
    name: str | None = None
    min_severity: Severity = Severity.INFO
    rules: tuple[str, ...] = ()
    send_resolved: bool = True
    settings: Any = None
    """The sink type's `Settings` instance; None means its defaults."""
    origin: str = field(default="", compare=False)
    """Where it was set, for errors: `cfg.toml: sinks[0]`, or the flag (`--slack-webhook-env VAR`)."""

    def where(self, key: str | None = None) -> str:
        """`origin` with `key` appended (`cfg.toml: sinks[0].webhook_url_env`); a flag names itself."""
        if key is None or not self.origin or self.origin.startswith("--"):
            return self.origin
        return f"{self.origin}.{key}"

    def resolved_settings(self) -> Any:
        from runwatch.alerts.sinks.factory import SINK_CLASSES

        return self.settings if self.settings is not None else SINK_CLASSES[self.type].settings()


@dataclass(frozen=True, slots=True)
class WatchConfig:
    """`[watch]`: defaults for `runwatch watch`; None where the file does not say (the CLI's default)."""

    interval: float | None = None
    poll: bool | None = None
    poll_interval: float | None = None
    listen: ListenAddress | None = None
    textfile: Path | None = None


@dataclass(frozen=True)
class Config:
    rule_params: Mapping[str, Any]
    """Rule id → its `Params` instance, for every rule of the registry (defaults filled in)."""
    sinks: tuple[SinkConfig, ...] = ()
    state_dir: Path | None = None
    """None: the platform default (`alerts.store.default_state_dir()`)."""
    watch: WatchConfig = WatchConfig()
    path: Path | None = None
    """The file this came from, if any."""

    @classmethod
    def default(cls, *, registry: Registry | None = None) -> Config:
        """Every rule with its defaults, no sinks: what runs without a config file."""
        reg = _registry(registry)
        return cls(rule_params={rid: rc.Params() for rid, rc in reg.items()})

    def timings(self) -> dict[str, RuleTiming]:
        """Rule id → lifecycle timing, for `AlertManager`."""
        d = RuleTiming()
        return {rid: RuleTiming(getattr(p, "for_s", d.for_s), getattr(p, "resolve_after_s", d.resolve_after_s),
                                getattr(p, "repeat_interval_s", d.repeat_interval_s))
                for rid, p in self.rule_params.items()}

    def enabled(self) -> list[str]:
        """Ids of the enabled rules, in registry order."""
        return [rid for rid, p in self.rule_params.items() if getattr(p, "enabled", True)]

    def rules(self) -> list[Rule[Any]]:
        """One instance of every enabled rule with its configured parameters (the engine's and `check`'s)."""
        registry = _registry(None)
        return [registry[rid](self.rule_params[rid]) for rid in self.enabled() if rid in registry]


def load_config(path: Path | str | None, *, overrides: Sequence[str] = (),
                registry: Registry | None = None) -> Config:
    """Read and validate `path` (None: defaults), then apply `--rule` overrides.

    Raises ConfigError naming the file or flag and the key at fault.
    """
    reg = _registry(registry)
    p = Path(path) if path is not None else None
    data = _read_toml(p) if p is not None else {}
    origin = str(p) if p is not None else "(defaults)"
    base = p.parent if p is not None else Path.cwd()
    for key in data:
        if key not in _SECTIONS:
            raise ConfigError(f"{origin}: {key}: unknown section{_suggest(key, _SECTIONS)} "
                              f"(known: {', '.join(_SECTIONS)})")
    values = _rule_tables(data.get("rules", {}), reg, origin)
    for text in overrides:
        rule, key, value = _override(text, reg)
        values.setdefault(rule, {})[key] = value
    params = {rid: _make_params(rc, values.get(rid, {}), origin) for rid, rc in reg.items()}
    sinks = _sinks(data.get("sinks", []), reg, origin, base)
    state = _table(data.get("state", {}), "state", origin)
    _known(state, ("dir",), "state", origin)
    state_dir = _path(state["dir"], "state.dir", origin, base) if "dir" in state else None
    return Config(rule_params=params, sinks=sinks, state_dir=state_dir,
                  watch=_watch(data.get("watch", {}), origin, base), path=p)


# ── reading ────────────────────────────────────────────────────────────────

def _registry(registry: Registry | None) -> Registry:
    if registry is not None:
        return registry
    from runwatch.alerts.rules import all_rules

    return all_rules()


def _read_toml(p: Path) -> dict[str, Any]:
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise ConfigError(f"{p}: cannot read the config file: {e.strerror or e}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from None


# ── rules ──────────────────────────────────────────────────────────────────

@dataclass(frozen=True, slots=True)
class _Param:
    key: str
    """The config key."""
    field: str
    kind: str
    """bool | int | float | duration | severity | str | names"""


def _params_of(rule_cls: Any) -> dict[str, _Param]:
    out: dict[str, _Param] = {}
    for f in dataclasses.fields(rule_cls.Params):
        key = _FIELD_KEYS.get(f.name, f.name)
        out[key] = _Param(key, f.name, _kind(f))
    return out


def _kind(f: dataclasses.Field[Any]) -> str:
    d = f.default
    if f.name == "severity":
        return "severity"
    if f.metadata.get("duration"):
        return "duration"
    for kind, typ in (("bool", bool), ("int", int), ("float", float), ("str", str), ("names", tuple)):
        if isinstance(d, typ):
            return kind
    return "any"


def rule_params(rule_cls: Any, table: Mapping[str, Any], origin: str = "config") -> Any:
    """A rule's `Params` from a `[rules.<id>]` table as TOML gives it (durations as text with a unit):
    the one validator of rule parameters, for config files, `--rule` overrides and tests alike.
    ConfigError names the key."""
    spec = _params_of(rule_cls)
    where = f"rules.{rule_cls.id}"
    fields = {(param := _param(spec, rule_cls.id, key, origin)).field: _value(param, value, f"{origin}: {where}.{key}")
              for key, value in table.items()}
    return _make_params(rule_cls, fields, origin)


def _rule_tables(rules: Any, reg: Registry, origin: str) -> dict[str, dict[str, Any]]:
    """`[rules.*]` → rule id → {field: value}, every value checked and converted."""
    rules = _table(rules, "rules", origin)
    out: dict[str, dict[str, Any]] = {}
    for rid, table in rules.items():
        where = f"rules.{rid}"
        if rid not in reg:
            raise ConfigError(f"{origin}: {where}: unknown rule{_suggest(rid, reg)} (known: {', '.join(reg)})")
        table = _table(table, where, origin)
        spec = _params_of(reg[rid])
        for key, value in table.items():
            param = _param(spec, rid, key, origin)
            out.setdefault(rid, {})[param.field] = _value(param, value, f"{origin}: {where}.{key}")
    return out


def _param(spec: dict[str, _Param], rid: str, key: str, origin: str) -> _Param:
    if key in spec:
        return spec[key]
    hint = " (write it as `for`)" if key in CONFIG_ALIASES.values() else _suggest(key, spec)
    raise ConfigError(f"{origin}: rules.{rid}.{key}: unknown key{hint} (known: {', '.join(spec)})")


def _value(p: _Param, v: Any, where: str) -> Any:
    """A TOML value as the parameter's type; ConfigError (prefixed `where`) when it is not one."""
    if p.kind == "duration":
        if not isinstance(v, str):
            if isinstance(v, int | float) and not isinstance(v, bool):
                raise ConfigError(f"{where}: {_unitless(v)}")
            raise ConfigError(f"{where}: not a duration: {_show(v)} ({HINT})")
        try:
            return parse_duration(v)
        except BadValueError as e:
            raise ConfigError(f"{where}: {e}") from None
    if p.kind == "bool":
        if not isinstance(v, bool):
            raise ConfigError(f"{where}: expected true or false, got {_show(v)}")
        return v
    if p.kind in ("int", "float"):
        return _number(v, where, whole=p.kind == "int")
    if p.kind == "severity":
        return _severity(v, where)
    if p.kind == "str":
        if not isinstance(v, str):
            raise ConfigError(f"{where}: expected a string, got {_show(v)}")
        return v
    if p.kind == "names":
        return _names(v, where)
    return v


def _unitless(v: float) -> str:
    """Why a bare number is not a duration, with a suggestion that is itself valid."""
    if math.isfinite(v) and v > 0:
        n = str(v) if isinstance(v, int) else f"{v:f}".rstrip("0").rstrip(".")
        return f"a duration needs a unit: {v!r} (write \"{n}s\" or \"{n}m\")"
    if math.isfinite(v) and v == 0:
        return f"a duration needs a unit: {v!r} (write \"0s\")"
    problem = "a duration cannot be negative" if v < 0 else "not a duration"
    return f"{problem}: {v!r} (write one as text with a unit, like \"30s\", \"10m\" or \"2h\")"


def _number(v: Any, where: str, *, whole: bool) -> int | float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConfigError(f"{where}: expected a {'whole ' if whole else ''}number, got {_show(v)}")
    if not math.isfinite(v):
        raise ConfigError(f"{where}: expected a finite number, got {v!r}")
    if v < 0:
        raise ConfigError(f"{where}: must not be negative, got {v!r}")
    if whole:
        if v != int(v):
            raise ConfigError(f"{where}: expected a whole number, got {v!r}")
        return int(v)
    return float(v)


def _severity(v: Any, where: str) -> Severity:
    try:
        return Severity(v)
    except ValueError:
        names = " | ".join(s.value for s in Severity)
        raise ConfigError(f"{where}: expected {names}, got {_show(v)}") from None


def _names(v: Any, where: str) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ConfigError(f"{where}: expected a list of strings, got {_show(v)}")
    return tuple(v)


def _make_params(rule_cls: Any, fields: dict[str, Any], origin: str) -> Any:
    try:
        return rule_cls.Params(**fields)
    except (TypeError, ValueError) as e:  # a rule's own cross-field check (__post_init__): its plug-point contract
        raise ConfigError(f"{origin}: rules.{rule_cls.id}: {e}") from None


def _override(text: str, reg: Registry) -> tuple[str, str, Any]:
    """`RULE.PARAM=VALUE` → (rule id, field, value), validated as the file would be."""
    lhs, eq, raw = text.partition("=")
    rid, dot, key = lhs.strip().partition(".")
    if not eq or not dot or not rid or not key:
        raise ConfigError(f"--rule {text}: expected RULE.PARAM=VALUE (e.g. --rule stall.after=30m)")
    flag = f"--rule {rid}.{key}"
    if rid not in reg:
        raise ConfigError(f"{flag}: unknown rule {rid!r}{_suggest(rid, reg)} (known: {', '.join(reg)})")
    spec = _params_of(reg[rid])
    if key not in spec:
        raise ConfigError(f"{flag}: unknown key {key!r}{_suggest(key, spec)} (known: {', '.join(spec)})")
    param = spec[key]
    return rid, param.field, _value(param, _from_text(param.kind, raw.strip(), flag), flag)


_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def _from_text(kind: str, raw: str, flag: str) -> Any:
    """Flag text as the TOML value it stands for (then checked like one)."""
    if kind == "bool":
        low = raw.lower()
        if low in _TRUE + _FALSE:
            return low in _TRUE
        raise ConfigError(f"{flag}: expected true or false, got {raw!r}")
    if kind in ("int", "float"):
        try:
            return int(raw) if re.fullmatch(r"[+-]?\d+", raw) else float(raw)
        except ValueError:
            raise ConfigError(f"{flag}: expected a number, got {raw!r}") from None
    if kind == "names":
        return [x.strip() for x in raw.split(",") if x.strip()]
    return raw


# ── sinks, state, watch ────────────────────────────────────────────────────

def _sinks(items: Any, reg: Registry, origin: str, base: Path) -> tuple[SinkConfig, ...]:
    if not isinstance(items, list):
        raise ConfigError(f"{origin}: sinks: expected [[sinks]] tables (an array of tables)")
    return tuple(_sink(item, i, reg, origin, base) for i, item in enumerate(items))


def _sink(item: Any, i: int, reg: Registry, origin: str, base: Path) -> SinkConfig:
    # the sink classes (HTTP, subprocess) are imported only when a sink is configured: `check` needs none
    from runwatch.alerts.sinks.factory import SINK_CLASSES, SINK_TYPES

    where = f"sinks[{i}]"
    t = _table(item, where, origin)
    kind = t.get("type")
    if kind not in SINK_TYPES:
        got = "missing" if kind is None else f"got {_show(kind)}"
        raise ConfigError(f"{origin}: {where}.type: expected {' | '.join(SINK_TYPES)}, {got}")
    settings_cls = SINK_CLASSES[kind].settings
    own = [d for d in declared(settings_cls) if d.in_file]
    for key in t:
        if key in _SECRET_KEYS and any(d.kind is SettingKind.ENV_NAME for d in own):
            raise ConfigError(f"{origin}: {where}.{key}: secrets never go in the config file; put the URL in "
                              f"an environment variable and name it: webhook_url_env = \"SLACK_WEBHOOK_URL\"")
    _known(t, _SINK_COMMON + tuple(d.key for d in own), f"{where} ({kind})", origin, prefix=where)
    w = f"{origin}: {where}"
    kw: dict[str, Any] = {"type": kind, "origin": w}
    if "name" in t:
        kw["name"] = _string(t["name"], f"{w}.name")
    if "min_severity" in t:
        kw["min_severity"] = _severity(t["min_severity"], f"{w}.min_severity")
    if "rules" in t:
        kw["rules"] = _names(t["rules"], f"{w}.rules")
        for rid in kw["rules"]:
            if rid not in reg:
                raise ConfigError(f"{w}.rules: unknown rule {rid!r}{_suggest(rid, reg)}")
    if "send_resolved" in t:
        kw["send_resolved"] = _value(_Param("send_resolved", "send_resolved", "bool"), t["send_resolved"],
                                     f"{w}.send_resolved")
    values = {d.key: _setting(d, t[d.key], f"{w}.{d.key}", f"{where}.{d.key}", origin, base)
              for d in own if d.key in t}
    for d in own:
        if d.required and d.key not in t:
            raise ConfigError(f"{w}.{d.key}: required for a {kind} sink: {d.doc}")
    kw["settings"] = settings_cls(**values)
    return SinkConfig(**kw)


def _setting(d: Declared, v: Any, where: str, short: str, origin: str, base: Path) -> Any:
    """A `[[sinks]]` value checked as its sink type declares it."""
    if d.kind is SettingKind.ENV_NAME:
        return _env_name(v, where)
    if d.kind is SettingKind.ARGV:
        return _argv(v, where)
    if d.kind is SettingKind.URLS:
        return _urls(v, where)
    if d.kind is SettingKind.PATH:
        return _path(v, short, origin, base)
    if d.kind is SettingKind.DURATION:
        return _positive_duration(v, where)
    return _value(_Param(d.key, d.key, d.kind.value), v, where)


def _env_name(v: Any, where: str) -> str:
    if v is None:
        raise ConfigError(f"{where}: required: the name of the environment variable holding the URL "
                          f"(e.g. \"SLACK_WEBHOOK_URL\")")
    if not isinstance(v, str) or not _ENV_NAME.fullmatch(v):
        # Never echo the value: it may be the URL itself, pasted in the wrong place.
        raise ConfigError(f"{where}: must be the NAME of an environment variable (like SLACK_WEBHOOK_URL), "
                          f"not the URL; set the variable to the URL in the daemon's environment")
    return v


def _argv(v: Any, where: str) -> tuple[str, ...]:
    if v is None:
        raise ConfigError(f"{where}: required for a command sink: the program and its arguments as a list")
    if isinstance(v, str):
        raise ConfigError(f"{where}: must be a list (argv), not a string: run = [\"notify-send\", \"runwatch\"]; "
                          f"no shell is used")
    if not isinstance(v, list) or not v or not all(isinstance(x, str) and x for x in v):
        raise ConfigError(f"{where}: expected a non-empty list of non-empty strings, got {_show(v)}")
    return tuple(v)


def _urls(v: Any, where: str) -> tuple[str, ...]:
    if isinstance(v, str):
        raise ConfigError(f"{where}: must be a list of URLs, not a string: urls = [\"http://alertmanager:9093\"]")
    if not isinstance(v, list) or not v or not all(isinstance(x, str) and x.strip() for x in v):
        # Never echo the values: a URL may carry a password.
        raise ConfigError(f"{where}: expected a non-empty list of URLs (strings)")
    return tuple(x.strip() for x in v)


def _watch(t: Any, origin: str, base: Path) -> WatchConfig:
    t = _table(t, "watch", origin)
    _known(t, _WATCH_KEYS, "watch", origin)
    kw: dict[str, Any] = {}
    for key in ("interval", "poll_interval"):
        if key in t:
            kw[key] = _positive_duration(t[key], f"{origin}: watch.{key}")
    if "poll" in t:
        kw["poll"] = _value(_Param("poll", "poll", "bool"), t["poll"], f"{origin}: watch.poll")
    if "listen" in t:
        try:
            v = t["listen"]
            kw["listen"] = parse_listen(str(v) if isinstance(v, int) and not isinstance(v, bool) else v)
        except BadValueError as e:
            raise ConfigError(f"{origin}: watch.listen: {e}") from None
    if "textfile" in t:
        kw["textfile"] = _path(t["textfile"], "watch.textfile", origin, base)
    return WatchConfig(**kw)


def _positive_duration(v: Any, where: str) -> float:
    s = _value(_Param("", "", "duration"), v, where)
    if s <= 0:
        raise ConfigError(f"{where}: must be longer than 0s, got {_show(v)}")
    return float(s)


def _path(v: Any, where: str, origin: str, base: Path) -> Path:
    if not isinstance(v, str) or not v:
        raise ConfigError(f"{origin}: {where}: expected a path (a string), got {_show(v)}")
    p = Path(os.path.expanduser(v))
    return p if p.is_absolute() else base / p


def _string(v: Any, where: str) -> str:
    if not isinstance(v, str):
        raise ConfigError(f"{where}: expected a string, got {_show(v)}")
    return v


def _table(v: Any, where: str, origin: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ConfigError(f"{origin}: {where}: expected a table ([{where}]), got {_show(v)}")
    return v


def _known(t: Mapping[str, Any], keys: Sequence[str], what: str, origin: str, prefix: str | None = None) -> None:
    for key in t:
        if key not in keys:
            raise ConfigError(f"{origin}: {prefix or what}.{key}: unknown key for {what}{_suggest(key, keys)} "
                              f"(known: {', '.join(keys) or 'none'})")


def _suggest(word: str, options: Any) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _show(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."
