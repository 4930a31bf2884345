"""BasicSR's training log (BasicSR, Real-ESRGAN, GFPGAN, HAT and the image-restoration and IQA code built on it).

```
2025-02-04 16:48:00,314 INFO: [basel..][epoch:  1, iter:     100, lr:(2.999e-05,)] [eta: 2:37:00, time (data): 2.064 (0.521)] l_mos: 2.6487e-03 l_metric: 1.4853e-01
2025-02-04 18:59:12,321 INFO: Validation koniq10k
     # srcc: 0.9245    Best: 0.9247 @ 3200 iter        (a tab before `#` and before `Best`)
2025-02-04 19:50:35,211 INFO: End of training. Time consumed: 3:06:01
```
`MessageLogger` prints the experiment's name (cut to 5 characters), the epoch, the iteration (the
optimizer's step, thousands separated), each optimizer's learning rate, the time left, the iteration's time
and its data time, then each loss term and metric the model logs as `name: value`. The planned iterations
are the options' `total_iter`, printed before training (runwatch.parsers.preamble takes it as the total).
Loss terms start with `l_` (`l_pix`, `l_percep`, `l_g_gan`; the discriminator's `l_d_real`, `l_d_fake`):
`loss` is the sum of the generator's (what BasicSR adds into `l_g_total` and steps on), so that a NaN or a
spike of any of them is the loss rules'. Validation prints `# metric: value\tBest: …` lines after
`Validation <dataset>`: each an EVAL record, `val_<metric>`. `End of training.` ends the run; `Start training
from epoch: 0, iter: 0` (or `Resuming training from …`) is a step record at that iteration and that line's
time, with no metric but the epoch: where a run starts again, and when.

Read without it, a BasicSR log was the generic bar format's, its validation's image bar (`Test … 1/1000`) the
run's progress: no step, no loss, and a traceback of a second launch that failed while the first one ran
read as the run's crash (a new user's review).
"""

from __future__ import annotations

import re
from typing import ClassVar

from runwatch import patterns
from runwatch.model import Event, Kind, Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.fields import logging_time
from runwatch.parsers.numbers import NUMBER_TEXT, clock_seconds, parse_number
from runwatch.parsers.pydict import metric_name
from runwatch.parsers.reads import Reads

_NUM = NUMBER_TEXT
_HEAD = patterns.compile(
    r"(?:\[[^\]\[]{0,40}\])?(?P<open>[\[<])epoch:\s{0,12}(?P<epoch>\d{1,9}), iter:\s{0,15}"
    r"(?P<iter>\d{1,3}(?:,\d{3}){0,5}|\d{1,15})"
    r"(?:, lr:(?:\((?P<lrs>[^)]{0,200})\)|(?P<lr>" + _NUM + r")))?(?P<close>[\]>])"
    r"(?:\s{0,4}\[eta: (?P<eta>[^,\]]{1,40}(?:, [^,\]]{1,20})?), time \(data\): (?P<time>" + _NUM + r") \((?P<data>"
    + _NUM + r")\)\])?"
)
_PAIR = patterns.compile(rf"([A-Za-z][\w./-]{{0,80}}): ({_NUM})(?=\s|$)")
_VALIDATION = patterns.compile(rf"^\s{{0,8}}# (?P<name>[A-Za-z][\w./-]{{0,80}}): (?P<value>{_NUM})(?:\s|$)")
_MMSR_VALIDATION = patterns.compile(rf"# Validation # (?P<name>[A-Za-z][\w./-]{{0,80}}): (?P<value>{_NUM})\.?(?:\s|:|$)")
"""mmsr's (EDVR's, SR3's) average over the validation set, after its logger's prefix: `23-05-05 23:19:59.153 -
INFO: # Validation # PSNR: 1.5157e+01`."""
_IMAGE_QUALITY = frozenset({"psnr", "ssim", "lpips", "niqe", "fid"})
"""What mmsr's validation logger prints after a step's head (`<epoch:  1, iter:   1,000> psnr: 2.8e+01`): a line
of these and no loss term is an evaluation's."""
_START = patterns.compile(r"(?:Start|Resuming) training from epoch: (?P<epoch>\d{1,9}), iter: (?P<iter>\d{1,15})")
"""Where training starts, or resumes from a saved state: the run's step from then on, and its time (a launch
that failed after it, its traceback with no time of its own, was read as the run's crash: the run's time was
still that of the attempt before, which had finished hours earlier)."""
_MAX_PAIRS = 64


def _head(line: str) -> re.Match[str] | None:
    """The line's `MessageLogger` head, its brackets a pair (`[epoch: …]`, `<epoch: …>`)."""
    m = _HEAD.search(line) if "epoch:" in line else None
    return m if m is not None and (m["open"] == "[") == (m["close"] == "]") else None


_names: dict[str, str] = {}
"""Each logged name's metric name, made once: a log repeats a few (`l_pix`, `l_percep`)."""


def _name(raw: str) -> str:
    if len(_names) >= 4096:
        _names.clear()
    name = _names[raw] = metric_name(raw)
    return name


class BasicSRParser(GuardedParser):
    """BasicSR `MessageLogger` lines → STEP records, validation metrics → EVAL (see the module notes)."""

    name: ClassVar[str] = "basicsr"
    reads: ClassVar[Reads | None] = Reads(holds=("[epoch:", "<epoch:", "# ", "End of training.", "training from epoch"))

    def _parse(self, line: str) -> Record | None:
        m = _head(line)
        if m is not None:
            return self._step(line, m)
        start = _START.search(line) if "training from epoch" in line else None
        if start is not None:
            return Record(Kind.STEP, step=int(start["iter"]), metrics={"epoch": float(start["epoch"])},
                          t=logging_time(line.lstrip()))
        v = _VALIDATION.match(line) or (_MMSR_VALIDATION.search(line) if "# Validation #" in line else None)
        if v is not None:
            value = parse_number(v["value"])
            return None if value is None else Record(Kind.EVAL, metrics={f"val_{metric_name(v['name'])}": value},
                                                     t=logging_time(line.lstrip()))
        if "End of training." in line and line.lstrip().startswith(("20", "End")):
            return Record(Kind.EVENT, event=Event.FINISHED, message=line.strip()[:500], t=logging_time(line.lstrip()))
        return None

    def _step(self, line: str, m: re.Match[str]) -> Record | None:
        metrics: dict[str, float] = {"epoch": float(m["epoch"])}
        lr = parse_number((m["lrs"] or "").split(",")[0].strip()) if m["lr"] is None else float(m["lr"])
        if lr is not None:
            metrics["lr"] = lr
        if m["time"] is not None:
            metrics["step_time"], metrics["data_time"] = float(m["time"]), float(m["data"])  # `_NUM`: float() reads it
            eta = clock_seconds(m["eta"])
            if eta is not None:
                metrics["eta"] = eta
        generator = 0.0
        terms = 0
        for name, text in _PAIR.findall(line, m.end())[:_MAX_PAIRS]:
            value = float(text)  # `_NUM`: digits, or nan/inf in any case, which float() reads too
            key = _names.get(name) or _name(name)
            if key not in metrics:
                metrics[key] = value
            if name.startswith("l_") and not name.startswith("l_d_"):
                generator += value
                terms += 1
        step, t = int(m["iter"].replace(",", "")), logging_time(line.lstrip())
        if terms and "loss" not in metrics:
            metrics["loss"] = generator
        elif not terms and not _IMAGE_QUALITY.isdisjoint(metrics):
            evaluated = {f"val_{k}": v for k, v in metrics.items() if k in _IMAGE_QUALITY}
            return Record(Kind.EVAL, step=step, metrics={"epoch": metrics["epoch"], **evaluated}, t=t)
        return Record(Kind.STEP, step=step, metrics=metrics, t=t)

    def score(self, line: str) -> int:
        """2 for a `MessageLogger` line; a validation line alone (`# psnr: 28.1`) signs nothing."""
        return 2 if _head(line) is not None else 0
