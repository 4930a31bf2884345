"""Patterns compiled at first use: the same answers as `re`, compiled once, and none compiled by importing."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from runwatch import patterns

LINES = ["step 12/100 | loss 2.5", "no step here", "step 7/9 | loss nan step 8/9 | loss 1e-3", ""]


def test_answers_as_re_does() -> None:
    text = r"step (?P<step>\d+)/(\d+) \| loss (\S+)"
    ours, theirs = patterns.compile(text), re.compile(text)
    assert ours.pattern == text
    for line in LINES:
        for method in ("search", "match", "fullmatch"):
            got, want = getattr(ours, method)(line), getattr(theirs, method)(line)
            assert (got and got.groups()) == (want and want.groups())
        assert ours.findall(line) == theirs.findall(line)
        assert [m.span() for m in ours.finditer(line)] == [m.span() for m in theirs.finditer(line)]
        assert ours.sub("<s>", line) == theirs.sub("<s>", line)
        assert ours.split(line) == theirs.split(line)
    assert (ours.flags, ours.groups, dict(ours.groupindex)) == (theirs.flags, theirs.groups, dict(theirs.groupindex))


def test_flags_and_bytes() -> None:
    ours = patterns.compile(rb"LOSS (\d+)", re.IGNORECASE)
    assert ours.search(b"x loss 42").group(1) == b"42"  # type: ignore[union-attr]
    assert ours.flags == re.compile(rb"LOSS (\d+)", re.IGNORECASE).flags


def test_compiled_once_at_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[object] = []
    real = re.compile
    monkeypatch.setattr(re, "compile", lambda text, flags=0: made.append(text) or real(text, flags))
    p = patterns.compile(r"epoch (\d+)")
    assert p.pattern == r"epoch (\d+)" and made == []  # its text is there without compiling
    assert p.search("epoch 3") is not None and made == [r"epoch (\d+)"]
    assert p.match("epoch 4") is not None and p.findall("epoch 5") == ["5"]
    assert made == [r"epoch (\d+)"]


def test_no_other_attribute() -> None:
    with pytest.raises(AttributeError):
        patterns.compile("x").nothing  # type: ignore[attr-defined]  # noqa: B018


def test_importing_runwatch_compiles_few_of_its_patterns() -> None:
    """Every format, the engine and the rules imported: a handful of patterns are used by the imports
    themselves (step line templates); the rest wait for a line that needs them."""
    code = (
        "import gc, runwatch.cli, runwatch.alerting, runwatch.engine, runwatch.commands.check\n"
        "from runwatch.parsers.registry import FORMATS, parser_class\n"
        "from runwatch.patterns import _Deferred\n"
        "[parser_class(n) for n in FORMATS]\n"
        "made = [o for o in gc.get_objects() if isinstance(o, _Deferred)]\n"
        "print(len(made), sum(1 for o in made if _compiled(o)))\n"
    )
    helper = "def _compiled(o):\n    try:\n        object.__getattribute__(o, 'search')\n        return True\n" \
             "    except AttributeError:\n        return False\n"
    out = subprocess.run([sys.executable, "-c", helper + code], capture_output=True, text=True, check=True).stdout
    declared, compiled = map(int, out.split())
    assert declared > 300
    assert compiled < declared / 10
