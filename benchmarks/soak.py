"""The watchdog's soak: a real `runwatch watch` daemon follows a busy log for many minutes while
everything around it misbehaves, and every alert it should send is counted at a real receiver.

    python benchmarks/soak.py [--minutes 15] [--rate 150] [--seed 1] [--resolve-after S] [--keep]

Three actors, one timeline drawn from `--seed` and spread over `--minutes`:

* the writer appends real nanochat step lines (the PR #492 speedrun log in the corpus, past its
  warm-up, played back and forth so the loss never jumps; steps renumbered so they only go forward)
  at `--rate` lines/s; about 3% of lines are written in two parts with a pause between; the log is
  rotated by rename (a new file at the same path) and by copytruncate; planted NaN events are a
  `loss: nan` step followed by normal lines, so the `nonfinite` alert fires and later resolves.
  Events are spaced by the rule's `resolve_after` (default: the rule's own, 10 min) plus a minute,
  so each is its own firing → resolved pair;
* the daemon, `runwatch watch LOG --webhook URL --state-dir D`, is SIGKILLed a few times (one of them
  right after a NaN was written, before it can have been judged) and SIGTERMed once, and restarted
  with the same state dir after a few seconds;
* the receiver (127.0.0.1) records every POST; it refuses connections for a while (one window holds
  a NaN's firing) and answers 500 for a while (one window holds a resolution).

After `--minutes` the writer goes on, with receiver and daemon left alone, until every planted
event has been resolved (or could have been, with two minutes to spare); then the daemon gets
SIGTERM. The table: planted vs received firing/resolved notifications, missed, re-sent under the
same id (at-least-once delivery: allowed), duplicated under a new id (a bug), NaN written → POST
received latency while receiver and daemon were up, lines written vs what the daemon's saved
offsets and status say it judged, RSS and CPU of the daemon (psutil, every few seconds), and the
daemon's stderr lines that mention errors. At 150 steps/s (a real nanochat run makes 1.5) a step
takes ~7 ms, and the writer's own jitter on a busy machine moves that pace by 1.5×: the
`step_time_drift` warning may fire on it and stay firing; it is listed apart. Not a test: figures only, exit 0 unless it could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from _support import Received, Receiver, pct, runwatch_cmd

ROOT = Path(__file__).resolve().parents[1]
REAL_LOG = ROOT / "tests/fixtures/corpus/raw/nanochat_pr492_speedrun_d24_feb01.training_output.log"
RUN_ALL_SKIP = "a soak of 15 min and more; run it alone: python benchmarks/soak.py --minutes N"

STEP_PREFIX = re.compile(r"^step \d+/\d+ \([\d.]+%\)")
LOSS = re.compile(r"loss: [^ |]+")
PAST_WARMUP = 2000
"""Step lines of the real run before this are its warm-up (loss 10 → 2.9): left out of the replay."""
TOTAL_STEPS = 10_000_000
"""The `/total` the renumbered lines claim: far beyond what a soak writes, so the run never finishes."""
PARTIAL_SHARE = 0.03
SPACING_MARGIN_S = 60.0
"""Beyond `resolve_after` between two NaN events: room for the tick, a restart and the re-read."""


# -- the lines ------------------------------------------------------------------------------------

class StepLines:
    """The real run's step lines past warm-up, back and forth, renumbered from 0 upwards."""

    def __init__(self) -> None:
        lines = [line for line in REAL_LOG.read_text(encoding="utf-8").splitlines() if STEP_PREFIX.match(line)]
        rest = [STEP_PREFIX.sub("", line) for line in lines[PAST_WARMUP:]]
        self.cycle = rest + rest[-2:0:-1]

    def line(self, step: int, nan: bool = False) -> bytes:
        rest = self.cycle[step % len(self.cycle)]
        if nan:
            rest = LOSS.sub("loss: nan", rest, count=1)
        return f"step {step:05d}/{TOTAL_STEPS} ({100 * step / TOTAL_STEPS:.2f}%){rest}\n".encode()


# -- the timeline ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """What happens when, in seconds from the start; drawn from the seed, spread over the run."""

    seconds: float
    nan_at: list[float]
    renames: list[float]
    copytruncates: list[float]
    sigkills: list[float]
    sigterm: float
    refused: list[tuple[float, float]]
    http500: list[tuple[float, float]]
    down_s: list[float]
    """Seconds the daemon stays down after each kill (SIGKILLs in order, then the SIGTERM)."""


def plan(minutes: float, resolve_after: float, seed: int) -> Plan:
    rng = random.Random(seed)
    t_end = minutes * 60.0
    lead = min(30.0, t_end * 0.05)
    spacing = resolve_after + SPACING_MARGIN_S
    n_nan = max(1, int((t_end - lead - 60.0) // spacing) + 1)
    nan_at = [lead + k * spacing + rng.uniform(0.0, 20.0) for k in range(n_nan)]

    def spread(n: int, lo: float, hi: float, apart: float, avoid: list[float]) -> list[float]:
        out: list[float] = []
        while len(out) < n:
            t = rng.uniform(lo, hi)
            if all(abs(t - u) >= apart for u in out + avoid):
                out.append(t)
        return sorted(out)

    scale = minutes / 15.0  # the hand-run soak of the issue: 15 minutes
    renames = [nan_at[0] + rng.uniform(0.02, 0.1)]  # a NaN just before a rotation must not be lost
    renames = sorted(renames + spread(max(0, round(19 * scale) - 1), lead / 2, t_end, 2.0, renames))
    copytruncates = spread(max(1, round(14 * scale)), lead / 2, t_end, 2.0, renames)
    kill_right_after_nan = nan_at[-1] + rng.uniform(0.05, 1.0)  # written, not yet judged
    sigkills = sorted([kill_right_after_nan]
                      + spread(max(1, round(4 * scale)) - 1, lead, t_end - 20.0, 20.0, [kill_right_after_nan]))
    sigterm = spread(1, lead, t_end - 30.0, 20.0, sigkills)[0]
    windows = max(1, round(minutes / 15.0))
    refuse_len, err_len = 120.0 * scale / windows, 60.0 * scale / windows
    # one refusal holds a NaN's firing, one 500 window a resolution; the rest fall where they fall
    target = nan_at[1] if n_nan > 1 else nan_at[0]
    refused = [(target - rng.uniform(5.0, min(30.0, refuse_len / 2)), 0.0)]
    http500 = [(nan_at[0] + resolve_after - rng.uniform(5.0, min(20.0, err_len / 2)), 0.0)]
    for _ in range(windows - 1):
        refused.append((rng.uniform(lead, t_end - refuse_len), 0.0))
        http500.append((rng.uniform(lead, t_end - err_len), 0.0))
    refused_w = [(s, s + refuse_len) for s, _ in refused]
    http500_w = [(s, s + err_len) for s, _ in http500]
    refused_w, http500_w = _apart(refused_w, http500_w, t_end)
    down_s = [rng.uniform(1.0, 8.0) for _ in range(len(sigkills) + 1)]
    return Plan(t_end, nan_at, renames, copytruncates, sigkills, sigterm, refused_w, http500_w, down_s)


def describe(p: Plan) -> str:
    """The timeline in one paragraph (seconds from the start), printed before the run."""
    def ts(xs: list[float]) -> str:
        return " ".join(f"{x:.0f}" for x in xs)

    def spans(xs: list[tuple[float, float]]) -> str:
        return " ".join(f"{s:.0f}-{e:.0f}" for s, e in xs)

    return (f"plan (s from start): NaN {ts(p.nan_at)}; SIGKILL {ts(p.sigkills)}; SIGTERM {p.sigterm:.0f}; "
            f"refused {spans(p.refused)}; 500 {spans(p.http500)}; {len(p.renames)} renames, "
            f"{len(p.copytruncates)} copytruncates")


def _apart(refused: list[tuple[float, float]], http500: list[tuple[float, float]],
           t_end: float) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Outage windows that do not overlap (a later one starts after an earlier one ends) and end by `t_end`."""
    tagged = sorted([(s, e, "r") for s, e in refused] + [(s, e, "5") for s, e in http500])
    out: list[tuple[float, float, str]] = []
    for s, e, kind in tagged:
        if out and s < out[-1][1] + 1.0:
            s, e = out[-1][1] + 1.0, out[-1][1] + 1.0 + (e - s)
        if e > t_end:
            s, e = max(0.0, s - (e - t_end)), t_end
        out.append((s, e, kind))
    return [(s, e) for s, e, k in out if k == "r"], [(s, e) for s, e, k in out if k == "5"]


# -- the writer -----------------------------------------------------------------------------------

@dataclass
class Planted:
    step: int
    written: float  # time.monotonic() just before the write


@dataclass
class Writer:
    """Appends step lines at `rate`/s to `path`, doing the plan's rotations and NaNs on time."""

    path: Path
    rate: float
    plan: Plan
    seed: int
    t0: float
    lines: StepLines = field(default_factory=StepLines)
    step: int = 0
    partial: int = 0
    renames: int = 0
    copytruncates: int = 0
    planted: list[Planted] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    error: str = ""
    stopped_at: float = 0.0

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # reported in the table
            self.error = repr(exc)

    def _run(self) -> None:
        rng = random.Random(self.seed + 1)
        todo = sorted([(t, "nan") for t in self.plan.nan_at] + [(t, "rename") for t in self.plan.renames]
                      + [(t, "copytruncate") for t in self.plan.copytruncates])
        fd = self._open()
        try:
            while not self.stop.is_set():
                now = time.monotonic() - self.t0
                while todo and todo[0][0] <= now:
                    fd = self._do(todo.pop(0)[1], fd)
                for _ in range(int(self.rate * now) - self.step):
                    self._write(fd, rng)
                    if self.stop.is_set():
                        break
                time.sleep(0.01)
        finally:
            os.close(fd)
            self.stopped_at = time.monotonic()

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def _do(self, what: str, fd: int) -> int:
        if what == "nan":
            self.planted.append(Planted(self.step, time.monotonic()))
            os.write(fd, self.lines.line(self.step, nan=True))
            self.step += 1
        elif what == "rename":
            os.rename(self.path, self.path.with_name(self.path.name + ".1"))
            os.close(fd)
            fd = self._open()
            self.renames += 1
        else:  # copytruncate, as logrotate does it: copy, then truncate the file the writer still appends to
            shutil.copyfile(self.path, self.path.with_name(self.path.name + ".1"))
            os.ftruncate(fd, 0)
            self.copytruncates += 1
        return fd

    def _write(self, fd: int, rng: random.Random) -> None:
        data = self.lines.line(self.step)
        if rng.random() < PARTIAL_SHARE:
            cut = rng.randrange(1, len(data) - 1)
            os.write(fd, data[:cut])
            time.sleep(rng.uniform(0.01, 0.2))
            os.write(fd, data[cut:])
            self.partial += 1
        else:
            os.write(fd, data)
        self.step += 1


# -- the daemon -----------------------------------------------------------------------------------

STARTUP_S = 5.0
"""RSS and CPU are not sampled this soon after a (re)start: imports and the history re-read are not following."""


@dataclass
class Sample:
    t: float
    rss_mb: float
    cpu_pct: float


class Daemon:
    """`runwatch watch` as a subprocess that can be killed and started again on the same state dir."""

    def __init__(self, argv: list[str], stderr_path: Path, t0: float) -> None:
        self.argv, self.stderr_path, self.t0 = argv, stderr_path, t0
        self.proc: subprocess.Popen[bytes] | None = None
        self.lock = threading.Lock()
        self.down: list[tuple[float, float]] = []  # monotonic (from, to) while no daemon ran
        self.exits: list[str] = []
        self.samples: list[Sample] = []
        self._ps: psutil.Process | None = None
        self._started = 0.0

    def start(self) -> None:
        with self.lock, open(self.stderr_path, "ab") as err:
            err.write(f"---- soak: start at +{time.monotonic() - self.t0:.1f} s\n".encode())
            err.flush()
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=err)
            self._ps = psutil.Process(self.proc.pid)
            self._started = time.monotonic()
            self._ps.cpu_percent(None)  # the first reading is meaningless; this starts the count
            if self.down and self.down[-1][1] == 0.0:
                self.down[-1] = (self.down[-1][0], time.monotonic())

    def stop(self, sig: int, why: str) -> None:
        with self.lock:
            proc, self._ps = self.proc, None
            if proc is None:
                return
            proc.send_signal(sig)
            try:
                rc = proc.wait(30.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
                why += " (did not stop within 30 s: SIGKILL)"
            self.exits.append(f"{why} at +{time.monotonic() - self.t0:.1f} s: exit {rc}")
            self.down.append((time.monotonic(), 0.0))
            self.proc = None

    def died(self) -> bool:
        """True (and noted) when the daemon ended without being told to."""
        with self.lock:
            if self.proc is None or (rc := self.proc.poll()) is None:
                return False
            self.exits.append(f"DIED BY ITSELF at +{time.monotonic() - self.t0:.1f} s: exit {rc}")
            self.down.append((time.monotonic(), 0.0))
            self.proc, self._ps = None, None
            return True

    def sample(self) -> None:
        with self.lock:
            ps = self._ps
            if ps is None:
                return
            if time.monotonic() - self._started < STARTUP_S:
                try:
                    ps.cpu_percent(None)  # the next reading starts from here
                except psutil.Error:
                    pass
                return
            try:
                with ps.oneshot():
                    self.samples.append(Sample(time.monotonic(), ps.memory_info().rss / 2**20, ps.cpu_percent(None)))
            except psutil.Error:
                pass


# -- running it -----------------------------------------------------------------------------------

@dataclass
class Outages:
    refused: list[tuple[float, float]] = field(default_factory=list)  # monotonic, as they happened
    http500: list[tuple[float, float]] = field(default_factory=list)


def control(p: Plan, t0: float, daemon: Daemon, rx: Receiver, stop: threading.Event) -> Outages:
    """Kill and restart the daemon, and take the receiver down and up, on the plan's schedule."""
    out = Outages()
    actions: list[tuple[float, str]] = []
    for i, t in enumerate(p.sigkills):
        actions += [(t, "kill"), (t + p.down_s[i], "start")]
    actions += [(p.sigterm, "term"), (p.sigterm + p.down_s[-1], "start")]
    for s, e in p.refused:
        actions += [(s, "refuse"), (e, "accept")]
    for s, e in p.http500:
        actions += [(s, "500"), (e, "200")]
    actions.sort()
    opened: dict[str, float] = {}
    for t, what in actions:
        while not stop.is_set() and (left := t0 + t - time.monotonic()) > 0:
            stop.wait(min(left, 0.5))
            if daemon.died():
                daemon.start()
        if stop.is_set():
            break
        if what == "kill":
            daemon.stop(signal.SIGKILL, "SIGKILL")
        elif what == "term":
            daemon.stop(signal.SIGTERM, "SIGTERM")
        elif what == "start":
            daemon.start()
        elif what in ("refuse", "500"):
            opened[what] = time.monotonic()
            rx.refuse() if what == "refuse" else rx.answer(500)
        elif what == "accept":
            rx.accept()
            out.refused.append((opened.pop("refuse"), time.monotonic()))
        else:
            rx.answer(200)
            out.http500.append((opened.pop("500"), time.monotonic()))
    return out


def sampler(daemon: Daemon, every: float, stop: threading.Event) -> None:
    while not stop.wait(every):
        daemon.sample()


def drain(rx: Receiver, path: str, writer: Writer, deadline: float, daemon: Daemon) -> None:
    """Go on writing until every planted NaN's firing and resolved POSTs arrived, or `deadline`."""
    want = {(e.step, s) for e in writer.planted for s in ("firing", "resolved")}
    while time.monotonic() < deadline:
        if daemon.died():
            daemon.start()
        got = {(_step_of(r), r.body.get("state")) for r in rx.posts(path) if r.body.get("rule") == "nonfinite"}
        if want <= got:
            return
        time.sleep(1.0)


_ID_STEP = re.compile(r":step=(\d+)")


def _step_of(r: Received) -> int | None:
    """The step where the alert's condition began: from its stable id, else the payload's step."""
    m = _ID_STEP.search(str(r.body.get("id", "")))
    if m:
        return int(m.group(1))
    step = r.body.get("step")
    return step if isinstance(step, int) else None


# -- the table ------------------------------------------------------------------------------------

def _overlaps(a: float, b: float, spans: list[tuple[float, float]]) -> bool:
    return any(s < b and (e == 0.0 or e > a) for s, e in spans)


def report(args: argparse.Namespace, p: Plan, writer: Writer, daemon: Daemon, rx: Receiver, path: str,
           out: Outages, log: Path, state: Path, t0: float, wall: float, load: tuple[float, float]) -> None:
    posts = rx.posts(path)
    all_posts = rx.posts(path, accepted_only=False)
    planted = {e.step: e for e in writer.planted}
    print(f"soak of runwatch watch: {p.seconds / 60:g} min planned + {(wall - p.seconds) / 60:.1f} min drain, "
          f"seed {args.seed}, target {args.rate:g} lines/s, nonfinite resolve_after {args.resolve_after:g} s; "
          f"load avg {load[0]:.1f} → {load[1]:.1f} on {os.cpu_count()} CPUs (a shared machine)")
    print(f"writer   {writer.step:,} step lines ({writer.step / (writer.stopped_at - t0):.1f}/s), {writer.renames} rotations by rename, "
          f"{writer.copytruncates} by copytruncate, {writer.partial:,} lines in two writes, "
          f"{len(planted)} NaN events" + (f"; WRITER FAILED: {writer.error}" if writer.error else ""))
    down = sum(b - a for a, b in daemon.down if b)
    print(f"daemon   {len(p.sigkills)} SIGKILLs + 1 SIGTERM, {len(daemon.exits)} exits, down {down:.0f} s in all; "
          + "; ".join(daemon.exits))
    refused = sum(b - a for a, b in out.refused)
    err = sum(b - a for a, b in out.http500)
    print(f"receiver refused connections {len(out.refused)}× ({refused:.0f} s), answered 500 {len(out.http500)}× "
          f"({err:.0f} s, {sum(not r.accepted for r in all_posts)} POSTs turned away)")
    print()
    nonfinite = [r for r in posts if r.body.get("rule") == "nonfinite"]
    print(f"{'nonfinite':22}{'planted':>9}{'received':>10}{'missed':>8}{'re-sent, same id':>18}"
          f"{'dup, new id':>13}{'not planted':>13}")
    for transition in ("firing", "resolved"):
        mine = [r for r in nonfinite if r.body.get("state") == transition]
        ids = Counter(r.body.get("id") for r in mine)
        by_event: dict[int, set[str]] = {}
        for r in mine:
            step = _step_of(r)
            if step in planted:
                by_event.setdefault(step, set()).add(str(r.body.get("id")))
        resent = sum(n - 1 for n in ids.values())
        dup = sum(len(v) - 1 for v in by_event.values())
        stray = len({r.body.get("id") for r in mine if _step_of(r) not in planted})
        print(f"{transition:22}{len(planted):9d}{len(by_event):10d}{len(planted) - len(by_event):8d}{resent:18d}"
              f"{dup:13d}{stray:13d}")
    others = Counter((r.body.get("rule"), r.body.get("state")) for r in posts if r.body.get("rule") != "nonfinite")
    print("other alerts received: " + (", ".join(f"{rule} {st} ×{n}" for (rule, st), n in sorted(others.items()))
                                        or "none"))
    for r in posts:
        if r.body.get("rule") != "nonfinite":
            print(f"  +{r.t - t0:.1f}s {r.body.get('rule')} {r.body.get('state')} {r.body.get('id')}: "
                  f"{str(r.body.get('summary'))[:160]}")
    _latency(planted, nonfinite, out, daemon)
    _lines(writer, log, state)
    _resources(daemon, t0)
    _events(planted, nonfinite, t0)
    _errors(daemon.stderr_path)


def _latency(planted: dict[int, Planted], nonfinite: list[Received], out: Outages, daemon: Daemon) -> None:
    clean, all_ = [], []
    for step, e in planted.items():
        got = next((r.t for r in nonfinite if r.body.get("state") == "firing" and _step_of(r) == step), None)
        if got is None:
            continue
        d = got - e.written
        all_.append(d)
        if not _overlaps(e.written, got, out.refused + out.http500 + daemon.down):
            clean.append(d)
    line = "NaN written → FIRING POST received, receiver and daemon up: "
    line += (f"n={len(clean)}  p50 {pct(clean, 50) * 1000:.0f} ms  p99 {pct(clean, 99) * 1000:.0f} ms"
             if clean else "n=0")
    if len(all_) > len(clean):
        line += f"; with outages/kills in between: n={len(all_) - len(clean)}, max {max(all_):.1f} s"
    print(line)


def _lines(writer: Writer, log: Path, state: Path) -> None:
    try:
        offsets = json.loads((state / "offsets.json").read_text())
    except (OSError, ValueError) as exc:
        print(f"lines: {writer.step:,} step lines written; offsets.json unreadable ({exc})")
        return
    saved = _saved_pos(offsets, os.path.abspath(log))
    st = log.stat()
    if saved is None:
        verdict = "no saved offset for the log"
    else:
        dev, ino, off = saved[:3]
        same = (dev, ino) == (st.st_dev, st.st_ino)
        verdict = (f"saved offset {off:,} of {st.st_size:,} bytes, same file: {'yes' if same else 'NO'}"
                   f" → judged to the end: {'yes' if same and off == st.st_size else 'NO'}")
    steps = [int(m.group(1)) for m in re.finditer(r"\[\w+\]\s+step (\d+)", _read(daemon_stderr(state)))]
    last = f"last step in its status lines {steps[-1]:,}" if steps else "no status line with a step"
    print(f"lines: {writer.step:,} step lines written, last step {writer.step - 1:,}; daemon: {last}; {verdict}. "
          "Lines lost or read twice inside the stream cannot be told from outside (the daemon keeps no count)")


def daemon_stderr(state: Path) -> Path:
    """Where every life of the daemon writes its stderr (next to its state dir)."""
    return state.parent / "daemon.stderr"


def _saved_pos(offsets: object, path: str) -> list[int] | None:
    """The [dev, inode, offset, head hash] offsets.json holds for `path` (DESIGN §7)."""
    files = offsets.get("files") if isinstance(offsets, dict) else None
    pos = files.get(path) if isinstance(files, dict) else None
    return pos if isinstance(pos, list) and len(pos) >= 3 else None


def _read(p: Path) -> str:
    try:
        return p.read_text(errors="replace")
    except OSError:
        return ""


def _resources(daemon: Daemon, t0: float) -> None:
    s = daemon.samples
    if not s:
        print("RSS/CPU: no samples")
        return
    rss = [x.rss_mb for x in s]
    cpu = [x.cpu_pct for x in s]
    print(f"daemon RSS MB min {min(rss):.0f} / median {statistics.median(rss):.0f} / max {max(rss):.0f}; "
          f"CPU % of a core mean {statistics.fmean(cpu):.1f} / p95 {pct(cpu, 95):.1f} ({len(s)} samples, none in "
          f"the first {STARTUP_S:g} s of a life)")
    buckets: dict[int, list[Sample]] = {}
    for x in s:
        buckets.setdefault(int((x.t - t0) // 300), []).append(x)
    print("  over time: " + "  ".join(
        f"{k * 5}-{k * 5 + 5}m {statistics.median([x.rss_mb for x in v]):.0f} MB "
        f"{statistics.fmean([x.cpu_pct for x in v]):.1f}%" for k, v in sorted(buckets.items())))


def _events(planted: dict[int, Planted], nonfinite: list[Received], t0: float) -> None:
    for step, e in planted.items():
        got = [f"{r.body.get('state')} +{r.t - t0:.1f}s" for r in nonfinite if _step_of(r) == step]
        print(f"  NaN at step {step:,} written +{e.written - t0:.1f}s → " + (", ".join(got) or "NOTHING"))


ERROR_WORDS = re.compile(r"error|exception|traceback|critical|failed|degraded", re.IGNORECASE)
NOTIFICATION = re.compile(r" (FIRING|RESOLVED|REPEAT) ")
"""A notification's own log line (its severity may read `critical`): an alert, not an error."""


def _errors(path: Path) -> None:
    """The daemon's stderr lines that mention errors, alike ones (digits aside) counted once."""
    seen: Counter[str] = Counter()
    first: dict[str, str] = {}
    for line in _read(path).splitlines():
        if ERROR_WORDS.search(line) and not NOTIFICATION.search(line):
            key = re.sub(r"\d+", "#", line[20:])
            seen[key] += 1
            first.setdefault(key, line)
    print(f"daemon stderr lines that mention errors: {sum(seen.values())}")
    for key, n in seen.most_common(40):
        print(f"  {n:5d}× {first[key][:240]}")


def _runwatch_default_resolve_after() -> float:
    from runwatch.config import load_config

    return load_config(None).timings()["nonfinite"].resolve_after_s


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--rate", type=float, default=150.0, help="step lines per second")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--resolve-after", type=float, default=None,
                    help="seconds; passed as --rule nonfinite.resolve_after (default: the rule's own)")
    ap.add_argument("--sample-every", type=float, default=3.0, help="seconds between RSS/CPU samples")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (log, state dir, daemon stderr)")
    args = ap.parse_args(argv)
    if args.minutes <= 0 or args.rate <= 0:
        ap.error("--minutes and --rate must be positive")
    default_resolve = _runwatch_default_resolve_after()
    if args.resolve_after is None:
        args.resolve_after = default_resolve
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed soak still stops its daemon
    p = plan(args.minutes, args.resolve_after, args.seed)
    print(describe(p), flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="runwatch-soak-"))
    log, state = tmp / "train.log", tmp / "state"
    hook = "/hook/soak"
    load0 = os.getloadavg()[0]
    stop = threading.Event()
    with Receiver() as rx:
        argv_d = [*runwatch_cmd(), "watch", str(log), "--webhook", f"http://127.0.0.1:{rx.port}{hook}",
                  "--state-dir", str(state), "--no-gpu", "--interval", "10"]
        if args.resolve_after != default_resolve:
            argv_d += ["--rule", f"nonfinite.resolve_after={args.resolve_after:g}s"]
        log.touch()
        t0 = time.monotonic()
        daemon = Daemon(argv_d, daemon_stderr(state), t0)
        writer = Writer(log, args.rate, p, args.seed, t0)
        threads = [threading.Thread(target=writer.run, name="soak-writer", daemon=True),
                   threading.Thread(target=sampler, args=(daemon, args.sample_every, stop), daemon=True)]
        try:
            daemon.start()
            for t in threads:
                t.start()
            out = control(p, t0, daemon, rx, stop)
            while (left := t0 + p.seconds - time.monotonic()) > 0:
                time.sleep(min(left, 1.0))
                if daemon.died():
                    daemon.start()
            drain(rx, hook, writer, t0 + max(p.nan_at) + args.resolve_after + 120.0, daemon)
            writer.stop.set()
            threads[0].join(10.0)
            time.sleep(8.0)  # the last lines judged and their offset saved (every 5 s)
            daemon.stop(signal.SIGTERM, "final SIGTERM")
            wall = time.monotonic() - t0
            stop.set()
            report(args, p, writer, daemon, rx, hook, out, log, state, t0, wall, (load0, os.getloadavg()[0]))
        finally:
            stop.set()
            writer.stop.set()
            daemon.stop(signal.SIGTERM, "cleanup")
            if args.keep:
                print(f"kept: {tmp}")
            else:
                shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
