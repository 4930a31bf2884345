"""The Slack sink: an incoming-webhook message a person can act on from a phone.

A firing message answers, in order: how bad and what (severity, rule, run),
where (host, rank, step), how far off (value against threshold, the recent
curve as a sparkline), what the log said (the last lines, in a code block)
and what to do next (copy-paste `runwatch tail` and `runwatch silence`
commands). A resolved message is one short section.

Everything that came from a log is stripped of escapes and has Slack's
markup characters escaped, so a log line cannot mention `<!channel>` or
forge a link; every text is capped below Slack's 3000-character limit.
"""

from __future__ import annotations

import math
import shlex
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runwatch.alerts.sinks.settings import SettingKind, setting
from runwatch.alerts.sinks.sparkline import sparkline
from runwatch.alerts.sinks.webhook import WebhookSink
from runwatch.alerts.types import Alert, Notification
from runwatch.model import AlertState, Severity
from runwatch.text import clean, clip, one_line

TEXT_LIMIT = 3000
"""Slack's limit for a section's text; fields are capped lower."""
FIELD_TEXT_LIMIT = 2000
"""Slack's limit for a field's text."""
FIELD_LIMIT = 200
SPARK_WIDTH = 40
"""Characters of sparkline: fits a phone screen in a code span."""
CONTEXT_LINE_LIMIT = 300
EMOJI = {Severity.CRITICAL: "🔴", Severity.WARNING: "🟠", Severity.INFO: "🔵"}
RESOLVED_EMOJI = "✅"


class SlackSink(WebhookSink):
    """Posts `{"text": fallback, "blocks": [...]}` to a Slack incoming webhook."""

    kind = "slack"
    path_tokens = True

    @dataclass(frozen=True)
    class Settings(WebhookSink.Settings):
        host: str | None = setting(SettingKind.STR, doc="the host name shown in messages (default: this host)")

    @classmethod
    def _own_settings(cls, settings: WebhookSink.Settings) -> dict[str, Any]:
        return {"host": getattr(settings, "host", None)}

    def __init__(self, name: str = "slack", *, host: str | None = None, **kwargs: Any) -> None:
        """`host` names the machine when the alert has no `host` label (default: this one).

        Other keywords as `WebhookSink` (url_env, url, timeout, filter, environ).
        """
        super().__init__(name, **kwargs)
        self.host = host or socket.gethostname()

    def body(self, payload: dict[str, Any], notification: Notification) -> Mapping[str, Any]:
        return slack_message(notification, host=self.host)


def escape(text: object) -> str:
    """Slack's three markup characters as entities; escapes and controls removed."""
    return clean(str(text)).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: object, limit: int, *, keep: str = "head") -> str:
    """`text` escaped and clipped so that the escaped form is at most `limit` characters."""
    raw = one_line(str(text))
    out = escape(clip(raw, limit, keep=keep))
    while len(out) > limit:
        if len(raw) <= 1:
            return ""
        raw = clip(raw, max(1, len(raw) - (len(out) - limit) - 1), keep=keep)
        out = escape(raw)
    return out


def code(text: object, limit: int = FIELD_LIMIT) -> str:
    """An inline code span; a backtick in the text would end it early, so it is replaced."""
    return "`" + fit(str(text).replace("`", "ˋ"), limit) + "`"


def slack_message(notification: Notification, *, host: str) -> dict[str, Any]:
    """The message body for one notification (pure: no I/O, easy to snapshot)."""
    if notification.state == AlertState.RESOLVED:
        return _resolved(notification.alert)
    a = notification.alert
    headline = f"{EMOJI.get(a.severity, '⚪')} *{escape(str(a.severity).upper())} · {fit(a.rule, 100)}* on *{fit(a.run, 200)}*"
    if notification.repeat:
        headline += " (still firing)"
    blocks: list[dict[str, Any]] = [_section(headline + "\n" + fit(a.summary, 1000))]
    blocks.append({"type": "section", "fields": [_mrkdwn(f) for f in _facts(a, host)]})
    if a.history:
        blocks.append(_section(_curve(a)))
    if a.diagnosis:
        blocks.append(_section("*What the processes are doing*\n" + context_block(a.diagnosis)))
    if a.context:
        blocks.append(_section(context_block(a.context)))
    blocks.append(_section(_next_steps(a)))
    text = clip(f"{EMOJI.get(a.severity, '⚪')} {a.rule} on {fit(a.run, 200)}: {fit(a.summary, 1000)}", TEXT_LIMIT)
    return {"text": text, "blocks": blocks}


def _resolved(a: Alert) -> dict[str, Any]:
    lasted = ""
    if a.resolved_at is not None and a.fired_at is not None:
        lasted = f" after {_duration(a.resolved_at - a.fired_at)}"
    line = f"{RESOLVED_EMOJI} *Resolved · {fit(a.rule, 100)}* on *{fit(a.run, 200)}*{lasted}"
    return {"text": f"{RESOLVED_EMOJI} resolved: {fit(a.rule, 100)} on {fit(a.run, 200)}{lasted}",
            "blocks": [_section(line + "\n" + fit(a.summary, 1000))]}


def _facts(a: Alert, host: str) -> list[str]:
    labels = dict(a.labels)
    facts = [f"*Host*\n{code(labels.get('host', host))}"]
    if "rank" in labels:
        facts.append(f"*Rank*\n{code(labels['rank'])}")
    if a.step is not None:
        since = f" (since {a.first_step})" if a.first_step not in (None, a.step) else ""
        facts.append(f"*Step*\n{code(a.step)}{since}")
    if a.fired_at is not None:
        facts.append(f"*Firing since*\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(a.fired_at))}")
    if a.value is not None:
        against = f" vs threshold {code(_number(a.threshold))}" if a.threshold is not None else ""
        facts.append(f"*Value*\n{code(_number(a.value))}{against}")
    others = [(k, v) for k, v in labels.items() if k not in ("run", "rank", "host")]
    facts.extend(f"*{fit(k, 50)}*\n{code(v)}" for k, v in others[: 10 - len(facts)])
    return facts


def _curve(a: Alert) -> str:
    finite = [v for v in a.history if math.isfinite(v)]
    scale = f"  min {_number(min(finite))} · max {_number(max(finite))}" if finite else ""
    name = fit(a.metric or "value", 60)
    return f"*{name}*, last {len(a.history)} values:\n`{sparkline(a.history, SPARK_WIDTH)}`{scale}"


def context_block(lines: tuple[str, ...] | list[str], limit: int = TEXT_LIMIT) -> str:
    """The newest log lines that fit in a code block of at most `limit` characters."""
    budget = limit - len("```\n\n```")
    kept: list[str] = []
    for line in reversed(lines):
        text = escape(clip(clean(line).replace("```", "ˋˋˋ"), CONTEXT_LINE_LIMIT))
        if len(text) + 1 > budget:
            break
        kept.append(text)
        budget -= len(text) + 1
    if not kept and lines:
        kept.append(fit(lines[-1], budget, keep="tail"))
    return "```\n" + "\n".join(reversed(kept)) + "\n```"


def _next_steps(a: Alert) -> str:
    steps = []
    if a.source:
        steps.append("Follow the log: " + code("runwatch tail " + shlex.quote(a.source), 600))
    silence = f"runwatch silence {shlex.quote(a.rule)} --run {shlex.quote(a.run)} --for 2h"
    steps.append("Mute it: " + code(silence, 600))
    return "\n".join(steps)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text, TEXT_LIMIT)}


def _mrkdwn(text: str, limit: int = FIELD_TEXT_LIMIT) -> dict[str, str]:
    return {"type": "mrkdwn", "text": clip(text, limit)}


def _number(v: float | str | None) -> str:
    if isinstance(v, float):
        return str(v).lower() if not math.isfinite(v) else f"{v:.4g}"
    return str(v)


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
