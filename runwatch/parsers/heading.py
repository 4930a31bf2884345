"""A line that names the progress bar drawn after it: `[INFO] epoch 3`, `Evaluation`, `=== Validating ===`.

A loop that draws its bars with no description (`for batch in tqdm(loader)`) often says what the bar is on
the line before it. Read without that line, every bar looked alike: a review's pose-estimation run printed
`[INFO] epoch N`, a bare bar of 3517 training batches, `[INFO] Evaluation` and a bare bar of 431 test
batches, 25 times; each bar's 100% read as the run finished, the evaluation's 431 as the run's length, and
the run, stopped in epoch 25, as 2% done. The heading is the bar's description: an epoch heading makes the
bar an `Epoch E` bar (its steps counted across the epochs), an evaluation heading makes it no training bar.

A heading is a short line of its own, after any logging prefix (`preamble.LOG_PREFIX`): an epoch and its
number (and the run's epochs: `Epoch 3/100`), or an evaluation's word first, with no measured value on it
(`Epoch 3/100 loss: 0.52` is a summary, `Evaluation: acc=0.9` a result, neither names a bar to come).
"""

from __future__ import annotations

import re
from functools import lru_cache

from runwatch import patterns
from runwatch.parsers.preamble import LOG_PREFIX

_DECOR = r"[\s=\-#*>~+]{0,12}"
_EPOCH_HEADING = patterns.compile(
    rf"{_DECOR}(?:(?:start(?:ing)?|begin(?:ning)?|training)\s+(?:of\s+)?)?(?P<text>epoch\s?[:#]?\s?\[?\d{{1,9}}"
    rf"(?:\s?/\s?\d{{1,9}}|\sof\s\d{{1,9}})?\]?){_DECOR}[.:!]?{_DECOR}",
    re.IGNORECASE,
)
_EVAL_HEADING = patterns.compile(
    rf"{_DECOR}(?:(?:start(?:ing)?|begin(?:ning)?|running|run)\s+)?"
    r"(?P<text>(?:evaluat(?:e|es|ed|ing|ion)|validat(?:e|es|ed|ing|ion)|val|test(?:ing)?|inference)"
    r"(?:\s(?:on|at|for|of)\s(?:the\s)?(?:epoch\s?\d{1,9}|val(?:idation)?|test|dev|eval(?:uation)?)(?:\sset)?)?"
    r"(?:\s(?:set|phase|mode|loop|start(?:ed|s)?|begins?))?)"
    rf"{_DECOR}[.:!]{{0,3}}(?:\.\.\.)?{_DECOR}",
    re.IGNORECASE,
)
"""An evaluation's word, alone or with where or when it runs (`Evaluating...`, `Validation:`, `***** Running
Evaluation *****`, `Evaluating on validation set`, `Evaluation at epoch 3`): a line that merely starts with one
(`test set size 500`, `test_loader built`) is no heading, and the training bar after it stays one."""
_VALUE = patterns.compile(r"[:=]\s?[-+]?(?:\d|\.\d|nan\b|inf\b)", re.IGNORECASE)
MAX_HEADING = 80
_WORD = patterns.compile(r"epoch|val|test|inference", re.IGNORECASE)
"""A word every heading has (`val` is in `evaluat…` and `validat…`): most lines a bar's log holds between its
frames have none, and leave before the logging prefix is matched."""


@lru_cache(maxsize=256)  # a loop prints the same few headings every epoch
def heading_of(line: str) -> str | None:
    """The description a heading line gives the bar after it (`epoch 3`, `Evaluation`), else None."""
    if len(line) > MAX_HEADING or _WORD.search(line) is None:
        return None
    prefix = LOG_PREFIX.match(line)
    text = line[prefix.end():] if prefix is not None else line
    found = _EPOCH_HEADING.fullmatch(text)  # its number is no value (`Epoch: 3`, as a loop prints it)
    if found is None and not _VALUE.search(text):
        found = _EVAL_HEADING.fullmatch(text)
    return found["text"].strip() if found is not None else None


_FIRST_NUMBER = patterns.compile(r"\d{1,9}")


def epoch_heading(line: str) -> int | None:
    """The epoch a bare epoch heading names (`Epoch 3`, `=== Epoch 3/100 ===`), else None: a loop that prints its
    epoch on a line of its own and its steps' values after it without one (chemprop's `Epoch 0`, then `Loss =
    1.1803e+00, PNorm = 112.7778, GNorm = 1.3789, lr_0 = 1.3867e-04` every tenth batch) says which epoch they are in."""
    text = heading_of(line)
    if text is None or text[:1] not in "Ee" or (number := _FIRST_NUMBER.search(text)) is None:
        return None
    return int(number[0])
