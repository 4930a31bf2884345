"""Finding a run's processes: what counts as a torchrun launcher.

Finding on real processes (log holders, pipes, launchers with ranks) is
tested through ProcessSampler in test_processes.py.
"""

from __future__ import annotations

import pytest

from runwatch.watcher.process_scan import is_launcher


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
