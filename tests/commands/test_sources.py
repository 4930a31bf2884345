"""What `parse` and `check` plan to read for their PATHs: the sources `tail` follows, each once."""

from __future__ import annotations

from pathlib import Path

import pytest

from runwatch.commands.sources import plan_runs
from runwatch.errors import PathError


def touch(path: Path, text: str = "x\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def fake_wandb_run(root: Path) -> Path:
    """The layout wandb 0.31 leaves in offline mode: its own debug logs next to the run's `.wandb` file."""
    run = root / "wandb" / "offline-run-20261121_173800-abc123"
    touch(root / "wandb" / "debug-internal.log", '{"time":"2026-11-21","level":"INFO","pid":7}\n')
    touch(root / "wandb" / "debug.log")
    touch(run / "logs" / "debug-internal.log")
    touch(run / "files" / "output.log", "step 1 loss 2.0\n")
    (run / "run-abc123.wandb").write_bytes(b":W&B\xe1\xbe\x00")
    (root / "wandb" / "latest-run").symlink_to(run.name)
    return run


def test_a_wandb_dir_is_one_wandb_source_and_none_of_its_debug_logs(tmp_path: Path) -> None:
    run = fake_wandb_run(tmp_path)
    for path in (tmp_path / "wandb", tmp_path / "wandb" / "latest-run", run, run / "run-abc123.wandb"):
        [plan] = plan_runs([str(path)])
        assert plan.logs == [] and plan.items == [str(path)], path
        assert plan.name == {"wandb": "wandb", "latest-run": "latest-run"}.get(path.name, "abc123")


def test_a_run_directory_holds_its_logs_metric_files_checkpoints_and_wandb(tmp_path: Path) -> None:
    fake_wandb_run(tmp_path)
    log = touch(tmp_path / "train.log")
    csv = touch(tmp_path / "lightning_logs" / "version_0" / "metrics.csv", "epoch,step,train_loss\n0,1,2.0\n")
    touch(tmp_path / "checkpoint-20" / "trainer_state.json", "{}")
    [plan] = plan_runs([str(tmp_path)])
    assert plan.name == tmp_path.name
    assert plan.logs == [log]
    assert plan.items == [str(csv), str(tmp_path), str(tmp_path / "wandb")]  # the dir itself: its checkpoints


def test_a_checkpoint_dir_alone_is_read_not_refused(tmp_path: Path) -> None:
    touch(tmp_path / "out" / "checkpoint-20" / "trainer_state.json", "{}")
    [plan] = plan_runs([str(tmp_path / "out")])
    assert plan.items == [str(tmp_path / "out")] and plan.logs == []


def test_a_metric_file_given_directly_is_a_structured_source(tmp_path: Path) -> None:
    state = touch(tmp_path / "out" / "checkpoint-20" / "trainer_state.json", "{}")
    [plan] = plan_runs([str(state)])
    assert plan.items == [str(state)] and plan.logs == []


def test_rank_files_stay_one_run_and_a_file_is_read_once(tmp_path: Path) -> None:
    r0, r1 = touch(tmp_path / "logs" / "rank0.log"), touch(tmp_path / "logs" / "rank1.log")
    csv = touch(tmp_path / "logs" / "metrics.csv", "step,loss\n1,2\n")
    plans = plan_runs([str(r0), str(r1), str(csv), str(tmp_path / "logs")])
    assert [(p.logs, p.items) for p in plans] == [([r0, r1], []), ([], [str(csv)])]  # the dir adds nothing new


def test_stdin_once_and_errors_name_the_path(tmp_path: Path) -> None:
    [plan] = plan_runs(["-"])
    assert plan.stdin and plan.label == "-"
    with pytest.raises(PathError, match="only once"):
        plan_runs(["-", "-"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(PathError, match="empty: no training logs, metric files, checkpoints or W&B runs"):
        plan_runs([str(tmp_path / "empty")])
    with pytest.raises(PathError, match="nope.log: no such file"):
        plan_runs([str(tmp_path / "nope.log")])
    with pytest.raises(PathError, match=r"\*.csv: no file matches"):
        plan_runs([str(tmp_path / "*.csv")])


def test_format_wandb_reads_every_path_as_a_wandb_run(tmp_path: Path) -> None:
    run = fake_wandb_run(tmp_path)
    [plan] = plan_runs([str(tmp_path)], fmt="wandb")  # a dir holding wandb/: the run, not the dir's logs
    assert plan.items == [str(run.resolve() / "run-abc123.wandb")] and plan.logs == []
    with pytest.raises(PathError, match="output.log: no W&B run here"):
        plan_runs([str(run / "files" / "output.log")], fmt="wandb")
    with pytest.raises(PathError, match="standard input"):
        plan_runs(["-"], fmt="wandb")
