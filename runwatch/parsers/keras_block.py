"""A block of Keras bar frames read at once: which lines are rows, and their numbers as columns.

A Keras verbose-1 log is mostly frames, one every 0.05 s of an epoch, and one
by one each cost a match, a split of its ` - name: value` pairs, a dict and the
source's bookkeeping. Here the block is one text: one regex pass of the
parser's own head pattern (`keras.FRAME_LINES`, each line matched whole) gives
every line's count, time, mean step time and pairs text. The pairs are read
once per distinct list of names: one `sub` over the block takes the values out
of every pairs text (`_VALUE`), what is left names them (`_names`, the names
`named_values` would give them, checked against it on one line of each), and
one `findall` per list gives the values, in order.

A line is a row only if `take_row` would take it whenever the parser is
`ready_for_frames` (inside an epoch, before its last frame): a verbose-1 frame
of `n`/`total` with `0 < n < total` and a total of at most 9 digits (the global
step stays in int64), a mean step time above 0 (tf.keras's `ETA:` frames print none: per line), ASCII digits, and pairs whose
values are plain numbers (`_VALUE`) under distinct names none of which the
parser adds itself (`step_time`, `epoch_eta`, `epoch_elapsed`, `epoch`). A line
is *neutral* if `parse` of it gives nothing and changes nothing: no frame and no
`Epoch E/N` header in it, as the source hands it over. Every other line (a
header, an epoch's last frame, its redraw, an odd frame) ends the run and goes
the per-line way.

Measured (`runwatch parse --output summary --format keras`, CPU, old and new code in turn, three times): a
300k-line log of the run lab's frames under epochs of 20,000 batches 8.0-9.1 s before, 4.4-5.2 s after.
What is left is mostly regex passes: the escapes' strip, `FRAME_LINES`, `_VALUE` (~1 µs a line each).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import chain

import numpy as np

from runwatch import patterns
from runwatch.parsers.bar_block import as_parsed, digit_ints, run_ends
from runwatch.parsers.base import RowColumns
from runwatch.parsers.events import WAKES
from runwatch.parsers.fields import named_values
from runwatch.parsers.keras import (
    _EPOCH,
    _MAX_FIELDS,
    FRAME_LINES,
    UNITS,
    KerasParser,
    head,
    tf2_head,
)
from runwatch.parsers.numbers import log_seconds
from runwatch.parsers.prefix import FIRST_CHARS
from runwatch.parsers.pydict import metric_name

_VALUE = patterns.compile(r"(?m)(?<=: )(?:-?\d{1,20}\.\d{1,20}(?:e[-+]\d{1,3})?|nan|-?inf)(?= |$)")
"""A value of a pair as Keras prints one (`.4f`, `.4e`, `nan`): a plain number `float` reads as `parse_number`
does, followed by the next pair's ` - ` or the line's end."""
_LIST = patterns.compile(r"(?: - [A-Za-z_][A-Za-z0-9_]{0,59}: )+[^\S\n]*")
"""A pairs text without its values (`_VALUE` taken out): ` - accuracy:  - loss:  `."""
_NAME = patterns.compile(r" - ([A-Za-z_][A-Za-z0-9_]{0,59}): ")
_OWN = frozenset({"step_time", "epoch_eta", "epoch_elapsed", "epoch"})
_TOTAL_DIGITS = 9
"""A row's step is (E − 1)·total + n with E under 10**9: a total of up to 9 digits keeps it in int64."""


class KerasRowBlock:
    """A block's frames bound to the parser that takes them (`FormatParser.read_rows`, a `RowBlock`)."""

    __slots__ = ("parser", "row", "quiet", "ends", "_at", "_n", "_total", "_per", "_unit", "_eta", "_metrics", "_present")

    def __init__(self, parser: KerasParser, lines: Sequence[str]) -> None:
        self.parser = parser
        size = len(lines)
        found = FRAME_LINES.findall("\n".join(lines))
        if len(found) != size:  # a line with a `\n` in it (never, as lines are split): no rows, not wrong ones
            found = [("",) * 8] * size
        # verbose-1 frames of a known total short enough (n is never empty for a frame, time1 only in verbose 1)
        cand = [i for i, g in enumerate(found) if g[2] and len(g[1]) <= _TOTAL_DIGITS]
        heads = [found[i] for i in cand]
        if not "".join(chain.from_iterable(heads)).isascii():
            cand = [i for i, g in zip(cand, heads, strict=True) if "".join(g).isascii()]
            heads = [found[i] for i in cand]
        n, total, per = (digit_ints([g[k] for g in heads]) for k in (0, 1, 4))
        rests = [g[7] for g in heads]
        lists = _VALUE.sub("", "\n".join(rests)).split("\n") if heads else []
        example = {x: j for j, x in enumerate(lists)}  # a frame of each names list, in the order first seen
        listed = [_names(x, rests[j], lines[cand[j]]) for x, j in example.items()]
        ids = {x: k for k, x in enumerate(example)}
        code = np.array([ids[x] for x in lists], np.int64)
        good = np.array([x is not None for x in listed] or [False], bool)
        ok = (n > 0) & (n < total) & (per > 0) & good[code]
        metrics, present = _values(rests, code, listed, ok)
        keep = np.flatnonzero(ok)
        at = np.array(cand, np.int64)[keep]
        self._at = np.full(size, -1, np.int64)
        self._at[at] = np.arange(at.size)
        self.row = self._at >= 0
        self._n, self._total = n[keep], total[keep]
        self._unit = np.array([UNITS[heads[j][5]] for j in keep.tolist()], np.float64)
        self._per = per[keep].astype(np.float64)
        self._eta = np.array([_eta(heads[j][2]) for j in keep.tolist()], np.float64)
        self._metrics = {name: v[keep] for name, v in metrics.items()}
        self._present = {name: v[keep] for name, v in present.items()}
        self.quiet = np.zeros(size, bool)
        wakes = np.array([x is not None and x[1] for x in listed] or [False], bool)
        self.quiet[at] = ~wakes[code[keep]]
        matched = np.zeros(size, bool)
        matched[[i for i, g in enumerate(found) if g[0]]] = True
        neutral = np.zeros(size, bool)
        neutral[[i for i in np.flatnonzero(~matched).tolist() if _neutral(lines[i])]] = True
        self.ends = run_ends(self.row, neutral)

    def ready(self) -> bool:
        return self.parser.ready_for_frames()

    def take(self, lo: int, hi: int) -> RowColumns:
        k = self._at[lo:hi]
        k = k[k >= 0]
        return self.parser.take_frames(
            self._n[k], self._total[k], {m: v[k] for m, v in self._metrics.items()},
            {m: v[k] for m, v in self._present.items()}, self._per[k], self._unit[k], self._eta[k])


@lru_cache(maxsize=1024)
def _eta(text: str) -> float:
    found = log_seconds(text)
    return np.nan if found is None else found


_LISTS: dict[str, tuple[tuple[str, ...], bool] | None] = {}
"""What `_names` said of each names list (a log prints a few; the lines of one are alike but in numbers)."""


def _names(listed: str, rest: str, line: str) -> tuple[tuple[str, ...], bool] | None:
    """The metric names of a pairs text whose values `_VALUE` took out (`listed`), and whether its lines may
    wake the crash detector; None where its frames are no rows. Decided on the first line of each list: the
    names `named_values` gives it, held to what the list says (a name it drops, or maps onto another's, or
    one the parser adds itself, makes the list no row's)."""
    if listed in _LISTS:
        return _LISTS[listed]
    found: tuple[tuple[str, ...], bool] | None = None
    if _LIST.fullmatch(listed) is not None:
        raw = _NAME.findall(listed)
        names = tuple(metric_name(x) for x in raw)
        read = named_values(rest.split(" - ", _MAX_FIELDS)[1:], max_key=60)
        if len(raw) < _MAX_FIELDS and tuple(read) == names and len(set(names)) == len(names) and not _OWN & set(names):
            found = (names, WAKES.admits(line))
    if len(_LISTS) < 4096:
        _LISTS[listed] = found
    return found


def _values(
    rests: list[str], code: np.ndarray, listed: list[tuple[tuple[str, ...], bool] | None], ok: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per candidate frame (`code`: its names list's index in `listed`), each metric's value (NaN: none) and
    presence, the rows of each list read by one `findall` of their values; a list whose values do not come
    out whole makes its frames no rows (`ok`)."""
    size = len(rests)
    metrics: dict[str, np.ndarray] = {}
    present: dict[str, np.ndarray] = {}
    for k, names in enumerate(listed):
        members = np.flatnonzero(ok & (code == k))
        if names is None or not members.size:
            continue
        cols = names[0]
        flat = _VALUE.findall("\n".join([rests[j] for j in members.tolist()]))
        if len(flat) != members.size * len(cols):
            ok[members] = False
            continue
        values = np.array(list(map(float, flat)), np.float64).reshape(members.size, len(cols))
        for c, name in enumerate(cols):
            if name not in metrics:
                metrics[name], present[name] = np.full(size, np.nan), np.zeros(size, bool)
            metrics[name][members], present[name][members] = values[:, c], True
    return metrics, present


def _neutral(line: str) -> bool:
    """Whether `parse` of a line that is no frame as split gives nothing and changes nothing: neither a frame
    nor an `Epoch E/N` header as the source hands it over (its launcher prefix off, its digits ASCII)."""
    text = as_parsed(line) if line[:1] in FIRST_CHARS else line
    # `FRAME_LINES` matched `_HEAD` on the line as split already: only the tf.keras form is left to try
    return _EPOCH.match(text) is None and (tf2_head(text) if text is line else head(text)) is None
