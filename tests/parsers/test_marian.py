"""runwatch.parsers.marian, on two Marian NMT logs found by a review."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runwatch.cli import main
from runwatch.model import Event, Kind
from runwatch.parsers.detect import detect
from runwatch.parsers.events import EventDetector
from runwatch.parsers.marian import MarianParser
from tests.support.found import FOUND, found_lines

CONCAT = FOUND / "marian_europarl_concat.log"


def records(lines: list[str]) -> list[tuple[int, object]]:
    parser = MarianParser()
    return [(i + 1, r) for i, ln in enumerate(lines) if (r := parser.parse(ln)) is not None]


def test_updates_are_the_steps_and_the_cost_the_loss() -> None:
    """`Ep. 1 : Up. 500 : Sen. 416,512 : Cost 508.25894165 : Time 950.30s : 23219.51 words/s : L.r. 9.3750e-06`: a
    run's first display is its first 500 updates (1.9 s each); the next display's time is over the 500 since."""
    lines = CONCAT.read_text().splitlines()
    assert detect(lines[:300]) == "marian"
    recs = records(lines)
    (n1, first), (n2, second) = [(n, r) for n, r in recs if r.kind is Kind.STEP][:2]
    assert (n1, first.step, first.metrics["epoch"], first.metrics["loss"]) == (192, 500, 1.0, 508.25894165)
    assert first.metrics["lr"] == 9.375e-06 and first.metrics["tokens_per_sec"] == 23219.51 and first.t > 0
    assert first.metrics["step_time"] == pytest.approx(950.30 / 500)
    assert (n2, second.step) == (193, 1000) and second.metrics["step_time"] == pytest.approx(814.53 / 500)
    evals = [(n, r.step, dict(r.metrics)) for n, r in recs if r.kind is Kind.EVAL][:3]
    assert evals == [(216, 5000, {"val_cross_entropy": 255.358}), (217, 5000, {"val_perplexity": 47.649}),
                     (234, 5000, {"val_translation": 0.0})]  # `[valid] Ep. 3 : Up. 5000 : cross-entropy : …`


def test_the_iter_copy_of_a_save_is_a_checkpoint_at_its_update() -> None:
    """A save writes the model thrice (`.orig.npz`, `.iter5000.npz`, the model's own): one checkpoint."""
    detector = EventDetector()
    saved = [r for ln in CONCAT.read_text().splitlines()
             if (r := detector.feed(ln)) is not None and r.event == Event.CHECKPOINT_SAVED]
    assert [r.step for r in saved][:3] == [5000, 10000, 15000] and len(saved) == 17


def test_a_finished_run_reads_finished_at_its_last_update(capsys: pytest.CaptureFixture[str]) -> None:
    """Unread, the run that ended `Training finished` after 85,000 updates read `no steps  crashed`: its validation
    script's tracebacks were the only records (a review). Its first interval of 13m34s (500 updates) is no stall."""
    assert main(["check", str(CONCAT), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert (obj["step"], obj["state"], obj["alerts"]) == (85000, "finished", [])
    assert obj["notes"][0].startswith("the run went on after 8 fatal errors it printed")


def test_a_traceback_before_an_evaluations_result_is_no_crash(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The validation script's `FileNotFoundError`, Marian's `[valid] … translation : 0` after it, and the next update
    15 minutes later: a bare traceback, then silence, read as a critical crash of a finished run. The result the
    run prints after it is the run going on, as a step is. The log's first 300 lines: its first validations, each
    with the script's tracebacks, and the updates after them."""
    lines = CONCAT.read_text().split("\n")[:300]
    assert sum(x.startswith("FileNotFoundError") for x in lines) == 2
    log = tmp_path / "train.log"
    log.write_text("\n".join(lines) + "\n")
    assert main(["check", str(log), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["alerts"] == []


def test_the_cuda_runtimes_out_of_memory_is_a_gpu_oom(capsys: pytest.CaptureFixture[str]) -> None:
    """Each launch after the run's illegal memory access died at start-up with `Error: CUDA error 2 'out of
    memory'`, which no event said: only the shell's `Aborted (core dumped)` was seen."""
    lines = found_lines("marian_bt_relaunches_oom.log.gz")
    detector = EventDetector()
    ooms = [r for ln in lines if (r := detector.feed(ln)) is not None and r.event == Event.OOM]
    assert len(ooms) == 6 and "CUDA error 2 'out of memory'" in (ooms[0].message or "")
    assert main(["check", str(FOUND / "marian_bt_relaunches_oom.log.gz"), "--json"]) == 2
    obj = json.loads(capsys.readouterr().out)
    assert (obj["step"], obj["state"]) == (45000, "crashed")
    assert [a["labels"].get("event") for a in obj["alerts"] if a["firing_at_end"]] == ["oom", "segfault"]
