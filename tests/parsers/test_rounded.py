"""Steps printed rounded (LeRobot's `step:1K`) placed by the log's stride: runwatch.parsers.rounded."""

from __future__ import annotations

from runwatch.model import Kind, Record
from runwatch.parsers.keyvalue import KeyValueParser
from runwatch.parsers.rounded import ROUNDED, RoundedSteps
from runwatch.parsers.source import SourceParser
from tests.support.found import found_bytes, found_lines, source_records

NAME = "lerobot_rounded_steps.log"


def _steps(recs: list[Record]) -> list[int | None]:
    return [r.step for r in recs if r.kind is Kind.STEP]


def test_lerobots_rounded_steps_are_placed_by_its_stride_per_line_and_in_bulk() -> None:
    """A review's LeRobot run logs every 200 steps: `step:800`, then `step:1K` three times (1,000, 1,200, 1,400) and
    `step:2K` five (1,600 … 2,400). Read as printed, several records shared a step and the next jumped 1,000; the
    stride of the exact steps before them places each, the same line by line as in a chunk, up to `step:50K`."""
    lines = found_lines(NAME)
    assert [ln.split()[4] for ln in lines[2:5]] == ["step:800", "step:1K", "step:1K"]
    fmt, bulk = source_records(NAME, batch=10_000)
    sp = SourceParser(NAME)
    one = [r for i, ln in enumerate(lines, 1) for r in sp.feed([ln], i, 0.0)] + sp.flush()
    expected = list(range(400, 50_001, 200))
    assert fmt == "kv" and _steps(bulk) == expected and _steps(one) == expected
    assert all(ROUNDED not in r.metrics for r in bulk + one)
    chunked = SourceParser(NAME)
    data = found_bytes(NAME)
    got = chunked.feed_bytes(data, 1, 0.0, lambda b: b.decode().splitlines()).merged() + chunked.flush()
    assert _steps(got) == expected


def test_the_parser_marks_a_step_printed_rounded_with_its_unit() -> None:
    line = next(ln for ln in found_lines(NAME) if " step:1K " in ln)
    rec = KeyValueParser().parse(line)
    assert rec is not None and rec.step == 1000 and rec.metrics[ROUNDED] == 1000.0
    exact = KeyValueParser().parse(found_lines(NAME)[0])
    assert exact is not None and exact.step == 400 and ROUNDED not in exact.metrics


def _rec(step: int, unit: float | None = None) -> Record:
    metrics = {"loss": 1.0} if unit is None else {"loss": 1.0, ROUNDED: unit}
    return Record(Kind.STEP, step, None, None, 0.0, metrics)


def test_a_rounded_step_stays_inside_its_window() -> None:
    """No stride yet: the printed value. A stride that would leave the window (`1K` printed a fourth time at a stride
    of 200 after 1,400) stops at its edge, 1,500, never past it (nor back: the step never goes below the last)."""
    stage = RoundedSteps()
    placed = []
    for rec in (_rec(2000, 1000.0), _rec(2000, 1000.0)):
        stage.record(rec)
        placed.append(rec.step)
    assert placed == [2000, 2000]
    stage = RoundedSteps()
    for step, unit in ((800, None), (1000, None), (1000, 1000.0), (1000, 1000.0), (1000, 1000.0), (3000, 1000.0)):
        rec = _rec(step, unit)
        stage.record(rec)
        placed.append(rec.step)
    assert placed[2:] == [800, 1000, 1200, 1400, 1500, 2500]


def test_a_log_of_rounded_steps_alone_keeps_them_as_printed_where_one_move_would_guess_the_stride() -> None:
    """A LeRobot excerpt with no exact step (`step:46K`, then `step:47K` five times, … `step:50K`): the printed steps
    give no stride (each is 200 steps apart, a thousand is the unit), so each is as printed, within its window. Taken
    from the first move, 1,000 a record, the last read 50,500. Printed steps that move alike twice and never repeat
    (`%.3g`'s `1.5e+03`, `1.51e+03`, `1.52e+03`) do give it (tests/parsers/test_blocks.py)."""
    _, recs = source_records("lerobot_train_log_excerpt.txt")
    steps = _steps(recs)
    printed = [int(x.split("step:")[1].split("K")[0]) * 1000 for x in found_lines("lerobot_train_log_excerpt.txt")
               if " step:" in x]
    assert steps == printed and steps[-1] == 50_000
