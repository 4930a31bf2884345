"""The known log formats by their DESIGN §3 names.

Modules are imported on first use so that `runwatch parse --format X` loads
only the parser it needs.
"""

from __future__ import annotations

import importlib

from runwatch.errors import BadValueError
from runwatch.parsers.base import FormatParser

# name → (module, class). Order matters: detection breaks ties by this order,
# so specific formats come before the generic ones.
FORMATS: dict[str, tuple[str, str]] = {
    "picollm": ("runwatch.parsers.nanochat", "NanochatParser"),
    "nanogpt": ("runwatch.parsers.nanogpt", "NanoGPTParser"),
    "llmc": ("runwatch.parsers.llmc", "LlmcParser"),
    "megatron": ("runwatch.parsers.megatron_deepspeed", "MegatronFamilyParser"),
    "deepspeed": ("runwatch.parsers.megatron_deepspeed", "DeepSpeedFamilyParser"),
    "torchtitan": ("runwatch.parsers.torchtitan", "TorchtitanParser"),
    "slowfast": ("runwatch.parsers.slowfast", "SlowFastParser"),
    "tf-models": ("runwatch.parsers.tf_models", "TFModelsParser"),
    "hf-trainer": ("runwatch.parsers.hf_trainer", "HFTrainerParser"),
    "marian": ("runwatch.parsers.marian", "MarianParser"),
    "vits": ("runwatch.parsers.vits", "VitsParser"),
    "espnet": ("runwatch.parsers.espnet", "EspnetParser"),
    "stylegan": ("runwatch.parsers.stylegan", "StyleGANParser"),
    "boosting": ("runwatch.parsers.boosting", "BoostingParser"),
    "composer": ("runwatch.parsers.composer", "ComposerParser"),
    "olmo": ("runwatch.parsers.olmo", "OlmoParser"),
    "nnunet": ("runwatch.parsers.nnunet", "NnUNetParser"),
    "monai": ("runwatch.parsers.monai", "MonaiLoopParser"),
    "bracketed": ("runwatch.parsers.bracketed", "BracketedParser"),
    "bracketed0": ("runwatch.parsers.bracketed", "ZeroBasedParser"),
    "meters": ("runwatch.parsers.meters", "MetersParser"),
    "epoch-iter": ("runwatch.parsers.epoch_iter", "EpochIterParser"),
    "paddle": ("runwatch.parsers.paddle", "PaddleParser"),
    "phases": ("runwatch.parsers.phases", "PhasesParser"),
    "torchlight": ("runwatch.parsers.torchlight", "TorchlightParser"),
    "quickstart": ("runwatch.parsers.quickstart", "QuickstartParser"),
    "keras": ("runwatch.parsers.keras", "KerasParser"),
    "yolo": ("runwatch.parsers.yolo", "YoloParser"),
    "basicsr": ("runwatch.parsers.basicsr", "BasicSRParser"),
    "tqdm": ("runwatch.parsers.progress_bar", "ProgressBarParser"),
    "jsonl": ("runwatch.parsers.jsonl", "JsonLinesParser"),
    "table": ("runwatch.parsers.table", "TableParser"),
    "blocks": ("runwatch.parsers.blocks", "BlocksParser"),
    "kv": ("runwatch.parsers.keyvalue", "KeyValueParser"),
}

ALIASES = {"nanochat": "picollm", "lightning": "tqdm", "hf": "hf-trainer", "json": "jsonl", "tutorial": "bracketed",
           "cifar": "epoch-iter", "jepa": "epoch-iter"}


class UnknownFormatError(BadValueError):
    """A format name (`--format`, or a library caller's `fmt`) that no parser answers to."""


def format_names() -> list[str]:
    return list(FORMATS)


def parser_class(name: str) -> type[FormatParser]:
    key = ALIASES.get(name, name)
    if key not in FORMATS:
        raise UnknownFormatError(f"unknown format {name!r}; known: {', '.join(FORMATS)}")
    module, cls = FORMATS[key]
    return getattr(importlib.import_module(module), cls)  # type: ignore[no-any-return]


def make_parser(name: str) -> FormatParser:
    return parser_class(name)()
