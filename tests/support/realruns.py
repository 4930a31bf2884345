"""The recorded real runs (`tests/fixtures/realruns/`, made by `realruns/record.py`): loading a
recording, asking `runwatch check` about it, and grading the answer against the ground truth.

Shared by the acceptance tests in `tests/realruns/` and by `benchmarks/detection_scorecard.py`.
"""

from __future__ import annotations

import io
import json
import math
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from runwatch.cli import main as runwatch_main

REALRUNS = Path(__file__).resolve().parents[1] / "fixtures" / "realruns"


@dataclass(frozen=True)
class Recording:
    root: Path

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return json.loads((self.root / "manifest.json").read_text())

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def log(self) -> Path:
        return self.root / self.manifest["log"]

    @property
    def truth(self) -> dict[str, Any]:
        return self.manifest["truth"]  # type: ignore[no-any-return]

    @property
    def expect(self) -> list[dict[str, Any]]:
        return self.manifest["expect"]  # type: ignore[no-any-return]

    @property
    def healthy(self) -> bool:
        return bool(self.manifest["healthy"])

    def chunks(self) -> list[tuple[float, int]]:
        """(seconds since start, end offset) of each chunk as it arrived from the pipe."""
        out = []
        for line in (self.root / "chunks.tsv").read_text().splitlines():
            t, off = line.split("\t")
            out.append((float(t), int(off)))
        return out

    def side(self) -> list[tuple[float, str, int]]:
        """(seconds since start, path relative to the run directory, size) each time the recorder saw a side
        file change size; [] for a recording made before side files were timed."""
        path = self.root / "side.tsv"
        if not path.is_file():
            return []
        out = []
        for line in path.read_text().splitlines():
            t, rel, size = line.split("\t")
            out.append((float(t), rel, int(size)))
        return out

    def timeline(self) -> list[tuple[float, str, int]]:
        """Every write the run made, in order: (seconds since start, path relative to the run directory, the
        file's size after it), the log's chunks and the timed side files together."""
        log = str(self.log.relative_to(self.run_dir))
        return sorted([(t, log, off) for t, off in self.chunks()] + self.side(), key=lambda w: w[0])

    def truth_steps(self) -> list[dict[str, Any]]:
        """The training loop's own per-step log (all ranks), non-finite strings as floats."""
        rows = []
        for f in sorted((self.root / "truth").glob("*.jsonl")):
            for line in f.read_text().splitlines():
                obj = json.loads(line)
                if obj.get("event") == "fault":
                    continue
                rows.append({k: (float(v) if v in ("nan", "inf", "-inf") else v) for k, v in obj.items()})
        return rows


def replay(rec: Recording, into: Path, pause: Callable[[float], bool],
           wrote: Callable[[str, int], None] | None = None) -> bool:
    """Make the run's writes again in `into`, in order: the log's chunks and, where the recording timed
    them, its side files (rank logs, metrics.csv, event files) grown to each size seen. `pause(gap)` waits
    for the recorded gap before a write (scaled as the caller likes) and returns True to stop early;
    `wrote(path, size)` hears of each write. A side file that was rewritten rather than appended to grows
    as a prefix of its last state; one the recording did not time is copied in whole at the end (made
    before side files were timed). Whether it ran to the end."""
    sources: dict[str, bytes] = {}
    prev_t = 0.0
    for t, rel, size in rec.timeline():
        if pause(t - prev_t):
            return False
        prev_t = t
        if rel not in sources:
            sources[rel] = (rec.run_dir / rel).read_bytes()
        target = into / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        have = target.stat().st_size if target.exists() else 0
        with open(target, "ab", buffering=0) as f:
            f.write(sources[rel][have:size])
        if wrote is not None:
            wrote(rel, size)
    for side in sorted(rec.run_dir.rglob("*")):
        dest = into / side.relative_to(rec.run_dir)
        if side.is_file() and not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(side, dest)  # written now, as the trainer wrote it: a fixture's old mtime made a
            # checkpoint caught half-copied by a busy machine's scan "incomplete for 14.4h" at once
    return True


def recordings() -> list[Recording]:
    if not REALRUNS.is_dir():
        return []
    return [Recording(p) for p in sorted(REALRUNS.iterdir()) if (p / "manifest.json").is_file()]


def check_json(*paths: Path | str, extra: tuple[str, ...] = ()) -> tuple[int, list[dict[str, Any]], str]:
    """`runwatch check --json PATH...` in-process: (exit code, one object per run, stderr)."""
    import contextlib

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = runwatch_main(["check", "--json", *extra, *map(str, paths)])
    runs = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    return rc, runs, err.getvalue()


@dataclass
class Finding:
    """One expected finding graded: caught or not, by which alert."""

    expect: dict[str, Any]
    alert: dict[str, Any] | None
    problems: list[str] = field(default_factory=list)

    @property
    def caught(self) -> bool:
        return self.alert is not None and not self.problems


def _cause(alert: dict[str, Any]) -> str | None:
    labels = alert.get("labels") or {}
    return labels.get("cause") or labels.get("event")  # type: ignore[no-any-return]


def grade(rec: Recording, alerts: list[dict[str, Any]], *, one_shot: bool = False) -> list[Finding]:
    """Match each expected finding to an alert of its rule (and cause, metric, severity).

    An expected resolution is met when the alert is not firing at the end: it resolved, or (`check`)
    its rule no longer found the condition at the last evaluation (`cleared_before_end`: it would
    resolve once its `resolve_after` had passed, which a log that ends soon after the recovery does
    not give it)."""
    found = []
    for exp in rec.expect:
        if one_shot and exp.get("live_only"):
            continue  # a log read whole shows no time and no process
        cands = [a for a in alerts if a["rule"] == exp["rule"]]
        if "cause" in exp:
            cands = [a for a in cands if _cause(a) == exp["cause"]] or cands
        if "metric" in exp:
            cands = [a for a in cands if (a.get("labels") or {}).get("metric") == exp["metric"]] or cands
        alert = cands[0] if cands else None
        f = Finding(exp, alert)
        if alert is not None:
            if "cause" in exp and _cause(alert) != exp["cause"]:
                f.problems.append(f"cause {_cause(alert)!r}, expected {exp['cause']!r}")
            if "severity" in exp and alert["severity"] != exp["severity"]:
                f.problems.append(f"severity {alert['severity']}, expected {exp['severity']}")
            if exp.get("resolves") and alert.get("firing_at_end"):
                f.problems.append("still firing at the end")
        found.append(f)
    return found


def unexpected(rec: Recording, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alerts of rules no expected finding names: every alert on a healthy run."""
    wanted = {e["rule"] for e in rec.expect}
    return [a for a in alerts if a["rule"] not in wanted]


def close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= max(1e-3, 5e-3 * abs(b))  # frameworks print 3-4 significant digits


def step_mismatches(rec: Recording, records: Iterator[dict[str, Any]]) -> list[str]:
    """Loss records whose step the training loop does not know with that loss.

    A record's step is right when the loop's truth log has that step (and rank) with the same
    loss: the per-step `loss`, or `shown_loss` where the framework prints a value other than the
    step's own (a running mean, an average since the last log line).
    """
    truth: dict[tuple[int, int], list[float]] = {}
    for row in rec.truth_steps():
        vals = [row[k] for k in ("loss", "shown_loss") if isinstance(row.get(k), float | int)]
        truth.setdefault((row["step"], row.get("rank", 0)), []).extend(vals)
    if rec.manifest.get("counts") == "epochs":  # a loop that prints each epoch's means: epoch e at step e
        by_epoch: dict[int, list[float]] = {}
        shown: dict[int, float] = {}
        for row in rec.truth_steps():
            if isinstance(row.get("loss"), float | int) and row.get("epoch") is not None:
                by_epoch.setdefault(int(row["epoch"]), []).append(row["loss"])
            if isinstance(row.get("shown_loss"), float | int) and row.get("epoch") is not None:
                shown[int(row["epoch"])] = row["shown_loss"]  # fastai's: smoothed, its value at the epoch's end
        truth = {(e, 0): [shown[e]] if e in shown else [sum(losses) / len(losses)] for e, losses in by_epoch.items()}
    bad = []
    for r in records:
        loss = r.get("metrics", {}).get("loss")
        if r.get("kind") != "step" or loss is None:
            continue
        v = float(loss) if not isinstance(loss, str) else float(loss)
        key = (r.get("step"), r.get("rank") or 0)
        if key not in truth or not any(close(v, t) for t in truth[key]):
            near = truth.get(key)
            bad.append(f"step {r.get('step')} rank {r.get('rank')} loss {v}: truth {near}")
    return bad


def kv_run_that_raised(path: Path, steps: int = 60) -> Path:
    """The run lab's key=value log (Python logging) cut after `steps` steps, then the uncaught IndexError
    traceback of its nanoGPT run that raised: a format with no signature line, its records held while the
    format is undecided, and a crash after them."""
    kv = (REALRUNS / "kvlog-healthy/run/train.log").read_text().splitlines(keepends=True)[:steps]
    raised = (REALRUNS / "nanogpt-tb-raise/run/train.log").read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(raised) if line.startswith("Traceback"))
    path.write_text("".join(kv) + "".join(raised[start:]))
    return path
