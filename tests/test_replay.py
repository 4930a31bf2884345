"""`merge_by_step`: the records of a run's sources interleaved as they would have arrived."""

from __future__ import annotations

from runwatch.model import Event, Kind, Record
from runwatch.replay import merge_by_step


def steps(*xs: int, source: str) -> list[Record]:
    return [Record(Kind.STEP, x, metrics={"loss": 1.0}, source=source) for x in xs]


def test_an_event_stays_right_after_the_step_line_before_it() -> None:
    log = [*steps(0, 5, source="log"), Record(Kind.EVENT, event=Event.OOM, source="log"), *steps(10, source="log")]
    tb = steps(1, 2, 3, 4, 6, 7, 8, 9, 11, source="tb")
    merged = list(merge_by_step([log, tb]))
    oom = next(i for i, r in enumerate(merged) if r.kind is Kind.EVENT)
    assert [r.step for r in merged[:oom]] == [0, 1, 2, 3, 4, 5]
    assert merged[oom + 1].step == 6


def test_a_source_without_steps_comes_after_the_others() -> None:
    """A rank's stderr.log (torchrun --log-dir) holds its traceback and no step: its last word."""
    stdout = steps(0, 5, 10, source="0/stdout.log")
    stderr = [Record(Kind.EVENT, event=Event.TRACEBACK, message="IndexError", source="1/stderr.log")]
    merged = list(merge_by_step([stderr, stdout]))
    assert [r.kind for r in merged] == [Kind.STEP, Kind.STEP, Kind.STEP, Kind.EVENT]


def test_a_sources_words_before_its_first_step_stay_before_it() -> None:
    banner = Record(Kind.EVENT, event=Event.NCCL_ERROR, message="early", source="log")
    merged = list(merge_by_step([[banner, *steps(3, source="log")], steps(1, 2, source="tb")]))
    assert merged[0] is banner
