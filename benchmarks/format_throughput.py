"""Parse speed of every text format, one row each, beside a naive regex of that format and `wc -l`.

For each format a log of `--lines` lines is built from that format's real
lines (run lab recordings in tests/fixtures/realruns, corpus excerpts in
tests/fixtures/corpus), step counters renumbered where the line has one,
with 10% real noise: the nanochat speedrun's own non-step lines (GC, logger
and eval lines), the UserWarning pair accelerate printed, and the logged
traceback of the nanogpt-tb-raise recording (10 lines from its header to its
`IndexError`), so that 0.5% of all lines are `Traceback (most recent call
last):`. Each format gets the same log without the noise too.
`keras-long` is the Keras run's frames before each epoch's last under one
`Epoch 1/5` header per ~50 of them, counts renumbered: the run lab's epochs of
200 batches draw ~15 frames each, too few for a run read as a block
(runwatch.parsers.keras_block), where real epochs of thousands draw hundreds.

Contestants, each in its own process:
- `naive`: what a user writes: one `re.search` of the step line per line,
  float() per field (in process, reading the file included);
- `per-line`: the live path, SourceParser with the format given, fed the
  lines in batches of 10,000 (crash detection, rank prefix, the format's
  parser; in process, reading included);
- `lone µs`: a live follower that reads each line as it comes: `feed` of one
  line at a time and `settle` after it (runwatch.ingest.Ingest.parse of a live
  batch), over the noisy log's first `LONE_LINES` lines, in CPU µs a line (in
  process, reading included); `lone ×` is the naive regex's CPU µs a line
  over it (goal: ≥ 1);
- `burst`: a live burst (a catch-up after a pause, many ranks writing to one
  file): the follower's 1 MiB reads split by its line splitter, runs of plain
  lines raw to `feed_bytes` as `runwatch tail` does with a read of 64 KiB and
  up (in process, reading included);
- `parse`: `runwatch parse --output summary --format F` as users run it
  (start-up included), on the noisy log and on the clean one; `noisy/clean`
  the noisy log's M lines/s over the clean one's, by wall and (`cpu`) by the
  CPU time of each (the best of `--repeat`: steadier on a shared machine);
- `tail`: `runwatch tail --headless --json --format F` on the noisy log, from
  its start to its first status whose `notes` are empty (the whole history
  read and judged by the default rules; statuses every 0.1 s), shown as
  seconds and as a multiple of `parse` (goal: within 2×), and its CPU
  time by then as a multiple of `parse`'s CPU time (`÷cpu`);
- `wc -l` on the noisy log (the anchor: reading the bytes).

Goals (issue 12): parse ≥ 5× naive, noisy ≥ 80% of clean, per-line and a lone line ≥ 1×
naive. `fast` says how the format's step lines reach the columnar fast path:
`tmpl` from a StepLine template (runwatch.parsers.base.StepLineParser), `lrnd`
with layouts learned from its parser (runwatch.parsers.learned), `docs` a
block of JSON lines decoded as one array (runwatch.parsers.jsonl), `rows` taken
one by one by its stateful parser (`take_row`, runwatch.parsers.rows), `no`:
per line. Prints figures only.

    python benchmarks/format_throughput.py [--lines 1000000] [--only FMT …] [--repeat N] [--keep]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import naive_parse, rss_mb, run_as_installed

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests/fixtures"
NOISE = 0.10
TRACEBACK_SHARE = 0.005
"""Share of all lines that are a traceback's header (each opens a 10-line logged traceback)."""
LONE_LINES = 20_000
"""Lines the `lone` contestant feeds one at a time."""


# -- real lines --------------------------------------------------------------------

def _recording(run: str) -> list[str]:
    data = (FIXTURES / "realruns" / run / "run/train.log").read_bytes().decode("utf-8", "replace")
    return [x for x in re.split(r"\r\n|\r|\n", data) if x.strip()]


def _excerpts(name: str) -> list[str]:
    found = json.loads((FIXTURES / "corpus/raw" / f"excerpts_{name}.json").read_text(encoding="utf-8"))
    items = [e for v in found.values() for e in v] if isinstance(found, dict) else found
    return [x for e in items for x in (e["t"] if isinstance(e, dict) else e).splitlines()]


def _found(name: str) -> list[str]:
    """A whole real log a review found (tests/fixtures/found), its lines (`\r` frames each one)."""
    import gzip

    data = (FIXTURES / "found" / name).read_bytes()
    text = (gzip.decompress(data) if name.endswith(".gz") else data).decode("utf-8", "replace")
    return [x for x in re.split(r"\r\n|\r|\n", text) if x.strip()]


def _corpus_md(name: str) -> list[str]:
    return (FIXTURES / "corpus" / name).read_text(encoding="utf-8").splitlines()


def _log_history() -> list[str]:
    """The train entries of the two real trainer_state.json files' `log_history`, one JSON line each (what a
    JSON-lines metrics logger writes; tests/parsers/test_jsonl.py reads them so too)."""
    found = json.loads((FIXTURES / "corpus/raw/excerpts_hf_trainer_state.json").read_text(encoding="utf-8"))
    texts = [e["t"] + e.get("mid", "") + e.get("tail", "") for e in found if e["h"].startswith("trainer_state.json")]
    return [json.dumps(json.loads(m)) for text in texts for m in re.findall(r"\{[^{}]*\}", text)
            if '"step"' in m and '"loss"' in m]


def _speedrun() -> list[str]:
    return (FIXTURES / "corpus/raw/nanochat_pr492_speedrun_d24_feb01.training_output.log").read_text(
        encoding="utf-8").splitlines()


def _tee_evaluated(every: int) -> list[str]:
    """The run lab's torchrun `--tee` recording of two ranks (their `[defaultN]:iter …` lines as they came), rank 0
    evaluating every `every` iterations: after its `iter N` line, the line nanoGPT prints then (`step N: train
    loss …, val loss …`, from the nanogpt-tb-healthy recording) behind its prefix, at that N."""
    said = _keep(_recording("nanogpt-tb-healthy"), r"^step \d+: train loss [\d.]+, val loss [\d.]+$")[0]
    out = []
    for line in _keep(_recording("torchrun-tee-healthy"), r"^\[default\d\]:iter \d+:"):
        out.append(line)
        m = re.match(r"\[default0\]:iter (\d+):", line)
        if m is not None and int(m[1]) and int(m[1]) % every == 0:
            out.append("[default0]:" + re.sub(r"^step \d+", f"step {m[1]}", said))
    return out


@dataclass(frozen=True)
class Format:
    name: str
    lines: Callable[[], list[str]]
    """The format's real step lines."""
    counter: str | None
    """A regex whose group 1 is the step counter, renumbered line by line (None: kept as recorded)."""
    naive: str
    """The naive step-line regex: every group a number."""
    total: str | None = None
    """A regex whose group 1 is the planned steps, set to the log's line count (steps never pass it)."""
    format: str | None = None
    """runwatch's name of the format (None: `name`)."""
    carried: str | None = None
    """A regex whose group 1 is an integer the recording counts up (the epoch of HF Trainer's dicts, of a
    Lightning bar): each repeat of the recording carries it on past the last one's, as a longer run would.
    Repeated as recorded, it went back to 0 each time, a new attempt of the run: 7,435 in the HF Trainer's
    log, each judged on its own, and `tail` took twice as long as it does on one run."""

    @property
    def runwatch_format(self) -> str:
        return self.format or self.name


def _keep(lines: list[str], pattern: str) -> list[str]:
    rx = re.compile(pattern)
    return [x for x in lines if rx.search(x)]


FORMATS = [
    Format("picollm", lambda: _keep(_speedrun(), r"^step \d+/\d+ "), r"^step (\d+)",
           r"step (\d+)/(\d+) \(([\d.]+)%\) \| loss: ([\d.]+) \| lrm: ([\d.]+) \| dt: ([\d.]+)ms \| tok/sec: ([\d,]+)"
           r" \| (?:bf16_)?mfu: ([\d.]+) \| epoch: (\d+) \| total time: ([\d.]+)m", r"^step \d+/(\d+)"),
    Format("nanogpt", lambda: _keep(_recording("nanogpt-tb-healthy"), r"^iter \d+:"), r"^iter (\d+)",
           r"iter (\d+): loss ([\d.]+), time ([\d.]+)ms(?:, mfu ([-\d.]+)%)?"),
    Format("llmc", lambda: _keep(_corpus_md("nanogpt_llmc.md"), r"^step +\d+/\d+ \| loss .* tok/s$"), r"^step +(\d+)",
           r"step +(\d+)/(\d+) \| loss ([\d.]+) \(([-+\w.]+)z\)\| norm ([\d.]+) \(([-+\w.]+)z\)\| lr ([\d.e+-]+)"
           r" \| ([\d.]+) ms \| ([-\d.]+)% bf16 MFU \| ([\d.]+) tok/s", r"^step +\d+/(\d+)"),
    Format("megatron", lambda: _keep(_excerpts("megatron"), r"iteration\s+\d+/"), r"iteration\s+(\d+)/",
           r"iteration\s+(\d+)/\s*(\d+) \| consumed samples:\s+(\d+) \| elapsed time per iteration \(ms\): ([\d.]+)"
           r".*? \| learning rate: ([\d.E+-]+) \|.*? lm loss: ([\d.E+-]+) \|", r"iteration\s+\d+/\s*(\d+)"),
    Format("deepspeed", lambda: _keep(_excerpts("deepspeed"), r"\] step=\d+, skipped=|SamplesPerSec="),
           r"(?:\bstep=|global_step=|stop\] \d+/)(\d+)",  # the timer line's step too: else steps go back and forth
           r"step=(\d+), skipped=(\d+), lr=\[([\d.e+-]+)\]"),
    Format("torchtitan", lambda: _keep(_excerpts("torchtitan_composer_axolotl_accelerate"), r"step: +\d+ +loss:"),
           r"step: +(\d+)", r"step: +(\d+) +loss: +([\d.]+) +(?:grad_norm: +([\d.]+) +)?memory: +([\d.]+)GiB"),
    Format("nanogpt-tee", lambda: _tee_evaluated(50), None, r"\]:iter (\d+): loss ([\d.]+), time ([\d.]+)ms",
           format="nanogpt", carried=r"(?::iter |\]:step )(\d+):"),  # two ranks behind torchrun's `--tee` prefixes
    Format("hf-trainer", lambda: [x[x.index("{'loss'"):] for x in _recording("hf-healthy") if "{'loss'" in x], None,
           r"\{'loss': '?([\d.e+-]+)'?, 'grad_norm': '?([\d.e+-]+)'?, 'learning_rate': '?([\d.e+-]+)'?,"
           r" 'epoch': '?([\d.e+-]+)'?\}", carried=r"'epoch': '?(\d+)"),
    Format("hf-bar", lambda: [x for x in _recording("hf-healthy") if x.strip()], r"\| (\d+)/\d+ \[",
           r"\{'loss': '?([\d.e+-]+)'?, 'grad_norm': '?([\d.e+-]+)'?, 'learning_rate': '?([\d.e+-]+)'?,"
           r" 'epoch': '?([\d.e+-]+)'?\}", r"\| \d+/(\d+) \[", format="hf-trainer", carried=r"'epoch': '?(\d+)"),  # frames, dicts, eval bar
    Format("tqdm", lambda: _keep(_recording("lightning-tqdm-healthy"), r"^Epoch \d+: .*\d+/\d+ \["), None,
           r"Epoch (\d+): +(\d+)%.*?(\d+)/(\d+) \[.*?(?:loss=([\d.]+))?", carried=r"^Epoch (\d+):"),
    Format("keras", lambda: _keep(_recording("keras-v1-healthy"), r"^Epoch \d+/\d+$|\d+/\d+\x1b.* - loss: "),
           r"^Epoch (\d+)/", r"(\d+)/(\d+)\W.*? - accuracy: ([\d.]+) - loss: ([\d.]+)",
           r"^Epoch \d+/(\d+)$"),  # verbose 1: the bar's frames (split at their `\r`) under each `Epoch N/M`
    Format("keras-long", lambda: _keep(_recording("keras-v1-healthy"), r"^Epoch 1/\d+$|\b(?!200/)\d+/200\x1b.* - loss: "),
           r"\x1b\[1m *(\d+)/\d+\x1b", r"(\d+)/(\d+)\W.*? - accuracy: ([\d.]+) - loss: ([\d.]+)",
           r"\x1b\[1m *\d+/(\d+)\x1b", format="keras"),  # one `Epoch` over the run's ~50 frames before an epoch's last
    Format("keras-v2", lambda: _keep(_recording("keras-v2-healthy"), r"^Epoch \d+/\d+$|^\d+/\d+ .* - loss: "),
           r"^Epoch (\d+)/", r"(\d+)/(\d+) .*? - accuracy: ([\d.]+) - loss: ([\d.]+)", r"^Epoch \d+/(\d+)$",
           format="keras"),  # verbose 2: one line an epoch under its `Epoch N/M`
    Format("meters", lambda: _keep(_found("wsdan_sac_imagenet_meters.log.gz"), r"^Epoch: \[\d+\]\[\d+/\d+\]\t"),
           r"^Epoch: \[(\d+)\]",  # the epoch renumbered: the step is epoch × 250 + batch
           r"Epoch: \[(\d+)\]\[(\d+)/(\d+)\]\tTime ([\d.]+) \(([\d.]+)\)\tData ([\d.]+) \(([\d.]+)\)\tLoss ([\d.]+)"
           r" \(([\d.]+)\)"),
    Format("yolo", lambda: _keep(_found("yolov5_cots_300ep_terminal.log"), r"Epoch +gpu_mem|/299 .*: 100%|^ +all "),
           r"^ +(\d+)/299 ",  # each epoch's header, its last frame and its validation's `all` row
           r"(\d+)/(\d+) +([\d.]+)G +([\d.]+) +([\d.]+) +([\d.]+) +(\d+) +(\d+): +\d+%\|[^|]*\| *(\d+)/(\d+)"),
    Format("basicsr", lambda: _keep(_found("basicsr_iqa_torchrun_nohup.out.gz"), r"\]\[epoch: +\d+, iter:"),
           r"iter: +([\d,]+),",
           r"\[epoch: *(\d+), iter: *([\d,]+), lr:\(([\d.e+-]+),\)\] \[eta: [^,]+, time \(data\): ([\d.]+) \(([\d.]+)\)\]"
           r" l_mos: ([\d.e+-]+) l_metric: ([\d.e+-]+)"),
    Format("slowfast", lambda: _keep(_found("slowfast_meccano_multilaunch.log.gz"), r'json_stats: \{"_type": "train_iter'),
           r'"epoch": "(\d+)/',  # the epoch renumbered: the step is (epoch − 1) × 316 + iteration
           r'"dt": ([\d.]+), "dt_data": ([\d.]+), "dt_net": ([\d.]+), "epoch": "(\d+)/(\d+)".*?"grad_norm": ([\d.]+),'
           r' "iter": "(\d+)/(\d+)", "loss": ([\d.]+), "lr": ([\d.]+)', r'"epoch": "\d+/(\d+)"'),
    Format("marian", lambda: _keep(_found("marian_europarl_concat.log"), r"\] Ep\. \d+ : Up\. \d+ : "), r"Up\. (\d+) :",
           r"Ep\. (\d+) : Up\. (\d+) : Sen\. ([\d,]+) : Cost ([\d.]+) : Time ([\d.]+)s : ([\d.]+) words/s"
           r" : L\.r\. ([\d.e+-]+)"),  # Marian NMT's display lines, an update each
    Format("torchlight", lambda: _keep(_found("stgcn_torchlight_relaunches.log.gz"),
                                       r"\] (?:Training|Eval) epoch: \d+$|\] \t(?:mean_loss|Top1): "),
           r"\] (?:Training|Eval) epoch: (\d+)$",  # headings renumbered: an epoch a step
           r"\tmean_loss: ([\d.]+)"),  # ST-GCN's processor: each epoch's heading, then its mean_loss (and Top1)
    Format("jsonl", _log_history, r'"step": (\d+)', r'"loss": ([\d.e+-]+).*?"step": (\d+)'),
    Format("kv", lambda: _keep(_recording("kvlog-healthy"), r"step=\d+ .*loss="), r"step=(\d+)",
           r"step=(\d+) epoch=(\d+) loss=([\d.]+) lr=([\d.e+-]+)"),
    Format("bracketed", lambda: _keep(_recording("tutorial-healthy"), r"Step \[\d+/\d+\], Loss:"), r"Epoch \[(\d+)/",
           r"Epoch \[(\d+)/(\d+)\], Step \[(\d+)/(\d+)\], Loss: ([\d.]+)",
           r"Epoch \[\d+/(\d+)\]"),  # the epoch carried on: the recording's own ran 1..5 again (a restart each time)
]
BY_NAME = {f.name: f for f in FORMATS}


def _noise_pool() -> tuple[list[str], list[str]]:
    """(single noise lines, one logged traceback block), all printed by real runs."""
    singles = [x for x in _speedrun() if not x.startswith(("step ", "Step "))][:400]
    warning = _keep(_recording("accelerate-healthy"), r"UserWarning|warnings\.warn\(")
    raised = _recording("nanogpt-tb-raise")
    start = next(i for i, x in enumerate(raised) if x.startswith("Traceback (most recent call last):"))
    end = next(i for i in range(start + 1, len(raised)) if re.match(r"\w+Error: ", raised[i]))
    return singles + warning, raised[start:end + 1]


def write_log(fmt: Format, path: Path, lines: int, noisy: bool, seed: int = 0) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    steps = fmt.lines()
    if not steps:
        raise SystemExit(f"{fmt.name}: no real step lines found")
    counter = re.compile(fmt.counter) if fmt.counter else None
    total = re.compile(fmt.total) if fmt.total else None
    carried = re.compile(fmt.carried) if fmt.carried else None
    span = 1 + max((int(m[1]) for x in steps if (m := carried.search(x)) is not None), default=0) if carried else 0
    singles, block = _noise_pool()
    p_block = TRACEBACK_SHARE / (1.0 - NOISE) if noisy else 0.0
    p_single = max(NOISE - TRACEBACK_SHARE * len(block), 0.0) / (1.0 - NOISE) if noisy else 0.0
    rolls = rng.random(lines).tolist()
    picks = rng.integers(0, len(singles), lines).tolist()
    written = step = 0
    with open(path, "w", encoding="utf-8") as f:
        while written < lines:
            r = rolls[written % lines]
            if r < p_block and written + len(block) <= lines:
                f.write("\n".join(block) + "\n")
                written += len(block)
                continue
            if r < p_block + p_single:
                f.write(singles[picks[written]] + "\n")
            else:
                line = steps[step % len(steps)]
                m = carried.search(line) if carried is not None else None
                if m is not None:
                    line = f"{line[:m.start(1)]}{int(m[1]) + step // len(steps) * span}{line[m.end(1):]}"
                for rx, value in ((total, lines), (counter, step + 1)):  # the total first: it comes after
                    m = rx.search(line) if rx is not None else None
                    if m is not None:
                        line = f"{line[:m.start(1)]}{value}{line[m.end(1):]}"
                f.write(line + "\n")
                step += 1
            written += 1


# -- contestants (each in its own process) -------------------------------------------

def naive(fmt: Format, path: str) -> int:
    return naive_parse(re.compile(fmt.naive), path)


def per_line(fmt: Format, path: str) -> int:
    from runwatch.parsers.source import SourceParser

    sp = SourceParser("bench", fmt=fmt.runwatch_format)
    n = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        while batch := [x.rstrip("\n") for x in itertools.islice(f, 10_000)]:
            sp.feed(batch, n + 1, 0.0)
            n += len(batch)
    sp.flush()
    return n


def lone(fmt: Format, path: str) -> int:
    """A live follower's lines one at a time, as runwatch.ingest.Ingest.parse hands over a live batch of one
    line (`feed([line])`, then `settle()`: the follower caught up): the per-line cost of a lone line."""
    from runwatch.parsers.source import SourceParser

    sp = SourceParser("bench", fmt=fmt.runwatch_format)
    feed, settle = sp.feed, sp.settle
    n = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in itertools.islice(f, LONE_LINES):
            n += 1
            feed([line.rstrip("\n")], n, 0.0)
            settle()
    sp.flush()
    return n


def burst(fmt: Format, path: str) -> int:
    """What a live follower does with a burst of appended lines (runwatch.watcher.tail.BURST_BYTES and up: a
    catch-up, many ranks writing to one file): its reads of 1 MiB split by the line splitter, runs of plain
    lines raw to `feed_bytes` (the fast path), the rest as lines to `feed`, `settle` after each read."""
    from runwatch.parsers.source import SourceParser
    from runwatch.watcher.lines import LineSplitter
    from runwatch.watcher.snapshot import split_block

    sp, splitter, n = SourceParser("bench", fmt=fmt.runwatch_format), LineSplitter(), 0
    with open(path, "rb") as f:
        while data := f.read(1 << 20):
            for piece in splitter.feed_raw(data):
                if isinstance(piece, bytes):
                    n += sp.feed_bytes(piece, n + 1, 0.0, split_block).lines
                else:
                    sp.feed(piece, n + 1, 0.0)
                    n += len(piece)
            sp.settle()
    sp.flush()
    return n


def _child(kind: str, name: str, path: str) -> None:
    fmt = BY_NAME[name]
    if kind in ("noisy", "clean"):
        write_log(fmt, Path(path), int(os.environ["BENCH_LINES"]), kind == "noisy")
        return
    if kind in ("per-line", "lone", "burst"):
        import runwatch.parsers.columnar
        import runwatch.parsers.source
        import runwatch.watcher.snapshot  # noqa: F401
    t0, c0 = time.perf_counter(), time.process_time()
    n = {"naive": naive, "per-line": per_line, "lone": lone, "burst": burst}[kind](fmt, path)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"lines": n, "wall": wall, "cpu": cpu, "rss": rss_mb(resource.getrusage(resource.RUSAGE_SELF))}))


# -- measuring ------------------------------------------------------------------------

def history_read(argv: list[str], timeout: float = 300.0) -> tuple[float, float]:
    """Seconds from starting `runwatch tail … --headless --json` to its first status with no notes (the
    history read and judged), and the CPU seconds the process had used by then (from /proc: what reading
    costs apart from waiting for a CPU on a shared machine; NaN where there is no /proc); the process is
    stopped then."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert p.stdout is not None
    try:
        for line in p.stdout:
            if '"type": "status"' in line and json.loads(line).get("notes") == []:
                return time.perf_counter() - t0, _cpu_of(p.pid)
            if time.perf_counter() - t0 > timeout:
                break
        return math.inf, math.inf
    finally:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a live process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run(argv: list[str], env: dict[str, str] | None = None) -> tuple[str, float, float, float]:
    """stdout, wall s, peak RSS MB and CPU s (user + system) of one child."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        text = out.read().decode()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} … exited {code}")
    return text, wall, rss_mb(ru), ru.ru_utime + ru.ru_stime


def _best(fn: Callable[[], tuple[float, float]], repeat: int) -> tuple[float, float]:
    return min((fn() for _ in range(repeat)), key=lambda r: r[0])


def measure(fmt: Format, tmp: Path, lines: int, repeat: int) -> dict[str, float]:
    me = str(Path(__file__).resolve())
    env = {**os.environ, "BENCH_LINES": str(lines)}
    logs = {}
    for kind in ("noisy", "clean"):
        logs[kind] = tmp / f"{fmt.name}-{kind}.log"
        _run([sys.executable, me, "--child", kind, fmt.name, str(logs[kind])], env)
    noisy = str(logs["noisy"])
    row: dict[str, float] = {"mib": logs["noisy"].stat().st_size / 2**20}
    row["wc"] = _best(lambda: _run(["wc", "-l", noisy])[1:3], repeat)[0] if shutil.which("wc") else math.nan

    def in_process(kind: str, want: int = lines, figure: str = "wall") -> tuple[float, float]:
        fig = json.loads(_run([sys.executable, me, "--child", kind, fmt.name, noisy])[0])
        assert fig["lines"] == want, fig
        return fig[figure], fig["rss"]

    row["naive"], _ = _best(lambda: in_process("naive"), repeat)
    row["per_line"], row["per_line_mb"] = _best(lambda: in_process("per-line"), repeat)
    # a lone line against the naive regex's line in CPU time, each the best of `repeat` (wall moves with
    # whatever else the machine runs; a µs a line is small)
    lone = min(lines, LONE_LINES)
    row["naive_cpu_us"] = _best(lambda: in_process("naive", figure="cpu"), repeat)[0] / lines * 1e6
    row["lone_us"] = _best(lambda: in_process("lone", lone, figure="cpu"), repeat)[0] / lone * 1e6
    row["burst"], _ = _best(lambda: in_process("burst"), repeat)
    cmd = [sys.executable, "-m", "runwatch", "parse", "--output", "summary", "--format", fmt.runwatch_format]
    for kind in ("noisy", "clean"):
        runs = [_run([*cmd, str(logs[kind])])[1:] for _ in range(repeat)]
        row[kind], row[f"{kind}_mb"] = min(runs, key=lambda r: r[0])[:2]
        row[f"{kind}_cpu"] = min(r[2] for r in runs)
    tail = [sys.executable, "-m", "runwatch", "tail", noisy, "--headless", "--json", "--interval", "0.1",
            "--format", fmt.runwatch_format]
    reads = [history_read(tail) for _ in range(repeat)]
    row["tail"], row["tail_cpu"] = min(r[0] for r in reads), min(r[1] for r in reads)
    return row


def fast_kind(name: str) -> str:
    """`tmpl` (a StepLine template), `lrnd` (layouts learned from the parser), `docs` (a block of JSON lines
    decoded at once), `rows` (`take_row`) or `no`."""
    from runwatch.parsers.base import StepLineParser
    from runwatch.parsers.registry import parser_class

    parser = parser_class(name)
    if issubclass(parser, StepLineParser):
        return "tmpl"
    if parser.documents is not None:
        return "docs"
    return "lrnd" if parser.learn_anchors is not None else "rows" if parser.rows_in_bulk else "no"


def render(rows: dict[str, dict[str, float]], lines: int) -> str:
    out = [f"{lines:,} lines per log (10% real noise, 0.5% traceback headers); {os.cpu_count()} CPUs; "
           "M/s = million lines per second; × = against the naive regex of the same format",
           f"{'format':11}{'fast':>5}{'MiB':>5}{'wc -l':>8}{'naive':>7}{'per-line':>10}{'×':>6}{'lone µs':>8}{'lone ×':>7}{'burst':>7}{'×':>6}"
           f"{'parse':>8}{'×':>6}{'×wc':>6}{'clean':>8}{'noisy/clean':>12}{'cpu':>6}{'peak MB':>8}{'tail s':>8}{'÷parse':>7}{'÷cpu':>6}"]
    for name, r in rows.items():
        def rate(key: str, r: dict[str, float] = r) -> float:
            return lines / r[key] / 1e6

        out.append(
            f"{name:11}{fast_kind(BY_NAME[name].runwatch_format):>5}{r['mib']:5.0f}{rate('wc'):8.1f}{rate('naive'):7.2f}"
            f"{rate('per_line'):10.2f}{r['naive'] / r['per_line']:6.2f}"
            f"{r['lone_us']:8.2f}{r['naive_cpu_us'] / r['lone_us']:7.2f}"
            f"{rate('burst'):7.2f}{r['naive'] / r['burst']:6.2f}"
            f"{rate('noisy'):8.2f}{r['naive'] / r['noisy']:6.2f}"
            f"{r['wc'] / r['noisy']:6.3f}{rate('clean'):8.2f}{r['clean'] / r['noisy']:11.0%}"
            f"{r['clean_cpu'] / r['noisy_cpu']:6.0%}{r['noisy_mb']:8.0f}"
            f"{r['tail']:8.2f}{r['tail'] / r['noisy']:7.2f}{r['tail_cpu'] / r['noisy_cpu']:6.2f}"
        )
    out.append("parse: `runwatch parse --output summary --format F` incl. start-up (from cached bytecode, as installed); per-line: SourceParser.feed in "
               f"process (batches of 10,000 lines); lone µs: CPU µs a line of `feed` of one line at a time, then "
               f"`settle` ({LONE_LINES:,} lines); lone ×: the naive regex's CPU µs a line ÷ lone µs (goal ≥ 1); burst: "
               "a live follower's 1 MiB reads (splitter, feed_bytes) in process; naive: re.search + float() in process; "
               "wc -l: M lines/s of the noisy log; cpu: noisy/clean in parse's CPU time (the best of each; steadier than wall "
               "on a shared machine); tail s: `runwatch tail --headless` until the history is read and "
               "judged (goal: ÷parse ≤ 2); ÷cpu: tail's CPU s by then ÷ parse's CPU s (the best of each; moves less than "
               "wall on a shared machine)")
    out += goals(rows)
    return "\n".join(out)


GOALS = (
    ("parse ≥ 5× naive", lambda r: r["naive"] / r["noisy"] >= 5),
    ("noisy ≥ 80% of clean (cpu)", lambda r: r["clean_cpu"] / r["noisy_cpu"] >= 0.8),
    ("per-line ≥ 1× naive", lambda r: r["naive"] / r["per_line"] >= 1),
    ("lone line ≥ 1× naive", lambda r: r["naive_cpu_us"] / r["lone_us"] >= 1),
    ("tail ≤ 2× parse (cpu)", lambda r: r["tail_cpu"] / r["noisy_cpu"] <= 2),
)
"""Issue 12's goals as this table measures them, each a test of one format's row."""


def goals(rows: dict[str, dict[str, float]]) -> list[str]:
    """A line per goal: how many formats meet it, and which do not (the table's figures, nothing new)."""
    out = ["goals (issue 12), per format measured here:"]
    for label, met in GOALS:
        missed = [name for name, r in rows.items() if not met(r)]
        out.append(f"  {label:28} met by {len(rows) - len(missed)} of {len(rows)}"
                   + (f"; not by {', '.join(missed)}" if missed else ""))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--only", nargs="+", choices=list(BY_NAME), help="these formats only")
    ap.add_argument("--repeat", type=int, default=1, help="runs per contestant; the fastest is shown")
    ap.add_argument("--keep", action="store_true", help="keep the generated logs and print where")
    ap.add_argument("--child", nargs=3, metavar=("KIND", "FORMAT", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    run_as_installed()
    tmp = Path(tempfile.mkdtemp(prefix="runwatch-formats-"))
    rows: dict[str, dict[str, float]] = {}
    try:
        for fmt in FORMATS:
            if args.only and fmt.name not in args.only:
                continue
            rows[fmt.name] = measure(fmt, tmp, args.lines, max(1, args.repeat))
            print(f"  {fmt.name}: done", file=sys.stderr, flush=True)
        print(render(rows, args.lines))
    finally:
        if args.keep:
            print(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
