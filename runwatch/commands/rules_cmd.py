"""`runwatch rules`: every rule, its severity, what it watches and its parameters."""

from __future__ import annotations

from typing import TextIO

from runwatch.alerts.rules import all_rules
from runwatch.alerts.rules.base import param_table
from runwatch.config import Config
from runwatch.durations import format_duration

COMMON = ("enabled", "severity")


def run_rules(config: Config, out: TextIO) -> int:
    enabled = set(config.enabled())
    for rid, cls in all_rules().items():
        params = config.rule_params.get(rid)
        sev = (getattr(params, "severity", None) or cls.default_severity)
        state = "" if rid in enabled else "  (disabled)"
        out.write(f"{rid:<18} {sev!s:<9}{state}\n    {cls.explanation}\n")
        values = []
        for key, default, is_duration in param_table(cls.Params):
            if key in COMMON:
                continue
            value = getattr(params, _field(key), default) if params is not None else default
            values.append(f"{key}={_show(value, is_duration)}")
        out.write(_wrap("    ", values) + "\n")
    out.write("\nSet any of these in [rules.ID] of a TOML config, or with --rule ID.KEY=VALUE.\n")
    return 0


def _field(key: str) -> str:
    from runwatch.alerts.rules.base import CONFIG_ALIASES

    return CONFIG_ALIASES.get(key, key)


def _show(value: object, is_duration: bool) -> str:
    if is_duration and isinstance(value, int | float):
        return format_duration(float(value))
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _wrap(indent: str, parts: list[str], width: int = 100) -> str:
    lines, cur = [], indent
    for p in parts:
        if len(cur) + len(p) + 2 > width and cur.strip():
            lines.append(cur.rstrip())
            cur = indent
        cur += p + "  "
    lines.append(cur.rstrip())
    return "\n".join(lines)
