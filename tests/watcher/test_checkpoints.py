"""Checkpoint directories built on disk: layouts, shards, truncation, rewrites, and a slow write while watched.

Most tests call `scan()` on a fake clock (no thread, no timing); one follows
a file written in pieces while the watcher thread runs.
"""

from __future__ import annotations

import json
import os
import struct
import time
import zipfile
from pathlib import Path

import pytest

from runwatch.model import Kind, Record
from runwatch.watcher.checkpoint_layout import has_checkpoints
from runwatch.watcher.checkpoints import CheckpointWatcher
from runwatch.watcher.notify import WatchHub
from runwatch.watcher.types import ItemBatch
from tests.support.checkpoints import torch_file
from tests.support.waiting import wait_for

SETTLE = 5.0


def safetensors_file(path: Path, n: int = 4) -> Path:
    header = json.dumps({"w": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}}).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * (4 * n))
    return path


def age(root: Path, seconds: float = 3600.0) -> None:
    """Make everything below `root` look written `seconds` ago (a history read)."""
    past = time.time() - seconds
    for p in [root, *root.rglob("*")]:
        os.utime(p, (past, past))


def hf_checkpoint(root: Path, step: int, ranks: int = 2, history: list[dict[str, float]] | None = None) -> Path:
    d = root / f"checkpoint-{step}"
    safetensors_file(d / "model.safetensors")
    torch_file(d / "optimizer.pt")
    for r in range(ranks):
        torch_file(d / f"rng_state_{r}.pth")
    log = history if history is not None else [{"loss": 2.0, "step": step}]
    (d / "trainer_state.json").write_text(json.dumps({"global_step": step, "max_steps": 1000, "log_history": log}))
    return d


def nanochat_checkpoint(root: Path, step: int, ranks: tuple[int, ...] = (0, 1, 2, 3)) -> None:
    torch_file(root / f"model_{step:06d}.pt")
    (root / f"meta_{step:06d}.json").write_text(json.dumps({"step": step, "val_bpb": 0.9}))
    for r in ranks:
        torch_file(root / f"optim_{step:06d}_rank{r}.pt")


class Clocked:
    """A watcher driven by hand: `scan()` at a time we choose; batches collected."""

    def __init__(self, root: Path, **kw: object) -> None:
        self.now = time.time()
        self.batches: list[ItemBatch] = []
        self.watcher = CheckpointWatcher(root, self.batches.append, settle_s=SETTLE, use_inotify=False,
                                         clock=lambda: self.now, **kw)  # type: ignore[arg-type]

    def scan(self, advance: float = 0.0) -> list[Record]:
        self.now += advance
        start = len(self.batches)
        self.watcher.scan()
        return [r for b in self.batches[start:] if b.kind == "checkpoint" for r in b.items]  # type: ignore[misc]

    def docs(self, kind: str = "hf_log_history") -> list[object]:
        return [d for b in self.batches if b.kind == kind for d in b.items]


def states(recs: list[Record]) -> list[tuple[str, int | None, str | None]]:
    return [(Path(r.source).name, r.step, r.event) for r in recs]


def test_a_history_scan_reports_every_layout_once_and_skips_data_files(tmp_path: Path) -> None:
    hf_checkpoint(tmp_path / "out", 100)
    hf_checkpoint(tmp_path / "out", 200)
    (tmp_path / "out" / "tmp-checkpoint-300").mkdir()
    nanochat_checkpoint(tmp_path / "base_checkpoints" / "d20", 500)
    torch_file(tmp_path / "lightning_logs" / "version_0" / "checkpoints" / "epoch=1-step=800.ckpt")
    torch_file(tmp_path / "nanogpt" / "ckpt.pt")
    torch_file(tmp_path / "ds" / "global_step40" / "mp_rank_00_model_states.pt")
    safetensors_file(tmp_path / "final" / "model-00001-of-00002.safetensors")
    safetensors_file(tmp_path / "final" / "model-00002-of-00002.safetensors")
    (tmp_path / "train.bin").write_bytes(b"\0" * 100)
    torch_file(tmp_path / "data" / "cached.pt")
    age(tmp_path)
    c = Clocked(tmp_path)
    recs = c.scan()
    assert sorted(states(recs), key=str) == sorted([
        ("checkpoint-100", 100, "complete"), ("checkpoint-200", 200, "complete"), ("*_000500*", 500, "complete"),
        ("epoch=1-step=800.ckpt", 800, "complete"), ("ckpt.pt", None, "complete"),
        ("global_step40", 40, "complete"), ("model-*-of-00002.safetensors", None, "complete"),
    ], key=str)
    nano = next(r for r in recs if r.step == 500)
    assert nano.kind == Kind.CHECKPOINT
    assert nano.metrics["files"] == 6 and nano.metrics["shards_found"] == nano.metrics["shards_expected"] == 4
    assert "write_s" not in nano.metrics  # written before runwatch looked: unknown
    assert nano.t == pytest.approx(os.stat(tmp_path / "base_checkpoints" / "d20" / "model_000500.pt").st_mtime)
    assert next(r for r in recs if r.step == 800).metrics["epoch"] == 1.0
    assert all(b.history for b in c.batches[:-1]) and c.batches[-1] == ItemBatch(str(tmp_path), "checkpoint", [],
                                                                                   c.now, history=False)
    assert c.scan(60.0) == []  # nothing changed: nothing said


def test_only_the_newest_trainer_state_is_handed_over_then_each_new_one(tmp_path: Path) -> None:
    hf_checkpoint(tmp_path, 100, history=[{"loss": 2.0, "step": 100}])
    hf_checkpoint(tmp_path, 200, history=[{"loss": 2.0, "step": 100}, {"loss": 1.5, "step": 200}])
    age(tmp_path)
    c = Clocked(tmp_path)
    c.scan()
    assert [d["global_step"] for d in c.docs()] == [200]  # type: ignore[index]
    hf_checkpoint(tmp_path, 300)
    c.scan()
    assert len(c.docs()) == 1  # still being written
    c.scan(SETTLE)
    assert [d["global_step"] for d in c.docs()] == [200, 300]  # type: ignore[index]
    assert [b.kind for b in c.batches[-2:]] == ["hf_log_history", "checkpoint"]


def test_missing_rank_shards_are_partial_until_the_last_rank_writes(tmp_path: Path) -> None:
    nanochat_checkpoint(tmp_path, 100, ranks=(0, 1, 3))
    age(tmp_path)
    c = Clocked(tmp_path)
    [rec] = c.scan()
    assert rec.event == "partial"
    assert (rec.message or "").endswith("in 5 files; missing optim_{step}_rank*.pt rank 2 (3 of 4)")
    assert (rec.metrics["shards_found"], rec.metrics["shards_expected"]) == (3, 4)
    torch_file(tmp_path / "optim_000100_rank2.pt")
    assert states(c.scan(1.0)) == [("*_000100*", 100, "writing")]
    [done] = c.scan(SETTLE)
    assert done.event == "complete" and done.metrics["write_s"] == 0.0


def test_fewer_ranks_or_a_lost_file_against_the_previous_checkpoint_is_partial(tmp_path: Path) -> None:
    nanochat_checkpoint(tmp_path, 100)
    nanochat_checkpoint(tmp_path, 200, ranks=(0, 1))
    nanochat_checkpoint(tmp_path, 300)
    (tmp_path / "model_000300.pt").unlink()
    age(tmp_path)
    recs = Clocked(tmp_path).scan()
    assert states(recs) == [("*_000100*", 100, "complete"), ("*_000200*", 200, "partial"),
                            ("*_000300*", 300, "partial")]
    assert "rank 2, 3 (2 of 4)" in (recs[1].message or "")
    assert "missing model_{step}.pt" in (recs[2].message or "")


def test_hf_rng_state_gap_and_deepspeed_shard_grid(tmp_path: Path) -> None:
    hf_checkpoint(tmp_path, 10, ranks=4)
    d = hf_checkpoint(tmp_path, 20, ranks=4)
    (d / "rng_state_1.pth").unlink()
    ds = tmp_path / "checkpoint-30" / "global_step30"
    for dp in (0, 1, 3):
        torch_file(ds / f"zero_pp_rank_{dp}_mp_rank_00_optim_states.pt")
    age(tmp_path)
    recs = Clocked(tmp_path).scan()
    assert states(recs) == [("checkpoint-10", 10, "complete"), ("checkpoint-20", 20, "partial"),
                            ("checkpoint-30", 30, "partial")]
    assert "missing rng_state_*.pth rank 1 (3 of 4)" in (recs[1].message or "")
    assert "global_step{step}/zero_pp_rank_*_mp_rank_*_optim_states.pt" in (recs[2].message or "")


def test_a_file_cut_short_is_partial(tmp_path: Path) -> None:
    model = torch_file(tmp_path / "step_5" / "model.pt", payload=os.urandom(4096))
    data = model.read_bytes()
    model.write_bytes(data[: len(data) // 2])
    tensors = safetensors_file(tmp_path / "step_6" / "model.safetensors", n=100)
    tensors.write_bytes(tensors.read_bytes()[:-10])
    age(tmp_path)
    recs = Clocked(tmp_path).scan()
    assert states(recs) == [("step_5", 5, "partial"), ("step_6", 6, "partial")]
    assert "model.pt is cut short (no zip directory)" in (recs[0].message or "")
    assert "model.safetensors is cut short" in (recs[1].message or "")


def test_a_file_rewritten_in_place_is_a_new_generation(tmp_path: Path) -> None:
    ckpt = torch_file(tmp_path / "ckpt.pt")
    age(tmp_path)
    c = Clocked(tmp_path)
    [first] = c.scan()
    torch_file(ckpt, payload=b"\1" * 128)
    assert states(c.scan(100.0)) == [("ckpt.pt", None, "writing")]
    [second] = c.scan(SETTLE)
    assert (first.event, second.event) == ("complete", "complete")
    assert "generation" not in first.metrics and second.metrics["generation"] == 2
    assert second.metrics["write_s"] == 0.0


def test_deleted_checkpoints_are_forgotten_and_the_root_may_be_a_checkpoint(tmp_path: Path) -> None:
    import shutil

    d = hf_checkpoint(tmp_path, 100)
    age(tmp_path)
    c = Clocked(tmp_path)
    assert len(c.scan()) == 1
    shutil.rmtree(d)
    assert c.scan(1.0) == []
    hf_checkpoint(tmp_path, 100)
    assert states(c.scan(1.0)) == [("checkpoint-100", 100, "writing")]
    own = hf_checkpoint(tmp_path / "x", 7)
    age(own)
    assert states(Clocked(own).scan()) == [("checkpoint-7", 7, "complete")]
    assert has_checkpoints(tmp_path) and has_checkpoints(own) and not has_checkpoints(tmp_path / "nothing")


def test_a_slowly_written_checkpoint_is_writing_then_complete_with_its_write_time(tmp_path: Path) -> None:
    """Written in pieces while the watcher thread runs (inotify wakes it; polling backs it up)."""
    got: list[Record] = []

    def on_batch(b: ItemBatch) -> None:
        got.extend(r for r in b.items if isinstance(r, Record))

    (tmp_path / "run").mkdir()
    target = tmp_path / "run" / "model_000042.pt"
    body = zip_bytes(os.urandom(1 << 16))
    pieces = [body[i:i + 8192] for i in range(0, len(body), 8192)]
    with WatchHub() as hub, CheckpointWatcher(tmp_path, on_batch, poll_interval=0.05, settle_s=0.5,
                                              min_gap=0.01, hub=hub):
        with open(target, "wb") as f:
            f.write(pieces[0])
            f.flush()
            wait_for(lambda: any(r.event == "writing" for r in got))
            for piece in pieces[1:]:
                f.write(piece)
                f.flush()
        wait_for(lambda: got and got[-1].event == "complete" and got[-1].metrics["size_bytes"] == len(body))
    assert got[0].event == "writing" and got[0].step == 42
    assert got[-1].metrics["write_s"] > 0
    assert {r.event for r in got} <= {"writing", "partial", "complete"}  # a pause mid-write may show as partial


def zip_bytes(payload: bytes) -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", payload)
    return buf.getvalue()


NANOCHAT_META = Path(__file__).resolve().parents[1] / "fixtures/nanochat_meta/meta_000020.json"


def test_the_newest_nanochat_checkpoints_meta_file_is_handed_over_once(tmp_path: Path) -> None:
    """nanochat keeps its run's config in `meta_XXXXXX.json` beside each model file: the newest complete
    checkpoint's is handed over (kind "nanochat_meta"), once, and again when a newer checkpoint lands."""
    d = tmp_path / "base_checkpoints" / "d4"
    doc = json.loads(NANOCHAT_META.read_text())
    for step in (10, 20):
        nanochat_checkpoint(d, step, ranks=(0,))
        (d / f"meta_{step:06d}.json").write_text(json.dumps(dict(doc, step=step)))
    age(tmp_path)
    c = Clocked(tmp_path)
    c.scan()
    assert [m["step"] for m in c.docs("nanochat_meta")] == [20]  # type: ignore[index]
    c.scan(SETTLE)
    assert len(c.docs("nanochat_meta")) == 1
    nanochat_checkpoint(d, 30, ranks=(0,))
    (d / "meta_000030.json").write_text(json.dumps(dict(doc, step=30)))
    c.scan(SETTLE)
    c.scan(SETTLE)
    assert [m["step"] for m in c.docs("nanochat_meta")] == [20, 30]  # type: ignore[index]


def test_the_default_clock_is_the_wall_clock_of_now_not_of_the_import(tmp_path: Path) -> None:
    """A default argument is bound once, when its module is first imported: a test that fixed `time.time`
    (`tests/commands/test_parse.py`) while this module was first imported left every later watcher in that process
    on its fixed clock, a checkpoint `writing` for ever, and `test_same_as_tail` failing in some orders of the suite
    (`pytest -n 0 tests/commands/test_parse.py tests/commands/test_same_as_tail.py`). The engine, sampler, node,
    sink dispatcher and supervisor take their default clock as this does, when they are made."""
    import subprocess
    import sys

    code = (
        "import time\n"
        "real = time.time\n"
        "time.time = lambda: 1_700_000_000.0\n"
        "from runwatch.watcher.checkpoints import CheckpointWatcher\n"
        "time.time = real\n"
        f"w = CheckpointWatcher({str(tmp_path)!r}, lambda batch: None, use_inotify=False)\n"
        "print(abs(w._clock() - real()) < 60.0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "True", out.stderr
