"""`runwatch check` on every recorded real run: each planted fault caught by the right rule, nothing
raised on a healthy run, and every loss record at the step the training loop itself counted."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from runwatch.cli import main as runwatch_main
from tests.support.known_misses import KNOWN_MISSES
from tests.support.realruns import Recording, check_json, grade, recordings, step_mismatches, unexpected

RECS = recordings()


def _cases(what: str) -> list[object]:
    out: list[object] = []
    for rec in RECS:
        keys = [e["rule"] for e in rec.expect if not e.get("live_only")] if what == "finding" else [what]
        if what == "healthy" and not rec.healthy:
            continue
        for key in keys:
            miss = KNOWN_MISSES.get((rec.name, key))
            marks = [pytest.mark.xfail(reason=miss, strict=True)] if miss else []
            out.append(pytest.param(rec, key, marks=marks, id=f"{rec.name}:{key}"))
    return out


def test_recordings_are_there() -> None:
    assert len(RECS) >= 10, "tests/fixtures/realruns/ holds the run lab's recordings"


@pytest.mark.parametrize(("rec", "rule"), _cases("finding"))
def test_planted_fault_is_caught(rec: Recording, rule: str) -> None:
    _, runs, err = check_json(rec.run_dir)
    alerts = [a for run in runs for a in run["alerts"]]
    finding = next(f for f in grade(rec, alerts, one_shot=True) if f.expect["rule"] == rule)
    assert finding.alert is not None, f"{rule} not raised; alerts: {[a['rule'] for a in alerts]}; {err}"
    assert not finding.problems, finding.problems


@pytest.mark.parametrize(("rec", "what"), _cases("healthy"))
def test_healthy_run_raises_nothing(rec: Recording, what: str) -> None:
    rc, runs, err = check_json(rec.run_dir)
    alerts = [a for run in runs for a in run["alerts"]]
    assert alerts == [], alerts
    assert rc == 0
    assert any(run["step"] is not None for run in runs), f"no steps understood: {runs} {err}"


@pytest.mark.parametrize(("rec", "what"), _cases("steps"))
def test_steps_are_the_training_loops_own(rec: Recording, what: str) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        runwatch_main(["parse", "--output", "jsonl", str(rec.run_dir)])
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    with_loss = [r for r in records if r.get("kind") == "step" and "loss" in r.get("metrics", {})]
    if not with_loss and "loss" not in rec.log.read_text(encoding="utf-8", errors="replace").lower():  # its bar only
        steps = [r["step"] for r in records if r.get("kind") == "step" and r.get("step") is not None]
        if rec.truth.get("last_step") is None:  # the launch failed before a step (two NCCL ranks on one GPU)
            assert steps == []
            return
        assert steps == sorted(steps), "a step went back"
        assert steps[-1] == rec.truth["last_step"], f"last step {steps[-1]}, the loop's {rec.truth['last_step']}"
        return
    assert with_loss, "no loss records"
    bad = step_mismatches(rec, iter(records))
    assert not bad, f"{len(bad)} of {len(with_loss)} loss records disagree: {bad[:5]}"


@pytest.mark.parametrize(("rec", "what"), _cases("unexpected"))
def test_no_alert_beyond_the_planted_fault(rec: Recording, what: str) -> None:
    _, runs, _ = check_json(rec.run_dir)
    extra = unexpected(rec, [a for run in runs for a in run["alerts"]])
    assert extra == [], [(a["rule"], a["summary"]) for a in extra]


def test_an_nccl_error_of_every_rank_is_the_crash_not_the_launchers_report() -> None:
    """gpu-torchrun-nccl-dupgpu (a real H100): two NCCL ranks on one GPU; each rank's `DistBackendError: NCCL
    error in: … invalid usage` (then `Duplicate GPU detected`) and torchrun's ChildFailedError report. The
    rank's NCCL error is its own failure, not a cascade of another's death, and the launcher's report of it
    adds no second crash: one alert, the NCCL error, on rank 0."""
    rec = next(r for r in RECS if r.name == "gpu-torchrun-nccl-dupgpu")
    _, [run], _ = check_json(rec.run_dir)
    [crash] = run["alerts"]
    assert (crash["rule"], crash["labels"]["event"], crash["labels"]["rank"]) == ("crash", "nccl_error", 0)
    assert "invalid usage" in crash["summary"] and crash["summary"].startswith("NCCL error on rank 0 (ranks 0, 1)")


def test_the_rank_that_raised_is_named_not_the_one_its_death_broke() -> None:
    """torchrun-logdir-raise: rank 1 raises IndexError; rank 0 then fails in its next all-reduce with gloo's
    "Connection closed by peer". Each rank's traceback is in its own stderr.log (no step lines), read
    after the ranks' stdout; the crash alert names rank 1 and its IndexError, not rank 0's cascade. The
    console log (torchrun's own failure report) is the same run: its child failure names the root-cause
    rank, and that rank's traceback says why."""
    rec = next(r for r in RECS if r.name == "torchrun-logdir-raise")
    _, runs, _ = check_json(rec.run_dir)
    assert len(runs) == 1
    crashes = [a for run in runs for a in run["alerts"] if a["rule"] == "crash"]
    assert len(crashes) == 1, crashes
    assert crashes[0]["labels"]["rank"] == 1
    assert "IndexError" in crashes[0]["summary"]


def test_an_oom_alert_says_the_whole_exception_and_the_run_crashed() -> None:
    """A new user's review of hf-oom: the alert's summary was cut at 160 characters, `Error code 12
    (Cannot allocate memory)` reading `Error code 1`; and the bar's last redraw under the traceback
    made the run read incomplete rather than crashed."""
    rec = next(r for r in recordings() if r.name == "hf-oom")
    log = rec.log.read_text(errors="replace")
    line = next(ln for ln in log.splitlines() if "DefaultCPUAllocator" in ln).strip()
    assert len(line) > 160 and line.endswith("Error code 12 (Cannot allocate memory)")
    rc, runs, _ = check_json(rec.run_dir)
    assert rc == 2 and runs[0]["state"] == "crashed"
    crash = next(a for a in runs[0]["alerts"] if a["rule"] == "crash")
    assert crash["summary"].endswith(line)


def test_a_spike_that_recovered_reads_cleared_not_still_firing(capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: tutorial-spike's loss spike recovers by step 330 of 600, and `check` said
    `still firing at the end` (its resolve_after never passes in a log read whole). The rule no longer
    finds it at the last evaluation: `cleared before the end`; a NaN that lasts to the end still fires."""
    spike = next(r for r in recordings() if r.name == "tutorial-spike")
    assert runwatch_main(["check", str(spike.run_dir)]) == 1
    out = capsys.readouterr().out
    assert "loss_spike" in out and "cleared before the end" in out and "still firing" not in out
    nan = next(r for r in recordings() if r.name == "tutorial-nan")
    assert runwatch_main(["check", str(nan.run_dir)]) == 2
    assert "still firing at the end" in capsys.readouterr().out
