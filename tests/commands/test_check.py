"""`runwatch check`: real runs replayed through the rules; exit 0/1/2 (DESIGN §3)."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from runwatch.cli import main
from runwatch.commands.check import run_check
from runwatch.config import load_config
from tests.support.imports import BLOCK_WANDB
from tests.support.paths import FIXTURES
from tests.support.realruns import REALRUNS, kv_run_that_raised
from tests.support.runs import (
    CSV_NAN_STEP,
    HEALTHY,
    HF_NAN_STEP,
    SFT_NAN,
    TB_NAN_STEP,
    WANDB_NAN_STEP,
    WANDB_STEPS,
    copy_wandb_run,
    hf_checkpoint,
    lightning_csv,
    tensorboard_events,
    the_wandb_file,
    truncated_log,
    wandb_run,
)
from tests.support.stamped import megatron_deepspeed_log, megatron_log
from tests.support.tensorboard import needs_tensorboard


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


def test_an_alert_says_what_its_rule_found_last_not_first(capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: the SFT run logs 125 NaN losses from step 9 on, and `check` said "23 of the
    23 values" (what the rule had found when the alert first fired)."""
    nans = SFT_NAN.read_text().count("loss: nan")
    assert nans > 100
    assert main(["check", str(SFT_NAN)]) == 2
    assert f"({nans} of the {nans} steps logged from there on are not finite)" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["lightning-tqdm-dlhang", "keras-v1-dlhang"])
def test_a_bars_rate_after_a_hang_is_no_slowdown(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: `check` of lightning-tqdm-dlhang's train.log warned `step_time_drift … 6.7e+02×
    … still firing at the end` beside the stall: after the hang Lightning's bar prints the epoch's mean rate,
    slow for the 110 steps left of the epoch, and the run ended at 200 it/s. The bar's clock is the pace
    (Keras's: its mean step time × its batches, whose 75 s hang `check` could not see before)."""
    assert main(["check", str(REALRUNS / name / "run/train.log"), "--json"]) == 2
    obj = json.loads(capsys.readouterr().out)
    assert obj["notes"] == [] and [a["rule"] for a in obj["alerts"]] == ["stall"]


def test_a_hang_its_tensorboard_events_show_is_found_beside_a_log_without_times(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The run lab's nanoGPT loop on an H200 hung 75 s at step 600; its log prints `time …ms`, which showed the
    hang. A loop that prints no step time beside its TensorBoard events (the same run, `, time …ms` taken off
    its lines): `check` of the run directory read OK, its clock made up from the log while every event stamps
    its step's wall time. The stamps are the clock now, and the note of a log without times is not said."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(REALRUNS / "gpu-nanogpt-hang/run", run)
    log = run / "train.log"
    log.write_text(re.sub(r", time [\d.]+ms", "", log.read_text()))
    assert main(["check", str(log), "--json"]) == 0  # the log alone cannot show it (its note says so)
    assert json.loads(capsys.readouterr().out)["notes"][0].startswith("no step line carries a time of day or")
    assert main(["check", str(run), "--json"]) == 2
    obj = json.loads(capsys.readouterr().out)
    assert obj["notes"] == []
    [stall] = obj["alerts"]
    assert stall["rule"] == "stall" and stall["first_step"] == 599 and 74 < stall["value"] < 76


@pytest.mark.parametrize(("name", "said"), [
    ("keras-v1-slow", "still slow: steps take 0.044 s, past the 0.0125 s it fired at; the slower pace is now the "
                      "baseline it compares with"),  # 8× slower from step 400 to the end
    ("nanogpt-tb-slowfor", "pace back: steps take 0.03805 s (it fired past 0.05863 s)"),  # slow for a while, timed
    # by its event file's wall times (the steps between them the log prints are placed at the last one)
])
def test_a_slowdown_that_cleared_says_whether_it_is_over(name: str, said: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: the run lab's Keras run, 8× slower from step 400 to its end, read
    `step_time_drift … cleared before the end`: its slow frames had become most of the rule's baseline. A
    slowdown that is over says so too."""
    manifest = json.loads((REALRUNS / name / "manifest.json").read_text())
    assert manifest["fault"].startswith(("slow@", "slowfor@"))
    assert main(["check", str(REALRUNS / name / "run"), "--json"]) == 1
    [drift] = json.loads(capsys.readouterr().out)["alerts"]
    assert (drift["rule"], drift["cleared_before_end"], drift["cleared_why"]) == ("step_time_drift", True, said)
    assert main(["check", str(REALRUNS / name / "run")]) == 1
    assert f"           cleared: {said}\n" in capsys.readouterr().out


@pytest.mark.parametrize("steps", [60, 120])
def test_a_crash_after_the_steps_of_a_key_value_log_is_critical(tmp_path: Path, steps: int,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: `check` said OK (exit 0) of a key=value log that ended in a traceback, which
    `tail -` called a crash. The held steps came after the crash: replayed first, the crash was followed by
    a new attempt."""
    log = kv_run_that_raised(tmp_path / "train.log", steps)
    assert main(["check", str(log), "--json"]) == 2
    obj = json.loads(capsys.readouterr().out)
    assert obj["state"] == "crashed" and obj["step"] == steps
    [crash] = obj["alerts"]
    assert (crash["rule"], crash["first_step"], crash["firing_at_end"]) == ("crash", steps, True)
    assert crash["summary"].startswith("uncaught exception: IndexError: index 304 is out of bounds")


def test_a_crash_before_the_run_started_again_ends_with_its_attempt(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: a log run twice (an OOM, then a rerun from the start) said the first attempt's
    crash lasted to step 320 of the second: it counted for its `hold` while the second attempt ran."""
    oom = (REALRUNS / "tutorial-oom/run/train.log").read_bytes()
    log = tmp_path / "train.log"
    log.write_bytes(oom + (REALRUNS / "tutorial-healthy/run/train.log").read_bytes())
    assert main(["check", str(REALRUNS / "tutorial-oom/run/train.log"), "--json"]) == 2
    [alone] = json.loads(capsys.readouterr().out)["alerts"]
    assert main(["check", str(log), "--json"]) == 2
    [crash] = json.loads(capsys.readouterr().out)["alerts"]
    assert (crash["rule"], crash["first_step"], crash["last_step"]) == ("crash", alone["first_step"], alone["last_step"])
    assert alone["first_step"] == alone["last_step"] == 290  # its last logged step (it logs every 10th)
    assert not crash["firing_at_end"]


def test_a_bar_before_training_is_no_attempt_of_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: a TRL SFT job's dataset-packing bar (`153/400`, no loss) then its training bar
    (`0/500`) read "the run started again once". A bar of another total after one that never carried a loss
    is another loop ahead of training; the crash is still at the training bar's step."""
    log = FIXTURES / "found" / "trl_sft_packing_bar_diskquota_crash.err"
    assert main(["check", str(log), "--json"]) == 2
    obj = json.loads(capsys.readouterr().out)
    assert (obj["step"], obj["total_steps"], obj["state"], obj["notes"]) == (260, 500, "crashed", [])
    [crash] = obj["alerts"]
    assert "FilesystemQuotaExceeded" in crash["summary"] and crash["first_step"] == 260
    log = FIXTURES / "found" / "lora_tokenising_bar_then_training_bar.txt"  # `87/87 examples/s`, then `0/30`
    assert main(["check", str(log), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert (obj["step"], obj["total_steps"], obj["state"], obj["notes"]) == (2, 30, "ended", [])


def test_a_log_without_times_is_said_to_hide_hangs(capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: `check` said OK on the run lab's 75 s hangs in logs whose lines carry no time
    (tutorial-dlhang, nanogpt-tb-hang), and nothing said a hang cannot show there. A progress bar's
    elapsed time is a time: its hang is caught, with no such note."""
    from tests.support.realruns import recordings

    by_name = {r.name: r for r in recordings()}
    assert main(["check", str(by_name["tutorial-dlhang"].run_dir), "--json"]) == 0
    (note_said,) = json.loads(capsys.readouterr().out)["notes"]
    assert note_said.startswith("no step line carries a time of day or a step time")
    assert main(["check", str(by_name["lightning-tqdm-dlhang"].run_dir), "--json"]) == 2
    obj = json.loads(capsys.readouterr().out)
    assert obj["notes"] == [] and [a["rule"] for a in obj["alerts"]] == ["stall"]


@pytest.mark.parametrize("per_line", [False, True], ids=["columns", "per-line"])
def test_a_hang_inside_a_printed_step_shows_in_its_step_time(per_line: bool, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """nanoGPT prints each logged iteration's time: the run lab's 75 s hang at iter 350 is `time 75040.01ms`.
    `check` capped every record's move of its clock at a minute and said OK (live only, the scorecard said);
    the log's own word for one step's length now moves the clock, and the stall shows and resolves."""
    from tests.support.realruns import recordings

    if per_line:  # the replay clock's per-record path rather than its block path
        monkeypatch.setenv("RUNWATCH_NO_FAST_PATH", "1")
    hang = next(r for r in recordings() if r.name == "nanogpt-tb-hang")
    assert main(["check", str(hang.log), "--json"]) == 2
    obj = json.loads(capsys.readouterr().out)
    (stall,) = obj["alerts"]
    assert stall["rule"] == "stall" and stall["first_step"] == 345 and not stall["firing_at_end"]
    assert isinstance(stall["value"], float) and stall["value"] > 60  # seconds, a number as `tail --json`'s
    assert obj["notes"][0].startswith("no step line carries a time of day: a hang shows in the log once written only inside")
    healthy = next(r for r in recordings() if r.name == "nanogpt-tb-healthy")
    assert main(["check", str(healthy.log), "--json"]) == 0


def test_json_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(SFT_NAN), "--json"]) == 2
    obj = json.loads(capsys.readouterr().out)
    assert obj["exit_code"] == 2
    assert obj["state"] == "ended"  # as the text report says; it read "running" (a new user's review)
    rules = {a["rule"] for a in obj["alerts"]}
    assert rules == {"nonfinite"}
    assert obj["alerts"][0]["first_step"] == 9
    assert obj["alerts"][0]["value"] == "nan"  # as `tail --json` says it; it was "NaN" (a new user's review)


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
    assert main(["check", str(tmp_path / "nope.log")]) == 3  # a source that cannot be read (DESIGN §3)
    assert main(["check", str(SFT_NAN), "--rule", "stall.after=ten minutes"]) == 64  # a usage error, not 2 (a critical alert)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert "no such file" in err[0]
    assert "stall.after" in err[1]


def test_a_typo_is_no_critical_alert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: an unknown flag, a bad `--rule` value and a config key typo all exited 2, as a
    critical alert does: a CI gate could not tell a typo from a NaN. They exit 64 (EX_USAGE)."""
    cfg = tmp_path / "runwatch.toml"
    cfg.write_text('[rules.stall]\naftr = "5m"\n')
    with pytest.raises(SystemExit) as exited:
        main(["check", str(HEALTHY), "--no-such-flag"])
    assert exited.value.code == 64
    assert main(["check", str(HEALTHY), "--rule", "stall.after=abc"]) == 64
    assert main(["check", str(HEALTHY), "--config", str(cfg)]) == 64
    err = capsys.readouterr().err
    assert "--no-such-flag" in err and "stall.after" in err and "aftr" in err


def test_a_fault_mid_log_is_caught_when_no_line_carries_a_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The real 16,704-step run, step lines only (no eval pauses), one loss made NaN at step 8000:
    every record is read at one instant, so the replay must rebuild time, not take the read time."""
    steps = [ln for ln in HEALTHY.read_text().splitlines() if ln.startswith("step ")]
    at = next(i for i, ln in enumerate(steps) if ln.startswith("step 08000/"))
    steps[at] = steps[at].replace("loss: 2.649165", "loss: nan")
    assert "loss: nan" in steps[at]
    log = tmp_path / "train.log"
    log.write_text("\n".join(steps) + "\n")
    assert main(["check", str(log)]) == 2
    out = capsys.readouterr().out
    assert "nonfinite" in out and "step 8000" in out


def test_a_slowdown_that_came_and_went_mid_log_is_caught_at_its_step(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The real run, its steps 9000–9059 taking 4× their logged time (a node slowed for 3 minutes): a
    check judges this far into a long log every few hundred records, and the slowdown has come and gone
    between two looks; the drift rule looks back over every window since."""
    steps = [ln for ln in HEALTHY.read_text().splitlines() if ln.startswith("step ")]
    for i, ln in enumerate(steps):
        step = int(ln[5:10])
        if 9000 <= step < 9060:
            dt = ln.split("dt: ")[1].split("ms")[0]
            steps[i] = ln.replace(f"dt: {dt}ms", f"dt: {4 * float(dt):.2f}ms")
    log = tmp_path / "train.log"
    log.write_text("\n".join(steps) + "\n")
    assert main(["check", str(log), "--json"]) == 1
    (alert,) = json.loads(capsys.readouterr().out)["alerts"]
    assert alert["rule"] == "step_time_drift" and 9000 < alert["first_step"] < 9060, alert
    assert not alert["firing_at_end"]


# -- every source `tail` reads (W&B, trainer_state.json, metrics.csv, stdin) --------------------


@pytest.fixture(scope="module")
def wandb_nan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("wandb") is None:
        pytest.skip("needs the wandb package")
    return wandb_run(tmp_path_factory)


def test_a_wandb_run_is_judged_without_the_wandb_package(wandb_nan: Path) -> None:
    """Local W&B runs need only `protobuf`: the same run, checked with `import wandb` made to fail."""
    code = BLOCK_WANDB + "from runwatch.cli import main\nsys.exit(main(['check', sys.argv[1]]))\n"
    done = subprocess.run([sys.executable, "-c", code, str(wandb_nan)], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).parents[2])
    assert done.returncode == 2, done.stderr
    assert f"loss is NaN at step {WANDB_NAN_STEP}" in done.stdout
    assert "wandb" not in done.stderr


@pytest.mark.parametrize("where", ["dir", "wandb", "latest-run", "run-dir", "file"])
def test_a_wandb_run_with_a_nan_is_critical_at_its_step(wandb_nan: Path, tmp_path: Path, where: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Regression: `check wandb/` read wandb's own debug logs (OK, exit 0); `check run-*.wandb` said 0 records."""
    root = copy_wandb_run(wandb_nan, tmp_path / "exp")
    run_file = the_wandb_file(root)
    path = {"dir": root, "wandb": root / "wandb", "latest-run": root / "wandb" / "latest-run",
            "run-dir": run_file.parent, "file": run_file}[where]
    assert main(["check", str(path)]) == 2
    out = capsys.readouterr().out
    assert out.startswith("CRITICAL") and f"step {WANDB_STEPS - 1}/{WANDB_STEPS}" in out
    assert f"{WANDB_STEPS + 1} records" in out  # 200 history rows and the exit record, nothing of the debug logs
    assert "nonfinite" in out and "metric=loss" in out
    assert f"first step {WANDB_NAN_STEP}, last step {WANDB_NAN_STEP}" in out  # its one NaN
    assert f"loss is NaN at step {WANDB_NAN_STEP}" in out


def test_format_wandb_is_accepted_and_json_has_first_and_last_step(wandb_nan: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--format", "wandb", "--json", str(wandb_nan)]) == 2
    obj = json.loads(capsys.readouterr().out)
    [alert] = obj["alerts"]
    assert (alert["rule"], alert["first_step"], alert["last_step"]) == ("nonfinite", WANDB_NAN_STEP, WANDB_NAN_STEP)
    assert obj["state"] == "finished" and obj["warnings"] == []


def test_a_checkpoint_dirs_trainer_state_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Regression: a dir holding only `checkpoint-N/trainer_state.json` was "no training logs found"
    (exit 2 for the wrong reason), and the file itself was `OK … 0 records`."""
    state = hf_checkpoint(tmp_path / "out")
    for path in (tmp_path / "out", state.parent, state):
        assert main(["check", str(path)]) == 2, path
        out = capsys.readouterr().out
        assert "nonfinite" in out and "metric=grad_norm" in out and f"first step {HF_NAN_STEP}," in out
        assert "step 2790/2808" in out  # the excerpt's last train entry and its max_steps


def test_a_lightning_metrics_csv_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Regression: `check metrics.csv` was OK, exit 0."""
    csv_path = lightning_csv(tmp_path / "exp")
    for path in (tmp_path / "exp", csv_path):
        assert main(["check", str(path)]) == 2, path
        out = capsys.readouterr().out
        assert "nonfinite" in out and "metric=loss" in out and f"first step {CSV_NAN_STEP}," in out


def test_a_healthy_wandb_run_next_to_a_healthy_log_is_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The healthy real log with a Lightning CSV whose NaN is fixed: one run, two sources, nothing fires;
    the check can fail (the next test plants the NaN back)."""
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "train.log").write_bytes(HEALTHY.read_bytes())
    csv_path = lightning_csv(exp)
    csv_path.write_text(csv_path.read_text().replace("nan", "6.5"))
    assert main(["check", str(exp)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK") and "finished" in out and "incomplete" not in out
    csv_path.write_text(csv_path.read_text().replace("6.5", "nan", 1))
    assert main(["check", str(exp)]) == 2


def test_stdin_is_read_to_eof(capsys: pytest.CaptureFixture[str]) -> None:
    p = subprocess.run([sys.executable, "-m", "runwatch", "check", "-"], input=SFT_NAN.read_bytes(),
                       capture_output=True, timeout=120)
    assert p.returncode == 2, p.stderr.decode()
    out = p.stdout.decode()
    assert out.startswith("CRITICAL stdin  (-)") and "nonfinite" in out and "first step 9, last step 133" in out


def test_stdin_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_check(["-"], config=load_config(None), fmt=None, total_steps=None, as_json=False,
                     out=sys.stdout, stdin=io.BytesIO(truncated_log_bytes())) == 0
    out = capsys.readouterr().out
    assert "incomplete: stopped at 145/16704" in out  # the pipe ended below the total


def truncated_log_bytes() -> bytes:
    lines = HEALTHY.read_bytes().splitlines(keepends=True)
    end = next(i for i, line in enumerate(lines) if line.startswith(b"step 00145/16704"))
    return b"".join(lines[: end + 1])


def test_a_truncated_log_is_reported_incomplete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Regression: a log that stops at step 145 of 16704 was `OK … ended`. Still exit 0 (no rule fired:
    DESIGN §3's exit codes count alerts), but the report says where it stopped."""
    log = truncated_log(tmp_path / "train.log")
    assert main(["check", str(log)]) == 0
    out = capsys.readouterr().out
    assert "step 145/16704  ended" in out  # the state as --json says it (a new user's review: they differed)
    assert "warning  incomplete: stopped at 145/16704 (no finish line, and the log ends there)" in out
    assert main(["check", "--json", str(log)]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == [
        "incomplete: stopped at 145/16704 (no finish line, and the log ends there)"]  # as the text says it
    assert main(["check", str(HEALTHY)]) == 0
    assert "incomplete" not in capsys.readouterr().out


def test_first_and_last_step_of_an_alert_are_both_shown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(SFT_NAN)]) == 2
    assert "first step 9, last step 133; still firing at the end" in capsys.readouterr().out


def test_no_steps_is_said_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "crash.log"
    log.write_text("Traceback (most recent call last):\n  File \"train.py\", line 3, in <module>\n"
                   "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n")
    assert main(["check", str(log)]) == 2
    out, err = capsys.readouterr()
    assert "crash" in out and "no steps" in out and "None" not in out
    assert "nothing understood" not in err and "only events" not in out  # a crash is read: judged, not UNREAD


def test_a_source_read_as_nothing_is_said_not_just_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A trainer_state.json cut short: stderr says why, the report says nothing was read, and the exit
    status says so (3: a gate must not pass on input nobody judged; it used to exit 0, OK)."""
    state = tmp_path / "out" / "trainer_state.json"
    state.parent.mkdir()
    state.write_text('{"max_steps": 500, "log_history": [{"loss": 2.0, "step": 10},')
    assert main(["check", str(state)]) == 3
    out, err = capsys.readouterr()
    assert out.startswith("UNREAD") and "warning  no records: nothing these sources hold was understood" in out
    assert "trainer_state.json is not valid JSON" in err and "nothing understood" in err
    state.write_text(state.read_text().rstrip(",") + "]}")
    assert main(["check", str(state)]) == 0
    out, err = capsys.readouterr()
    assert "1 records" in out and "no records" not in out and err == ""
    assert "incomplete: stopped at 10/500" in out  # an HF run checked from a trainer_state.json mid-run


@needs_tensorboard
def test_tensorboard_events_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tensorboard_events(tmp_path / "exp" / "runs" / "a")
    assert main(["check", str(tmp_path / "exp")]) == 2
    out = capsys.readouterr().out
    assert "nonfinite" in out and f"first step {TB_NAN_STEP}, last step {TB_NAN_STEP}" in out


def _with_last_step_replaced(path: Path, step_text: str) -> Path:
    """The truncated real run with its last line's `00145/16704` counter replaced (only the number changes)."""
    lines = path.read_text().splitlines(keepends=True)
    lines[-1] = lines[-1].replace("00145/16704", step_text, 1)
    path.write_text("".join(lines))
    return path


def test_step_over_308_digits_makes_no_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _with_last_step_replaced(truncated_log(tmp_path / "train.log"), "9" * 309 + "/16704")
    assert main(["check", str(log)]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert "incomplete: stopped at 144/16704" in captured.out  # the bogus line is no step


def test_bogus_step_past_its_total_does_not_finish_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _with_last_step_replaced(truncated_log(tmp_path / "train.log"), "999999999999/100")
    main(["check", str(log), "--json"])
    obj = json.loads(capsys.readouterr().out)
    assert obj["state"] != "finished"
    assert obj["warnings"] == ["incomplete: stopped at 144/16704 (no finish line, and the log ends there)"]


@pytest.mark.parametrize("what", ["binary", "empty", "damaged-wandb"])
def test_check_and_parse_exit_3_on_what_they_could_not_read(what: str, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 10: `check` on a binary file, an empty file or a W&B run it cannot read printed
    `OK … no alerts` and exited 0: a CI gate using it passed on anything."""
    if what == "binary":
        path = tmp_path / "train.log"
        path.write_bytes(bytes(range(256)) * 64)
    elif what == "empty":
        path = tmp_path / "train.log"
        path.touch()
    else:
        path = tmp_path / "run-x.wandb"
        path.write_bytes(b"definitely not a transaction log" * 10)
    assert main(["check", str(path)]) == 3
    out, err = capsys.readouterr()
    assert out.startswith("UNREAD") and "OK" not in out.split()[0]
    assert err.strip() and all(line.startswith("runwatch: ") for line in err.strip().splitlines())
    said = {"binary": "train.log is a binary file (NUL bytes in its first 4,096 bytes), not a text log",
            "empty": "nothing understood: an empty file"}.get(what)  # a new user's review: both read the same
    assert said is None or said in err
    assert main(["parse", str(path), "--output", "summary"]) == 3
    assert main(["check", str(path), str(SFT_NAN)]) == 2  # a critical alert elsewhere still comes first


@pytest.mark.parametrize("data", [bytes(range(256)) * 64, b"", b"hello world\n"], ids=["binary", "empty", "prose"])
def test_stdin_of_which_nothing_was_understood_is_unread_as_a_file_is(data: bytes,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: `check - < junk.bin` (or empty stdin, or prose) printed `OK stdin (-) … 1 records`
    and exited 0 where the same bytes in a file are UNREAD, exit 3: the one record was the synthetic
    `input ended` exit event, counted as something understood."""
    from runwatch.commands.parse import run_parse

    assert run_check(["-"], config=load_config(None), fmt=None, total_steps=None, as_json=False,
                     out=sys.stdout, stdin=io.BytesIO(data)) == 3
    out, err = capsys.readouterr()
    assert out.startswith("UNREAD   stdin  (-)  no steps  0 records\n")
    assert "runwatch: -: nothing understood" in err
    assert run_parse(["-"], fmt=None, output="jsonl", total_steps=None, out=sys.stdout, stdin=io.BytesIO(data)) == 3
    assert capsys.readouterr().out == ""


def test_a_log_of_one_step_line_is_checked_not_unread(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: the first line of a kv log alone (`step=1 … loss=2.3569`) was UNREAD, exit 3."""
    log = tmp_path / "train.log"
    log.write_bytes((REALRUNS / "kvlog-healthy" / "run" / "train.log").read_bytes().splitlines(keepends=True)[0])
    assert main(["check", str(log)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK") and "step 1  ended  1 records" in out


def _nanogpt_loop(path: Path, iters: int) -> Path:
    """A nanoGPT run of `iters` iterations, 0 to iters-1, each line as nanogpt-tb-healthy's `iter 5` line."""
    lines = (REALRUNS / "nanogpt-tb-healthy" / "run" / "train.log").read_text().splitlines()
    line = next(x for x in lines if x.startswith("iter 5:"))
    path.write_text("".join(line.replace("iter 5:", f"iter {i}:") + "\n" for i in range(iters)))
    return path


@pytest.mark.parametrize("which", ["tutorial-diverge", "kvlog-nan", "nanogpt-loop-300"])
def test_check_of_a_file_and_of_the_same_bytes_piped_say_the_same(which: str, tmp_path: Path) -> None:
    """A new user's review: `check FILE` said `step 299/300  ended  300 records` (and warned it incomplete)
    where `cat FILE | check -` said `finished  301 records`, and a spike's threshold differed: a pipe was
    read line by line and ended with a synthetic exit record, a file in blocks without one."""
    if which == "nanogpt-loop-300":
        path, total = _nanogpt_loop(tmp_path / "train.log", 300), 300
    else:
        path, total = REALRUNS / which / "run" / "train.log", None

    def check(arg: str, stdin: io.BytesIO | None = None) -> tuple[int, str]:
        out = io.StringIO()
        code = run_check([arg], config=load_config(None), fmt=None, total_steps=total, as_json=False,
                         out=out, stdin=stdin, err=io.StringIO())
        return code, out.getvalue()

    code, from_file = check(str(path))
    piped_code, piped = check("-", io.BytesIO(path.read_bytes()))
    assert from_file.startswith(f"{from_file.split()[0]:<8} train  ({path})  ")
    assert piped_code == code
    assert piped == from_file.replace(f"train  ({path})", "stdin  (-)", 1)
    if which == "nanogpt-loop-300":
        assert "step 299/300  finished  300 records" in from_file and "incomplete" not in from_file


def test_a_rule_that_raises_is_reported_not_a_traceback(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 10: a rule that raised crashed `check` with a traceback (only the live path isolated rules).
    Now both use one isolated evaluation (runwatch.alerts.judge): the others still judge, the report and
    stderr say which rule failed, and the status is 3 (the run was not fully judged) unless a critical
    alert fired."""
    from runwatch.alerts.rules.loss import LossSpike

    def broken(self: LossSpike, run: object, now: float) -> list[object]:
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(LossSpike, "check", broken)
    assert main(["check", str(SFT_NAN)]) == 2  # nonfinite still fires
    out, err = capsys.readouterr()
    assert "nonfinite" in out and "rule loss_spike failed (ZeroDivisionError: float division by zero)" in out
    assert "rule loss_spike failed" in err
    assert main(["check", str(HEALTHY)]) == 3


def test_lines_a_parser_raised_on_are_reported_and_the_status_says_unread(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 12: a parser exception was swallowed as "no record", and `check` said OK on a log some of
    whose lines it never read. Now the report and stderr say how many lines and which parser, and the
    status is 3 (not fully read) unless a critical alert fired; `parse --output summary` counts them."""
    from runwatch.parsers.events import EventDetector
    from tests.support.faults import raise_on_lines

    # on the eval lines: the detector is fed only the lines some reader may act on (runwatch.parsers.screen)
    raise_on_lines(monkeypatch, EventDetector, "feed", "Step ", UnicodeError("detector bug"))
    assert main(["check", str(HEALTHY)]) == 3
    out, err = capsys.readouterr()
    said = "74 lines runwatch failed to parse (event detection UnicodeError ×74: detector bug)"
    assert out.startswith("OK") and f"warning  {HEALTHY}: {said}" in out
    assert f"runwatch: {HEALTHY}: {said}" in err
    assert main(["check", "--json", str(HEALTHY)]) == 3
    assert any(said in w for w in json.loads(capsys.readouterr().out)["warnings"])
    assert main(["parse", str(HEALTHY), "--output", "summary"]) == 3
    out, err = capsys.readouterr()
    assert "failed     74 lines a parser raised on" in out and said in err


def test_a_run_written_twice_into_one_log_is_two_attempts_not_a_divergence(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A review: the run lab's healthy nanoGPT log written twice (`python train.py >> train.log` run again)
    was CRITICAL `loss_divergence`, the second attempt's untrained loss against the first's trained one.
    Each attempt is judged on its own, and a fault of the first one is still reported."""
    from tests.support.realruns import recordings

    by_name = {r.name: r for r in recordings()}
    healthy = (by_name["nanogpt-tb-healthy"].run_dir / "train.log").read_bytes()
    nan = (by_name["nanogpt-tb-nan"].run_dir / "train.log").read_bytes()
    twice = tmp_path / "train.log"
    twice.write_bytes(healthy + healthy)
    assert main(["check", str(twice), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["alerts"] == []
    (restart,) = [n for n in obj["notes"] if "started again" in n]
    lines = healthy.splitlines()
    first_line_again = len(lines) + 1 + next(i for i, x in enumerate(lines) if x.startswith(b"iter 0:"))
    assert f"line {first_line_again:,}" in restart and "(step 0, after step 595)" in restart
    twice.write_bytes(nan + healthy)
    assert main(["check", str(twice), "--json"]) == 2
    obj = json.loads(capsys.readouterr().out)
    assert {(a["rule"], a["labels"].get("metric")) for a in obj["alerts"]} >= {("nonfinite", "loss")}
    for run in ("nanogpt-tb", "tutorial"):  # a review: a NaN attempt between two healthy ones was OK
        ok, bad = ((by_name[f"{run}-{fault}"].run_dir / "train.log").read_bytes() for fault in ("healthy", "nan"))
        twice.write_bytes(ok + bad + ok)
        assert main(["check", str(twice), "--json"]) == 2, run
        obj = json.loads(capsys.readouterr().out)
        assert {(a["rule"], a["labels"].get("metric")) for a in obj["alerts"]} >= {("nonfinite", "loss")}


def test_a_resume_from_an_earlier_checkpoint_and_a_next_phase_are_new_attempts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A review: the real nanoGPT run resumed from step 120 after reaching 495 was CRITICAL loss_divergence
    (the reloaded weights' higher loss against the lowest level reached); nanochat's SFT written after its
    pre-training in one log was judged as one run (a 97% throughput drop, a loss spike, step 16703)."""
    from tests.support.realruns import recordings

    by_name = {r.name: r for r in recordings()}
    lines = (by_name["nanogpt-tb-healthy"].run_dir / "train.log").read_bytes().splitlines(keepends=True)
    resumed = tmp_path / "resumed.log"
    resumed.write_bytes(b"".join(lines[:100] + lines[25:125]))
    assert main(["check", str(resumed), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["alerts"] == [] and [n for n in obj["notes"] if "started again once" in n]
    phases = tmp_path / "speedrun.log"
    phases.write_bytes(HEALTHY.read_bytes() + SFT_NAN.read_bytes())
    assert main(["check", str(phases), "--json"]) == 2
    obj = json.loads(capsys.readouterr().out)
    assert [(a["rule"], a["labels"].get("metric")) for a in obj["alerts"]] == [("nonfinite", "loss")]
    assert obj["step"] == 133


@pytest.mark.parametrize(("excerpt", "code", "said"), [
    # transformers#14531: HF Trainer under DeepSpeed fp16, `[Rank 0] step=2000, skipped=1995` glued to the bar
    ("Excerpt D4", 2, "1995 of the first 1999 steps skipped for fp16 overflow: the run is not training"),
    # DeepSpeed#1825: `skipped=2` at steps 40-60, the loss scale settling at the start: healthy
    ("Excerpt D1", 0, "no alerts"),
])
def test_deepspeed_skipping_nearly_every_step_is_a_critical_alert(
    excerpt: str, code: int, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """`runwatch check` on a run that skipped 1995 of its 2000 steps for fp16 overflow said nothing: the
    Trainer's log was read as hf-trainer, DeepSpeed's own line was left unread, and no rule read its count."""
    from tests.support.corpus import md_block

    log = tmp_path / "train.log"
    log.write_text("\n".join(md_block("deepspeed.md", excerpt)) + "\n")
    assert main(["check", str(log)]) == code
    assert said in capsys.readouterr().out


@pytest.mark.parametrize("fmt", [None, "megatron", "deepspeed"])
def test_a_megatron_deepspeed_log_is_judged_on_its_loss_and_its_stamps_however_its_format_is_named(
    fmt: str | None, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Detected (or forced) as Megatron, a Megatron-DeepSpeed log lost the engine lines' stamps (`no line
    carries a time`); forced as DeepSpeed it lost the loss, and its NaN went unseen."""
    log = tmp_path / "train.log"
    log.write_text("\n".join(megatron_deepspeed_log(1500, nan_at=(1000,), hang_at=500)) + "\n")
    assert main(["check", str(log), "--json", *(["--format", fmt] if fmt else [])]) == 2
    out = json.loads(capsys.readouterr().out)
    found = {(a["rule"], a["labels"].get("metric")): a["first_step"] for a in out["alerts"]}
    assert found == {("nonfinite", "loss"): 1000, ("stall", None): 499}
    assert out["notes"] == []  # the log's own times were read


@pytest.mark.parametrize(("lines", "nan_steps"), [(megatron_deepspeed_log(3000, nan_at=(1000,)), (1000, 1000)),
                                                  (megatron_log(3000, nan_at=2000), (2000, 2004))])
def test_a_one_off_nan_is_reported_at_its_own_steps_not_at_the_steps_the_rule_still_saw_it(
    lines: list[str], nan_steps: tuple[int, int], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A new user's review: one NaN at step 100071 read `first step 100071, last step 101076`, the run's
    step at the last evaluation whose window still held the NaN. The last step is the newest NaN's."""
    log = tmp_path / "train.log"
    log.write_text("\n".join(lines) + "\n")
    assert main(["check", str(log), "--json"]) == 2
    alerts = json.loads(capsys.readouterr().out)["alerts"]
    nan = next(a for a in alerts if a["rule"] == "nonfinite" and a["labels"] == {"metric": "loss"})
    assert (nan["first_step"], nan["last_step"]) == nan_steps
    assert not nan["firing_at_end"] and not nan["cleared_before_end"]  # finite values followed: resolved


def test_a_second_nan_while_the_first_fires_moves_the_last_step_and_sends_nothing_more(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A new user's review: a second NaN 100 steps after the first, the alert still firing, showed nowhere.
    `check` names it in the alert's last step; it is the same alert: one FIRING, as
    Alertmanager dedupes it (no second Slack message)."""
    log = tmp_path / "train.log"
    log.write_text("\n".join(megatron_deepspeed_log(2000, nan_at=(1000, 1100))) + "\n")
    assert main(["check", str(log), "--json"]) == 2
    nan = next(a for a in json.loads(capsys.readouterr().out)["alerts"]
               if a["rule"] == "nonfinite" and a["labels"] == {"metric": "loss"})
    assert (nan["first_step"], nan["last_step"], nan["times"]) == (1000, 1100, 1)


def test_a_spike_is_reported_at_its_own_first_and_last_steps_as_its_summary_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A new user's review: a loss spike over steps 40000-40007 (its peak at 40004) read `first step 40004,
    last step 41591`: the peak's step, and the run's step when the rule last saw it among its newest
    points. The spike rules say its first and last steps above the threshold, as the summary does. The
    real nanochat run's step lines, the loss tripled for 8 steps from step 3000."""
    from tests.support.nanochat import step_lines, with_spike_at

    log = tmp_path / "train.log"
    log.write_text("\n".join(with_spike_at(step_lines(), 3000, length=8)) + "\n")
    main(["check", str(log), "--json"])
    spike = next(a for a in json.loads(capsys.readouterr().out)["alerts"] if a["rule"] == "loss_spike")
    assert "(steps 3000–3007 above" in spike["summary"]
    assert (spike["first_step"], spike["last_step"]) == (3000, 3007)


def test_a_nan_among_thousands_of_lines_stamped_alike_fires(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: 5,500 records of one timestamp (a logger that stamps by the second, a history
    dumped at once) with a NaN at step 300: `check` said OK. The rules were judged only when the log's time
    moved on a tick, and by the end the NaN was no longer among the points they read. A real Megatron run's
    stamped lines, all stamped alike, `lm loss: NAN` at steps 300-304."""
    lines = [re.sub(r"\[[\d-]+ [\d:]+\]", "[2024-04-06 03:02:12]", x) for x in megatron_log(6000, nan_at=300)]
    log = tmp_path / "train.log"
    log.write_text("\n".join(lines) + "\n")
    assert main(["check", str(log)]) == 2
    out = capsys.readouterr().out
    assert "nonfinite" in out and "first step 300" in out


@pytest.mark.parametrize("cmd", [["check"], ["parse", "--output", "summary"]])
def test_a_line_cut_at_64_kib_is_said_on_stderr_as_tail_says_it(
        cmd: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: `tail` said a 100 KB line was cut, `parse` and `check` said nothing. They read
    every line that follows it, and say once per source how many were cut and how much of them skipped."""
    lines = HEALTHY.read_text().splitlines(keepends=True)
    log = tmp_path / "train.log"
    log.write_text("".join(lines[:40]) + "x" * 100_000 + "\n" + "y" * 70_000 + "\n" + "".join(lines[40:]))
    assert main([*cmd, str(log)]) in (0, 1)  # a warning, not an input that could not be read (3)
    err = capsys.readouterr().err
    assert f"runwatch: {log}: 2 lines longer than 64 KiB cut; 38,928 bytes of them skipped\n" in err
    assert err.count("longer than 64 KiB") == 1
    assert main([*cmd, str(HEALTHY)]) in (0, 1)
    assert "64 KiB" not in capsys.readouterr().err


def test_a_job_that_died_at_launch_on_its_command_line_is_a_crash(capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: a nohup.out of six launches that argparse refused (`train_bash.py: error: argument
    --fp16: Truthy value expected…` after its `usage:` block, exit status 2, no traceback) was `UNREAD`,
    exit 3: a job that never trained, and said nothing of why. A later review read "uncaught exception:" of it, an
    exception no one raised, and "the run went on after 5 fatal errors" where each launch died in turn: the alert says
    the command line was refused, the note that no launch took a step."""
    log = Path(__file__).parents[1] / "fixtures" / "found" / "chatglm_hf_trainer_nohup.log"
    assert main(["check", str(log)]) == 2
    out = capsys.readouterr().out
    assert out.startswith("CRITICAL") and "crashed" in out
    assert "command line refused: train_bash.py: error: argument --fp16: Truthy value expected" in out
    assert "uncaught exception" not in out and "went on" not in out
    assert "5 fatal errors before the last crash, none of them after a step" in out
    assert "no line states a step" not in out  # it read no metric: nothing was judged without a step


@pytest.mark.parametrize(("name", "state"), [
    ("basicsr_iqa_torchrun_nohup.out.gz", "ended"),  # a second run, stopped mid-way
    ("yolov5_cots_300ep_terminal.log", "finished"),  # early stopping after 246 of 300 epochs
    ("wsdan_sac_imagenet_meters.log.gz", "ended"),
    # W&B's output.log keeps a bar's last frame only: `0/1954 [00:00<?` then `829/1954 [28:49<…, 2.09s/it]` read
    # as a 28-minute critical stall at step 0 (a third review); the run was stopped by Ctrl-C
    ("wandb_output_hf_reward_ctrl_c.log", "ended"),
    # every batch's loss, fallen from 12 to 0.0006 with batches of 0.1-0.4 among them: three at 0.003-0.007 were
    # a loss spike's warning (a fifth review)
    ("t5_finetune_batch_losses_20ep.log.gz", "ended"),
    # two trainings in one job, the Trainer's dicts with no step (the bar on stderr): the second task's untrained
    # loss after the first one's end read as one curve, a critical `loss_divergence` (a tenth review)
    ("mila_two_tasks_trainer_dicts.out", "finished"),
    # a loop's `Epoch [k/30] Train: … | Val: …` summaries ended by `Early stopping triggered. No validation improvement
    # for 6 epochs.` and `Training Complete.`: "incomplete", its train value read as the epoch (an eighteenth review)
    ("verf_tgm_earlystop_epoch18of30.md", "finished"),
    # the same loop's 30 epochs under its bars: 3 records, no summary, "ended" (and `tail` said `running`)
    ("verf_tgm_bars_epoch_summaries_30ep.log", "finished"),
    # another job's bars between epochs (`Marching cube: 0/34`): "started again" and a step_time_drift warning
    ("recon3d_epoch_bars_marching_cube_head.log.gz", "ended"),
    # no step line at all, but its own `✅ Training completed in 3 days, …` and `=== Training Complete ===`: UNREAD, exit 3
    ("phi2_qlora_logging_complete.log", "finished"),
    # W&B's console of a loop's `Train Epoch: E [i/661 (p%)] Loss: …` bars (an epoch's last frames only) and its test
    # set's bare `673/673` bars: the same epoch end stamped 247 s as the one before it read as 661 steps in no time,
    # and the steps after it a 260× `step_time_drift` (a twentieth review)
    ("proxyanchor_tqdm_wandb_console_60ep.log.gz", "ended"),
])
def test_whole_runs_a_review_found_are_read_healthy(name: str, state: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: `check` paged a critical crash of BasicSR's second run (another launch's traceback
    read as its end), a critical stall of the ImageNet example's meters (no clock, test batches each an eval
    pause), and showed YOLOv5 finished at epoch 0. Healthy runs all: no alert, exit 0."""
    import gzip

    data = (FIXTURES / "found" / name).read_bytes()
    log = tmp_path / name.removesuffix(".gz")
    log.write_bytes(gzip.decompress(data) if name.endswith(".gz") else data)
    assert main(["check", str(log), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["state"] == state and not out["alerts"], out


def test_a_paddle_launchers_log_directory_is_one_run_of_its_workers(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: `check log/` of a PaddleSeg run said `no training logs … found` (exit 3); named
    one by one its `workerlog.N` read the run, 80000 iterations, finished."""
    from tests.watcher.test_discover import paddle_log_dir

    log = paddle_log_dir(tmp_path)
    assert main(["check", str(log), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["state"], out["step"], out["total_steps"]) == ("finished", 80000, 80000), out


def test_a_run_stopped_by_ctrl_c_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """A reward model's HF Trainer run stopped by Ctrl-C at 829 of 1954 (its `KeyboardInterrupt` printed after the
    last loss dict): the warning said only "no finish line, and the log ends there" (a review)."""
    assert main(["check", str(FIXTURES / "found" / "wandb_output_hf_reward_ctrl_c.log")]) == 0
    out = capsys.readouterr().out
    assert "warning  incomplete: stopped at 829/1954 (interrupted: KeyboardInterrupt)" in out


def test_a_run_stopped_by_ctrl_c_says_so_with_a_loss_dict_flushed_after_the_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An HF Trainer run (LLaVA through accelerate) stopped by Ctrl-C at 2102 of 968921: its last loss dict came
    after the `KeyboardInterrupt`, and the warning said "no finish line" while `tail` told the signal (a review).
    A run that caught the signal and stepped on is not told as interrupted by it: the frame and traceback moved
    before its last 22 dicts (the same lines, reordered) read "no finish line"."""
    log = FIXTURES / "found" / "hf_trainer_llava_ctrlc_tail.log"
    assert main(["check", str(log)]) == 0
    assert "warning  incomplete: stopped at 2102/968921 (interrupted: KeyboardInterrupt)" in capsys.readouterr().out
    lines = log.read_text().split("\n")
    went_on = tmp_path / "went_on.log"
    went_on.write_text("\n".join(lines[:3] + lines[26:50] + lines[3:26] + lines[50:]))
    assert main(["check", str(went_on)]) == 0
    out = capsys.readouterr().out
    assert "(no finish line, and the log ends there)" in out and "interrupted" not in out, out


def test_a_run_stopped_from_outside_names_the_signal_not_its_dataloaders(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Lightning DDP on 5 ranks, stopped at 1225/3999: `[rank: 2] Received SIGTERM: 15` glued to the bar's last
    frame, then tracebacks of DataLoader workers `killed by signal: Terminated`, which `check` named as the cause
    (a review). The signal is the crash; the workers' deaths are its consequence."""
    import gzip

    log = tmp_path / "train.out"
    log.write_bytes(gzip.decompress((FIXTURES / "found" / "eagnet_lightning_ddp_sigterm.out.gz").read_bytes()))
    assert main(["check", str(log), "--json"]) == 2
    crashes = [a for a in json.loads(capsys.readouterr().out)["alerts"] if a["rule"] == "crash"]
    assert [(a["labels"]["event"], a["summary"]) for a in crashes] == [
        ("killed", "process killed: [rank: 2] Received SIGTERM: 15")]


def test_a_bars_closing_redraw_after_an_oom_leaves_the_run_crashed(capsys: pytest.CaptureFixture[str]) -> None:
    """oumi's HF Trainer: one frame `0/1000`, an OOM, the frame redrawn as tqdm closes. `check` said `ended` (a
    review): the first frame, read only once the format was chosen at the end, came after the OOM and read as the
    run going on from it."""
    assert main(["check", str(FIXTURES / "found" / "oumi_dataparallel_oom_train.err"), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert (report["state"], report["step"], report["total_steps"]) == ("crashed", 0, 1000)
    assert [a["labels"]["event"] for a in report["alerts"] if a["rule"] == "crash"] == ["oom"]


def test_an_alert_on_epoch_lines_says_the_epoch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Slurm time-limit kill of a run whose lines state no step, only their epoch and no count of them (TMR's
    `Epoch 79: v_recons … loss …` lines, the `CANCELLED … DUE TO TIME LIMIT` in its stderr) read `no records; still
    firing` of a run of 80 records (a review). Each line is at its epoch: the alert is at the last, 79."""
    for ext in ("out", "err"):
        (tmp_path / f"train.{ext}").write_bytes((FIXTURES / "found" / f"tmr_lightning_rich_epochs_train.{ext}").read_bytes())
    assert main(["check", str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert "  step 79  crashed  " in out
    assert "critical crash            event=time_limit         first step 79, last step 79; still firing at the end\n" in out


def test_an_early_stopped_trainer_log_without_a_bar_is_finished_at_its_step(tmp_path: Path,
                                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """LLaMA-Factory's `running_log.txt` (no bar, dicts with no step) read `no steps  ended` (a review): its steps come
    from the epochs of the header, and the Trainer's `Training completed.` finishes it at 2,099 of 17,000; a note says it
    ended short of its plan (`finished 2099/17000` and nothing else read as a plan met, a later review)."""
    import gzip

    log = tmp_path / "running_log.txt"
    log.write_bytes(gzip.decompress((FIXTURES / "found" / "llamafactory_lora_running_log.txt.gz").read_bytes()))
    assert main(["check", str(log), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["state"], report["step"], report["total_steps"]) == ("finished", 2099, 17000)
    assert report["alerts"] == [] and report["notes"] == [  # no warning: it finished as its trainer said, early
        "finished at step 2,099 of the 17,000 it planned: its trainer ended it early (an early stop, a stop from its "
        "callbacks or its user, or a limit of its own)"]


def test_a_rule_set_to_a_metric_the_run_does_not_log_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """A review: `--rule loss_divergence.metric=nonexistent_metric` said `OK`, exit 0, of a run that logs no such metric:
    a misspelt name silently judged nothing. The report and stderr say which rule judged nothing, and the status is 3;
    a metric the run logs, and a rule's own defaults it lacks (no `val_loss` here), are no such case."""
    assert main(["check", str(HEALTHY), "--rule", "loss_divergence.metric=task_los"]) == 3
    out, err = capsys.readouterr()
    said = "loss_divergence.metric: the run logs no `task_los`; loss_divergence judged nothing"
    assert f"  warning  {said}\n" in out and [x for x in err.splitlines() if "judged nothing" in x] == [
        f"runwatch: nanochat_pr492_speedrun_d24_feb01.training_output: {said}"]
    assert main(["check", str(HEALTHY), "--rule", "loss_divergence.metric=step_time", "--rule",
                 "overfit.metrics=nothing,val_nothing"]) == 3
    out, err = capsys.readouterr()
    assert "loss_divergence judged nothing" not in out + err and "overfit.metrics: the run logs no `nothing` or " \
        "`val_nothing`; overfit judged nothing" in err


def test_a_yolo_runs_epoch_running_means_are_no_divergence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A healthy YOLOv3 run of 300 short epochs (33 batches) read as diverging (critical) and spiking 11 times: its
    loss terms are running means over the epoch, judged as if each frame were a step's loss (a review)."""
    import gzip

    log = tmp_path / "train.out"
    log.write_bytes(gzip.decompress((FIXTURES / "found" / "yolov3_invoice_300ep_train.out.gz").read_bytes()))
    main(["check", str(log), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert (out["state"], out["step"], out["total_steps"]) == ("finished", 9900, 9900)
    assert not [a for a in out["alerts"] if a["rule"].startswith("loss_")]


def test_launches_that_failed_before_the_one_that_trained_are_noted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A review: five launches appended to one log failed with a traceback before their first step; the next one
    trained. `check` said `OK` and nothing of them (`tail` printed each traceback as it came). The run went on, so
    no crash is alerted, but the report notes them, how many and the first one's error."""
    import gzip

    from tests.support.found import FOUND

    log = tmp_path / "training.log"
    log.write_bytes(gzip.decompress((FOUND / "distill_failed_launches_training_excerpt.log.gz").read_bytes()))
    assert main(["check", str(log)]) == 0
    out = capsys.readouterr().out
    assert "the run went on after 5 fatal errors it printed" in out
    assert "the first at line 124: RuntimeError: indices should be either on cpu" in out
    # `Total training steps: 31250` after `Initialized progressive distillation loss: output_weight=1.0, …`, a loss
    # set up, not measured: the settings go on, and it is the run's total
    assert "step 850/31250" in out


def test_a_run_that_logged_its_last_step_of_a_stride_is_not_incomplete(capsys: pytest.CaptureFixture[str]) -> None:
    """A review: HRNet's loop logs every 10th batch from 0 and ended `Epoch: [519/520] Iter:[490/495]`, then `Done`;
    read counting from 0 that is step 257,395 of 257,400, and the next it would log is past the total: no
    "incomplete". Read the 1-based way (the loop resumed at epoch 352 shows no epoch 0) it is one epoch short,
    and says so."""
    log = str(FIXTURES / "found" / "hrnet_resumed_last_epoch_tail.log")
    assert main(["check", "--format", "bracketed0", log]) == 0
    out = capsys.readouterr().out
    assert "step 257395/257400  finished" in out and "incomplete" not in out  # at its total, as logged
    assert main(["check", log]) == 0
    assert "warning  incomplete: stopped at 256900/257400" in capsys.readouterr().out


def test_a_yolox_launch_that_died_at_step_463_is_its_crash_not_the_ooms_of_launches_before(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A review's YOLOX VOC log: launches that died before any step (three of them OOMs), one that trained 463 steps
    and died evaluating (`FileNotFoundError: … Annotations/11.xml`), then one from epoch 1 to the end. The OOMs
    were timed after the whole 2021 run (the replay's clock starts at its own zero, then follows the log's stamps
    back) and read as a critical crash at its end; with the last launch placed after the one before, none was
    seen. The last launch starts again at epoch 1: the crash of the one before it ends that attempt, the OOMs
    before its first step are launches the run went on after (a note), and the run finished."""
    import gzip

    log = tmp_path / "train_log.txt"
    log.write_bytes(gzip.decompress((FIXTURES / "found" / "yolox_voc_crlf_train_log.txt.gz").read_bytes()))
    assert main(["check", str(log), "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    [crash] = out["alerts"]
    assert (out["state"], out["step"], out["total_steps"]) == ("finished", 14093, 14100)
    assert (crash["rule"], crash["labels"]["event"], crash["first_step"], crash["firing_at_end"]) == (
        "crash", "traceback", 463, False)
    assert crash["summary"].startswith("uncaught exception: FileNotFoundError") and "11.xml" in crash["summary"]
    assert any(n.startswith("the run went on after 13 fatal errors") for n in out["notes"])


def test_lerobots_log_is_read_with_its_line_times_and_its_end(capsys: pytest.CaptureFixture[str]) -> None:
    """A review: LeRobot's `INFO 2026-06-12 10:53:24 ot_train.py:357 step:400 … grdn:49.836` lines were read with no
    time (the level comes before the stamp), `grdn` under its own name, and `End of training` as no finish:
    `ended`, and a note that no line carries a time."""
    from runwatch.parsers.fields import logging_time

    log = FIXTURES / "found" / "lerobot_train_log_excerpt.txt"
    assert main(["check", "--json", str(log)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["state"] == "finished" and not out["alerts"] and not out.get("notes"), out
    assert main(["parse", "--output", "jsonl", str(log)]) == 0
    steps = [r for line in capsys.readouterr().out.splitlines() if (r := json.loads(line))["kind"] == "step"]
    stamps = [logging_time(x) for x in log.read_text().splitlines() if " step:" in x]
    assert [r["t"] for r in steps] == stamps and stamps[0] > 0
    assert steps[0]["metrics"]["grad_norm"] == 3.477 and steps[0]["metrics"]["epoch"] == 117.43


def test_a_run_of_unknown_length_stopped_by_ctrl_c_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A review: a loop of `[INFO] epoch N` headings and bare bars, its epochs never stated, stopped by Ctrl-C in
    epoch 25: it read `step 70/3517 … finished` at each bar's end and `OK … finished` cut after two epochs. With no
    total to fall short of, the signal that stopped it is the warning, in the JSON too; cut where no signal is, the
    run ended, and nothing says it finished."""
    import gzip

    log = tmp_path / "output.log"
    text = gzip.decompress((FIXTURES / "found" / "freepose_tqdm_epoch_headings_ctrlc.log.gz").read_bytes())
    log.write_bytes(text)
    assert main(["check", "--json", str(log)]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert (obj["step"], obj["total_steps"], obj["state"]) == (25 * 3517 + 69, None, "ended")
    assert obj["warnings"] == [f"incomplete: stopped at step {25 * 3517 + 69} (interrupted: KeyboardInterrupt)"]
    log.write_bytes(b"\n".join(text.split(b"\n")[:16]) + b"\n")  # epochs 0 and 1, each bar at its 100%
    assert main(["check", "--json", str(log)]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert (obj["step"], obj["total_steps"], obj["state"], obj["warnings"]) == (2 * 3517 - 1, None, "ended", [])


def test_an_hf_run_ending_between_its_logging_steps_is_no_nan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A review: an AutoTrain fine-tuning logged its loss every 25 steps to 23249, and its bar drew 23259 and 23260
    at the end; `check` read "loss missing from the last 2 step records", a critical NaN, exit 2, on a run that
    finished well."""
    import gzip

    log = tmp_path / "output.log"
    log.write_bytes(gzip.decompress((FIXTURES / "found" / "autotrain_hf_loguru_finished.log.gz").read_bytes()))
    assert main(["check", "--json", str(log)]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert (obj["state"], obj["step"], obj["total_steps"], obj["alerts"]) == ("finished", 23260, 23260, [])


def test_a_run_stopped_after_its_bars_one_frame_says_where(capsys: pytest.CaptureFixture[str]) -> None:
    """A review: an RL run Ctrl-C'd after one frame of its bar read `OK … no steps`, no warning."""
    assert main(["check", "--json", str(FIXTURES / "found" / "skrl_one_bar_frame_ctrlc.log")]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert (obj["step"], obj["total_steps"], obj["warnings"]) == (
        2101, 500000, ["incomplete: stopped at 2101/500000 (interrupted: KeyboardInterrupt)"])


def test_a_keras_csvlogger_table_named_as_a_log_is_a_run_of_epochs(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A review: Keras's CSVLogger written into `train.log` read `no steps` (its table has an `epoch` column only)
    and kept `.log` in the run's name. Its epochs are its steps, as Keras's console's are."""
    log = FIXTURES / "found" / "keras_csvlogger_train.log"
    assert main(["check", "--json", str(log)]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert (obj["run"], obj["step"]) == ("keras_csvlogger_train", 49)
    assert main(["parse", "--output", "jsonl", str(log)]) == 0
    recs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    rows = log.read_text().splitlines()[1:]
    assert [r["step"] for r in recs if r["kind"] == "step"] == [int(x.split(",")[0]) for x in rows]
    assert [r["metrics"]["val_loss"] for r in recs if r["kind"] == "eval"] == [float(x.split(",")[4]) for x in rows]


def test_lightnings_graceful_ctrl_c_is_told_in_its_own_words(capsys: pytest.CaptureFixture[str]) -> None:
    """Lightning prints its Ctrl-C as a Python warning, `…/pytorch_lightning/trainer/call.py:54: UserWarning: Detected
    KeyboardInterrupt, attempting graceful shutdown...`: the warning told the file it came from, not the words."""
    log = FIXTURES / "found" / "lightning_sdxl_ctrl_c_graceful.log"
    assert any("call.py:54: UserWarning: Detected KeyboardInterrupt" in x for x in log.read_text().splitlines())
    assert main(["check", "--json", str(log)]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == [  # of its config's 10 epochs of 5,087 steps
        "incomplete: stopped at 86/50870 (interrupted: Detected KeyboardInterrupt, attempting graceful shutdown...)"]


def test_a_run_read_as_events_alone_is_unread(capsys: pytest.CaptureFixture[str]) -> None:
    """A review's T5 log: its loss lines read as none, its ten `Checkpoint saved to …` lines the only records, and
    `check` said `OK … no steps`, exit 0, as if its training had been judged healthy. Read so (here a format forced
    that reads none of its steps), it is UNREAD, exit 3, and says why; read as it is, its losses are judged."""
    log = str(FIXTURES / "found" / "t5_scalingdown_logging_relaunches.log.gz")
    assert main(["check", "--format", "megatron", log]) == 3
    out, err = capsys.readouterr()
    assert out.startswith("UNREAD") and "10 records" in out and "only events (checkpoint_saved)" in out  # as read
    assert "nothing read as megatron" in err
    assert main(["check", "--format", "megatron", "--json", log]) == 3
    assert json.loads(capsys.readouterr().out)["exit_code"] == 3
    assert main(["check", log]) == 1  # judged: its val_loss rose three evaluations in a row (an overfit warning)
    out = capsys.readouterr().out
    assert out.startswith("WARNING ") and "step 750" in out and "started again 2 times" in out and "overfit" in out


def test_a_detectron2_log_of_three_launches_is_timed_and_finished(capsys: pytest.CaptureFixture[str]) -> None:
    """A review's Mask2Former log: three launches, the first ending `iter: 1999` and `Total training time: 0:14:31
    (0:00:01 on hooks)`, the second stopped at `iter: 493` (its summary printed before that last line), the third
    ending at 3999 with its own. Read with its `[08/30 23:00:36]` stamps, the relaunch after the first launch's end
    was a 5-minute stall unless the summary is the finish it is; without them, `check` said no line carries a time."""
    log = str(FIXTURES / "found" / "d2_mask2former_three_launches.log.gz")
    assert main(["check", log, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["state"] == "finished" and out["step"] == 3999 and not out["alerts"], out
    assert not any("time of day" in n for n in out["notes"]) and any("started again 2 times" in n for n in out["notes"])


def test_an_alert_of_two_attempts_names_the_last_ones_step_even_when_lower() -> None:
    """A review's mmengine run of four launches in one log: a launch killed at step 139,548 (epoch 49), and the
    last one killed at 55,919 (epoch 20). The crash's last step said 139548, an attempt that was over; a later
    attempt counts its own steps, and the newest is the step it was last found at. Each launch opens with the log's
    first line again, so the earlier kill is a launch's the run went on after (a note), not the last one's alert."""
    import gzip
    import tempfile

    from tests.support.realruns import check_json

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "2GPU.log"
        log.write_bytes(gzip.decompress((FIXTURES / "found" / "frnet_mmengine_four_launches_killed.log.gz").read_bytes()))
        code, [run], _ = check_json(log)
    assert code == 2 and run["state"] == "crashed" and run["step"] == 55919, run
    (crash,) = [a for a in run["alerts"] if a["rule"] == "crash" and a["labels"] == {"event": "killed"}]
    assert (crash["first_step"], crash["last_step"], crash["times"]) == (55919, 55919, 1), crash
    assert crash["attempts"] == [4, 4]  # the text: `first step 55919, last step 55919, attempt 4`
    assert any("the run went on after 10 fatal errors" in n for n in run["notes"]), run["notes"]
    assert not [n for n in run["notes"] if "carries a time" in n]  # mmengine's `03/30 16:58:20 - mmengine - INFO -`


def test_an_alert_found_in_two_attempts_says_which_attempt_each_step_is_of(capsys: pytest.CaptureFixture[str]) -> None:
    """A review's Keras 1 log of three fits, each counting its own epochs: its overfit, first found at epoch 7 of the
    second fit and last at epoch 6 of the third, read `first step 7, last step 6`, a step going back. A run that did not
    start again says no attempt."""
    log = str(FIXTURES / "found" / "keras1_kanji_earlystop.txt")
    assert main(["check", log]) == 1
    out = capsys.readouterr().out
    assert "overfit          metric=val_loss          first step 7 of attempt 2, last step 6 of attempt 3;" in out
    assert main(["check", "--json", log]) == 1
    [overfit] = json.loads(capsys.readouterr().out)["alerts"]
    assert (overfit["first_step"], overfit["last_step"], overfit["attempts"]) == (7, 6, [2, 3])
    main(["check", "--json", str(FIXTURES / "found" / "cgcnn2_regression_300ep.log")])
    [overfit] = json.loads(capsys.readouterr().out)["alerts"]
    assert overfit["attempts"] is None


def test_a_log_counting_from_one_is_not_done_one_short_of_its_total(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A Keras fit counts its epochs from 1 (`Epoch 19/20`): killed during its last epoch, its log ends at 19 of 20,
    which the allowance for logs counting from 0 (nanoGPT's last `iter 4999` of 5000) read `finished`, no word of
    the epoch it never ran (a review). The whole log still reads finished; a nanoGPT run at its total - 1 too."""
    from tests.support.found import FOUND

    whole = (FOUND / "keras21_verbose2_cnn_20ep.log").read_text()
    cut = tmp_path / "keras_killed.log"
    cut.write_text(whole[:whole.index("Epoch 20/20")])
    assert main(["check", str(cut), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert (obj["step"], obj["total_steps"], obj["state"]) == (19, 20, "ended"), obj
    assert any(w.startswith("incomplete: stopped at 19/20") for w in obj["warnings"]), obj
    assert main(["check", str(FOUND / "keras21_verbose2_cnn_20ep.log"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "finished"


def test_a_minimind_pretraining_cut_half_way_is_incomplete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A review: MiniMind's log read `step 1/1 finished` whole or cut half-way (its first 2,000 lines, to
    `Epoch:[1/1](19970/39695)`); the step in parentheses is the step of the epoch."""
    import gzip

    text = gzip.decompress((FIXTURES / "found" / "minimind_pretrain.log.gz").read_bytes()).decode()
    whole = tmp_path / "pretrain.log"
    whole.write_text(text)
    assert main(["check", str(whole), "--json"]) == 0
    assert (lambda o: (o["step"], o["total_steps"], o["state"]))(json.loads(capsys.readouterr().out)) == (
        39695, 39695, "finished")
    cut = tmp_path / "cut.log"
    cut.write_text("\n".join(text.split("\n")[:2000]) + "\n")
    assert main(["check", str(cut), "--json"]) == 0  # no alert: a warning line, as any run stopped short
    obj = json.loads(capsys.readouterr().out)
    assert (obj["step"], obj["total_steps"], obj["state"]) == (19970, 39695, "ended")
    assert obj["warnings"][0].startswith("incomplete: stopped at 19970/39695")


def test_an_alert_the_last_record_ended_is_not_firing_at_the_end() -> None:
    """A review's one-step run (tests/fixtures/found/README.md): its bar's `0/1 [00:00<?, ?it/s]`, then `1/1
    [27:35<00:00, 1655.02s/it]`. The stall found as step 1 came (the gap just ended) and the evaluation after the
    input's end have one time by the bar's clock, so the stall was "still firing at the end" of a finished run. It
    is cleared, by the step that came; the last evaluation is told by when it ran, not by its time."""
    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    _, [report], _ = check_json(FOUND / "polymergnn_one_step_bar_fold0.e")
    assert (report["state"], report["step"], report["total_steps"]) == ("finished", 1, 1)
    (stall,) = report["alerts"]
    assert stall["rule"] == "stall" and not stall["firing_at_end"] and stall["cleared_before_end"]
    assert stall["cleared_why"] == "stall over: step 1 arrived after 27m35s"


def test_a_run_whose_last_log_is_within_its_stride_of_the_total_finished() -> None:
    """A review's MMDetection run (tests/fixtures/found/README.md) logs every 50 iterations of epochs of 21,989: its
    last line of training is `Epoch [12][21950/21989]`, then the 12th epoch's checkpoint and evaluation. It read
    `ended` (how, unknown) at 263,829 of 263,868, where `check` already said no word of it being incomplete."""
    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    code, [report], _ = check_json(FOUND / "mmdet2_maskrcnn_3x_last_log_short_of_epoch.log.gz")
    assert (report["state"], report["step"], report["total_steps"]) == ("finished", 263829, 263868)
    assert code == 0 and report["warnings"] == [] and report["alerts"] == []


def test_a_launch_that_crashed_before_its_first_step_is_told_from_the_one_before() -> None:
    """A review's log (tests/fixtures/found/README.md) of a script that runs three Megatron-DeepSpeed experiments one
    after another, each by the `deepspeed` launcher over pdsh: the first two run 20 of 20 iterations, the third dies
    of an NCCL error at its start. `check` said `step 20/20 crashed` and nothing of a third launch; each launcher
    command line is a launch now, and the report says the last one logged no step."""
    from runwatch.model import Event
    from tests.support.found import FOUND, source_records
    from tests.support.realruns import check_json

    _, recs = source_records("megatron_ds_pdsh_three_launches_third_fails_at_start.log.gz")
    assert [r.line for r in recs if r.event == Event.LAUNCHED] == [35, 3337, 6431]
    _, [report], _ = check_json(FOUND / "megatron_ds_pdsh_three_launches_third_fails_at_start.log.gz")
    assert (report["state"], report["step"]) == ("crashed", 20)
    told = [n for n in report["notes"] if n.startswith("a new launch began at line 6,431 and logged no step")]
    assert told, report["notes"]
    assert "nccl_error" in {a["labels"].get("event") for a in report["alerts"] if a["rule"] == "crash"}


def test_an_alerts_value_is_the_one_its_summary_states() -> None:
    """A review's crowd-counting run (tests/fixtures/found/README.md): its loss spiked three times; the report's text
    said the last (`loss spiked to 80.67 at step 88431`) and its `value` was the first's, 32.7484."""
    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    _, [report], _ = check_json(FOUND / "crowd_counting_meters_cr_frames_slurm_cancelled.out.gz")
    [spike] = [a for a in report["alerts"] if a["rule"] == "loss_spike"]
    assert spike["times"] == 3 and spike["summary"].startswith("loss spiked to 80.67 at step 88431")
    assert spike["value"] == 80.6731
    assert report["state"] == "crashed" and {a["rule"] for a in report["alerts"]} == {"crash", "loss_spike"}


def test_llamafactorys_elapsed_time_is_checks_clock(tmp_path: Path) -> None:
    """A review's LLaMA-Factory `trainer_log.jsonl` (tests/fixtures/found/README.md): no line states a time of day,
    each its `"elapsed_time": "0:03:29"`. `check` had no clock ("no step line carries a time of day or a step
    time") and could see no hang. The same log with two hours added to every elapsed time from its 801st line on
    (the real lines, that one field changed: a hang of two hours at step 4000) reads a critical stall there."""
    import gzip
    from datetime import timedelta

    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    name = "llamafactory_trainer_log_elapsed_only.jsonl.gz"
    _, [report], _ = check_json(FOUND / name)
    assert (report["state"], report["step"], report["alerts"], report["notes"]) == ("finished", 8712, [], [])

    def seconds(text: str) -> int:
        days, _, clock = text.rpartition(", ")
        h, m, s = (int(part) for part in clock.split(":"))
        return (int(days.split()[0]) if days else 0) * 86400 + h * 3600 + m * 60 + s

    lines = gzip.decompress((FOUND / name).read_bytes()).decode().splitlines()
    hung = []
    for i, line in enumerate(lines):
        obj = json.loads(line)
        if i >= 800 and "elapsed_time" in obj:
            obj["elapsed_time"] = str(timedelta(seconds=seconds(obj["elapsed_time"]) + 7200))
            line = json.dumps(obj, ensure_ascii=False)
        hung.append(line)
    path = tmp_path / "trainer_log.jsonl"
    path.write_text("\n".join(hung) + "\n")
    _, [report], _ = check_json(path)
    [stall] = [a for a in report["alerts"] if a["rule"] == "stall"]
    assert stall["severity"] == "critical" and stall["first_step"] == 4000
    assert stall["summary"].startswith("no new step for 2h03m (last step 4000")


def test_an_elapsed_time_that_comes_only_later_is_no_clock_from_the_middle(tmp_path: Path) -> None:
    """A code review: a jsonl log whose first records state no elapsed time and later ones do (a resumed run's)
    switched `check` to that clock mid-run, and the synthetic steps before it became a baseline the elapsed pace read
    as a slowdown. The LLaMA-Factory log (tests/fixtures/found/README.md) with `elapsed_time` and `remaining_time`
    taken out of its first 50 lines (the real lines, those fields dropped) keeps the synthetic clock throughout."""
    import gzip

    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    lines = gzip.decompress((FOUND / "llamafactory_trainer_log_elapsed_only.jsonl.gz").read_bytes()).decode().splitlines()
    edited = []
    for i, line in enumerate(lines):
        obj = json.loads(line)
        if i < 50:
            obj.pop("elapsed_time", None)
            obj.pop("remaining_time", None)
            line = json.dumps(obj, ensure_ascii=False)
        edited.append(line)
    path = tmp_path / "trainer_log.jsonl"
    path.write_text("\n".join(edited) + "\n")
    _, [report], _ = check_json(path)
    assert report["alerts"] == [] and any(n.startswith("no step line carries a time of day") for n in report["notes"])


def test_an_llmc_job_dead_of_a_cuda_check_before_its_first_step_is_crashed(capsys: pytest.CaptureFixture[str]) -> None:
    """A review: llm.c's `[CUDA ERROR] at file train_gpt2.cu:265:` / `out of memory` read `nothing understood`,
    `UNREAD`, exit 3; it is the run's crash, exit 2."""
    assert main(["check", str(FIXTURES / "found" / "llmc_cuda_check_oom_before_step.log")]) == 2
    out = capsys.readouterr().out
    assert "  no steps  crashed  " in out
    assert "GPU out of memory: [CUDA ERROR] at file train_gpt2.cu:265: out of memory\n" in out


def test_a_test_loss_that_rises_as_training_loss_falls_is_overfit(capsys: pytest.CaptureFixture[str]) -> None:
    """A review: a ResNet loop evaluating on its test split after each epoch (`TEST in epoch24, loss = 3.64, acc =
    45.5%`) and logging no validation loss rose from 2.008 (epoch 3) to 3.640 (epoch 24) while its training loss fell,
    and read `OK`, no alert. Its test loss is the held-out loss where no `val_loss` is logged."""
    assert main(["check", str(FIXTURES / "found" / "wider_event_in_epoch_step_test_loss.out"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(a["rule"], a["labels"]["metric"]) for a in report["alerts"]] == [("overfit", "test_loss")]
    (alert,) = report["alerts"]
    assert alert["summary"] == "test_loss rose 3 evaluations in a row (3.245 → 3.64 by step 18774) while loss fell"
    assert not any("started again" in note for note in report["notes"])  # one run: `in epoch N` read (kv)


def test_a_failed_c_assert_is_told_as_the_abort_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    """A review: llm.c's failed `assert` then `Aborted (core dumped)` read `process aborted (SIGABRT)` quoting the
    shell's line; it quotes the assertion."""
    assert main(["check", str(FIXTURES / "found" / "llmc_assert_failed_aborted.log")]) == 2
    assert ("process aborted (SIGABRT): train_gpt2cu: train_gpt2.cu:1518: int main(int, char**): Assertion "
            "`total_batch_size % tokens_per_fwdbwd == 0' failed.\n") in capsys.readouterr().out


def test_an_mmengine_wandb_run_beside_its_log_steps_by_its_iter(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A review: an MMDetection work dir (its log, and W&B's offline run mmengine wrote beside it, each row holding the
    run's `iter` and W&B's `_step` 0 to 3) read `steps 50 → 3`, its last loss W&B's step 3, and a critical `stall`, `no
    new step for 57m48s (last step 3…)`. A history's `iter` (as its `global_step`) is the run's step, as the log's."""
    import shutil

    run = tmp_path / "20251009_094818"
    (run / "vis_data" / "wandb").mkdir(parents=True)
    shutil.copy(FIXTURES / "found" / "mmdet3_first_epoch_of_twelve.log", run / "20251009_094818.log")
    shutil.copytree(FIXTURES / "found" / "mmdet3_first_epoch_wandb", run / "vis_data" / "wandb", dirs_exist_ok=True)
    assert main(["parse", str(run / "vis_data" / "wandb"), "--output", "jsonl"]) == 0
    assert [json.loads(x)["step"] for x in capsys.readouterr().out.splitlines()] == [50, 100, 150, 200]
    assert main(["check", str(run), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["state"], report["step"], report["total_steps"], report["alerts"]) == ("ended", 650, 42060, [])


def test_a_run_finished_near_its_total_is_no_early_finish(capsys: pytest.CaptureFixture[str]) -> None:
    """A code review: the note said any shortfall (998 of 1,000) was an early finish; planned counts miss the steps run
    by a rounding or a last partial batch. The run lab's healthy run, finished 2 short of its stated total (its
    steps' total raised by 2 with `--total-steps`), has no such note."""
    assert main(["check", str(HEALTHY), "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["state"] == "finished" and done["total_steps"]
    assert main(["check", str(HEALTHY), "--json", "--total-steps", str(done["total_steps"] + 2)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["state"] == "finished" and not any("ended it early" in n for n in report["notes"])


def test_a_log_whose_lines_state_no_step_says_so() -> None:
    """A review's plain PyTorch loop (tests/fixtures/found/README.md) prints `ep: 0, batch: 260, time: 8.56, ntokens:
    413.40/513, loss: 8.390625`: its loss is read, no step. `check` said `OK … no steps` and nothing of the progress,
    rate and ETA it could not know; a log whose lines state their step has no such note."""
    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    code, [run], _ = check_json(FOUND / "llm_pretrain_ep_batch_no_step.log")
    assert (code, run["step"], run["alerts"]) == (0, None, [])
    assert [n for n in run["notes"] if n.startswith("no line states a step")], run["notes"]
    _, [stepped], _ = check_json(FOUND / "emonettcn_level_glued_500_epochs.log")
    assert stepped["step"] == 500 and not [n for n in stepped["notes"] if "states a step" in n]


def test_a_stable_baselines3_tables_time_elapsed_is_checks_clock(tmp_path: Path) -> None:
    """A review's Stable-Baselines3 PPO log (tests/fixtures/found/README.md): each table's `time_elapsed` (seconds since
    `learn()` began) is read as `elapsed`, yet `check` said no line carried a time and could see no hang. It is the
    clock now, as LLaMA-Factory's is: no such note, and the same log with two hours added to every `time_elapsed` from
    its 8th table on (the real lines, that number changed: a hang of two hours after step 19993600) reads a critical
    stall there."""
    import re

    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    name = "sb3_ppo_minigrid_tables_time_elapsed.log"
    _, [report], _ = check_json(FOUND / name)
    assert (report["state"], report["step"], report["alerts"]) == ("ended", 20000768, [])
    assert not any("carries a time" in note for note in report["notes"]), report["notes"]
    tables = 0

    def later(m: re.Match[str]) -> str:
        nonlocal tables
        tables += 1
        return m.group(1) + (str(int(m.group(2)) + 7200).ljust(len(m.group(2))) if tables >= 8 else m.group(2))

    text = re.sub(r"(\|    time_elapsed +\| )(\d+)", later, (FOUND / name).read_text())
    path = tmp_path / "train.log"
    path.write_text(text)
    _, [report], _ = check_json(path)
    [stall] = [a for a in report["alerts"] if a["rule"] == "stall"]
    assert stall["severity"] == "critical" and stall["first_step"] == 19993600, stall
    assert stall["summary"].startswith("no new step for 2h (last step 19993600"), stall["summary"]


def test_an_mmcv_run_into_its_second_epoch_is_not_finished_at_one_epochs_length() -> None:
    """A review's MMDetection 2.x Cascade R-CNN log (tests/fixtures/found/README.md), all of epoch 1 (`Epoch [1][5450/
    5455]`) and epoch 2's first line, no runner line stating the epochs: epoch 2's iteration 50 is step 5505, one
    logging stride past the first epoch's 5455, which is no total of the run. `check` read `step 5505/5455 finished`
    (a step up to 1% past a total kept it) of a run mmdet itself gave 5 h 17 min more."""
    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    code, [run], _ = check_json(FOUND / "mmdet2_cascade_into_epoch2.log")
    assert (code, run["state"], run["step"], run["total_steps"], run["alerts"]) == (0, "ended", 5505, None, [])
    # so a GPT-2 LoRA loop's epoch 1 at `Step 20/6501`, logging every 10th step: step 6521, not `finished` at 6501
    _, [lora], _ = check_json(FOUND / "gpt2_lora_epoch_end_excerpt.log")
    assert (lora["state"], lora["step"], lora["total_steps"]) == ("ended", 6521, None)


def test_an_mmcv_runners_max_epochs_line_makes_the_runs_total() -> None:
    """The same review's NaN excerpt of that model opens with mmcv's runner line `workflow: [('train', 1)], max: 12
    epochs`; its `Epoch [1][950/5455]` counts one epoch's 5455 iterations, so the run's total is 12 × 5455 (it read
    950/5455, one epoch as the run), from its first line on (without the runner line, a count below what its epoch
    could reach tells no epoch's length: runwatch.parsers.epochs.epochal). The NaN from iteration 300 on is a
    critical alert either way."""
    from tests.support import readers
    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    code, [run], _ = check_json(FOUND / "mmdet2_cascade_runner_max12_nan.log")
    assert (code, run["step"], run["total_steps"]) == (2, 950, 12 * 5455)
    # from the first line on, as either reader has it: the runner is epoch-based, `[1][50/5455]` one epoch's count
    for sizes in ((1 << 20,), (700, 3000)):
        recs, _ = readers.check((FOUND / "mmdet2_cascade_runner_max12_nan.log").read_bytes(), sizes)
        assert {(r.step, r.total_steps) for r in recs if r.step is not None and r.step <= 100} == {
            (50, 65460), (100, 65460)}
    assert {(a["rule"], a["labels"].get("metric"), a["first_step"]) for a in run["alerts"]} == {
        ("nonfinite", "loss", 300), ("nonfinite", "grad_norm", 300)}


def test_a_diffusion_samplers_num_steps_is_no_plan_of_training() -> None:
    """A review's PyTorch Lightning fine-tune of OmniAvatar (tests/fixtures/found/README.md) dumps its config with the
    sampler's `'guidance_scale': 4.5, 'audio_scale': None, 'num_steps': 50` and `num_train_epochs': 1`; its bar is
    `Epoch 0: 5/100`, `train_loss_step=nan.0` from the first step. The total is the bar's epoch of 100, not the
    sampler's 50 (`4/50`); the NaN a critical alert from the first step."""
    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    code, [run], _ = check_json(FOUND / "lightning_omniavatar_sampler_num_steps_nan.log.gz")
    assert (code, run["step"], run["total_steps"]) == (2, 4, 100)
    assert [(a["rule"], a["labels"].get("metric"), a["first_step"]) for a in run["alerts"]] == [("nonfinite", "loss", 0)]


def test_a_loss_logged_by_its_own_name_without_a_step_is_read_and_judged(tmp_path: Path) -> None:
    """A review's GRPO loop (tests/fixtures/found/README.md) logs after each of its 200 rollouts `rl_loss: -0.0027…,
    time: 109.08…, l2_norm: 0.141…, token_entropy: 0.819…, reward_data: {…}`, no step and no `loss` by that name:
    `UNREAD`, exit 3, and a NaN of it would have passed unseen. Each line is a record now, judged in line order; the same
    log with its 50th `rl_loss` made `nan` reads a critical alert."""
    import gzip

    from tests.support import readers
    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    code, [run], _ = check_json(FOUND / "grpo_rollout_rl_loss_lines.log.gz")
    assert (code, run["state"], run["alerts"]) == (0, "ended", [])
    text = gzip.decompress((FOUND / "grpo_rollout_rl_loss_lines.log.gz").read_bytes()).decode()
    recs, _ = readers.check(text.encode(), (1 << 20, 4096))  # the live reader's records are the bulk reader's
    assert sum(1 for r in recs if "rl_loss" in r.metrics) == 200
    at = [m.start(1) for m in re.finditer(r"rl_loss: (-?[\d.e-]+),", text)]
    assert len(at) == 200
    end = text.index(",", at[49])
    log = tmp_path / "rl_grpo_base.log"
    log.write_text(text[:at[49]] + "nan" + text[end:])
    code, [bad], _ = check_json(log)
    assert code == 2 and [(a["rule"], a["labels"].get("metric"), a["severity"]) for a in bad["alerts"]] == [
        ("nonfinite", "rl_loss", "critical")]


def test_an_epochs_lone_loss_after_its_heading_is_judged(tmp_path: Path) -> None:
    """The Faster R-CNN loop's `EPOCH N of 30` / `EPOCH loss: …` lines (tests/fixtures/found/README.md) read
    `UNREAD`, exit 3: now ten epochs of thirty, stopped with no word (`ended`), and its sixth epoch's loss made `nan`
    a critical alert at that epoch."""
    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    code, [run], _ = check_json(FOUND / "fasterrcnn_voc_epoch_of_heading.log")
    assert (code, run["state"], run["step"], run["total_steps"], run["alerts"]) == (0, "ended", 10, 30, [])
    text = (FOUND / "fasterrcnn_voc_epoch_of_heading.log").read_text(encoding="utf-8")
    sixth = text.index("EPOCH loss: 0.41343839041559954")
    log = tmp_path / "train.log"
    log.write_text(text[:sixth] + "EPOCH loss: nan" + text[sixth + len("EPOCH loss: 0.41343839041559954"):])
    code, [bad], _ = check_json(log)
    assert code == 2 and [(a["rule"], a["labels"].get("metric"), a["severity"], a["first_step"]) for a in
                          bad["alerts"]] == [("nonfinite", "epoch_loss", "critical", 6)]


def test_an_average_loss_beside_bare_bars_is_judged(tmp_path: Path) -> None:
    """The KGE loop's bars and `Ave Loss` lines (tests/fixtures/found/README.md): its sixth epoch's average loss made
    `nan` is a critical alert at that epoch's last bar step (1,800); the bars alone read no loss at all."""
    import gzip

    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    text = gzip.decompress((FOUND / "kge_bare_bars_ave_loss_30ep.log.gz").read_bytes()).decode()
    code, [run], _ = check_json(FOUND / "kge_bare_bars_ave_loss_30ep.log.gz")
    assert (code, run["step"], run["alerts"]) == (0, 9000, [])
    sixth = re.search(r"Epoch 0005 in static KGE \| Ave Loss: ([\d.]+)", text)
    assert sixth is not None
    log = tmp_path / "pretrain.log"
    log.write_text(text[:sixth.start(1)] + "nan" + text[sixth.end(1):])
    code, [bad], _ = check_json(log)
    assert code == 2 and [(a["rule"], a["labels"].get("metric"), a["severity"], a["first_step"]) for a in
                          bad["alerts"]] == [("nonfinite", "ave_loss", "critical", 1800)]


def test_a_nan_in_hf_trainer_dicts_that_lag_the_bar_is_caught(tmp_path: Path) -> None:
    """A review: a TRL QLoRA run's loss dicts come in bursts after its bar has passed their steps
    (tests/fixtures/found/README.md). With one loss made `nan` (step 100, and step 1010), `check` said `OK … finished,
    no alerts`, and `tail` the same; the NaN was read. Now a critical alert at its step, resolved as the run went on,
    in `check` and in `tail --headless`, and the log as it is stays OK."""
    import gzip

    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    code, [run], _ = check_json(FOUND / "hf_trl_qlora_dicts_behind_bar.log.gz")
    assert (code, run["state"], run["step"], run["total_steps"], run["alerts"]) == (0, "finished", 1755, 1755, [])
    text = gzip.decompress((FOUND / "hf_trl_qlora_dicts_behind_bar.log.gz").read_bytes()).decode()
    dicts = [m.start(1) for m in re.finditer(r"\{'loss': ([\d.]+),", text)]
    for nth, at_step in ((9, 100), (100, 1010)):
        end = text.index(",", dicts[nth])
        log = tmp_path / f"nan_{at_step}.log"
        log.write_text(text[:dicts[nth]] + "nan" + text[end:])
        code, [bad], _ = check_json(log)
        assert code == 2 and [(a["rule"], a["first_step"], a["firing_at_end"]) for a in bad["alerts"]] == [
            ("nonfinite", at_step, False)], bad["alerts"]
    live = subprocess.run([sys.executable, "-m", "runwatch", "tail", "-", "--interval", "0.2"], input=log.read_bytes(),
                          capture_output=True, timeout=120, check=False)  # the live path, its lines as they come
    assert live.returncode == 2 and b"loss is NaN at step 1010" in live.stdout, live.stdout[-2000:]


def test_a_run_read_as_events_alone_names_them(capsys: pytest.CaptureFixture[str]) -> None:
    """A review's XLM launch, stopped by Ctrl-C before any step (tests/fixtures/found/README.md): UNREAD, exit 3, as
    it should be, but its warning said "only events (checkpoints, warnings)" where its one event was the interrupt."""
    assert main(["check", str(FIXTURES / "found" / "xlm_eval_only_ctrlc.log")]) == 3
    out = capsys.readouterr().out
    assert out.startswith("UNREAD") and "only events (signal: KeyboardInterrupt)" in out


def test_an_earlier_attempt_that_stopped_short_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    """A review's detectron2 log of three runs (tests/fixtures/found/README.md), the second stopped at iteration 493
    of 10,000: `check` read the last run, `3999/4000 finished`, and said "started again 2 times", no word of the run
    that never ended. Its note names it now, from the `restarted` event's `from_step` and `from_total`; the first
    run, which ended at its total, is not named."""
    from tests.support.found import FOUND

    assert main(["check", str(FOUND / "detectron2_three_runs_second_stopped.log.gz")]) == 0
    out = capsys.readouterr().out
    assert "3999/4000  finished" in out and "started again 2 times" in out
    assert out.count("stopped at step") == 1 and "; attempt 2 stopped at step 493 of 10,000" in out
