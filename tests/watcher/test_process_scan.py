"""Finding a run's processes: what counts as a torchrun launcher.

Finding on real processes (log holders, pipes, launchers with ranks) is
tested through ProcessSampler in test_processes.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runwatch.watcher.process_scan import _matches, is_launcher, log_writers, scan_processes


@pytest.mark.parametrize(("cmdline", "expected"), [
    (["/usr/bin/torchrun", "--nproc-per-node=8", "train.py"], True),
    (["/usr/bin/python3", "/home/u/.local/bin/torchrun", "train.py"], True),
    (["python", "-m", "torch.distributed.run", "--nproc_per_node", "2", "train.py"], True),
    (["python", "-m", "torch.distributed.launch", "train.py"], True),
    (["python", "train.py", "--note", "torchrun"], False),
    ([], False),
])
def test_launchers_are_recognised(cmdline: list[str], expected: bool) -> None:
    assert is_launcher(cmdline) is expected


def test_a_reader_of_the_log_is_never_taken_for_its_writer(tmp_path: Path) -> None:
    """Regression: the process picked for a log was sometimes another `runwatch` following it. A real
    writer (appending) and a real reader (as `tail -f` or a second runwatch hold it) both keep the log
    open; only the writer is the run's process."""
    log = tmp_path / "train.log"
    log.write_text("step 1\n")
    hold = "import sys, time\nf = open(sys.argv[1], sys.argv[2])\nprint('ready', flush=True)\ntime.sleep(60)\n"
    procs = [subprocess.Popen([sys.executable, "-c", hold, str(log), mode], stdout=subprocess.PIPE, text=True)
             for mode in ("a", "r")]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        found = log_writers(scan_processes(full=True, uid=os.getuid()), (str(log),), stdin_pipe=False)
        assert found == [(procs[0].pid, "log", (str(log),))]  # with the file it writes: what names its run
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_a_watched_directory_holds_its_own_files_only(tmp_path: Path) -> None:
    """Whose file a writer holds is decided by path components: watching `runs/a` finds the writer of
    `runs/a/x.log`, with that file, and not those of `runs/ab.log` or `runs/ab/x.log` (another run's)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "ab").mkdir()
    logs = [tmp_path / "a" / "x.log", tmp_path / "ab.log", tmp_path / "ab" / "x.log"]
    hold = "import sys, time\nf = open(sys.argv[1], 'a')\nprint('ready', flush=True)\ntime.sleep(60)\n"
    procs = [subprocess.Popen([sys.executable, "-c", hold, str(log)], stdout=subprocess.PIPE, text=True)
             for log in logs]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        scan = scan_processes(full=True, uid=os.getuid())
        assert log_writers(scan, (str(tmp_path / "a"),), stdin_pipe=False) == [(procs[0].pid, "log", (str(logs[0]),))]
    finally:
        for p in procs:
            p.kill()
            p.wait()


@pytest.mark.parametrize(("path", "under", "expected"), [
    ("/runs/a/x.log", "/runs/a", True),
    ("/runs/a", "/runs/a", True),
    ("/runs/ab", "/runs/a", False),
    ("/runs/ab/x.log", "/runs/a", False),
    ("/runs/a.log", "/runs/a", False),
    ("/runs/x.log", "/", True),  # the root holds everything (a `root + "/"` prefix held nothing)
])
def test_matches_compares_path_components(path: str, under: str, expected: bool) -> None:
    assert _matches(path, (under,)) is expected
