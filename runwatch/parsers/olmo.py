"""AI2 OLMo's trainer console: one record per multi-line metrics block.

```
2025-12-11 00:27:01.586	host-02:0	olmo.train:979	INFO	[step=1/2500,epoch=0]
    optim/total_grad_norm=11.55
    train/CrossEntropyLoss=11.33
    throughput/total_tokens=8,388,608
    throughput/device/batches_per_second=0.0456
```
`Trainer.log_metrics_to_console` logs a prefix, then each metric on a line of its own, four spaces in,
`name=value` with a thousands separator above 1000 and Python's `str` below 0.0001 (`9.1e-05`, `nan`,
negatives). The logging prefix is the time of the block: the file handler's (local time, `host:local_rank`,
`module:line`, level, tabs between) or the console's (`[2024-04-17 09:42:26] INFO     [olmo.train:816,
rank=0] [step=1/739328]`). A block opens on its prefix and ends on the first line that is not one of its
items: `parse` returns the finished block's record on that line (which may open the next block), and
`flush` a block still open at the end of the input. Kept as code of its own, like Composer's: a record
is several lines.

`[step=N/T,epoch=E]` is a training step N of T. Any other prefix (an evaluator's label: `c4_en-validation`)
whose items are `eval/…` is an evaluation at the last step; the rest (`Pre-train system metrics`) gives
nothing. Names: `train/CrossEntropyLoss` → loss, `optim/total_grad_norm` → grad_norm,
`optim/learning_rate_group0` → lr, `throughput/device/tokens_per_second` → tokens_per_sec_per_gpu,
`throughput/device/batches_per_second` → step_time (its inverse: one batch a device a step),
`throughput/total_tokens` → consumed_tokens, the first
`eval/<label>/CrossEntropyLoss` → val_loss; the rest in snake_case.

Read without it, the generic key/value format took the prefix's host and source line for metrics
(`hazy_book_rustles_fin_02: 0.0`, `olmo_train: 979`) and no loss at all, and `check` said OK of a run
whose NaN it could not have seen (a new user's review).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runwatch import patterns
from runwatch.model import Kind, Record
from runwatch.parsers.base import FormatParser
from runwatch.parsers.fields import local_time
from runwatch.parsers.numbers import parse_number
from runwatch.parsers.pydict import snake

_PREFIX = patterns.compile(
    r"^(?:(?P<date>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(?P<frac>\d{1,6}))?\t[^\t]{1,200}\t[^\t]{1,200}:\d{1,6}"
    r"\t[A-Z]{3,8}\t"  # the file handler's: tabs between time, host:local_rank, module:line, level
    r"|\[(?P<rdate>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(?P<rfrac>\d{1,6}))?\] {1,8}[A-Z]{3,8} {1,8}"
    r"\[[^\]\s]{1,200}:\d{1,6}, rank=\d{1,6}\] )"  # the console's (rich): `[time] INFO     [olmo.train:816, rank=0] `
    r"(?P<message>.*)$"
)
_STEP = patterns.compile(
    r"\[step=(?P<step>\d{1,15})/(?P<total>\d{1,15})(?:, ?epoch=(?P<epoch>\d{1,9}))?(?:, [^\]]{0,100})?\]\s*$"
)
_STARTS = ("20", "[2")
"""How a prefix starts (this century's year, bare or bracketed): other lines skip the match."""
_ITEM = patterns.compile(r"^    (?P<key>[^\s=][^=]{0,300}?)=(?P<value>\S{1,60})\s*$")
_NAMES = {
    "train/CrossEntropyLoss": "loss",
    "optim/total_grad_norm": "grad_norm",
    "optim/learning_rate_group0": "lr",
    "throughput/device/tokens_per_second": "tokens_per_sec_per_gpu",
    "throughput/total_tokens": "consumed_tokens",  # the tokens seen so far: the charts' tokens axis
}


@dataclass(slots=True)
class _Block:
    kind: Kind | None
    """STEP for a `[step=…]` prefix; None until an item says whether another prefix is an evaluation's."""
    step: int | None
    total: int | None
    t: float
    values: dict[str, float] = field(default_factory=dict)


class OlmoParser(FormatParser):
    """OLMo console blocks → STEP/EVAL records (see the module notes)."""

    name = "olmo"

    def __init__(self) -> None:
        self._block: _Block | None = None
        self._step: int | None = None
        self._total: int | None = None

    def parse(self, line: str) -> Record | None:
        block = self._block
        if block is not None and line[:4] == "    ":
            item = _ITEM.match(line)
            if item is not None:
                key = item.group("key")
                value = parse_number(item.group("value"))
                if block.kind is None:
                    block.kind = Kind.EVAL if key.startswith("eval/") else Kind.EVENT  # EVENT: a block of nothing
                if value is not None:
                    block.values.setdefault(key, value)
                return None
        done = self.flush()
        m = _PREFIX.match(line) if line[:2] in _STARTS else None
        if m is not None:
            try:
                t = local_time(m.group("date") or m.group("rdate"), m.group("frac") or m.group("rfrac") or "")
            except ValueError:
                t = 0.0
            message = m.group("message")
            step = _STEP.search(message)
            if step is not None:
                epoch = step.group("epoch")
                self._block = _Block(Kind.STEP, int(step.group("step")), int(step.group("total")), t,
                                     {} if epoch is None else {"epoch": float(epoch)})
            elif message and not message[-1:].isspace() and len(message) <= 200:
                self._block = _Block(None, None, None, t)
        return done

    def flush(self) -> Record | None:
        block, self._block = self._block, None
        if block is None or block.kind not in (Kind.STEP, Kind.EVAL) or not block.values:
            return None
        if block.kind is Kind.STEP:
            self._step, self._total = block.step, block.total
            return Record(Kind.STEP, block.step, block.total, None, block.t, _metrics(block.values, False))
        return Record(Kind.EVAL, self._step, self._total, None, block.t, _metrics(block.values, True))

    def score(self, line: str) -> int:
        """2 for a step block's prefix line (only OLMo's trainer writes `[step=N/T,epoch=E]` after its tabbed
        logging prefix); its items are a maybe at most for any other format, nothing here."""
        m = _PREFIX.match(line) if line[:2] in _STARTS else None
        return 2 if m is not None and _STEP.search(m.group("message")) else 0


def _metrics(values: dict[str, float], is_eval: bool) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in values.items():
        name = _NAMES.get(key)
        if name is None:
            if key == "throughput/device/batches_per_second":
                if value > 0:
                    out.setdefault("step_time", 1.0 / value)
                continue
            if is_eval and key.startswith("eval/") and key.endswith("/CrossEntropyLoss") and "val_loss" not in out:
                name = "val_loss"
            else:
                name = snake(key)
        out.setdefault(name, value)
    return out
