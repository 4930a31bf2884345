"""Long torchrun `--tee` logs (every rank's lines in one file, each after its `[defaultN]:` prefix) built
from the run lab's real recordings."""

from __future__ import annotations

import re

from tests.support.paths import FIXTURES


def tee_log(run: str, times: int = 20, old: str = "", new: str = "") -> bytes:
    """The recording `run` (torchrun-tee-*) `times` over, its iterations carried on by 1000 each time;
    `old` → `new` in every line turns the prefix into another form (`[rank3]:`, `[rank3]: `)."""
    lines = (FIXTURES / "realruns" / run / "run" / "train.log").read_text().splitlines()
    out = []
    for k in range(times):
        out += [re.sub(r"iter (\d+)", lambda m, k=k: f"iter {k * 1000 + int(m[1])}", x).replace(old, new)
                for x in lines]
    return ("\n".join(out) + "\n").encode()


def more_ranks(data: bytes, ranks: int) -> bytes:
    """`data` (a `tee_log`) with rank 1's lines written by ranks 1..`ranks`-1, their order turning round
    from one line to the next (ranks that print in no fixed order, as they do)."""
    out, turn = [], 0
    for line in data.decode().splitlines():
        if not line.startswith("[default1]:"):
            out.append(line)
            continue
        order = list(range(1, ranks))
        turn = (turn + 1) % len(order)
        out += [line.replace("[default1]:", f"[default{r}]:") for r in order[turn:] + order[:turn]]
    return ("\n".join(out) + "\n").encode()


def with_evals(data: bytes, every: int) -> bytes:
    """`data` (a `tee_log`) with rank 0 evaluating every `every` iterations: after its `iter N` line for each
    such N, nanoGPT's own `step N: train loss …, val loss …` line (the run lab's nanogpt-tb-healthy recording
    printed it) behind rank 0's prefix, at that N."""
    recorded = (FIXTURES / "realruns" / "nanogpt-tb-healthy" / "run" / "train.log").read_text().splitlines()
    said = next(x for x in recorded if re.match(r"step \d+: train loss [\d.]+, val loss [\d.]+$", x))
    out = []
    for line in data.decode().splitlines():
        out.append(line)
        m = re.match(r"\[default0\]:iter (\d+):", line)
        if m is not None and int(m[1]) and int(m[1]) % every == 0:
            out.append("[default0]:" + re.sub(r"^step \d+", f"step {m[1]}", said))
    return ("\n".join(out) + "\n").encode()
