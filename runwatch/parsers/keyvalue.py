"""Generic `key=value` / `key: value` / `key value` step lines, the fallback format.

`step 10 loss=2.3 lr=3e-4`, `step: 10, loss: 2.30, lr: 0.0003`,
`Iter 10/200 | loss 2.3 | dt 812ms`, `step 250: train loss 1.5440, val loss 1.7220`,
`ep 55 train, step 1347, ce 0.324, grad_norm:p2 3.388, …, elapsed 0:16:59, exp. remaining 0:03:45`.

Because almost any line has a word and a number, a line counts only when it
has a step key (`step`, `iter`, `iteration`, `global_step`, `it`, `steps`, …)
and another number, or at least two numeric pairs of which one has a canonical
name of a measurement (loss, grad_norm, tokens_per_sec, …: not lr or epoch) and
none names the planned steps (`max_steps`, `train_iters`, …). A step key said
last, after pairs of which none is such a measurement, counts something else
(`⚠️ Sampling slow: 46.0s, steps=158`), and a line with markdown emphasis
(`**Step 1:** … meaning 3`) is prose, a model's generated text. A header such as
`Starting training: lr=0.0003 batch_size=32 max_steps=400` is the run's
configuration: no record (runwatch.parsers.preamble keeps it, and its planned
steps become the total of step lines that state none). score() is at most 1, so every specific format
wins detection over this one.

Keys start a clause. A key is one word, or two when the first starts the
clause too (`train loss`, `val loss`, `grad norm`, `Global step`); it follows
the start of the line, punctuation (`|`, `,`, `]`, `-`, `:`), a number (the
previous value, a timestamp) or a log level (`INFO step 10`). The last word of
a longer phrase names something else and is skipped: in `Total batch size
524,288 => gradient accumulation steps: 2` neither `size` nor `steps` is a
key, so a count in a launcher banner is no step index.

`key:sub value` keeps both parts (`grad_norm:p2` → `grad_norm_p2`,
`max_size:time` → `max_size_time`); a device index after it is a label and
is dropped (`mem_usage:cuda:0 67.8GB` → `mem_usage_cuda_gib`, the same name
on every rank). Labels (`Rank 0`, `pid`) and source locations (`logging.py:96`)
are not metrics. `N/M` after a step key gives total_steps, after `epoch` the metric `epochs`.

Units, glued (`350ms`) or after a space (`812 ms`, `12.5k tokens/s`), never
leave a wrong number: a value with a unit the parser does not understand is
skipped. A duration on a time key is seconds: `ms`/`s`/`m`/`min`/`h` on `dt`,
`time`, `step_time`, `iter_time`, `batch_time` give step_time; an `H:MM:SS`
or `MM:SS` clock or a time unit on `elapsed`/`remaining`/`eta`/`time_left`
give elapsed/eta; other keys naming a time (`total time: 0.98m`) keep their
name with the value in seconds, and so does any key with a duration other
than `m` (minutes or milli?). A clock on any other key (a wall time) is
dropped. `%` is dropped (mfu is a percent already). `k`/`M`/`G`/`T`/`B` scale a
count (`tok/s=12.5k` → 12500); a memory size (`GiB`, `MB`, or `M`/`G` after a
`mem…` key) becomes GiB under the name plus `_gib` (`memory: 49.66GiB` →
memory_gib, as the torchtitan and DeepSpeed parsers name it). A rate of
iterations is a step time as for progress bars: `it/s=2.5` → step_time 0.4,
`s/it=0.4` → 0.4; `throughput: 12.5k tokens/s` is tokens_per_sec. `norm` on a
line with a step is the gradient norm (llm.c's `| norm 1.2991 |`). A line
with only evaluation metrics is an EVAL record, and so is a line that starts
by saying it evaluates (`test epoch:0 || Loss:4.3688` → `test_loss`; `val`,
`eval`, `validation` → `val_*`), or holds only a validation or test loss
(`validation loss: 3.0316`). A line with no step that says `Final` before its
numbers (`🎉 Final Results: Loss=0.4886, PPL=1.63`) sums the run up: no
training step, unless its values are an evaluation's.

Speed: a line without a digit, or without any word of a key that could make a
record (`loss`, `step`, `lr`, `time`, … taken from the key tables), is
rejected before the pair scan; that is most lines of a log. The scan is one
`findall` of a possessive pattern (no per-character Python work), and what a
key means, and how each unit it comes with is read, is cached by its text.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

from runwatch import patterns
from runwatch.model import ERROR_MEASURES, EVAL_WORDS, Kind, Record, is_eval_metric
from runwatch.parsers.base import FormatParser
from runwatch.parsers.fields import GLOG_PREFIX, logging_time
from runwatch.parsers.heading import MAX_HEADING, epoch_heading
from runwatch.parsers.numbers import (
    GIB,
    MEMORY_LETTERS,
    NUMBER_TEXT,
    SECONDS,
    SI,
    STEP_UNITS,
    clock_seconds,
    held_numbers,
    parse_number,
    spelled_seconds,
)
from runwatch.parsers.preamble import LOGGABLE, PLANNED_KEYS
from runwatch.parsers.pydict import CANONICAL, metric_name, snake
from runwatch.parsers.reads import Reads
from runwatch.parsers.rounded import ROUNDED

MAX_LINE = 4096
MAX_KEY = 64
"""Longer keys are not read (the old pattern's bound)."""

_NUMBER = (
    r"[-+]?(?:\d{1,3}(?:,\d{3}){1,6}|\d{1,30})(?:\.\d{0,30})?(?:[eE][-+]?\d{1,4})?"
    r"|[-+]?\.\d{1,30}(?:[eE][-+]?\d{1,4})?"
    r"|[-+]?(?i:nan|inf(?:inity)?)"
)
_UNIT_WORDS = (
    "us", "ms", "s", "sec", "secs", "min", "mins", "B", "KB", "KiB", "MB", "MiB", "GB", "GiB", "TB", "TiB",
    "it/s", "s/it", "tokens/s", "tokens/sec", "tok/s", "tok/sec", "toks/s", "samples/s", "samples/sec",
)
"""Units read after one space (`dt 812 ms`, `throughput: 12.5k tokens/s`); glued ones are any 1–4 letters."""


def _by_first_letter(words: list[str] | tuple[str, ...], tails: dict[str, str] | None = None) -> str:
    """`d(?:t)|e(?:lapsed|poch|ta)|…`: one branch tried per position instead of one per word; each word
    followed by its pattern in `tails`, if any (inside its branch: one top-level alternation of letters
    keeps `re`'s scan for a first letter, where `(?:…)tail|other` cost 3× as much)."""
    rests: dict[str, list[str]] = {}
    for word in words:
        rests.setdefault(word[0], []).append(re.escape(word[1:]) + (tails or {}).get(word, ""))
    return "|".join(f"{first}(?:{'|'.join(sorted(r, key=len, reverse=True))})" for first, r in sorted(rests.items()))


# One pass over the line with findall: each match is (gap, key, clock, value, total, unit, word), the gap
# being the text since the previous match. The gap skips whole words at a time (possessively) and a
# key starts at a letter that does not continue a word, path or quoted name; `:sub` parts stay in
# the key, and so does a `:N` device index before a spaced value. No IGNORECASE: it costs 5x here.
# The gap can reach every later key start, so when no pair follows the rest of the line is one
# last match with an empty key (linear time, where a retry at each position would be quadratic). A key
# has at most three `:sub` parts: unbounded, `a:a:a:…` made every later start rescan the rest (0.4 s a line).
_PAIR = patterns.compile(
    r"([^A-Za-z]*+(?:[A-Za-z][\w./\-'\"@]*+[^A-Za-z]*+)*?)"
    r"(?<![\w./\-'\"@=])([A-Za-z][\w./\-@]*+(?::(?:[A-Za-z][\w./\-]*+|\d++(?=\s{1,3}[-+.\d]))){0,3})"
    r"(?:\s{0,3}[=:]\s{0,8}(?:(?<==)\[(?=[-+]?(?:\d{0,30}\.\d{0,30}(?:[eE][-+]?\d{1,4})?|\d{1,30}[eE][-+]?\d{1,4}|nan|inf)\]))?|\s{1,3}is:\s{0,8}\[?|\s{1,8})(?=[-+.\dnNiI])"  # the guard spares
    # the value alternatives most words; a value right-aligned after its colon (JAX ncflow's `Outer Step:     0
    # LossTrajs: 4.33880901`) is its key's, and so is one after `is:`, in a one-element array's `[` or not
    # (PaddlePaddle's tutorials: `epoch: 0, batch_id: 0, loss is: [47.821], acc is: [0.203125]`), and one in a
    # one-element NumPy array right after `=` (CleanRL's `global_step=150, episodic_return=[360.]`: every line was
    # read as nothing, a review's DQN run `no steps`), a float as NumPy prints one (`[360.]`, `[5e-05]`, `[nan]`); an
    # array of more is no one value, and one of a whole number a setting (`gpu_ids=[0]`, YOLOv4's `img_size:[416]`)
    rf"(?:(\d{{1,6}}(?::[0-5]\d){{1,2}}(?:\.\d{{1,9}})?)|({_NUMBER}))"
    r"(?: {0,2}/ {0,2}(\d{1,15}))?(%|it/s|s/it|[A-Za-z]{1,4})?"
    # a unit word after the value, unless it is the next key (`step 10 tokens/s: 1.2M`, `step 10 tok/s 9000`)
    rf"(?: {{1,2}}({_by_first_letter(_UNIT_WORDS)})(?!\s{{0,3}}[=:]|\s{{1,3}}[-+.\d]))?"
    r"(?=$|[\s,;|)\](:]|\.(?:\s|$))"  # a value may end a sentence (ML-Agents' `Mean Reward: 0.333. Std of Reward: …`)
    r"|[\s\S]+"  # no pair from here on: take the rest, so findall does not retry at every later position
)
_DIGIT = patterns.compile(r"\d").search
_WORD = patterns.compile(r"(?:[A-Za-z]|\d{1,2}[A-Za-z])[A-Za-z0-9_\-]{0,40}")
_DEVICE_INDEX = patterns.compile(r":\d+$")
_SOURCE_FILE = patterns.compile(r"\.(?:py|pyx|cpp|cc|cu|c|h|hpp|rs|go|js|ts)$", re.IGNORECASE)

_STEP_KEYS = frozenset({
    "step", "iter", "iteration", "global_step", "it", "steps", "iters", "train_step", "training_step",
    "global_iter", "global_iteration",
    "outer_step", "outer_iter", "outer_iteration",  # a meta-learning loop's optimizer steps (ncflow's JAX `Outer Step:
    # 140      LossTrajs: nan     ContextsNorm: nan`), its inner loop's counts beside them no step
    "global_batch",  # a loop's batches counted across epochs (`Epoch 4, Global Batch 7095, Training Loss: 2.5174, …`)
    "num_of_updates",  # Decision Transformer's `num of updates: 1000` (runwatch.parsers.blocks)
    "num_updates",  # fairseq's optimizer updates (`epoch 143:  85 / 282 loss=3.147, …, num_updates=40100, lr=…`)
    "batch_id", "batch_idx",  # the batch in its epoch (PaddleRec's `epoch: 3, batch_id: 500, AUC:…, loss:…`)
    "completed_step",  # MaxText's `completed step: 9, seconds: 5.667, TFLOP/s/device: 134.924, …, loss: 10.374`
    "acc_iter",  # OpenPCDet's iterations accumulated over the epochs (`Train:   80/80 (100%) [ 959/960 (100%)]  Loss: …
    # Acc_iter 76800 …`), its epoch of the run's (`_PCDET_EPOCH`)
})
_STEP_TIME_KEYS = frozenset({
    "dt", "time", "step_time", "iter_time", "batch_time", "time_per_step", "iteration_time",
    "step_avg",  # modded-nanogpt's `step_avg:179.31ms`: the mean step time so far (its first steps `nanms`)
    "batch_cost",  # Paddle's (PaddleOCR, PaddleSeg, PaddleDetection): `batch_cost: 0.56066 s`, a batch's seconds
    "avg_batch_cost",  # PaddleOCR 2's and PaddleRec's: the same, averaged over the steps since the last line
})
_ELAPSED_KEYS = frozenset({"elapsed", "elapsed_time", "time_elapsed"})
_ETA_KEYS = frozenset({"eta", "remaining", "time_remaining", "remaining_time", "time_left", "eta_time"})
_TIME_WORDS = frozenset({"time", "elapsed", "duration", "runtime", "took", "latency"})
"""Words that make a key a time: its duration keeps the key's name (`took 1452 ms`); any other key's gets `_time`."""
_LABEL_KEYS = frozenset({
    "rank", "local_rank", "global_rank", "world_size", "pid", "node", "gpu", "device", "worker_id", "v_num",
})
_CANONICAL_NAMES = frozenset(CANONICAL.values())
_FINAL = patterns.compile(r"(?<![A-Za-z])(?:Final|final|FINAL)\b")
"""A line's word that it sums the run up (`Final Results: Loss=0.4886, PPL=1.63` after the Trainer-like loop's
`Final evaluation...`): a stepless line's loss there is the final evaluation's or an average, and read as a
training step it became the run's last loss (0.4886 shown where the last step said 0.4631, a review)."""
_KEYED = patterns.compile(r"[A-Za-z]['\"]?\s{0,3}[=:]\s{0,8}[-+.\d]")
"""A key's name and its number (`Loss=0.49`, `'loss': 2.1`), not a clock's digits (`14:29:20`)."""
_MEASURED_NAMES = _CANONICAL_NAMES - {"lr", "epoch", "step_time", "elapsed", "eta"}
"""Canonical names a line without a step must hold one of to be a record: what training measured (a
loss, a norm, a throughput). A learning rate or an epoch alone is what a run's header states of its plan,
and a time alone is any task's (nanochat's `Evaluating: coqa (0-shot, …)... accuracy: 0.19 | time:
18.90s` is no training step)."""
PLAN_KEYS = PLANNED_KEYS
"""Keys naming how many steps a run plans (runwatch.parsers.preamble.PLANNED_KEYS, as snake() spells them): a line
that states one without a step is the run's configuration (`Starting training: lr=0.0003 batch_size=32
max_steps=400`), never a step record; runwatch.parsers.preamble takes the number as the run's total when its step
lines state none."""
_FUNCTION_WORDS = frozenset({
    "a", "an", "the", "of", "to", "for", "from", "in", "on", "at", "by", "as", "with", "and", "or", "not", "is",
    "are", "was", "were", "be", "per", "than", "into", "after", "before", "since", "until", "vs", "over", "under",
    "about", "if", "when", "then", "so",
})
"""Words of prose, never a key nor a key's first word: `number of nan iterations`, `ran for 25624887`."""
_LOG_LEVELS = frozenset({"TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL"})
_BASIC_PREFIX = patterns.compile(r"(?:DEBUG|INFO|WARNING|ERROR|CRITICAL):[\w.]{1,100}:")
"""Python logging's default format (`logging.basicConfig()`: `%(levelname)s:%(name)s:%(message)s`) before the
message: `INFO:root:Epoch 0 - Average Loss: 1.5552, …` read as a key `INFO:root:Epoch`, and its `Evaluation Epoch 0
- Average Loss: …` as training, since the line did not start by saying it evaluates (a review)."""
_GLUED_LEVEL = patterns.compile(r"(?<![\w:])(?:DEBUG|INFO|WARNING|ERROR|CRITICAL):(?![\w.]{1,100}:)(?=[A-Za-z\[])")
"""A level glued to the message after the time (`%(asctime)s %(levelname)s:%(message)s`: `2023-05-15 22:50:17,398
INFO:Epoch 1: Train Loss=0.0717, Val Loss=0.0766`): read as a key `INFO:Epoch`, its number a metric `info_epoch`
and the line no step (a public EmoNetTCN log). Not a logger's name after it (`_BASIC_PREFIX`), nor a key's part
after another's colon (`grad_norm:INFO`)."""
_SOURCE_LINE = patterns.compile(r"[\w.-]{1,100}\.py\[line:\s?\d{1,7}\]|\[[\w.-]{1,100}\.py line:\s?\d{1,7}\]")
"""A logger's `%(filename)s[line:%(lineno)d]` (`2020-09-02 13:28:04,330 - train_net.py[line:177] - INFO: [Epoch
0][Batch 0], …`, a common format) or `[%(filename)s line:%(lineno)d]` (`[2021-01-08 17:45:50,306]-[train.py line:229]:
=== Epoch:[119/120],step:[100/197],…`, a review's YOLOv4 run): its number read as a metric `line`, the same on every
record (a review's GluonCV log)."""
_ASIDE_TEXT = r" ?\((?=[^()]{0,40}[A-Za-z])[^()=:\d]{0,40}(?:\d{1,9}[^()=:\d]{0,20})?\)(?=:)"
_ASIDE = patterns.compile(r"(?<=[A-Za-z])" + _ASIDE_TEXT)
"""A key's aside in brackets before its colon (`Training Loss (avg over last 100): 2.4486`, `Time (s): 3.2`): the
key read as none and the line as no record, a T5 run's 208 loss lines `no steps` (a review). Words, and at most one
number among them; not a unit's own pair (`loss (x=3):`) nor a bracketed value."""
_LOGURU_SITE = patterns.compile(r"\| (?:TRACE|DEBUG|INFO|SUCCESS|WARNING|ERROR|CRITICAL) {0,8}\| [\w.<>-]{1,120}:[\w<>.-]{1,120}:\d{1,7} - ")
"""loguru's default format after its time, `| INFO     | yolox.core.trainer:after_iter:253 - `: the level, and the module,
function and line the logger was called from, no metric (a review's YOLOX log read `yolox_core_trainer_after_iter = 253`
on every step)."""
_LEAD_COUNT = patterns.compile(r"\[\s{0,8}(\d{1,12})\s{0,3}/\s{0,3}(\d{1,12})\s{0,8}\]\s")
"""A count in brackets that opens the line, no epoch beside it: the run's iteration of its total, as
deep-text-recognition-benchmark's `train.py` prints it (`[2000/300000] Train loss: 1.34344, Valid loss: 6.06097,
Elapsed_time: 325.96895`: read with no step, a review's log of 17 launches, two of them to 300,000 iterations, read `no
steps`). Only beside a training loss: a validation's `[10/50] val_loss: 0.52 acc: 0.91` counts its own batches (read as
steps 10 and 50, the run "started again", a code review)."""
_QUOTED_KEY = patterns.compile(r"'([A-Za-z][\w./\-@]{0,60})'(?=:)")
"""A key in quotes among bare ones, outside a dict's braces (PaddleOCR 1.1: `epoch: 0, iter: 2, lr: 0.000001, 'loss':
nan, 'acc': 0.0, time: 2.346`): unquoted, its pair is read as any other (a quote before a key keeps `_PAIR` from taking
it, and the NaN loss of a review's run went unread), after a bare one. A dict's line (`{'loss': …}`) is a format's
own, and so is one of a dict printed a pair a line (`'eval_loss': 0.69,`)."""
_RATE_KEYS = frozenset({
    "it_s", "it_per_s", "it_per_sec", "iter_s", "iters_s", "iter_per_sec", "iters_per_sec", "steps_s",
    "step_s", "steps_per_sec", "steps_per_second",
})
"""Iterations per second: read as step_time = 1/value, as the progress-bar parser reads `4.50it/s`."""
_THROUGHPUT_KEYS = frozenset({"throughput", "speed", "tput", "rate"})
"""Keys that take their meaning from a rate unit after the value: `throughput: 12.5k tokens/s`."""
_RATE_UNITS = {"tokens/s": "tokens_per_sec", "tokens/sec": "tokens_per_sec", "tok/s": "tokens_per_sec",
               "tok/sec": "tokens_per_sec", "toks/s": "tokens_per_sec", "samples/s": "samples_per_sec",
               "samples/sec": "samples_per_sec"}
_MEMORY_WORDS = frozenset({"vram", "rss", "allocated", "reserved", "alloc"})
_SIZE_SUFFIXES = ("_gib", "_gb", "_mib", "_mb", "_kib", "_kb", "_bytes")
_WEAK_PARTS = frozenset({"it", "s", "per", "sec", "secs"})
"""Parts of keys in too many words to filter on (`s_per_it`): `it` is left to a token pattern."""


def _stems() -> list[str]:
    """One part of each key a line needs one of to be a record (a step key, or a key of a measured
    metric: `_MEASURED_NAMES`; a rate unit's `tok`/`samples`): a line mentioning none of them is rejected
    before the pair scan. A learning rate, an epoch or a time does not make a record alone, so their keys
    are no stems (`lr` was found inside `realruns`, a traceback frame's path). Keys of weak parts only
    (`it`, `s_it`) are left to the `it` token pattern."""
    keys = ({key for key, name in CANONICAL.items() if name in _MEASURED_NAMES} | (_STEP_KEYS - _WHOLE_STEMS)
            | _LONE_EVAL | {"episode"})  # an RL loop's lead count, its step where it states none (`parse`)
    stems: list[str] = []
    for key in sorted(keys, key=lambda k: (len(k), k)):
        parts = [part for part in key.split("_") if part not in _WEAK_PARTS]
        if parts and not any(stem in part for part in parts for stem in stems):
            stems.append(max(parts, key=len))
    return stems + sorted({w.replace("_", sep) for w in _WHOLE_STEMS for sep in "_/-"})  # as snake() reads them


_EVAL_MEASURES = frozenset({"loss", "perplexity", "ppl", "accuracy", "acc", "xent", "bleu", "f1", "psnr", "ssim",
                            "auc", "wer", "cer"}) | ERROR_MEASURES
"""What an evaluation measures, said alone on a line after its word: `validation loss: 3.0316`, OpenNMT-py's
`Validation perplexity: 5.45281` and `Validation accuracy: 44.6274` (two lines after each validation, read as
no record: a review's run showed no validation at all), chemprop's `Validation rmse = 34.998686` (a measure of error,
`model.ERROR_MEASURES`: a review's cross-validation runs showed none). Not any value: `val_interval: 500` is a
setting."""
_LONE_EVAL = frozenset(m for m in _EVAL_MEASURES if len(m) > 4) | {"mse", "mae"}
"""Of those, the stems of the pre-check (`_stems`): the long names (`perplexity`, `accuracy`), and the errors' `mse`
(in `rmse` too) and `mae`, which few words hold; the other short ones would be found inside other words, and `loss`
is a stem already."""
_WHOLE_STEMS = frozenset({"batch_id", "batch_idx", "num_updates"})
"""Step keys whose longest part is a common word (`batch` in `Total batch size 524,288`, `updates`): their
own stem, whole, or every line saying so went through the pair scan (kv's noisy log 11% slower)."""


# A part of a key that can make a record, in the lowercased line: a stem (parts match inside words too:
# `gradient`, `tok/sec`, `train_loss`) with a value after the rest of its key (its `:sub` parts, or one
# more word: `grad norm 1.2`), as `_PAIR` reads one; a rate unit after a number (`12.5k tokens/s`); or `it`
# as a word or a key's part (`it 5`, `it_s`, `it-s`, `sec_per_it:`), after a slash (`s/it`), or before `/s`
# (`2.5it/s`). A stem with no value after it (`faults.step_begin(it)`, `[step + 4]`: a traceback's frames)
# is passed over. Each alternative starts with a literal: a fast scan. Only a filter before the pair scan.
_VALUE_AFTER = (r"[\w./\-]*(?::[\w./\-]+){0,3}(?:\s{1,3}[a-z][\w./\-]*)?(?:" + _ASIDE_TEXT + ")?"  # an aside
                r"(?:\s{0,3}[=:]\s{0,8}\[?|\s{1,8})[-+]?(?:[.\d]|nan|inf|np\.|tensor\(|array\(|devicearray\(|tf\.tensor\(|<tf\.tensor|<tf\.variable)")
"""What `_PAIR` reads as a key's value after the key: up to 8 blanks after its `:` or `=` as there (BasicSR's and its
forebears' right-aligned `iter:     100`: a filter of 3 passed over every step below 1,000, its losses `l_pix`
known by no stem, and a review's run read its first step as 1000), in a one-element array's `[` or not; or the object
that holds the number, as `print` shows it (`loss: tensor(nan, grad_fn=<…>)`: numbers.held_numbers)."""
_TAILS = {
    **dict.fromkeys(_stems(), _VALUE_AFTER),
    "it": r"(?:/s|(?<=/it)|(?<![A-Za-z0-9.'\"]it)[\s=:_\-/])",
    **dict.fromkeys(("tok/s", "toks/s", "tokens/s", "samples/s"), ""),  # `12.5k tokens/s`: a rate unit's word
    **dict.fromkeys(("epoch(", "iter("), r"(?:val|test)\) {0,8}\["),  # mmengine's evaluation results (`_MMENGINE`)
    "progress on:": "",  # tqdm-loggable's line (`LOGGABLE`)
    "epoch: [": r"\d{1,9}(?:/\d{1,9})?\] {1,4}\[ {0,8}\d",  # `Epoch: [2/200]  [1800/4214]` (`_PPDET`): a place in the run
    "epoch [": r" {0,8}\d{1,9} {0,3}/ {0,3}\d{1,9} {0,8}\]",  # `Epoch [1/30] Train: 0.0962 | …` (`_EPOCH_OF`): the same
    # a bare heading (`epoch_heading`), to the line's end (the screen searches a block of lines at once)
    "epoch": r" {0,3}[:#]? {0,3}\[?\d{1,9}(?: {0,3}/ {0,3}\d{1,9}| of \d{1,9})?\]?[ \t=\-#*>~+.:!]{0,24}(?=[\r\n]|$)",
}
READS = Reads(lowered=patterns.compile(_by_first_letter(sorted(_TAILS), _TAILS)))
_mentions_known_key = READS.admits


def _error_measured(name: str) -> bool:
    """Whether a metric's name is a measure of error (model.ERROR_MEASURES) as its last word, and no best so far:
    `mae`, `val_rmse`; not a setting of one (`mse_weight`, `rmse_threshold`) nor a checkpoint's `best_mae`."""
    last = name.rpartition("_")[2]
    return last in ERROR_MEASURES and not name.startswith("best")


# What a key is, by its text as logged: (metric name, role, name for a duration value, its unit plans by
# unit). Cached: a log repeats its keys. Roles from _STEP_TIME on read durations only; from _ELAPSED on also
# read clocks.
_METRIC, _MEMORY, _RATE, _STEP, _SKIP, _STEP_TIME, _ELAPSED, _ETA, _TIMEISH = range(9)
# How a value with a unit is read: (metric name, multiply, divide, invert: a rate of iterations becomes a step
# time). No name: the unit leaves the number's meaning unknown, and no number beats a wrong one.
_Plan = tuple[str, float, float, bool]
_NO_PLAN: _Plan = ("", 1.0, 1.0, False)
_KEYS: dict[str, tuple[str, int, str, dict[str, _Plan]]] = {}
_KEYS_MAX = 4096


def _key(raw: str) -> tuple[str, int, str, dict[str, _Plan]]:
    if len(_KEYS) >= _KEYS_MAX:
        _KEYS.clear()
    base = _DEVICE_INDEX.sub("", raw)
    key = snake(base)
    name = metric_name(key)
    if not key or key in _LABEL_KEYS or _SOURCE_FILE.search(base) or len(raw) > MAX_KEY or key in _FUNCTION_WORDS:
        found = ("", _SKIP, "")
    elif key in _STEP_KEYS:
        found = (name, _STEP, name)
    elif key in _STEP_TIME_KEYS or name == "step_time":
        found = (name, _STEP_TIME, "step_time")
    elif key in _ELAPSED_KEYS:
        found = ("elapsed", _ELAPSED, "elapsed")
    elif key in _ETA_KEYS:
        found = (name, _ETA, "eta")  # `remaining 12` keeps its name: only a duration is surely an ETA
    elif key in _RATE_KEYS:
        found = ("step_time", _RATE, "step_time")
    elif not _TIME_WORDS.isdisjoint(key.split("_")):
        found = (name, _TIMEISH, name)
    elif any(part.startswith("mem") or part in _MEMORY_WORDS for part in key.split("_")):
        found = (name, _MEMORY, name)
    else:
        found = (name, _METRIC, name)
    entry: tuple[str, int, str, dict[str, _Plan]] = (*found, {})
    _KEYS[raw] = entry
    return entry


def _clause_key(head: str, key: str) -> str | None:
    """The key as it reads after `head` (the text since the previous pair, ending in a letter): itself after
    a log level, two words when the first starts the clause (one may start with a digit or two: a 3D
    reconstruction's main `3D loss`, dropped where its `reco loss` was read, a review), or None (prose)."""
    if key.lower() in _FUNCTION_WORDS:
        return None
    cut = max(head.rfind(" "), head.rfind("\t"))
    word = head[cut + 1:].lstrip("([{<*")  # `* (global step 50: loss: …` (lmqg's trainer): the clause's bracket
    if word in ("of", "in") and key in _OF_KEYS and (not (before := head[:cut].strip(" \t,;|")) or (
            word == "in" and before.lower() in _PHASES)):
        return key  # `batch 170 of epoch 1`: the epoch the count before it is within (its batch is the step); `TRAIN
        # in epoch 0 , step 50, loss = 3.67`: the epoch its step counts within (unread, each epoch's `step 0` read as
        # the run starting again, 24 times in a review's run of 25 epochs)
    if _logger_word(word):
        return key
    rest = head[:cut].rstrip() if cut >= 0 else ""
    if (rest and rest[-1].isalpha() and not _logger_word(rest[max(rest.rfind(" "), rest.rfind("\t")) + 1:])) \
            or not _WORD.fullmatch(word) or word.lower() in _FUNCTION_WORDS:
        return None  # the key ends a longer phrase
    return f"{word.lower() if word[0].isdigit() else word}_{key}"  # `3D loss` → `3d_loss` (not `3_d_loss`)


_AT_STEP = patterns.compile(
    r"(?<![\w.])(?P<name>[A-Za-z][A-Za-z_]{0,30}(?: [A-Za-z_]{1,30})?) (?:at|in global) (?:step|iter|iteration) {1,2}"
    r"(?P<step>\d{1,12}) {0,2}: {1,2}(?P<value>[-+]?\d)"
)
"""A measure said before the step it was taken at: TensorFlow's word2vec tutorial's `Average loss at step  2000 :
113.84` (and the many loops copied from it: `Average loss at step 1800: 1.676672 learning rate: 10.000000`), a TRPO
run's `Total reward in global step 33: 1.368` (its only reward, unread: a review). Read as `step 2000, Average loss:
113.84`."""


_OF_KEYS = frozenset({"epoch", "Epoch"})
"""Keys read after `of` where only separators came since the pair before (`batch 170 of epoch 1`), and after `in` where
a phase's word did (`TRAIN in epoch 0 , step 50`), not in a phrase (`best acc 0.91 achieved in epoch 3` is the best
epoch's, not this one's: a code review)."""
_PHASES = frozenset({*EVAL_WORDS, "train", "training", "testing", "validating", "evaluating"})
"""A phase's words: the evaluation's (`EVAL_WORDS`), training's, and their `-ing` forms."""


_SETTING_ENDS = ("_interval", "_every", "_freq", "_frequency")
"""How a setting's name ends: how often the run saves, evaluates or logs (`save_interval=4001` beside a pipeline's
`steps=4000` read as a step 4000 of a metric `save_interval`, each phase a restart, a review)."""


def _is_setting(key: str) -> bool:
    """Whether a metric's name is a setting of the run's: its planned steps or how often it does something."""
    return key in PLAN_KEYS or key.endswith(_SETTING_ENDS)


def _logger_word(word: str) -> bool:
    """Whether a word ends a logger's prefix, not a phrase: a level (`INFO`), or the source file `%(filename)s` names
    (`2024-06-14 18:45:08,384 train.py step     0 | loss: 11.03`: read as the phrase `train.py step`, a build-nanogpt
    run had no step and no validation loss, a review)."""
    return word in _LOG_LEVELS or (word.endswith(".py") and len(word) > 3)


_EVAL_LEAD = patterns.compile(
    rf"[^A-Za-z0-9\n]{{0,8}}({'|'.join((*EVAL_WORDS, 'validate', 'validating'))})\b"
    r"(?!\s{0,2}[=:]\s{0,2}[-+.\d])", re.IGNORECASE
)
"""A line that starts by saying it evaluates (`test epoch:0 || Loss:4.3688`, `Validation: loss=…`): what it
measures is the evaluation's, not training's (a review saw that test loss in the training `loss` series,
a comb of drops at every epoch's end). A `val: 0.5` is a key of its own. `Validate: [ 0/31]\tTime …\tLoss 2.4344e+00
(…)` (the ImageNet example's meters, renamed) is the validation's batch, not a training step (a review)."""


_LOGGER_LEAD = patterns.compile(
    r"\[?(?:(?:\d{4}-)?\d\d[-/]\d\d|\d\d/\d\d/\d{4})[ T]\d\d:\d\d:\d\d(?:[,.]\d{1,6})?\]?"
    r"(?:(?: - | {1,4})[\w.]{1,60}(?= - (?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\b))?"  # the cookbook's name, then level
    r"(?: - | {1,4})\[?(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\]?(?: - [\w.]{1,60}(?= - ))?(?: - |: | {1,4})"
)
"""Python logging's stamp, level and logger name before the message (`2024-09-02 20:39:12,123 - INFO - __main__ - `,
`09-02 20:39:12 - INFO - __main__ - `, the logging cookbook's `… - __main__ - INFO - `, the HF examples' `09/02/2024
20:39:00 - INFO - __main__ - `): the evaluation's word starts the message after it (`Val. Total Loss: 1.79, …`:
read as training, a graph autoencoder's validation loss was its `loss` every other line: a new user's review)."""


_SUBSET = patterns.compile(r"\| valid on '(\w{1,40})' subset \|")
"""fairseq's evaluation line (`2023-06-13 17:32:41 | INFO | valid | epoch 143 | valid on 'valid' subset | loss
12.677 | … | num_updates 40297`, or `| epoch 005 | valid on 'valid' subset | …` before 0.10): its loss is the
subset's, at that update. Read as training, fairseq's validation loss (12.7 beside a training loss of 3.1) made
a sawtooth of the loss chart at every epoch's end (a new user's review)."""


_PARTIAL_PASS = patterns.compile(r"\| Epoch \d{1,9} \| (\d{1,9})/(\d{1,9}) \| ")
"""Where flashy's progress logger (Demucs, AudioCraft) says how far a pass is, `Valid | Epoch 19 | 1/3 | 0.29 it/sec |
Loss 0.1171 | …`: an evaluation's line before its last batch is a running average of part of it, and its result is
the `Valid Summary | Epoch 19 | Loss=0.1196 | …` line after it. Read as results, the partial averages of an evaluation
of five models rose within each validation and made a false `overfit` alert (a review)."""


_GLUED_BAR = patterns.compile(r"(?:it/s|s/it)\]")
"""The end of a progress bar's frame, postfix-less, that a line was printed after on the same line: Lightning's
validation bar (`Validation: |          | 0/? [00:00<?, ?it/s]`) before its logger's `Epoch 79: v_loss 1.186e+00
loss 5.671e-01`, whose training loss read as `val_loss` (a review). The word that leads the bar is the bar's."""


_GLOG = patterns.compile(GLOG_PREFIX)
"""A glog-style prefix (`I0724 10:58:34.123456 12345 trainer.cc:163] `, or a Python logger writing it so,
`I20250724 10:58:34 1 unic helpers.py:163] `): where a line's own text starts, for `_evaluates` (a review saw a
distillation run's `Test - Epoch: [0/200]  [ 0/1934] … loss/…: 0.2058` lines read as its training steps)."""


_CLU_STEP = patterns.compile(r"\[(\d{1,12})\] (?=[A-Za-z_][\w/.-]{0,100}=[-+.\w])")
"""The step CLU's `LoggingWriter` writes its scalars at (`[%d] k=v, k=v`, the keys in order, after absl's prefix,
`_clu_step`): the Flax examples' training and evaluation lines (`[2000] train_accuracy=0.374, train_loss=3.729`, `[2000]
eval_loss=3.199, …`) and their pace every minute (`[1145] steps_per_sec=13.5451`). Read with no step, a Flax run's
losses were steps of none, its steps unknown, and `check` found a stall where the run went on (a new user's review)."""


_DIVERGED = patterns.compile(r"(?:^|[:\]] ?)Model diverged with loss = NaN\.?\s*$")
"""TensorFlow's `NanTensorHook` (every Estimator's, TF-slim's, tensor2tensor's), where the loss it watches is NaN: it
logs `Model diverged with loss = NaN.` (at ERROR, then raises `NanLossDuringTrainingError`; at WARNING with
`fail_on_nan_loss=False`, then stops the run), often between two logged steps, where no logged loss is NaN: a loss of
NaN after the last step logged (a real run's NaN between its steps 200 and 300 read `OK`, a new user's review). The
whole message after a logger's prefix: a tip quoting it (`Tip: if TensorFlow says 'Model diverged with loss = NaN.',
lower --learning_rate.`) is none (a code review)."""
_WORK_UNIT = patterns.compile(r"Setting work unit notes: (?:(\d{1,9}(?:\.\d{1,6})?) steps/s, )?\d{1,3}(?:\.\d{1,6})?% "
                        r"\((\d{1,12})/(\d{1,12})\)(?:, ETA: ((?:\d{1,6}d)?(?:\d{1,2}h)?\d{1,2}m))?")
"""CLU's `ReportProgress` (the Flax examples' pace, every minute): `Setting work unit notes: 13.5 steps/s, 0.2%
(1145/500000), ETA: 10h13m (4m : 3.5% data, 84.2% train_step)`: the step, the run's planned steps, the pace and the
ETA (the Gemma example's total of 500,000 unread, its `check` `no steps`, a new user's review)."""


def _work_unit(m: re.Match[str], text: str) -> Record:
    """The step record of CLU's progress note (`_WORK_UNIT`): a pace of 0 steps/s (its first note) is no step time."""
    metrics: dict[str, float] = {}
    if m[1] is not None and (rate := float(m[1])) > 0:
        metrics["step_time"] = 1.0 / rate
    if m[4] is not None:
        metrics["eta"] = spelled_seconds(m[4]) or 0.0  # `10h13m`, `1d17m`: the regex admits only what it reads
    return Record(Kind.STEP, step=int(m[2]), total_steps=int(m[3]), metrics=metrics, t=logging_time(text))


def _clu_step(line: str) -> int | None:
    """The step of a line CLU's writer wrote (`_CLU_STEP`), else None: only after absl's prefix, as Python's logging
    writes it (`INFO:absl:`) or glog's naming CLU's writer (`… logging_writer.py:48] `). A loop's own logger writing
    each rank in brackets (`INFO:__main__:[1] loss=2.51, lr=0.001`) counts no steps by them (read as steps, two ranks
    were 59 restarts and a divergence unjudged, a code review)."""
    if line.startswith("INFO:absl:"):
        at = 10
    elif (glog := _GLOG.match(line)) is not None and "logging_writer.py:" in glog[0]:
        at = glog.end()
    else:
        return None
    m = _CLU_STEP.match(line, at)
    return None if m is None else int(m[1])


def _lone_eval_measure(metrics: dict[str, float]) -> bool:
    """Whether a line's one metric is an evaluation's measure (`val_loss`, `validation_perplexity`: `_EVAL_MEASURES`)."""
    if len(metrics) != 1:
        return False
    word, _, measure = next(iter(metrics)).partition("_")
    return word in EVAL_WORDS and measure in _EVAL_MEASURES


_RUNNING_BEST = ("best", "min", "max", "lowest")
"""How a running best's name starts (`best_loss`, `min_val_loss`): a value kept, not one measured now."""


def _names_own_loss(name: str) -> bool:
    """Whether a metric's name is a loss measured now (`loss`, `rl_loss`, `epoch_loss`), not a running best."""
    return (name == "loss" or name.endswith("_loss")) and not name.startswith(_RUNNING_BEST)


def _lone_loss(metrics: dict[str, float]) -> bool:
    """Whether a line's one metric is training's loss (`loss`, `epoch_loss`; no evaluation's, no best so far): alone
    on its line after a bare epoch heading, it is that epoch's (a review's Faster R-CNN loop: `EPOCH 1 of 30`, then
    `EPOCH loss: 0.5358…` as it ends, read `UNREAD`, exit 3)."""
    if len(metrics) != 1:
        return False
    name = next(iter(metrics))
    return _names_own_loss(name) and name.partition("_")[0] not in EVAL_WORDS


def _sums_up(text: str) -> bool:
    """Whether the line says `Final` (`_FINAL`) before its first `key: number` (a logging time's digits before
    it are no pair: `2025-10-02 14:29:20,335 - INFO - Final Results: Loss=0.4886`)."""
    if "inal" not in text and "FINAL" not in text:
        return False
    final = _FINAL.search(text)
    if final is None:
        return False
    keyed = _KEYED.search(text, 0, final.start())
    return keyed is None


def _evaluates(text: str) -> str | None:
    """The word a line that evaluates starts with (`_EVAL_LEAD`), lowercased, after any glog-style prefix (`_GLOG`);
    `valid` or `test` for fairseq's `valid on '<subset>' subset` anywhere in it."""
    if text[:1] in "IWEF" and (g := _GLOG.match(text)) is not None:
        text = text[g.end():]
    elif (text[:1].isdigit() or text[:1] == "[") and (g := _LOGGER_LEAD.match(text)) is not None:
        text = text[g.end():]
    lead = _EVAL_LEAD.match(text)
    if lead is not None:
        bar = _GLUED_BAR.search(text, lead.end()) if "it/s]" in text or "s/it]" in text else None
        if bar is not None and text[bar.end():].strip():
            return _evaluates(text[bar.end():].lstrip())  # the word is a glued bar's (see `_GLUED_BAR`)
        return lead[1].lower()
    subset = _SUBSET.search(text) if "subset |" in text else None
    if subset is not None:
        return "test" if subset[1].startswith("test") else "valid"
    if text.startswith(_AVERAGED_STATS) and " lr: " not in text:
        return "test"
    if _ESTIMATOR_EVAL in text:
        return "eval"
    if "valuating " in text and (split := _EVALUATING_SPLIT.search(text)) is not None:
        return split[1].lower()
    if any(word in text for word in _PHASE_WORDS) and (after := _PHASE_AFTER.search(text)) is not None and (
            _TRAINING_AFTER.search(text, after.end()) is None):
        return after[1].lower()
    return None


_PHASE_AFTER = patterns.compile(r"\b(?:epoch|step|iter|iteration)\s{0,2}[:=]?\s{0,2}\d{1,12}\s{1,3}"
                          r"(val|valid|validation|eval|evaluation|test)(?:\s{0,2}[,:|]|\s{1,3}(?=[A-Za-z]\w{0,40}:))",
                          re.IGNORECASE)
"""A phase's word right after the count it is at, before the line's values: `epoch: 0 validation, acc: 0.60, loss:
2.15` (its `epoch: 0 end, loss: 2.17` the training's; the validation loss read into the training's, a review), or
before its first key: PaddleVideo's `END epoch:1   val loss_avg: 3.62249 top1_avg: 0.14896 … avg_batch_cost: 0.03663
sec` (its epoch's `train loss_avg:` line the training's)."""
_EVALUATING_SPLIT = patterns.compile(r"\b[Ee]valuating (train|test|val|valid|validation)\s{0,2}:")
"""An evaluation of a split said after the line's count: 3D Gaussian Splatting's `[ITER 7000] Evaluating test: L1
0.0106 PSNR 31.36` (and `Evaluating train:` on its training views, `eval_train_*`), read as a training step's measures.
Not a task's name (nanochat's `Evaluating: coqa …`)."""
_TRAINING_AFTER = patterns.compile(r"\b(?:train|training)\b", re.IGNORECASE)
"""Training's word after a phase's (`Epoch 5 Val Loss: 0.30 Train Loss: 0.20`): the line holds both phases, no
evaluation's alone (read as one, the training loss became a second `val_loss`, dropped, and its NaN unjudged: a code
review)."""
_PHASE_WORDS = (" val", " Val", " VAL", " eval", " Eval", " test", " Test")


_ESTIMATOR_EVAL = "Saving dict for global step "
"""TensorFlow's Estimator after `evaluate`: `INFO:tensorflow:Saving dict for global step 5468: eval_accuracy =
0.8500477, eval_auc = 0.68875444, eval_loss = 0.7216634, global_step = 5468, loss = 0.7218847`, each value the
evaluation's, its `loss` too. Read as training, a review's BERT run's loss went from 0.017 to 0.72 at its last step."""


_AVERAGED_STATS = "Averaged stats: "
"""torchvision's MetricLogger (DETR, DeiT, MAE) at the end of `train_one_epoch` and of `evaluate`: the training's has the
`lr` meter, the evaluation's has none. Read as training, DETR's test loss (54.99 after training's 34.85) went into
the loss series every epoch (a review)."""


_WITHIN = patterns.compile(
    r"(?<![\w./])(\d{1,12}) ?/ {0,3}(\d{1,12})"
    r"(?:\]| \( {0,3}\d{1,3}(?:\.\d{1,2})?%\)\]| (?:batches|steps|iters|iterations)\b)"
)
"""A line's place in its epoch where no step key says it: a count in brackets (`Train Epoch: 1 [640/60000
(1%)]`, PyTorch's MNIST example, in samples; timm's `Train: 0 [  50/10009 (  0%)]`, whose `Train: 0` is the
epoch) or before a count word (`| epoch   1 |   200/ 2983 batches |`, its word-language-model example)."""


def _within(text: str, placed: int, metrics: dict[str, float]) -> re.Match[str] | None:
    """`_WITHIN` from `placed`, passing over the epoch's own count (`[epoch 0/15] average loss: 1.145`, lmqg's
    summary of an epoch, read as step 0 of 15 among its `global step 50` lines: the run "started again")."""
    m = _WITHIN.search(text, placed)
    if m is not None and "epochs" in metrics and (float(m[1]), float(m[2])) == (metrics["epoch"], metrics["epochs"]):
        m = _WITHIN.search(text, m.end())
    return m


_EPOCH_OF = patterns.compile(r"\b[Ee]poch:? ?\[ {0,8}(\d{1,9}) {0,3}/ {0,3}(\d{1,9}) {0,8}\]")
"""PaddleOCR's `epoch: [1/72], iter: 10, lr: …`: the epoch of the run's 72 (its `iter` counts across them);
PaddleVideo's `epoch:[  1/25 ] train step:100  loss: 3.45068`, whose step counts within the epoch
(runwatch.parsers.epochs makes it global: without the epoch, its 25 epochs read as 24 restarts, a review); a
loop's epoch summary `Epoch [1/30] Train: 0.0962 | Val: 0.0991 | 457.0s | LR: 0.001000` (its epochs were
read as no record, or its first as epoch 9 of a bar's, a review)."""
_PCDET_EPOCH = patterns.compile(r"\bTrain: {1,8}(\d{1,9})/(\d{1,9}) \( {0,2}\d{1,3}%\) \[")
"""OpenPCDet's epoch of the run's before its batch of the epoch's: `Train:   80/80 (100%) [ 959/960 (100%)]` (read as a
metric `train`, 80, and no step, a review; its step is its `Acc_iter`)."""
_TIMM_TRAIN = patterns.compile(r"\bTrain: (\d{1,9}) \[ {0,8}\d")
"""timm's `Train: 0 [  50/10009 (0%)]`: the value of `Train` is the epoch, the count after it its batch."""
_TIMM_TEST = patterns.compile(r"Test(?P<ema> \(EMA\))?: \[ {0,8}(?P<at>\d{1,9})/(?P<last>\d{1,9})\]")
"""timm's `validate`: `Test: [ 390/390]  Time: 1.319 (1.406)  Loss:  6.6085 (6.7094)  Acc@1:  0.0000 ( 0.0820)  …`
every few batches, each meter's batch value then its average so far, and the last batch's line (its count at the last
index) holds the evaluation's result, the averages; `Test (EMA):` the same of the EMA weights. Read as any line, each
batch's values were evaluations (`test_acc1` 0, the last batch's, where the run's was 72.632, a review's ImageNet run),
and the EMA's were mixed with the model's."""
_AVERAGED_METER = patterns.compile(
    rf"(?P<name>[A-Za-z][\w@]{{0,30}}): {{1,12}}(?:{NUMBER_TEXT}) {{1,4}}\( {{0,12}}(?P<average>{NUMBER_TEXT}) {{0,8}}\)")
"""A meter of timm's: `Loss:  6.6085 (6.7094)`, its value right-aligned (`Loss:     nan (   nan)`: a NaN pads further)."""
_PPDET = patterns.compile(
    r"[Ee]poch: \[(\d{1,9})(?:/(\d{1,9}))?\](?:; inner epoch \[(\d{1,9})\])? {1,4}\[ {0,8}(\d{1,12})/(\d{1,12})\]")
"""PaddleDetection's `ppdet.engine INFO: Epoch: [71] [400/464] learning_rate: 0.000100 … loss: 9.145962`: epoch
71 (from 0), iteration 400 of its 464 (a review: `no steps`); LAVIS's (BLIP-2's) MetricLogger, `Train: data epoch: [0]
[  50/1000]  eta: …  loss: …`, and its iteration runner's `Train: data epoch: [0]; inner epoch [3]  [   50/10000]`, whose
inner epoch counts the run's iterations by `iters_per_inner_epoch` (read with no step, a review's BLIP-2 run `no
steps`)."""
_EPOCH_AT = patterns.compile(r"\bEpoch (\d{1,9})\[(\d{1,12})/(\d{1,12})\]: ")
"""A PaddlePaddle loop's `Epoch 30[4816/5011]: loss:0.01737, lr:0.00000, batch time:0.3103, …` (CSRA-Paddle's): epoch
30, its 4816th sample of 5011 (it counts samples, a batch of 16 at a time). Read by no count, its 115 losses had no
step (`no steps`, a review)."""
_LEADING_COUNT = patterns.compile(r"(\d{1,12}) \[[A-Za-z]")
"""A count alone before the first bracketed pair: Keras-GAN's `print("%d [D loss: %f, acc.: %.2f%%] [G loss: %f]" %
(epoch, …))`, its training iteration (a review: three GAN logs of 1000 iterations, the discriminator at 100% and the
generator's loss at 0.0016, read as nothing)."""
_PIPED = patterns.compile(
    r"\bEpoch:\[ {0,8}(\d{1,9}) {0,8}\| {0,8}(\d{1,9}) {0,8}\] {1,8}Batch:\[ {0,8}(\d{1,12}) {0,8}\| {0,8}(\d{1,12}) {0,8}\]")
"""A YOLOv3 trainer's count (Peterisfar/YOLOV3 and the repositories copied from it: `Epoch:[ 0 | 19 ]    Batch:[ 100 |
2068 ]    loss_giou: 5.6838 … loss: 95.9357    lr: 0.0001`): epoch 0, whose last is 19 (it prints `epochs - 1`), and
the batch of the epoch's 2068: the run's step is epoch × 2068 + batch, of 20 × 2068. Without it the losses had no
step, and the validation's tqdm bar after each epoch (`0/4952 … 4952/4952`) read as the run, at "step 74280" (a
review)."""
_SPEEDOMETER = patterns.compile(r"\b(?:Epoch|Iter)\[(\d{1,9})\] ?Batch ?\[(?:\d{1,12}-)?(\d{1,12})\]\s")
"""MXNet's `Speedometer` callback (Module.fit, and the detection and face projects that copy it): `INFO:root:Epoch[0]
Batch [20]\tSpeed: 142.33 samples/sec\taccuracy=0.562500`, since MXNet 1.3 `Batch [0-20]` (the batches since the last
line), before it `Iter[0]` for the epoch: batch 20 of epoch 0, which runwatch.parsers.epochs makes the run's step (it
counts from 0 in each epoch; the epoch's length is stated nowhere). Unread, a review's ten epochs of ResNet were 310
stepless records (`no steps`: no stall, no ETA)."""
_MMCV = patterns.compile(r"\b(?:Epoch \[(\d{1,9})\]\[ {0,8}(\d{1,12})/(\d{1,12})\]|Iter \[ {0,8}(\d{1,12})/(\d{1,12})\])(?=\s)")
"""OpenMMLab's mmcv 1.x text logger (MMDetection 2.x, MMSegmentation 0.x, MMPose 0.x and the projects built on
them): `- mmdet - INFO - Epoch [1][50/1220]\tlr: 2.500e-04, eta: …` (epoch 1, iteration 50 of its 1220) or
`Iter [100/8000]\t…` (an iteration of the run's); mmengine's `Epoch(train) [1][50/1220]` is `_MMENGINE`'s. Read
as pairs only, the counter was no step: a run logging every 18 minutes read `no steps` and a critical stall (a
new user's review)."""
_PER_ITER = patterns.compile(r"(?<![\w.:=])(\d{1,9}(?:\.\d{1,6})?) ?(ms|s|sec)/(?:iter|it|step|batch)\b")
"""A step time said by its unit alone, no key (`[train] iter 20: loss 8.3995 2271 ms/iter`, a nanoGPT fork): read
where nothing else gave one (a review saw its note say no step line carries a step time)."""
_DAYS = patterns.compile(r"\b[Ee][Tt][Aa]: (\d{1,6} days?, \d{1,2}:\d\d:\d\d)\b")
"""A remaining time as Python prints a `timedelta` of a day and more (mmcv's and detectron2's `eta: 30 days,
14:24:49`, YOLOX's `ETA: 3 days, 23:23:55`): the pair scan read `eta` as 30 seconds (YOLOX's as 3, a review)."""
_AVERAGED = frozenset({"average_loss", "avg_loss", "ave_loss", "mean_loss"})
_PER_STEP = {"ms_batch": 1e3, "ms_step": 1e3, "ms_iter": 1e3, "ms_it": 1e3, "s_batch": 1.0, "s_step": 1.0}
"""Keys that name a step time's unit (`ms/batch 11.61`) → what the value is divided by for seconds."""


_HEADING_NAMES = frozenset({"epoch", "epochs"})
"""All a bare epoch heading's line reads as (`Epoch 3/100`, or a word and its epoch: `Starting epoch 1/5`,
`starting_epoch`): the only refused lines tried as one (`_heading`)."""
_SPLIT_LOSS = {"train": "eval_train_loss", "val": "val_loss", "valid": "val_loss", "test": "test_loss"}
"""A split's name alone as a key on an evaluation's line: its loss (a review saw `val_val` and `val_train`)."""


def _timm_averages(head: re.Match[str], text: str) -> dict[str, float]:
    """The averages of timm's meters on an evaluation's line (`_TIMM_TEST`), the EMA's named `ema_…`; none on a line of
    that head without them, which is read as any line (the ImageNet example's `Test: [310/313]\tLoss 7.3541e+00 (…)`,
    a loop's `Test: [5/300] loss: 0.5`: a code review)."""
    metrics: dict[str, float] = {}
    for m in _AVERAGED_METER.finditer(text, head.end()):
        value = parse_number(m["average"])
        if value is not None:
            metrics.setdefault(metric_name(("ema_" if head["ema"] else "") + m["name"]), value)
    return metrics


def _loggable(m: re.Match[str], text: str) -> Record | None:
    """The step of a tqdm-loggable line (`LOGGABLE`): its count, total, step time, clocks and postfix's values."""
    if m["desc"] and _evaluates(m["desc"]) is not None:
        return None  # an evaluation's bar (`Progress on:eval …`)
    per = m["per"] or ""
    unit = m["unit"] or (per[2:] if per.startswith("s/") else per[:-2])
    if m["n"] == "-" or (unit and unit not in STEP_UNITS):
        return None  # no step taken yet (`-/300`: the total, `loggable_planned`), or a bar of bytes or samples
    n, scale = m["n"], m["scale"]
    step = round(float(n) * SI[scale]) if scale else int(float(n))
    if step <= 0:
        return None
    metrics: dict[str, float] = {}
    for pair in m["postfix"].split(", ") if m["postfix"] != "-" else ():
        key, eq, raw = pair.partition("=")
        value = parse_number(raw.strip()) if eq else None
        if value is not None and key.strip():
            metrics[metric_name(snake(key.strip()))] = value
    rate = float(m["rate"].replace(",", "")) if m["rate"] else 0.0
    if rate > 0:
        metrics["step_time"] = rate if per.startswith("s/") else 1.0 / rate
    for key, clock in (("elapsed", m["elapsed"]), ("eta", m["remaining"])):
        if (secs := clock_seconds(clock)) is not None:  # tqdm's `?`: no remaining time yet
            metrics[key] = secs
    total = None
    if m["total"] != "-":
        total = round(float(m["total"]) * SI[m["total_scale"]]) if m["total_scale"] else int(float(m["total"]))
    if scale and (n, scale) == (m["total"], m["total_scale"]) and total:
        # the bar at its end, as its closing line draws it (`1.50kit/1.50kit`, no time remaining); before it, the
        # last half unit prints the same (`200kit/200kit`, 199,500 on): a step below the total, else a run still
        # training for minutes read `finished` (a review)
        step = total if metrics.get("eta", 0.0) == 0.0 else total - 1
    elif scale:  # three digits shown: the step within half the last digit's unit (runwatch.parsers.rounded)
        metrics[ROUNDED] = SI[scale] * 10.0 ** (len(n.partition(".")[0]) - 3)
    return Record(Kind.STEP, step=step, total_steps=total or None, metrics=metrics, t=logging_time(text))


def _timm_result(head: re.Match[str], averages: dict[str, float], text: str) -> Record | None:
    """timm's evaluation line: none before its last batch (its averages so far are no result); at it, an EVAL record of
    the averages, at the run's step."""
    if int(head["at"]) < int(head["last"]):
        return None
    return Record(Kind.EVAL, metrics=_evaluated(averages, "test"), t=logging_time(text))


def _evaluated(metrics: dict[str, float], word: str) -> dict[str, float]:
    """An evaluation line's metrics under evaluation names (`loss` → `test_loss` after `test`, `eval_train_loss`
    after `train` (an evaluation on the training split), `val_loss` after the others); its epoch (`test epoch:0`,
    PaddleVideo's `END epoch:1   val loss_avg: …`) stays the epoch."""
    prefix = "test_" if word == "test" else "eval_train_" if word == "train" else "val_"
    out: dict[str, float] = {}
    for name, value in metrics.items():
        if name in _SPLIT_LOSS:  # `[eval] iter 8000: train 1.9710 val 2.3993` (nanoGPT's estimate_loss): each split's loss
            name = _SPLIT_LOSS[name]
        elif name in ("epoch", "epochs", f"{word}_epoch", "end_epoch") or is_eval_metric(name):
            name = "epoch" if name.endswith("_epoch") else name
        elif name in _AVERAGED and "loss" not in metrics:
            name = metric_name(prefix + "loss")  # `Test set: Average loss: 0.0485` (PyTorch's MNIST example)
        else:
            name = metric_name(prefix + name)
        out.setdefault(name, value)
    return out


_MMENGINE = patterns.compile(
    r"\b(Epoch|Iter)\((train|val|test)\) {0,8}\[ {0,8}(\d{1,15})(?: {0,8}/ {0,8}(\d{1,15}))? {0,8}\]"
    r"(?:\[ {0,8}(\d{1,15}) {0,8}/ {0,8}(\d{1,15}) {0,8}\])?"
)
"""OpenMMLab's mmengine logger (MMDetection, MMSegmentation, MMPose, MMPretrain 3.x): `Iter(train) [ 100/8000]`
(an iteration of the run's), `Epoch(train)   [1][ 1/43]` (an epoch and the iteration in it), and the same for
`val` and `test`, before the line's `key: value` pairs."""
_MM_PROGRESS = frozenset({"eta", "step_time", "data_time", "memory", "memory_gib", "elapsed"})
"""What an mmengine line says of its own progress, not of the model: an evaluation's batch lines hold only these."""


def _eval_count(name: str) -> str | None:
    """The evaluation word of a key that counts an evaluation's batches (`val_step`, `eval_iter`, `test_step`):
    a line that counts with it is the evaluation's, its metrics the evaluation's (`_EVAL_COUNTS`). PaddleVideo logs its validation
    as it logs training (`epoch:[  1/25 ] val step:0    loss: 3.27431 top1: 0.125 …`), and its validation loss
    went into the training `loss` series (a review); None for any other key."""
    word, _, key = name.partition("_")
    return word if word in EVAL_WORDS and key in _EVAL_COUNTS else None


_EVAL_COUNTS = frozenset({"step", "iter", "iteration"})
"""What counts an evaluation's batches after its word: one batch (`val step:0`), never a setting (`eval_steps=500`)."""


def _mmengine(mm: re.Match[str], metrics: dict[str, float], t: float) -> Record | None:
    """An mmengine line's record. Training: step and total from its counter (an epoch's iteration for
    `Epoch(train) [e][n/N]`, which runwatch.parsers.epochs makes global, the epoch kept as `epoch`).
    Evaluation: its batch lines (`Epoch(val) [5][ 1/22]  eta: … time: …`) give nothing, its last (`[22/22]`)
    the results, as evaluation metrics (`coco/bbox_mAP` → `val_coco_bbox_map`, `aAcc` → `val_aacc`); so does
    mmcv 1.x's results line, the only one it prints of an evaluation, whose counter has no `/` (a review: the
    mAP of an MMDetection 2.x run was not read).
    Read without it the counter was no step at all: a run stopped at 2600 of 8000 read `no steps`, OK (a
    new user's review)."""
    epoch: float | None = None
    if mm[1] == "Epoch":
        epoch, n, of = float(mm[3]), mm[5], mm[6]
    else:
        n, of = mm[3], mm[4]
    if mm[2] != "train":
        measured = {k: v for k, v in metrics.items() if k not in _MM_PROGRESS}
        if not measured or (of is not None and n is not None and int(n) < int(of)):
            return None  # an evaluation's progress
        # mmengine's last batch line (`[22/22]`), or mmcv 1.x's one line of results after the evaluation, whose
        # counter has no `/` (`Epoch(val) [1][200]\tbbox_mAP: 0.0310, …`, `Iter(val) [16000]\taAcc: …`)
        out = _evaluated(measured, mm[2])
        if epoch is not None:
            out["epoch"] = epoch
        return Record(Kind.EVAL, metrics=out, t=t)
    if epoch is not None:
        metrics = {"epoch": epoch, **metrics}
    step = int(n) if n is not None else None
    total = int(of) if of is not None and step is not None and 0 <= step <= int(of) else None
    return Record(Kind.STEP, step=step, total_steps=total, metrics=metrics, t=t)


_TRAINING_OWN = frozenset({"lr", "grad_norm", "step_time", "data_time", "elapsed", "eta", "epoch_time"})
"""What no evaluation's line states of it: a line with one of these is training's, whatever its loss is named."""


def _evaluation_of(metrics: dict[str, float]) -> str | None:
    """The split (`test`, `val`) whose loss is the only loss of a line with no step, no epoch, no lead word and
    nothing of training's (`_TRAINING_OWN`): the line's other measures are that evaluation's (`avg. test_loss nan avg.
    Accuracy@1 0.003 - avg. Accuracy@5 4.279`: `test_accuracy1`; read as a training step beside it, the NaN test
    loss of an I-JEPA fork's evaluation went unjudged). None otherwise."""
    words = set()
    for name in metrics:
        if name in _TRAINING_OWN or name.endswith("_time") or "epoch" in name or name.startswith("train"):
            return None
        if "loss" in name:
            if name not in ("test_loss", "val_loss"):
                return None
            words.add(name[:-5])
    return words.pop() if len(words) == 1 else None


def _kind(metrics: dict[str, float]) -> Kind:
    """EVAL when every metric but the epoch and a time (a step time, the clock: modded-nanogpt's
    `step:125/5100 val_loss:5.4789 train_time:19493ms step_avg:169.51ms`) is an evaluation one, else STEP."""
    evals = False
    for name in metrics:
        if name not in ("epoch", "epochs", "step_time", "elapsed") and not name.endswith("_time"):
            if not is_eval_metric(name):
                return Kind.STEP
            evals = True
    return Kind.EVAL if evals else Kind.STEP


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:  # thousands separators (`1,051,311`): the pattern admits nothing else float() refuses
        return float(text.replace(",", ""))


def _gib_name(name: str) -> str:
    """`memory` → `memory_gib`, `mem_gb` → `mem_gib`: the name says the unit the value was converted to."""
    for suffix in _SIZE_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return f"{name}_gib"


def _plan(plans: dict[str, _Plan], name: str, role: int, timed: str, unit: str, word: str) -> _Plan:
    """The plan for a key's unit, kept with the key (a key is logged with few units)."""
    if len(plans) >= 16:
        plans.clear()
    plan = plans[f"{unit} {word}" if word else unit] = _unit_plan(name, role, timed, unit, word)
    return plan


def _unit_plan(name: str, role: int, timed: str, unit: str, word: str) -> _Plan:
    """The plan for a value glued to `unit` and/or followed by the unit `word` (none: a rate key's value)."""
    mul = 1.0
    if word:
        if unit:  # `12.5k tokens/s`: only a count may come before a unit word
            if word not in _RATE_UNITS or unit not in SI:
                return _NO_PLAN
            mul = SI[unit]
        unit = word
    if not unit:  # `it/s=2.5`
        return ("step_time", 1.0, 1.0, True)
    if unit == "it/s" or unit == "s/it":
        return _NO_PLAN if role == _STEP else ("step_time", 1.0, 1.0, unit == "it/s")
    if role >= _STEP_TIME:
        seconds = SECONDS.get(unit)
        return _NO_PLAN if seconds is None else (timed, seconds[0], seconds[1], False)
    if unit in _RATE_UNITS:
        if role != _METRIC and role != _MEMORY:
            return _NO_PLAN
        return (_RATE_UNITS[unit] if name in _THROUGHPUT_KEYS else name), mul, 1.0, False
    if unit == "%":
        return (name, 1.0, 1.0, False) if role == _METRIC or role == _MEMORY else _NO_PLAN
    if role == _MEMORY:
        size = GIB.get(MEMORY_LETTERS.get(unit, unit))
    else:
        size = GIB.get(unit) if unit != "B" else None  # `300B` tokens are billions, not bytes
    if size is not None:
        return _NO_PLAN if role == _STEP or role == _RATE else (_gib_name(name), size[0], size[1], False)
    scale = SI.get(unit)
    if scale is not None:
        return name, scale, 1.0, role == _RATE
    if role == _METRIC and unit != "m":  # `fwd: 652ms` is a time; `m` is minutes or milli
        seconds = SECONDS.get(unit)
        if seconds is not None:  # named for what it is: NoProp's `| train 2.5s` beside its loss is no `train`
            # metric (an accuracy?) but a train time; Paddle's `reader_cost: 0.00042 s` says so already
            return name if "cost" in name.split("_") else f"{name}_time", seconds[0], seconds[1], False
    return _NO_PLAN


_VISUALIZER = patterns.compile(
    r"(?:^|\] )\(epoch: \d{1,9}, iters: \d{1,12}, time: [-+.\deE]{1,24}, data: [-+.\deE]{1,24}\) ")
"""pytorch-CycleGAN-and-pix2pix's `Visualizer.print_current_losses` (and the trainers built on it): the header
`(epoch: 1, iters: 100, time: 1.294, data: 0.907) `, then every loss its model computes by the name the model gives it
without its `loss_` (`G_GAN: 1.234 G_L1: 23.456 D_real: 0.456 D_fake: 0.567`; its DDP version prints `[Rank 0] ` first
and a comma before each). Those names say no loss (`D_A`, `cycle_A`): a NaN in one was no loss's, unjudged, and beside
a progress bar the line was no loss at all, unread (a new user's review). They get their `loss_` back (`loss_d_a`)."""
_VISUALIZER_OWN = frozenset({"epoch", "epochs", "step_time", "data_time"})
"""What the header states of the iteration: no loss."""


def _own_loss_first(metrics: dict[str, float], pairs: int, step: int | None) -> bool:
    """A line that opens with a loss by a name of its own (`rl_loss: -0.0027, time: 109.08, l2_norm: 0.141,
    token_entropy: 0.819`, a GRPO loop's after each rollout) measures training though it has no count: it read nothing,
    `UNREAD`, and a NaN of it passed unseen (a review). Narrow on purpose: three values or more, no step and no epoch
    (`Epoch 0000 in static KGE | Ave Loss: 8.6581` under bare bars is their epoch's summary), and not a best-so-far
    (dgcnn's closing `best_loss: 0.0767  best_epoch: 244`); a detail line of two (DSFD's `->> pal1 conf loss:11.1 ||
    pal1 loc loss:4.9`, under its iteration's line) is no record either."""
    if step is not None or pairs < 3 or "epoch" in metrics or "loss" in metrics:
        return False
    return _names_own_loss(next(iter(metrics), ""))


class KeyValueParser(FormatParser):
    """Conservative fallback for hand-written training prints (see the module notes)."""

    name = "kv"
    rounds_steps = True
    _stepped = False
    """Whether a record of this source had a step, not an episode's (`parse`, `after_fast`): then an `Episode N`
    line is no step."""
    _episode = False
    """Whether the line `parse` reads now took its step from an episode's count."""
    _heading_epoch: int | None = None
    """The epoch the newest bare epoch heading named (chemprop's `Epoch 0`): the epoch of the stepless lines after it
    that name none."""
    learn_anchors = ()
    state_texts = ("poch", "POCH", "pisode", "PISODE")  # `_heading`, and an episode as the step until `_stepped`
    reads = READS
    # No `reads` for the noise screen: kv reads much of any log's noise itself (a `time: 3.2`, a `loss` in a
    # message), so a screen would flag most of it and cost more than it saved (the noisy benchmark log:
    # 484 ms screened against 429 unscreened, 300k lines). Its own filter is READS all the same.

    def parse(self, line: str) -> Record | None:
        self._episode = False
        rec = self._read(line)
        if rec is not None and "(epoch: " in line and _VISUALIZER.search(line, 0, 160) is not None:
            rec = replace(rec, metrics={k if k in _VISUALIZER_OWN or "loss" in k else f"loss_{k}": v
                                        for k, v in rec.metrics.items()})
        if rec is not None and rec.step is not None and not self._episode:
            self._stepped = True  # every way a record gets its step (mmengine's, CLU's, timm's too), as `after_fast`
        return rec

    def _read(self, line: str) -> Record | None:
        text = line[:MAX_LINE]
        if text.startswith("Test") and (timm_test := _TIMM_TEST.match(text)) is not None and (
                averages := _timm_averages(timm_test, text)):
            return _timm_result(timm_test, averages, text)  # before its `(EMA)` is taken for an aside
        if "diverged with loss" in text and _DIVERGED.search(text) is not None:
            return Record(Kind.STEP, metrics={"loss": math.nan}, t=logging_time(text))  # (`_DIVERGED`)
        if "work unit notes: " in text and (notes := _WORK_UNIT.search(text)) is not None:
            return _work_unit(notes, text)
        if "):" in text:
            text = _ASIDE.sub("", text)  # `Training Loss (avg over last 100): 2.4486`: the key is `Training Loss`
        if (_DIGIT(text) is None and "nan" not in text and "NaN" not in text) or not _mentions_known_key(text) or "**" in text:
            # no number (a `nan` is one: `| End of training | test loss   nan`), or no word of a key that
            # could make a record (most lines of a log), or markdown emphasis: prose, a model's generated
            # answer (`**Step 1:** The tank is 3/5 full, meaning 3 …`)
            return None
        if "Progress on:" in text and (loggable := LOGGABLE.search(text)) is not None:
            return _loggable(loggable, text)
        if (done := text.find("Finished training it ", 0, 120)) >= 0:
            text = text[:done] + text[done + 18:]  # DLRM's `Finished training it 1024/306969 of epoch 0, 10.81 ms/it, loss 0.518778`: its `it`
            # after the phrase's words was read as prose, each line `step 0` (its epoch), no step time (a review)
        if text[:1] in "DIWEC" and (basic := _BASIC_PREFIX.match(text)) is not None:
            text = text[basic.end():]  # `INFO:root:Epoch 0 - …`: the prefix's words are no key's
        elif ("O:" in text or "G:" in text or "R:" in text or "L:" in text) and (
                glued := _GLUED_LEVEL.search(text, 0, 60)) is not None:  # the gate: how each level ends, a few C
            # substring tests; the pattern's search alone cost 1.5-2 µs on every kv line
            text = f"{text[:glued.end() - 1]} {text[glued.end():]}"  # `… INFO:Epoch 1: …`: a level, then the message
        if " | " in text and (part := _PARTIAL_PASS.search(text, 0, 80)) is not None and int(part[1]) < int(part[2]) and (
                _evaluates(text) is not None):
            return None  # an evaluation's progress, its running average over the batches so far (`_PARTIAL_PASS`)
        if " at step" in text or " in global step" in text or " at iter" in text:
            if (at := _AT_STEP.search(text)) is not None:  # `Average loss at step 2000: 4.34`: the step said first
                text = f"{text[:at.start()]}step {at['step']}, {at['name']}: {text[at.start('value'):]}"
        if "':" in text and "{" not in text and 0 <= text.find(": ") < text.find("':"):
            text = _QUOTED_KEY.sub(r"\1", text)  # PaddleOCR 1.1's `lr: 0.000001, 'loss': nan, 'acc': 0.0`
        text = held_numbers(text)  # verl's `actor/pg_loss:np.float64(0.0023)`, `loss: tensor(nan, grad_fn=<…>)`: the
        # number the object holds (every such value was dropped: verl's policy loss, grad norm and lr never read, a review)
        if "line:" in text:
            text = _SOURCE_LINE.sub("", text, 1)  # `train_net.py[line:177]`: where the logger was called, no metric
        if " | " in text and (site := _LOGURU_SITE.search(text, 0, 300)) is not None:
            text = text[:site.start()] + text[site.end():]
        step: int | None = None
        before = -1  # pairs before the step key
        total: int | None = None
        metrics: dict[str, float] = {}
        pairs = 0
        phrase = ""
        validating = False  # a validation's metric was read: a name said again after it is the validation's
        counting: str | None = None  # the evaluation word of an evaluation's own count (`val step:0`)
        batches: int | None = None  # the epoch's batches a `batch N/M` states (M)
        episodes: int | None = None  # the episodes an `Episode N/M` states (M)
        rounded = 0.0  # the unit the step was printed rounded to (`step:1K`), 0: exact
        for gap, raw, clock, number, steps, unit, word in _PAIR.findall(text):
            if not raw:
                break  # the rest of the line, without a pair
            head = gap.rstrip()
            if phrase:  # the last pair was a phrase's words (`number of nan`): this may continue it
                head, phrase = phrase + head, ""
            if head[-1:].isalpha():
                two = _clause_key(head, raw)
                if two is None:
                    if number[-1:].isalpha():  # `nan`/`inf` here is a word of the phrase, not a value
                        phrase = f"{head} {raw} {number}"
                    continue
                raw = two
            name, role, timed, plans = _KEYS.get(raw) or _key(raw)
            if role == _SKIP:
                continue
            if role == _METRIC and not clock and (own := _eval_count(name)) is not None:
                counting = own  # `val step:0`: the evaluation's own batch, no training step (`_eval_count`)
                continue
            if clock:
                if role < _ELAPSED:
                    continue  # a wall-clock time, or a clock where a count belongs
                value = clock_seconds(clock) or 0.0  # `_PAIR` took a clock: never None
                name = timed
            else:
                if unit and number[-1:].isalpha() and not unit.strip("x"):
                    unit = ""  # PaddleOCR's `{:x<6f}` fills `nan` to six: `loss: nanxxx` (`parse_number`)
                value = _number(number)
                if unit or word or role == _RATE:
                    plan = plans.get(f"{unit} {word}" if word else unit) or _plan(plans, name, role, timed, unit, word)
                    name, multiply, divide, invert = plan
                    if not name:
                        continue
                    value = value * multiply / divide
                    if invert:
                        if not 0.0 < value < math.inf:
                            continue  # a stopped (or non-finite) rate is no step time
                        value = 1.0 / value
            pairs += 1
            if role == _STEP and step is None and 0 <= value < 1e15:  # NaN fails the test too
                step = int(value)
                total = int(steps) if steps else None
                before = pairs - 1
                if unit in SI and "." not in number:  # `step:1K` (LeRobot's): a thousand steps either side of 500
                    rounded = SI[unit]
                elif "e+" in number and step >= 1000:  # `step: 1.01e+04`, `%.3g` (OpenAI's logger): three digits
                    rounded = 10.0 ** (len(str(step)) - 3)
            elif role == _STEP and value == step:
                continue  # the step said again (`iter 2000 || Loss: 1.17 || Saving state, iter: 2000`): no metric
            elif role == _STEP and name.startswith("global_") and 0 <= value < 1e15 and not steps and total is None:
                step = int(value)  # the run's count after a loop's own (`iteration 0: global_step=1; loss_value=…`,
                continue  # TF1's: `iteration` counted epochs, every step read 0 and 10 restarts, a review)
            elif name not in metrics:
                if steps and "acc" in name and int(steps) > 0:
                    value /= int(steps)  # `Accuracy: 9817/10000 (98%)`: right of all, a fraction as elsewhere
                metrics[name] = value
                validating = validating or is_eval_metric(name)
                if steps and name == "epoch":
                    metrics["epochs"] = float(steps)  # `epoch 1/3`: the run's epoch count (runwatch.parsers.epochs)
                elif steps and name == "batch":
                    batches = int(steps)
                elif steps and name == "episode":
                    episodes = int(steps)
            elif validating and not is_eval_metric(name) and f"val_{name}" not in metrics:
                # a name said again after the validation's loss is the validation's (`Train Loss: 11.23 | Token Acc:
                # 0.0490 | … | Val Loss: 10.97 | Token Acc: 0.0660`: the second was lost, a review)
                metrics[f"val_{name}"] = value
        if not metrics:
            self._heading(text)
            return None
        if step is None and "batch" in metrics and "epoch" in metrics and (b := metrics["batch"]).is_integer() and (
                0 <= b < 1e15 and (list(metrics).index("epoch") < list(metrics).index("batch") or " of epoch " in text)):
            step = int(metrics.pop("batch"))  # `Epoch 1, Batch 25, Training Loss …`: the batch of its epoch, which
            # runwatch.parsers.epochs makes the run's step (a review's T5 run: every line at its epoch, step 1, its
            # six launches one loss series read as diverging); `batch 32` alone may be a batch's size, but not one
            # `of epoch 1` (a GPT-2 Chinese run's `batch 170 of epoch 1, loss 4.87…`: no step, its relaunches unseen)
            total = batches if batches is not None and step <= batches else None  # `Batch 0005/0011`: the epoch's length
        if step is None and (not self._stepped and len(metrics) > 1 and next(iter(metrics)) == "episode"
                and (e := metrics["episode"]).is_integer() and 0 <= e < 1e15):
            step = int(metrics.pop("episode"))  # an RL loop's lead count where no step key is (`Episode 9990 | Avg
            # Reward: 141.40 | Epsilon: 0.010`, a DQN's: UNREAD, its reward unjudged, a review); its episodes the run's.
            # Not in a log whose lines state steps (`Step: 100, Loss: 1.99` beside `Episode 1 | reward 1.5`): episodes
            # on the training steps' axis read as restarts (a code review)
            total = episodes if episodes is not None and step <= episodes else None
            self._episode = True
        if step is None and "] " in line and (clu := _clu_step(line)) is not None:
            step = clu  # CLU's logging writer: `[2000] train_accuracy=0.374, train_loss=3.729` (`_CLU_STEP`)
        keyed = step is not None  # said by a step key, not a count in brackets found below
        if step is None and text[:1].isdigit() and (count := _LEADING_COUNT.match(text)) is not None and any(
                "loss" in name for name in metrics):
            step = int(count[1])  # Keras-GAN's `0 [D loss: 0.692665, acc.: 51.56%] [G loss: 0.686900]`
        if step is None and "Batch:[" in text and (pb := _PIPED.search(text)) is not None:
            if 0 <= int(pb[3]) <= int(pb[4]):  # the 0-based epoch, each of `pb[4]` batches: the run's step, stated
                per = int(pb[4])  # (a run resumed at epoch 102 of 120 counted from 0 read "15%, incomplete" at its end)
                step, total = int(pb[1]) * per + int(pb[3]), (int(pb[2]) + 1) * per  # it prints the last epoch's index
                metrics = {"epoch": float(pb[1]), **metrics}
        if step is None and "atch [" in text and (sm := _SPEEDOMETER.search(text)) is not None:
            step = int(sm[2])  # the batch of its epoch: runwatch.parsers.epochs makes it global
            metrics = {"epoch": float(sm[1]), **metrics}
        placed = 0  # where the epoch's own `[e/E]` ends: a count in brackets is one after it
        if "/" in text:
            if "epoch" not in metrics and "poch" in text and (oc := _EPOCH_OF.search(text)) is not None:
                metrics = {"epoch": float(oc[1]), "epochs": float(oc[2]), **metrics}
                placed = oc.end()
            if step is None and "poch: [" in text and (pp := _PPDET.search(text)) is not None:
                if 0 <= int(pp[4]) <= int(pp[5]):  # the place in the epoch: runwatch.parsers.epochs makes it global
                    step, total = int(pp[4]), int(pp[5])
                    epochs = {"epochs": float(pp[2])} if pp[2] and not pp[3] else {}
                    metrics = {"epoch": float(pp[3] or pp[1]), **epochs, **metrics}
            if step is None and "]: " in text and (pe := _EPOCH_AT.search(text)) is not None:
                if 0 <= int(pe[2]) <= int(pe[3]):  # the place in the epoch: runwatch.parsers.epochs makes it global
                    step, total = int(pe[2]), int(pe[3])
                    metrics = {"epoch": float(pe[1]), **metrics}
            if step is None and ("Epoch [" in text or "Iter [" in text) and (mc := _MMCV.search(text)) is not None:
                of = mc[3] or mc[5]
                n = mc[2] or mc[4]
                if 0 <= int(n) <= int(of):  # an epoch's iteration: runwatch.parsers.epochs makes it global
                    step, total = int(n), int(of)
                    if mc[1] is not None:
                        metrics = {"epoch": float(mc[1]), **metrics}
            if step is None and text[:1] == "[" and "loss" in metrics and "epoch" not in metrics and (
                    opening := _LEAD_COUNT.match(text)) and 0 < int(opening[1]) <= int(opening[2]):
                step, total = int(opening[1]), int(opening[2])  # the run's count, first and alone (`_LEAD_COUNT`)
            if "train" in metrics and "epoch" not in metrics and (pc := _PCDET_EPOCH.search(text)) is not None:
                metrics.pop("train")  # OpenPCDet's `Train:   80/80 (100%)`: the epoch of the run's
                metrics = {"epoch": float(pc[1]), "epochs": float(pc[2]), **metrics}
            timm = "train" in metrics and "epoch" not in metrics and _TIMM_TRAIN.search(text) is not None
            if step is None and ("epoch" in metrics or timm) and (m := _within(text, placed, metrics)) is not None:
                if 0 <= int(m[1]) <= int(m[2]):  # the place in the epoch: runwatch.parsers.epochs makes it global
                    step, total = int(m[1]), int(m[2])
                    if timm:
                        metrics = {"epoch": metrics.pop("train"), **metrics}  # timm's `Train: 0 [ 50/10009`
            for key, divide in _PER_STEP.items():  # `ms/batch 11.61`: a step time in its key's unit
                if key in metrics:
                    metrics.setdefault("step_time", metrics.pop(key) / divide)
        if step is not None and "seconds" in metrics and "completed step" in text and "step_time" not in metrics:
            metrics["step_time"] = metrics.pop("seconds")  # MaxText's `completed step: 9, seconds: 5.667, …`: the step's
            # (only there: a loop's `step 10, loss: 0.5, seconds: 5.0` may count them since its start, a code review)
        if step is not None and "norm" in metrics and "grad_norm" not in metrics:
            metrics["grad_norm"] = metrics.pop("norm")  # llm.c: `step 65/74 | loss 3.59 | norm 1.47 | …`
        if "total_loss" in metrics and "loss" not in metrics:
            # detectron2's `iter: 19 … total_loss: 6.146`: what it trains on; so in a loop's `epoch=0/250,total_loss=1.87`
            # (a review: nothing understood, exit 3, where `loss=` was read)
            metrics["loss"] = metrics.pop("total_loss")
        if "data_time" in metrics and "step_time" not in metrics and ("time" in metrics or "batch_time" in metrics):
            # detectron2, mmcv: `time: 0.9788  data_time: 0.2993`, s an iteration; the ImageNet example's meters
            # printed as pairs (a Paddle loop's `batch time:0.3103, data time:0.0002`, a review: no step time read)
            metrics["step_time"] = metrics.pop("time" if "time" in metrics else "batch_time")
        elif "data" in metrics and "time" in metrics and step is not None and "step_time" not in metrics:
            # torchvision's MetricLogger (DETR, DINO, DeiT, MAE): `time: 1.169906  data: 0.404951`
            metrics["step_time"], metrics["data_time"] = metrics.pop("time"), metrics.pop("data")
        if step is not None and "step_time" not in metrics and ("/i" in text or "c/b" in text) and (
                pi := _PER_ITER.search(text)):  # and the TensorFlow CIFAR-10 tutorial's `(611.0 examples/sec, 0.21
            # sec/batch)` (a review's run read "no step line carries a step time")
            metrics["step_time"] = float(pi[1]) / (1e3 if pi[2] == "ms" else 1.0)
        if "eta" in metrics and " day" in text and (days := _DAYS.search(text)) is not None:
            metrics["eta"] = clock_seconds(days[1]) or metrics["eta"]
        if ")" in text and (mm := _MMENGINE.search(text)) is not None:
            return _mmengine(mm, metrics, logging_time(text))
        lead = _evaluates(text) or counting
        # `test loss 5.02`, after `Test`; an epoch's measure of error alone (a PyG loop's `Epoch: 001, MAE: 1.0196 [New
        # Best Model Saved]` read no record, its run `no steps`, a review); an epoch's average loss where no line had a
        # step (bare bars, then `Epoch 0000 in static KGE | Ave Loss: 8.6581`, a review: no loss read; beside step lines,
        # a GPT-2 loop's `✅ Epoch 0 completed in 4729.23s | Avg Loss: 0.6070` sums up an epoch they told: no record, as
        # before; the line says `poch`, never read by a learned layout); a loss by a name of its own (`_own_loss_first`)
        measured = not _MEASURED_NAMES.isdisjoint(metrics) or any(
            "loss" in k for k in metrics if lead is not None or is_eval_metric(k)) or (
            "epoch" in metrics and any(_error_measured(k) or (k in _AVERAGED and not self._stepped) for k in metrics)
        ) or _own_loss_first(metrics, pairs, step)
        if step is None and (pairs < 2 or not (measured or placed) or not PLAN_KEYS.isdisjoint(metrics)):
            # an epoch's `[e/E]` places the line in the run as a step key does: `Epoch [1/30] Train: 0.0962 | Val:
            # 0.0991 | …` is the epoch's summary, whatever its values are named
            if not (pairs == 1 and (_lone_eval_measure(metrics) or (
                    self._heading_epoch is not None and _lone_loss(metrics) and not text.startswith("wandb:")))
                    and not text[:1].isspace()):  # (W&B's closing `Run summary:` repeats the newest values:
                # `wandb:    train_loss 0.30424` after a sweep's last `Epoch 999` heading is no step of it)
                # `validation loss: 3.03`; indented, a line of code (`        val_loss = 0.0` of the script a
                # modded-nanogpt log begins with, read as an evaluation at 0: a new user's review)
                if len(metrics) <= 2 and all(k in _HEADING_NAMES or k.endswith("_epoch") for k in metrics):
                    self._heading(text)
                return None  # a header's settings (`lr=0.0003 batch_size=32 max_steps=400`): config, no record
        if step is not None and not measured and metrics and all(_is_setting(k) for k in metrics):
            return None  # a step count beside settings only (`steps=4000 save_interval=4001`): a plan, no step
        if 0 < before == pairs - 1 and not measured:
            return None  # a count said last, after no measure of training: of something else (`Sampling slow: 46.0s, steps=158`)
        if 0 < before and not measured and text[:1].isspace():
            return None  # an indented item's count after its own values, no measure of training: an RL loop's example
            # episodes under each `Iter N:` line (`  Ex 2: Success (R: 100.00, Steps: 5) Target: 2`, 176 restarts, a review)
        if lead is None and step is None and not placed:
            lead = _evaluation_of(metrics)
        if lead is not None:
            metrics = _evaluated(metrics, lead)
            if not keyed:  # a count in brackets on an evaluation's line is its own loop's batch (`Test - Epoch:
                step = total = None  # [0/200]  [  10/1934]`), not training's step: the eval is at the run's
        kind = _kind(metrics)
        if kind is Kind.STEP and step is None and not placed and _sums_up(text):
            return None  # the run summed up, no step of it (`_FINAL`)
        if kind is Kind.EVAL and "step_time" in metrics:  # `| end of epoch 1 | time: 35.58s | valid loss …`
            took = metrics.pop("step_time")
            if "train_time" not in metrics:  # else training's average step beside its clock, which the training
                metrics["eval_time"] = took  # lines state (modded-nanogpt's `val_loss:3.876 train_time:109093ms
                # step_avg:177.39ms`: no evaluation of 0.18 s)
        if rounded and step is not None:
            metrics[ROUNDED] = rounded  # placed by the source (runwatch.parsers.rounded)
        if step is None and not placed and self._heading_epoch is not None and "epoch" not in metrics:
            metrics = {"epoch": float(self._heading_epoch), **metrics}  # the epoch its heading named (`epoch_heading`)
        return Record(kind, step=step, total_steps=total, metrics=metrics, t=logging_time(text))

    def after_fast(self, last_step: int) -> None:
        """Step lines were read by their learned layouts (each a record with a step): as `parse` of them would
        have, no episode is a step from now on. Without it, a log of `step=N … loss=…` lines then `Episode N | …`
        lines read the episodes as steps with the fast path on and not with it off (a code review)."""
        self._stepped = True

    def _heading(self, text: str) -> None:
        """Keep the epoch a bare heading names (`epoch_heading`), read only on a line refused for no more than an epoch
        (a heading tried on every line cost a kv step line half again its time: 20 → 30 µs)."""
        if len(text) <= MAX_HEADING and ("poch" in text or "POCH" in text) and (
                heading := epoch_heading(text)) is not None:
            self._heading_epoch = heading

    def forget(self) -> None:
        """Read the next line as a source's first: no step seen (`_stepped`), no heading (`_heading_epoch`). For a
        parser that reads lines of many sources (runwatch.parsers.beside's): what one source's lines left in it must
        not change how another's read (an epoch's average loss is a record only where no step came before it)."""
        self._stepped = False
        self._heading_epoch = None

    def launched(self) -> None:
        """A new launch prints its own headings: the epoch the last one named is none of its (`_heading_epoch`)."""
        self._heading_epoch = None

    def score(self, line: str) -> int:
        return 1 if self.parse(line) is not None else 0
