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
elapsed seconds): the block is a layout of `kv`'s, not a second description of keys. Ray Tune (RLlib's trainers
under `tune.run`) prints each result as a YAML block, `Result for DQN_shogi_96499_00000:` then its fields indented by
nesting (`info:` / `learner:` / `player_0:` / `learner_stats:` / `mean_q: -0.015`) up to a blank line: its
`training_iteration` is the step, `time_this_iter_s` the step time, `time_total_s` the elapsed time, `timestamp` (Unix
seconds) the record's time, a learning rate `cur_lr` `lr`, the global gradient norm `grad_gnorm` `grad_norm`, a nested field by its own name (the first policy's where
several print one, a policy's reward by `policy_reward_mean_player_0`), where and when it ran not at all (`_RAY_SKIP`).
Read as no format, an RLlib DQN run whose mean Q-value grew from -0.015 to 2e10 read `nothing understood` (a review).
Coqui TTS's trainer heads each logging step's block `--> STEP: 24/36 -- GLOBAL_STEP: 1000025` over `| > name: value
(average)` lines up to a blank line, and each evaluation's `--> EVAL PERFORMANCE` (`_COQUI_STEP`). A block kv reads no
record from (the settings a script prints between rules at its start) gives none; the run's total comes from its
settings as for every format (`total updates: 50000`, runwatch.parsers.preamble). Read per line: a block a
logging step needs no fast path.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import ClassVar

from runwatch import patterns
from runwatch.model import Kind, Record
from runwatch.parsers.base import FormatParser
from runwatch.parsers.keyvalue import KeyValueParser
from runwatch.parsers.numbers import NUMBER_TEXT, parse_number

MAX_FIELDS = 64
_RULE = patterns.compile(r"\s{0,8}(?:={10,}|-{10,})\s{0,8}")
_ITERATION = patterns.compile(r"\s{0,60}Learning iteration (\d{1,12})/(\d{1,12})\s{0,60}")
"""rsl_rl's (legged_gym's, Isaac Lab's) heading of each iteration's block (under a rule of `#`): `Learning iteration
0/101`, the iteration counted from 0 of the run's (its last `100/101`); its fields end at `ETA`, or at the next."""
_FIELD = patterns.compile(
    r"\s{0,8}(?P<key>[A-Za-z][A-Za-z0-9_./()-]{0,40}(?: [A-Za-z0-9_./()-]{1,40}){0,4}?)\s{0,4}:\s{1,8}"
    r"(?P<value>[-+]?(?:\d{1,9}(?::\d\d){1,2}(?:\.\d{1,6})?|(?:\d{1,20}(?:\.\d{0,20})?|\.\d{1,20})(?:[eE][-+]?\d{1,3})?"
    r"|nan|inf)(?:\s{0,2}(?:%|s|ms|sec))?)\s{0,8}",
    re.IGNORECASE,
)
"""A field alone on its line: a name of up to five words, a colon, a number (`1000`, `0.78261`, `nan`) or a
clock (`0:53:35`), a unit after it at most (`%`, `s`, `ms`, `sec`); a line with more is prose or another format's."""
_RSL_NAMES = {"Steps per second": "timesteps per sec", "Total steps": "total timesteps"}
"""rsl_rl's counts of the environments' steps in Isaac Lab's words (`Total steps: 512`, `Steps per second: 1581`: every
environment's, 512 an iteration), no optimizer steps: read as kv's rate and a metric `total_steps`, an Isaac Lab run's
step time was 1/1581 s, its iteration taking 0.16 s (`Iteration time`, a review). Named as legged_gym's words are
(`Total timesteps: 98304`)."""
_STEP_FIELD = patterns.compile(r"\s{0,8}num(?:ber)? of updates\s{0,4}:\s{1,8}\d{1,12}\s{0,8}", re.IGNORECASE)
"""The field that makes a block a logging step's, as the Decision Transformer family prints it (`num of updates:
1000`): its signature. A lone `iters: 1000` or `steps: 500` is as often a config dump's (PaddleSeg's YAML): such
blocks are read under `--format blocks`."""


_ROW = patterns.compile(rf"\|\s{{1,8}}(?P<key>[A-Za-z][\w.-]{{0,60}}/?)\s{{0,60}}\|\s{{1,4}}(?P<value>{NUMBER_TEXT})?\s{{0,40}}\|")
"""A row of Stable-Baselines3's logger table, `|    ep_rew_mean     | 24.6     |`, or a section's, `| rollout/ |  |`."""
_STEP_ROW = patterns.compile(r"\|\s{1,8}(?:total_timesteps|step)\s{1,60}\|\s{1,4}(?:\d{1,15}|\d(?:\.\d{1,2})?e\+\d\d)\s{0,40}\|")
"""SB3's `total_timesteps` row: the environment steps taken, the step of its table (as its own plots count them); and
the `step` row of the logger SB3's came from, OpenAI baselines' (`| step | 1.5e+03 |`), as improved-diffusion,
guided-diffusion and the diffusion code built on them print each logging step's table: each value `%-8.3g`, a step of
1,000 and up in three digits (`2.26e+04`), placed by the stride of the ones before (runwatch.parsers.rounded). Read as
no format, a run whose loss grew from 0.009 to 112 before `Non-finite loss` read `no steps` (a review)."""
_SB3_STEP = "total_timesteps"
_RESULT = patterns.compile(r"Result for [\w.,=:/+-]{1,200}:\s{0,8}")
"""Ray Tune's heading of a trial's result block (`Result for PPO_CartPole-v1_3f1a2_00000:`): its signature."""
_COQUI_STEP = patterns.compile(
    r"\s{0,8}--> (?:TIME: [^>]{1,60}? -- )?STEP: (\d{1,9})/(\d{1,9}) -- GLOBAL_STEP: (\d{1,12})\s{0,8}")
"""Coqui TTS's trainer's heading of a logging step's block (`   --> STEP: 24/36 -- GLOBAL_STEP: 1000025`, the step of
the epoch of its batches, and the run's, which a fine-tune counts on from its restored checkpoint's; newer trainers
put `TIME: …` first): its signature. Its fields follow, `     | > loss_disc: 3.01874  (3.46002)` (the value since the
last block, its running average in brackets), up to a blank line; `--> EVAL PERFORMANCE` heads the evaluation's
averages, `     | > avg_loss_mel: 14.90148 (+0.17227)` (its change since the last evaluation in brackets). Read as
`kv`, only `GLOBAL_STEP` was read: no loss, and each epoch's steps from `STEP: 1/36` a restart (a review)."""
_COQUI_FIELD = patterns.compile(
    rf"\s{{0,12}}\| > (?P<key>[A-Za-z_][\w.]{{0,60}}):\s{{1,8}}(?P<value>{NUMBER_TEXT})(?:\s{{1,8}}\([^()]{{0,40}}\))?\s{{0,8}}")
_COQUI_EVAL = patterns.compile(r"\s{0,8}--> EVAL PERFORMANCE\s{0,8}")
_COQUI_EPOCH = patterns.compile(r"\s{0,8}> EPOCH: (\d{1,9})/(\d{1,9})\s{0,8}")
"""`> EPOCH: 171/1000`, counted from 0: with a block's `STEP: 24/36`, the run's total (`_coqui_total`)."""
_RAY_FIELD = patterns.compile(rf"(?P<indent> {{0,40}})(?P<key>[A-Za-z_][\w.-]{{0,80}}):(?: (?P<value>{NUMBER_TEXT}|\S.*))?\s{{0,8}}")
"""A line of a result block: its indent says where it nests; a key with no value opens a mapping."""
_RAY_NAMES = {"training_iteration": "step", "time_this_iter_s": "step_time", "time_total_s": "elapsed", "cur_lr": "lr",
              "grad_gnorm": "grad_norm"}
_RAY_SKIP = frozenset({"config", "pid", "timestamp", "iterations_since_restore", "time_since_restore",
                       "timesteps_since_restore", "node_ip", "hostname", "date", "experiment_id", "trial_id", "hist_stats",
                       "warmup_time", "num_healthy_workers", "num_remote_worker_restarts"})
"""A result's fields that are no measure of the run's progress (its trial's settings, where and when it ran), or one
read otherwise (`timestamp`: the record's time); a mapping among them is passed over whole."""
_MAX_RAY_DEPTH = 8
_RAY_ENDS = ("== Status ==", "Result for ", "+--", "Current time:", "Trial ")
"""Lines that end a result block besides a blank one: the next status table or result. Any other line that is no
field (a worker's output on stderr, written into the block on stdout: Ray sorts a result's keys, so its
`training_iteration` comes late and a block cut there had no step: a code review) is passed over, up to
`_MAX_FOREIGN` of them."""
_MAX_FOREIGN = 200


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
        self._ray: list[tuple[int, str]] | None = None
        """In a Ray Tune result block (`_RESULT`): the mappings the next line may nest in, (indent, key) each;
        None outside one."""
        self._ray_time = 0.0
        self._foreign = 0
        """Lines of other output passed over inside the block under way (`_RAY_ENDS`)."""
        self._coqui: Kind | None = None
        """In a Coqui TTS block (`_COQUI_STEP`): a step's (`Kind.STEP`) or an evaluation's; None outside one."""
        self._coqui_step: int | None = None
        """The last Coqui step block's `GLOBAL_STEP`: its evaluation's step."""
        self._coqui_epoch: tuple[int, int] | None = None
        """The last `> EPOCH: e/E` (counted from 0)."""
        self._coqui_total: int | None = None

    def parse(self, line: str) -> Record | None:
        if self._ray is not None:
            return self._ray_line(line)
        if self._coqui is not None:
            if "| > " not in line:  # the block's end: a blank line, or what comes next, read after its record
                rec = self._close()
                again = self.parse(line) if line.strip() else None
                if rec is None:
                    return again
                if again is not None:
                    self.more = [again]  # after the block's record, at the same line
                return rec
            m = _COQUI_FIELD.fullmatch(line)
            if m is not None and len(self._fields) < MAX_FIELDS:  # a field of no number (`tensor(3.05, …)`): passed
                self._fields.append((m["key"], m["value"]))
            return None
        if "--> " in line and (coqui := self._coqui_heading(line)) is not None:
            return coqui
        if "> EPOCH: " in line and (epoch := _COQUI_EPOCH.fullmatch(line)) is not None:
            self._coqui_epoch = (int(epoch[1]), int(epoch[2]))
            return self._close()
        if "Result for " in line and _RESULT.fullmatch(line):
            rec = self._close()
            self._ray = []
            return rec
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
            self._fields.append((_RSL_NAMES.get(m["key"], m["key"]) if self._iterated else m["key"], m["value"]))
        if m is not None and self._iterated and m["key"] == "ETA":
            return self._close()  # rsl_rl's last line of an iteration (past `MAX_FIELDS` too): the record is due now
        return None

    def _ray_line(self, line: str) -> Record | None:
        """A line of a Ray Tune result block: a field kept under its name, a mapping opened, or (a blank line, any
        line that is no field) the block's end and its record."""
        opened = self._ray
        assert opened is not None
        m = _RAY_FIELD.fullmatch(line) if line[:1] == " " else None
        if m is None:
            if line.lstrip().startswith("- "):
                return None  # an item of a list (RLlib's `td_error:` of the batch): no field
            if line.strip() and not line.startswith(_RAY_ENDS) and self._foreign < _MAX_FOREIGN:
                self._foreign += 1  # a worker's line on stderr amid the block on stdout (`(pid=3651) WARNING …`)
                return None
            rec = self._close()
            if line.strip():
                self.parse(line)  # a closed block holds nothing: the line gives no record, only what it opens
            return rec
        indent, key, value = len(m["indent"]), m["key"], m["value"]
        while opened and opened[-1][0] >= indent:
            opened.pop()
        if any(k in _RAY_SKIP for _, k in opened):
            return None
        if value is None:
            if len(opened) < _MAX_RAY_DEPTH and key not in _RAY_SKIP:
                opened.append((indent, key))
            return None
        if key == "timestamp" and not opened:
            number = parse_number(value)
            self._ray_time = number if number is not None and number > 1e9 else 0.0
            return None
        if key in _RAY_SKIP or parse_number(value) is None or len(self._fields) >= MAX_FIELDS:
            return None
        parent = opened[-1][1] if opened else ""
        name = f"{parent}_{key}" if parent.startswith("policy_reward_") else _RAY_NAMES.get(key, key)
        if all(name != k for k, _ in self._fields):
            self._fields.append((name, value))
        return None

    def _coqui_heading(self, line: str) -> Record | None:
        """A Coqui step block's heading (its step kept, the run's total reckoned where the epoch is known) or an
        evaluation's: the block before it closed, its record returned. None for any other line."""
        if (m := _COQUI_STEP.fullmatch(line)) is not None:
            rec = self._close()
            step, per_epoch, self._coqui_step = int(m[1]), int(m[2]), int(m[3])
            if self._coqui_epoch is not None:  # the run's steps before this epoch's first, then all of its epochs'
                epoch, epochs = self._coqui_epoch
                self._coqui_total = self._coqui_step - step - epoch * per_epoch + epochs * per_epoch
            self._coqui = Kind.STEP
            self._fields.append(("step", m[3]))
            return rec
        if _COQUI_EVAL.fullmatch(line) is not None:
            rec = self._close()
            self._coqui = Kind.EVAL
            return rec
        return None

    def _coqui_record(self, kind: Kind, fields: list[tuple[str, str]]) -> Record | None:
        """A Coqui block's record: a step's fields read as one `kv` line (its first learning rate, `current_lr_0`,
        `lr`), an evaluation's averages as `val_` metrics at the last step block's step."""
        if kind is Kind.EVAL:
            metrics = {f"val_{key.removeprefix('avg_')}": value for key, text in fields
                       if (value := parse_number(text)) is not None}
            if not metrics or self._coqui_step is None:
                return None
            return Record(Kind.EVAL, step=self._coqui_step, total_steps=self._coqui_total, metrics=metrics)
        rec = self._kv.parse(" | ".join(f"{'lr' if key == 'current_lr_0' else key}: {value}" for key, value in fields))
        return replace(rec, total_steps=self._coqui_total) if rec is not None and rec.step is not None else None

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
        t, self._ray, self._ray_time, self._foreign = self._ray_time, None, 0.0, 0
        coqui, self._coqui = self._coqui, None
        if not fields:
            return None
        if coqui is not None:
            return self._coqui_record(coqui, fields)
        fields.sort(key=lambda field: field[0] != "step")  # the step first, as kv reads a line's
        rec = self._kv.parse(" | ".join(f"{_key(key)}: {value}" for key, value in fields))
        return replace(rec, t=t) if rec is not None and t else rec

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
        if "Result for " in line:
            return 2 if _RESULT.fullmatch(line) is not None else 0
        if "Learning iteration " in line:
            return 2 if _ITERATION.fullmatch(line) is not None else 0
        if "GLOBAL_STEP: " in line:
            return 2 if _COQUI_STEP.fullmatch(line) is not None else 0
        return 2 if ":" in line and _STEP_FIELD.fullmatch(line) is not None else 0
