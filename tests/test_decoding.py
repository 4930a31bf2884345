"""runwatch.decoding: one decoder per source (per run for HF log history), and W&B's side records kept apart."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from runwatch.decoding import decode, split_side_records
from runwatch.model import Kind, Record
from runwatch.parsers.base import ItemDecoder
from runwatch.parsers.wandb_meta import RUN_META
from runwatch.parsers.wandb_stats import SYSTEM_STATS

HF_RUN = Path(__file__).parent / "fixtures" / "realruns" / "hf-wandb-healthy" / "run" / "out"


def _state(checkpoint: int) -> dict[str, object]:
    doc: dict[str, object] = json.loads((HF_RUN / f"checkpoint-{checkpoint}" / "trainer_state.json").read_text())
    return doc


def test_hf_log_history_is_one_decoder_per_run_so_checkpoints_repeat_nothing() -> None:
    decoders: dict[tuple[str, str], ItemDecoder] = {}
    first = decode(decoders, "r", str(HF_RUN / "checkpoint-40" / "trainer_state.json"), "hf_log_history",
                   [_state(40)], 1.0)
    later = decode(decoders, "r", str(HF_RUN / "checkpoint-80" / "trainer_state.json"), "hf_log_history",
                   [_state(80)], 2.0)
    first, later = ([r for r in recs if r.event != RUN_META] for recs in (first, later))  # the settings apart
    assert first and later
    assert max(r.step or 0 for r in first) < min(r.step or 0 for r in later)  # 1..40 not said again
    assert len(decoders) == 1
    other_run = decode(decoders, "s", "elsewhere/trainer_state.json", "hf_log_history", [_state(40)], 3.0)
    assert [r.step for r in other_run if r.event != RUN_META] == [r.step for r in first]


def test_trainer_state_settings_are_run_metadata_not_records() -> None:
    recs = decode({}, "r", str(HF_RUN / "checkpoint-120" / "trainer_state.json"), "hf_log_history", [_state(120)], 1.0)
    side = split_side_records("hf_log_history", recs)
    assert side.meta["trainer_state"]["global_step"] == 120 and side.meta["trainer_state"]["save_steps"] == 40
    assert len(side.own) == len(recs) - 1 and not [r for r in side.own if r.event == RUN_META]


def test_a_kind_nobody_decodes_gives_no_record() -> None:
    decoders: dict[tuple[str, str], ItemDecoder] = {}
    assert decode(decoders, "r", "x.bin", "no_such_kind", [b"\x00"], 1.0) == []
    assert decoders == {}


def test_records_of_other_sources_are_all_the_runs_own() -> None:
    recs = [Record(Kind.STEP, step=1, metrics={"loss": 2.0}), Record(Kind.EVENT, event=SYSTEM_STATS)]
    side = split_side_records("csv_rows", recs)
    assert side.own == recs and side.meta == {} and side.samples == []


@pytest.mark.skipif(importlib.util.find_spec("wandb") is None, reason="needs the wandb package to write a run")
def test_wandb_metadata_and_system_stats_are_kept_out_of_the_runs_records(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    from runwatch.watcher.wandb_file import read_records
    from tests.support.wandb_run import main_run_file

    path = str(main_run_file(tmp_path_factory))
    decoders: dict[tuple[str, str], ItemDecoder] = {}
    recs = decode(decoders, "r", path, "wandb", list(read_records(Path(path))), 5.0)
    side = split_side_records("wandb", recs)
    assert side.meta and side.samples
    assert not [r for r in side.own if r.event in (RUN_META, SYSTEM_STATS)]
    assert any(r.kind == Kind.STEP for r in side.own)
    meta_records = sum(1 for r in recs if r.event == RUN_META)
    assert len(side.own) + len(side.samples) + meta_records == len(recs)
