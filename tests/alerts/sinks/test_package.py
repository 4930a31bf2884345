"""runwatch.alerts.sinks loads its sinks on first use: every public name resolves, and reading a config
with no sink (what `runwatch check` does) imports no HTTP or subprocess machinery."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

import runwatch.alerts.sinks as sinks


@pytest.mark.parametrize("name", sinks.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(sinks, name) is not None


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_sink"):
        sinks.no_such_sink  # noqa: B018


def loaded_after(code: str, modules: tuple[str, ...]) -> list[str]:
    """Which of `modules` a fresh interpreter has imported once it ran `code`."""
    probe = f"import sys; {code}; print(sorted(m for m in {modules!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    found: list[str] = ast.literal_eval(out.strip())
    return found


def test_check_reads_its_config_without_the_sink_classes() -> None:
    code = "import runwatch.commands.check; from runwatch.config import load_config; load_config(None).rules()"
    assert loaded_after(code, ("http.client", "runwatch.alerts.sinks.slack", "subprocess")) == []


def test_the_live_engine_without_a_sink_loads_no_sink_class() -> None:
    """`runwatch tail` with no sink configured (the usual terminal session) starts without HTTP and TLS."""
    code = ("import runwatch.engine; from runwatch.alerting import Alerting; from runwatch.config import load_config; "
            "Alerting(load_config(None), persist=False)")
    assert loaded_after(code, ("http.client", "ssl", "runwatch.alerts.sinks.dispatch")) == []
