"""`runwatch tail -` exits with `check`'s status for the same input (README, "Exit statuses").

A new user's review: a pipe whose loss went NaN ended `tail -` with 0 while a traceback ended it with 1;
`check` says 2 for both (a critical alert fired). Asked of the run lab's recordings, both commands.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from runwatch.cli import main
from tests.support.realruns import REALRUNS


def _tail_stdin(data: bytes) -> int:
    p = subprocess.run([sys.executable, "-m", "runwatch", "tail", "-", "--interval", "0.2"], input=data,
                       capture_output=True, timeout=60)
    return p.returncode


@pytest.mark.parametrize(("recording", "status"), [
    ("tutorial-nan", 2),      # the loss goes NaN: critical nonfinite (tail said 0)
    ("tutorial-oom", 2),      # CUDA out of memory, a traceback: critical crash (tail said 1)
    ("tutorial-healthy", 0),
])
def test_tail_of_a_pipe_exits_as_check_does(recording: str, status: int, capsys: pytest.CaptureFixture[str]) -> None:
    log = REALRUNS / recording / "run" / "train.log"
    assert main(["check", str(log)]) == status
    capsys.readouterr()
    assert _tail_stdin(log.read_bytes()) == status


def test_a_kill_glued_to_a_bars_last_frame_exits_2_from_a_pipe_as_check_does() -> None:
    """A review's NoWag fine-tune, `…4.29it/s]Killed` at its end: both said 1 (a drift warning), not the kill."""
    import gzip

    from tests.support.found import FOUND

    path = FOUND / "nowag_finetune_tqdm_frame_killed.log.gz"
    assert main(["check", str(path)]) == 2
    assert _tail_stdin(gzip.decompress(path.read_bytes())) == 2


def test_a_crash_the_run_went_on_from_is_over_at_a_pipes_end_as_check_says() -> None:
    """A review: `cat nohup.log | runwatch tail -` of a YOLOv3 log whose launches died of OOMs before one trained on
    ended `[ended] 1 firing (crash)`, the OOM at step 80 firing 4,400 steps later; `check` says the run went
    on after them. Then the OOM fired as the first 64 KiB the pipe held ended right after it, and `tail -` exited 2
    where `check` exits 0: the rules judge a pipe's backlog as the history it is, on `check`'s schedule."""
    import gzip
    import json

    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    path = FOUND / "yolov3_nohup_oom_relaunch_head.log.gz"
    code, [run], _ = check_json(path)
    assert run["state"] == "ended" and not [a for a in run["alerts"] if a["rule"] == "crash"], run
    assert any("went on after 2 fatal errors" in n for n in run["notes"]), run["notes"]
    p = subprocess.run([sys.executable, "-m", "runwatch", "tail", "-", "--json", "--interval", "0.2"],
                       input=gzip.decompress(path.read_bytes()), capture_output=True, timeout=60)
    last = json.loads(p.stdout.decode().splitlines()[-1])
    assert (last["state"], last["step"]) == ("ended", run["step"]), last
    assert [a for a in last["alerts"] if a["rule"] == "crash"] == [], last["alerts"]
    assert p.returncode == code == 0, p.stderr.decode()[-2000:]


def test_an_empty_pipe_exits_3_as_check_does() -> None:
    p = subprocess.run([sys.executable, "-m", "runwatch", "check", "-"], input=b"", capture_output=True, timeout=60)
    assert p.returncode == 3
    assert _tail_stdin(b"") == 3


def test_a_stopped_tail_of_a_file_it_understood_nothing_of_exits_3_as_check_does(tmp_path: Path) -> None:
    """A new user's review: `tail binary.log --headless`, stopped with Ctrl-C, exited 0; `check` says 3."""
    binary = tmp_path / "binary.log"
    binary.write_bytes(Path(sys.executable).read_bytes()[:65536])  # a real binary: the interpreter's first 64 KiB
    assert main(["check", str(binary)]) == 3
    p = subprocess.Popen([sys.executable, "-m", "runwatch", "tail", str(binary), "--headless", "--interval", "0.2"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout is not None
    p.stdout.readline()  # its first status: the file was read
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=30) == 3


def test_a_pipe_read_as_events_alone_exits_3_as_check_does(capsys: pytest.CaptureFixture[str]) -> None:
    """A review's T5 log read with a format that reads none of its steps: its checkpoint lines alone, no step, no
    metric. `check` says UNREAD, 3; `tail -` of the same bytes said 0. Read as it is, both judge it alike: 1, the
    overfit its val_loss shows."""
    import gzip

    data = gzip.decompress((REALRUNS.parent / "found" / "t5_scalingdown_logging_relaunches.log.gz").read_bytes())
    p = subprocess.run([sys.executable, "-m", "runwatch", "tail", "-", "--interval", "0.2", "--format", "megatron"],
                       input=data, capture_output=True, timeout=60)
    assert p.returncode == 3, p.stderr
    p = subprocess.run([sys.executable, "-m", "runwatch", "check", "-", "--format", "megatron"], input=data,
                       capture_output=True, timeout=60)
    assert p.returncode == 3 and b"UNREAD" in p.stdout
    assert _tail_stdin(data) == 1
    assert subprocess.run([sys.executable, "-m", "runwatch", "check", "-"], input=data, capture_output=True,
                          timeout=60).returncode == 1


def test_a_slowdown_the_lines_print_is_judged_in_a_pipes_history_as_check_judges_it(tmp_path: Path) -> None:
    """A review's Megatron log, piped whole with `cat`: its printed `elapsed time per iteration` doubled from about
    iteration 910 to 3,990 and came back. `check` warned (exit 1); `tail -` read it all as history, which only the
    rules that judge records judged, and its one live look at the end saw the pace back: exit 0. The lines say the
    slowdown, so the history is judged for it too (a drift of a printed series), and both exit 1."""
    import gzip

    log = tmp_path / "finetune.log"
    log.write_bytes(gzip.decompress((REALRUNS.parent / "found" / "megatron_finetune_slowdown_between.log.gz").read_bytes()))
    assert main(["check", str(log)]) == 1
    assert _tail_stdin(log.read_bytes()) == 1
