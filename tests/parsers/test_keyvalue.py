"""Generic key/value lines → Records.

No corpus section is "generic"; the real lines below are other stacks' prints that a
hand-written loop resembles (nanoGPT, torchtitan, DeepSpeed), plus non-step lines the fallback
must leave alone. kv must never outscore a specific format: its score is at most 1 everywhere.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.model import Kind
from runwatch.parsers.keyvalue import KeyValueParser

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
    # others_….md T2: torchtitan `step: 200  loss:  6.1384  memory: 49.66GiB(52.28%)  tps: 5,856 …`
    (excerpt("excerpts_torchtitan_composer_axolotl_accelerate.json", "Excerpt T2")[1], Kind.STEP, 200,
     {"loss": 6.1384, "memory": 49.66, "tokens_per_sec": 5856.0, "tflops": 339.16, "mfu": 34.29}),
    # deepspeed.md D1: `step=40, skipped=2, lr=[5e-05]`: the list is not read, `Rank 0` and `logging.py:69` are labels
    (excerpt("excerpts_deepspeed.json", "Excerpt D1")[
        [i for i, x in enumerate(excerpt("excerpts_deepspeed.json", "Excerpt D1")) if "step=40," in x][0]],
     Kind.STEP, 40, {"skipped": 2.0}),
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
