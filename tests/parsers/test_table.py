"""The tab-separated table a loop writes into its log, on FADNet's real log (tests/fixtures/found)."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.cli import main
from runwatch.model import Kind
from runwatch.parsers.detect import detect
from runwatch.parsers.fields import local_time
from runwatch.parsers.table import TableParser
from tests.support.found import found_lines, source_records
from tests.support.paths import FIXTURES

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
