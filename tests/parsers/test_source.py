"""SourceParser end to end (rank prefix → crash events → detected format), on real log text from
tests/fixtures/corpus: held lines, ranks, events among step lines, time stamps, flush, fixed format,
re-detection, and arbitrary input.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runwatch.model import Event, Kind, Record
from runwatch.parsers import source as source_module
from runwatch.parsers.registry import FORMATS, UnknownFormatError
from runwatch.parsers.source import DETECT_MAX_LINES, REDETECT_AFTER, SourceParser
from tests.support.corpus import CORPUS, json_excerpt, md_block, raw_lines

SPEEDRUN = "nanochat_pr492_speedrun_d24_feb01.training_output.log"
SFT = "nanochat_pr657_sft_run.log"
OTHERS = "excerpts_torchtitan_composer_axolotl_accelerate.json"


def ex(file: str, tag: str, group: str | None = None) -> tuple[str, ...]:
    return json_excerpt(file, f"{tag} ", group)


def failure(tag: str) -> tuple[str, ...]:
    return json_excerpt("excerpts_failures.json", f"{tag} ")


def run(sp: SourceParser, lines: Sequence[str], batch: int | None = None, first: int = 1,
        t0: float = 1000.0, flush: bool = True) -> list[Record]:
    """Feed `lines` in batches of `batch` (all at once by default), batch k read at t0 + k; then flush."""
    out: list[Record] = []
    size = batch or max(1, len(lines))
    for k, start in enumerate(range(0, len(lines), size)):
        out += sp.feed(lines[start:start + size], first + start, t0 + k)
    if flush:
        out += sp.flush()
    return out


def brief(recs: Sequence[Record]) -> list[tuple[str, int | None, int]]:
    """(kind or event, step, line) of each record."""
    return [(r.event or str(r.kind), r.step, r.line) for r in recs]


def line_no(lines: Sequence[str], fragment: str, first: int = 1) -> int:
    """The number of the first of `lines` holding `fragment`."""
    return next(i for i, x in enumerate(lines) if fragment in x) + first


G1 = md_block("nanogpt_llmc.md", "Excerpt G1")  # nanoGPT A100 run: 25 iter lines, eval, checkpoint
L5 = md_block("nanogpt_llmc.md", "Excerpt L5")  # llm.c 1.5B start-up: allocations, `val loss`, steps 1-10


# ── held lines ──────────────────────────────────────────────────────────────────────────────


def test_held_lines_come_out_at_the_deciding_line() -> None:
    """L5: `val loss 11.129390` (line 7) is only an llm.c maybe; `step    1/32000` (line 12) decides. Fed line
    by line, nothing comes out before line 12, then the held eval and step 1 together."""
    sp = SourceParser("l5.log")
    got = [sp.feed([line], i + 1, 10.0 + i) for i, line in enumerate(L5)]
    decide = line_no(L5, "step    1/32000")
    assert all(not recs for recs in got[:decide - 1])
    assert brief(got[decide - 1]) == [("eval", 0, 7), ("step", 1, 12)]
    val = got[decide - 1][0]
    assert val.metrics == {"val_loss": 11.12939}
    assert val.t == 16.0  # read at line 7's time, not at the deciding line's
    assert sp.format == "llmc"
    assert [r.step for r in itertools.chain.from_iterable(got[decide:]) if r.kind is Kind.STEP] == list(range(2, 11))


@pytest.mark.parametrize("batch", [1, 2, 5, 11, 12, 100])
def test_batching_does_not_change_the_records(batch: int) -> None:
    whole = run(SourceParser("l5.log"), L5, t0=5.0)
    split = run(SourceParser("l5.log"), L5, batch=batch, t0=5.0)
    assert [(r.kind, r.step, r.line, dict(r.metrics)) for r in split] == \
           [(r.kind, r.step, r.line, dict(r.metrics)) for r in whole]
    assert brief(whole)[:2] == [("eval", 0, 7), ("step", 1, 12)]
    assert len(whole) == 11  # val loss + steps 1-10; the `...` line is nothing


def test_held_records_and_events_come_out_in_line_order() -> None:
    """An event is never held back; within one batch the held records still come out in line order.
    L5 with F26's Hugging Face Hub retry warnings (a download stalls during start-up) after `val loss`."""
    at = line_no(L5, "val loss")
    lines = [*L5[:at], *failure("F26"), *L5[at:]]
    recs = SourceParser("x").feed(lines, 1, 0.0)
    assert [r.line for r in recs] == sorted(r.line for r in recs)
    # the retry burst (F26's four lines) is one event, at its first line
    assert brief(recs)[:3] == [("eval", 0, 7), ("dataloader_retry", None, 8), ("step", 1, 16)]


def test_an_event_among_held_lines_chooses_the_format_and_follows_their_steps() -> None:
    """D1 (pure DeepSpeed engine) never gives a signature line, so its records wait; an OOM among them chooses
    the format from what was read (as a follower's catch-up does) and goes out after their steps, in line
    order. Released at the end of the input instead, they came after it: `check` replayed the crash before the
    run's first step and said OK of a key=value run that died of an OOM."""
    d1 = ex("excerpts_deepspeed.json", "Excerpt D1")
    lines = [*d1[:13], failure("F4")[0], *d1[13:]]
    sp = SourceParser("ds.log")
    fed = sp.feed(lines, 1, 50.0)
    assert sp.format == "deepspeed"
    assert brief(fed) == [("step", 40, 1), ("step", 40, 2), ("step", 50, 13), ("oom", None, 14), ("step", 50, 15),
                          ("step", 60, 26)]
    assert len({r.t for r in fed if r.kind == Kind.STEP}) == 3 and 50.0 not in {r.t for r in fed if r.kind == Kind.STEP}
    assert sp.flush() == []


def test_an_event_before_any_known_line_is_out_at_once() -> None:
    """A crash before anything a format reads: no format can be chosen yet, and the event is not held."""
    start = ex(OTHERS, "Excerpt X1", "accelerate")  # accelerate's start-up: no step line, no event
    sp = SourceParser("x")
    fed = sp.feed([*start, *failure("F4")[:1]], 1, 50.0)
    assert brief(fed) == [("oom", None, len(start) + 1)] and sp.format is None


def test_an_event_among_held_lines_waits_for_them_when_the_format_is_chosen_later() -> None:
    """oumi's HF Trainer under DataParallel: one bar frame `0/1000` (line 10), the OOM traceback (its event at its line
    133), then tqdm's closing redraw of the frame (line 135). One frame is no format yet; the OOM, let out at once,
    went before the first frame, which the format chosen at the end read after it: a crash the next step went on
    from, and `check` said `ended` of a run that died. The event waits with the held lines, fed in one batch or
    line by line, a catch-up settling at the end."""
    from tests.support.found import found_lines

    lines = found_lines("oumi_dataparallel_oom_train.err")
    for batch in (1, len(lines)):
        sp = SourceParser("oumi.err")
        recs = [r for i in range(0, len(lines), batch) for r in sp.feed(lines[i:i + batch], i + 1, 5.0)]
        recs += sp.settle()
        assert sp.format == "hf-trainer"
        assert brief(recs) == [("step", 0, 10), ("oom", None, 133), ("step", 0, 135)]


def test_nothing_known_for_a_long_time_then_a_format() -> None:
    """2,500 launcher/start-up lines that no format reads (the noise is dropped every DETECT_MAX_LINES lines,
    never holding more), then nanoGPT: every G1 record is there, at its own line."""
    noise = _noise(2500)
    sp = SourceParser("x")
    recs = run(sp, [*noise, *G1], batch=333)
    assert sp.format == "nanogpt"
    assert len(sp._held) == 0  # the hold was released, not grown
    steps = [r for r in recs if r.kind in (Kind.STEP, Kind.EVAL)]
    assert [r.line - 2500 for r in steps] == [i + 1 for i, x in enumerate(G1) if x.startswith(("iter", "step"))]


# ── ranks ───────────────────────────────────────────────────────────────────────────────────


def test_torchrun_rank_prefix() -> None:
    """T2: `[rank0]:[titan] …` (torchrun --role rank --tee 3)."""
    recs = run(SourceParser("titan.log"), ex(OTHERS, "Excerpt T2", "titan"))
    assert [r.step for r in recs if r.kind is Kind.STEP] == [200, 210, 220, 230, 240, 250]
    assert {r.rank for r in recs} == {0}


def test_default_role_prefix_and_interleaved_ranks() -> None:
    """R1: `[default0]:`, `[default3]:`, `[default1]:` in front of a custom loop's kv lines."""
    sp = SourceParser("r1.log")
    recs = run(sp, ex("excerpts_torchrun_slurm.json", "Excerpt R1"))
    assert sp.format == "kv"
    assert [(r.rank, r.step) for r in recs] == [(0, 1347), (3, 1347), (1, 1347)]


def test_srun_label_prefix() -> None:
    """M5: srun --label `   1: ` before Megatron lines."""
    recs = run(SourceParser("m5.log"), ex("excerpts_megatron.json", "Excerpt M5"))
    assert [(r.rank, r.step) for r in recs] == [(1, 25), (1, 26), (1, 27)]


@pytest.mark.parametrize(("prefix", "rank"), [
    ("[rank3]:", 3),        # torchrun --role rank --tee 3 (no space)
    ("[rank3]: ", 3),       # the TORCHELASTIC_LOG_LINE_PREFIX_TEMPLATE form
    ("[default1]:", 1),     # torchrun --tee 3, default role
    ("2: ", 2),             # srun --label
    ("  2: ", 2),           # srun --label, right-aligned
    ("0: [rank3]:", 3),     # srun label stacked on torchrun's: torchrun's number wins
    ("192.168.50.170: ", None),  # pdsh host (H7): no rank
    ("[80746] ", None),     # log collector's line number (R3): no rank
])
def test_prefix_becomes_rank(prefix: str, rank: int | None) -> None:
    """The nanoGPT G1 run as each launcher would prefix it."""
    recs = run(SourceParser("g1.log"), [prefix + line for line in G1])
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert len(steps) == 25 and steps[3].step == 30
    assert {r.rank for r in recs} == {rank}


def test_file_rank_applies_when_no_prefix() -> None:
    """`SourceParser(rank=5)` (a per-rank file, `attempt_0/5/stdout.log`): lines without a prefix get 5, a
    prefix still wins, and an event naming its own rank keeps it."""
    plain = run(SourceParser("attempt_0/5/stdout.log", rank=5), G1)
    assert {r.rank for r in plain} == {5}
    prefixed = run(SourceParser("attempt_0/5/stdout.log", rank=5), ex(OTHERS, "Excerpt T2", "titan"))
    assert {r.rank for r in prefixed} == {0}
    # F9: `[rank0]:[E1206 …] [Rank 0] Watchdog caught …` then ranks 4 and 3: the prefix's rank on each event
    events = run(SourceParser("x", rank=5), failure("F9"))
    assert [(r.event, r.rank) for r in events] == [("nccl_timeout", 0), ("nccl_timeout", 4), ("nccl_timeout", 3)]


def test_collector_prefix_hf_run_with_a_watchdog_glued_to_a_bar() -> None:
    """F11: a log collector numbered every line (`[1745] `); HF Trainer dicts and bar frames, the NCCL
    watchdog glued to the last frame with its own `[rank5]:`."""
    sp = SourceParser("f11.log", rank=2)
    recs = run(sp, failure("F11"))
    assert sp.format == "hf-trainer"
    [event] = [r for r in recs if r.kind is Kind.EVENT]
    assert (event.event, event.rank, event.line) == (Event.NCCL_TIMEOUT, 5, 21)
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert {r.rank for r in steps} == {2}  # the collector's `[1745]` is no rank; the file's applies
    # the first dict (its `[1743] ` cut to `1743] `) comes before any frame: no step; the next follows 20/1752
    assert [r.step for r in steps if "loss" in r.metrics] == [None, 20]
    assert max(r.step or 0 for r in steps) == 24


# ── events among step lines ──────────────────────────────────────────────────────────────────


def _oom_traceback() -> list[str]:
    """A CUDA OOM raised in `loss.backward()` of nanoGPT's train.py: the frames of G6's traceback (nanoGPT,
    interrupted in backward), ending in F4's real OOM exception line instead of `KeyboardInterrupt`."""
    g6 = md_block("nanogpt_llmc.md", "Excerpt G6")
    start = line_no(g6, "Traceback") - 1
    end = line_no(g6, "KeyboardInterrupt") - 1
    return ["Traceback (most recent call last):", *g6[start + 1:end], failure("F4")[0]]


def test_oom_traceback_from_one_rank_among_step_lines_of_another() -> None:
    """torchrun --tee: rank 1's traceback interleaved line by line with rank 0's G1 step lines."""
    tb = [f"[rank1]:{x}" for x in _oom_traceback()]
    steps = [f"[rank0]:{x}" for x in G1]
    lines = [*steps[:5]]
    for a, b in itertools.zip_longest(tb, steps[5:12]):
        lines += [x for x in (a, b) if x is not None]
    lines += steps[12:]
    recs = run(SourceParser("x"), lines)
    events = [r for r in recs if r.kind is Kind.EVENT]
    assert [r.event for r in events] == ["oom", "checkpoint_saved"]  # G1 ends `saving checkpoint to out-sh`
    oom = events[0]
    assert (oom.event, oom.rank, oom.line) == (Event.OOM, 1, lines.index(tb[-1]) + 1)
    assert oom.metrics == {"requested_bytes": 22 * 2**20, "gpu": 0}
    assert oom.message is not None and oom.message.startswith("torch.cuda.OutOfMemoryError: CUDA out of memory")
    # every rank-0 step line still parsed, around and between the traceback lines
    got = [(r.step, r.rank) for r in recs if r.kind is Kind.STEP]
    assert got == [(int(x.split()[1].rstrip(":")), 0) for x in G1 if x.startswith("iter ")]
    assert [(r.kind, r.step) for r in recs if r.kind is Kind.EVAL] == [(Kind.EVAL, 250)]


def test_ctrl_c_traceback_after_the_last_step() -> None:
    """G6 (real): `iter 142862: …` then `^CTraceback …` ending in KeyboardInterrupt, then the shell's timing."""
    g6 = md_block("nanogpt_llmc.md", "Excerpt G6")
    recs = run(SourceParser("g6.log"), g6)
    assert brief(recs) == [("step", 142862, 1), ("signal", None, line_no(g6, "KeyboardInterrupt"))]


def test_single_line_ooms_with_rank_prefixes_between_steps() -> None:
    """F6's OOM lines carry `[rank0]: ` / `[rank7]: ` (the report's markdown wrapper removed) among T2's
    torchtitan lines."""
    ooms = [x[x.index("[rank"):] for x in failure("F6")]
    t2 = ex(OTHERS, "Excerpt T2", "titan")
    lines = [*t2[:3], ooms[0], *t2[3:6], ooms[2], *t2[6:]]
    recs = run(SourceParser("x"), lines)
    assert [(r.event, r.rank, r.metrics.get("gpu")) for r in recs if r.kind is Kind.EVENT] == \
           [("oom", 0, 0.0), ("oom", 7, 7.0)]
    assert [r.step for r in recs if r.kind is Kind.STEP] == [200, 210, 220, 230, 240, 250]


def test_nan_run_events_and_steps() -> None:
    """The whole real nanochat SFT log (goes NaN): every step line parsed, NaN kept."""
    lines = raw_lines(SFT)
    recs = run(SourceParser(SFT), lines, batch=64)
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert len(steps) == sum(1 for x in lines if x.startswith("step "))
    assert any(math.isnan(r.metrics["loss"]) for r in steps)


# ── time stamps ─────────────────────────────────────────────────────────────────────────────


def test_line_time_kept_else_batch_time() -> None:
    """M1 lines carry `[2024-04-06 03:02:12]`; G1 lines carry nothing and get their batch's read time."""
    m1 = ex("excerpts_megatron.json", "Excerpt M1")
    recs = run(SourceParser("m1.log"), m1[:3], t0=99.0)
    from datetime import datetime

    assert [r.t for r in recs] == [datetime(2024, 4, 6, 3, 2, s).timestamp() for s in (12, 18, 24)]
    recs = run(SourceParser("g1.log"), G1, batch=10, t0=500.0)
    assert [r.t for r in recs] == [500.0 + (r.line - 1) // 10 for r in recs]


def test_events_get_the_batch_time() -> None:
    lines = [*G1[:3], failure("F2")[0]]
    recs = run(SourceParser("x"), lines, batch=2, t0=7.0)
    assert [(r.event, r.t) for r in recs if r.kind is Kind.EVENT] == [("oom", 8.0)]


# ── flush ───────────────────────────────────────────────────────────────────────────────────


def test_flush_closes_an_open_composer_block() -> None:
    """C1 without its cut last line: `[batch=2/10]:` and two items are open at the end of the input."""
    c1 = ex(OTHERS, "Excerpt C1", "composer")[:-1]
    sp = SourceParser("c1.log")
    fed = sp.feed(c1, 1, 3.0)
    assert brief(fed) == [("step", 1, line_no(c1, "[batch=2/10]:"))]
    assert fed[0].rank == 1  # between `Begin global rank 1 STDERR` banners
    assert fed[0].metrics["loss"] == 11.6153
    tail = sp.flush()
    assert brief(tail) == [("step", 2, len(c1))]  # stamped with the last line read
    assert (tail[0].rank, tail[0].t, tail[0].source) == (1, 3.0, "c1.log")
    assert dict(tail[0].metrics) == {"time_batch": 1.0, "time_sample": 256.0}
    assert sp.flush() == []


def test_flush_emits_a_traceback_cut_at_the_end() -> None:
    """G6 cut before its exception line (the writer died mid-traceback): its header after the terminal's `^C`, a
    Ctrl-C's, so a `signal` (its `KeyboardInterrupt` would say so) and no crash."""
    g6 = md_block("nanogpt_llmc.md", "Excerpt G6")
    cut = g6[:line_no(g6, "KeyboardInterrupt") - 1]
    sp = SourceParser("g6.log", rank=4)
    assert brief(sp.feed(cut, 1, 9.0)) == [("step", 142862, 1)]
    tail = sp.flush()
    assert [(r.event, r.line, r.rank, r.t) for r in tail] == [("signal", len(cut), 4, 9.0)]


def test_flush_emits_a_failure_report_cut_at_the_end() -> None:
    """F16: the elastic agent's report, cut inside the Root Cause table."""
    f16 = failure("F16")
    sp = SourceParser("f16.log")
    assert sp.feed(f16, 1, 1.0) == []
    [rec] = sp.flush()
    assert (rec.event, rec.line, rec.metrics["exitcode"], rec.metrics["local_rank"]) == \
           ("child_failed", len(f16), 1.0, 0.0)


def test_counters() -> None:
    sp = SourceParser("g1.log")
    recs = run(sp, G1, batch=7)
    assert sp.lines == len(G1)
    assert sp.records == len(recs)


# ── fixed format ────────────────────────────────────────────────────────────────────────────


def test_fixed_format_skips_detection() -> None:
    """fmt='deepspeed' on D1: records at once, no holding until the end as detection would."""
    d1 = ex("excerpts_deepspeed.json", "Excerpt D1")
    sp = SourceParser("ds.log", fmt="deepspeed")
    first = sp.feed(d1[:2], 1, 1.0)
    assert brief(first) == [("step", 40, 1), ("step", 40, 2)]
    detected = SourceParser("ds.log")
    assert detected.feed(d1[:2], 1, 1.0) == []


def test_fixed_format_is_kept_whatever_follows() -> None:
    """fmt='nanogpt' on nanochat lines: nothing, and never a switch, however long."""
    lines = raw_lines(SPEEDRUN)[:3000]
    sp = SourceParser("x", fmt="nanogpt")
    recs = run(sp, lines, batch=500)
    assert sp.format == "nanogpt"
    assert [r.kind for r in recs] == []


@pytest.mark.parametrize(("alias", "name"), [("nanochat", "picollm"), ("lightning", "tqdm"),
                                             ("hf", "hf-trainer"), ("json", "jsonl"), ("kv", "kv")])
def test_fixed_format_aliases_report_the_canonical_name(alias: str, name: str) -> None:
    assert SourceParser("x", fmt=alias).format == name


def test_unknown_fixed_format_is_an_error() -> None:
    with pytest.raises(UnknownFormatError):
        SourceParser("x", fmt="nonesuch")


def test_fixed_format_kv_reads_what_a_specific_format_would() -> None:
    sp = SourceParser("g1.log", fmt="kv")
    recs = run(sp, G1)
    assert [r.step for r in recs if r.kind is Kind.STEP][:3] == [0, 10, 20]


# ── re-detection ────────────────────────────────────────────────────────────────────────────


def _noise(n: int) -> list[str]:
    """`n` real lines no format reads: accelerate, axolotl, SLURM, torch dynamo, DeepSpeed timers, cycled."""
    pool = [*ex(OTHERS, "Excerpt X1", "accelerate"), *ex(OTHERS, "Excerpt A2", "axolotl"),
            *ex("excerpts_torchrun_slurm.json", "Excerpt R4"), *ex("excerpts_torchrun_slurm.json", "Excerpt R2"),
            *ex("excerpts_deepspeed.json", "Excerpt D5"), *ex("excerpts_torchrun_slurm.json", "Excerpt R6")]
    return list(itertools.islice(itertools.cycle(pool), n))


def _records(recs: Sequence[Record], offset: int = 0) -> list[tuple[str, int | None, int, str]]:
    return [(r.event or str(r.kind), r.step, r.line - offset, json.dumps(r.to_json()["metrics"]))
            for r in recs if r.line > offset]


def test_redetection_switches_to_the_format_the_log_turned_into() -> None:
    """A log reused by a second run: Megatron M4 (setup + two iterations), 2,500 lines that nothing reads,
    then the whole real nanochat run (its own preamble first). Megatron stops matching; after REDETECT_AFTER
    record-less lines the latest are scored, picollm takes over, and the record-less lines kept since the
    last Megatron record are parsed again: not one nanochat record is lost."""
    m4 = ex("excerpts_megatron.json", "Excerpt M4")
    nano = raw_lines(SPEEDRUN)
    noise = _noise(2500)
    sp = SourceParser("reused.log")
    recs = run(sp, [*m4, *noise, *nano], batch=1000)
    assert sp.format == "picollm"
    assert [r.step for r in recs if r.line <= len(m4) and r.kind is Kind.STEP] == [10, 20]
    offset = len(m4) + len(noise)
    alone = run(SourceParser("alone.log"), nano, batch=1000)
    assert _records(recs, offset) == _records(alone)
    assert len(alone) > 16_000


def test_redetection_recovers_from_a_wrong_first_guess() -> None:
    """A data-loading bar with no description (F20: word vectors loaded before training) is a signature for
    hf-trainer (see the report on hf_trainer.score), so the nanoGPT run after it starts as hf-trainer. With
    nothing read for REDETECT_AFTER lines, nanoGPT takes over and its lines so far are parsed again."""
    f20 = failure("F20")[:3]
    g = [*G1[:25], *md_block("nanogpt_llmc.md", "Excerpt G3")[2:], *md_block("nanogpt_llmc.md", "Excerpt G5")[1:]]
    run_lines = list(itertools.islice(itertools.cycle(g), REDETECT_AFTER + 300))
    sp = SourceParser("x")
    recs = sp.feed([*f20, *run_lines[:10]], 1, 0.0)
    if sp.format != "hf-trainer":
        pytest.skip("hf_trainer no longer signs a bare bar: there is no wrong first guess to recover from")
    recs += run(sp, run_lines[10:], batch=250, first=len(f20) + 11)
    assert sp.format == "nanogpt"
    nanogpt = [r for r in recs if r.line > len(f20)]
    alone = run(SourceParser("y", fmt="nanogpt"), run_lines, first=len(f20) + 1)
    assert _records(nanogpt) == _records(alone)


def test_a_guess_gives_way_to_the_format_detection_finds_later() -> None:
    """A follower's first read of a run lab HF Trainer console holds two bare frames of its bar: the guess is
    the Trainer's (registry order breaks the tie with tqdm). The `loss=` frame of a hand-written loop's bar
    that comes next (the tutorial-tqdm recording's) signs tqdm: it takes over there, and reads every frame
    after as tqdm alone would."""
    from tests.support.real_lines import recording

    bare = [x for x in recording("hf-healthy")[:40] if x.strip().endswith("it/s]")][:2]
    looped = [x for x in recording("tutorial-tqdm-nan") if "loss=" in x][:200]
    sp = SourceParser("x")
    recs = sp.feed(bare, 1, 0.0) + sp.settle()
    assert sp.format == "hf-trainer"
    recs += run(sp, looped[:1], batch=1, first=3, flush=False)
    assert sp.format == "tqdm"
    recs += run(sp, looped[1:], batch=1, first=4, flush=False)
    alone = run(SourceParser("y", fmt="tqdm"), looped, batch=1, first=3, flush=False)
    assert _records(recs, 2) == _records(alone, 2)


@pytest.mark.parametrize("fast_path", [True, False])
def test_followed_line_by_line_a_log_reads_as_check_reads_it(fast_path: bool) -> None:
    """DeepSpeed's engine lines (`step=1, skipped=0, lr=[2e-05]`, maybes of its format, no loss) before a
    script's `[Step 1/100] Loss: 5.4901 …` lines: a follower that caught up after each line guessed DeepSpeed
    at `step=1` (a tie, registry order) and showed no loss for the whole run, where `check` of the file read
    kv, its loss and its total (a review). Detection goes on after a guess: the follower ends in the format
    `check` chose, with a loss at each of the 100 steps."""
    from runwatch.watcher.snapshot import split_block
    from tests.support.found import found_bytes, found_lines

    data = found_bytes("deepspeed_script_steps_qr.out.gz")
    once = SourceParser("once", fast_path=fast_path)
    chunk = once.feed_bytes(data, 1, 0.0, split_block)
    once_recs = chunk.merged() + once.flush()
    live = SourceParser("live", fast_path=fast_path)
    live_recs: list[Record] = []
    for i, line in enumerate(found_lines("deepspeed_script_steps_qr.out.gz"), 1):
        live_recs += live.feed([line], i, 0.0) + live.settle()
    assert live.format == once.format == "kv"
    losses = [(r.step, r.metrics["loss"]) for r in live_recs if "loss" in r.metrics]
    assert losses == [(r.step, r.metrics["loss"]) for r in once_recs if "loss" in r.metrics]
    assert len(losses) == 100 and {r.total_steps for r in live_recs if r.total_steps} == {100}


def test_a_long_quiet_phase_of_maybe_lines_does_not_switch_to_kv() -> None:
    """nanochat's CORE evaluation prints `Evaluating: … accuracy: … | centered: … | time: …s` lines, which only
    kv reads (as maybes). 2,500 of them (the real 22, cycled) between two stretches of steps: picollm stays,
    and the steps after the quiet phase are read."""
    nano = raw_lines(SPEEDRUN)
    evals = [x for x in nano if x.startswith("Evaluating:")]
    assert len(evals) >= 20
    first, after = nano[:400], nano[400:800]
    quiet = list(itertools.islice(itertools.cycle(evals), 2500))
    sp = SourceParser("x")
    recs = run(sp, [*first, *quiet, *after], batch=300)
    assert sp.format == "picollm"
    late = [r for r in recs if r.line > 400 + 2500 and r.kind is Kind.STEP]
    assert len(late) == sum(1 for x in after if x.startswith("step "))


def test_no_switch_before_redetect_after() -> None:
    """Another format's signature lines within a quiet stretch shorter than REDETECT_AFTER: no switch."""
    nano = raw_lines(SPEEDRUN)[:400]
    h1 = ex("excerpts_hf_trainer.json", "Excerpt H1")
    sp = SourceParser("x")
    run(sp, [*nano, *_noise(REDETECT_AFTER - 100), *h1], flush=False)
    assert sp.format == "picollm"


def test_the_kept_window_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The record-less lines kept for re-parsing: at most REDETECT_AFTER, and WINDOW_CHARS of text."""
    monkeypatch.setattr(source_module, "WINDOW_CHARS", 10_000)
    sp = SourceParser("x")
    run(sp, [*G1[:3], *_noise(5000)], batch=700, flush=False)
    assert sp.format == "nanogpt"
    kept = sp._recent
    assert 0 < len(kept) <= REDETECT_AFTER
    assert sum(len(x[1]) for x in kept) <= 10_000


def test_detect_max_lines_bounds_the_hold() -> None:
    sp = SourceParser("x")
    run(sp, _noise(DETECT_MAX_LINES * 3 + 7), flush=False)
    assert len(sp._held) < DETECT_MAX_LINES


# ── arbitrary input ─────────────────────────────────────────────────────────────────────────


def _corpus_lines() -> list[str]:
    out = [*raw_lines(SFT), *G1, *L5]
    for f in (CORPUS / "raw").glob("excerpts_*.json"):
        data = json.loads(f.read_text(encoding="utf-8"))
        items = data if isinstance(data, list) else [e for group in data.values() for e in group]
        out += [x for e in items for x in str(e["t"]).splitlines()]
    return out


CORPUS_LINES = _corpus_lines()
PREFIXES = st.sampled_from(["", "[rank3]:", "[default1]:", "2: ", "[80746] ", "192.168.50.170: ", "0: [rank1]: "])
LINE = st.one_of(
    st.text(max_size=300),
    st.builds(lambda p, x: p + x, PREFIXES, st.sampled_from(CORPUS_LINES)),
    st.builds(lambda x, n: x[:n], st.sampled_from(CORPUS_LINES), st.integers(0, 400)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(LINE, max_size=60), cuts=st.lists(st.integers(1, 20), max_size=8),
       fmt=st.sampled_from([None, *FORMATS]), rank=st.sampled_from([None, 0, 5]))
def test_arbitrary_text_never_raises(lines: list[str], cuts: list[int], fmt: str | None, rank: int | None) -> None:
    sp = SourceParser("fuzz", fmt=fmt, rank=rank)
    out: list[Record] = []
    start = 0
    for n in [*cuts, len(lines)]:
        out += sp.feed(lines[start:start + n], start + 1, float(start))
        start += n
        if start >= len(lines):
            break
    out += sp.flush()
    out += sp.feed(["step 1 loss=2"], len(lines) + 1, 0.0)  # fed after a flush: still no error
    for rec in out:
        assert rec.source == "fuzz"
        assert 0 <= rec.line <= len(lines) + 1
        json.dumps(rec.to_json(), allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(st.lists(LINE, min_size=1, max_size=30))
def test_long_arbitrary_input_never_raises(pool: list[str]) -> None:
    """Long enough to pass through re-detection after a first format."""
    lines = list(itertools.islice(itertools.cycle(pool), REDETECT_AFTER + 50))
    sp = SourceParser("fuzz")
    recs = run(sp, [*G1[:2], *lines], batch=512)
    assert sp.format is not None
    assert all(0 < r.line <= len(lines) + 2 for r in recs)


def test_settle_chooses_a_format_without_signature_from_a_short_log() -> None:
    """A hand-written loop's `logging` lines (`step=N … loss=x`: key=value, no signature line) are
    understood when the follower catches up, not after DETECT_MAX_LINES lines: the recorded kvlog-nan
    run is 120 lines long and goes NaN at step 60."""
    from tests.support.realruns import REALRUNS

    lines = (REALRUNS / "kvlog-nan" / "run" / "train.log").read_text().splitlines()
    sp = SourceParser("train.log")
    assert sp.feed(lines[:10], 1, 1000.0) == [] and sp.format is None  # held: nothing decided yet
    recs = sp.settle()
    assert sp.format == "kv"
    assert [r.step for r in recs] == list(range(1, 11))
    nan = [r for r in sp.feed(lines[10:60], 11, 1001.0) if r.step == 60]
    assert math.isnan(nan[0].metrics["loss"])
    assert sp.settle() == []  # decided: nothing more to settle


LONG = st.builds(
    lambda line, cut, frag, n: line[:cut] + frag * (n // max(1, len(frag))) + line[cut:],
    st.sampled_from(CORPUS_LINES), st.integers(0, 200),
    st.one_of(st.text(min_size=1, max_size=6), st.sampled_from(["a:", "1", "[", " ", "a=1 ", "e-", "nan", "%|"])),
    st.integers(1_000, 65_536),
)
"""A real line with up to 64 KiB of one fragment inside it (the follower's line cap): the shapes that
made regexes quadratic (issue 11: `a:a:a…`, a 65,000-character tail, runs of digits)."""


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=LONG, fmt=st.sampled_from([None, *FORMATS]))
def test_long_hostile_lines_never_raise_and_values_stay_numbers(line: str, fmt: str | None) -> None:
    sp = SourceParser("fuzz", fmt=fmt)
    recs = sp.feed([line, line], 1, 0.0) + sp.flush()
    for r in recs:
        assert all(isinstance(v, float) for v in r.metrics.values()), r.metrics
        assert r.step is None or 0 <= r.step <= 2**53


def test_a_torchtitan_step_line_followed_by_65000_characters_still_parses() -> None:
    """The line that took 26 s in `check` (`(\\w+): +(\\S+)` retried from each character of a long word):
    its step and loss are read, and the long word is no metric."""
    [line] = [x for x in CORPUS_LINES if "[titan]" in x and " step: " in x and "loss:" in x][:1]
    sp = SourceParser("titan", fmt="torchtitan")
    [rec] = [r for r in sp.feed([line + " " + "x" * 65_000], 1, 0.0) + sp.flush() if r.kind == Kind.STEP]
    assert rec.step is not None and "loss" in rec.metrics and not any("xxx" in k for k in rec.metrics)


def test_an_event_takes_the_launchers_rank_over_a_process_groups_rank_in_its_message() -> None:
    """Megatron under srun with tensor parallelism: `29: [rank29]:[E522 …] [Rank 1] Watchdog caught collective operation
    timeout`. The message's `[Rank 1]` is the rank in the tensor-parallel group; the alert named rank 1 (a review).
    The launcher's label, the global rank, wins."""
    from tests.support.found import found_lines

    sp = SourceParser("job.err")
    recs = sp.feed(found_lines("megatron_tp_nccl_watchdog_srun_excerpt.err"), 1478, 0.0) + sp.flush()
    timeouts = [(r.rank, r.line) for r in recs if r.event == Event.NCCL_TIMEOUT]
    assert timeouts[0] == (29, 1478) and {rank for rank, _ in timeouts} <= {29, 25, 23, 3}


def test_one_checkpoint_said_on_many_lines_is_one_event() -> None:
    """A review's Megatron-DeepSpeed run saves at 2500: Megatron's `saving checkpoint at iteration 2500 to ./tmp`, a
    `Saving ./tmp/global_step2500/layer_14-model_01-model_states.pt...` a shard, `Checkpoint global_step2500 is
    ready now!`: `tail` printed seven checkpoints (two at steps 0 and 1, a shard's number). One event, at 2500,
    where a line says the save is done (the starts, Megatron's and the shards', are none); checkpoints of other steps
    stay events of their own."""
    from tests.support.found import source_records

    _, recs = source_records("megatron_ds_llama_fp16_overflow_note.log")
    saved = [(r.step, r.line) for r in recs if r.event == Event.CHECKPOINT_SAVED]
    assert saved == [(2500, 714)]
    _, recs = source_records("llamafactory_lora_running_log.txt.gz")  # `Saving model checkpoint to …/checkpoint-N`
    steps = [r.step for r in recs if r.event == Event.CHECKPOINT_SAVED]
    assert steps == [*range(100, 2200, 100), None]  # the last, the final model's, names no step


def test_an_overturned_guess_leaves_the_new_reading_its_own_epoch_steps() -> None:
    """A follower that caught up right after a RecBole run's first bar (`Train     0: 100%|…| 99/99`) guesses tqdm;
    RecBole's `epoch 0 training [time: 2.99s, train loss: 74.7694]` next overturns the guess to `kv`, as `check`
    reads the log. The guess's bar had stated a step, so kv's epoch lines, which state none, were never made steps
    (runwatch.parsers.epochs): live, the run stayed `finished` at the bar's 99/99 where `check` says 430/500 (a review).
    The new reading counts its epochs' steps afresh; what the guess read stays read."""
    from tests.support.found import found_lines

    lines = found_lines("recbole_gcn_ast_readme.log")
    bar = next(i for i, x in enumerate(lines) if x.startswith("Train     0:"))
    sp = SourceParser("train.log")
    first = sp.feed(lines[:bar + 1], 1, 0.0) + sp.settle()
    assert sp.format == "tqdm" and [(r.step, r.total_steps) for r in first if r.kind is Kind.STEP] == [(99, 99)]
    rest = sp.feed(lines[bar + 1:], bar + 2, 0.0) + sp.settle() + sp.flush()
    assert sp.format == "kv"
    assert [(r.step, r.total_steps) for r in rest if r.kind is Kind.STEP][-1] == (430, 500)
    assert [r.event for r in rest if r.kind is Kind.EVENT] == [Event.FINISHED]  # `Finished training, best eval …`


def test_a_guess_overturned_at_once_stays_open_to_a_signature() -> None:
    """The early overturn (a format that read a step with its loss beats a guess that read none) makes a guess too: a
    follower that caught up at the HF Trainer's first bars (the run lab's hf-nan recording), then read a loop's own
    `Step 12400: grad_norm=…, loss=…` line (openpi's, put before its bars go on), switched to `kv` and closed the
    guess: the Trainer's dicts that sign its format came later, and their NaN was never read (a code review). Open, the
    Trainer's signature takes over, as `check` reads the same lines."""
    from runwatch.watcher.lines import LineSplitter
    from tests.support.found import found_lines
    from tests.support.realruns import REALRUNS

    splitter = LineSplitter()
    lines = splitter.feed((REALRUNS / "hf-nan" / "run" / "train.log").read_bytes()) + splitter.feed(b"\n")
    frame = next(i for i, x in enumerate(lines) if "/120 [" in x)
    own = next(x for x in found_lines("openpi_slurm_scancel_tail.out") if x.startswith("Step "))
    mixed = [*lines[:frame + 3], own, *lines[frame + 3:]]
    sp = SourceParser("train.log")
    recs = sp.feed(mixed[:frame + 2], 1, 0.0) + sp.settle()
    assert sp.format == "hf-trainer"  # guessed from the bars
    recs += sp.feed(mixed[frame + 2:], frame + 3, 0.0) + sp.settle() + sp.flush()
    whole = SourceParser("train.log")
    whole.feed(mixed, 1, 0.0)
    whole.flush()
    assert sp.format == whole.format == "hf-trainer"
    assert any(math.isnan(r.metrics.get("grad_norm", 0.0)) for r in recs if r.kind is Kind.STEP)
