"""MosaicML Composer / llm-foundry ConsoleLogger: one record per multi-line block.

```
[batch=1/10]:
     Train loss/train/total: 11.6153
     Train lr-DecoupledAdamW/group0: 0.0000
[Eval batch=10/10] Eval on eval data:
     Eval metrics/eval/LanguageCrossEntropy: 2.31
```
Items are indented with a tab and a space (spaces in pasted copies). A block
opens on its header and ends on the first line that is not one of its
`Train …`/`Eval …` items: parse() returns the finished block's record on that
line (which may open the next block); flush() returns a block still open at
the end of the input. Train blocks are STEP records, eval blocks EVAL records
carrying the step of the last train block.

Step: `[batch=N/M]` gives N of M. Epoch-based runs print the batch within the
epoch (`[epoch=E][batch=N/M]`, E from 1), so the global step is the block's
`time/batch` + 1 (Composer logs it before the batch counter moves), else
(E-1)*M + N; other units (`[token=…]`) use `time/batch` + 1 too.

Names: `loss/train/total` → loss, `lr-<Optimizer>/group0` → lr,
`l2_norm/grad/global` → grad_norm, `time/secs_per_step` → step_time (0 means
"not measured yet" and is dropped), `throughput/samples_per_sec`,
`throughput/tokens_per_sec`, `throughput/device/mfu` (a fraction, ×100),
`time/total` → elapsed (SpeedMonitor's unit, hours by default, or the unit
named in `time_<unit>/total`), `time/epoch` → epoch, and in eval blocks
`metrics/eval/LanguageCrossEntropy` → val_loss; the rest in snake_case.
The launcher's `----------Begin global rank N STDOUT----------` banners set
the rank of the records in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runwatch import patterns
from runwatch.model import Kind, Record
from runwatch.parsers.base import FormatParser
from runwatch.parsers.numbers import parse_number
from runwatch.parsers.pydict import snake

_HEADER = patterns.compile(r"^\s*(?P<head>(?:\[[a-z_]{1,20}=\d{1,15}(?:/\d{1,15})?\]){1,4})(?P<colon>:?)\s*$")
_UNIT = patterns.compile(r"\[(?P<unit>[a-z_]+)=(?P<cur>\d+)(?:/(?P<total>\d+))?\]")
_EVAL_HEADER = patterns.compile(r"^\s*\[Eval batch=\d{1,15}/\d{1,15}\] Eval on .{0,200}? data(?P<colon>:?)\s*$")
_ITEM = patterns.compile(r"^(?:\s+|\s*- )(?P<prefix>Train|Eval) (?P<key>[^\s:][^:]{0,300}?): (?P<value>.*)$")
_BANNER = patterns.compile(r"^-{5,}(?P<edge>Begin|End) global rank (?P<rank>\d{1,6}) (?:STDOUT|STDERR)-{5,}\s*$")
_LR = patterns.compile(r"^lr-[^/]+/group0$")
_TIME_TOTAL = patterns.compile(r"^time_(?P<unit>seconds|minutes|hours|days)/total$")
_UNIT_SECONDS = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "days": 86400.0}
_NAMES = {
    "loss/train/total": "loss",
    "l2_norm/grad/global": "grad_norm",
    "time/secs_per_step": "step_time",
    "throughput/samples_per_sec": "samples_per_sec",
    "throughput/tokens_per_sec": "tokens_per_sec",
    "time/epoch": "epoch",
}


@dataclass(slots=True)
class _Block:
    kind: Kind
    units: dict[str, tuple[int, int | None]]
    values: dict[str, float] = field(default_factory=dict)


class ComposerParser(FormatParser):
    """Composer console blocks → STEP/EVAL records (see the module notes)."""

    name = "composer"

    def __init__(self) -> None:
        self._block: _Block | None = None
        self._step: int | None = None
        self._total: int | None = None
        self._rank: int | None = None

    def parse(self, line: str) -> Record | None:
        item = _ITEM.match(line) if self._block is not None else None
        if item is not None and self._block is not None:
            expected = "Train" if self._block.kind is Kind.STEP else "Eval"
            value = parse_number(item.group("value"))
            if item.group("prefix") == expected and value is not None:
                self._block.values.setdefault(item.group("key").strip(), value)
            return None
        done = self.flush()
        if (m := _HEADER.match(line)) and m.group("colon"):
            units = {u["unit"]: (int(u["cur"]), int(u["total"]) if u["total"] else None)
                     for u in _UNIT.finditer(m.group("head"))}
            self._block = _Block(Kind.STEP, units)
        elif (m := _EVAL_HEADER.match(line)) and m.group("colon"):
            self._block = _Block(Kind.EVAL, {})
        elif b := _BANNER.match(line):
            self._rank = int(b.group("rank")) if b.group("edge") == "Begin" else None
        return done

    def flush(self) -> Record | None:
        block, self._block = self._block, None
        if block is None:
            return None
        metrics = _metrics(block.values, block.kind is Kind.EVAL)
        if block.kind is Kind.STEP:
            self._step, self._total = _step(block), _total(block)
        return Record(block.kind, step=self._step, total_steps=self._total, rank=self._rank, metrics=metrics)

    def score(self, line: str) -> int:
        if _HEADER.match(line) or _EVAL_HEADER.match(line):
            return 2
        return 1 if _ITEM.match(line) else 0


def _step(block: _Block) -> int | None:
    units = block.units
    if set(units) == {"batch"}:
        return units["batch"][0]
    done = block.values.get("time/batch")
    if done is not None and 0 <= done < 1e15:
        return int(done) + 1
    epoch, batch = units.get("epoch"), units.get("batch")
    if epoch is not None and batch is not None and batch[1] is not None:
        return (epoch[0] - 1) * batch[1] + batch[0]
    return None


def _total(block: _Block) -> int | None:
    return block.units["batch"][1] if set(block.units) == {"batch"} else None


def _metrics(values: dict[str, float], is_eval: bool) -> dict[str, float]:
    out: dict[str, float] = {}
    has_unit_total = any(_TIME_TOTAL.match(k) for k in values)
    for key, value in values.items():
        name, scaled = _name(key, value, is_eval, has_unit_total)
        if name and name not in out:
            out[name] = scaled
    if "step_time" not in out and (rate := values.get("throughput/batches_per_sec")):
        out["step_time"] = 1.0 / rate
    return out


def _name(key: str, value: float, is_eval: bool, has_unit_total: bool) -> tuple[str, float]:
    if key in _NAMES:
        name = _NAMES[key]
        return ("", value) if name == "step_time" and value == 0 else (name, value)
    if _LR.match(key):
        return "lr", value
    if key == "throughput/device/mfu":
        return "mfu", value * 100.0
    if m := _TIME_TOTAL.match(key):
        return "elapsed", value * _UNIT_SECONDS[m.group("unit")]
    if key == "time/total" and not has_unit_total:
        return "elapsed", value * 3600.0
    if is_eval and key == "metrics/eval/LanguageCrossEntropy":
        return "val_loss", value
    return snake(key), value
