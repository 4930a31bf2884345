"""One learned layout for every number width of a format string (runwatch.parsers.layouts).

Megatron prints its counters right-aligned (`iteration {:8d}/{:8d}`), so
each step that gains a digit trades a blank for it and the line gets a new
shape; a Megatron line holds a dozen numbers. The learner probes one line of
such a *skeleton* and places what it learned on the others, checked against
the parser with a handful of parses instead of dozens.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from runwatch.model import Record
from runwatch.parsers.keyvalue import KeyValueParser
from runwatch.parsers.layouts import Learner, skeleton
from runwatch.parsers.learned import LearnedLine, learn, same_record
from runwatch.parsers.megatron import MegatronParser
from tests.support.corpus import CORPUS, json_excerpt

M2 = next(x for x in json_excerpt("excerpts_megatron.json", "Excerpt M2 ") if "iteration      122/" in x)
"""A pre-2024 Megatron line (no stamp): `iteration      122/  250000 | consumed samples: …`."""
KV = (CORPUS.parent / "realruns/kvlog-healthy/run/train.log").read_text(encoding="utf-8").splitlines()


def _at(step: int) -> str:
    """M2 as Megatron prints it at another step: `iteration {step:8d}/`."""
    return M2.replace("iteration      122/", f"iteration {step:8d}/")


class _Counted:
    """A parser's `parse`, counting its calls."""

    def __init__(self, parse: Callable[[str], Record | None]) -> None:
        self.parse, self.calls = parse, 0

    def __call__(self, line: str) -> Record | None:
        self.calls += 1
        return self.parse(line)


def _same(a: LearnedLine | None, b: LearnedLine | None) -> bool:
    """The same layout: spans (NaN constants alike), labels and record."""
    if a is None or b is None:
        return a is b
    spans = [(s.name, s.lo, s.hi, s.scale, s.constant is None) for s in a.spans]
    return (spans == [(s.name, s.lo, s.hi, s.scale, s.constant is None) for s in b.spans]
            and a.literals == b.literals and a.counted == b.counted and same_record(a.record, b.record))


def test_the_widths_of_a_padded_counter_share_a_skeleton() -> None:
    assert len({_at(s) for s in (7, 122, 1220, 12345678)}) == 4  # four shapes …
    assert len({skeleton(_at(s)) for s in (7, 122, 1220, 12345678)}) == 1  # … of one format string


def test_a_layout_is_learned_once_for_all_its_number_widths() -> None:
    """The first line of the skeleton is probed number by number; a line of it at another width costs a few
    parses (itself, and all its numbers changed four ways) and reads exactly as if learned on its own."""
    parse = _Counted(MegatronParser().parse)
    learner = Learner(parse)
    assert learner(M2) is not None
    probed = parse.calls
    assert probed > 40  # a dozen numbers, a few probes each
    for step in (7, 1220, 12345678):
        parse.calls = 0
        placed = learner(_at(step))
        assert parse.calls <= 5, step
        assert _same(placed, learn(MegatronParser().parse, _at(step)))
        assert placed is not None and placed.record.step == step


class _Wider(KeyValueParser):
    """A parser whose reading depends on how wide a number is printed: beside a step of three digits or more
    the loss is scaled by 100 (a layout placed from a narrower line cannot know it; probes keep widths)."""

    def parse(self, line: str) -> Record | None:
        rec = super().parse(line)
        wide = re.search(r"step=[0-9]{3}", line) is not None
        if rec is not None and wide and "loss" in rec.metrics:
            rec.metrics["loss"] *= 100.0
        return rec


def test_a_placed_layout_the_parser_reads_otherwise_is_learned_anew() -> None:
    first = next(x for x in KV if " step=5 " in x)
    wider = next(x for x in KV if " step=101 " in x)
    assert skeleton(first) == skeleton(wider)
    learner = Learner(_Wider().parse)
    assert learner(first) is not None
    got = learner(wider)
    want = learn(_Wider().parse, wider)
    assert want is not None and {s.name: s.scale for s in want.spans}["loss"] == 100.0
    assert _same(got, want)


class _Clips(KeyValueParser):
    """Beside a step of three digits or more, a loss over 2 is read as 2: the wide line itself (loss 1.2144)
    reads as the narrow one's layout says; only other values tell them apart."""

    def parse(self, line: str) -> Record | None:
        rec = super().parse(line)
        wide = re.search(r"step=[0-9]{3}", line) is not None
        if rec is not None and wide and "loss" in rec.metrics:
            rec.metrics["loss"] = min(rec.metrics["loss"], 2.0)
        return rec


def test_a_placed_layout_is_checked_beyond_its_own_line() -> None:
    first = next(x for x in KV if " step=5 " in x)
    wider = next(x for x in KV if " step=101 " in x)
    learner = Learner(_Clips().parse)
    assert learner(first) is not None
    assert _Clips().parse(wider) == KeyValueParser().parse(wider)
    assert learn(_Clips().parse, wider) is None  # a value the parser tests: not learned on its own either
    assert learner(wider) is None


def test_a_shape_is_recordless_only_if_no_change_of_its_numbers_gives_a_record() -> None:
    """`Learner.recordless`, the probe behind LineLayouts.recordless. A nanochat speedrun's evaluation line is
    no `kv` step whatever its numbers; timm's `Test: [ 350/390]` is a running average (no record), but the
    same shape at `[ 390/390]` is the evaluation's result: only a probe that crosses the count finds it.
    A line of one of the parser's `state_texts` (kv's epoch heading) is never left unread."""
    from tests.support.found import found_lines

    learner = Learner(KeyValueParser().parse, None, KeyValueParser.state_texts)
    speedrun = (CORPUS / "raw/nanochat_pr492_speedrun_d24_feb01.training_output.log").read_text(encoding="utf-8")
    [evaluating] = [x for x in speedrun.splitlines() if x.startswith("Evaluating: lambada_openai")][:1]
    assert KeyValueParser().parse(evaluating) is None and learner.recordless(evaluating)
    timm = found_lines("timm_vitaes_pbs_walltime_killed.log.gz")
    partial = next(x for x in timm if x.startswith("Test: [ 350/390]"))
    result = next(x for x in timm if x.startswith("Test: [ 390/390]"))
    assert KeyValueParser().parse(partial) is None and KeyValueParser().parse(result) is not None
    assert not learner.recordless(partial)
    chemprop = found_lines("chemprop_cv_folds_verbose_head.log.gz")
    assert "Epoch 7" in chemprop and not learner.recordless("Epoch 7")
    assert Learner(KeyValueParser().parse).recordless("Epoch 7")  # what state_texts keeps read
