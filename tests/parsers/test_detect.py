"""Format detection on real log text: every stack's excerpt with the lines real logs carry before
their first step (banners, config dumps, warnings, launcher output), from tests/fixtures/corpus.

A format is decided at the first line that is some format's unique signature, so each case names the
line that decides and the test checks it is exactly there (not before, not later); samples without a
signature line are decided by the totals (`best`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from runwatch.parsers.detect import MIN_GUESS, Detector, detect
from runwatch.parsers.prefix import split_rank
from runwatch.parsers.registry import FORMATS, make_parser
from runwatch.parsers.source import DETECT_MAX_LINES, SourceParser
from runwatch.watcher.lines import LineSplitter
from tests.support.corpus import CORPUS, json_excerpt, md_block, raw_lines

SPEEDRUN = "nanochat_pr492_speedrun_d24_feb01.training_output.log"
SFT = "nanochat_pr657_sft_run.log"
OTHERS = "excerpts_torchtitan_composer_axolotl_accelerate.json"


def ex(file: str, tag: str, group: str | None = None) -> tuple[str, ...]:
    """Lines of the JSON excerpt `tag` (`D1`, `H8`, …) of `raw/<file>`."""
    return json_excerpt(file, f"{tag} ", group)


def unprefixed(lines: Sequence[str]) -> list[str]:
    """The lines as format parsers see them: launcher prefixes (`[rank0]:`, `1: `, `[default3]:`) removed."""
    return [split_rank(line)[1] for line in lines]


def unquoted(lines: Sequence[str]) -> list[str]:
    """A markdown `> ` quote undone (nanogpt_llmc.md G2 was pasted into an issue as a quote)."""
    return [line[2:] if line.startswith("> ") else line.removeprefix(">") for line in lines]


def trainer_state_jsonl(tag: str) -> list[str]:
    """The log_history entries of real trainer_state.json `tag` (hf_trainer.md §3), one JSON object a line:
    what a JSON-lines metrics logger writes. (Same derivation as test_jsonl.py.)"""
    data = json.loads((CORPUS / "raw" / "excerpts_hf_trainer_state.json").read_text(encoding="utf-8"))
    [found] = [e for e in data if e["h"].split(" — ")[0] == f"trainer_state.json {tag}"]
    text = found["t"] + found["mid"] + found["tail"]
    return [json.dumps(json.loads(m)) for m in re.findall(r"\{[^{}]*\}", text) if '"step"' in m]


def deepspeed_pipeline_line() -> str:
    """deepspeed.md §2 end: the pipeline-engine line as a Megatron-DeepSpeed script quotes its run's output."""
    m = re.search(r"`# (steps: \d+ [^`]*)`", (CORPUS / "deepspeed.md").read_text(encoding="utf-8"))
    assert m is not None
    return m.group(1)


def torchtitan_colours() -> dict[str, str]:
    """torchtitan's `Color` escapes, read from the source quoted in the corpus (`tools/utils.py:263-275`)."""
    text = (CORPUS / "others_torchtitan_composer_axolotl_accelerate.md").read_text(encoding="utf-8")
    found = dict(re.findall(r'^\s+(\w+) = "\\033(\[[\d;]+m)"', text, re.M))
    assert {"red", "green", "orange", "turquoise", "blue", "cyan", "magenta", "reset"} <= set(found)
    return {name: "\x1b" + code for name, code in found.items()}


def coloured(line: str) -> str:
    """A torchtitan metric line as `metrics.py:521-532` writes it by default: each field behind its colour."""
    c = torchtitan_colours()
    for field, colour in (("step", "red"), ("loss", "green"), ("grad_norm", "orange"), ("memory", "turquoise"),
                          ("tps", "blue"), ("tflops", "cyan"), ("mfu", "magenta")):
        line = re.sub(rf"(?<![\w_]){field}: ", lambda m, col=colour: c[col] + m.group(0), line, count=1)
    return line + c["reset"]


def through_splitter(lines: Sequence[str]) -> list[str]:
    """The lines as a followed file delivers them: bytes through `LineSplitter` (escapes stripped)."""
    splitter = LineSplitter()
    return splitter.feed(("\n".join(lines) + "\n").encode())


@dataclass(frozen=True)
class Case:
    id: str
    lines: Sequence[str]
    fmt: str
    decider: str | None
    """A fragment of the line that decides (the first signature line), or None: decided by totals."""
    bug: str | None = None
    """Known to fail because of another module's bug (reported): the case runs as xfail."""


def _realrun_lines(name: str) -> list[str]:
    """The console log of a run-lab recording (`tests/fixtures/realruns/NAME/run/train.log`), split as the
    line splitter splits it (`\r` frames apart, escapes and backspaces gone)."""
    splitter = LineSplitter()
    data = (Path(__file__).parents[1] / "fixtures" / "realruns" / name / "run" / "train.log").read_bytes()
    return splitter.feed(data) + splitter.feed(b"\n")


def _found_lines(name: str) -> list[str]:
    """A log a review found (`tests/fixtures/found`), as a followed file delivers it."""
    import gzip

    data = (Path(__file__).parents[1] / "fixtures" / "found" / name).read_bytes()
    splitter = LineSplitter()
    return splitter.feed(gzip.decompress(data) if name.endswith(".gz") else data) + splitter.feed(b"\n")


def _runwatch_jsonl() -> list[str]:
    """`runwatch parse --output jsonl` of the first 200 lines of the nanochat run."""
    return [json.dumps(r.to_json()) for r in SourceParser(SPEEDRUN).feed(raw_lines(SPEEDRUN)[:200], 1, 1.0)]


CASES = [
    # ── picollm / nanochat ─────────────────────────────────────────────────────────────────
    # raw/nanochat_pr492 (8×H100): 112 lines of GC lines from 8 ranks, the ASCII-art banner, ANSI logger
    # lines, a wandb warning and the model config, then the step-0 validation line decides.
    Case("nanochat-speedrun-head", raw_lines(SPEEDRUN)[:200], "picollm", "Step 00000 | Validation bpb: 3.167584"),
    # raw/nanochat_pr657 (SFT on a GTX 1660, goes NaN): its own banner and `Peak FLOPS (BF16): inf`
    Case("nanochat-sft-head", raw_lines(SFT)[:150], "picollm", "Step 00000 | Validation bpb: 3.3084"),
    # nanochat.md N3 (walkthrough, initial format): config dump, Muon lines, then validation at step 0
    Case("nanochat-N3", md_block("nanochat.md", "Excerpt N3"), "picollm", "Step 00000 | Validation bpb: 3.3013"),
    # nanochat.md N5 (current `bf16_mfu` + `epoch: E pq: P rg: R` format = picollm's)
    Case("picollm-N5", md_block("nanochat.md", "Excerpt N5"), "picollm", "step 05567/05568"),
    # ── nanoGPT ───────────────────────────────────────────────────────────────────────────────
    # nanogpt_llmc.md G3: the torchrun command and `...` before the pre-MFU iter lines
    Case("nanogpt-G3", md_block("nanogpt_llmc.md", "Excerpt G3"), "nanogpt", "iter 1631:"),
    # G1: `mfu -100.00%` sentinel on iter 0
    Case("nanogpt-G1", md_block("nanogpt_llmc.md", "Excerpt G1"), "nanogpt", "iter 0:"),
    # G2: `ts`-timestamped lines (the markdown quoting undone), blank lines between
    Case("nanogpt-G2-timestamped", unquoted(md_block("nanogpt_llmc.md", "Excerpt G2")), "nanogpt",
         "2023-03-22 09:30:39 iter 2920:"),
    # llama2.c (nanoGPT family): `490 | loss … | lr … | 8060.78ms | mfu 0.21%`
    Case("nanogpt-llama2c", md_block("nanogpt_llmc.md", "Related derivative"), "nanogpt", "490 | loss 5.7543"),
    # ── llm.c ─────────────────────────────────────────────────────────────────────────────────
    # L5 (GPT-2 1.5B): allocation lines and an initial `val loss` (a maybe) before step 1
    Case("llmc-L5", md_block("nanogpt_llmc.md", "Excerpt L5"), "llmc", "step    1/32000"),
    # L1 (CPU reference): `[GPT-2]` config block, `val loss`, then `step 0: train loss … (took … ms)`
    Case("llmc-L1-cpu", md_block("nanogpt_llmc.md", "Excerpt L1"), "llmc", "step 0: train loss"),
    # L6: tail of the `| Parameter | Value |` config table
    Case("llmc-L6", md_block("nanogpt_llmc.md", "Excerpt L6"), "llmc", "step    1/3"),
    # L3: a stray `---` then `(+nanz)` z-scores and `-100.0% bf16 MFU`
    Case("llmc-L3", md_block("nanogpt_llmc.md", "Excerpt L3"), "llmc", "step   61/74"),
    # ── HF Trainer ────────────────────────────────────────────────────────────────────────────
    # H8 (transformers 5: every value a quoted string): command line, PEFT banner, data message first
    Case("hf-H8-v5-strings", ex("excerpts_hf_trainer.json", "Excerpt H8"), "hf-trainer", "{'loss': '3.41'"),
    # H4: a blank line, bare bar frames glued to dataset-worker INFO lines (maybes: any loop draws a bar), then
    # the first dict decides
    Case("hf-H4", ex("excerpts_hf_trainer.json", "Excerpt H4"), "hf-trainer", "{'loss': 2.1787,"),
    # H1: trailing-space padded dicts
    Case("hf-H1", ex("excerpts_hf_trainer.json", "Excerpt H1"), "hf-trainer", "{'loss': 2.119,"),
    # H7 (HF + DeepSpeed, pdsh): another host's warning line, then host-prefixed dicts
    Case("hf-H7-deepspeed-pdsh", ex("excerpts_hf_trainer.json", "Excerpt H7"), "hf-trainer",
         "{'loss': 1.2992,"),
    # D4 (HF + DeepSpeed, T5-11B): DeepSpeed's own lines follow, the trainer's dicts decide
    Case("hf-D4-deepspeed", ex("excerpts_deepspeed.json", "Excerpt D4"), "hf-trainer", "{'loss': 6.2645,"),
    # axolotl A1: HF dicts with axolotl's memory keys
    Case("hf-axolotl-A1", ex(OTHERS, "Excerpt A1", "axolotl"), "hf-trainer", "{'loss': 4.75,"),
    # ── tqdm / Lightning ──────────────────────────────────────────────────────────────────────
    # P6: model summary table and a fit-loop warning before the last epoch's bar
    Case("lightning-P6", ex("excerpts_lightning.json", "Excerpt P6"), "tqdm", "Epoch 49: 100%|█| 12/12 [00:02"),
    # P1 (1.x, each refresh a line, `loss=` postfix)
    Case("lightning-P1", ex("excerpts_lightning.json", "Excerpt P1"), "tqdm", "Epoch 0:  22%|██▏       | 4/18"),
    # P7 (Ray Train, unknown length `0/?`, a stray `141)` fragment glued on)
    Case("lightning-P7", ex("excerpts_lightning.json", "Excerpt P7"), "tqdm", "0/? [00:00<?, ?it/s] 141)"),
    # ── Megatron-LM ───────────────────────────────────────────────────────────────────────────
    # M4 (BERT 2022): blendable-dataset lines, datetime banners, setup timers, `training ...`
    Case("megatron-M4", ex("excerpts_megatron.json", "Excerpt M4"), "megatron", "iteration       10/ 1000000"),
    # M5: srun `--label` prefix `   1: ` removed as the source does
    Case("megatron-M5-srun", unprefixed(ex("excerpts_megatron.json", "Excerpt M5")), "megatron",
         "iteration       25/73242187"),
    # M1 (2024 format with timestamp, MoE load_balancing_loss)
    Case("megatron-M1", ex("excerpts_megatron.json", "Excerpt M1"), "megatron", "iteration       71/     100"),
    # D3: Megatron-DeepSpeed: DeepSpeed timer lines first, the trainer's `iteration` line decides
    Case("megatron-deepspeed-D3", ex("excerpts_deepspeed.json", "Excerpt D3"), "megatron", "iteration       34/"),
    # ── DeepSpeed ─────────────────────────────────────────────────────────────────────────────
    # D1 (engine only): `step=…, skipped=…` and timer lines among Jupyter `<IPython…>` lines: no line carries
    # a loss, so nothing is a signature and the totals decide
    Case("deepspeed-D1", ex("excerpts_deepspeed.json", "Excerpt D1"), "deepspeed", None),
    # pure DeepSpeed pipeline run: the fp16 overflow cascade of D2 (engine start-up) then the pipeline engine's
    # `steps: N loss: X iter time (s): …` line, the one DeepSpeed line with a loss
    Case("deepspeed-pipeline", [*ex("excerpts_deepspeed.json", "Excerpt D2")[:-1], deepspeed_pipeline_line()],
         "deepspeed", "steps: 200 loss: 5.5508"),
    # ── torchtitan ────────────────────────────────────────────────────────────────────────────
    # T2: `[rank0]:` removed; a `[titan]` GC line (a maybe) before the first metric line
    Case("torchtitan-T2-unprefixed", unprefixed(ex(OTHERS, "Excerpt T2", "titan")), "torchtitan", "step: 200"),
    # T3 as torchtitan writes it by default (colour escapes per field), through the line splitter that strips
    # them, `[rank0]:` removed; T2's GC line first
    Case("torchtitan-T3-ansi-stripped",
         unprefixed(through_splitter([coloured(x) for x in (ex(OTHERS, "Excerpt T2", "titan")[0],
                                                             *ex(OTHERS, "Excerpt T3", "titan"))])),
         "torchtitan", "step: 14"),
    # T1: 8 ranks print the same line, no prefix
    Case("torchtitan-T1", ex(OTHERS, "Excerpt T1", "titan"), "torchtitan", "step:  4"),
    # ── Composer ──────────────────────────────────────────────────────────────────────────────
    # C1: launcher rank banners and a SpeedMonitor UserWarning wrapped over 3 lines before `[batch=1/10]:`
    Case("composer-C1", ex(OTHERS, "Excerpt C1", "composer"), "composer", "[batch=1/10]:"),
    # C2: the items only (a user's markdown list): maybes, decided by totals
    Case("composer-C2-items", ex(OTHERS, "Excerpt C2", "composer"), "composer", None),
    # ── OLMo ──────────────────────────────────────────────────────────────────────────────────
    # a whole run's file log (tests/fixtures/found): 50 tabbed logger lines (its config, data order, the
    # pre-train checkpoint), which kv reads as maybes, before the first step block's prefix decides
    Case("olmo-file-log", _found_lines("olmo_1b_reproduce.log.gz")[:400], "olmo", "[step=1/2500,epoch=0]"),
    Case("olmo-console", _found_lines("olmo_rich_console_excerpt.log"), "olmo", "[step=1/739328]"),
    # ── nnU-Net ─────────────────────────────────────────────────────────────────────────────────
    # its banner, configuration and plans dicts, and 20 stamped set-up lines first; the first `train_loss` decides
    Case("nnunet-whole", _found_lines("nnunet_soilct_early_stopping_finished.log"), "nnunet", "train_loss -0.6969"),
    Case("nnunet-nan", _found_lines("nnunet_issue2357_first_epoch_nan.log"), "nnunet", "train_loss nan"),
    # ── MONAI's tutorial loop ───────────────────────────────────────────────────────────────────
    # MONAI's configuration and a download's bar first; the first iteration's line decides
    Case("monai-tutorial", _found_lines("monai_tutorial_densenet_classification.log"), "monai", "1/5, train_loss: 0.7230"),
    # ── TensorFlow Model Garden ──────────────────────────────────────────────────────────────────
    # the Object Detection API's step header (a warning of TensorFlow's before it); Orbit's train header, after its
    # `training until` line, which kv reads as a maybe
    Case("tf-models-od-api", _found_lines("tf2_od_api_rtx3060_three_steps.log"), "tf-models", "Step 100 per-step time"),
    Case("tf-models-orbit", _found_lines("tfm_yt8m_orbit_readme.log"), "tf-models", "train | step:    188 | steps/sec"),
    # ── PyTorch's ImageNet example's meters ──────────────────────────────────────────────────────
    # a WS-DAN run (`Epoch: [0][0/250]\tTime 3.923 (3.923)…`) from the end of the 500 trainable parameters it
    # lists first; a torchelastic run of the example itself (`Acc@1`, padded batches)
    Case("meters-wsdan", _found_lines("wsdan_sac_imagenet_meters.log.gz")[480:600], "meters", "Epoch: [0][0/250]"),
    Case("meters-torchelastic", _found_lines("imagenet_example_torchelastic.log"), "meters", "Epoch: [0][  0/782]"),
    # ── Ultralytics YOLO ─────────────────────────────────────────────────────────────────────────
    # the table's header decides, after the dataset scans' bars (which the generic bar format once took)
    Case("yolo-v5", _found_lines("yolov5_cots_300ep_terminal.log")[:120], "yolo", "Epoch   gpu_mem"),
    Case("yolo-8.4", _found_lines("yolo_ultralytics_8_4_recovered.log")[:120], "yolo", "Epoch    GPU_mem"),
    # ── BasicSR ───────────────────────────────────────────────────────────────────────────────────
    # its options dump (YAML, 690 lines) first: from its end, the first `MessageLogger` line decides
    Case("basicsr-iqa", _found_lines("basicsr_iqa_torchrun_nohup.out.gz")[660:760], "basicsr", "[basel..][epoch:"),
    # ── PaddlePaddle's Model.fit ─────────────────────────────────────────────────────────────────────
    # its `Epoch 1/10` header is Keras's maybe too: the first step line with its loss decides (`kv` read them)
    Case("paddle-hapi", _found_lines("paddle_hapi_fit_chexnet_earlystop.log.gz")[:120], "paddle",
         "step  10/614 - loss: 0.1195"),
    # ── PySlowFast ────────────────────────────────────────────────────────────────────────────────
    # a launch's config and model dump, then its first stats object: a training iteration's decides (HF Trainer's
    # dict reader took them all, stepless)
    Case("slowfast-meccano", _found_lines("slowfast_meccano_multilaunch.log.gz")[6500:6700], "slowfast",
         'json_stats: {"_type": "train_iter_", "dt": 19.53594'),
    # ── JSON lines ────────────────────────────────────────────────────────────────────────────
    # runwatch's own `parse --output jsonl` of the nanochat run (real values), read back; its first record
    # is the step-0 validation, which only jsonl signs
    Case("jsonl-runwatch-records", _runwatch_jsonl(), "jsonl", '"kind": "eval"'),
    # the same stream from its first step record: hf-trainer's dict reader takes JSON too, but only a
    # single-quoted `str(dict)` is its signature, so the first step line is jsonl's alone
    Case("jsonl-runwatch-steps", _runwatch_jsonl()[1:], "jsonl", '"kind": "step", "step": 0,'),
    # trainer_state.json S1/S2 log_history entries, one a line (what a JSON-lines logger writes), S1 behind
    # H8's command line and PEFT banner
    Case("jsonl-S1", [*ex("excerpts_hf_trainer.json", "Excerpt H8")[:4], *trainer_state_jsonl("S1")], "jsonl",
         '{"epoch": 0.010690423162583519'),
    Case("jsonl-S2", trainer_state_jsonl("S2"), "jsonl", '"step": 25}'),
    # ── generic key/value ─────────────────────────────────────────────────────────────────────
    # R1 (a custom loop under torchrun --tee: `ep 55 train, step 1347, ce 0.324, …`), `[defaultN]:` removed,
    # after the accelerate launch warning (X1): only kv reads it, by totals
    Case("kv-R1", [*ex(OTHERS, "Excerpt X1", "accelerate"), *unprefixed(ex("excerpts_torchrun_slurm.json",
                                                                          "Excerpt R1"))], "kv", None),
    # ── the tutorial loop (recorded by the run lab): decided at its first step line ────────────
    Case("bracketed-tutorial", _realrun_lines("tutorial-healthy"), "bracketed", "Epoch [1/5], Step [10/120]"),
    # ── HRNet's loop, both counters from 0: decided at its first step line, of epoch 0, after a config dump ──
    Case("bracketed0-hrnet", _found_lines("hrnet_zero_based_epochs_head.log"), "bracketed0", "Epoch: [0/520] Iter:[0/247]"),
    # ── the transfer-learning tutorial's epoch loop (recorded by the run lab): decided at its first phase line ──
    Case("phases-tutorial", _realrun_lines("tutorial-phases-healthy"), "phases", "train Loss: 2.1270 Acc: 0.3629"),
    # ── ST-GCN's torchlight processor: decided at the first epoch's `mean_loss: nan` under its heading, after the
    # `Parameters:` dict the HF Trainer's format read as an evaluation ──
    Case("torchlight-stgcn", _found_lines("stgcn_torchlight_relaunches.log.gz")[:200], "torchlight", "\tmean_loss: nan"),
    # ── Marian NMT: decided at its first display line, after 190 lines of its options and vocabularies ──
    Case("marian-europarl", _found_lines("marian_europarl_concat.log")[:300], "marian", "Ep. 1 : Up. 500 : Sen."),
    # ── VITS and so-vits-svc: a bare list of losses, the step and the lr ──
    Case("vits-nan-first", _found_lines("vits_ljs_base_first_losses_nan.log"), "vits", "134.32485961914062, 0, 0.0002]"),
    Case("sovits-svc", _found_lines("sovits_svc_32k_relaunched.log")[:100], "vits", "19.00187110900879, 0, 0.0001]"),
    # ── Coqui TTS's trainer: decided at its first step block's heading, after its environment and model ──
    Case("coqui-blocks", _found_lines("coqui_vits_finetune_interrupted.log.gz")[:200], "blocks",
         "--> STEP: 24/36 -- GLOBAL_STEP: 1000025"),
    # ── ESPnet2's trainer: decided at its first report ──
    Case("espnet2-reports", _found_lines("espnet2_asr_reports_excerpt.log"), "espnet", "1epoch:train:1-4025batch: "),
    # ── NVlabs' StyleGAN loop: decided at its first tick, after the dataset, the networks and the plan ──
    Case("stylegan2-ada", _found_lines("stylegan2ada_wsi1024.log"), "stylegan", "tick 0     kimg 0.0 "),
    # ── gradient boosting's rounds: decided at the first, after LightGBM's data summaries and its plan ──
    Case("boosting-lightgbm-kkbox", _found_lines("lightgbm_kkbox_3runs_earlystop.log"), "boosting",
         "[10]\tvalid_0's auc: "),
    Case("boosting-catboost", _found_lines("catboost_crashcost_odstop.log"), "boosting", "0:\tlearn: 6528.4893755"),
    # ── CleanRL's `global_step=…, episodic_return=[…]` (a NumPy array of one): key=value pairs, by totals ──
    Case("kv-cleanrl", _found_lines("cleanrl_dqn_mspacman.log"), "kv", None),
    Case("quickstart-tutorial", _realrun_lines("tutorial-quickstart-healthy"), "quickstart", "loss: 2.356922  [  100/12000]"),
    # ── a loop's tab-separated table in its log (FADNet): decided at the header, after the model's repr ──
    Case("table-fadnet", _found_lines("fadnet_epoch_table_nan_last_launch.log"), "table",
         "epoch\ttime_stamp\ttrain_loss\ttrain_EPE\tEPE\tlr"),
    # ── a Decision Transformer loop's blocks of `name: value` lines: decided at the first block's step field ──
    Case("blocks-decision-mamba", _found_lines("decision_mamba_rl_blocks.log"), "blocks", "num of updates: 1000"),
    # ── Stable-Baselines3's logger tables: decided at the first table's `total_timesteps` row ──
    Case("blocks-sb3-ppo", _found_lines("sb3_ppo_cartpole_tables.log"), "blocks", "total_timesteps | 2048"),
    # ── rsl_rl's iterations: decided at the first iteration's heading ──
    Case("blocks-rsl-rl", _found_lines("rslrl_genesis_go2_ppo_console.log"), "blocks", "Learning iteration 0/101"),
    # ── PyTorch's CIFAR-10 tutorial (recorded by the run lab) and an I-JEPA fork after faiss's INFO lines ──
    Case("epoch-iter-cifar", _realrun_lines("tutorial-cifar-healthy"), "epoch-iter", "[1,    10] loss: 2.208"),
    Case("epoch-iter-ijepa", _found_lines("fgdcc_jepa_relaunch_nan_excerpt.out"), "epoch-iter",
         "INFO:root:[29,     0/ 2562] - [Autoencoder Training] [Autoencoder Loss: 1.5271] [autoencoder lr: 4.26e-04]"
         "[mem: 7.98e+03](303.5 ms)"),
    # the same loop resumed at epoch 352 shows no epoch 0: read as the 1-based form (ties go to it)
    Case("bracketed-hrnet-resumed", _found_lines("hrnet_resumed_last_epoch_tail.log"), "bracketed",
         "Epoch: [518/520] Iter:[250/495]"),
    # ── Keras 3 model.fit (recorded by the run lab): its bar's first frame, and verbose 2's epoch line ─
    Case("keras-v1", _realrun_lines("keras-v1-healthy"), "keras", "  1/200 "),
    Case("keras-v2", _realrun_lines("keras-v2-healthy"), "keras", "200/200 - "),
    # ── a bare tqdm bar with the loss as postfix (accelerate launch, run lab): its first step frame ───
    Case("tqdm-accelerate", _realrun_lines("accelerate-healthy"), "tqdm", "1/600 [00:00<00:17"),
]


PARAMS = [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(reason=c.bug, strict=False)] if c.bug else [])
          for c in CASES]


def _decided_at(lines: Sequence[str]) -> tuple[str | None, int, Detector]:
    det = Detector()
    for i, line in enumerate(lines):
        found = det.feed(line)
        if found:
            return found, i, det
    return None, -1, det


@pytest.mark.parametrize("case", PARAMS)
def test_real_sample_detects_its_format(case: Case) -> None:
    assert detect(case.lines) == case.fmt


@pytest.mark.parametrize("case", PARAMS)
def test_decided_at_the_first_signature_line(case: Case) -> None:
    found, at, det = _decided_at(case.lines)
    if case.decider is None:
        assert found is None, f"no line should be a signature, but line {at + 1} is {found}'s: {case.lines[at]!r}"
        assert det.best(MIN_GUESS) == case.fmt
        return
    want = next(i for i, line in enumerate(case.lines) if case.decider in line)
    assert (found, at) == (case.fmt, want), f"decided {found} at line {at + 1}, wanted line {want + 1}"
    assert det.lines_seen == want + 1  # the lines it needed: the noise before, and the deciding line


def test_lines_needed() -> None:
    """How far into the real logs detection reads: the full 17k-line nanochat log is decided at line 113."""
    needed = {c.id: _decided_at(c.lines)[1] + 1 for c in CASES if c.decider is not None and not c.bug}
    assert needed["nanochat-speedrun-head"] == 113
    assert needed["nanochat-sft-head"] == 107
    assert needed["hf-H8-v5-strings"] == 6
    assert needed["megatron-M4"] == 11
    assert needed["composer-C1"] == 7
    assert needed["llmc-L5"] == 12
    assert needed["table-fadnet"] == 291  # its header after the model's 289-line repr
    assert max(needed.values()) < DETECT_MAX_LINES  # within the lines a source holds back while it decides


@pytest.mark.parametrize("name", [SPEEDRUN, SFT])
def test_full_raw_nanochat_logs_detect_picollm(name: str) -> None:
    lines = raw_lines(name)
    assert detect(lines) == "picollm"
    assert detect(lines, max_lines=len(lines)) == "picollm"


def test_totals_after_the_whole_nanochat_log_agree() -> None:
    """No early luck: scored to the end (no stop at the first signature), only picollm signs its lines; kv
    reads them too but as maybes (1), and no other specific format scores at all."""
    det = Detector()
    for line in raw_lines(SPEEDRUN):
        assert det.feed(line) in (None, "picollm")
    totals = {name: total for name, total in det.totals.items() if total}
    assert set(totals) == {"picollm", "kv"}
    assert totals["picollm"] > 1.9 * totals["kv"]
    assert det.best() == "picollm"


def test_ansi_left_in_hides_the_torchtitan_signature() -> None:
    """Why lines must reach detection stripped: with the colour codes in, the metric line is only a `[titan]`
    maybe (1), not a signature."""
    line = coloured(ex(OTHERS, "Excerpt T3", "titan")[0])
    assert "\x1b[31mstep: 14" in line
    assert make_parser("torchtitan").score(split_rank(line)[1]) == 1
    assert make_parser("torchtitan").score(through_splitter([line])[0].removeprefix("[rank0]:")) == 2


def test_prefixed_lines_detect_as_unprefixed() -> None:
    """`[rank0]:` (T2/T3) and srun `1: ` (M5) in front do not change the decision."""
    for tag, group, fmt in (("Excerpt T2", "titan", "torchtitan"), ("Excerpt T3", "titan", "torchtitan")):
        assert detect(ex(OTHERS, tag, group)) == fmt
    assert detect(ex("excerpts_megatron.json", "Excerpt M5")) == "megatron"


# ── noise: nothing known ─────────────────────────────────────────────────────────────────────


def _failure(tag: str) -> tuple[str, ...]:
    return json_excerpt("excerpts_failures.json", f"{tag} ")


def _failure_excerpts() -> list[tuple[str, tuple[str, ...]]]:
    """failures.md excerpts that hold no training line (F8, F11, F18 and F20 carry bars or dicts)."""
    data = json.loads((CORPUS / "raw" / "excerpts_failures.json").read_text(encoding="utf-8"))
    out = [(e["h"].split(" — ")[0], tuple(e["t"].splitlines())) for e in data]
    return [(tag, lines) for tag, lines in out if tag not in ("F8", "F11", "F18", "F20")]


NOISE: list[tuple[str, Sequence[str]]] = [
    *_failure_excerpts(),
    # accelerate launch warnings (X1, X2 with its traceback), axolotl logger lines (A2), torch dynamo logs
    # with `[rankN]:` (R2), NCCL watchdog behind a collector prefix (R3), SLURM (R4, R5), anemoi (R6),
    # DeepSpeed optimizer timers (D5)
    ("X1", ex(OTHERS, "Excerpt X1", "accelerate")),
    ("X2", ex(OTHERS, "Excerpt X2", "accelerate")),
    ("A2", ex(OTHERS, "Excerpt A2", "axolotl")),
    *[(t, ex("excerpts_torchrun_slurm.json", f"Excerpt {t}")) for t in ("R2", "R3", "R4", "R5", "R6")],
    ("D5", ex("excerpts_deepspeed.json", "Excerpt D5")),
    # everything before nanochat's first step: banner, config (`Total batch size 524,288 => gradient
    # accumulation steps: 2` is prose, not a step line)
    ("nanochat-preamble", raw_lines(SPEEDRUN)[:112]),
    ("megatron-M4-setup", ex("excerpts_megatron.json", "Excerpt M4")[:10]),
]


@pytest.mark.parametrize("lines", [n[1] for n in NOISE], ids=[n[0] for n in NOISE])
def test_noise_detects_none(lines: Sequence[str]) -> None:
    assert detect(lines) is None


def test_mixed_noise_detects_none() -> None:
    """All the noise above but nanochat's preamble, interleaved line by line: still nothing known."""
    parts = [list(lines) for tag, lines in NOISE if tag != "nanochat-preamble"]
    mixed = [part[i] for i in range(max(map(len, parts))) for part in parts if i < len(part)]
    assert len(mixed) > 200
    det = Detector()
    assert all(det.feed(line) is None for line in mixed)
    assert det.best(MIN_GUESS) is None


def test_two_launch_preambles_detect_none() -> None:
    """Both real nanochat preambles together hold two `… => gradient accumulation steps: N` lines."""
    assert detect([*raw_lines(SPEEDRUN)[:112], *raw_lines(SFT)[:106]]) is None


def test_a_data_loading_bar_before_the_steps_decides_nothing() -> None:
    """F20: `Note: You are using GPU for training` and a bar with no description while word vectors load,
    before the run's own lines (nanoGPT G1 here). A bare bar is anyone's: it must not decide."""
    assert detect([*_failure("F20")[:3], *md_block("nanogpt_llmc.md", "Excerpt G1")]) == "nanogpt"


def test_empty_and_blank_input() -> None:
    assert detect([]) is None
    assert detect(["", "   ", "\t"]) is None
    det = Detector()
    assert det.feed("") is None and det.lines_seen == 1 and not any(det.totals.values())


def test_a_single_maybe_line_is_not_a_guess() -> None:
    """One kv maybe-line (R1's custom loop, `[default0]:` removed) is below MIN_GUESS; best() can still be
    asked for it."""
    line = unprefixed(ex("excerpts_torchrun_slurm.json", "Excerpt R1"))[0]
    det = Detector()
    assert det.feed(line) is None
    assert det.best(MIN_GUESS) is None
    assert det.best() == "kv"


def test_a_single_step_line_with_a_loss_is_a_guess_of_its_format() -> None:
    """A new user's review: a log holding one `step=1 … loss=2.3569 lr=0.001` line (kvlog-healthy's first)
    was UNREAD by `check` and `no step yet` in `tail` until a second line came: one kv maybe-line was
    below MIN_GUESS. A line its format reads as a step with a loss is evidence enough; a maybe-line
    without one (R1's, above) still is not."""
    line = _realrun_lines("kvlog-healthy")[0]
    det = Detector()
    assert det.feed(line) is None  # no signature: a later line of a specific format still decides
    assert det.best(MIN_GUESS) == "kv"
    assert detect([line]) == "kv"
    src = SourceParser("train.log")
    assert src.feed([line], 1, 1.0) == []
    [rec] = src.settle()  # a follower that caught up with its file: the step is shown at once
    assert (rec.step, rec.metrics["loss"]) == (1, 2.3569)


def test_detection_stops_at_max_lines() -> None:
    """A signature beyond the sample is not looked at."""
    lines = [*raw_lines(SPEEDRUN)[:112], raw_lines(SPEEDRUN)[112]]
    assert detect(lines) == "picollm"
    assert detect(lines, max_lines=112) is None


def test_ties_go_to_the_earlier_format() -> None:
    """D1's engine lines are DeepSpeed maybes and kv maybes alike; the registry puts deepspeed first."""
    det = Detector()
    for line in ex("excerpts_deepspeed.json", "Excerpt D1"):
        det.feed(line)
    assert det.totals["deepspeed"] >= det.totals["kv"] > 0
    assert det.best() == "deepspeed"


def test_a_line_two_formats_sign_decides_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A signature is decisive only when it is unique. No corpus line is signed by two formats (each
    parser's tests check its signatures against the others' lines), so kv is made to sign what it reads."""
    from runwatch.parsers.keyvalue import KeyValueParser

    monkeypatch.setattr(KeyValueParser, "score", lambda self, line: 2 if self.parse(line) else 0)
    g1 = md_block("nanogpt_llmc.md", "Excerpt G1")
    det = Detector(["nanogpt", "kv"])
    assert det.feed(g1[0]) is None
    assert det.totals == {"nanogpt": 2, "kv": 2}
    assert Detector(["nanogpt"]).feed(g1[0]) == "nanogpt"


def test_a_failing_probe_does_not_stop_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    from runwatch.parsers.composer import ComposerParser

    def boom(self: object, line: str) -> int:
        raise RuntimeError("probe bug")

    monkeypatch.setattr(ComposerParser, "score", boom)
    assert detect(md_block("nanogpt_llmc.md", "Excerpt G1")) == "nanogpt"


def test_every_format_is_covered() -> None:
    assert {c.fmt for c in CASES if not c.bug} == set(FORMATS)


def test_a_format_that_reads_a_loss_leads_one_that_reads_none() -> None:
    """A DeepSpeed script's log under ZeRO-3: DeepSpeed's `step=` and timer lines (maybes of its format, no
    loss: the pipeline engine's line is its signature) outnumber the script's `[Step 3/100] Loss: 5.0037 …`
    ones or tie with them, and kv reads those with their loss. Ranked by total alone (registry order) it was DeepSpeed and the run read no
    loss at all; a format that read a loss leads, and the same lines read as kv's give one each step."""
    from tests.support.found import found_lines

    lines = found_lines("deepspeed_script_steps_zero3.out.gz")
    det = Detector()
    for line in lines[:400]:
        assert det.feed(line) is None
    assert det.totals["deepspeed"] >= det.totals["kv"] and "kv" in det.stepped and "deepspeed" not in det.stepped
    assert det.best(MIN_GUESS) == "kv"
    assert detect(lines) == "kv"


def test_a_loops_epoch_summaries_under_keras_like_headers_are_read() -> None:
    """A masked-autoencoder loop prints `Epoch 1/500` headers (a Keras maybe each), per-batch blocks, and one
    `Epoch 1 - Train Loss: 0.2843, Val Loss: 0.1568` summary an epoch: the headers' three maybes won over the two
    summaries, Keras read nothing, and `check` said UNREAD, exit 3, while `parse` named the format (a review). A
    line read as a loss numbered by its epoch counts as one numbered by its step."""
    from tests.support.found import found_lines, source_records

    assert detect(found_lines("mae_restoration_epoch_headers_two_epochs.out")) == "kv"
    _, recs = source_records("mae_restoration_epoch_headers_two_epochs.out")
    assert [(r.metrics["epoch"], r.metrics["loss"], r.metrics["val_loss"]) for r in recs] == [
        (1.0, 0.2843, 0.1568), (2.0, 0.0879, 0.0655)]


def test_a_bars_one_frame_is_guessed_when_nothing_else_is() -> None:
    """A review: an RL run stopped by Ctrl-C after its bare bar's one frame (`2101/500000 [02:19<9:10:46, 15.07it/s]`)
    read "no steps", OK: one maybe line is below MIN_GUESS. A frame read as progress (a step with its step time) is
    guessed when no format reached the guess; beside formats that did, it still loses (a banner line's maybe is none)."""
    from tests.support.found import found_lines

    lines = found_lines("skrl_one_bar_frame_ctrlc.log")
    assert detect(lines) in ("hf-trainer", "tqdm")
    det = Detector()
    for line in lines:
        det.feed(line)
    assert max(det.totals.values()) < MIN_GUESS and {"hf-trainer", "tqdm"} <= det.progressed
    deepspeed = found_lines("deepspeed_script_steps_zero3.out.gz")[:400]
    assert detect([*lines[:2], *deepspeed]) == "kv"


def test_bare_bars_beside_an_epochs_average_loss_read_both() -> None:
    """A review's plain loop (tests/fixtures/found/README.md) draws a bare bar of 300 batches each epoch, then logs
    `Epoch 0000 in static KGE | Ave Loss: 8.6581`. The bars alone read 9,000 steps and no loss, so a NaN of it passed
    unseen; read as `kv` for its loss line, 30 epoch steps. `tqdm` reads both, and leads (`_bar_reads_losses`), in the
    live reader as in the bulk one."""
    import gzip

    from runwatch.model import Kind
    from runwatch.parsers.beside import beside
    from tests.support import readers
    from tests.support.found import FOUND, found_lines

    data = gzip.decompress((FOUND / "kge_bare_bars_ave_loss_30ep.log.gz").read_bytes())
    assert detect(re.split(r"[\r\n]", data.decode())) == "tqdm"
    stepped = next(x for x in found_lines("gpt2_lora_emoji_logger_2epochs.log.gz") if "| Step 6500/6501 |" in x)
    assert beside(stepped, 6500) is not None  # another source's step line read beside its bars, in this process
    assert detect(re.split(r"[\r\n]", data.decode())) == "tqdm"  # as before it: read alone (`KeyValueParser.forget`)
    recs, _ = readers.check(data, (1 << 20, 4096))
    losses = [r for r in recs if r.kind is Kind.STEP and "ave_loss" in r.metrics]
    assert len(losses) == 30 and losses[0].metrics["ave_loss"] == 8.6581
    assert max(r.step for r in recs if r.step is not None) == 9000


def test_a_bar_probe_that_raises_on_a_loss_line_is_counted_and_detection_goes_on(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`Detector._bar_reads_losses` asks a bar format's probe about a line it scored 0: a bug of it there is a
    detection failure counted as `feed`'s are, not an exception out of `best` (the KGE log of the test above)."""
    import gzip

    from runwatch.parsers.failures import DETECTION, ParseFailures
    from tests.support.faults import raise_on_lines
    from tests.support.found import FOUND

    probe = type(make_parser("tqdm"))
    raise_on_lines(monkeypatch, probe, "parse", "2023-11-11 11:59:47,598 - INFO: Epoch 0000", RuntimeError("bar bug"))
    data = gzip.decompress((FOUND / "kge_bare_bars_ave_loss_30ep.log.gz").read_bytes()).decode()
    det = Detector(failures=(failures := ParseFailures("pretrain.log")))
    for line in re.split(r"[\r\n]", data)[:500]:
        det.feed(line)
    assert det.best(MIN_GUESS) == "kv"  # the bars' reading of the loss line unknown: the loss line's format leads
    assert failures.counts == {(f"{DETECTION} (tqdm)", "RuntimeError"): 1}
