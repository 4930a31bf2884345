"""The bracketed tutorial-loop format, on lines the PyTorch tutorial loop printed (run lab recordings)."""

from __future__ import annotations

import math
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.model import Kind
from runwatch.parsers.bracketed import BracketedParser
from runwatch.parsers.detect import detect

REALRUNS = Path(__file__).parents[1] / "fixtures" / "realruns"


def lines(name: str) -> list[str]:
    return (REALRUNS / name / "run" / "train.log").read_text().splitlines()


def test_the_step_counts_across_epochs_and_the_total_is_every_epochs_steps() -> None:
    """`Epoch [3/5], Step [90/120]` is the loop's global step (3 − 1)·120 + 90 = 330, of 600."""
    line = next(ln for ln in lines("tutorial-healthy") if ln.startswith("Epoch [3/5], Step [90/120]"))
    rec = BracketedParser().parse(line)
    assert rec is not None and rec.kind is Kind.STEP
    assert (rec.step, rec.total_steps, rec.metrics["epoch"]) == (330, 600, 3.0)
    assert 0 < rec.metrics["loss"] < 10


def test_a_nan_loss_is_a_nan_value_at_its_step() -> None:
    """Regression: the tutorial loop's `Loss: nan` was "nothing understood" and its NaN unreported."""
    recs = [r for ln in lines("tutorial-nan") if (r := BracketedParser().parse(ln)) is not None]
    first = next(r for r in recs if math.isnan(r.metrics["loss"]))
    assert first.step == 330
    assert all(r.step == 10 * (i + 1) for i, r in enumerate(recs))


def test_detected_at_its_first_line() -> None:
    assert detect(lines("tutorial-healthy")[:1]) == "bracketed"


def test_other_lines_are_not_its_own() -> None:
    tail = lines("tutorial-oom")[-6:]  # the traceback of the host OOM
    assert [BracketedParser().parse(ln) for ln in tail] == [None] * len(tail)


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet="Epoch [/],Step:0123456789 ", min_size=0, max_size=20_000))
def test_never_raises_on_long_bracket_soup(text: str) -> None:
    BracketedParser().parse(text)
