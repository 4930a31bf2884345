"""Rank and host prefixes that launchers put in front of a trainer's own lines.

Format parsers must see the line as the trainer printed it, so the source strips
these first and keeps the rank for the Record. Prefixes seen in real logs
(corpus `torchrun_slurm_prefixes.md`, `failures.md`), possibly stacked:

- torchrun `--tee`: `[default3]:`, `[rank3]:` (`[{role}{n}]:`, no space after
  the colon; the `TORCHELASTIC_LOG_LINE_PREFIX_TEMPLATE` form adds one). The
  number is the LOCAL rank by default; only a template using `${rank}` makes
  it global.
- SLURM `srun --label`: `3: ` (right-aligned, so ` 3: ` too): the task id.
- pdsh (DeepSpeed multi-node): `192.168.50.170: ` (host, no rank).
- log collectors: `[80746] ` (a line number or pid, no rank).
- Ray / vLLM process tags: `(APIServer pid=1) `, `(RayTrainWorker pid=4088, ip=10.0.163.141) `.
- AMD Primus's logger: `[20251202 06:56:28][rank-7/8]` (its stamp, then rank/world size; corpus
  megatron.md M10, whose colour codes lost their ESC when copied and so stay as `[32m` residue,
  read the same). The rank is the one before the slash: the world size is a free number.

When both a torchrun prefix and an srun label are present (`0: [rank3]: …`),
the torchrun number wins: it is the one the writing process chose.
"""

from __future__ import annotations

import re

from runwatch import patterns
from runwatch.parsers.reads import Reads

# One alternation, anchored at the line start; each branch is one prefix kind.
_PREFIX = patterns.compile(
    r"""
      \[(?P<role>[A-Za-z_][A-Za-z_-]*?)(?P<torchrun>[0-9]{1,6})\]:[ ]?  # [default3]: / [rank3]:
    | [ ]{0,6}(?P<srun>[0-9]{1,6}):[ ](?=[ ]*\S)                       # srun --label `3: text`
    | [0-9]{1,3}(?:\.[0-9]{1,3}){3}:[ ]                                   # pdsh host 192.168.50.170:
    | \[[0-9]{1,9}\][ ]                                                # collector [80746]
    | \([A-Za-z]\w*[ ]pid=[0-9]+(?:,[ ]ip=[0-9.]+)?\)[ ]                # (APIServer pid=1)
    | (?:\[(?:\[[0-9;]*m)?[0-9]{8}[ ][0-9][0-9]:[0-9][0-9]:[0-9][0-9](?:\[[0-9;]*m)?\])?         # Primus [20251202 06:56:28]
      \[(?:\[[0-9;]*m)?rank-(?P<primus>[0-9]{1,6})/[0-9]{1,6}(?:\[[0-9;]*m)?\][ ]?  # [rank-7/8]
    """,
    re.VERBOSE,  # ASCII digits: `\d` took `٣: [` (an Arabic-Indic three) for srun's label of rank 3
)
FIRST_CHARS = frozenset("[( 0123456789")
"""What a line that `split_rank` may change starts with: any other line is its own text (a caller's test
before the call, on every live line)."""
PREFIX_CHARS = "".join(sorted(FIRST_CHARS))
"""The same as a string, for `line[:1] in PREFIX_CHARS`, which an empty line passes too (split_rank leaves it
as it is)."""
PREFIXED = Reads(start=_PREFIX, start_chars=FIRST_CHARS - {" "})
"""The lines `split_rank` changes: those `_PREFIX` matches at the start (runwatch.parsers.reads). Only an srun
label starts with blanks, and then with its digits (`split_rank`'s own test)."""
_MAX_STACK = 4
_LEADING = "[0123456789"
_AFTER_DIGITS = frozenset(":.] ")
"""What follows the first run of digits of a prefix that starts with one, or with `[` and one: an srun
label's `:`, a pdsh host's `.`, a collector's `]`, the blank in Primus's `[20251202 06:56:28]`. A line whose
digits go on otherwise (a timestamp's `-`; a digit that is not ASCII, which no prefix has, goes on) is tested
no further: the regex cost 0.5 µs a line."""

_PATH_RANK = patterns.compile(r"(?:^|[^A-Za-z])rank[_-]?(\d{1,6})(?!\d)", re.IGNORECASE)
_TORCHRUN_DIR = patterns.compile(r"[/\\]attempt_\d+[/\\](\d{1,6})[/\\](?:stdout|stderr)\.log$")


LABEL_SPAN = 24
"""A launcher prefix that starts with a blank or a digit (srun's ` 3: `, pdsh's `192.168.50.170: `) ends with
`: ` within this many characters: a line without one there is no such prefix's (`launcher_prefixed`)."""


def launcher_prefixed(line: str) -> bool:
    """Whether `split_rank` takes a launcher prefix off the line: the cheap tests first (most lines start
    with a letter, or have no `: ` near their start), as a block's rows are told from prefixed lines."""
    return (line[:1] in PREFIX_CHARS and (line[:1] in "[(" or ": " in line[:LABEL_SPAN])
            and split_rank(line) != (None, line))


def split_rank(line: str) -> tuple[int | None, str]:
    """(rank or None, the line without launcher prefixes).

    Costs one set lookup on the common line that starts with a letter (a
    few more on one that starts with a blank but no srun label); a
    line is changed only where a whole prefix matched, so ordinary text such
    as `12:30:01` or `step 00001/…` comes back as it was.
    """
    if not line or line[0] not in FIRST_CHARS:
        return None, line
    first = line[0]
    if first == " ":  # only an srun label (`[ ]{0,6}\d`) starts with a blank: Megatron's ` iteration …` is none
        c = line[1:8].lstrip(" ")[:1]
        if c.isascii() and not c.isdigit():
            return None, line
    elif first != "(" and (first != "[" or line[1:2].isdecimal()):
        after = line.lstrip(_LEADING)[:1]
        if after not in _AFTER_DIGITS and not after.isdecimal():
            return None, line  # digits that no prefix has after them: a date (`2024-05-01 …`, `[2022-03-11 …]`)
    return stripped(line)


def stripped(line: str) -> tuple[int | None, str]:
    """`split_rank` without its cheap tests in front: the prefix pattern tried on the line, up to
    `_MAX_STACK` times (the reference those tests must never change)."""
    rank: int | None = None
    srun: int | None = None
    rest = line
    for _ in range(_MAX_STACK):
        m = _PREFIX.match(rest)
        if m is None:
            break
        if m["torchrun"] is not None or m["primus"] is not None:
            rank = int(m["torchrun"] or m["primus"]) if rank is None else rank
        elif m["srun"] is not None and srun is None:
            srun = int(m["srun"])
        rest = rest[m.end():]
    return (rank if rank is not None else srun), rest


def rank_from_path(path: str) -> int | None:
    """The rank a per-rank log file belongs to, from its path, or None.

    torchrun `--log-dir` writes `<dir>/<run>/attempt_N/<local_rank>/stdout.log`
    (and `stderr.log`); hand-made layouts name the file `rank3.log`,
    `log_rank_3.txt`, `train-rank-3.out`, or the folder `rank3/`.
    """
    m = _TORCHRUN_DIR.search(path)
    if m is not None:
        return int(m[1])
    parts = re.split(r"[/\\]", path)
    for part in reversed(parts[-2:]):
        m = _PATH_RANK.search(part)
        if m is not None:
            return int(m[1])
    return None
