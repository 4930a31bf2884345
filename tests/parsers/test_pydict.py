"""The one table of metric-name spellings every format shares (`pydict.metric_name`, DESIGN §2)."""

from __future__ import annotations

import pytest

from runwatch.parsers.pydict import CANONICAL, metric_name

DESIGN_NAMES = {"loss", "val_loss", "grad_norm", "lr", "step_time", "tokens_per_sec", "samples_per_sec", "mfu", "epoch",
                "loss_scale", "elapsed", "eta"}


def test_every_alias_names_a_design_metric() -> None:
    assert set(CANONICAL.values()) == DESIGN_NAMES


@pytest.mark.parametrize(("key", "name"), [
    # gradient norm as loops spell it
    ("gnorm", "grad_norm"), ("grad_norm", "grad_norm"), ("grad-norm", "grad_norm"), ("gradnorm", "grad_norm"),
    ("gradient_norm", "grad_norm"), ("grad norm", "grad_norm"),
    # token throughput: `tok/s`, `tokens/s`, `tokens/sec`, `tps`
    ("tok/s", "tokens_per_sec"), ("tokens/s", "tokens_per_sec"), ("tokens/sec", "tokens_per_sec"),
    ("tok/sec", "tokens_per_sec"), ("toks/s", "tokens_per_sec"), ("tokens_per_sec", "tokens_per_sec"),
    ("tps", "tokens_per_sec"), ("tokens_per_second", "tokens_per_sec"),
    ("samples/s", "samples_per_sec"), ("samples/sec", "samples_per_sec"), ("SamplesPerSec", "samples_per_sec"),
    # a rate prefix: Composer's `throughput/tokens_per_sec`
    ("throughput/tokens_per_sec", "tokens_per_sec"), ("throughput/samples_per_sec", "samples_per_sec"),
    ("lr", "lr"), ("learning_rate", "lr"), ("learning rate", "lr"),
    ("val_loss", "val_loss"), ("eval_loss", "val_loss"), ("valid_loss", "val_loss"), ("validation_loss", "val_loss"),
    # seconds per iteration is the step time (`s/it` of progress bars)
    ("s/it", "step_time"), ("sec/it", "step_time"), ("sec_per_step", "step_time"), ("time_per_step", "step_time"),
    ("bf16_mfu", "mfu"), ("train/loss", "loss"), ("train_tokens_per_second", "tokens_per_sec"),
])
def test_aliases(key: str, name: str) -> None:
    assert metric_name(key) == name


@pytest.mark.parametrize(("key", "name"), [
    ("eval_runtime", "eval_runtime"),  # HF users know it by this name
    ("train_steps_per_second", "train_steps_per_second"),  # a rate of steps: its value is no step time
    ("throughput/device/tokens_per_sec", "throughput_device_tokens_per_sec"),  # per device is another series
    ("norm", "norm"),  # only a step line's `norm` is the gradient norm (keyvalue); a dict's may be a weight norm
    ("train/val_loss", "train_val_loss"),  # the prefix is dropped only before a training metric
    ("memory/max_mem_active(gib)", "memory_max_mem_active_gib"),
])
def test_names_that_stay_their_own(key: str, name: str) -> None:
    assert metric_name(key) == name


@pytest.mark.parametrize(("key", "name"), [
    ("Acc@1", "acc1"), ("Acc@5", "acc5"), ("R@10", "r10"), ("best@16", "best16"),  # top-k: the meters format's names
    ("mAP@0.5", "map_0_5"), ("mAP@0.5:0.95", "map_0_5_0_95"),  # a threshold keeps its `_`
])
def test_a_top_k_at_drops_and_a_threshold_at_stays(key: str, name: str) -> None:
    from runwatch.parsers.pydict import metric_name

    assert metric_name(key) == name


@pytest.mark.parametrize(("key", "name"), [
    ("mIoU", "miou"), ("aAcc", "aacc"), ("mAcc", "macc"), ("fwIoU", "fwiou"), ("IoU", "iou"),  # mmsegmentation's
    ("meanIoU", "mean_iou"), ("IoU.road", "iou_road"), ("val_mIoU", "val_miou"),
    ("coco/bbox_mAP", "coco_bbox_map"), ("bbox_mAP_50", "bbox_map_50"), ("mAP50", "map50"), ("mAR", "mar"),
    ("memory(GiB)", "memory_gib"), ("max_reserved_MiB", "max_reserved_mib"),  # a binary unit, one word too
    ("GIoU", "giou"), ("CIoU", "ciou"),  # YOLO's box losses
    ("bbox/APl", "bbox_apl"), ("bbox/APs", "bbox_aps"), ("segm/ARm", "segm_arm"),  # COCO's by size (detectron2's)
    ("TFLOPs", "tflops"), ("GFLOPs", "gflops"),  # DeepSpeed-Chat's `TFLOPs: 0.57` read `tflo_ps` (a review)
    ("valAcc", "val_acc"), ("top1Acc", "top1_acc"), ("mAccuracy", "m_accuracy"), ("mAPE", "m_ape"),  # camel case
])
def test_segmentation_and_detection_metrics_are_one_word(key: str, name: str) -> None:
    """`mIoU` read `m_io_u` and `aAcc` `a_acc`, split at each capital (a review of an mmsegmentation log)."""
    from runwatch.parsers.pydict import metric_name

    assert metric_name(key) == name
