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

from runwatch.watcher.process_scan import is_launcher, log_writers, scan_processes


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
        assert found == [(procs[0].pid, "log")]
    finally:
        for p in procs:
            p.kill()
            p.wait()
