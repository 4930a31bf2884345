"""Layouts learned from a stateless format's own parser: the columns give exactly that parser's records.

The formats with no fixed step line (Megatron, DeepSpeed, torchtitan, the
generic `key=value`) take the fast path through runwatch.parsers.learned. The
reference is the per-line way (`SourceParser.feed`, fast path off) over the
same pieces; records are compared as values (time and rank included). Real
lines come from the corpus excerpts and the run lab's kv recording; their
numbers are redrawn digit by digit (widths kept, so one real line gives many
rows of its shape) and mixed with real noise: the nanochat speedrun's other
lines and a logged traceback.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runwatch.model import Kind, Record
from runwatch.parsers import columnar, registry
from runwatch.parsers.bracketed import BracketedParser
from runwatch.parsers.columnar import FastFormat, _Chunk, extract_steps, fast_format
from runwatch.parsers.deepspeed import DeepSpeedParser
from runwatch.parsers.keyvalue import KeyValueParser
from runwatch.parsers.learned import RANK, STEP, TIME, TOTAL, learn
from runwatch.parsers.megatron import MegatronParser
from runwatch.parsers.meters import MetersParser
from runwatch.parsers.torchtitan import TorchtitanParser
from tests.support.corpus import CORPUS, json_excerpt
from tests.support.readers import check, fast_rows
from tests.support.real_lines import noise as _noise
from tests.support.real_lines import recording
from tests.support.real_lines import redrawn as _redrawn

FIXTURES = CORPUS.parent


# -- real lines ---------------------------------------------------------------------------

def _excerpts(name: str) -> list[str]:
    found = json.loads((CORPUS / "raw" / f"excerpts_{name}.json").read_text(encoding="utf-8"))
    items = [e for v in found.values() for e in v] if isinstance(found, dict) else found
    return [x for e in items for x in (e["t"] if isinstance(e, dict) else e).splitlines()]


REAL: dict[str, Callable[[], list[str]]] = {
    "megatron": lambda: [x for x in _excerpts("megatron") if re.search(r"iteration\s+\d+/", x)],
    "deepspeed": lambda: [x for x in _excerpts("deepspeed") if "step=" in x or "SamplesPerSec=" in x],
    "torchtitan": lambda: [x for x in _excerpts("torchtitan_composer_axolotl_accelerate") if re.search(r"step: +\d", x)],
    "kv": lambda: [x for x in recording("kvlog-healthy") + recording("kvlog-nan") if "step=" in x],
    "bracketed": lambda: [x for r in ("tutorial-healthy", "tutorial-nan", "tutorial-inf", "tutorial-spike")
                          for x in recording(r) if x.startswith("Epoch [")],
    "meters": lambda: [x for name in ("wsdan_sac_imagenet_meters.log.gz", "imagenet_example_torchelastic.log")
                       for x in found_lines(name) if x.startswith("Epoch: [")],
}
PARSERS = {"megatron": MegatronParser, "deepspeed": DeepSpeedParser, "torchtitan": TorchtitanParser,
           "kv": KeyValueParser, "bracketed": BracketedParser, "meters": MetersParser}


def found_lines(name: str) -> list[str]:
    """A log a review found (tests/fixtures/found), its lines."""
    data = (FIXTURES / "found" / name).read_bytes()
    return (gzip.decompress(data) if name.endswith(".gz") else data).decode("utf-8").splitlines()


def noisy_log(fmt: str, lines: int, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    real, noise = REAL[fmt](), list(_noise())
    assert real, fmt
    out = []
    while len(out) < lines:
        out.append(rng.choice(noise) if rng.random() < 0.1 else _redrawn(rng.choice(real), rng))
    return ("\n".join(out) + "\n").encode()


# -- the two readers --------------------------------------------------------------------------

def both(data: bytes, fmt: str | None, sizes: Sequence[int] = (1 << 20,)) -> tuple[list[Record], int]:
    """Assert both readers give the same records (tests.support.readers.check); return them and how many
    were step columns."""
    got, chunks = check(data, sizes, fmt=fmt)
    return got, fast_rows(chunks)


# -- whole logs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", sorted(REAL))
@pytest.mark.parametrize("sizes", [(1 << 20,), (4096,), (700, 3000, 50)])
def test_noisy_real_lines_give_the_per_line_records(fmt: str, sizes: tuple[int, ...]) -> None:
    data = noisy_log(fmt, 3000)
    got, columns = both(data, fmt, sizes)
    steps = sum(r.kind == Kind.STEP for r in got)
    assert steps > 1500
    assert columns > steps // 3, f"{fmt}: only {columns} of {steps} step records were columns"


@pytest.mark.parametrize("fmt", sorted(REAL))
def test_the_real_lines_as_they_are(fmt: str) -> None:
    data = ("\n".join(REAL[fmt]()) + "\n").encode()
    both(data, fmt)
    both(data, None)  # detected, then fast


def test_the_kv_recordings_whole() -> None:
    """Both recordings back to back, five times (a run restarted into its log): detected as kv after 400
    lines, then columns; the NaN steps of kvlog-nan are read per line."""
    data = b"".join((FIXTURES / f"realruns/kvlog-{run}/run/train.log").read_bytes() for run in ("healthy", "nan")) * 5
    got, columns = both(data, None, (4096,))
    assert columns > 400 and sum(r.kind == Kind.STEP for r in got) > 1000
    assert any(math.isnan(r.metrics.get("loss", 0.0)) for r in got)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(REAL)), st.integers(0, 2**16), st.lists(st.integers(1, 5000), min_size=1, max_size=6))
def test_any_split_into_blocks_gives_the_same_records(fmt: str, seed: int, sizes: list[int]) -> None:
    both(noisy_log(fmt, 300, seed), fmt, sizes)


def test_times_and_ranks_come_from_the_lines() -> None:
    line = "[rank3]:[titan] 2025-06-16 22:30:50,322 - root - INFO - step: 10  loss:  6.1384  memory: 49.66GiB(52.28%)  tps: 5,856  tflops: 339.16  mfu: 34.29%"
    rng = random.Random(1)
    data = ("\n".join(_redrawn(line, rng) for _ in range(200)) + "\n").encode()
    got, columns = both(data, "torchtitan")
    assert columns == 200
    assert {r.rank for r in got} == {3}
    assert len({r.t for r in got}) > 30 and all(r.t > 1.7e9 for r in got)


def test_stamped_rows_inside_an_open_traceback() -> None:
    """Step rows after a logged traceback's header (another rank's, interleaved), twice: the first runs on
    past the detector's cap of lines, whose row is read line by line and must keep its time (the batch once
    lost its times there and `runwatch check` failed on it); the second is cut off by the end and reports
    the last indented line it saw, as line by line (Megatron's step lines start with a blank)."""
    stamped = [x for x in REAL["megatron"]() if re.match(r" \[\d{4}-", x)]
    assert stamped
    rng = random.Random(7)
    rows = [_redrawn(rng.choice(stamped), rng) for _ in range(300)]
    header = ["Traceback (most recent call last):"]
    text = "\n".join(rows[:40] + header + rows[40:295] + header + rows[295:]) + "\n"  # 255 rows, then 5
    for sizes in [(1 << 20,), (4096,), (700, 3000, 50)]:
        got, chunks = check(text.encode(), sizes, fmt="megatron")
        steps = [r for r in got if r.kind == Kind.STEP]
        assert len(steps) > 280 and all(r.t > 1.7e9 for r in steps)
        assert fast_rows(chunks) >= 250
        [tb] = [r for r in got if r.event is not None]
        assert tb.message == rows[-1].strip()


BAR_AND_STEP = next(x for x in json_excerpt("excerpts_deepspeed.json", "Excerpt D4 ") if "█" in x and "step=" in x)
"""HF Trainer's tqdm bar with no newline, then DeepSpeed's step line (`…3.33s/it][2021-11-26 03:07:16,494] [INFO]…`)."""


def test_a_step_line_behind_a_progress_bar_is_read_in_columns() -> None:
    """The bar's `█` is no ASCII: such a line is learned from its text and read by its UTF-8 bytes (10% of the
    DeepSpeed benchmark log once went line by line for it, at 5x the cost of the rest)."""
    rng = random.Random(3)
    data = ("\n".join(_redrawn(BAR_AND_STEP, rng) for _ in range(200)) + "\n").encode()
    for sizes in [(1 << 20,), (4096,)]:
        got, columns = both(data, "deepspeed", sizes)
        assert columns == len(got) == 200
    assert all(r.rank is not None and r.t > 1.6e9 and "lr" in r.metrics for r in got)


def test_bar_and_step_rows_inside_an_open_traceback() -> None:
    """Such rows while the crash detector holds a traceback open are read one by one (their bytes decoded as
    the line splitter decodes them, not as ASCII) or skipped as indented lines (the bar starts with blanks)."""
    rng = random.Random(9)
    rows = [_redrawn(BAR_AND_STEP, rng) for _ in range(300)]
    header = ["Traceback (most recent call last):"]
    text = "\n".join(rows[:40] + header + rows[40:295] + header + rows[295:]) + "\n"
    for sizes in [(1 << 20,), (4096,), (700, 3000, 50)]:
        got, chunks = check(text.encode(), sizes, fmt="deepspeed")
        assert sum(r.kind == Kind.STEP for r in got) == 300
        assert fast_rows(chunks) >= 250
        [tb] = [r for r in got if r.event is not None]
        assert tb.message == rows[-1].strip()


def test_a_line_whose_label_holds_another_digit_is_not_learned() -> None:
    """`loss٣=` (an Arabic-Indic three in a key): the per-line path reads it with that digit made U+FFFD
    (runwatch.parsers.boundary), so a layout learned from the line as it is would name the metric otherwise."""
    line = next(x for x in REAL["kv"]() if " loss=" in x).replace(" loss=", " loss\u0663=")
    rng = random.Random(4)
    data = ("\n".join(_redrawn(line, rng) for _ in range(50)) + "\n").encode()
    got, columns = both(data, "kv")
    assert columns == 0 and len(got) == 50


class _Counting(MegatronParser):
    """Megatron's parser, counting the lines it is asked about (the learner's probes included); a name of its
    own, so that no layout learned for `megatron` by another test serves it."""

    name = "counted-megatron"
    calls = 0

    def parse(self, line: str) -> Record | None:
        type(self).calls += 1
        return super().parse(line)


def test_lines_without_an_anchor_cost_no_learning() -> None:
    """The anchor (`iteration `) is looked for once per line shape, in its first line: noise, however much of
    it and in however many shapes, is never parsed to be learned nor kept among the layouts (it would evict
    the step lines' from the bounded store), and its lines go to the per-line parser."""
    noise = "\n".join(_noise() * 20) + "\n"
    spec = FastFormat.learned(_Counting, _Counting.learn_anchors or ())
    _Counting.calls = 0
    batch, rest = _Chunk(spec, noise.encode(), frozenset(), ()).run()
    assert _Counting.calls == 0 and len(batch) == 0 and len(rest) == noise.count("\n")
    assert not [key for key in columnar._LEARNED if key[0] == _Counting.name]  # nor takes the step lines' room
    line = REAL["megatron"]()[0]
    batch, rest = _Chunk(spec, (noise + line + "\n").encode(), frozenset(), ()).run()
    assert len(batch) == 1 and 0 < _Counting.calls < 200


WANDB_DEBUG = FIXTURES / "realruns/hf-wandb-healthy/run/wandb/offline-run-20261122_103548-wj8itjmi/logs/debug.log"


class _Tried(_Chunk):
    """A chunk counting the line shapes it tries."""

    def _layout_group(self, rows: Any, words: Any, length: int) -> Any:
        self.tried = getattr(self, "tried", 0) + 1
        return super()._layout_group(rows, words, length)


def test_lines_that_all_differ_are_searched_for_the_anchor_not_tried_one_by_one() -> None:
    """W&B's `… Run object at 0x7fa11200c650>>` line (run lab recording), its address redrawn on every line:
    each line is a shape of its own. Past a few dozen such shapes the chunk is searched for the anchor once,
    instead of trying thousands of shapes (ten times the cost of reading those lines one by one)."""
    line = next(x for x in WANDB_DEBUG.read_text(encoding="utf-8").splitlines() if "object at 0x" in x)
    rng = random.Random(6)
    noise = [re.sub(r"0x[0-9a-f]+", lambda m: "0x" + "".join(rng.choice("0123456789abcdef") for _ in m.group()[2:]),
                    line) for _ in range(3000)]
    steps = [_redrawn(x, rng) for x in REAL["megatron"]()] * 5
    data = ("\n".join(noise + steps) + "\n").encode()
    spec = fast_format("megatron")
    assert spec is not None
    chunk = _Tried(spec, data, frozenset(), ())
    batch, rest = chunk.run()
    assert chunk.tried < 300 and len(batch) > len(steps) // 2
    got, columns = both(data, "megatron")
    assert columns == len(batch)


def test_an_anchor_with_a_digit_is_refused() -> None:
    """Rows of one shape differ in their digits only: an anchor with a digit cannot be looked for per shape."""
    with pytest.raises(ValueError, match="digit"):
        FastFormat.learned(MegatronParser, (b"bf16 ",))
    for name in registry.format_names():
        parser = registry.parser_class(name)
        assert not any(c.isdigit() for a in parser.learn_anchors or () for c in a.decode()), name


# -- the learner ---------------------------------------------------------------------------------------

MEGATRON = (" [2024-04-06 03:02:12] iteration       71/     100 | consumed samples:         9088 | elapsed time per "
            "iteration (ms): 5361.6 | learning rate: 1.420000E-05 | global batch size:   128 | lm loss: 1.818812E+00 |"
            " loss scale: 1.0 | grad norm: 1.300 | number of skipped iterations:   0 | number of nan iterations:   0 |")


def test_a_step_computed_from_several_integers() -> None:
    """The tutorial loop's `Epoch [3/5], Step [90/120]`: its four integers are columns the format's own
    `Counters` computes step (3 - 1) * 120 + 90 and total 5 * 120 from, on every row of the layout; rows
    the parser finds no step in (`Epoch [0/5]`) or whose integers would overflow the columns go per line."""
    line = next(x for x in REAL["bracketed"]() if x.startswith("Epoch [3/5], Step [90/120]"))
    found = learn(BracketedParser().parse, line, BracketedParser.learn_counters)
    assert found is not None
    assert {s.name: line[s.lo:s.hi] for s in found.counted} == {"epoch": "3", "epochs": "5", "inner": "90",
                                                                "per_epoch": "120"}
    assert [s.name for s in found.spans] == ["loss"]
    rows = [line.replace("[3/5]", f"[{e}/5]").replace("[90/", f"[{s}/") for e in (1, 2, 4, 5, 0) for s in (10, 99)]
    # one layout: E * S = 10**18 fits an int64, 999999999 * 99999999999 does not (a Python int holds it)
    big = [line.replace("[3/5]", f"[3/{e}]").replace("/120]", f"/{s}]")
           for e, s in ((100000000, 10000000000), (999999999, 99999999999))]
    data = ("\n".join([line, *rows, *big]) + "\n").encode()
    got, columns = both(data, "bracketed")
    assert columns == 1 + 8  # `[0/5]` gives no record; integers past 2**31 go per line
    assert [(r.step, r.total_steps) for r in got[:3]] == [(330, 600), (10, 600), (99, 600)]
    assert got[-1].step == 2 * 99999999999 + 90  # read per line (whose boundary check drops the total)


def test_megatron_line_fields() -> None:
    found = learn(MegatronParser().parse, MEGATRON)
    assert found is not None
    spans = {s.name: (MEGATRON[s.lo:s.hi], s.scale) for s in found.spans}
    assert spans[STEP] == ("71", 1.0) and spans[TOTAL] == ("100", 1.0)
    assert spans[TIME] == ("2024-04-06 03:02:12", 1.0)
    assert spans["step_time"] == ("5361.6", -1000.0)  # ms → s, as the parser divides
    assert spans["lr"] == ("1.420000E-05", 1.0) and spans["loss"] == ("1.818812E+00", 1.0)
    assert set(spans) == {STEP, TOTAL, TIME, *found.record.metrics}


def test_a_logged_nan_or_inf_is_a_constant_of_its_layout() -> None:
    """`grad norm: nan` (an fp16 run's every line in the corpus) and `lm loss: inf`: the word is the same on
    every row of the shape, so the value is too; the rows stay columns, NaN logged, not absent."""
    line = MEGATRON.replace("grad norm: 1.300", "grad norm: nan").replace("lm loss: 1.818812E+00", "lm loss: -inf")
    found = learn(MegatronParser().parse, line)
    assert found is not None
    words = {s.name: s.constant for s in found.spans if s.constant is not None}
    assert math.isnan(words["grad_norm"]) and words["loss"] == -math.inf
    rng = random.Random(5)
    data = ("\n".join(_redrawn(line, rng) for _ in range(100)) + "\n").encode()
    got, columns = both(data, "megatron")
    assert columns == len(got) > 80  # the rest stepped far past their redrawn totals: no step lines at all
    assert all(math.isnan(r.metrics["grad_norm"]) and r.metrics["loss"] == -math.inf for r in got)
    batch = extract_steps("megatron", data)
    assert batch is not None and batch[0].present["grad_norm"].all()


def test_a_line_no_layout_can_read_costs_one_parse_not_a_probe_per_number() -> None:
    """RARE-3D's PPO bar with `global_step=4198.0000` glued on: the step is no token of digits alone, so no
    layout can read it; learning says so before probing any number (it probed all twelve, each a parse of
    the whole line, for nearly every line of a log whose every line is a shape of its own)."""
    lines = [x for x in found_lines("rare3d_ppo_bar_kv_glued.log.gz") if "global_step=" in x]
    assert len(lines) == 2000
    calls = 0

    def counted(line: str) -> Record | None:
        nonlocal calls
        calls += 1
        return KeyValueParser().parse(line)

    for line in lines[::97]:
        calls = 0
        rec = KeyValueParser().parse(line)
        assert rec is not None and rec.step is not None and str(rec.step) + ".0000" in line
        assert learn(counted, line) is None
        assert calls == 1, line
    cut = lines[100][: lines[100].index(" global_step=")]  # the same line without it is learned, with probes
    calls = 0
    found = learn(counted, cut)
    assert found is not None and calls > 1
    assert {s.name for s in found.spans} >= {STEP, "episode", "return", "length", "step_time"}


def test_a_nan_word_that_is_no_value_is_not_a_constant() -> None:
    """`number of nan iterations` has `nan` as a word of a key: changing it changes the key, not a value."""
    found = learn(MegatronParser().parse, MEGATRON)
    assert found is not None and all(s.constant is None for s in found.spans)


def test_digits_in_a_key_are_a_label() -> None:
    line = "step=10 loss=2.5000 grad_norm:p2 3.388"
    found = learn(KeyValueParser().parse, line)
    assert found is not None
    assert [line[lo:hi] for lo, hi in found.literals] == ["2"]
    assert "grad_norm_p2" in found.record.metrics


def test_launcher_rank_and_deepspeeds_own_rank() -> None:
    line = "[rank5]:step=10 loss=2.5000 lr=0.0003"
    found = learn(KeyValueParser().parse, line)
    assert found is not None and found.record.rank == 5
    assert [line[s.lo:s.hi] for s in found.spans if s.name == RANK] == ["5"]
    ds = ("[2022-03-11 02:06:58,985] [INFO] [logging.py:69:log_dist] [Rank 0] step=1, skipped=2, lr=[5e-05], "
          "mom=[[0.9, 0.999]]")
    found = learn(DeepSpeedParser().parse, ds)
    assert found is not None and found.record.rank == 0
    assert [ds[s.lo:s.hi] for s in found.spans if s.name == RANK] == ["0"]
    assert ("69" in [ds[lo:hi] for lo, hi in found.literals]) or all(ds[s.lo:s.hi] != "69" for s in found.spans)


class _Threshold(KeyValueParser):
    """A parser that tests a value (drops a zero loss): its lines must not be learned."""

    def parse(self, line: str) -> Record | None:
        rec = super().parse(line)
        if rec is not None and rec.metrics.get("loss") == 0.0:
            return Record(rec.kind, rec.step, rec.total_steps, rec.rank, rec.t,
                          {k: v for k, v in rec.metrics.items() if k != "loss"})
        return rec


class _Rounds(KeyValueParser):
    """A parser that rounds a value: no fixed factor reads it, so it is not learned."""

    def parse(self, line: str) -> Record | None:
        rec = super().parse(line)
        if rec is not None and "loss" in rec.metrics:
            rec.metrics["loss"] = round(rec.metrics["loss"], 1)
        return rec


@pytest.mark.parametrize("parser", [_Threshold, _Rounds])
def test_a_parser_that_tests_or_rounds_a_value_is_not_learned(parser: type[KeyValueParser]) -> None:
    line = "step=10 loss=2.5000 lr=0.0003"  # read alike by all three: only other digits tell them apart
    assert learn(KeyValueParser().parse, line) is not None
    assert parser().parse(line) == KeyValueParser().parse(line)
    assert learn(parser().parse, line) is None


def test_thousands_separators_and_free_digits() -> None:
    line = "[titan] 2025-06-16 22:30:50,322 - root - INFO - step: 10  loss:  6.1384  tps: 5,856"
    found = learn(TorchtitanParser().parse, line)
    assert found is not None
    assert {s.name: line[s.lo:s.hi] for s in found.spans}["tokens_per_sec"] == "5,856"


# -- local times ------------------------------------------------------------------------------------------

@pytest.fixture
def new_york() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()
        from runwatch.parsers import digits, fields
        fields.local_seconds.cache_clear()
        digits.minute_start.cache_clear()


def test_stamps_across_daylight_saving_and_impossible_ones(new_york: None) -> None:
    """The hour that does not exist (2024-03-10 02:xx), the one that comes twice (2024-11-03 01:xx), a
    month 13 and a second 60: the columns give what the parser gives, or leave the line to it."""
    from runwatch.parsers import digits, fields
    fields.local_seconds.cache_clear()
    digits.minute_start.cache_clear()
    stamps = ["2024-03-10 01:59:59", "2024-03-10 02:30:00", "2024-03-10 03:00:01", "2024-11-03 00:59:59",
              "2024-11-03 01:30:00", "2024-11-03 02:00:00", "2024-13-01 00:00:00", "2024-02-30 00:00:00",
              "2024-06-01 12:00:60", "2024-06-01 12:00:59"]
    lines = [MEGATRON.replace("2024-04-06 03:02:12", s).replace("      71/", f"{70 + i:9d}/").replace("/     100", "/  100000")
             for i, s in enumerate(stamps * 20)]
    data = ("\n".join(lines) + "\n").encode()
    got, columns = both(data, "megatron")
    assert columns > 100
    assert len(got) == 7 * 20  # month 13, Feb 30 and second 60 are no time: the parser reads no record
    found = extract_steps("megatron", data)
    assert found is not None and found[0].t is not None


def test_primus_rank_is_the_digits_before_the_world_size() -> None:
    """megatron.md M10 (`[20251202 06:56:28][rank-7/8]`, colour residue and all): the probe that moves the
    rank moves `7`; the stamp's digits and the world size `8` move nothing and stay free."""
    from tests.support.corpus import json_excerpt

    line = next(x for x in json_excerpt("excerpts_megatron.json", "Excerpt M10 ") if "rank-7/8" in x)
    found = learn(MegatronParser().parse, line)
    assert found is not None and found.record.rank == 7 and found.record.step == 4408
    (rank,) = (s for s in found.spans if s.name == RANK)
    assert line[rank.lo - len("rank-"):rank.hi + 2] == "rank-7/8"


def test_columns_carry_time_and_rank_only_where_lines_state_them() -> None:
    data = ("\n".join(f"step={i} loss=2.{i:04d} lr=0.0003" for i in range(50)) + "\n").encode()
    found = extract_steps("kv", data)
    assert found is not None
    batch, _ = found
    assert len(batch) == 50 and batch.t is None and batch.rank is None


def test_numbers_longer_than_a_float_holds_exactly_stay_columns() -> None:
    """DeepSpeed prints Python's repr of a float (`SamplesPerSec=83.48609168106144`, 16 digits), beyond
    what digit arithmetic gives exactly: such a column is float() of its rebuilt text, thousands
    separators dropped as the parser drops them."""
    ds = ("[2021-11-26 03:07:16,494] [INFO] [timer.py:181:stop] 0/2000, SamplesPerSec=9.526738918021234, "
          "MemAllocated=0.26GB, MaxMemAllocated=9.02GB")
    kv = "step=12 loss=2.5000 tokens=1,234,567,890,123,456"
    for fmt, line in (("deepspeed", ds), ("kv", kv)):
        rng = random.Random(2)
        data = ("\n".join(_redrawn(line, rng) for _ in range(300)) + "\n").encode()
        got, columns = both(data, fmt)
        assert columns == len(got) > 250, fmt
    assert {r.metrics["tokens"] for r in got} != {1234567890123456.0}
