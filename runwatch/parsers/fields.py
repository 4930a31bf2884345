"""Small text helpers the framework parsers share.

Kept apart so each format module stays a table of field names plus a few
lines of glue, and so the hot helpers (timestamps, numbers with units) are
written and tuned once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import lru_cache

from runwatch import patterns
from runwatch.parsers.numbers import SECONDS, in_unit, parse_number
from runwatch.parsers.pydict import metric_name

_NON_WORD = patterns.compile(r"[^0-9a-z]+")


PASTED_ESCAPE = "^["
"""A literal `^[` pasted before a line (nanochat N3): `strip_lead` takes it after blanks."""


def strip_lead(line: str) -> str:
    """The line without stray leading blanks or a pasted literal `^[` (nanochat N3)."""
    line = line.lstrip()
    if line.startswith(PASTED_ESCAPE):
        line = line[len(PASTED_ESCAPE):].lstrip()
    return line


@lru_cache(maxsize=256)
def snake(key: str) -> str:
    """A field's own name as a metric name: `Average reward` → `average_reward`, `Pass@1` → `pass_at_1`."""
    return _NON_WORD.sub("_", key.lower().replace("@", "_at_")).strip("_")


@lru_cache(maxsize=4096)
def local_seconds(stamp: str) -> float:
    """Unix seconds of a local `YYYY-MM-DD HH:MM:SS` stamp (ValueError: no real time); cached."""
    when = datetime(
        int(stamp[0:4]), int(stamp[5:7]), int(stamp[8:10]),
        int(stamp[11:13]), int(stamp[14:16]), int(stamp[17:19]),
    )
    try:
        return when.timestamp()
    except (OverflowError, OSError) as exc:  # year 1 or 9999 beyond the platform's range
        raise ValueError(f"timestamp out of range: {stamp}") from exc


def local_time(stamp: str, frac: str = "") -> float:
    """Unix seconds of a local `YYYY-MM-DD HH:MM:SS` stamp plus a fraction's digits.

    Logs print local wall time without a zone, so the machine's zone is the
    best reading. The seconds part is cached: consecutive lines share it.
    Raises ValueError for a stamp that is no real time (parsers catch it).
    """
    t = local_seconds(stamp)
    if frac:
        t += int(frac) / 10 ** len(frac)
    return t


_LEVEL = r"(?:DEBUG|INFO|WARNING):?(?: -)? "
_FAIR = r"(?:DEBUG|INFO|WARNING) - \d\d/\d\d/\d\d \d\d:\d\d:\d\d - \d{1,6}:\d\d:\d\d - "
"""The `LogFormatter` of FAIR's research code (XLM, SwAV, DeepCluster-v2 and loops that copied it): level, `%x %X`
(month/day/year in the C locale), the time since start, then the message: `INFO - 09/02/20 14:18:08 - 0:00:30 -
Epoch: [0][50]\tTime 2.376 (1.927)…` (a review's SwAV run read `no steps`)."""
LOGGED_PREFIX = (r"\s{0,20}(?:\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d{1,6})?(?:(?: -)? |:)"
                 rf"(?:(?:\[[\w.-]{{1,60}}:\d{{1,6}}\] |[\w.-]{{1,60}}\.py )(?:{_LEVEL})?|{_LEVEL}|[\w.<>-]{{1,60}} {_LEVEL}"
                 r"|\[(?:DEBUG|INFO|WARNING)\]: )"
                 r"|\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[.,]\d{1,6})?\](?:\[[\w.-]{1,60}\]){0,2}\[(?:DEBUG|INFO|WARNING)\] ?"
                 rf"|\[\d{{4}}[-/]\d\d[-/]\d\d \d\d:\d\d:\d\d(?:[.,]\d{{1,6}})?\] [\w.<>-]{{1,60}} {_LEVEL}"
                 rf"|{_FAIR})?")
"""Python `logging`'s time and level before a line a format recognises by its start (`2025-07-07 13:55:26.649
INFO: Epoch [001/300] …`; `%(asctime)s:%(levelname)s: %(message)s` writes `2021-07-29 14:38:40,512:INFO: Epoch:
[0][ 0/44]`, a whole run UNREAD until it was read: a review), the source file between them or instead of the level
(`2019-08-27 10:51:08,139 [dltrainer.py:209] INFO Epoch: [0][0/739]`, a review's FADNet run read as `kv` with no
step), a logger's name before the level (`%(asctime)s %(name)s %(levelname)s`: `2025-01-28 16:24:35,590 __main__ INFO
Epoch:[1/20](39400/41914) …`, MiniMind's, every line read as step 1 of 20: a review), or all in brackets
(`[2025-06-24 20:57:47,602][pretrain.py][INFO] Epoch:[0/1](300/2816672) …`), or the time alone in brackets before
the logger's name and level (MindOCR's `[2024-03-04 11:50:22] mindocr.utils.callbacks INFO - epoch: [11/20] step:
[2000/4468], …`, read by `kv` as step 2,000 of 4,468 at epoch 11 of 20: a review), or the level in brackets (JDE's
`2021-01-25 05:58:59 [INFO]:    Epoch       Batch …`), as regex text: its time is
`logging_time`'s."""
_LOGGING_STAMP = patterns.compile(r"(?:(?:DEBUG|INFO|WARNING|ERROR) |\[(?:DEBUG|INFO|WARNING|ERROR)\] )?\[?(\d{4}([-/])\d\d\2\d\d[ T,]\d\d:\d\d:\d\d)(?:[,.](\d{1,6}))?(?:\]?[ :|\t]|\]-|\](?=[A-Za-z\[]))")
"""Python `logging`'s default `%(asctime)s` (`2026-11-22 16:43:54,760 INFO train: step=1 …`; mmengine's
`2023/06/15 11:30:50 - mmengine - INFO - …`; PaddleOCR's bracketed `[2021/05/03 11:57:44] root INFO: …`) at the
line's start, or after the level as LeRobot's logger writes it (`INFO 2026-06-12 10:58:46 ot_train.py:357 step:1K …`),
or after it in brackets (`[%(levelname)s] %(asctime)s : …`: `[INFO] 2021-12-25 21:43:42,093 : Epoch:  1, loss: 8.836`, a
review's translation model, read "no step line carries a time"), or before a `|` (`%(asctime)s|%(levelname)8s| …`:
`2025-04-28 14:01:00,573|    INFO| Train: STEP 0 - …`; open_clip's date and time joined by a comma, `2023-06-29,15:44:40
| INFO | Train Epoch: 0 …`, a review's run read "no step line carries a time of day") or a tab (`%(asctime)s\t%(name)s\t%(levelname)s\t%(message)s`:
`2023-07-27 16:29:01,017\troot\tINFO\tTrain  Loss: 0.077073 …`, a review's log of 30 launches over four days, each
record at the file's time), or in brackets before the bracketed call site (`[%(asctime)s]-[%(filename)s line:%(lineno)d]:`:
`[2021-01-08 17:45:50,306]-[train.py line:229]:  === Epoch:[119/120],step:[100/197],…`, a review's YOLOv4 run read
"no step line carries a time of day"), or in brackets right before the message (`[%(asctime)s]%(message)s`:
`[2022-06-27 22:39:49,211]iter:0020 loss_train: 2.9724 …`, a review's GCN log, likewise):
the record's time, local as printed (a stamp elsewhere in the line is a value's, or noise)."""


def prefix_time(prefix: str) -> float:
    """Unix seconds of a logging stamp anywhere in a logger's prefix before a message (LLaMA-Factory's
    `[INFO|2024-11-27 10:21:35] logging.py:157 >> `), 0.0 without one: `logging_time` for a stamp that does not
    start the line. Only a prefix: a stamp after the message starts is a value's."""
    m = _LOGGING_STAMP.search(prefix, 0, 120)
    return _stamp_seconds(m)


def logging_time(text: str) -> float:
    """Unix seconds of the line's leading logging stamp, 0.0 without one (or one that is no real time)."""
    if not (text[:1].isdigit() or (text[:1] == "[" and (text[1:2].isdigit() or text[1:2] in "DIWE")) or text[:1] in "DIWEF"):
        return 0.0  # a cheap first look: most lines start with none of these
    if text[1:2].isdigit() and text[:1] in "IWEF" and (m := _GLOG_STAMP.match(text)) is not None:
        month, day, clock, frac = m.group(2, 3, 4, 5)
        try:
            return local_time(f"{m.group(1) or _year_of(month + day)}-{month}-{day} {clock}", frac)
        except ValueError:
            return 0.0
    if text[3:4] == "/" and text[:1] == "[" and (m := _MONTH_DAY_STAMP.match(text)) is not None:
        return _month_day_seconds(m)
    if text[2:3] == "/" and (m := _MMENGINE_STAMP.match(text)) is not None:
        return _month_day_seconds(m)
    if text[2:3] == "-" and text[5:6] == " " and (m := _MONTH_DAY_LOGGER.match(text)) is not None:
        return _month_day_seconds(m)
    m = _LOGGING_STAMP.match(text)
    if m is None and (fair := _FAIR_STAMP.match(text)) is not None:
        return _fair_seconds(fair)
    if m is None and text[2:3] == "-" and (short := _SHORT_YEAR_STAMP.match(text)) is not None:
        try:
            return local_time(f"20{short.group(1)}", short.group(2) or "")
        except ValueError:
            return 0.0
    return _stamp_seconds(m)


GLOG_PREFIX = r"[IWEF]\d{4}(?:\d{4})? \d\d:\d\d:\d\d(?:\.\d{1,6})? {1,8}\d{1,20} [^\]\n]{1,200}\] "
"""A glog-style prefix before a message, as regex text (`I0724 10:58:34.123456 12345 trainer.cc:163] `, absl's in
JAX and TensorFlow, or a Python logger writing it so, `I20250724 10:58:34 1 unic helpers.py:163] `): where the
message starts, for the readers that look at what it says (`_GLOG_STAMP` takes its time, stricter)."""
_GLOG_STAMP = patterns.compile(r"[IWEF](\d{4})?(\d\d)(\d\d) (\d\d:\d\d:\d\d)\.(\d{1,6}) {1,4}\d{1,20} [^\s\]]{1,200}:\d{1,7}\] ")
"""glog's and Abseil's prefix (JAX, MaxText, TensorFlow, torch's C++): the level's letter, month, day, time to the
microsecond, thread, file and line (`I0317 10:00:17.152287 125344476638336 metric_logger.py:181] completed step: 9, …`;
glog 0.7 adds the year: `I20240317 10:00:17.152287 …`).
Unread, a MaxText run's steps had no time: a hang inside its history went unseen (a review)."""
_MONTH_DAY_STAMP = patterns.compile(r"\[(\d\d)/(\d\d) (\d\d:\d\d:\d\d)\] ")
"""A month, day and time with no year, in brackets at the line's start: detectron2's logger (`[08/30 23:00:36]
d2.utils.events INFO:  eta: 0:14:11  iter: 19  total_loss: 76.49 …`, its `[%(asctime)s] %(name)s %(levelname)s: `
with `datefmt="%m/%d %H:%M:%S"`) and PaddleVideo's (`[12/25 14:22:40] epoch:[  1/25 ] train step:100 …`). Unread, a
detectron2 log had no time: `check` said no step line carries one, and `tail` aged the run by the file (a review).
PaddleVideo's waited until an interval into a guessed epoch was no longer measured (runwatch.state.pace): it logs
two lines an epoch and never the epoch's length, and timed, each epoch's end read as a 100-fold slowdown."""


_SHORT_YEAR_STAMP = patterns.compile(r"(\d\d-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d{1,6}))? - (?:DEBUG|INFO|WARNING|ERROR): ")
"""The logger of mmsr and EDVR, the forebears of BasicSR, and of the super-resolution repositories built on them
(`%(asctime)s.%(msecs)03d - %(levelname)s: %(message)s`, datefmt `%y-%m-%d %H:%M:%S`: `23-05-05 21:26:52.413 - INFO:
[epoch:  0, iter:     100, lr:(2.000e-04,)] l_pix: 2.9331e+05`): a two-digit year of this century."""
_FAIR_STAMP = patterns.compile(r"(?:DEBUG|INFO|WARNING) - (\d\d)/(\d\d)/(\d\d) (\d\d:\d\d:\d\d) - ")
"""`_FAIR`'s stamp, its parts taken."""


def _fair_seconds(m: re.Match[str]) -> float:
    """A FAIR `LogFormatter` stamp's Unix seconds (`09/02/20 14:18:08`: month, day, two-digit year of this century)."""
    try:
        return local_time(f"20{m.group(3)}-{m.group(1)}-{m.group(2)} {m.group(4)}")
    except ValueError:
        return 0.0


_MMENGINE_STAMP = patterns.compile(r"(\d\d)/(\d\d) (\d\d:\d\d:\d\d) - [\w.]{1,40} - [A-Z]{4,8} - ")
"""mmengine's logger (MMDetection 3, MMSegmentation 1, MMDetection3D and the projects built on them): `%m/%d %H:%M:%S`,
its name and level (`03/30 16:58:20 - mmengine - INFO - Epoch(train) [20][ 800/2901]  lr: …`). Unread, a review's
run said no step line carries a time of day, and a hang the stamps show went unseen by `check`."""


_MONTH_DAY_LOGGER = patterns.compile(r"(\d\d)-(\d\d) (\d\d:\d\d:\d\d)(?:[,.]\d{1,6})? - (?:DEBUG|INFO|WARNING|ERROR|CRITICAL) - ")
"""Python logging's `%(asctime)s - %(levelname)s - …` with `datefmt="%m-%d %H:%M:%S"`: a month and day, no year (a
graph autoencoder's `09-02 20:39:12 - INFO - __main__ - Epoch: 4, Loss: nan`; unread, `check` said no step line carries
a time of day, and a hang its stamps show went unseen: a new user's review)."""


def _month_day_seconds(m: re.Match[str]) -> float:
    """A month-and-day stamp's Unix seconds in the year that puts it no later than tomorrow (this year's, or last
    year's for a December log read in January; a log older than a year reads a year late, its spacing kept)."""
    month, day = m.group(1), m.group(2)
    try:
        return local_time(f"{_year_of(month + day)}-{month}-{day} {m.group(3)}")
    except ValueError:
        return 0.0


@lru_cache(maxsize=512)
def _year_of(month_day: str) -> int:
    tomorrow = date.today() + timedelta(days=1)
    later = (int(month_day[:2]), int(month_day[2:])) > (tomorrow.month, tomorrow.day)
    return tomorrow.year - 1 if later else tomorrow.year


def _stamp_seconds(m: re.Match[str] | None) -> float:
    """A `_LOGGING_STAMP` match's Unix seconds, 0.0 for none or one that is no real time."""
    if m is None:
        return 0.0
    try:
        return local_time(m.group(1), m.group(3) or "")
    except ValueError:
        return 0.0


def number(text: str, unit: str = "") -> float | None:
    """A field value as a float, `unit` (e.g. `ms`) removed from its end when present."""
    text = text.strip()
    if unit and text.endswith(unit):
        text = text[: -len(unit)]
    return parse_number(text)



def named_values(pieces: Iterable[str], *, equals: bool = False, max_key: int = 40) -> dict[str, float]:
    """`["Loss: 0.47", " acc: nan"]` → {"loss": 0.47, "acc": nan}: each piece a `name: value` pair (also
    `name=value` with `equals`), the name as a metric name, the value's first word as a number (a list's
    first: `LR: [0.001]`); a piece whose value is no number is left out (a bracketed tutorial line, a Keras
    bar's ` - name: value`). Of two names for one metric the first is it, the second keeps its own name: a YOLO
    loop's `Loss: 16.1277, average_loss: 27.6802` read the running mean as its loss (a review)."""
    out: dict[str, float] = {}
    for piece in pieces:
        key, sep, value = piece.partition(":")
        if not sep and equals:
            key, sep, value = piece.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value or len(key) > max_key:
            continue
        word = value.split()[0]
        if word[0] == "[":  # a list of one value a param group (`LR: [0.001]`, `get_last_lr()`): the first group's
            word = word[1:].rstrip("]")
        v = parse_number(word)
        if v is not None:
            name = metric_name(key)
            words = value.split(None, 2)
            if "time" in name and len(words) > 1 and words[1] in SECONDS:  # a time in its unit (MindOCR's `per step
                v = in_unit(v, words[1], SECONDS) or v  # time: 227.095 ms`), seconds as every time is (DESIGN §2)
            out.setdefault(snake(key) if name in out else name, v)
    return out
