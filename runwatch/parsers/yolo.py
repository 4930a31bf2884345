"""Ultralytics YOLO's training console (YOLOv5, YOLOv8, YOLO11): a table whose rows are progress bars.

```
      Epoch    GPU_mem   box_loss   cls_loss   dfl_loss  Instances       Size
     87/300      14.6G      1.024      0.464      1.232        253       1280: 100%|██████████| 50/50 [01:05<00:00,  1.31s/it]
                 Class     Images  Instances      Box(P          R      mAP50  mAP50-95): 100%|██████████| 7/7 [00:05<00:00,  1.40it/s]
                   all         50       4807      0.923      0.919      0.951      0.648
```
Each epoch prints the header, then one bar whose description is the row of values under it: the epoch
`e/E`, the GPU memory, the loss terms (running means over the epoch), the instances of the batch and the
image size. The bar counts the epoch's batches `n/N`, so the optimizer's step is `(e − first) × N + n` and the
run's `epochs × N`: YOLOv5 counts epochs from 0 (`0/299` of 300; its header has an objectness term, `obj`
or `obj_loss`), v8 and later from 1 (`1/100`). Its bar is tqdm's (`| 50/50 [01:05<00:00, 1.31s/it]`) or,
since 8.3, Ultralytics' own (`100% ━━━━━━━━━━━━ 2/2 1.5it/s 0.3s`). The validation that follows has a header
of its own (`Class Images Instances Box(P R mAP50 mAP50-95)`, v5: `Labels P R mAP@.5 mAP@.5:.95`), a bar that
is no training progress, and the `all` row: an EVAL record, `val_precision`, `val_recall`, `val_map50`,
`val_map50_95` (a segmentation model's mask columns after them as `val_mask_*`; a classification model's
`all 0.909 1` under `classes top1_acc top5_acc`: `val_top1_acc`, `val_top5_acc`). `N epochs completed in X
hours.` ends the run (also when early stopping ended it before the planned epochs). Where a console kept
each row only up to its bar (W&B's `output.log`: `  1/500  9.29G  2.415  3.94  1.845  802  640:`), the
steps are the epochs (`e − first + 1` of the run's), until a row with a bar says the log has them.

Names: `GPU_mem` (`4.89G`) → `memory_gib`, `box`/`obj`/`cls` (v5's first releases) → `box_loss`/`obj_loss`/
`cls_loss`, `total` or else the sum of the loss terms → `loss` (what the model trains on, YOLO's batch-size
factor aside: the rules that judge a loss need one), `Instances`/`labels` → `instances`, the size left out.
Kept as code of its own, like Composer's: a row means something only under the header before it.

Read without it, the generic bar format took each epoch's bar for the run (`213/213`: a run at epoch 0 of 300
shown finished, and hang detection off), the dataset scan bars for restarts, and no loss at all (a new user's
review).
"""

from __future__ import annotations

import math
import re

from runwatch import patterns
from runwatch.model import Event, Kind, Record
from runwatch.parsers.base import FormatParser
from runwatch.parsers.fields import LOGGED_PREFIX, logging_time
from runwatch.parsers.numbers import NUMBER_TEXT, log_seconds, parse_number
from runwatch.parsers.progress_bar import parse_frame, step_time_of

_HEADER = patterns.compile(r"\s{0,40}Epoch\s{1,20}(?:gpu_mem|GPU_mem)\s{1,20}(?P<names>[A-Za-z_][\w ]{0,300}?)\s*$")
_NUM = NUMBER_TEXT
_ROW = patterns.compile(
    rf"\s{{0,40}}(?P<epoch>\d{{1,9}})/(?P<epochs>\d{{1,9}})\s{{1,20}}(?P<mem>{_NUM})G?"
    rf"(?P<values>(?:\s{{1,20}}(?:{_NUM})){{1,16}})(?::\s{{0,4}}(?P<bar>.*))?$"
)
_OWN_BAR = patterns.compile(
    r"\d{1,3}%\s{1,4}[\u2500-\u257f]{1,200}\s{1,4}(?P<n>\d{1,12})/(?P<total>\d{1,12})"
    r"(?:\s{1,8}(?P<rate>\d{1,9}(?:\.\d{1,9})?)(?P<scale>[kMG]?)(?P<unit>it/s|s/it))?"
    r"(?:\s{1,8}(?P<elapsed>\d{1,9}(?:\.\d{1,9})?s|\d{1,6}(?::\d\d){1,2})(?:<(?P<remaining>\d{1,9}(?:\.\d{1,9})?s"
    r"|\d{1,6}(?::\d\d){1,2}))?)?"
)
"""Ultralytics' own bar (8.3 on): `100% ━━━━━━━━━━━━ 2/2 1.5it/s 0.3s`, its times in seconds below a minute
(`1.6s<2:26:31`), else `m:ss` or `h:mm:ss` (`3% ──────────── 201/6848 2.7it/s 1:13<41:32`: read as seconds alone,
an epoch's time was lost after its first minute, and with it `check`'s clock, a review)."""
_ALL = patterns.compile(rf"\s{{0,40}}all\s{{1,20}}\d{{1,12}}\s{{1,20}}\d{{1,12}}(?P<values>(?:\s{{1,20}}(?:{_NUM})){{4,8}})\s*$")
_ALL_CLASSIFIED = patterns.compile(rf"\s{{0,40}}all\s{{1,20}}(?P<top1>{_NUM})\s{{1,20}}(?P<top5>{_NUM})\s*$")
"""A classification model's validation (`classes top1_acc top5_acc`, then `all 0.909 1`): `val_top1_acc`,
`val_top5_acc`, fractions as printed."""
_CUT_BAR = patterns.compile(r"\s{0,4}\d{0,3}\s{0,4}")
"""What a row keeps of its bar where a console cut it (W&B's `output.log`: `… 802        640:`, `… 640: 1`)."""
_CUT_FRAME = patterns.compile(r"\s{0,4}\d{1,3}%\|[^|]{0,200}\|\s{1,4}(?P<n>\d{1,12})/(?P<total>\d{1,12})\s{0,4}")
"""tqdm's frame cut right after its count, as a terminal's copy of a wide row keeps it (`640: 100%|██████████| 22/22`):
the batch and the epoch's batches, no clock."""
_DONE = patterns.compile(r"^\s{0,8}(?P<epochs>\d{1,9}) epochs completed in (?P<hours>[\d.]{1,20}) hours\.")
_BATCH_HEADER = patterns.compile(r"\s{0,40}Epoch\s{1,20}Batch\s{1,20}(?P<names>[A-Za-z_][\w ]{0,300}?)\s*$")
_BATCH_ROW = patterns.compile(
    rf"\s{{0,40}}(?P<epoch>\d{{1,9}})/(?P<epochs>\d{{1,9}})\s{{1,20}}(?P<batch>\d{{1,12}})/(?P<batches>\d{{1,12}})"
    rf"(?P<values>(?:\s{{1,20}}(?:{_NUM})){{1,24}})\s*$"
)
"""The table of Ultralytics' first YOLOv3 (2018-19) and the trackers built on it (JDE): no bar, a row every few
batches, `Epoch Batch box conf id total nTargets time` over `0/29  40/165  0.172  1.99  18.7  149  81.4  7.12`, both
counts from 0 and printed to their last (`epochs - 1`, `len(loader) - 1`)."""
_PREFIX = patterns.compile(LOGGED_PREFIX)
"""A logger's time and level before a line (JDE's `2021-01-25 05:58:59 [INFO]: `): the row's time."""
_NAMES = {
    "gpu_mem": "memory_gib", "box": "box_loss", "giou": "box_loss", "obj": "obj_loss", "cls": "cls_loss", "total": "loss",
    "labels": "instances", "instances": "instances", "img_size": "", "size": "",
    "time": "step_time", "ntargets": "targets",
}
_EVAL_NAMES = ("val_precision", "val_recall", "val_map50", "val_map50_95")
_MASK_NAMES = ("val_mask_precision", "val_mask_recall", "val_mask_map50", "val_mask_map50_95")


class YoloParser(FormatParser):
    """Ultralytics YOLO's epoch rows → STEP records, its `all` rows → EVAL (see the module notes)."""

    name = "yolo"

    def __init__(self) -> None:
        self._names: tuple[str, ...] | None = None
        """The header's names after `Epoch` (canonical; `""`: a column left out); None before a header."""
        self._first = 1
        """The first epoch's number: 0 for YOLOv5 (its header has an objectness term), else 1."""
        self._step: int | None = None
        self._total: int | None = None
        self._barred = False
        """Whether a row's bar has been read: then a row with none is a redraw's remains, not an epoch."""
        self._batch_names: tuple[str, ...] | None = None
        """The names after `Epoch Batch` of the first YOLOv3's table (`_BATCH_HEADER`); None before its header."""

    def parse(self, line: str) -> Record | None:
        if "Batch" in line or self._batch_names is not None:
            return self._batch_table(line)
        header = _HEADER.match(line) if "Epoch" in line else None
        if header is not None:
            raw = header["names"].split()
            self._names = ("memory_gib", *(_NAMES.get(n.lower(), n.lower()) for n in raw))
            self._first = 0 if any(n.lower() in ("obj", "obj_loss") for n in raw) else 1
            return None
        if self._names is not None and "/" in line and (row := _ROW.match(line)) is not None:
            return self._row(row)
        if "all " in line and (top := _ALL_CLASSIFIED.match(line)) is not None:
            top1, top5 = parse_number(top["top1"]), parse_number(top["top5"])
            metrics = {k: v for k, v in (("val_top1_acc", top1), ("val_top5_acc", top5)) if v is not None}
            return Record(Kind.EVAL, self._step, self._total, metrics=metrics) if metrics else None
        if "all " in line and (done := _ALL.match(line)) is not None:
            values = [parse_number(v) for v in done["values"].split()]
            names = _EVAL_NAMES + (_MASK_NAMES if len(values) == 8 else ())
            metrics = {k: v for k, v in zip(names, values, strict=False) if v is not None}
            return Record(Kind.EVAL, self._step, self._total, metrics=metrics) if metrics else None
        if "epochs completed" in line and (end := _DONE.match(line)) is not None:
            return Record(Kind.EVENT, self._step, self._total, event=Event.FINISHED, message=line.strip()[:500],
                          metrics={"epochs": float(end["epochs"]), "elapsed": float(end["hours"]) * 3600.0})
        return None

    def _row(self, row: re.Match[str]) -> Record | None:
        names = self._names
        assert names is not None
        texts = [row["mem"], *row["values"].split()]
        if len(texts) != len(names):
            return None  # not a row of this header
        bar = row["bar"] or ""
        counted = _bar(bar)
        if counted is None:
            if self._barred or not _CUT_BAR.fullmatch(bar):
                return None  # a bar this reader cannot read, or what a redraw left of one in a log whose rows have bars
            counted = (0, 0, None, None, None)  # cut off at the row (a W&B console's `640:`): counted in epochs
        else:
            self._barred = True
        n, per_epoch, step_time, elapsed, eta = counted
        if per_epoch and not 0 < n <= per_epoch:
            return None  # the bar's first frame, no batch done yet (the step of the epoch before), or no count
        epoch, epochs = int(row["epoch"]), int(row["epochs"])
        metrics: dict[str, float] = {}
        losses = 0.0
        for name, text in zip(names, texts, strict=True):
            value = parse_number(text)
            if not name or value is None:
                continue
            metrics[name] = value
            if name.endswith("_loss"):
                losses += value
        if "loss" not in metrics and any(k.endswith("_loss") for k in metrics):
            metrics["loss"] = losses
        if n < per_epoch:
            _mid_epoch(metrics)
        metrics["epoch"] = float(epoch)
        for name, value in (("step_time", step_time), ("epoch_elapsed", elapsed), ("epoch_eta", eta)):
            if value is not None:
                metrics[name] = value
        if not per_epoch:  # the epoch under way is the step, of the run's epochs
            self._step, self._total = epoch + 1 - self._first, epochs + 1 - self._first
            return Record(Kind.STEP, self._step, self._total, metrics=metrics)
        self._step = (epoch - self._first) * per_epoch + n
        self._total = (epochs + 1 - self._first) * per_epoch
        return Record(Kind.STEP, self._step, self._total, metrics=metrics)

    def _batch_table(self, line: str) -> Record | None:
        """A line of the first YOLOv3's table (`_BATCH_HEADER`): its header, or a row, the step the batches done."""
        start = _prefixed(line)
        text = line[start:]
        header = _BATCH_HEADER.match(text) if "Batch" in text else None
        if header is not None:
            self._batch_names = tuple(_NAMES.get(n.lower(), n.lower()) for n in header["names"].split())
            return None
        row = _BATCH_ROW.match(text) if self._batch_names is not None and "/" in text else None
        if row is None or self._batch_names is None:
            return None
        texts = row["values"].split()
        if len(texts) != len(self._batch_names):
            return None
        metrics = {name: v for name, t in zip(self._batch_names, texts, strict=True) if name and (v := parse_number(t)) is not None}
        epoch, epochs, batch, batches = int(row["epoch"]), int(row["epochs"]), int(row["batch"]), int(row["batches"])
        if not metrics or epoch > epochs or batch > batches:
            return None
        metrics["epoch"] = float(epoch)
        self._step, self._total = epoch * (batches + 1) + batch + 1, (epochs + 1) * (batches + 1)
        return Record(Kind.STEP, self._step, self._total, metrics=metrics, t=logging_time(line) if start else 0.0)

    def score(self, line: str) -> int:
        """2 for the training table's header, which comes before any of its rows (and after the dataset
        scans' bars, which the generic bar format reads as its own)."""
        if "Batch" in line:
            return 2 if _BATCH_HEADER.match(line, _prefixed(line)) is not None else 0
        return 2 if "Epoch" in line and _HEADER.match(line) is not None else 0


def _prefixed(line: str) -> int:
    """Where the line goes on after a logger's time and level (`_PREFIX`), 0 without one."""
    m = _PREFIX.match(line)
    return m.end() if m is not None else 0


def _mid_epoch(metrics: dict[str, float]) -> None:
    """A row before its epoch's last batch: its loss terms left out, unless one is not finite.

    They are running means over the epoch so far: at the epoch's first batches the mean of a few, which swings
    with each (a lucky first batch held `1.56` at `0.85` for ten steps), later the mean of many, smooth. Judged as
    a per-step loss, a healthy YOLOv3 run of 33 batches an epoch read as diverging (critical) at its 283rd epoch
    and spiking eleven times (a review). At the epoch's last batch they are the epoch's mean loss, YOLO's own
    `results.csv` figure, and the series the loss rules judge; a NaN is news at once, and a running mean that
    turned NaN stays so."""
    means = [k for k in metrics if k == "loss" or k.endswith("_loss")]
    if all(math.isfinite(metrics[k]) for k in means):
        for k in means:
            del metrics[k]


def _bar(text: str) -> tuple[int, int, float | None, float | None, float | None] | None:
    """A row's bar: (batch, the epoch's batches, step time, elapsed, remaining). tqdm's frame is the generic
    bar format's own reading (`progress_bar.parse_frame`; also with its bar lost in a notebook's copy, `100%
    8/8 [00:03<00:00,  2.36it/s]`), or cut after its count (`_CUT_FRAME`); Ultralytics' own is `_OWN_BAR`."""
    frame = parse_frame(text) if "[" in text else None
    if frame is not None and frame.total is not None:
        return frame.n, frame.total, frame.step_time, frame.elapsed, frame.remaining
    m = _OWN_BAR.search(text)
    if m is None:
        cut = _CUT_FRAME.fullmatch(text) if "|" in text else None
        return None if cut is None else (int(cut["n"]), int(cut["total"]), None, None, None)
    rate = step_time_of(m["rate"], m["scale"], m["unit"]) if m["rate"] is not None else None
    return int(m["n"]), int(m["total"]), rate, log_seconds(m["elapsed"]), log_seconds(m["remaining"])
