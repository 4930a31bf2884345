"""Hugging Face transformers Trainer console: `str(dict)` log lines and the tqdm training bar.

* `{'loss': 2.119, 'grad_norm': 37.6, 'learning_rate': 4.58e-05, 'epoch': 0.25}`
  → STEP; transformers 5 quotes every float (`'loss': '3.41'`), both read the
  same; `nan` stays NaN (`'loss': 0.0, 'grad_norm': nan` is kept as logged).
* `{'eval_loss': …, 'eval_runtime': …}` → EVAL (`eval_loss` → `val_loss`,
  other `eval_*` keep their names).
* The final summary `{'train_runtime': …, 'train_loss': …}` and the
  `TrainOutput(global_step=…, metrics={…})` repr → EVENT `finished` with the
  numbers under their own snake_case names. A notebook shows both, the repr
  after the dict: one end of training, so the repr right after a summary dict
  is read as nothing.
* The dict may sit after a pdsh host prefix (`192.168.50.170: `), a log
  collector's `[1757] `, or glued to a tqdm frame (`…1.72it/s]{'loss': …}`).

Step: the dict's own `'step'` when it has one, else one of two training-bar
frames: the one before the dict or the one right after it. On a pipe, the
Trainer's `tqdm.write` prints the dict and then redraws the bar at its true
position, while the frame before may be a throttled one several steps old (tqdm
redraws at most every 0.1 s): taking it gave transformers 5 loss records the
steps 4, 10, 13, 18 for a run that logged at 5, 10, 15, 20. Where the dict is
written by other means (a `logging` handler, a notebook), the frame after it is
the next logging step and the one before is right. The dict's `epoch` settles
it: the Trainer's epoch is global_step / steps-per-epoch, so the right frames
give one ratio step/epoch for every dict; after two dicts the reading whose
ratios agree is used. Before that, a transformers-5 dict (quoted numbers) reads
the frame after, an older one the frame before. A dict without a step waits
for the next line (the redraw comes in the same burst of output); `flush` gives
it the last frame's step at the end. Without a training bar the step is None.

Dicts of a block-buffered stdout: under `nohup python train.py > log 2>&1` stdout (the dicts) is written
in blocks and stderr (the bar) at once, so the dicts of many logging steps come together, with no frame
between them, after the frame of the step the block was written at. Such a clump is held until its end,
its last dict takes the frame's step and the others equal strides since the last dict placed (or the bar's
first frame); `parse` returns the first and hands the rest over in `more`.

Bar frames: a bar with no description and no postfix is the training bar, and each of its frames
returns a STEP record carrying progress only (step, total_steps, step_time,
elapsed, eta; no loss), so stalls and ETA are seen between logging steps. The
eval bar has the same look; it is told apart by its total: the first bar seen
sets the training total, frames of another total return None. A loss dict
that follows such a foreign frame re-elects it as the training bar (the first
bar was something else), and so does any bar after the elected one ended before
a loss dict came while it was drawn (a dataset's `map` bar), or a larger one.
Another bar while the training bar goes on is an evaluation: its first frame a
tenth of the way that states its remaining time gives an EVAL record at the
training step with `eval_expected` (its elapsed + remaining seconds), so that the
stall rule knows the run is evaluating and for how long (its dict comes only when
it ends).

Detection (score): a `str(dict)` line with single-quoted keys and the
`TrainOutput(` repr are signatures (2). A bare bar frame is only a maybe (1):
any loop may draw one (data loading before another stack's steps); ties with
the tqdm format go to this one by registry order. A JSON object line
(double-quoted keys) is a maybe too: `str(dict)` never prints one, JSON-lines
loggers do, and the jsonl format signs them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from runwatch import patterns
from runwatch.model import Event, Kind, Record
from runwatch.parsers.base import FormatParser, Row
from runwatch.parsers.beside import beside, names_loss
from runwatch.parsers.events import saved_step
from runwatch.parsers.fields import prefix_time
from runwatch.parsers.numbers import ascii_float, held_numbers, parse_number, spelled_seconds
from runwatch.parsers.progress_bar import Frame, lapped, parse_frame, plain_frame_of, starts_run
from runwatch.parsers.pydict import dict_pairs, metric_name, snake

MAX_LINE = 65_536
_DICT_START = patterns.compile(r"\{\s*['\"]")
_LETTER = patterns.compile(r"[^\W\d_]")
"""A letter of any script in a bar's description: the Trainer draws its bars with none, so a bar named `Map`, `Epoch 3`
or `处理样本` ("processing samples": two ranks' data preparation before a DeepSpeed fine-tune, elected as the training
bar, read as 59 restarts up to step 81,005 in a run of 573 steps, a review) is another loop's."""
_TRAIN_OUTPUT = patterns.compile(r"TrainOutput\(global_step=(?P<step>\d{1,15}), training_loss=(?P<loss>[^,)]{1,40})")
_STEP_KEYS = ("loss", "grad_norm", "learning_rate")
_COMPLETED = "Training completed. Do not forget to share your model"
"""What `Trainer.train` logs (INFO) when its loop ends: a finish line where the summary dict is not printed (a log
of the Trainer's `logging` lines: LLaMA-Factory's `running_log.txt`, an early-stopped run at 2,100 of 17,000)."""
_RUNNING = "***** Running "
_EVALUATING = ("***** Running Evaluation *****", "***** Running Prediction *****")
"""The Trainer's heading of an evaluation loop (`evaluation_loop`'s `logger.info`), before its bar: the bar after it
is the evaluation's, never the training bar. After training (LLaMA-Factory's `do_eval`, a script's
`trainer.evaluate()`) an evaluation's bar of 827 batches, larger than the finished training bar's 465, was taken
for the training bar: `check` said the run started again, `step 827/827` (a review)."""
_METRICS_BLOCK = "***** eval metrics *****"
_BLOCK_FIELD = patterns.compile(r"\s{1,8}(\w{1,80})\s{0,40}=\s{0,40}(\S{1,40})\s*")
"""A line of the block `Trainer.log_metrics("eval", …)` prints (`  eval_loss               =      0.706`): the final
evaluation of a script that evaluates after training, which logs no dict of it (its `eval_loss` was never read)."""
_HEADER = patterns.compile(r"(Num Epochs|Total optimization steps) = (\d{1,3}(?:,\d{3}){0,4})$")
_SUMMARY_KEYS = ("train_runtime", "train_loss")



def _timed_evaluation(metrics: Mapping[str, float]) -> bool:
    """Whether an evaluation dict has what every Trainer evaluation logs besides its metrics (`eval_runtime`,
    `eval_samples_per_second`, `eval_steps_per_second`)."""
    return any(name.endswith(("_runtime", "_per_second")) for name in metrics)


def _epoch_start(lo: int, hi: int, epochs: list[float | None]) -> int:
    """Where a clump's dicts began (the step before its first), by their epochs where those say it began well past `lo`:
    a run resumed from a checkpoint draws `0/3252` before its bar jumps to 1627, and its 33 dicts, flushed at the end,
    were spread from step 0 (`epoch 1.015` at step 99: the first half of the loss chart losses never logged, a review).
    Epochs grow with steps from 0, so the step one stride before the first dict is `hi` × its epoch ÷ the last's. Only
    where nothing was handed out before the clump (else its start is known), and only well past `lo`: an older
    Trainer rounds `epoch` to two decimals (a code review: clumps of a run not resumed moved so)."""
    if len(epochs) < 3 or None in epochs:
        return lo
    first, last = epochs[0], epochs[-1]
    assert first is not None and last is not None
    if not 0.0 < first < last:
        return lo
    start = round(hi * (first - (last - first) / (len(epochs) - 1)) / last)
    return start if lo + 2 * (hi - lo) / len(epochs) < start < hi else lo


class HFTrainerParser(FormatParser):
    """HF Trainer dict lines + its tqdm training bar (see the module notes)."""

    name = "hf-trainer"
    rows_in_bulk = True

    def __init__(self) -> None:
        self._bar_total: int | None = None
        self._bar_elected = False
        self._bar_done = False
        self._confirmed = False
        """A loss dict came while the elected bar was drawn: it is the training bar (`_replaced_by`)."""
        self._eval_total: int | None = None
        self._eval_n = 0
        self._eval_said = False
        """The evaluation bar's total and newest N, and whether its expected length was said (`_evaluating`)."""
        self._eval_at: int | None = None
        """The training step at which the last evaluation bar was drawn: the step of the evaluation dict that
        follows it. With stdout written in blocks (module notes) the dict of the evaluation at the end of epoch
        1 (step 559) came out with the bar 461 steps on; read there, `val_loss` went back and forth, and the
        dicts after it (`'epoch': 1.002`, at step 569) read as a step counter started again."""
        self._step: int | None = None
        self._total: int | None = None
        self._n = 0
        """The training bar's last frame's N (its step less `_lap`)."""
        self._lap = 0
        """The steps of the training bar's laps before this one (`_elect`)."""
        self._new_run = False
        """A new run's first line came (`progress_bar.NEW_RUN`): the next bar elected is no lap."""
        self._foreign: Frame | None = None
        self._waiting: tuple[Record, int | None, float | None, bool] | None = None
        """A dict without a step (record, the frame's N before it, its epoch, transformers-5 quoting)
        until the next line says whether the bar's redraw follows it."""
        self._summarised = False
        """The Trainer's summary dict was read since the last step dict: the `TrainOutput(…)` a notebook cell
        shows after it is the same end of training, not a second one."""
        self._clump: list[Record] = []
        """Loss dicts settled while another dict followed with no frame between (stdout written in blocks:
        module notes), their steps not yet placed."""
        self._evaluation_said = False
        """The Trainer's evaluation heading came (`_EVALUATING`) and no training-bar frame since: a new bar is the
        evaluation's (`_replaced_by`)."""
        self._in_metrics = False
        """Inside the `***** eval metrics *****` block (`_BLOCK_FIELD`)."""
        self._clump_lo: int | None = None
        """The step after which the clump's first dict was logged: the last loss dict's before it."""
        self._released: int | None = None
        """The step of the last loss dict that waited for the bar and was handed out."""
        self._epochs: int | None = None
        self._steps: int | None = None
        self._logged_epoch: float | None = None
        """The `epoch` of the last loss dict read with no bar (`_saved_at`)."""
        self._epoch_step: int | None = None
        """The step `_by_epoch` gave the last dict."""
        self._per_epoch: float | None = None
        """The epochs and steps the header plans, and steps an epoch by them (`_header`, `_by_epoch`)."""
        self._starts: dict[int | None, int] = {}
        """The first frame's N of each bar total seen: where a clump before any loss dict starts."""
        self.more: list[Record] = []
        self._shape: _Shape | None = None
        """The key list of the last line that was only a plain dict: its lines are read in one match."""
        self._ratios: dict[bool, _Range] = {False: _Range(), True: _Range()}
        """The range of step / epoch over every dict so far, read with the frame before (False) and after
        (True) it (a range, not the list: a long run's thousands of dicts made each one cost them all)."""

    def parse(self, line: str) -> Record | None:
        text = line[:MAX_LINE]
        if self._in_metrics:
            field = _BLOCK_FIELD.fullmatch(text)
            if field is not None:  # its `epoch` and `eval_runtime` (a clock) aside, each value an evaluation's
                value = parse_number(field[2]) if field[1].startswith(("eval_", "test_")) else None
                return None if value is None else Record(
                    Kind.EVAL, self._step, self._total, None, 0.0, {metric_name(field[1]): value})
            self._in_metrics = False
        if _RUNNING in text or _METRICS_BLOCK in text:
            self._evaluation_said = any(head in text for head in _EVALUATING)
            self._in_metrics = _METRICS_BLOCK in text
            if self._evaluation_said or self._in_metrics:
                return None
        shape = self._shape
        if shape is not None and self._waiting is None and (m := shape.line.fullmatch(text)) is not None:
            try:  # a line that is only a dict of the key list of the last one, its values plain numbers
                numbers = list(map(float, m.groups()))
            except ValueError:
                pass
            else:  # what the general way below gives it: no frame before it, no `TrainOutput(`, no `skipped=`
                return self._took(self._plain(shape, numbers), text, None)
        if "TrainOutput(" in text:
            return self._train_output(text)
        if " = " in text:
            self._header(text)
        elif "checkpoint-" in text and self._steps is None and not self._bar_elected:
            self._saved_at(text)
        elif text.startswith(_COMPLETED):  # the Trainer's own last word on a training that ended well
            return Record(Kind.EVENT, self._step, self._total, None, 0.0, {}, Event.FINISHED, text.strip()[:500])
        start = _DICT_START.search(text)
        progress = self._frame(text if start is None else text[:start.start()])
        if start is None and self._waiting is None and "skipped=" in text:
            skips = _deepspeed_skips(text, progress, self._step)
            if skips is not None:
                return skips
        waited: Record | None = None
        if self._waiting is not None:
            after = progress.step if progress is not None and start is None else None
            before = self._released
            settled = self._settle(after)
            if start is not None and progress is None and settled.kind is Kind.STEP:
                # another dict right after it, no frame between: the clump of a block-buffered stdout
                if not self._clump:
                    self._clump_lo = before
                self._clump.append(settled)
                rec = self._dict(text[start.start():], text)
                out = self._took(rec, text, None) if rec is not None else None
                return None if self._waiting is not None else self._spread(out)
            # the frame's own progress goes with the dict when they name one step; otherwise the dict
            # (what the log said at a logging step) is what this line returns
            frame = progress if start is None else None
            progress = settled if progress is None or progress.step != settled.step else _merged(settled, progress)
            waited = progress
            if self._clump:  # the clump ends with it
                self._clump.append(progress)
                progress = self._spread(None, frame)
                if start is not None and (rec := self._dict(text[start.start():], text)) is not None:
                    took = self._took(rec, text, progress)
                    if took is not progress and took is not None:
                        self.more.append(took)  # the line's own dict, after the clump
                return progress
            if start is None:
                return progress
        if start is not None:
            rec = self._dict(text[start.start():], text)
            if rec is not None and start.start() and not self._bar_elected and rec.kind is not Kind.EVENT:
                rec = _stamped(rec, prefix_time(text[:start.start()]))
            if rec is not None:
                took = self._took(rec, text, progress)
                if waited is not None and took is not waited and took is not None:
                    self.more.append(took)  # the line's own dict, after the one that waited for this line: the
                    return waited  # last evaluation's, then the summary's (lost, the final `val_loss` with it)
                return took
        if progress is None and self._bar_elected and not self._confirmed and self._waiting is None:
            if starts_run(text):
                self._new_run = True  # the next bar is a new run's, no lap of this one (`NEW_RUN`)
            return beside(text, self._step)  # a plain loop's loss line under its bare bar (`beside`)
        return progress

    def launched(self) -> None:
        """A new launch: its Trainer draws its own bar, which is elected anew (the launch before may have left
        its bar unfinished, interrupted: the new one read as that one's evaluation)."""
        self._bar_total, self._bar_elected, self._bar_done, self._confirmed = None, False, False, False
        self._n, self._lap, self._new_run, self._foreign = 0, 0, False, None
        self._eval_total, self._eval_n, self._eval_at, self._evaluation_said = None, 0, None, False
        self._starts.clear()

    def _spread(self, then: Record | None, frame: Record | None = None) -> Record | None:
        """The clump's dicts placed, the first returned and the rest (then `then`) handed over in `more`.

        Python writes stdout in blocks when it is a file (`nohup python train.py > log 2>&1`), and the
        Trainer's dicts go to stdout while tqdm draws its bar on stderr at once: the dicts of many logging
        steps come together, all after the frame of the step at which the block was written. Each read the
        same frame and took its step (20 loss dicts at step 200 in a real log, the loss chart one point).
        A block is written at a print, so its last dict is the frame's step, and the dicts before it were
        logged at equal strides since the last one handed out: they are placed so.

        `frame` is the bar frame that ended the clump. Where the clump holds more dicts than
        steps up to the frame it settled at, the block was written at this later frame instead (a trial run's
        9 dicts of steps 2-10 after the 2/10 frame, read all at step 2, a review): the last dict is its step."""
        clump, self._clump = self._clump, []
        last = clump[-1]
        lo = self._clump_lo if self._clump_lo is not None else self._starts.get(last.total_steps)
        if frame is not None and (at := frame.step) is not None and last.kind is Kind.STEP and last.step is not None \
                and (lo0 := self._clump_lo) is not None and last.step < at and last.step - lo0 <= len(clump) - 1 < at - lo0:
            last = clump[-1] = _merged(Record(last.kind, at, last.total_steps, None, 0.0, last.metrics), frame)
        hi = last.step
        if hi is not None and lo is not None and self._clump_lo is None:  # from the bar's first frame: a resume?
            lo = _epoch_start(lo, hi, [r.metrics.get("epoch") for r in clump])
        if hi is not None and lo is not None and hi - lo >= len(clump):
            stride = (hi - lo) / len(clump)
            clump = [Record(r.kind, lo + round(stride * (i + 1)), r.total_steps, None, 0.0, r.metrics)
                     for i, r in enumerate(clump[:-1])] + [last]
        if hi is not None and last.kind is Kind.STEP:
            self._released = hi
        self.more.extend(clump[1:])
        if then is not None:
            self.more.append(then)
        return clump[0]

    def _took(self, rec: Record | None, text: str, progress: Record | None) -> Record | None:
        """A dict's record: what the line returns, or it waits for the bar's redraw (module notes)."""
        if rec is not None and rec.kind is Kind.STEP:
            self._summarised = False  # training again (`trainer.train()` run twice in one notebook)
        if rec is not None and rec.step is None and rec.kind is not Kind.EVENT and self._bar_elected:
            epoch = rec.metrics.get("epoch")
            self._waiting = (rec, self._step, epoch, "': '" in text)
            return progress  # a frame glued before the dict is the older one
        return rec

    @property
    def holding(self) -> bool:
        """A dict waits for the bar's redraw: a log that ended on a dict (one printed after a
        KeyboardInterrupt's traceback) had `tail` two steps short of `check` for ever."""
        return self._waiting is not None

    def flush(self) -> Record | None:
        """A dict still waiting for the bar at the end of the input: the frame before it (a clump it ends
        placed, the rest in `more`)."""
        if self._waiting is None:
            return None
        settled = self._settle(None)
        if not self._clump:
            return settled
        self._clump.append(settled)
        return self._spread(None)

    def _settle(self, after: int | None) -> Record:
        """The waiting dict with its step: the frame before or after it (module notes)."""
        assert self._waiting is not None
        rec, before, epoch, quoted = self._waiting
        self._waiting = None
        step = before
        if after is not None and after != before:
            step = after if self._reads_after(before, after, epoch, quoted) else before
        if step == 0 and (rec.kind is Kind.STEP or (epoch or 0.0) > 0):
            step = None  # the bar at 0 has taken no step: the Trainer logs a loss from step 1, and an evaluation
            # after training began states an epoch past 0. A terminal that kept a bar's first frame only (a pasted
            # console) read every dict of a run at step 0, then as epochs counted at one step (a review: steps
            # 2260 × (epoch - 1), the run at 22600 of 2260)
        if rec.kind is Kind.STEP and step is not None and not self._clump:
            self._released = step
        elif rec.kind is Kind.EVAL and step is not None and self._eval_at is not None and self._eval_at < step:
            step = self._eval_at  # the evaluation ran there; its dict came out later (`_eval_at`)
        return Record(rec.kind, step, self._total, None, 0.0, rec.metrics)

    def _reads_after(self, before: int | None, after: int, epoch: float | None, quoted: bool) -> bool:
        """Whether the frame after the dict is its step: the reading whose step/epoch ratios agree."""
        if epoch is not None and epoch > 0 and before is not None:
            self._ratios[False].add(before / epoch)
            self._ratios[True].add(after / epoch)
        if self._ratios[True].count >= 2:
            return self._ratios[True].spread() <= self._ratios[False].spread()
        return quoted

    def score(self, line: str) -> int:
        """2 for what only the Trainer prints: a `str(dict)` log line (single-quoted keys) or `TrainOutput(…)`.

        A bare bar frame is 1: tqdm draws that bar for any loop (a data-loading bar before a nanoGPT
        run, failures.md F20), so on its own it tells nothing. A dict with double-quoted keys is
        strict JSON, which `str(dict)` never prints (it quotes str keys with `'`): a JSON-lines
        logger's line (`trainer_state.json` entries, runwatch's own `--output jsonl`), 1 at most.
        """
        text = line[:MAX_LINE]
        if text.startswith(_COMPLETED):
            return 2  # the Trainer's own finish line: a log of its `logging` lines only, no dict printed (LLaMA-Factory's
            # `running_log.txt` of a run whose loss went to its `trainer_log.jsonl` read `nothing understood`, a review)
        if "{" not in text and "[" not in text and "TrainOutput(" not in text:
            return 0  # neither a dict nor a bar frame (`N/M [`): most lines of a log
        probe = type(self)()
        if "TrainOutput(" in text:
            return 2 if probe._train_output(text) is not None else 0
        start = _DICT_START.search(text)
        if start is not None:
            rec = probe._dict(text[start.start():], text)
            if rec is not None:
                if not names_loss(rec.metrics) and (rec.kind is Kind.STEP or not _timed_evaluation(rec.metrics)):
                    return 0  # a dict of settings (`{'lstm_units': [64], …, 'learning_rate': 0.001, 'epochs': 100}`)
                    # signs no Trainer: it chose this format for a Keras run, whose 21 epochs of `loss: nan` were
                    # then never read (a review); nor one whose `eval_interval` made it an evaluation (ST-GCN's
                    # `Parameters:`: 62 launches of it read as evaluations, the `mean_loss: nan` of the first unread)
                if "'global_step'" in text:
                    return 0  # a dict of TensorFlow's Estimator (`eval metrics: {'loss': 0.0101, 'global_step': 1000}`,
                    # what `evaluate` returns, printed): the Trainer's dicts never hold it (two such lines after an
                    # Estimator's whole log chose this format for it, its finish unread, a new user's review)
                return 2 if text[start.end() - 1] == "'" else 1
            text = text[:start.start()]
        return 1 if probe._frame(text) is not None else 0

    def _frame(self, text: str) -> Record | None:
        if "[" not in text:  # every tqdm frame has its `[elapsed<eta, rate]`: parse_frame would say None
            return None
        frame = parse_frame(text)
        if frame is None or frame.has_postfix or _LETTER.search(frame.desc):
            return None
        if frame.total not in self._starts and len(self._starts) < 64:
            self._starts[frame.total] = frame.n
        if not self._bar_elected or self._replaced_by(frame):
            self._elect(frame)
        if frame.total != self._bar_total:
            self._foreign = frame
            return self._evaluating(frame)
        step, total, metrics = self._progress(frame)
        return Record(Kind.STEP, step, total, None, 0.0, metrics)

    def take_row(self, line: str) -> Row | None:
        """The row of a training-bar frame alone on its line (`PLAIN_FRAME`) while the bar is elected, with the
        loss dict that waited for it if one did (module notes), the state left as `parse` leaves it; None,
        with nothing changed, for any other line (and after an eval dict or one before any frame)."""
        waiting = self._waiting
        if ((waiting is not None and (waiting[0].kind is not Kind.STEP or waiting[1] is None or self._clump))
                or not self._bar_elected or "{" in line or "skipped=" in line):
            return None
        frame = plain_frame_of(line)
        if (frame is None or frame.has_postfix or frame.total != self._bar_total or _LETTER.search(frame.desc)
                or self._replaced_by(frame) or "TrainOutput(" in line):
            return None
        row = self._progress(frame)
        if waiting is None:
            return row
        settled = self._settle(row[0])  # as `parse` settles it: a step of the frame before or this one
        metrics = dict(settled.metrics) if settled.step != row[0] else {**row[2], **settled.metrics}
        return settled.step, settled.total_steps, metrics

    def _progress(self, frame: Frame) -> Row:
        """A training-bar frame's step, total and progress metrics; the bar's state follows it. In a bar's
        later laps (`_elect`) the step counts on from the laps before, the bar's total is one epoch's (the
        run's is not known), and its clock the epoch's (`epoch_elapsed`, `epoch_eta`) beside the `epoch`."""
        self._foreign, self._evaluation_said = None, False
        lap, self._n = self._lap, frame.n
        self._step, self._total = frame.n + lap, frame.total if not lap else None
        self._bar_done = frame.total is not None and frame.n >= frame.total
        metrics: dict[str, float] = {}
        elapsed, eta = ("epoch_elapsed", "epoch_eta") if lap else ("elapsed", "eta")
        for name, value in (("step_time", frame.step_time), (elapsed, frame.elapsed), (eta, frame.remaining)):
            if value is not None:
                metrics[name] = value
        if lap and frame.total:
            metrics["epoch"] = self._step / frame.total
        return self._step, self._total, metrics

    def _evaluating(self, frame: Frame) -> Record | None:
        """An evaluation's bar while the training bar goes on: at its first frame a tenth of the way that says
        how long it will take, an EVAL record with that (`eval_expected`, seconds: elapsed + remaining), once
        a bar. The Trainer's eval dict comes only when it ends, and an 11-minute first evaluation read as a
        critical stall (a new user's review); runwatch.alerts.rules.stall allows the run that long."""
        another = frame.total != self._eval_total or frame.n < self._eval_n  # another evaluation's bar
        if another:
            self._eval_at = self._step
        if not self._confirmed or self._bar_done or self._waiting is not None:
            return None
        if another:
            self._eval_said = False
        self._eval_total, self._eval_n = frame.total, frame.n
        if self._eval_said or frame.remaining is None or not frame.total or frame.n * 10 < frame.total:
            return None  # tqdm's estimate at its first frames is a guess (3m13s of an 11-minute evaluation)
        self._eval_said = True
        expected = frame.remaining + (frame.elapsed or 0.0)
        return Record(Kind.EVAL, self._step, self._total, None, 0.0, {"eval_expected": expected})

    def _elect(self, frame: Frame) -> None:
        """`frame`'s bar is the training bar from now on. The bar that ended drawn again from its start, while no
        loss dict came (a plain loop's bar over its loader, one each epoch; the Trainer's one bar never
        ends before its dicts), is its next lap: its steps count on (`lapped`, `_progress`)."""
        total, new_run, self._new_run = frame.total, self._new_run, False
        if not self._bar_elected or self._confirmed or new_run or total is None or total != self._bar_total:
            self._lap = 0
        elif self._bar_done and lapped(self._bar_total, self._n, total, frame.n):
            self._lap += total
        self._bar_elected, self._bar_total, self._bar_done, self._confirmed = True, frame.total, False, False

    def _replaced_by(self, frame: Frame) -> bool:
        """Whether a frame of another bar, the elected one ended, is the training bar now: any bar when no
        loss dict came while the ended one was elected (a dataset's `map` bar before training: the
        training bar's first 200 steps were no progress, a 34-minute "stall" in a real log), a larger one
        when one did (a smaller bar after training is an evaluation's); after the run's summary dict, which ends
        training, not a bar first seen at its end: a new training's bar starts from its beginning (a second
        `trainer.train()`), a whisper fine-tune's `Final evaluation:` bar, `1874/1874` in a log's tail that held no
        frame of its 5,000 steps' bar but the last, read as the run started again (a review)."""
        if self._summarised and frame.total is not None and frame.n >= frame.total:
            return False
        return self._bar_done and not self._evaluation_said and (
            not self._confirmed or (frame.total or 0) > (self._bar_total or 0))

    def _dict(self, text: str, line: str) -> Record | None:
        text = held_numbers(text)  # a loop's `{'epoch': 5, 'loss': tensor(nan, grad_fn=<…>)}`: the number the tensor holds
        plain = _plain_dict(text)
        if plain is not None and not plain[0].summary:
            if text is line:
                self._shape = plain[0]  # the next lines are likely dicts of the same keys (`parse`)
            return self._plain(*plain)
        keys: set[str] = set()
        values: dict[str, float] = {}
        planned: tuple[int, int] | None = None
        for key, raw, complete in dict_pairs(text):
            if not complete:
                continue
            keys.add(key)
            try:  # the common plain number, quoted or not (transformers 5 quotes every value); parse_number
                values[key] = ascii_float(raw.strip("'\""))  # reads the rest (`nan`, commas) the same
            except ValueError:
                if (v := parse_number(raw)) is not None:
                    values[key] = v
                elif key == _SWIFT_STEP:
                    planned = _swift_step(raw)
                elif key in _SWIFT_TIMES and (seconds := spelled_seconds(raw.strip("'\" "))) is not None:
                    values[_SWIFT_TIMES[key]] = seconds
        step = _as_step(values.pop("step", None))
        if step is None and "num_updates" in text and _is_json(text):
            return _fairseq(values)
        total = self._total
        if planned is not None and step is None:
            step, total = planned
        # _SUMMARY_KEYS and _STEP_KEYS spelled out, and a key can start with `eval_` only where the text
        # says so: this runs for every dict line
        if "loss" not in keys and ("train_runtime" in keys or ("train_loss" in keys and not _is_json(text))):
            # a JSON object is no `str(dict)`: fairseq's epoch summary (`[train][INFO] - {"epoch": 1, "train_loss":
            # …}`) read as the run's finish, once an epoch (a review); the Trainer's summary states its runtime
            self._summarised = True
            return self._finished(values, step, line)
        if ("eval_" in text or "test_" in text) and any(k.startswith(("eval_", "test_")) for k in keys):
            kind = Kind.EVAL
        elif "loss" in keys or "grad_norm" in keys or "learning_rate" in keys:
            kind = Kind.STEP
            if step is None and self._foreign is not None:
                self._elect(self._foreign)
                self._step, self._total, self._foreign = self._foreign.n, self._foreign.total, None
            self._confirmed = self._bar_elected
        else:
            return None
        metrics: dict[str, float] = {}
        for key, value in values.items():
            metrics.setdefault(metric_name(key), value)
        if step is None and self._bar_elected:
            return Record(kind, None, None, None, 0.0, metrics)  # waits for the bar's redraw (`parse`)
        if step is None:
            step = self._step if self._step is not None else self._by_epoch(metrics)
        return Record(kind, step, total, None, 0.0, metrics)  # positional: cheaper

    def _plain(self, shape: _Shape, numbers: list[float]) -> Record | None:
        """A dict of plain numbers (`_plain_dict`): what the general reading gives, decided once per key list."""
        if shape.kind is None:
            return None
        if shape.step >= 0:
            step = _as_step(numbers[shape.step])
        else:
            step = None
            if shape.kind is Kind.STEP and self._foreign is not None:
                self._elect(self._foreign)
                self._step, self._total, self._foreign = self._foreign.n, self._foreign.total, None
        if shape.kind is Kind.STEP:
            self._confirmed = self._bar_elected
        metrics = dict(zip(shape.names, numbers if shape.every else [numbers[i] for i in shape.taken], strict=True))
        if step is None and self._bar_elected:
            return Record(shape.kind, None, None, None, 0.0, metrics)  # waits for the bar's redraw (`parse`)
        if step is None:
            step = self._step if self._step is not None else self._by_epoch(metrics)
        return Record(shape.kind, step, self._total, None, 0.0, metrics)

    def _by_epoch(self, metrics: dict[str, float]) -> int | None:
        """The step of a dict read with no bar ever drawn, from its `epoch` and the steps of an epoch the
        Trainer's header states (`_header`) or its checkpoint saves imply (`_saved_at`); None without them. LLaMA-Factory's `running_log.txt` (the
        Trainer's log lines and dicts, no bar) read `no steps` and `ended` at 2,100 of 17,000 steps (a review).
        Close, not exact: the header's totals are whole epochs, the epoch a fraction of batches (step 2,100 at
        epoch 123.48 of 1,000 epochs of 17,000 steps reads 2,099)."""
        per = self._per_epoch
        epoch, last = metrics.get("epoch"), self._logged_epoch
        if epoch is not None:
            self._logged_epoch = epoch
        if per is None or epoch is None or not 0 <= epoch < 1e9:
            return None
        step = round(epoch * per)
        if last is not None and epoch >= last and self._epoch_step is not None:
            step = max(step, self._epoch_step)  # a later save's nearer estimate puts no dict behind the one before
        self._epoch_step = step
        return step

    def _saved_at(self, text: str) -> None:
        """The Trainer's save of `checkpoint-50` (its own `Saving model checkpoint to …/checkpoint-50`, DeepSpeed's
        `…/checkpoint-50/global_step50/…`) in a log with no bar and no header: it is saved at step 50, and the loss
        dicts logged so far reached the `epoch` of the last of them, so an epoch is about 50 / epoch steps
        (`_by_epoch`; the dicts before it keep no step), the nearer the later the save (the epoch is printed to two
        decimals: 238 at `checkpoint-50`, 0.21). A review's SFT run under the DeepSpeed launcher read every
        one of its 49 losses at no step, no progress and no ETA, though it saved a checkpoint every 50 steps."""
        step = saved_step(text)  # the crash detector's reading of a save, never a load's
        epoch = self._logged_epoch
        if step and epoch is not None and epoch > 0:
            self._per_epoch = step / epoch

    def _header(self, text: str) -> None:
        """The Trainer's `***** Running training *****` lines that say how many steps an epoch has: `Num Epochs =
        1,000` and `Total optimization steps = 17,000` (`_by_epoch`)."""
        m = _HEADER.search(text)
        if m is None:
            return
        value = int(m.group(2).replace(",", ""))
        if m.group(1) == "Num Epochs":
            self._epochs = value
        else:
            self._steps = value
        self._per_epoch = self._steps / self._epochs if self._epochs and self._steps else None

    def _finished(self, values: dict[str, float], step: int | None, line: str) -> Record:
        metrics = {snake(k): v for k, v in values.items()}
        return Record(
            Kind.EVENT, step=self._step if step is None else step, total_steps=self._total,
            metrics=metrics, event=Event.FINISHED, message=line.strip()[:500],
        )

    def _train_output(self, text: str) -> Record | None:
        m = _TRAIN_OUTPUT.search(text)
        if m is None:
            return None
        if self._summarised:  # the summary dict said it (module notes)
            self._summarised = False
            return None
        start = text.find("metrics={", m.end())
        pairs = dict_pairs(text[start + len("metrics="):]) if start >= 0 else []
        values = {k: v for k, raw, complete in pairs if complete and (v := parse_number(raw)) is not None}
        loss = parse_number(m.group("loss"))
        if loss is not None:
            values.setdefault("train_loss", loss)
        return self._finished(values, int(m.group("step")), text)


_PLAIN_KEY = r"'[A-Za-z_][A-Za-z0-9_./-]{0,100}': (?:'[-+.0-9eE]{1,40}'|[-+.0-9eE]{1,40})"
_PLAIN_DICT = patterns.compile(rf"\{{{_PLAIN_KEY}(?:, {_PLAIN_KEY}){{0,63}}\}}")
"""`str(dict)` of plain numbers as the Trainer logs every step (`{'loss': 2.1, 'epoch': '0.5'}`, transformers 5
quoting them), matched whole before `dict_pairs` reads its pairs one by one (`_plain_dict`)."""
_PLAIN_PAIR = patterns.compile(r"'([^']+)': ('?)([^',}]+)")
_PLAIN_NUMBER = "([-+.0-9eE]{1,40})"


@dataclass(frozen=True, slots=True)
class _Shape:
    """What a plain dict of these keys gives, as `HFTrainerParser._dict` decides it: the record's kind (None:
    none, or not a plain record: a summary), the position of `step`, and the metrics taken (positions, names;
    the first key of a metric name wins)."""

    kind: Kind | None
    summary: bool
    """The run's closing summary (`train_runtime`, `train_loss`): an event, read the general way."""
    step: int
    taken: tuple[int, ...]
    names: tuple[str, ...]
    line: re.Pattern[str]
    """A line that is only a dict of these keys quoted as this one, its values plain numbers (groups)."""
    every: bool = False
    """Every value is taken, in order (`taken` is 0, 1, …)."""


_SHAPES: dict[tuple[tuple[str, str], ...], _Shape] = {}
_MAX_SHAPES = 1024


def _plain_dict(text: str) -> tuple[_Shape, list[float]] | None:
    """The shape and numbers of a dict of plain numbers at the start of `text`, or None (then read pair by
    pair): a log repeats a few key lists, so what the keys make of a record is decided once for each."""
    m = _PLAIN_DICT.match(text)
    if m is None:
        return None
    pairs = _PLAIN_PAIR.findall(text, 0, m.end())
    keys = tuple((k, q) for k, q, _ in pairs)
    try:
        numbers = [float(v) for _, _, v in pairs]
    except ValueError:  # `1e`, `.`: the general reading says what it is
        return None
    shape = _SHAPES.get(keys)
    if shape is None:
        if len(_SHAPES) >= _MAX_SHAPES:
            _SHAPES.clear()
        shape = _SHAPES[keys] = _shape_of(keys)
    return shape, numbers


def _shape_of(quoted: tuple[tuple[str, str], ...]) -> _Shape:
    """`HFTrainerParser._dict`'s decisions for a dict of these keys (and quotes), every value a number."""
    keys = tuple(k for k, _ in quoted)
    line = patterns.compile("\\{" + ", ".join(f"{re.escape(repr(k))}: {q}{_PLAIN_NUMBER}{q}" for k, q in quoted) + "\\}")
    last = {k: i for i, k in enumerate(keys)}  # a repeated key: its last value, as a dict display keeps
    step = last.pop("step", -1)
    kind: Kind | None = None
    summary = "loss" not in last and ("train_runtime" in last or "train_loss" in last)
    if summary:
        pass
    elif any(k.startswith(("eval_", "test_")) for k in last):
        kind = Kind.EVAL
    elif "loss" in last or "grad_norm" in last or "learning_rate" in last:
        kind = Kind.STEP
    taken: dict[str, int] = {}
    for key, i in last.items():
        taken.setdefault(metric_name(key), i)
    positions = tuple(taken.values())
    return _Shape(kind, summary, step, positions, tuple(taken), line, positions == tuple(range(len(keys))))


_SWIFT_STEP = "global_step/max_steps"
"""ms-swift's key in the Trainer's dicts: `'global_step/max_steps': '1/294'`, the step and the run's total, where its
bar (`Train:   0%| | 1/294`) has a description and is no bare training bar: a run of 294 steps read `no steps` (a
review)."""


_SWIFT_TIMES = {"elapsed_time": "elapsed", "remaining_time": "eta"}
"""ms-swift's clock in the same dicts, `'elapsed_time': '6s', 'remaining_time': '3h 35m 58s'`: the run's `elapsed` and
`eta` in seconds. Unread (no number), a review's run of 2,353 steps read "no step line carries a time of day or a
step time": a hang could not show in `check`."""


def _swift_step(raw: str) -> tuple[int, int] | None:
    """(step, total) of ms-swift's `'1/294'`, None for anything else."""
    step, sep, total = raw.strip("'\" ").partition("/")
    if not sep or not step.isdecimal() or not total.isdecimal() or len(step) > 15 or len(total) > 15:
        return None
    return int(step), int(total)


def _fairseq(values: dict[str, float]) -> Record | None:
    """fairseq's dicts under `log_format: json`, each after its logger's name: `[train_inner][INFO] - {"epoch": 19,
    "update": 18.958, "loss": "88.526", …, "num_updates": "33200", "lr": "3e-05", "gnorm": "119.496", …}` a training
    step, the optimizer's update its step; `[dev-other][INFO] - {"epoch": 19, "dev-other_loss": "22.032", …,
    "dev-other_num_updates": "33274", …}` the evaluation of that subset (`val_loss`, `val_wer`; a `test…` subset's
    `test_`); the epoch's summary (`train_…`) none, its averages no step's. Read as the Trainer's dicts, the epoch was
    their step: a run at update 5,200 read step 3, and its 38-minute epochs a critical stall (a review)."""
    prefix = next((k[: -len("num_updates")] for k in values if k.endswith("num_updates")), None)
    if prefix is None or prefix.startswith("train"):
        return None
    step = _as_step(values.pop(prefix + "num_updates"))
    if step is None:
        return None
    if not prefix:
        values.pop("update", None)  # the epoch as a fraction: `epoch` says it
        metrics: dict[str, float] = {}
        for key, value in values.items():
            metrics.setdefault(metric_name(key), value)
        return Record(Kind.STEP, step, None, None, 0.0, metrics) if "loss" in metrics else None
    split = "test" if prefix.startswith("test") else "val"
    metrics = {f"{split}_{metric_name(k[len(prefix):])}": v for k, v in values.items() if k.startswith(prefix)}
    if "epoch" in values:
        metrics["epoch"] = values["epoch"]
    return Record(Kind.EVAL, step, None, None, 0.0, metrics)


def _is_json(text: str) -> bool:
    """Whether the dict at the start of `text` quotes its keys as JSON does (`{"epoch": 1`), which `str(dict)` never
    does (`{'loss': 2.1`)."""
    return text[1:].lstrip().startswith('"')


def _deepspeed_skips(text: str, frame: Record | None, bar_step: int | None) -> Record | None:
    """DeepSpeed's progress line in a Trainer's log (`[Rank 0] step=2000, skipped=1995, lr=[…]`, often glued
    to a bar frame): the Trainer under DeepSpeed. Only its running count of steps fp16 overflow skipped
    is taken, which no line of the Trainer's says (transformers#14531 skipped 1995 of 2000 unseen), with
    the frame's progress; its lr is the Trainer's too, and its clock and rank would be the only ones in a
    log that states neither. The step is the bar's where there is one: DeepSpeed's is one ahead of the
    frame it is glued to, and the Trainer's next dict, at the bar's step, read as a run started again."""
    from runwatch.parsers.deepspeed import DeepSpeedParser

    rec = DeepSpeedParser().parse(text)
    if rec is None or rec.step is None or "skipped_steps" not in rec.metrics:
        return None
    metrics = {**(frame.metrics if frame is not None else {}), "skipped_steps": rec.metrics["skipped_steps"]}
    step = frame.step if frame is not None else bar_step if bar_step is not None else rec.step
    return Record(Kind.STEP, step, frame.total_steps if frame is not None else None, None, 0.0, metrics)


def _stamped(rec: Record, t: float) -> Record:
    """A dict's record at the time its logger's prefix states (`fields.prefix_time`: LLaMA-Factory's `[INFO|2024-11-27
    10:21:35] logging.py:157 >> {'loss': …}`); as it was without one (0.0). Only where no bar is drawn: a bar's
    frames state no time, and one source's step records are stamped or not. Without it, `check` of such a log
    could see no hang or slowdown once written (a review)."""
    return rec if not t else Record(rec.kind, rec.step, rec.total_steps, rec.rank, t, rec.metrics)


def _merged(first: Record, frame: Record) -> Record:
    """A settled dict record with the progress of the frame that came with it."""
    return Record(first.kind, first.step, first.total_steps, None, 0.0, {**frame.metrics, **first.metrics})


@dataclass(slots=True)
class _Range:
    """The smallest and largest of the values added, and how many."""

    lo: float = math.inf
    hi: float = -math.inf
    count: int = 0

    def add(self, value: float) -> None:
        self.lo, self.hi, self.count = min(self.lo, value), max(self.hi, value), self.count + 1

    def spread(self) -> float:
        """Relative spread of the values (0 when they all agree)."""
        return (self.hi - self.lo) / self.hi if self.hi > 0 else 0.0


def _as_step(value: float | None) -> int | None:
    if value is None or not math.isfinite(value) or value < 0 or value >= 1e15:
        return None
    return int(value)
