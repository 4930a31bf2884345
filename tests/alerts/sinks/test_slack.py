"""The Slack message: actionable on a phone, log text escaped, lengths capped, the URL never shown."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest

from runwatch.alerts.sinks import Dispatcher, SlackSink
from runwatch.alerts.sinks.slack import TEXT_LIMIT, context_block, slack_message
from runwatch.alerts.types import make_labels
from runwatch.model import AlertState, Severity
from tests.support.alerts import make_notification
from tests.support.receiver import FAST, SECRET_PATH, Receiver
from tests.support.waiting import wait_for

HOSTILE = "<!channel> & <https://evil.example|click> \x1b[31mred\x1b[0m"


def all_text(message: dict[str, Any]) -> list[str]:
    """Every text string of a message: the fallback, sections and fields."""
    out = [message["text"]]
    for block in message["blocks"]:
        if "text" in block:
            out.append(block["text"]["text"])
        out.extend(f["text"] for f in block.get("fields", []))
    return out


def test_firing_message_has_what_a_person_needs() -> None:
    n = make_notification(labels=make_labels(run="nanochat-d24", rank=3, metric="grad_norm"), threshold=5.0,
                          value=float("nan"))
    message = slack_message(n, host="gpu-node-7")
    text = "\n".join(all_text(message))
    assert text.startswith("🔴 nonfinite on nanochat-d24: grad_norm is NaN at step 380")
    assert "*CRITICAL · nonfinite* on *nanochat-d24*" in text
    for fact in ("*Host*\n`gpu-node-7`", "*Rank*\n`3`", "*Step*\n`380`", "*Value*\n`nan` vs threshold `5`"):
        assert fact in text
    assert "`▃▅▁█×`" in text  # the sparkline of history (1.0, 1.1, 0.9, 1.3, nan)
    assert "```\nstep 379 | loss 2.31 | grad_norm 1.02\nstep 380 | loss nan | grad_norm nan\n```" in text
    assert "`runwatch tail logs/train.log`" in text
    assert "`runwatch silence nonfinite --run nanochat-d24 --for 2h`" in text
    json.dumps(message, allow_nan=False)


def test_everything_from_the_log_is_escaped() -> None:
    """Our own markup uses no `<` or `>`, so any in the output would be a log's."""
    hostile: dict[str, Any] = dict(summary=HOSTILE, context=(HOSTILE, "```closing fence"), source=f"logs/{HOSTILE}.log",
                   labels=make_labels(run=HOSTILE, rank=0, gpu=HOSTILE), value=HOSTILE, metric=HOSTILE)
    for state in (AlertState.FIRING, AlertState.RESOLVED):
        texts = all_text(slack_message(make_notification(state=state, **hostile), host=HOSTILE))
        for text in texts:
            assert "<" not in text and ">" not in text and "\x1b" not in text
            assert "&" not in re.sub(r"&(amp|lt|gt);", "", text)
        assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt; red" in "\n".join(texts)
    firing = "\n".join(all_text(slack_message(make_notification(**hostile), host="h")))
    assert "```closing" not in firing.replace("```\n", "").replace("\n```", "")


def test_resolved_message_is_short_and_escaped() -> None:
    n = make_notification(state=AlertState.RESOLVED, run="<b>", summary="grad_norm finite again")
    message = slack_message(n, host="h")
    assert len(message["blocks"]) == 1
    assert message["text"] == "✅ resolved: nonfinite on &lt;b&gt; after 10m"
    assert "grad_norm finite again" in message["blocks"][0]["text"]["text"]


def test_hostile_source_gives_a_safe_copy_paste_command() -> None:
    n = make_notification(source="logs/$(touch pwned)`id`.log")
    text = "\n".join(all_text(slack_message(n, host="h")))
    assert "`runwatch tail 'logs/$(touch pwned)ˋidˋ.log'`" in text


def test_lengths_are_capped() -> None:
    long_line = "x" * 5000 + "<&>" * 500
    n = make_notification(summary=long_line, context=tuple(long_line for _ in range(50)),
                          history=tuple(float(i) for i in range(10_000)), run="r" * 5000)
    message = slack_message(n, host="h" * 5000)
    for text in all_text(message):
        assert 0 < len(text) <= TEXT_LIMIT
    for block in message["blocks"]:
        for f in block.get("fields", []):
            assert len(f["text"]) <= 2000
    assert len(message["blocks"]) <= 50


def test_context_keeps_the_newest_lines() -> None:
    lines = [f"line {i} " + "y" * 100 for i in range(100)]
    block = context_block(lines)
    assert len(block) <= TEXT_LIMIT and "line 99 " in block and "line 0 " not in block
    assert block.startswith("```\nline ") and block.endswith("\n```")


def test_warning_and_repeat_are_marked() -> None:
    n = make_notification(severity=Severity.WARNING)
    n = type(n)(alert=n.alert, state=n.state, at=n.at, repeat=True, id="r")
    message = slack_message(n, host="h")
    assert message["blocks"][0]["text"]["text"].startswith("🟠 *WARNING · nonfinite*")
    assert "(still firing)" in message["blocks"][0]["text"]["text"]


def test_posts_blocks_to_the_webhook(receiver: Receiver) -> None:
    sink = SlackSink("team", url_env="SLACK_URL", environ={"SLACK_URL": receiver.url}, host="node1")
    n = make_notification()
    sink.send(n.payload(), n)
    (body,) = receiver.delivered
    assert set(body) == {"text", "blocks"} and body == json.loads(json.dumps(slack_message(n, host="node1")))


def test_url_never_appears_in_errors_or_logs(receiver: Receiver, free_port: int,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.script = [500, 429, 400]
    calls: list[str] = []
    live = SlackSink("live", url=receiver.url, host="h")
    dead = SlackSink("dead", url=f"http://127.0.0.1:{free_port}{SECRET_PATH}", host="h")
    d = Dispatcher([live, dead], backoff=FAST, on_error=lambda sink, message: calls.append(message))
    d.start()
    d.submit(make_notification("a"))
    d.submit(make_notification("b"))
    wait_for(lambda: d.stats()["live"].delivered == 1 and d.stats()["dead"].retries >= 2)
    d.stop(drain_timeout=0)
    stats = [str(s) for s in d.stats().values()]
    assert any("HTTP 400" in c for c in calls) and any("connection refused" in c for c in calls)
    for text in [*calls, *stats, caplog.text, repr(live), repr(dead)]:
        assert SECRET_PATH not in text and "xyzSecretToken123" not in text and "T0SECRET1" not in text
        assert f"127.0.0.1:{receiver.port}" not in text and f"127.0.0.1:{free_port}" not in text


def test_a_long_context_keeps_its_newest_line_and_closing_fence() -> None:
    """Sections were cut at the fields' 2000 characters, not Slack's 3000: a context block built to fit 3000
    lost its newest lines and its closing ``` (found with the stall diagnosis)."""
    context = tuple(f"step {i} | loss 2.0 " + "x" * 200 for i in range(12))
    n = make_notification(context=context)
    (block,) = [t for t in all_text(slack_message(n, host="h")) if t.startswith("```")]
    assert 2000 < len(block) <= TEXT_LIMIT and block.endswith("step 11 | loss 2.0 " + "x" * 200 + "\n```")
