"""Lines of labelled numbers a loop prints beside its progress bars.

A hand-written loop draws tqdm bars and prints its losses on lines of their own: an epoch's summary
(`[SeqAR-Diffusion] Epoch 1/400 Train Loss: 0.1628 | Val Loss: 0.0491`), every N iterations (CycleGAN's
`(epoch: 1, iters: 100, time: 1.294, data: 0.907) , D_A: 1.016, G_A: 1.631, …`). The bars decide the
format and the step; read by the bar format alone, such a run had progress and no loss at all, so a NaN
there was never seen (a review's two logs). Such a line is read as the generic `key: value` format reads
it (runwatch.parsers.keyvalue, which takes it as a record only when it measures training, never a
header's settings) and its measures go at the bar's step. What the bar states itself (the epoch, the
step time, its clock) is left to the bar: one series each, on one axis.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from runwatch import patterns
from runwatch.model import SPLIT_METRICS, Kind, Record, names_error_measure
from runwatch.parsers.keyvalue import KeyValueParser
from runwatch.parsers.numbers import NUMBER_TEXT

_KV = KeyValueParser()
"""One reads every bar format's lines, each as if alone (`KeyValueParser.forget`): it is shared by every source, and
what one source's lines left in it (a step seen, a heading's epoch) changed how another's read, by the order they came
in (a test passed alone and failed after others in CI). A heading's epoch is the bar's to say in any case, dropped with
the rest of what the bar states (`_BARS_OWN`)."""
_BARS_OWN = frozenset({"epoch", "epochs", "step_time", "elapsed", "eta"})
"""What a bar's frames give: the line's own count of these is another axis's (its `iters` within an epoch)."""


_LONE_LOSS = patterns.compile(rf"\s{{0,8}}(?:[Tt]rain(?:ing)? )?[Ll]oss\s{{0,4}}[:=]\s{{0,4}}({NUMBER_TEXT})\s{{0,8}}")
"""A loss alone on its line (`Loss:  76.54788208007812`, a loop's `print("Loss: ", loss.item())`): one pair, which
`kv` takes for no record on its own (any message may hold one), but under a training bar it is the loop's loss."""


def beside(line: str, step: int | None, epoch_end: Callable[[int], int | None] | None = None, *,
           stated: bool = False) -> Record | None:
    """The record at `step` of a line of labelled numbers with a loss among them (or a value named by its split
    alone: `Train: 0.0962 | Val: 0.0991`, `model.SPLIT_METRICS`), else None; a line that states which of the run's
    epochs it sums up (`Epoch [9/30]`, `Epoch 9/30`) at the step `epoch_end` gives that epoch's end, where the bars
    know it and it is not behind them (a loop whose bars were mostly erased put 22 epochs' summaries at the step
    of its last frame, a review). The record has no time of its
    own (see below). A loss, not any measure: Lightning's `Epoch 0, global step 1563: 'val_accuracy' reached 0.49430 (best 0.49430), saving
    model to …` names none (its `reached` and `best` are no metrics); an evaluation's measure of error is one (3D
    Gaussian Splatting's `[ITER 7000] Evaluating test: L1 0.0106 PSNR 31.36` under its bar, `test_l1`). `stated`: only a
    line that states a step of its own."""
    if (lone := _LONE_LOSS.fullmatch(line)) is not None:
        return Record(Kind.STEP, step=step, metrics={"loss": float(lone[1])})
    _KV.forget()
    rec = _KV.parse(line)
    if rec is None or rec.kind not in (Kind.STEP, Kind.EVAL) or not (
            names_loss(rec.metrics) or not SPLIT_METRICS.isdisjoint(rec.metrics)
            or (rec.kind is Kind.EVAL and any(names_error_measure(k) for k in rec.metrics))):
        return None
    if stated and rec.step is None:
        return None
    metrics = {k: v for k, v in rec.metrics.items() if k not in _BARS_OWN}
    if epoch_end is not None and "epochs" in rec.metrics and (epoch := rec.metrics.get("epoch", 0.5)).is_integer():
        end = epoch_end(int(epoch))  # an epoch's summary (`Epoch [9/30] Train: …`) at its epoch's end, not before
        step = end if end is not None and (step is None or end >= step) else step  # the bars' step
    return Record(rec.kind, step=step, metrics=metrics)  # untimed, as the bars' frames it sits among: a logger's stamp
    # on one line an epoch (`2025-04-28 21:42:35,745|    INFO| Train: …`) timed the epoch's first frame and none of
    # the 40 after it, so the next epoch's stamp read as 15 minutes without a step, a critical stall (a review's log)


def names_loss(names: Iterable[str]) -> bool:
    """Whether metric names name a loss in any spelling (`loss`, `val_loss`, `l_pix_loss`): what a line beside the
    bars must hold; a training bar's postfix that holds one is the loss's record, and lines beside it that repeat it
    (tqdm's Keras callback logs each epoch's `loss=4.8177, accuracy=0.0190` after its bar) are not read again; a
    logged dict without one signs no HF Trainer (runwatch.parsers.hf_trainer's `score`)."""
    return any("loss" in k for k in names)
