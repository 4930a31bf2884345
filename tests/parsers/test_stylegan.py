"""NVlabs' training loop's console (StyleGAN2-ADA, StyleGAN3): tick lines in kimg, the plan, a metric's JSON line."""

from __future__ import annotations

import pytest

from runwatch.model import Kind
from runwatch.parsers.stylegan import StyleGANParser
from tests.support.found import FOUND, found_lines, source_records


def test_a_stylegan2_ada_run_is_read_in_images_of_the_kimg_it_plans(capsys: pytest.CaptureFixture[str]) -> None:
    """A review's StyleGAN2-ADA run read as nothing at all (`UNREAD`): its ticks are steps in images shown (kimg ×
    1000) of the 25000 kimg it plans, its first FID an evaluation at the snapshot's kimg."""
    from runwatch.cli import main

    fmt, recs = source_records("stylegan2ada_wsi1024.log")
    assert fmt == "stylegan"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps] == [0, 4000, 8000, 12000, 16000, 20000]
    assert {r.total_steps for r in steps} == {25_000_000}
    assert steps[1].metrics == {
        "tick": 1.0, "elapsed": 29 * 60 + 25.0, "sec_per_tick": 579.4, "sec_per_kimg": 144.85, "maintenance_sec": 1099.8,
        "cpu_mem_gib": 4.52, "gpu_mem_gib": 7.49, "augment_p": 0.006, "step_time": 144.85 / 1000}
    assert steps[-1].metrics["elapsed"] == 3600 + 8 * 60 + 11.0  # `1h 08m 11s`
    [fid] = [r for r in recs if r.kind is Kind.EVAL]
    assert (fid.step, fid.metrics, fid.t) == (0, {"fid50k_full": 447.91339439137664}, 1624959292.3564472)
    assert main(["check", str(FOUND / "stylegan2ada_wsi1024.log")]) == 0
    assert "step 20000/25000000" in capsys.readouterr().out


def test_stylegan3s_reserved_memory_is_read_and_only_tick_lines_sign_it() -> None:
    """StyleGAN3's status line adds `reserved` (GiB); its `Evaluating metrics...` and the plan sign no format."""
    lines = found_lines("stylegan3_mnist_first_ticks.log")
    parser = StyleGANParser()
    recs = [r for x in lines if (r := parser.parse(x)) is not None]
    assert [r.step for r in recs if r.kind is Kind.STEP] == [0, 4000, 8000, 12000, 16000, 20000]
    assert recs[2].metrics["gpu_reserved_gib"] == 10.24 and recs[2].metrics["elapsed"] == 3600 + 23 * 60 + 2.0
    assert [parser.score(x) for x in lines if x] == [0, 2, 0, 0, 2, 2, 2, 2, 2]
