"""The detection scorecard: every recorded real run through `runwatch check` and, live, through a
real `runwatch watch` daemon into a real webhook receiver, at the recorded pace.

    python benchmarks/detection_scorecard.py [--only GLOB ...] [--speed 10] [--jobs 3] [--no-live]

One row per recording × expected finding (a healthy run gets one row, "nothing"): caught one-shot
(`check`) and live (`watch`), the rule and step of the alert (check's, else the live one's), and the
latency from the moment the line that shows the fault was written to the moment the webhook POST
arrived. Then the totals:
recall (one-shot and live), alerts on healthy runs, alerts beyond the planted fault, and latency
p50/p99 per fault class.

Live replay: the recorded log is written into a fresh directory chunk by chunk with the recorded
gaps divided by `--speed`, except gaps of `--real-gap` seconds or more (hangs), which are kept at
their real length, and a recording that expects a slowdown or a stall, replayed at its real pace throughout
(`ABOUT_PACE`). Side files (rank logs, metric CSVs, tfevents, W&B runs, checkpoints) grow at their
recorded pace where the recording timed them (side.tsv), else are copied in once the log has been
replayed. After the last chunk the daemon gets `--settle` seconds, or the expected
rule's `resolve_after` and 10 s more where a finding must resolve (a crash: a bare traceback's settle and 5 s),
then SIGTERM; a `stall` that fires in that wait, a minute or more after the last line (the run's end, which a replay has no
process to show), is listed apart and not counted as an alert beyond the planted fault. A `process_exit`
needs a process, which a replay has not: it is `n/a` live as one-shot. A recording's ground truth
comes from its manifest (realruns/truth.py).
"""

from __future__ import annotations

import argparse
import fnmatch
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _support import Received, Receiver, runwatch_cmd  # noqa: E402

from tests.support.realruns import Recording, check_json, grade, recordings, replay, unexpected  # noqa: E402


@dataclass
class Live:
    posts: list[Received] = field(default_factory=list)
    fault_written: float | None = None
    replayed: float | None = None
    """When the last chunk was written (time.monotonic)."""
    error: str = ""


def fault_offset(rec: Recording) -> int | None:
    """Byte offset of the line that shows the fault (or the first chunk after the fault acted)."""
    t = rec.truth
    for key in ("first_nonfinite_line",):
        if t.get(key):
            return int(t[key]["offset"])
    if t.get("crash") and t["crash"].get("error_line"):
        return int(t["crash"]["error_line"]["offset"])
    if t.get("hang") and t["hang"].get("log_silence"):
        return int(t["hang"]["log_silence"]["offset"]) - 1
    if t.get("fault_t") is not None:
        for ct, off in rec.chunks():
            if ct >= t["fault_t"]:
                return off - 1
    return None


NEEDS_A_PROCESS = {"process_exit"}
ABOUT_PACE = {"step_time_drift", "throughput_drop", "stall"}
"""Rules that judge the pace seen live, so recordings that expect one are replayed at their real pace.
The drift rules' thresholds are absolute times (a slower step must take 10 ms more), which a compressed
replay shrinks a planted slowdown under. A stall's budget keeps its 10-minute start-up floor until the
run has shown its pace in steps read apart: the tutorial's 80 ms between lines, replayed 10× faster,
came 8 ms apart, and a daemon sharing two cores with two other replays read them all at once and
waited out the floor (tutorial-dlhang missed live in one full run in three)."""


def speed_for(rec: Recording, speed: float) -> float:
    """`--speed`, or 1 for a recording whose expected finding is about the run's pace."""
    return 1.0 if any(e["rule"] in ABOUT_PACE for e in rec.expect) else speed


def settle_for(rec: Recording, settle: float) -> float:
    """Seconds to wait after the last chunk: long enough for what must resolve to resolve, and for a crash
    told by a bare traceback to be one (`BARE_SETTLE_S`: nothing more for 10 s), with 5 s to spare."""
    from runwatch.config import load_config
    from runwatch.state.ending import BARE_SETTLE_S

    timings = load_config(None).timings()
    waits = [timings[e["rule"]].resolve_after_s + 10.0 for e in rec.expect if e.get("resolves") and e["rule"] in timings]
    waits += [BARE_SETTLE_S + 5.0 for e in rec.expect if e["rule"] == "crash"]
    return max([settle, *waits])


def replay_live(rec: Recording, receiver: Receiver, speed: float, real_gap: float, settle: float,
                runwatch: list[str]) -> Live:
    live = Live()
    work = Path(tempfile.mkdtemp(prefix=f"score-{rec.name}-"))
    run = work / "run"
    log = run / Path(rec.manifest["log"]).relative_to("run")
    log.parent.mkdir(parents=True)
    log.touch()
    hook = f"/{rec.name}"
    cmd = [*runwatch, "watch", str(run), "--webhook", f"http://127.0.0.1:{receiver.port}{hook}",
           "--state-dir", str(work / "state"), "--no-gpu", "--interval", "60"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(work / "daemon.log", "wb"))
    try:
        time.sleep(1.0)
        target = fault_offset(rec)
        log_rel = str(rec.log.relative_to(rec.run_dir))

        def pause(gap: float) -> bool:
            time.sleep(gap if gap >= real_gap else gap / speed)
            return False

        def wrote(rel: str, size: int) -> None:
            if rel == log_rel and target is not None and live.fault_written is None and size > target:
                live.fault_written = time.monotonic()

        replay(rec, run, pause, wrote)
        live.replayed = time.monotonic()
        time.sleep(settle)
    except Exception as exc:
        live.error = repr(exc)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        live.posts = receiver.posts(hook)
        if proc.returncode not in (0, -15, None):
            live.error = live.error or f"watch exited {proc.returncode}: " + (work / "daemon.log").read_text()[-300:]
        shutil.rmtree(work, ignore_errors=True)
    return live


def after_the_end(rec: Recording, alert: dict[str, Any], live: Live) -> bool:
    """A stall that fired after the last chunk was written, once the stall rule's floor had passed, in a
    recording whose fault is no hang: the replayed run had ended there (its process exited, which a
    replay cannot show)."""
    from runwatch.alerts.rules.stall import StallParams

    return (alert["rule"] == "stall" and live.replayed is not None and not any(e["rule"] == "stall" for e in rec.expect)
            and alert["_t"] >= live.replayed + StallParams().after)


def fault_class(rec: Recording, rule: str) -> str:
    kind = rec.manifest["fault"].split("@")[0]
    return f"{kind}->{rule}"


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", default=[], metavar="GLOB")
    ap.add_argument("--speed", type=float, default=10.0, help="divide recorded gaps by this (default 10)")
    ap.add_argument("--real-gap", type=float, default=5.0, help="gaps this long (s) are replayed at real length")
    ap.add_argument("--settle", type=float, default=8.0, help="seconds after the last chunk before SIGTERM")
    ap.add_argument("--jobs", type=int, default=3, help="live replays at once")
    ap.add_argument("--no-live", action="store_true")
    args = ap.parse_args(argv)
    recs = [r for r in recordings() if not args.only or any(fnmatch.fnmatch(r.name, g) for g in args.only)]
    if not recs:
        print("no recordings (tests/fixtures/realruns/)")
        return 1
    runwatch = runwatch_cmd()
    receiver = Receiver()
    t0 = time.monotonic()
    oneshot: dict[str, list[dict[str, Any]]] = {}
    for rec in recs:
        _, runs, _ = check_json(rec.run_dir)
        oneshot[rec.name] = [a for run in runs for a in run["alerts"]]
    check_s = time.monotonic() - t0
    lives: dict[str, Live] = {}
    if not args.no_live:
        with ThreadPoolExecutor(args.jobs) as pool:
            futs = {r.name: pool.submit(replay_live, r, receiver, speed_for(r, args.speed), args.real_gap,
                                        settle_for(r, args.settle), runwatch)
                    for r in recs}
            lives = {n: f.result() for n, f in futs.items()}

    rows = []
    lat_by_class: dict[str, list[float]] = {}
    n_exp = n_exp1 = n_expL = caught1 = caughtL = healthy_alerts = extra1 = extraL = 0
    beyond: list[str] = []  # each alert that no expected finding names: run, mode, rule, summary
    after_end: list[str] = []  # stalls past the log's end: a replay has no process to say it ended
    for rec in recs:
        alerts1 = oneshot[rec.name]
        live = lives.get(rec.name)
        firing = [p.body for p in live.posts if p.body.get("state") == "firing"] if live else []
        live_alerts = [{"rule": b["rule"], "severity": b.get("severity"), "labels": b.get("labels") or {},
                        "firing_at_end": not any(_same_alert(p.body, b) and p.body.get("state") == "resolved"
                                                 for p in (live.posts if live else [])),
                        "first_step": b.get("step"), "summary": b.get("summary", ""),
                        "_t": next(p.t for p in live.posts if p.body is b)}
                       for b in firing]
        ended = [a for a in live_alerts if live and after_the_end(rec, a, live)]
        after_end.extend(f"  {rec.name:26s} live  {a['rule']:16s} {a.get('summary', '')[:110]}" for a in ended)
        live_alerts = [a for a in live_alerts if a not in ended]
        for mode, got in (("check", alerts1), ("live", live_alerts)):
            beyond.extend(f"  {rec.name:26s} {mode:5s} {a['rule']:16s} {a.get('summary', '')[:110]}"
                          for a in unexpected(rec, got))
        if rec.healthy:
            healthy_alerts += len(alerts1) + len(live_alerts)
            rows.append([rec.name, "nothing", _yes(not alerts1), _yes(not live_alerts) if live else "-",
                         ",".join(sorted({a["rule"] for a in alerts1 + live_alerts})) or "", "", ""])
            continue
        extra1 += len(unexpected(rec, alerts1))
        # one-shot rows: `n/a` where only a live follower can see it (live_only: no time, no process)
        extraL += len(unexpected(rec, live_alerts))
        g1 = grade(rec, alerts1)
        gL = grade(rec, live_alerts) if live else []
        for i, f in enumerate(g1):
            live_only = bool(f.expect.get("live_only"))
            n_exp += 1
            n_exp1 += not live_only
            caught1 += f.caught and not live_only
            fl = gL[i] if gL else None
            no_process = f.expect["rule"] in NEEDS_A_PROCESS
            n_expL += not no_process
            caughtL += bool(fl and fl.caught) and not no_process
            lat = ""
            if fl and fl.alert is not None and live and live.fault_written is not None:
                d = fl.alert["_t"] - live.fault_written
                lat = f"{d:.2f}s"
                lat_by_class.setdefault(fault_class(rec, f.expect["rule"]), []).append(d)
            shown = f.alert or (fl.alert if fl else None)  # the one-shot alert, else the live one (live_only)
            step = (shown.get("first_step", shown.get("step")) if shown else None)
            why = "; ".join(f.problems + (fl.problems if fl else []) + ([live.error] if live and live.error else []))
            rows.append([rec.name, f.expect["rule"] + (f"/{f.expect['cause']}" if "cause" in f.expect else ""),
                         "n/a" if live_only else _yes(f.caught),
                         ("n/a" if no_process else _yes(bool(fl and fl.caught))) if live else "-",
                         shown["rule"] if shown else "", "" if step is None else str(step), lat, why])
    head = ["run", "expected", "check", "live", "rule", "step", "latency", "notes"]
    widths = [max(len(str(r[i])) if i < len(r) else 0 for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=False)).rstrip())
    print()
    print(f"recordings {len(recs)}  expected findings {n_exp}  check {check_s:.1f}s")
    print(f"recall one-shot {caught1}/{n_exp1} ({100 * caught1 / max(1, n_exp1):.0f}%; the rest need a live run)"
          + (f"  live {caughtL}/{n_expL} ({100 * caughtL / max(1, n_expL):.0f}%; process_exit needs a process)"
             if lives else ""))
    print(f"alerts on healthy runs {healthy_alerts}  alerts beyond the planted fault: one-shot {extra1}"
          + (f", live {extraL}" if lives else ""))
    print("\n".join(beyond))
    if after_end:
        print(f"stalls after the log's end, while the daemon was kept to see a finding resolve "
              f"({len(after_end)}; not counted above: a replay has no process, so a log that ends without a "
              "finish line is a silence a watcher cannot tell from a hang)")
        print("\n".join(after_end))
    for cls, xs in sorted(lat_by_class.items()):
        print(f"latency {cls:28s} n={len(xs):2d}  p50 {statistics.median(xs):6.2f}s  p99 {pct(xs, 0.99):6.2f}s")
    return 0


def _same_alert(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """One alert's notifications (firing, resolved) share rule, run and labels; their ids differ by state."""
    return (a.get("rule"), a.get("run"), a.get("labels")) == (b.get("rule"), b.get("run"), b.get("labels"))


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


if __name__ == "__main__":
    sys.exit(main())
