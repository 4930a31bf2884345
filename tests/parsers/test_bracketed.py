"""The bracketed tutorial-loop format, on lines the PyTorch tutorial loop printed (run lab recordings)."""

from __future__ import annotations

import math
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.model import Kind
from runwatch.parsers.bracketed import BracketedParser, ZeroBasedParser
from runwatch.parsers.detect import detect

REALRUNS = Path(__file__).parents[1] / "fixtures" / "realruns"
FOUND = Path(__file__).parents[1] / "fixtures" / "found"


def lines(name: str) -> list[str]:
    return (REALRUNS / name / "run" / "train.log").read_text().splitlines()


def test_the_step_counts_across_epochs_and_the_total_is_every_epochs_steps() -> None:
    """`Epoch [3/5], Step [90/120]` is the loop's global step (3 − 1)·120 + 90 = 330, of 600."""
    line = next(ln for ln in lines("tutorial-healthy") if ln.startswith("Epoch [3/5], Step [90/120]"))
    rec = BracketedParser().parse(line)
    assert rec is not None and rec.kind is Kind.STEP
    assert (rec.step, rec.total_steps, rec.metrics["epoch"]) == (330, 600, 3.0)
    assert 0 < rec.metrics["loss"] < 10


def test_a_nan_loss_is_a_nan_value_at_its_step() -> None:
    """Regression: the tutorial loop's `Loss: nan` was "nothing understood" and its NaN unreported."""
    recs = [r for ln in lines("tutorial-nan") if (r := BracketedParser().parse(ln)) is not None]
    first = next(r for r in recs if math.isnan(r.metrics["loss"]))
    assert first.step == 330
    assert all(r.step == 10 * (i + 1) for i, r in enumerate(recs))


def test_detected_at_its_first_line() -> None:
    assert detect(lines("tutorial-healthy")[:1]) == "bracketed"


def test_other_lines_are_not_its_own() -> None:
    tail = lines("tutorial-oom")[-6:]  # the traceback of the host OOM
    assert [BracketedParser().parse(ln) for ln in tail] == [None] * len(tail)


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet="Epoch [/],Step:0123456789 ", min_size=0, max_size=20_000))
def test_never_raises_on_long_bracket_soup(text: str) -> None:
    BracketedParser().parse(text)


def test_a_loop_that_logs_once_an_epoch_counts_its_epochs_as_steps() -> None:
    """A new user's review: a 650-epoch PaiNN run logging `Epoch [1/650], Train Loss: 0.1746, Train L1 Loss:
    1.9826` and `Epoch [1/650], Validation Loss: …, Smoothed Validation Loss: …` had no step and no progress
    (`check`: `no steps  ended`), and its `Train L1 Loss` and smoothed loss were dropped."""
    text = (Path(__file__).parents[1] / "fixtures" / "found" / "lsf_painn_650ep.log").read_text().splitlines()
    parser = BracketedParser()
    recs = [r for x in text if (r := parser.parse(x)) is not None]
    steps = [r for r in recs if r.kind is Kind.STEP]
    evals = [r for r in recs if r.kind is Kind.EVAL]
    assert [r.step for r in steps] == list(range(1, 651)) and {r.total_steps for r in steps} == {650}
    assert steps[0].metrics == {"loss": 0.1746, "train_l1_loss": 1.9826, "epoch": 1.0}
    assert len(evals) == 650 and evals[-1].step == 650
    assert evals[0].metrics == {"val_loss": 0.0714, "validation_l1": 1.7551, "smoothed_validation_loss": 0.0714,
                                "epoch": 1.0}
    assert detect(text) == "bracketed"


def test_an_epoch_line_after_a_logging_prefix_is_read_with_its_time() -> None:
    """A new user's review: cgcnn2's `2025-07-07 13:55:26.649 INFO: Epoch [001/300] - Train Loss: 145.13359,
    Valid Loss: 70.66399, LR: [0.001]` read with no step (the epoch bracket must start the line) and at the
    time it was read: 300 epochs, `no steps`."""
    from datetime import datetime

    from runwatch.parsers.source import SourceParser

    text = (Path(__file__).parents[1] / "fixtures" / "found" / "cgcnn2_regression_300ep.log").read_text().splitlines()
    sp = SourceParser("cgcnn2.log")
    recs = [r for i in range(0, len(text), 100) for r in sp.feed(text[i:i + 100], i + 1, 0.0)] + sp.flush()
    assert sp.format == "bracketed"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [(r.step, r.total_steps) for r in steps] == [(e, 300) for e in range(1, 301)]
    assert steps[0].metrics == {"loss": 145.13359, "val_loss": 70.66399, "lr": 0.001, "epoch": 1.0}
    assert {r.metrics["lr"] for r in steps} == {0.001}  # `LR: [0.001]`: the one param group's
    assert steps[0].t == datetime.strptime("2025-07-07 13:55:26.649", "%Y-%m-%d %H:%M:%S.%f").timestamp()


def test_a_loop_that_counts_from_0_has_its_first_epoch_and_its_total() -> None:
    """A review: HRNet's `Epoch: [0/520] Iter:[0/247]` lines (both counters from 0) had no step all through epoch 0
    (the 1-based form reads none of them; `kv` read them as step-less records), the first line of every epoch
    had none, and every step was one epoch short. The 0-based form: step e·S + s of E·S."""
    text = (FOUND / "hrnet_zero_based_epochs_head.log").read_text().splitlines()
    parser = ZeroBasedParser()
    recs = [r for x in text if (r := parser.parse(x)) is not None]
    assert [r.step for r in recs[:3]] == [0, 10, 20] and recs[0].metrics["loss"] == 11.642117
    first_of_1 = next(r for r in recs if r.metrics["epoch"] == 1)
    assert (first_of_1.step, first_of_1.total_steps) == (247, 520 * 247)
    assert all(b.step > a.step for a, b in zip(recs, recs[1:], strict=False)) and {r.kind for r in recs} == {Kind.STEP}
    assert all(BracketedParser().parse(x) is None for x in text if x.startswith("Epoch: [0/520]"))


def test_the_0_based_form_signs_only_lines_of_epoch_0() -> None:
    """The 1-based form keeps every line it reads (a tie goes to it): only an epoch 0 tells the loops apart."""
    text = (FOUND / "hrnet_zero_based_epochs_head.log").read_text().splitlines()
    zero = next(x for x in text if x.startswith("Epoch: [0/520] Iter:[10/247]"))
    one = next(x for x in text if x.startswith("Epoch: [1/520] Iter:[10/247]"))
    assert (ZeroBasedParser().score(zero), BracketedParser().score(zero)) == (2, 0)
    assert (ZeroBasedParser().score(one), BracketedParser().score(one)) == (1, 2)
    tutorial = next(x for x in lines("tutorial-healthy") if x.startswith("Epoch [5/5], Step [120/120]"))
    assert ZeroBasedParser().parse(tutorial) is None  # epoch E is no epoch of a loop counting from 0


def test_a_running_mean_beside_the_loss_keeps_its_own_name() -> None:
    """A review's YOLOv1 loop prints `Loss: 16.1277, average_loss: 27.6802`: both named `loss`, the running mean
    (the later) was read as the loss, and every spike the rules could see smoothed away. The first is the loss."""
    from tests.support.found import source_records

    fmt, recs = source_records("yolov1_resnet_epochiter_earlystop.log.gz")
    assert fmt == "bracketed"
    first = recs[0]
    assert (first.step, first.total_steps) == (20, 107000)
    assert first.metrics == {"loss": 16.1277, "average_loss": 27.6802, "epoch": 1.0}
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert steps[-1].metrics["loss"] == 0.9867 and steps[-1].metrics["average_loss"] == 1.142


def test_a_field_after_a_value_and_blanks_is_a_field_of_its_own() -> None:
    """A GAN loop's `Epoch [0/50] Batch [0/199] D_loss: -5.6973 G_loss: 5.6968`, its fields apart by a blank: the
    generator's loss was read as no field on any line (a review: the status line showed the critic's alone)."""
    from tests.support.found import source_records

    fmt, recs = source_records("gan_avatars_bracketed_two_losses.log")
    steps = [r for r in recs if r.kind == Kind.STEP]
    assert fmt == "bracketed0" and len(steps) == 44
    assert steps[0].metrics == {"d_loss": -5.6973, "g_loss": 5.6968, "epoch": 0.0}, steps[0].metrics
    assert all("g_loss" in r.metrics for r in steps)


def test_minimind_s_step_in_parentheses_is_the_step_of_its_epoch() -> None:
    """A review: MiniMind's `Epoch:[1/1](10/39695), loss: 8.5371, …` was read as step 1 of 1 on every line (its
    step in parentheses, with no word, left for the fields), so a pre-training stopped half-way read `finished`."""
    import gzip

    text = gzip.decompress((FOUND / "minimind_pretrain.log.gz").read_bytes()).decode().splitlines()
    assert detect(text[:200]) == "bracketed"
    parser = BracketedParser()
    recs = [r for ln in text if (r := parser.parse(ln)) is not None and r.kind is Kind.STEP]
    assert (recs[0].step, recs[0].total_steps, recs[0].metrics["loss"]) == (10, 39695, 8.5371)
    assert (recs[-1].step, recs[-1].total_steps, recs[-1].metrics["loss"]) == (39695, 39695, 2.1559)
    assert [r.step for r in recs[:-1]] == list(range(10, 39691, 10))  # every 10th, and the last
    dpo = [r for ln in (FOUND / "minimind_dpo.log").read_text().splitlines()
           if (r := BracketedParser().parse(ln)) is not None and r.kind is Kind.STEP]
    assert (dpo[0].step, dpo[0].total_steps) == (20, 4292) and dpo[0].metrics["dpo_loss"] == 0.6605


def test_minimind_behind_a_loggers_name_and_from_step_0() -> None:
    """A review: MiniMind's lines through `logging` (`2025-01-28 16:24:35,590 __main__ INFO Epoch:[1/20](39400/41914)
    loss:2.555 …`, a logger's name before the level) read as epoch 1 of 20 on every line; and an epoch's first line,
    `Epoch:[2/20](0/41914)` (the step of its count from 0), read as no step, so `tail` of a run that starts so said
    `finished 1/1` under `kv` until its third line."""
    from datetime import datetime

    text = (FOUND / "minimind_logger_prefix_sigterm_tail.log").read_text().split("\n")
    parser = BracketedParser()
    stamped = [r for ln in text if ln.startswith("2025-") and (r := parser.parse(ln)) is not None]
    assert (stamped[0].step, stamped[0].total_steps, stamped[0].metrics["loss"]) == (39400, 41914 * 20, 2.555)
    assert stamped[0].t == datetime(2025, 1, 28, 16, 24, 35, 590000).timestamp()
    start = next(ln for ln in text if ln.startswith("Epoch:[2/20](0/41914)"))
    rec = BracketedParser().parse(start)
    assert rec is not None and (rec.step, rec.metrics["loss"]) == (41914, 2.45)
    assert detect([start]) == "bracketed"


def test_an_epoch_bracket_without_the_runs_epochs_is_still_a_step_line() -> None:
    """A review's person re-ID run on reid-strong-baseline's trainer (tests/fixtures/found/README.md): `Epoch[1]
    Iteration[50/436] Loss: 148.527, Acc: 0.012, Base Lr: 3.82e-05` states no count of epochs. Read by `kv` as lines
    with no step, a run that died at its 100th iteration read `no steps`; both readers place them alike."""
    from tests.support.found import source_records

    name = "reid_baseline_uncounted_epoch_stopped_early.log"
    for batch in (500, 1):
        fmt, recs = source_records(name, batch=batch)
        assert fmt == "bracketed"
        assert [(r.step, r.total_steps, r.metrics) for r in recs] == [
            (50, None, {"loss": 148.527, "acc": 0.012, "base_lr": 3.82e-05, "epoch": 1.0}),
            (100, None, {"loss": 146.898, "acc": 0.034, "base_lr": 3.82e-05, "epoch": 1.0})]


def test_mindocrs_epoch_and_step_brackets_behind_its_loggers_prefix() -> None:
    """MindOCR's callback (a GitHub issue's console): `[2024-03-04 11:50:22] mindocr.utils.callbacks INFO - epoch:
    [11/20] step: [2000/4468], loss: 46.271423, lr: 0.000825, per step time: 227.095 ms, fps per card: 4.40 img/s`.
    Its prefix, the time in brackets before the logger's name and level, was no logging prefix: `kv` read step 2,000
    of 4,468, the run `incomplete` at 58% in its 11th epoch of 20 (a review). The step counts within the epoch:
    (11 - 1) × 4,468 + 2,000 of 20 × 4,468; the step time is in seconds."""
    from tests.support.found import source_records
    from tests.support.realruns import check_json

    fmt, recs = source_records("mindocr_svtr_issue670.log")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "bracketed" and (steps[0].step, steps[0].total_steps) == (46680, 89360)
    assert steps[0].metrics["step_time"] == 0.227095 and steps[0].metrics["loss"] == 46.271423 and steps[0].t > 0
    _, [run], _ = check_json(Path(__file__).parents[1] / "fixtures" / "found" / "mindocr_svtr_issue670.log")
    assert (run["step"], run["total_steps"]) == (47280, 89360)
    summary = "[2024-03-04 12:00:00] mindocr.utils.callbacks INFO - epoch: [11/20], loss: 0.49, epoch time: 1020.5 s, "
    assert BracketedParser().parse(summary + "per step time: 228.0 ms") is None  # its epoch's summary: no step 11
    assert BracketedParser().parse(summary.replace("11/20", "3/20") + "acc: 0.5") is not None  # an epoch's own line


def test_an_epoch_line_with_a_step_counter_of_its_own_is_not_an_epochs_step() -> None:
    """PaddleOCR's `[2023/10/06 13:31:29] ppocr INFO: epoch: [2/500], global_step: 920, …` steps by its global step:
    not step 2 of 500 (the epoch) here; `kv` reads it."""
    from tests.support.found import found_lines, source_records

    line = found_lines("ppocr_nanxxx_issue11054.log")[0]
    assert BracketedParser().parse(line) is None and BracketedParser().parse(line.replace("global_step", "gs")) is not None
    fmt, recs = source_records("ppocr_nanxxx_issue11054.log")
    assert fmt == "kv" and [r.step for r in recs if r.kind is Kind.STEP] == [920, 930, 940, 950]
