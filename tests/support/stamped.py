"""Runs whose step lines state when they were written (Megatron, DeepSpeed), built from real lines of each."""

from __future__ import annotations

import datetime
import json
import re

from tests.support.corpus import CORPUS


def megatron_log(steps: int, nan_at: int = 2000, *, dropped: bool = False,
                 hang_in_step_time: bool = True) -> list[str]:
    """A Megatron run that states when each step line was written: the three whole stamped lines of a
    real one (Megatron-LM issue 756, in the corpus) in turn, iteration and time carried on by each line's
    own step time, with a 300 s hang at step 1500 (its stamp and its own elapsed time per iteration say it;
    with `hang_in_step_time` False only its stamp: a hang between two iterations, which Megatron's
    timer does not see) and `lm loss: NAN` (how Megatron's `%E` prints a NaN) at steps `nan_at` to
    `nan_at` + 4; `dropped`: as Megatron-LM's training.py prints a NaN iteration instead, the loss left
    out, `grad norm: nan` and the iteration counted in `number of nan iterations`."""
    found = json.loads((CORPUS / "raw" / "excerpts_megatron.json").read_text(encoding="utf-8"))
    text = next(e["t"] for e in found if "issues/756" in e["src"])
    real = [x for x in text.splitlines() if x.endswith("nan iterations:   0 |")][:3]
    assert len(real) == 3
    t = datetime.datetime(2024, 4, 6, 3, 2, 12)
    out = []
    for step in range(1, steps + 1):
        line = real[step % 3]
        ms = float(re.search(r"\(ms\): ([\d.]+)", line)[1]) + (3e5 if step == 1500 else 0)
        t += datetime.timedelta(milliseconds=ms)
        ms -= 0 if hang_in_step_time or step != 1500 else 3e5
        line = re.sub(r"\(ms\): [\d.]+", f"(ms): {ms:.1f}", line)  # Megatron's own time for the step says the hang too
        line = re.sub(r"\[[\d-]+ [\d:]+\]", t.strftime("[%Y-%m-%d %H:%M:%S]"), line)
        line = re.sub(r"iteration +\d+/ +\d+", f"iteration {step:8d}/{steps:8d}", line)
        if nan_at <= step < nan_at + 5 and dropped:
            line = re.sub(r"lm loss: \S+ \| ", "", line).replace("number of nan iterations:   0",
                                                                   "number of nan iterations:   1")
            line = re.sub(r"grad norm: \S+", "grad norm: nan", line)
        elif nan_at <= step < nan_at + 5:
            line = re.sub(r"lm loss: \S+", "lm loss: NAN", line)
        out.append(line)
    return out


def some_unstamped(lines: list[str], every: int) -> list[str]:
    """`lines` (a `megatron_log`) with the stamp taken off every `every`-th line after the first: a log where
    some step lines carry no time of their own (the benchmark's Megatron log holds excerpts of runs that print
    one and runs that do not)."""
    return [re.sub(r"^ ?\[[\d-]+ [\d:]+\] ", "", x) if i and i % every == 0 else x for i, x in enumerate(lines)]


def deepspeed_log(steps: int) -> list[str]:
    """A DeepSpeed run's `log_dist` step lines, `[Rank 0]` on each: the real one of DeepSpeed issue 3742 (in
    the corpus), step and time carried on 1.5 s a step, with a 200 s hang before step 800."""
    found = json.loads((CORPUS / "raw" / "excerpts_deepspeed.json").read_text(encoding="utf-8"))
    text = next(e["t"] for e in found if "issues/3742" in e["src"])
    real = next(x for x in text.splitlines() if "[Rank 0] step=" in x)
    t = datetime.datetime(2023, 7, 25, 21, 3, 21, 37000)
    out = []
    for step in range(1, steps + 1):
        t += datetime.timedelta(seconds=1.5 + (200 if step == 800 else 0))
        stamp = t.strftime("%Y-%m-%d %H:%M:%S,") + f"{t.microsecond // 1000:03d}"
        line = re.sub(r"^\[[\d-]+ [\d:,]+\]", f"[{stamp}]", real)
        out.append(re.sub(r"step=\d+", f"step={step}", line))
    return out


def megatron_deepspeed_log(steps: int, *, nan_at: tuple[int, ...] = (1000,), hang_at: int = 500) -> list[str]:
    """A Megatron-DeepSpeed run: the six whole lines of DeepSpeed issue 3742 (in the corpus) per step, in
    that log's order: the engine's `[Rank 0] step=N, …`, 0.455 s later its timer and two `time (ms)` lines,
    then the trainer's unstamped ` samples/sec: … | iteration N/ T | … lm_loss: …` line and its own
    `time (ms)` line; iteration and stamps carried on 4.1 s a step, a 300 s hang before step `hang_at`
    (its stamps and its own elapsed time per iteration say it), `lm_loss: NAN` (Megatron's `%E` of a
    NaN) at the steps `nan_at` only."""
    found = json.loads((CORPUS / "raw" / "excerpts_deepspeed.json").read_text(encoding="utf-8"))
    text = next(e["t"] for e in found if "issues/3742" in e["src"])
    real = text.splitlines()[:6]
    assert "iteration       34/" in real[3] and "step=35," in real[5]
    real = [real[5], *real[:5]]
    t = datetime.datetime(2023, 7, 25, 21, 3, 17, 269000)
    out = []
    for step in range(1, steps + 1):
        ms = 4103.1 + (3e5 if step == hang_at else 0)
        t += datetime.timedelta(milliseconds=ms)
        before = t - datetime.timedelta(seconds=0.455)
        for k, line in enumerate(real):
            at = before if k == 0 else t
            stamp = at.strftime("[%Y-%m-%d %H:%M:%S,") + f"{at.microsecond // 1000:03d}]"
            line = re.sub(r"^\[[\d-]+ [\d:,]+\]", stamp, line)
            line = re.sub(r"\] step=\d+,", f"] step={step},", line)
            line = re.sub(r"micro_step=\d+/global_step=\d+", f"micro_step={step}/global_step={step}", line)
            line = re.sub(r"iteration +\d+/ +\d+", f"iteration {step:8d}/{steps:8d}", line)
            line = re.sub(r"\(ms\): [\d.]+", f"(ms): {ms:.1f}", line)
            if step in nan_at:
                line = re.sub(r"lm_loss: \S+", "lm_loss: NAN", line)
            out.append(line)
    return out


def megatron_with_hub_retries(steps: int, *, every: int, late: int = 0,
                              end: datetime.datetime | None = None) -> list[str]:
    """`megatron_log(steps)` (keep `steps` under its hang at 1500) with the Hugging Face Hub's retry warnings
    (corpus failures.md F26: the `thrown while requesting` and `Retrying in 8s` lines, each printed twice)
    after every `every`-th step, and after every 4th of its last `late` steps (4 step lines apart, each is a
    retry of its own, not one burst: `runwatch.parsers.events`); its stamps moved so that
    its last line was written at `end` (None: as the real run's). The warnings state no time of their own:
    only the step lines around them say when they were written."""
    from tests.support.corpus import md_block

    retry = list(md_block("failures.md", "F26"))
    lines = megatron_log(steps + 1)[:steps]  # not at its total: the run goes on
    out = []
    for i, line in enumerate(lines, start=1):
        out.append(line)
        if i % every == 0 or (i > steps - late and i % 4 == 0):
            out += retry
    if end is None:
        return out
    last = datetime.datetime.strptime(re.search(r"\[([\d-]+ [\d:]+)\]", lines[-1])[1], "%Y-%m-%d %H:%M:%S")
    shift = end - last

    def moved(m: re.Match[str]) -> str:
        return (datetime.datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S") + shift).strftime("[%Y-%m-%d %H:%M:%S]")

    return [re.sub(r"^ \[([\d-]+ [\d:]+)\]", moved, line) for line in out]
