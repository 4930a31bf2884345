"""A one-line sparkline of block glyphs, from the engine's min/max columns.

Textual's `Sparkline` widget re-buckets on every frame and costs ~9× more
than this (issue 5 measured it); a sparkline here is one numpy digitise and
one string join. NaN/Inf columns become a red `×`, never a gap.
"""

from __future__ import annotations

import numpy as np
from rich.text import Text

BLOCKS = np.array(list("▁▂▃▄▅▆▇█"))
MARK_STYLE = "bold red"


def spark_text(values: np.ndarray, width: int, style: str = "cyan") -> Text:
    """`values` (one per column, at most `width` used: the newest) as block glyphs.

    Wider series are folded to `width` by keeping each bucket's largest value,
    so a spike survives; a column that held a non-finite value is marked.
    """
    v = np.asarray(values, np.float64)
    if width < 1 or not len(v):
        return Text("", end="")
    if len(v) > width:
        v = _fold_max(v, width)
    finite = np.isfinite(v)
    levels = np.zeros(len(v), np.int64)
    if finite.any():
        lo, hi = float(v[finite].min()), float(v[finite].max())
        if hi > lo:
            levels[finite] = np.minimum(((v[finite] - lo) / (hi - lo) * 8).astype(np.int64), 7)
        else:
            levels[finite] = 3
    glyphs = BLOCKS[levels]
    text = Text(end="", no_wrap=True)
    cuts = np.flatnonzero(np.diff(finite.astype(np.int8))) + 1
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(v)], strict=True):
        if finite[a]:
            text.append("".join(glyphs[a:b]), style)
        else:
            text.append("×" * (b - a), MARK_STYLE)
    return text


def _fold_max(v: np.ndarray, width: int) -> np.ndarray:
    """`width` buckets; a bucket with a non-finite value stays non-finite (NaN first)."""
    edges = np.linspace(0, len(v), width + 1).astype(np.int64)[:-1]
    with np.errstate(invalid="ignore"):
        out = np.maximum.reduceat(v, edges)
    has_nan = np.add.reduceat(np.isnan(v).astype(np.int64), edges) > 0
    return np.where(has_nan, np.nan, out)
