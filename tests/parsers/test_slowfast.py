"""PySlowFast's `json_stats:` lines → Records, on a whole real log (tests/fixtures/found/README.md)."""

from __future__ import annotations

import json
import math

from runwatch.model import Event, Kind
from runwatch.parsers.slowfast import SlowFastParser
from tests.support.found import found_lines as lines_of
from tests.support.found import source_records

LOG = "slowfast_meccano_multilaunch.log.gz"


def _stats(kind: str) -> list[tuple[int, dict[str, object]]]:
    """The log's stats objects of one `_type`, with their line numbers (1-based)."""
    out = []
    for i, line in enumerate(lines_of(LOG), 1):
        if "json_stats: {" in line:
            stats = json.loads(line[line.index("json_stats: ") + len("json_stats: "):])
            if stats["_type"] == kind:
                out.append((i, stats))
    return out


def test_each_training_iterations_stats_are_a_step_of_epochs_times_iterations() -> None:
    """A new user's review: read as HF Trainer dicts, `"epoch": "20/20"` and `"iter": "310/316"` were texts, every
    record stepless, and a run of eight launches `no steps`. The step is `(e − 1)·N + i` of `E·N`."""
    fmt, recs = source_records(LOG)
    assert fmt == "slowfast"
    logged = _stats("train_iter_")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert len(steps) == len(logged) == 631
    for rec, (line, stats) in zip(steps, logged, strict=True):
        e, epochs = map(int, str(stats["epoch"]).split("/"))
        i, per = map(int, str(stats["iter"]).split("/"))
        assert (rec.line, rec.step, rec.total_steps) == (line, (e - 1) * per + i, epochs * per)
        assert (rec.metrics["loss"], rec.metrics["step_time"], rec.metrics["top1_err"]) == (
            stats["loss"], stats["dt"], stats["top1_err"])
    first = steps[0].metrics
    assert (steps[0].step, steps[0].total_steps) == (10, 632)  # the first launch that logged planned 2 epochs
    assert (first["data_time"], first["memory_gib"], first["eta"], first["epoch"]) == (18.29932, 19.35, 12151.0, 1.0)
    assert (steps[-1].step, steps[-1].total_steps) == (19 * 316 + 310, 6320)
    slow = next(r for r in steps if r.metrics["step_time"] > 200)
    assert slow.metrics["eta"] == 13 * 86400 + 13 * 3600 + 8 * 60 + 43  # `13 days, 13:08:43`


def test_validations_are_evals_and_training_done_is_the_finish() -> None:
    """`val_epoch` is the validation after an epoch (`val_*`); `train_epoch` only repeats the steps' averages and
    `val_iter` counts the validation's batches: no record. `training done: …` ends the training."""
    _, recs = source_records(LOG)
    evals = [r for r in recs if r.kind is Kind.EVAL]
    validated = _stats("val_epoch")
    assert len(evals) == len(validated) == 2
    assert [r.metrics["val_top1_err"] for r in evals] == [s["top1_err"] for _, s in validated]
    assert "val_memory_gib" not in evals[0].metrics and "val_epoch" not in evals[0].metrics
    assert [r.event for r in recs if r.kind is Kind.EVENT] == [Event.FINISHED]
    done = next(r for r in recs if r.kind is Kind.EVENT)
    assert done.message is not None and "training done: _p33.79_f50.58" in done.message


def test_a_nan_loss_is_kept_and_a_cut_line_is_nothing() -> None:
    """simplejson prints a NaN as `NaN`, which is read as one; a line cut inside its object is nothing, no error."""
    line = next(x for x in lines_of(LOG) if '"_type": "train_iter_"' in x)
    loss = json.loads(line[line.index("{"):])["loss"]
    rec = SlowFastParser().parse(line.replace(f'"loss": {loss:.5f}', '"loss": NaN'))
    assert rec is not None and math.isnan(rec.metrics["loss"])
    assert SlowFastParser().parse(line[: len(line) // 2]) is None
    assert SlowFastParser().score(line) == 2 and SlowFastParser().score(line.replace("train_iter_", "val_iter")) == 0
