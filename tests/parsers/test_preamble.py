"""The settings a log prints before its first loss, from the real run lab logs: the same whichever way a
source reads them (line by line live, a block at a time in `check` and `report`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runwatch.model import Kind
from runwatch.parsers.preamble import preamble, setting
from runwatch.parsers.source import SourceParser
from runwatch.text import one_line
from runwatch.watcher.snapshot import split_block
from tests.support.corpus import CORPUS

REALRUNS = Path(__file__).resolve().parents[1] / "fixtures/realruns"


def head(name: str) -> list[str]:
    return (REALRUNS / name / "run/train.log").read_text(encoding="utf-8", errors="replace").splitlines()


def test_lightning_prints_its_model_summary_settings() -> None:
    lines = head("lightning-tqdm-healthy")
    got = dict(preamble(lines).settings)
    wanted = next(ln for ln in lines if ln.startswith("Trainable params"))
    assert got["Trainable params"] == wanted.split(":", 1)[1].strip()
    assert preamble(lines).hardware() is None  # "GPU available: False" names no GPU


def test_nothing_after_the_first_loss_and_no_warnings() -> None:
    lines = head("nanogpt-tb-healthy")
    first_loss = next(i for i, ln in enumerate(lines) if "loss" in ln)
    got = preamble(lines).settings
    assert got == preamble(lines[:first_loss]).settings and ("number of parameters", "0.17M") in got
    assert not any(k.lower().startswith(("warn", "wandb")) for k, _ in preamble(head("hf-wandb-healthy")).settings)


LOGS = [REALRUNS / f"{name}/run/train.log" for name in (
    "nanogpt-tb-healthy", "lightning-tqdm-healthy", "lightning-default-healthy", "hf-healthy", "keras-v2-healthy",
    "torchrun-tee-healthy", "tutorial-healthy", "kvlog-healthy")] + [CORPUS / "raw/nanochat_pr492_speedrun_d24_feb01.training_output.log"]


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.parent.parent.name if p.parent.name == "run" else p.name)
def test_both_ways_of_reading_a_log_collect_the_same_settings(log: Path) -> None:
    data = log.read_bytes()
    per_line = SourceParser(str(log), fast_path=False)
    per_line.feed(split_block(data), 1, 0.0)
    per_line.flush()
    chunked = SourceParser(str(log), fast_path=True)
    line = 1
    for pos in range(0, len(data), 4096):  # cut anywhere a line ends near 4 KiB
        end = data.find(b"\n", pos + 4096) + 1 or len(data)
        if end <= pos:
            continue
        line += chunked.feed_bytes(data[pos:end], line, 0.0, split_block).lines
    chunked.flush()
    assert per_line.preamble == chunked.preamble


def test_the_speedrun_prints_its_model_and_gpus() -> None:
    """nanochat's speedrun: `num_layers: 24`, the GPU line, the world size; nothing after its first step."""
    log = CORPUS / "raw/nanochat_pr492_speedrun_d24_feb01.training_output.log"
    sp = SourceParser(str(log))
    sp.feed(split_block(log.read_bytes()), 1, 0.0)
    found = sp.preamble
    assert found is not None and found.hardware() is not None
    keys = [k for k, _ in found.settings]
    assert "num_layers" in keys and not any(k.startswith("step") for k in keys)


def test_a_step_line_ends_the_settings_even_without_a_loss() -> None:
    """A bar's frame (`Epoch 0: 5%|…| 3/60 […, v_num=0]`) names no loss, yet training has begun: what comes
    after it is no setting, even a `key: value` line."""
    sp = SourceParser("log", fmt="nanogpt")
    sp.feed(["batch_size: 12", "iter 0: loss 10.9, time 39.1ms", "later: 1"], 1, 0.0)
    assert sp.preamble is not None and sp.preamble.settings == [("batch_size", "12")]
    sp = SourceParser("log", fmt="tqdm")
    sp.feed(["max_epochs: 4", "Epoch 0:   5%|▌         | 3/60 [00:00<00:01, 35.51it/s, v_num=0]", "later: 1"], 1, 0.0)
    assert sp.preamble is not None and sp.preamble.settings == [("max_epochs", "4")]


def test_step_rows_read_in_columns_end_the_settings_too() -> None:
    """DeepSpeed's `step=N, skipped=…, lr=[…]` names no loss and, once detected, is read a block at a time
    (a learned layout): the rows end the settings as a step record read line by line does."""
    step = ("[2022-03-11 02:06:58,985] [INFO] [logging.py:69:log_dist] [Rank 0] step={}, skipped=2, lr=[5e-05], "
            "mom=[[0.9, 0.999]]")
    lines = ["zero_stage: 2"] + [step.format(i) for i in range(10, 400)] + ["later: 1"]
    data = ("\n".join(lines) + "\n").encode()
    got = []
    for fast in (False, True):
        sp = SourceParser("log", fmt="deepspeed", fast_path=fast)
        chunk = sp.feed_bytes(data, 1, 0.0, split_block)
        assert (chunk.steps is not None and len(chunk.steps) > 300) == fast
        got.append(sp.preamble)
    assert got[0] == got[1] and got[0] is not None and got[0].settings == [("zero_stage", "2")]


def test_a_progress_bar_of_another_loop_is_no_setting() -> None:
    """Lightning's sanity check bar (`Sanity Checking: | | 0/? [00:00<?, ?it/s]`) comes before the first
    loss and reads as `key: value`; it is progress, not a setting (it showed on the overview)."""
    lines = head("lightning-tqdm-healthy")
    assert any(ln.startswith("Sanity Checking") for ln in lines[:40])
    assert not any(k.startswith("Sanity Checking") for k, _ in preamble(lines).settings)


def corpus_lines(name: str) -> list[str]:
    return (CORPUS / "raw" / name).read_text(encoding="utf-8", errors="replace").splitlines()


def test_a_setting_after_a_logging_prefix_is_collected() -> None:
    """nanochat logs its world size through `logging` (`2026-02-01 20:37:26,202 - nanochat.common - INFO -
    Distributed world size: 8`, in colour), the SFT run its model config too: both were missed, the line
    starting with a date. A warning's line (`WARNING - Peak flops undefined for: …`) stays out."""
    got = dict(preamble(corpus_lines("nanochat_pr492_speedrun_d24_feb01.training_output.log")).settings)
    assert got["Distributed world size"] == "8"
    sft = preamble(corpus_lines("nanochat_pr657_sft_run.log")).settings
    assert dict(sft)["Distributed world size"] == "1"
    assert dict(sft)["Building model with config"].startswith("{'sequence_len': 128, 'vocab_size': 32768")
    assert not any(k.startswith(("Peak flops", "HTTP")) for k, _ in sft)  # a warning; httpx's requests


def test_a_setting_is_split_at_its_own_colon() -> None:
    """The first colon is not always the split: nanochat's `… target data:param ratio: 16,704` (missed) and
    `Tokens : Scaling params ratio: 12.00` (read as `Tokens` = `Scaling params ratio: 12.00`)."""
    got = dict(preamble(corpus_lines("nanochat_pr492_speedrun_d24_feb01.training_output.log")).settings)
    assert got["Calculated number of iterations from target data:param ratio"] == "16,704"
    assert got["Tokens : Scaling params ratio"] == "12.00" and "Tokens" not in got
    assert got["wte"] == "50,331,648"  # a colon set apart to align a table is still the split


def test_pairs_glued_without_a_separator_are_no_settings_and_no_hang() -> None:
    """A fuzz test's hostile line, `s5J=c` 32 times and a last `=`: with no separator required between pairs, each
    value's letters could end it or begin the next key, and the settings' pattern took minutes to fail at the line's
    end (the worker hung in the regex engine, past pytest's timeout). Settings are separated; glued ones are none."""
    from runwatch.parsers.preamble import settings_of

    assert settings_of("s5J=c" * 32 + "=") == []
    assert settings_of("s5J=c" * 32) == []
    assert settings_of("a=1 " * 40 + "(") == []  # no list of settings either, past its 32 pairs
    assert settings_of("lr=0.0003 batch_size=32,max_steps=400") == [
        ("lr", "0.0003"), ("batch_size", "32"), ("max_steps", "400")]


def test_prefixes_and_colons_in_values() -> None:
    """Lines of the forms the corpus holds: the HF example's `[INFO]` line as it is (hf_trainer excerpt); a
    nanochat `logging` line with another key and value; values that hold a colon of their own."""
    hf = next(ln for ln in json_excerpts("hf_trainer") if ln.endswith("[INFO] metric: 0.4954128440366973"))
    assert setting(hf) == ("metric", "0.4954128440366973")
    world = one_line(next(ln for ln in corpus_lines("nanochat_pr657_sft_run.log") if "Distributed world size" in ln))
    assert setting(world.replace("Distributed world size: 1", "data_path: /a/b:c")) == ("data_path", "/a/b:c")
    assert setting(world.replace("Distributed world size: 1", "time: 12:30")) == ("time", "12:30")


def json_excerpts(stack: str) -> list[str]:
    found = json.loads((CORPUS / "raw" / f"excerpts_{stack}.json").read_text(encoding="utf-8"))
    return [ln for e in found for ln in e["t"].splitlines()]


def test_a_config_dump_of_python_code_is_no_settings() -> None:
    """A new user's review: mmengine prints its config as Python (`    timer=dict(type='IterTimerHook'),`) and
    `runwatch report` listed `timer | dict(type`, `interval | 1)`, `weight_decay | 0.05)` as hyperparameters.
    Its environment lines (`GPU 0: NVIDIA GeForce GTX 1080 Ti`) are settings still."""
    import gzip

    from runwatch.parsers.preamble import Collector

    text = gzip.decompress((Path(__file__).parents[1] / "fixtures" / "found" / "mmdet_rtmdet_triangle.log.gz")
                           .read_bytes()).decode().splitlines()

    c = Collector()
    for i, line in enumerate(text[:400], 1):
        c.feed(line, i)
        if not c.open:
            break
    found = dict(c.result().settings)
    assert found["GPU 0"] == "NVIDIA GeForce GTX 1080 Ti" and found["PyTorch"] == "1.10.1+cu113"
    assert not any(v.startswith(("dict(", "[dict(")) or v.endswith(")") and "(" not in v for v in found.values())
    assert "timer" not in found and "interval" not in found


def test_a_trainer_that_states_its_max_iterations_number_first_has_a_total() -> None:
    """TransUNet's trainer (copied by EMCAD, Swin-Unet and others) logs `125 iterations per epoch. 12500 max iterations`
    after argparse's `Namespace(…)`, one of whose values names a loss (a path). The namespace ended the settings, and a
    run that reached 12,500 read `ended` (a review): the namespace is configuration, the count the run's total."""
    from tests.support.found import source_records

    fmt, recs = source_records("transunet_style_emcad_train.out")
    steps = [(r.step, r.total_steps) for r in recs if r.step is not None]
    assert fmt == "kv" and steps[0] == (50, 12500) and steps[-1] == (12500, 12500)


def test_a_printed_dicts_epochs_are_the_plan_but_not_a_nested_dicts() -> None:
    """Review 60: a graph autoencoder's settings, printed as a dict (`'epochs': 10,` on a line of its own), were no
    plan: its epochs 0 to 9 read `step 9  ended`. A key of a dict inside another is a part's setting (DeepSpeed's
    `data_efficiency_config … {'data_sampling': {'enabled': False, 'num_epochs': 1000, …}}`): read, an SFT run's end
    at step 481 said it stopped early of 1,000."""
    from runwatch.parsers.preamble import Collector
    from tests.support.found import found_lines, source_records

    _, recs = source_records("vgae_month_day_stamps_nan.log")
    steps = [(r.step, r.total_steps) for r in recs if r.kind == Kind.STEP and r.step is not None]
    assert steps[0] == (0, 10) and steps[-1] == (9, 10)
    _, recs = source_records("cnminiphi3_sft_deepspeed_no_bar.log")
    assert {r.total_steps for r in recs if r.kind == Kind.STEP} == {None}
    nested = next(x for x in found_lines("cnminiphi3_sft_deepspeed_no_bar.log") if "'num_epochs': 1000" in x)
    c = Collector()
    c.feed(nested, 1)
    assert c.planned_epochs is None
    c.feed(nested[nested.index("'num_epochs'"):], 2)  # the same key at the top of a line: the run's
    assert c.planned_epochs == 1000
    assert _planned_epochs("{'data_sampling': {'num_epochs': 1}, 'epochs': 10}") == 10  # the run's after a nested one
    # DeepSpeed's JSON dump, a key a line (a code review): a key of `"fp16": {` is indented twice as deep as the run's
    dump = found_lines("cnminiphi3_sft_deepspeed_no_bar.log")
    at = next(i for i, x in enumerate(dump) if x.endswith("json = {"))
    top = next(x for x in dump[at:] if x.startswith('    "gradient_accumulation_steps": '))
    inner = next(x for x in dump[at:] if x.startswith('        "loss_scale": '))
    assert _planned_epochs(dump[at], top.replace("gradient_accumulation_steps", "epochs")) == 16
    assert _planned_epochs(dump[at], inner.replace("loss_scale", "num_epochs").replace(": 0", ": 1000")) is None


def _planned_epochs(*lines: str) -> int | None:
    from runwatch.parsers.preamble import Collector

    c = Collector()
    for i, line in enumerate(lines, 1):
        c.feed(line, i)
    return c.planned_epochs


def test_a_plan_below_the_step_is_no_total() -> None:
    """SDXL fine-tuning under Lightning prints its sampler's `num_steps: 50` among its settings, then its bar at
    step 86: `parse` gave every record `total_steps` 50, a run past its end (a review). Its trainer's `max_epochs: 10`
    is the run's plan: 10 epochs of its bar's 5,087 batches."""
    from tests.support.found import source_records

    _, recs = source_records("lightning_sdxl_ctrl_c_graceful.log")
    (step,) = [r for r in recs if r.kind == Kind.STEP]
    assert (step.step, step.total_steps) == (86, 10 * 5087)


def test_the_steps_a_run_saves_or_evaluates_at_are_read_from_its_header_in_each_form() -> None:
    """Where the run pauses by plan (the stall rule's): a command line's `--save_steps 2000`, `key=value` dumps,
    Megatron's dotted argument table, a config's `key: value`; zero (never) and look-alike keys are none."""
    from runwatch.parsers.preamble import Collector

    lines = [
        "[2025-07-02 22:46:57,378] [INFO] [runner.py:555:main] cmd = python -u train.py --save_steps 2000 "
        "--eval_steps 0 --num_save_steps 7",
        "  save_interval ................................... 1000",
        "eval_interval = 250",
        "callbacks: every_n_train_steps=4000",
        "TrainingArguments(autosave_steps=3, eval_iters=200,",
        "{'TRAIN': {'EVAL_FREQ': 3, 'SAVE_EVERY': 5}, 'checkpoint_every': 2}",  # epochs as often as steps: none
    ]

    c = Collector()
    for i, line in enumerate(lines, 1):
        c.feed(line, i)
    assert c.pauses == (250, 1000, 2000, 4000)
    c.cut(3)  # line 3 was a step after all: what came from it on is no plan
    assert c.pauses == (1000, 2000)


def test_torchtitans_total_steps_is_the_total_even_after_eight_ranks_headers() -> None:
    """A review's torchtitan run (tests/fixtures/found/README.md), eight ranks under torchrun writing one log: each
    printed its header, and rank 7's `Trainer is initialized with local batch size 16, …, total steps 1000 (warmup
    500)` came at line 3,924. Its steps stop at 240: `check` said `ended`, no total, no word of the 760 steps left."""
    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    _, [report], _ = check_json(FOUND / "torchtitan_pp8_eight_headers_grad_inf.log.gz")
    assert (report["state"], report["step"], report["total_steps"]) == ("ended", 240, 1000)
    assert any(w.startswith("incomplete: stopped at 240/1000") for w in report["warnings"]), report["warnings"]
    from runwatch.parsers.preamble import Collector

    c = Collector()
    c.feed("[rank0]:[titan] 2026-04-19 12:17:57,856 - root - INFO - Trainer is initialized with local batch size 8, "
           "global batch size 16, gradient accumulation steps 2, sequence length 2048, total steps 20000 (warmup 500)")
    assert c.planned == 20000


def test_a_fairseq_model_modules_dict_is_the_loaded_checkpoints_config_not_the_runs_plan() -> None:
    """A public wav2vec 2.0 fine-tuning run (tests/fixtures/found/README.md): `fairseq_cli.train` logs the run's
    config (`'max_update': 4000000`), then `fairseq.models.wav2vec.wav2vec2_asr` the config of the pretrained
    checkpoint it loads (`'max_update': 400000`, the pretraining's). The second was read as the plan: `check` said
    `step 14200/400000`, an ETA ten times too near. The run's own plan is its total."""
    from runwatch.parsers.preamble import Collector
    from tests.support.found import FOUND, found_lines
    from tests.support.realruns import check_json

    name = "fairseq_hydra_nospace_train.out.gz"
    lines = found_lines(name)
    run_cfg, model_cfg = (next(x for x in lines if f"][{logger}][INFO] - {{" in x)
                          for logger in ("fairseq_cli.train", "fairseq.models.wav2vec.wav2vec2_asr"))
    assert "'max_update': 4000000," in run_cfg and "'max_update': 400000," in model_cfg
    c = Collector()
    for line in (run_cfg, model_cfg):
        c.feed(line)
    assert c.planned == 4000000
    alone = Collector()
    alone.feed(run_cfg.replace("[fairseq_cli.train]", "[fairseq_cli.hydra_train]"))
    assert alone.planned == 4000000
    _, [report], _ = check_json(FOUND / name)
    assert (report["state"], report["step"], report["total_steps"]) == ("crashed", 14200, 4000000)
