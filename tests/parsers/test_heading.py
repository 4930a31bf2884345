"""Heading lines that name the bare bar after them (runwatch.parsers.heading), all as real logs print them."""

from __future__ import annotations

import pytest

from runwatch.parsers.heading import heading_of
from tests.support.found import found_lines


def _line(fixture: str, start: str) -> str:
    return next(x for x in found_lines(fixture) if x.startswith(start))


@pytest.mark.parametrize(("fixture", "start", "desc"), [
    ("freepose_tqdm_epoch_headings_ctrlc.log.gz", "[INFO] epoch 7", "epoch 7"),  # after the logging prefix
    ("freepose_tqdm_epoch_headings_ctrlc.log.gz", "[INFO] Evaluation", "Evaluation"),
    ("simgir_sweep_trials_excerpt.out.gz", "Epoch 3", "Epoch 3"),
    ("simgir_sweep_trials_excerpt.out.gz", "Evaluating", "Evaluating"),
    ("imagenet_resnet50_tqdm_resized.log", "Epoch: 4", "Epoch: 4"),  # its number after a colon is no value
    ("fasterrcnn_voc_epoch_of_heading.log", "EPOCH 3 of 30", "EPOCH 3 of 30"),  # the run's epochs after `of`
])
def test_a_heading_names_the_bar_to_come(fixture: str, start: str, desc: str) -> None:
    assert heading_of(_line(fixture, start)) == desc


@pytest.mark.parametrize(("fixture", "start"), [
    ("seqar_diffusion_epoch_bars_train.log.gz", "[SeqAR-Diffusion] Epoch 9/400"),  # an epoch's summary: its losses
    ("ubev_epoch_bars_train.out.gz", "Validation mIOU"),  # a validation's result
    ("freepose_tqdm_epoch_headings_ctrlc.log.gz", "Protocol #1 Error"),
    ("freepose_tqdm_epoch_headings_ctrlc.log.gz", "  2%|"),  # a frame itself
    ("keras21_verbose2_cnn_20ep.log", "Test loss "),  # a result with no colon: starts with a word of evaluation
    ("mmdet2_cascade_epoch1_val_excerpt.log", "Evaluate annotation type"),
    ("verl_numpy_scalars_stopped_step238.log.gz", "validation generation end"),
    ("yolov5_cots_300ep_terminal.log", "Validating runs/"),
])
def test_a_line_with_values_or_a_bar_is_no_heading(fixture: str, start: str) -> None:
    assert heading_of(_line(fixture, start)) is None
