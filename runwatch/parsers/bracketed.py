"""The bracketed epoch/step form of tutorial-style training loops.

    Epoch [3/5], Step [50/120], Loss: 0.4721

is what the classic PyTorch tutorials print (and countless loops copied from them); a loop that logs
once an epoch prints `Epoch [3/5], Train Loss: 0.47` (its epoch is its step, of 5); variants put a
colon after the word (`Epoch: [3/5]`), say `Batch` or `Iter` for the step, separate fields with
`|` or blanks, and add more `Name: value` fields (`Acc: 0.91`). The step inside the brackets counts
within the epoch, so the run's global step is `(e - 1) * S + s` and its total `E * S`: one counter
across epochs, the same one the loop itself counts with (`i + 1` after `(e - 1) * S` batches): the
rule runwatch.parsers.epochs places any per-epoch count by (`within`, `run_total`), here known per line.
Values go through `parse_number`, so `nan`, `inf`, `NaN` and quoted forms are non-finite values,
never dropped.

Linear time by construction: one anchored regex with bounded, non-nested quantifiers for the two
bracket pairs, then the rest split on separators (no backtracking over untrusted text).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from runwatch import patterns
from runwatch.model import EVAL_WORDS, Kind, Record, is_eval_metric
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.epochs import run_total, within
from runwatch.parsers.fields import LOGGED_PREFIX, logging_time, named_values
from runwatch.parsers.learned import Counted, Counters
from runwatch.parsers.reads import Reads

_EPOCH_BRACKET = LOGGED_PREFIX + r"\s{0,20}Epoch\s{0,4}:?\s{0,4}\[\s{0,4}(?P<epoch>\d{1,9})\s{0,4}/\s{0,4}(?P<epochs>\d{1,9})\s{0,4}\]"
_EPOCH_BRACKET_UNCOUNTED = (LOGGED_PREFIX + r"\s{0,20}Epoch\s{0,4}:?\s{0,4}\[\s{0,4}(?P<epoch>\d{1,9})"
                            r"(?:\s{0,4}/\s{0,4}(?P<epochs>\d{1,9}))?\s{0,4}\]")
"""The epoch bracket, the run's epochs in it or not: reid-strong-baseline's `Epoch[1] Iteration[50/436] Loss: 148.527,
Acc: 0.012, Base Lr: 3.82e-05` (and the person re-ID code built on it) states none; read by `kv` as lines with no
step, a run that died in its first epoch read `no steps` (a review). Only before a step's bracket: an uncounted epoch
alone (`Epoch [5] done`) is no step line. (Its header's `MAX_EPOCHS: 180` would give the total with the line's epoch
length; the learned fast path reads its columns without the header, so neither reader takes it yet.)"""
_STEP_WORD = r"[,|\s]{0,8}(?:Step|Batch|Iter|Iteration)"
_HEAD = patterns.compile(
    _EPOCH_BRACKET_UNCOUNTED + r"(?:" + _STEP_WORD
    + r"\s{0,4}:?\s{0,4}\[\s{0,4}(?P<inner>\d{1,12})\s{0,4}/\s{0,4}(?P<per_epoch>\d{1,12})\s{0,4}\]"
    + r"|\s{0,4}\(\s{0,4}(?P<pinner>\d{1,12})\s{0,4}/\s{0,4}(?P<pper>\d{1,12})\s{0,4}\))",
    re.IGNORECASE,
)
"""`Epoch [e/E], Step [s/S]`, or MiniMind's step in parentheses with no word (`Epoch:[1/1](10/39695), loss: 8.5371`:
each line read as step 1 of 1 before, a run stopped half-way `finished`, a review), counted from 0 in its older
releases (`Epoch:[1/1](0/44160) loss:8.968`: the line is the epoch's first step, not one before counting)."""


def _counted(n: Mapping[str, Any]) -> Counted:
    """Step `(e - 1) * S + s` and total `E * S` of `Epoch [e/E], Step [s/S]`, the epoch as a metric; a line
    with `e` or `s` outside 1..E or 1..S (a `0` the loop printed before counting) is no step. Written with
    operators ints and arrays share (`&`, and `x + (x == 0)` for `max(x, 1)`): the fast path computes the
    same over a layout's columns (runwatch.parsers.learned.Counters)."""
    paren = "pinner" in n  # MiniMind's `(s/S)`: its 0 is a step (the same groups on every row of a layout)
    e, s, per = n["epoch"], n["pinner" if paren else "inner"], n["pper" if paren else "per_epoch"]
    ok = (e >= 1) & (s >= 1 - paren) & (s <= per + (per == 0))
    if "epochs" not in n:  # `Epoch[1] Iteration[50/436]`: no count of epochs, no total
        return within(e, 1, s, per), None, {"epoch": e * 1.0}, ok
    epochs = n["epochs"]
    return within(e, 1, s, per), run_total(epochs, per), {"epoch": e * 1.0}, ok & (e <= epochs + (epochs == 0))


def _counted_from_0(n: Mapping[str, Any]) -> Counted:
    """`_counted` for a loop that counts both from 0 (`ZeroBasedParser`): step `e * S + s` of `E * S`, `e` in
    0..E-1 and `s` in 0..S."""
    paren = "pinner" in n
    e, s, per = n["epoch"], n["pinner" if paren else "inner"], n["pper" if paren else "per_epoch"]
    ok = (e >= 0) & (s >= 0) & (s <= per + (per == 0))
    if "epochs" not in n:
        return within(e, 0, s, per), None, {"epoch": e * 1.0}, ok
    epochs = n["epochs"]
    return within(e, 0, s, per), run_total(epochs, per), {"epoch": e * 1.0}, ok & (e < epochs + (epochs == 0))


COUNTERS = Counters(_HEAD, _counted)
COUNTERS_FROM_0 = Counters(_HEAD, _counted_from_0)
_EPOCH_ONLY = patterns.compile(_EPOCH_BRACKET, re.IGNORECASE)
"""`Epoch [e/E], Train Loss: …` with no step inside the epoch: a loop that logs once an epoch. Its epoch is
its step, of E (a review saw a 650-epoch run with no step and no progress: `check` said `no steps`). Read
line by line (one line an epoch: no fast path needed), after `COUNTERS` found no step bracket."""
_STEPPED = patterns.compile(rf"{_STEP_WORD}|\s{{0,8}}[\[(]\s{{0,12}}\d{{1,12}}\s{{0,3}}/\s{{0,3}}\d{{1,12}}\s{{0,8}}[\])]", re.IGNORECASE)
"""After the epoch bracket, the step word of a line `COUNTERS` reads (or found out of range: no step), or a count in
brackets with no word (torchvision's MetricLogger, `Epoch: [0/100]  [  10/1562]  eta: …`: an epoch's iteration, which
`kv` reads; read here as the epoch's one line, DINO's 1562 iterations an epoch were one step)."""
_EVAL_WORDS = frozenset(EVAL_WORDS)
_COUNTS = frozenset({"step", "global_step", "iter", "iteration", "global_iter", "global_iteration"})
"""A step counter among an epoch line's fields: the line steps by it, not by the epoch (PaddleOCR's `epoch: [2/500],
global_step: 920, …`; read here as epoch 2 of 500, once the bracketed stamp before it was taken as a logging prefix,
a code change's check over the found logs). A field that speaks of steps at all (MindOCR's epoch summary, `epoch:
[11/20], loss: 0.49, epoch time: 1020.5 s, per step time: 228.0 ms`, after its `step: [4000/4468]` lines) says the
same: the run steps by steps, and this line sums its epoch up (read as step 11, the run "started again", a code
review)."""
_SEPARATORS = patterns.compile(r"[,|]")
_NEXT_FIELD = patterns.compile(
    r"(?<!\d)([:=]\s{0,8}[-+]?(?:\d[\d.]{0,30}|\.\d{1,30})(?:[eE][-+]?\d{1,4})?)\s{1,8}"
    r"(?=[A-Za-z_][\w./()-]{0,40}(?: [A-Za-z_][\w./()-]{0,40})?\s{0,3}[:=]\s{0,3}[-+.\dnNiI])")
"""A field's number and the blanks after it before the next `Name:`, with no comma or bar between (a GAN loop's `Epoch
[0/50] Batch [0/199] D_loss: -5.6973 G_loss: 5.6968`: its generator's loss was read as no field, a review); not the
blanks inside a name (`Train L1 Loss: 1.98`, `Val Loss: 0.3`), nor those after a clock's last part (`eta: 0:30:15`)."""
_MAX_FIELDS = 32


class BracketedParser(GuardedParser):
    """`Epoch [e/E], Step [s/S], Name: value, ...` lines: one step record each."""

    name: ClassVar[str] = "bracketed"
    learn_anchors: ClassVar[tuple[bytes, ...] | None] = (b"Epoch", b"epoch", b"EPOCH")
    learn_counters: ClassVar[Counters | None] = COUNTERS
    reads: ClassVar[Reads | None] = Reads(lowered=patterns.compile("epoch"))
    """Every line it reads starts with `COUNTERS`' head, `Epoch [e/E]` in any case (after a logging prefix)."""

    first_epoch: ClassVar[int] = 1
    """The epoch the loop counts from (`ZeroBasedParser`)."""

    def _parse(self, line: str) -> Record | None:
        counters = self.learn_counters
        assert counters is not None
        found = counters.of(line)
        if found is None:
            return _epoch_only(line, self.first_epoch)
        m, (step, total, derived, _) = found
        metrics = _fields(line[m.end():])
        if not metrics:
            return None
        metrics.update(derived)
        kind = Kind.STEP if "loss" in metrics or not all(map(is_eval_metric, metrics)) else Kind.EVAL
        return Record(kind=kind, step=step, total_steps=total, metrics=metrics, t=logging_time(line.lstrip()))


class ZeroBasedParser(BracketedParser):
    """`Epoch: [0/520] Iter:[0/247], …, Loss: 11.64`: the bracketed form of a loop that counts its epochs from 0
    (`for epoch in range(begin, end)` printing `epoch` and the batch index `i_iter`, as HRNet's segmentation
    loop and the code built on it do). Read as the 1-based form, its whole first epoch had no step (read
    by `kv` as step-less records until epoch 1 came), every step was one epoch short, and a run that ended
    (`Epoch: [519/520] Iter:[490/495]`, then `Done`) read as stopped one epoch before its total (a review).

    A separate format, not a state of `bracketed`: nothing but a line of epoch 0 tells the two apart, and
    each reader (per line and in columns) reads with one `Counters`. Detection signs it by such a line
    (`score`); a log resumed past epoch 0 reads as the 1-based form."""

    name: ClassVar[str] = "bracketed0"
    learn_counters: ClassVar[Counters | None] = COUNTERS_FROM_0
    first_epoch: ClassVar[int] = 0

    def score(self, line: str) -> int:
        """2 for a step line of epoch 0 (`Epoch: [0/520] Iter:[40/247]`), 1 for another line it reads: the
        1-based form takes every line that is not of epoch 0 at 2 (ties go to it, registry order)."""
        rec = type(self)().parse(line)
        if rec is None or rec.kind not in (Kind.STEP, Kind.EVAL):
            return 0
        return 2 if rec.metrics.get("epoch") == 0 else 1


def _epoch_only(line: str, first: int = 1) -> Record | None:
    """An `Epoch [e/E], Name: value, …` line (`_EPOCH_ONLY`), the epochs counted from `first`: step e - first
    + 1 of E; EVAL where every name says it evaluates (`Validation Loss`, `Smoothed Validation Loss`)."""
    m = _EPOCH_ONLY.match(line)
    if m is None:
        return None
    e, epochs = int(m["epoch"]), int(m["epochs"])
    rest = line[m.end():]
    if not first <= e <= max(epochs, 1) - 1 + first or _STEPPED.match(rest):
        return None  # a step bracket COUNTERS would read: one out of range is no step
    metrics = _fields(rest)
    if not metrics or not _COUNTS.isdisjoint(metrics) or any("step" in k for k in metrics):
        return None  # no value, a step counter of the line's own (`kv`'s to read), or an epoch's summary of its steps
    evaluates = all(is_eval_metric(k) or not _EVAL_WORDS.isdisjoint(k.split("_")) for k in metrics)
    metrics["epoch"] = float(e)
    return Record(kind=Kind.EVAL if evaluates else Kind.STEP, step=e - first + 1, total_steps=epochs or None, metrics=metrics,
                  t=logging_time(line.lstrip()))


def _fields(rest: str) -> dict[str, float]:
    """`, Loss: 0.47, Acc: 0.91` → {"loss": 0.47, "acc": 0.91}; a value that is no number is left out."""
    return named_values(_SEPARATORS.split(_NEXT_FIELD.sub(r"\1|", rest), _MAX_FIELDS), equals=True)
