"""`parse` reads a run directory as `tail` does: the same sources, each once, the same records."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from runwatch.cli import main
from runwatch.engine import Engine, EngineOptions
from tests.support.runs import copy_wandb_run, hf_checkpoint, lightning_csv, truncated_log, wandb_run
from tests.support.waiting import wait_for

# watchdog warns, harmlessly, when a recursive watch is set up while directories appear.
pytestmark = pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")


@pytest.fixture(scope="module")
def wandb_nan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("wandb") is None:
        pytest.skip("needs the wandb package")
    return wandb_run(tmp_path_factory)


def test_a_run_dir_of_every_kind_gives_the_records_tail_applies(wandb_nan: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A log, a Lightning metrics.csv, a settled HF checkpoint and a W&B run in one directory."""
    exp = copy_wandb_run(wandb_nan, tmp_path / "exp")
    truncated_log(exp / "train.log")
    lightning_csv(exp)
    hf_checkpoint(exp / "out")
    assert main(["parse", str(exp), "--output", "jsonl"]) == 0
    recs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = {r["kind"] for r in recs}
    assert kinds == {"step", "eval", "event", "checkpoint"}
    with Engine([str(exp)], EngineOptions(poll_interval=0.1, system=False)) as eng:
        snap = wait_for(lambda: next((s for s in eng.snapshots() if s.records >= len(recs)), None), timeout=60)
    assert snap.records == len(recs)
    others = [(r["kind"], r.get("event"), r["step"]) for r in recs if r["kind"] not in ("step", "eval")]
    applied = [(str(e.kind), e.event, e.step) for e in snap.events]
    assert sorted(what[:2] for what in applied) == sorted(what[:2] for what in others)
    # a record that names its step is applied at it; one that names none, at the step the run had reached
    stated = sorted(what for what in others if what[2] is not None)
    assert stated and all(what in applied for what in stated)
    assert all(step is not None for _, _, step in applied)
