"""The noise screen: lines no reader acts on are counted in bulk, and that changes nothing.

The reference is the per-line way (`SourceParser(fast_path=False)`): every
line read by `_line`. The screened bulk way (`feed_bytes`, and `feed` of a
large batch) must give the same records, in the same order, the same
counts and the same ParseFailures, for every real line the fixtures hold:
the run lab's recordings (raw, with their `\\r` bars and escapes) and the
corpus copy, each format's own step lines put among them so that the
screened lines sit in runs of step rows, as in a log.
"""

from __future__ import annotations

import gzip
import json
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch import patterns
from runwatch.model import Event, Kind
from runwatch.parsers.columnar import extract_steps, fast_format
from runwatch.parsers.events import WAKES, EventDetector
from runwatch.parsers.prefix import PREFIXED, split_rank
from runwatch.parsers.reads import Reads
from runwatch.parsers.registry import format_names, make_parser, parser_class
from runwatch.parsers.screen import Screen, screen_for
from runwatch.parsers.source import FEED_BULK, REDETECT_AFTER, SourceParser
from runwatch.watcher.snapshot import split_block
from tests.support.corpus import CORPUS
from tests.support.fast_path_logs import cut
from tests.support.paths import FIXTURES
from tests.support.readers import T, chunked, fast_rows, js, per_line
from tests.support.realruns import REALRUNS

SCREENED = [name for name in format_names() if parser_class(name).reads is not None]


@cache
def fixture_lines() -> tuple[bytes, ...]:
    """Every physical line of the fixtures (once each, in order): the run lab's train.log files as they
    are, then the corpus copy (its notes, its excerpts, its raw logs)."""
    data = [p.read_bytes() for p in sorted(REALRUNS.glob("*/run/train.log"))]
    data += [p.read_bytes() for p in sorted(CORPUS.glob("*.md"))]
    for p in sorted((CORPUS / "raw").glob("excerpts_*.json")):
        found = json.loads(p.read_text(encoding="utf-8"))
        items = [e for v in found.values() for e in v] if isinstance(found, dict) else found
        data += [(e["t"] if isinstance(e, dict) else e).encode() + b"\n" for e in items]
    data += [p.read_bytes() for p in sorted((CORPUS / "raw").glob("*.log"))]
    data += [p.read_bytes() for p in sorted((FIXTURES / "found").glob("olmo_*.log"))]  # olmo's only real lines
    data += [(FIXTURES / "found" / "imagenet_example_torchelastic.log").read_bytes()]  # and the meters'
    wsdan = gzip.decompress((FIXTURES / "found" / "wsdan_sac_imagenet_meters.log.gz").read_bytes())
    data += [b"\n".join(wsdan.split(b"\n")[490:1000]) + b"\n"]  # its first epoch and evaluation
    data += [(FIXTURES / "found" / "yolov5_cots_300ep_terminal.log").read_bytes()]  # and YOLO's table
    basicsr = gzip.decompress((FIXTURES / "found" / "basicsr_iqa_torchrun_nohup.out.gz").read_bytes())
    data += [b"\n".join(basicsr.split(b"\n")[695:709] + basicsr.split(b"\n")[710:720]) + b"\n"]  # its lines, no bar
    data += [(FIXTURES / "found" / "hrnet_zero_based_epochs_head.log").read_bytes()]  # the 0-based bracketed form
    data += [(FIXTURES / "found" / "sttn_gan_losses_in_bar_description.out").read_bytes()]  # losses in a bar's desc
    data += [(FIXTURES / "found" / "fadnet_epoch_table_nan_last_launch.log").read_bytes()]  # a tab-separated table
    paddle = gzip.decompress((FIXTURES / "found" / "paddle_hapi_fit_chexnet_earlystop.log.gz").read_bytes())
    data += [b"\n".join(paddle.split(b"\n")[:100]) + b"\n"]  # Model.fit's epoch, steps and evaluation
    slowfast = gzip.decompress((FIXTURES / "found" / "slowfast_meccano_multilaunch.log.gz").read_bytes())
    data += [b"\n".join(slowfast.split(b"\n")[7470:7480] + slowfast.split(b"\n")[7824:7828]) + b"\n"]  # PySlowFast's
    marian = (FIXTURES / "found" / "marian_europarl_concat.log").read_bytes()
    data += [b"\n".join(marian.split(b"\n")[185:240]) + b"\n"]  # Marian's displays, saves, validations, a traceback
    stgcn = gzip.decompress((FIXTURES / "found" / "stgcn_torchlight_relaunches.log.gz").read_bytes())
    data += [b"\n".join(stgcn.split(b"\n")[:40] + stgcn.split(b"\n")[1190:1215]) + b"\n"]  # torchlight's, Iter lines
    data += [(FIXTURES / "found" / "vits_ljs_base_first_losses_nan.log").read_bytes()]  # VITS's loss lists, a NaN's
    sovits = (FIXTURES / "found" / "sovits_svc_32k_relaunched.log").read_bytes()
    data += [b"\n".join(sovits.split(b"\n")[:60]) + b"\n"]  # so-vits-svc's, its saves and epochs
    data += [(FIXTURES / "found" / name).read_bytes() for name in (  # ESPnet2's reports, results, finish
        "espnet2_asr_reports_excerpt.log", "espnet2_epoch_results_finished_excerpt.log")]
    data += [(FIXTURES / "found" / "stylegan2ada_wsi1024.log").read_bytes()]  # StyleGAN's ticks, its FID's JSON line
    data += [(FIXTURES / "printed" / f"{name}.log").read_bytes() for name in (  # gradient boosting's rounds, stops
        "xgboost_early_stop", "lightgbm_early_stop", "catboost_overfitting_detector")]
    data += [(FIXTURES / "printed" / f"{name}.log").read_bytes() for name in (  # Model Garden's pprinted dicts
        "orbit_nan", "tf_od_api_nan")]
    nnunet = (FIXTURES / "found" / "nnunet_soilct_early_stopping_finished.log").read_bytes()
    data += [b"\n".join(nnunet.split(b"\n")[:80] + nnunet.split(b"\n")[-20:]) + b"\n"]  # nnU-Net's set-up, epochs, end
    data += [(FIXTURES / "found" / "monai_tutorial_densenet_classification.log").read_bytes()]  # MONAI's tutorial loop
    lines = b"".join(x if x.endswith(b"\n") else x + b"\n" for x in data).split(b"\n")[:-1]
    return tuple(dict.fromkeys(lines))


@cache
def step_line(fmt: str) -> bytes:
    """A real line of the fixtures that `fmt`'s fast path reads as a step row; for a format with no fast path
    (BasicSR's, read per line), one its parser reads as a step record with a loss, or with none where the format
    prints none (StyleGAN's ticks)."""
    lossless = None
    for line in fixture_lines():
        found = extract_steps(fmt, line + b"\n")
        if found is None:
            rec = make_parser(fmt).parse(line.decode("utf-8", "replace"))
            if rec is not None and rec.kind is Kind.STEP:
                if "loss" in rec.metrics:
                    return line
                lossless = lossless or line
        elif len(found[0]):
            return line
    assert lossless is not None and fmt in LOSSLESS, f"no fixture line is a step row of {fmt}"
    return lossless


LOSSLESS = frozenset({"stylegan", "boosting"})
"""Formats whose step lines show no loss (StyleGAN's go to its `stats.jsonl`; gradient boosting's show its sets' metrics)."""


def among_steps(fmt: str, every: int = 3) -> bytes:
    """The fixture lines with a step line of `fmt` after every `every`-th: noise in runs of step rows."""
    out: list[bytes] = []
    step = step_line(fmt)
    for i, line in enumerate(fixture_lines()):
        out.append(line)
        if i % every == every - 1:
            out.append(step)
    return b"\n".join(out) + b"\n"


def both_ways(data: bytes, sizes: tuple[int, ...], **kw: object) -> tuple[SourceParser, SourceParser]:
    """Read `data` the per-line way and the screened bulk way; assert they agree in everything."""
    pieces = cut(data, sizes)
    want, ref = per_line(pieces, **kw)
    got, sp, chunks = chunked(pieces, **kw)
    assert js(got) == js(want)
    assert (sp.lines, sp.records, sp.format) == (ref.lines, ref.records, ref.format)
    assert sp.failures.counts == ref.failures.counts
    assert sp.preamble == ref.preamble
    fmt = kw.get("fmt")
    assert fast_rows(chunks) > 0 or (isinstance(fmt, str) and fast_format(fmt) is None)  # the screen alone
    return sp, ref


# -- every fixture line, every screened format ---------------------------------------------------

@pytest.mark.parametrize("fmt", SCREENED)
@pytest.mark.parametrize("sizes", [(1 << 22,), (5000, 700)])
def test_every_fixture_line_reads_alike_screened(fmt: str, sizes: tuple[int, ...]) -> None:
    both_ways(among_steps(fmt), sizes, fmt=fmt)


def test_every_fixture_line_reads_alike_with_the_format_detected() -> None:
    """Detection, re-detection's count and kept lines, as the per-line way makes them (no `--format`)."""
    both_ways((step_line("picollm") + b"\n") * 100 + among_steps("picollm", 40), (1 << 22, 3000))


def test_a_switch_in_a_long_stretch_of_noise_is_where_per_line_makes_it() -> None:
    """A nanochat log, then thousands of fixture lines it reads nothing from: re-detection scores its
    sample every 2000th record-less line, inside the screened runs, and switches to a format it finds
    there (Composer's), as the per-line way does, at the same line."""
    noise = [x for x in fixture_lines() if x.isascii() and make_parser("picollm").parse(x.decode()) is None]
    assert len(noise) > 4000
    sp, _ = both_ways(b"\n".join([step_line("picollm")] * 100 + noise) + b"\n", (1 << 22, 3000))
    assert sp.format not in (None, "picollm")


def test_a_switch_in_a_run_of_unread_lines_is_where_per_line_makes_it() -> None:
    """The 2000th record-less line inside a run the screen leaves (noise, then Megatron's step lines,
    which nanochat's screen leaves too): re-detection scores there, not at the next line it reads."""
    screen = screen_for("picollm")
    assert screen is not None
    lines = list(fixture_lines())
    left = [x for x, f in zip(lines, screen.flag(lines), strict=True) if not f]
    mega = [x for x in left if b"iteration" in x and b"lm loss" in x]
    noise = [x for x in left if not any(make_parser(f).score(x.decode()) for f in format_names())]
    noise = (noise * 2)[: REDETECT_AFTER - 10]  # no format's line: the switch is Megatron's, on its lines
    assert len(mega) > 5 and len(noise) == REDETECT_AFTER - 10
    data = b"\n".join([step_line("picollm")] * 500 + noise + mega * 5) + b"\n"
    assert not screen.flag(noise + mega).any()
    sp, _ = both_ways(data, (1 << 22,))
    assert sp.format == "megatron"


def test_the_screen_leaves_most_noise() -> None:
    """Else the fast path reads every noise line after all, and nothing above would notice."""
    screen = screen_for("picollm")
    assert screen is not None
    noise = [x for x in fixture_lines() if make_parser("picollm").parse(x.decode("utf-8", "replace")) is None]
    assert 0.05 * len(noise) < screen.flag(noise).sum() < 0.5 * len(noise)


@pytest.mark.parametrize("fmt", SCREENED)
def test_a_line_the_screen_leaves_is_nothing_to_any_reader(fmt: str) -> None:
    """Each fixture line alone: unflagged, the format parser reads nothing from it, the crash detector
    only counts it, and no rank prefix comes off it (the per-line way would do nothing else)."""
    screen = screen_for(fmt)
    assert screen is not None
    lines = list(fixture_lines())
    left = [line.decode("ascii") for line, flagged in zip(lines, screen.flag(lines), strict=True) if not flagged]
    assert len(left) > 1000
    for line in left:
        parser, events = make_parser(fmt), EventDetector()
        assert parser.parse(line) is None, line
        assert events.feed(line) is None and events.idle, line
        assert split_rank(line) == (None, line), line


# -- the screen is the readers' own description ----------------------------------------------------

_TEXTS = sorted({*WAKES.heads, *WAKES.holds, *(h for n in SCREENED for r in [parser_class(n).reads] if r
                                                 for h in (*r.heads, *r.holds))})


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_TEXTS), st.sampled_from([" ", "\t", "^[", "[rank3]:", "3: ", "epoch"]),
                          st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12)),
                max_size=6).map("".join))
def test_a_line_a_reader_admits_is_flagged(line: str) -> None:
    """Whatever a reader's gate admits (the format parser's `parse` reads nothing else), the screen made
    from the same `Reads` flags, alone and among other lines."""
    for fmt in SCREENED:
        reads = parser_class(fmt).reads
        assert reads is not None
        for r, rest in ((reads, ""), (WAKES, ""), (PREFIXED, "")):
            if r.admits(line + rest):
                screen = Screen([r])
                lines = [b"x", line.encode(), b"  y"]
                assert screen.flag(lines).tolist()[1], (fmt, line)


def test_a_rank_prefix_is_flagged_as_split_rank_takes_it() -> None:
    screen = Screen([PREFIXED])
    lines = ["[rank3]: step 1", "  3: step 1", "   x: 1", "192.168.50.170: hi", "(APIServer pid=1) up", "12:30:01 up"]
    flags = screen.flag([x.encode() for x in lines]).tolist()
    assert flags == [split_rank(x)[1] != x for x in lines] == [True, True, False, True, True, False]


def test_lines_that_are_not_plain_are_flagged() -> None:
    """Their text is not their bytes: escapes, `\\r`, other encodings, control bytes, over-long lines."""
    lines = [b"a\x1b[0m", b"x\ry", "caf\xe9".encode(), b"\x0bstep 1", b"a" * 5000, b"plain"]
    assert Screen([Reads()]).flag(lines).tolist() == [True] * 5 + [False]


def test_reads_join_and_refuse_two_patterns() -> None:
    a, b = Reads(heads=("x",), holds=("y",)), Reads(heads=("x", "z"), lowered=patterns.compile("q"))
    assert (a | b).heads == ("x", "z") and (a | b).holds == ("y",)
    with pytest.raises(ValueError, match="two"):
        _ = b | Reads(lowered=patterns.compile("r"))


def test_the_settings_before_the_first_step_are_collected_alike() -> None:
    """The speedrun prints its settings among GC lines and a banner: every line before the first step row
    goes to the settings collector, as per line, whatever the screen says of it."""
    sp, _ = both_ways((CORPUS / "raw" / "nanochat_pr492_speedrun_d24_feb01.training_output.log").read_bytes(),
                      (1 << 20, 9000), fmt="picollm")
    assert sp.preamble is not None and len(sp.preamble.settings) > 10


# -- tracebacks: their frames in runs ------------------------------------------------------------

def test_frames_between_step_rows_count_the_steps() -> None:
    """Another rank's step lines between a traceback's frames: training went on (ten and more), so a
    traceback cut off by the end is no crash; the frames' runs end at each step row, which is counted."""
    step = step_line("picollm").decode()
    frames = [f'  File "a.py", line {i}, in f' for i in range(12)]
    lines = [step, "Traceback (most recent call last):", *(x for f in frames for x in (f, step))]
    sp, _ = both_ways(("\n".join(lines) + "\n").encode(), (1 << 20,), fmt="picollm")
    assert not [r for r in per_line([("\n".join(lines) + "\n").encode()], fmt="picollm")[0] if r.kind is Kind.EVENT]

def test_a_header_alone_reaches_the_cap_among_frames_as_per_line() -> None:
    """A logged header with no exception line: the detector closes it on its 200th line, a frame here."""
    step = step_line("picollm").decode()
    lines = [step, "Traceback (most recent call last):", *(f"    frame {i}" for i in range(250)), step, step]
    sp, _ = both_ways(("\n".join(lines) + "\n").encode(), (1 << 20,), fmt="picollm")
    assert sp.holds_block is False


@pytest.mark.parametrize("inside", [
    "    step 5/100 (5.00%) | loss: 2.0 | lrm: 1.00 | dt: 1.00ms | tok/sec: 1,000 | mfu: 1.00 | total time: 0.10m",
    "  [rank1]: x",
    "    raise RuntimeError('CUDA out of memory')",
    "",
    "    ^^^^^^^",
])
def test_frames_a_reader_wants_are_read(inside: str) -> None:
    """Indented lines inside a traceback that the parser reads (an indented step line), that hold a rank
    prefix or a needle, or say nothing (blank, carets): the same as per line, for the last frame too."""
    step = step_line("picollm").decode()
    lines = [step, "Traceback (most recent call last):", '  File "a.py", line 1, in f', inside, "    x = 1", inside]
    for end in ([], ["ValueError: bad"]):
        both_ways(("\n".join([*lines, *end, step]) + "\n").encode(), (1 << 20,), fmt="picollm")


def test_a_traceback_s_record_is_the_per_line_one() -> None:
    step = step_line("nanogpt").decode()
    tb = ["Traceback (most recent call last):", '  File "train.py", line 3, in <module>', "    main()",
          "    ~~~~^^", "IndexError: index 4 is out of bounds"]
    sp, _ = both_ways(("\n".join([step, *tb, step] * 20) + "\n").encode(), (1 << 20, 333), fmt="nanogpt")
    recs = per_line([("\n".join([step, *tb, step]) + "\n").encode()], fmt="nanogpt")[0]
    (event,) = [r for r in recs if r.kind is Kind.EVENT]
    assert event.event == Event.TRACEBACK and event.line == 6


# -- feed of a large batch -----------------------------------------------------------------------------

def test_feed_of_a_large_batch_is_the_bulk_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """A follower's catch-up (many lines in one `feed`) goes the way `parse` reads a chunk: the screen
    leaves most noise unread, and the records are the per-line way's."""
    data = among_steps("picollm")
    lines = split_block(data)
    want = per_line([data], fmt="picollm")[0]
    read: list[str] = []
    real = SourceParser._line

    def counted(self: SourceParser, raw: str, lineno: int, t: float, out: list) -> None:  # type: ignore[type-arg]
        read.append(raw)
        real(self, raw, lineno, t, out)

    monkeypatch.setattr(SourceParser, "_line", counted)
    sp = SourceParser("log", fmt="picollm")
    got = [r for i in range(0, len(lines), 5000) for r in sp.feed(lines[i : i + 5000], i + 1, T)] + sp.flush()
    assert js(got) == js(want)
    assert len(read) < 0.4 * len(lines)  # the rest: bars (not ASCII), their frames, tracebacks, and such


def test_feed_of_a_few_lines_goes_per_line(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = split_block(among_steps("picollm"))[: FEED_BULK - 1]
    calls: list[int] = []
    monkeypatch.setattr(SourceParser, "feed_bytes", lambda *a, **k: calls.append(1))
    SourceParser("log", fmt="picollm").feed(lines, 1, T)
    assert not calls


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text("abe: gn", min_size=1, max_size=6).map(str.encode), min_size=1, max_size=8),
       st.lists(st.text("abe: gn\t", max_size=30).map(str.encode), min_size=1, max_size=20))
def test_the_texts_found_are_those_a_line_holds(texts: list[bytes], lines: list[bytes]) -> None:
    """Texts of few characters over lines of the same few: many hits of each pair, most not the text (the
    second pair's sieve and the whole text's check both at work)."""
    screen = Screen([Reads(holds=tuple(t.decode() for t in texts))])
    assert screen.flag(lines).tolist() == [any(t in line for t in texts) for line in lines]
