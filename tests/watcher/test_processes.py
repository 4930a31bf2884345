"""ProcessSampler on real processes: what a user sees in the status line.

Children are started in their own session and killed (the whole group) at
teardown. Readings go through `tests.support.system.status_parts`, the `process`
field of `runwatch tail --headless --json`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from runwatch.alerts.rules.system import ProcessExit
from runwatch.model import Kind, ProcessRole, ProcessState, Record, Severity, SystemSample
from runwatch.state.run import RunTracker
from runwatch.state.system import SystemState
from runwatch.watcher import process_scan
from runwatch.watcher.processes import ProcessSampler, popen_exit_codes, process_state
from tests.support.subprocesses import kill_groups
from tests.support.system import status_parts
from tests.support.waiting import wait_for

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

BURN = "print('ready', flush=True)\nwhile True: pass"
ALLOC = ("import time\nb = bytearray(b'x') * (200 << 20)\nprint('ready', flush=True)\ntime.sleep(120)")
HOLD = ("import sys, time\nf = open(sys.argv[1], 'a')\nf.write('step 1\\n'); f.flush()\n"
        "print('ready', flush=True)\ntime.sleep(120)")
SLEEP = "import time\nprint('ready', flush=True)\ntime.sleep(120)"
LAUNCHER = """#!{python}
import os, subprocess, sys, time
worker = "import sys, time\\nf = open(sys.argv[1], 'a')\\nf.write('up\\\\n'); f.flush()\\ntime.sleep(120)"
for r in range(2):
    env = dict(os.environ, RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE="2")
    subprocess.Popen([sys.executable, "-c", worker, sys.argv[1]], env=env)
time.sleep(120)
"""
SPAWNER = ("import subprocess, sys, time\ninput()\n"
           "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
           "print('spawned', flush=True)\np.wait()\ntime.sleep(120)")

Spawn = Callable[..., subprocess.Popen[str]]


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start a Python child in its own process group; every group is killed and reaped afterwards."""
    started: list[subprocess.Popen[str]] = []

    def start(code: str, *args: str, ready: bool = True, argv: list[str] | None = None,
              **kw: object) -> subprocess.Popen[str]:
        cmd = argv or [sys.executable, "-c", code, *args]
        kw.setdefault("stdout", subprocess.PIPE)
        p = subprocess.Popen(cmd, text=True, start_new_session=True, **kw)  # type: ignore[call-overload]
        started.append(p)
        if ready:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        return p

    yield start
    kill_groups(started)


class Watch:
    """A ProcessSampler feeding a SystemState, sampled on demand at real time."""

    def __init__(self, sampler: ProcessSampler) -> None:
        self.sampler = sampler
        self.state = SystemState()

    def sample(self) -> SystemSample:
        now = time.time()
        s = SystemSample(t=now, processes=self.sampler.sample(now))
        self.state.apply(s)
        return s

    def status(self) -> dict:  # type: ignore[type-arg]
        process, _, _ = status_parts(self.state)
        assert process is not None
        return process

    def until(self, cond: Callable[[dict], object], spacing: float = 0.2, timeout: float = 10.0) -> dict:  # type: ignore[type-arg]
        """Sample every `spacing` s until the status satisfies `cond` (rates need time between samples)."""
        def check() -> object:
            time.sleep(spacing)
            self.sample()
            status = self.status()
            return status if cond(status) else None

        return wait_for(check, timeout=timeout, interval=0.0)  # type: ignore[no-any-return]


def test_cpu_burning_child_shows_its_cpu(spawn: Spawn) -> None:
    child = spawn(BURN)
    w = Watch(ProcessSampler([child.pid], discover=False))
    w.sample()
    assert w.status()["cpu_percent"] is None  # no rate from a single sample
    status = w.until(lambda s: (s["cpu_percent"] or 0) > 20)
    assert status["pid"] == child.pid and status["state"] == "running" and status["found_by"] == "pid"
    assert status["threads"] >= 1 and status["open_fds"] >= 3 and status["rss_bytes"] > 1 << 20


def test_memory_hungry_child_shows_its_rss(spawn: Spawn) -> None:
    child = spawn(ALLOC)
    w = Watch(ProcessSampler([child.pid], discover=False))
    status = w.until(lambda s: s["state"] == "sleeping", spacing=0.01)  # it printed "ready" just before sleeping
    assert status["rss_bytes"] > 190 << 20


def test_killed_child_is_seen_at_the_next_sample_with_its_exit_code(spawn: Spawn) -> None:
    child = spawn(SLEEP)
    name = psutil.Process(child.pid).name()
    w = Watch(ProcessSampler([child.pid], discover=False, exit_codes=popen_exit_codes(child)))
    w.until(lambda s: s["state"] == "sleeping", spacing=0.01)
    child.kill()
    wait_for(lambda: psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE)
    w.sample()
    status = w.status()
    assert status["state"] == "gone" and status["exit_code"] == -signal.SIGKILL
    # … and process_exit says so, critical, because the run had not finished
    run = RunTracker("train", "train.log")
    now = time.time()
    for i in range(5):
        run.apply(Record(Kind.STEP, step=i, total_steps=100, metrics={"loss": 2.0}, t=now), now)
    (f,) = ProcessExit().evaluate_system(run, w.state, now)
    assert f.severity == Severity.CRITICAL
    assert f.summary == f"{name} (pid {child.pid}) was killed by signal 9 before the run finished at step 4 of 100"
    w.sample()
    assert w.status()["state"] == "gone"  # the tombstone stays


def test_a_process_not_ours_is_a_zombie_then_gone_without_a_code(spawn: Spawn) -> None:
    child = spawn(SLEEP)
    w = Watch(ProcessSampler([child.pid], discover=False))
    w.sample()
    child.kill()
    w.until(lambda s: s["state"] == "zombie", spacing=0.01)
    child.wait()
    w.sample()
    status = w.status()
    assert status["state"] == "gone" and status["exit_code"] is None


def test_a_pid_that_does_not_exist_is_reported_gone(spawn: Spawn) -> None:
    child = spawn(SLEEP)
    child.kill()
    child.wait()
    w = Watch(ProcessSampler([child.pid], discover=False))
    w.sample()
    assert w.status() == {"pid": child.pid, "state": "gone", "cpu_percent": None, "rss_bytes": None,
                          "name": "", "found_by": "pid", "threads": None, "read_bps": None, "write_bps": None,
                          "open_fds": None, "exit_code": None}


def test_no_process_known_is_null_in_the_status() -> None:
    state = SystemState()
    state.apply(SystemSample(t=1.0, processes=ProcessSampler(discover=False).sample(1.0)))
    assert status_parts(state)[0] is None


@linux_only
def test_child_holding_the_log_open_is_found_without_a_pid(spawn: Spawn, tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.touch()
    holder = spawn(HOLD, str(log))
    w = Watch(ProcessSampler(logs=[str(log)]))
    w.sample()
    status = w.status()
    assert status["pid"] == holder.pid and status["found_by"] == "log" and status["state"] in ("sleeping", "running")


@linux_only
def test_torchrun_launcher_above_the_log_holders_and_each_workers_rank(spawn: Spawn, tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.touch()
    launcher = tmp_path / "torchrun"
    launcher.write_text(LAUNCHER.format(python=sys.executable))
    launcher.chmod(0o755)
    p = spawn("", str(log), ready=False, argv=[sys.executable, str(launcher), str(log)])
    wait_for(lambda: log.read_text().count("up") == 2)
    w = Watch(ProcessSampler(logs=[str(log)], search_s=0.0, tree_s=0.0, rescan_s=0.0))
    status = w.until(lambda s: len(s.get("ranks", [])) == 2, spacing=0.05)
    assert status["pid"] == p.pid and status["found_by"] == "torchrun"
    assert [r["rank"] for r in status["ranks"]] == [0, 1]
    workers = [q for q in w.state.processes if q.role == ProcessRole.RANK]
    assert {q.found_by for q in workers} == {"log"} and {q.local_rank for q in workers} == {0, 1}
    assert all(q.ppid == p.pid for q in workers)


PER_RANK_LAUNCHER = """#!{python}
import os, subprocess, sys, time
worker = "import sys, time\\nf = open(sys.argv[1], 'a')\\nf.write('up\\\\n'); f.flush()\\ntime.sleep(120)"
for r in range(2):
    env = dict(os.environ, RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE="2")
    subprocess.Popen([sys.executable, "-c", worker, os.path.join(sys.argv[1], f"rank{{r}}.log")], env=env)
time.sleep(120)
"""


@linux_only
def test_each_process_carries_the_files_that_name_its_run(spawn: Spawn, tmp_path: Path) -> None:
    """One sampler, two runs: a torchrun job whose ranks write `job/rank0.log` and `job/rank1.log`, and a
    script writing `solo.log`. The launcher carries its ranks' files and each rank its launcher's, so all
    three are the job's run; the script is the other's."""
    job, solo = tmp_path / "job", tmp_path / "solo.log"
    job.mkdir()
    launcher = tmp_path / "torchrun"
    launcher.write_text(PER_RANK_LAUNCHER.format(python=sys.executable))
    launcher.chmod(0o755)
    p = spawn("", str(job), ready=False, argv=[sys.executable, str(launcher), str(job)])
    other = spawn(HOLD, str(solo))
    wait_for(lambda: all((job / f"rank{r}.log").exists() and (job / f"rank{r}.log").read_text() for r in (0, 1)))
    w = Watch(ProcessSampler(logs=[str(job), str(solo)], search_s=0.0, tree_s=0.0, rescan_s=0.0))
    for r in (0, 1):
        w.state.attribute("job", str(job / f"rank{r}.log"))
    w.state.attribute("solo", str(solo))
    w.until(lambda s: len(s.get("ranks", [])) == 2, spacing=0.05)
    ranks = {q.pid for q in w.state.processes if q.role == ProcessRole.RANK}
    assert {q.pid for q in w.state.processes_of("job")} == {p.pid, *ranks}
    assert [q.pid for q in w.state.processes_of("solo")] == [other.pid]
    assert {q.sources for q in w.state.processes_of("job")} == {(str(job / "rank0.log"), str(job / "rank1.log"))}


@linux_only
def test_behind_tee_the_trainer_is_the_process_writing_into_the_pipe(spawn: Spawn, tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    trainer = "import time; print('step 1', flush=True); time.sleep(120)"
    sh = f"{sys.executable} -c \"{trainer}\" | tee {log} > /dev/null"
    spawn("", ready=False, argv=["/bin/sh", "-c", sh], stdout=subprocess.DEVNULL)
    wait_for(lambda: log.exists() and log.read_text() == "step 1\n")
    w = Watch(ProcessSampler(logs=[str(log)]))
    w.sample()
    status = w.status()
    assert status["found_by"] == "pipe" and status["name"].startswith("python")


@linux_only
def test_the_writer_of_our_stdin_pipe_is_found(spawn: Spawn, monkeypatch: pytest.MonkeyPatch) -> None:
    r, wfd = os.pipe()
    try:
        child = spawn(SLEEP, ready=False, stdout=wfd)
        monkeypatch.setattr(process_scan, "_own_stdin_pipe", lambda: f"pipe:[{os.fstat(r).st_ino}]")
        w = Watch(ProcessSampler(stdin_pipe=True))
        w.sample()
        status = w.status()
        assert status["pid"] == child.pid and status["found_by"] == "pipe"
    finally:
        os.close(r)
        os.close(wfd)


def test_a_child_born_later_is_adopted_at_the_next_refresh(spawn: Spawn) -> None:
    parent = spawn(SPAWNER, ready=False, stdin=subprocess.PIPE)
    w = Watch(ProcessSampler([parent.pid], discover=False, tree_s=0.0))
    w.sample()
    assert [q.pid for q in w.state.processes] == [parent.pid]
    assert parent.stdin is not None and parent.stdout is not None
    parent.stdin.write("\n")
    parent.stdin.flush()
    assert parent.stdout.readline().strip() == "spawned"
    w.sample()
    kids = [q for q in w.state.processes if q.pid != parent.pid]
    assert len(kids) == 1 and kids[0].role == ProcessRole.CHILD and kids[0].found_by == "child"
    assert w.status()["children"]["count"] == 1
    os.kill(kids[0].pid, signal.SIGKILL)
    w.until(lambda s: "children" not in s, spacing=0.02)  # a routine child exit leaves no tombstone
    w.sample()
    assert [q.pid for q in w.state.processes] == [parent.pid]


@pytest.mark.parametrize(("status", "state"), [
    (psutil.STATUS_RUNNING, ProcessState.RUNNING), (psutil.STATUS_SLEEPING, ProcessState.SLEEPING),
    (psutil.STATUS_IDLE, ProcessState.SLEEPING), (psutil.STATUS_DISK_SLEEP, ProcessState.DISK_SLEEP),
    (psutil.STATUS_ZOMBIE, ProcessState.ZOMBIE), (psutil.STATUS_STOPPED, ProcessState.STOPPED),
])
def test_psutil_states_fold_to_ours(status: str, state: ProcessState) -> None:
    assert process_state(status) == state


def test_an_exited_main_replaced_by_a_new_one_is_dropped_after_a_while(spawn: Spawn) -> None:
    first, second = spawn(SLEEP), spawn(SLEEP)
    sampler = ProcessSampler([first.pid], discover=False, exit_codes=popen_exit_codes(first, second))
    sampler.sample(1000.0)
    first.kill()
    first.wait()
    assert [(s.pid, s.state) for s in sampler.sample(1002.0)] == [(first.pid, ProcessState.GONE)]
    sampler.watch(pids=[second.pid])  # a restarted run (the engine learns the new pid)
    assert {s.pid for s in sampler.sample(1100.0)} == {first.pid, second.pid}
    assert [s.pid for s in sampler.sample(1400.0)] == [second.pid]
    assert [s.pid for s in sampler.sample(1500.0)] == [second.pid]  # and is not reported anew
