"""The settings a log prints before its first loss, from the real run lab logs."""

from __future__ import annotations

from pathlib import Path

from runwatch.report.preamble import head_lines, preamble

REALRUNS = Path(__file__).resolve().parents[1] / "fixtures/realruns"


def head(name: str) -> list[str]:
    return head_lines((REALRUNS / name / "run/train.log").read_bytes()[:65536])


def test_lightning_prints_its_model_summary_settings() -> None:
    lines = head("lightning-tqdm-healthy")
    got = dict(preamble(lines).settings)
    wanted = next(ln for ln in lines if ln.startswith("Trainable params"))
    assert got["Trainable params"] == wanted.split(":", 1)[1].strip()
    assert preamble(lines).hardware() is None  # "GPU available: False" names no GPU


def test_nothing_after_the_first_loss_and_no_warnings() -> None:
    lines = head("nanogpt-tb-healthy")
    first_loss = next(i for i, ln in enumerate(lines) if "loss" in ln)
    got = preamble(lines).settings
    assert got == preamble(lines[:first_loss]).settings and ("number of parameters", "0.17M") in got
    assert not any(k.lower().startswith(("warn", "wandb")) for k, _ in preamble(head("hf-wandb-healthy")).settings)
