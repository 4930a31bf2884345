"""Log discovery in run directories, and new logs appearing while a run goes on."""

from __future__ import annotations

import gzip
import threading
import time
from pathlib import Path

import pytest

from runwatch.watcher.discover import DirectoryWatcher, find_logs, find_sources, rank_from_path
from runwatch.watcher.types import Notice
from tests.support.waiting import wait_for

# watchdog warns, harmlessly, when `mkdir -p` races its recursive watch setup.
pytestmark = pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")


def touch(root: Path, *names: str, data: bytes = b"step 1\n") -> list[Path]:
    paths = []
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    return paths


def torchrun_tree(root: Path, ranks: int, attempt: int = 0) -> None:
    run = root / "logs" / "f3a9c2_run"
    for rank in range(ranks):
        touch(run, f"attempt_{attempt}/{rank}/stdout.log", f"attempt_{attempt}/{rank}/stderr.log")
    touch(run, f"attempt_{attempt}/0/error.json", data=b"{}")


def test_finds_logs_and_skips_what_is_not_a_log(tmp_path: Path) -> None:
    touch(
        tmp_path,
        "train.log",
        "slurm-4242.out",
        "slurm-4242.err",
        "notes.txt",
        "run/stdout.txt",
        ".hidden/x.log",
        ".git/logs/HEAD.log",
        "wandb/run-1/files/output.log",
        "__pycache__/x.log",
        "venv/lib/x.log",
        "myenv/pyvenv.cfg",
        "myenv/lib/pip.log",
        "checkpoint-500/vocab.txt",
        "checkpoint-500/trainer.log",
        "tok/merges.txt",
        "requirements.txt",
        "config.yaml",
        "model.safetensors",
    )
    touch(tmp_path, "a.out", data=b"\x7fELF\x02\x01\x01\x00\x00\x00")
    found = [p.relative_to(tmp_path).as_posix() for p in find_logs(tmp_path)]
    assert found == ["notes.txt", "run/stdout.txt", "slurm-4242.err", "slurm-4242.out", "train.log"]


def test_compressed_logs_are_a_directorys_logs_only_where_it_has_none_in_plain_text(tmp_path: Path) -> None:
    """A job archive holds `train.log.gz` alone; beside a plain `train.log`, logrotate's `train.log.1.gz` is
    history read twice or out of order, and a live watcher never takes one up as a new log."""
    gz = gzip.compress(b"step 1 loss 2.0\n")
    touch(tmp_path, "a/train.log.gz", "a/train.log.2.gz", "a/slurm-7.out.xz", "a/model.pt.gz", "a/notes.gz",
          "a/requirements.txt.gz", data=gz)
    touch(tmp_path, "a/fake.log.gz", data=b"step 1\n")  # named so, but no gzip data
    touch(tmp_path, "b/train.log.1.gz", data=gz)
    touch(tmp_path, "b/train.log")
    assert find_logs(tmp_path / "a") == []
    found = [p.relative_to(tmp_path).as_posix() for p in find_logs(tmp_path / "a", compressed=True)]
    assert found == ["a/slurm-7.out.xz", "a/train.log.2.gz", "a/train.log.gz"]
    assert [p.name for p in find_logs(tmp_path / "b", compressed=True)] == ["train.log"]
    found = Found()
    with DirectoryWatcher(tmp_path / "b", found, poll_interval=0.05, use_inotify=False):
        touch(tmp_path, "b/train.log.2.gz", data=gz)  # rotated and compressed while watched
        touch(tmp_path, "b/rank1.log")
        wait_for(lambda: found.paths)
    assert found.names(tmp_path) == ["b/rank1.log"]


def test_torchrun_tree_in_natural_order(tmp_path: Path) -> None:
    torchrun_tree(tmp_path, ranks=11)
    found = [p.relative_to(tmp_path / "logs" / "f3a9c2_run").as_posix() for p in find_logs(tmp_path)]
    assert len(found) == 22 and not any(p.endswith("error.json") for p in found)
    assert found[:4] == [
        "attempt_0/0/stderr.log",
        "attempt_0/0/stdout.log",
        "attempt_0/1/stderr.log",
        "attempt_0/1/stdout.log",
    ]
    assert found[-2:] == ["attempt_0/10/stderr.log", "attempt_0/10/stdout.log"]  # 10 after 9, not after 1


def test_missing_directory_has_no_logs(tmp_path: Path) -> None:
    assert find_logs(tmp_path / "nope") == []


@pytest.mark.parametrize(
    ("path", "rank"),
    [
        ("logs/run/attempt_0/3/stdout.log", 3),
        ("logs/run/attempt_2/12/stderr.log", 12),
        ("rank3.log", 3),
        ("train_rank3.log", 3),
        ("train_rank-3.out", 3),
        ("rank_7/train.log", 7),
        ("Rank.5.txt", 5),
        ("train.log", None),
        ("slurm-4242.out", None),
        ("local_rank3.log", None),
        ("frank3.log", None),
        ("logs/3/stdout.log", None),  # a number alone is not a rank outside torchrun's tree
        ("log/workerlog.3", 3),  # PaddlePaddle's launcher
        ("log/workerlog.3.bak", None),
    ],
)
def test_rank_from_path(path: str, rank: int | None) -> None:
    assert rank_from_path(Path(path)) == rank


class Found:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.paths: list[Path] = []

    def __call__(self, path: Path) -> None:
        with self._lock:
            self.paths.append(path)

    def names(self, root: Path) -> list[str]:
        with self._lock:
            return [p.relative_to(root).as_posix() for p in self.paths]


@pytest.mark.parametrize("use_inotify", [True, False], ids=["inotify", "poll"])
def test_new_rank_and_attempt_files_are_reported_once(tmp_path: Path, use_inotify: bool) -> None:
    torchrun_tree(tmp_path, ranks=2)
    initial = find_logs(tmp_path)
    found = Found()
    run = tmp_path / "logs" / "f3a9c2_run"
    with DirectoryWatcher(tmp_path, found, poll_interval=0.05, use_inotify=use_inotify, known=initial) as watcher:
        watcher.ready.wait(5)
        touch(run, "attempt_0/2/stdout.log")
        wait_for(lambda: found.paths)
        torchrun_tree(tmp_path, ranks=3, attempt=1)  # the elastic agent restarted the workers
        wait_for(lambda: len(found.paths) == 7)
        (run / "attempt_0/2/stdout.log").write_text("more\n")  # growth is not news
        time.sleep(0.2)
    names = found.names(run)
    assert names[0] == "attempt_0/2/stdout.log"
    assert sorted(names[1:]) == sorted(
        f"attempt_1/{r}/{s}.log" for r in range(3) for s in ("stdout", "stderr")
    )


def test_inotify_reports_new_files_before_the_poll(tmp_path: Path) -> None:
    found = Found()
    with DirectoryWatcher(tmp_path, found, poll_interval=30.0) as watcher:
        watcher.ready.wait(5)
        touch(tmp_path, "deep/er/rank1.log")
        wait_for(lambda: found.paths, timeout=2.0)
    assert found.names(tmp_path) == ["deep/er/rank1.log"]


def test_files_present_at_construction_are_not_reported(tmp_path: Path) -> None:
    touch(tmp_path, "train.log")
    found = Found()
    with DirectoryWatcher(tmp_path, found, poll_interval=0.05, use_inotify=False) as watcher:
        watcher.ready.wait(5)
        touch(tmp_path, "eval.log")
        wait_for(lambda: found.paths)
    assert found.names(tmp_path) == ["eval.log"]


def test_directory_that_appears_later(tmp_path: Path) -> None:
    found = Found()
    root = tmp_path / "run"
    with DirectoryWatcher(root, found, poll_interval=0.05) as watcher:
        watcher.ready.wait(5)
        touch(root, "train.log")
        wait_for(lambda: found.paths)
    assert found.names(root) == ["train.log"]


def test_a_failing_callback_is_reported_once(tmp_path: Path) -> None:
    notices: list[Notice] = []

    def broken(path: Path) -> None:
        raise RuntimeError("consumer bug")

    with DirectoryWatcher(tmp_path, broken, poll_interval=0.05, on_notice=notices.append) as watcher:
        touch(tmp_path, "a.log")
        wait_for(lambda: notices)
        time.sleep(0.15)
        assert watcher.name.startswith("runwatch-")
    assert len(notices) == 1 and "consumer bug" in notices[0].message


# ── structured sources ───────────────────────────────────────────────────────


def test_find_sources_names_metric_files_checkpoints_and_wandb(tmp_path: Path) -> None:
    assert find_sources(tmp_path) == []
    touch(tmp_path, "lightning_logs/version_0/metrics.csv", "tb/events.out.tfevents.1.host", "train.log",
          "checkpoint-10/trainer_state.json", data=b"step\n")
    (tmp_path / "wandb").mkdir()
    assert [p.relative_to(tmp_path).as_posix() for p in find_sources(tmp_path)] == [
        "lightning_logs/version_0/metrics.csv", "tb/events.out.tfevents.1.host", ".", "wandb"]
    assert tmp_path not in find_sources(tmp_path, checkpoints=False)


@pytest.mark.parametrize("use_inotify", [True, False], ids=["inotify", "poll"])
def test_structured_sources_that_appear_later_are_reported_once(tmp_path: Path, use_inotify: bool) -> None:
    touch(tmp_path, "train.log", "old/metrics.csv", data=b"step,loss\n")
    logs, sources = Found(), Found()
    with DirectoryWatcher(tmp_path, logs, poll_interval=0.05, use_inotify=use_inotify,
                          on_new_source=sources) as watcher:
        touch(tmp_path, "lightning_logs/version_0/metrics.csv", data=b"step,loss\n")
        wait_for(lambda: sources.paths)
        touch(tmp_path, "step_100/model.pt", data=b"PK\x03\x04")  # the first checkpoint
        wait_for(lambda: len(sources.paths) == 2)
        (tmp_path / "wandb").mkdir()
        touch(tmp_path, "eval.log")
        wait_for(lambda: len(sources.paths) == 3 and logs.paths)
        touch(tmp_path, "step_200/model.pt", data=b"PK\x03\x04")  # more checkpoints: the same source
        with (tmp_path / "lightning_logs/version_0/metrics.csv").open("a") as f:
            f.write("1,2.0\n")  # growth is not news
        scans = watcher._sources_at
        wait_for(lambda: watcher._sources_at > scans + 0.05)  # two more looks at least
    assert sources.names(tmp_path) == ["lightning_logs/version_0/metrics.csv", ".", "wandb"]
    assert logs.names(tmp_path) == ["eval.log"]  # logs and sources apart


def test_known_sources_are_not_reported(tmp_path: Path) -> None:
    touch(tmp_path, "a/metrics.csv", data=b"step\n")
    sources = Found()
    with DirectoryWatcher(tmp_path, Found(), poll_interval=0.05, use_inotify=False, on_new_source=sources,
                          known_sources=[]):
        wait_for(lambda: sources.paths)
    assert sources.names(tmp_path) == ["a/metrics.csv"]  # given none known, the one there is new
    sources = Found()
    with DirectoryWatcher(tmp_path, Found(), poll_interval=0.05, use_inotify=False, on_new_source=sources,
                          known_sources=[tmp_path / "a/metrics.csv"]) as watcher:
        touch(tmp_path, "b/metrics.csv", data=b"step\n")
        wait_for(lambda: sources.paths)
        scans = watcher._sources_at
        wait_for(lambda: watcher._sources_at > scans)
    assert sources.names(tmp_path) == ["b/metrics.csv"]


def test_ready_is_set_after_the_first_look_and_when_the_thread_ends_early(tmp_path: Path) -> None:
    """What tests wait on instead of sleeping: files present at the first look are known, not news."""
    looks: list[int] = []

    class Counting(DirectoryWatcher):
        def _step(self) -> None:
            looks.append(1)
            super()._step()

    watcher = Counting(tmp_path, Found(), poll_interval=30.0, use_inotify=False)
    assert not watcher.ready.is_set()
    with watcher:
        assert watcher.ready.wait(5) and looks == [1]
    never = DirectoryWatcher(tmp_path, Found(), poll_interval=30.0, use_inotify=False)
    never.stop()  # stopped before it ran: a waiter is not left hanging
    never.start()
    assert never.ready.wait(5)
    never.join(5)


def test_writes_to_a_log_it_knows_do_not_wake_the_walk(tmp_path: Path) -> None:
    """A followed log written a line at a time is a file event at every write: the directory's discovery
    used to wake and list the tree for each (rate-limited to 20 a second). Now only paths it does not
    know wake it."""
    (log,) = touch(tmp_path, "train.log")
    found, sources = Found(), Found()
    watcher = DirectoryWatcher(tmp_path, found, poll_interval=30.0, known=[log], on_new_source=sources,
                               known_sources=[])
    looks = 0
    step = watcher._step

    def counted() -> None:
        nonlocal looks
        looks += 1
        step()

    watcher._step = counted  # type: ignore[method-assign]
    with watcher:
        watcher.ready.wait(5)
        with log.open("a", buffering=1) as f:
            for i in range(40):
                f.write(f"step {i}\n")
                time.sleep(0.01)
        time.sleep(0.3)
        assert looks == 1  # the first look only
        touch(tmp_path, "rank1.log")  # news still wakes it
        wait_for(lambda: found.paths, timeout=2.0)
    assert found.names(tmp_path) == ["rank1.log"]


def test_a_source_that_appears_just_after_a_walk_is_found_at_the_end_of_the_gap(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk for structured sources is taken at most once per SOURCE_SCAN_S; an event inside that gap
    used to be dropped until the next event or the next poll (Lightning's metrics.csv, created as its run
    ended, was found a second late). Now the skipped walk is owed and taken when the gap ends."""
    monkeypatch.setattr("runwatch.watcher.discover.SOURCE_SCAN_S", 0.5)
    sources = Found()
    with DirectoryWatcher(tmp_path, Found(), poll_interval=30.0, on_new_source=sources, known_sources=[]) as w:
        w.ready.wait(5)  # the first look walked just now
        touch(tmp_path, "lightning_logs/version_0/metrics.csv", data=b"step,loss\n0,2.5\n")
        wait_for(lambda: sources.paths, timeout=3.0)  # not the 30 s poll
    assert sources.names(tmp_path) == ["lightning_logs/version_0/metrics.csv"]


def paddle_log_dir(root: Path) -> Path:
    """A real PaddleSeg run's `log/` as Paddle's launcher left it (tests/fixtures/found/README.md): four
    `workerlog.N`, and the `endpoints.log` its launcher writes beside them (another run's, as real)."""
    import gzip
    import shutil

    found = Path(__file__).parents[1] / "fixtures" / "found"
    log = root / "log"
    log.mkdir()
    for gz in sorted((found / "paddleseg_encnet_log").glob("workerlog.*.gz")):
        (log / gz.name.removesuffix(".gz")).write_bytes(gzip.decompress(gz.read_bytes()))
    shutil.copy(found / "paddle_launcher_endpoints.log", log / "endpoints.log")
    return log


def test_paddles_worker_logs_are_logs_and_its_endpoints_list_is_none(tmp_path: Path) -> None:
    """A new user's review: `check log/` of a Paddle run said no logs were found (`workerlog.0` has no log
    suffix), and beside them only `endpoints.log` was read: `nothing understood`."""
    log = paddle_log_dir(tmp_path)
    assert [p.name for p in find_logs(log)] == ["workerlog.0", "workerlog.1", "workerlog.2", "workerlog.3"]


def test_a_table_named_as_a_log_is_a_source_in_a_directory_as_it_is_named_alone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: `check logs/` of a directory holding the `step\\tloss` table `train.log` said UNREAD,
    `nothing understood` (found by its name, it was read as a text log), where `check logs/train.log` read its
    457 rows. Found in a directory it is the metric file it is when named, and never reported as a new log."""
    from runwatch.cli import main
    from tests.support.paths import FIXTURES

    table = (FIXTURES / "found" / "gpt2_shakespeare_train_log_table.log").read_bytes()
    logs = tmp_path / "logs"
    touch(logs, "train.log", data=table)
    touch(logs, "other.log")
    assert [p.name for p in find_logs(logs)] == ["other.log"]
    assert logs / "train.log" in find_sources(logs)
    found = Found()
    with DirectoryWatcher(logs, found, poll_interval=0.05, use_inotify=False, known=find_logs(logs)) as watcher:
        watcher.ready.wait(5)
        touch(logs, "later_table.log", data=table)
        touch(logs, "later.log")
        wait_for(lambda: found.paths)
        time.sleep(0.2)
    assert found.names(logs) == ["later.log"]
    (logs / "other.log").unlink()
    (logs / "later.log").unlink()
    (logs / "later_table.log").unlink()
    said = []
    for path in (logs, logs / "train.log"):
        assert main(["check", str(path)]) == 0
        said.append(capsys.readouterr().out.split("\n")[0].split(")", 1)[1])
    assert said[0] == said[1] and "step 4570  ended  457 records" in said[0], said


def test_a_look_for_sources_does_not_open_the_logs_it_knows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each look for sources asked of every log whether it was a table, opening it: 78 ms of a 122 ms look
    over 2,000 logs (a code review). A log known or reported as one is not asked again; a new file is."""
    import runwatch.watcher.discover as discover
    from tests.support.paths import FIXTURES

    logs = touch(tmp_path, *(f"rank{i}.log" for i in range(20)), data=b"step 1 loss 2.0\n")
    asked: list[Path] = []
    real = discover.is_table
    monkeypatch.setattr(discover, "is_table", lambda p: asked.append(p) or real(p))
    found, sources = Found(), Found()
    watcher = DirectoryWatcher(tmp_path, found, poll_interval=30.0, use_inotify=False, known=logs,
                               on_new_source=sources, known_sources=[])
    watcher._sources_at = -float("inf")
    watcher._step()
    assert asked == []
    touch(tmp_path, "late.log", data=b"step 1 loss 2.0\n")
    table = (FIXTURES / "found" / "gpt2_shakespeare_train_log_table.log").read_bytes()
    touch(tmp_path, "table.log", data=table)
    watcher._sources_at = -float("inf")
    watcher._step()
    assert found.names(tmp_path) == ["late.log"] and sources.names(tmp_path) == ["table.log"]
    asked.clear()
    watcher._sources_at = -float("inf")
    watcher._step()
    assert asked == [tmp_path / "table.log"]  # the table is a source already, but no log: it is asked
    watcher.stop()
