"""The planner (runwatch.plan): PATHs → runs and their sources, the same for `tail`, `watch`, `parse` and `check`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runwatch.errors import PathError
from runwatch.plan import plan, plan_runs


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


def test_a_file_whose_name_looks_like_a_glob_is_that_file(tmp_path: Path) -> None:
    """A new user's review: `check 'br[1]x.log'` said "no file matches" for a file that exists."""
    log = tmp_path / "run[1].log"
    log.write_bytes((REALRUNS / "kvlog-nan" / "run" / "train.log").read_bytes())
    (tmp_path / "run1.log").write_text("")  # what the glob `run[1].log` would match instead
    [plan] = plan_runs([str(log)])
    assert plan.logs == [log]
    [globbed] = plan_runs([str(tmp_path / "run?1?.log")])  # a real glob still globs
    assert globbed.logs == [log]


def test_format_wandb_reads_every_path_as_a_wandb_run(tmp_path: Path) -> None:
    run = fake_wandb_run(tmp_path)
    [plan] = plan_runs([str(tmp_path)], fmt="wandb")  # a dir holding wandb/: the run, not the dir's logs
    assert plan.items == [str(run.resolve() / "run-abc123.wandb")] and plan.logs == []
    with pytest.raises(PathError, match="output.log: no W&B run here"):
        plan_runs([str(run / "files" / "output.log")], fmt="wandb")
    with pytest.raises(PathError, match="standard input"):
        plan_runs(["-"], fmt="wandb")


REALRUNS = Path(__file__).parent / "fixtures" / "realruns"
CORPUS = Path(__file__).parent / "fixtures" / "corpus" / "raw"


def test_rank_files_named_or_in_rank_dirs_are_one_run(tmp_path: Path) -> None:
    named = [touch(tmp_path / "a" / f"rank{r}.log") for r in (0, 1)]
    in_dirs = [touch(tmp_path / "b" / f"rank_{r}" / "train.log") for r in (0, 1)]
    assert [p.logs for p in plan_runs([str(tmp_path / "a")])] == [named]
    assert [p.logs for p in plan_runs([str(tmp_path / "b")])] == [in_dirs]
    assert [p.logs for p in plan_runs([str(p) for p in named])] == [named]


def test_one_process_streams_are_one_run(tmp_path: Path) -> None:
    out, err = touch(tmp_path / "slurm-77.out"), touch(tmp_path / "slurm-77.err")
    [plan] = plan_runs([str(tmp_path)])
    assert sorted(plan.logs) == sorted([out, err])
    pair = [touch(tmp_path / "x" / "stdout.log"), touch(tmp_path / "x" / "stderr.log")]
    [plan] = plan_runs([str(p) for p in pair])
    assert plan.logs == pair and plan.name == "x"


def test_two_unrelated_logs_in_a_directory_are_two_runs(tmp_path: Path) -> None:
    pre = touch(tmp_path / "speedrun.log")
    sft = touch(tmp_path / "sft.log")
    csv = touch(tmp_path / "metrics.csv", "step,loss\n1,2\n")
    plans = plan_runs([str(tmp_path)])
    assert [(p.name, p.logs, p.items) for p in plans] == [
        ("sft", [sft], []), ("speedrun", [pre], []), (tmp_path.name, [], [str(csv)])]


def test_torchrun_log_dir_with_its_console_log_is_one_run() -> None:
    """`torchrun --log-dir logs --redirects 3 … > train.log`: the console log and every rank's streams."""
    run = REALRUNS / "torchrun-logdir-nan" / "run"
    [plan] = plan_runs([str(run)])
    assert plan.name == "run"
    assert sorted(p.relative_to(run).parts[-2:] for p in plan.logs) == [
        ("0", "stderr.log"), ("0", "stdout.log"), ("1", "stderr.log"), ("1", "stdout.log"), ("train.log",)]


def test_every_attempt_of_a_torchrun_launch_is_the_same_run(tmp_path: Path) -> None:
    logs = [touch(tmp_path / "logs" / "id1" / f"attempt_{a}" / str(r) / "stdout.log") for a in (0, 1) for r in (0, 1)]
    [plan] = plan_runs([str(tmp_path)])
    assert sorted(plan.logs) == sorted(logs)


def test_live_waits_for_what_is_not_there_yet(tmp_path: Path) -> None:
    missing, empty = tmp_path / "later.log", tmp_path / "empty"
    empty.mkdir()
    planned = plan([str(missing), str(tmp_path / "*.csv"), str(empty)], live=True)
    assert [(p.name, p.logs) for p in planned.runs] == [
        ("later", [missing]), ("*", [tmp_path / "*.csv"]), ("empty", [])]
    assert [d.path for d in planned.directories] == [empty]


def test_live_places_new_logs_by_the_same_rules(tmp_path: Path) -> None:
    """A directory followed from empty: its first log is the directory's run, a rank set of the same
    launch joins it, an unrelated log starts a run of its own."""
    [d] = plan([str(tmp_path)], live=True).directories
    first, new = d.place(touch(tmp_path / "train.log"))
    assert not new and first.name == tmp_path.name
    ranks = [d.place(touch(tmp_path / "logs" / "id" / "attempt_0" / str(r) / "stdout.log")) for r in (0, 1)]
    assert all(run is first and not new for run, new in ranks)
    other, new = d.place(touch(tmp_path / "eval.log"))
    assert new and other.name == "eval" and other is not first
    home, new = d.items_home(str(tmp_path / "metrics.csv"))  # beside both logs: the directory's run
    assert home is first and not new
    under, new = d.items_home(str(tmp_path / "logs" / "id" / "attempt_0" / "0" / "events.out.tfevents.1"))
    assert under is first and not new  # under the rank logs' directory: their run


def test_a_log_that_appears_in_a_followed_directory_is_named_as_at_start(tmp_path: Path) -> None:
    """A new user's review asked that the first log of a directory followed from empty be named as `tail`
    started after it appeared names it: the directory's name (a directory of one run is that run), live
    and at start alike; a log that would have been a run of its own at start is one live too."""
    live, started = tmp_path / "live" / "d", tmp_path / "started" / "d"
    live.mkdir(parents=True)
    [d] = plan([str(live)], live=True).directories
    first, _ = d.place(touch(live / "train.log"))
    touch(started / "train.log")
    assert first.name == "d"
    assert [r.name for r in plan([str(started)], live=True).runs] == [r.name for r in plan_runs([str(started)])] == ["d"]
    other, new = d.place(touch(live / "eval.log"))
    touch(started / "eval.log")
    assert new and other.name == "eval" and other is not first
    assert "eval" in [r.name for r in plan([str(started)], live=True).runs]


def test_a_directory_of_runs_gives_each_run_its_own_metric_files_and_checkpoints(tmp_path: Path) -> None:
    """A review: a directory holding the run lab's recordings (each a log, TensorBoard files, an HF run's
    checkpoints, a Lightning CSV five levels down) was planned as the runs' logs plus one made-up run
    of every run's TensorBoard files and checkpoints merged."""
    import shutil

    from tests.support.realruns import recordings

    names = ("nanogpt-tb-healthy", "nanogpt-tb-nan", "hf-wandb-nan", "lightning-default-healthy")
    by_name = {r.name: r for r in recordings()}
    for name in names:
        shutil.copytree(by_name[name].run_dir, tmp_path / name / "run", symlinks=True, ignore_dangling_symlinks=True)
    for runs in (plan_runs([str(tmp_path)]), plan([str(tmp_path)], live=True).runs):
        assert len(runs) == len(names)
        for run in runs:
            (home,) = {p.parts[len(tmp_path.parts)] for p in run.logs}
            assert home in names and run.items
            assert all(Path(i).parts[len(tmp_path.parts)] == home for i in run.items), run
        items = {Path(run.logs[0]).parts[len(tmp_path.parts)]: run.items for run in runs}
        assert any(i.endswith("metrics.csv") for i in items["lightning-default-healthy"])
        assert any(Path(i).name == "out" for i in items["hf-wandb-nan"])  # its checkpoints' directory


def test_check_and_tail_plan_the_same_runs_for_a_directory(tmp_path: Path) -> None:
    for name in ("nanochat_pr492_speedrun_d24_feb01.training_output.log", "nanochat_pr657_sft_run.log"):
        (tmp_path / name).symlink_to(CORPUS / name)
    once, live = plan_runs([str(tmp_path)]), plan([str(tmp_path)], live=True).runs
    assert [(p.name, p.logs) for p in once] == [(p.name, p.logs) for p in live]
    assert len(once) == 2


def copy_recorded_wandb_runs(dest: Path, renamed: bool = False) -> list[Path]:
    """The two offline runs the run lab recorded (Hugging Face Trainer, report_to="wandb") in one `wandb/`."""
    import shutil

    out = []
    for rec in ("hf-wandb-healthy", "hf-wandb-nan"):
        [src] = (REALRUNS / rec / "run" / "wandb").glob("offline-run-*")
        target = dest / "wandb" / (f"copy-of-{rec}" if renamed else src.name)
        shutil.copytree(src, target, symlinks=True)  # logs/debug-core.log links into the recorder's cache
        out.append(target)
    return out


def test_every_run_of_a_wandb_directory_is_read_once(tmp_path: Path) -> None:
    runs = copy_recorded_wandb_runs(tmp_path)
    plans = plan_runs([str(tmp_path / "wandb")])
    assert [(p.items, p.logs) for p in plans] == [([str(r)], []) for r in runs]
    assert len({p.name for p in plans}) == 2
    live = plan([str(tmp_path / "wandb")], live=True).runs
    assert [p.items for p in live] == [[str(tmp_path / "wandb")]]  # followed: the run being written


def test_wandb_runs_are_found_by_content_and_below_the_top(tmp_path: Path) -> None:
    runs = copy_recorded_wandb_runs(tmp_path / "exp" / "outputs", renamed=True)
    for r in runs:
        [f] = r.glob("*.wandb")
        f.rename(r / "transaction-log")  # no suffix: known by its header
    assert [p.items for p in plan_runs([str(tmp_path / "exp" / "outputs" / "wandb")])] == [[str(r)] for r in runs]
    [only] = plan_runs([str(runs[1])])
    assert only.items == [str(runs[1])]
    [whole] = plan_runs([str(tmp_path / "exp")])
    assert whole.items == [str(tmp_path / "exp" / "outputs" / "wandb")]


def test_a_trainer_state_under_another_name_is_known_by_its_content(tmp_path: Path) -> None:
    from runwatch.watcher.metric_files import classify_path

    state = REALRUNS / "hf-wandb-nan" / "run" / "out" / "checkpoint-120" / "trainer_state.json"
    copy = tmp_path / "state-at-120.json"
    copy.write_bytes(state.read_bytes())
    assert classify_path(copy) == "trainer_state"
    [plan] = plan_runs([str(copy)])
    assert plan.items == [str(copy)] and plan.logs == []
    other = touch(tmp_path / "config.json", '{"lr": 0.001, "log_history_len": 3}')
    assert classify_path(other) is None


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "/dev/urandom", "socket"])
def test_read_once_refuses_what_is_no_file(tmp_path: Path, special: str) -> None:
    """A FIFO with no writer blocked `check` in `open`; /dev/zero kept it busy forever."""
    import socket

    path = special
    if special == "fifo":
        path = str(tmp_path / "train.log")
        os.mkfifo(path)
    elif special == "socket":
        path = str(tmp_path / "s.log")
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(path)
    with pytest.raises(PathError, match="not a regular file"):
        plan_runs([path])
    assert plan([path], live=True).runs[0].logs == [Path(path)]  # the follower says it, in a notice


def test_runs_with_the_same_log_name_are_named_by_the_directories_that_tell_them_apart(tmp_path: Path) -> None:
    """A new user's review: a directory of runs each with a `train.log` named them `train`, `train-2`."""
    for run in ("exp-a", "exp-b"):
        (tmp_path / run / "out").mkdir(parents=True)
        (tmp_path / run / "out" / "train.log").write_bytes((REALRUNS / "kvlog-nan" / "run" / "train.log").read_bytes())
    names = sorted(r.name for r in plan_runs([str(tmp_path)]))
    assert names == ["exp-a", "exp-b"]  # `out` is the same for both: one level further up
    one = plan_runs([str(tmp_path / "exp-a" / "out" / "train.log")])
    assert [r.name for r in one] == ["train"]  # alone, a log is named after itself


def test_a_path_under_a_file_is_refused_live_since_it_can_never_appear(tmp_path: Path) -> None:
    """A new user's review: `tail run.log/x` waited for ever; a path whose existing ancestor is a file is an
    error (exit 3), while one under directories still to be made is followed until it appears."""
    log = tmp_path / "run.log"
    log.write_text("")
    with pytest.raises(PathError, match=r"run\.log/deeper/x\.log: cannot appear: .*run\.log is a file"):
        plan([str(log / "deeper" / "x.log")], live=True)
    [run] = plan([str(tmp_path / "later" / "sub" / "x.log")], live=True).runs
    assert run.name == "x"
