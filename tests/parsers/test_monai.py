"""The training loop of MONAI's tutorials (runwatch/parsers/monai.py): MONAI's own loop run (tests/fixtures/printed,
print_monai_loop.py), its tutorial's notebook output and a project's copy (tests/fixtures/found)."""

from __future__ import annotations

import math
import re

import pytest

from runwatch.model import Event, Kind, Record
from runwatch.parsers.monai import MonaiLoopParser
from runwatch.parsers.source import SourceParser
from tests.support.paths import FIXTURES
from tests.support.realruns import check_json

PRINTED = FIXTURES / "printed"
FOUND = FIXTURES / "found"


def _read(path_lines: list[str], batch: int = 100_000) -> tuple[str | None, list[Record]]:
    sp = SourceParser("log")
    recs = [r for i in range(0, len(path_lines), batch) for r in sp.feed(path_lines[i:i + batch], i + 1, 0.0)]
    return sp.format, recs + sp.flush()


def _iterations(lines: list[str]) -> list[tuple[int, int, str]]:
    """(epoch, count, loss text) of each iteration line, the epoch from the heading before it."""
    out, epoch = [], 0
    for x in lines:
        if m := re.match(r"epoch (\d+)/\d+$", x):
            epoch = int(m[1])
        elif m := re.match(r"(\d+)/\d+, [Tt]rain_loss: (\S+)$", x):
            out.append((epoch, int(m[1]), m[2]))
    return out


@pytest.mark.parametrize("name", ["monai_loop_healthy.log", "monai_loop_nan.log"])
def test_each_iteration_is_a_step_counted_across_the_epochs(name: str) -> None:
    """Six epochs of seven iterations each printed over `len(train_ds) // batch_size` = 6 (`7/6`): steps 1 to 42 of
    42 (36 until the first epoch passed its printed length), each with the loss it printed; the epoch's average at its
    last step, the dice every second epoch, the finish."""
    lines = (PRINTED / name).read_text().splitlines()
    fmt, recs = _read(lines)
    assert fmt == "monai"
    its = _iterations(lines)
    steps = [r for r in recs if r.kind is Kind.STEP and "loss" in r.metrics]
    assert [r.step for r in steps] == list(range(1, 43)) and len(its) == 42
    assert [r.total_steps for r in steps] == [36] * 6 + [42] * 36
    assert all(r.metrics["loss"] == float(v) or (math.isnan(r.metrics["loss"]) and v == "nan")
               for r, (_, _, v) in zip(steps, its, strict=True))
    averages = [(r.step, r.metrics["epoch_loss"]) for r in recs if "epoch_loss" in r.metrics]
    assert [s for s, _ in averages] == [7, 14, 21, 28, 35, 42]
    dice = [(r.kind, r.step) for r in recs if "val_mean_dice" in r.metrics]
    assert dice == [(Kind.EVAL, 14), (Kind.EVAL, 28), (Kind.EVAL, 42)]
    assert [r.step for r in recs if r.event is Event.FINISHED] == [42]


def test_a_nan_loss_is_critical_at_its_iteration_and_a_finished_run_is_finished() -> None:
    """The corrupt batch is epoch 3's fourth iteration, step 7 + 7 + 4. Read as `kv` before, the epochs' averages only:
    NaN at step 3 (an epoch), no total, `ended`."""
    lines = (PRINTED / "monai_loop_nan.log").read_text().splitlines()
    first = next((e - 1) * 7 + n for e, n, v in _iterations(lines) if v == "nan")
    rc, runs, _ = check_json(PRINTED / "monai_loop_nan.log")
    nonfinite = {a["labels"].get("metric"): a for a in runs[0]["alerts"] if a["rule"] == "nonfinite"}
    assert rc == 2 and nonfinite["loss"]["first_step"] == first == 18
    rc, runs, _ = check_json(PRINTED / "monai_loop_healthy.log")
    assert rc == 0 and runs[0]["state"] == "finished" and (runs[0]["step"], runs[0]["total_steps"]) == (42, 42)


def test_the_tutorials_notebook_output_is_read_with_its_accuracy() -> None:
    """MONAI's 3-D classification tutorial: five epochs of five, `Current epoch: 2 current accuracy: 0.4000 ` an
    evaluation, `Training completed, best_metric: …` the finish (read as `kv`: `ended`, five steps)."""
    lines = (FOUND / "monai_tutorial_densenet_classification.log").read_text().splitlines()
    fmt, recs = _read(lines)
    assert fmt == "monai"
    assert [r.step for r in recs if "loss" in r.metrics] == list(range(1, 26))
    assert [(r.step, r.metrics["val_accuracy"]) for r in recs if "val_accuracy" in r.metrics] == [(10, 0.4), (20, 0.7)]
    rc, runs, _ = check_json(FOUND / "monai_tutorial_densenet_classification.log")
    assert rc == 0 and runs[0]["state"] == "finished" and runs[0]["step"] == runs[0]["total_steps"] == 25


def test_a_projects_copy_with_lines_of_its_own_reads_them_at_their_step() -> None:
    """`1/10, Train_loss: 0.5823` then `Train_dice: 0.4177` each iteration, `val_loss_epoch` and `val_dice_epoch`
    each epoch: the dice at the iteration's step, the validation's as an evaluation (`val_loss`, `val_dice`)."""
    lines = (FOUND / "monai_hypodense_3dunet_notebook.log").read_text().splitlines()
    fmt, recs = _read(lines)
    assert fmt == "monai"
    steps = [r for r in recs if r.kind is Kind.STEP and "loss" in r.metrics]
    assert len(steps) == 300 and steps[-1].step == steps[-1].total_steps == 300
    dice = [r for r in recs if "train_dice" in r.metrics]
    assert [r.step for r in dice] == [r.step for r in steps]
    said = [float(m[1]) for x in lines if (m := re.match(r"val_loss_epoch: (\S+)$", x))]
    assert [r.metrics["val_loss"] for r in recs if r.kind is Kind.EVAL and "val_loss" in r.metrics] == said
    assert len(said) == 30


def test_a_resumed_loop_counts_the_epochs_before_it() -> None:
    """A log that starts at a later epoch (a resumed run's, or one cut from a longer log): its steps count the epochs
    before it by the printed length, not from 1."""
    lines = (PRINTED / "monai_loop_healthy.log").read_text().splitlines()
    third = lines.index("epoch 3/6")
    p = MonaiLoopParser()
    recs = [r for x in lines[third:] if (r := p.parse(x)) is not None and "loss" in r.metrics]
    assert (recs[0].step, recs[0].total_steps) == (2 * 6 + 1, 6 * 6)  # the printed length: all it can know yet
    assert recs[-1].total_steps == 6 * 7 and recs[-1].step == 2 * 6 + 4 * 7  # once an epoch counted 7


@pytest.mark.parametrize("batch", [1, 5])
def test_any_batching_gives_the_same_records(batch: int) -> None:
    lines = (PRINTED / "monai_loop_nan.log").read_text().splitlines()
    _, whole = _read(lines)
    _, batched = _read(lines, batch)
    assert [(r.kind, r.step, r.total_steps, r.line) for r in batched] == [
        (r.kind, r.step, r.total_steps, r.line) for r in whole]


def test_copies_counting_epochs_from_0_printing_some_iterations_with_their_time_are_read() -> None:
    """MONAI's loop as copies print it (tests/fixtures/printed: the same NaN fit): `epoch 0/6`, every second iteration
    with the BraTS tutorial's `, step time: 0.0096`, the evaluation on one line. Each epoch's steps start after the
    iterations of the epochs before it (a code review: counted from 0 they went negative, and an epoch of sparse prints
    squeezed the next), the step time read, the dice an evaluation at the epoch's end; NaN at its iteration."""
    lines = (PRINTED / "monai_loop_copy_variants.log").read_text().splitlines()
    fmt, recs = _read(lines)
    assert fmt == "monai"
    steps = [r for r in recs if "loss" in r.metrics]
    assert [r.step for r in steps[:8]] == [1, 3, 5, 7, 8, 10, 12, 14] and steps[-1].step == steps[-1].total_steps == 42
    times = [float(m[1]) for x in lines if (m := re.search(r"step time: (\S+)$", x))]
    assert [r.metrics["step_time"] for r in steps] == times
    assert [r.step for r in recs if "val_mean_dice" in r.metrics] == [14, 28, 42]
    rc, runs, _ = check_json(PRINTED / "monai_loop_copy_variants.log")
    nonfinite = {a["labels"].get("metric"): a for a in runs[0]["alerts"] if a["rule"] == "nonfinite"}
    first = next(r.step for r in steps if math.isnan(r.metrics["loss"]))
    assert rc == 2 and nonfinite["loss"]["first_step"] == first == 2 * 7 + 5 and runs[0]["state"] == "finished"


def test_no_line_of_another_formats_run_signs_monai_or_nnunet() -> None:
    """The run lab's recordings and the corpus's logs, every format's but these: no line is a MONAI iteration or an
    nnU-Net epoch line (a code review: an `epoch 1/4` heading over a loop's own lines scored for MONAI and took its
    log; a stamped `train_loss 0.5, val_loss 0.6` signed nnU-Net, its NaN then unread)."""
    from runwatch.parsers.nnunet import NnUNetParser
    from tests.support.corpus import CORPUS
    from tests.support.realruns import REALRUNS

    texts = [p.read_text(errors="replace") for p in sorted(REALRUNS.glob("*/run/train.log"))]
    texts += [p.read_text(errors="replace") for p in sorted((CORPUS / "raw").glob("*.log"))]
    lines = [x for t in texts for x in t.replace("\r", "\n").splitlines()]
    monai, nnunet = MonaiLoopParser(), NnUNetParser()
    assert len(lines) > 10_000
    assert [x for x in lines if monai.score(x) or nnunet.score(x) == 2] == []
    assert all(monai.score(x) == 0 for x in lines if re.match(r"[Ee]poch \d+/\d+\s*$", x))


def test_a_loop_printing_some_iterations_starts_each_epoch_after_the_printed_length() -> None:
    """The NaN fit's log with only iterations 1 and 5 of each epoch kept (a loop that prints every fourth): the next
    epoch starts after the printed length, 6, not after the last count printed, 5 (a code review: each epoch then
    squeezed into the one before, and a run that ended read `finished at step 30 of the 36 it planned`)."""
    lines = [x for x in (PRINTED / "monai_loop_nan.log").read_text().splitlines()
             if not re.match(r"[2-46-7]/6, ", x)]
    p = MonaiLoopParser()
    steps = [r.step for x in lines if (r := p.parse(x)) is not None and "loss" in r.metrics]
    assert steps == [e * 6 + n for e in range(6) for n in (1, 5)]
