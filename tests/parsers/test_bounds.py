"""Values no run can have never leave the parser boundary (issue: one line killed the engine thread).

Real step lines of six formats from the corpus, with their step number replaced by 400 digits: no
exception anywhere, the line gives no step, and `check` still judges the rest of the log."""

from __future__ import annotations

import contextlib
import io
import json
import re
from functools import cache
from pathlib import Path

import pytest

from runwatch.cli import main
from runwatch.model import Kind, Record
from runwatch.parsers.boundary import ascii_digits, checked
from runwatch.parsers.numbers import MAX_STEP, parse_number
from runwatch.parsers.registry import make_parser
from runwatch.parsers.source import SourceParser
from tests.parsers._corpus import CORPUS, FRAMEWORKS

HUGE = "9" * 400


@cache
def corpus_lines() -> tuple[str, ...]:
    out: list[str] = []
    for md in sorted(CORPUS.glob("*.md")):
        out += md.read_text(encoding="utf-8").splitlines()
    for raw in sorted((CORPUS / "raw").glob("excerpts_*.json")):
        data = json.loads(raw.read_text(encoding="utf-8"))
        groups = data.values() if isinstance(data, dict) else [data]
        out += [ln for items in groups for e in items for ln in e["t"].splitlines()]
    return tuple(out)


def real_step_line(fmt: str) -> tuple[str, Record]:
    for line in corpus_lines():
        rec = make_parser(fmt).parse(line)
        if rec is not None and rec.kind is Kind.STEP and rec.step:
            return line, rec
    raise AssertionError(f"no {fmt} step line in the corpus")


def with_huge_step(line: str, step: int) -> str:
    out, n = re.subn(rf"(?<!\d)0*{step}(?!\d)", HUGE, line, count=1)
    assert n == 1, line
    return out


@pytest.mark.parametrize("fmt", FRAMEWORKS)
def test_a_step_over_308_digits_is_no_step_and_raises_nothing(fmt: str) -> None:
    line, rec = real_step_line(fmt)
    bad = with_huge_step(line, rec.step or 0)
    parser = SourceParser("train.log", fmt=fmt)
    records = parser.feed([line, bad, line], 1, 0.0)
    assert all(r.step is None or r.step <= MAX_STEP for r in records)
    assert [r.step for r in records if r.kind is Kind.STEP] == [rec.step, rec.step]


@pytest.mark.parametrize("fmt", FRAMEWORKS)
def test_check_reads_on_past_a_step_over_308_digits(fmt: str, tmp_path: Path) -> None:
    """Regression: `check` printed a traceback (OverflowError in run state) and exited 1."""
    line, rec = real_step_line(fmt)
    log = tmp_path / "train.log"
    log.write_text("\n".join([line, with_huge_step(line, rec.step or 0), line]) + "\n")
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(err):
        code = main(["check", "--format", fmt, str(log)])
    assert "Traceback" not in err.getvalue() and "Error" not in err.getvalue()
    assert code in (0, 1), out.getvalue()


def test_a_step_far_beyond_its_own_total_is_no_finished_run(tmp_path: Path) -> None:
    """Regression: a bogus `999999999999/100` step line made `check` call the run finished."""
    line, rec = real_step_line("picollm")
    bogus = re.sub(r"step \d+/\d+", "step 999999999999/100", line, count=1)
    assert bogus != line
    log = tmp_path / "train.log"
    log.write_text(f"{line}\n{bogus}\n")
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()):
        main(["check", "--json", str(log)])
    assert json.loads(out.getvalue())["state"] != "finished"
    assert checked(Record(Kind.STEP, step=5, total_steps=10)) is not None


@pytest.mark.parametrize("text", ["٣.١", "3_1", "１２", "'3_1'"])
def test_only_ascii_digits_are_numbers(text: str) -> None:
    """Regression: `loss: ٣.١` read as 3.1 and `loss: 3_1` as 31.0 (Python's float accepts both)."""
    assert parse_number(text) is None


def test_non_ascii_digits_in_a_real_line_are_no_number() -> None:
    line, rec = real_step_line("picollm")
    value = re.search(r"loss: ([0-9.]+)", line)
    assert value is not None
    arabic = line.replace(value.group(1), value.group(1).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")))
    assert "loss: ٠" in arabic or "loss: ١" in arabic or "loss: ٢" in arabic or "loss: ٣" in arabic
    assert "loss" not in {k for r in SourceParser("x.log", fmt="picollm").feed([arabic], 1, 0.0) for k in r.metrics}
    assert ascii_digits("step ٣") == "step \ufffd"
