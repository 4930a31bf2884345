"""SystemState: histories from samples, and the DESIGN §3 status fields."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from runwatch.model import (
    DiskSample,
    GpuSample,
    HostSample,
    ProcessRole,
    ProcessSample,
    ProcessState,
    SystemSample,
)
from runwatch.state.system import NO_SAMPLE, WRITER_LEFT_GRACE_S, SystemState, window, writers_left
from tests.support.system import GIB, gpu, proc, status_parts


def test_before_any_sample() -> None:
    assert status_parts(SystemState()) == (None, [], NO_SAMPLE)


def test_status_fields_have_the_design_shape() -> None:
    state = SystemState()
    state.apply(SystemSample(
        t=10.0, gpu_status="ok",
        processes=(proc(4242, cpu_percent=98.04, rss_bytes=123456789, threads=12, open_fds=40, found_by="torchrun"),
                   proc(4243, ProcessRole.RANK, rank=0, local_rank=0, cpu_percent=99.0, rss_bytes=10),
                   proc(4244, ProcessRole.RANK, rank=1, local_rank=1, cpu_percent=97.0, rss_bytes=11),
                   proc(4250, ProcessRole.CHILD, rank=0, cpu_percent=5.0, rss_bytes=100),
                   proc(4251, ProcessRole.CHILD, rank=0, cpu_percent=6.0, rss_bytes=200)),
        gpus=(gpu(0, pids=(4243,)), gpu(1, pids=(4244,)), GpuSample(2, name="H100", error="GPU is lost"))))
    process, gpus, status = status_parts(state)
    assert process == {
        "pid": 4242, "state": "running", "cpu_percent": 98.0, "rss_bytes": 123456789, "name": "python",
        "found_by": "torchrun", "threads": 12, "read_bps": None, "write_bps": None, "open_fds": 40,
        "ranks": [{"pid": 4243, "state": "running", "rank": 0, "cpu_percent": 99.0, "rss_bytes": 10},
                  {"pid": 4244, "state": "running", "rank": 1, "cpu_percent": 97.0, "rss_bytes": 11}],
        "children": {"count": 2, "cpu_percent": 11.0, "rss_bytes": 300},
    }
    assert gpus[0] == {"index": 0, "name": "H100", "util": 97.0, "mem_used": 60 * GIB, "mem_total": 80 * GIB,
                       "temp_c": 66.0, "power_w": 512.3, "power_limit_w": 700.0, "sm_clock_mhz": 1980.0,
                       "throttle": [], "ecc_uncorrected": 0, "pids": [4243], "ranks": [0]}
    assert gpus[2] == {"index": 2, "name": "H100", "error": "GPU is lost"}
    assert status == "ok"
    json.dumps([process, gpus, status], allow_nan=False)


def test_no_gpu_is_an_empty_list_and_a_reason() -> None:
    state = SystemState()
    state.apply(SystemSample(t=1.0, gpu_status="unavailable: NVML library not found"))
    assert status_parts(state) == (None, [], "unavailable: NVML library not found")


def test_a_live_main_process_speaks_for_the_run_over_an_exited_one() -> None:
    state = SystemState()
    state.apply(SystemSample(t=1.0, processes=(proc(1, state=ProcessState.GONE, exit_code=1), proc(2))))
    process, _, _ = status_parts(state)
    assert process is not None and process["pid"] == 2
    assert process["others"] == [{"pid": 1, "state": "gone", "cpu_percent": None, "rss_bytes": None,
                                  "exit_code": 1}]


def test_gone_main_shows_its_exit_code() -> None:
    state = SystemState()
    state.apply(SystemSample(t=1.0, processes=(proc(7, state=ProcessState.GONE, exit_code=-9),)))
    process, _, _ = status_parts(state)
    assert process is not None and (process["state"], process["exit_code"]) == ("gone", -9)


def test_histories_per_gpu_process_run_and_host() -> None:
    state = SystemState()
    for i in range(10):
        state.apply(SystemSample(
            t=100.0 + 2 * i,
            processes=(proc(1, cpu_percent=None if i == 0 else 50.0 + i, rchar_bps=1e6),
                       proc(2, ProcessRole.CHILD, state=ProcessState.DISK_SLEEP, rchar_bps=2e6)),
            gpus=(gpu(0, util=float(i)), GpuSample(1, error="GPU is lost")),
            host=HostSample(cpu_percent=10.0, iowait_percent=1.0, mem_total=100, mem_available=25,
                            disks=(DiskSample("/data", 100, 5),))))
    x, v, t = state.gpu_series(0, "util").recent()  # type: ignore[union-attr]
    assert list(v) == [float(i) for i in range(10)] and t[0] == 100.0
    assert state.gpu_series(1, "util") is None  # a lost GPU adds nothing (absent, not 0)
    assert len(state.process_series(1, "cpu_percent")) == 9  # type: ignore[arg-type]
    assert state.process_series(2, "cpu_percent") is None  # children only count in the run sums
    assert state.run_series("rchar_bps").latest[1] == 3e6  # type: ignore[union-attr]
    assert state.run_series("disk_sleep").latest[1] == 1.0  # type: ignore[union-attr]
    assert state.host_series("mem_available_percent").latest[1] == 25.0  # type: ignore[union-attr]
    t, v = window(state.gpu_series(0, "util"), now=118.0, seconds=6.0)
    assert list(t) == [114.0, 116.0, 118.0] and list(v) == [7.0, 8.0, 9.0]
    assert state.gpu_first(0).util == 0.0  # type: ignore[union-attr]
    assert state.host_status()["disks"] == [{"path": "/data", "free_bytes": 5, "total_bytes": 100}]  # type: ignore[index]


def test_series_of_a_process_that_left_are_dropped() -> None:
    state = SystemState()
    state.apply(SystemSample(t=1.0, processes=(proc(1, cpu_percent=5.0), proc(2, cpu_percent=5.0))))
    state.apply(SystemSample(t=3.0, processes=(proc(1, cpu_percent=5.0),)))
    assert state.process_series(2, "cpu_percent") is None and state.process_series(1, "cpu_percent") is not None


def test_run_gpus_are_those_running_our_processes_else_all() -> None:
    state = SystemState()
    state.apply(SystemSample(t=1.0, processes=(proc(10),), gpus=(gpu(0, pids=(99,)), gpu(1, pids=(10,)))))
    assert [g.index for g in state.run_gpus()] == [1]
    state.apply(SystemSample(t=2.0, processes=(proc(10),), gpus=(gpu(0), gpu(1))))
    assert [g.index for g in state.run_gpus()] == [0, 1]  # NVML shows no pids (a container): all GPUs
    state.apply(SystemSample(t=3.0, gpus=(gpu(0), gpu(1, pids=(55,)))))
    assert [g.index for g in state.run_gpus()] == [1]  # no process known: only GPUs that run something


def test_window_of_nothing_is_empty() -> None:
    t, v = window(None, 10.0, 5.0)
    assert len(t) == 0 and len(v) == 0 and isinstance(v, np.ndarray)


def two_runs(tmp: str) -> SystemState:
    """An engine's state with run `a` reading `tmp/a.log` and run `b` reading `tmp/b/` files."""
    state = SystemState()
    state.attribute("a", f"{tmp}/a.log")
    state.attribute("b", f"{tmp}/b/0.log")
    state.attribute("b", f"{tmp}/b/1.log")
    return state


def test_each_run_has_the_processes_that_write_its_sources(tmp_path: Path) -> None:
    """One sample holds every run's processes; a run's are those writing its logs (a launcher through its
    ranks', a DataLoader worker through its rank's), and a process writing none is nobody's among two."""
    tmp = str(tmp_path)
    state = two_runs(tmp)
    state.apply(SystemSample(t=1.0, processes=(
        proc(1, sources=(f"{tmp}/a.log",), rchar_bps=1e6),
        proc(2, sources=(f"{tmp}/b/0.log", f"{tmp}/b/1.log"), rchar_bps=5e6),
        proc(3, ProcessRole.RANK, rank=1, sources=(f"{tmp}/b/0.log", f"{tmp}/b/1.log"),
             state=ProcessState.DISK_SLEEP, rchar_bps=7e6),
        proc(4, found_by="pid"),  # a --pid writing no watched file
    )))
    assert [p.pid for p in state.processes_of("a")] == [1]
    assert [p.pid for p in state.processes_of("b")] == [2, 3]
    assert [p.pid for p in state.processes_of(None)] == [1, 2, 3, 4]  # no run named: all
    assert state.run_series("disk_sleep", "a").latest[1] == 0.0  # type: ignore[union-attr]
    assert state.run_series("disk_sleep", "b").latest[1] == 1.0  # type: ignore[union-attr]
    assert state.run_series("rchar_bps", "b").latest[1] == 12e6  # type: ignore[union-attr]
    assert state.rank_of("a") == {} and state.rank_of("b") == {3: 1}


def test_a_process_writing_no_watched_file_is_the_only_runs(tmp_path: Path) -> None:
    state = SystemState()
    state.attribute("a", str(tmp_path / "a.log"))
    state.apply(SystemSample(t=1.0, processes=(proc(4, found_by="pid"),)))
    assert [p.pid for p in state.processes_of("a")] == [4]
    state.attribute("b", "-")  # a second run: whose the --pid is cannot be told
    assert state.processes_of("a") == () and state.processes_of("b") == ()


def test_sources_are_compared_as_real_paths(tmp_path: Path) -> None:
    """The engine names a log as given (relative, through a link); a process's open file is its real path."""
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    state = SystemState()
    state.attribute("a", str(tmp_path / "link" / "a.log"))
    state.attribute("b", "-")
    state.apply(SystemSample(t=1.0, processes=(proc(1, sources=(str(tmp_path / "real" / "a.log"),)),
                                               proc(2, sources=("-",)))))
    assert [p.pid for p in state.processes_of("a")] == [1] and [p.pid for p in state.processes_of("b")] == [2]


def test_run_gpus_leave_another_runs_gpus_out(tmp_path: Path) -> None:
    tmp = str(tmp_path)
    state = two_runs(tmp)
    state.apply(SystemSample(t=1.0, processes=(proc(1, sources=(f"{tmp}/a.log",)), proc(2, sources=(f"{tmp}/b/0.log",))),
                             gpus=(gpu(0, pids=(1,)), gpu(1, pids=(2,)), gpu(2))))
    assert [g.index for g in state.run_gpus("a")] == [0] and [g.index for g in state.run_gpus("b")] == [1]
    state.apply(SystemSample(t=2.0, processes=(proc(1, sources=(f"{tmp}/a.log",)), proc(2, sources=(f"{tmp}/b/0.log",))),
                             gpus=(gpu(0, pids=(1,)), gpu(1), gpu(2))))
    assert [g.index for g in state.run_gpus("b")] == [1, 2]  # NVML names none of b's: all but a's


def gone(pid: int, code: int | None, at: float, role: ProcessRole = ProcessRole.MAIN) -> ProcessSample:
    return proc(pid, role, state=ProcessState.GONE, exit_code=code, ended_t=at)


def test_writers_left_after_the_last_step() -> None:
    """A run whose processes all exited after its last step, none failing, ended; not while one lives,
    when one failed, when its last step came well after they left (someone else writes), or with none."""
    assert writers_left((gone(1, None, 100.0),), last_step_at=99.0)
    assert writers_left((gone(1, 0, 100.0), gone(2, None, 100.0, ProcessRole.RANK)), last_step_at=99.0)
    assert writers_left((gone(1, None, 100.0),), last_step_at=100.0 + WRITER_LEFT_GRACE_S)  # read late
    assert not writers_left((gone(1, None, 100.0), proc(2, ProcessRole.RANK, rank=1)), last_step_at=99.0)
    assert not writers_left((gone(1, 1, 100.0),), last_step_at=99.0)  # process_exit and crash say it
    assert not writers_left((gone(1, None, 100.0),), last_step_at=100.0 + WRITER_LEFT_GRACE_S + 1)
    assert not writers_left((), last_step_at=99.0)
    assert not writers_left((gone(1, None, 100.0),), last_step_at=None)
