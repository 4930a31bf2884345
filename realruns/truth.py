"""The ground truth of a recorded run, read back from the recorded files.

What the scenario planted is only the intent; what a monitor can be asked to find is what the
recording shows. So the truth is stated from the files: the truth log the training loop wrote
(per step: the framework's own step number, its loss; per fault: when it acted) and the console
log with the arrival time of each chunk. It never uses runwatch: it is what runwatch is graded by.

Offsets are byte offsets into the recorded log; times are seconds since the recording started
(`chunks.tsv`); lines are 1-based `\\n` line numbers; a "segment" is a piece between `\\r` or `\\n`
(a progress-bar redraw), which is how the line that first shows a value is found.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from pathlib import Path
from typing import Any

from lab.scenario import Scenario

NONFINITE = re.compile(
    rb"(?<![A-Za-z0-9_])[-+]?(?:nan|inf|infinity)(?:\.0)?(?![A-Za-z0-9_])", re.IGNORECASE
)
ERROR_LINE = re.compile(
    rb"(Traceback \(most recent call last\)|Error\b|Error:|Exception\b|Killed|Signals?\.SIG|exitcode\s*:|"
    rb"can't allocate memory|ChildFailedError)"
)
EXCEPTION_LINE = re.compile(rb"^(?:\[\w+\]:)?\s*[\w.]*(?:Error|Exception)(?:\[[^\]]*\])?: ")
ESC = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def read_truth(dest: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(steps, faults) from every rank's truth log, in time order."""
    steps, faults = [], []
    for f in sorted((dest / "truth").glob("*.jsonl")):
        for line in f.read_text().splitlines():
            obj = json.loads(line)
            for k, v in obj.items():
                if k not in ("event", "what") and v in ("nan", "inf", "-inf"):
                    obj[k] = float(v)
            (faults if obj.get("event") == "fault" else steps).append(obj)
    steps.sort(key=lambda o: o["t"])
    faults.sort(key=lambda o: o["t"])
    return steps, faults


def arrival(chunks: list[tuple[float, int]], offset: int) -> float | None:
    """Seconds after the start at which the byte at `offset` had arrived."""
    for t, end in chunks:
        if end > offset:
            return round(t, 3)
    return None


def segments(data: bytes) -> list[tuple[int, bytes]]:
    """(start offset, text) of each piece between `\\r` or `\\n`."""
    out, start = [], 0
    for m in re.finditer(rb"[\r\n]", data):
        if m.start() > start:
            out.append((start, data[start:m.start()]))
        start = m.end()
    if start < len(data):
        out.append((start, data[start:]))
    return out


def where(data: bytes, chunks: list[tuple[float, int]], offset: int, text: bytes) -> dict[str, Any]:
    return {
        "offset": offset,
        "line": data.count(b"\n", 0, offset) + 1,
        "t": arrival(chunks, offset),
        "text": ESC.sub(b"", text).decode("utf-8", "replace").strip()[:300],
    }


def first_nonfinite(data: bytes, chunks: list[tuple[float, int]], after_t: float) -> dict[str, Any] | None:
    for off, seg in segments(data):
        t = arrival(chunks, off)
        if t is not None and t + 1e-3 >= after_t and NONFINITE.search(ESC.sub(b"", seg)):
            return where(data, chunks, off, seg)
    return None


def first_error(data: bytes, chunks: list[tuple[float, int]], after_t: float) -> dict[str, Any] | None:
    """The line that names the error: an exception line (`RuntimeError: ...`) where there is one,
    else the first line that shows trouble (a `Traceback` header, a launcher's failure report)."""
    first = None
    for off, seg in segments(data):
        t = arrival(chunks, off)
        if t is None or t + 1e-3 < after_t:
            continue
        if EXCEPTION_LINE.search(ESC.sub(b"", seg)):
            return where(data, chunks, off, seg)
        if first is None and ERROR_LINE.search(seg):
            first = where(data, chunks, off, seg)
    return first


def longest_silence(chunks: list[tuple[float, int]]) -> dict[str, Any] | None:
    if len(chunks) < 2:
        return None
    gaps = [(b[0] - a[0], a, b) for a, b in zip(chunks, chunks[1:], strict=False)]
    gap, a, b = max(gaps)
    return {"seconds": round(gap, 3), "start_t": round(a[0], 3), "end_t": round(b[0], 3), "offset": a[1]}


def step_intervals(steps: list[dict[str, Any]], rank: int = 0) -> list[tuple[int, float]]:
    mine = [s for s in steps if s.get("rank", 0) == rank]
    return [(b["step"], b["t"] - a["t"]) for a, b in zip(mine, mine[1:], strict=False)]


def median_interval(iv: list[tuple[int, float]], lo: int, hi: int) -> float | None:
    xs = [d for s, d in iv if lo <= s < hi]
    return round(statistics.median(xs), 5) if xs else None


def _loss(s: dict[str, Any]) -> float | None:
    v = s.get("loss")
    return float(v) if isinstance(v, (int, float)) else None


def ground_truth(dest: Path, sc: Scenario, chunks: list[tuple[float, int]], started: float) -> dict[str, Any]:
    data = (dest / "run" / sc.log).read_bytes() if (dest / "run" / sc.log).exists() else b""
    steps, faults = read_truth(dest)
    rel = lambda t: round(t - started, 3)  # noqa: E731 - wall clock of the truth log → recording time
    out: dict[str, Any] = {
        "steps_logged": len({(s["rank"], s["step"]) for s in steps}),
        "first_step": steps[0]["step"] if steps else None,
        "last_step": steps[-1]["step"] if steps else None,
        "faults": [{**f, "t": rel(f["t"])} for f in faults],
    }
    nf = first_nonfinite(data, chunks, 0.0)
    out["nonfinite_in_log"] = nf
    if faults:
        f0 = faults[0]
        kind = f0["what"]
        out["fault_step"] = f0["step"]
        out["fault_t"] = rel(f0["t"])
        if kind in ("nan", "inf", "gradnan", "diverge_start", "spike_start"):
            bad = next((s for s in steps if any(
                isinstance(v, float) and not math.isfinite(v) for k, v in s.items() if k not in ("t",)
            )), None)
            out["first_nonfinite_step"] = bad["step"] if bad else None
            out["first_nonfinite_line"] = first_nonfinite(data, chunks, rel(f0["t"]))
        if kind == "spike_start":
            start = f0["step"]
            end = next((f["step"] for f in faults if f["what"] == "spike_end"), start + 1)
            before = [v for s in steps if s["step"] < start and (v := _loss(s)) is not None][-20:]
            base = statistics.median(before) if before else None
            window = [(s["step"], v) for s in steps if start <= s["step"] <= end + 50 and (v := _loss(s)) is not None]
            peak = max(window, key=lambda sv: sv[1] if math.isfinite(sv[1]) else math.inf) if window else None
            rec = next((s for s, v in window if s >= end and base is not None and math.isfinite(v) and v <= 1.5 * base), None)
            out["spike"] = {"start_step": start, "end_step": end, "baseline_loss": base,
                            "peak_step": peak[0] if peak else None, "peak_loss": peak[1] if peak else None,
                            "recovered_step": rec}
        if kind in ("hang_start", "dlhang_start"):
            end_f = next((f for f in faults if f["what"].endswith("hang_end")), None)
            silence = longest_silence(chunks)
            last_before = [s["step"] for s in steps if s["t"] <= f0["t"]]
            out["hang"] = {"start_t": rel(f0["t"]), "end_t": rel(end_f["t"]) if end_f else None,
                           "last_step_before": max(last_before) if last_before else None,
                           "log_silence": silence}
        if kind in ("slow_start",):
            iv = step_intervals(steps)
            s0 = f0["step"]
            end = next((f["step"] for f in faults if f["what"] == "slow_end"), None)
            out["slowdown"] = {"start_step": s0, "end_step": end,
                               "median_step_s_before": median_interval(iv, s0 - 50, s0),
                               "median_step_s_after": median_interval(iv, s0 + 1, (end or s0 + 51))}
        if kind in ("oom", "cudaoom", "devassert", "raise", "kill"):
            out["crash"] = {"step": f0["step"], "error_line": first_error(data, chunks, rel(f0["t"]))}
    iv = step_intervals(steps)
    if iv:
        ds = sorted(d for _, d in iv)
        out["step_interval_s"] = {"median": round(statistics.median(ds), 5),
                                  "p99": round(ds[min(len(ds) - 1, int(0.99 * len(ds)))], 5)}
    return out
