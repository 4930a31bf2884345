"""Blocks of `name: value` lines between rules → Records, on a whole real log (tests/fixtures/found/README.md)."""

from __future__ import annotations

import json
import re

import pytest

from runwatch.cli import main
from runwatch.model import Event, Kind
from runwatch.parsers.blocks import BlocksParser
from runwatch.parsers.source import SourceParser
from tests.support.found import FOUND, found_lines, source_records

NAME = "decision_mamba_rl_blocks.log"


def test_each_block_is_a_step_with_its_losses_and_the_settings_give_the_total() -> None:
    """A new user's review: a Decision Transformer loop's blocks read `no steps` and no metric at all."""
    fmt, recs = source_records(NAME)
    assert fmt == "blocks"
    text = found_lines(NAME)
    updates = [int(m[1]) for x in text if (m := re.fullmatch(r"num of updates: (\d+)", x))]
    ret = [float(m[1]) for x in text if (m := re.fullmatch(r"ret loss: ([\d.]+)", x))]
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps] == updates == list(range(1000, 50001, 1000))
    assert [r.metrics["ret_loss"] for r in steps] == ret
    assert steps[-1].metrics == {"elapsed": 53 * 60 + 35.0, "ret_loss": 0.78261, "action_loss": 0.02265,
                                 "state_loss": 0.00999, "exp_loss": 0.00051}
    assert [r.event for r in recs if r.kind is Kind.EVENT] == [Event.FINISHED]


RLLIB = "rllib_tune_dqn_results_q_values_explode.out.gz"
COQUI = "coqui_vits_finetune_interrupted.log.gz"


@pytest.mark.parametrize("name", [NAME, "sb3_ppo_cartpole_tables.log", "rslrl_genesis_go2_ppo_console.log", RLLIB, COQUI])
def test_a_follower_line_by_line_reads_what_parse_reads(name: str) -> None:
    text, live = found_lines(name), SourceParser("live")
    got = [r for i, x in enumerate(text, 1) for r in live.feed([x], i, 0.0) + live.settle()] + live.flush()
    _, whole = source_records(name)
    assert live.format == "blocks"
    assert [(r.kind, r.step, r.metrics) for r in got] == [(r.kind, r.step, r.metrics) for r in whole]


def test_a_block_its_rule_never_closed_is_held_then_flushed() -> None:
    """The last block of a log cut before its rule: held (`holding`, a follower closes it once the log is quiet)."""
    text = found_lines(NAME)
    last = max(i for i, x in enumerate(text) if x.startswith("num of updates: "))
    parser = BlocksParser()
    recs = [r for x in text[: last + 3] if (r := parser.parse(x)) is not None]
    assert recs[-1].step == 49000 and parser.holding
    held = parser.flush()
    assert held is not None and held.step == 50000 and held.metrics["ret_loss"] == 0.78261
    assert not parser.holding and parser.flush() is None


def test_a_field_named_with_brackets_keeps_its_block() -> None:
    parser = BlocksParser()
    for line in ("num of updates: 1000", "loss (avg): 0.5", "=" * 60):
        rec = parser.parse(line)
    assert rec is not None and rec.step == 1000 and rec.metrics == {"loss_avg": 0.5}


def test_only_a_lone_step_field_signs_the_format() -> None:
    parser = BlocksParser()
    assert parser.score("num of updates: 1000") == 2
    assert parser.score("ret loss: 0.78403") == 0  # any `kv` log's
    assert parser.score("step: 1000, loss: 2.5") == 0  # a `kv` line
    assert parser.score("iters: 1000") == 0  # a config dump's (PaddleSeg's YAML)


SB3 = "sb3_ppo_cartpole_tables.log"


def test_stable_baselines3_tables_are_steps_at_their_timesteps() -> None:
    """A review: SB3's logger tables (PPO on CartPole) read UNREAD, exit 3: no progress, loss or reward. Each table is
    a block: `total_timesteps` its step, every other row a metric by its name (`ep_rew_mean`, `loss`, `time_elapsed`
    the elapsed seconds, `learning_rate` lr), its section dropped."""
    fmt, recs = source_records(SB3)
    text = found_lines(SB3)
    rows = {name: [float(m[1]) for x in text if (m := re.fullmatch(rf"\|\s+{name}\s+\| ([-\d.e+]+)\s+\|", x))]
            for name in ("total_timesteps", "ep_rew_mean", "loss", "value_loss")}
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "blocks" and len(rows["total_timesteps"]) == 5
    assert [r.step for r in steps] == rows["total_timesteps"] == [2048, 4096, 6144, 8192, 10240]
    assert [r.metrics["ep_rew_mean"] for r in steps] == rows["ep_rew_mean"]
    assert [r.metrics["loss"] for r in steps if "loss" in r.metrics] == rows["loss"] and len(rows["loss"]) == 4
    assert [r.metrics["value_loss"] for r in steps if "value_loss" in r.metrics] == rows["value_loss"]
    assert steps[1].metrics["lr"] == 0.0003 and "time_elapsed" not in steps[1].metrics


def test_sb3s_timesteps_row_signs_the_format() -> None:
    rows = [x for x in found_lines(SB3) if x.startswith("|")]
    parser = BlocksParser()
    assert [x for x in rows if parser.score(x) == 2] == [x for x in rows if "total_timesteps" in x]
    assert parser.score("    " + rows[0]) == 0 and parser.score("  " + next(x for x in rows if "total_time" in x)) == 2


RSL_RL = "rslrl_genesis_go2_ppo_console.log"


def test_rsl_rl_iterations_are_steps_counted_from_one_of_the_runs() -> None:
    """A review: rsl_rl's console (legged_gym's, Isaac Lab's PPO), each iteration a block under a rule of `#`,
    `Learning iteration 0/101` and right-aligned `Value function loss: 0.0125` … `ETA: 119.3s`, a rule of `-` inside
    it, read `UNREAD` (no format). The iteration is the step counted from 1 (its last, `100/101`, the 101st of
    101: the run finished), the block's record due at its `ETA`, its last line (a follower has it then)."""
    fmt, recs = source_records(RSL_RL)
    assert fmt == "blocks"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [(r.step, r.total_steps) for r in steps] == [(1, 101), (2, 101), (101, 101)]
    text = found_lines(RSL_RL)
    assert [r.line for r in steps] == [i + 1 for i, x in enumerate(text) if x.strip().startswith("ETA: ")]
    first = steps[0].metrics
    assert (first["value_function_loss"], first["surrogate_loss"], first["mean_total_reward"]) == (0.0125, -0.0004, 0.17)
    assert (first["step_time"], first["eta"], first["total_timesteps"]) == (1.18, 119.3, 98304.0)
    assert first["mean_episode_rew_reward_tracking_lin_vel"] == 0.0107 and "computation" not in first


def test_rsl_rl_run_reads_finished(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from runwatch.cli import main
    from tests.support.found import FOUND

    assert main(["check", str(FOUND / RSL_RL), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["state"], report["step"], report["total_steps"]) == ("finished", 101, 101)


def test_an_rsl_rl_iteration_without_its_eta_ends_at_the_next() -> None:
    """The `ETA` lines taken out (a version that prints none, or a log cut there): each iteration's record comes at
    the next one's heading, the last at the end; the same steps and losses."""
    lines = [x for x in found_lines(RSL_RL) if not x.strip().startswith("ETA: ")]
    p = BlocksParser()
    recs = [r for r in map(p.parse, lines) if r is not None] + [r for r in [p.flush()] if r is not None]
    _, whole = source_records(RSL_RL)
    assert [(r.step, r.metrics["value_function_loss"]) for r in recs] == [
        (r.step, r.metrics["value_function_loss"]) for r in whole]
    assert all("eta" not in r.metrics for r in recs) and len(recs) == 3


def test_an_rsl_rl_iteration_of_more_fields_than_kept_still_ends_at_its_eta(monkeypatch: pytest.MonkeyPatch) -> None:
    """A large environment's iteration holds more terms than `MAX_FIELDS`: its `ETA`, past the cap, still closes it
    (else each record came one iteration late live)."""
    import runwatch.parsers.blocks as blocks

    monkeypatch.setattr(blocks, "MAX_FIELDS", 4)
    lines = found_lines(RSL_RL)
    p = BlocksParser()
    at = [i for i, x in enumerate(lines) if p.parse(x) is not None]
    assert at == [i for i, x in enumerate(lines) if x.strip().startswith("ETA: ")]


def test_openai_loggers_tables_are_steps_placed_by_their_stride() -> None:
    """A review's improved-diffusion run (tests/fixtures/found/README.md), resumed at step 1,500: OpenAI's logger prints
    each logging step's table, `| loss | 0.00905 |` … `| step | 1.5e+03 |`, every value `%-8.3g`; its loss grew to 112
    before `Non-finite loss detected, stopping training.`. Detected as no format it read `no steps`. Its `step` row
    signs it; a step of 10,000 and up is three digits (`1e+04` ten times over): placed by the stride, 10."""
    from tests.support.found import FOUND, source_records
    from tests.support.realruns import check_json

    for batch in (1, 500):
        fmt, recs = source_records("improved_diffusion_tables_loss_diverges.out.gz", batch=batch)
        steps = [r.step for r in recs if r.kind is Kind.STEP]
        assert fmt == "blocks" and steps == list(range(1500, 22580, 10))
        assert not any("step_rounded" in r.metrics for r in recs)
    _, [report], _ = check_json(FOUND / "improved_diffusion_tables_loss_diverges.out.gz")
    assert (report["state"], report["step"]) == ("crashed", 22570)
    assert {"loss_divergence", "crash"} <= {a["rule"] for a in report["alerts"]}


def test_ray_tune_result_blocks_are_steps_at_their_training_iteration() -> None:
    """A review's RLlib DQN run under `tune.run` (tests/fixtures/found/README.md): 79 `Result for DQN_shogi_…:`
    blocks, iterations 1 to 324, its mean Q-value from -0.015 to 1.4e10. It read `nothing understood`."""
    fmt, recs = source_records(RLLIB)
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "blocks" and len(steps) == 79 and (steps[0].step, steps[-1].step) == (1, 324)
    first, last = steps[0].metrics, steps[-1].metrics
    assert (first["mean_q"], first["grad_norm"], first["lr"]) == (-0.01511147990822792, 0.18033289909362793, 0.0005)
    assert first["step_time"] == first["elapsed"] == 2.024038553237915 and steps[0].t == 1650590949.0
    assert last["mean_q"] == 14225448960.0 and last["policy_reward_mean_player_0"] == -0.39759036144578314
    assert first["episodes_total"] == 80 and first["num_target_updates"] == 1
    assert not {"pid", "td_error", "timestamp", "training_iteration", "trial_id"} & set(first)


def test_a_result_block_is_read_to_its_end_and_its_nested_losses_are_the_learners() -> None:
    """A Ray Tune status and PPO result block as NREL's RLlib tutorial shows it (tests/fixtures/found/README.md): the
    learner's `total_loss` is the loss, its `cur_lr` the rate; a mapping printed empty (`policy_reward_mean: {}`) is
    no field. The block ends where a line of no field comes (the next `== Status ==`), which is read after it."""
    lines = [line for line in found_lines("ray_tune_ppo_status_and_result_excerpt.txt") if line]  # no end's blank
    parser = BlocksParser()
    assert [r for r in map(parser.parse, lines) if r is not None] == [] and parser.holding
    rec = parser.parse(lines[0])
    assert rec is not None and rec.step == 2 and rec.t == 1620835228.0
    assert (rec.metrics["loss"], rec.metrics["lr"], rec.metrics["policy_loss"]) == (
        394.77838134765625, 4.999999873689376e-05, -0.030758701264858246)
    assert (rec.metrics["step_time"], rec.metrics["elapsed"]) == (10.745835304260254, 22.6750385761261)
    assert not any(k.startswith("policy_reward") for k in rec.metrics)
    assert parser.score("Result for PPO_CartPole-v0_0339b_00000:") == 2 and parser.score("Result for the search:") == 0


def test_a_workers_line_inside_a_result_block_does_not_end_it() -> None:
    """A code review: a worker's output on stderr lands inside a result block on stdout (`2>&1`); the block was closed
    there, and as Ray sorts a result's keys its `training_iteration` comes late: the block had no step, its record
    was lost. The NREL excerpt's block with the DQN log's own worker warning (both in tests/fixtures/found/README.md)
    put after its `hostname:` line reads as the block alone does."""
    excerpt = [line for line in found_lines("ray_tune_ppo_status_and_result_excerpt.txt") if line]
    worker = next(line for line in found_lines(RLLIB) if "RolloutWorker pid=" in line and "WARNING" in line)
    at = next(i for i, line in enumerate(excerpt) if line.startswith("  hostname:")) + 1
    alone, cut = BlocksParser(), BlocksParser()
    for line in excerpt:
        alone.parse(line)
    for line in excerpt[:at] + [worker] + excerpt[at:]:
        cut.parse(line)
    a, b = alone.flush(), cut.flush()
    assert a is not None and b is not None and (b.step, b.metrics) == (a.step, a.metrics) and b.step == 2


def test_coqui_tts_blocks_are_steps_at_their_global_step_and_evaluations_after_them() -> None:
    """`--> STEP: 24/36 -- GLOBAL_STEP: 1000025`, then `| > loss_disc: 3.01874  (3.46002)` … (the average in brackets
    passed over): a step at the run's global step, which a fine-tune counts on from its checkpoint's. The total: the
    steps before the first epoch's (`> EPOCH: 0/1000`, counted from 0) and 1,000 epochs of 36. Read as kv, only
    `GLOBAL_STEP` was read, and each epoch's `STEP: 1/36` was a restart (a review)."""
    fmt, recs = source_records(COQUI)
    assert fmt == "blocks"
    steps = [r for r in recs if r.kind is Kind.STEP]
    first = steps[0]
    assert (first.step, first.total_steps, first.metrics["loss_disc"], first.metrics["loss_mel"]) == (
        1000025, 1000001 + 36000, 3.01874, 19.08429)
    assert first.metrics["lr"] == 0.0002 and first.metrics["step_time"] == 1.3151 and "current_lr_0" not in first.metrics
    assert len(steps) == 246 and all(a.step < b.step for a, b in zip(steps, steps[1:], strict=False))
    evals = [r for r in recs if r.kind is Kind.EVAL]
    assert len(evals) == 171 and evals[-1].step == steps[-1].step == 1006150
    assert (evals[-1].metrics["val_loss_mel"], evals[-1].metrics["val_loss_1"]) == (14.90148, 23.4575)
    saved = [r.step for r in recs if r.event == Event.CHECKPOINT_SAVED]
    assert saved[:2] == [1000037, 1000109] and len(saved) == 9  # `> BEST MODEL : …/best_model_1000037.pth`


def test_coqui_tts_s_interrupted_run_reads_incomplete(capsys: pytest.CaptureFixture[str]) -> None:
    """It ended at epoch 171 of 1,000 (`! Run is kept in …`, after an interrupt): read `finished` before, from the
    steps of an epoch read as the run's."""
    assert main(["check", str(FOUND / COQUI), "--json"]) == 0  # a warning, no alert
    obj = json.loads(capsys.readouterr().out)
    assert (obj["state"], obj["step"], obj["total_steps"]) == ("ended", 1006150, 1036001)
    assert obj["warnings"][0].startswith("incomplete: stopped at 1006150/1036001")


def test_a_coqui_block_closed_by_the_next_heading_keeps_that_heading() -> None:
    """Without the blank lines after a step's fields, the `--> EVAL PERFORMANCE` heading closed the block and was
    dropped with its evaluation (a code review): the fixture with its blank lines taken out reads the same."""
    text = [x for x in found_lines(COQUI) if x.strip()]
    parser = BlocksParser()
    recs = []
    for x in text:
        recs += [parser.parse(x), *parser.more]
        parser.more = []  # as a source takes them
    recs.append(parser.flush())
    _, whole = source_records(COQUI)
    want = [(r.kind, r.step) for r in whole if r.kind in (Kind.STEP, Kind.EVAL)]
    assert [(r.kind, r.step) for r in recs if r is not None and r.kind in (Kind.STEP, Kind.EVAL)] == want
    assert sum(k is Kind.EVAL for k, _ in want) == 171


def test_isaac_labs_counts_of_environment_steps_are_no_step_rate() -> None:
    """Isaac Lab's rsl_rl console (a GitHub issue's excerpt) says `Total steps: 512` and `Steps per second: 1581` of
    its environments' steps, 512 an iteration: read as kv's rate, the step time was 1/1581 s (about 250 times short of
    its `Iteration time: 0.16s`, a review) and `total_steps` a metric. Named as legged_gym's `Total timesteps`."""
    fmt, recs = source_records("isaaclab_rslrl_issue5084.log")
    [rec] = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "blocks" and (rec.step, rec.total_steps) == (2, 10)
    assert (rec.metrics["step_time"], rec.metrics["timesteps_per_sec"], rec.metrics["total_timesteps"]) == (
        0.16, 1581.0, 512.0)
    assert rec.metrics["mean_reward"] == -4.08 and "total_steps" not in rec.metrics
