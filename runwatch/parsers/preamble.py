"""The settings a training script prints at the top of its log, before its first loss.

nanochat prints `num_layers: 24`, `GPU: NVIDIA H100 80GB HBM3 | Peak FLOPS…` and
`Distributed world size: 8`; nanoGPT `number of parameters: 0.17M`; Lightning
`GPU available: False, used: False`. The TUI's overview and the report show those
`key: value` lines as the log's own config (the lines are the log's words, cleaned
to one printable line), and its GPU model and count as hardware when no other
source said them. A source's parser collects them as it reads (`Collector`, in
runwatch.parsers.source): live following and `check`/`report` see the same lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from runwatch import patterns
from runwatch.model import Preamble
from runwatch.parsers.reads import Reads
from runwatch.text import clip, one_line

MOST = 80
MOST_LINES = 10_000
"""Lines read for settings at most: a log with no loss line says nothing more after its start. Each rank of a job
under torchrun may print its own header into one log: an 8-rank torchtitan job's `total steps 1000` came at line
3,924, past the 2,000 read before (a review)."""
SETTING = patterns.compile(r"^([A-Za-z](?:[A-Za-z0-9 _./()-]|:(?=\S)){0,63}?)(\s*):\s+(\S.{0,160})$")
"""`key: value`, split at the first `: ` after a key-shaped run: a colon with no space after it belongs to
the key (nanochat's `target data:param ratio: 16,704`) or the value (`data_path: /a/b:c`, `time: 12:30`)."""
RATIO = patterns.compile(r"^([A-Za-z][A-Za-z0-9 _./()-]{0,40}?):\s+(\S.*)$")
"""What follows a colon set apart by spaces, when it is itself `key: value`: that colon was the key's own
(nanochat's `Tokens : Scaling params ratio: 12.00`, a tokens:params ratio), not the split."""
LOG_PREFIX = patterns.compile(
    r"^(?:\[?\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?\]?\s*(?:-\s*)?)?"  # `2026-02-01 20:37:26,202 - `
    r"(?:[A-Za-z_][\w.]*\s+-\s+)?"  # the logger's name: `nanochat.common - `
    r"(?:\[INFO\]|INFO\b)\s*-?\s*")  # the level, `INFO - ` or `[INFO] `
"""A logging module's prefix before an INFO message (nanochat's `2026-02-01 20:37:26,202 - nanochat.common -
INFO - Distributed world size: 8`, the HF example's `2023-08-11 12:52:20 [INFO] metric: …`): the setting
follows it. A warning's or an error's prefix stays, and its line is no setting."""
LOSS = patterns.compile(r"loss[\s:=|]{0,4}(?:[-+]?\.?\d|nan\b|inf\b)(?![\d.]*[A-Za-z%]\})", re.IGNORECASE)
"""A line that names a loss in any spelling with its value (`loss 2.5`, `train_loss: 1.639`, `lm loss: nan`) is
training: the settings are above it (so is the first step record). One without names the loss a run is set up with
(`Initialized progressive distillation loss: output_weight=1.0, …`, `Using loss ce`): `Total training steps: 31250`
after it was no total (a review). Nor does a format string's field (a checkpoint callback's `filename:
'{epoch}-{step}-{val_loss:.4f}'` ended a Lightning config before its `max_epochs: 20`, a review)."""
ARGS = "Namespace("
"""argparse's dump of a script's arguments: its configuration, even where a value names a loss (EMCAD's `exp=…_loss_
mutation_…` ended the settings before `12500 max iterations`)."""
NOT_SETTINGS = patterns.compile(r"^(warn|warning|error|note|info|debug|wandb|traceback|exception|hint)\b", re.IGNORECASE)
BAR = patterns.compile(r"\|\s*\d+/(?:\d+|\?)\s*\[|━")
"""A progress bar's frame (`Sanity Checking: | | 0/? [00:00<?, ?it/s]`, rich's `━`): progress, no setting."""
WORLD = patterns.compile(r"world size\s*:\s*(\d+)", re.IGNORECASE)
_VALUE = r"[^\s,=()\[\]{}'\"]{1,120}"
"""A setting's value: no bracket or quote, which make it code (mmengine's config dump, `    timer=dict(type=
'IterTimerHook'),`, read as `timer: dict(type` and `interval: 1)` by a review)."""
_KEY_VALUE = rf"[A-Za-z_][\w.\-]{{0,63}}={_VALUE}"
PAIRS = patterns.compile(rf"{_KEY_VALUE}(?:[\s,]{{1,4}}{_KEY_VALUE}){{1,31}}[\s,]{{0,4}}")
"""A value (or a line) that is a list of `key=value` settings (`lr=0.0003 batch_size=32 max_steps=400`):
one setting each, as a config file would list them. A separator between two pairs is required: with none, a
value's letters could end it or start the next key (`s5J=cs5J=cs5J=c…`), and a line of 32 such repeats that
failed to match at its end took minutes to be told so (a fuzz test's hostile line hung its worker)."""
PAIR = patterns.compile(rf"([A-Za-z_][\w.\-]{{0,63}})=({_VALUE})")
PLANNED_KEYS = frozenset({
    "max_steps", "total_steps", "num_steps", "train_steps", "training_steps", "num_train_steps", "max_iters",
    "max_iter", "max_iterations", "num_iterations", "num_iters", "train_iters", "total_iters", "total_iter",
    "total_iterations", "total_optimization_steps", "total_training_steps",
    "total_updates",  # an RL loop's optimizer updates (Decision Transformer's `total updates:  50000`)
    "max_update",  # fairseq's (`'max_update': 100000` in its config's dict)
})
"""The keys naming the number of steps a run plans, once: a header's (`PLANNED`) and a `kv` line's
(runwatch.parsers.keyvalue.PLAN_KEYS, where a line stating one is configuration, no step record)."""
PLANNED = patterns.compile(
    r"(?<![\w.])(?:" + "|".join(k.replace("_", "[_ ]") for k in sorted(PLANNED_KEYS, key=len, reverse=True))
    + r")['\"]?\s{0,3}[=:]\s{0,3}(\d{1,3}(?:,\d{3}){1,4}|\d{1,15})\b",
    re.IGNORECASE)
"""The number of steps a run plans, as its header states it (`max_steps=400`, `train_iters: 500`, a table's
`Max steps : 100,000`, the HF Trainer's `Total optimization steps = 17,000`): the run's total where its step lines
state none. A run whose dicts state no step and that draws no bar (LLaMA-Factory's `running_log.txt`) said no total
at all without it."""


SAMPLER_KEYS = ("guidance_scale", "cfg_scale", "guidance_rescale", "num_inference_steps", "sample_solver")
"""Keys of a diffusion sampler's settings (classifier-free guidance, the solver): a `num_steps` beside one (within
`SAMPLER_NEAR` characters) is the sampler's denoising steps, no plan of training. OmniAvatar's config dump (`'guidance_scale':
4.5, 'audio_scale': None, 'num_steps': 50`) made a review's Lightning run of 100 steps read `4/50`."""
SAMPLER_NEAR = 120


def planned_steps(line: str) -> re.Match[str] | None:
    """The first plan of steps a line states (`PLANNED`) that is no diffusion sampler's (`SAMPLER_KEYS`)."""
    for m in PLANNED.finditer(line):
        if m.group(0)[:9].lower().replace(" ", "_") != "num_steps" or not any(
                k in line[max(0, m.start() - SAMPLER_NEAR):m.end() + SAMPLER_NEAR] for k in SAMPLER_KEYS):
            return m
    return None


LOADED_MODEL_CONFIG = "][fairseq.models."
"""A fairseq model module's logger (`[2022-06-06 09:17:56,320][fairseq.models.wav2vec.wav2vec2_asr][INFO] - {…}`):
wav2vec 2.0's fine-tuning encoder logs the config of the pretrained checkpoint it loads (`logger.info(w2v_args)`),
whose `'max_update': 400000` was the pretraining's plan, not this run's: after the run's own `'max_update':
4000000` (`fairseq_cli.train`'s dict on the line before), it read `step 14200/400000` (a review)."""


PLANNED_TITAN = patterns.compile(r"\btotal steps (\d{1,15}) \(warmup \d")
"""torchtitan's trainer before its first step: `Trainer is initialized with local batch size 8, global batch size 16,
gradient accumulation steps 2, sequence length 2048, total steps 20000 (warmup 500)` (earlier versions: `Training
starts at step 1, with local batch size 8, …, total steps 1000 (warmup 200)`). A review's eight torchtitan logs read
no total, one that stopped at step 240 of 1000 merely `ended`."""


LOGGABLE = patterns.compile(
    r"Progress on:(?P<desc>.{0,80}?) (?P<n>\d{1,15}(?:\.\d{1,2})?|-)(?P<scale>[kMGT]?)(?P<unit>[A-Za-z]{0,12})/"
    r"(?P<total>\d{1,15}(?:\.\d{1,2})?|-)(?P<total_scale>[kMGT]?)(?P=unit)"
    r" rate:(?:(?P<rate>\d[\d,]{0,20}\.\d)(?P<per>[A-Za-z]{1,12}/s|s/[A-Za-z]{1,12})|-)"
    r" remaining:(?P<remaining>[\d:]{1,12}|\?) elapsed:(?P<elapsed>[\d:]{1,12}) postfix:(?P<postfix>.{0,2000}?)"
    r"(?: \(\d{1,9}:[\w.]{1,100}:\d{1,7}\))?$"  # openpi's logger adds `(8428:tqdm_logging.py:145)`
)
"""tqdm-loggable's line for a bar where no terminal is (Levanter's, Marin's and openpi's training loops), described
once: the step a later line is (runwatch.parsers.keyvalue) and the total its first states (`loggable_planned`).
`Progress on:train 11.0it/18.0it rate:34.5s/it remaining:04:01 elapsed:17:46 postfix:loss=15.5`: its counts are
tqdm's `format_sizeof` of the bar's unit (`25.0batch/300batch`, a download's `12.5MB/50.0MB`), three digits
(`12.4kit/200kit`: a step of 12,350 to 12,449), a count below 1,000 exact, and both plain (`-/200000`, `49/-`) while
either is zero or unknown; its rate `1,761.8it/s`, or `34.5s/it` below one a second (always one decimal: a garbled
`1.2.3it/s` is no rate, and no float of it raises). Unread, a Levanter run was
`nothing understood` (a review)."""


_TOP_INDENT = 4
"""The most blanks before a printed dict's own key on a line of its own: pprint's 1, `json.dumps(indent=4)`'s 4."""


def _run_level(found: re.Match[str], line: str, indent: int) -> bool:
    """Whether a quoted key `found` is one of a printed dict's own, not of a dict inside it: a part's setting, not the
    run's (DeepSpeed's config dump, `data_efficiency_config ... {'enabled': False, …, 'data_sampling': {'enabled':
    False, 'num_epochs': 1000, …}}`, read as a plan of 1,000 epochs, made an SFT run's end at step 481 "ended early";
    so did its JSON, `"num_epochs": 1000,` indented under `"data_sampling": {` on a line of its own, a code review).
    On its line (blanks folded, `indent` of them before it) at most one dict deep, and on a line of its own no deeper
    in than a top-level key. A key not quoted (`max_epochs=100`, a YAML dump's `  max_epochs: 20`) is read wherever
    it is. For epochs only: fairseq's plan of steps is such a key (`{…, 'optimization': {…, 'max_update': 80000,
    …}}`), its `max_epoch` beside it left unread, as it was before a printed dict's keys were read at all."""
    at = found.start() - 1
    if at < 0 or line[at] not in "'\"":
        return True
    before = line[:at]
    if not before:
        return indent <= _TOP_INDENT
    return before.count("{") - before.count("}") <= 1


def loggable_planned(line: str) -> int | None:
    """The total a tqdm-loggable bar's first line states (`Progress on: -/200000 rate:- remaining:? …`, openpi's
    training loop), before any step is taken; its later lines round it (`12.9kit/200kit`). Unread, a review's openpi
    run of 200,000 steps read no total, no progress and no ETA."""
    m = LOGGABLE.search(line) if "Progress on:" in line else None
    return int(m["total"]) if m is not None and m["n"] == "-" and m["total"].isdigit() else None


PLANNED_MAXTEXT = patterns.compile(r"(?:^|\] )Config param steps: (\d{1,15})\s*$")
"""MaxText's config dump before training (`Config param steps: 10`, a line a parameter): its `completed step: N` lines
count from 0 to steps - 1. A bare `steps:` elsewhere is any count, so only MaxText's own line."""


PLANNED_EPOCHS = patterns.compile(
    r"(?<![\w.])(?:max_epochs?|total_epochs?|num_epochs?|num_train_epochs|n_epochs?|nb_epochs?|epochs|num epochs"
    r"|(?:max_|total_|num_|n_)?epoches)"  # the common misspelling, a script's own `--epoches` (NoProp's)
    r"['\"]?\s{0,3}[=:]\s{0,3}(\d{1,6})\b", re.IGNORECASE)  # a printed dict's `'epochs': 10` too, as `PLANNED` reads
"""The number of epochs a run plans, as its header or config dump states it (mmengine's `train_cfg = dict(by_epoch=True,
max_epochs=10, …)`, mmcv's `runner = dict(type='EpochBasedRunner', max_epochs=100)` and `total_epochs = 12`, argparse's
`epochs=300`, the HF Trainer's `Num Epochs = 3`): with one epoch's length, which a per-epoch count states (`Epoch [1]
[50/1220]`), the run's total (runwatch.parsers.epochs). Without it an mmcv run of 100 epochs of 1,220 iterations read no
total at all, and one that stopped at iteration 2,690 merely `ended`. A key with more before it (`warmup_epochs`,
`cfg.max_epochs`) is another count."""


MMCV_RUNNER = patterns.compile(r"\bworkflow: \[.{0,200}\], max: (\d{1,9}) (epochs|iters)\s*$")
"""mmcv's runner as it starts (`workflow: [('train', 1)], max: 12 epochs`; IterBasedRunner's `max: 90000 iters`), the
one line of MMDetection 2.x and its kin that states the run's plan: its `Epoch [1][950/5455]` counts one epoch's
iterations, and a review's Cascade R-CNN run of 12 epochs read `950/5455`, one epoch's, as the run's total."""


EPOCH_LENGTH = patterns.compile(r"^The number of training images = (\d{1,12})\s*$")
"""One epoch's length, as pix2pix and CycleGAN (junyanz/pytorch-CycleGAN-and-pix2pix and the many repositories
built on it) state it before training: their `(epoch: 2, iters: 3, …)` counts the epoch's images, so the number of
training images is where each epoch's count ends (runwatch.parsers.epochs)."""
DECAY_EPOCHS = patterns.compile(r"(?<![\w.])n_epochs_decay\s{0,3}[=:]\s{0,3}(\d{1,6})\b")
"""CycleGAN's and pix2pix's epochs at a decaying rate, after its `n_epochs` at the initial one: the run's epochs are
the two together (`End of epoch 1 / 2` of `n_epochs: 1`, `n_epochs_decay: 1`)."""


PLANNED_FOR_ITERS = patterns.compile(r"\bTotal epochs needed: \d{1,9} for iters (\d{1,3}(?:,\d{3}){1,4}|\d{1,15})\s*$")
"""mmsr's, EDVR's and early BasicSR's `Total epochs needed: 98 for iters 600,000` before training: the run's total
(a review's HDRUNet run stopped at 121,400 of 600,000 read `ended`, no total)."""
PLANNED_AFTER = patterns.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3}){1,4}|\d{1,15}) (?:max iterations|total (?:training )?steps)\b"
                           r"(?! ?(?:per|/|an?|each|every) ?epoch| done| so far)")
"""The number first: TransUNet's trainer, copied by Swin-Unet, EMCAD and other medical segmentation repositories, logs
`125 iterations per epoch. 12500 max iterations` before its `iteration 50, epoch 0 : loss : 5.75` lines; without
it a run that reached 12,500 read `ended` (a review). So does a GRPO loop's `Training: 7473 problems, 32 prompts/step,
233 steps/epoch, 233 total steps` (a review's run stopped at step 33 of 233 read `ended`, no total)."""


PAUSE_EVERY = patterns.compile(
    r"(?<![\w.-])-{0,2}(?:save[_-]?steps|eval[_-]steps|save[_-]every[_-](?:n[_-])?steps|checkpointing[_-]steps"
    r"|every[_-]n[_-]train[_-]steps|(?:save|eval|checkpoint)[_-]interval)['\"]?(?:\s{0,3}[=:]\s{0,3}|\s{1,4}|\s\.{2,}\s)"
    r"(\d{1,9})\b",
    re.IGNORECASE)
"""Every how many steps the run saves a checkpoint or evaluates, as its header, config dump or command line says it
(the HF Trainer's `--save_steps 2000` and `eval_steps=500`, Megatron's `save_interval ...... 1000`, nanoGPT's
`eval_interval = 2000`, accelerate's examples' `--checkpointing_steps 500`, Lightning's `every_n_train_steps=1000`):
where the run pauses by plan (runwatch.alerts.rules.stall). Unknown, the first save of a 1.7 B-parameter model under
DeepSpeed, 83 s after step 2000 of an HF run stepping every 1.2 s, read as a critical stall (a review). Keys that
count in steps only: `save_every`, `eval_freq` and the like count epochs as often (SlowFast's `'EVAL_FREQ': 3`, read
as every third step, stretched every budget of its run)."""
_PAUSE_WORDS = ("save", "eval", "checkpoint", "every_n", "SAVE", "EVAL", "Save", "Eval", "Checkpoint", "CHECKPOINT",
                "EVERY_N")
"""A word of every `PAUSE_EVERY` key, in the cases a header writes it: a line with none is passed by unsearched."""


RELAUNCH_MARKERS = ("Rank of current process:", "Command Line Args:", "***** Running training *****")
"""Lines a launch prints at its start, before its settings: detectron2's `default_setup` (`detectron2 INFO: Rank of
current process: 0. World size: 1`) and its scripts' `Command Line Args: Namespace(…)`, the HF Trainer's header
over `Total optimization steps = 1,000`. A log that holds another launch after steps (detectron2 appends every
launch to its `log.txt`) has its settings read again there, for the launches after it: the first launch's
`MAX_ITER: 2000` was every later launch's total (a review's Mask2Former log of three launches planned 2000, 10000
and 4000 read its last one at 1999 of 2000, then no total; another's of 80 and 100 none at all). The noise screen
flags them (`RELAUNCHES` among its reads): the fast path reads them too."""
RELAUNCHES = Reads(holds=RELAUNCH_MARKERS)
relaunched = RELAUNCHES.admits
"""Whether a line is one a launch prints at its start (`RELAUNCH_MARKERS`)."""
RELAUNCH_BYTES = tuple(marker.encode() for marker in RELAUNCH_MARKERS)


class Collector:
    """The settings of one log, fed its lines in order until its first loss (or step record)."""

    def __init__(self) -> None:
        self.settings: list[tuple[str, str]] = []
        self.at: list[int] = []
        """The line number of each setting."""
        self.gpu: str | None = None
        self.world: int | None = None
        self.planned: int | None = None
        """The steps the header says the run plans (`PLANNED`), None if it says none."""
        self.planned_epochs: int | None = None
        """The epochs the header says the run plans (`PLANNED_EPOCHS`, with `DECAY_EPOCHS`), None if it says none."""
        self.epoch_length: int | None = None
        """One epoch's steps as the header states them (`EPOCH_LENGTH`), None if it states none."""
        self.epoch_based = False
        """Whether the header says the run counts its iterations within epochs (mmcv's epoch-based runner,
        `MMCV_RUNNER`): a total stated beside an epoch is one epoch's from the first line on."""
        self.pauses: tuple[int, ...] = ()
        """Every how many steps the run saves or evaluates by plan (`PAUSE_EVERY`), ascending; () if it says not."""
        self._decay = 0
        self.open = True
        self.lines = 0
        self._keys: set[str] = set()
        self._plans: list[tuple[int, str, int | tuple[int, ...]]] = []
        """(line, `planned` or `planned_epochs`, value) as read: `cut` keeps those before its line."""
        self.epoch_counts: set[int] = set()
        """Every count of epochs the header states (`PLANNED_EPOCHS`): more than one, and which is the run's is not
        known (a Lightning config's `trainer: max_epochs: 20` and its scheduler's `max_epochs: 100`)."""
        self._varied: set[str] = set()
        """Keys seen with different values: messages, not settings (`_repeats`)."""

    def feed(self, raw: str, lineno: int = 0) -> None:
        """One line (number `lineno`) that gave no step record; a line naming a loss ends the settings."""
        self.lines += 1
        if self.lines > MOST_LINES:
            self.open = False
            return
        line = one_line(raw)
        if LOSS.search(line) and not line.startswith(ARGS):
            self.open = False
            return
        w = WORLD.search(line)
        if w:
            self.world = int(w.group(1))
        if ("=" in line or ":" in line) and line.find(LOADED_MODEL_CONFIG, 0, 120) < 0:  # `max_steps=400`, and an options
            # dump's `    total_iter: 10000` (BasicSR's); no plan of a loaded model's own training
            p = (planned_steps(line) or (PLANNED_FOR_ITERS.search(line) if "for iters" in line else None)
                 or (PLANNED_TITAN.search(line) if "total steps " in line else None)
                 or (PLANNED_MAXTEXT.search(line) if "Config param steps" in line else None))
            planned = int(p.group(1).replace(",", "")) if p is not None else loggable_planned(line)
            if planned is not None:
                self.planned = planned
                self._plans.append((lineno, "planned", self.planned))
            indent = len(raw) - len(raw.lstrip(" \t"))
            e = next((m for m in PLANNED_EPOCHS.finditer(line) if _run_level(m, line, indent)), None)
            if e is not None and int(e.group(1)) > 0:
                self.planned_epochs = int(e.group(1)) + self._decay
                self.epoch_counts.add(int(e.group(1)))
                self._plans.append((lineno, "planned_epochs", self.planned_epochs))
            elif "n_epochs_decay" in line and (d := DECAY_EPOCHS.search(line)) is not None:
                self._decay = int(d.group(1))
                if self.planned_epochs is not None:
                    self.planned_epochs += self._decay
                    self._plans.append((lineno, "planned_epochs", self.planned_epochs))
            if "workflow: [" in line and (r := MMCV_RUNNER.search(line)) is not None:
                name = "planned_epochs" if r.group(2) == "epochs" else "planned"
                setattr(self, name, int(r.group(1)))
                self._plans.append((lineno, name, int(r.group(1))))
                if name == "planned_epochs":
                    self.epoch_based = True
                    self._plans.append((lineno, "epoch_based", True))
            if line.startswith("The number of training images") and (n := EPOCH_LENGTH.search(line)) is not None:
                self.epoch_length = int(n.group(1))
                self._plans.append((lineno, "epoch_length", self.epoch_length))
        if (" max iterations" in line or " total steps" in line or " total training steps" in line) and (
                after := PLANNED_AFTER.search(line)) is not None:
            self.planned = int(after.group(1).replace(",", ""))
            self._plans.append((lineno, "planned", self.planned))
        if any(w in line for w in _PAUSE_WORDS):
            every = {int(n) for n in PAUSE_EVERY.findall(line)} - {0}
            if every - set(self.pauses):
                self.pauses = tuple(sorted(every | set(self.pauses)))
                self._plans.append((lineno, "pauses", self.pauses))
        for key, value in settings_of(line):
            self._add(key, value, lineno)

    def _add(self, key: str, value: str, lineno: int) -> None:
        if key in self._varied or self._repeats(key, value):
            return
        if key == "GPU":
            self.gpu = value.split("|")[0].strip()
        if len(self.settings) < MOST:
            self.settings.append((key, clip(value, 120)))
            self.at.append(lineno)

    def _repeats(self, key: str, value: str) -> bool:
        """Whether `key` was collected before: with the same value, a second rank's copy; with another, a
        message a library logs over and over (httpx's `HTTP Request: HEAD https://…`), no setting: gone."""
        if key not in self._keys:
            self._keys.add(key)
            return False
        if (key, value) not in self.settings:
            self._varied.add(key)
            keep = [i for i, (k, _) in enumerate(self.settings) if k != key]
            self.settings = [self.settings[i] for i in keep]
            self.at = [self.at[i] for i in keep]
        return True

    def cut(self, line: int) -> None:
        """Line `line` was a step after all (read again once the log's format was known): the settings end
        before it."""
        keep = sum(1 for at in self.at if at < line)
        del self.settings[keep:], self.at[keep:]
        self.planned = self.planned_epochs = self.epoch_length = None  # a plan stated after the run's first step
        self.epoch_based = False
        self.pauses = ()
        # is another phase's
        for at, name, value in self._plans:  # (ncflow's adaptation, `Total number of training steps: 1500`, was
            if at < line:  # its training's total)
                setattr(self, name, value)
        self.open = False

    def result(self) -> Preamble:
        return Preamble(list(self.settings), self.gpu, self.world)


def settings_of(line: str) -> list[tuple[str, str]]:
    """The settings a one-line text states: `setting`'s one, or each pair of a `key=value` list (the line's,
    or the value's after a `key:` or two: `train: Starting training: lr=0.0003 batch_size=32`, a `logging`
    line's logger and message head, gives lr and batch_size)."""
    found = setting(line)
    if found is not None:
        value = found[1]
    else:
        prefix = LOG_PREFIX.match(line)
        value = line[prefix.end():] if prefix else line
    for _ in range(3):  # past `train: Starting training: ` (a logger's name, a message's head)
        if "=" not in value:
            break
        if PAIRS.fullmatch(value.strip()) is not None:
            return PAIR.findall(value)
        inner = SETTING.match(value)
        if inner is None:
            break
        value = inner.group(3)
    return [] if found is None else [found]


def setting(line: str) -> tuple[str, str] | None:
    """The (key, value) a one-line text states, past a logging prefix; None when it states none (a warning,
    a progress bar, prose)."""
    prefix = LOG_PREFIX.match(line)
    m = SETTING.match(line[prefix.end():] if prefix else line)
    if m is None or NOT_SETTINGS.match(m.group(1)) or BAR.search(m.group(3)):
        return None
    key, value = m.group(1).strip(), m.group(3).strip()
    inner = RATIO.match(value) if m.group(2) else None
    if inner is not None:
        key, value = f"{key} : {inner.group(1).strip()}", inner.group(2).strip()
    return key, value


def preamble(lines: Iterable[str]) -> Preamble:
    """The `key: value` lines before the first line that mentions a loss (at most `MOST`)."""
    found = Collector()
    for raw in lines:
        found.feed(raw)
        if not found.open:
            break
    return found.result()
