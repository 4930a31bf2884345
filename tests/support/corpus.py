"""Reading real lines out of the corpus copy, so tests quote it instead of retyping it."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from runwatch.model import Record
from runwatch.parsers.registry import make_parser

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
FRAMEWORKS = ("picollm", "nanogpt", "llmc", "megatron", "deepspeed", "torchtitan")


@cache
def raw_lines(name: str) -> tuple[str, ...]:
    """Lines of `corpus/raw/<name>` without line ends."""
    return tuple((CORPUS / "raw" / name).read_text(encoding="utf-8").splitlines())


@cache
def md_block(md: str, heading: str, index: int = 0) -> tuple[str, ...]:
    """Lines of the `index`-th fenced block after the first heading line that contains `heading`."""
    text = (CORPUS / md).read_text(encoding="utf-8")
    start = next(m.end() for m in re.finditer(r"^#+ .*$", text, re.M) if heading in m.group(0))
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text[start:], re.M | re.S)
    return tuple(blocks[index].splitlines())


@cache
def json_excerpt(name: str, headline: str, group: str | None = None) -> tuple[str, ...]:
    """Lines of the excerpt in `raw/<name>` whose `h` contains `headline`."""
    data = json.loads((CORPUS / "raw" / name).read_text(encoding="utf-8"))
    items = data[group] if group else data
    return tuple(next(e for e in items if headline in e["h"])["t"].splitlines())


def line_with(lines: tuple[str, ...], fragment: str) -> str:
    """The first of `lines` that contains `fragment`."""
    found = next((line for line in lines if fragment in line), None)
    assert found is not None, f"corpus has no line with {fragment!r}"
    return found


FOREIGN = (
    "excerpts_hf_trainer.json", "excerpts_lightning.json", "excerpts_failures.json", "excerpts_torchrun_slurm.json",
)


@cache
def foreign_lines() -> tuple[str, ...]:
    """Lines of the other stacks' excerpts (HF Trainer, Lightning, failures, launchers, Composer, axolotl,
    Accelerate): no framework format may call any of them its own."""
    out: list[str] = []
    for name in FOREIGN:
        out += [line for e in json.loads((CORPUS / "raw" / name).read_text(encoding="utf-8")) for line in e["t"].splitlines()]
    others = json.loads((CORPUS / "raw" / "excerpts_torchtitan_composer_axolotl_accelerate.json").read_text("utf-8"))
    for group in ("composer", "axolotl", "accelerate"):
        out += [line for e in others[group] for line in e["t"].splitlines()]
    return tuple(out)


def signature_scorers(line: str) -> set[str]:
    """Which of the framework formats call this line their signature (score 2)."""
    return {name for name in FRAMEWORKS if make_parser(name).score(line) == 2}


def assert_metrics(rec: Record, expected: Mapping[str, float]) -> None:
    """Same metric names, equal values (NaN equals NaN, floats to 1e-9 relative)."""
    assert set(rec.metrics) == set(expected), f"{dict(rec.metrics)} != {dict(expected)}"
    for key, want in expected.items():
        got = rec.metrics[key]
        if math.isnan(want):
            assert math.isnan(got), f"{key}: {got} is not NaN"
        else:
            assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), f"{key}: {got} != {want}"


def trainer_state(which: int) -> dict[str, Any]:
    """S1 (which=0: head, mid, tail) or S2 (which=1: head and the step-1000 train + eval entries)."""
    e = json.loads((CORPUS / "raw" / "excerpts_hf_trainer_state.json").read_text(encoding="utf-8"))[which]
    text = e["t"] + e["mid"] + e["tail"]
    return json.loads(text if e["tail"] else text.rstrip().rstrip(",") + "]}")
