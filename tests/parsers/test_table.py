"""The tab-separated table a loop writes into its log, on FADNet's real log (tests/fixtures/found)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.cli import main
from runwatch.model import Kind, Record
from runwatch.parsers.detect import detect
from runwatch.parsers.fields import local_time
from runwatch.parsers.source import SourceParser
from runwatch.parsers.table import TableParser
from runwatch.watcher.lines import LineSplitter
from tests.support.found import found_lines, source_records
from tests.support.paths import FIXTURES
from tests.support.realruns import REALRUNS, check_json

NAME = "fadnet_epoch_table_nan_last_launch.log"


def rows() -> list[list[str]]:
    return [x.split("\t") for x in found_lines(NAME) if x[:1].isdigit() and "\t" in x]


def test_each_row_is_a_step_under_its_headers_names() -> None:
    """`epoch  time_stamp  train_loss  train_EPE  EPE  lr`: the epoch is the step, the stamp its time, the rest by name."""
    fmt, recs = source_records(NAME)
    assert fmt == "table"
    want = rows()
    assert [r.step for r in recs] == [int(x[0]) for x in want] and len(want) == 21
    first = recs[0]
    assert first.kind is Kind.STEP and first.t == local_time(want[0][1])
    assert first.metrics == {"epoch": 0.0, "loss": float(want[0][2]), "train_epe": float(want[0][3]),
                             "epe": float(want[0][4]), "lr": 0.01}


def test_a_nan_loss_in_the_table_is_a_critical_alert(capsys: pytest.CaptureFixture[str]) -> None:
    """A review: the run's `train_loss` was `nan` from epoch 7 to its end, and `check` said `UNREAD … nothing
    understood` (exit 3)."""
    nan_at = next(int(x[0]) for x in rows() if math.isnan(float(x[2])))
    assert nan_at == 7
    assert main(["check", "--json", str(FIXTURES / "found" / NAME)]) == 2
    out = json.loads(capsys.readouterr().out)
    found = {a["rule"]: a for a in out["alerts"]}
    assert found["nonfinite"]["labels"]["metric"] == "loss" and found["nonfinite"]["first_step"] == nan_at


def test_it_is_detected_at_its_header() -> None:
    lines = found_lines(NAME)
    header = next(i for i, x in enumerate(lines) if x.startswith("epoch\t"))
    assert detect(lines[: header + 1]) == "table"
    assert detect(lines[:header]) != "table"


def test_a_row_needs_its_header_and_its_width() -> None:
    parser = TableParser()
    row = "\t".join(rows()[0])
    assert parser.parse(row) is None  # no header yet
    header = next(x for x in found_lines(NAME) if x.startswith("epoch\t"))
    assert parser.parse(header) is None
    assert parser.parse(row) is not None
    assert parser.parse("\t".join(rows()[0][:-1])) is None  # one field short: another table's line


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="epoch\tloss0123456789.nan \n-", max_size=80), max_size=20))
def test_never_raises(lines: list[str]) -> None:
    parser = TableParser()
    for line in lines:
        parser.parse(line)
        parser.score(line)


def test_a_table_of_losses_with_no_step_column_is_records_told_as_they_come() -> None:
    """A review: pgnet's `train_log.txt`, a header `total loss\\tscore loss\\tborder loss\\tdirec loss\\tctc loss\\t` over
    600 rows of those numbers, read `UNREAD`. Its columns (names of words) are the rows' metrics; no column counts,
    so no row states a step (the rules tell such records as they came)."""
    name = "pgnet_loss_table_no_step.log"
    rows = [x.strip().split("\t") for x in found_lines(name)[1:] if x.strip()]
    fmt, recs = source_records(name)
    assert fmt == "table" and len(rows) == 600
    assert [r.kind for r in recs] == [Kind.STEP] * 600 and all(r.step is None for r in recs)
    assert [r.metrics["total_loss"] for r in recs] == [float(row[0]) for row in rows]
    assert recs[0].metrics == {"total_loss": 46.604204, "score_loss": 0.246368, "border_loss": 0.176002,
                               "direc_loss": 0.077165, "ctc_loss": 9.220934}


def test_a_header_of_words_with_no_loss_and_no_step_is_no_table() -> None:
    assert TableParser().score("name\tvalue\tunit") == 0 and TableParser().score("total loss\tscore loss\tctc loss") == 2


def test_a_header_names_words_not_numbers() -> None:
    """A column name of several words is words (`total loss`): a line of `name value` pairs separated by tabs, a
    `key value` log's, is no header (`loss 0.5123` would have made every such line one, and none a row)."""
    from runwatch.parsers.table import _header

    header = found_lines("pgnet_loss_table_no_step.log")[0].strip().split("\t")
    assert _header(header) == -1
    row = found_lines("pgnet_loss_table_no_step.log")[1].strip().split("\t")
    assert _header([f"{name} {value}" for name, value in zip(header, row, strict=True)]) is None


# ── fastai's epoch table: columns aligned by blanks under a header of its recorder's names ──────────────────────────

FASTAI = REALRUNS / "fastai-healthy"


def source_records_of(log: Path) -> tuple[str | None, list[Record]]:
    """The format a source detecting it itself finds in a log, and the step records it reads, the bar frames split
    at `\r` as a followed file's are."""
    splitter = LineSplitter()
    text = splitter.feed(log.read_bytes()) + splitter.feed(b"\n")
    sp = SourceParser(log.name)
    records = [r for r in sp.feed(text, 1, 0.0) + sp.flush() if r.kind is Kind.STEP]
    return sp.format, records


def _fastai_rows(log: Path) -> list[list[str]]:
    """The table's rows as the log holds them: the text after a line's last `\\r` (fastprogress draws its bar frames
    before each), split on blanks, an epoch first."""
    rows = [line.rsplit("\r", 1)[-1].split() for line in log.read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if r and r[0].isdigit()]


def _eight_epochs(log: Path, want: list[list[str]]) -> list[Record]:
    """The step records of a run lab fastai fit of 8 epochs, found as a table, a row an epoch from 0."""
    assert len(want) == 8
    fmt, records = source_records_of(log)
    assert fmt == "table"
    assert [r.step for r in records] == list(range(8))
    return records


def test_a_real_fastai_fit_is_read_a_step_an_epoch() -> None:
    """The run lab's fastai fit (8 epochs): each row an epoch (from 0), `train_loss` the loss, `valid_loss` the
    val loss, `accuracy` by its name and the epoch's `mm:ss` its step time; a real run read `UNREAD` before."""
    log = FASTAI / "run" / "train.log"
    want = _fastai_rows(log)
    records = _eight_epochs(log, want)
    for rec, row in zip(records, want, strict=True):
        minutes, seconds = row[4].split(":")
        took = {"step_time": int(minutes) * 60.0 + int(seconds)} if row[4] != "00:00" else {}  # under a second: none
        assert rec.metrics == {"epoch": float(row[0]), "loss": float(row[1]), "val_loss": float(row[2]),
                               "accuracy": float(row[3]), **took}
    assert any("step_time" in r.metrics for r in records)


@pytest.mark.parametrize("name", ["fastai-nan", "fastai-nobar-nan"])
def test_a_fastai_loss_gone_nan_is_critical_at_its_epoch(name: str) -> None:
    """NaN planted at step 500 (epoch 2's 100th batch); fastai's smoothed loss is NaN from there, so the row of epoch 2
    prints `nan`: the alert names that epoch. In the table (`fastai-nan`), and in `learn.no_bar()` (`fastai-nobar-nan`),
    whose row, `[2, nan, nan, 0.103…, '00:00']`, read `UNREAD`, exit 3, the NaN missed."""
    rec = REALRUNS / name
    truth = [json.loads(x) for x in (rec / "truth" / "rank0.jsonl").read_text().splitlines()]
    nan_epoch = next(int(t["epoch"]) for t in truth if "shown_loss" in t and math.isnan(float(t["shown_loss"])))
    assert nan_epoch == 2
    rc, runs, _ = check_json(rec / "run")
    found = {a["labels"].get("metric"): a for a in runs[0]["alerts"] if a["rule"] == "nonfinite"}
    assert rc == 2 and set(found) == {"loss", "val_loss"}  # the weights NaN too: the evaluation after it is
    assert found["loss"]["first_step"] == found["val_loss"]["first_step"] == nan_epoch


def test_a_fit_with_no_validation_set_reads_its_none_as_no_value() -> None:
    """fastai 2.8 prints `None` for what it has no value of (an empty validation set): the row keeps its loss, and
    has no val_loss or accuracy (tests/fixtures/printed); its epochs took under a second (`00:00`): no step time."""
    _, records = source_records_of(FIXTURES / "printed" / "fastai_no_valid_table.log")
    assert [r.step for r in records] == [0, 1, 2]
    assert all(set(r.metrics) == {"epoch", "loss"} for r in records)
    assert records[0].metrics["loss"] == 0.670004


def test_a_right_aligned_table_of_a_learner_built_on_fastais_is_read() -> None:
    """PatchTST's pretraining (its own learner, columns right-aligned to 15) with `Better model found at epoch …`
    lines between the rows: 10 epochs, read `UNREAD` by a new user's review."""
    fmt, recs = source_records("patchtst_pretrain_epoch_table.log")
    assert fmt == "table"
    assert [r.step for r in recs] == list(range(10))
    assert recs[0].metrics == {"epoch": 0.0, "loss": 0.98734, "val_loss": 0.963388, "step_time": 23.0}
    assert recs[-1].metrics["val_loss"] == 0.264837


@pytest.mark.parametrize("line", [
    "epoch loss was high, lowering the learning rate",  # prose: one blank between words, a bare `loss`
    "epoch  loss  time",  # a bare `loss`: no name of a table's own
    "epoch     train_loss  train_loss  time",  # a name twice
    "Epoch     train_loss  valid_loss  time",  # fastai's is `epoch`
    "epoch     train_loss  valid loss",  # a name of two words cannot be told from two columns
    "epoch train_loss valid_loss time",  # one blank: prose, not a table's columns
])
def test_a_blank_aligned_header_is_only_fastais_shape(line: str) -> None:
    assert TableParser().score(line) == 0
    parser = TableParser()
    parser.parse(line)
    width = len(line.split())
    row = "  ".join(["0", *["1.0"] * (width - 2), "00:01"])  # a row of its width, laid out as fastai's
    assert parser.parse(row) is None


def test_a_pandas_history_frame_before_a_keras_log_leaves_it_keras(tmp_path: Path) -> None:
    """A resumed run that prints its history as a pandas DataFrame (`   epoch  train_loss  val_loss …`, the index
    column blank) before Keras's epochs: the frame's header is no fastai table, the log is read as Keras, and its
    NaN is critical (a code review: read as a table, nothing was read, `UNREAD`, exit 3)."""
    log = tmp_path / "train.log"
    log.write_bytes((FIXTURES / "printed" / "pandas_history_frame.log").read_bytes()
                    + (REALRUNS / "keras-v2-nan" / "run" / "train.log").read_bytes())
    rc, runs, _ = check_json(log)
    assert rc == 2 and any(a["rule"] == "nonfinite" for a in runs[0]["alerts"])


def test_a_classification_report_after_the_table_is_no_epoch(tmp_path: Path) -> None:
    """fastai's interpretation prints scikit-learn's report after training (`           0       0.94      0.94
    0.94        96`: five words, an integer first, as a row of the five-column table): no row of fastai's layout, no
    duration under `time`. Read as rows, they were epochs 0 to 9 again, a restart, precision read as the loss."""
    log = tmp_path / "train.log"
    log.write_bytes((FASTAI / "run" / "train.log").read_bytes()
                    + (FIXTURES / "printed" / "sklearn_report.log").read_bytes())
    _, records = source_records_of(log)
    assert [r.step for r in records] == list(range(8))


def test_a_tab_tables_clock_under_time_is_no_step_time() -> None:
    """A loop's tab-separated `iter  time  loss  lr` whose `time` is the clock (`00:30:00`): only fastai's table holds
    a duration there. Read as one, the clock's growth was a step time 1.8× as long, a false slowdown warning."""
    _, records = source_records_of(FIXTURES / "printed" / "tab_clock_table.log")
    assert len(records) == 60 and all("step_time" not in r.metrics for r in records)
    rc, runs, _ = check_json(FIXTURES / "printed" / "tab_clock_table.log")
    assert rc == 0 and runs[0]["alerts"] == []


def test_a_row_under_a_blank_aligned_header_needs_its_width_and_an_epoch() -> None:
    header = next(x for x in found_lines("patchtst_pretrain_epoch_table.log") if "train_loss" in x)
    parser = TableParser()
    assert parser.score(header) == 2 and parser.parse(header) is None
    assert parser.parse("              0       0.987340       0.963388          00:23") is not None
    assert parser.parse("              0       0.987340       0.963388") is None  # one short
    assert parser.parse("               0       0.987340       0.963388          00:23") is None  # off its columns
    assert parser.parse("Better model found at epoch 0 with valid_loss value: 0.96.") is None
    assert parser.parse("   x       0.987340       0.963388          00:23") is None  # no epoch
    assert parser.parse("0\t0.9\t0.8\t00:23") is None  # a tab-separated line is no row of a blank-aligned table


def test_an_epoch_of_an_hour_and_more_is_its_seconds() -> None:
    """fastprogress's `format_time` writes `h:mm:ss` from an hour (tests/fixtures/printed): 1:02:03 is 3,723 s."""
    _, records = source_records_of(FIXTURES / "printed" / "fastprogress_hour_epochs.log")
    assert [r.metrics["step_time"] for r in records] == [3723.0, 3731.0, 7384.0]


def test_fine_tunes_second_fit_goes_on_from_the_first() -> None:
    """fastai's `fine_tune(3)` prints the header again for its unfrozen fit and counts that fit's epochs from 0: one
    model trained four epochs, read 0 to 3 (read as printed, two records at step 0 and the frozen epoch's loss
    overwritten)."""
    log = FIXTURES / "printed" / "fastai_fine_tune_two_fits.log"
    want = _fastai_rows(log)
    assert [int(row[0]) for row in want] == [0, 0, 1, 2]
    _, records = source_records_of(log)
    assert [r.step for r in records] == [0, 1, 2, 3]
    assert [r.metrics["epoch"] for r in records] == [0.0, 1.0, 2.0, 3.0]
    assert [r.metrics["loss"] for r in records] == [float(row[1]) for row in want]


def test_a_new_launch_counts_its_fits_from_0() -> None:
    """The count goes on only within a launch: after `launched` (a relaunch into the same log), epoch 0 is step 0."""
    lines = [line.rsplit("\r", 1)[-1] for line in (FIXTURES / "printed" / "fastai_fine_tune_two_fits.log")
             .read_text(encoding="utf-8").splitlines()]
    parser = TableParser()
    steps = [rec.step for line in lines if (rec := parser.parse(line)) is not None]
    assert steps == [0, 1, 2, 3]
    parser.launched()
    again = [rec.step for line in lines if (rec := parser.parse(line)) is not None]
    assert again == [0, 1, 2, 3]


def test_a_fastai_row_starts_its_line_and_holds_a_duration_under_time() -> None:
    """Each guard of a row alone: a real row moved off the first column, or its `00:01` made a count, is no row."""
    log = FASTAI / "run" / "train.log"
    lines = [line.rsplit("\r", 1)[-1] for line in log.read_text(encoding="utf-8").splitlines()]
    header = next(x for x in lines if x.startswith("epoch"))
    row = next(x for x in lines if x[:1].isdigit())
    parser = TableParser()
    parser.parse(header)
    assert parser.parse(row) is not None
    assert parser.parse("   " + row) is None
    took = row.split()[-1]
    assert parser.parse(row.replace(took, "1" * len(took))) is None


# ── skorch's table: `tabulate`'s header, a rule of dashes that lays the columns out, cells that may be empty ─────────

def _skorch_rows(name: str) -> list[list[str]]:
    """The rows as printed, escapes out, split on blanks (an empty `cp` cell gives one word fewer)."""
    text = (FIXTURES / "printed" / name).read_text(encoding="utf-8")
    return [re.sub(r"\x1b\[[0-9;]*m", "", x).split() for x in text.splitlines() if x.strip()[:1].isdigit()]


def test_a_skorch_fit_whose_loss_is_nan_is_critical() -> None:
    """A new user's review: skorch's `      1           nan       0.4667           nan        0.1664` rows read
    `UNREAD`, exit 3, where its losses were NaN from the first epoch."""
    rc, runs, _ = check_json(FIXTURES / "printed" / "skorch_nan.log")
    found = {a["labels"].get("metric"): a for a in runs[0]["alerts"] if a["rule"] == "nonfinite"}
    assert rc == 2 and found["loss"]["first_step"] == 1


def test_skorchs_rows_are_read_by_the_rules_columns_empty_cells_and_all() -> None:
    """Each row an epoch under its header's names, its coloured values read through their escapes, `dur` its step
    time; the rows whose `cp` is empty (no checkpoint saved) are rows too (read by words, they were a word short and
    dropped: the overfitting epochs after the last save unread)."""
    fmt, records = source_records_of(FIXTURES / "printed" / "skorch_checkpoint_earlystop.log")
    want = _skorch_rows("skorch_checkpoint_earlystop.log")
    assert fmt == "table" and len(want) >= 5 and any(len(row) == 5 for row in want)
    assert [r.step for r in records] == [int(row[0]) for row in want]
    for rec, row in zip(records, want, strict=True):
        assert rec.metrics == {"epoch": float(row[0]), "loss": float(row[1]), "valid_acc": float(row[2]),
                               "val_loss": float(row[3]), "step_time": float(row[-1])}


def test_a_header_in_no_layout_of_its_own_needs_its_rule() -> None:
    """skorch's header alone is no table's (names right-aligned to widths only the rule under it shows): the rule
    decides, each name within its run of dashes."""
    lines = (FIXTURES / "printed" / "skorch_nan.log").read_text(encoding="utf-8").splitlines()
    header, rule, row = lines[0], lines[1], re.sub(r"\x1b\[[0-9;]*m", "", lines[2])
    assert TableParser().score(header) == 0 and detect([header]) is None
    probe = TableParser()
    assert probe.score(header) == 0 and probe.score(rule) == 2
    assert detect([header, rule]) == "table"
    parser = TableParser()
    assert parser.parse(header) is None and parser.parse(rule) is None and parser.parse(row) is not None
    shifted = TableParser()
    short = re.sub(r"-+", "--", rule)  # as many runs, none holding its name
    assert shifted.score(header) == 0 and shifted.score(short) == 0
    assert parser.parse(row + "  extra") is None  # text beyond the last column
    gap = rule.index(" ")  # between the epoch's column and the next
    assert parser.parse(row[:gap] + "x" + row[gap + 1:]) is None  # text between two columns


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(["skorch_nan.log", "fastai_no_valid_table.log", "fastprogress_hour_epochs.log",
                        "fastai_no_bar_fits.log"]),
       st.lists(st.text(alphabet="epoch_ls \t-+0123456789.:nNa\x1b[m],'", max_size=90), max_size=20))
def test_never_raises_under_a_blank_aligned_header(name: str, lines: list[str]) -> None:
    """Whatever follows a real header (and rule), the parser reads or refuses it, and never raises."""
    parser = TableParser()
    for line in (FIXTURES / "printed" / name).read_text(encoding="utf-8").splitlines()[:3] + lines:
        parser.parse(line.rsplit("\r", 1)[-1])
        parser.score(line)


def test_fastprogress_frames_state_the_fits_epochs_so_a_run_that_did_them_all_is_finished() -> None:
    """The frames of fastprogress's epoch bar (`Epoch 3/8 : |███---| …`) state the fit's epochs: the rows' total, so a
    fit that ran them all is `finished`, not `ended` (a new user's review: every fastai run followed live ended on a
    `process_exit` warning, "no finish line", and showed no progress nor ETA); fine_tune's fits add theirs up."""
    _, records = source_records_of(FASTAI / "run" / "train.log")
    assert {r.total_steps for r in records} == {7}  # epochs 0 to 7: the last, as the table counts
    rc, runs, _ = check_json(FASTAI / "run")
    assert rc == 0 and runs[0]["state"] == "finished" and runs[0]["total_steps"] == 7
    _, tuned = source_records_of(FIXTURES / "printed" / "fastai_fine_tune_two_fits.log")
    assert [r.total_steps for r in tuned] == [None, 3, 3, 3]  # a first fit of one epoch: 0 is no total (a code
    # review: `check` read it as none, `ended`, the live badge as reached, `finished`, for the whole next epoch)
    _, crashed = check_json(REALRUNS / "fastai-raise" / "run")[:2]
    assert crashed[0]["state"] == "crashed" and crashed[0]["step"] == 2


def test_a_skorch_row_wider_than_the_first_is_read() -> None:
    """skorch tabulates each row on its own, its header and rule once: the fourth epoch's `10.5225` under `dur` is wider
    than the rule (`------`) and moves past it. Read only where it fit the rule, it was dropped, and with it the
    slowdown (a code review); a word belongs to the column it overlaps."""
    _, records = source_records_of(FIXTURES / "printed" / "skorch_slow_epoch.log")
    want = _skorch_rows("skorch_slow_epoch.log")
    assert [r.step for r in records] == [1, 2, 3, 4, 5]
    assert [r.metrics["step_time"] for r in records] == [float(row[-1]) for row in want]
    assert records[3].metrics["step_time"] > 10


def test_a_skorch_table_under_a_rank_prefix_or_with_a_blank_before_its_rule_is_read(tmp_path: Path) -> None:
    """torchrun's `[rank0]:` before each line (its splitter takes one blank after it off the header and the rows, not
    off the rule, which starts with a dash), and a blank line between the header and its rule (detection skips blank
    lines, the parser did not: it read the file as a table of no rows, the NaN unread, exit 0; a code review)."""
    lines = (FIXTURES / "printed" / "skorch_nan.log").read_text(encoding="utf-8").splitlines(keepends=True)
    ranked = tmp_path / "ranked.log"
    ranked.write_text("".join("[rank0]:" + x for x in lines))
    blank = tmp_path / "blank.log"
    blank.write_text("".join([lines[0], "\n", *lines[1:]]))
    for log in (ranked, blank):
        rc, runs, _ = check_json(log)
        found = {a["labels"].get("metric"): a for a in runs[0]["alerts"] if a["rule"] == "nonfinite"}
        assert rc == 2 and found["loss"]["first_step"] == 1, log.name


# ── fastai in `learn.no_bar()`: no table, each epoch the recorder's values printed as a Python list ──────────────────

def _listed_rows(log: Path) -> list[list[str]]:
    """The list rows as printed: `[0, 1.6, 1.3, 0.72, '00:00']` → `['0', '1.6', '1.3', '0.72', "'00:00'"]`."""
    lines = [x.rsplit("\r", 1)[-1] for x in log.read_text(encoding="utf-8").splitlines()]
    return [x[1:-1].split(", ") for x in lines if x.startswith("[")]


def test_a_real_fastai_fit_in_no_bar_is_read_a_step_an_epoch() -> None:
    """The run lab's fastai fit inside `learn.no_bar()` (`fastai-nobar-healthy`) prints no header, only
    `[epoch, train_loss, valid_loss, accuracy, 'time']` an epoch: it read `UNREAD` (a new user's review); each row
    is now an epoch, its losses named as the recorder names them, its metric unnamed in the log."""
    log = REALRUNS / "fastai-nobar-healthy" / "run" / "train.log"
    want = _listed_rows(log)
    records = _eight_epochs(log, want)
    for rec, row in zip(records, want, strict=True):
        assert rec.metrics == {"epoch": float(row[0]), "loss": float(row[1]), "val_loss": float(row[2]),
                               "metric_1": float(row[3])}
    rc, runs, _ = check_json(log)
    assert rc == 0 and runs[0]["alerts"] == []


def test_no_bar_rows_take_a_headers_names_and_each_fit_goes_on_from_the_last() -> None:
    """A fit in `no_bar` (its metrics unnamed: `metric_1` …), then `fine_tune(1)` with its bar (its header names the
    columns; its two fits go on from the first), then one more in `no_bar`, read under that header's names: one
    model's six epochs, 0 to 5."""
    log = FIXTURES / "printed" / "fastai_no_bar_fits.log"
    listed = _listed_rows(log)
    assert [int(row[0]) for row in listed] == [0, 1, 0, 1]
    _, records = source_records_of(log)
    assert [r.step for r in records] == list(range(6))
    named = ("accuracy", "f1_score", "agreement")
    for rec, row in zip(records[:2], listed[:2], strict=True):
        assert rec.metrics == {"epoch": float(row[0]), "loss": float(row[1]), "val_loss": float(row[2]),
                               "metric_1": float(row[3]), "metric_2": float(row[4]), "metric_3": float(row[5])}
    for rec, row in zip(records[4:], listed[2:], strict=True):
        assert rec.metrics == {"epoch": rec.step, "loss": float(row[1]), "val_loss": float(row[2]),
                               **{name: float(v) for name, v in zip(named, row[3:6], strict=True)}}
    assert set(records[2].metrics) == {"epoch", "loss", "val_loss", *named}  # fine_tune's rows, under the header


def test_a_no_bar_fit_with_no_validation_set_reads_its_none_as_no_value() -> None:
    _, records = source_records_of(FIXTURES / "printed" / "fastai_no_bar_no_valid.log")
    assert [r.step for r in records] == [0, 1]
    assert all(set(r.metrics) == {"epoch", "loss"} for r in records)
    assert records[1].metrics["loss"] == 0.46681129932403564


def test_a_list_is_fastais_row_only_with_an_epoch_first_and_its_time_last() -> None:
    """Each guard alone, on a real row: a list printed by anything else (no time last, a float first, a string in
    it, a second list on the line) is no row, and scores nothing for detection."""
    row = next(x for x in (REALRUNS / "fastai-nobar-nan" / "run" / "train.log").read_text().splitlines()
               if x.startswith("[2,"))
    assert TableParser().parse(row) is not None and TableParser().score(row) == 1  # a row's, not a header's
    for other in (row.replace(", '00:00'", ""), row.replace("[2,", "[2.0,"), row.replace("nan,", "'nan',", 1),
                  row + " " + row, "x" + row):
        assert TableParser().parse(other) is None, other
        assert TableParser().score(other) == 0, other


def test_no_bar_fits_one_after_another_go_on_and_a_wider_table_starts_from_0() -> None:
    """`fine_tune(2)` in `no_bar`: two fits of one model, each from epoch 0, read 0, 1, 2 (the count went on only
    after a header, a code review); then a new learner with one more metric, its table wider: from 0 again."""
    log = FIXTURES / "printed" / "fastai_no_bar_fine_tune.log"
    assert [int(row[0]) for row in _listed_rows(log)] == [0, 0, 1, 0]
    _, records = source_records_of(log)
    assert [r.step for r in records] == [0, 1, 2, 0]
    assert set(records[-1].metrics) == {"epoch", "loss", "metric_1", "metric_2", "metric_3"}  # four values: maybe
    # a recorder's with `train_metrics`, only the training loss named (below)


def test_an_even_number_of_values_names_only_the_training_loss() -> None:
    """A recorder with `train_metrics` prints train loss, train accuracy, valid loss, valid accuracy: read under the
    default names, the rising train accuracy was a `val_loss` and a healthy fit an overfit warning (a code review)."""
    log = FIXTURES / "printed" / "fastai_no_bar_train_metrics.log"
    listed = _listed_rows(log)
    _, records = source_records_of(log)
    assert [r.metrics for r in records] == [
        {"epoch": float(row[0]), "loss": float(row[1]), "metric_1": float(row[2]), "metric_2": float(row[3]),
         "metric_3": float(row[4])} for row in listed]
    rc, runs, _ = check_json(log)
    assert rc == 0 and runs[0]["alerts"] == []
