"""PyTorch's quickstart loop (`Epoch 1`, a rule, `loss: 2.303494  [   64/60000]`, `Test Error:`, `Done!`)."""

from __future__ import annotations

import math

from runwatch.model import Event, Kind
from runwatch.parsers.detect import detect
from runwatch.parsers.quickstart import QuickstartParser
from tests.support.found import FOUND, found_lines
from tests.support.paths import FIXTURES
from tests.support.realruns import check_json

RECORDED = FIXTURES / "realruns"


def _lines(name: str) -> list[str]:
    return (RECORDED / name / "run" / "train.log").read_text().splitlines()


def test_each_count_line_is_the_step_its_samples_say() -> None:
    """The run lab's recording: 3 epochs of 120 batches of 100, a line every 10th batch (`[ 1100/12000]`: batch 10,
    step 11 of the epoch), the test set's accuracy and mean loss after each epoch, `Done!` at the end."""
    lines = _lines("tutorial-quickstart-healthy")
    parser = QuickstartParser()
    recs = [r for line in lines if (r := parser.parse(line)) is not None]
    steps = [r for r in recs if r.kind == Kind.STEP]
    assert [r.step for r in steps] == [e * 120 + i + 1 for e in range(3) for i in range(0, 120, 10)]
    first = next(ln for ln in lines if ln.startswith("loss:"))
    assert steps[0].metrics == {"loss": float(first.split()[1]), "epoch": 100 / 12000}
    evals = [r for r in recs if r.kind == Kind.EVAL]
    assert [r.step for r in evals] == [111, 231, 351]  # at the epoch's last count line
    accuracy = next(ln for ln in lines if "Accuracy:" in ln)
    assert evals[0].metrics["val_accuracy"] == float(accuracy.split()[1].rstrip("%,"))
    assert [r.event for r in recs if r.kind == Kind.EVENT] == [Event.FINISHED]
    assert detect(lines) == "quickstart"


def test_a_nan_loss_padded_to_its_width_is_read() -> None:
    parser = QuickstartParser()
    steps = [r for line in _lines("tutorial-quickstart-nan") if (r := parser.parse(line)) is not None
             and r.kind == Kind.STEP]
    assert [r.step for r in steps if math.isnan(r.metrics["loss"])][0] == 151  # `loss:     nan  [ 3100/12000]`
    parser = QuickstartParser()
    evals = [r for line in _lines("tutorial-quickstart-nan") if (r := parser.parse(line)) is not None and r.kind == Kind.EVAL]
    assert [math.isnan(r.metrics["val_loss"]) for r in evals] == [False, True, True]  # `Avg loss:      nan`
    code, [run], _ = check_json(RECORDED / "tutorial-quickstart-nan" / "run" / "train.log")
    assert code == 2 and sorted((a["rule"], a["labels"]["metric"], a["first_step"]) for a in run["alerts"]) == [
        ("nonfinite", "loss", 151), ("nonfinite", "val_loss", 231)]


def test_a_log_of_many_launches_judges_each_on_its_own() -> None:
    """A review's log of 30 launches over four days (`logging` with tabs, `====> Epoch: 1`, `loss: 0.711220  accuracy:
    46.000000 [   50/66045]`, `Val loss: … Val accuracy: …%`): read as `kv`, 3,000 records with no step, and the
    launches' losses one curve that "diverged" and "spiked" (critical). Each `Epoch: 1` now starts the steps again."""
    name = "asl_tab_stamped_launches.log.gz"
    lines = found_lines(name)
    assert detect(lines) == "quickstart"
    parser = QuickstartParser()
    recs = [r for line in lines if (r := parser.parse(line)) is not None]
    steps = [r for r in recs if r.kind == Kind.STEP]
    assert [r.step for r in steps[:8]] == [1, 201, 401, 601, 801, 1001, 1201, 1322]  # batch size 50, 1321 an epoch
    assert steps[0].metrics == {"loss": 0.71122, "accuracy": 46.0, "epoch": 50 / 66045}
    val = next(r for r in recs if r.kind == Kind.EVAL)
    assert val.step == 1201 and val.metrics == {"val_loss": 0.349689, "val_accuracy": 85.07772}
    code, [run], _ = check_json(FOUND / name)
    assert code == 0 and run["alerts"] == [], run["alerts"]  # no divergence, spike or stall across launches; nor
    # overfit: one launch's val_loss rose three evaluations in a row (0.1304 → 0.1476), under 3 times the noise of
    # its evaluations (0.12 to 0.17 from one to the next)
    assert any("started again 11 times" in n for n in run["notes"]), run["notes"]


def test_counts_padded_to_their_width_or_with_no_size() -> None:
    """The same log's later launches: a size padded to 5 places (`[   50/ 7855]`, unread, a launch's steps went on
    from the one before) and a script that prints no size (`[  100]`), each epoch's data drawn anew."""
    lines = [ln for ln in found_lines("asl_tab_stamped_launches.log.gz") if "/ 7855]" in ln or ln.endswith("[  100]")]
    assert len(lines) >= 2
    for line in lines:
        record = QuickstartParser().parse(line)
        assert record is not None and record.kind == Kind.STEP and record.step == 1, line


def test_headings_alone_and_other_loops_are_not_its() -> None:
    parser = QuickstartParser()
    assert parser.score("Epoch 1/5") == 0 and parser.score("====> Epoch: 1") == 0
    assert parser.score("Train Epoch: 1 [0/60000 (0%)]\tLoss: 2.300") == 0  # the MNIST example's: kv's
    assert parser.score("loss: 2.303494  [   64/60000]") == 2


def test_a_log_read_from_a_later_epochs_heading_counts_the_epochs_before_it() -> None:
    """A log's tail (a review's fragment from `Epoch 10` on read step 5,501 at epoch 0.99, not 55,712 at 9.99): the
    recording from its `Epoch 2` heading on gives the steps and epochs the whole log gives there."""
    lines = _lines("tutorial-quickstart-healthy")
    cut = lines.index("Epoch 2")
    whole, tail = QuickstartParser(), QuickstartParser()
    full = [(r.step, r.metrics["epoch"]) for line in lines if (r := whole.parse(line)) is not None and r.kind == Kind.STEP]
    part = [(r.step, r.metrics["epoch"]) for line in lines[cut:] if (r := tail.parse(line)) is not None
            and r.kind == Kind.STEP]
    assert part == full[-len(part):] and part[0] == (121, 1 + 100 / 12000)


def test_the_tutorials_earlier_count_from_zero() -> None:
    """The tutorial's earlier `current = batch * len(X)` (`[    0/12000]` first, a review's log dropped it): the
    counts say the batch size only as their common divisor, so a step is a printed line's interval, each epoch's
    count from 0 its first, and the epochs are right."""
    lines = _lines("tutorial-quickstart-old-healthy")
    parser = QuickstartParser()
    steps = [r for line in lines if (r := parser.parse(line)) is not None and r.kind == Kind.STEP]
    assert len(steps) == 36 and lines[2].endswith("[    0/12000]")
    assert [r.step for r in steps] == list(range(36))  # 12 lines an epoch, 12,000 / 1,000 samples apart
    assert [round(r.metrics["epoch"], 4) for r in steps[:2]] == [0.0, round(1000 / 12000, 4)]
    assert [r.metrics["epoch"] for r in steps[12::12]] == [1.0, 2.0]
    assert QuickstartParser().score("Epoch 19********************") == 0  # a heading of stars is a heading still
    parser = QuickstartParser()
    assert parser.parse("Epoch 19********************") is None
    record = parser.parse(lines[3])
    assert record is not None and record.metrics["epoch"] >= 18  # the 19th epoch, from its heading

