"""Generic `key=value` / `key: value` / `key value` step lines, the fallback format.

`step 10 loss=2.3 lr=3e-4`, `step: 10, loss: 2.30, lr: 0.0003`,
`Iter 10/200 | loss 2.3 | dt 812ms`, `step 250: train loss 1.5440, val loss 1.7220`,
`ep 55 train, step 1347, ce 0.324, grad_norm:p2 3.388, …, elapsed 0:16:59, exp. remaining 0:03:45`.

Because almost any line has a word and a number, a line counts only when it
has a step key (`step`, `iter`, `iteration`, `global_step`, `it`, `steps`, …)
and another number, or at least two numeric pairs of which one has a canonical
name (loss, lr, grad_norm, …). score() is at most 1, so every specific format
wins detection over this one.

Keys start a clause. A key is one word, or two when the first starts the
clause too (`train loss`, `val loss`, `grad norm`, `Global step`); it follows
the start of the line, punctuation (`|`, `,`, `]`, `-`, `:`), a number (the
previous value, a timestamp) or a log level (`INFO step 10`). The last word of
a longer phrase names something else and is skipped: in `Total batch size
524,288 => gradient accumulation steps: 2` neither `size` nor `steps` is a
key, so a count in a launcher banner is no step index.

`key:sub value` keeps both parts (`grad_norm:p2` → `grad_norm_p2`,
`max_size:time` → `max_size_time`); a device index after it is a label and
is dropped (`mem_usage:cuda:0 67.8GB` → `mem_usage_cuda`, the same name on
every rank). Labels (`Rank 0`, `pid`) and source locations (`logging.py:96`)
are not metrics. `N/M` after a step key gives total_steps.

Units: a duration on a time key is seconds: `ms`/`s`/`m`/`min`/`h` on `dt`,
`time`, `step_time`, `iter_time`, `batch_time` give step_time; an `H:MM:SS`
or `MM:SS` clock or a time unit on `elapsed`/`remaining`/`eta`/`time_left`
give elapsed/eta; other keys naming a time (`total time: 0.98m`) keep their
name with the value in seconds. A clock on any other key (a wall time) is
dropped. `%` is dropped (mfu is a percent already); other units (`GiB`) are
dropped with the number kept. A line with only evaluation metrics is an
EVAL record.

Speed: a line without a digit, or without any word of a key that could make a
record (`loss`, `step`, `lr`, `time`, … taken from the key tables), is
rejected before the pair scan; that is most lines of a log. The scan is one
`findall` of a possessive pattern (no per-character Python work), and what a
key means is cached by its text.
"""

from __future__ import annotations

import re

from runwatch.model import Kind, Record
from runwatch.parsers.base import FormatParser
from runwatch.parsers.pydict import CANONICAL, is_eval_metric, metric_name, snake

MAX_LINE = 4096
MAX_KEY = 64
"""Longer keys are not read (the old pattern's bound)."""

_NUMBER = (
    r"[-+]?(?:\d{1,3}(?:,\d{3}){1,6}|\d{1,30})(?:\.\d{0,30})?(?:[eE][-+]?\d{1,4})?"
    r"|[-+]?\.\d{1,30}(?:[eE][-+]?\d{1,4})?"
    r"|[-+]?(?i:nan|inf(?:inity)?)"
)
# One pass over the line with findall: each match is (gap, key, clock, value, total, unit), the gap
# being the text since the previous match. The gap skips whole words at a time (possessively) and a
# key starts at a letter that does not continue a word, path or quoted name; `:sub` parts stay in
# the key, and so does a `:N` device index before a spaced value. No IGNORECASE: it costs 5x here.
# The gap can reach every later key start, so when no pair follows the rest of the line is one
# last match with an empty key (linear time, where a retry at each position would be quadratic).
_PAIR = re.compile(
    r"([^A-Za-z]*+(?:[A-Za-z][\w./\-'\"]*+[^A-Za-z]*+)*?)"
    r"(?<![\w./\-'\"])([A-Za-z][\w./\-]*+(?::(?:[A-Za-z][\w./\-]*+|\d++(?=\s{1,3}[-+.\d])))*)"
    r"(?:\s{0,3}[=:]\s{0,3}|\s{1,3})(?=[-+.\dnNiI])"  # the guard spares the value alternatives most words
    rf"(?:(\d{{1,6}}(?::[0-5]\d){{1,2}}(?:\.\d{{1,9}})?)|({_NUMBER}))"
    r"(?:/(\d{1,15}))?(%|[A-Za-z]{1,4})?"
    r"(?=$|[\s,;|)\](:])"
    r"|[\s\S]+"  # no pair from here on: take the rest, so findall does not retry at every later position
)
_DIGIT = re.compile(r"\d").search
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,40}")
_DEVICE_INDEX = re.compile(r":\d+$")
_SOURCE_FILE = re.compile(r"\.(?:py|pyx|cpp|cc|cu|c|h|hpp|rs|go|js|ts)$", re.IGNORECASE)

_STEP_KEYS = frozenset({
    "step", "iter", "iteration", "global_step", "it", "steps", "iters", "train_step", "training_step",
    "global_iter", "global_iteration",
})
_STEP_TIME_KEYS = frozenset({"dt", "time", "step_time", "iter_time", "batch_time", "time_per_step", "iteration_time"})
_ELAPSED_KEYS = frozenset({"elapsed", "elapsed_time", "time_elapsed"})
_ETA_KEYS = frozenset({"eta", "remaining", "time_remaining", "remaining_time", "time_left", "eta_time"})
_TIME_WORDS = frozenset({"time", "elapsed", "duration", "runtime"})
_LABEL_KEYS = frozenset({
    "rank", "local_rank", "global_rank", "world_size", "pid", "node", "gpu", "device", "worker_id", "v_num",
})
_CANONICAL_NAMES = frozenset(CANONICAL.values())
_FUNCTION_WORDS = frozenset({
    "a", "an", "the", "of", "to", "for", "from", "in", "on", "at", "by", "as", "with", "and", "or", "not", "is",
    "are", "was", "were", "be", "per", "than", "into", "after", "before", "since", "until", "vs", "over", "under",
    "about", "if", "when", "then", "so",
})
"""Words of prose, never a key nor a key's first word: `number of nan iterations`, `ran for 25624887`."""
_LOG_LEVELS = frozenset({"TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL"})
_SECONDS: dict[str, tuple[float, float]] = {  # unit → (multiply, divide): ms are divided, as the framework parsers do
    "us": (1.0, 1e6), "ms": (1.0, 1e3), "s": (1.0, 1.0), "sec": (1.0, 1.0), "secs": (1.0, 1.0),
    "m": (60.0, 1.0), "min": (60.0, 1.0), "mins": (60.0, 1.0), "h": (3600.0, 1.0), "hr": (3600.0, 1.0),
    "hrs": (3600.0, 1.0),
}


def _stems() -> list[str]:
    """One part of each key that can make a line a record (a step key, a canonical metric's key, a key
    read as step_time/elapsed/eta): a line mentioning none of them is rejected before the pair scan.
    `it` is left to a token pattern, being in too many words."""
    keys = (set(CANONICAL) | _STEP_KEYS | _STEP_TIME_KEYS | _ELAPSED_KEYS | _ETA_KEYS) - {"it"}
    stems: list[str] = []
    for key in sorted(keys, key=lambda k: (len(k), k)):
        parts = key.split("_")
        if not any(stem in part for part in parts for stem in stems):
            stems.append(max(parts, key=len))
    return stems


def _by_first_letter(words: list[str]) -> str:
    """`d(?:t)|e(?:lapsed|poch|ta)|…`: one branch tried per position instead of one per word."""
    rests: dict[str, list[str]] = {}
    for word in words:
        rests.setdefault(word[0], []).append(re.escape(word[1:]))
    return "|".join(f"{first}(?:{'|'.join(sorted(r, key=len, reverse=True))})" for first, r in sorted(rests.items()))


_STEM = re.compile(_by_first_letter(_stems())).search
_IT_KEY = re.compile(r"it(?<![\w./\-'\"]it)[\s=:]").search  # literal first: a fast scan


def _mentions_known_key(low: str) -> bool:
    """Whether the lowercased line holds a part of a key that can make a record. Parts match inside words
    too (`Learning`, `gradient`, `tok/sec`): this is only a filter before the scan."""
    return _STEM(low) is not None or _IT_KEY(low) is not None


# What a key is, by its text as logged: (metric name, role, name for a duration value). Cached: a log
# repeats its keys. Roles from _STEP_TIME on read durations; from _ELAPSED on also read clocks.
_METRIC, _STEP, _SKIP, _STEP_TIME, _ELAPSED, _ETA, _TIMEISH = range(7)
_KEYS: dict[str, tuple[str, int, str]] = {}
_KEYS_MAX = 4096


def _key(raw: str) -> tuple[str, int, str]:
    if len(_KEYS) >= _KEYS_MAX:
        _KEYS.clear()
    base = _DEVICE_INDEX.sub("", raw)
    key = snake(base)
    name = metric_name(key)
    if not key or key in _LABEL_KEYS or _SOURCE_FILE.search(base) or len(raw) > MAX_KEY or key in _FUNCTION_WORDS:
        found = ("", _SKIP, "")
    elif key in _STEP_KEYS:
        found = (name, _STEP, name)
    elif key in _STEP_TIME_KEYS:
        found = (name, _STEP_TIME, "step_time")
    elif key in _ELAPSED_KEYS:
        found = ("elapsed", _ELAPSED, "elapsed")
    elif key in _ETA_KEYS:
        found = (name, _ETA, "eta")  # `remaining 12` keeps its name: only a duration is surely an ETA
    elif not _TIME_WORDS.isdisjoint(key.split("_")):
        found = (name, _TIMEISH, name)
    else:
        found = (name, _METRIC, name)
    _KEYS[raw] = found
    return found


def _clause_key(head: str, key: str) -> str | None:
    """The key as it reads after `head` (the text since the previous pair, ending in a letter): itself after
    a log level, two words when the first starts the clause, or None (prose)."""
    if key.lower() in _FUNCTION_WORDS:
        return None
    cut = max(head.rfind(" "), head.rfind("\t"))
    word = head[cut + 1:]
    if word in _LOG_LEVELS:
        return key
    rest = head[:cut].rstrip() if cut >= 0 else ""
    if (rest and rest[-1].isalpha() and rest[max(rest.rfind(" "), rest.rfind("\t")) + 1:] not in _LOG_LEVELS) \
            or not _WORD.fullmatch(word) or word.lower() in _FUNCTION_WORDS:
        return None  # the key ends a longer phrase
    return f"{word}_{key}"


def _kind(metrics: dict[str, float]) -> Kind:
    """EVAL when every metric but the epoch is an evaluation one, else STEP."""
    evals = False
    for name in metrics:
        if name != "epoch":
            if not is_eval_metric(name):
                return Kind.STEP
            evals = True
    return Kind.EVAL if evals else Kind.STEP


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:  # thousands separators (`1,051,311`): the pattern admits nothing else float() refuses
        return float(text.replace(",", ""))


def _clock(text: str) -> float:
    secs = 0.0
    for part in text.split(":"):
        secs = secs * 60 + float(part)
    return secs


class KeyValueParser(FormatParser):
    """Conservative fallback for hand-written training prints (see the module notes)."""

    name = "kv"

    def parse(self, line: str) -> Record | None:
        text = line[:MAX_LINE]
        if _DIGIT(text) is None or not _mentions_known_key(text.lower()):
            return None  # no number, or no word of a key that could make a record: most lines of a log
        step: int | None = None
        total: int | None = None
        metrics: dict[str, float] = {}
        pairs = 0
        phrase = ""
        for gap, raw, clock, number, steps, unit in _PAIR.findall(text):
            if not raw:
                break  # the rest of the line, without a pair
            head = gap.rstrip()
            if phrase:  # the last pair was a phrase's words (`number of nan`): this may continue it
                head, phrase = phrase + head, ""
            if head[-1:].isalpha():
                two = _clause_key(head, raw)
                if two is None:
                    if number[-1:].isalpha():  # `nan`/`inf` here is a word of the phrase, not a value
                        phrase = f"{head} {raw} {number}"
                    continue
                raw = two
            name, role, timed = _KEYS.get(raw) or _key(raw)
            if role == _SKIP:
                continue
            if clock:
                if role < _ELAPSED:
                    continue  # a wall-clock time, or a clock where a count belongs
                value = _clock(clock)
                name = timed
            else:
                value = _number(number)
                if unit and role >= _STEP_TIME:
                    scale = _SECONDS.get(unit)
                    if scale is not None:
                        value = value * scale[0] / scale[1]
                        name = timed
            pairs += 1
            if role == _STEP and step is None and 0 <= value < 1e15:  # NaN fails the test too
                step = int(value)
                total = int(steps) if steps else None
            elif name not in metrics:
                metrics[name] = value
        if not metrics:
            return None
        if step is None and (pairs < 2 or _CANONICAL_NAMES.isdisjoint(metrics)):
            return None
        return Record(_kind(metrics), step=step, total_steps=total, metrics=metrics)

    def score(self, line: str) -> int:
        return 1 if self.parse(line) is not None else 0
