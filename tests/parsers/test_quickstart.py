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
    code, [run], _ = check_json(RECORDED / "tutorial-quickstart-nan" / "run" / "train.log")
    assert code == 2 and [(a["rule"], a["first_step"]) for a in run["alerts"]] == [("nonfinite", 151)]


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
    assert (code, run["alerts"]) == (0, []), run["alerts"]  # no divergence, spike or stall across launches
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
