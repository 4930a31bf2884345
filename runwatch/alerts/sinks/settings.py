"""How a sink type declares its settings: one frozen dataclass per type, one `setting()` per key.

The config reader (`runwatch.config`) derives everything it checks from these declarations — which
keys a `[[sinks]]` table of a type may hold, which are required, what kind of value each takes —
so a sink type is described once, here, and never again as a list of keys elsewhere. Sink classes
name their settings class as `Settings` and build themselves with `from_settings` (see
`runwatch.alerts.sinks.factory`).
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any


class SettingKind(Enum):
    """What a config value must be; the config reader has one check per kind."""

    STR = "str"
    BOOL = "bool"
    INT = "int"
    DURATION = "duration"
    ENV_NAME = "env_name"
    """The NAME of an environment variable (a secret URL lives there, never in the file)."""
    ARGV = "argv"
    """A non-empty list of strings: a program and its arguments (no shell)."""
    URLS = "urls"
    """A non-empty list of URLs (each checked by the sink when it is built)."""
    PATH = "path"
    """A path; relative to the config file's directory, `~` expanded."""


def setting(kind: SettingKind, default: Any = None, *, doc: str, required: bool = False,
            in_file: bool = True, secret: bool = False) -> Any:
    """A field of a sink's `Settings`.

    `required`: a `[[sinks]]` table must give it. `in_file=False`: only a CLI flag may set it
    (the `--webhook URL` flag's URL: secrets never go in a config file). `secret`: left out of
    `repr`.
    """
    meta = {"kind": kind, "doc": doc, "required": required, "in_file": in_file}
    return dataclasses.field(default=default, repr=not secret, metadata=meta)


@dataclasses.dataclass(frozen=True)
class Declared:
    """One declared setting, as the config reader sees it."""

    key: str
    kind: SettingKind
    doc: str
    required: bool
    in_file: bool
    default: Any


def declared(settings_cls: type) -> list[Declared]:
    """The settings a `Settings` dataclass declares, in declaration order."""
    out = []
    for f in dataclasses.fields(settings_cls):
        m = f.metadata
        out.append(Declared(f.name, m["kind"], m["doc"], m["required"], m["in_file"], f.default))
    return out
