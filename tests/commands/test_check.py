"""`runwatch check`: real runs replayed through the rules; exit 0/1/2 (DESIGN §3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runwatch.cli import main
from tests.conftest import FIXTURES

HEALTHY = FIXTURES / "corpus/raw/nanochat_pr492_speedrun_d24_feb01.training_output.log"
SFT_NAN = FIXTURES / "corpus/raw/nanochat_pr657_sft_run.log"


def test_healthy_real_run_exits_0_with_no_alerts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(HEALTHY)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK")
    assert "no alerts" in out and "finished" in out


def test_run_that_goes_nan_exits_2_naming_rule_and_first_step(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(SFT_NAN)]) == 2
    out = capsys.readouterr().out
    assert out.startswith("CRITICAL")
    assert "nonfinite" in out and "step 9" in out  # PR #657: the first NaN loss is at step 9
    assert "still firing at the end" in out


def test_json_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(SFT_NAN), "--json"]) == 2
    obj = json.loads(capsys.readouterr().out)
    assert obj["exit_code"] == 2
    rules = {a["rule"] for a in obj["alerts"]}
    assert rules == {"nonfinite"}
    assert obj["alerts"][0]["first_step"] == 9


def overfit_log(path: Path) -> Path:
    """nanoGPT-format lines (`iter N: loss …` and `step N: train loss …, val loss …`) where val loss
    turns up for four evals while train loss keeps falling: overfitting, a warning."""
    lines = []
    val = [3.0, 2.6, 2.4, 2.3, 2.35, 2.45, 2.6, 2.8]
    for i in range(800):
        if i % 100 == 0:
            lines.append(f"step {i}: train loss {3.5 - i / 400:.4f}, val loss {val[i // 100]:.4f}")
        lines.append(f"iter {i}: loss {3.5 - i / 400:.4f}, time 35.20ms, mfu 45.00%")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_only_warnings_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(overfit_log(tmp_path / "train.log"))]) == 1
    out = capsys.readouterr().out
    assert out.startswith("WARNING") and "overfit" in out


def test_rule_override_disables_a_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = overfit_log(tmp_path / "train.log")
    assert main(["check", str(log), "--rule", "overfit.enabled=false"]) == 0


def test_missing_path_and_bad_override_are_one_line_errors(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "nope.log")]) == 2
    assert main(["check", str(SFT_NAN), "--rule", "stall.after=ten minutes"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert "no such file" in err[0]
    assert "stall.after" in err[1]
