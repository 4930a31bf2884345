"""Generic key/value lines → Records.

No corpus section is "generic"; the real lines below are other stacks' prints that a
hand-written loop resembles (nanoGPT, torchtitan, DeepSpeed), plus non-step lines the fallback
must leave alone. kv must never outscore a specific format: its score is at most 1 everywhere.
"""

from __future__ import annotations

import gzip
import itertools
import json
import math
import re
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch import patterns
from runwatch.model import Kind, Record
from runwatch.parsers import keyvalue
from runwatch.parsers.keyvalue import READS, KeyValueParser
from runwatch.parsers.source import SourceParser
from tests.support.corpus import json_excerpt, line_with, md_block

CORPUS = Path(__file__).parents[1] / "fixtures" / "corpus"


def md_line(file: str, start: str) -> str:
    """The line of corpus/`file` that starts with `start` (copied from the corpus, not retyped)."""
    [line] = [x for x in (CORPUS / file).read_text(encoding="utf-8").splitlines() if x.startswith(start)]
    return line


def excerpt(file: str, tag: str) -> list[str]:
    data = json.loads((CORPUS / "raw" / file).read_text(encoding="utf-8"))
    items = data if isinstance(data, list) else [e for group in data.values() for e in group]
    [found] = [e for e in items if e["h"].split(" — ")[0] == tag]
    return str(found["t"]).splitlines()


@pytest.mark.parametrize(("line", "kind", "step", "metrics"), [
    # nanogpt_llmc.md G1: `iter N: loss X, time Yms, mfu Z%` (ms → seconds)
    (md_line("nanogpt_llmc.md", "iter 10: "), Kind.STEP, 10,
     {"loss": 3.2202, "step_time": 0.89376, "mfu": 16.68}),
    # G1: the `-100.00%` sentinel is what the log says
    (md_line("nanogpt_llmc.md", "iter 0: "), Kind.STEP, 0, {"loss": 4.2648, "step_time": 9.37181, "mfu": -100.0}),
    # G1: eval line with two-word keys
    (md_line("nanogpt_llmc.md", "step 250: "), Kind.STEP, 250, {"loss": 1.544, "val_loss": 1.722}),
    # G2: user timestamp prefix and markdown quote
    (md_line("nanogpt_llmc.md", "> 2023-03-22 09:30:39 iter 2920"), Kind.STEP, 2920,
     {"loss": 3.9883, "step_time": 1.09934, "mfu": 15.34}),
    # others_….md T2: torchtitan `step: 200  loss:  6.1384  memory: 49.66GiB(52.28%)  tps: 5,856 …`: GiB named as the
    # torchtitan parser names it
    (excerpt("excerpts_torchtitan_composer_axolotl_accelerate.json", "Excerpt T2")[1], Kind.STEP, 200,
     {"loss": 6.1384, "memory_gib": 49.66, "tokens_per_sec": 5856.0, "tflops": 339.16, "mfu": 34.29}),
    # deepspeed.md D1: `step=40, skipped=2, lr=[5e-05], mom=[[0.9, 0.999]]`: a list of one is its value (the first
    # param group's lr, as the deepspeed format reads it), a nested one none; `Rank 0` and `logging.py:69` are labels
    (excerpt("excerpts_deepspeed.json", "Excerpt D1")[
        [i for i, x in enumerate(excerpt("excerpts_deepspeed.json", "Excerpt D1")) if "step=40," in x][0]],
     Kind.STEP, 40, {"skipped": 2.0, "lr": 5e-05}),
])
def test_real_lines(line: str, kind: Kind, step: int, metrics: dict[str, float]) -> None:
    rec = KeyValueParser().parse(line)
    assert rec is not None
    assert (rec.kind, rec.step, rec.total_steps) == (kind, step, None)
    assert dict(rec.metrics) == pytest.approx(metrics)


@pytest.mark.parametrize(("line", "kind", "step", "total", "metrics"), [
    ("step 10 loss=2.3 lr=3e-4", Kind.STEP, 10, None, {"loss": 2.3, "lr": 3e-4}),
    ("step: 10, loss: 2.30, lr: 0.0003", Kind.STEP, 10, None, {"loss": 2.3, "lr": 0.0003}),
    ("Iter 10/200 | loss 2.3 | dt 812ms | tok/sec: 1,051,311", Kind.STEP, 10, 200,
     {"loss": 2.3, "step_time": 0.812, "tokens_per_sec": 1051311.0}),
    ("loss: 2.1, grad_norm: 0.8", Kind.STEP, None, None, {"loss": 2.1, "grad_norm": 0.8}),
    ("epoch 3 val_loss=0.52 val_acc=0.91", Kind.EVAL, None, None, {"epoch": 3.0, "val_loss": 0.52, "val_acc": 0.91}),
])
def test_shapes(line: str, kind: Kind, step: int | None, total: int | None, metrics: dict[str, float]) -> None:
    rec = KeyValueParser().parse(line)
    assert rec is not None
    assert (rec.kind, rec.step, rec.total_steps, dict(rec.metrics)) == (kind, step, total, pytest.approx(metrics))


def test_nan_is_kept() -> None:
    # nanogpt_llmc.md G2: fp16 run turns `loss nan`
    rec = KeyValueParser().parse(md_line("nanogpt_llmc.md", "> 2023-03-22 09:32:52 iter 3010"))
    assert rec is not None and rec.step == 3010 and math.isnan(rec.metrics["loss"])
    assert rec.metrics["step_time"] == pytest.approx(1.01995)


@pytest.mark.parametrize("line", [
    # hf_trainer.md H8: parameter counts
    excerpt("excerpts_hf_trainer.json", "Excerpt H8")[2],
    # H5: one number after a logger prefix
    excerpt("excerpts_hf_trainer.json", "Excerpt H5")[9],
    excerpt("excerpts_hf_trainer.json", "Excerpt H5")[10],
    # others_….md A2: axolotl logger line with PID/RANK labels
    excerpt("excerpts_torchtitan_composer_axolotl_accelerate.json", "Excerpt A2")[0],
    # failures.md F21: dreamer metrics with no step key and no canonical name
    excerpt("excerpts_failures.json", "F21")[0],
    "saving checkpoint to out",
])
def test_conservative(line: str) -> None:
    assert KeyValueParser().parse(line) is None


def test_score_is_at_most_one_on_the_whole_corpus() -> None:
    p = KeyValueParser()
    lines = [x for f in CORPUS.glob("*.md") for x in f.read_text(encoding="utf-8").splitlines()]
    assert max(p.score(x) for x in lines) == 1
    assert p.score("step 10 loss=2.3") == 1 and p.score("hello 1") == 0


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises(line: str) -> None:
    KeyValueParser().parse(line)
    KeyValueParser().score(line)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="steploss iter=:,|/ 0123456789.eE-+nanif%msGiB()[]_", max_size=200))
def test_never_raises_on_kv_like_text(line: str) -> None:
    KeyValueParser().parse(line)


# ── clause rule: a key starts a clause; the last word of a longer phrase names something else ──────────


RAW_LOGS = ("nanochat_pr492_speedrun_d24_feb01.training_output.log", "nanochat_pr657_sft_run.log")


@pytest.mark.parametrize("log", RAW_LOGS)
def test_accumulation_steps_in_a_banner_is_not_a_step(log: str) -> None:
    # raw nanochat logs: `Total batch size 524,288 => gradient accumulation steps: 2` (and `128 => … 1`)
    [line] = [x for x in (CORPUS / "raw" / log).read_text(encoding="utf-8").splitlines() if "accumulation steps" in x]
    assert "=>" in line
    assert KeyValueParser().parse(line) is None
    assert KeyValueParser().score(line) == 0


def test_two_word_keys_and_longer_phrases_on_a_megatron_line() -> None:
    # megatron.md M4: `learning rate`, `lm loss`, `loss scale`, `grad norm` are two-word keys; `global batch size`
    # and `number of skipped iterations` are phrases (not `size`, not `iterations`); `consumed samples:           80`
    # (wide padding) is no pair; `iteration 20/ 1000000` (a blank after the slash) is the step of its total, as
    # `Epoch:  149 / 150` is the epoch of its count (a review's run read no epoch count)
    line = excerpt("excerpts_megatron.json", "Excerpt M4")[12]
    rec = KeyValueParser().parse(line)
    assert rec is not None and (rec.step, rec.total_steps) == (20, 1_000_000)
    assert dict(rec.metrics) == {"lr": 2.02e-08, "lm_loss": 10.05022, "sop_loss": 0.8174902, "loss_scale": 32768.0,
                                 "grad_norm": 217.199}
    nan_count = excerpt("excerpts_megatron.json", "Excerpt M4")[10]  # `… | number of nan iterations:   0 |`
    rec = KeyValueParser().parse(nan_count)
    assert rec is not None and dict(rec.metrics) == {"lr": 0.0, "loss_scale": 8388608.0}


def test_function_words_are_prose() -> None:
    # lightning.md P3: `… saving model to '…' as top 3` (not `top`), F8: `… ran for 25624887` (not `for`)
    p3 = excerpt("excerpts_lightning.json", "Excerpt P3")[2]
    rec = KeyValueParser().parse(p3)
    assert rec is not None and rec.step == 1563  # `global step 1563`
    assert not {"top", "as_top"} & set(rec.metrics)
    f8 = excerpt("excerpts_failures.json", "F8")[1]
    rec = KeyValueParser().parse(f8)
    assert rec is not None and not {"for", "ran_for"} & set(rec.metrics)


# ── `key:sub value`, clocks and time units ─────────────────────────────────────────────────────────────


def r1(index: int) -> str:
    """torchrun_slurm_prefixes.md R1 line `index`, `[defaultN]:` removed."""
    line = excerpt("excerpts_torchrun_slurm.json", "Excerpt R1")[index]
    assert line.startswith(f"[default{index * 3}]:")
    return line.split("]:", 1)[1]


def test_custom_loop_with_sub_keys_and_clocks() -> None:
    # R1: `grad_norm:p2 3.388`, `max_size:time 291200`, `mem_usage:cuda:0 67.8GB` (GiB), `elapsed 0:16:59`,
    # `exp. remaining 0:03:45`; `0.855 sec/step` (value before its name) is not a pair
    rec = KeyValueParser().parse(r1(0))
    assert rec is not None and (rec.kind, rec.step) == (Kind.STEP, 1347)
    assert dict(rec.metrics) == {
        "ep": 55.0, "ce": 0.324, "ctc_4": 1.006, "ctc_10": 0.776, "ctc_16": 0.677, "grad_norm_p2": 3.388,
        "num_seqs": 27.0, "max_size_time": 291200.0, "max_size_aug_spatial": 128.0, "mem_usage_cuda_gib": 67.8,
        "elapsed": 16 * 60 + 59.0, "eta": 3 * 60 + 45.0, "complete": 81.92,
    }


def test_device_index_is_a_label() -> None:
    # R1 rank 3 prints `mem_usage:cuda:3 66.8GB`: the same metric name as rank 0's `cuda:0`
    rec = KeyValueParser().parse(r1(1))
    assert rec is not None and rec.metrics["mem_usage_cuda_gib"] == 66.8 and rec.metrics["eta"] == 4 * 60 + 53.0


def test_minutes_and_milliseconds_become_seconds() -> None:
    # raw nanochat log: `dt: 654.80ms`, `total time: 0.98m`, `eta: 181.5m` (nanochat.md: minutes with `m`)
    log = (CORPUS / "raw" / RAW_LOGS[0]).read_text(encoding="utf-8").splitlines()
    [line] = [x for x in log if x.startswith("step 00100/")]
    rec = KeyValueParser().parse(line)
    assert rec is not None and (rec.step, rec.total_steps) == (100, 16704)
    assert rec.metrics["step_time"] == pytest.approx(0.6548)
    assert rec.metrics["total_time"] == pytest.approx(0.98 * 60)
    assert rec.metrics["eta"] == pytest.approx(181.5 * 60)
    assert "time" not in rec.metrics


def test_a_clock_on_another_key_is_dropped() -> None:
    # G2's user timestamp `2023-03-22 09:30:39 iter 2920:` is no pair; a clock after a non-duration key is none
    rec = KeyValueParser().parse(md_line("nanogpt_llmc.md", "> 2023-03-22 09:30:39 iter 2920") + " at 09:30:39")
    assert rec is not None and rec.step == 2920 and "at" not in rec.metrics


# ── the pre-check and the scan ──────────────────────────────────────────────────────────────────────


def _all_corpus_lines() -> list[str]:
    lines = [x for f in sorted(CORPUS.glob("*.md")) for x in f.read_text(encoding="utf-8").splitlines()]
    for f in sorted((CORPUS / "raw").glob("*.json")):
        data = json.loads(f.read_text(encoding="utf-8"))
        items = data if isinstance(data, list) else [e for group in data.values() for e in group]
        lines += [x for e in items for x in str(e["t"]).splitlines()]
    for f in sorted((CORPUS / "raw").glob("*.log")):
        lines += f.read_text(encoding="utf-8").splitlines()[:3000]
    return list(dict.fromkeys(lines))


def _json(rec: Record | None) -> dict[str, object] | None:
    """Comparable records: NaN equals NaN in the JSON form."""
    return None if rec is None else rec.to_json()


def _unfiltered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyvalue, "_mentions_known_key", lambda low: True)


def test_the_pre_check_rejects_no_line_the_scan_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _all_corpus_lines()
    filtered = [_json(KeyValueParser().parse(x)) for x in lines]
    _unfiltered(monkeypatch)
    assert [_json(KeyValueParser().parse(x)) for x in lines] == filtered
    assert sum(r is not None for r in filtered) > 1000


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="stepLOSS lr iter it Learning time dt eta=:,|/ 0123456789.e-+nan%msGB_", max_size=120))
def test_the_pre_check_is_only_a_filter(line: str) -> None:
    got = _json(KeyValueParser().parse(line))
    with pytest.MonkeyPatch.context() as mp:
        _unfiltered(mp)
        assert _json(KeyValueParser().parse(line)) == got


def test_gc_lines_are_rejected_by_the_pre_check() -> None:
    # raw nanochat log: `[GC rank5] gen2: 281.4ms collected 384 objects` has numbers but no key a record needs
    log = (CORPUS / "raw" / RAW_LOGS[0]).read_text(encoding="utf-8").splitlines()
    gc = [x for x in log if x.startswith("[GC rank")]
    assert len(gc) > 100
    assert not any(keyvalue._mentions_known_key(x.lower()) for x in gc)


def test_a_line_without_pairs_is_one_scan_match() -> None:
    # the scan takes the rest of the line at once when no pair follows (a retry at every position is quadratic)
    assert len(keyvalue._PAIR.findall("a1 " * 1300)) == 1
    assert [m[1] for m in keyvalue._PAIR.findall("loss 1 " + "a1 " * 1300)] == ["loss", ""]


# ── units: a number is right or it is not kept ──────────────────────────────────────────────────────────


@pytest.mark.parametrize(("line", "metrics"), [
    ("step 10 tok/s=12.5k loss=2.3", {"tokens_per_sec": 12500.0, "loss": 2.3}),
    ("step 10 tokens/s: 1.2M", {"tokens_per_sec": 1.2e6}),
    ("step 10 tps=3.2K lr=3e-4", {"tokens_per_sec": 3200.0, "lr": 3e-4}),
    ("step 10 tokens_per_sec: 1.5G", {"tokens_per_sec": 1.5e9}),
    ("step 10 tokens: 300B loss 2", {"tokens": 3e11, "loss": 2.0}),  # billions: not a memory key
    ("step 10 dt=350ms", {"step_time": 0.35}),
    ("step 10 dt 812 ms loss 2", {"step_time": 0.812, "loss": 2.0}),  # a unit word after a space
    ("step 10 time=1.2s", {"step_time": 1.2}),
    ("step 10 mem=12.3GiB", {"mem_gib": 12.3}),
    ("step 10 mem=12.3GB", {"mem_gib": 12.3}),
    ("step 10 mem=512M rss 2048MiB", {"mem_gib": 0.5, "rss_gib": 2.0}),  # a letter after a memory key is a size
    ("step 10 max_mem_gb=1536MB", {"max_mem_gib": 1.5}),  # the name says the unit the value is in
    ("step 10 lr=3e-4 mfu=45.2%", {"lr": 3e-4, "mfu": 45.2}),
    ("step 10 fwd: 652ms", {"fwd_time": 0.652}),  # a duration on another key: seconds, named a time
])
def test_units(line: str, metrics: dict[str, float]) -> None:
    rec = KeyValueParser().parse(line)
    assert rec is not None and rec.step == 10
    assert dict(rec.metrics) == pytest.approx(metrics)


def test_si_suffix_is_not_dropped_tok_s_12_5k() -> None:
    # the reviewer's report: `tok/s=12.5k` became `tok_s: 12.5`, 1000x too small
    rec = KeyValueParser().parse("step 5 loss=2.1 tok/s=12.5k")
    assert rec is not None and rec.metrics == {"loss": 2.1, "tokens_per_sec": 12500.0}


@pytest.mark.parametrize(("line", "kept"), [
    ("step 10 loss=2.3 dt=5k", {"loss": 2.3}),  # a count suffix on a duration
    ("step 10 loss=2.3 lr=3m", {"loss": 2.3}),  # minutes? milli?
    ("step 10 loss=2.3 foo=5xyz", {"loss": 2.3}),
    ("step 10 loss=2.3 eta: 5%", {"loss": 2.3}),
    ("step 10 loss=2.3 time=12GiB", {"loss": 2.3}),
    ("step 10 loss=2.3 it/s=0", {"loss": 2.3}),  # a stopped rate is no step time
])
def test_a_unit_not_understood_skips_the_value(line: str, kept: dict[str, float]) -> None:
    rec = KeyValueParser().parse(line)
    assert rec is not None and rec.step == 10 and dict(rec.metrics) == kept


def test_a_step_with_a_unit_is_no_step() -> None:
    assert KeyValueParser().parse("step 5ms loss 2 lr 1") == Record(Kind.STEP, metrics={"loss": 2.0, "lr": 1.0})
    rec = KeyValueParser().parse("step 12k loss 2")
    assert rec is not None and rec.step == 12000


def test_a_unit_word_is_not_the_next_key() -> None:
    # `10 tokens/s` looks like a value and its unit, but `tokens/s:` is the next key
    for line in ("step 10 tokens/s: 1.2M", "step 10 tok/s 9000", "step 10 samples/s=4"):
        rec = KeyValueParser().parse(line)
        assert rec is not None and rec.step == 10 and len(rec.metrics) == 1


# ── aliases: every format spells the DESIGN §2 names the same way ───────────────────────────────────────


@pytest.mark.parametrize(("line", "name", "value"), [
    ("step 3 gnorm=1.5", "grad_norm", 1.5),
    ("step 3 grad_norm=1.5", "grad_norm", 1.5),
    ("step 3 grad-norm: 1.5", "grad_norm", 1.5),
    ("step 3 gradnorm 1.5", "grad_norm", 1.5),
    ("step 3 | norm 1.5", "grad_norm", 1.5),
    ("step 3 tok/s=1500", "tokens_per_sec", 1500.0),
    ("step 3 tokens/s=1500", "tokens_per_sec", 1500.0),
    ("step 3 tokens_per_sec=1500", "tokens_per_sec", 1500.0),
    ("step 3 tps=1500", "tokens_per_sec", 1500.0),
    ("step 3 throughput: 1.5k tokens/s", "tokens_per_sec", 1500.0),
    ("step 3 throughput 40 samples/sec", "samples_per_sec", 40.0),
    ("step 3 lr=3e-4", "lr", 3e-4),
    ("step 3 learning_rate=3e-4", "lr", 3e-4),
    ("step 3 it/s=2.5", "step_time", 0.4),  # a rate of iterations is a step time, as for progress bars
    ("step 3 speed: 2.5it/s", "step_time", 0.4),
    ("step 3 s/it=0.4", "step_time", 0.4),
    ("step 3 val_loss=1.5", "val_loss", 1.5),
    ("step 3 eval_loss=1.5", "val_loss", 1.5),
    ("step 3 valid_loss=1.5", "val_loss", 1.5),
])
def test_aliases(line: str, name: str, value: float) -> None:
    rec = KeyValueParser().parse(line)
    assert rec is not None and rec.step == 3
    assert dict(rec.metrics) == {name: pytest.approx(value)}


@pytest.mark.parametrize("key", ["iter", "it", "global_step", "step", "Iteration", "train_step"])
def test_step_keys(key: str) -> None:
    rec = KeyValueParser().parse(f"{key}=7 loss=2.5")
    assert rec is not None and rec.step == 7 and dict(rec.metrics) == {"loss": 2.5}


def test_norm_is_the_grad_norm_only_on_a_step_line() -> None:
    rec = KeyValueParser().parse("loss=2.5 norm=1.5")
    assert rec is not None and rec.step is None and dict(rec.metrics) == {"loss": 2.5, "norm": 1.5}
    rec = KeyValueParser().parse("step 4 grad_norm=1.5 norm=9.0")  # a grad norm already named wins
    assert rec is not None and dict(rec.metrics) == {"grad_norm": 1.5, "norm": 9.0}


# ── real kv-style lines of the corpus ──────────────────────────────────────────────────────────────────


def llmc(heading: str, start: str) -> str:
    """The line of nanogpt_llmc.md excerpt `heading` that starts with `start`."""
    return line_with(md_block("nanogpt_llmc.md", heading), start)


def test_llmc_norm_is_the_grad_norm() -> None:
    # nanogpt_llmc.md L3: `step   65/74 | loss 3.596000 (+nanz)| norm 1.4701 (+nanz)| lr 3.00e-04 | 44.55 ms | …`
    rec = KeyValueParser().parse(llmc("Excerpt L3", "step   65/74"))
    assert rec is not None and (rec.step, rec.total_steps) == (65, 74)
    assert dict(rec.metrics) == {"loss": 3.596, "grad_norm": 1.4701, "lr": 3e-4}


def test_llmc_single_digit_steps_are_padded_to_four_spaces() -> None:
    # L4: `step    1/19560 | …` (`%4d`): the step of steps 1-9 was lost, four spaces being one too many
    rec = KeyValueParser().parse(llmc("Excerpt L4", "step    1/19560"))
    assert rec is not None and (rec.step, rec.total_steps) == (1, 19560)
    assert dict(rec.metrics) == {"loss": 11.010252, "grad_norm": 15.1374, "lr": 8.57e-07}


def test_llmc_took_ms_is_seconds() -> None:
    # L1: `step 0: train loss 5.356189 (took 1452.121000 ms)`: a unit word after a space
    rec = KeyValueParser().parse(llmc("Excerpt L1", "step 0: "))
    assert rec is not None and rec.step == 0
    assert dict(rec.metrics) == {"loss": 5.356189, "took": pytest.approx(1.452121)}


def test_deepspeed_timer_memory_is_gib() -> None:
    # deepspeed.md D1: `SamplesPerSec=83.48609168106144, MemAllocated=0.26GB, MaxMemAllocated=9.02GB`
    line = line_with(json_excerpt("excerpts_deepspeed.json", "Excerpt D1"), "MemAllocated=0.26GB")
    rec = KeyValueParser().parse(line)
    assert rec is not None
    assert dict(rec.metrics) == {"samples_per_sec": 83.48609168106144, "mem_allocated_gib": 0.26,
                                 "max_mem_allocated_gib": 9.02}


def test_samples_per_sec_with_a_slash() -> None:
    # D3: ` samples/sec: 7.799 | iteration       34/   10000 | … | approx flops per GPU: 112.9TFLOPS | …`
    line = line_with(json_excerpt("excerpts_deepspeed.json", "Excerpt D3"), " samples/sec: 7.799")
    rec = KeyValueParser().parse(line)
    assert rec is not None and rec.metrics["samples_per_sec"] == 7.799
    assert not any("flops" in name for name in rec.metrics)  # `112.9TFLOPS`: a unit too long to be one


def test_torchtitan_memory_matches_the_torchtitan_parser_name() -> None:
    # others_….md T3: `memory:  9.46GiB(64.99%)`, as torchtitan.py names it
    from runwatch.parsers.torchtitan import TorchtitanParser

    line = json_excerpt("excerpts_torchtitan_composer_axolotl_accelerate.json", "Excerpt T3", "titan")[0]
    kv, titan = KeyValueParser().parse(line), TorchtitanParser().parse(line)
    assert kv is not None and titan is not None
    assert kv.metrics["memory_gib"] == titan.metrics["memory_gib"] == 9.46
    assert {n: kv.metrics[n] for n in ("loss", "grad_norm", "tokens_per_sec", "mfu")} == \
        {n: titan.metrics[n] for n in ("loss", "grad_norm", "tokens_per_sec", "mfu")}


def test_every_record_key_passes_the_pre_check() -> None:
    # a key that can make a record must not be filtered out before the scan, in any spelling: a step key, or
    # a measured metric's (a learning rate, an epoch or a time alone makes none: test_a_header_…)
    keys = {k for k, name in keyvalue.CANONICAL.items() if name in keyvalue._MEASURED_NAMES} | keyvalue._STEP_KEYS
    for key in keys:
        for spelled in (key, key.replace("_", "/"), key.replace("_", "-")):
            assert keyvalue._mentions_known_key(f"x {spelled}=1".lower()), spelled
    assert keyvalue._mentions_known_key("speed: 2.5it/s") and keyvalue._mentions_known_key("speed 2.5 s/it")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="step iter it/s tok gnorm norm mem=:,|/ 0123456789.e-+nan%kKMGTBsmiGiB_", max_size=160))
def test_never_raises_with_units(line: str) -> None:
    rec = KeyValueParser().parse(line)
    if rec is not None:
        assert rec.metrics and all(isinstance(v, float) for v in rec.metrics.values())


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="step it/s s/it tokens/s throughput mem lr=:,| 0123456789.e-+%kMGBms_", max_size=120))
def test_the_pre_check_is_only_a_filter_with_units(line: str) -> None:
    got = _json(KeyValueParser().parse(line))
    with pytest.MonkeyPatch.context() as mp:
        _unfiltered(mp)
        assert _json(KeyValueParser().parse(line)) == got


def test_a_leading_logging_stamp_is_the_records_time(capsys: pytest.CaptureFixture[str]) -> None:
    """The run lab's kv loop logs through Python's `logging` (`2026-11-22 16:43:58,573 INFO train: step=1 …`):
    the stamp is each record's time, local as printed, so `check` judges the log's own time (a hang between
    two lines shows) and `report` knows when the run started. An impossible stamp is no time, not no record."""
    from datetime import datetime

    from runwatch.cli import main

    log = Path(__file__).resolve().parents[1] / "fixtures/realruns/kvlog-healthy/run/train.log"
    first = log.read_text("utf-8").splitlines()[0]
    rec = KeyValueParser().parse(first)
    assert rec is not None and rec.step == 1
    assert rec.t == datetime.strptime(first[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    odd = KeyValueParser().parse("2026-13-40 16:43:58,573 INFO train: step=1 loss=2.5")
    assert odd is not None and odd.t == 0.0
    assert KeyValueParser().parse("step=1 loss=2.5 at 2026-11-22 16:43:58,573 x") is not None
    assert main(["check", str(log)]) == 0
    assert "no step line carries a time" not in capsys.readouterr().out


FOUND = Path(__file__).parents[1] / "fixtures" / "found"


def test_a_grpo_loops_console_reads_its_step_lines_only() -> None:
    """A new user's review: in a GRPO loop's console the loop's warning `⚠️ Sampling slow: 46.0s, steps=158`
    (a count said last, after no measurement of training) and the model's generated answers (`**Step 1:**
    The tank is 3/5 full, meaning 3 …`) were 188 step records, and `check` said the run started again 90
    times. Its 20 step lines `[step 10] avg_loss=0.0294 acc=0.8000`, one in ~700 lines, are the run."""
    from runwatch.parsers.source import SourceParser

    text = tuple((FOUND / "grpo_custom_generations.log").read_text(encoding="utf-8").splitlines())
    sp = SourceParser("grpo.log")
    recs = [r for i in range(0, len(text), 500) for r in sp.feed(list(text[i:i + 500]), i + 1, 0.0)] + sp.flush()
    assert sp.format == "kv"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps] == list(range(10, 201, 10))
    assert {k for r in steps for k in r.metrics} == {"avg_loss", "acc"}
    assert steps[0].metrics == {"avg_loss": 0.0294, "acc": 0.8}
    slow = line_with(text, "Sampling slow: 46.0s")
    prose = line_with(text, "meaning 3 out of 5")
    assert KeyValueParser().parse(slow) is None and KeyValueParser().parse(prose) is None


def _source_records(name: str) -> tuple[str | None, list[Record]]:
    from runwatch.parsers.source import SourceParser

    data = (FOUND / name).read_bytes()
    text = (gzip.decompress(data) if name.endswith(".gz") else data).decode("utf-8").splitlines()
    sp = SourceParser(name)
    recs = [r for i in range(0, len(text), 500) for r in sp.feed(text[i:i + 500], i + 1, 0.0)] + sp.flush()
    return sp.format, recs


def test_a_batch_of_an_epoch_is_its_step_and_the_relaunches_show() -> None:
    """A review's GPT-2 Chinese run (`batch 170 of epoch 1, loss 4.87…, batch_acc 0.35…, lr […]`): `of` is a word
    of prose, so the epoch was never read, the batch was a metric, and the run read "no steps", its three launches
    weeks apart one 58-day stall. The batch is the step within the epoch the line names (made global); a phrase
    before `of` (`number of epoch 3`) still names nothing."""
    from tests.support.found import found_lines
    from tests.support.realruns import check_json

    name = "gpt2_chinese_batch_of_epoch_relaunched.log.gz"
    fmt, recs = _source_records(name)
    logged = [(int(m[1]), int(m[2]), float(m[3])) for x in found_lines(name)
              if (m := re.search(r" - batch (\d+) of epoch (\d+), loss (\S+),", x))]
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "kv" and len(steps) == len(logged) > 1900
    assert [(r.metrics["epoch"], r.metrics["loss"]) for r in steps] == [(float(e), x) for _, e, x in logged]
    assert [r.step for r in steps[:3]] == [b for b, _, _ in logged[:3]]
    code, [run], _ = check_json(FOUND / name)
    assert any("started again 2 times" in n for n in run["notes"]), run["notes"]
    assert KeyValueParser().parse("number of epoch 3 loss 2") is None


def test_a_global_step_in_brackets_is_the_step_and_an_epochs_own_count_no_place_in_it() -> None:
    """lmqg's T5 trainer: `\t * (global step 50: loss: 0.7488…, lr: 0.0001` read no step (the bracket glued to
    `global` made it prose), and its epoch's summary `[epoch 0/15] average loss: 1.145` read as step 0 of 15, so the
    run "started again" at each epoch's end. The steps are 50, 100, 150; the summary is at no step of its own."""
    name = "lmqg_t5_global_step_epoch_summary.out"
    _, recs = _source_records(name)
    assert [r.step for r in recs if r.kind is Kind.STEP and r.step is not None] == [50, 100, 150]
    [summary] = [r for r in recs if "epochs" in r.metrics]
    assert summary.step is None and (summary.metrics["epoch"], summary.metrics["epochs"]) == (0.0, 15.0)


def test_a_count_spaced_around_its_slash_and_a_batchs_own_total() -> None:
    """Two review logs: `Epoch:  149 / 150  Training loss: …` (the slash set apart) read no epoch count, so the run
    of 150 epochs read `step 149` with no total; `Epoch: 001/099 | Batch 0005/0011 | Loss: …` read the batch's 11
    nowhere, so 99 epochs of 11 batches had no total either. The epoch count is 150; the batch's total is its epoch's
    length, which the epochs make the run's (99 × 11)."""
    from tests.support.realruns import check_json

    _, recs = _source_records("fishvista_epoch_spaced_slash_wandb.log")
    epochs = [r for r in recs if r.kind is Kind.STEP]
    assert len(epochs) == 150 and all(r.metrics["epochs"] == 150.0 for r in epochs)
    code, [run], _ = check_json(FOUND / "fishvista_epoch_spaced_slash_wandb.log")
    assert (run["step"], run["total_steps"]) == (149, 150), run
    _, recs = _source_records("poetic_transformer_epoch_batch_totals.out")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert (steps[0].step, steps[-1].step, steps[-1].total_steps) == (0, 98 * 11 + 10, 99 * 11)
    code, [run], _ = check_json(FOUND / "poetic_transformer_epoch_batch_totals.out")
    assert run["state"] == "finished" and not [w for w in run["notes"] if "incomplete" in w], run  # `Total Training Time`


def test_a_line_that_says_it_tests_is_an_evaluation() -> None:
    """A new user's review: DSFD's `test epoch:0 || Loss:4.3688` after each epoch's eval went into the
    training `loss` series (a comb of drops at every epoch's end in the TUI's chart)."""
    fmt, recs = _source_records("dsfd_pytorch_loop.log")
    assert fmt == "kv"
    evals = [r for r in recs if r.kind is Kind.EVAL]
    assert [r.metrics for r in evals] == [{"epoch": 0.0, "test_loss": 4.3688}, {"epoch": 1.0, "test_loss": 3.7368},
                                           {"epoch": 2.0, "test_loss": 3.3945}]
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert steps[1].step == 10 and steps[1].metrics == {"epoch": 0.0, "loss": 19.4519}
    assert 4.3688 not in [r.metrics["loss"] for r in steps]


def test_paddlevideos_epochs_validation_and_finish() -> None:
    """A new user's review of a PaddleVideo run (`epoch:[  1/25 ] train step:100  loss: 3.45068 …`): each
    epoch's `train step:0` read as a restart (24 of them), `val step:0    loss: 3.27431` went into the training
    loss, and its last line, `training Res18 finished`, was no finish (`ended`)."""
    from tests.support.realruns import check_json

    fmt, recs = _source_records("paddlevideo_res18_train.log")
    assert fmt == "kv"
    steps = [r for r in recs if r.kind is Kind.STEP and r.step is not None]
    assert [r.step for r in steps[:5]] == [0, 100, 101, 201, 202]  # epoch 2 counts on from epoch 1's last step
    assert all(b.step > a.step for a, b in zip(steps, steps[1:], strict=False))  # type: ignore[operator]
    assert [r.metrics["epoch"] for r in steps[:3]] == [1.0, 1.0, 2.0] and steps[-1].metrics["epoch"] == 25.0
    evals = [r for r in recs if r.kind is Kind.EVAL]
    assert len(evals) == 50 and evals[0].metrics["val_loss"] == 3.27431 and evals[0].step is None  # and each END
    assert 3.27431 not in [r.metrics.get("loss") for r in steps]
    assert [r.event for r in recs if r.kind is Kind.EVENT] == ["finished"]
    assert steps[1].t - steps[0].t == 133.0  # `[12/25 14:22:40]` to `[12/25 14:24:53]`: its stamps are its times
    # each epoch's `END epoch:1   val loss_avg: 3.62249 top1_avg: … avg_batch_cost: 0.03663 sec` sums its evaluation
    # up: an evaluation of that epoch, its batch cost none of training's (a stepless training step, it was)
    ends = [r for r in recs if r.line in (121, 123)]
    assert [(r.kind, r.metrics["epoch"], r.metrics["val_loss_avg"]) for r in ends] == [(Kind.EVAL, 1.0, 3.62249)]
    assert ends[0].metrics["val_top1_avg"] == 0.14896 and "step_time" not in ends[0].metrics
    assert not [r for r in recs if r.kind is Kind.STEP and r.step is None and "loss" not in r.metrics]
    code, [run], _ = check_json(FOUND / "paddlevideo_res18_train.log")
    assert code == 0 and run["state"] == "finished" and not [n for n in run["notes"] if "started again" in n], run
    assert not run["alerts"]  # timed, each epoch's guessed first step was a step of 130 s: `step_time_drift 14×`


def test_a_yolov3_trainers_piped_counts_and_its_validation_bar() -> None:
    """A new user's review: a YOLOv3 trainer's `Epoch:[ 5 | 19 ]    Batch:[ 2000 | 2068 ]    … loss: 13.52` lines
    had no step, and the validation's bare tqdm bar after each epoch (4952 frames, `\\r`-drawn) took the source
    over as the HF Trainer's bar: "step 74280", the losses at no step. The count is the epoch's batch of 2068, the
    epoch the 0-based index of 20 (it prints the last one's index); the bar, holding no loss, takes nothing over."""
    fmt, recs = _source_records("yolov3_pytorch_voc_nohup.log.gz")
    assert fmt == "kv"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert len(steps) == 420 and all(r.step is not None for r in steps)
    assert [r.step for r in steps[:2]] == [0, 100] and steps[0].metrics["loss"] == 2221.4854
    assert steps[21].step == 2068 and steps[21].metrics["epoch"] == 1.0  # `Epoch:[ 1 | 19 ]    Batch:[ 0 | 2068 ]`
    assert (steps[-1].step, steps[-1].total_steps, steps[-1].metrics["loss"]) == (19 * 2068 + 2000, 20 * 2068, 7.1867)


def test_a_yolov3_run_resumed_at_a_late_epoch_counts_from_the_runs_start() -> None:
    """A review's YOLOv3 run resumed at `Epoch:[ 102 | 119 ]    Batch:[ 0 | 2068 ]` was counted from step 0: its end
    (epoch 119, batch 2060) read "step 37216/248160, 15%, incomplete". The epoch is 0-based and its length stated:
    the step is the run's own, epoch × 2068 + batch."""
    from tests.support.found import found_bytes
    from tests.support.readers import check

    name = "yolov3_nohup_oom_relaunch_head.log.gz"
    _, recs = _source_records(name)
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert (steps[0].step, steps[0].total_steps, steps[0].metrics["epoch"]) == (102 * 2068, 120 * 2068, 102.0)
    for size in (1 << 20, 1 << 14):
        got, _ = check(found_bytes(name), sizes=(size,))
        assert [(r.step, r.total_steps) for r in got if r.kind is Kind.STEP] == [(r.step, r.total_steps) for r in steps]


def test_build_nanogpts_padded_step_and_its_validation_loss() -> None:
    """A new user's review: build-nanogpt's `step     0 | loss: … | norm: …` (five places: a step below 10
    has five spaces before it) was read without its step, its `norm` not as the gradient norm, and
    `validation loss: 10.9499`, a line of its own, not at all."""
    fmt, recs = _source_records("build_nanogpt_train.log")
    assert fmt == "kv"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps] == list(range(len(steps))) and len(steps) >= 280
    assert all("grad_norm" in r.metrics and "norm" not in r.metrics for r in steps)
    assert [r.metrics for r in recs if r.kind is Kind.EVAL] == [{"val_loss": 10.9499}, {"val_loss": 6.1495}]


def test_pytorch_examples_word_language_model_and_mnist() -> None:
    """A new user's review: PyTorch's word-language-model example (`| epoch   1 |   200/ 2983 batches | lr 20.0000
    | ms/batch 11.61 | loss   nan | …`) had no steps (`check` named record counters as steps), its
    `ms/batch` was a metric of its own and its end-of-epoch time a step time. The place in the epoch is the
    step, made global across epochs; MNIST's example counts it in samples (`[640/60000 (1%)]`)."""
    fmt, recs = _source_records("word_lm_rnn_relu_nan.log")
    assert fmt == "kv"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps[:2]] == [200, 400] and steps[14].step == 2983 + 200
    assert steps[0].metrics["step_time"] == pytest.approx(0.01161) and "ms_batch" not in steps[0].metrics
    assert math.isnan(steps[0].metrics["loss"])
    evals = [r for r in recs if r.kind is Kind.EVAL]
    assert [sorted(r.metrics) for r in evals] == [["eval_time", "val_loss", "valid_ppl"]] * 5 + [["test_loss", "test_ppl"]]
    assert evals[0].metrics["eval_time"] == 35.58
    fmt, recs = _source_records("mnist_example_cpu.log")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps[:2]] == [0, 640] and [r.step for r in steps[-2:]] == [60000 + 2560, 60000 + 3200]
    assert [(r.kind, r.metrics) for r in recs if r.kind is Kind.EVAL] == [
        (Kind.EVAL, {"test_loss": 0.0485, "test_accuracy": 0.9817})]


def test_timms_train_and_test_lines() -> None:
    """timm's `Train: 0 [  32/33 (100%)]  Loss: 1.336 (4.00)  Time: 0.934s, …`: `Train: 0` is the epoch and the
    bracket the place in it (padded inside its parentheses); `Test: [   0/29] … Loss: 0.6912` the first batch of
    an evaluation under way: no result yet (`test_timms_evaluation_is_its_last_batchs_averages`)."""
    fmt, recs = _source_records("timm_resnet50.log")
    assert fmt == "kv"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [(r.step, r.total_steps) for r in steps] == [(0, 33), (32, 33)]
    assert steps[1].metrics == {"epoch": 0.0, "loss": 1.336, "step_time": 0.934, "lr": 0.0005, "data": 0.0}
    assert [r for r in recs if r.kind is Kind.EVAL] == []


def test_timms_evaluation_is_its_last_batchs_averages() -> None:
    """A review's timm ViTAE-S ImageNet run: `validate` prints `Test: [ 390/390]  … Loss:  1.4171 (1.3054)  Acc@1:
    32.5000 (72.6320) …` every 50 batches, each meter's batch value then its average so far, and `Test (EMA): […]`
    the same of the EMA weights. Each batch's line was an evaluation of its batch's values (`test_acc1` 0 at the end,
    where the run's was 72.632) and the EMA's went into the same series. Now the last batch's averages are the
    evaluation, once an epoch, the EMA's as `test_ema_…`."""
    name = "timm_vitaes_pbs_walltime_killed.log.gz"
    fmt, recs = _source_records(name)
    evals = [r for r in recs if r.kind is Kind.EVAL]
    from tests.support.found import found_lines

    lines = [x for x in found_lines(name) if x.startswith("Test")]
    ends = [x for x in lines if re.match(r"Test(?: \(EMA\))?: \[ 390/390\]", x)]
    assert fmt == "kv" and len(lines) > 4 * len(ends) and len(evals) == len(ends) == 84
    model, ema = evals[-2].metrics, evals[-1].metrics
    assert ends[-2].startswith("Test: [ 390/390]") and "Acc@1: 32.5000 (72.6320)" in ends[-2]
    assert model == {"test_time": 1.025, "test_loss": 1.3054, "test_acc1": 72.632, "test_acc5": 91.682}, model
    assert (ema["test_ema_acc1"], ema["test_ema_loss"]) == (0.082, 6.9489) and "test_acc1" not in ema
    # a NaN loss pads further (`{:>7.3f}` of nan): still the evaluation's loss, NaN (a code review: lost, no alert)
    nan = re.sub(r"Loss: +\S+ \(\S+\)", "Loss:     nan (   nan)", ends[-2])
    rec = KeyValueParser().parse(nan)
    assert "Loss:     nan (   nan)" in nan and rec is not None and math.isnan(rec.metrics["test_loss"]), nan
    # another loop's `Test: [i/N]`, no timm meters (`Name: value (average)`), is read as any line (a code review)
    [imagenet] = [x for x in found_lines("imagenet_example_torchelastic.log") if x.startswith("Test: [310/313]")][:1]
    other = KeyValueParser().parse(imagenet)
    assert other is not None and other.kind is Kind.EVAL and other.metrics["test_loss"] == 7.3541, imagenet


def test_detectron2s_total_loss_is_the_loss_and_its_time_the_step_time() -> None:
    """A new user's review: detectron2's `iter: 19 … total_loss: 6.146 … time: 0.9788  data_time: 0.2993` kept
    `total_loss` beside 28 partial losses, so no rule judged a loss and the TUI charted `aux_bce_loss_0`; its
    seconds an iteration were a metric named `time`, and `check` said the log printed no step time."""
    fmt, recs = _source_records("detectron2_cdfsod_artaxor10.log")
    assert fmt == "kv"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps[:3]] == [19, 39, 59]
    first = steps[0].metrics
    assert first["loss"] == 6.146 and first["step_time"] == 0.9788 and first["data_time"] == 0.2993
    assert "total_loss" not in first and "time" not in first
    assert all("loss" in r.metrics and "step_time" in r.metrics for r in steps)
    plain = KeyValueParser().parse("epoch 3 loss 0.5 total_loss 0.9 time 12")  # a loss of its own stays the loss
    assert plain is not None and plain.metrics["loss"] == 0.5 and plain.metrics["time"] == 12


def test_a_loop_that_prints_one_line_an_epoch_counts_its_run_in_epochs() -> None:
    """A new user's review: `Epoch 1/100 - Train Loss: 4.0520, Val Loss: 3.2508`, a line an epoch and no step,
    read `no steps` and the run never finished; its epochs are its steps (as bracketed reads
    `Epoch [e/E], Train Loss:`), by the per-line way and by blocks alike. Among lines that state a step
    (DSFD's `epoch:0 || iter:10 || Loss:…`) such a line stays off the step axis, where it would go back."""
    from runwatch.commands.readers import split_block
    from runwatch.parsers.source import SourceParser

    fmt, recs = _source_records("plain_loop_transformer_ende_nohup.log")
    assert fmt == "kv"
    steps = [(r.step, r.total_steps, r.metrics["loss"]) for r in recs if r.kind is Kind.STEP]
    assert len(steps) == 100 and steps[0] == (1, 100, 4.052) and steps[-1][:2] == (100, 100)
    data = (FOUND / "plain_loop_transformer_ende_nohup.log").read_bytes().splitlines(keepends=True)
    sp, line, blocks = SourceParser("x"), 1, []
    for i in range(0, len(data), 40):
        chunk = sp.feed_bytes(b"".join(data[i:i + 40]), line, 0.0, split_block)
        line += chunk.lines
        blocks += chunk.merged()
    blocks += sp.flush()
    assert [(r.step, r.total_steps, r.metrics["loss"]) for r in blocks if r.kind is Kind.STEP] == steps
    dsfd = (FOUND / "dsfd_pytorch_loop.log").read_text(encoding="utf-8").splitlines()
    stepped = line_with(tuple(dsfd), "epoch:0 || iter:10 ||")
    epoch_line = line_with(tuple((FOUND / "plain_loop_transformer_ende_nohup.log").read_text(
        encoding="utf-8").splitlines()), "Epoch 2/100 - Train Loss")
    sp = SourceParser("mixed", fmt="kv")
    mixed = sp.feed([stepped, epoch_line], 1, 0.0) + sp.flush()
    assert [(r.step, r.total_steps) for r in mixed if r.kind is Kind.STEP] == [(10, None), (None, None)]


def test_modded_nanogpts_log_after_its_source_code() -> None:
    """A new user's review: a modded-nanogpt record is the training script followed by its log; the script's
    `        val_loss = 0.0` was an evaluation at step 0 (`runwatch report`: best val_loss 0), `step_avg:179.31ms`
    no step time, and `step:125/5100 val_loss:5.4789 train_time:19493ms step_avg:169.51ms` a training step."""
    fmt, recs = _source_records("modded_nanogpt_optimizers.txt.gz")
    assert fmt == "kv"
    evals = [r for r in recs if r.kind is Kind.EVAL]
    assert len(evals) == 42 and evals[0].step == 0 and evals[0].metrics["val_loss"] == 16.0012
    # `step:625/5100 val_loss:3.8760 train_time:109093ms step_avg:177.39ms`: the average is training's (a review)
    assert evals[5].step == 625 and evals[5].metrics == {"val_loss": 3.876, "train_time": 109.093}
    assert min(r.metrics["val_loss"] for r in evals) == 3.2858
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps] == list(range(1, 5101))
    at = {r.step: r.metrics for r in steps}
    assert at[125]["loss"] == 5.5392 and at[125]["step_time"] == pytest.approx(0.16898)
    assert math.isnan(at[1]["step_time"])  # `step_avg:nanms` before its tenth step: as logged


def test_mmengine_logs_read_their_iterations_epochs_and_evaluations() -> None:
    """A new user's review: OpenMMLab's mmengine logs (`Iter(train) [ 100/8000]`, `Epoch(train)   [1][ 1/43]`)
    read `no steps`: a run stopped at 2600 of 8000 was OK, no progress, no ETA, no evaluation, no checkpoint."""
    fmt, recs = _source_records("mmseg_dubai_iter.log")
    assert fmt == "kv"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps] == list(range(100, 2601, 100)) and {r.total_steps for r in steps} == {8000}
    first = steps[0]
    assert first.metrics["loss"] == 0.1291 and first.metrics["step_time"] == 0.4297 and first.metrics["eta"] == 3570
    assert first.t == datetime.strptime("2023/06/15 11:30:50", "%Y/%m/%d %H:%M:%S").timestamp()
    evals = [r for r in recs if r.kind is Kind.EVAL]
    assert evals[0].metrics == {"val_aacc": 60.67, "val_miou": 20.68, "val_macc": 28.74}
    # epochs of 109 iterations logged at their 100th: each epoch's count made global
    fmt, recs = _source_records("mmpretrain_resnet50_fruits.log")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps] == [100 + 109 * e for e in range(10)]
    assert [r.metrics["epoch"] for r in steps] == [float(e) for e in range(1, 11)]
    evals = [r for r in recs if r.kind is Kind.EVAL]
    assert evals[0].metrics == {"val_accuracy_top1": 71.3303, "val_accuracy_top5": 93.3486, "epoch": 2.0}
    # an evaluation's batch lines (`Epoch(val)   [5][ 1/22]    eta: … time: …`) are no record; its last is
    fmt, recs = _source_records("mmdet_rtmdet_triangle.log.gz")
    assert len([r for r in recs if r.kind is Kind.STEP]) == 8600
    evals = [r for r in recs if r.kind is Kind.EVAL]
    assert len(evals) == 57 and evals[-1].metrics["val_coco_bbox_map"] == 0.845  # its 57 `[22/22]  coco/bbox_mAP:` lines
    saved = [r.message or "" for r in recs if r.event == "checkpoint_saved"]
    regular = [m for m in saved if "Saving checkpoint at" in m]
    assert len(regular) == 20 and "Saving checkpoint at 10 epochs" in regular[0]
    best = [m for m in saved if "is saved to best_coco_bbox_mAP_epoch_" in m]  # the best one's file, written too
    assert len(best) == 21 and len(saved) == 41


def test_a_batch_loss_is_the_loss() -> None:
    """A new user's review: `2025-03-02 05:16:20,962 - INFO - Epoch 1 - Batch loss: 12.1336`, 7,800 of them,
    read as nothing at all (`batch_loss` no measure of training: no record without a step key)."""
    fmt, recs = _source_records("t5_finetune_logging.log.gz")
    assert fmt == "kv"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert len(steps) == 7760 and steps[0].metrics == {"epoch": 1.0, "loss": 12.1336}  # its 7760 `Batch loss` lines
    assert steps[-1].metrics["epoch"] == 20.0 and steps[0].t > 0


def test_fairseq_reads_its_updates_as_steps_and_its_validation_as_an_evaluation() -> None:
    """A new user's review: fairseq's `num_updates=40100` was no step (`no steps`), and its `valid` logger's
    `loss 12.677` went into the training loss beside `train_inner`'s 3.1: a sawtooth at every epoch's end."""
    from tests.support.found import found_lines, source_records

    text = found_lines("fairseq_glat_nat_epochs_143_150.log")
    fmt, recs = source_records("fairseq_glat_nat_epochs_143_150.log")
    assert fmt == "kv"
    inner = [(int(m[2]), float(m[1])) for x in text if "| train_inner |" in x
             and (m := re.search(r" loss=([\d.]+),.* num_updates=(\d+),", x))]
    steps = [(r.step, r.metrics["loss"]) for r in recs if r.kind is Kind.STEP]
    assert len(inner) == 22 and set(inner) <= set(steps)
    assert max(loss for _, loss in steps) < 5  # no validation loss among them (and the epoch means beside)
    valid = [re.search(r"\| loss ([\d.]+) \|.*\| bleu ([\d.]+) \|.*\| num_updates (\d+) ", x) for x in text if "| valid |" in x]
    evals = [r for r in recs if r.kind is Kind.EVAL]
    assert [(r.step, r.metrics["val_loss"], r.metrics["val_bleu"]) for r in evals] == [
        (int(m[3]), float(m[1]), float(m[2])) for m in valid if m]
    assert len(evals) == 7


def test_paddlerecs_batch_in_its_epoch_is_the_place_in_the_epoch() -> None:
    """A new user's review: PaddleRec's `epoch: 3, batch_id: 500, …, loss:0.1046318` gave no step at all."""
    from tests.support.found import found_lines, source_records
    from tests.support.realruns import check_json

    text = found_lines("paddlerec_sign_train.log")
    fmt, recs = source_records("paddlerec_sign_train.log")
    assert fmt == "kv"
    logged = [(int(m[1]), int(m[2]), float(m[3])) for x in text
              if (m := re.search(r"epoch: (\d+), batch_id: (\d+), .*loss:([\d.]+),", x))]
    steps = [(r.metrics["epoch"], r.step, r.metrics["loss"]) for r in recs if r.step is not None and "loss" in r.metrics]
    assert len(steps) == len(logged) == 80
    # each epoch starts after the last batch logged in the one before (1500, counted from 0): 1501 × epoch
    assert steps == [(float(e), e * 1501 + b, loss) for e, b, loss in logged]
    # then `infer.py` over the saved epochs 15 to 18: back to a later epoch than the count's first is no new run
    # (a count begun anew there read `step 3` and "started again", the training's 30,019 steps gone)
    code, [run], _ = check_json(FOUND / "paddlerec_sign_train.log")
    assert code == 0 and run["step"] == 30019 and not [n for n in run["notes"] if "started again" in n], run
    # `avg_batch_cost: 0.56199 sec` is the step time (the mean over the 500 batches since the last line, 281 s
    # between their stamps): it was a metric of its own name, and the run's step time unknown
    timed = [r for r in recs if r.step is not None and "loss" in r.metrics]
    assert timed[1].metrics["step_time"] == 0.56199 and "avg_batch_cost" not in timed[1].metrics


def test_paddledetections_epoch_and_iteration_are_the_step() -> None:
    """A second review: PaddleDetection's `Epoch: [71] [400/464] learning_rate: … loss: 9.145962` gave no step."""
    from tests.support.found import found_lines, source_records

    name = "ppdet_m2sdetr_default.0.log.gz"
    logged = [(int(m[1]), int(m[2]), float(m[3])) for x in found_lines(name)
              if (m := re.search(r"Epoch: \[(\d+)\] \[ *(\d+)/464\] .* loss: ([\d.]+) ", x))]
    fmt, recs = source_records(name)
    assert fmt == "kv"
    steps = [(r.metrics["epoch"], r.step, r.metrics["loss"]) for r in recs if r.kind is Kind.STEP]
    assert len(steps) == len(logged) == 216
    assert steps == [(float(e), e * 464 + i, loss) for e, i, loss in logged]


def test_paddleocrs_epoch_of_the_runs_its_stamp_and_its_batch_cost() -> None:
    """A second review: PaddleOCR's `[2021/05/03 11:57:44] root INFO: epoch: [1/72], iter: 10, …, batch_cost:
    0.56066 s` gave no epoch, no time (`no step line carries a time or a step time`) and no step time."""
    from runwatch.parsers.fields import local_time
    from tests.support.found import found_lines, source_records

    name = "paddleocr_lightstr_workerlog.0.gz"
    logged = [m for x in found_lines(name)
              if (m := re.match(r"\[([\d/]+ [\d:]+)\] root INFO: epoch: \[(\d+)/72\], iter: (\d+), .* batch_cost: ([\d.]+) s,", x))]
    fmt, recs = source_records(name)
    assert fmt == "kv"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert len(steps) == len(logged) == 275
    assert [(r.step, r.metrics["epoch"], r.metrics["epochs"], r.metrics["step_time"]) for r in steps] == [
        (int(m[3]), float(m[2]), 72.0, float(m[4])) for m in logged]
    assert [r.t for r in steps] == [local_time(m[1].replace("/", "-")) for m in logged]


def test_mmcv_1x_lines_are_an_epochs_iterations() -> None:
    """mmcv 1.x's text logger (mmhuman3d's HMR, 1220 iterations an epoch, logged every 50): `Epoch [1][50/1220]`
    is iteration 50 of epoch 1, made global across epochs; `eta: 30 days, 14:24:49` is 30 days and more, not
    30 s; `time:` the iteration's seconds. Read as pairs only, no line was a step."""
    from tests.support.found import source_records

    fmt, recs = source_records("mmhuman3d_hmr_mmcv1_nohup.out.gz")
    assert fmt == "kv"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps[:3]] == [50, 100, 150]
    assert steps[0].metrics["epoch"] == 1 and steps[0].metrics["step_time"] == 21.68
    assert steps[0].metrics["eta"] == ((30 * 24 + 14) * 60 + 24) * 60 + 49
    after = next(r for r in steps if r.metrics["epoch"] == 2)
    assert after.step == 1220 + 50
    assert [r.step for r in steps] == sorted(r.step for r in steps)  # type: ignore[type-var]


def test_a_total_loss_is_the_loss_of_a_line_with_no_step() -> None:
    """A loop's `epoch=0/250,total_loss=1.870129, 1 epoch time=…`: the loss it trains on, its epochs the steps
    (a review: `check` said nothing understood, exit 3; the same line with `loss=` was read)."""
    from tests.support.found import source_records

    fmt, recs = source_records("dgcnn_abo_epochs_nohup.log")
    assert fmt == "kv"
    assert len(recs) == 250 and recs[0].metrics["loss"] == 1.870129 and "total_loss" not in recs[0].metrics
    assert (recs[0].metrics["epoch"], recs[0].metrics["epochs"]) == (0, 250)


def test_a_metric_logger_line_is_an_epochs_iteration() -> None:
    """torchvision's MetricLogger, as DINO prints it: `Epoch: [0/100]  [  10/1562]  eta: 0:30:15  loss: 10.884450
    (10.884587)  lr: … time: 1.169906  data: 0.404951  max mem: 11482`: iteration 10 of the epoch's 1562, epoch 0 of
    100, `time` the step time and `data` the loading time (a review: `no steps` over 17,076 records)."""
    from tests.support.found import source_records

    fmt, recs = source_records("dino_vit_pretrain_warmup_head.out.gz")
    assert fmt == "kv"
    first = next(r for r in recs if r.kind is Kind.STEP and r.step == 10)
    assert first.total_steps is not None and first.metrics["loss"] == 10.88445
    assert (first.metrics["epoch"], first.metrics["epochs"]) == (0, 100)
    assert (first.metrics["step_time"], first.metrics["data_time"]) == (1.169906, 0.404951)
    steps = [r.step for r in recs if r.kind is Kind.STEP and r.step is not None]
    assert steps == sorted(steps) and steps[-1] > 12 * 1562


def test_mmcv_1x_results_line_is_an_evaluation() -> None:
    """mmcv 1.x prints an evaluation once, when it ends: `Epoch(val) [1][200]\tbbox_mAP: 0.0310, …`, its counter
    the images evaluated with no `/` (mmengine's batch lines have one, and only the last gives the results). It
    read as an evaluation's progress: the mAP of an MMDetection 2.x run was never seen (a review)."""
    from tests.support.found import source_records

    fmt, recs = source_records("mmdet2_cascade_epoch1_val_excerpt.log")
    assert fmt == "kv"
    (ev,) = [r for r in recs if r.kind is Kind.EVAL]
    assert ev.metrics["val_bbox_map"] == 0.031 and ev.metrics["val_bbox_map_50"] == 0.119
    assert ev.metrics["epoch"] == 1 and "loss" not in ev.metrics
    assert [r.step for r in recs if r.kind is Kind.STEP] == [950, 962 + 50]


def test_a_validation_bar_glued_before_a_logger_line_is_the_bars_word() -> None:
    """TMR's Lightning run on Slurm: after each validation, the bar's frame `Validation: |          | 0/?
    [00:00<?, ?it/s]`, a cursor-up, then its logger's `[05/07/24 02:38:10] INFO   Epoch 79: v_recons 3.450e-01
    recons 3.101e-01  v_loss 1.186e+00  loss 5.671e-01 …` on the same line. The bar's `Validation` made every pair
    an evaluation's: the training loss read as `val_loss` and the run had no loss (a review)."""
    from tests.support.found import source_records

    fmt, recs = source_records("tmr_lightning_rich_epochs_train.out")
    assert fmt == "kv"
    last = recs[-1]
    assert (last.metrics["epoch"], last.metrics["loss"], last.metrics["v_loss"]) == (79, 0.5671, 1.186)
    assert len([r for r in recs if "loss" in r.metrics]) == 80 and not any("val_loss" in r.metrics for r in recs)


def test_a_global_batch_is_the_step() -> None:
    """A review: a T5 loop's `Epoch 1, Global Batch 5, Training Loss: 33.1831, Validation Loss: …` read `no
    steps` (its batches counted across epochs were a metric, `global_batch`)."""
    from tests.support.found import found_lines, source_records

    text = found_lines("t5_global_batch_training_excerpt.log")
    fmt, recs = source_records("t5_global_batch_training_excerpt.log")
    logged = [(int(m[1]), float(m[2])) for x in text if (m := re.search(r"Global Batch (\d+), Training Loss: ([\d.]+)", x))]
    assert fmt == "kv" and len(logged) == 128
    assert [(r.step, r.metrics["loss"]) for r in recs if "loss" in r.metrics] == logged


def test_a_name_said_again_after_the_validations_loss_is_the_validations() -> None:
    """A review: `Train Loss: 11.2338 | Token Acc: 0.0490 | … | Val Loss: 10.9681 | Token Acc: 0.0660 | …` kept one
    `token_acc`, the training's; the validation's was lost."""
    from tests.support.found import found_lines

    line = next(x for x in found_lines("mt_en2zh_train_val_acc_excerpt.log") if "Val Loss" in x)
    rec = KeyValueParser().parse(line)
    assert rec is not None and rec.metrics == {
        "epoch": 0.0, "loss": 11.2338, "token_acc": 0.049, "seq_acc": 0.0,
        "val_loss": 10.9681, "val_token_acc": 0.066, "val_seq_acc": 0.0}


def test_a_metric_loggers_averaged_stats_without_lr_are_the_evaluations() -> None:
    """A review: DETR's `Averaged stats:` after its `Test:` lines (the evaluation's, no `lr` meter) was read as training,
    its test loss (54.99 after training's 34.85) in the loss series every epoch. The training's own, with `lr`, stays a
    training record; the run's `Training time 0:13:00` is its finish."""
    from runwatch.model import Event
    from runwatch.parsers.events import EventDetector
    from tests.support.found import found_lines

    text = found_lines("detr_metric_logger_epoch0_excerpt.log")
    averaged = [x for x in text if x.startswith("Averaged stats: ")]
    assert len(averaged) == 4 and [" lr: " in x for x in averaged] == [True, False, True, False]  # two epochs
    train, test = (KeyValueParser().parse(x) for x in averaged[:2])
    assert train is not None and train.kind is Kind.STEP and train.metrics["loss"] == 34.8483
    assert test is not None and test.kind is Kind.EVAL and test.metrics["test_loss"] == 54.9872
    assert "loss" not in test.metrics
    det = EventDetector()
    ends = [r for x in found_lines("detr_training_time_tail.log") if (r := det.feed(x)) is not None]
    assert [(r.event, r.message) for r in ends] == [(Event.FINISHED, "Training time 0:13:00")]


def test_a_loggers_file_name_before_the_step_is_no_phrase() -> None:
    """A review: `2024-06-14 18:45:08,384 train.py step     0 | loss: 11.027695 | …` read as the phrase `train.py step`:
    no step, no total, and `train.py validation loss: 11.0213` no validation loss. The source file a logger names
    (`%(filename)s`) ends its prefix, as a level does."""
    from tests.support.found import source_records

    fmt, recs = source_records("build_nanogpt_logger_prefix_head.log")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "kv" and [r.step for r in steps] == list(range(len(steps))) and len(steps) >= 15
    assert steps[0].total_steps == 19073 and steps[0].metrics["loss"] == 11.027695
    assert steps[0].t > 0 and steps[0].metrics["grad_norm"] == 14.3291
    assert [r.metrics for r in recs if r.kind is Kind.EVAL][:1] == [{"val_loss": 11.0213}]


def test_a_metric_loggers_test_lines_behind_a_glog_prefix_are_evaluations() -> None:
    """A review: a distillation run's `Test - Epoch: [0/200]  [  10/1934] … loss/…: 0.2080 (0.2159)` lines, behind a
    glog-style prefix, were read as training steps (`step 3867/386800`, its test loop's count), and its loss-less
    `Training - Epoch: [0/200]  [4040/4214]  eta: … time: … data: … max mem: …` lines as nothing. The training lines
    are the run's progress (epoch 0's count of 4,214 made global), the test lines evaluations at the run's step."""
    from tests.support.found import source_records

    fmt, recs = source_records("deit_metriclogger_train_then_test_glog_excerpt.log")
    assert fmt == "kv"
    steps = [r for r in recs if r.kind is Kind.STEP]
    evals = [r for r in recs if r.kind is Kind.EVAL]
    assert [r.step for r in steps] == [*range(3800, 4201, 40), 4213]
    assert {r.total_steps for r in steps} == {200 * 4214} and steps[0].metrics["step_time"] == 0.822145  # epoch 0's
    # step 3,800 is past what the first of 200 epochs of 4,214 could reach: 4,214 is one epoch's (`epochal`)
    assert evals and len(evals) == 26 - len(steps) - 2 and all(r.step is None for r in evals)
    assert (evals[0].metrics["test_loss_dist"], evals[0].metrics["epoch"]) == (0.1461, 0.0)


def test_a_step_time_said_by_its_unit_and_an_evaluations_split_losses() -> None:
    """A review: a nanoGPT fork's `[train] iter 10: loss 8.7390 11136 ms/iter` read no step time (its note said
    the log prints none), and its `[eval] iter 0: train 9.8508 val 9.8491` named the losses `val_train`, `val_val`."""
    from tests.support.found import found_lines

    parser = KeyValueParser()
    recs = [r for line in found_lines("nanogpt_fork_ms_per_iter_head.log") if (r := parser.parse(line)) is not None]
    [ev] = [r for r in recs if r.kind is Kind.EVAL]
    assert (ev.step, ev.metrics["eval_train_loss"], ev.metrics["val_loss"]) == (0, 9.8508, 9.8491)
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [(r.step, r.metrics["step_time"]) for r in steps[:2]] == [(10, 11.136), (20, 2.271)]


@pytest.mark.parametrize("sizes", [(1 << 20,), (2000, 500)])
def test_a_meta_learning_loops_outer_steps_and_their_nan(sizes: tuple[int, ...]) -> None:
    """A new user's review: JAX ncflow's `    Outer Step:     0      LossTrajs: 4.33880901     ContextsNorm: …`, its
    values right-aligned after their colons, read as no known format, and its NaN from outer step 140 went unseen.
    Every outer step is a step (both readers alike, the format detected), its `LossTrajs` a loss; the header's
    `Maximum total number of training steps: 3000` the total, not the adaptation phase's `Total number of training
    steps: 1500` printed after training."""
    from tests.support.readers import check

    data = (FOUND / "jax_ncflow_outer_step_nan_nohup.log").read_bytes()
    recs, _ = check(data, sizes)
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps] == [0, 1, 2, 3, *range(10, 150, 10), 149]
    assert {r.total_steps for r in steps} == {3000}
    assert steps[0].metrics == {"loss_trajs": 4.33880901, "contexts_norm": 0.0, "val_ind_crit": 4.30899191}
    assert [r.step for r in steps if math.isnan(r.metrics["loss_trajs"])] == [140, 149]
    assert [r.event for r in recs if r.kind is Kind.EVENT] == ["traceback"]


@pytest.mark.parametrize("sizes", [(1 << 20,), (300, 200)])
def test_paddles_loss_is_an_array_of_one(sizes: tuple[int, ...]) -> None:
    """PaddlePaddle's own tutorials print `epoch: 0, batch_id: 0, loss is: [47.821], acc is: [0.203125]` (`loss.numpy()`,
    an array of one): a review's Paddle runs in this form read as no known format, no loss, no NaN check. `is:` is
    the pair's colon and the array's value the value; `batch_id` counts within the epoch (both readers alike)."""
    from tests.support.readers import check

    recs, _ = check((FOUND / "paddle_docs_lenet_loss_is.log").read_bytes(), sizes)
    assert [r.step for r in recs] == [*range(0, 1000, 100), *range(901, 1802, 100)]
    assert recs[0].metrics == {"epoch": 0.0, "loss": 47.821, "acc": 0.203125}
    assert recs[6].metrics["acc"] == 1.0 and recs[-1].metrics["loss"] == 0.06298847


def test_an_epochs_summary_in_brackets_is_the_epoch_whatever_its_values_are_named() -> None:
    """A review: `Epoch [1/30] Train: 0.1052 | Val: val_loss 0.6294 | 185.4s | current_lr: 0.0005 | …` took the train
    value for the epoch (timm's `Train: 0 [  50/10009` rule, its `[1/30]` read as a count in the epoch); a loop's
    `Epoch [1/30] Train: 0.0962 | Val: 0.0991 | 457.0s | LR: 0.001000` was no record at all (no loss named)."""
    fmt, recs = _source_records("verf_tgm_earlystop_epoch18of30.md")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "kv" and [(r.step, r.total_steps) for r in steps] == [(k, 30) for k in range(1, 19)]
    assert steps[0].metrics == {"epoch": 1.0, "epochs": 30.0, "train": 0.1052, "val_loss": 0.6294,
                                "current_lr": 0.0005, "current_wd": 0.05}
    text = (FOUND / "verf_tgm_bars_epoch_summaries_30ep.log").read_text()
    summaries = [line for line in text.splitlines() if line.startswith("INFO:Trainer:Epoch [")]
    parser = KeyValueParser()
    got = [parser.parse(line) for line in summaries]
    read = [(r.metrics["epoch"], r.metrics["epochs"], r.metrics["train"]) for r in got if r is not None]
    assert len(got) == 29  # the 9th is glued to a bar's frame
    assert [e for e, _, _ in read] == [float(k) for k in range(1, 31) if k != 9] and {n for _, n, _ in read} == {30.0}
    assert read[-1][2] == 0.0228


def test_timms_train_value_is_its_epoch_only_before_its_count_in_brackets() -> None:
    lines = tuple((FOUND / "timm_resnet50.log").read_text().splitlines())
    rec = KeyValueParser().parse(line_with(lines, "Train: 0 ["))
    assert rec is not None and rec.metrics["epoch"] == 0.0 and "train" not in rec.metrics


def test_a_logging_stamp_before_a_bar_is_the_records_time() -> None:
    """`%(asctime)s|%(levelname)8s| %(message)s` (a review's 3D reconstruction: `2025-04-28 14:12:33,089|    INFO|
    Train: STEP 4141 - …`): its lines read with no time, so its hangs and pace showed only as a history read."""
    from runwatch.parsers.fields import local_time
    from tests.support.found import found_lines

    line = next(x for x in found_lines("recon3d_epoch_bars_marching_cube_head.log.gz")
                if "| Train: STEP " in x and x[:4].isdigit())
    rec = KeyValueParser().parse(line)
    assert rec is not None and rec.t == local_time(line[:19], line[20:23]) and rec.t > 1.7e9


def test_a_two_word_key_may_start_with_digits() -> None:
    """A review: a 3D reconstruction's `Train: STEP 4141 - EPOCH 100/1000 | 3D loss: 2.941E-01 | reco loss: …` lost
    its main loss (`3D` is no word that starts a key), so a NaN in it was never seen."""
    from tests.support.found import found_lines

    line = next(x for x in found_lines("recon3d_epoch_bars_marching_cube_head.log.gz")
                if "| 3D loss: " in x and x[:4].isdigit())
    rec = KeyValueParser().parse(line)
    assert rec is not None and list(rec.metrics)[2:6] == ["3d_loss", "reco_loss", "rgb_loss", "nrm_loss"]


def test_a_grad_column_beside_a_loss_is_the_gradient_norm() -> None:
    """A GPT-2 LoRA loop logs `Epoch 1 | Step 6500/6501 | Loss: 0.4631 | PPL: 1.61 | LR: 1.00e-06 | Grad: 0.618 |
    Time: 0.130s`: read as `grad`, no rule judged it, and a NaN there went unreported (a review)."""
    from tests.support.found import source_records

    fmt, recs = source_records("gpt2_lora_emoji_logger_2epochs.log.gz")
    steps = [r for r in recs if r.kind == Kind.STEP and r.step is not None]
    assert fmt == "kv" and len(steps) > 1000 and all("grad_norm" in r.metrics and "grad" not in r.metrics for r in steps)
    assert (steps[-1].step, steps[-1].metrics["grad_norm"], steps[-1].metrics["loss"]) == (13001, 0.618, 0.4631)


def test_a_headers_planned_steps_are_the_total_of_lines_that_state_one_epochs() -> None:
    """The same loop says `Total training steps: 13002`, then `Epoch 0 | Step 3150/6501`: one epoch's count. The
    first epoch read as the whole run, 48.5% done at 24% and an ETA of half the time left (a review)."""
    from tests.support.found import source_records

    _, recs = source_records("gpt2_lora_emoji_logger_2epochs.log.gz")
    first = next(r for r in recs if r.kind == Kind.STEP and r.step == 3150)
    assert (first.metrics["epoch"], first.total_steps) == (0.0, 13002)


def test_a_line_that_sums_the_run_up_is_no_training_step() -> None:
    """The same loop ends `🏁 Final evaluation...`, then `🎉 Final Results: Loss=0.4886, PPL=1.63`: a stepless step
    record, and the run's last loss read 0.4886 where its last step said 0.4631 (a review). A logging time before
    `Final` is no pair of the line; a line whose values are an evaluation's, or that has a step, is read as before."""
    from tests.support.found import source_records

    _, recs = source_records("gpt2_lora_emoji_logger_2epochs.log.gz")
    losses = [r for r in recs if "loss" in r.metrics]
    assert losses[-1].step == 13001 and losses[-1].metrics["loss"] == 0.4631
    assert not [r for r in recs if r.kind == Kind.STEP and r.step is None]
    stamped = "2025-10-02 14:29:20,335 - INFO - Final Results: Loss=0.4886, PPL=1.63"
    assert KeyValueParser().parse(stamped) is None
    kept = KeyValueParser().parse("step 100 | loss=0.3 | final_lr=0.1")
    assert kept is not None and kept.step == 100 and kept.metrics["final_lr"] == 0.1


def test_python_loggings_default_prefix_is_no_key_and_an_epoch_with_no_count_is_the_step() -> None:
    """`logging.basicConfig(level=INFO)` prints `INFO:root:Epoch 0 - Average Loss: 1.5552, …`: read as the key
    `INFO:root:Epoch` with no loss (`Average Loss` no name of it), the log was unread (exit 3), and with the prefix
    taken off, its `Evaluation Epoch 0 - …` lines were the only ones read (a review). Each line is its epoch, of no
    count; eight runs appended to the log each start again at epoch 0."""
    from tests.support.found import found_lines, source_records

    fmt, recs = source_records("csta_logging_basicconfig_appended_runs.log.gz")
    text = found_lines("csta_logging_basicconfig_appended_runs.log.gz")
    trained = [x for x in text if x.startswith("INFO:root:Epoch ")]
    evaluated = [x for x in text if x.startswith("INFO:root:Evaluation Epoch ")]
    steps = [r for r in recs if r.kind == Kind.STEP]
    evals = [r for r in recs if r.kind == Kind.EVAL]
    assert fmt == "kv" and len(steps) == len(trained) > 200 and len(evals) == len(evaluated)
    assert [r.step for r in steps] == [int(x.split()[1]) for x in trained]
    assert [r.metrics["loss"] for r in steps] == [float(x.split("Average Loss: ")[1].split(",")[0]) for x in trained]
    assert all("loss" not in r.metrics and "val_loss" in r.metrics for r in evals)
    assert steps[0].total_steps is None and [r.step for r in steps].count(0) == 8


def test_numpy_scalars_are_their_numbers() -> None:
    """verl prints its metrics as NumPy 2 scalars (`actor/pg_loss:np.float64(0.0022947374457392773)`): each was
    dropped, and the policy loss, grad norm and learning rate never read (a review). `timing_s/step` is the step's
    seconds."""
    from tests.support.found import found_lines, source_records

    fmt, recs = source_records("verl_numpy_scalars_stopped_step238.log.gz")
    last = next(x for x in reversed(found_lines("verl_numpy_scalars_stopped_step238.log.gz")) if x.startswith("step:"))
    steps = [r for r in recs if r.kind == Kind.STEP]
    assert fmt == "kv" and steps[-1].step == 238
    assert "actor/pg_loss:np.float64(0.0022947374457392773)" in last
    assert (steps[-1].metrics["actor_pg_loss"], steps[-1].metrics["actor_grad_norm"]) == (0.0022947374457392773,
                                                                                          0.12100353091955185)
    assert steps[-1].metrics["actor_lr"] == 1e-06 and steps[-1].metrics["step_time"] == pytest.approx(707.92, abs=0.01)


def test_a_line_that_starts_validate_is_the_validations() -> None:
    """An MViT loop's meters print `Validate: [ 0/31]\tTime …\tLoss 2.4344e+00 (…)` after each epoch: read as
    stepless training losses, 88 validation batches went into the training loss series (a review)."""
    from tests.support.found import found_lines

    lines = found_lines("mvit_prompt_meters_validate_head.log")
    validating = [x for x in lines if x.startswith("Validate: [")]
    recs = [KeyValueParser().parse(x) for x in validating]
    assert len(validating) >= 4
    assert all(r is not None and r.kind == Kind.EVAL and "loss" not in r.metrics and "val_loss" in r.metrics
               for r in recs)


def test_a_loggers_file_and_line_is_no_metric() -> None:
    """A GluonCV run logs through `%(filename)s[line:%(lineno)d]`: `… - train_net.py[line:177] - INFO: [Epoch 0][Batch
    0], Speed: …, CrossEntropy=1.69e+00, …`; its 177 was read as a metric `line` on every record (a review)."""
    from tests.support.found import found_lines, source_records

    fmt, recs = source_records("gluoncv_ssd_file_line_logger.log")
    lines = [x for x in found_lines("gluoncv_ssd_file_line_logger.log") if x]
    assert fmt == "kv" and len(recs) == len(lines) == 120 and all("train_net.py[line:177]" in x for x in lines)
    assert all("line" not in r.metrics for r in recs)
    assert [r.metrics["cross_entropy"] for r in recs] == [float(x.split("CrossEntropy=")[1].split(",")[0]) for x in lines]


def test_a_keys_aside_in_brackets_leaves_the_key() -> None:
    """A review's T5 fine-tuning logs `Stage 1, Epoch 1, Batch 25, Training Loss (avg over last 100): 2.4486` and
    the same of its validation: the aside between the key and its colon read as no key, 414 loss lines as none,
    and `check` said `no steps … OK`. Each line is a record of its loss at its epoch's batch, by `feed` and
    `feed_bytes` alike at any block size (the block's screen let none of them through; once its epochs were read
    as steps, the next block's lines were left stepless). `Batch N` is a step after an epoch, not alone."""
    from tests.support.found import source_records
    from tests.support.readers import check

    fmt, recs = source_records("t5_scalingdown_logging_relaunches.log.gz")
    assert fmt == "kv"
    assert sum("loss" in r.metrics for r in recs) == 208 and sum("val_loss" in r.metrics for r in recs) == 206
    first = next(r for r in recs if "loss" in r.metrics)
    assert first.metrics == {"stage": 1.0, "epoch": 1.0, "loss": 2.44} and first.step == 25  # epoch 1's batch 25
    data = gzip.decompress((FOUND / "t5_scalingdown_logging_relaunches.log.gz").read_bytes())
    for size in (1 << 20, 1 << 16, 5000):
        got, _ = check(data, sizes=(size,))
        losses = [r for r in got if "loss" in r.metrics]
        assert len(losses) == 208 and [r.step for r in losses][2:5] == [25, 50, 75]  # its third launch's first
    kv = KeyValueParser()
    assert kv.parse("Epoch 2, Batch 300, loss: 0.5").step == 300  # type: ignore[union-attr]
    assert kv.parse("batch 32, epoch 2, loss: 0.5").step is None  # type: ignore[union-attr]
    line = next(x for x in data.decode().splitlines() if "Validation Loss (avg" in x)
    alone = line[line.index("Validation Loss"):]  # its key with the aside, and no `Batch` to pass the screen with
    assert kv.parse(alone).metrics == {"val_loss": 0.0975}  # type: ignore[union-attr]
    assert READS.lowered.search(alone.lower())  # the screen lets through what the parser reads


def test_a_new_launch_whose_epoch_goes_back_counts_its_own_steps() -> None:
    """A review's YOLOX log of seven launches: the last one's `epoch: 1/20, iter: 10/14` read as step 2138, past the
    launch before it (`epoch: 20/20, iter: 110/112`, step 2238), no total (its 280 below that step), and its first
    loss, 8.9, a `loss_spike` of the launch before, still firing at the end. The epoch going back (20 to 1) begins a
    count anew: the launch's own steps, a new attempt, by `feed` and `feed_bytes` alike."""
    from tests.support.found import found_bytes, source_records
    from tests.support.readers import check
    from tests.support.realruns import check_json

    name = "yolox_s_seven_launches_cudnn_errors.log.gz"
    fmt, recs = source_records(name)
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "kv" and len(steps) == 240
    last = next(i for i in range(1, len(steps)) if steps[i].metrics["epoch"] < steps[i - 1].metrics["epoch"])
    assert (steps[last - 1].step, steps[last - 1].total_steps) == (19 * 112 + 110, 20 * 112)
    assert (steps[last].step, steps[last].total_steps, steps[last].metrics["loss"]) == (10, 280, 8.9)  # 14 an epoch's:
    # step 10 is past what epoch 1 of 20 of 14 could reach (`epochal`)
    assert (steps[-1].step, steps[-1].total_steps) == (19 * 14 + 10, 280)
    assert set(steps[-1].metrics) == {"epoch", "epochs", "step_time", "data_time", "loss", "iou_loss", "l1_loss",
                                      "conf_loss", "cls_loss", "lr", "size", "eta"}  # not loguru's `trainer:after_iter:253`
    for size in (1 << 20, 1 << 16, 5000):
        got, _ = check(found_bytes(name), sizes=(size,))
        assert [(r.step, r.total_steps) for r in got if r.kind is Kind.STEP] == [(r.step, r.total_steps) for r in steps]
    code, [run], _ = check_json(FOUND / name)
    assert code == 0 and not run["alerts"] and (run["step"], run["total_steps"]) == (276, 280), run
    assert any(n.startswith("the run started again once") for n in run["notes"])


def test_a_loop_of_one_loss_an_epoch_is_not_counted_against_its_schedulers_steps() -> None:
    """A review's translation model logs `Scheduler: total_steps:25720.0, warmup_steps:2572.0`, then one loss an
    epoch (`[INFO] 2021-12-25 21:43:42,093 : Epoch:  1, loss: 8.836`): its epochs are its steps, and the scheduler's
    optimizer steps are no total of them (it read `step 18/25720 (0.1%)`, `incomplete: stopped at 18/25720`). Its
    logger's stamp, the level in brackets before it, is each record's time (it read "no step line carries a time")."""
    from runwatch.parsers.fields import local_time
    from tests.support.found import found_bytes
    from tests.support.readers import check
    from tests.support.realruns import check_json

    name = "nlp_trans_epoch_losses_scheduler_total.log"
    fmt, recs = _source_records(name)
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "kv" and [r.step for r in steps] == list(range(1, 19))
    assert all(r.total_steps is None for r in steps) and steps[0].metrics["loss"] == 8.836
    assert steps[0].t == local_time("2021-12-25 21:43:42") + 0.093
    for size in (1 << 20, 2000):
        got, _ = check(found_bytes(name), sizes=(size,))
        assert [(r.step, r.total_steps, r.t) for r in got if r.kind is Kind.STEP] == [
            (r.step, r.total_steps, r.t) for r in steps]
    code, [run], _ = check_json(FOUND / name)
    assert code == 0 and run["step"] == 18 and run["total_steps"] is None and run["warnings"] == [], run
    assert not [n for n in run["notes"] if "carries a time" in n]


def test_detectron2s_stamp_with_no_year_is_the_records_time() -> None:
    """A review's detectron2 log (`[08/30 23:00:36] d2.utils.events INFO:  eta: 0:14:11  iter: 19  total_loss: …`,
    datefmt `%m/%d %H:%M:%S`): its records had no time, `check` noted that no step line carries one, and `tail`
    aged the run by the file. The stamp behind a logger's name and level is the record's time, in the year that
    puts it no later than tomorrow, by `feed` and `feed_bytes` alike; PaddleVideo's bare `[12/25 14:22:40]` too."""
    from datetime import date, datetime, timedelta

    from runwatch.parsers.fields import logging_time
    from tests.support.found import source_records
    from tests.support.readers import check

    fmt, recs = source_records("d2_mask2former_three_launches.log.gz")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "kv" and len(steps) == 325 and steps[0].step == 19
    tomorrow = date.today() + timedelta(days=1)
    year = tomorrow.year - (1 if (8, 30) > (tomorrow.month, tomorrow.day) else 0)
    assert steps[0].t == datetime(year, 8, 30, 23, 0, 36).timestamp()
    assert steps[1].t - steps[0].t == 9.0  # `[08/30 23:00:45]`: 20 iterations of 0.436 s
    data = gzip.decompress((FOUND / "d2_mask2former_three_launches.log.gz").read_bytes())
    got, _ = check(data, sizes=(1 << 16,))
    assert [r.t for r in got if r.kind is Kind.STEP] == [r.t for r in steps]
    assert logging_time("[13/45 25:00:00] d2.utils.events INFO:  iter: 19") == 0.0  # no real time: none
    paddle = next(x for x in (FOUND / "paddlevideo_res18_train.log").read_text().splitlines() if "train step:100" in x)
    assert paddle.startswith("[12/25 14:24:53] epoch:") and logging_time(paddle) > 0.0  # PaddleVideo's, bare


def test_a_paddle_loops_epoch_and_samples_in_brackets_are_its_steps_beside_its_evaluations_bars() -> None:
    """A review's Paddle loop (`Epoch 30[4816/5011]: loss:0.01737, lr:0.00000, batch time:0.3103, data time:0.0002`)
    read `format tqdm`, `no steps`: the bare bars of its evaluations, each after `Test on Epoch 30`, signed a loop's
    bar under an epoch heading. An evaluation's heading signs nothing; the epoch's samples place each line (epoch
    e's sample i is step (e - 1) × 5011 + i), and `batch time` beside `data time` is the step time."""
    from tests.support.found import found_bytes, found_lines
    from tests.support.readers import check
    from tests.support.realruns import check_json

    name = "csra_paddle_epoch_samples_eval_bars.log"
    fmt, recs = _source_records(name)
    steps = [r for r in recs if r.kind is Kind.STEP]
    heads = [m for x in found_lines(name) if (m := re.match(r"Epoch (\d+)\[(\d+)/5011\]: loss:([\d.]+)", x))]
    assert fmt == "kv" and len(steps) == len(heads) == 115
    want = [((int(m[1]) - 1) * 5011 + int(m[2]), float(m[3])) for m in heads]
    gap = next(i for i in range(1, len(heads)) if heads[i][1] == "19" and heads[i - 1][1] == "18")
    # the log lost epoch 18's end: `Epoch 18[1616/5011]` then `Epoch 19[4816/5011]`, a step that did not go back
    # (a global count's would not either); that one line stays in epoch 18's count, the next epoch is exact again
    assert [(r.step, r.metrics["loss"]) for r in steps[:gap] + steps[gap + 1:]] == want[:gap] + want[gap + 1:]
    assert steps[gap - 1].step < steps[gap].step < steps[gap + 1].step  # never a step back
    assert steps[-1].metrics == {"epoch": 30.0, "loss": 0.01737, "lr": 0.0, "step_time": 0.3103, "data_time": 0.0002}
    for size in (1 << 20, 1000):
        got, _ = check(found_bytes(name), sizes=(size,))
        assert [(r.step, r.metrics) for r in got if r.kind is Kind.STEP] == [(r.step, r.metrics) for r in steps]
    code, [run], _ = check_json(FOUND / name)
    assert code == 0 and run["step"] == 29 * 5011 + 4816 and not run["alerts"], run


def test_mmengines_month_day_stamp_is_the_records_time() -> None:
    """mmengine's default `%m/%d %H:%M:%S` before its name and level (a review's FRNet run: `03/30 16:58:20 - mmengine -
    INFO - Epoch(train) [20][ 800/2901]  lr: …`): the record's time, in the year that puts it no later than tomorrow,
    as detectron2's bracketed one; a line that merely starts with a date is no logger's."""
    from runwatch.parsers.fields import local_time, logging_time

    line = ("03/30 16:58:20 - mmengine - INFO - Epoch(train) [20][ 800/2901]  lr: 8.7313e-03  eta: 1 day, 18:19:13  "
            "time: 1.7330  data_time: 0.0108  memory: 2050  loss: 0.2245")
    rec = KeyValueParser().parse(line)
    assert rec is not None and rec.t == logging_time(line) > 0
    assert datetime.fromtimestamp(rec.t).strftime("%m/%d %H:%M:%S") == "03/30 16:58:20"
    assert rec.t in (local_time(f"{y}-03-30 16:58:20") for y in (datetime.now().year - 1, datetime.now().year))
    assert logging_time("03/30 16:58:20 the run began") == 0.0


def test_right_aligned_iterations_and_a_two_digit_year_are_read() -> None:
    """A review's HDRUNet run (mmsr's logger: `23-05-05 21:26:52.413 - INFO: [epoch:  0, iter:     100, lr:(…,)]
    l_pix: 2.9331e+05`) read its first step as 1000 when this format read it: the filter before the pair scan
    allowed 3 blanks after `iter:` where the scan allows 8, and `l_pix` names no known metric, so the nine lines
    below 1,000 were passed over. (The log is BasicSR's format's now; a line so spaced may be any loop's.)"""
    from runwatch.parsers.fields import local_time
    from tests.support.found import found_lines

    heads = [x for x in found_lines("hdrunet_mmsr_logger_right_aligned_iters.log.gz") if "] l_pix: " in x][:12]
    recs = [KeyValueParser().parse(x) for x in heads]
    assert [r.step for r in recs if r is not None] == [100 * k for k in range(1, 13)]
    assert recs[0] is not None and recs[0].t == local_time("2023-05-05 21:26:52") + 0.413


def test_seconds_per_batch_said_by_their_unit_alone_are_the_step_time() -> None:
    """The TensorFlow CIFAR-10 tutorial's `(611.0 examples/sec, 0.21 sec/batch)` after a step's loss: a review's run
    read "no step line carries a step time", and a slowdown it prints could not show."""
    from tests.support.found import found_lines
    from tests.support.realruns import check_json

    name = "tf_cifar10_examples_sec_per_batch.log.gz"
    fmt, recs = _source_records(name)
    steps = [r for r in recs if r.kind is Kind.STEP]
    said = [float(m[1]) for x in found_lines(name) if (m := re.search(r", ([\d.]+) sec/batch\)$", x))]
    assert fmt == "kv" and len(steps) == len(said) == 1000
    assert [r.metrics.get("step_time") for r in steps] == said
    code, [run], _ = check_json(FOUND / name)
    assert code == 0 and run["step"] == 10_000 and not [n for n in run["notes"] if "or a step time" in n], run


def test_opennmt_trains_on_xent_and_says_its_validation_on_lines_of_their_own() -> None:
    """OpenNMT-py's `Step 50/100000; acc:  12.00; ppl: 26.87; xent: 3.29; …` trains on `xent` (its `ppl` is exp(xent)),
    and after each validation prints `Validation perplexity: 5.45281` and `Validation accuracy: 44.6274`, each alone on
    a line: a review's run had no loss any rule judged, and no validation at all."""
    from tests.support.found import source_records

    fmt, recs = source_records("opennmt_xent_validation_train.log")
    steps = [r for r in recs if r.kind == Kind.STEP]
    assert fmt == "kv" and (steps[0].step, steps[0].metrics["loss"], steps[0].metrics["ppl"]) == (50, 3.29, 26.87)
    evals = [r.metrics for r in recs if r.kind == Kind.EVAL]
    assert evals[:2] == [{"validation_perplexity": 5.45281}, {"validation_accuracy": 44.6274}], evals[:2]
    assert len(evals) == 16 and all(len(m) == 1 for m in evals)
    parser = KeyValueParser()
    assert parser.parse("val_interval: 500") is None  # a setting, no evaluation's measure


def test_a_tab_separated_logging_stamp_is_the_records_time() -> None:
    """`%(asctime)s\\t%(name)s\\t%(levelname)s\\t%(message)s`: a review's log of 30 launches over four days had every
    record at the file's time, and the days between its launches unseen."""
    from runwatch.parsers.fields import logging_time
    from tests.support.found import source_records

    _, recs = source_records("asl_tab_stamped_launches.log.gz")
    times = [r.t for r in recs if r.metrics.get("loss") is not None]
    assert times[0] == logging_time(" ".join(_first_loss_line().split("\t", 1))) > 0
    assert times == sorted(times) and times[-1] - times[0] > 4 * 86400


def _first_loss_line() -> str:
    from tests.support.found import found_lines

    return next(ln for ln in found_lines("asl_tab_stamped_launches.log.gz") if "\tloss: " in ln)


def test_a_stamp_in_brackets_before_the_call_site_in_brackets_is_the_records_time() -> None:
    """`[%(asctime)s]-[%(filename)s line:%(lineno)d]:` (a review's YOLOv4 run): the stamp went unread (`check`:
    "no step line carries a time of day"), and `line:229` was a metric `line`, 229 on every record."""
    from tests.support.found import found_lines

    lines = [ln for ln in found_lines("yolov4_pytorch_stamped_call_site.log.gz") if "=== Epoch:[" in ln]
    recs = [KeyValueParser().parse(ln) for ln in lines]
    assert len(recs) == 2400 and all(r is not None and r.kind is Kind.STEP for r in recs)
    first = recs[0]
    assert first is not None and "line" not in first.metrics and first.metrics["loss"] == 1880.2804
    assert datetime.fromtimestamp(first.t).strftime("%Y-%m-%d %H:%M:%S") == lines[0][1:20]


def test_mxnet_speedometer_lines_count_batches_within_their_epoch() -> None:
    """MXNet's Speedometer (`Epoch[0] Batch [20]\\tSpeed: 142.33 samples/sec\\taccuracy=0.562500`, a review's ten
    epochs of ResNet): its 310 records had no step (`no steps`, no stall or ETA). Each is the batch of its epoch,
    made the run's step by runwatch.parsers.epochs: 20 … 620 in epoch 0, then 640 (620 + 20) on."""
    from tests.support.found import source_records

    fmt, recs = source_records("mxnet_cls_speedometer.log.gz")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "kv" and len(steps) == 310
    assert [r.step for r in steps[:2]] == [20, 40] and steps[30].step == 620 and steps[31].step == 640
    assert steps[-1].step == 6200 and steps[-1].metrics["epoch"] == 9.0
    numbers = [r.step for r in steps if r.step is not None]
    assert len(numbers) == 310 and numbers == sorted(set(numbers))  # one rising axis
    assert steps[0].metrics == {"epoch": 0.0, "samples_per_sec": 142.33, "accuracy": 0.5625}


def test_mxnet_speedometer_batch_ranges_since_1_3_end_at_their_step() -> None:
    """MXNet 1.3 and later print the batches since the last line, `Batch [0-20]` (an insightface project's
    README): the step is the range's end, its values read as before."""
    from tests.support.found import found_lines

    lines = [ln for ln in found_lines("age_gender_mxnet_batch_range.log") if "Batch [" in ln]
    recs = [KeyValueParser().parse(ln) for ln in lines]
    assert [r.step if r is not None else None for r in recs] == [20, 40, 60, 80, 100, 120, 140, 160]
    first = recs[0]
    assert first is not None and first.metrics == {
        "epoch": 0.0, "samples_per_sec": 520.85, "acc": 0.572545, "mae": 10.734747, "cum_5": 0.240699}


def test_the_estimators_saved_eval_dict_is_an_evaluation_its_loss_the_evaluations() -> None:
    """TensorFlow's Estimator after `evaluate`: `Saving dict for global step 5468: eval_accuracy = …, eval_loss =
    0.7216634, global_step = 5468, loss = 0.7218847`. Read as a training step (a review's BERT run), the loss went
    from 0.017 to 0.72 at the last step; it is the evaluation's, at its global step."""
    from tests.support.found import found_lines

    (line,) = [ln for ln in found_lines("tf_estimator_bert_eval_dict.log.gz") if "Saving dict for" in ln]
    rec = KeyValueParser().parse(line)
    assert rec is not None and rec.kind is Kind.EVAL and rec.step == 5468
    assert rec.metrics == {"eval_accuracy": 0.8500477, "eval_auc": 0.68875444, "val_loss": 0.7216634}


def test_a_stamp_in_brackets_right_before_the_message_is_the_records_time() -> None:
    """`[%(asctime)s]%(message)s`: a review's GCN log, `[2022-06-27 22:39:49,211]iter:0020 loss_train: 2.9724 …`, read
    "no step line carries a time of day" (no blank after the bracket); by `feed` and `feed_bytes` alike."""
    from datetime import datetime

    from tests.support.found import found_bytes, source_records
    from tests.support.readers import check

    fmt, recs = source_records("gcn_bracketed_stamp_iters.log.gz")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "kv" and steps[0].step == 20 and steps[0].metrics["loss"] == 2.9724  # `loss_train`: the loss
    assert steps[0].t == datetime(2022, 6, 27, 22, 39, 49, 211000).timestamp()
    got, _ = check(found_bytes("gcn_bracketed_stamp_iters.log.gz"), sizes=(1 << 16,))
    stamped = [r.t for r in steps if r.t > 0]  # an epoch's `loss= 2.2470 accuracy= 0.4795` line has none
    assert len(stamped) > 800 and [r.t for r in got if r.kind is Kind.STEP and r.t > 1e9] == stamped


def test_a_count_alone_before_the_bracketed_losses_is_the_step() -> None:
    """Keras-GAN's `print("%d [D loss: %f, acc.: %.2f%%] [G loss: %f]" % (epoch, …))`: a review's segmentation GAN,
    1,000 iterations a launch, its discriminator at 100% and its generator's loss at 0.0016, read as nothing (`UNREAD`);
    by `feed` and `feed_bytes` alike."""
    from tests.support.found import found_bytes, source_records
    from tests.support.readers import check

    fmt, recs = source_records("keras_gan_segmentation_launches.log.gz")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "kv" and (steps[0].step, dict(steps[0].metrics)) == (0, {"d_loss": 0.692665, "acc": 51.56,
                                                                          "g_loss": 0.6869})
    assert (steps[-1].step, steps[-1].metrics["g_loss"]) == (999, 0.001612)
    got, _ = check(found_bytes("keras_gan_segmentation_launches.log.gz"), sizes=(1 << 16,))
    assert [(r.step, dict(r.metrics)) for r in got if r.kind is Kind.STEP] == [(r.step, dict(r.metrics)) for r in steps]


def test_a_line_with_a_training_measure_is_no_evaluations() -> None:
    """`_evaluation_of` names a step-less line's values for its only loss's split, but not where one of them is
    training's own (`train_acc` beside `val_loss` stays `train_acc`, never `val_train_acc`)."""
    from runwatch.parsers.keyvalue import _evaluation_of

    assert _evaluation_of({"test_loss": 0.5, "accuracy1": 0.9}) == "test"
    assert _evaluation_of({"val_loss": 0.5, "train_acc": 0.9}) is None
    assert _evaluation_of({"val_loss": 0.5, "lr": 0.001}) is None and _evaluation_of({"val_loss": 0.5, "loss": 1.0}) is None


def test_a_duration_on_a_word_that_names_no_time_is_that_words_time() -> None:
    """A review: NoProp's `Epoch 005 loss 9.5198 | train 2.2s | Acc 13.52% | infer 4.5s` showed metrics `train` and
    `infer` beside `acc`, read as an accuracy at a glance; they are the epoch's train and inference times."""
    line = next(x for x in (FOUND / "noprop_cifar100_epoches_relaunch.log").read_text().splitlines()
                if x.startswith("Epoch 005 "))
    rec = KeyValueParser().parse(line)
    assert rec is not None  # the epoch is the step (its value here; the source makes it the step)
    assert dict(rec.metrics) == pytest.approx({"epoch": 5, "loss": 9.5198, "train_time": 2.2, "acc": 13.52, "infer_time": 4.5})
    # Paddle's costs are times by their name already: `avg_reader_cost: 6.42886 sec` keeps it
    _, recs = _source_records("paddlevideo_res18_train.log")
    summed = next(r for r in recs if r.line == 123)  # `END epoch:1 val loss_avg: … batch_cost_sum: 63.13030 sec`
    assert summed.metrics["val_step_time"] == 0.03663 and summed.metrics["val_batch_cost_sum"] == 63.1303
    assert not any(name.endswith("cost_time") for r in recs for name in r.metrics)


def test_an_rl_loops_episode_is_its_step_where_no_step_is_said() -> None:
    """A review: a poker DQN's `INFO:root:Episode 9990 | Avg Reward: 141.40 | Epsilon: 0.010 | Win Rate: 22.00%`
    (3,696 of them, several runs appended) read UNREAD: no loss, and `Episode` no step key. The lead count is the
    step; a line with nothing else (`Episode 3 finished`) or a step key of its own keeps its reading."""
    fmt, recs = _source_records("poker_dqn_episodes_relaunched.log.gz")
    lines_of_dqn = gzip.decompress((FOUND / "poker_dqn_episodes_relaunched.log.gz").read_bytes()).decode().splitlines()
    assert lines_of_dqn[1].startswith("INFO:root:Episode 0 | Avg Reward:")
    assert fmt == "kv"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert len(steps) == 3696 and steps[0].step == 0 and steps[-1].step == 9990
    assert steps[-1].metrics == {"avg_reward": 141.4, "epsilon": 0.01, "win_rate": 22.0}
    p = KeyValueParser()
    assert p.parse("Episode 3 finished") is None
    stepped = p.parse("step 5 episode 3 reward 2.0")
    assert stepped is not None and stepped.step == 5 and stepped.metrics["episode"] == 3
    # in a log whose lines state their steps, an episode's line is no step (a code review: episodes on the steps'
    # axis read as 39 restarts): the run lab's `step=N … loss=…` line, then the DQN's
    from tests.support.realruns import REALRUNS

    kv_step = next(x for x in (REALRUNS / "kvlog-healthy" / "run" / "train.log").read_text().splitlines() if "step=" in x)
    episode = next(r for r in recs if r.kind is Kind.STEP)
    mixed = KeyValueParser()
    first = mixed.parse(kv_step)
    assert first is not None and first.step is not None
    assert mixed.parse(lines_of_dqn[1]) is None
    assert KeyValueParser().parse(lines_of_dqn[1]) is not None and episode.step == 0
    # a step however its record got it (CLU's work unit notes return early: a code review)
    from tests.support.found import found_lines

    notes = next(x for x in found_lines("flax_gemma_lm1b_clu_tpu.log") if "work unit notes: " in x)
    clu = KeyValueParser()
    first = clu.parse(notes)
    assert first is not None and first.step is not None
    assert clu.parse(lines_of_dqn[1]) is None


def test_an_epochs_measure_of_error_alone_is_a_record() -> None:
    """Review 60: a PyG GAT loop's `Epoch: 001, MAE: 1.0196 [New Best Model Saved]` (its early stopping's MAE, the
    only number the line prints) read no record, the run `no steps` and a NaN there unseen: an epoch and a measure of
    error (model.ERROR_MEASURES) are a record as an epoch and a loss are. An epoch beside a setting alone stays none."""
    from tests.support.found import found_lines

    fmt, recs = _source_records("gat_mae_early_stopping_report.log")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "kv"
    assert [r.step for r in steps] == [1, 10, 25, 53, 91, 128, 164, 177, 190]
    assert [r.metrics["mae"] for r in steps][:2] == [1.0196, 0.9046] and steps[0].metrics["epoch"] == 1
    line = next(x for x in found_lines("gat_mae_early_stopping_report.log") if x.startswith("Epoch: 128,"))
    gone = KeyValueParser().parse(line.replace("0.6369", "nan"))
    assert gone is not None and math.isnan(gone.metrics["mae"])
    assert KeyValueParser().parse(line.replace("Epoch: 128, ", "")) is None  # no epoch: a report's `MAE: 0.6369`
    # the measure the name's last word, no best so far (a code review): a setting of one, a checkpoint's best, no record
    for other in ("MAE weight", "MAE threshold", "best MAE", "lr"):
        assert KeyValueParser().parse(line.replace("MAE", other)) is None, other


def test_a_grpo_loops_plan_step_time_and_checkpoint_are_read() -> None:
    """A review's GRPO run (`step:33 | policy_loss=… | step_time_seconds=29.16 | …`) read `step 33  ended`, no total, no
    step time ("no step line carries … a step time") and no checkpoint: its header's `233 steps/epoch, 233 total steps`
    is its plan (the number first, as TransUNet's `12500 max iterations`), `step_time_seconds` its step time, and
    `Checkpoint saved: /checkpoints/step_20` a save at step 20."""
    from tests.support.found import found_lines, source_records

    fmt, recs = source_records("grpo_monarch_pipe_kv_partial.log")
    steps = [r for r in recs if r.kind == Kind.STEP]
    assert fmt == "kv" and [r.step for r in steps] == list(range(34))
    assert {r.total_steps for r in steps} == {233}
    assert steps[0].metrics["step_time"] == 15.1395 and "step_time_seconds" not in steps[0].metrics
    assert [(r.event, r.step) for r in recs if r.kind == Kind.EVENT] == [("checkpoint_saved", 20)]
    from runwatch.parsers.events import _classify
    from runwatch.parsers.preamble import PLANNED_AFTER

    line = next(x for x in found_lines("grpo_monarch_pipe_kv_partial.log") if "total steps" in x)
    assert [m[1] for m in PLANNED_AFTER.finditer(line)] == ["233"]
    assert PLANNED_AFTER.search(line.replace("total steps", "total steps per epoch")) is None  # one epoch's count
    saved = next(x for x in found_lines("grpo_monarch_pipe_kv_partial.log") if "Checkpoint saved" in x)
    assert _classify("No " + saved[0].lower() + saved[1:]) is None  # a save that did not happen (a code review)


def test_the_epoch_a_step_counts_in_is_read_after_in() -> None:
    """A review: `TRAIN in epoch 0 , step 50, loss = 3.67` read no epoch (`in` made `TRAIN in epoch` a phrase), so each
    epoch's `step 0` read as the run starting again, 24 times in 25 epochs. `in epoch N` after one word is the epoch
    the step counts within: one rising axis (epoch 1's step 0 is 751), both readers alike."""
    from tests.support.found import found_bytes
    from tests.support.readers import check

    assert KeyValueParser().parse("TRAIN in epoch 3 , step 50, loss = 3.67").metrics == {  # type: ignore[union-attr]
        "epoch": 3.0, "loss": 3.67}
    assert KeyValueParser().parse("loss fell in epoch 3, step 50, loss = 3.67").metrics == {  # type: ignore[union-attr]
        "loss": 3.67}  # a phrase of more words before it is prose
    assert "epoch" not in KeyValueParser().parse(  # type: ignore[union-attr]
        "step 500, loss = 0.5, best acc 0.91 achieved in epoch 3").metrics  # the best epoch's, no phase's word
    recs, _ = check(found_bytes("wider_event_in_epoch_step_test_loss.out"), (1 << 16, 5000))
    steps = [r.step for r in recs if r.kind is Kind.STEP]
    assert steps == [e * 751 + s for e in range(25) for s in range(0, 751, 50)]


def test_yoloxs_eta_of_days_is_read_in_seconds() -> None:
    """A review: YOLOX's `…, size: 640, ETA: 3 days, 23:23:55` read `eta` 3 (the pair scan's number before ` days`;
    mmcv's lower-case `eta: 30 days, 14:24:49` was read whole): 343,435 s, on both readers."""
    from tests.support.found import found_bytes
    from tests.support.readers import check

    recs, _ = check(found_bytes("yolox_mlu_days_eta_seven_launches.log.gz"), (1 << 20, 5000))
    first = next(r for r in recs if r.kind is Kind.STEP and "eta" in r.metrics)
    assert first.metrics["eta"] == ((3 * 24 + 23) * 60 + 23) * 60 + 55


def test_a_pipelines_settings_beside_a_count_are_no_step() -> None:
    """A review's pi0 SFT pipeline log: its settings `[stamp] iters=4 task=libero_goal:6` and `[stamp] steps=4000
    save_interval=4001` (before each of three SFT phases) read as steps 4 and 4000 of metrics `libero_goal` and
    `save_interval`, the phases' restarts put `after step 6,000` where the last `Step N:` line was 4900. A word right
    after `=` is a value, not a key, and a count beside settings only (`*_interval`, `*_every`, …) is no step."""
    from tests.support.found import source_records
    from tests.support.realruns import check_json

    fmt, recs = source_records("openpi_sft_pipeline_settings_lines.log.gz")
    steps = [r for r in recs if r.kind == Kind.STEP and "loss" in r.metrics]  # its `Step N:` lines; the rest its bar's
    bar = [r for r in recs if r.kind == Kind.STEP and "loss" not in r.metrics]  # (`Progress on: 5.99kit/6.00kit …`)
    assert fmt == "kv" and len(steps) == 150
    assert {k for r in steps for k in r.metrics} == {"loss", "grad_norm", "param_norm"}
    assert {k for r in bar for k in r.metrics} <= {"step_time", "elapsed", "eta"}
    assert (steps[0].step, steps[0].metrics["loss"]) == (0, 0.2105)
    _, [run], _ = check_json(FOUND / "openpi_sft_pipeline_settings_lines.log.gz")
    assert run["state"] == "crashed" and [a["rule"] for a in run["alerts"]] == ["crash"]
    # its second phase's last `Step 4900:` line, then its bar's `5.00kit/5.00kit`
    assert any("started again 2 times" in n and "after step 5,000" in n for n in run["notes"]), run["notes"]
    parse = KeyValueParser().parse
    assert parse("step=10 loss=2.0 task=libero_goal:6").metrics == {"loss": 2.0}  # type: ignore[union-attr]
    assert parse("step 10 loss=2.0 save_interval=5").metrics == {"loss": 2.0, "save_interval": 5.0}  # type: ignore[union-attr]


def test_an_indented_items_count_after_its_values_is_no_step() -> None:
    """A review's SAC loop prints five example episodes under each `Iter N: SR 66.9%, Q …` line, `  Ex 2: Success (R:
    100.00, Steps: 5) Target: 2`: where the target was a bare number the line read as step 5 of metrics `ex`, `r` and
    `target`, and the run `started again 176 times`. An indented line's count said after its own values, with no
    measure of training among them, is the item's."""
    from tests.support.found import source_records
    from tests.support.realruns import check_json

    fmt, recs = source_records("sac_polycircuits_example_episodes.log.gz")
    steps = [r for r in recs if r.kind == Kind.STEP]
    assert fmt == "kv" and [r.step for r in steps] == list(range(1, 1020))
    assert {k for r in steps for k in r.metrics} == {"sr", "q", "pi", "ce", "buffer"}
    _, [run], _ = check_json(FOUND / "sac_polycircuits_example_episodes.log.gz")
    assert (run["state"], run["step"], run["alerts"]) == ("ended", 1019, [])
    assert not [n for n in run["notes"] if "started again" in n], run["notes"]


def test_a_measure_said_before_the_step_it_was_taken_at() -> None:
    """A review's TRPO run prints its only reward as `Total reward in global step 33: 1.368…` every 300 steps: unread,
    where its `kl`, `old` and `new` were read. A measure said before `at step N:` or `in global step N:` (TensorFlow's
    word2vec tutorial's `Average loss at step  2000 :  113.84` too) is that step's, read alike by both readers."""
    from tests.support.found import found_bytes, source_records
    from tests.support.readers import check

    fmt, recs = source_records("trpo_tf_reward_in_global_step.log.gz")
    rewards = [(r.step, r.metrics["total_reward"]) for r in recs if "total_reward" in r.metrics]
    assert fmt == "kv" and [s for s, _ in rewards] == [33, 333, 633, 933, 1233, 1533]
    assert rewards[0][1] == 1.3682114552510858 and all(r.kind == Kind.STEP for r in recs if "total_reward" in r.metrics)
    for sizes in ((1 << 20,), (4096,), (700, 3000, 50)):
        got, _ = check(found_bytes("trpo_tf_reward_in_global_step.log.gz"), sizes)
        assert sum("total_reward" in r.metrics for r in got) == 6


def test_a_global_step_after_a_loops_own_count_is_the_step() -> None:
    """A review's TF1 run logs `iteration 0: global_step=1; loss_value=28.789953`, its `iteration` counting epochs: every
    step read 0 (`steps 0 → 0`), `global_step` a metric. A `global_…` count said after a loop's own (with no total
    beside either) is the run's step."""
    from tests.support.found import source_records

    fmt, recs = source_records("tf1_mnist_iteration_global_step_launches.log.gz")
    losses = [r for r in recs if r.kind == Kind.STEP and "loss_value" in r.metrics]
    assert fmt == "kv" and losses[0].step == 1 and max(r.step for r in losses if r.step is not None) == 1100
    assert not [r for r in recs if "global_step" in r.metrics]
    assert KeyValueParser().parse("iter 5/100 global_step=20 loss=1.0").step == 5  # type: ignore[union-attr]


def test_a_phase_word_after_the_count_makes_the_line_its_phases() -> None:
    """A review's loop logs `epoch: 0 end, loss: 2.166…` and `epoch: 0 validation, acc: 0.601…, loss: 2.153…`: the
    validation's loss was read into the training's (`loss 202`, its last value the validation's). A phase's word right
    after the count, before the values, makes the line that phase's."""
    from tests.support.found import source_records

    _, recs = source_records("stroke_clf_epoch_validation_phase.log")
    train = [r.metrics["loss"] for r in recs if r.kind == Kind.STEP and "loss" in r.metrics]
    evals = [r for r in recs if r.kind == Kind.EVAL]
    assert len(train) == len(evals) == 101 and train[0] == 2.166128297422274
    assert evals[0].metrics == {"epoch": 0.0, "val_acc": 0.6014876869215923, "val_loss": 2.1533369740644157}
    # training's word after the phase's: the line holds both phases, no evaluation's alone (a code review: the
    # training loss became a second `val_loss`, dropped, its NaN unjudged)
    both = KeyValueParser().parse("Epoch 7 Val Loss: 0.32 Train Loss: nan")
    assert both is not None and both.kind is Kind.STEP and both.metrics["val_loss"] == 0.32
    assert math.isnan(both.metrics["loss"])


def test_an_evaluation_s_progress_before_its_last_batch_is_no_result(capsys: pytest.CaptureFixture[str]) -> None:
    """flashy's progress lines (Demucs): `Valid | Epoch 19 | 1/3 | 0.29 it/sec | Loss 0.1171 | …`, five models
    validated in turn, each to 2/3, then `Valid Summary | Epoch 19 | Loss=0.1196 | …`, the result. Read as
    results, the partial averages rose within each validation: a false `overfit` alert (a review)."""
    from runwatch.cli import main
    from tests.support.found import found_lines

    name = "demucs_flashy_valid_progress_train_log.txt"
    parser = KeyValueParser()
    recs = [(x, r) for x in found_lines(name) if (r := parser.parse(x)) is not None]
    evals = [(x, r) for x, r in recs if r.kind is Kind.EVAL]
    assert len(evals) == 21 and all("Valid Summary | " in x for x, _ in evals)
    assert evals[18][1].metrics["val_loss"] == 0.1196 and evals[18][1].metrics["epoch"] == 19.0
    assert sum(x.startswith("- Valid | Epoch") for x in found_lines(name)) == 210  # none of them a result
    assert main(["check", str(FOUND / name), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["alerts"] == []


def test_a_one_element_numpy_array_is_its_value_and_a_longer_one_none() -> None:
    """CleanRL prints `global_step=150, episodic_return=[360.]` (`info['episode']['r']`, a NumPy array of one):
    a review's DQN run was read as nothing at all, `UNREAD`, no steps, its stall and crash never judged against a
    step. The one element is the key's value; an array of several (`lr=[0.1, 0.2]`) is no one value."""
    from tests.support.found import found_lines, source_records

    assert source_records("cleanrl_dqn_mspacman.log")[0] == "kv"
    lines = found_lines("cleanrl_dqn_mspacman.log")
    parser = KeyValueParser()
    recs = [r for x in lines if (r := parser.parse(x)) is not None]
    assert len(recs) == sum(x.startswith("global_step=") for x in lines) == 68
    assert (recs[0].step, recs[0].metrics) == (150, {"episodic_return": 360.0})
    assert (recs[-1].step, recs[-1].metrics) == (8168, {"episodic_return": 280.0})
    nan = parser.parse("global_step=9, episodic_return=[nan]")
    assert nan is not None and math.isnan(nan.metrics["episodic_return"])
    several = parser.parse("global_step=9, lr=[0.1, 0.2], loss=0.5")
    assert several is not None and several.metrics == {"loss": 0.5}
    setting = parser.parse("global_step=9, gpu_ids=[0], loss=0.5")  # a whole number in brackets: a setting
    assert setting is not None and setting.metrics == {"loss": 0.5}
    only = parser.parse("update=5 loss=[0.5]")  # its only value in brackets: through the pre-filter too
    assert only is not None and only.metrics == {"update": 5.0, "loss": 0.5}


def test_maxtexts_completed_step_is_the_step_its_seconds_the_step_time() -> None:
    """MaxText's `completed step: 9, seconds: 5.667, TFLOP/s/device: …, loss: 10.374` (a review's four MaxText logs):
    `completed step` was read as a metric, every record without a step (`check`: no steps; live: no progress, no ETA),
    and its `seconds` as a metric of that name, no step time. absl's prefix (`I0317 10:00:17.152287 …
    metric_logger.py:181] `) is the time of day (runwatch.parsers.fields), and `Config param steps: 10` the plan."""
    from tests.support.found import source_records
    from tests.support.realruns import check_json

    fmt, recs = source_records("maxtext_docs_config_and_steps.log")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "kv" and [r.step for r in steps] == list(range(10)) and {r.total_steps for r in steps} == {10}
    assert steps[9].metrics["step_time"] == 5.667 and steps[9].metrics["loss"] == 10.374
    assert "seconds" not in steps[9].metrics and "completed_step" not in steps[9].metrics
    _, recs = source_records("maxtext_gemma_swa_glog_nan.log")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps] == list(range(13)) and steps[9].metrics["loss"] != steps[9].metrics["loss"]
    assert round(steps[9].t - steps[0].t, 6) == round(17.152287 - 13.224641, 6)  # 10:00:13.224641 to 10:00:17.152287
    _, [report], _ = check_json(FOUND / "maxtext_docs_config_and_steps.log")
    assert (report["state"], report["step"], report["total_steps"]) == ("finished", 9, 10)
    cumulative = KeyValueParser().parse("step 10, loss: 0.5, seconds: 5.0")  # a loop's own: seconds since its start
    assert cumulative is not None and cumulative.metrics == {"loss": 0.5, "seconds": 5.0}  # MaxText's alone a step time
    from runwatch.parsers.fields import logging_time

    year = logging_time("I20250317 10:00:17.152287 1253 metric_logger.py:181] completed step: 9")  # glog 0.7's stamp
    assert datetime.fromtimestamp(year).strftime("%Y-%m-%d %H:%M:%S.%f") == "2025-03-17 10:00:17.152287"


def test_dlrms_finished_training_it_is_the_step() -> None:
    """DLRM's `Finished training it 1024/306969 of epoch 0, 10.81 ms/it, loss 0.518778` (a review's DLRM log): its `it`
    after the phrase's words was prose, every record `step 0` (the epoch's), no total and no step time."""
    from tests.support.found import found_lines, source_records

    _, recs = source_records("dlrm_jax_criteo_kaggle_sample.log")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps] == [1024 * k for k in range(1, 11)] and {r.total_steps for r in steps} == {306969}
    assert steps[0].metrics == {"epoch": 0.0, "loss": 0.518778, "step_time": 0.01081}
    logged = KeyValueParser().parse("INFO:root:" + found_lines("dlrm_jax_criteo_kaggle_sample.log")[12])  # a logger's
    assert logged is not None and (logged.step, logged.total_steps) == (1024, 306969)


def test_tqdm_loggables_line_is_a_step() -> None:
    """tqdm-loggable, where no terminal is (Levanter, Marin, openpi): `Progress on:train 725it/1.50kit rate:472.7it/s
    remaining:00:01 elapsed:00:01 postfix:loss=0.333` (tests/fixtures/printed, the library's own lines). A review's
    Levanter log was `nothing understood`; openpi's read its own `Step N:` lines only, no total, no ETA. Its counts are
    three digits (`1.39kit`: placed by runwatch.parsers.rounded), its closing `1.50kit/1.50kit` the total."""
    from tests.support.found import source_records
    from tests.support.realruns import check_json

    path = Path(__file__).parents[1] / "fixtures" / "printed" / "loggable_train_nan.log"
    sp = SourceParser(str(path))
    recs = sp.feed(path.read_text().splitlines(), 1, 0.0) + sp.flush()
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert sp.format == "kv" and steps[0].step == 49 and {r.total_steps for r in steps} == {1500}
    assert steps[-1].step == 1500 and all(a.step <= b.step for a, b in itertools.pairwise(steps))
    assert steps[0].metrics["step_time"] == pytest.approx(1 / 481.4) and steps[0].t > 0
    nan = next(r for r in steps if "loss" in r.metrics and math.isnan(r.metrics["loss"]))
    assert nan.step == 965  # `set_postfix` draws the bar's last count: what the log says
    assert KeyValueParser().parse("INFO:x:Progress on:eval 3.00it/9.00it rate:2.0it/s remaining:00:03 elapsed:00:01"
                                  " postfix:-") is None  # an evaluation's bar
    no_rate = "Progress on:train 5.00it/9.00it rate:- remaining:? elapsed:00:00 postfix:-"  # tqdm knows no rate yet
    assert READS.admits(no_rate) and KeyValueParser().parse(no_rate) is not None  # the bulk screen passes it on
    garbled = no_rate.replace("rate:-", "rate:1.2.3it/s")  # no rate tqdm prints (`{rate:,.1f}`): no line of it
    assert KeyValueParser().parse(garbled) is None and KeyValueParser().parse(garbled.replace("1.2.3", "1,234.5")) is not None
    _, [report], _ = check_json(path)
    assert (report["state"], report["step"], report["total_steps"]) == ("finished", 1500, 1500)
    _, openpi = source_records("openpi_slurm_scancel_tail.out")
    assert {r.total_steps for r in openpi if r.kind is Kind.STEP and r.total_steps} == {200000}


def test_tqdm_loggables_units_and_its_last_half_unit() -> None:
    """tqdm-loggable's own lines (tests/fixtures/printed/loggable_units_and_end.log): a download counted in bytes
    (`12.5MB/50.0MB rate:123,157,296.4B/s`) is no training; a bar of `unit="batch"` (`25.0batch/300batch
    rate:243.7batch/s`) is, its total stated first (`-/300`); and the last 500 steps of a 200,000-step run print
    `200kit/200kit` while time remains: below the total (read as it, a run still training was `finished`), at it
    once none remains."""
    from tests.support.realruns import check_json

    path = Path(__file__).parents[1] / "fixtures" / "printed" / "loggable_units_and_end.log"
    sp = SourceParser(str(path))
    recs = sp.feed(path.read_text().splitlines(), 1, 0.0) + sp.flush()
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert sp.format == "kv" and {r.total_steps for r in steps} == {300, 200000}  # no download's 50,000,000
    batches = [r for r in steps if r.total_steps == 300]
    assert [r.step for r in batches][:3] == [25, 25, 50] and batches[-1].step == 300
    assert batches[0].metrics["step_time"] == pytest.approx(1 / 243.7) and batches[-1].metrics["loss"] == 0.75
    ending = [r for r in steps if r.total_steps == 200000]
    assert all(r.step < 200000 for r in ending if r.metrics.get("eta", 1) > 0)
    assert {r.step for r in ending if r.metrics.get("eta") == 0} == {200000}
    assert all(a.step <= b.step for a, b in itertools.pairwise(ending))
    _, [report], _ = check_json(path)
    assert (report["state"], report["step"], report["total_steps"]) == ("finished", 200000, 200000)
    line = path.read_text().splitlines()[51]  # the 200,000-step bar's first `200kit/200kit`, 2 s remaining
    assert "200kit/200kit" in line and "remaining:00:02" in line
    near = KeyValueParser().parse(line)
    assert near is not None and (near.step, near.total_steps) == (199999, 200000)


def test_tqdm_loggables_first_line_states_the_total() -> None:
    from runwatch.parsers.preamble import loggable_planned

    lines = (Path(__file__).parents[1] / "fixtures" / "printed" / "loggable_units_and_end.log").read_text().splitlines()
    assert [loggable_planned(ln) for ln in lines[:2]] == [50000000, None]  # `-/50000000`, then `12.5MB/50.0MB`
    assert loggable_planned(lines[6]) == 300 and KeyValueParser().parse(lines[6]) is None  # `-/300`: no step yet


def test_paddleocrs_nan_filled_to_six_and_its_quoted_keys_are_read() -> None:
    """PaddleOCR writes each value as `'{}: {:x<6f}'` (its `SmoothedValue` log): a NaN loss prints `nanxxx`, read as
    a number with a unit `xxx` and dropped: two issues' runs, `CTCLoss: nanxxx, SARLoss: nanxxx, loss: nanxxx` for
    thousands of steps, judged OK (a review). PaddleOCR 1.1 quoted some keys (`lr: 0.000001, 'loss': nan, 'acc':
    0.0`): only `epoch`, `lr` and `time` were read."""
    from tests.support.found import source_records
    from tests.support.realruns import check_json

    for name, first in (("ppocr_nanxxx_issue11054.log", 920), ("ppocr_nanxxx_issue11031.log", 737800),
                        ("ppocr11_nan_issue2794.log", 2)):
        fmt, recs = source_records(name)
        steps = [r for r in recs if r.kind is Kind.STEP]
        assert fmt == "kv" and steps[0].step == first and all(math.isnan(r.metrics["loss"]) for r in steps), name
        assert "acc" in steps[0].metrics and steps[0].metrics["lr"] > 0, name
        code, [run], _ = check_json(Path(__file__).parents[1] / "fixtures" / "found" / name)
        [alert] = [a for a in run["alerts"] if a["rule"] == "nonfinite"]
        assert code == 2 and alert["labels"]["metric"] == "loss" and alert["first_step"] == first, (name, alert)
    _, [paddle, *_] = source_records("ppocr_nanxxx_issue11054.log")
    assert math.isnan(paddle.metrics["ctc_loss"]) and math.isnan(paddle.metrics["sar_loss"])
    assert paddle.metrics["step_time"] == 0.51186  # `avg_batch_cost: 0.51186 s`, the steps 5 s apart by 10


def test_ml_agents_values_that_end_a_sentence_are_read() -> None:
    """ML-Agents' trainer (a GitHub issue's console): `Step: 15000. Time Elapsed: 80.900 s Mean Reward: 0.333. Std of
    Reward: 0.471. Training.`: a value followed by the sentence's full stop was no value, the mean reward (what an RL
    user watches) never read (a review)."""
    from tests.support.found import source_records

    fmt, recs = source_records("mlagents_findthetarget_issue3004.log")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "kv" and [r.step for r in steps][:3] == [15000, 16000, 17000]
    assert (steps[0].metrics["mean_reward"], steps[0].metrics["elapsed"]) == (0.333, 80.9)
    version = KeyValueParser().parse("step: 3, loss: 0.5, version: 1.5.2 x")
    assert version is not None and "version" not in version.metrics  # a dotted version is no value


def test_open_clips_stamp_joins_its_date_and_time_by_a_comma() -> None:
    """open_clip logs `%(asctime)s | %(levelname)s | %(message)s` with the date format `%Y-%m-%d,%H:%M:%S`: `2023-06-29,
    15:44:40 | INFO | Train Epoch: 0 [ 6464/109468 (3%)] …` (NegCLIP's run, a GitHub issue): read "no step line
    carries a time of day" (a review)."""
    from runwatch.parsers.fields import logging_time
    from tests.support.found import source_records

    fmt, recs = source_records("negclip_openclip_issue27.log")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "kv" and steps[1].step == 6464 and steps[1].total_steps == 109468
    assert steps[1].t - steps[0].t == 56.0 and steps[0].t == logging_time("2023-06-29 15:44:40 | INFO | x")
    assert logging_time("2023-06-29,15:44:40,0.5,0.7") == 0.0  # a CSV row's date and time: no logger's stamp


def test_a_count_that_opens_the_line_is_the_runs_iteration() -> None:
    """deep-text-recognition-benchmark's `train.py`: `[2000/300000] Train loss: 1.34344, Valid loss: 6.06097,
    Elapsed_time: 325.96895`, its iteration of the run's total first and alone. A review's log of 17 launches (two
    of them to `[300000/300000]`) read `no steps`, each relaunch's loss of 20 a spike; the launches are told as such
    and the last is at step 1 of 300,000."""
    from tests.support.found import FOUND, source_records
    from tests.support.realruns import check_json

    name = "dtrb_victini_log_train.txt.gz"
    fmt, recs = source_records(name)
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "kv" and (steps[0].step, steps[0].total_steps) == (1, 300000)
    assert steps[0].metrics["loss"] == 19.96325 and steps[0].metrics["val_loss"] == 13.27727
    assert steps[0].metrics["elapsed"] == 4.72033 and max(r.step for r in steps) == 300000
    _, [run], _ = check_json(FOUND / name)
    assert (run["step"], run["total_steps"]) == (1, 300000)
    assert not [a for a in run["alerts"] if a["rule"] == "loss_spike"]  # a relaunch is no spike
    assert any("started again" in n for n in run["notes"])
    assert KeyValueParser().parse("[1/3] Building CXX object foo.o") is None  # a build's count, no measure
    val = KeyValueParser().parse("[10/50] val_loss: 0.52 acc: 0.91")  # a validation's own batches (a code review)
    assert val is not None and val.step is None and val.kind is Kind.EVAL


def test_lavis_metric_loggers_epoch_and_inner_epoch_place_the_step() -> None:
    """LAVIS (BLIP-2) prints torchvision's MetricLogger under `Train: data epoch: [0]` and, in its iteration runner,
    `; inner epoch [0]`, the count of `iters_per_inner_epoch` the run's iterations go by: `[   50/10000]  eta: 7:15:23
    lr: 1.2475e-08  loss: 0.0001  time: 2.5654 …` was read with no step (a review's run `no steps`); its header plans
    `max_iters=100000`."""
    from tests.support.found import FOUND, source_records
    from tests.support.realruns import check_json

    fmt, recs = source_records("lavis_blip2_vatex_excerpt.log")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "kv" and [r.step for r in steps] == [0, 50] and steps[1].metrics["step_time"] == 2.5654
    code, [run], _ = check_json(FOUND / "lavis_blip2_vatex_excerpt.log")
    assert code == 2 and (run["step"], run["total_steps"], run["state"]) == (50, 100000, "crashed")
    inner = KeyValueParser().parse("Train: data epoch: [0]; inner epoch [3]  [   50/10000]  eta: 7:15:23  loss: 0.1")
    assert inner is not None and (inner.step, inner.total_steps, inner.metrics["epoch"]) == (50, 10000, 3.0)


def test_a_bare_epoch_heading_is_the_epoch_of_the_lines_after_it() -> None:
    """chemprop's `verbose.log` (a 10-fold cross-validation, its first three folds): `Epoch 0` on a line of its own,
    then `Loss = 1.1803e+00, PNorm = 112.7778, GNorm = 1.3789, lr_0 = 1.3867e-04` every tenth batch with no count,
    then `Validation rmse = 34.998686`. Read without the heading, the records had no step, each fold's first loss
    (1.06 after the fold before ended at 0.004) read as a critical `loss_divergence` and `loss_spike`s, live at the
    moment each fold began (a new user's review: exit 2 on a finished run), and the validation was not read. The
    heading's epoch is the step of the lines after it; each fold starts again from epoch 0, an attempt of its own."""
    from tests.support.found import found_lines, source_records
    from tests.support.realruns import check_json
    from tests.support.rule_replay import replay_lines

    name = "chemprop_cv_folds_verbose_head.log.gz"
    fmt, recs = source_records(name)
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "kv" and steps[0].metrics == {"epoch": 0.0, "loss": 1.1803, "p_norm": 112.7778, "g_norm": 1.3789,
                                                "lr_0": 0.00013867}
    assert [r.step for r in steps[:13]] == [0] * 12 + [1] and steps[-1].step == 199
    assert [i for i, (a, b) in enumerate(itertools.pairwise(steps)) if b.step < a.step] == [2577, 5155]  # type: ignore[operator]
    evals = [r for r in recs if r.kind is Kind.EVAL]
    assert len(evals) == 600 and evals[0].metrics == {"epoch": 0.0, "validation_rmse": 34.998686}
    code, [run], _ = check_json(FOUND / name)
    assert code == 0 and not run["alerts"] and run["step"] == 199, run
    assert [n for n in run["notes"] if n.startswith("the run started again 2 times")], run["notes"]
    live = replay_lines(found_lines(name))  # judged after every record, as a tail following the log sees it
    assert not list(live.of("loss_divergence")) and not list(live.of("loss_spike"))
    # a new launch prints its own headings: the epoch of the one before names none of its lines
    lines = found_lines(name)
    parser = KeyValueParser()
    heading = lines.index("Epoch 7")  # fold 0's
    assert parser.parse(lines[heading]) is None and parser.parse(lines[147]).metrics["epoch"] == 7.0  # type: ignore[union-attr]
    parser.launched()
    assert "epoch" not in parser.parse(lines[147]).metrics  # type: ignore[union-attr]
    # after Python logging's prefix too: an I-JEPA fork's `INFO:root:Epoch 6`, its evaluation at the epoch's end
    _, jepa = source_records("fgdcc_jepa_test_loss_nan_excerpt.out")
    [nan_test] = [r for r in jepa if r.line == 158]
    assert nan_test.kind is Kind.EVAL and nan_test.metrics["epoch"] == 6.0 and math.isnan(nan_test.metrics["test_loss"])


def test_time_series_librarys_vali_loss_is_the_validation_loss() -> None:
    """Time-Series-Library (thuml's; TimeMixer here, a blog's console of 20 epochs on a CPU) prints `\titers: 100,
    epoch: 1 | loss: 0.3074494` and each epoch `Epoch: 1, Steps: 569 | Train Loss: … Vali Loss: … Test Loss: …`: its
    `Vali Loss`, what its early stopping watches, was no validation loss (a new user's review). Its `\tspeed:
    5.8367s/iter; left time: 65844.1122s` lines are still unread: they state no step, and the step line before them
    is read by a layout the source learns (a stateless parser's), so no parser's memory can place them."""
    from tests.support.found import source_records
    from tests.support.realruns import check_json

    name = "timemixer_tslib_ecl_cpu.log"
    fmt, recs = source_records(name)
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "kv" and [(r.step, dict(r.metrics)) for r in steps[:1]] == [(100, {"epoch": 1.0, "loss": 0.3074494})]
    summary = next(r for r in steps if r.line == 20)
    assert summary.metrics == {"epoch": 1.0, "loss": 0.3017685, "val_loss": 0.17007, "test_loss": 0.1914445}
    code, [run], _ = check_json(FOUND / name)
    assert code == 0 and run["step"] == 11380, run


def test_openpcdets_accumulated_iteration_is_the_step_and_its_train_count_the_epoch() -> None:
    """OpenPCDet's training line, `Train:   80/80 (100%) [ 959/960 (100%)]  Loss: 0.9327 (0.826)  LR: 3.000e-08  Time
    cost: 00:40/00:00 [52:22/00:00]  Acc_iter 76800  …  Batch time: 0.04(0.04)` (a PointPillars run's last steps, a
    new user's review): no step, and `train` 80 and `acc_iter` 76800 read as metrics. Its accumulated iteration is the
    run's step, its `Train: 80/80` the epoch of the run's."""
    from tests.support.found import source_records

    fmt, recs = source_records("openpcdet_pointpillars_last_steps.log")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "kv" and [r.step for r in steps] == [76700, 76750, 76800]
    assert {k: steps[-1].metrics[k] for k in ("epoch", "epochs", "loss", "lr", "step_time")} == {
        "epoch": 80.0, "epochs": 80.0, "loss": 0.9327, "lr": 3e-08, "step_time": 0.04}
    assert not {"train", "acc_iter"} & set(steps[-1].metrics)


# ── CLU's LoggingWriter (the Flax examples): `[step] name=value, name=value` ───────────────────────────────────────────

_CLU_LINE = patterns.compile(r"\[(\d+)\] ((?:\w+=\S+?)(?:, \w+=\S+?)*)$")


@pytest.mark.parametrize("batch", [1, 500], ids=["line-by-line", "block"])
@pytest.mark.parametrize("name", ["flax_gemma_lm1b_clu_tpu.log", "flax_ogbg_molpcba_clu_notebook.log"])
def test_clus_writer_lines_are_records_at_their_step(name: str, batch: int) -> None:
    """A new user's review: CLU's `[2000] train_accuracy=0.374, train_loss=3.729` (after absl's glog prefix, its
    thread id of 15 digits, or Python logging's `INFO:absl:`) were records of no step, the run's progress unknown.
    Each is now at the step in its brackets: a training line's loss, an evaluation's (`eval_loss`, `validation_loss`)
    the eval's, the pace (`steps_per_sec`) a step time; what is no scalars (`[2000] Got texts: {…}`) is no record."""
    from tests.support.found import found_lines, source_records

    want = [(int(m[1]), dict(kv.split("=") for kv in m[2].split(", "))) for x in found_lines(name)
            if (m := _CLU_LINE.search(x)) is not None]
    assert len(want) >= 8
    _, recs = source_records(name, batch)
    stepped = [r for r in recs if r.step is not None]
    for step, pairs in want:
        if "train_loss" in pairs:
            assert any(r.step == step and r.metrics.get("loss") == float(pairs["train_loss"]) for r in stepped), step
        for key in ("eval_loss", "validation_loss"):
            if key in pairs:
                assert any(r.step == step and r.kind is Kind.EVAL and r.metrics.get("val_loss") == float(pairs[key])
                           for r in stepped), step
        if "steps_per_sec" in pairs:
            assert any(r.step == step and r.metrics.get("step_time") == pytest.approx(1 / float(pairs["steps_per_sec"]))
                       for r in stepped), step
    assert not any(r.step == 2000 and not r.metrics for r in recs)


def test_a_flax_run_read_by_clus_lines_has_its_progress_and_no_stall() -> None:
    """The gemma run's own `Finished training step N` lines stop at step 19 while it trains on (CLU's lines every
    minute): `check` read a critical stall of 3 minutes and `no steps`; the notebook's 1,000 steps `no steps`, `ended`."""
    from tests.support.paths import FIXTURES
    from tests.support.realruns import check_json

    rc, runs, _ = check_json(FIXTURES / "found" / "flax_gemma_lm1b_clu_tpu.log")
    assert rc == 0 and runs[0]["step"] == 4001 and runs[0]["total_steps"] == 500000
    assert not [a for a in runs[0]["alerts"] if a["rule"] == "stall"]
    rc, runs, _ = check_json(FIXTURES / "found" / "flax_ogbg_molpcba_clu_notebook.log")
    assert rc == 0 and runs[0]["state"] == "finished" and runs[0]["step"] == runs[0]["total_steps"] == 1000


@pytest.mark.parametrize(("line", "step", "total", "step_time", "eta"), [
    ("I0325 14:03:32.393238 130295542103168 local.py:41] Setting work unit notes: 13.5 steps/s, 0.2% (1145/500000), "
     "ETA: 10h13m (4m : 3.5% data, 84.2% train_step)", 1145, 500000, 1 / 13.5, 10 * 3600 + 13 * 60),
    ("I0325 14:01:32.334728 130295542103168 local.py:41] Setting work unit notes: 0.0 steps/s, 0.0% (1/500000), ETA: "
     "400d22h17m (2m : 4.3% data, 95.2% train_step)", 1, 500000, None, 400 * 86400 + 22 * 3600 + 17 * 60),
    ("INFO:absl:Setting work unit notes: 2.1 steps/s, 25.2% (252/1000), ETA: 5m", 252, 1000, 1 / 2.1, 300),
])
def test_clus_progress_note_is_the_step_the_total_the_pace_and_the_eta(
        line: str, step: int, total: int, step_time: float | None, eta: float) -> None:
    """CLU's `ReportProgress` (tests/fixtures/found, both shapes of absl's output): the Gemma run's 500,000 planned
    steps were unread. Its first note's 0.0 steps/s is no pace."""
    from tests.support.found import found_lines

    assert any(line.split("] ", 1)[-1] in x or line in x for name in (
        "flax_gemma_lm1b_clu_tpu.log", "flax_ogbg_molpcba_clu_notebook.log") for x in found_lines(name))
    rec = KeyValueParser().parse(line)
    assert rec is not None and (rec.step, rec.total_steps) == (step, total)
    assert rec.metrics.get("step_time") == (None if step_time is None else pytest.approx(step_time))
    assert rec.metrics["eta"] == eta


def test_a_clu_loop_whose_loss_diverged_is_critical_at_its_step() -> None:
    """CLU's lines, printed by CLU (tests/fixtures/printed): a loss past float32's range at step 50, `inf` from 200,
    is critical at 50; the converging run is finished at its 300 of 300, no alert."""
    from tests.support.paths import FIXTURES
    from tests.support.realruns import check_json

    printed = FIXTURES / "printed"
    first = next(int(m[1]) for x in (printed / "clu_absl_diverged.log").read_text().splitlines()
                 if (m := re.search(r"\] \[(\d+)\] .*train_loss=(\S+)", x)) and float(m[2]) > 3.4e38)
    assert first == 50
    rc, runs, _ = check_json(printed / "clu_absl_diverged.log")
    found = {a["labels"].get("metric"): a for a in runs[0]["alerts"] if a["rule"] == "nonfinite"}
    assert rc == 2 and found["loss"]["first_step"] == first and found["loss"]["severity"] == "critical"
    rc, runs, _ = check_json(printed / "clu_absl_healthy.log")
    assert rc == 0 and runs[0]["alerts"] == [] and runs[0]["state"] == "finished" and runs[0]["step"] == 300


@pytest.mark.parametrize(("name", "level", "crash"), [("tf1_hooks_nan_stop.log", "WARNING", False),
                                                      ("tf1_hooks_nan_raise.log", "ERROR", True)])
def test_tensorflows_nan_hook_saying_the_model_diverged_is_a_nan_loss(name: str, level: str, crash: bool) -> None:
    """TensorFlow 1's `NanTensorHook` (tests/fixtures/printed: a corrupt sample at the 250th batch, the loss logged every
    100 steps) says `Model diverged with loss = NaN.` between two logged steps, no logged loss NaN: `OK`, exit 0, where
    it stops the run (a new user's review, tensor2tensor's and Estimator logs); where it raises, a crash only. It is a
    NaN loss after the last step logged."""
    from tests.support.paths import FIXTURES
    from tests.support.realruns import check_json

    lines = (FIXTURES / "printed" / name).read_text().splitlines()
    said = lines.index(f"{level}:tensorflow:Model diverged with loss = NaN.")
    logged = [int(m[1]) for x in lines[:said] if (m := re.search(r"loss = \S+, step = (\d+)", x))]
    assert logged == [0, 100, 200] and not any("loss = nan" in x for x in lines)
    rc, runs, _ = check_json(FIXTURES / "printed" / name)
    found = {a["rule"]: a for a in runs[0]["alerts"]}
    assert rc == 2 and found["nonfinite"]["severity"] == "critical" and found["nonfinite"]["first_step"] == logged[-1] + 1
    assert ("crash" in found) == crash
    rc, runs, _ = check_json(FIXTURES / "printed" / "tf1_hooks_healthy.log")
    assert rc == 0 and runs[0]["alerts"] == []


def test_a_rank_in_brackets_after_a_loops_own_logger_is_no_clu_step() -> None:
    """Only absl's prefixes carry CLU's step: a loop logging each rank in brackets through Python's logging (its
    default format, `INFO:__main__:[1] loss=2.510, lr=0.001`) read every rank as a step, two ranks 59 restarts and a
    divergence unjudged (a code review). CLU's own line after `INFO:absl:` keeps its step."""
    import logging

    fmt = logging.Formatter(logging.BASIC_FORMAT)

    def logged(name: str, msg: str) -> str:
        return fmt.format(logging.LogRecord(name, logging.INFO, __file__, 1, msg, None, None))

    ranked = logged("__main__", "[1] loss=2.510, lr=0.001")
    assert ranked == "INFO:__main__:[1] loss=2.510, lr=0.001"
    rec = KeyValueParser().parse(ranked)
    assert rec is None or rec.step is None
    clu = KeyValueParser().parse(logged("absl", "[1] loss=2.510, lr=0.001"))
    assert clu is not None and clu.step == 1


def test_a_line_quoting_the_divergence_message_is_no_nan() -> None:
    """The whole message after its logger's prefix is TensorFlow's: a tip quoting it is prose (a code review: a healthy
    log so opened read a NaN at step 0, critical)."""
    from tests.support.paths import FIXTURES

    said = next(x for x in (FIXTURES / "printed" / "tf1_hooks_nan_stop.log").read_text().splitlines() if "diverged" in x)
    message = said.split(":", 2)[2]
    assert KeyValueParser().parse(said) is not None
    assert KeyValueParser().parse(f"Tip: if TensorFlow says '{message}', lower --learning_rate.") is None


def test_a_logged_validation_line_is_an_evaluation_and_its_month_day_stamp_its_time() -> None:
    """A graph autoencoder logging `09-02 20:39:12 - INFO - __main__ - ` before each line (tests/fixtures/found): its
    `Val. Total Loss: 1.79, …` is the validation's (it was the training `loss` every other line), each line's stamp its
    time (none was read), its `Train.` summary at its epoch's step; the NaN from epoch 4 on is critical at 4, its last
    step 9 (the state said 11, 8 steps NaN)."""
    from tests.support.paths import FIXTURES
    from tests.support.realruns import check_json

    name = "vgae_month_day_stamps_nan.log"
    lines = (FIXTURES / "found" / name).read_text().splitlines()
    sp = SourceParser(name)
    recs = sp.feed(lines, 1, 0.0) + sp.flush()
    vals = [r for r in recs if r.kind is Kind.EVAL]
    said = [m[1] for x in lines if (m := re.search(r" - Val\. Total Loss: (\S+),", x))]
    assert [r.metrics["val_loss"] for r in vals if not math.isnan(r.metrics["val_loss"])] == [
        float(v) for v in said if v != "nan"] and len(vals) == len(said) == 10
    losses = [r.metrics["loss"] for r in recs if r.kind is Kind.STEP]
    assert not set(losses) & {float(v) for v in said if v != "nan"}  # no validation loss among the training's
    first = next(r for r in recs if r.kind is Kind.STEP)
    assert datetime.fromtimestamp(first.t).strftime("%m-%d %H:%M:%S") == lines[first.line - 1][:14]
    rc, runs, _ = check_json(FIXTURES / "found" / name)
    nonfinite = {a["labels"].get("metric"): a for a in runs[0]["alerts"] if a["rule"] == "nonfinite"}
    assert rc == 2 and runs[0]["step"] == 9
    assert (nonfinite["loss"]["first_step"], nonfinite["loss"]["last_step"]) == (4, 9)
    assert nonfinite["val_loss"]["first_step"] == 4


@pytest.mark.parametrize("fmt", ["%(asctime)s - %(name)s - %(levelname)s - %(message)s",
                                 "%(asctime)s - %(levelname)s - %(name)s - %(message)s",
                                 "%(asctime)s %(levelname)s %(message)s"])
@pytest.mark.parametrize("datefmt", [None, "%m/%d/%Y %H:%M:%S", "%m-%d %H:%M:%S"])
def test_an_evaluation_word_after_any_common_logging_prefix_is_the_evaluations(fmt: str, datefmt: str | None) -> None:
    """Python logging's own formatter writes the prefix (the cookbook's name-then-level, the HF examples' `%m/%d/%Y`
    stamp, level-then-name): the `Val.` after it starts an evaluation (a code review found the first two read as the
    training loss)."""
    import logging

    formatter = logging.Formatter(fmt, datefmt)
    record = logging.LogRecord("__main__", logging.INFO, __file__, 1, "Val. Total Loss: 1.90, Rec.: 1.55", None, None)
    rec = KeyValueParser().parse(formatter.format(record))
    assert rec is not None and rec.kind is Kind.EVAL and rec.metrics["val_loss"] == 1.9


def test_pytorch_cyclegan_and_pix2pixs_losses_are_losses(tmp_path: Path) -> None:
    """junyanz/pytorch-CycleGAN-and-pix2pix prints each loss its model computes by the model's name for it without its
    `loss_` (`(epoch: 1, iters: 20, time: 14.412, data: 0.080) G_GAN: 2.436 G_L1: 54.115 D_real: 0.167 D_fake: 0.138`):
    read as `g_gan`, a NaN there was no loss's, and `check` said OK (a new user's review). They are `loss_g_gan` …,
    judged as losses; the trainer's `saving the model at the end of epoch 1, iters 77` is a checkpoint at step 77."""
    from runwatch.cli import main
    from tests.support.found import FOUND, source_records

    _, recs = source_records("pix2pix_xray_two_epochs_train_log.txt")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [set(r.metrics) for r in steps] == [{"loss_g_gan", "loss_g_l1", "loss_d_real", "loss_d_fake", "epoch",
                                                 "step_time", "data_time"}] * 4
    assert steps[0].metrics["loss_g_l1"] == 54.115
    assert [(r.event, r.step) for r in recs if r.event == "checkpoint_saved"] == [("checkpoint_saved", 77)]
    text = (FOUND / "pix2pix_xray_two_epochs_train_log.txt").read_text()
    last = [ln for ln in text.splitlines() if ln.startswith("(epoch: 2, iters: 3,")][0]
    nan = tmp_path / "train_log.txt"  # the run's last loss line as `%.3f` prints a NaN of its G_GAN
    nan.write_text(text.replace(last, re.sub(r"G_GAN: [\d.]+", "G_GAN: nan", last)))
    assert main(["check", str(nan)]) == 2


def test_a_level_glued_to_the_message_after_the_time_is_no_key() -> None:
    """`%(asctime)s %(levelname)s:%(message)s` prints `2023-05-15 22:50:17,398 INFO:Epoch 1: Train Loss=0.0717, Val
    Loss=0.0766`: read as a key `INFO:Epoch`, each line's epoch a metric `info_epoch` and no step (a public log of
    500 epochs). The epoch is the step; a level behind a logger's name, or a key's part, stays as it was."""
    from tests.support.found import found_lines, source_records

    fmt, recs = source_records("emonettcn_level_glued_500_epochs.log")
    text = [x for x in found_lines("emonettcn_level_glued_500_epochs.log") if x]
    steps = [r for r in recs if r.kind == Kind.STEP]
    assert fmt == "kv" and len(steps) == len(text) == 500
    assert [r.step for r in steps] == list(range(1, 501))
    assert all("info_epoch" not in r.metrics for r in steps)
    assert steps[0].metrics["loss"] == 0.0717 and steps[0].metrics["val_loss"] == 0.0766
    assert steps[-1].metrics["loss"] == float(text[-1].split("Train Loss=")[1].split(",")[0])
    glued = KeyValueParser().parse(text[0])
    assert glued is not None and glued.metrics == {"epoch": 1.0, "loss": 0.0717, "val_loss": 0.0766}
    basic = KeyValueParser().parse("INFO:root:" + text[0].split("INFO:")[1])
    assert basic is not None and basic.metrics == glued.metrics


def test_a_line_opening_with_a_loss_of_its_own_name_is_a_record_and_a_best_so_far_is_not() -> None:
    """`_own_loss_first`: a GRPO loop's `rl_loss: …, time: …, l2_norm: …, token_entropy: …` (its lines taken from
    tests/fixtures/found/grpo_rollout_rl_loss_lines.log.gz) is a record with no step; DSFD's detail lines of two values
    and dgcnn's closing `best_loss … best_epoch` (both fixtures' own lines) stay no records."""
    from tests.support.found import FOUND

    grpo = gzip.decompress((FOUND / "grpo_rollout_rl_loss_lines.log.gz").read_bytes()).decode().splitlines()
    line = next(x for x in grpo if " - rl_loss: " in x)
    rec = KeyValueParser()._read(line)
    assert rec is not None and rec.kind is Kind.STEP and rec.step is None
    assert rec.metrics["rl_loss"] == -0.0027044436428695917 and rec.metrics["token_entropy"] == 0.8196184635162354
    dsfd = (FOUND / "dsfd_pytorch_loop.log").read_text(encoding="utf-8").splitlines()
    dgcnn = (FOUND / "dgcnn_abo_epochs_nohup.log").read_text(encoding="utf-8").splitlines()
    details = [x for x in dsfd if x.startswith("->> pal")] + [x for x in dgcnn if x.startswith("best_loss")]
    assert len(details) > 2 and [KeyValueParser()._read(x) for x in details] == [None] * len(details)
    best = line.replace(" - rl_loss: ", " - best_loss: ")  # the same line as a best-so-far
    assert KeyValueParser()._read(best) is None


def test_a_lone_loss_after_an_epoch_heading_is_that_epochs() -> None:
    """A review's Faster R-CNN loop (tests/fixtures/found/README.md) prints `EPOCH 1 of 30` as an epoch starts and
    `EPOCH loss: 0.5358…` as it ends, each on a line of its own: `UNREAD`, exit 3. Each loss is now its epoch's record,
    in both readers; an evaluation's lone measure is still an evaluation, and a lone loss with no heading before it
    no record."""
    from tests.support import readers
    from tests.support.found import FOUND

    text = (FOUND / "fasterrcnn_voc_epoch_of_heading.log").read_bytes()
    recs, _ = readers.check(text, (1 << 20, 4096, 97))
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.metrics["epoch"] for r in steps] == [float(e) for e in range(1, 11)]
    assert steps[0].metrics["epoch_loss"] == 0.535859936185811 and steps[-1].metrics["epoch_loss"] < 0.39
    lone = next(x for x in text.decode().splitlines() if x.startswith("EPOCH loss: "))
    assert KeyValueParser()._read(lone) is None  # no heading yet: a loss of what, no one can say
    from tests.support.found import found_lines

    summary = next(x for x in found_lines("simgir_sweep_trials_excerpt.out.gz") if x.startswith("wandb:    train_loss"))
    heading = next(x for x in text.decode().splitlines() if x.startswith("EPOCH 1 of 30"))
    after = KeyValueParser()
    assert after.parse(heading) is None and after.parse(summary) is None  # W&B's run summary: no step
    assert after.parse(lone) is not None
