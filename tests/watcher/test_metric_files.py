"""Structured metric files followed while they are written: Lightning's metrics.csv (header rewrites
included), TensorBoard event files (the real writer, torn and damaged records), trainer_state.json and
training_metrics.json rewritten whole; and `classify_path`."""

from __future__ import annotations

import io
import json
import os
import random
import struct
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runwatch.model import Record
from runwatch.parsers.structured import (
    CsvRowsDecoder,
    HFLogHistoryDecoder,
    MetricArraysDecoder,
    TfEventsDecoder,
)
from runwatch.watcher import metric_files
from runwatch.watcher.metric_files import (
    RESYNC_POLLS,
    CsvRowsFollower,
    JsonDocFollower,
    TextDocFollower,
    TfRecordFollower,
    classify_path,
    find_metric_files,
    follow,
    is_eval_events,
    masked_crc32c,
    read_records,
)
from runwatch.watcher.notify import WatchHub
from runwatch.watcher.types import ItemBatch, Notice
from tests.support.lightning_csv import LightningCsv, corpus_rows
from tests.support.paths import FIXTURES
from tests.support.tensorboard import needs_tensorboard, scalar
from tests.support.waiting import wait_for

try:
    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.summary.writer.record_writer import RecordWriter
except ImportError:  # the optional `tensorboard` extra: the follower needs none of it, two tests do
    event_pb2 = None


class Sink:
    """Collects what a follower sends, safely across its thread."""

    def __init__(self) -> None:
        self.batches: list[ItemBatch] = []
        self.notices: list[Notice] = []
        self._lock = threading.Lock()

    def batch(self, b: ItemBatch) -> None:
        with self._lock:
            self.batches.append(b)

    def notice(self, n: Notice) -> None:
        with self._lock:
            self.notices.append(n)

    def items(self) -> list[Any]:
        with self._lock:
            return [i for b in self.batches for i in b.items]

    def said(self, fragment: str) -> bool:
        with self._lock:
            return any(fragment in n.message for n in self.notices)


POLL = {"poll_interval": 0.02, "use_inotify": False}


# ── classify_path ────────────────────────────────────────────────────────────


def test_classify_path_names_each_source(tmp_path: Path) -> None:
    (tmp_path / "ck" / "checkpoint-5").mkdir(parents=True)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "train.log").write_text("step 1\n")
    (tmp_path / "losses.csv").write_text("epoch,step,loss\n0,1,2.0\n")
    (tmp_path / "table.csv").write_text("a,b\n1,2\n")
    (tmp_path / "run_metrics.json").write_text(json.dumps({"train_loss": [1.0, 0.5]}))
    (tmp_path / "config.json").write_text("{}")
    cases = {
        "ck": "checkpoint_dir", "ck/checkpoint-5": "checkpoint_dir", "logs": None,
        "not-yet/checkpoint-9": "checkpoint_dir", "lightning_logs/version_0/metrics.csv": "metrics_csv",
        "out/checkpoint-5/trainer_state.json": "trainer_state", "training_metrics.json": "metrics_arrays",
        "runs/x/events.out.tfevents.1700000000.host.123.0": "tfevents", "losses.csv": "metrics_csv",
        "table.csv": None, "run_metrics.json": "metrics_arrays", "config.json": None, "logs/train.log": None,
        "lightning_logs/version_0/hparams.yaml": "hparams", "config.yaml": None,
    }
    assert {name: classify_path(tmp_path / name) for name in cases} == cases
    assert is_eval_events("logs/validation/events.out.tfevents.1") and not is_eval_events("logs/train/e")


def test_find_metric_files_skips_checkpoint_dirs(tmp_path: Path) -> None:
    for rel in ("lightning_logs/version_0/metrics.csv", "runs/a/events.out.tfevents.1.h.2.0",
                "out/trainer_state.json", "out/checkpoint-5/trainer_state.json", "wandb/x/metrics.csv"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    (tmp_path / "lightning_logs/version_0/hparams.yaml").write_text("")
    found = [(str(p.relative_to(tmp_path)), kind) for p, kind in find_metric_files(tmp_path)]
    assert found == [("lightning_logs/version_0/hparams.yaml", "hparams"),
                     ("lightning_logs/version_0/metrics.csv", "metrics_csv"), ("out/trainer_state.json", "trainer_state"),
                     ("runs/a/events.out.tfevents.1.h.2.0", "tfevents")]


def test_follow_builds_the_right_thread(tmp_path: Path) -> None:
    sink = Sink()
    kinds = {"metrics.csv": CsvRowsFollower, "events.out.tfevents.1": TfRecordFollower,
             "trainer_state.json": JsonDocFollower, "hparams.yaml": TextDocFollower}
    for name, cls in kinds.items():
        thread = follow(tmp_path / name, sink.batch, sink.notice)
        assert isinstance(thread, cls)
    state = follow(tmp_path / "trainer_state.json", sink.batch, sink.notice)
    assert state is not None and state.kind == "hf_log_history"  # type: ignore[attr-defined]
    assert follow(tmp_path / "train.log", sink.batch, sink.notice) is None


# ── Lightning metrics.csv ────────────────────────────────────────────────────


SENTINEL = {"epoch": "9", "step": "9999", "train_loss_step": "0.5"}


def test_a_growing_lightning_csv_with_header_rewrites_gives_every_row_once(tmp_path: Path) -> None:
    """Looked at after every 7 bytes each save writes: the rewrites are seen truncated, with half a
    header, with some of the old rows."""
    rows = corpus_rows()
    logger = LightningCsv(tmp_path / "metrics.csv", piece=lambda: 7)
    for row in rows[:3]:  # train-step rows only: the first header lacks the val and epoch columns
        logger.log_metrics(row)
    logger.save()
    sink = Sink()
    follower = CsvRowsFollower(logger.path, sink.batch, sink.notice, **POLL)  # not started: polled by hand
    follower.poll()
    assert len(sink.items()) == 3
    looks = 0
    for row in [*rows[3:], SENTINEL]:  # the val row and the epoch row each bring new columns: two rewrites
        logger.log_metrics(row)
        for _whole in logger.saving():
            follower.poll()
            looks += 1
    assert looks > 200
    assert sink.items() == [*rows, SENTINEL]
    assert sink.batches[0].history and not sink.batches[1].history and sink.batches[1].items == []
    assert not sink.notices
    recs = CsvRowsDecoder().feed(sink.items(), 0.0)
    assert [r.step for r in recs if "loss" in r.metrics][-2:] == [599, 9999]


@pytest.mark.parametrize("seed", range(32))
def test_a_file_changing_between_any_two_reads_of_a_look_gives_every_row_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """The race a follower thread runs against Lightning, made deterministic (seeded): before each of
    the follower's reads, and each look, the file changes not at all, once (the truncation, a piece of
    3 or 16 bytes or all the rest) or until the write under way is whole, so that a look's reads see
    different states of the file: a rewrite begun or done between its header check and its read."""
    rng = random.Random(seed)
    rows = growing_rows(rng, 60)
    logger = LightningCsv(tmp_path / "metrics.csv", piece=lambda: rng.choice([3, 16, 1 << 20]))
    logger.log_metrics(rows[0])
    logger.save()

    def changes() -> Iterator[bool]:
        for row in rows[1:]:
            logger.log_metrics(row)
            yield from logger.saving()

    writer, done = changes(), []
    real_pread = metric_files._pread

    def tick() -> None:
        how = rng.choice(["none", "one", "whole"])
        while not done and how != "none":
            whole = next(writer, None)
            if whole is None:
                done.append(True)
            if how == "one" or whole:
                return

    def pread(f: Any, n: int, offset: int) -> bytes:
        tick()
        return real_pread(f, n, offset)

    monkeypatch.setattr(metric_files, "_pread", pread)
    sink = Sink()
    follower = CsvRowsFollower(logger.path, sink.batch, sink.notice, **POLL)
    for _ in range(100_000):
        if done:
            break
        tick()  # and between looks (a look at an empty file reads nothing)
        follower.poll()
    follower.poll()
    assert done and sink.items() == rows
    assert not sink.notices


def growing_rows(rng: random.Random, n: int) -> list[dict[str, str]]:
    """Rows of a run that logs a new metric now and then (names at random: new columns land anywhere
    in Lightning's sorted header)."""
    names = ["train_loss"]
    rows = []
    for step in range(n):
        if rng.random() < 0.3:
            names.append(f"m{rng.randrange(10_000):04d}")
        logged = rng.sample(names, rng.randint(1, len(names)))
        rows.append({"step": str(step), **{k: f"{rng.random():.6g}" for k in logged}})
    return rows


def test_stress_many_rewrites_followed_fast_give_exact_rows(tmp_path: Path) -> None:
    """A thread polling every 10 ms and woken by inotify while Lightning rewrites the file again and
    again, in pieces, with the GIL switched often: every row exactly once, every time."""
    rng = random.Random(5)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        with WatchHub() as hub:
            for run in range(30):
                path = tmp_path / f"version_{run}" / "metrics.csv"
                path.parent.mkdir()
                rows = growing_rows(rng, 40)
                logger = LightningCsv(path, piece=lambda: rng.choice([rng.randint(1, 48), 1 << 20]))
                logger.log_metrics(rows[0])
                logger.save()
                sink = Sink()
                with CsvRowsFollower(path, sink.batch, sink.notice, poll_interval=0.01, hub=hub):
                    for row in rows[1:]:
                        logger.log_metrics(row)
                        for _whole in logger.saving():
                            if rng.random() < 0.2:
                                time.sleep(0)
                    wait_for(lambda: sink.items()[-1:] == rows[-1:])  # noqa: B023
                assert sink.items() == rows, f"run {run}"
                assert not sink.notices, f"run {run}"
    finally:
        sys.setswitchinterval(switch)


def test_a_second_rewrite_seen_while_skipping_repeats_no_row(tmp_path: Path) -> None:
    """Regression: the rows still to be skipped after a rewrite counted as undelivered, so a second
    rewrite seen mid-skip delivered the old rows again."""
    path = tmp_path / "metrics.csv"
    rows = ["0,49,8.62", "0,99,7.60", "0,149,7.22"]
    path.write_text("epoch,step,train_loss_step\r\n" + "".join(r + "\r\n" for r in rows))
    sink = Sink()
    follower = CsvRowsFollower(path, sink.batch, sink.notice, **POLL)
    follower.poll()
    path.write_text("epoch,step,train_loss_step,val_loss\r\n" + rows[0] + ",\r\n")  # a rewrite, half done
    follower.poll()
    path.write_text("epoch,step,lr-AdamW,train_loss_step,val_loss\r\n"
                    + "".join("{},{},,{},\r\n".format(*r.split(",")) for r in rows)
                    + "0,286,,,6.83\r\n")
    follower.poll()
    assert [row["step"] for row in sink.items()] == ["49", "99", "149", "286"]
    assert not sink.notices


def test_a_csv_truncated_with_the_same_header_is_read_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    path.write_text("epoch,step,train_loss\r\n0,1,2.0\r\n0,2,1.9\r\n")
    sink = Sink()
    with CsvRowsFollower(path, sink.batch, sink.notice, **POLL):
        wait_for(lambda: len(sink.items()) == 2)
        with open(path, "w") as f:  # a restarted run, same path
            f.write("epoch,step,train_loss\r\n0,1,3.0\r\n")
        wait_for(lambda: len(sink.items()) == 3)
    assert sink.items()[-1] == {"epoch": "0", "step": "1", "train_loss": "3.0"}
    assert any("truncated or rewritten" in n.message for n in sink.notices)


def test_rows_that_differ_after_a_rewrite_are_delivered_again_from_the_start(tmp_path: Path) -> None:
    """Other rows, under a wider header or the same one and longer than the file was (so neither
    the header nor the size tells): a warning, and the file is delivered as a new one."""
    path = tmp_path / "metrics.csv"
    path.write_text("step,loss\n1,2.0\n2,1.9\n")
    sink = Sink()
    follower = CsvRowsFollower(path, sink.batch, sink.notice, **POLL)
    follower.poll()
    with open(path, "w") as f:  # same header, same length and longer: the bytes before the offset differ
        f.write("step,loss\n1,3.0\n2,2.9\n3,2.8\n")
    follower.poll()
    with open(path, "w") as f:  # a wider header, the old rows by value, then one that differs
        f.write("lr,step,loss\n,1,3.0\n,2,2.9\n0.1,3,2.7\n")
    follower.poll()
    assert [(r["step"], r["loss"]) for r in sink.items()] == [
        ("1", "2.0"), ("2", "1.9"), ("1", "3.0"), ("2", "2.9"), ("3", "2.8"), ("1", "3.0"), ("2", "2.9"),
        ("3", "2.7")]
    assert [n.level for n in sink.notices] == ["warning", "warning"] and sink.said("truncated or rewritten")


def test_a_replaced_csv_with_the_same_rows_and_more_gives_only_the_new_ones(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    path.write_text("step,loss\n1,2.0\n")
    sink = Sink()
    follower = CsvRowsFollower(path, sink.batch, sink.notice, **POLL)
    follower.poll()
    replace_atomically(path, "step,loss,lr\n1,2.0,\n2,1.9,0.1\n")
    follower.poll()
    assert sink.items() == [{"step": "1", "loss": "2.0"}, {"step": "2", "loss": "1.9", "lr": "0.1"}]
    assert [n.level for n in sink.notices] == ["info"] and sink.said("replaced")


def test_a_partial_last_line_waits_for_its_end(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    path.write_text("step,loss\n1,2.0\n2,1.")
    sink = Sink()
    with CsvRowsFollower(path, sink.batch, sink.notice, **POLL):
        wait_for(lambda: len(sink.items()) == 1)
        with open(path, "a") as f:
            f.write("5\n")
        wait_for(lambda: len(sink.items()) == 2)
    assert sink.items() == [{"step": "1", "loss": "2.0"}, {"step": "2", "loss": "1.5"}]


# ── TensorBoard event files ──────────────────────────────────────────────────

def payload(i: int) -> bytes:
    """A record's payload for the framing tests (any bytes do; sizes vary)."""
    return f"event {i} ".encode() * (1 + i % 7)


def frame(payload: bytes) -> bytes:
    """Our own TFRecord writer (checked against TensorBoard's RecordWriter below)."""
    header = struct.pack("<Q", len(payload))
    return header + struct.pack("<I", masked_crc32c(header)) + payload + struct.pack("<I", masked_crc32c(payload))


@needs_tensorboard
def test_our_framing_matches_tensorboards_record_writer() -> None:
    buf = io.BytesIO()
    writer = RecordWriter(buf)
    payloads = [scalar(i, loss=1.0 / (i + 1)).SerializeToString() for i in range(5)] + [b"", b"\0" * 300]
    for p in payloads:
        writer.write(p)
    assert buf.getvalue() == b"".join(frame(p) for p in payloads)


@needs_tensorboard
def test_the_real_writer_followed_live_gives_exact_scalars(tmp_path: Path) -> None:
    sink = Sink()
    writer = EventFileWriter(str(tmp_path), flush_secs=3600)
    [path] = list(tmp_path.glob("events.out.tfevents.*"))
    try:
        with TfRecordFollower(path, sink.batch, sink.notice, **POLL):
            for step in range(3):
                writer.add_event(scalar(step, train__loss=2.0 - step / 4, **{"lr-AdamW": 1e-3}))
            writer.flush()
            wait_for(lambda: len(sink.items()) == 4)  # the file_version event, then three
            writer.add_event(scalar(3, train__loss=float("nan")))
            writer.flush()
            wait_for(lambda: len(sink.items()) == 5)
    finally:
        writer.close()
    recs = TfEventsDecoder().feed(sink.items(), 0.0)
    assert [(r.step, r.t, r.metrics["loss"]) for r in recs[:3]] == [
        (0, 1_700_000_000.0, 2.0), (1, 1_700_000_001.0, 1.75), (2, 1_700_000_002.0, 1.5)]
    assert recs[0].metrics["lr"] == struct.unpack("<f", struct.pack("<f", 1e-3))[0]
    assert recs[3].step == 3 and recs[3].metrics["loss"] != recs[3].metrics["loss"]


def test_every_cut_point_gives_whole_records_only() -> None:
    payloads = [payload(i) for i in range(6)] + [b""]
    data = b"".join(frame(p) for p in payloads)
    for cut in range(len(data) + 1):
        got, used, damaged, need = read_records(data[:cut])
        assert not damaged
        assert got == payloads[: len(got)] and used == sum(len(p) + 16 for p in got)
        assert (need == 0) == (used == cut)


def test_a_file_written_in_random_pieces_is_read_without_miss_or_duplicate(tmp_path: Path) -> None:
    payloads = [payload(i) for i in range(200)]
    data = b"".join(frame(p) for p in payloads)
    path = tmp_path / "events.out.tfevents.1.host.1.0"
    path.write_bytes(b"")
    sink = Sink()
    bounds = [0]
    for p in payloads:
        bounds.append(bounds[-1] + len(p) + 16)
    rng = random.Random(7)
    with TfRecordFollower(path, sink.batch, sink.notice, **POLL) as follower, open(path, "ab") as f:
        pos = 0
        while pos < len(data):
            pos += len(piece := data[pos:pos + rng.randint(1, 97)])
            f.write(piece)
            f.flush()
            if rng.random() < 0.2:  # let it catch up mid-record now and then
                whole = max(b for b in bounds if b <= pos)
                wait_for(lambda: follower.offset == whole)  # noqa: B023
        wait_for(lambda: len(sink.items()) == len(payloads))
    assert sink.items() == payloads
    assert not sink.notices


def test_a_damaged_record_is_waited_on_then_skipped(tmp_path: Path) -> None:
    payloads = [payload(i) for i in range(3)]
    bad = bytearray(frame(payloads[1]))
    bad[20] ^= 0xFF
    path = tmp_path / "events.out.tfevents.1.host.1.0"
    path.write_bytes(frame(payloads[0]) + bytes(bad) + frame(payloads[2]))
    sink = Sink()
    with TfRecordFollower(path, sink.batch, sink.notice, **POLL):
        wait_for(lambda: len(sink.items()) == 2)
    assert sink.items() == [payloads[0], payloads[2]]
    assert sink.said("damaged record at offset") and sink.said(f"skipped {len(bad)} damaged bytes")
    assert RESYNC_POLLS >= 2


def test_a_replaced_event_file_is_read_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "events.out.tfevents.1.host.1.0"
    path.write_bytes(frame(b"one"))
    sink = Sink()
    with TfRecordFollower(path, sink.batch, sink.notice, **POLL):
        wait_for(lambda: sink.items() == [b"one"])
        tmp = tmp_path / "new"
        tmp.write_bytes(frame(b"two") + frame(b"three"))
        os.replace(tmp, path)
        wait_for(lambda: sink.items() == [b"one", b"two", b"three"])
    assert sink.said("replaced")


# ── JSON documents rewritten whole ───────────────────────────────────────────


def entries(n: int) -> list[dict[str, float]]:
    return [{"epoch": i / 10, "loss": 2.0 - i / 100, "step": 10 * (i + 1)} for i in range(n)]


def state_doc(n: int) -> str:
    return json.dumps({"global_step": 10 * n, "max_steps": 500, "log_history": entries(n)}, indent=2, sort_keys=True)


def replace_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def test_trainer_state_rewritten_with_more_entries_gives_no_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "trainer_state.json"
    path.write_text(state_doc(3))
    sink = Sink()
    decoder = HFLogHistoryDecoder()
    with JsonDocFollower(path, sink.batch, sink.notice, kind="hf_log_history", **POLL):
        wait_for(lambda: len(sink.batches) >= 1)
        path.write_text(state_doc(5))  # in place
        wait_for(lambda: len(sink.items()) >= 2 and sink.items()[-1]["global_step"] == 50)
        replace_atomically(path, state_doc(8))
        wait_for(lambda: sink.items()[-1]["global_step"] == 80)
    assert {b.kind for b in sink.batches} == {"hf_log_history"}
    recs: list[Record] = []
    for b in sink.batches:
        recs += [r for r in decoder.feed(b.items, b.t) if r.event != "run_meta"]  # the trainer's settings apart
    assert [r.step for r in recs] == [10 * (i + 1) for i in range(8)]
    assert {r.total_steps for r in recs} == {500}


def test_hparams_yaml_is_delivered_as_text_each_time_it_is_rewritten(tmp_path: Path) -> None:
    """Lightning writes hparams.yaml beside metrics.csv (the run lab's lightning-default-healthy); a resumed run
    rewrites it. The follower reads, the decoder parses (a source does not parse)."""
    real = (FIXTURES / "realruns/lightning-default-healthy/run/logs/lightning_logs/version_0/hparams.yaml").read_text()
    path = tmp_path / "hparams.yaml"
    path.write_text(real)
    sink = Sink()
    with follow(path, sink.batch, sink.notice, **POLL) as thread:  # type: ignore[union-attr]
        assert isinstance(thread, TextDocFollower)
        wait_for(lambda: sink.items() == [real])
        replace_atomically(path, real.replace("lr: 0.001", "lr: 0.0003"))
        wait_for(lambda: len(sink.items()) == 2)
    assert {b.kind for b in sink.batches} == {"hparams_yaml"}
    assert sink.items()[1].endswith("lr: 0.0003\n")


def test_a_half_written_document_is_retried_and_a_broken_one_reported(tmp_path: Path) -> None:
    path = tmp_path / "training_metrics.json"
    path.write_text('{"train_loss": [2.0, 1.5], "steps": [1')
    sink = Sink()
    with JsonDocFollower(path, sink.batch, sink.notice, **POLL):
        wait_for(lambda: sink.said("not valid JSON"))
        time.sleep(5 * POLL["poll_interval"])
        assert sink.batches == [] and len(sink.notices) == 1  # said once, not at every look
        path.write_text(json.dumps({"train_loss": [2.0, 1.5], "steps": [1, 2]}))
        wait_for(lambda: len(sink.items()) == 1)
    recs = MetricArraysDecoder().feed(sink.items(), 0.0)
    assert [(r.step, r.metrics["loss"]) for r in recs] == [(1, 2.0), (2, 1.5)]


def test_a_missing_file_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "later" / "metrics.csv"
    sink = Sink()
    with CsvRowsFollower(path, sink.batch, sink.notice, **POLL):
        wait_for(lambda: sink.said("waiting for"))
        path.parent.mkdir()
        path.write_text("step,loss\n1,2.0\n")
        wait_for(lambda: sink.items() == [{"step": "1", "loss": "2.0"}])
    assert not sink.batches[0].history  # written after following began: live, not history



def test_a_tab_separated_table_of_any_name_is_a_metric_file_followed_as_it_grows(tmp_path: Path) -> None:
    """A new user's review: a `step\\tloss` table kept as `logs/train.log` read `nothing understood` (a text log
    of no format), where the same rows with commas are read as a CSV metric file. Its rows, copied from it
    into a file that really grows, come once each, split at the tabs; a text log is still no table."""
    from runwatch.watcher.fileid import is_table

    found = FIXTURES / "found" / "gpt2_shakespeare_train_log_table.log"
    assert classify_path(found) == "metrics_csv" and is_table(found)
    lines = found.read_text().splitlines(keepends=True)
    path = tmp_path / "train.log"
    path.write_text("".join(lines[:3]))
    sink = Sink()
    follower = CsvRowsFollower(path, sink.batch, sink.notice, **POLL)
    follower.poll()
    with path.open("a") as f:
        f.write("".join(lines[3:]))
    follower.poll()
    rows = sink.items()
    assert len(rows) == len(lines) - 1 and rows[0] == {"step": "10", "loss": "8.460716"}
    assert not is_table(FIXTURES / "found" / "mnist_example_cpu.log")
    assert classify_path(FIXTURES / "found" / "mnist_example_cpu.log") is None


def test_an_rl_loops_progress_table_is_read_by_its_environment_steps() -> None:
    """A review's Atari DQN `progress.csv` (tests/fixtures/found/README.md, its first 300 episodes): `episode,episode
    time,episode_reward,running_reward,steps_done`, one row an episode. No column the step names had, and a name with a
    blank: no metric file, `nothing understood`. Its `steps_done` is the step, each other column a metric."""
    import contextlib

    from runwatch.cli import main
    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    code, [report], _ = check_json(FOUND / "atari_dqn_progress_steps_done_head.csv")
    assert code == 0 and (report["step"], report["state"]) == (70231, "ended")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["parse", str(FOUND / "atari_dqn_progress_steps_done_head.csv"), "--output", "jsonl"])
    steps = [r for r in map(json.loads, out.getvalue().splitlines()) if r["kind"] == "step"]
    assert len(steps) == 300 and (steps[0]["step"], steps[-1]["step"]) == (389, 70231)
    assert steps[0]["metrics"] == {"episode": 0.0, "episode_time": 0.7828805213794112, "episode_reward": 168.0,
                                   "running_reward": 122.43}


def test_a_column_named_timesteps_alone_is_no_step(tmp_path: Path) -> None:
    """A code review: a diffusion model's table logs its `timesteps` setting (1000 on every row) beside its epoch; a
    bare `timesteps` as a step column put every row at step 1000. The epoch stays its step."""
    import contextlib

    from runwatch.cli import main

    path = tmp_path / "metrics.csv"
    path.write_text("epoch,loss,val_loss,timesteps\n" + "".join(f"{e},{1 / (e + 1):.4f},{1.1 / (e + 1):.4f},1000\n"
                                                               for e in range(50)))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["parse", str(path), "--output", "jsonl"])
    steps = [r["step"] for r in map(json.loads, out.getvalue().splitlines()) if r["kind"] == "step"]
    assert steps == list(range(50))
