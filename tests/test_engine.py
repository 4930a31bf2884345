"""The engine end to end over real files, directories and pipes (no front end)."""

from __future__ import annotations

import os
from pathlib import Path

from runwatch.engine import Engine, EngineOptions
from runwatch.model import RunState
from runwatch.sources import PREVIEW_MIN_BYTES
from tests.support.nanochat import nanochat_line
from tests.support.news import notices
from tests.support.waiting import wait_for

FAST = EngineOptions(poll_interval=0.1)


def test_follows_a_file_that_grows(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.write_text("".join(nanochat_line(i) for i in range(10)))
    with Engine([str(log)], FAST) as eng:
        wait_for(lambda: eng.snapshots()[0].progress.step == 9)
        with log.open("a") as f:
            f.write(nanochat_line(10, loss="nan"))
        snap = wait_for(lambda: next((s for s in eng.snapshots() if s.progress.step == 10), None))
    assert snap.format == "picollm"
    assert snap.run == "train"
    assert snap.progress.total_steps == 100
    assert snap.metrics["loss"] != snap.metrics["loss"]  # NaN kept, not dropped
    assert snap.state == RunState.RUNNING


def test_directory_of_rank_logs_picks_up_a_rank_that_appears_later(tmp_path: Path) -> None:
    tree = tmp_path / "logs" / "run1_abc" / "attempt_0"
    for rank in (0, 1):
        (tree / str(rank)).mkdir(parents=True)
        (tree / str(rank) / "stdout.log").write_text("".join(nanochat_line(i) for i in range(5 + rank)))
    with Engine([str(tmp_path / "logs")], FAST) as eng:
        wait_for(lambda: set(eng.snapshots()[0].ranks) == {0, 1})
        (tree / "2").mkdir()
        (tree / "2" / "stdout.log").write_text("".join(nanochat_line(i) for i in range(3)))
        snap = wait_for(lambda: next((s for s in eng.snapshots() if 2 in s.ranks), None))
    assert len(eng.snapshots()) == 1  # one run, three ranks
    assert {r: p.step for r, p in snap.ranks.items()} == {0: 4, 1: 5, 2: 2}


def test_a_large_log_shows_its_tail_first_then_the_whole_history(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    total = 60_000
    with log.open("w") as f:
        for i in range(total):
            f.write(nanochat_line(i, total))
    assert log.stat().st_size >= PREVIEW_MIN_BYTES
    eng = Engine([str(log)], FAST)
    with eng:
        first = eng.snapshots()[0]  # before the worker has read anything
        assert first.progress.step == total - 1  # from the tail preview
        assert any("history" in n for n in first.notes)
        done = wait_for(lambda: next((s for s in eng.snapshots() if not s.notes and s.records >= total), None),
                        timeout=60)
    assert done.progress.step == total - 1
    assert done.records == total


def test_a_pipe_ends_and_the_run_with_it(tmp_path: Path) -> None:
    r, w = os.pipe()
    with os.fdopen(r, "rb", buffering=0) as reader, Engine(["-"], FAST, stdin=reader) as eng:
        os.write(w, "".join(nanochat_line(i, 20) for i in range(20)).encode())
        os.close(w)
        wait_for(lambda: eng.all_ended)
        snap = eng.snapshots()[0]
    assert snap.run == "stdin"
    assert snap.progress.step == 19
    assert snap.state == RunState.FINISHED


def test_a_missing_file_is_waited_for_and_said_once(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    with Engine([str(log)], FAST) as eng:
        wait_for(lambda: any("waiting" in n for n in eng.snapshots()[0].notes))
        log.write_text(nanochat_line(0))
        snap = wait_for(lambda: next((s for s in eng.snapshots() if s.progress.step == 0), None))
        said = notices(eng.subscribe())
    assert sum("waiting" in n.message for n in said) == 1
    assert snap.notes == ()


def test_every_front_end_gets_every_notice(tmp_path: Path) -> None:
    """The line printer's take emptied the one list the daemon and the TUI would have read too."""
    log = tmp_path / "later.log"
    with Engine([str(log)], FAST) as eng:
        printer, tui = eng.subscribe(), eng.subscribe()
        wait_for(lambda: any("waiting" in n for n in eng.snapshots()[0].notes))
        first = notices(printer)
    assert [n.source for n in first if "waiting" in n.message] == [str(log)]
    assert notices(tui)[:len(first)] == first
