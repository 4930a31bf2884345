"""tqdm progress bars: Lightning's `Epoch 3:  45%|████▌| 45/100 [00:10<00:12, 4.50it/s, loss=0.1]` and plain ones.

Lightning's RichProgressBar prints the same numbers in another spelling (`rich_bar`): its frames become
the same `Frame` and follow every rule below.

Decisions:

* Step. A plain bar (no `Epoch` in its description, e.g. HF Trainer's) gives
  step N of total M (the total from N ≥ 1: Lightning 1.x's epoch bar is a
  plain `Training: 0/M` before `Epoch 0:` names it, M the epoch's length). An `Epoch E:` bar counts batches within epoch E, so the
  GLOBAL step is `E*M + N - 1`: the 0-based step just taken, as Lightning's
  `trainer.global_step` and its CSVLogger's `step` column count it (a frame at
  `0/M` has taken no step and gives no record). That assumes every epoch has
  M batches and that one batch is one optimizer step (not true under gradient
  accumulation, where the step is in batches).
* Stale postfix. Lightning redraws twice per batch: `update(n)` first, still
  showing the previous batch's postfix, then `set_postfix` with this batch's
  metrics. A frame at a new N whose postfix is the previous frame's is that
  first redraw: its metrics are the previous step's and are not given to this
  one (they were, and the steps of loss records came out one early). With an unknown length (`N/?`) the epoch length is
  learned from the largest N seen in each earlier epoch; if the log started
  mid-run that is unknown and the record has no step. `total_steps` is left
  unset for epoch bars: the bar only knows the epoch's length.
* Rate. `s/it` and `it/s` both become `step_time` (seconds per iteration,
  `1/rate` for `it/s`). Bar times go to `elapsed`/`eta` for plain bars and to
  `epoch_elapsed`/`epoch_eta` for epoch bars, whose clock restarts each epoch.
* `Validation`/`Sanity Checking`/`Testing`/`Predicting` bars and dataset
  bars (`Map`, `Downloading`, …) are not training: parse returns None.
* Postfix: `key=value` pairs, canonical names via `metric_name`
  (`train_loss`/`loss`/`train_loss_step` → loss, the first one wins);
  `v_num` is dropped. A frame cut before its `]` drops its last pair, which
  may be cut mid-value or glued to a callback message. Values that persist
  in the bar between updates (`val_*`, `*_epoch`) are emitted only when they
  change, so a validation result counts once rather than at every step.
* Lightning's "`Trainer.fit` stopped: `max_epochs=50` reached." is an EVENT
  `finished` at the last step seen (the run ended normally), also when it is
  glued to a bar; that bar is redrawn on the next line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from runwatch import patterns
from runwatch.arrays import distinct
from runwatch.model import EVAL_WORDS, Event, Kind, Record, is_eval_metric
from runwatch.parsers.base import FormatParser, Row, RowBlock, RowColumns
from runwatch.parsers.beside import beside, names_loss
from runwatch.parsers.boundary import ascii_digits
from runwatch.parsers.heading import heading_of
from runwatch.parsers.numbers import (
    NUMBER_TEXT,
    STEP_UNITS,
    clock_seconds,
    held_numbers,
    parse_number,
    scaled,
)
from runwatch.parsers.pydict import metric_name
from runwatch.parsers.rich_bar import BAR_GLYPH, CONTINUATION, pairs, parse_rich_frame

if TYPE_CHECKING:
    import numpy as np

    from runwatch.parsers.bar_block import FrameBlock

MAX_LINE = 65_536

_SCALED = r"[kMG]?(?:\d{1,3}\.)?\d{1,12}"
"""A count as tqdm prints it, reversed: `45`, or under `unit_scale` 3 significant digits and an SI prefix
(`1.00`, `18.0`, `1.71k`: tqdm.keras.TqdmCallback's batch bar)."""
_COUNT_REVERSED = patterns.compile(rf"\s?(?:(?P<total>{_SCALED}|\?)/(?P<n>{_SCALED})|ti(?P<n_only>\d{{1,12}}))(?!\d)")
"""A bar's count just before its `[` (`45/100 `, `12/? `, `2300it`, `1.00/171 `), matched on the reversed text
before the `[`: an anchored match there costs a tenth of a search for where the count starts. The count starts
where a number starts (the look-ahead, a look-behind in the line): inside a run of 64 KiB of digits, trying
every position with up to 12 digits each cost 60 ms a line."""
_COUNT_SPAN = 37
"""The longest count with the character before it: two of `_SCALED` (17 characters), `/`, a space."""
_COUNT_ENDS = frozenset("0123456789?tkMG")
_ELAPSED = r"(?P<elapsed>\d{1,6}(?::\d\d){1,2})"
_REMAINING = r"(?P<remaining>\d{1,6}(?::\d\d){1,2}|\?)"
_RATE = r"(?P<rate>\?|\d{1,9}(?:\.\d{1,9})?)(?P<scale>[kMG]?)(?P<unit>it/s|s/it)"
_ANY_RATE = _RATE.replace("it/s|s/it", "[A-Za-z]{1,12}/s|s/[A-Za-z]{1,12}")
"""A rate in any unit a bar was given (`53.2batch/s`, `4.02s/epoch`, `120MB/s`): `_step_time` knows which are steps."""
_CLOCK = patterns.compile(rf"{_ELAPSED}?(?:(?:<|&lt;){_REMAINING})?(?:,\s*{_ANY_RATE})?")
"""What follows the `[`: `00:10<00:12, 4.50it/s`, each part optional."""
_DESC_CHARS = r"[^\[\],|%\u2580-\u259f\r\n]"
"""What a description of the plain frame holds: none of the characters that end it (`]`, `,`) or draw the bar."""
PLAIN_FRAME = patterns.compile(
    rf"(?P<desc>{_DESC_CHARS}{{0,60}})[^\S\n]{{0,10}}(?<!\d)"  # no digit of any script before the percent (`_strip_bar`)
    + rf"(?P<pct>\d{{1,3}})%\|[ \u2580-\u259f]{{0,120}}\| ?(?P<n>\d{{1,12}})/(?P<total>\d{{1,12}}) "
      rf"\[{_ELAPSED}<{_REMAINING},  ?{_RATE}(?P<body>[^\[\]\n]{{0,4000}})\] {{0,200}}".replace(r"\d", "[0-9]")
)
"""The frame as tqdm draws it by default, `{desc}: {pct}%|{bar}| {n}/{total} [{elapsed}<{remaining}, {rate}{postfix}]`,
alone on its line (a rate below 10 has a space before it, tqdm's `{rate:5.2f}`, and a frame shorter than the one
before has spaces after it: most frames of a GPU run at a few steps a second went the general way), its numbers in ASCII digits (the description is greedy: it holds no `%`, so it runs to the first one
and gives back the count and spaces before it, where a lazy one tried each of its lengths; 1.93 → 1.60 µs a line
of a Lightning console's frames in a block, and the same matches: `desc_of` strips what spaces it keeps): the same parts `parse_frame` finds from the last `[` back (`_CLOCK`'s, and a count where
numbers start), read in one match. A line it does not match whole goes the general way; one it matches gives
the Frame that way gives (tests/parsers/test_progress_bar.py compares the two on every recorded frame). Its
widths keep the text before the count within the 200 characters the general way looks back over. No part of it
matches a `\\n` (no line holds one), so that `FRAME_LINES` matches it line by line in a block."""
FRAME_LINES = patterns.compile(rf"(?m)^(?:{PLAIN_FRAME.pattern})$|^.*$")
"""`PLAIN_FRAME` over a block of lines joined by `\\n`: `findall` gives one match per line, in order, with the
frame's groups for a line `PLAIN_FRAME` matches whole and empty ones for any other (runwatch.parsers.bar_block)."""
_BAR_TAIL = patterns.compile(r"(?:\s*\d{1,3}%(?:\|#*[0-9]?)?)?[\s|\u2580-\u259f]*$")
_BAR_CHARS = "|" + "".join(map(chr, range(0x2580, 0x25A0))) + "".join(c for c in map(chr, range(0x3000 + 1)) if c.isspace())
"""What `_BAR_TAIL` draws with: `|`, the block characters and whitespace (`\\s`: every character `str.isspace` says)."""
_ASCII_FILL = patterns.compile(r"#*[0-9]?")
_PCT = patterns.compile(r"(?:^|\s)\d{1,3}%[\s|\u2580-\u259f]*$")
_EPOCH = patterns.compile(r"\bEpoch:?\s+(\d{1,9})\b", re.IGNORECASE)
_EPOCHS = patterns.compile(r"\bEpoch\s+\d{1,9}\s?/\s?(\d{1,9})\b", re.IGNORECASE)
"""`Epoch 3/200`: a hand-written loop's `desc=f"Epoch {epoch + 1}/{epochs}"`, counted from 1 and the run's epochs
stated (Lightning's `Epoch 3:` counts from 0 and states none)."""
_NOT_TRAINING = patterns.compile(
    r"valid|\bval\b|sanity|test|predict|eval|\bmap\b|filter|download|load|token|generat|resolv|fetch|sav|upload|extract"
    r"|scanning|\bcorrupt$|dataset|convert|capturing (?:cuda graph|batches)|processed prompts|adding requests",  # YOLO's dataset scans (`train: Scanning '…' images and labels...4242 found, 0 missing,
    # 0 empty, 1 corrupt: 100%|█| 4242/4242`, whose description as read is what follows the last comma)
    re.IGNORECASE,
)
"""Descriptions of bars that are no training loop's: evaluation, data preparation (HF datasets' `Running tokenizer on
dataset`, LLaMA-Factory's `Converting format of dataset`: read as steps, they made a run's progress 171 of 454 and
its losses, in HF dicts 7,000 lines later, were never read: a review), downloads, checkpoint loading and saving, and
an inference engine's own (vLLM's `Capturing CUDA graphs (decode, FULL)` as it starts, `Adding requests` and `Processed
prompts` at each generation: a GRPO run whose training bar never left 0/500 read `step 51/25500`, a review)."""
_SCALE = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9}
_SKIP_KEYS = {"v_num"}
FIT_STOPPED = "`Trainer.fit` stopped"
_POSTFIX_KEY = patterns.compile(r"[\w.\-/()]{1,100}(?: [\w.\-/()]{1,100}){0,3}")
"""A postfix key: a name, or a few words (NeMo logs its step time as `train_step_timing in s=2.590`: unread, its runs
had no step time)."""


class Frame(NamedTuple):
    """One tqdm frame as printed: counts, clock, rate and the numeric postfix."""

    n: int
    total: int | None
    desc: str
    elapsed: float | None
    remaining: float | None
    step_time: float | None
    postfix: tuple[tuple[str, float], ...]
    has_postfix: bool
    """Anything after the rate (`, v_num=0, …`), numeric or not: HF's own bar never has one."""
    wraps: bool = False
    """A rich frame: its metrics column may go on over the next lines (`rich_bar.CONTINUATION`)."""
    glued: str = ""
    """Text after the frame's closing `]` (a tqdm frame ends its line with nothing: what the loop logs while the bar
    is drawn is written right after it, `…?batch/s]2025-04-28 14:01:00,573|    INFO| Train: STEP 0 - … | 3D loss: …`,
    1,000 of a review's 1,019 loss lines)."""
    start: int = 0
    """Where the frame's count begins on its line: what is before it may end an older frame of another bar."""


class _Count(NamedTuple):
    start: int
    n: int
    total: int | None


def _last_anchor(text: str) -> tuple[_Count, re.Match[str]] | None:
    """The count and the clock of the last bar frame on the line: the last `[` with a count just before it.

    Found from the right with `str.rfind`, then one anchored match on each side of the `[`: a regex
    searched from the line's start tried a count at every position of every line (6 µs a frame)."""
    i = len(text)
    while (i := text.rfind("[", 0, i)) > 0:
        c = text[i - 1]
        if c in _COUNT_ENDS or c.isspace() or c.isdigit():
            back = text[max(0, i - _COUNT_SPAN):i][::-1]
            m = _COUNT_REVERSED.match(back)
            if m is not None:
                clock = _CLOCK.match(text, i + 1)
                assert clock is not None  # every part of it is optional
                n_text, total_text = m.group("n") or m.group("n_only"), m.group("total")
                total = _count(total_text) if total_text and total_text != "?" else None
                return _Count(i - m.end(), _count(n_text), total), clock
    return None


def _count(reversed_text: str) -> int:
    """A count matched by `_SCALED` (reversed) as the number it stands for: `001` → 100, `00.1` → 1, `k17.1` → 1710."""
    if reversed_text.isdigit():
        return int(reversed_text[::-1])
    value = scaled(reversed_text[::-1])
    assert value is not None  # `_SCALED` matched it: digits, a point, an SI prefix
    return round(value)


_TAG = patterns.compile(r"\[(?:[A-Za-z][A-Za-z _-]{0,30}|\d{1,12}/\d{1,12} \(\d{1,3}%\))\]$")
"""A word in brackets at the end of the text before a count (`[Eval] Best Model at Epoch 1: 3/289`), or the PyTorch
examples' `[640/60000 (1%)]` (a loop's `Train Epoch: 59 [660/661 (100%)] Loss: 9.93` as a bar's description: cut
there, its epoch was lost and each epoch's bar read as the run starting again, 37 times): part of the description,
not the end of an older frame glued before it (whose `]` closes a clock or a postfix)."""


def _bar_prefix(before: str) -> str:
    """The text of a frame's own description: what follows the last `]` or `,` before its count, a bracketed
    word there kept (`_TAG`: cut off, `[Eval]`'s bar was read as the training bar's epoch, the run starting again
    after every epoch of a review's log)."""
    cut = max(before.rfind("]"), before.rfind(","))
    if cut >= 0 and before[cut] == "]" and (tag := _TAG.search(before, 0, cut + 1)) is not None:
        cut = max(before.rfind("]", 0, tag.start()), before.rfind(",", 0, tag.start()))
    elif cut >= 0 and before[cut] == "," and (opened := _opened_before(before, cut)) >= 0:
        cut = max(before.rfind("]", 0, opened), before.rfind(",", 0, opened))  # the comma is the description's own,
        # in its brackets: vLLM's `Capturing CUDA graphs (mixed prefill-decode, PIECEWISE): 4%|` read as a bar named
        # `PIECEWISE)`, no engine's warm-up, and its 51 captures as a GRPO run's steps (a review)
    return before[cut + 1:]


def _opened_before(before: str, comma: int) -> int:
    """Where the `(` is that a comma at `comma` stands inside of, closed after it where the description ends (only
    the bar follows: a logger's `(train_and_eval.py, 57) Epoch 1:` before the bar is no description's, and whole, its
    `eval` made the bar no training's, a code review): -1 where it stands in none."""
    rest = before[comma + 1:]
    close = rest.find(")")
    if close < 0 or "(" in rest[:close] or _strip_bar(rest[close + 1:]).strip(" :"):
        return -1
    opened = before.rfind("(", 0, comma)
    return opened if opened >= 0 and ")" not in before[opened:comma] else -1


def _strip_bar(prefix: str) -> str:
    """`prefix` without the bar drawn at its end (its percent, `|`, block characters and spaces; tqdm's
    `ascii=True` bar, `45%|####5`, `#` and a digit for the part filled): what `_BAR_TAIL.sub("", prefix)`
    gives, without trying the pattern at every position of the text."""
    body = prefix.rstrip(_BAR_CHARS)
    ascii_bar = body.rfind("%|")
    if ascii_bar >= 0 and _ASCII_FILL.fullmatch(body, ascii_bar + 2):
        cut = _cut_percent(body[: ascii_bar + 1])
        if cut is not None:
            return cut
    cut = _cut_percent(body) if body.endswith("%") else None
    return body if cut is None else cut


def _cut_percent(body: str) -> str | None:
    """`body`, which ends with `%`, without its percent (1-3 digits and the spaces before them); None if no
    digit is before the `%`."""
    digits = 0  # `\d` is a decimal digit of any script, as `str.isdecimal` says; 4 means more than 3
    while digits < 4 and digits < len(body) - 1 and body[-2 - digits].isdecimal():
        digits += 1
    if digits == 0:
        return None
    return body[: len(body) - 1 - digits].rstrip() if digits <= 3 else body[: len(body) - 4]


def parse_frame(line: str) -> Frame | None:
    """The last tqdm frame on the line (a redraw can be glued after an older one)."""
    m = PLAIN_FRAME.fullmatch(line)
    if m is not None:
        return plain_frame(m)
    return _any_frame(line)


def plain_frame(m: re.Match[str]) -> Frame:
    """The Frame of a `PLAIN_FRAME` match: the one description of the common frame, per line or in a block."""
    desc, _, n, total, elapsed, remaining, rate, scale, unit, body = m.groups()
    read = desc_of(desc)
    return Frame(
        int(n), int(total), read, clock_seconds(elapsed), clock_seconds(remaining), step_time_of(rate, scale, unit),
        (_postfix(body, True) if body else ()) + desc_values(read), body.startswith(","), start=m.start("n") - m.start(),
    )


def plain_frame_of(line: str) -> Frame | None:
    """The frame of a line that is one `PLAIN_FRAME` as split (for `take_row`): None for any other line, and
    for one with a digit that is not ASCII (`_line` reads it with such digits replaced)."""
    m = PLAIN_FRAME.fullmatch(line)
    if m is None or not (m.group("desc").isascii() and m.group("body").isascii()) and ascii_digits(line) is not line:
        return None
    return plain_frame(m)


@lru_cache(maxsize=1024)
def desc_of(text: str) -> str:
    """A frame's description as printed (`Epoch 3: `) → as read (`Epoch 3`)."""
    return text.strip().rstrip(":").strip()


@lru_cache(maxsize=4096)  # a rate is printed with 2-3 significant digits: a run repeats a few thousand
def step_time_of(rate: str, scale: str, unit: str) -> float | None:
    """A frame's rate (`4.50`, `k`, `it/s`) as seconds a step: `_step_time` cached, for frames of a block."""
    return _step_time(rate, scale, unit)


def _any_frame(line: str) -> Frame | None:
    """`parse_frame` the general way: the last `[` with a count before it, its clock after it."""
    text = line[:MAX_LINE]
    found = _last_anchor(text)
    if found is None:
        return None
    count, clock = found
    if clock.group("unit") in _BYTES:
        return None  # a download's bar (`14%|█▍ | 33.5M/233M [00:00<00:00, 350MB/s]`, torch.hub fetching weights):
        # read as training it was steps 0 to 233,000,000, the run "at 233000000/233000000" (a review)
    prefix = _bar_prefix(text[max(0, count.start - 200):count.start])
    if (clock.group("remaining") is None and clock.group("rate") is None) and "%" not in prefix and "|" not in prefix:
        return None  # a count and a clock alone are no bar: a logger's `08/21 [01:46:27] WARNING |` (a date, a time)
        # read as step 8 of 21 (a review); tqdm draws `<remaining` or a rate after its elapsed time
    desc = _strip_bar(prefix).strip().rstrip(":").strip()
    rest = text[clock.end():]
    close = rest.find("]")
    body = rest if close < 0 else rest[:close]
    return Frame(
        n=count.n, total=count.total, desc=desc,
        elapsed=clock_seconds(clock.group("elapsed")), remaining=clock_seconds(clock.group("remaining")),
        step_time=_step_time(clock.group("rate"), clock.group("scale"), clock.group("unit")),
        postfix=_postfix(body, closed=close >= 0) + desc_values(desc), has_postfix=body.startswith(","),
        glued=rest[close + 1:].strip() if close >= 0 else "", start=count.start,
    )


def any_frame(line: str) -> Frame | None:
    """The line's tqdm frame, else its rich frame (Lightning's RichProgressBar, `rich_bar`)."""
    frame = parse_frame(line)
    if frame is not None or BAR_GLYPH not in line:
        return frame
    rich = parse_rich_frame(line)
    if rich is None:
        return None
    postfix = tuple((k, v) for k, v in rich.metrics if k not in _SKIP_KEYS)
    return Frame(n=rich.n, total=rich.total, desc=rich.desc, elapsed=rich.elapsed, remaining=rich.remaining,
                 step_time=rich.step_time, postfix=postfix, has_postfix=bool(rich.metrics), wraps=True)


_NOT_TRAINING_ZH = patterns.compile("验证|评估|测试|推理|生成|处理|样本|数据|加载|分词|过滤|下载|保存|转换")
"""The same in Chinese: validation, evaluation, test, inference, generation; processing, samples, data, loading,
tokenising, filtering, downloading, saving, converting (two ranks' `处理样本: 1%| | 483/40595` before a DeepSpeed
fine-tune, "processing samples", read as its steps: 58 restarts in a run of 573 steps, a review), whether or not it
also says training (`加载训练数据`, loading the training data)."""


@lru_cache(maxsize=1024)  # a bar's description repeats on every frame (`Epoch 3`): each read once
def is_training(desc: str) -> bool:
    if _NOT_TRAINING.search(desc) is not None:
        return False
    return _NOT_TRAINING_ZH.search(desc) is None


@lru_cache(maxsize=1024)
def epoch_of(desc: str) -> int | None:
    found = _EPOCH.findall(desc)
    return int(found[-1]) if found else None


@lru_cache(maxsize=1024)
def epochs_of(desc: str) -> int | None:
    """The run's epochs a description states (`Epoch 3/200`: 200), else None."""
    found = _EPOCHS.findall(desc)
    return int(found[-1]) if found else None


_BYTES = frozenset(rate for name in ("B", "KB", "kB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB")
                   for rate in (f"{name}/s", f"s/{name}"))
"""The rate units of a bar that counts bytes (tqdm's `unit="B"`, scaled `350MB/s`, or given a prefix of its own:
PaddleDetection's weight and dataset downloads count `unit="KB"`, `83823.05KB/s`): a transfer, no training progress.
Read as training, a review's 139,208 KB of pretrained weights made the run `finished 139208/139208` before its first
epoch, and COCO's 18,883,655 KB download 33 steps of a run `at 19594/18883655`."""


def _step_time(rate: str | None, scale: str | None, unit: str | None) -> float | None:
    if not rate or rate == "?" or not unit:
        return None
    per, _, of = unit.partition("/")
    if (of if per == "s" else per) not in STEP_UNITS:
        return None
    value = float(rate) * _SCALE.get(scale or "", 1.0)
    if per == "s":
        return value
    return 1.0 / value if value > 0 else None


@lru_cache(maxsize=4096)  # Lightning shows a loss until the next logging step: frames repeat their postfix
def _postfix(body: str, closed: bool) -> tuple[tuple[str, float], ...]:
    if not body.startswith(","):
        return ()
    items = held_numbers(body)[1:].split(",")  # `set_postfix(loss=loss)` of a tensor: `loss=tensor(nan, device='cuda:0', …)`
    if not closed:
        items = items[:-1]  # cut frame: the last pair may be truncated
    out: list[tuple[str, float]] = []
    for item in items:
        key, eq, raw = item.strip().partition("=")
        if not eq and (free := _FREE_PAIR.fullmatch(key)) is not None:
            key, eq, raw = free[1], "=", free[2]  # `set_postfix_str(f"loss {loss:.4f}")`
        value = parse_number(raw) if eq and _postfix_key(key) else None
        if value is not None and key not in _SKIP_KEYS:
            out.append((key, value))
    return tuple(out)


_FREE_PAIR = patterns.compile(rf"([A-Za-z_][\w.\-/]{{0,40}}):? {{1,2}}({NUMBER_TEXT})")
"""A postfix of a loop's own words, `set_postfix_str(f"loss {loss:.4f}")`: a name, a blank (or a colon) and a number,
the whole pair (a review's SFT bar showed `loss 6.0530` to `loss 0.0000` over 375 steps, none of it read)."""


def postfix_of(body: str) -> tuple[tuple[str, float], ...]:
    """The numeric pairs of a whole frame's postfix (`, v_num=0, loss=0.1`)."""
    return _postfix(body, True)


_DESC_PAIR = patterns.compile(
    rf"(?<![\w.])(?:([A-Za-z_][\w./@-]{{0,40}})\s{{0,2}}[:=]\s{{0,2}}|((?:[A-Za-z]{{1,20}} )?(?:loss|lr)) )({NUMBER_TEXT})"
    r"(?!\w|\.\d)",
    re.IGNORECASE,
)
"""A description's `name: value` (or `=`), or a loss or learning rate with a space before its value (minGPT's trainer,
copied into many projects: `epoch 1 iter 23: train loss 0.12345. lr 6.000000e-04`); a full stop may end it."""
_COUNTERS = frozenset({"epoch", "step", "iter", "iteration", "batch"})
"""Names of a description's numbers that count (`Epoch: 3`): the bar's place, read by `epoch_of`, no metric."""


@lru_cache(maxsize=1024)
def desc_values(desc: str) -> tuple[tuple[str, float], ...]:
    """The `name: value` pairs of a bar's description (`d: -0.002;gen: -0.004`, `loss: 0.1234`): a loop's
    `set_description` of its losses, taken as a postfix's pairs after the postfix's own. Read as text, a loss of
    `nan` there was never seen (a review: a GAN's `d` and `gen` losses, drawn for 20,000 steps, unread)."""
    if ":" not in desc and "=" not in desc and " l" not in desc and desc[:4].lower() != "loss" and desc[:3] != "lr ":
        return ()  # no pair, and no spaced `loss`/`lr`: after a blank, or first (`loss 0.1234`, `Loss nan`); a capital's
        # after a blank is left to the line's other readers (a meters line drawn as a bar's description, `Epoch [18][0/
        # 4804] Time/b 1.64 (1.64) Loss 9.5772 (9.577) : 0%|`, is the meters' reading of the run, step 86,472)
    out = []
    for named, spaced, raw in _DESC_PAIR.findall(desc):
        key = named or spaced
        value = parse_number(raw)
        if value is not None and key.lower() not in _COUNTERS:
            out.append((key, value))
    return tuple(out)


@lru_cache(maxsize=1024)
def _postfix_key(key: str) -> bool:
    return _POSTFIX_KEY.fullmatch(key) is not None


class _Nest(NamedTuple):
    """Two nested bars that name no epoch (`ProgressBarParser._plain`): their lengths, and the epochs done."""

    epochs: int
    batches: int
    done: int


class _Heading(NamedTuple):
    desc: str
    total: int | None
    """The total of the bar it names, once its first frame is read."""
    n: int
    """That bar's count at its last frame."""
    lines: int
    """Lines other than frames read since the heading, before its bar."""


_HEADING_REACH = 3


class ProgressBarParser(FormatParser):
    """Lightning and other tqdm bars → STEP records (see the module notes)."""

    name = "tqdm"
    rows_in_bulk = True

    def __init__(self) -> None:
        self.more: list[Record] = []
        self._pending_desc = ""
        self._epoch_len: dict[int, int] = {}
        self._sticky: dict[str, float] = {}
        self._step: int | None = None
        self._shown: tuple[int | None, int, str] | None = None
        """(epoch, N, postfix) of the last training frame: tells a stale-postfix redraw."""
        self._wrapped_step: int | None = None
        """The step of a rich frame on the line above: its metrics column may wrap onto the next lines."""
        self._stopped: str | None = None
        """The `Trainer.fit` stopped line, once seen."""
        self._finish_due = False
        """The finish is not said yet. A rich bar draws on a pipe only when fit stops: its last frame comes
        after the stopped line, and its steps would read as the run going on, so the finish is owed after
        them. At a stopped line before any step (that rich bar's case) the finish waits for the first line
        that is no frame, or for the follower to have read all there is (`settle`): said there and again
        after the frame, a finished run printed `finished` twice, once at no step. After steps it is said
        at the stopped line (a tqdm bar's), and owed again if a rich frame follows."""
        self._last_plain: tuple[int | None, int] | None = None
        """(total, N) of the last frame of a training bar that names no epoch (None after an `Epoch E:` one)."""
        self._nest: _Nest | None = None
        """The bar over the epochs and the bar over each epoch's batches, once one was seen opened inside the other."""
        self._bar_loss = False
        """A training bar's postfix showed a loss: lines beside the bars are not read (`beside.names_loss`)."""
        self._bar_evals = False
        """A training bar showed an evaluation's metric (`val_loss=4.36`): lines beside it that state one repeat it."""
        self._summed: int | None = None
        """The latest epoch a summary line beside the bars stated it sums up (`_epoch_end`), counted from 1."""
        self._epoch_total: int | None = None
        """The length of the epochs, as the latest `Epoch E:` bar drew it (`_epoch_end`)."""
        self._base: int | None = None
        self._epochs: int | None = None
        """What the first epoch is called, and the run's epochs (`_counted_from`)."""
        self._planned: int | None = None
        """The run's epochs as the header plans them (`plan_epochs`), where the bars state none."""
        self._sized: _Sized | None = None
        """The length of the `Epoch E:` bars now, from which epoch, and the steps before it (`_resized`)."""
        self._shift = 0
        """The run's own step less the bars' count, as the latest frame that shows `global_step` says (`logged_step`),
        for the frames of its epoch and later ones: an earlier epoch is a run started again, counted by its bars."""
        self._shift_from = 0
        """The epoch of the frame `_shift` was read at."""
        self._plain_lap = 0
        """The steps of the laps before this one of the plain bar of `_last_plain` (`_lap`)."""
        self._opened: int | None = None
        """The total of the line `score` read last when it was a bare bar's `0/M` frame (detection's probe only)."""
        self._probe_headed = False
        """The line `score` read last was an epoch's heading (detection's probe only)."""
        self._heading: _Heading | None = None
        """The heading line that names the bare bar after it (runwatch.parsers.heading), and that bar."""

    def parse(self, line: str) -> Record | None:
        rec = self._frame(line)
        if rec is not None and rec.step is not None:
            self._step = rec.step
            self._finish_due = self._finish_due or (self._stopped is not None and self._wrapped_step is not None)
        if FIT_STOPPED in line:  # the message alone: a bar's frame may be glued before it
            self._stopped = line[line.index(FIT_STOPPED):].strip()[:500]
            if self._step is None:
                self._finish_due = True
                return rec
            return self._finished()  # a frame glued before it was read: its step is the finish's
        if rec is None and self._finish_due:
            return self._finished()
        return rec

    def flush(self) -> Record | None:
        return self._finished() if self._finish_due else None

    def settle(self) -> Record | None:
        """The finish not said yet (the stopped line, a rich bar's last frame and its wrapped metric lines
        after it) is said now, when the follower has read all there is, instead of at a next line that a
        finished run never writes (live, the run read as still running). More wrapped lines later are
        steps of the same frame again, and the finish is said again after them."""
        return self._finished() if self._finish_due else None

    def _finished(self) -> Record:
        self._finish_due = False
        return Record(Kind.EVENT, step=self._step, event=Event.FINISHED, message=self._stopped)

    def _frame(self, line: str) -> Record | None:
        wrapped, self._wrapped_step = self._wrapped_step, None
        frame = any_frame(line)
        if frame is None:
            if wrapped is not None and (cont := CONTINUATION.match(line)):
                self._wrapped_step = wrapped
                metrics = self._metrics(Frame(0, None, "", None, None, None, pairs(cont["metrics"]), True))
                return Record(Kind.STEP, step=wrapped, metrics=metrics) if metrics else None
            self._pending_desc = pct_only(line)
            self._read_heading(line)
            if starts_run(line):
                self._last_plain = None  # the laps start over (`NEW_RUN`)
            if self._pending_desc or (self._bar_loss and (self._bar_evals or _EVALUATION_WORD.search(line) is None)):
                return None  # beside bars that show the loss only an evaluation's line is read (`_evaluated`)
            one_bar = self._bar_loss and self._base is None  # one bar of the run's steps shows the loss: an evaluation's
            # result alone that states its step is read beside it (3D Gaussian Splatting's `[ITER 7000] Evaluating test:
            # L1 0.0106 PSNR 31.36`); one that states none is what the bar shows next (tqdm's Keras callback's `val_loss=`)
            logged = beside(line, self._step, self._epoch_end, stated=one_bar)
            if logged is None or not self._bar_loss or _evaluated(logged):
                return logged
            return _evaluation_in(logged) if self._base is not None else None
        desc = frame.desc or self._pending_desc
        self._pending_desc = ""
        named = None
        if desc and self._heading is not None and self._heading.total is None:
            named, self._heading = self._heading.desc, None  # a named bar came first: the heading was its (`Epoch
            # 3`, then `Training: …`)
        headed = not desc and bool(desc := self._headed(frame))
        if self._bare_other(desc, frame.total) and frame.start and (older := parse_frame(line[:frame.start])):
            frame, desc = older, older.desc  # an evaluation's bar drawn over the end of the epoch's: its last frame
        if not is_training(desc) or self._another_job(desc) or self._bare_other(desc, frame.total):
            return None
        if not desc and frame.n == 0 and self._base is not None:
            return None  # an epoch's bar as tqdm draws it on creation, before the loop's `set_description` names it
            # (minGPT's trainer: `  0%| 0/30`, then `epoch 2 iter 0: train loss …: 0%| 0/30`): read as a plain bar's
            # step 0, the run started again each epoch
        got = self._training(frame, desc, headed, named)
        rec = None if got is None else Record(Kind.STEP, step=got[0], total_steps=got[1], metrics=got[2])
        at = rec.step if rec is not None else self._step
        if frame.glued and not self._bar_loss and (logged := beside(frame.glued, at, self._epoch_end)):
            if rec is None:
                return logged
            self.more = [logged]  # after the frame's own record, at the same line
        return rec

    def _training(self, frame: Frame, desc: str, headed: bool = False, named: str | None = None) -> Row | None:
        """A training bar's frame: its step, total and metrics (None: the epoch's `0/M` frame, no step taken).
        A bar named by the heading before it (`headed`) was drawn from its epoch's start, the heading's line;
        `named`: the heading right before a named bar."""
        epoch = epoch_of(desc)
        if epoch is None and self._other_job(frame):
            return None
        if epoch is not None:
            epoch -= self._counted_from(desc, epoch, frame.wraps, 0 if headed else frame.n, named)
        postfix = repr(frame.postfix)
        shown, self._shown = self._shown, (epoch, frame.n, postfix)
        redraw = shown is not None and stale(shown[:2] != (epoch, frame.n), shown[2] == postfix, bool(frame.postfix))
        metrics = self._metrics(frame, redraw)
        self._bar_loss = self._bar_loss or names_loss(metrics)
        self._bar_evals = self._bar_evals or any(map(is_eval_metric, metrics))
        if epoch is None:
            return self._plain(frame, metrics)
        self._last_plain = None
        self._epoch_len[epoch] = max(frame.n, self._epoch_len.get(epoch, 0))
        self._epoch_total = frame.total or self._epoch_total
        if frame.n == 0:
            return None  # the epoch's bar before its first batch: no step taken
        _times(metrics, frame, "epoch_elapsed", "epoch_eta")
        metrics.setdefault("epoch", epoch + frame.n / frame.total if frame.total else float(epoch))
        step = self._global_step(epoch, frame)
        if step is not None:
            if epoch < self._shift_from:
                self._shift = self._shift_from = 0  # the run started again (a relaunch): its bars' count until it says
            if not redraw and (logged := logged_step(metrics, frame.wraps)) is not None:
                self._shift, self._shift_from = logged - step, epoch
                del metrics["global_step"]
            step += self._shift
        self._wrapped_step = step if frame.wraps else None
        return step, self._run_total(frame.total), metrics

    def plan_epochs(self, epochs: int | None) -> None:
        """The header's epochs (`max_epochs: 20` in a Lightning run's config): the run's where the bars state none,
        Lightning's `Epoch 3:` among them (a review's run of 20 epochs of 2 batches read no total)."""
        self._planned = epochs if epochs is not None and epochs > 0 else None

    @property
    def _run_epochs(self) -> int | None:
        """The run's epochs: as its bars state them (`Epoch 1/200`), else as its header plans them."""
        return self._epochs or self._planned

    def _run_total(self, total: int | None) -> int | None:
        """The run's steps where its epochs are known (`_run_epochs`): its epochs at the bars' length (`_resized`)."""
        sized, epochs = self._sized, self._run_epochs
        if not epochs or not total or sized is None:
            return None
        return sized.before + (epochs - sized.epoch) * total

    def _counted_from(self, desc: str, epoch: int, rich: bool, n: int, named: str | None = None) -> int:
        """What the bars' first epoch is called, decided at the first `Epoch` bar: 1 where a tqdm bar states the
        run's epochs and is not 0 (`Epoch 1/200`: a loop's `epoch + 1`; read as Lightning's 0-based count, every
        step was an epoch too high, a review's CycleGAN run at 2274 for 2095), or is `Epoch 1:` drawn from its
        start (`0/M`: the log saw the run begin, and its first epoch is 1; a review's loop of `Epoch 1:` …
        `Epoch 30:` bars read every step an epoch high, its crash in `Epoch 8` at 40% as epoch 8.4), or comes
        right after the loop's summary of the epoch before it (`Epoch [7/30] Train: …`, then `Epoch 8:`), else 0
        (Lightning counts from `Epoch 0:`; its rich bar to its last, `Epoch 3/3` of 4), or is the log's first step
        and comes right under the loop's own heading of epoch 1 (`Epoch: 1`, then `Train Epoch: 1 Loss: …: 100%|…|
        10010/10010`: Lightning heads no bar; a review's ResNet-50 run, its bars' last frames kept, read an epoch
        high). The epochs stated make the run's total, epochs × the bar's length."""
        if self._base is None:
            epochs = epochs_of(desc)
            after = self._summed is not None and epoch == self._summed + 1  # `Epoch 8:` after `Epoch [7/30] …`
            headed = epoch == 1 and named is not None and epoch_of(named) == 1 and self._step is None
            self._base = 1 if ((epochs is not None and epoch >= 1) or (epoch == 1 and n == 0) or after or headed
                               ) and not rich else 0
            self._epochs = epochs if self._base else None
        return self._base

    def _plain(self, frame: Frame, metrics: dict[str, float]) -> Row | None:
        """A training bar's frame that names no epoch: step N of M, or, inside a nest of two such bars, a step
        counted across the epochs.

        Nested bars: a loop `for epoch in tqdm(range(E)): for batch in tqdm(loader, leave=False)` (and
        tqdm.keras.TqdmCallback, its epoch bar in `epoch/s`) draws the epochs' bar at `0/E` and, before it moves,
        a bar of another length under it: that one counts the batches of the epoch the outer bar shows done,
        and restarts each epoch. Read as one bar, each restart was the run starting again (a Keras run read
        as restarted 19 times, and as stalled for 4 minutes at step 170 of its first epoch). Nested, a batch
        frame is step `epochs_done * B + N` of `E * B`, its clock the epoch's (`epoch_elapsed`/`epoch_eta`),
        and an epoch frame is the step its epochs end at, with the run's clock (`elapsed`/`eta`), its
        postfix (the epoch's means and validation results) and no step time (its rate is epochs). A bar of a
        third length inside the nest (a validation loop's) is no training step. Two bars of one length
        are not told apart."""
        last, self._last_plain = self._last_plain, (frame.total, frame.n)
        nest = self._nest
        if nest is None and last is not None and last[1] == 0 and last[0] is not None:
            if frame.total is not None and frame.total != last[0]:
                nest = self._nest = _Nest(last[0], frame.total, 0)
        if nest is None:
            lap = self._lap(last, frame)
            step = lap + frame.n
            if lap and frame.total:  # a later lap of a bar drawn anew each epoch: one epoch's clock and length
                _times(metrics, frame, "epoch_elapsed", "epoch_eta")
                metrics.setdefault("epoch", step / frame.total)
            else:
                _times(metrics, frame, "elapsed", "eta")
            self._wrapped_step = step if frame.wraps else None
            # its total only from its first step on: Lightning 1.x draws its epoch bar first as `Training:
            # 0%| 0/2` (a plain bar of the epoch's length, before `Epoch 0:` names it), and that total read
            # as the run's showed `step 39/2` at the end of 20 epochs (a new user's review)
            return step, frame.total if frame.n and not lap else None, metrics
        if frame.total == nest.epochs:
            step = frame.n * nest.batches
            if frame.n == nest.done and self._step is not None and step < self._step <= step + nest.batches:
                step = self._step  # the epochs' bar drawn again inside its epoch (`tqdm.write` draws every bar anew
                # after its line; a loop's `set_postfix` on it): the step the batches reached, not the epoch's start
                # (a `step N: loss L` written each 7th batch read as the run started again each time)
            self._nest = nest._replace(done=frame.n)
            metrics.pop("step_time", None)
            _times(metrics, frame, "elapsed", "eta")
            metrics.setdefault("epoch", step / nest.batches)
            return step, nest.epochs * nest.batches, metrics
        if frame.total != nest.batches:
            return None
        _times(metrics, frame, "epoch_elapsed", "epoch_eta")
        metrics.setdefault("epoch", nest.done + frame.n / nest.batches)
        return nest.done * nest.batches + frame.n, nest.epochs * nest.batches, metrics

    def _lap(self, last: tuple[int | None, int] | None, frame: Frame) -> int:
        """The steps of the laps before this frame's of a bar that names no epoch (`lapped`): kept while frames
        of one total follow each other, none from a frame of another bar or after an `Epoch E:` one."""
        if last is None or last[0] is None or frame.total != last[0]:
            self._plain_lap = 0
        elif lapped(last[0], last[1], frame.total, frame.n):
            self._plain_lap += frame.total
        return self._plain_lap

    def _read_heading(self, line: str) -> None:
        """A heading line names the bare bar that comes within `_HEADING_REACH` lines after it; other lines
        before that bar bring it nearer, and one that came to none is forgotten (a `Testing` line at a run's
        start names no training bar drawn a thousand lines later)."""
        if (desc := heading_of(line)) is not None:
            self._heading = _Heading(desc, None, 0, 0)
        elif (heading := self._heading) is not None and heading.total is None and line.strip():
            self._heading = heading._replace(lines=heading.lines + 1) if heading.lines < _HEADING_REACH else None

    def _heading_due(self) -> bool:
        """A heading waits for its bar: the lines until then are read by `parse`, which counts them and forgets it
        at the first named frame."""
        return self._heading is not None and self._heading.total is None

    def _headed(self, frame: Frame) -> str:
        """The heading's description for a bare frame: the first bar after the heading is the one it names,
        for as long as its frames count up at one total (a frame of another total, or one counting from
        lower down, is another bar, and the heading is forgotten)."""
        heading = self._heading
        if heading is None or frame.total is None:
            return ""
        if heading.total is None or (frame.total == heading.total and frame.n >= heading.n):
            self._heading = heading._replace(total=frame.total, n=frame.n)
            return heading.desc
        self._heading = None
        return ""

    def _another_job(self, desc: str) -> bool:
        """A named bar that names no epoch, once `Epoch E:` bars are the training's (`_base` decided): another
        job's, done between epochs (a review's 3D reconstruction drew `Marching cube: 0/34` and `Texture
        prediction: 0/1` bars after each validation, 95 of them: read as a plain bar's laps, the run "started
        again 18 times", and their 5 s a chunk a slowdown of the training's 13 s a batch)."""
        return self._base is not None and epoch_of(desc) is None and bool(desc.strip())

    def _other_job(self, frame: Frame) -> bool:
        """A plain bar's frame of another length than the training bar's, showing no loss, once that bar showed one and
        ran to its end: an evaluation's bar over its loader, no training step (SpeechBrain's `545/545` validation and
        `1310/1310` test bars after its `760/760 …, train_loss=1.35`: read as the run started again, `step 1310/1310`).
        A bar over the epochs around it (`_nest`) is the nest's; a training bar of a new length shows its loss. One
        drawn while the training bar is under way stays a bar of its own, as before (a loop's bare bar)."""
        last = self._last_plain
        return (self._bar_loss and self._nest is None and last is not None and last[1] == last[0]
                and frame.total != last[0] and not names_loss([metric_name(k) for k, _ in frame.postfix]))

    def _inside_nest(self, frame: Frame) -> bool:
        """A plain bar's frame of a third length inside a nest of two (`_plain`): a validation loop's, no training step
        (an `Inference` bar after each epoch's batches under tqdm's `Epoch` bar: each frame a parse failure)."""
        nest = self._nest
        return nest is not None and frame.total != nest.epochs and frame.total != nest.batches

    def _other_lengths(self, frames: FrameBlock) -> bool:
        """Whether a block's plain frames are of more than one length, or of another than the training bar's: read one
        by one, as `_other_job` decides each in turn."""
        plain = frames.total[frames.row & (frames.epoch < 0)]
        if not plain.size:
            return False
        last = self._last_plain
        return bool((plain != plain[0]).any() or (last is not None and plain[0] != (last[0] or 0)))

    def _bare_other(self, desc: str, total: int | None) -> bool:
        """A bar with no description and a length of its own (or none: `0it`), once `Epoch E:` bars are the
        training's: an evaluation's over its loader (a loop's `Train Epoch: 59 [660/661 (100%)] Loss: …` bar of
        661, then a bare `673/673` over its test set: read as a plain training bar, each epoch after it started
        the run again). A bare bar as long as the epochs' may be theirs, drawn without its name, and is kept."""
        return self._base is not None and not desc.strip() and (total is None or total != self._epoch_total)

    def take_row(self, line: str) -> Row | None:
        """The row of a plain training frame (`PLAIN_FRAME`) past its epoch's start, the state left as `parse`
        leaves it; None, with nothing changed, for any other line (another job's bar among them: the frames of a
        `sampling` bar after a `train` bar's were each a parse failure, a runwatch bug) or while a rich bar's wrap, a
        percent-only line, a finish not said yet or a heading's bar is pending (then `parse` reads it)."""
        if self._wrapped_step is not None or self._pending_desc or self._finish_due or self._heading_due():
            return None
        frame = plain_frame_of(line)
        if frame is None or FIT_STOPPED in line:
            return None
        desc = frame.desc
        if not desc or not is_training(desc) or self._another_job(desc):
            return None
        if frame.n == 0 if epoch_of(desc) is not None else self._other_job(frame) or self._inside_nest(frame):
            return None  # an epoch's `0/M`, or another job's plain bar: `parse` reads it, as no step
        row = self._training(frame, desc)
        assert row is not None and row[0] is not None  # a plain frame states its total: its step is known
        self._step = row[0]
        return row

    def read_rows(self, lines: Sequence[str]) -> RowBlock:
        from runwatch.parsers.bar_block import TQDM, FrameRowBlock, read_frames

        return FrameRowBlock(self, read_frames(lines, TQDM))

    def ready_for_frames(self, frames: FrameBlock | None = None) -> bool:
        """Whether the next lines' plain training frames may be taken as `take_frames` takes them (as
        `take_row` would, one by one): no rich bar's wrap, percent-only line or finish not said yet pending."""
        return (self._wrapped_step is None and not self._pending_desc and not self._finish_due and self._plain_settled()
                and not self._heading_due() and (frames is None or self._as_rows(frames)))

    def _as_rows(self, frames: FrameBlock) -> bool:
        """Whether `take_frames` reads this block's frames as `take_row` would read each, given what is decided now."""
        if self._base is None:
            if (frames.epoch >= 0).any():
                return False  # the first `Epoch E:` frames decide what the epochs are counted from (`_counted_from`)
        elif (frames.row & (frames.epoch < 0)).any():
            return False  # a plain bar's frames once `Epoch` bars are the training's: another job's (`_another_job`)
        if not self._same_size(frames) or "global_step" in frames.names or self._other_lengths(frames):
            return False  # a resize (`_resized`), a logged step (`logged_step`), plain bars of several lengths
        # a logged step's shift holds from its epoch on: frames of an earlier epoch reset it (`_training`)
        return not self._shift or frames.lowest < 0 or frames.lowest - (self._base or 0) >= self._shift_from

    def _same_size(self, frames: FrameBlock) -> bool:
        """Whether the block's `Epoch E:` frames are of the bars' length now, none of an epoch before the one it
        counts from (`_resized` would change it: those frames are read one by one)."""
        sized = self._sized
        if not frames.sizes:
            return True
        if sized is None:
            return len(frames.sizes) == 1
        return frames.sizes == {sized.total} and frames.lowest - (self._base or 0) >= sized.epoch

    def _plain_settled(self) -> bool:
        """Whether plain bars' frames are read as one bar's (`take_frames` knows no nest): no nest, and the last
        plain frame is none, or one past its bar's start (at `0/M` the next frame of another length nests)."""
        last = self._last_plain
        return self._nest is None and (last is None or last[1] > 0)

    def take_frames(self, block: FrameBlock, at: np.ndarray) -> RowColumns:
        """The rows of `block` at line indices `at` (ascending, every line between them neutral: `FrameBlock`),
        taken as `take_row` takes each in turn while `ready_for_frames`: their steps, totals (-1: none) and
        metrics, and the state left as after the last. The per-frame rules are the functions `_training`
        calls (`stale`, `same_value`, `bar_step`, `persists`), over columns."""
        import numpy as np

        epoch, n, total, pf = block.epoch[at], block.n[at], block.total[at], block.postfix[at]
        epoch = np.where(epoch >= 0, epoch - (self._base or 0), epoch)  # `ready_for_frames`: decided if any
        postfixes = block.postfixes
        shown = self._shown
        prev = np.empty((3, n.size), np.int64)
        prev[0, 1:], prev[1, 1:], prev[2, 1:] = epoch[:-1], n[:-1], pf[:-1]
        if shown is not None:
            prev[:, 0] = (-1 if shown[0] is None else shown[0], shown[1], block.postfix_index.get(shown[2], -2))
        redraw = stale((prev[0] != epoch) | (prev[1] != n), prev[2] == pf, block.has_postfix[pf])
        if shown is None:
            redraw[0] = False
        metrics: dict[str, np.ndarray] = {}
        present: dict[str, np.ndarray] = {}
        sticky: dict[str, float] = {}  # the state is changed at the end only: a failure leaves it as it was
        values, shows = block.values[pf], block.shows[pf] & ~redraw[:, None]
        for j in np.flatnonzero(shows.any(axis=0)).tolist():
            name, column, given = block.names[j], values[:, j], shows[:, j]
            if persists(name):
                where = np.flatnonzero(given)
                seen = column[where]
                last = np.empty(where.size)
                last[1:] = seen[:-1]
                before = self._sticky.get(name)
                last[0] = np.nan if before is None else before
                again = same_value(last, seen)
                if before is None:
                    again[0] = False
                sticky[name] = float(seen[-1])
                given = np.zeros(n.size, bool)
                given[where[~again]] = True
            metrics[name], present[name] = column, given
        bars = epoch >= 0
        lap = self._laps(bars, n, total)
        by_epoch = bars | (lap > 0)  # an `Epoch E:` bar's frame, or a later lap's of a plain bar: the epoch's clock
        own = {"step_time": block.step_time[at]}
        for clock, (plain, epoched) in (("elapsed", ("elapsed", "epoch_elapsed")), ("remaining", ("eta", "epoch_eta"))):
            column = getattr(block, clock)[at]
            own[plain] = np.where(by_epoch, np.nan, column)
            own[epoched] = np.where(by_epoch, column, np.nan)
        counted = total != 0
        share = n / np.where(counted, total, 1)
        own["epoch"] = np.where(bars, epoch + np.where(counted, share, 0.0),
                                np.where(by_epoch & counted, (lap + n) / np.where(counted, total, 1), np.nan))
        for name, column in own.items():  # `setdefault`: a postfix value of the same name wins
            given = ~np.isnan(column)
            if name in metrics:
                keep = present[name]
                metrics[name] = np.where(keep, metrics[name], column)
                present[name] = keep | given
            elif given.any():
                metrics[name], present[name] = column, given
        for name in metrics:  # absent is NaN, as in every ColumnBatch
            metrics[name] = np.where(present[name], metrics[name], np.nan)
        sized = self._sized
        if sized is None and bars.any():  # `_same_size`: one length
            sized = _Sized(int(total[bars][0]), 0, 0)
        since, before = (sized.epoch, sized.before) if sized is not None else (0, 0)
        step = np.where(bars, before + bar_step(epoch - since, n, total) + self._shift, lap + n)
        self._sticky.update(sticky)
        drawn = [name for name, given in present.items() if given.any()]
        self._bar_loss = self._bar_loss or names_loss(drawn)
        self._bar_evals = self._bar_evals or any(map(is_eval_metric, drawn))
        for e in distinct(epoch[bars]).tolist():
            self._epoch_len[e] = max(int(n[bars & (epoch == e)].max()), self._epoch_len.get(e, 0))
        e_last = int(epoch[-1])
        self._last_plain = (int(total[-1]), int(n[-1])) if e_last < 0 else None
        self._plain_lap = int(lap[-1])
        self._shown = (None if e_last < 0 else e_last, int(n[-1]), postfixes[int(pf[-1])].text)
        self._step = int(step[-1])
        self._sized = sized
        epochs = self._run_epochs
        run_total = np.where(bars & (total > 0), before + total * ((epochs or 0) - since), 0) if epochs else 0
        return RowColumns(step, np.where(run_total > 0, run_total, np.where(by_epoch, -1, total)), metrics, present)

    def _laps(self, bars: np.ndarray, n: np.ndarray, total: np.ndarray) -> np.ndarray:
        """`_lap` over a block's rows in order (`bars`: an `Epoch E:` bar's frame, 0 there): each plain frame's
        steps of the laps before it, counted from the state's and from none at a frame of another bar."""
        import numpy as np

        last = self._last_plain
        prev_total, prev_n, prev_plain = np.empty_like(total), np.empty_like(n), np.empty(n.size, bool)
        prev_total[1:], prev_n[1:], prev_plain[1:] = total[:-1], n[:-1], ~bars[:-1]
        known = last is not None and last[0] is not None
        prev_total[0], prev_n[0] = (last[0], last[1]) if known else (0, 0)  # type: ignore[index]
        prev_plain[0] = known
        same = ~bars & prev_plain & (total == prev_total)
        add = np.where(same & lapped(prev_total, prev_n, total, n), total, 0)
        counted = np.cumsum(add)
        start = np.maximum.accumulate(np.where(~bars & ~same, np.arange(n.size), -1))  # the last frame of another bar
        lap = counted - np.where(start >= 0, counted[np.maximum(start, 0)], -self._plain_lap)
        return np.where(bars, 0, lap)

    def score(self, line: str) -> int:
        """A training bar's frame that names its epoch, or that shows a loss in its postfix, is a signature:
        a bare bar with `loss=` (accelerate's examples, hand-written loops) was held undecided until 400
        frames had come, and a run that hung at step 300 was never seen live (the run lab's
        accelerate-hang). So is a bar opened at `0/B` right under another at `0/E` (`_plain`'s nest: the
        HF Trainer's bar, a maybe of both formats, never has another under it before it moves): live, the
        first read of nested bars held those two frames only, the guess went to the Trainer, and the steps
        after them lost their epochs. So is a bare bar right after an epoch's heading (`[INFO] epoch 3`,
        runwatch.parsers.heading): a loop's epoch, which the Trainer never heads. Any other training bar
        frame is a maybe."""
        frame = any_frame(line)
        opened, self._opened = self._opened, None
        headed, self._probe_headed = self._probe_headed, False
        if frame is None:
            self._probe_headed = (heading := heading_of(line)) is not None and epoch_of(heading) is not None and (
                is_training(heading))  # `Test on Epoch 1` heads an evaluation's bar (a review's Paddle loop read as tqdm)
            return 0
        if not is_training(frame.desc):
            return 0
        if epoch_of(frame.desc) is not None or any(metric_name(k) == "loss" for k, _ in frame.postfix):
            return 2
        if headed and not frame.desc:
            return 2
        if frame.n == 0 and frame.total is not None:
            if opened is not None and frame.total != opened:
                return 2
            self._opened = frame.total
        return 1

    def _metrics(self, frame: Frame, redraw: bool = False) -> dict[str, float]:
        metrics: dict[str, float] = {}
        for key, value in () if redraw else frame.postfix:
            name = metric_name(key)
            if name in metrics:
                continue
            if persists(name):
                last = self._sticky.get(name)
                self._sticky[name] = value
                if last is not None and same_value(last, value):
                    continue
            metrics[name] = value
        if frame.step_time is not None:
            metrics.setdefault("step_time", frame.step_time)
        return metrics

    def _epoch_end(self, stated: int) -> int | None:
        """The step at which the epoch a summary line states ends (`Epoch [9/30]`: the ninth, counted from 1 as
        `[30/30]` is the last), where an `Epoch E:` bar told the epochs' length and drew no step of that epoch
        nor of a later one (its frames erased); None otherwise: the line is at the bars' step (a loop's `Epoch 1/400
        Train Loss: …` every 50 batches under epoch 1's bar is epoch 1's so far)."""
        self._summed = stated  # what the first `Epoch E:` bar after it is called tells where bars count from
        drawn = self._shown
        if stated < 1 or self._epoch_total is None or (
                drawn is not None and drawn[0] is not None and (drawn[0], drawn[1] > 0) >= (stated - 1, True)):
            return None
        sized = _resized(self._sized, stated - 1, self._epoch_total)
        return sized.before + bar_step(stated - 1 - sized.epoch, self._epoch_total, self._epoch_total)  # type: ignore[no-any-return]

    def _global_step(self, epoch: int, frame: Frame) -> int | None:
        if frame.total is not None:
            sized = self._sized = _resized(self._sized, epoch, frame.total)
            return sized.before + bar_step(epoch - sized.epoch, frame.n, frame.total)  # type: ignore[no-any-return]
        if epoch > len(self._epoch_len) or any(e not in self._epoch_len for e in range(epoch)):
            return None
        return sum(self._epoch_len[e] for e in range(epoch)) + frame.n - 1


def logged_step(metrics: dict[str, float], rich: bool = False) -> int | None:
    """The step a frame's postfix shows where the module logs it (`global_step=6099.0`: latent-diffusion's and NeMo's
    `self.log("global_step", …, prog_bar=True)`), exact as printed. The bars' count is batches, and Lightning 1.x's
    epoch bar counts the validation's batches too: a review's textual-inversion run in its 82nd epoch read 6181 at the
    step its checkpoint `embeddings_gs-6099.pt` names. tqdm prints a number in 3 digits where that is shorter
    (`2e+3` for 1999 or 2000: the value read is one such text gives, a round one of 1000 or more): no step. Below
    1000 three digits are exact; the rich bar rounds to 3 decimals, never to 3 digits."""
    value = metrics.get("global_step")
    if value is None or not 0 <= value < 1e15 or value != int(value):
        return None
    if rich or value < 1000:
        return int(value)
    short = f"{value:.3g}".replace("+0", "+").replace("-0", "-")  # tqdm's `format_num`: the shorter of the two
    return int(value) if len(short) >= len(str(value)) else None


_EVALUATION_WORD = patterns.compile("|".join(EVAL_WORDS), re.IGNORECASE)
"""The words of an evaluation's metric names and lead words (`val_loss`, `Test set:`, `Validation`): a line without
one is no evaluation's, and is not read at all beside bars that show the loss."""


def _evaluated(rec: Record) -> bool:
    """Whether a line beside the bars is an evaluation's result alone (`Test set: Average loss: 5.0191, Acc@1: 8.434%`):
    read between `Epoch E:` bars even where they show the loss, unless they show evaluations too, else a review's
    ResNet-50 run, its `Loss:` in the bar's description, had no validation loss for the overfit rule (tqdm's Keras
    callback draws no `Epoch E:` bar: the `val_loss=4.3607` it logs is what its bar over the epochs shows next)."""
    return rec.kind is Kind.EVAL and all(map(is_eval_metric, rec.metrics))


def _evaluation_in(rec: Record) -> Record | None:
    """The evaluation's part of a line beside bars that show the loss, which sums up an epoch's training and its
    evaluation (`Epoch [11/25], Training Loss: 1.1556, Validation Loss: 2.1507, Accuracy: 55.15%`): its evaluation's
    metrics at its step, the training's left to the bars. Dropped whole for its training loss, a review's run of 25
    epochs had no `val_loss` at all, and the overfit rule nothing to judge."""
    metrics = {k: v for k, v in rec.metrics.items() if is_eval_metric(k)}
    if not metrics:
        return None
    if "epoch" in rec.metrics:
        metrics["epoch"] = rec.metrics["epoch"]
    return Record(Kind.EVAL, step=rec.step, metrics=metrics, t=rec.t)


class _Sized(NamedTuple):
    """`Epoch E:` bars of `total` frames from epoch `epoch` on, after `before` steps."""

    total: int
    epoch: int
    before: int


def _resized(sized: _Sized | None, epoch: int, total: int) -> _Sized:
    """The bars' length once a frame of `epoch` is `total` long. An epoch's step is `epoch × total` while every
    epoch is as long as this one (what is assumed of the epochs before the log's first bar); where the length
    changes (a larger batch from epoch 4 on: ImageNet's 10,010 batches an epoch, then 5,005), the epochs before
    keep the steps they were read at and the new length counts from its epoch (a review's ResNet-50 run read
    65,063 at the end of its 4th epoch for 35,035). An epoch before the one the length changed at is the run
    started again: counted as at first."""
    if sized is None or epoch < sized.epoch:
        return _Sized(total, 0, 0)
    if total == sized.total:
        return sized
    return _Sized(total, epoch, sized.before + (epoch - sized.epoch) * sized.total)


def persists(name: str) -> bool:
    """Whether a postfix value stays in the bar between updates (`val_*`, `*_epoch`): given when it changes."""
    return is_eval_metric(name) or name.endswith("_epoch")


def bar_step(epoch: Any, n: Any, total: Any) -> Any:
    """The global step of an `Epoch E:` bar's frame at N of M (the 0-based step just taken): the one formula,
    for a frame (ints) and for a block's frames (numpy arrays) alike."""
    return epoch * total + n - 1


NEW_RUN = ("wandb: Agent Starting Run:", "wandb: Tracking run with wandb version")
"""Lines a new run prints in the same output: a W&B sweep agent runs its trials one after another in one process (a
review's log held five, each 1000 epochs of one bar). The bars' laps start over there (`starts_run`), so that the run
starting again is seen: read as one run's laps, each trial's first loss was a spike of the one before."""


def starts_run(line: str) -> bool:
    return "wandb: " in line and any(text in line for text in NEW_RUN)


def lapped(last_total: Any, last_n: Any, total: Any, n: Any) -> Any:
    """Whether a frame starts a bar's next lap: a bar of the same total as the last frame's, which was at its
    end, drawn again from before it. A plain loop draws a new bar over its loader every epoch (`for batch in
    tqdm(loader)`); read as one bar, each epoch was the run starting again (a review's log: "started again
    19 times" over 20 epochs of 1156 batches). Ints or int arrays alike."""
    return (total == last_total) & (last_n >= last_total) & (n < total)


def stale(moved: Any, same_postfix: Any, has_postfix: Any) -> Any:
    """Whether a frame is the first redraw at a new count, still showing the previous frame's postfix: its
    count moved, its postfix is the last one's, and it has one. Bools or bool arrays alike."""
    return moved & same_postfix & has_postfix


def same_value(last: Any, value: Any) -> Any:
    """Whether a persisting postfix value (`val_*`, `*_epoch`) is the one shown before (NaN as NaN): then it is
    not given again. Floats or float arrays alike (`x != x` is the NaN test of both)."""
    return (last == value) | ((last != last) & (value != value))


def _times(metrics: dict[str, float], frame: Frame, elapsed: str, eta: str) -> None:
    if frame.elapsed is not None:
        metrics.setdefault(elapsed, frame.elapsed)
    if frame.remaining is not None:
        metrics.setdefault(eta, frame.remaining)


def pct_only(line: str) -> str:
    """`Epoch 9: 100%` alone on a line (Jupyter widgets put the counts on the next one)."""
    text = line[-300:]
    if not _PCT.search(text):
        return ""
    desc = _BAR_TAIL.sub("", text).strip().rstrip(":").strip()
    return desc if epoch_of(desc) is not None else ""
