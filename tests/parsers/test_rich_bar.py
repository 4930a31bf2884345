"""Lightning's RichProgressBar on a pipe: the run lab's `lightning-default-*` logs (Lightning 2.6, rich 15).

On a pipe rich draws the bar once, when `fit` stops, after Lightning's stopped line; the metrics column
wraps at 80 columns onto lines of their own. These logs were "nothing understood" before, so the NaN
in the last frame of lightning-default-nan was missed by `check` on the log alone."""

from __future__ import annotations

import json
import math

import pytest

from runwatch.cli import main
from runwatch.model import Event, Kind, Record
from runwatch.parsers.progress_bar import ProgressBarParser
from runwatch.parsers.rich_bar import parse_rich_frame
from runwatch.parsers.source import SourceParser
from runwatch.watcher.lines import LineSplitter
from tests.support.realruns import recordings


def log_lines(name: str) -> list[str]:
    [rec] = [r for r in recordings() if r.name == name]
    return (rec.run_dir / "train.log").read_text(encoding="utf-8").splitlines()


def records(lines: list[str]) -> list[Record]:
    parser = ProgressBarParser()
    out = [r for line in lines if (r := parser.parse(line)) is not None]
    if (last := parser.flush()) is not None:
        out.append(last)
    return out


def test_the_last_frame_is_read_with_its_wrapped_metrics() -> None:
    lines = log_lines("lightning-default-nan")
    rate = float(next(s for s in lines if s.startswith("Epoch 3/3")).split("it/s")[0].split()[-1])
    recs = records(lines)
    steps = [r for r in recs if r.kind == Kind.STEP]
    assert {r.step for r in steps} == {239}  # epoch 3 of 0..3, batch 60 of 60: Lightning's global step 239
    merged = {k: v for r in steps for k, v in r.metrics.items()}
    assert math.isnan(merged["loss"]) and math.isnan(merged["val_loss"])  # both on wrapped lines
    assert "v_num" not in merged and merged["epoch"] == 4.0
    assert merged["step_time"] == pytest.approx(1 / rate)


def test_the_finish_is_said_once_after_the_frame_drawn_when_fit_stopped() -> None:
    """The rich bar's one frame comes after the stopped line: the finish waits for it, and is said once, at
    its step (said at the line too, a finished run printed `finished` twice, once at no step)."""
    recs = records(log_lines("lightning-default-healthy"))
    kinds = [(r.kind, r.event) for r in recs]
    assert kinds.count((Kind.EVENT, Event.FINISHED)) == 1 and kinds[-1] == (Kind.EVENT, Event.FINISHED)
    assert recs[-1].step == 239 and recs[-1].message == "`Trainer.fit` stopped: `max_epochs=4` reached."
    assert [r.metrics.get("loss") for r in recs if "loss" in r.metrics] == [1.639]


@pytest.mark.parametrize("name", ["lightning-default-healthy", "lightning-default-nan"])
def test_followed_live_the_finish_is_said_when_the_follower_has_read_all(name: str) -> None:
    """Live, the file stays open: no `flush`. The follower reads the recording's writes as they came
    (chunks.tsv) and settles after each; the run ends finished, as `check` says, not running on the last
    frame's steps (the stopped line came before them). Nothing after the finish but the steps it follows."""
    [rec] = [r for r in recordings() if r.name == name]
    data = rec.log.read_bytes()
    ends = [int(line.split("\t")[1]) for line in (rec.root / "chunks.tsv").read_text().splitlines() if line]
    splitter, sp, out, line = LineSplitter(), SourceParser("log", fmt="tqdm"), [], 1
    for lo, hi in zip([0, *ends], ends, strict=False):
        lines = splitter.feed(data[lo:hi])
        out += sp.feed(lines, line, 0.0) + sp.settle()
        line += len(lines)
    assert (out[-1].kind, out[-1].event) == (Kind.EVENT, Event.FINISHED)
    assert out[-1].step == 239
    assert sp.settle() == []  # said once
    # the recording wrote the stopped line, the frame and its wrapped lines apart: live, each read the
    # follower caught up at says the finish at what it has (read at once, it is said once: the test above)
    assert [r.step for r in out if r.event == Event.FINISHED] == [None, 239, 239]


def test_a_frame_is_not_taken_from_lines_that_only_look_like_one() -> None:
    frame_line = next(line for line in log_lines("lightning-default-healthy") if line.startswith("Epoch"))
    frame = parse_rich_frame(frame_line)
    assert frame is not None and (frame.desc, frame.n, frame.total) == ("Epoch 3/3", 60, 60)
    assert parse_rich_frame(frame_line.replace("•", "-")) is None  # no clock column: not rich's bar
    assert parse_rich_frame("┏━━━┳━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━┳━━━━━━━┓") is None  # the model summary
    # a wrapped metrics line with no frame above it is nothing
    assert records([s for s in log_lines("lightning-default-nan") if "val_loss" in s]) == []


@pytest.mark.parametrize(("name", "code"), [("lightning-default-nan", 2), ("lightning-default-healthy", 0)])
def test_check_on_the_log_alone(name: str, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    [rec] = [r for r in recordings() if r.name == name]
    assert main(["check", str(rec.run_dir / "train.log"), "--json"]) == code
    report = json.loads(capsys.readouterr().out)
    assert report["state"] == "finished" and report["step"] == 239
    assert sorted(a["labels"]["metric"] for a in report["alerts"]) == (["loss", "val_loss"] if code else [])
