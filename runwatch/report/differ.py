"""What differs between runs: the settings that are not the same, and the numbers side by side.

Pure: the runs' `RunNumbers` in, rows of text out, for the terminal table,
the Markdown summary and `--json` alike. A setting one run has and another
lacks differs too (the lacking run shows "—").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from runwatch.model import Severity
from runwatch.present import fmt_duration, fmt_value
from runwatch.report.values import RunNumbers

MISSING = "—"


@dataclass(frozen=True)
class Comparison:
    runs: list[str]
    settings: list[tuple[str, list[str]]]
    """Settings whose value is not the same in every run: (key, each run's value or "—")."""
    numbers: list[tuple[str, list[str]]]
    """The runs' outcomes side by side: (what, each run's value)."""


def settings_of(n: RunNumbers) -> dict[str, str]:
    """A run's settings as one mapping: the first source's (`runwatch.present.CONFIG_SOURCES` order: the W&B
    config first), then each later source's keys the earlier ones lack."""
    out: dict[str, str] = {}
    for table in n.settings:
        for key, value in table.rows:
            out.setdefault(key, value)
    return out


def differing(runs: Sequence[RunNumbers]) -> list[tuple[str, list[str]]]:
    settings = [settings_of(n) for n in runs]
    keys = sorted({k for s in settings for k in s})
    rows = [(k, [s.get(k, MISSING) for s in settings]) for k in keys]
    return [(k, values) for k, values in rows if len(set(values)) > 1]


def compare(names: Sequence[str], runs: Sequence[RunNumbers]) -> Comparison:
    return Comparison(list(names), differing(runs), [(label, [cell(n) for n in runs]) for label, cell in ROWS])


def _v(name: str, v: float | None) -> str:
    return MISSING if v is None else fmt_value(name, v)


def _steps(n: RunNumbers) -> str:
    o = n.overview
    return MISSING if o.step is None else f"{o.step:,}" + (f" of {o.total_steps:,}" if o.total_steps else "")


def _min_loss(n: RunNumbers) -> str:
    loss = n.loss
    if loss is None or loss.minimum is None:
        return MISSING
    return _v(loss.name, loss.minimum) + (f" @ {loss.min_step:.0f}" if loss.min_step is not None else "")


def _best_val(n: RunNumbers) -> str:
    loss = n.loss
    if loss is None or loss.val_name is None:
        return MISSING
    return f"{loss.val_name} {_v(loss.val_name, loss.best_val)}" + (
        f" @ {loss.best_val_step:.0f}" if loss.best_val_step is not None else "")


def _throughput(n: RunNumbers) -> str:
    tp = n.throughput
    return MISSING if tp.name is None else f"{_v(tp.name, tp.median)} {tp.name.removesuffix('_per_sec')}/s"


GRAVEST_FIRST = (Severity.CRITICAL, Severity.WARNING, Severity.INFO)


def _alerts(n: RunNumbers) -> str:
    """The rules that fired, critical ones first (alphabetical order put `nonfinite (critical)` after two
    warnings, and the terminal table's cut hid it: a new user's review)."""
    fired = {(a.severity, a.rule) for a in n.alerts}
    order = sorted(fired, key=lambda f: (GRAVEST_FIRST.index(Severity(f[0])) if f[0] in GRAVEST_FIRST else 9, f[1]))
    return ", ".join(f"{rule} ({severity})" for severity, rule in order) or "none"


ROWS = (
    ("state", lambda n: n.overview.state),
    ("steps", _steps),
    ("runtime", lambda n: fmt_duration(n.overview.runtime_s) if n.overview.runtime_s is not None else MISSING),
    ("final loss", lambda n: _v("loss", n.loss.end) if n.loss is not None else MISSING),
    ("min loss", _min_loss),
    ("best val", _best_val),
    ("throughput median", _throughput),
    ("MFU median", lambda n: _v("mfu", n.throughput.mfu_median)),
    ("alerts", _alerts),
)
