"""Python dict reprs and metric-key spelling, shared by the dict-like formats.

HF Trainer prints `str(dict)` (`{'loss': 2.1, 'epoch': '1'}`); Lightning bar
postfixes, JSON lines and generic `key=value` logs use free-form keys. All of
them end up as snake_case metric names with the canonical aliases of DESIGN §2.
Dict text is read with a bounded regex instead of `ast.literal_eval`, so a huge
or hostile line costs linear time and can never execute or recurse.
"""

from __future__ import annotations

import re

from runwatch import patterns

MAX_DICT_CHARS = 100_000
"""Only this much of a dict's text is read; real log dicts are far shorter."""

_PAIR = patterns.compile(
    r"""(?:'(?P<k1>[^'\\\n]{1,200})'|"(?P<k2>[^"\\\n]{1,200})")\s*:\s*"""
    r"""(?P<v>'[^'\n]{0,200}'|"[^"\n]{0,200}"|[^,{}\[\]'"\s][^,{}]{0,100}?)"""
    r"""\s*(?P<end>[,}]|$)"""
)


def dict_pairs(text: str) -> list[tuple[str, str, bool]]:
    """`(key, raw value, complete)` for each `'key': value` of the dict text starts with.

    Reading stops at the first `}`. `complete` is False for a last value with
    nothing after it: a line cut mid-number (`'learning_rate': 2.083`) must not
    be read as a smaller number. Nested values (lists, dicts) are skipped.
    """
    out: list[tuple[str, str, bool]] = []
    # findall (no match objects) is a third cheaper than finditer; what it finds after the first `}` is dropped
    for k1, k2, v, end in _PAIR.findall(text, 0, min(len(text), MAX_DICT_CHARS)):
        out.append((k1 or k2 or "", v.rstrip(), end != ""))
        if end == "}":
            break
    return out


_ACRONYM = patterns.compile(r"([A-Z]+)([A-Z][a-z])")
_WORDS = patterns.compile(r"(?:(?<![A-Za-z])(?:m|a|fw|G|D|C)|)IoU(?![a-z])|(?<![A-Za-z])(?:m(?:AP|AR|Acc|Dice|PA)|aAcc)(?![A-Za-z])"
                    r"|[KMGT]iB(?![a-z])|(?<![A-Za-z])A[PR][sml](?![A-Za-z])|(?<![A-Za-z])[KMGTP]?FLOPs(?![a-z])")
"""Metric names of segmentation and detection read as one word, whatever their capitals: mmsegmentation's `aAcc`,
`mIoU`, `mAcc`, `fwIoU`, a detector's `mAP` and `mAR` (the `m` is mean, the `a` all) are `aacc`, `miou`, `macc`,
`fwiou`, `map`, `mar` (and `meanIoU` `mean_iou`, YOLO's `GIoU` loss `giou`; not `mAPE`), as their users say and
write them; split at each capital they read `a_acc`, `m_io_u`. So are the binary units: ms-swift's `memory(GiB)` is `memory_gib`, not `memory_gi_b`;
COCO's AP and AR by object size, detectron2's `bbox/APs`, `bbox/APl` (`bbox_aps`, not `bbox_a_ps`, a review), and
`TFLOPs` (`tflops`, not DeepSpeed-Chat's `tflo_ps`, a review)."""
_CAMEL = patterns.compile(r"([a-z0-9])([A-Z])")
_NON_ALNUM = patterns.compile(r"[^0-9A-Za-z]+")
_AT_K = patterns.compile(r"@(?=\d{1,3}(?![\d.]))")
"""The `@` of a top-k or recall-at-k name (`Acc@1`, `R@10`): `acc1`, as the ImageNet example's own variables and the
meters format name it (timm's `Acc@1: 87.5` and the example's `Acc@1   0.00 (  0.00)` are one metric); not before a
threshold (`mAP@0.5` stays `map_0_5`)."""


_MAX_CACHED = 4096
_MAX_CACHED_KEY = 300
_SNAKE: dict[str, str] = {}
_METRIC_NAME: dict[str, str] = {}


def _remember(cache: dict[str, str], key: str, value: str) -> str:
    """Keep a key → name result: a log repeats the same few keys on every line. Bounded: dropped when full."""
    if len(key) <= _MAX_CACHED_KEY:
        if len(cache) >= _MAX_CACHED:
            cache.clear()
        cache[key] = value
    return value


def snake(name: str) -> str:
    """`memory/max_mem_active(gib)` → `memory_max_mem_active_gib`, `LanguagePerplexity` → `language_perplexity`."""
    s = _SNAKE.get(name)
    if s is None:
        s = _remember(_SNAKE, name, _snake(name))
    return s


def _word(m: re.Match[str]) -> str:
    """One of `_WORDS`, lower case, parted from a word before it (`val_mIoU`, `bbox_mAP_50`)."""
    return "_" + m[0].lower()


def _snake(name: str) -> str:
    s = _WORDS.sub(_word, _AT_K.sub("", name[:300]))
    s = _CAMEL.sub(r"\1_\2", _ACRONYM.sub(r"\1_\2", s))
    return _NON_ALNUM.sub("_", s).strip("_").lower()


_ALIASES: dict[str, tuple[str, ...]] = {  # keys as snake() spells them: `tok/s` → `tok_s`, `grad-norm` → `grad_norm`
    # `average_loss`: a loop's `Epoch 0 - Average Loss: 1.5552` (an `avg_loss` beside a step's loss, or in an epoch's
    # summary among step lines, keeps its name: read as `loss`, a summary moved a stepped run on by one)
    # `xent`: OpenNMT-py's `Step 50/100000; acc:  12.00; ppl: 26.87; xent: 3.29; lr: 1.00000; …`, its cross-entropy, the
    # loss it trains on (its `ppl` is exp(xent)); unread as one, a review's run was judged by no loss rule
    "loss": ("train_loss", "training_loss", "loss_step", "train_loss_step", "batch_loss", "average_loss", "xent",
             "reduced_train_loss"),  # NeMo's: the loss averaged over the data-parallel ranks
    # `vali_loss`: Time-Series-Library's `Train Loss: 0.30 Vali Loss: 0.17 Test Loss: 0.19`, its early stopping's
    "val_loss": ("eval_loss", "valid_loss", "validation_loss", "val_loss_epoch", "eval_loss_epoch", "vali_loss"),
    # grdn, epch: LeRobot's; `grad`: `| Grad: 0.505 |` beside a loss is its norm (llm.c's `norm`, too: llmc.py)
    "grad_norm": ("gradient_norm", "grad_norm_total", "gnorm", "gradnorm", "grdn", "grad"),
    "lr": ("learning_rate",),
    "step_time": (
        "time_per_step", "secs_per_step", "seconds_per_step", "sec_per_step", "s_per_step", "sec_step", "s_step",
        "s_it", "sec_it", "s_per_it", "sec_per_it", "s_iter", "sec_iter", "s_per_iter", "sec_per_iter",
        "timing_s_step",  # verl's `timing_s/step:707.9`: the whole step's seconds
        "train_step_timing_in_s", "train_step_timing",  # NeMo's `train_step_timing in s=2.590`
        "per_step_time",  # MindOCR's `per step time: 227.095 ms`
        "step_time_seconds", "step_time_sec", "step_time_secs",  # a GRPO loop's `| step_time_seconds=15.1395 |`: read
        # under its own name, its run had no step time (`check`: "no step line carries … a step time", a review)
    ),
    "tokens_per_sec": (
        "tokens_per_second", "tok_per_sec", "tok_sec", "toks_per_sec", "tps", "tok_s", "toks_s", "toks_sec",
        "tokens_s", "tokens_sec", "tok_per_s", "tokens_per_s", "tok_per_second",
    ),
    "samples_per_sec": ("samples_per_second", "samples_s", "samples_sec", "samples_per_s"),
    "mfu": ("bf16_mfu",),
    "epoch": ("epch",),
    "loss_scale": (),
    "elapsed": (),
    "eta": (),
}
CANONICAL: dict[str, str] = {a: name for name, aliases in _ALIASES.items() for a in (name, *aliases)}


_DROPPED_PREFIXES = ("train_", "training_", "throughput_")


def metric_name(key: str) -> str:
    """The DESIGN §2 name for a logged key: canonical when known, else snake_case.

    A `train_`/`training_`/`throughput_` prefix is dropped when what remains
    is canonical (`train_tokens_per_second`, Composer's `throughput/tokens_per_sec`
    → `tokens_per_sec`); `eval_*` keys other than the loss keep their name
    (`eval_runtime`), as HF users know them.
    """
    name = _METRIC_NAME.get(key)
    if name is None:
        name = _remember(_METRIC_NAME, key, _metric_name(key))
    return name


def _metric_name(key: str) -> str:
    s = snake(key)
    if s in CANONICAL:
        return CANONICAL[s]
    for prefix in _DROPPED_PREFIXES:
        if s.startswith(prefix) and CANONICAL.get(s[len(prefix):], "val_loss") != "val_loss":
            return CANONICAL[s[len(prefix):]]
    if s.endswith("_train") and CANONICAL.get(s[:-6], "val_loss") != "val_loss":
        return CANONICAL[s[:-6]]  # `loss_train` (pygcn's loops): the loss rules judge `loss`, and read none
    return s
