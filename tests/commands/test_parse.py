"""`runwatch parse`: the columnar fast path changes nothing but the speed.

Every output (jsonl, csv, table, summary less its timing line) is compared
byte for byte with the fast path on and off (RUNWATCH_NO_FAST_PATH=1), and
with the reading `runwatch parse` did before blocks (read_all + feed), on the
real corpus logs, on a synthetic log of every case, a nanoGPT log, and logs
of over-long lines and invalid UTF-8; small blocks and reads put many chunk
boundaries in each.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import math
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import runwatch.commands.parse as parse_cmd
from runwatch.cli import main
from runwatch.commands.parse import Summary, _Writer, run_parse
from runwatch.model import Kind, Record
from runwatch.parsers.source import SourceParser
from runwatch.parsers.structured import CsvRowsDecoder
from runwatch.parsers.wandb import WandbDecoder
from runwatch.watcher import snapshot
from runwatch.watcher.discover import rank_from_path
from runwatch.watcher.lines import _ESCAPES_BYTES, LineSplitter
from runwatch.watcher.snapshot import read_all, read_blocks, split_block
from runwatch.watcher.wandb_file import read_records
from tests.support.fast_path_logs import POOL, every_case_log, row
from tests.support.paths import FIXTURES
from tests.support.runs import (
    HF_NAN_STEP,
    SFT_NAN,
    TB_NAN_STEP,
    TB_STEPS,
    TB_T0,
    WANDB_NAN_STEP,
    WANDB_STEPS,
    copy_wandb_run,
    hf_checkpoint,
    lightning_csv,
    tensorboard_events,
    the_wandb_file,
    wandb_loss,
    wandb_run,
)
from tests.support.stamped import megatron_deepspeed_log
from tests.support.tensorboard import needs_tensorboard

CORPUS = sorted((FIXTURES / "corpus/raw").glob("*.log"))
OUTPUTS = ("jsonl", "csv", "table", "summary")
SIZES = [(snapshot.BLOCK_BYTES, snapshot.READ_CHUNK), (8192, 2048)]  # (block, read) sizes


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.0)  # records carry the read time


def parse(path: Path, output: str, *, fast: bool, sizes: tuple[int, int] = SIZES[0], fmt: str | None = None,
          total: int | None = None, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("RUNWATCH_NO_FAST_PATH", "0" if fast else "1")
    monkeypatch.setattr(parse_cmd, "BLOCK_BYTES", sizes[0])
    monkeypatch.setattr(parse_cmd, "READ_CHUNK", sizes[1])
    out = io.StringIO()
    assert run_parse([str(path)], fmt=fmt, output=output, total_steps=total, out=out) == 0
    text = out.getvalue()
    if output == "summary":  # the timing line differs from run to run
        text = "\n".join(line for line in text.split("\n") if not line.startswith("lines "))
    return text


def before(path: Path, output: str, *, read: int = snapshot.READ_CHUNK, fmt: str | None = None) -> str:
    """What `runwatch parse` printed before blocks: read_all's lines through SourceParser.feed."""
    sp = SourceParser(str(path), fmt=fmt, rank=rank_from_path(str(path)), fast_path=False)
    out = io.StringIO()
    writer = _Writer(output, out)
    for batch in read_all(path, chunk_size=read):
        for rec in sp.feed(batch.lines, batch.first_line, batch.t):
            writer.write(rec)
    for rec in sp.flush():
        writer.write(rec)
    writer.close()
    return out.getvalue()


def same_everywhere(path: Path, monkeypatch: pytest.MonkeyPatch, sizes: tuple[int, int] = SIZES[0],
                    **kw: object) -> None:
    for output in OUTPUTS:
        on = parse(path, output, fast=True, sizes=sizes, monkeypatch=monkeypatch, **kw)  # type: ignore[arg-type]
        off = parse(path, output, fast=False, sizes=sizes, monkeypatch=monkeypatch, **kw)  # type: ignore[arg-type]
        assert as_values(output, on) == as_values(output, off), f"{path.name} --output {output}: fast path on and off differ"
        if output in ("jsonl", "csv") and "total" not in kw:
            was = before(path, output, read=sizes[1], fmt=kw.get("fmt"))  # type: ignore[arg-type]
            assert as_values(output, on) == as_values(output, was), f"{output}: differs from before"


def as_values(output: str, text: str) -> object:
    """jsonl as record values: the order of a record's metrics is no part of it."""
    if output != "jsonl":
        return text
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("log", CORPUS, ids=[p.name[:30] for p in CORPUS])
def test_corpus_logs_same_with_and_without_fast_path(log: Path, sizes: tuple[int, int],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    same_everywhere(log, monkeypatch, sizes)


@pytest.fixture
def every_case(tmp_path: Path) -> Path:
    path = tmp_path / "train.log"
    path.write_bytes(every_case_log() * 3)
    return path


@pytest.mark.parametrize("sizes", [*SIZES, (4096, 4096)])
def test_every_case_log_same_with_and_without_fast_path(every_case: Path, sizes: tuple[int, int],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    same_everywhere(every_case, monkeypatch, sizes)


def test_given_format_and_total_steps(every_case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    same_everywhere(every_case, monkeypatch, SIZES[1], fmt="picollm")
    same_everywhere(every_case, monkeypatch, SIZES[1], total=123)
    assert "of 123" in parse(every_case, "summary", fast=True, total=123, monkeypatch=monkeypatch)


def test_nanogpt_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = ["Overriding config with config/train_shakespeare_char.py", "number of parameters: 10.65M"]
    for i in range(3000):
        lines.append(f"iter {i}: loss {4 - i / 1000:.4f}, time {280 + i % 7}.{i % 100:02d}ms, mfu {48 + i % 3}.97%")
        if i % 250 == 0:
            lines += [f"step {i}: train loss 1.0987, val loss 1.4669", "saving checkpoint to out-shakespeare-char"]
        if i == 1234:
            lines.append("iter 1235: loss nan, time 280.49ms, mfu 48.97%")
    path = tmp_path / "nanogpt.log"
    path.write_text("\n".join(lines) + "\n")
    same_everywhere(path, monkeypatch)
    same_everywhere(path, monkeypatch, SIZES[1])


def test_long_lines_and_invalid_utf8(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lines over 64 KiB (with escapes and `\\r` in them, across read boundaries) and bytes that are no UTF-8."""
    rng = random.Random(3)
    parts: list[bytes] = []
    for i in range(400):
        k = rng.random()
        if k < 0.03:
            n = rng.randint(60_000, 200_000)
            parts.append(b"x" * n + b"\x1b[1m" * rng.randint(0, 3) + b"\r" * rng.randint(0, 1) + b"y" * 5000)
        elif k < 0.1:
            parts.append(b"bad \xff\xfe \xe2\x82 utf-8 \xc3\xa9 " + bytes(rng.randrange(256) for _ in range(30)))
        else:
            parts.append(row(i).encode())
    path = tmp_path / "odd.log"
    path.write_bytes(b"\n".join(parts) + b"\n" + b"z" * 70_000)  # ends inside an over-long line
    for sizes in ((1 << 20, 1 << 16), (1 << 18, 1 << 16)):
        same_everywhere(path, monkeypatch, sizes)
    out = parse(path, "summary", fast=True, monkeypatch=monkeypatch)
    assert "picollm" in out and "step=" in out
    assert sum(len(b) if isinstance(b, list) else len(split_block(b)) for b in read_blocks(path)) == len(
        [line for batch in read_all(path) for line in batch.lines])


def test_benchmark_like_log_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The log benchmarks/parse_throughput.py measures, smaller: 10% noise, nan steps, format change."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "parse_throughput", Path(__file__).resolve().parents[2] / "benchmarks" / "parse_throughput.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    path = tmp_path / "bench.log"
    bench.write_log(path, 30_000)
    for output in ("summary", "jsonl"):
        assert parse(path, output, fast=True, monkeypatch=monkeypatch) == parse(
            path, output, fast=False, monkeypatch=monkeypatch)
    out = parse(path, "summary", fast=True, monkeypatch=monkeypatch)
    assert "loss" in out and "val_bpb" in out


def test_cli_summary(every_case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(every_case), "--output", "summary"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("files      1\nformat     picollm (1 files)")
    assert "lines/s" in out and "events     " in out


# -- the pieces ----------------------------------------------------------------------------

def naive_add(summary: Summary, rec: Record) -> None:
    """Summary.add as it was: one record at a time, field by field."""
    summary.kinds[str(rec.kind)] += 1
    if rec.event:
        summary.events[rec.event] += 1
    if rec.step is not None:
        if summary.first_step is None:
            summary.first_step = rec.step
        summary.last_step = rec.step
    if rec.total_steps is not None:
        summary.total_steps = rec.total_steps
    if rec.rank is not None:
        summary.ranks.add(rec.rank)
    for k, v in (rec.metrics.items() if rec.kind in (Kind.STEP, Kind.EVAL) else ()):  # an event's fields are none
        summary.metric_count[k] += 1
        summary.last[k] = v
        if not math.isfinite(v):
            summary.nonfinite[k] += 1


def test_summary_add_chunk_is_add_of_each_record(every_case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse_cmd, "BLOCK_BYTES", 8192)
    monkeypatch.setattr(parse_cmd, "READ_CHUNK", 2048)
    columns, objects, naive = Summary(), Summary(), Summary()
    for total in (None, 77):
        for chunk in parse_cmd._Counted(every_case, None, total).chunks():
            columns.add_chunk(chunk, total)
            recs = parse_cmd.with_total(chunk.merged(), total)
            objects.add_records(recs)
            for rec in recs:
                naive_add(naive, rec)
        assert columns == objects == naive
        assert columns.nonfinite and columns.events and columns.first_step == 0
    assert columns.render(1.0) == objects.render(1.0)


def test_summary_of_rank_columns_is_add_of_each_record(tmp_path: Path) -> None:
    """The step lines of a torchrun `--tee` log (run lab recording): every row carries its `[defaultN]:` rank;
    the summary counts each rank the columns hold, as record by record."""
    recorded = (FIXTURES / "realruns/torchrun-tee-healthy/run/train.log").read_bytes().splitlines(keepends=True)
    path = tmp_path / "train.log"
    path.write_bytes(b"".join(x for x in recorded if b"]:iter " in x) * 20)  # its step lines: all columns
    columns, naive = Summary(), Summary()
    for chunk in parse_cmd._Counted(path, "nanogpt", None).chunks():
        columns.add_chunk(chunk)
        for rec in chunk.merged():
            naive_add(naive, rec)
    assert any(c.steps is not None and c.steps.rank is not None for c in parse_cmd._Counted(path, "nanogpt", None).chunks())
    assert columns.ranks == naive.ranks == {0, 1}


_ALPHABET = [b"a", b" ", b"\n", b"\r", b"\r\n", b"\x1b", b"\x1b[31m", b"\x1b]0;t\x07", b"\x1bP", b"\x1b\\", b"\x00",
             b"\t", b"\xe2\x82", b"\xac", b"\xff", b"\x7f", b"\x1b(B", b"\x1b[?25l", b"x" * 40, b"y" * 90]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_ALPHABET), max_size=80), st.sampled_from([(32, 32), (64, 32), (128, 64)]))
def test_blocks_split_as_read_all(parts: list[bytes], sizes: tuple[int, int]) -> None:
    """read_blocks + split_block give read_all's lines (tiny caps and reads: every boundary case is near)."""
    data = b"".join(parts)
    with _tiny_cap(64):
        path = Path(os.environ.get("TMPDIR", "/tmp")) / f"rw-blocks-{os.getpid()}.log"
        path.write_bytes(data)
        try:
            want = [line for b in read_all(path, chunk_size=sizes[1]) for line in b.lines]
            got: list[str] = []
            for b in read_blocks(path, block_size=sizes[0], chunk_size=sizes[1]):
                got += b if isinstance(b, list) else split_block(b)
        finally:
            path.unlink()
    assert got == want


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_ALPHABET), max_size=40), st.booleans())
def test_split_block_is_a_fresh_line_splitter(parts: list[bytes], newline: bool) -> None:
    data = b"".join(parts) + (b"\n" if newline else b"")
    splitter = LineSplitter()
    assert split_block(data) == splitter.feed(data) + splitter.flush()
    assert snapshot.strip_controls(data) == _ESCAPES_BYTES.sub(b"", data)


@contextmanager
def _tiny_cap(cap: int) -> Iterator[None]:
    """MAX_LINE_BYTES (and LineSplitter's default cap) set small, so that over-long lines are cheap to make."""
    saved = snapshot.MAX_LINE_BYTES, LineSplitter.__init__.__defaults__
    snapshot.MAX_LINE_BYTES = cap
    LineSplitter.__init__.__defaults__ = (cap,)
    try:
        yield
    finally:
        snapshot.MAX_LINE_BYTES, LineSplitter.__init__.__defaults__ = saved


def test_random_pool_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(11)
    lines = [rng.choice(POOL) if rng.random() < 0.1 else row(i) for i in range(6000)]
    path = tmp_path / "pool.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogateescape")
    same_everywhere(path, monkeypatch, SIZES[1])


# -- every source `tail` reads (W&B, trainer_state.json, metrics.csv, stdin) --------------------


def jsonl(*args: str, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    assert main(["parse", *args, "--output", "jsonl"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def brief(recs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r["kind"], r["step"], r["metrics"], r.get("event")) for r in recs]


@pytest.fixture(scope="module")
def wandb_nan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("wandb") is None:
        pytest.skip("needs the wandb package")
    return wandb_run(tmp_path_factory)


def test_a_wandb_run_gives_its_history_never_wandbs_debug_logs(wandb_nan: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Regression: `parse wandb/` read debug-internal.log as JSON lines (metrics `pid`, `record_number`)."""
    root = copy_wandb_run(wandb_nan, tmp_path / "exp")
    run_file = the_wandb_file(root)
    recs = jsonl(str(root / "wandb"), capsys=capsys)
    steps = [r for r in recs if r["kind"] == "step"]
    assert [r["step"] for r in steps] == list(range(WANDB_STEPS))
    assert {k for r in steps for k in r["metrics"]} == {"loss", "grad_norm", "elapsed"}
    assert steps[WANDB_NAN_STEP]["metrics"]["loss"] == "nan"
    assert steps[3]["metrics"]["loss"] == pytest.approx(wandb_loss(3))
    assert {r["total_steps"] for r in steps} == {WANDB_STEPS}  # from the run's config `max_steps`
    assert [r.get("event") for r in recs if r["kind"] != "step"] == ["finished"]  # no run_meta, no system stats
    # the same records from the file itself, from --format wandb on the dir holding wandb/, and from the
    # transaction log read whole by another route (read_records) through the decoder
    assert brief(jsonl(str(run_file), capsys=capsys)) == brief(recs)
    assert brief(jsonl("--format", "wandb", str(root), capsys=capsys)) == brief(recs)
    decoder = WandbDecoder()
    direct = [r for r in decoder.feed(read_records(run_file), 0.0) + decoder.flush()
              if r.event not in ("run_meta", "system_stats")]
    assert brief([r.to_json() for r in direct]) == brief(recs)


def test_wandb_summary_names_the_format(wandb_nan: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(wandb_nan), "--output", "summary"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("files      1\nformat     wandb (1 files)")
    assert f"steps      0 → {WANDB_STEPS - 1} of {WANDB_STEPS}" in out
    assert "pid" not in out and "record_number" not in out


def test_trainer_state_in_a_checkpoint_and_at_the_top_is_read_once(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "out"
    state = hf_checkpoint(out_dir)
    (out_dir / "trainer_state.json").write_text(state.read_text())  # the final copy repeats every entry
    recs = jsonl(str(out_dir), capsys=capsys)
    history = [(r["kind"], r["step"]) for r in recs if r["kind"] != "checkpoint"]
    assert history == [("step", 15), ("step", HF_NAN_STEP), ("step", 45), ("eval", 200), ("step", 2790),
                       ("eval", 2800)]
    assert recs[1]["metrics"]["grad_norm"] == "nan" and recs[1]["total_steps"] == 2808
    [ckpt] = [r for r in recs if r["kind"] == "checkpoint"]
    assert (ckpt["step"], ckpt["event"]) == (2800, "complete")
    assert [(r["kind"], r["step"]) for r in jsonl(str(state), capsys=capsys)] == history


def test_a_lightning_metrics_csv_gives_the_decoders_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = lightning_csv(tmp_path / "exp")
    with path.open(newline="") as f:
        rows = [{k: v for k, v in row.items() if v != ""} for row in csv.DictReader(f)]
    expected = [r.to_json() for r in CsvRowsDecoder().feed(rows, 0.0)]
    assert len(expected) == 16
    assert brief(jsonl(str(tmp_path / "exp"), capsys=capsys)) == brief(expected)
    assert brief(jsonl(str(path), capsys=capsys)) == brief(expected)


def test_stdin_is_read_to_eof_like_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    p = subprocess.run([sys.executable, "-m", "runwatch", "parse", "-", "--output", "jsonl"],
                       input=SFT_NAN.read_bytes(), capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr.decode()
    piped = [json.loads(line) for line in p.stdout.decode().splitlines()]
    from_file = jsonl(str(SFT_NAN), capsys=capsys)
    assert brief(piped) == brief(from_file) and len(from_file) > 100  # one pipeline (`check -` == `check FILE`)
    assert {r["source"] for r in piped} == {"-"}


def test_stdin_summary_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    assert run_parse(["-"], fmt=None, output="summary", total_steps=None, out=out,
                     stdin=io.BytesIO(SFT_NAN.read_bytes())) == 0
    assert "format     picollm (1 files)" in out.getvalue() and "steps      0 → 133" in out.getvalue()


def test_a_log_without_steps_says_no_steps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "crash.log"
    log.write_text("Traceback (most recent call last):\n  File \"train.py\", line 3, in <module>\n"
                   "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n")
    assert main(["parse", str(log), "--output", "summary"]) == 0
    out = capsys.readouterr().out
    assert "steps      no steps\n" in out and "None" not in out


@needs_tensorboard
def test_tensorboard_events_keep_their_wall_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tensorboard_events(tmp_path / "exp" / "runs" / "a")
    recs = jsonl(str(tmp_path / "exp"), capsys=capsys)
    assert [(r["step"], r["t"]) for r in recs] == [(s, TB_T0 + s) for s in range(TB_STEPS)]  # not the read time
    assert recs[TB_NAN_STEP]["metrics"] == {"loss": "nan"}
    assert brief(jsonl(str(path), capsys=capsys)) == brief(recs)


@needs_tensorboard
def test_a_damaged_tensorboard_record_is_skipped_as_the_follower_skips_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tensorboard_events(tmp_path / "runs")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside one record: its checksum fails
    path.write_bytes(bytes(data))
    assert main(["parse", str(path), "--output", "jsonl"]) == 0
    out, err = capsys.readouterr()
    steps = [json.loads(line)["step"] for line in out.splitlines()]
    assert len(steps) == TB_STEPS - 1 and steps == sorted(steps) and steps[-1] == TB_STEPS - 1  # read on past it
    assert "damaged record at offset" in err and "skipped" in err


def test_summary_counts_no_event_field_as_a_metric(capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: on torchrun-logdir-raise the summary listed `exitcode`, `pid`, `local_rank`
    and `root_cause_rank` (the failure report's fields) among the run's metrics."""
    run = FIXTURES / "realruns/torchrun-logdir-raise/run"
    assert main(["parse", str(run), "--output", "summary"]) == 0
    out = capsys.readouterr().out
    metrics = out.split("\nmetric", 1)[1]
    assert "loss" in metrics and "child_failed=1" in out
    assert not any(name in metrics for name in ("exitcode", "pid", "local_rank", "root_cause_rank"))


def test_the_table_is_aligned_and_its_columns_are_the_step_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: the first record (an eval) picked the columns, so loss and the rest went to
    the detail column, and the line was folded to single spaces, so nothing lined up."""
    from tests.support.nanochat import HEALTHY

    assert main(["parse", "--output", "table", str(HEALTHY)]) == 0
    lines = capsys.readouterr().out.splitlines()
    head = lines[0].split()
    assert head[:4] == ["kind", "step", "rank", "loss"] and "step_time" in head and head[-1] == "detail"
    right = lines[0].index("loss") + len("loss")  # numbers are right-aligned under their header
    step0 = next(ln for ln in lines if ln.startswith("step ") and ln.split()[1] == "0")
    assert step0[right - len("10.3972") : right] == "10.3972"
    eval0 = next(ln for ln in lines if ln.startswith("eval"))
    assert eval0.rstrip().endswith("val_bpb=3.16758") and eval0[right - 1] == " "


def test_the_summary_of_a_directory_of_runs_is_one_per_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: `parse --output summary` on a directory of four runs printed one summary whose
    steps and last values mixed them."""
    for run, rec in (("a", "kvlog-nan"), ("b", "tutorial-healthy")):
        (tmp_path / run).mkdir()
        (tmp_path / run / "train.log").write_bytes((FIXTURES / "realruns" / rec / "run" / "train.log").read_bytes())
    assert main(["parse", "--output", "summary", str(tmp_path)]) == 0
    a, b = capsys.readouterr().out.split("\n\n")
    assert a.startswith("run        a  (") and "steps      1 → 120\n" in a and "format     kv" in a
    assert b.startswith("run        b  (") and "steps      10 → 600 of 600" in b and "format     bracketed" in b


@pytest.mark.parametrize("fmt", [None, "megatron", "deepspeed"])
def test_a_megatron_deepspeed_log_gives_the_trainer_series_and_the_engine_series_with_times(
    fmt: str | None, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Megatron's loss and iteration metrics and the DeepSpeed engine's, each line's stamp its time."""
    log = tmp_path / "train.log"
    log.write_text("\n".join(megatron_deepspeed_log(40)) + "\n")
    recs = jsonl(str(log), *(["--format", fmt] if fmt else []), capsys=capsys)
    metrics = {m for r in recs for m in r["metrics"]}
    assert {"loss", "step_time", "lr", "tflops", "skipped_steps", "samples_per_sec", "memory_allocated_gib"} <= metrics
    stamped = [r for r in recs if "skipped_steps" in r["metrics"]]
    assert len(stamped) == 40 and all(r["t"] < 1_690_400_000 for r in stamped)  # July 2023 stamps, not the read time (Nov 2023)


def test_the_summarys_steps_are_the_records_not_a_checkpoints_file_name(capsys: pytest.CaptureFixture[str],
                                                                       tmp_path: Path) -> None:
    """A GPT-2 LoRA loop's last step is 13001 of 13002; its last checkpoint, `checkpoint_epoch_1_step_6501.pt`, names
    the epoch's step: the summary read `steps 0 → 6501 of 13002` (a review)."""
    import gzip

    log = tmp_path / "train.log"
    log.write_bytes(gzip.decompress((FIXTURES / "found" / "gpt2_lora_emoji_logger_2epochs.log.gz").read_bytes()))
    assert main(["parse", str(log), "-o", "summary"]) == 0
    assert "steps      0 → 13001 of 13002" in capsys.readouterr().out.splitlines()


def test_a_metric_files_summary_counts_its_items_not_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """Two reviews: a Keras CSVLogger file of 10 rows (and a Lightning metrics.csv of 2,835) summed up as `lines 0
    (0.02 s, 0 lines/s)`, as if nothing were read. A structured source holds items, which the summary counts; a log's
    summary says lines as before."""
    from tests.support.paths import FIXTURES

    assert main(["parse", str(FIXTURES / "found" / "keras_csvlogger_training.log"), "--output", "summary"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "format     csv_rows (1 files)" and out[2].startswith("items      10  (")
    assert not any(line.startswith("lines ") for line in out)
