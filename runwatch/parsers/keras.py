"""Keras 3 `model.fit` output, verbose 1 (the progress bar) and verbose 2 (a line per epoch); Keras 2's
(tf.keras) too: its verbose-1 epoch line, a bar of `=` and a ` - ` before the time, which is the epoch's
elapsed time (`390/390 [==============================] - 26s 68ms/step - loss: 1.3148 - acc: 0.5271`), the
frames before it (`30/89 [=========>....] - ETA: 24s - loss: nan - accuracy: 0.6652`: the epoch's ETA, no mean),
and its verbose-2 line, the metrics before the times (`128/128 - 5s - loss: 3.1494 - 5s/epoch - 43ms/step`).

    Epoch 3/6
     47/100 ━━━━━━━━━━━━━━━━━━━━ 0s 6ms/step - accuracy: 0.4302 - loss: 1.8952
    100/100 ━━━━━━━━━━━━━━━━━━━━ 1s 6ms/step - accuracy: 0.7166 - loss: 1.0782 - val_accuracy: 0.6969 - val_loss: 1.3795
    100/100 - 1s - 7ms/step - accuracy: 0.7003 - loss: 1.3173 - val_accuracy: 0.7109 - val_loss: 1.3332

Keras draws the bar even on a pipe (each frame `\\b`-erased and `\\r`-returned, both dropped by the
line splitter with the colour escapes), at most every 0.05 s, so a frame is a sample of the run,
not every batch. The bar counts batches within the epoch; the run's step is the global one Keras's
optimizer counts, `(E − 1)·N + n` (1-based, what `model.optimizer.iterations` reads after the
step), and the total `E_max·N`. A bar with no known length (`  1234/Unknown`) counts on from the
steps the earlier epochs took.

The numbers as Keras prints them: `loss` and the other metrics are means over the epoch so far (a
NaN batch keeps the mean NaN until the epoch ends); `6ms/step` (also `s/step`, `us/step`) is the
mean time of a step since the epoch's first, so it becomes `step_time`; before the epoch's end the
time before the number is the epoch's ETA (`4s`, `1:05`, `1:02:03`), on the last frame drawn again
at the epoch's end (after validation, with the `val_*` metrics) its elapsed time; the frame of the last
batch before it shows the ETA, `0s`. A bar after the last epoch's end is `model.evaluate`'s. Before the last frame, the epoch's elapsed time is the mean times the steps so far
(`epoch_elapsed`, an estimate: the mean is printed to three digits, and Keras counts its first step
apart): it is the bar's clock, which a hang inside a step moves by its length (a 75 s data-loader
hang read `5ms/step` at batch 125, `587ms/step` at 130: 0.6 s, then 76.3 s), where the mean step
time moves by a share of it. A bar outside an epoch (`model.evaluate` after `fit`) is an evaluation: its metrics
become `test_*` on an EVAL record; `model.predict` bars carry no metric and give nothing.

Linear time: one anchored regex with bounded quantifiers for the head, then a split on ` - `. A block of a
one-shot read takes the frames inside an epoch in runs, as columns (runwatch.parsers.keras_block).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from runwatch import patterns
from runwatch.model import Kind, Record, is_eval_metric
from runwatch.parsers.base import GuardedParser, Row, RowBlock, RowColumns
from runwatch.parsers.fields import named_values
from runwatch.parsers.numbers import log_seconds, parse_int

if TYPE_CHECKING:
    import numpy as np

_EPOCH = patterns.compile(r"Epoch (\d{1,9})/(\d{1,9})\s{0,8}$")
_HEAD = patterns.compile(
    r"[^\S\n]{0,12}(?P<n>\d{1,12})/(?P<total>\d{1,12}|Unknown)"
    r"(?:(?: [━=>.\[\] ]{0,200}? ?(?:- )?(?P<time1>\d{1,6}(?::\d\d){0,2}s?)"  # verbose 1: bar, then ETA/elapsed
    r"| - (?P<time2>\d{1,9}s))"  # verbose 2: ` - 1s`
    r"(?: - |[^\S\n])(?P<per>\d{1,9})(?P<unit>s|ms|us)/(?:step|sample)"
    r"| \[[=>.]{1,200}\] - ETA: (?P<eta>\d{1,6}(?::\d\d){0,2}s?)(?= - |$))"  # tf.keras in an epoch: no mean time
    r"(?P<rest>.*)$"
)
"""A frame's head (its count, time and mean step time) and the rest: its ` - name: value` pairs. No part of it
matches a `\n` (no line holds one), so that `FRAME_LINES` matches it line by line in a block. TF 1.x's `fit` on
arrays counts samples, not batches (`11610/11610 [====] - 0s 39us/sample - loss: nan - val_loss: nan`): its bar's
unit is a sample, so the run's steps are samples and its step time a sample's (a review: a housing regression's
13 epochs of `loss: nan` read as no record at all, `UNREAD`). tf.keras's frames before an epoch's last print
its ETA and no mean step time (`30/89 [=========>....] - ETA: 24s - loss: nan - accuracy: 0.6652`, `eta`): read,
they are the epoch's steps as they go (a review: a ROCm run's console read its crash at step 89, the end of the
epoch before, where its bar had reached 30 of the next; a fit's nine hundred such frames unread)."""
_TF2_EPOCH = patterns.compile(
    r"(?P<head>[^\S\n]{0,12}\d{1,12}/\d{1,12}(?: \[[=>.]{1,200}\])? - \d{1,9}s)(?P<rest> - .*?)"
    r"(?: - \d{1,9}(?:\.\d{1,6})?(?:s|ms|us)/epoch)?(?: - (?P<per>\d{1,9}(?:s|ms|us)/(?:step|sample)))?$"
)
"""tf.keras's verbose-2 epoch line, its metrics before the times (`128/128 - 5s - loss: 3.1494 - accuracy:
0.1463 - 5s/epoch - 43ms/step`; TF 2.0 to 2.3 printed no times after them): `head` reads it as the Keras 3
line of the same numbers (`128/128 - 5s - 43ms/step - loss: …`), a missing mean step time as `0ms/step`
(none). Tried only on a line `_HEAD` did not match (a new user's review: 1,600 epochs of a real log unread).
Keras 2.0 drew its bar and printed no mean step time either (`127/127 [=====] - 10s - loss: 194.3781 - val_loss:
0.3296`): the same reading, the bar kept (a review: 40 epochs of a real log, `UNREAD`)."""


_KERAS1_EPOCH = patterns.compile(r"[^\S\n]{0,12}(?:- )?(?P<secs>\d{1,9})s(?P<rest> - [A-Za-z_][^:\n]{0,60}: .*)$")
"""Keras 1's verbose-2 epoch line: the epoch's elapsed seconds and its metrics, no count of batches
(`3083s - loss: 1.7197 - acc: 0.5893 - val_loss: 0.3504 - val_acc: 0.8959` under `Epoch 1/10`); Keras 2.1 and
2.2 print it after a dash (` - 23s - loss: 0.3718 - acc: 0.8957 - val_loss: …`). Read as the epoch's one frame,
`1/1`: the epoch is the step, as far as such a log shows (a new user's review: a run's ten epochs and its early
stop read as no step at all, `OK`)."""


def head(line: str) -> re.Match[str] | None:
    """`_HEAD` of a frame or an epoch line as Keras 2 and 3 print it (`_TF2_EPOCH`)."""
    return _HEAD.match(line) or tf2_head(line)


def keras1_head(line: str) -> re.Match[str] | None:
    """`_HEAD` of a Keras 1 verbose-2 epoch line (`_KERAS1_EPOCH`) read as Keras 3's line of one batch, for a
    line `head` did not match; inside an epoch only (`parse`): outside one, a count-less `12s - loss: 0.5` is
    nobody's evaluation."""
    if "s - " not in line or (k := _KERAS1_EPOCH.match(line)) is None:
        return None
    return _HEAD.match(f"1/1 - {k['secs']}s - 0ms/step{k['rest']}")


def tf2_head(line: str) -> re.Match[str] | None:
    """`_HEAD` of a tf.keras verbose-2 epoch line (`_TF2_EPOCH`) read as Keras 3's, for a line `_HEAD` did
    not match."""
    if " - " not in line or (t := _TF2_EPOCH.match(line)) is None:
        return None
    return _HEAD.match(f"{t['head']} - {t['per'] or '0ms/step'}{t['rest']}")

FRAME_LINES = patterns.compile(rf"(?m)^(?:{_HEAD.pattern})$|^.*$")
"""`_HEAD` over a block of lines joined by `\n`: `findall` gives one match per line, in order, with the head's
groups (n, total, time1, time2, per, unit, eta, rest) for a frame and empty ones for any other line
(runwatch.parsers.keras_block)."""
UNITS = {"s": 1.0, "ms": 1e3, "us": 1e6}
"""A mean step time's unit → what its number is divided by for seconds (dividing keeps `3ms` × 3 steps at
0.009 s, where multiplying by 1e-3 gave 0.009000000000000001)."""
_MAX_FIELDS = 64


class KerasParser(GuardedParser):
    """`Epoch E/N` headers and the frames of Keras's `n/N` bar: one step record per frame."""

    name: ClassVar[str] = "keras"
    rows_in_bulk: ClassVar[bool] = True

    def __init__(self) -> None:
        self._epoch: int | None = None
        self._epochs: int | None = None
        self._in_epoch = False
        self._ended: int | None = None
        """The epoch's last frame was drawn, at this count: Keras draws it again after validation (with the
        `val_*` metrics), and any other frame before the next `Epoch` header is no training."""
        self._done_before = 0  # steps the finished epochs took (a bar of unknown length)
        self._last_n = 0
        self._total: int | None = None  # the batches of an epoch, as the newest frame that counts them states

    def _parse(self, line: str) -> Record | None:
        e = _EPOCH.match(line)
        if e is not None:
            epoch, epochs = int(e.group(1)), int(e.group(2))
            if 1 <= epoch <= max(epochs, 1):
                if self._in_epoch or (self._epoch is not None and epoch > self._epoch):
                    self._done_before += self._last_n
                self._epoch, self._epochs, self._in_epoch, self._last_n, self._ended = epoch, epochs, True, 0, None
            return None
        m = head(line) or (keras1_head(line) if self._in_epoch else None)
        if m is None:
            return None
        counts = _counts(m)
        if counts is None:
            return None
        metrics = _fields(m["rest"])
        if not self._training(*counts):
            return _evaluation(metrics, *counts)
        step, planned, metrics = self._frame(m, *counts, metrics)
        return Record(kind=Kind.STEP, step=step, total_steps=planned, metrics=metrics)

    def take_row(self, line: str) -> Row | None:
        """The row of a bar frame inside an epoch, the state left as `parse` leaves it; None, with nothing
        changed, for any other line (headers, frames outside `fit`'s epochs, odd ones: `parse` reads them)."""
        if not self._in_epoch:
            return None
        m = head(line)
        if m is None or not (m["n"] + m["total"] + (m["time1"] or m["time2"] or m["eta"]) + (m["per"] or "")
                             + m["rest"]).isascii():
            return None  # a digit that is not ASCII: `_line` reads the line with it replaced
        counts = _counts(m)
        if counts is None or not self._training(*counts):
            return None
        try:
            metrics = _fields(m["rest"])
        except (ValueError, IndexError, OverflowError):  # what GuardedParser.parse makes "not mine"
            return None
        return self._frame(m, *counts, metrics)

    def read_rows(self, lines: Sequence[str]) -> RowBlock:
        from runwatch.parsers.keras_block import KerasRowBlock

        return KerasRowBlock(self, lines)

    def ready_for_frames(self) -> bool:
        """Whether the next frames inside an epoch before its last (`keras_block`'s rows) are the epoch's
        training frames, as `take_row` takes them: inside an epoch whose last frame was not drawn yet."""
        return self._in_epoch and self._ended is None

    def take_frames(self, n: np.ndarray, total: np.ndarray, metrics: dict[str, np.ndarray],
                    present: dict[str, np.ndarray], per: np.ndarray, unit: np.ndarray, eta: np.ndarray) -> RowColumns:
        """Frames of the epoch before its last (`0 < n < total`, verbose 1, a mean step time above 0) taken in
        order as `take_row` takes each while `ready_for_frames`: the fields' columns (`metrics`, `present`)
        with what `_frame` adds to them (`per`: the mean step time's number, `unit` its `UNITS` divisor), and the
        state left as after the last."""
        import numpy as np

        epoch = self._epoch or 1
        step_time, elapsed = mean_clock(n, per, unit)
        step, fraction = global_step(epoch, n, total)
        own = {"step_time": step_time, "epoch_eta": eta, "epoch_elapsed": elapsed, "epoch": fraction}
        every = np.ones(n.size, bool)
        out, shown = dict(metrics), dict(present)
        for name, column in own.items():
            out[name], shown[name] = column, every
        self._last_n, self._total = int(n[-1]), int(total[-1])
        return RowColumns(step, (self._epochs or epoch) * total, out, shown)

    def epoch_end_step(self) -> int | None:
        """The step of the open epoch's last frame, drawn or to come, where its batches are counted: Keras 1's
        `EarlyStopping` prints `Epoch 00008: early stopping` (its 0-based epoch) in the epoch's end, before the
        epoch's verbose-2 line (`3124s - loss: 0.0516 - …`) or the bar's last frame drawn again with the `val_*`
        metrics; the finish is at that step, not taken back by it (a review's three fits, two stopped early,
        read "incomplete: stopped at 6/10")."""
        if not self._in_epoch or self._epoch is None or self._total is None:
            return None
        step: int = global_step(self._epoch, self._total, self._total)[0]
        return step

    def _training(self, n: int, total: int | None) -> bool:
        """Whether a frame of `n`/`total` is one of the epoch's: inside an epoch, and after its last frame
        only that frame drawn again (an `evaluate()` bar after `fit`'s last epoch is none)."""
        return self._in_epoch and (self._ended is None or (n == total and n == self._ended))

    def _frame(self, m: re.Match[str], n: int, total: int | None, metrics: dict[str, float]) -> Row:
        """A frame inside an epoch: its global step, the run's planned steps and its metrics (`_HEAD`'s
        parts); the epoch's state follows it."""
        final = total is not None and n == total
        per, estimate = mean_clock(n, float(m["per"]), UNITS[m["unit"]]) if m["per"] else (0.0, 0.0)
        if per > 0:
            metrics["step_time"] = per
        # the time printed is the epoch's: elapsed on a verbose-2 line, on Keras 2's frame (`] - 26s`: it
        # spells its ETA `ETA: 3s`) and on Keras 3's last frame drawn again at the epoch's end (after
        # validation: it has the `val_*` metrics, or follows the last batch's frame); else its ETA, the last
        # batch's frame (`0s`) included
        keras2 = m["time1"] is not None and m.string.startswith("- ", m.start("time1") - 2)
        elapsed = bool(m["time2"]) or keras2 or (
            final and (self._ended == n or any(k.startswith("val_") for k in metrics)))
        secs = log_seconds(m["time1"] or m["time2"] or m["eta"])
        if secs is not None:
            metrics["epoch_elapsed" if elapsed else "epoch_eta"] = secs
        if not elapsed and per > 0:
            metrics["epoch_elapsed"] = estimate  # what the mean says has passed: the bar's clock, an estimate
        elif m["eta"] and secs and total is not None and n < total:
            # tf.keras prints no mean: its ETA is the mean × the batches left, so the mean × those done is what
            # has passed (an estimate, as above; an ETA of 0s says nothing: the first batch's, or one rounded down)
            metrics["epoch_elapsed"] = secs * n / (total - n)
        epoch = self._epoch or 1
        self._last_n = n
        if final:
            self._ended = n
        if total is not None:
            self._total = total
            step, metrics["epoch"] = global_step(epoch, n, total)
            return step, (self._epochs or epoch) * total, metrics
        metrics["epoch"] = float(epoch - 1)
        return self._done_before + n, None, metrics

    def score(self, line: str) -> int:
        """A bar frame with a metric and a loss or a `/step` time is Keras's own; an `Epoch E/N` header alone is a
        maybe. Another library's Keras-like bar (PaddleSeg's evaluation, `1/76 [......] - ETA: 4s - batch_cost:
        0.0542 - reader cost: 0.0146`) signed it, and a PaddleSeg log's 483 training lines went unread (a
        review: `check` said OK, no steps, where `tail`, which had chosen otherwise, read them). A Keras 1 or
        2.1 epoch line (`_KERAS1_EPOCH`) with a loss is a maybe: it has no count, and ` - 23s - loss: 0.3718` is
        what only Keras prints, but without its header it is no epoch's (the generic `kv` read a Keras 2.1 run's
        20 epochs as stepless records, a tie its maybes won)."""
        if _EPOCH.match(line):
            return 1
        m = head(line)
        if m is None:
            return 1 if (k := keras1_head(line)) is not None and "loss" in k["rest"] else 0
        if " - " not in (rest := m["rest"]):
            return 0
        return 2 if "loss" in rest or "/step" in rest else 0


def _counts(m: re.Match[str]) -> tuple[int, int | None] | None:
    """A frame's batch `n` of `total` (None: `Unknown`), or None when they are no count (`0/5`, `7/5`)."""
    n = parse_int(m["n"])
    total = None if m["total"] == "Unknown" else parse_int(m["total"])
    if n is None or (total is not None and not 0 < n <= total):
        return None
    return n, total


def mean_clock(n: Any, mean: Any, unit: Any) -> tuple[Any, Any]:
    """(step time, the epoch's elapsed time so far) of frame `n` of a bar whose mean step time reads `mean` in
    a unit of `UNITS` divisor `unit`: each one rounding of the printed numbers (`3ms` × 3 is 0.009). The same
    arithmetic on one frame's numbers and on a run's columns (runwatch.parsers.keras_block)."""
    return mean / unit, n * mean / unit


def global_step(epoch: int, n: Any, total: Any) -> tuple[Any, Any]:
    """The optimizer's step of frame `n` of `total` in 1-based `epoch`, and the epoch as a fraction (one
    rounding: 1.945, not 1.9449999999999998); on one frame's numbers and on columns alike."""
    step = (epoch - 1) * total + n
    return step, step / total


def _evaluation(metrics: dict[str, float], n: int, total: int | None) -> Record | None:
    """A bar outside `fit`'s epochs: `model.evaluate` (metrics) or `model.predict` (none). Only its last frame
    (or any, where its length is unknown) is the evaluation's result: the frames before it are running
    means of part of the data (a new user saw three `test_loss` values for one `evaluate()`)."""
    if total is not None and n != total:
        return None
    out = {k if is_eval_metric(k) else f"test_{k}": v for k, v in metrics.items()}
    return Record(kind=Kind.EVAL, metrics=out) if out else None


def _fields(rest: str) -> dict[str, float]:
    """` - accuracy: 0.4302 - loss: nan` → {"accuracy": 0.4302, "loss": nan}."""
    return named_values(rest.split(" - ", _MAX_FIELDS)[1:], max_key=60)
