"""The command sink: argv only, the payload byte-exact on stdin, hostile log text never runs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from runwatch.alerts.sinks import CommandSink, PermanentError, RetryableError, SinkConfigError
from runwatch.alerts.types import make_labels
from tests.support.alerts import make_notification
from tests.support.waiting import wait_for

RECORDER = """
import json, os, sys
out = sys.argv[1]
open(os.path.join(out, "stdin.json"), "wb").write(sys.stdin.buffer.read())
env = {k: v for k, v in os.environ.items() if k.startswith("RUNWATCH_")}
json.dump(env, open(os.path.join(out, "env.json"), "w"))
"""


def hostile_text(tmp: Path) -> str:
    return "\n".join([
        f"$(touch {tmp}/pwned1)", f"`touch {tmp}/pwned2`", f"'; touch {tmp}/pwned3; '",
        f'"; touch {tmp}/pwned4; "', f"; rm -rf {tmp}/keep", f"| touch {tmp}/pwned5 &&",
        "\x1b[31mred\x1b[0m \x1b]0;title\x07", "back\\slash \u2028 nul\x00", "${IFS}$HOME %s %n {0}",
    ])


@pytest.fixture
def recorder(tmp_path: Path) -> list[str]:
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    (tmp_path / "keep").write_text("still here")
    return [sys.executable, str(script), str(tmp_path)]


@pytest.mark.parametrize("shell_receiver", [False, True], ids=["python", "sh-cat"])
def test_hostile_log_text_arrives_byte_exact_and_never_runs(tmp_path: Path, recorder: list[str],
                                                            shell_receiver: bool) -> None:
    text = hostile_text(tmp_path)
    n = make_notification(summary=text, context=(text, text), source=text,
                          labels=make_labels(run=text, rank=0), rule="nonfinite")
    argv = ["sh", "-c", 'cat > "$1/stdin.json"', "sh", str(tmp_path)] if shell_receiver else recorder
    CommandSink("notify", argv=argv).send(n.payload(), n)
    raw = (tmp_path / "stdin.json").read_bytes()
    assert raw == json.dumps(n.payload(), ensure_ascii=False).encode() + b"\n"
    assert json.loads(raw)["summary"] == text and json.loads(raw)["run"] == text
    assert not list(tmp_path.glob("pwned*"))
    assert (tmp_path / "keep").read_text() == "still here"


def test_environment_carries_only_our_own_values(tmp_path: Path, recorder: list[str]) -> None:
    n = make_notification(rule="$(touch x)", summary="x")
    CommandSink("notify", argv=recorder).send(n.payload(), n)
    env = json.loads((tmp_path / "env.json").read_text())
    assert env == {"RUNWATCH_ALERT_STATE": "firing", "RUNWATCH_ALERT_SEVERITY": "critical",
                   "RUNWATCH_ALERT_RULE": "unknown"}


def test_nonzero_exit_is_retried_then_permanent() -> None:
    sink = CommandSink("fails", argv=[sys.executable, "-c", "import sys; sys.stderr.write('no display'); sys.exit(3)"],
                       attempts=3)
    n = make_notification("x")
    for _ in range(2):
        with pytest.raises(RetryableError, match=r"^command sink 'fails': exit status 3: no display$"):
            sink.send(n.payload(), n)
    with pytest.raises(PermanentError, match=r"exit status 3: no display \(gave up after 3 tries\)$"):
        sink.send(n.payload(), n)
    with pytest.raises(RetryableError):  # the count is per notification: this one starts afresh
        sink.send(n.payload(), make_notification("y"))


def test_timeout_kills_the_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    code = (f"import subprocess, time; p = subprocess.Popen(['sleep', '30']); "
            f"open({str(pidfile)!r}, 'w').write(str(p.pid)); time.sleep(30)")
    sink = CommandSink("slow", argv=[sys.executable, "-c", code], timeout=1.0)
    n = make_notification()
    with pytest.raises(RetryableError, match=r"^command sink 'slow': timed out after 1s; killed$"):
        sink.send(n.payload(), n)
    grandchild = int(wait_for(lambda: pidfile.exists() and pidfile.read_text()))
    wait_for(lambda: not _alive(grandchild))


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie waiting for init is dead enough


def test_argv_must_be_a_list_and_the_program_must_exist() -> None:
    with pytest.raises(SinkConfigError, match="list of strings"):
        CommandSink("c", argv="notify-send runwatch")
    with pytest.raises(SinkConfigError, match="list of strings"):
        CommandSink("c", argv=[])
    with pytest.raises(SinkConfigError, match="'no-such-program-rw' not found"):
        CommandSink("c", argv=["no-such-program-rw"])


def test_a_url_in_argv_is_never_shown(tmp_path: Path) -> None:
    secret = "https://hooks.example.com/T0/B0/argvSecret99"
    code = "import sys; sys.stderr.write('posting to ' + sys.argv[1] + ' failed'); sys.exit(1)"
    sink = CommandSink("curlish", argv=[sys.executable, "-c", code, secret], attempts=1)
    n = make_notification()
    with pytest.raises(PermanentError) as err:
        sink.send(n.payload(), n)
    assert "argvSecret99" not in str(err.value) and "posting to <redacted> failed" in str(err.value)
    assert "argvSecret99" not in repr(sink)


def test_command_that_ignores_stdin_is_fine() -> None:
    n = make_notification()
    CommandSink("true", argv=["true"]).send(n.payload(), n)
    assert os.environ.get("RUNWATCH_ALERT_STATE") is None  # the child's env, not ours
