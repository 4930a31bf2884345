"""Calibration of the default rules on the real corpus: silent on healthy runs, loud on faulty ones.

Each log or excerpt goes line by line through `SourceParser` → `RunTracker`,
and every default rule (the system rules too, which speak from the log alone
when no system samples exist) is evaluated as the engine would tick (see
`_replay.replay`: a synthetic clock that advances by the logged step time).
A healthy run of any framework must raise nothing; each fault must raise
the rule that names it, with the labels a person needs, and nothing else.
"""

from __future__ import annotations

import numpy as np
import pytest

from runwatch.model import Event, Record, RunState
from tests.support.corpus import json_excerpt, md_block, raw_lines
from tests.support.rule_replay import Replay, evaluation, event, replay, replay_lines, step

PR492 = "nanochat_pr492_speedrun_d24_feb01.training_output.log"
SFT_NAN = "nanochat_pr657_sft_run.log"


def excerpt(source: str, headline: str, group: str | None = None) -> tuple[str, ...]:
    """Lines of a JSON excerpt (`raw/<source>`) or of a fenced block in a corpus `.md` file."""
    if source.endswith(".md"):
        return md_block(source, headline)
    return json_excerpt(source, headline, group)


def fired(lines: tuple[str, ...]) -> Replay:
    return replay_lines(lines, tick=0.0)  # excerpts are short: evaluate before every record


# ── healthy: every framework, nothing may fire ─────────────────────────────

HEALTHY = [
    # not D4 (transformers#14531): 1995 of its 2000 steps skipped for fp16 overflow, loss 0.0; no healthy run
    # (test_nonfinite and test_check pin that it fires)
    *[("excerpts_deepspeed.json", f"Excerpt D{i} ", None) for i in (1, 2, 3, 5)],
    *[("excerpts_hf_trainer.json", f"Excerpt H{i} ", None) for i in (1, 2, 3, 4, 5, 7, 8, 9, 10)],
    *[("excerpts_lightning.json", f"Excerpt P{i} ", None) for i in range(1, 10)],
    *[("excerpts_megatron.json", f"Excerpt M{i} ", None) for i in (1, 2, 4, 5, 6, 9, 10)],
    *[("excerpts_torchrun_slurm.json", f"Excerpt R{i} ", None) for i in (1, 2, 6)],
    *[("excerpts_torchtitan_composer_axolotl_accelerate.json", f"Excerpt {x} ", g)
      for x, g in (("T1", "titan"), ("T2", "titan"), ("T3", "titan"), ("C1", "composer"), ("C2", "composer"),
                   ("A1", "axolotl"), ("A2", "axolotl"), ("X1", "accelerate"))],
    *[("nanogpt_llmc.md", f"Excerpt {x} ", None) for x in ("G1", "G3", "G4", "G5", "G6", "G7")],
    *[("nanogpt_llmc.md", f"Excerpt L{i} ", None) for i in range(1, 7)],
    *[("nanochat.md", f"Excerpt N{i} ", None) for i in (1, 3, 5, 7)],
]


@pytest.mark.parametrize(("source", "headline", "group"), HEALTHY, ids=[f"{h.split()[-1]}" for _, h, _ in HEALTHY])
def test_healthy_excerpts_raise_nothing(source: str, headline: str, group: str | None) -> None:
    result = fired(excerpt(source, headline, group))
    assert result.fired == []


@pytest.mark.parametrize("number", range(26, 32), ids=lambda n: f"F{n}")
def test_hub_retries_and_gpu_xids_are_not_crashes(number: int) -> None:
    """Retries are io_stall's business and Xids gpu_health's; neither is a crash of the run (nor is Ctrl+C)."""
    assert "crash" not in fired(excerpt("excerpts_failures.json", f"F{number} ")).rules_fired()


def test_the_whole_healthy_nanochat_run_raises_nothing() -> None:
    """PR #492: 16,704 steps on 8×H100 with 74 evals. The evals here pause 6 minutes each, as CORE does.

    Ticks every 2 s (3 steps) to keep the suite quick; every rule looks at a
    tail several records long, so nothing between ticks goes unseen.
    """
    result = replay_lines(raw_lines(PR492), eval_pause=360.0, tick=2.0)
    assert result.tracker.progress.step == 16703
    assert result.tracker.state(result.end) == RunState.FINISHED
    assert result.fired == []


# ── faulty: the rule that names the fault, with the right labels ──────────

NONFINITE = [
    ("excerpts_hf_trainer.json", "Excerpt H6 ", None, {"metric": "grad_norm"}, "loss reads 0.0"),
    ("excerpts_megatron.json", "Excerpt M7 ", None, {"metric": "grad_norm"}, "grad_norm is NaN at step 5426"),
    ("nanogpt_llmc.md", "Excerpt G2 ", None, {"metric": "loss"}, "loss is NaN at step 3010"),
    ("nanochat.md", "Excerpt N2 ", None, {"metric": "loss"}, "loss is NaN at step"),
]


@pytest.mark.parametrize(("source", "headline", "group", "labels", "summary"), NONFINITE,
                         ids=[h.split()[-1] for _, h, *_ in NONFINITE])
def test_nan_excerpts_raise_nonfinite(source: str, headline: str, group: str | None, labels: dict[str, object],
                                      summary: str) -> None:
    result = fired(excerpt(source, headline, group))
    assert result.rules_fired() == {"nonfinite"}
    first = result.first("nonfinite")
    assert dict(first.labels) == {"run": "run", **labels}
    assert summary in first.summary


def test_the_sft_run_that_goes_nan_fires_at_its_first_nan_step() -> None:
    result = replay_lines(raw_lines(SFT_NAN), tick=0.0)
    assert result.rules_fired() == {"nonfinite"}
    first = result.first("nonfinite")
    assert first.step == 9 and first.summary.startswith("loss is NaN at step 9")
    assert dict(first.labels) == {"run": "run", "metric": "loss"}


CRASHES = [
    *[(f"F{i} ", {"event": "oom"}) for i in range(1, 6)],
    ("F6 ", {"event": "oom", "rank": 0}),
    ("F7 ", {"event": "nccl_timeout", "rank": 1}),
    ("F8 ", {"event": "nccl_timeout", "rank": 0}),
    ("F9 ", {"event": "nccl_timeout", "rank": 0}),
    ("F10 ", {"event": "nccl_timeout", "rank": 1}),
    ("F11 ", {"event": "nccl_timeout", "rank": 5}),
    *[(f"F{i} ", {"event": "nccl_error"}) for i in (12, 13, 14)],
    ("F15 ", {"event": "child_failed", "rank": 0}),  # the report's root-cause rank
    ("F16 ", {"event": "child_failed", "local_rank": 0}),  # agent lines name only the local rank
    ("F17 ", {"event": "child_failed", "local_rank": 2}),
    ("F18 ", {"event": "child_failed", "local_rank": 3}),
    ("F19 ", {"event": "killed", "local_rank": 5}),  # exitcode -9
    *[(f"F{i} ", {"event": "killed"}) for i in (20, 21)],
    ("F22 ", {"event": "oom"}),  # the kernel OOM killer: a host OOM
    *[(f"F{i} ", {"event": "dataloader_error"}) for i in (23, 24, 25)],
]
OTHER_CRASHES = [
    ("excerpts_torchrun_slurm.json", "Excerpt R3 ", None, {"event": "nccl_timeout", "rank": 0}),
    ("excerpts_torchrun_slurm.json", "Excerpt R4 ", None, {"event": "time_limit"}),
    ("excerpts_torchrun_slurm.json", "Excerpt R5 ", None, {"event": "time_limit"}),
    ("excerpts_torchtitan_composer_axolotl_accelerate.json", "Excerpt X2 ", "accelerate", {"event": "traceback"}),
]


@pytest.mark.parametrize(
    ("source", "headline", "group", "labels"),
    [("excerpts_failures.json", h, None, labels) for h, labels in CRASHES] + OTHER_CRASHES,
    ids=[h.strip() for h, _ in CRASHES] + [h.split()[-1] for _, h, _, _ in OTHER_CRASHES],
)
def test_failure_excerpts_raise_crash_with_the_right_labels(source: str, headline: str, group: str | None,
                                                            labels: dict[str, object]) -> None:
    result = fired(excerpt(source, headline, group))
    assert result.rules_fired() == {"crash"}
    assert {tuple(sorted(dict(f.labels).items())) for f in result.of("crash")} == {
        tuple(sorted({"run": "run", **labels}.items()))}


# ── synthetic faults and a run with heavy evals, through all the rules ─────

def healthy_run(n: int, *, seed: int = 0, start: int = 0, rank: int | None = None) -> list[Record]:
    """nanochat-like: a falling, noisy loss, 0.63 s steps, ~830k tok/s."""
    rng = np.random.default_rng(seed)
    loss = 3.0 - 0.5 * np.arange(start, start + n) / (start + n) + 0.03 * rng.standard_normal(n)
    dt = 0.63 * (1 + 0.01 * rng.standard_normal(n))
    return [step(start + i, rank=rank, total=100_000, loss=float(loss[i]), step_time=float(dt[i]),
                 tokens_per_sec=float(524288 / dt[i])) for i in range(n)]


def test_a_synthetic_loss_spike_fires_loss_spike() -> None:
    records = healthy_run(600)
    records += [step(600 + i, total=100_000, loss=7.0, step_time=0.63, tokens_per_sec=832_000.0) for i in range(6)]
    records += healthy_run(50, start=606, seed=1)
    result = replay(records)
    assert result.rules_fired() == {"loss_spike"}
    assert result.first("loss_spike").step == 600


def test_a_synthetic_stall_fires_and_ends() -> None:
    records = healthy_run(600)
    gap = step(600, total=100_000, loss=2.5, step_time=3600.0)  # the replay clock moves by the step's own time
    result = replay(records + [gap], max_gap=3600.0)
    (stall,) = result.of("stall")  # once, at the tick the step arrived; the tick after it, gone
    assert stall.summary.startswith("no new step for 1h (last step 599;")
    assert result.rules_fired() == {"stall"}


def test_a_synthetic_straggler_fires_with_its_rank() -> None:
    by_rank = [healthy_run(600, rank=r, seed=r) for r in range(4)]
    records = [rec for i in range(600) for r, recs in enumerate(by_rank) if r != 2 or i < 400
               for rec in [recs[i]]]
    result = replay(records)
    assert result.rules_fired() == {"straggler"}
    assert {dict(f.labels)["rank"] for f in result.of("straggler")} == {2}


def test_periodic_eval_pauses_and_checkpoints_raise_nothing() -> None:
    """Every 200 steps: a slow step (eval inside it), a 5-minute eval and a checkpoint save."""
    records: list[Record] = []
    for block in range(8):
        part = healthy_run(200, start=200 * block, seed=block)
        last = part[-1]
        slow = step(last.step, total=100_000, loss=last.metrics["loss"], step_time=20.0, tokens_per_sec=26_000.0)
        records += [*part[:-1], slow, evaluation(last.step, val_loss=2.9 - block / 100),
                    event(Event.CHECKPOINT_SAVED)]
    result = replay(records, eval_pause=300.0)
    assert result.fired == []
