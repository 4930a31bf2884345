"""Checkpoint layouts and completeness, as pure checks on file names and sizes (and file heads)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runwatch.watcher.checkpoint_layout import Expectation, assess, truncated
from tests.support.checkpoints import torch_file


@pytest.mark.parametrize(
    ("files", "missing"),
    [
        ({"a-00001-of-00003.bin": 1, "a-00003-of-00003.bin": 1}, ["missing a-*-of-00003.bin shards (2 of 3)"]),
        ({"__0_0.distcp": 1, "__1_0.distcp": 1, ".metadata": 1}, []),
        ({"mp_rank_00_000/model_optim_rng.pt": 1, "mp_rank_01_001/model_optim_rng.pt": 1},
         ["missing mp_rank_*_*/model_optim_rng.pt shards (2 of 4)"]),
    ],
)
def test_shard_families_must_fill_their_grid(files: dict[str, int], missing: list[str]) -> None:
    result, _ = assess(files, 100, None)
    assert result.missing == missing


def test_what_a_complete_checkpoint_teaches_the_next() -> None:
    _, learned = assess({"model_000100.pt": 1, "optim_000100_rank0.pt": 1, "optim_000100_rank1.pt": 1}, 100, None)
    assert learned == Expectation(frozenset({"model_{step}.pt", "optim_{step}_rank*.pt"}),
                                  {"optim_{step}_rank*.pt": (2,)})
    result, _ = assess({"model_000200.pt": 1, "optim_000200_rank0.pt": 1}, 200, learned)
    assert result.missing == ["missing optim_{step}_rank*.pt rank 1 (1 of 2)"]


def test_truncated_leaves_unknown_formats_alone(tmp_path: Path) -> None:
    legacy = tmp_path / "old.bin"
    legacy.write_bytes(b"\x80\x02legacy pickle")
    assert truncated(legacy, legacy.stat().st_size) is None
    whole = torch_file(tmp_path / "whole.pt")
    assert truncated(whole, whole.stat().st_size) is None
