"""A loop that prints each logging step as a block of `name: value` lines between rules of `=` or `-`.

```
============================================================
time elapsed: 0:53:35
num of updates: 50000
ret loss: 0.78261
action loss: 0.02265
============================================================
```
is how the Decision Transformer family's training scripts (and many RL loops) log, and Stable-Baselines3's logger
prints each dump as a table of the same kind, `| rollout/ |  |`, `|    ep_rew_mean     | 24.6     |`, …,
`|    total_timesteps | 4096     |`, its rows between rules of `-` (its `total_timesteps` the step, its signature), and
rsl_rl (legged_gym's and Isaac Lab's PPO runner) each iteration as `Learning iteration 0/101` (the step counted from 1,
of the run's: its signature) over right-aligned fields, `Value function loss: 0.0125` … `ETA: 119.3s` (its last; a rule
of `-` inside it splits the losses and rewards from the timesteps and clock): no line holds a step and
its losses together, so no line format reads them. The parser keeps the fields of the block under way and
gives its record at the rule that closes it (at the end of the input, or once a follower has found the log
quiet, `holding`, for a block the rule never closed). The fields are read as one `kv` line would read them
(`name: value | name: value`, its names and units: `num of updates` is the step, `time elapsed: 0:53:35` the
elapsed seconds): the block is a layout of `kv`'s, not a second description of keys. A block kv reads no
record from (the settings a script prints between rules at its start) gives none; the run's total comes from its
settings as for every format (`total updates: 50000`, runwatch.parsers.preamble). Read per line: a block a
logging step needs no fast path.
"""

from __future__ import annotations

import re
from typing import ClassVar

from runwatch.model import Record
from runwatch.parsers.base import FormatParser
from runwatch.parsers.keyvalue import KeyValueParser
from runwatch.parsers.numbers import NUMBER_TEXT

MAX_FIELDS = 64
_RULE = re.compile(r"\s{0,8}(?:={10,}|-{10,})\s{0,8}")
_ITERATION = re.compile(r"\s{0,60}Learning iteration (\d{1,12})/(\d{1,12})\s{0,60}")
"""rsl_rl's (legged_gym's, Isaac Lab's) heading of each iteration's block (under a rule of `#`): `Learning iteration
0/101`, the iteration counted from 0 of the run's (its last `100/101`); its fields end at `ETA`, or at the next."""
_FIELD = re.compile(
    r"\s{0,8}(?P<key>[A-Za-z][A-Za-z0-9_./()-]{0,40}(?: [A-Za-z0-9_./()-]{1,40}){0,4}?)\s{0,4}:\s{1,8}"
    r"(?P<value>[-+]?(?:\d{1,9}(?::\d\d){1,2}(?:\.\d{1,6})?|(?:\d{1,20}(?:\.\d{0,20})?|\.\d{1,20})(?:[eE][-+]?\d{1,3})?"
    r"|nan|inf)(?:\s{0,2}(?:%|s|ms|sec))?)\s{0,8}",
    re.IGNORECASE,
)
"""A field alone on its line: a name of up to five words, a colon, a number (`1000`, `0.78261`, `nan`) or a
clock (`0:53:35`), a unit after it at most (`%`, `s`, `ms`, `sec`); a line with more is prose or another format's."""
_STEP_FIELD = re.compile(r"\s{0,8}num(?:ber)? of updates\s{0,4}:\s{1,8}\d{1,12}\s{0,8}", re.IGNORECASE)
"""The field that makes a block a logging step's, as the Decision Transformer family prints it (`num of updates:
1000`): its signature. A lone `iters: 1000` or `steps: 500` is as often a config dump's (PaddleSeg's YAML): such
blocks are read under `--format blocks`."""


_ROW = re.compile(rf"\|\s{{1,8}}(?P<key>[A-Za-z][\w.-]{{0,60}}/?)\s{{0,60}}\|\s{{1,4}}(?P<value>{NUMBER_TEXT})?\s{{0,40}}\|")
"""A row of Stable-Baselines3's logger table, `|    ep_rew_mean     | 24.6     |`, or a section's, `| rollout/ |  |`."""
_STEP_ROW = re.compile(r"\|\s{1,8}(?:total_timesteps|step)\s{1,60}\|\s{1,4}(?:\d{1,15}|\d(?:\.\d{1,2})?e\+\d\d)\s{0,40}\|")
"""SB3's `total_timesteps` row: the environment steps taken, the step of its table (as its own plots count them); and
the `step` row of the logger SB3's came from, OpenAI baselines' (`| step | 1.5e+03 |`), as improved-diffusion,
guided-diffusion and the diffusion code built on them print each logging step's table: each value `%-8.3g`, a step of
1,000 and up in three digits (`2.26e+04`), placed by the stride of the ones before (runwatch.parsers.rounded). Read as
no format, a run whose loss grew from 0.009 to 112 before `Non-finite loss` read `no steps` (a review)."""
_SB3_STEP = "total_timesteps"


def _key(name: str) -> str:
    """A field's name as one `kv` key: its words joined by `_`, brackets dropped (`loss (avg)` → `loss_avg`, a
    name kv cannot read made the whole block no record)."""
    return "_".join(name.lower().replace("(", " ").replace(")", " ").split())


class BlocksParser(FormatParser):
    """Blocks of `name: value` lines between rules (see the module notes)."""

    name: ClassVar[str] = "blocks"
    rounds_steps: ClassVar[bool] = True
    """OpenAI's logger prints the step in three digits (`_STEP_ROW`): kv marks it rounded."""

    def __init__(self) -> None:
        self._fields: list[tuple[str, str]] = []
        self._kv = KeyValueParser()
        self._section = ""
        """The section of SB3's table the rows under way are in (`rollout`, `time`, `train`, `eval`)."""
        self._iterated = False
        """The block under way is an rsl_rl iteration's (`_ITERATION`): its `ETA` or the next iteration ends it."""

    def parse(self, line: str) -> Record | None:
        if ("==" in line or "--" in line) and _RULE.fullmatch(line):
            if self._iterated and "--" in line:
                return None  # rsl_rl's rule between an iteration's losses and rewards and its timesteps and clock
            return self._close()
        if "Learning iteration " in line and (it := _ITERATION.fullmatch(line)) is not None:
            rec = self._close()  # the iteration before, had its `ETA` not closed it
            self._fields.append(("step", f"{int(it[1]) + 1}/{it[2]}"))
            self._iterated = True
            return rec
        if line[:1] == "|" or (line[:1] in " \t" and line.lstrip()[:1] == "|"):  # a notebook's output indents it
            self._row(line.strip())
            return None
        m = _FIELD.fullmatch(line.lstrip() if self._iterated else line) if ":" in line else None  # rsl_rl's right-aligned
        if m is not None and len(self._fields) < MAX_FIELDS:
            self._fields.append((m["key"], m["value"]))
        if m is not None and self._iterated and m["key"] == "ETA":
            return self._close()  # rsl_rl's last line of an iteration (past `MAX_FIELDS` too): the record is due now
        return None

    def _row(self, line: str) -> None:
        """A row of SB3's table: a section's opens it; a field's is read under its name, an evaluation's
        (`eval/mean_reward`, EvalCallback's) as `eval_mean_reward`, and `total_timesteps` is the step."""
        m = _ROW.fullmatch(line)
        if m is None:
            return
        key, value = m["key"], m["value"]
        if key.endswith("/"):
            self._section = key[:-1] if value is None else ""
        elif value is not None and len(self._fields) < MAX_FIELDS:
            name = "step" if key == _SB3_STEP else f"eval_{key}" if self._section == "eval" else key
            self._fields.append((name, value))

    def _close(self) -> Record | None:
        """The block under way as one record: its fields read as one `kv` line (a step's, or None)."""
        fields, self._fields, self._section, self._iterated = self._fields, [], "", False
        if not fields:
            return None
        fields.sort(key=lambda field: field[0] != "step")  # the step first, as kv reads a line's
        return self._kv.parse(" | ".join(f"{_key(key)}: {value}" for key, value in fields))

    @property
    def holding(self) -> bool:
        return bool(self._fields)

    def flush(self) -> Record | None:
        return self._close()

    def score(self, line: str) -> int:
        """2 for a block's step field (`num of updates: 1000`), which `kv` alone would not read as a step, and for
        SB3's `total_timesteps` row."""
        if "|" in line[:9]:
            return 2 if _STEP_ROW.fullmatch(line.strip()) is not None else 0
        if "Learning iteration " in line:
            return 2 if _ITERATION.fullmatch(line) is not None else 0
        return 2 if ":" in line and _STEP_FIELD.fullmatch(line) is not None else 0
