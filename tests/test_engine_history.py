"""The engine reading a log's history in raw blocks (FileFollower raw_history → SourceParser.feed_bytes →
RunTracker.apply_chunk): what it ends up with is what the per-line way and `runwatch parse` give.

Real files, real threads; the reference is a RunTracker fed the records of
the per-line parser over `read_all`'s batches (the lines a follower gives),
which must also equal `runwatch parse`'s records. Compared through the
engine's public face: snapshots, exact chart columns, the log tail.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from runwatch import sources as sources_module
from runwatch.commands.parse import records_of
from runwatch.engine import Engine, EngineOptions
from runwatch.model import Record
from runwatch.parsers.source import SourceParser
from runwatch.state.run import RunTracker
from runwatch.watcher.snapshot import read_all
from tests.support.corpus import CORPUS
from tests.support.fast_path_logs import ELASTIC, TRACEBACK, row
from tests.support.waiting import wait_for

OPTIONS = EngineOptions(poll_interval=0.1, system=False)


def noisy_log(steps: int) -> bytes:
    """A nanochat log of several read chunks, with the lines a fast path must leave to the per-line parser."""
    lines = ["Autodetected device type: cuda", "GPU: NVIDIA H100 80GB HBM3 | Peak FLOPS (BF16): 9.89e+14"]
    for i in range(steps):
        lines.append(row(i, steps))
        if i % 50 == 7:
            lines.append(f"[GC rank{i % 8}] gen2: 139.2ms collected {i} objects")
        if i % 400 == 11:
            lines.append(row(i, steps, loss="nan"))  # a NaN step: its own record, per line
        if i % 300 == 5:
            lines.append("\x1b[32m" + row(i, steps) + "\x1b[0m")  # a coloured step line
        if i % 700 == 3:
            lines.append("Evaluating:  10%|#  | 1/10\rEvaluating:  20%|## | 2/10\rEvaluating:  20%|## | 2/10")
        if i % 900 == 2:
            lines.append("BAD-UTF-8")  # replaced with invalid UTF-8 below
        if i % 1000 == 999:
            lines.append(f"Step {i:05d} | Validation bpb: {1 - i / 1e5:.6f}")
        if i == steps // 2:
            lines += ["x" * 70_000, *TRACEBACK, *ELASTIC]  # an over-long line, a crash report
    return ("\n".join(lines) + "\n").encode().replace(b"BAD-UTF-8", b"caf\xe9 \xff\xfe bad \xc3")


def per_line_records(path: Path) -> tuple[list[Record], int]:
    """The records and how many come before those of the end of input (a follower's come when it stops)."""
    parser = SourceParser(str(path), fast_path=False)
    out: list[Record] = []
    for batch in read_all(path):
        out += parser.feed(batch.lines, batch.first_line, batch.t)
    return out + parser.flush(), len(out)


def js(recs: list[Record]) -> list[str]:
    return [json.dumps({**r.to_json(), "t": None}, allow_nan=False) for r in recs]


def reference(path: Path, total: int | None = None) -> tuple[RunTracker, int]:
    """The run state the per-line way gives, and the number of records to wait for while following."""
    recs, before_end = per_line_records(path)
    assert js(recs) == js(list(records_of(path, None, None)))  # `runwatch parse` reads the same records
    if total is not None:
        recs = [r if r.step is None else replace(r, total_steps=total) for r in recs]
    tracker = RunTracker(path.stem, str(path))
    tracker.apply_many(recs, 1.0)
    return tracker, before_end


def read(eng: Engine, count: int) -> None:
    """Wait until the engine has `count` records and the history is read; compare once it stopped."""
    wait_for(lambda: (s := eng.snapshots()[0]).records >= count and not any("history" in n for n in s.notes),
             timeout=60)


def same_as(eng: Engine, ref: RunTracker, log: Path) -> None:
    snap = eng.snapshots()[0]
    want = ref.snapshot(1.0)
    assert (snap.records, snap.progress.step, snap.progress.total_steps) == (
        want.records, want.progress.step, want.progress.total_steps)
    assert repr(list(snap.metrics.items())) == repr(list(want.metrics.items()))
    assert [(e.kind, e.event, e.step, e.line, e.message) for e in snap.events] == [
        (e.kind, e.event, e.step, e.line, e.message) for e in want.events]
    for metric in ref.store.metrics():
        chart = eng.chart(snap.run, metric, 10**6)
        c = ref.store.get(metric).columns(10**6)  # type: ignore[union-attr]
        assert chart is not None
        for got, expected in ((chart.x, c.x), (chart.ymin, c.ymin), (chart.ymax, c.ymax), (chart.ylast, c.ylast),
                              (chart.nonfinite, c.nan + c.inf)):
            assert np.array_equal(got, expected, equal_nan=True), metric
    lines = [line for b in read_all(log) for line in b.lines if line.strip()]  # blank ones say nothing
    assert eng.log_tail(snap.run, 60) == lines[-60:]


def test_the_log_pane_holds_no_blank_lines(tmp_path: Path) -> None:
    """A review: W&B's console of an SB3 run ends in 40 blank lines, and the TUI's log pane showed nothing but
    them; its last line that says something is its last line shown."""
    log = tmp_path / "output.log"
    log.write_bytes((Path(__file__).parent / "fixtures" / "found" / "sb3_ppo_cartpole_tables.log").read_bytes())
    written = [line for b in read_all(log) for line in b.lines]  # as the follower splits them: colours gone
    assert written[-1] == "" and sum(not x.strip() for x in written[-45:]) >= 40
    said = [x for x in written if x.strip()]
    with Engine([str(log)], OPTIONS) as eng:
        wait_for(lambda: (s := eng.snapshots()[0]).records > 0 and not s.reading_history, timeout=60)
        assert eng.log_tail(eng.snapshots()[0].run, 5) == said[-5:]


@pytest.fixture
def blocks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the raw blocks the engine parsed (so a test knows the fast route was taken)."""
    sizes: list[int] = []
    feed_bytes: Callable[..., object] = SourceParser.feed_bytes

    def counting(self: SourceParser, data: bytes, *args: object) -> object:
        sizes.append(len(data))
        return feed_bytes(self, data, *args)

    monkeypatch.setattr(SourceParser, "feed_bytes", counting)
    return sizes


@pytest.mark.parametrize("name", ["nanochat_pr492_speedrun_d24_feb01.training_output.log", "nanochat_pr657_sft_run.log"])
def test_a_corpus_log_read_in_raw_blocks(tmp_path: Path, name: str, blocks: list[int]) -> None:
    log = tmp_path / "train.log"
    data = (CORPUS / "raw" / name).read_bytes()
    log.write_bytes(data if data.endswith(b"\n") else data + b"\n")  # a follower holds an unended last line back
    ref, count = reference(log)
    blocks.clear()  # `runwatch parse` reads in blocks too
    with Engine([str(log)], OPTIONS) as eng:
        read(eng, count)
    same_as(eng, ref, log)
    assert blocks


def test_a_noisy_log_of_several_chunks(tmp_path: Path, blocks: list[int]) -> None:
    log = tmp_path / "train.log"
    log.write_bytes(noisy_log(30_000))
    assert log.stat().st_size > 3 * (1 << 20)
    ref, count = reference(log)
    blocks.clear()  # `runwatch parse` reads in blocks too
    with Engine([str(log)], OPTIONS) as eng:
        read(eng, count)
    same_as(eng, ref, log)
    assert len(blocks) >= 20 and sum(blocks) > 0.8 * log.stat().st_size  # most lines went raw


def test_the_total_steps_option_reaches_rows_read_in_bulk(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.write_bytes(noisy_log(3000))
    ref, count = reference(log, total=123_456)
    with Engine([str(log)], EngineOptions(poll_interval=0.1, system=False, total_steps=123_456)) as eng:
        read(eng, count)
    same_as(eng, ref, log)
    assert eng.snapshots()[0].progress.total_steps == 123_456


def test_lines_appended_while_the_history_is_read_count_once(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.write_text("".join(row(i, 60_000) + "\n" for i in range(50_000)))
    with Engine([str(log)], OPTIONS) as eng:
        with log.open("a") as f:  # straight away: the history is still being read
            for i in range(50_000, 50_200):
                f.write(row(i, 60_000) + "\n")
                f.flush()
        wait_for(lambda: eng.snapshots()[0].records >= 50_200, timeout=60)
    snap = eng.snapshots()[0]
    chart = eng.chart(snap.run, "loss", 10**6)
    assert (snap.records, snap.progress.step) == (50_200, 50_199)
    assert chart is not None and chart.points == 50_200 and (np.diff(chart.x) > 0).all() and chart.x[-1] == 50_199
    assert eng.log_tail(snap.run, 3) == [row(i, 60_000) for i in range(50_197, 50_200)]


def test_a_log_larger_than_the_read_ahead_is_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        blocks: list[int]) -> None:
    """The follower waits for the worker after each block; it neither stalls nor loses one."""
    monkeypatch.setattr(sources_module, "RAW_AHEAD_BYTES", 1)
    log = tmp_path / "train.log"
    log.write_bytes(noisy_log(20_000))
    ref, count = reference(log)
    blocks.clear()  # `runwatch parse` reads in blocks too
    with Engine([str(log)], OPTIONS) as eng:
        read(eng, count)
    same_as(eng, ref, log)
    assert len(blocks) >= 2


def test_stop_while_the_follower_waits_for_the_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources_module, "RAW_AHEAD_BYTES", 1)
    log = tmp_path / "train.log"
    log.write_bytes(noisy_log(40_000))
    eng = Engine([str(log)], OPTIONS)
    eng.start()
    wait_for(lambda: eng.snapshots()[0].records > 0)
    eng.stop()  # the thread-leak check fails the test if the waiting follower does not end
    assert eng.snapshots()[0].records > 0


def test_stop_leaves_the_queued_history_unread_and_unclaimed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`runwatch tail` on a 2 M-line BasicSR log took more than 5 s to end after SIGTERM: the worker parsed the
    history blocks already queued (up to RAW_AHEAD_BYTES) before it saw the stop. A stopping worker leaves them
    unread, and claims no position past what it applied, so a restarted `watch` reads them again (DESIGN §7).
    The worker is held on its first block until the stop has begun, so the queue is full when it looks."""
    import threading

    from runwatch.ingest import Ingest
    from runwatch.messages import LinesRead

    held, holding = threading.Event(), threading.Event()
    parse = Ingest.parse

    def held_parse(self: Ingest, item: object) -> object:
        if isinstance(item, LinesRead) and item.batch.history and not holding.is_set():
            holding.set()
            held.wait(timeout=30)
        return parse(self, item)  # type: ignore[arg-type]

    monkeypatch.setattr(Ingest, "parse", held_parse)
    log = tmp_path / "train.log"
    log.write_bytes(noisy_log(60_000))  # several read chunks
    size = log.stat().st_size
    eng = Engine([str(log)], OPTIONS)
    eng.start()
    try:
        wait_for(holding.is_set)
        wait_for(lambda: sources_module.RAW_AHEAD_BYTES > size and eng._queue.qsize() >= 3)  # the rest is queued
        stopper = threading.Thread(target=eng.stop)
        stopper.start()
        wait_for(eng._stopping.is_set)
    finally:
        held.set()
    stopper.join(30)
    assert not stopper.is_alive()
    records = eng.snapshots()[0].records
    assert 0 < records < 20_000  # the held block's records, not the whole history's 60,000 and more
    assert [p.offset for p in eng.positions().values()] in ([], [0])  # no byte claimed: the next `watch` reads all


def test_the_json_status_during_a_history_read_says_it_is_reading(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A review: the first `--json` status of `runwatch tail` on a big log, printed while its history was
    still being read, said `"state": "running"` and nothing more; a script took the log's latest lines for
    the run. It says `"reading_history": true` until the history is read (the worker is held on its first
    history block here, so the status cannot come too late to see it)."""
    import io
    import threading

    from runwatch.headless import HeadlessPrinter
    from runwatch.ingest import Ingest
    from runwatch.messages import LinesRead
    from tests.support.nanochat import step_lines

    monkeypatch.setattr(sources_module, "PREVIEW_MIN_BYTES", 1 << 20)  # the real run's 2.4 MB is "big"
    held = threading.Event()
    parse = Ingest.parse

    def held_parse(self: Ingest, item: object) -> object:
        if isinstance(item, LinesRead) and item.batch.history:
            held.wait(timeout=30)
        return parse(self, item)  # type: ignore[arg-type]

    monkeypatch.setattr(Ingest, "parse", held_parse)
    lines = step_lines()
    log = tmp_path / "train.log"
    log.write_text("\n".join(lines) + "\n")
    out = io.StringIO()
    with Engine([str(log)], OPTIONS) as engine:
        try:
            HeadlessPrinter(out, io.StringIO(), as_json=True).run(engine, lambda: bool(out.getvalue()))
        finally:
            held.set()
        first = json.loads(out.getvalue().splitlines()[0])
        assert first["reading_history"] is True and first["notes"][0].startswith("reading history")
        wait_for(lambda: engine.snapshots()[0].progress.step == len(lines) - 1 and not engine.snapshots()[0].notes,
                 timeout=30)
        out = io.StringIO()
        HeadlessPrinter(out, io.StringIO(), as_json=True).run(engine, lambda: bool(out.getvalue()))
        assert "reading_history" not in json.loads(out.getvalue().splitlines()[0])


def test_the_plan_a_logs_header_states_reaches_the_followed_runs_tracker(tmp_path: Path) -> None:
    """`--save_steps 2000` on a review's HF run's command line: the followed run knows it pauses after step 2000
    (the stall rule's plan, as `check`'s replay knows it), and nowhere else."""
    import gzip

    log = tmp_path / "train.log"
    log.write_bytes(gzip.decompress(
        (Path(__file__).parent / "fixtures" / "found" / "mobilevlm_hf_deepspeed_save_steps_pause_excerpt.log.gz")
        .read_bytes()))
    with Engine([str(log)], OPTIONS) as eng:
        wait_for(lambda: (s := eng.snapshots()[0]).records > 4000 and not s.reading_history, timeout=60)
        (run,) = eng._ingest.runs
        assert [run.tracker.planned_pause(s, 1) for s in (1998, 1999, 2000, 2001, 4000)] == [
            None, 2000, 2000, None, 2000]
